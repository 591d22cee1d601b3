/* cardpin-code.h — challenge/response codes read over the phone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

/* The longest code, in bytes, that cardpin_code_parse() accepts. */
#define CARDPIN_CODE_MAX_BYTES 64

guint16        cardpin_code_checksum      (const char      *digits,
                                           gsize            n_digits);
char          *cardpin_code_format        (const guint8    *data,
                                           gsize            length) G_GNUC_WARN_UNUSED_RESULT;
CardpinSecret *cardpin_code_format_secret (const CardpinSecret *secret) G_GNUC_WARN_UNUSED_RESULT;
CardpinSecret *cardpin_code_parse         (const char      *text,
                                           gsize            expected_length,
                                           GError         **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
