/* cardpin-change-page-private.h — what the widget tests look at inside CardpinChangePage
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-change-page.h"
#include "cardpin-new-pin-group.h"

G_BEGIN_DECLS

GtkEditable        *_cardpin_change_page_get_current_entry  (CardpinChangePage *self);
CardpinNewPinGroup *_cardpin_change_page_get_new_group      (CardpinChangePage *self);
GtkWidget          *_cardpin_change_page_get_submit_button  (CardpinChangePage *self);
/* the inline error as shown, or %NULL when none is */
const char         *_cardpin_change_page_get_error          (CardpinChangePage *self);

G_END_DECLS
