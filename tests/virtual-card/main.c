/* main.c: cardpin-virtual-card, a PIV smart card for vsmartcard's vpcd
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>
#include <signal.h>
#include <unistd.h>

#include "vcard-card.h"
#include "vcard-options.h"
#include "vcard-state.h"
#include "vcard-vpcd.h"

/* The state is saved atomically after every change and termination
 * signals are held back while a command is applied, so leaving at once
 * is clean. */
static void
terminate_cb (int signum)
{
  _exit (0);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(VcardOptions) options = vcard_options_new ();
  g_autoptr(VcardCard) card = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;
  struct sigaction action = { 0 };
  VcardState *state;

  setlocale (LC_ALL, "");
  g_set_prgname ("cardpin-virtual-card");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  action.sa_handler = terminate_cb;
  sigemptyset (&action.sa_mask);
  sigaction (SIGTERM, &action, NULL);
  sigaction (SIGINT, &action, NULL);
  signal (SIGPIPE, SIG_IGN);

  args = g_strdupv (argv);
  if (!vcard_options_parse (options, args, &error))
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      g_printerr (_("Run “%s --help” to see the options.\n"), g_get_prgname ());
      return 2;
    }

  state = vcard_state_open (options, &error);
  if (state == NULL)
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return 1;
    }

  card = vcard_card_new (state);
  vcard_card_set_verbose (card, options->verbose);

  if (!vcard_vpcd_run (card, options, &error))
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return 1;
    }

  return 0;
}
