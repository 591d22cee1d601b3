/* cardpin-pinpad.h — PIV PINs typed on the reader's keypad (PC/SC part 10)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-op.h"
#include "cardpin-pcsc.h"

G_BEGIN_DECLS

/* A PIN operation with the values typed on the reader's keypad (no secrets pass through
 * the computer); errors as the PIV route's, plus %CARDPIN_ERROR_PINPAD */
gboolean  _cardpin_piv_run_pinpad_op  (OpKind                kind,
                                       const CardpinCardIo  *io,
                                       gboolean             *cleared,
                                       GError              **error);

G_END_DECLS
