/* cardpin-cli.c — the command-line front end (cardpin-tool)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "cardpin-cli.h"
#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-token.h"

typedef int (*CommandFunc) (char **argv);

typedef struct {
  const char  *name;
  CommandFunc  func;
  const char  *summary;   /* N_() */
} Command;

static int command_status (char **argv);

static const Command commands[] = {
  { "status", command_status, N_("Show every card and the state of its PIN") },
};

/* Helpers */

static void
print_error (const GError *error)
{
  g_printerr ("%s: %s\n", g_get_prgname (), error->message);
}

static char *
pin_state_words (CardpinToken *token)
{
  int left = cardpin_token_get_pin_tries_left (token);
  int puk = cardpin_token_get_puk_tries_left (token);

  switch (cardpin_token_get_pin_state (token))
    {
    case CARDPIN_PIN_STATE_OK:
      if (left > 0)
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "PIN OK (%d try left)",
                                             "PIN OK (%d tries left)", left), left);
      return g_strdup (_("PIN OK"));
    case CARDPIN_PIN_STATE_COUNT_LOW:
      if (left > 0)
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "Wrong PIN entered: %d try left",
                                             "Wrong PIN entered: %d tries left", left),
                                left);
      return g_strdup (_("Wrong PIN entered: few tries left"));
    case CARDPIN_PIN_STATE_FINAL_TRY:
      return g_strdup (_("Final try: one more wrong PIN blocks the card"));
    case CARDPIN_PIN_STATE_LOCKED:
      if (puk == 0)
        return g_strdup (_("PIN blocked, PUK blocked too: ask your administrator"));
      return g_strdup (_("PIN blocked: unblock it with the PUK or your administrator"));
    case CARDPIN_PIN_STATE_MUST_CHANGE:
      return g_strdup (_("The PIN must be changed before use"));
    case CARDPIN_PIN_STATE_NOT_INITIALIZED:
      return g_strdup (_("No PIN set yet: set one up first"));
    default:
      return g_strdup (_("Unknown"));
    }
}

static gboolean
any_pin_blocked (GListModel *tokens)
{
  guint i;

  for (i = 0; i < g_list_model_get_n_items (tokens); i++)
    {
      g_autoptr(CardpinToken) token = g_list_model_get_item (tokens, i);

      if (cardpin_token_get_pin_state (token) == CARDPIN_PIN_STATE_LOCKED)
        return TRUE;
    }
  return FALSE;
}

static void
add_string_or_null (JsonBuilder *builder,
                    const char  *name,
                    const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_int_or_null (JsonBuilder *builder,
                 const char  *name,
                 int          value)
{
  json_builder_set_member_name (builder, name);
  if (value >= 0)
    json_builder_add_int_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/**
 * cardpin_cli_status_json:
 * @tokens: a #GListModel of #CardpinToken
 *
 * Returns: (transfer full): a JSON array with one object per token: reader, label,
 *   serial, pin_state, pin_tries_left, puk_tries_left, pin_tries_max, manufacturer,
 *   model, atr, hardware, module (null where unknown)
 */
char *
cardpin_cli_status_json (GListModel *tokens)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  guint i;

  json_builder_begin_array (builder);
  for (i = 0; i < g_list_model_get_n_items (tokens); i++)
    {
      g_autoptr(CardpinToken) token = g_list_model_get_item (tokens, i);

      json_builder_begin_object (builder);
      add_string_or_null (builder, "reader", cardpin_token_get_reader (token));
      add_string_or_null (builder, "label", cardpin_token_get_label (token));
      add_string_or_null (builder, "serial", cardpin_token_get_serial (token));
      add_string_or_null (builder, "pin_state",
                          cardpin_pin_state_to_string (cardpin_token_get_pin_state (token)));
      add_int_or_null (builder, "pin_tries_left", cardpin_token_get_pin_tries_left (token));
      add_int_or_null (builder, "puk_tries_left", cardpin_token_get_puk_tries_left (token));
      add_int_or_null (builder, "pin_tries_max", cardpin_token_get_pin_tries_max (token));
      add_string_or_null (builder, "manufacturer", cardpin_token_get_manufacturer (token));
      add_string_or_null (builder, "model", cardpin_token_get_model (token));
      add_string_or_null (builder, "atr", cardpin_token_get_atr (token));
      json_builder_set_member_name (builder, "hardware");
      json_builder_add_boolean_value (builder, cardpin_token_is_hardware (token));
      add_string_or_null (builder, "module", cardpin_token_get_module_name (token));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

static void
print_token (CardpinToken *token)
{
  g_autofree char *words = pin_state_words (token);
  const char *reader = cardpin_token_get_reader (token);
  int puk = cardpin_token_get_puk_tries_left (token);

  g_print ("%s\n", reader != NULL ? reader : _("(software token)"));
  /* TRANSLATORS: the labels are padded to line up; keep the values aligned */
  g_print (_("  Card:    %s (%s, %s)\n"), cardpin_token_get_label (token),
           cardpin_token_get_manufacturer (token), cardpin_token_get_model (token));
  g_print (_("  Serial:  %s\n"), cardpin_token_get_serial (token));
  g_print (_("  PIN:     %s\n"), words);
  if (puk >= 0)
    {
      if (puk == 0)
        g_print (_("  PUK:     blocked\n"));
      else
        g_print (g_dngettext (GETTEXT_PACKAGE, "  PUK:     %d try left\n",
                              "  PUK:     %d tries left\n", puk), puk);
    }
  if (cardpin_token_get_atr (token) != NULL)
    g_print (_("  ATR:     %s\n"), cardpin_token_get_atr (token));
}

static CardpinManager *
open_manager (char    **modules,
              GError  **error)
{
  return cardpin_manager_new ((const char * const *) modules, NULL, error);
}

/* Commands */

static int
command_status (char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) modules = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { "module", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, &modules,
      N_("Use this PKCS#11 module instead of every registered one (repeatable)"),
      N_("PATH") },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Shows every card and the state of its PIN."));
  g_option_context_set_description (context,
                                    _("Exit status: 0 when every PIN is usable, 2 when at "
                                      "least one PIN is blocked, 1 on error."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse_strv (context, &argv, &error))
    {
      print_error (error);
      return CARDPIN_CLI_EXIT_ERROR;
    }
  if (g_strv_length (argv) > 1)
    {
      g_printerr (_("%s: unexpected argument “%s”\n"), g_get_prgname (), argv[1]);
      return CARDPIN_CLI_EXIT_ERROR;
    }

  manager = open_manager (modules, &error);
  if (manager == NULL)
    {
      print_error (error);
      return CARDPIN_CLI_EXIT_ERROR;
    }

  if (json)
    {
      g_autofree char *text = cardpin_cli_status_json (G_LIST_MODEL (manager));

      g_print ("%s\n", text);
    }
  else
    {
      guint n = g_list_model_get_n_items (G_LIST_MODEL (manager));
      guint i;

      if (n == 0)
        g_print ("%s\n", _("No smart card found. Insert your card."));
      for (i = 0; i < n; i++)
        {
          g_autoptr(CardpinToken) token = g_list_model_get_item (G_LIST_MODEL (manager), i);

          if (i > 0)
            g_print ("\n");
          print_token (token);
        }
    }

  return any_pin_blocked (G_LIST_MODEL (manager)) ? CARDPIN_CLI_EXIT_BLOCKED
                                                   : CARDPIN_CLI_EXIT_OK;
}

static void
print_usage (FILE *stream)
{
  guint i;

  fprintf (stream, _("Usage: %s COMMAND [OPTION…]\n\nCommands:\n"), g_get_prgname ());
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (stream, "\n%s\n", _("Run “cardpin-tool COMMAND --help” for a command's options."));
  fprintf (stream, "%s\n",
           _("Exit status: 0 success; 1 error; 2 (status) at least one PIN is blocked."));
}

/**
 * cardpin_cli_run:
 * @argv: the arguments, argv[0] the program name
 *
 * Returns: the exit status (#CardpinCliExit)
 */
int
cardpin_cli_run (char **argv)
{
  g_autofree char *prgname = NULL;
  guint i;

  prgname = g_path_get_basename (argv[0] != NULL ? argv[0] : "cardpin-tool");
  g_set_prgname (prgname);

  if (argv[0] == NULL || argv[1] == NULL)
    {
      print_usage (stderr);
      return CARDPIN_CLI_EXIT_ERROR;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return CARDPIN_CLI_EXIT_OK;
    }

  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_str_equal (argv[1], commands[i].name))
        {
          /* the command sees itself as argv[0] */
          return commands[i].func (argv + 1);
        }
    }

  g_printerr (_("%s: unknown command “%s”\n"), prgname, argv[1]);
  print_usage (stderr);
  return CARDPIN_CLI_EXIT_ERROR;
}
