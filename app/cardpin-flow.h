/* cardpin-flow.h — what every flow page (change, helpdesk, online) does while the card or
 * the service works, and how it shows an error
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

gboolean cardpin_flow_set_busy   (GtkWidget  *page,
                                  gboolean   *busy_field,
                                  gboolean    busy,
                                  GtkSpinner *spinner,
                                  GtkWidget  *back_button,
                                  GtkWidget  *inputs,
                                  GtkWidget  *new_group);
void     cardpin_flow_show_error (GtkLabel   *error_label,
                                  const char *message);

G_END_DECLS
