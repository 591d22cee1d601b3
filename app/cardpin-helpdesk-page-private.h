/* cardpin-helpdesk-page-private.h — what the widget tests look at inside CardpinHelpdeskPage
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-helpdesk-page.h"
#include "cardpin-new-pin-group.h"

G_BEGIN_DECLS

const char         *_cardpin_helpdesk_page_get_challenge_text (CardpinHelpdeskPage *self);
/* what to do with the challenge, with the admin key's tries left */
const char         *_cardpin_helpdesk_page_get_challenge_hint (CardpinHelpdeskPage *self);
GtkEditable        *_cardpin_helpdesk_page_get_response_entry (CardpinHelpdeskPage *self);
/* "check XXXX" of what is typed so far, as shown */
const char         *_cardpin_helpdesk_page_get_response_check (CardpinHelpdeskPage *self);
const char         *_cardpin_helpdesk_page_get_response_hint  (CardpinHelpdeskPage *self);
gboolean            _cardpin_helpdesk_page_get_response_typo  (CardpinHelpdeskPage *self);
CardpinNewPinGroup *_cardpin_helpdesk_page_get_new_group      (CardpinHelpdeskPage *self);
GtkWidget          *_cardpin_helpdesk_page_get_submit_button  (CardpinHelpdeskPage *self);
/* the status page's title and description ("expired", "failed") */
const char         *_cardpin_helpdesk_page_get_status_title   (CardpinHelpdeskPage *self);
const char         *_cardpin_helpdesk_page_get_status_text    (CardpinHelpdeskPage *self);

G_END_DECLS
