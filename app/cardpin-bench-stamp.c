/* cardpin-bench-stamp.c — tells tests/bench/bench-startup when a widget was first painted
 *
 * Only under the benchmark: CARDPIN_BENCH_PAINTED_FD names a pipe the benchmark reads.
 * The first widget handed to cardpin_bench_stamp_when_painted() (the first card state)
 * waits for a frame in which it is mapped; after GDK painted that frame and the X server
 * (or compositor) has received it (gdk_display_sync()), the clock (CLOCK_MONOTONIC, µs)
 * and the GskRenderer type that drew the frame are written to the pipe as one line, and
 * the pipe is closed. Without the variable nothing happens.
 *
 * tests/bench/bench-floor-window.c builds this file too, so the floor is stamped the
 * same way as the app.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cardpin-bench-stamp.h"

static gboolean stamp_taken;

static void
after_paint_cb (GdkFrameClock *frame_clock,
                GtkWidget     *widget)
{
  char line[128];
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  const char *env = g_getenv ("CARDPIN_BENCH_PAINTED_FD");
  int fd = env != NULL ? atoi (env) : -1;
  gint64 now;
  int len;
  ssize_t n;

  g_signal_handlers_disconnect_by_func (frame_clock, after_paint_cb, widget);
  /* the frame's drawing requests have reached the display server */
  gdk_display_sync (gtk_widget_get_display (widget));
  now = g_get_monotonic_time ();

  if (fd >= 0)
    {
      len = g_snprintf (line, sizeof line, "%" G_GINT64_FORMAT " %s\n", now,
                        renderer != NULL ? G_OBJECT_TYPE_NAME (renderer) : "none");
      do
        n = write (fd, line, len);
      while (n < 0 && errno == EINTR);
      close (fd);
    }
  g_object_unref (widget);
}

/* runs in the update phase of each frame; the paint phase of the first frame in which
 * @widget is mapped draws it */
static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *frame_clock,
         gpointer       user_data)
{
  if (!gtk_widget_get_mapped (widget))
    return G_SOURCE_CONTINUE;

  g_signal_connect (frame_clock, "after-paint", G_CALLBACK (after_paint_cb),
                    g_object_ref (widget));
  return G_SOURCE_REMOVE;
}

/**
 * cardpin_bench_stamp_when_painted:
 * @widget: a widget showing what the benchmark waits for
 *
 * Under tests/bench/bench-startup only (CARDPIN_BENCH_PAINTED_FD), the first call
 * arranges for the time the frame that draws @widget was painted to be written to the
 * benchmark's pipe; later calls and calls without the variable do nothing.
 */
void
cardpin_bench_stamp_when_painted (GtkWidget *widget)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));

  if (G_LIKELY (stamp_taken) || g_getenv ("CARDPIN_BENCH_PAINTED_FD") == NULL)
    return;

  stamp_taken = TRUE;
  gtk_widget_add_tick_callback (widget, tick_cb, NULL, NULL);
}
