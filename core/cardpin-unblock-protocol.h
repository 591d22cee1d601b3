/* cardpin-unblock-protocol.h — one HTTPS exchange with the unblock service (DESIGN.md
 * "Online unblock protocol"): requests, replies and the errors they map to. Internal to
 * core: CardpinUnblockClient is the public face.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

/* The largest reply body read from the service; more is a protocol error. */
#define CARDPIN_UNBLOCK_MAX_REPLY (16 * 1024)
/* Seconds a connection, a request or a reply may take. */
#define CARDPIN_UNBLOCK_TIMEOUT 20

typedef enum {
  CARDPIN_UNBLOCK_AUTH_NONE,
  CARDPIN_UNBLOCK_AUTH_BASIC,    /* account password */
  CARDPIN_UNBLOCK_AUTH_BEARER,   /* device token */
} CardpinUnblockAuth;

typedef struct {
  guint          status;
  CardpinSecret *body;           /* the body in a locked, wiped buffer; may be empty */
  guint          retry_after;    /* seconds from Retry-After, 0 when none */
} CardpinUnblockReply;

void           cardpin_unblock_reply_free             (CardpinUnblockReply  *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinUnblockReply, cardpin_unblock_reply_free)

/* A normalised base URL (https, ends with "/"), or %NULL with an error saying what to fix */
char          *cardpin_unblock_normalize_url          (const char           *url,
                                                       GError              **error);
SoupSession   *cardpin_unblock_soup_session_new       (const char           *ca_file,
                                                       GError              **error);
/* Sends one request. Transport and TLS failures are mapped to CARDPIN_ERROR codes;
 * any HTTP status is a reply. @credential is the password (Basic) or the token (Bearer). */
CardpinUnblockReply *
               cardpin_unblock_send                   (SoupSession          *session,
                                                       const char           *base_url,
                                                       const char           *method,
                                                       const char           *path,
                                                       GBytes               *json_body,
                                                       CardpinUnblockAuth    auth,
                                                       const char           *user,
                                                       const CardpinSecret  *credential,
                                                       GCancellable         *cancellable,
                                                       GError              **error);
/* %TRUE for 2xx; else sets the CARDPIN_ERROR the status means, with what to do next */
gboolean       cardpin_unblock_reply_check            (const CardpinUnblockReply *reply,
                                                       CardpinUnblockAuth    auth,
                                                       GError              **error);
void           cardpin_unblock_map_transport_error    (const GError         *transport_error,
                                                       const char           *base_url,
                                                       GError              **error);
/* Retry-After: delta-seconds or an HTTP date (relative to @now); 0 when absent or bad */
guint          cardpin_unblock_parse_retry_after      (const char           *value,
                                                       GDateTime            *now);
char          *cardpin_unblock_format_wait            (guint                 seconds);

const char    *cardpin_unblock_algorithm_name         (guint                 algorithm);
GBytes        *cardpin_unblock_build_response_request (const char           *serial,
                                                       GBytes               *challenge,
                                                       guint                 algorithm);
GBytes        *cardpin_unblock_build_puk_request      (const char           *serial);

/* Reply parsers. Each wipes the copies json-glib made of the secret member. */
CardpinSecret *cardpin_unblock_parse_response         (const CardpinUnblockReply *reply,
                                                       gsize                 expected_length,
                                                       char                **request_id,
                                                       GError              **error);
CardpinSecret *cardpin_unblock_parse_puk              (const CardpinUnblockReply *reply,
                                                       char                **request_id,
                                                       GError              **error);
CardpinSecret *cardpin_unblock_parse_device           (const CardpinUnblockReply *reply,
                                                       char                **expires,
                                                       GError              **error);
/* The request_id of any JSON reply (errors included), or %NULL */
char          *cardpin_unblock_reply_dup_request_id   (const CardpinUnblockReply *reply);

G_END_DECLS
