/* vcard-error.h: error domain of the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * VcardError:
 * @VCARD_ERROR_OPTION: a command-line option is invalid
 * @VCARD_ERROR_STATE: the state file cannot be read, parsed or written
 * @VCARD_ERROR_CRYPTO: key or certificate generation failed
 * @VCARD_ERROR_TRANSPORT: the connection to vpcd failed
 *
 * Errors of the virtual card.
 */
typedef enum
{
  VCARD_ERROR_OPTION,
  VCARD_ERROR_STATE,
  VCARD_ERROR_CRYPTO,
  VCARD_ERROR_TRANSPORT,
} VcardError;

#define VCARD_ERROR (vcard_error_quark ())

GQuark vcard_error_quark (void);

G_END_DECLS
