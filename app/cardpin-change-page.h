/* cardpin-change-page.h — change the PIN or the PUK, set up a first PIN, unblock with the PUK
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

/**
 * CardpinChangeMode:
 * @CARDPIN_CHANGE_MODE_CHANGE_PIN: current PIN, new PIN twice
 * @CARDPIN_CHANGE_MODE_SETUP: the first (factory) PIN, or the security officer PIN of a
 *   token without a PIN, then a personal PIN twice
 * @CARDPIN_CHANGE_MODE_CHANGE_PUK: current PUK, new PUK twice
 * @CARDPIN_CHANGE_MODE_UNBLOCK_PUK: the PUK, then a new PIN twice
 */
typedef enum {
  CARDPIN_CHANGE_MODE_CHANGE_PIN,
  CARDPIN_CHANGE_MODE_SETUP,
  CARDPIN_CHANGE_MODE_CHANGE_PUK,
  CARDPIN_CHANGE_MODE_UNBLOCK_PUK,
} CardpinChangeMode;

#define CARDPIN_TYPE_CHANGE_PAGE (cardpin_change_page_get_type ())

G_DECLARE_FINAL_TYPE (CardpinChangePage, cardpin_change_page, CARDPIN, CHANGE_PAGE, AdwBin)

GtkWidget         *cardpin_change_page_new          (CardpinToken       *token,
                                                     CardpinChangeMode   mode) G_GNUC_WARN_UNUSED_RESULT;
CardpinToken      *cardpin_change_page_get_token    (CardpinChangePage  *self);
CardpinChangeMode  cardpin_change_page_get_mode     (CardpinChangePage  *self);
gboolean           cardpin_change_page_get_busy     (CardpinChangePage  *self);

G_END_DECLS
