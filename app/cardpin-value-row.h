/* cardpin-value-row.h — a row with a name and a selectable value, for detail pages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

GtkWidget *cardpin_value_row_new (const char *title,
                                  const char *value) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
