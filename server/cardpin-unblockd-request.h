/* cardpin-unblockd-request.h — parsing what a client sends to cardpin-unblockd: the
 * Authorization header and the JSON bodies (DESIGN.md "Online unblock protocol").
 * Pure functions over bytes, with a fuzz target (tests/fuzz/fuzz-unblockd-request.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

/* The largest request body accepted (413 above) */
#define CARDPIN_UNBLOCKD_MAX_BODY 4096
/* The longest user name accepted */
#define CARDPIN_UNBLOCKD_MAX_USER 128

typedef enum {
  CARDPIN_UNBLOCKD_AUTH_NONE,
  CARDPIN_UNBLOCKD_AUTH_BASIC,
  CARDPIN_UNBLOCKD_AUTH_BEARER,
  CARDPIN_UNBLOCKD_AUTH_MALFORMED,
} CardpinUnblockdAuth;

typedef struct {
  char    *serial;
  guint    algorithm;          /* PIV: 0x08 AES-128, 0x03 3DES */
  GBytes  *challenge;
} CardpinUnblockdResponseRequest;

/* Basic: *@user and *@credential (the password); Bearer: *@credential (the token) */
CardpinUnblockdAuth cardpin_unblockd_parse_authorization (const char      *header,
                                                          char           **user,
                                                          CardpinSecret  **credential);
gboolean            cardpin_unblockd_parse_response_request
                                                         (const guint8    *body,
                                                          gsize            length,
                                                          CardpinUnblockdResponseRequest *request,
                                                          GError         **error);
/* POST /v1/unblock/puk {"serial"}: the serial, or %NULL */
char               *cardpin_unblockd_parse_puk_request   (const guint8    *body,
                                                          gsize            length,
                                                          GError         **error);
void                cardpin_unblockd_response_request_clear
                                                         (CardpinUnblockdResponseRequest *request);
/* Lowercase hex SHA-256 of @data */
char               *cardpin_unblockd_sha256_hex          (GBytes          *data);

G_END_DECLS
