/* cardpin-card-page.h — one card: its state and what can be done with it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_CARD_PAGE (cardpin_card_page_get_type ())

G_DECLARE_FINAL_TYPE (CardpinCardPage, cardpin_card_page, CARDPIN, CARD_PAGE, AdwBin)

GtkWidget    *cardpin_card_page_new        (CardpinToken     *token) G_GNUC_WARN_UNUSED_RESULT;
CardpinToken *cardpin_card_page_get_token  (CardpinCardPage  *self);

G_END_DECLS
