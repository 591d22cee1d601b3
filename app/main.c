/* main.c — the "Smart Card PIN" application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "cardpin-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CardpinApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = cardpin_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
