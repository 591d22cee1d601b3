/* cardpin-op.h — the PIN operations, shared by the PIV (cardpin-piv.c) and the PKCS#11
 * (cardpin-p11.c) routes of a token
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The secrets of each: [0] current, [1] new; set-up also [2] current PUK, [3] new PUK */
typedef enum {
  OP_VERIFY,
  OP_CHANGE_PIN,
  OP_CHANGE_PUK,
  OP_UNBLOCK_PUK,
  OP_SETUP,
} OpKind;

G_END_DECLS
