/* main.c — the "Smart Card PIN" application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "cardpin-application.h"
#include "cardpin-process.h"
#include "cardpin-renderer.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CardpinApplication) app = NULL;
  g_autoptr(GError) error = NULL;

  /* before GTK reads its environment and before any thread: cairo, not OpenGL in
   * software, on machines without a GPU (see cardpin-renderer.c) */
  cardpin_renderer_choose (NULL);

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

  app = cardpin_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
