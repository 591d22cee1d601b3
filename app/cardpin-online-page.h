/* cardpin-online-page.h — unblock the PIN through the organization's unblock service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_ONLINE_PAGE (cardpin_online_page_get_type ())

G_DECLARE_FINAL_TYPE (CardpinOnlinePage, cardpin_online_page, CARDPIN, ONLINE_PAGE, AdwBin)

GtkWidget    *cardpin_online_page_new        (CardpinToken      *token) G_GNUC_WARN_UNUSED_RESULT;
CardpinToken *cardpin_online_page_get_token  (CardpinOnlinePage *self);
gboolean      cardpin_online_page_get_busy   (CardpinOnlinePage *self);

G_END_DECLS
