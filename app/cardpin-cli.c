/* cardpin-cli.c — the command-line front end (cardpin-tool)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "cardpin-cli.h"
#include "cardpin-cli-online.h"
#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-pin-state.h"
#include "cardpin-policy.h"
#include "cardpin-secret.h"
#include "cardpin-token.h"
#include "cardpin-unblock-session.h"

typedef int (*CommandFunc) (char **argv);

typedef struct {
  const char  *name;
  CommandFunc  func;
  const char  *summary;   /* N_() */
} Command;

static int command_status     (char **argv);
static int command_change     (char **argv);
static int command_change_puk (char **argv);
static int command_unblock    (char **argv);
static int command_setup      (char **argv);

static const Command commands[] = {
  { "status", command_status, N_("Show every card and the state of its PIN") },
  { "change", command_change, N_("Change the PIN") },
  { "change-puk", command_change_puk, N_("Change the PUK") },
  { "unblock", command_unblock, N_("Unblock the PIN with the PUK (--puk), a challenge "
                                   "code (--challenge) or the unblock service (--online)") },
  { "setup", command_setup, N_("Set a personal PIN (and PUK) on a new card") },
};

/* Helpers */

static GLogWriterOutput
log_to_stderr (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  g_autofree char *line = NULL;
  const char *domain = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
  /* G_MESSAGES_DEBUG decides, as with GLib's own writer */
  if (g_log_writer_default_would_drop (log_level, domain))
    return G_LOG_WRITER_HANDLED;
  line = g_log_writer_format_fields (log_level, fields, n_fields,
                                     g_log_writer_supports_color (fileno (stderr)));
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

static void
print_error (const GError *error)
{
  g_printerr ("%s: %s\n", g_get_prgname (), error->message);
}

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

  /* without pcscd no card can show: say so rather than "insert your card", and report
   * no state at all rather than a part of it */
  if (cardpin_manager_get_pcsc_error (manager) != NULL)
    {
      print_error (cardpin_manager_get_pcsc_error (manager));
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

/* Options shared by the PIN commands */
typedef struct {
  char    **modules;
  char     *reader;
  char     *serial;
  int       pin_fd;
  int       new_pin_fd;
  int       puk_fd;
  int       new_puk_fd;
  int       so_pin_fd;
  gboolean  use_puk;
  gboolean  use_challenge;
} Options;

static void
options_clear (Options *options)
{
  g_strfreev (options->modules);
  g_free (options->reader);
  g_free (options->serial);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static GOptionContext *
pin_command_context (Options    *options,
                     const char *summary,
                     gboolean    want_pin,
                     gboolean    want_puk,
                     gboolean    want_new_puk)
{
  GOptionContext *context = g_option_context_new (NULL);
  const GOptionEntry common[] = {
    { "reader", 'r', 0, G_OPTION_ARG_STRING, &options->reader,
      N_("The card in this reader (when several cards are present)"), N_("NAME") },
    { "serial", 's', 0, G_OPTION_ARG_STRING, &options->serial,
      N_("The card with this serial number"), N_("SERIAL") },
    { "module", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, &options->modules,
      N_("Use this PKCS#11 module instead of every registered one (repeatable)"),
      N_("PATH") },
    { "new-pin-fd", 0, 0, G_OPTION_ARG_INT, &options->new_pin_fd,
      N_("Read the new PIN from this file descriptor (one line) instead of the terminal"),
      N_("FD") },
    { NULL }
  };
  const GOptionEntry pin[] = {
    { "pin-fd", 0, 0, G_OPTION_ARG_INT, &options->pin_fd,
      N_("Read the current PIN from this file descriptor (one line)"), N_("FD") },
    { NULL }
  };
  const GOptionEntry puk[] = {
    { "puk-fd", 0, 0, G_OPTION_ARG_INT, &options->puk_fd,
      N_("Read the PUK from this file descriptor (one line)"), N_("FD") },
    { NULL }
  };
  const GOptionEntry new_puk[] = {
    { "new-puk-fd", 0, 0, G_OPTION_ARG_INT, &options->new_puk_fd,
      N_("Read the new PUK from this file descriptor (one line)"), N_("FD") },
    { NULL }
  };

  options->pin_fd = options->new_pin_fd = options->puk_fd = -1;
  options->new_puk_fd = options->so_pin_fd = -1;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context,
                                    _("PINs and PUKs are read from the terminal without "
                                      "echo, or from the file descriptors given, one per "
                                      "line; never from the command line.\n"
                                      "Exit status: 0 success, 1 error."));
  g_option_context_add_main_entries (context, common, GETTEXT_PACKAGE);
  if (want_pin)
    g_option_context_add_main_entries (context, pin, GETTEXT_PACKAGE);
  if (want_puk)
    g_option_context_add_main_entries (context, puk, GETTEXT_PACKAGE);
  if (want_new_puk)
    g_option_context_add_main_entries (context, new_puk, GETTEXT_PACKAGE);
  return context;
}

static gboolean
parse_options (GOptionContext  *context,
               char          ***argv,
               GError         **error)
{
  if (!g_option_context_parse_strv (context, argv, error))
    return FALSE;
  if (g_strv_length (*argv) > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Unexpected argument “%s”. Secrets are never taken from the command "
                     "line."), (*argv)[1]);
      return FALSE;
    }
  return TRUE;
}

static CardpinSecret *
read_secret (int          fd,
             const char  *prompt,
             GError     **error)
{
  if (fd >= 0)
    return cardpin_secret_new_from_fd (fd, error);
  return cardpin_secret_new_from_terminal (prompt, error);
}

/* A new PIN or PUK: asked twice on the terminal, checked against the policy. */
static CardpinSecret *
read_new_secret (int                   fd,
                 const char           *prompt,
                 const char           *confirm_prompt,
                 CardpinPolicy        *policy,
                 gboolean              is_puk,
                 const CardpinSecret  *old,
                 const CardpinSecret  *other,
                 GError              **error)
{
  /* on a terminal a refused or mistyped entry is asked again, a few times */
  guint attempts = fd < 0 ? 3 : 1;

  for (guint i = 0; i < attempts; i++)
    {
      g_autoptr(CardpinSecret) secret = NULL;
      g_autoptr(CardpinSecret) again = NULL;
      g_autoptr(GError) local_error = NULL;
      gboolean ok;

      g_clear_error (error);
      secret = read_secret (fd, prompt, error);
      if (secret == NULL)
        return NULL;

      /* the rules first: no point typing a refused PIN twice */
      if (is_puk)
        ok = cardpin_policy_check_puk (policy, secret, old, other, &local_error);
      else
        ok = cardpin_policy_check (policy, secret, old, other, &local_error);

      if (ok && fd < 0)
        {
          again = cardpin_secret_new_from_terminal (confirm_prompt, error);
          if (again == NULL)
            return NULL;
          ok = cardpin_policy_check_confirmation (secret, again, &local_error);
        }

      if (ok)
        return g_steal_pointer (&secret);

      if (i + 1 < attempts)
        print_error (local_error);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return NULL;
}

static CardpinToken *
find_token (Options         *options,
            CardpinManager **manager_out,
            GError         **error)
{
  g_autoptr(CardpinManager) manager = NULL;
  CardpinToken *token;

  manager = cardpin_manager_new ((const char * const *) options->modules, NULL, error);
  if (manager == NULL)
    return NULL;
  token = cardpin_manager_find_token (manager, options->reader, options->serial, error);
  if (token != NULL && manager_out != NULL)
    *manager_out = g_steal_pointer (&manager);
  return token;
}

/* The administrator's policy (GSettings, lockable in dconf) narrowed to what the token
 * takes; PIV cards take 6 to 8 characters (SP 800-73). */
static CardpinPolicy *
policy_for (CardpinToken *token)
{
  g_autoptr(CardpinPolicy) settings = cardpin_policy_new_from_settings (NULL);
  guint token_min = cardpin_token_get_min_pin_length (token);
  guint token_max = cardpin_token_get_max_pin_length (token);

  if (cardpin_token_is_piv (token))
    {
      token_min = MAX (token_min, 6);
      token_max = token_max > 0 ? MIN (token_max, 8) : 8;
    }
  return cardpin_policy_new_for_token (settings, token_min, token_max);
}

static void
warn_change_limited (CardpinToken *token)
{
  g_autofree char *description = NULL;
  guint max = 0;

  if (cardpin_token_lookup_change_limit (token, NULL, &max, &description))
    g_printerr (g_dngettext (GETTEXT_PACKAGE,
                             "Warning: this card model (%s) allows its PIN to be changed "
                             "only %u time.\n",
                             "Warning: this card model (%s) allows its PIN to be changed "
                             "only %u times.\n", max),
                description, max);
}

static int
fail (const GError *error)
{
  print_error (error);
  return CARDPIN_CLI_EXIT_ERROR;
}

static int
command_change (char **argv)
{
  g_auto(Options) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinSecret) old_pin = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(GError) error = NULL;

  context = pin_command_context (&options, _("Changes the PIN of a card."), TRUE, FALSE,
                                 FALSE);
  if (!parse_options (context, &argv, &error))
    return fail (error);

  token = find_token (&options, NULL, &error);
  if (token == NULL)
    return fail (error);

  warn_change_limited (token);

  if (!cardpin_token_has_pinpad (token))
    {
      policy = policy_for (token);
      old_pin = read_secret (options.pin_fd, _("Current PIN: "), &error);
      if (old_pin == NULL)
        return fail (error);
      new_pin = read_new_secret (options.new_pin_fd, _("New PIN: "), _("New PIN again: "),
                                 policy, FALSE, old_pin, NULL, &error);
      if (new_pin == NULL)
        return fail (error);
    }
  else
    {
      g_print ("%s\n", _("Enter the current and the new PIN on the reader's keypad."));
    }

  if (!cardpin_token_change_pin (token, old_pin, new_pin, NULL, &error))
    return fail (error);

  g_print ("%s\n", _("The PIN was changed."));
  /* what the card says of its PUK, not a guess from the old PIN */
  if (cardpin_token_get_puk_is_default (token) == 1)
    g_print ("%s\n", _("The card still has its factory PUK: set a personal one with "
                       "“cardpin-tool change-puk”."));
  return CARDPIN_CLI_EXIT_OK;
}

static int
command_change_puk (char **argv)
{
  g_auto(Options) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinSecret) old_puk = NULL;
  g_autoptr(CardpinSecret) new_puk = NULL;
  g_autoptr(GError) error = NULL;

  context = pin_command_context (&options, _("Changes the PUK of a card."), FALSE, TRUE,
                                 TRUE);
  if (!parse_options (context, &argv, &error))
    return fail (error);

  token = find_token (&options, NULL, &error);
  if (token == NULL)
    return fail (error);

  policy = policy_for (token);
  old_puk = read_secret (options.puk_fd, _("Current PUK: "), &error);
  if (old_puk == NULL)
    return fail (error);
  new_puk = read_new_secret (options.new_puk_fd, _("New PUK: "), _("New PUK again: "),
                             policy, TRUE, old_puk, NULL, &error);
  if (new_puk == NULL)
    return fail (error);

  if (!cardpin_token_change_puk (token, old_puk, new_puk, NULL, &error))
    return fail (error);

  g_print ("%s\n", _("The PUK was changed. Keep it in a safe place."));
  return CARDPIN_CLI_EXIT_OK;
}

static int
unblock_with_challenge (CardpinToken  *token,
                        CardpinSecret *new_pin)
{
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(GError) error = NULL;

  session = cardpin_token_begin_unblock (token, NULL, &error);
  if (session == NULL)
    return fail (error);

  g_printerr ("%s\n", _("Read this challenge to your helpdesk, then type the response code "
                        "they give you:"));
  g_print ("%s\n", cardpin_unblock_session_get_challenge_code (session));
  fflush (stdout);

  for (;;)
    {
      g_autoptr(CardpinSecret) line = NULL;

      g_clear_error (&error);
      line = cardpin_secret_new_from_fd (STDIN_FILENO, &error);
      if (line == NULL)
        {
          cardpin_unblock_session_cancel (session);
          return fail (error);
        }
      if (cardpin_secret_get_length (line) == 0)
        continue;

      if (cardpin_unblock_session_complete_code (session, cardpin_secret_as_string (line),
                                                 new_pin, NULL, &error))
        break;

      /* a typo never reaches the card: ask again */
      if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE) &&
          cardpin_unblock_session_is_active (session))
        {
          print_error (error);
          continue;
        }
      return fail (error);
    }

  g_print ("%s\n", _("The PIN was unblocked and set."));
  return CARDPIN_CLI_EXIT_OK;
}

static int
command_unblock (char **argv)
{
  g_auto(Options) options = { 0 };
  g_auto(CardpinCliOnline) online;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinSecret) puk = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(CardpinUnblockClient) client = NULL;
  g_autoptr(GError) error = NULL;
  const GOptionEntry modes[] = {
    { "puk", 0, 0, G_OPTION_ARG_NONE, &options.use_puk, N_("Unblock with the PUK"), NULL },
    { "challenge", 0, 0, G_OPTION_ARG_NONE, &options.use_challenge,
      N_("Unblock with a challenge code answered by your helpdesk: prints the challenge "
         "on one line, then reads the response code from standard input"), NULL },
    { NULL }
  };

  cardpin_cli_online_init (&online);
  context = pin_command_context (&options, _("Unblocks the PIN and sets a new one."), FALSE,
                                 TRUE, FALSE);
  g_option_context_add_main_entries (context, modes, GETTEXT_PACKAGE);
  cardpin_cli_online_add_entries (&online, context);
  if (!parse_options (context, &argv, &error))
    return fail (error);
  /* one method: --puk, --challenge or --online (--online --puk: the service's PUK) */
  if ((int) options.use_puk + (int) options.use_challenge + (int) online.online != 1 &&
      !(online.online && options.use_puk && !options.use_challenge))
    {
      g_printerr (_("%s: give one of --puk, --challenge or --online\n"), g_get_prgname ());
      return CARDPIN_CLI_EXIT_ERROR;
    }
  if (!online.online && (online.server || online.ca_file || online.user ||
                         online.password_fd >= 0 || online.remember_device ||
                         online.forget_device))
    {
      g_printerr (_("%s: --server, --ca-file, --user, --password-fd, --remember-device and "
                    "--forget-device go with --online\n"), g_get_prgname ());
      return CARDPIN_CLI_EXIT_ERROR;
    }

  if (online.online)
    {
      if (online.forget_device)
        return cardpin_cli_online_forget (&online);
      client = cardpin_cli_online_connect (&online, &error);
      if (client == NULL)
        return fail (error);
    }

  token = find_token (&options, NULL, &error);
  if (token == NULL)
    return fail (error);
  policy = policy_for (token);

  if (options.use_puk && !online.online)
    {
      puk = read_secret (options.puk_fd, _("PUK: "), &error);
      if (puk == NULL)
        return fail (error);
    }

  /* asked before the card is held, so the challenge transaction stays short */
  new_pin = read_new_secret (options.new_pin_fd, _("New PIN: "), _("New PIN again: "),
                             policy, FALSE, NULL, puk, &error);
  if (new_pin == NULL)
    return fail (error);

  if (online.online)
    return cardpin_cli_online_unblock (&online, client, token, new_pin, options.use_puk);

  if (options.use_challenge)
    return unblock_with_challenge (token, new_pin);

  if (!cardpin_token_unblock_pin (token, puk, new_pin, NULL, &error))
    return fail (error);

  g_print ("%s\n", _("The PIN was unblocked and set."));
  return CARDPIN_CLI_EXIT_OK;
}

static int
command_setup (char **argv)
{
  g_auto(Options) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinSecret) current = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(CardpinSecret) puk = NULL;
  g_autoptr(CardpinSecret) new_puk = NULL;
  g_autoptr(GError) error = NULL;
  const GOptionEntry so[] = {
    { "so-pin-fd", 0, 0, G_OPTION_ARG_INT, &options.so_pin_fd,
      N_("Read the security officer PIN from this file descriptor (tokens without a PIN)"),
      N_("FD") },
    { NULL }
  };
  gboolean initialized;

  context = pin_command_context (&options,
                                 _("Sets a personal PIN on a new card: on a token without "
                                   "a PIN with the security officer PIN; on a PIV card "
                                   "still on its factory values also a personal PUK."),
                                 TRUE, TRUE, TRUE);
  g_option_context_add_main_entries (context, so, GETTEXT_PACKAGE);
  if (!parse_options (context, &argv, &error))
    return fail (error);

  token = find_token (&options, NULL, &error);
  if (token == NULL)
    return fail (error);
  policy = policy_for (token);
  initialized = cardpin_token_get_pin_state (token) != CARDPIN_PIN_STATE_NOT_INITIALIZED;

  if (!initialized)
    current = read_secret (options.so_pin_fd, _("Security officer PIN: "), &error);
  else
    current = read_secret (options.pin_fd, _("Current PIN: "), &error);
  if (current == NULL)
    return fail (error);

  new_pin = read_new_secret (options.new_pin_fd, _("New PIN: "), _("New PIN again: "),
                             policy, FALSE, initialized ? current : NULL, NULL, &error);
  if (new_pin == NULL)
    return fail (error);

  if (initialized && cardpin_token_is_piv (token) &&
      (options.puk_fd >= 0 || options.new_puk_fd >= 0 ||
       cardpin_token_is_factory_pin (token, current)))
    {
      puk = read_secret (options.puk_fd, _("Current PUK: "), &error);
      if (puk == NULL)
        return fail (error);
      new_puk = read_new_secret (options.new_puk_fd, _("New PUK: "), _("New PUK again: "),
                                 policy, TRUE, puk, new_pin, &error);
      if (new_puk == NULL)
        return fail (error);
    }

  if (initialized)
    warn_change_limited (token);

  if (!cardpin_token_setup (token, current, new_pin, puk, new_puk, NULL, &error))
    return fail (error);

  g_print ("%s\n", new_puk ? _("Your personal PIN and PUK are set.")
                           : _("Your personal PIN is set."));
  return CARDPIN_CLI_EXIT_OK;
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

  /* stdout is for results (status --json): every log message goes to stderr */
  g_log_set_writer_func (log_to_stderr, NULL, NULL);

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
