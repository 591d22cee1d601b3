/* cardpin-pam-worker-main.c — cardpin-pam-worker, started by cardpin-pam-helper only
 *
 * Its socket is fd 3, its environment empty, its arguments hold no secret. It dies with
 * its parent (PR_SET_PDEATHSIG, set before exec and again here), on end of file on its
 * socket, and at its deadlines.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "cardpin-pam-check.h"
#include "cardpin-pam-helper.h"
#include "cardpin-process.h"

/* How long the person may take at one prompt, and the helper in all */
#define ANSWER_TIMEOUT_S  600
#define OVERALL_TIMEOUT_S 1800

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *mode = NULL;
  g_autofree char *methods = NULL;
  g_autofree char *config = NULL;
  g_autofree char *locale = NULL;
  g_auto(GStrv) modules = NULL;
  gboolean debug = FALSE;
  CardpinPamHelper helper = { 0 };
  CardpinPamResult result = CARDPIN_PAM_RESULT_IGNORE;
  const GOptionEntry entries[] = {
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "auth, account or password", NULL },
    { "debug", 0, 0, G_OPTION_ARG_NONE, &debug, "Log debug messages (through the module)", NULL },
    { "methods", 0, 0, G_OPTION_ARG_STRING, &methods, "Unblock methods offered", NULL },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config, "Settings keyfile", NULL },
    { "module", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &modules, "PKCS#11 module", NULL },
    { "locale", 0, 0, G_OPTION_ARG_STRING, &locale, "Locale of the messages", NULL },
    { NULL }
  };

  /* dies with pam_cardpin.so's process, even if it was set too late before exec */
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  signal (SIGPIPE, SIG_IGN);
  alarm (OVERALL_TIMEOUT_S);

  context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_help_enabled (context, FALSE);
  if (!g_option_context_parse (context, &argc, &argv, &error) || mode == NULL)
    {
      cardpin_pam_log_to_module ("cardpin-pam-worker", FALSE);
      g_warning ("started with bad arguments: %s", error != NULL ? error->message : "no --mode");
      return 1;
    }
  cardpin_pam_log_to_module ("cardpin-pam-worker", debug);

  if (!cardpin_process_harden (&error))
    {
      g_warning ("%s", error->message);
      return 1;
    }

  setlocale (LC_ALL, locale != NULL ? locale : "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  helper.conv.fd = CARDPIN_PAM_HELPER_FD;
  helper.conv.answer_timeout_ms = ANSWER_TIMEOUT_S * 1000;
  helper.modules = modules;

  if (!cardpin_pam_config_load (&helper.config,
                                config != NULL ? config : SYSCONFDIR "/cardpin/cardpin.conf",
                                methods, &error))
    {
      /* the stack goes on as if the module were absent; the administrator reads why */
      g_warning ("%s", error->message);
      cardpin_pam_conv_result (&helper.conv, CARDPIN_PAM_RESULT_IGNORE);
      return 0;
    }

  if (g_str_equal (mode, "auth"))
    result = cardpin_pam_helper_auth (&helper);
  else if (g_str_equal (mode, "account"))
    result = cardpin_pam_helper_account (&helper);
  else if (g_str_equal (mode, "password"))
    result = cardpin_pam_helper_password (&helper);
  else
    g_warning ("unknown --mode=%s", mode);

  g_debug ("%s: result %d", mode, result);
  cardpin_pam_conv_result (&helper.conv, result);
  cardpin_pam_config_clear (&helper.config);
  return 0;
}
