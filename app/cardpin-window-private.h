/* cardpin-window-private.h — what the UI tests look at inside CardpinWindow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-window.h"

G_BEGIN_DECLS

/* "loading", "error", "empty" or "cards" */
const char  *_cardpin_window_get_page       (CardpinWindow *self);
GtkListBox  *_cardpin_window_get_list_box   (CardpinWindow *self);
AdwStatusPage *_cardpin_window_get_error_page (CardpinWindow *self);
GtkSpinner  *_cardpin_window_get_loading_spinner (CardpinWindow *self);
/* the page on top: the list's box, a CardpinCardPage, a flow page */
GtkWidget   *_cardpin_window_get_visible_page (CardpinWindow *self);
gboolean     _cardpin_window_has_page     (CardpinWindow *self,
                                           GType          type);

G_END_DECLS
