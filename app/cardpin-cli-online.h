/* cardpin-cli-online.h — `cardpin-tool unblock --online`: the unblock service's side
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-secret.h"
#include "cardpin-token.h"
#include "cardpin-unblock-client.h"

G_BEGIN_DECLS

typedef struct {
  gboolean  online;
  char     *server;
  char     *ca_file;
  char     *user;
  int       password_fd;
  gboolean  remember_device;
  gboolean  forget_device;
} CardpinCliOnline;

void                  cardpin_cli_online_init        (CardpinCliOnline      *online);
void                  cardpin_cli_online_clear       (CardpinCliOnline      *online);
/* --online, --server, --ca-file, --user, --password-fd, --remember-device, --forget-device */
void                  cardpin_cli_online_add_entries (CardpinCliOnline      *online,
                                                      GOptionContext        *context);
/* The client for --server/--ca-file (or the settings) and --user, signed in with the
 * password from --password-fd, or else a remembered device token, or else the password
 * typed on the terminal. */
CardpinUnblockClient *cardpin_cli_online_connect     (CardpinCliOnline      *online,
                                                      GError               **error) G_GNUC_WARN_UNUSED_RESULT;
/* --forget-device: revokes and removes the remembered token; returns the exit status */
int                   cardpin_cli_online_forget      (CardpinCliOnline      *online);
/* The unblock itself (challenge/response, or the service's PUK when @with_puk), then
 * --remember-device; returns the exit status */
int                   cardpin_cli_online_unblock     (CardpinCliOnline      *online,
                                                      CardpinUnblockClient  *client,
                                                      CardpinToken          *token,
                                                      const CardpinSecret   *new_pin,
                                                      gboolean               with_puk);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CardpinCliOnline, cardpin_cli_online_clear)

G_END_DECLS
