/* cardpin-secure-entry.h — secrets typed into GTK entries: locked buffers, wiped
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

void           cardpin_secure_entry_init        (GtkEditable  *editable);
CardpinSecret *cardpin_secure_entry_dup_secret  (GtkEditable  *editable) G_GNUC_WARN_UNUSED_RESULT;
gboolean       cardpin_secure_entry_is_empty    (GtkEditable  *editable);
void           cardpin_secure_entry_clear       (GtkEditable  *editable);
void           cardpin_secure_entry_release_focus (GtkWidget  *form);

G_END_DECLS
