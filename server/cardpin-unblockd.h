/* cardpin-unblockd.h — the online unblock service: HTTPS (libsoup 3), PAM or device
 * token, the master key in a PKCS#11 token, the store (SQLite or PostgreSQL)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-server-config.h"

G_BEGIN_DECLS

/* Lifetime of a device token */
#define CARDPIN_UNBLOCKD_DEVICE_DAYS     90

typedef struct _CardpinUnblockd CardpinUnblockd;

CardpinUnblockd *cardpin_unblockd_new      (CardpinServerConfig  *config,
                                            GError              **error) G_GNUC_WARN_UNUSED_RESULT;
/* Listens and serves until SIGTERM or SIGINT; returns once in-flight requests ended */
gboolean         cardpin_unblockd_run      (CardpinUnblockd      *self,
                                            GError              **error);
void             cardpin_unblockd_free     (CardpinUnblockd      *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinUnblockd, cardpin_unblockd_free)

G_END_DECLS
