/* cardpin-cli-pin.c — the PIN commands of cardpin-tool: change, change-puk, unblock, setup
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "cardpin-cli-private.h"
#include "cardpin-cli-online.h"
#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-policy.h"
#include "cardpin-secret.h"
#include "cardpin-token.h"
#include "cardpin-unblock-session.h"

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
        cardpin_cli_print_error (local_error);
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

static void
warn_change_limited (CardpinToken *token)
{
  /* core's words, the same the app shows, with the changes remaining */
  g_autofree char *warning = cardpin_token_explain_change_limit (token, NULL);

  if (warning != NULL)
    /* Translators: %s is a sentence on how often the card's PIN can still be changed */
    g_printerr (_("Warning: %s\n"), warning);
}

/* change and change-puk: one command, two kinds of secret */
typedef enum {
  SECRET_PIN,
  SECRET_PUK,
} SecretKind;

typedef struct {
  const char *summary;
  const char *current_prompt;
  const char *new_prompt;
  const char *again_prompt;
  const char *done;
} SecretWords;

static const SecretWords secret_words[] = {
  [SECRET_PIN] = { N_("Changes the PIN of a card."), N_("Current PIN: "), N_("New PIN: "),
                   N_("New PIN again: "), N_("The PIN was changed.") },
  [SECRET_PUK] = { N_("Changes the PUK of a card."), N_("Current PUK: "), N_("New PUK: "),
                   N_("New PUK again: "), N_("The PUK was changed. Keep it in a safe place.") },
};

static int
change_secret (SecretKind   kind,
               char       **argv)
{
  const SecretWords *words = &secret_words[kind];
  gboolean is_puk = kind == SECRET_PUK;
  g_auto(Options) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinSecret) old = NULL;
  g_autoptr(CardpinSecret) new = NULL;
  g_autoptr(GError) error = NULL;
  gboolean on_keypad;
  gboolean ok;

  context = pin_command_context (&options, _(words->summary), !is_puk, is_puk, is_puk);
  if (!parse_options (context, &argv, &error))
    return cardpin_cli_fail (error);

  token = find_token (&options, NULL, &error);
  if (token == NULL)
    return cardpin_cli_fail (error);

  if (!is_puk)
    warn_change_limited (token);

  /* a PIN pad reader asks for the PINs itself, unless a script hands them over */
  on_keypad = !is_puk && cardpin_token_has_pinpad (token) && options.pin_fd < 0 &&
              options.new_pin_fd < 0;
  if (!on_keypad)
    {
      policy = is_puk ? cardpin_token_get_puk_policy (token, NULL)
                      : cardpin_token_get_pin_policy (token, NULL);
      old = read_secret (is_puk ? options.puk_fd : options.pin_fd, _(words->current_prompt),
                         &error);
      if (old == NULL)
        return cardpin_cli_fail (error);
      new = read_new_secret (is_puk ? options.new_puk_fd : options.new_pin_fd,
                             _(words->new_prompt), _(words->again_prompt), policy, is_puk,
                             old, NULL, &error);
      if (new == NULL)
        return cardpin_cli_fail (error);
    }
  else
    {
      g_print ("%s\n", _("Type your current PIN on the reader's keypad, then the new PIN "
                          "twice."));
    }

  if (is_puk)
    ok = cardpin_token_change_puk (token, old, new, NULL, &error);
  else
    ok = cardpin_token_change_pin (token, old, new, NULL, &error);
  if (!ok)
    return cardpin_cli_fail (error);

  g_print ("%s\n", _(words->done));
  /* what the card says of its PUK, not a guess from the old PIN */
  if (!is_puk && cardpin_token_get_puk_is_default (token) == 1)
    g_print ("%s\n", _("The card still has its factory PUK: set a personal one with "
                       "“cardpin-tool change-puk”."));
  return CARDPIN_CLI_EXIT_OK;
}

int
cardpin_cli_change (char **argv)
{
  return change_secret (SECRET_PIN, argv);
}

int
cardpin_cli_change_puk (char **argv)
{
  return change_secret (SECRET_PUK, argv);
}

static int
unblock_with_challenge (CardpinToken  *token,
                        CardpinSecret *new_pin)
{
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(GError) error = NULL;

  session = cardpin_token_begin_unblock (token, NULL, &error);
  if (session == NULL)
    return cardpin_cli_fail (error);

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
          return cardpin_cli_fail (error);
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
          cardpin_cli_print_error (error);
          continue;
        }
      return cardpin_cli_fail (error);
    }

  g_print ("%s\n", _("The PIN was unblocked and set."));
  return CARDPIN_CLI_EXIT_OK;
}

int
cardpin_cli_unblock (char **argv)
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
    return cardpin_cli_fail (error);
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

  /* what the administrator allows, before anything is asked or read from the card */
  if (!online.online &&
      !cardpin_policy_check_unblock_method (NULL, options.use_puk ? CARDPIN_UNBLOCK_METHOD_PUK
                                                                  : CARDPIN_UNBLOCK_METHOD_OFFLINE,
                                            &error))
    return cardpin_cli_fail (error);

  if (online.online)
    {
      if (online.forget_device)
        return cardpin_cli_online_forget (&online);
      client = cardpin_cli_online_connect (&online, &error);
      if (client == NULL)
        return cardpin_cli_fail (error);
    }

  token = find_token (&options, NULL, &error);
  if (token == NULL)
    return cardpin_cli_fail (error);
  policy = cardpin_token_get_pin_policy (token, NULL);

  if (options.use_puk && !online.online)
    {
      puk = read_secret (options.puk_fd, _("PUK: "), &error);
      if (puk == NULL)
        return cardpin_cli_fail (error);
    }

  /* asked before the card is held, so the challenge transaction stays short */
  new_pin = read_new_secret (options.new_pin_fd, _("New PIN: "), _("New PIN again: "),
                             policy, FALSE, NULL, puk, &error);
  if (new_pin == NULL)
    return cardpin_cli_fail (error);

  if (online.online)
    return cardpin_cli_online_unblock (&online, client, token, new_pin, options.use_puk);

  if (options.use_challenge)
    return unblock_with_challenge (token, new_pin);

  if (!cardpin_token_unblock_pin (token, puk, new_pin, NULL, &error))
    return cardpin_cli_fail (error);

  g_print ("%s\n", _("The PIN was unblocked and set."));
  return CARDPIN_CLI_EXIT_OK;
}

int
cardpin_cli_setup (char **argv)
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
    return cardpin_cli_fail (error);

  token = find_token (&options, NULL, &error);
  if (token == NULL)
    return cardpin_cli_fail (error);
  policy = cardpin_token_get_pin_policy (token, NULL);
  initialized = cardpin_token_get_pin_state (token) != CARDPIN_PIN_STATE_NOT_INITIALIZED;

  if (!initialized)
    current = read_secret (options.so_pin_fd, _("Security officer PIN: "), &error);
  else
    current = read_secret (options.pin_fd, _("Current PIN: "), &error);
  if (current == NULL)
    return cardpin_cli_fail (error);

  new_pin = read_new_secret (options.new_pin_fd, _("New PIN: "), _("New PIN again: "),
                             policy, FALSE, initialized ? current : NULL, NULL, &error);
  if (new_pin == NULL)
    return cardpin_cli_fail (error);

  if (initialized && cardpin_token_is_piv (token) &&
      (options.puk_fd >= 0 || options.new_puk_fd >= 0 ||
       cardpin_token_is_factory_pin (token, current)))
    {
      g_autoptr(CardpinPolicy) puk_policy = cardpin_token_get_puk_policy (token, NULL);

      puk = read_secret (options.puk_fd, _("Current PUK: "), &error);
      if (puk == NULL)
        return cardpin_cli_fail (error);
      new_puk = read_new_secret (options.new_puk_fd, _("New PUK: "), _("New PUK again: "),
                                 puk_policy, TRUE, puk, new_pin, &error);
      if (new_puk == NULL)
        return cardpin_cli_fail (error);
    }

  if (initialized)
    warn_change_limited (token);

  if (!cardpin_token_setup (token, current, new_pin, puk, new_puk, NULL, &error))
    return cardpin_cli_fail (error);

  g_print ("%s\n", new_puk ? _("Your personal PIN and PUK are set.")
                           : _("Your personal PIN is set."));
  return CARDPIN_CLI_EXIT_OK;
}
