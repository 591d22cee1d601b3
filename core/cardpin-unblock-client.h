/* cardpin-unblock-client.h — online unblock through the organisation's unblock service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-secret.h"
#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_UNBLOCK_CLIENT (cardpin_unblock_client_get_type ())

G_DECLARE_FINAL_TYPE (CardpinUnblockClient, cardpin_unblock_client, CARDPIN, UNBLOCK_CLIENT,
                      GObject)

CardpinUnblockClient *cardpin_unblock_client_new               (const char            *server_url,
                                                                const char            *ca_file,
                                                                GError               **error) G_GNUC_WARN_UNUSED_RESULT;
CardpinUnblockClient *cardpin_unblock_client_new_from_settings (GSettings             *settings,
                                                                GError               **error) G_GNUC_WARN_UNUSED_RESULT;
/* "online" in allowed-unblock-methods; new_from_settings checks it */
gboolean              cardpin_unblock_client_check_allowed     (GSettings             *settings,
                                                                GError               **error);

const char   *cardpin_unblock_client_get_server_url    (CardpinUnblockClient  *self);
/* (nullable): %NULL means the system's trusted authorities */
const char   *cardpin_unblock_client_get_ca_file       (CardpinUnblockClient  *self);
const char   *cardpin_unblock_client_get_user          (CardpinUnblockClient  *self);
void          cardpin_unblock_client_set_user          (CardpinUnblockClient  *self,
                                                        const char            *user);
/* Credentials: the account password (HTTP Basic) and/or a device token (Bearer). With
 * both, the device token is tried first and the password when the service refuses it. */
void          cardpin_unblock_client_set_password      (CardpinUnblockClient  *self,
                                                        CardpinSecret         *password);
void          cardpin_unblock_client_set_device_token  (CardpinUnblockClient  *self,
                                                        CardpinSecret         *token);
gboolean      cardpin_unblock_client_has_device_token  (CardpinUnblockClient  *self);
/* The request id of the service's last answer (to quote to the helpdesk), or %NULL */
char         *cardpin_unblock_client_dup_request_id    (CardpinUnblockClient  *self);
/* Seconds the service asked to wait in its last 429 answer, 0 when none */
guint         cardpin_unblock_client_get_retry_after   (CardpinUnblockClient  *self);

/* GET /v1/health. Blocking. */
gboolean      cardpin_unblock_client_check             (CardpinUnblockClient  *self,
                                                        GCancellable          *cancellable,
                                                        GError               **error);

/* POST /v1/unblock/response: the service's answer to @challenge. Blocking. */
CardpinSecret *cardpin_unblock_client_request_response (CardpinUnblockClient  *self,
                                                        const char            *serial,
                                                        GBytes                *challenge,
                                                        guint                  algorithm,
                                                        GCancellable          *cancellable,
                                                        GError               **error) G_GNUC_WARN_UNUSED_RESULT;
/* POST /v1/unblock/puk: the card's PUK, for cards without a challenge/response key.
 * Blocking. */
CardpinSecret *cardpin_unblock_client_request_puk      (CardpinUnblockClient  *self,
                                                        const char            *serial,
                                                        GCancellable          *cancellable,
                                                        GError               **error) G_GNUC_WARN_UNUSED_RESULT;

/* The whole online unblock with the card: challenge -> service -> response -> new PIN.
 * Checks @new_pin against the PIN policy first. Blocking; the token is refreshed. */
gboolean      cardpin_unblock_client_unblock           (CardpinUnblockClient  *self,
                                                        CardpinToken          *token,
                                                        const CardpinSecret   *new_pin,
                                                        GCancellable          *cancellable,
                                                        GError               **error);
void          cardpin_unblock_client_unblock_async     (CardpinUnblockClient  *self,
                                                        CardpinToken          *token,
                                                        const CardpinSecret   *new_pin,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
gboolean      cardpin_unblock_client_unblock_finish    (CardpinUnblockClient  *self,
                                                        GAsyncResult          *result,
                                                        GError               **error);

/* The same for PUK-only cards: the service gives the PUK, core unblocks with it. */
gboolean      cardpin_unblock_client_unblock_with_puk  (CardpinUnblockClient  *self,
                                                        CardpinToken          *token,
                                                        const CardpinSecret   *new_pin,
                                                        GCancellable          *cancellable,
                                                        GError               **error);
void          cardpin_unblock_client_unblock_with_puk_async
                                                       (CardpinUnblockClient  *self,
                                                        CardpinToken          *token,
                                                        const CardpinSecret   *new_pin,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
gboolean      cardpin_unblock_client_unblock_with_puk_finish
                                                       (CardpinUnblockClient  *self,
                                                        GAsyncResult          *result,
                                                        GError               **error);

/* "Remember this device": POST /v1/devices with the current credentials, stores the token
 * in the Secret Service (never a PIN) and uses it from then on. */
gboolean      cardpin_unblock_client_remember_device   (CardpinUnblockClient  *self,
                                                        GCancellable          *cancellable,
                                                        GError               **error);
void          cardpin_unblock_client_remember_device_async
                                                       (CardpinUnblockClient  *self,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
gboolean      cardpin_unblock_client_remember_device_finish
                                                       (CardpinUnblockClient  *self,
                                                        GAsyncResult          *result,
                                                        GError               **error);
/* Loads the token remembered for this server and user from the Secret Service. Returns
 * %FALSE without error when none is stored. */
gboolean      cardpin_unblock_client_load_device_token (CardpinUnblockClient  *self,
                                                        GCancellable          *cancellable,
                                                        GError               **error);
void          cardpin_unblock_client_load_device_token_async
                                                       (CardpinUnblockClient  *self,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
gboolean      cardpin_unblock_client_load_device_token_finish
                                                       (CardpinUnblockClient  *self,
                                                        GAsyncResult          *result,
                                                        GError               **error);
/* DELETE /v1/devices/current and removes the stored token. A token the service no longer
 * knows is removed too. */
gboolean      cardpin_unblock_client_forget_device     (CardpinUnblockClient  *self,
                                                        GCancellable          *cancellable,
                                                        GError               **error);
void          cardpin_unblock_client_forget_device_async
                                                       (CardpinUnblockClient  *self,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
gboolean      cardpin_unblock_client_forget_device_finish
                                                       (CardpinUnblockClient  *self,
                                                        GAsyncResult          *result,
                                                        GError               **error);

G_END_DECLS
