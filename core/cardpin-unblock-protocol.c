/* cardpin-unblock-protocol.c — one HTTPS exchange with the unblock service
 *
 * Requests and replies of DESIGN.md's "Online unblock protocol", and the CARDPIN_ERROR
 * each failure means. Secrets (password, token, response, PUK) live in CardpinSecret
 * buffers; the copies libsoup and json-glib make of them are wiped where this code can
 * reach them (the Authorization header, the JSON string nodes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "cardpin-error.h"
#include "cardpin-json.h"
#include "cardpin-unblock-protocol.h"

/* Helpers */

static void
wipe_string (const char *s)
{
  if (s != NULL)
    cardpin_secret_wipe ((char *) s, strlen (s));
}

/* "Basic base64(user:password)" or "Bearer token", built in locked memory */
static CardpinSecret *
authorization_value (CardpinUnblockAuth   auth,
                     const char          *user,
                     const CardpinSecret *credential)
{
  g_autoptr(CardpinSecret) plain = NULL;
  CardpinSecret *value;
  gsize user_len, cred_len, plain_len, out_len;
  guint8 *out;
  int state = 0, save = 0;

  cred_len = cardpin_secret_get_length (credential);
  if (auth == CARDPIN_UNBLOCK_AUTH_BEARER)
    {
      value = cardpin_secret_new_sized (strlen ("Bearer ") + cred_len);
      out = cardpin_secret_get_mutable_data (value);
      memcpy (out, "Bearer ", strlen ("Bearer "));
      memcpy (out + strlen ("Bearer "), cardpin_secret_get_data (credential), cred_len);
      return value;
    }

  user_len = strlen (user);
  plain_len = user_len + 1 + cred_len;
  plain = cardpin_secret_new_sized (plain_len);
  out = cardpin_secret_get_mutable_data (plain);
  memcpy (out, user, user_len);
  out[user_len] = ':';
  memcpy (out + user_len + 1, cardpin_secret_get_data (credential), cred_len);

  /* g_base64_encode_step needs room for line breaks it will not write: be generous */
  value = cardpin_secret_new_sized (strlen ("Basic ") + (plain_len / 3 + 1) * 4 + 4);
  out = cardpin_secret_get_mutable_data (value);
  memcpy (out, "Basic ", strlen ("Basic "));
  out_len = strlen ("Basic ");
  out_len += g_base64_encode_step (cardpin_secret_get_data (plain), plain_len, FALSE,
                                   (char *) out + out_len, &state, &save);
  out_len += g_base64_encode_close (FALSE, (char *) out + out_len, &state, &save);
  out[out_len] = '\0';
  return value;
}

static CardpinSecret *
read_body (GInputStream  *stream,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(CardpinSecret) buffer = cardpin_secret_new_sized (CARDPIN_UNBLOCK_MAX_REPLY + 1);
  g_autoptr(GError) local_error = NULL;
  gsize n = 0;

  if (!g_input_stream_read_all (stream, cardpin_secret_get_mutable_data (buffer),
                                CARDPIN_UNBLOCK_MAX_REPLY + 1, &n, cancellable,
                                &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                     _("The connection to the unblock service broke off (%s). Try again; "
                       "if it keeps failing, call your helpdesk."), local_error->message);
      return NULL;
    }
  if (n > CARDPIN_UNBLOCK_MAX_REPLY)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL,
                   _("The unblock service sent an answer that is far too long. Check the "
                     "unblock service address with your administrator."));
      return NULL;
    }

  return cardpin_secret_new (cardpin_secret_get_data (buffer), n);
}

/* The reply as a JSON object; %NULL with SERVICE_PROTOCOL otherwise. The parser owns
 * the nodes. */
static JsonObject *
reply_object (const CardpinUnblockReply *reply,
              JsonParser                *parser,
              GError                   **error)
{
  JsonNode *root;

  if (cardpin_secret_get_length (reply->body) == 0 ||
      !json_parser_load_from_data (parser, cardpin_secret_as_string (reply->body),
                                   cardpin_secret_get_length (reply->body), NULL) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL,
                   _("The unblock service sent an answer cardpin does not understand. Check "
                     "the unblock service address with your administrator."));
      return NULL;
    }
  return json_node_get_object (root);
}

/* Wipes every string in the tree: the secrets json-glib copied out of the body */
static void
wipe_node (JsonNode *node)
{
  if (node == NULL)
    return;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &member))
        wipe_node (member);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        wipe_node (json_array_get_element (array, i));
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      wipe_string (json_node_get_string (node));
    }
}

static void
parser_wipe_and_unref (JsonParser *parser)
{
  wipe_node (json_parser_get_root (parser));
  g_object_unref (parser);
}

/* The string member @name as a secret; SERVICE_PROTOCOL when missing */
static CardpinSecret *
secret_member (const CardpinUnblockReply  *reply,
               const char                 *name,
               char                      **request_id,
               GError                    **error)
{
  JsonParser *parser = json_parser_new_immutable ();
  JsonObject *object;
  const char *value;
  CardpinSecret *secret = NULL;

  object = reply_object (reply, parser, error);
  if (object == NULL)
    goto out;

  value = cardpin_json_get_string_member (object, name);
  if (value == NULL || value[0] == '\0')
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL,
                   _("The unblock service’s answer lacks the “%s” it should hold. Check the "
                     "unblock service address with your administrator."), name);
      goto out;
    }

  secret = cardpin_secret_new_from_string (value);
  if (request_id != NULL)
    *request_id = g_strdup (cardpin_json_get_string_member (object, "request_id"));

out:
  parser_wipe_and_unref (parser);
  return secret;
}

/* Uppercase or lowercase hex of exactly @expected bytes into locked memory */
static CardpinSecret *
hex_to_secret (const CardpinSecret *hex,
               gsize                expected)
{
  g_autoptr(CardpinSecret) out = NULL;
  const guint8 *in = cardpin_secret_get_data (hex);
  guint8 *bytes;

  if (cardpin_secret_get_length (hex) != expected * 2)
    return NULL;

  out = cardpin_secret_new_sized (expected);
  bytes = cardpin_secret_get_mutable_data (out);
  for (gsize i = 0; i < expected; i++)
    {
      int hi = g_ascii_xdigit_value (in[2 * i]);
      int lo = g_ascii_xdigit_value (in[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return NULL;
      bytes[i] = (guint8) ((hi << 4) | lo);
    }
  return g_steal_pointer (&out);
}

/* TLS below 1.2 is refused after the handshake, before the request is written: GIO has
 * no minimum-version setting, and glib-networking on Debian 12 still negotiates TLS 1.1
 * with a server that offers nothing better (tests/test-unblock-tls.c). */
typedef struct {
  GCancellable *cancellable;
  gboolean      outdated;
} TlsGuard;

static void
network_event_cb (SoupMessage        *message,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  TlsGuard *guard = user_data;
  GTlsProtocolVersion version = G_TLS_PROTOCOL_VERSION_UNKNOWN;

  if (event != G_SOCKET_CLIENT_TLS_HANDSHAKED)
    return;
  if (G_IS_TLS_CONNECTION (connection))
    version = g_tls_connection_get_protocol_version (G_TLS_CONNECTION (connection));
  /* fail closed: an unknown version is refused too */
  if (version != G_TLS_PROTOCOL_VERSION_TLS_1_2 && version != G_TLS_PROTOCOL_VERSION_TLS_1_3)
    {
      guard->outdated = TRUE;
      g_cancellable_cancel (guard->cancellable);
    }
}

static void
forward_cancel_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* Public (internal) API */

void
cardpin_unblock_reply_free (CardpinUnblockReply *reply)
{
  if (reply == NULL)
    return;
  g_clear_pointer (&reply->body, cardpin_secret_unref);
  g_free (reply);
}

/**
 * cardpin_unblock_normalize_url:
 * @url: the configured service address
 * @error: return location
 *
 * Only https addresses are accepted: the password and the responses never travel in
 * the clear.
 *
 * Returns: (transfer full) (nullable): @url ending with "/"
 */
char *
cardpin_unblock_normalize_url (const char  *url,
                               GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *path;

  if (url == NULL || url[0] == '\0')
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("Online unblocking is not set up: no unblock service address is "
                     "configured. Ask your administrator, or unblock with your PUK or "
                     "through your helpdesk."));
      return NULL;
    }

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 ||
      g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' ||
      g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                   _("“%s” is not a usable unblock service address: it must look like "
                     "https://unblock.example.org/. Ask your administrator to correct it."),
                   url);
      return NULL;
    }

  path = g_uri_get_path (uri);
  if (g_str_has_suffix (path, "/"))
    return g_uri_to_string (uri);

  return g_strconcat (url, "/", NULL);
}

/**
 * cardpin_unblock_soup_session_new:
 * @ca_file: (nullable): PEM file of the authorities allowed to sign the service's
 *   certificate; %NULL for the system's trusted authorities
 * @error: return location
 *
 * A session that trusts only @ca_file (or the system's authorities), never accepts a
 * certificate error, does not answer authentication challenges by itself and gives up
 * after %CARDPIN_UNBLOCK_TIMEOUT seconds of silence. cardpin_unblock_send() refuses TLS
 * below 1.2.
 */
SoupSession *
cardpin_unblock_soup_session_new (const char  *ca_file,
                                  GError     **error)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                   _("This system cannot make secure connections (GIO has no TLS support). "
                     "Install glib-networking."));
      return NULL;
    }

  session = soup_session_new_with_options ("timeout", CARDPIN_UNBLOCK_TIMEOUT,
                                           "idle-timeout", CARDPIN_UNBLOCK_TIMEOUT,
                                           "user-agent", "cardpin/" PACKAGE_VERSION,
                                           NULL);
  /* the credentials go in the first request; a 401 is an answer, not a prompt */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_AUTH_MANAGER);

  if (ca_file != NULL && ca_file[0] != '\0')
    {
      database = g_tls_file_database_new (ca_file, &local_error);
      if (database == NULL)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                       _("Cannot read the unblock service’s certificate authority file "
                         "%s: %s. Ask your administrator to check the "
                         "“unblock-server-ca” setting."), ca_file, local_error->message);
          return NULL;
        }
      soup_session_set_tls_database (session, database);
    }

  return g_steal_pointer (&session);
}

/**
 * cardpin_unblock_map_transport_error:
 * @transport_error: what libsoup or GIO reported
 * @base_url: the service address, for the message
 * @error: return location
 *
 * Cancellation stays %G_IO_ERROR_CANCELLED; a refused certificate or a failed TLS
 * handshake, and everything else that keeps the request from the service, is
 * %CARDPIN_ERROR_SERVICE_UNAVAILABLE with a message that says which.
 */
void
cardpin_unblock_map_transport_error (const GError  *transport_error,
                                     const char    *base_url,
                                     GError       **error)
{
  if (g_error_matches (transport_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, transport_error->message);
      return;
    }

  if (transport_error->domain == G_TLS_ERROR)
    {
      if (transport_error->code == G_TLS_ERROR_BAD_CERTIFICATE)
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                     _("The unblock service at %s could not prove it is genuine: its "
                       "certificate is not signed by the configured authority, has "
                       "expired or names another host. Nothing was sent. Tell your "
                       "administrator."), base_url);
      else
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                     _("No secure connection to the unblock service at %s (%s). Nothing "
                       "was sent. Tell your administrator."), base_url,
                     transport_error->message);
      return;
    }

  if (g_error_matches (transport_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                   _("The unblock service at %s did not answer in time. Try again later, "
                     "or unblock through your helpdesk by phone."), base_url);
      return;
    }

  g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
               _("Cannot reach the unblock service at %s (%s). Check your network "
                 "connection and try again, or unblock through your helpdesk by phone."),
               base_url, transport_error->message);
}

/**
 * cardpin_unblock_send:
 * @session: from cardpin_unblock_soup_session_new()
 * @base_url: from cardpin_unblock_normalize_url()
 * @method: "GET", "POST" or "DELETE"
 * @path: relative to @base_url, such as "v1/unblock/response"
 * @json_body: (nullable): the request body
 * @auth: how @credential authenticates
 * @user: (nullable): the account, for Basic
 * @credential: (nullable): password or device token
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Returns: (transfer full) (nullable): the reply, whatever its status
 */
CardpinUnblockReply *
cardpin_unblock_send (SoupSession          *session,
                      const char           *base_url,
                      const char           *method,
                      const char           *path,
                      GBytes               *json_body,
                      CardpinUnblockAuth    auth,
                      const char           *user,
                      const CardpinSecret  *credential,
                      GCancellable         *cancellable,
                      GError              **error)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(CardpinSecret) authorization = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(CardpinUnblockReply) reply = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GUri) uri = NULL;
  SoupMessageHeaders *request_headers;
  TlsGuard guard = { NULL, FALSE };
  gulong forward_id = 0;

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);
  g_return_val_if_fail (auth == CARDPIN_UNBLOCK_AUTH_NONE || credential != NULL, NULL);
  g_return_val_if_fail (auth != CARDPIN_UNBLOCK_AUTH_BASIC || user != NULL, NULL);

  uri = g_uri_parse_relative (NULL, base_url, G_URI_FLAGS_NONE, NULL);
  if (uri != NULL)
    {
      GUri *resolved = g_uri_parse_relative (uri, path, G_URI_FLAGS_NONE, NULL);

      g_uri_unref (uri);
      uri = resolved;
    }
  if (uri == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                   _("“%s” is not a usable unblock service address. Ask your "
                     "administrator to correct it."), base_url);
      return NULL;
    }

  message = soup_message_new_from_uri (method, uri);
  request_headers = soup_message_get_request_headers (message);
  soup_message_headers_replace (request_headers, "Accept", "application/json");
  if (auth != CARDPIN_UNBLOCK_AUTH_NONE)
    {
      authorization = authorization_value (auth, user, credential);
      soup_message_headers_replace (request_headers, "Authorization",
                                    cardpin_secret_as_string (authorization));
    }
  if (json_body != NULL)
    soup_message_set_request_body_from_bytes (message, "application/json", json_body);

  guard.cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    forward_id = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel_cb),
                                        g_object_ref (guard.cancellable), g_object_unref);
  soup_message_add_flags (message, SOUP_MESSAGE_NEW_CONNECTION);
  g_signal_connect (message, "network-event", G_CALLBACK (network_event_cb), &guard);

  stream = soup_session_send (session, message, guard.cancellable, &local_error);

  reply = g_new0 (CardpinUnblockReply, 1);
  if (stream != NULL)
    {
      reply->body = read_body (stream, cancellable, &local_error);
      g_input_stream_close (stream, NULL, NULL);
    }

  /* libsoup keeps its own copy of the header until the message is freed */
  if (authorization != NULL)
    wipe_string (soup_message_headers_get_one (request_headers, "Authorization"));

  g_signal_handlers_disconnect_by_func (message, network_event_cb, &guard);
  if (forward_id != 0)
    g_cancellable_disconnect (cancellable, forward_id);
  g_clear_object (&guard.cancellable);

  if (guard.outdated)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                   _("No secure connection to the unblock service at %s: it offers only an "
                     "outdated TLS version (below 1.2). Nothing was sent. Tell your "
                     "administrator."), base_url);
      return NULL;
    }
  if (stream == NULL)
    {
      cardpin_unblock_map_transport_error (local_error, base_url, error);
      return NULL;
    }
  if (reply->body == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  reply->status = soup_message_get_status (message);
  now = g_date_time_new_now_utc ();
  reply->retry_after = cardpin_unblock_parse_retry_after (
    soup_message_headers_get_one (soup_message_get_response_headers (message), "Retry-After"),
    now);

  return g_steal_pointer (&reply);
}

/**
 * cardpin_unblock_format_wait:
 * @seconds: a delay
 *
 * Returns: (transfer full): "5 minutes", "2 hours", rounded up, for messages
 */
char *
cardpin_unblock_format_wait (guint seconds)
{
  guint n;

  if (seconds < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u second", "%u seconds",
                                         MAX (seconds, 1)), MAX (seconds, 1));
  if (seconds < 3600)
    {
      n = (seconds + 59) / 60;
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u minute", "%u minutes", n), n);
    }
  n = (seconds + 3599) / 3600;
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u hour", "%u hours", n), n);
}

/**
 * cardpin_unblock_reply_check:
 * @reply: a reply
 * @auth: how the request authenticated (the 401 message differs)
 * @error: return location
 *
 * Returns: %TRUE for a 2xx status; else %FALSE with the CARDPIN_ERROR the status means
 */
gboolean
cardpin_unblock_reply_check (const CardpinUnblockReply  *reply,
                             CardpinUnblockAuth          auth,
                             GError                    **error)
{
  g_autofree char *wait = NULL;
  g_autofree char *request_id = NULL;
  g_autofree char *reference = NULL;
  guint status = reply->status;

  if (status >= 200 && status < 300)
    return TRUE;

  /* quoting the request id lets the helpdesk find the audit record */
  request_id = cardpin_unblock_reply_dup_request_id (reply);
  reference = request_id != NULL ? g_strdup_printf (_(" (request %s)"), request_id)
                                 : g_strdup ("");

  switch (status)
    {
    case 401:
      if (auth == CARDPIN_UNBLOCK_AUTH_BEARER)
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH,
                     _("The unblock service no longer knows this device: its token expired "
                       "or was revoked. Sign in with your password."));
      else
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH,
                     _("The unblock service did not accept your user name and password. "
                       "Check them and try again; your card was not changed."));
      return FALSE;

    case 403:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_DENIED,
                   _("The unblock service does not unblock this card for your account: the "
                     "card is not registered to you, or it was disabled. Call your "
                     "helpdesk%s."), reference);
      return FALSE;

    case 429:
      if (reply->retry_after > 0)
        {
          wait = cardpin_unblock_format_wait (reply->retry_after);
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_QUOTA,
                       _("Too many unblock requests. Try again in %s, or call your "
                         "helpdesk%s."), wait, reference);
        }
      else
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_QUOTA,
                       _("Too many unblock requests. Try again later, or call your "
                         "helpdesk%s."), reference);
        }
      return FALSE;

    case 400:
    case 404:
    case 405:
    case 411:
    case 413:
    case 415:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL,
                   _("The unblock service refused the request as malformed (HTTP %u%s). "
                     "cardpin and the service may not match: tell your administrator."),
                   status, reference);
      return FALSE;

    default:
      if (status >= 500)
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE,
                     _("The unblock service has a problem (HTTP %u%s). Try again later, or "
                       "unblock through your helpdesk by phone."), status, reference);
      else
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL,
                     _("The unblock service answered with an unexpected status (HTTP "
                       "%u%s). Tell your administrator."), status, reference);
      return FALSE;
    }
}

/**
 * cardpin_unblock_parse_retry_after:
 * @value: (nullable): the Retry-After header
 * @now: the current time, for an HTTP date
 *
 * Returns: seconds to wait (at most a week), 0 when absent or not understood
 */
guint
cardpin_unblock_parse_retry_after (const char *value,
                                   GDateTime  *now)
{
  const guint week = 7 * 24 * 3600;
  guint64 seconds;

  if (value == NULL)
    return 0;
  while (g_ascii_isspace (*value))
    value++;
  if (*value == '\0')
    return 0;

  if (g_ascii_isdigit (*value))
    {
      g_autofree char *trimmed = g_strstrip (g_strdup (value));

      if (!g_ascii_string_to_unsigned (trimmed, 10, 0, G_MAXUINT64, &seconds, NULL))
        return 0;
      return (guint) MIN (seconds, week);
    }
  else
    {
      g_autoptr(GDateTime) when = soup_date_time_new_from_http_string (value);
      GTimeSpan span;

      if (when == NULL)
        return 0;
      span = g_date_time_difference (when, now);
      if (span <= 0)
        return 0;
      return (guint) MIN ((span + G_TIME_SPAN_SECOND - 1) / G_TIME_SPAN_SECOND, week);
    }
}

/**
 * cardpin_unblock_algorithm_name:
 * @algorithm: the PIV algorithm of the challenge (0x03 3DES, 0x08 AES-128)
 *
 * Returns: (nullable): the protocol's name, "3des" or "aes128"
 */
const char *
cardpin_unblock_algorithm_name (guint algorithm)
{
  switch (algorithm)
    {
    case 0x03:
      return "3des";
    case 0x08:
      return "aes128";
    default:
      return NULL;
    }
}

static GBytes *
generate (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  gsize length;
  char *text;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  return g_bytes_new_take (text, length);
}

/**
 * cardpin_unblock_build_response_request:
 *
 * Returns: (transfer full): {"serial", "challenge" (uppercase hex), "algorithm"}
 */
GBytes *
cardpin_unblock_build_response_request (const char *serial,
                                        GBytes     *challenge,
                                        guint       algorithm)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autofree char *hex = NULL;
  gsize length;
  const guint8 *data = g_bytes_get_data (challenge, &length);

  /* the challenge is public: the card shows it to anyone who asks */
  hex = g_malloc (length * 2 + 1);
  for (gsize i = 0; i < length; i++)
    g_snprintf (hex + 2 * i, 3, "%02X", data[i]);
  hex[length * 2] = '\0';

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "serial");
  json_builder_add_string_value (builder, serial);
  json_builder_set_member_name (builder, "challenge");
  json_builder_add_string_value (builder, hex);
  json_builder_set_member_name (builder, "algorithm");
  json_builder_add_string_value (builder, cardpin_unblock_algorithm_name (algorithm));
  json_builder_end_object (builder);
  return generate (builder);
}

/**
 * cardpin_unblock_build_puk_request:
 *
 * Returns: (transfer full): {"serial"}
 */
GBytes *
cardpin_unblock_build_puk_request (const char *serial)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "serial");
  json_builder_add_string_value (builder, serial);
  json_builder_end_object (builder);
  return generate (builder);
}

/**
 * cardpin_unblock_parse_response:
 * @reply: a 200 reply to POST /v1/unblock/response
 * @expected_length: the challenge's length: the response has as many bytes
 * @request_id: (out) (optional) (transfer full): the service's request id
 * @error: return location
 *
 * Returns: (transfer full) (nullable): the response bytes
 */
CardpinSecret *
cardpin_unblock_parse_response (const CardpinUnblockReply  *reply,
                                gsize                       expected_length,
                                char                      **request_id,
                                GError                    **error)
{
  g_autoptr(CardpinSecret) hex = NULL;
  CardpinSecret *response;

  hex = secret_member (reply, "response", request_id, error);
  if (hex == NULL)
    return NULL;

  response = hex_to_secret (hex, expected_length);
  if (response == NULL)
    {
      if (request_id != NULL)
        g_clear_pointer (request_id, g_free);
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL,
                   _("The unblock service’s response does not fit this card’s challenge "
                     "(expected %zu hexadecimal digits). Nothing was sent "
                     "to the card. Tell your administrator."), expected_length * 2);
    }
  return response;
}

/**
 * cardpin_unblock_parse_puk:
 * @reply: a 200 reply to POST /v1/unblock/puk
 * @request_id: (out) (optional) (transfer full): the service's request id
 * @error: return location
 *
 * Returns: (transfer full) (nullable): the PUK
 */
CardpinSecret *
cardpin_unblock_parse_puk (const CardpinUnblockReply  *reply,
                           char                      **request_id,
                           GError                    **error)
{
  return secret_member (reply, "puk", request_id, error);
}

/**
 * cardpin_unblock_parse_device:
 * @reply: a 2xx reply to POST /v1/devices
 * @expires: (out) (optional) (transfer full): when the token expires, as the service
 *   wrote it
 * @error: return location
 *
 * Returns: (transfer full) (nullable): the device token
 */
CardpinSecret *
cardpin_unblock_parse_device (const CardpinUnblockReply  *reply,
                              char                      **expires,
                              GError                    **error)
{
  JsonParser *parser = json_parser_new_immutable ();
  JsonObject *object;
  JsonNode *node;
  const char *token;
  CardpinSecret *secret = NULL;

  object = reply_object (reply, parser, error);
  if (object == NULL)
    goto out;

  token = cardpin_json_get_string_member (object, "token");
  if (token == NULL || token[0] == '\0' || strchr (token, ' ') != NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL,
                   _("The unblock service’s answer lacks the “%s” it should hold. Check the "
                     "unblock service address with your administrator."), "token");
      goto out;
    }
  secret = cardpin_secret_new_from_string (token);

  if (expires != NULL)
    {
      node = json_object_get_member (object, "expires");
      if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
          json_node_get_value_type (node) == G_TYPE_STRING)
        *expires = g_strdup (json_node_get_string (node));
      else if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
               json_node_get_value_type (node) == G_TYPE_INT64)
        *expires = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      else
        *expires = NULL;
    }

out:
  parser_wipe_and_unref (parser);
  return secret;
}

/**
 * cardpin_unblock_reply_dup_request_id:
 * @reply: a reply
 *
 * Returns: (transfer full) (nullable): its "request_id", when the body is a JSON object
 *   that holds one
 */
char *
cardpin_unblock_reply_dup_request_id (const CardpinUnblockReply *reply)
{
  JsonParser *parser = json_parser_new_immutable ();
  JsonObject *object;
  char *request_id = NULL;
  const char *value;

  object = reply_object (reply, parser, NULL);
  if (object != NULL && (value = cardpin_json_get_string_member (object, "request_id")) != NULL &&
      g_utf8_validate (value, -1, NULL) && strlen (value) <= 128)
    request_id = g_strdup (value);

  parser_wipe_and_unref (parser);
  return request_id;
}
