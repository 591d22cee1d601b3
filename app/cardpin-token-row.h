/* cardpin-token-row.h — a list row showing one card and its PIN state
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_TOKEN_ROW (cardpin_token_row_get_type ())

G_DECLARE_FINAL_TYPE (CardpinTokenRow, cardpin_token_row, CARDPIN, TOKEN_ROW, AdwActionRow)

GtkWidget     *cardpin_token_row_new             (CardpinToken    *token) G_GNUC_WARN_UNUSED_RESULT;
CardpinToken  *cardpin_token_row_get_token       (CardpinTokenRow *self);
const char    *cardpin_token_row_get_state_text  (CardpinTokenRow *self);
gboolean       cardpin_token_row_get_refreshing  (CardpinTokenRow *self);
void           cardpin_token_row_refresh         (CardpinTokenRow *self);
void           cardpin_token_row_update          (CardpinTokenRow *self);

G_END_DECLS
