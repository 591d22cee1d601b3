/* cardpin-pin-state.h — a token's PIN state in words and icons, once for every front end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

/* The PIV factory values (SP 800-73 test cards, YubiKey defaults), defined once */
#define CARDPIN_PIV_FACTORY_PIN "123456"
#define CARDPIN_PIV_FACTORY_PUK "12345678"

char        *cardpin_pin_state_words        (CardpinPinState  pin_state,
                                             int              pin_tries_left,
                                             int              puk_tries_left) G_GNUC_WARN_UNUSED_RESULT;
char        *cardpin_pin_state_explain      (CardpinPinState  pin_state,
                                             int              pin_tries_left,
                                             int              puk_tries_left) G_GNUC_WARN_UNUSED_RESULT;
const char  *cardpin_pin_state_icon_name    (CardpinPinState  pin_state);
const char  *cardpin_pin_state_style_class  (CardpinPinState  pin_state);

G_END_DECLS
