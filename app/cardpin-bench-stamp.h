/* cardpin-bench-stamp.h — tells tests/bench/bench-startup when a widget was first painted
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void cardpin_bench_stamp_when_painted (GtkWidget *widget);

G_END_DECLS
