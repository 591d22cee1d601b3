/* cardpin-token.h — one PKCS#11 token (a smart card, or a software token)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-policy.h"
#include "cardpin-secret.h"
#include "cardpin-unblock-session.h"

G_BEGIN_DECLS

/**
 * CardpinPinState:
 * @CARDPIN_PIN_STATE_OK: the PIN works, no wrong tries since the last success
 * @CARDPIN_PIN_STATE_COUNT_LOW: wrong PINs were entered; tries are fewer than the maximum
 * @CARDPIN_PIN_STATE_FINAL_TRY: one more wrong PIN blocks it
 * @CARDPIN_PIN_STATE_LOCKED: the PIN is blocked
 * @CARDPIN_PIN_STATE_MUST_CHANGE: the PIN must be changed before use
 * @CARDPIN_PIN_STATE_NOT_INITIALIZED: the token has no user PIN yet
 */
typedef enum {
  CARDPIN_PIN_STATE_OK,
  CARDPIN_PIN_STATE_COUNT_LOW,
  CARDPIN_PIN_STATE_FINAL_TRY,
  CARDPIN_PIN_STATE_LOCKED,
  CARDPIN_PIN_STATE_MUST_CHANGE,
  CARDPIN_PIN_STATE_NOT_INITIALIZED,
} CardpinPinState;

#define CARDPIN_TYPE_TOKEN (cardpin_token_get_type ())

G_DECLARE_FINAL_TYPE (CardpinToken, cardpin_token, CARDPIN, TOKEN, GObject)

const char      *cardpin_pin_state_to_string       (CardpinPinState pin_state);

const char      *cardpin_token_get_label           (CardpinToken  *self);
const char      *cardpin_token_get_manufacturer    (CardpinToken  *self);
const char      *cardpin_token_get_model           (CardpinToken  *self);
const char      *cardpin_token_get_serial          (CardpinToken  *self);
const char      *cardpin_token_get_module_name     (CardpinToken  *self);
/* the PC/SC reader name, or %NULL for tokens without one (software tokens) */
const char      *cardpin_token_get_reader          (CardpinToken  *self);
/* the ATR as uppercase hex, or %NULL */
const char      *cardpin_token_get_atr             (CardpinToken  *self);
gboolean         cardpin_token_is_hardware         (CardpinToken  *self);
/* -1 when unknown */
int              cardpin_token_get_pin_tries_left  (CardpinToken  *self);
int              cardpin_token_get_puk_tries_left  (CardpinToken  *self);
int              cardpin_token_get_pin_tries_max   (CardpinToken  *self);
guint            cardpin_token_get_min_pin_length  (CardpinToken  *self);
guint            cardpin_token_get_max_pin_length  (CardpinToken  *self);
CardpinPinState  cardpin_token_get_pin_state       (CardpinToken  *self);
/* CKF_PROTECTED_AUTHENTICATION_PATH: the reader asks for the PIN itself */
gboolean         cardpin_token_has_pinpad          (CardpinToken  *self);
/* added by core: the card has a PIV application; 1/0/-1 PIN still the factory value */
gboolean         cardpin_token_is_piv              (CardpinToken  *self);
int              cardpin_token_get_pin_is_default  (CardpinToken  *self);
int              cardpin_token_get_puk_is_default  (CardpinToken  *self);

/* The rules for a new PIN / PUK: the settings (%NULL: the default ones) narrowed to what
 * the card takes. Every operation that sets a PIN or PUK enforces them itself. */
CardpinPolicy   *cardpin_token_get_pin_policy      (CardpinToken  *self,
                                                    GSettings     *settings) G_GNUC_WARN_UNUSED_RESULT;
CardpinPolicy   *cardpin_token_get_puk_policy      (CardpinToken  *self,
                                                    GSettings     *settings) G_GNUC_WARN_UNUSED_RESULT;
/* @configured narrowed to what the card takes (PIV: 6 to 8 characters) */
CardpinPolicy   *cardpin_token_narrow_policy       (CardpinToken  *self,
                                                    CardpinPolicy *configured,
                                                    gboolean       for_puk) G_GNUC_WARN_UNUSED_RESULT;

/* Re-reads flags and tries left from the token and the card. Blocking. */
gboolean         cardpin_token_refresh             (CardpinToken         *self,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
void             cardpin_token_refresh_async       (CardpinToken         *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean         cardpin_token_refresh_finish      (CardpinToken         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* PIN operations (added by core). Each is blocking, with an _async/_finish pair; the
 * token's status is refreshed afterwards (in the calling context for _async). PIV cards
 * are driven with APDUs over PC/SC (exact tries, change limits); other tokens through
 * PKCS#11 (C_Login, C_SetPIN, C_InitPIN). On a pinpad reader pass %NULL secrets and the
 * reader asks for them on its keypad (PC/SC part 10 for PIV cards: verify, change, set-up
 * and unblock with the PUK; not a PUK change); given secrets go to the card as on any
 * reader. Errors are CARDPIN_ERROR codes (%CARDPIN_ERROR_PINPAD: the keypad entry did
 * not complete). */
gboolean         cardpin_token_verify_pin          (CardpinToken         *self,
                                                    const CardpinSecret  *pin,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
void             cardpin_token_verify_pin_async    (CardpinToken         *self,
                                                    const CardpinSecret  *pin,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean         cardpin_token_verify_pin_finish   (CardpinToken         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

gboolean         cardpin_token_change_pin          (CardpinToken         *self,
                                                    const CardpinSecret  *old_pin,
                                                    const CardpinSecret  *new_pin,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
void             cardpin_token_change_pin_async    (CardpinToken         *self,
                                                    const CardpinSecret  *old_pin,
                                                    const CardpinSecret  *new_pin,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean         cardpin_token_change_pin_finish   (CardpinToken         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

gboolean         cardpin_token_change_puk          (CardpinToken         *self,
                                                    const CardpinSecret  *old_puk,
                                                    const CardpinSecret  *new_puk,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
void             cardpin_token_change_puk_async    (CardpinToken         *self,
                                                    const CardpinSecret  *old_puk,
                                                    const CardpinSecret  *new_puk,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean         cardpin_token_change_puk_finish   (CardpinToken         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

gboolean         cardpin_token_unblock_pin         (CardpinToken         *self,
                                                    const CardpinSecret  *puk,
                                                    const CardpinSecret  *new_pin,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
void             cardpin_token_unblock_pin_async   (CardpinToken         *self,
                                                    const CardpinSecret  *puk,
                                                    const CardpinSecret  *new_pin,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean         cardpin_token_unblock_pin_finish  (CardpinToken         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* First use. Not-initialized tokens: @current is the SO PIN, C_InitPIN sets @new_pin.
 * Otherwise (must-change, factory PIN): @current is the current PIN, changed to
 * @new_pin; on PIV cards also the PUK from @current_puk to @new_puk when both are set. */
gboolean         cardpin_token_setup               (CardpinToken         *self,
                                                    const CardpinSecret  *current,
                                                    const CardpinSecret  *new_pin,
                                                    const CardpinSecret  *current_puk,
                                                    const CardpinSecret  *new_puk,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
void             cardpin_token_setup_async         (CardpinToken         *self,
                                                    const CardpinSecret  *current,
                                                    const CardpinSecret  *new_pin,
                                                    const CardpinSecret  *current_puk,
                                                    const CardpinSecret  *new_puk,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean         cardpin_token_setup_finish        (CardpinToken         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* Admin challenge/response unblock: opens the card session and its transaction and asks
 * the card for a challenge. PIV cards only (else CARDPIN_ERROR_NOT_SUPPORTED). */
CardpinUnblockSession *
                 cardpin_token_begin_unblock       (CardpinToken         *self,
                                                    GCancellable         *cancellable,
                                                    GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void             cardpin_token_begin_unblock_async (CardpinToken         *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
CardpinUnblockSession *
                 cardpin_token_begin_unblock_finish (CardpinToken        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error) G_GNUC_WARN_UNUSED_RESULT;

/* PIV factory values (123456 / 12345678), recognised when the user types them: no try
 * is ever spent to find out. */
gboolean         cardpin_token_is_factory_pin      (CardpinToken         *self,
                                                    const CardpinSecret  *pin);
gboolean         cardpin_token_is_factory_puk      (CardpinToken         *self,
                                                    const CardpinSecret  *puk);
/* Whether the card's ATR matches a change-limited model in @atr_db_path (%NULL: the list
 * built into core). */
gboolean         cardpin_token_lookup_change_limit (CardpinToken         *self,
                                                    const char           *atr_db_path,
                                                    guint                *max_changes,
                                                    char                **description);
/* How many PIN changes remain as far as this computer knows (the model's limit less the
 * changes cardpin made here: at most what the card allows); %FALSE when the card is not
 * change-limited or has no serial. */
gboolean         cardpin_token_get_changes_remaining (CardpinToken       *self,
                                                    const char           *atr_db_path,
                                                    guint                *max_changes,
                                                    guint                *remaining);
/* The warning every front end shows before a PIN change of a change-limited card, with
 * the changes remaining; %NULL when the card is not change-limited. */
char            *cardpin_token_explain_change_limit (CardpinToken        *self,
                                                    const char           *atr_db_path) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
