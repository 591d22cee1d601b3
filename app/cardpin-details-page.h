/* cardpin-details-page.h — a card's identity and its secrets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_DETAILS_PAGE (cardpin_details_page_get_type ())

G_DECLARE_FINAL_TYPE (CardpinDetailsPage, cardpin_details_page, CARDPIN, DETAILS_PAGE, AdwBin)

GtkWidget    *cardpin_details_page_new        (CardpinToken       *token) G_GNUC_WARN_UNUSED_RESULT;
CardpinToken *cardpin_details_page_get_token  (CardpinDetailsPage *self);

G_END_DECLS
