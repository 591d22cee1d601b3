/* cardpin-online-page-private.h — what the widget tests look at inside CardpinOnlinePage
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-new-pin-group.h"
#include "cardpin-online-page.h"

G_BEGIN_DECLS

GtkEditable        *_cardpin_online_page_get_password_entry (CardpinOnlinePage *self);
CardpinNewPinGroup *_cardpin_online_page_get_new_group      (CardpinOnlinePage *self);
GtkWidget          *_cardpin_online_page_get_submit_button  (CardpinOnlinePage *self);
const char         *_cardpin_online_page_get_error          (CardpinOnlinePage *self);

G_END_DECLS
