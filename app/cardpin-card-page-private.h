/* cardpin-card-page-private.h — what the widget tests look at inside CardpinCardPage
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-card-page.h"

G_BEGIN_DECLS

/* the texts as shown: the holder (label or serial) and its serial line, the PIN's
 * state with its tries left, the PUK's tries left */
const char *_cardpin_card_page_get_holder_text  (CardpinCardPage *self);
const char *_cardpin_card_page_get_serial_text  (CardpinCardPage *self);
const char *_cardpin_card_page_get_pin_text     (CardpinCardPage *self);
const char *_cardpin_card_page_get_puk_text     (CardpinCardPage *self);

G_END_DECLS
