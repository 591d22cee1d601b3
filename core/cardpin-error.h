/* cardpin-error.h — the error domains of libcardpin
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * CardpinError:
 * @CARDPIN_ERROR_FAILED: anything else; the message says what
 * @CARDPIN_ERROR_NO_CARD: no card (or no token) matches the request
 * @CARDPIN_ERROR_CARD_REMOVED: the card was removed or reset during the operation
 * @CARDPIN_ERROR_PCSC_UNAVAILABLE: the smart card service (pcscd) cannot be reached
 * @CARDPIN_ERROR_CARD_ERROR: the card answered something malformed or unexpected
 * @CARDPIN_ERROR_WRONG_PIN: wrong PIN; see cardpin_error_get_tries_left()
 * @CARDPIN_ERROR_PIN_BLOCKED: the PIN is blocked
 * @CARDPIN_ERROR_WRONG_PUK: wrong PUK; see cardpin_error_get_tries_left()
 * @CARDPIN_ERROR_PUK_BLOCKED: the PUK is blocked
 * @CARDPIN_ERROR_WRONG_RESPONSE: the unblock response was not accepted by the card;
 *   see cardpin_error_get_tries_left() for the admin key's tries
 * @CARDPIN_ERROR_ADMIN_BLOCKED: the card's admin (unblock) key is blocked
 * @CARDPIN_ERROR_CHALLENGE_EXPIRED: the challenge is no longer valid (card removed or reset)
 * @CARDPIN_ERROR_BAD_CODE: a typed code is malformed or its checksum is wrong; nothing
 *   reached the card
 * @CARDPIN_ERROR_POLICY: the new PIN breaks the PIN policy; see
 *   cardpin_error_get_policy_reason()
 * @CARDPIN_ERROR_NOT_SUPPORTED: the card or token cannot do this
 * @CARDPIN_ERROR_PIN_CHANGE_LIMITED: the card's PIN can no longer be changed
 * @CARDPIN_ERROR_SERVICE_UNAVAILABLE: the unblock service cannot be reached
 * @CARDPIN_ERROR_SERVICE_AUTH: the unblock service refused the credentials
 * @CARDPIN_ERROR_SERVICE_DENIED: the unblock service refuses this card for this user
 * @CARDPIN_ERROR_SERVICE_QUOTA: too many unblock requests; try again later
 * @CARDPIN_ERROR_SERVICE_PROTOCOL: the unblock service answered something malformed
 * @CARDPIN_ERROR_NO_SUCH_READER: there is no reader of the requested name; the message
 *   lists the readers there are
 * @CARDPIN_ERROR_PINPAD: the PIN entry on the reader's keypad did not complete (the
 *   person cancelled it, it timed out, the new PIN and its confirmation differed, a PIN
 *   of the wrong length); nothing reached the card
 *
 * Error codes in the `CARDPIN_ERROR` domain. Messages are translated and say what to
 * do next; a user interface acts on the code.
 */
typedef enum {
  CARDPIN_ERROR_FAILED,
  CARDPIN_ERROR_NO_CARD,
  CARDPIN_ERROR_CARD_REMOVED,
  CARDPIN_ERROR_PCSC_UNAVAILABLE,
  CARDPIN_ERROR_CARD_ERROR,
  CARDPIN_ERROR_WRONG_PIN,
  CARDPIN_ERROR_PIN_BLOCKED,
  CARDPIN_ERROR_WRONG_PUK,
  CARDPIN_ERROR_PUK_BLOCKED,
  CARDPIN_ERROR_WRONG_RESPONSE,
  CARDPIN_ERROR_ADMIN_BLOCKED,
  CARDPIN_ERROR_CHALLENGE_EXPIRED,
  CARDPIN_ERROR_BAD_CODE,
  CARDPIN_ERROR_POLICY,
  CARDPIN_ERROR_NOT_SUPPORTED,
  CARDPIN_ERROR_PIN_CHANGE_LIMITED,
  CARDPIN_ERROR_SERVICE_UNAVAILABLE,
  CARDPIN_ERROR_SERVICE_AUTH,
  CARDPIN_ERROR_SERVICE_DENIED,
  CARDPIN_ERROR_SERVICE_QUOTA,
  CARDPIN_ERROR_SERVICE_PROTOCOL,
  CARDPIN_ERROR_NO_SUCH_READER,
  CARDPIN_ERROR_PINPAD,
} CardpinError;

/**
 * CardpinPolicyReason:
 * Why a new PIN was refused (%CARDPIN_ERROR_POLICY).
 */
typedef enum {
  CARDPIN_POLICY_OK,
  CARDPIN_POLICY_TOO_SHORT,
  CARDPIN_POLICY_TOO_LONG,
  CARDPIN_POLICY_NOT_DIGITS,
  CARDPIN_POLICY_BAD_CHARACTER,
  CARDPIN_POLICY_REPEATED,
  CARDPIN_POLICY_SEQUENCE,
  CARDPIN_POLICY_SAME_AS_OLD,
  CARDPIN_POLICY_SAME_AS_PUK,
  CARDPIN_POLICY_FACTORY_DEFAULT,
  CARDPIN_POLICY_MISMATCH,
} CardpinPolicyReason;

#define CARDPIN_ERROR (cardpin_error_quark ())
/* PKCS#11: the code is the CK_RV, the message from p11_kit_strerror() */
#define CARDPIN_P11_ERROR (cardpin_p11_error_quark ())
/* PC/SC: the code is the SCARD_* value, the message from pcsc_stringify_error() */
#define CARDPIN_PCSC_ERROR (cardpin_pcsc_error_quark ())

GQuark  cardpin_error_quark               (void);
GQuark  cardpin_p11_error_quark           (void);
GQuark  cardpin_pcsc_error_quark          (void);

void    cardpin_set_error_with_tries      (GError             **error,
                                           CardpinError         code,
                                           int                  tries_left,
                                           const char          *format,
                                           ...) G_GNUC_PRINTF (4, 5);
void    cardpin_set_policy_error          (GError             **error,
                                           CardpinPolicyReason  reason,
                                           const char          *format,
                                           ...) G_GNUC_PRINTF (3, 4);
int     cardpin_error_get_tries_left      (const GError        *error);
CardpinPolicyReason
        cardpin_error_get_policy_reason   (const GError        *error);

G_END_DECLS
