/* cardpin-status-text.h — a token's PIN state in words, for the front ends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

char        *cardpin_status_text       (CardpinPinState  pin_state,
                                        int              pin_tries_left,
                                        int              puk_tries_left) G_GNUC_WARN_UNUSED_RESULT;
const char  *cardpin_status_icon_name  (CardpinPinState  pin_state);
const char  *cardpin_status_css_class  (CardpinPinState  pin_state);

G_END_DECLS
