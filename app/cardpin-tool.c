/* cardpin-tool.c — command-line PIN self-service for scripts and administrators
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "cardpin-cli.h"
#include "cardpin-process.h"

int
main (int   argc,
      char *argv[])
{
  g_auto(GStrv) args = NULL;
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* before any secret is read: no core dumps, memory not readable by other processes */
  if (!cardpin_process_harden (&error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  args = g_strdupv (argv);
  return cardpin_cli_run (args);
}
