/* cardpin-certificate.h — the certificates on a card and the PIN that guards each key
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

/**
 * CardpinKeyPin:
 * @CARDPIN_KEY_PIN_UNKNOWN: the key's PIN rule could not be told
 * @CARDPIN_KEY_PIN_NO_KEY: the card has no private key for this certificate
 * @CARDPIN_KEY_PIN_ONCE: the card's PIN, once per login
 * @CARDPIN_KEY_PIN_ALWAYS: the card's PIN again at every use (CKA_ALWAYS_AUTHENTICATE,
 *   the PIV digital signature key)
 * @CARDPIN_KEY_PIN_NONE: no PIN (the PIV card authentication key)
 *
 * Which PIN protects the private key of a certificate.
 */
typedef enum {
  CARDPIN_KEY_PIN_UNKNOWN,
  CARDPIN_KEY_PIN_NO_KEY,
  CARDPIN_KEY_PIN_ONCE,
  CARDPIN_KEY_PIN_ALWAYS,
  CARDPIN_KEY_PIN_NONE,
} CardpinKeyPin;

#define CARDPIN_TYPE_CERTIFICATE (cardpin_certificate_get_type ())

G_DECLARE_FINAL_TYPE (CardpinCertificate, cardpin_certificate, CARDPIN, CERTIFICATE, GObject)

/* the token's label for the object, e.g. "Certificate for PIV Authentication" */
const char   *cardpin_certificate_get_label               (CardpinCertificate  *self);
/* distinguished names, RFC 2253 ("CN=Grace Hopper,O=Navy") */
const char   *cardpin_certificate_get_subject             (CardpinCertificate  *self);
const char   *cardpin_certificate_get_issuer              (CardpinCertificate  *self);
/* (transfer none) (nullable): validity in UTC */
GDateTime    *cardpin_certificate_get_not_before          (CardpinCertificate  *self);
GDateTime    *cardpin_certificate_get_not_after           (CardpinCertificate  *self);
/* (transfer none): key usages as translated words, %NULL-terminated; empty when the
 * certificate does not restrict them */
const char * const *
              cardpin_certificate_get_key_usages          (CardpinCertificate  *self);
CardpinKeyPin cardpin_certificate_get_key_pin             (CardpinCertificate  *self);

/* The token's certificates, read in one PKCS#11 session without logging in (a GListModel
 * of CardpinCertificate); the session is closed before returning. Blocking. */
GListModel   *cardpin_token_list_certificates             (CardpinToken         *token,
                                                           GCancellable         *cancellable,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void          cardpin_token_list_certificates_async       (CardpinToken         *token,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
GListModel   *cardpin_token_list_certificates_finish      (CardpinToken         *token,
                                                           GAsyncResult         *result,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
