/* cardpin-server-config.h — the keyfile of cardpin-unblockd and cardpin-helpdesk
 * (group [service], documented in cardpin-unblockd(8))
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  GKeyFile *keyfile;            /* the whole file, for cardpin_master_key_open_from_keyfile() */
  char     *path;
  char     *listen_host;        /* an IP address, or "*" for every address */
  guint16   listen_port;
  char     *tls_certificate;
  char     *tls_key;
  char     *database;
  char     *pam_service;
  guint     quota_card_per_day;
  guint     quota_user_per_day;
  guint     request_timeout;    /* seconds for a request's head and body (optional key) */
  guint     idle_timeout;       /* seconds a kept-alive connection may idle (optional key) */
  guint     threads;            /* threads that serve HTTPS (optional key) */
  guint     token_threads;      /* threads that call the master key's token (optional key) */
} CardpinServerConfig;

/* the most threads that serve HTTPS (also the default's cap) */
#define CARDPIN_SERVER_MAX_THREADS 16

CardpinServerConfig *cardpin_server_config_load   (const char           *path,
                                                   gboolean              service,
                                                   GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void                 cardpin_server_config_free   (CardpinServerConfig  *config);
guint                cardpin_server_default_threads (guint               token_threads);
gboolean             cardpin_server_parse_listen  (const char           *value,
                                                   char                **host,
                                                   guint16              *port,
                                                   GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinServerConfig, cardpin_server_config_free)

G_END_DECLS
