/* cardpin-unblockd-main.c — cardpin-unblockd --config FILE
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <malloc.h>
#include <stdlib.h>

#include <glib/gi18n-lib.h>
#include <openssl/crypto.h>

#include "cardpin-process.h"
#include "cardpin-unblockd.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(CardpinUnblockd) service = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *config_path = NULL;
  gboolean version = FALSE;
  CardpinServerConfig *config;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      N_("The configuration keyfile (see cardpin-unblockd(8))"), N_("FILE") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };

  /* first: no core dumps, no ptrace by the same user */
  if (!cardpin_process_harden (&error))
    {
      g_printerr ("cardpin-unblockd: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* OpenSSL (SoftHSM2's and libpq's crypto) must not clean up at exit: a thread pool
   * thread that used it can still be ending then, and its thread-local destructor ran
   * into the freed state (seen as a SIGSEGV after "stopped", test-unblockd-pg) */
  if (!OPENSSL_init_crypto (OPENSSL_INIT_NO_ATEXIT, NULL))
    {
      g_printerr ("cardpin-unblockd: cannot initialise OpenSSL\n");
      return EXIT_FAILURE;
    }

  /* keep freed memory instead of giving it back at once: every trim of a thread's heap
   * is an madvise(2) that interrupts all CPUs, and each request frees a little */
  mallopt (M_TRIM_THRESHOLD, 32 * 1024 * 1024);

  /* TLS 1.2 and later only: GnuTLS (through glib-networking) reads its priority string
   * from here when the first TLS connection is made */
  {
    const char *priority = g_getenv ("G_TLS_GNUTLS_PRIORITY");
    g_autofree char *ours = g_strconcat (priority != NULL && *priority != '\0' ? priority
                                                                              : "NORMAL",
                                         ":-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1", NULL);

    g_setenv ("G_TLS_GNUTLS_PRIORITY", ours, TRUE);
  }

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("The cardpin online unblock service (HTTPS)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("cardpin-unblockd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("cardpin-unblockd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (config_path == NULL || argc > 1)
    {
      g_printerr (_("Usage: cardpin-unblockd --config FILE\n"));
      return 2;
    }

  config = cardpin_server_config_load (config_path, TRUE, &error);
  if (config == NULL)
    {
      g_printerr ("cardpin-unblockd: %s\n", error->message);
      return EXIT_FAILURE;
    }
  service = cardpin_unblockd_new (config, &error);
  if (service == NULL || !cardpin_unblockd_run (service, &error))
    {
      g_printerr ("cardpin-unblockd: %s\n", error->message);
      return EXIT_FAILURE;
    }
  return EXIT_SUCCESS;
}
