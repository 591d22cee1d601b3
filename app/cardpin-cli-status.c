/* cardpin-cli-status.c — `cardpin-tool status`: every card and the state of its PIN
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "cardpin-cli-private.h"
#include "cardpin-json.h"
#include "cardpin-manager.h"
#include "cardpin-pin-state.h"
#include "cardpin-token.h"

static char *
pin_state_words (CardpinToken *token)
{
  return cardpin_pin_state_explain (cardpin_token_get_pin_state (token),
                                    cardpin_token_get_pin_tries_left (token),
                                    cardpin_token_get_puk_tries_left (token));
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
  guint i;

  json_builder_begin_array (builder);
  for (i = 0; i < g_list_model_get_n_items (tokens); i++)
    {
      g_autoptr(CardpinToken) token = g_list_model_get_item (tokens, i);

      json_builder_begin_object (builder);
      cardpin_json_add_string_or_null (builder, "reader", cardpin_token_get_reader (token));
      cardpin_json_add_string_or_null (builder, "label", cardpin_token_get_label (token));
      cardpin_json_add_string_or_null (builder, "serial", cardpin_token_get_serial (token));
      cardpin_json_add_string_or_null (builder, "pin_state",
                          cardpin_pin_state_to_string (cardpin_token_get_pin_state (token)));
      cardpin_json_add_int_or_null (builder, "pin_tries_left", cardpin_token_get_pin_tries_left (token));
      cardpin_json_add_int_or_null (builder, "puk_tries_left", cardpin_token_get_puk_tries_left (token));
      cardpin_json_add_int_or_null (builder, "pin_tries_max", cardpin_token_get_pin_tries_max (token));
      cardpin_json_add_string_or_null (builder, "manufacturer", cardpin_token_get_manufacturer (token));
      cardpin_json_add_string_or_null (builder, "model", cardpin_token_get_model (token));
      cardpin_json_add_string_or_null (builder, "atr", cardpin_token_get_atr (token));
      json_builder_set_member_name (builder, "hardware");
      json_builder_add_boolean_value (builder, cardpin_token_is_hardware (token));
      cardpin_json_add_string_or_null (builder, "module", cardpin_token_get_module_name (token));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  return cardpin_json_to_text (builder);
}

static void
print_token (CardpinToken *token)
{
  g_autofree char *words = pin_state_words (token);
  const char *reader = cardpin_token_get_reader (token);
  const char *label = cardpin_token_get_label (token);
  const char *manufacturer = cardpin_token_get_manufacturer (token);
  const char *model = cardpin_token_get_model (token);
  int puk = cardpin_token_get_puk_tries_left (token);
  g_autofree char *kind = NULL;

  /* a PIV card read over PC/SC has a model ("PIV") but no PKCS#11 manufacturer */
  if (manufacturer != NULL && model != NULL)
    kind = g_strdup_printf ("%s, %s", manufacturer, model);
  else
    kind = g_strdup (model != NULL ? model : manufacturer != NULL ? manufacturer : "?");

  g_print ("%s\n", reader != NULL ? reader : _("(software token)"));
  /* TRANSLATORS: the labels are padded to line up; keep the values aligned */
  g_print (_("  Card:    %s (%s)\n"), label != NULL ? label : _("no holder name"), kind);
  if (cardpin_token_get_serial (token) != NULL)
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

/* The cards as the status shows them: a PIV card is read over PC/SC alone (no PKCS#11
 * module, no settings loaded); PKCS#11 only for cards without PIV, or for every token
 * (software ones too) with --all-tokens */
static CardpinManager *
open_manager (char      **modules,
              gboolean    all_tokens,
              GError    **error)
{
  return cardpin_manager_new_full ((const char * const *) modules,
                                   all_tokens ? CARDPIN_MANAGER_FLAGS_NONE
                                              : CARDPIN_MANAGER_FLAGS_PCSC_FIRST,
                                   NULL, error);
}

/* Commands */

int
cardpin_cli_status (char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) modules = NULL;
  gboolean json = FALSE;
  gboolean all_tokens = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { "all-tokens", 0, 0, G_OPTION_ARG_NONE, &all_tokens,
      N_("Read every token through PKCS#11, software tokens too (loads the PKCS#11 "
         "modules; without it PIV cards are read over PC/SC alone)"), NULL },
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
      cardpin_cli_print_error (error);
      return CARDPIN_CLI_EXIT_ERROR;
    }
  if (g_strv_length (argv) > 1)
    {
      g_printerr (_("%s: unexpected argument “%s”\n"), g_get_prgname (), argv[1]);
      return CARDPIN_CLI_EXIT_ERROR;
    }

  manager = open_manager (modules, all_tokens, &error);
  if (manager == NULL)
    {
      cardpin_cli_print_error (error);
      return CARDPIN_CLI_EXIT_ERROR;
    }

  /* without pcscd no card can show: say so rather than "insert your card", and report
   * no state at all rather than a part of it */
  if (cardpin_manager_get_pcsc_error (manager) != NULL)
    {
      cardpin_cli_print_error (cardpin_manager_get_pcsc_error (manager));
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
