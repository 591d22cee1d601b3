/* cardpin-unblock-session.h — an admin challenge/response unblock in progress
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_UNBLOCK_SESSION (cardpin_unblock_session_get_type ())

G_DECLARE_FINAL_TYPE (CardpinUnblockSession, cardpin_unblock_session, CARDPIN, UNBLOCK_SESSION,
                      GObject)

/* the challenge in the DESIGN.md code format: "A1B2 C3D4 ...   check 7F3C" */
const char  *cardpin_unblock_session_get_challenge_code   (CardpinUnblockSession  *self);
/* (transfer none): owned by the session, do not unref */
GBytes      *cardpin_unblock_session_get_challenge        (CardpinUnblockSession  *self);
/* 0x03 3DES, 0x08 AES-128 */
guint        cardpin_unblock_session_get_algorithm        (CardpinUnblockSession  *self);
/* the card serial as printed (CardpinToken:serial), which the key derivation uses */
const char  *cardpin_unblock_session_get_serial           (CardpinUnblockSession  *self);
/* the admin key's tries left when the session began, -1 unknown */
int          cardpin_unblock_session_get_admin_tries_left (CardpinUnblockSession  *self);
gboolean     cardpin_unblock_session_is_active            (CardpinUnblockSession  *self);

/* Sends the response and sets @new_pin. The session ends either way (the card is reset).
 * Blocking. */
gboolean     cardpin_unblock_session_complete             (CardpinUnblockSession  *self,
                                                           const CardpinSecret    *response,
                                                           const CardpinSecret    *new_pin,
                                                           GCancellable           *cancellable,
                                                           GError                **error);
/* Parses a typed response code first: a typo is %CARDPIN_ERROR_BAD_CODE, the card is not
 * touched and the session stays active. */
gboolean     cardpin_unblock_session_complete_code        (CardpinUnblockSession  *self,
                                                           const char             *response_code,
                                                           const CardpinSecret    *new_pin,
                                                           GCancellable           *cancellable,
                                                           GError                **error);
void         cardpin_unblock_session_complete_async       (CardpinUnblockSession  *self,
                                                           const CardpinSecret    *response,
                                                           const CardpinSecret    *new_pin,
                                                           GCancellable           *cancellable,
                                                           GAsyncReadyCallback     callback,
                                                           gpointer                user_data);
gboolean     cardpin_unblock_session_complete_finish      (CardpinUnblockSession  *self,
                                                           GAsyncResult           *result,
                                                           GError                **error);
/* Ends the session without unblocking; resets the card. */
void         cardpin_unblock_session_cancel               (CardpinUnblockSession  *self);

G_END_DECLS
