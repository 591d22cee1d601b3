/* cardpin-helpdesk-page.h — unblock the PIN with a challenge read to the helpdesk
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-manager.h"
#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_HELPDESK_PAGE (cardpin_helpdesk_page_get_type ())

G_DECLARE_FINAL_TYPE (CardpinHelpdeskPage, cardpin_helpdesk_page, CARDPIN, HELPDESK_PAGE, AdwBin)

GtkWidget    *cardpin_helpdesk_page_new        (CardpinManager      *manager,
                                                CardpinToken        *token) G_GNUC_WARN_UNUSED_RESULT;
CardpinToken *cardpin_helpdesk_page_get_token  (CardpinHelpdeskPage *self);
/* "starting", "form", "expired" or "failed" */
const char   *cardpin_helpdesk_page_get_state  (CardpinHelpdeskPage *self);
gboolean      cardpin_helpdesk_page_get_busy   (CardpinHelpdeskPage *self);

G_END_DECLS
