/* cardpin-helpdesk.c — inventory, audit and offline responses for a helpdesk
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "cardpin-helpdesk-cli.h"
#include "cardpin-process.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* before the token PIN, a challenge or a response is read: no core dumps, memory not
   * readable by other processes */
  if (!cardpin_process_harden (&error))
    {
      g_printerr ("cardpin-helpdesk: %s\n", error->message);
      return CARDPIN_HELPDESK_EXIT_REFUSED;
    }

  return cardpin_helpdesk_run (g_strdupv (argv));
}
