/* vcard-error.c: error domain of the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "vcard-error.h"

G_DEFINE_QUARK (vcard-error-quark, vcard_error)
