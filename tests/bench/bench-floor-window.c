/* bench-floor-window.c — the floor for bench-startup: a bare GTK 4 + libadwaita window
 * (header bar and one label with card-state words, "PIN OK") and nothing else: no card,
 * no template, no resources. It chooses GTK's renderer as the app does
 * (app/cardpin-renderer.c) and tells the benchmark when it painted the label as the
 * app does (app/cardpin-bench-stamp.c). bench-startup times it the way it times the
 * app, on the same Xvfb, so the app's figures can be read against what any GTK 4
 * window costs there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <adwaita.h>

#include "cardpin-bench-stamp.h"
#include "cardpin-renderer.h"

static void
activate_cb (GApplication *application)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (application));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  /* not translated: the benchmark looks for these words */
  GtkWidget *label = gtk_label_new ("PIN OK");

  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), label);
  /* stamped when painted, as the app's first card state is */
  cardpin_bench_stamp_when_painted (label);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  /* the app's window size (app/cardpin-window.ui): as many pixels to draw */
  gtk_window_set_default_size (GTK_WINDOW (window), 560, 520);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(AdwApplication) application = NULL;

  /* the app's choice (cairo on a machine without a GPU), so that the floor is what any
   * window costs drawn the same way */
  cardpin_renderer_choose (NULL);
  application = adw_application_new ("io.github.cardpin.BenchFloor", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (application, "activate", G_CALLBACK (activate_cb), NULL);
  return g_application_run (G_APPLICATION (application), argc, argv);
}
