/* cardpin-device-token.h — the unblock service's device token in the Secret Service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

/* The token the service at @server_url issued to @user on this device. Only device
 * tokens are stored here, never a PIN, PUK or password. Blocking (D-Bus). */
gboolean       cardpin_device_token_store   (const char           *server_url,
                                             const char           *user,
                                             const CardpinSecret  *token,
                                             const char           *expires,
                                             GCancellable         *cancellable,
                                             GError              **error);
/* %NULL without error when nothing is stored */
CardpinSecret *cardpin_device_token_lookup  (const char           *server_url,
                                             const char           *user,
                                             GCancellable         *cancellable,
                                             GError              **error) G_GNUC_WARN_UNUSED_RESULT;
/* %TRUE also when nothing was stored */
gboolean       cardpin_device_token_clear   (const char           *server_url,
                                             const char           *user,
                                             GCancellable         *cancellable,
                                             GError              **error);

G_END_DECLS
