/* cardpin-unblock-client.c — online unblock through the organisation's unblock service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-device-token.h"
#include "cardpin-error.h"
#include "cardpin-policy.h"
#include "cardpin-unblock-client.h"
#include "cardpin-unblock-protocol.h"
#include "cardpin-unblock-session.h"

/**
 * CardpinUnblockClient:
 *
 * Talks to the unblock service of DESIGN.md ("Online unblock protocol") over HTTPS and
 * drives the card: cardpin_unblock_client_unblock() reads the card's admin challenge,
 * has the service answer it and sets the new PIN in the same card session. The service
 * address and certificate authority come from the settings
 * (`unblock-server-url`, `unblock-server-ca`); only that authority (or the system's,
 * when none is set) is trusted.
 *
 * The account password (HTTP Basic) and the device token (Bearer) are held in
 * #CardpinSecret buffers; they are never logged. Each operation opens its own HTTP
 * session, so a client may be used from any thread; the async variants run the blocking
 * parts in worker threads and refresh the token in the calling context.
 */
struct _CardpinUnblockClient {
  GObject         parent_instance;

  char           *server_url;    /* normalised: https, ends with "/" */
  char           *ca_file;
  GSettings      *settings;      /* the PIN policy's source, or NULL for the default */

  GMutex          mutex;         /* guards the fields below: operations run in threads */
  char           *user;
  CardpinSecret  *password;
  CardpinSecret  *device_token;
  char           *request_id;
  guint           retry_after;
};

enum {
  PROP_0,
  PROP_SERVER_URL,
  PROP_CA_FILE,
  PROP_USER,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (CardpinUnblockClient, cardpin_unblock_client, G_TYPE_OBJECT)

/* Helpers */

static void
set_request_id (CardpinUnblockClient *self,
                char                 *request_id)
{
  g_mutex_lock (&self->mutex);
  g_free (self->request_id);
  self->request_id = request_id;
  g_mutex_unlock (&self->mutex);
}

static gboolean
user_is_valid (const char *user)
{
  return user != NULL && user[0] != '\0' && strchr (user, ':') == NULL &&
         g_utf8_validate (user, -1, NULL);
}

/* Sends one request with the best credentials the client holds: the device token, and the
 * password when the service refuses the token. Returns only 2xx replies. */
static CardpinUnblockReply *
call (CardpinUnblockClient  *self,
      const char            *method,
      const char            *path,
      GBytes                *body,
      gboolean               token_only,
      GCancellable          *cancellable,
      GError               **error)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(CardpinSecret) password = NULL;
  g_autoptr(CardpinSecret) token = NULL;
  g_autoptr(CardpinUnblockReply) reply = NULL;
  g_autofree char *user = NULL;
  CardpinUnblockAuth auth;

  g_mutex_lock (&self->mutex);
  user = g_strdup (self->user);
  if (self->password != NULL && !token_only)
    password = cardpin_secret_ref (self->password);
  if (self->device_token != NULL)
    token = cardpin_secret_ref (self->device_token);
  self->retry_after = 0;
  g_mutex_unlock (&self->mutex);

  if (token == NULL && password == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH,
                   _("Sign in to the unblock service: enter your account password."));
      return NULL;
    }
  if (password != NULL && !user_is_valid (user))
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH,
                   _("“%s” is not a valid user name for the unblock service. Enter the "
                     "name of your account."), user ? user : "");
      return NULL;
    }

  session = cardpin_unblock_soup_session_new (self->ca_file, error);
  if (session == NULL)
    return NULL;

  auth = token != NULL ? CARDPIN_UNBLOCK_AUTH_BEARER : CARDPIN_UNBLOCK_AUTH_BASIC;
  reply = cardpin_unblock_send (session, self->server_url, method, path, body, auth, user,
                                token != NULL ? token : password, cancellable, error);
  if (reply == NULL)
    return NULL;

  if (reply->status == 401 && auth == CARDPIN_UNBLOCK_AUTH_BEARER && password != NULL)
    {
      /* the token expired or was revoked: forget it here, sign in with the password */
      g_mutex_lock (&self->mutex);
      if (self->device_token == token)
        g_clear_pointer (&self->device_token, cardpin_secret_unref);
      g_mutex_unlock (&self->mutex);

      g_clear_pointer (&reply, cardpin_unblock_reply_free);
      auth = CARDPIN_UNBLOCK_AUTH_BASIC;
      reply = cardpin_unblock_send (session, self->server_url, method, path, body, auth,
                                    user, password, cancellable, error);
      if (reply == NULL)
        return NULL;
    }

  if (!cardpin_unblock_reply_check (reply, auth, error))
    {
      set_request_id (self, cardpin_unblock_reply_dup_request_id (reply));
      g_mutex_lock (&self->mutex);
      self->retry_after = reply->status == 429 ? reply->retry_after : 0;
      g_mutex_unlock (&self->mutex);
      return NULL;
    }

  return g_steal_pointer (&reply);
}

/* The new PIN against the administrator's policy and what the card takes, before the
 * service spends a grant on it. */
static gboolean
check_new_pin (CardpinUnblockClient  *self,
               CardpinToken          *token,
               const CardpinSecret   *new_pin,
               GError               **error)
{
  g_autoptr(CardpinPolicy) policy = cardpin_token_get_pin_policy (token, self->settings);

  return cardpin_policy_check (policy, new_pin, NULL, NULL, error);
}

/* A response the card refuses means the service's key for this serial is not the card's */
static void
explain_card_refusal (const char  *serial,
                      GError     **error)
{
  int tries;

  if (error == NULL || *error == NULL ||
      !g_error_matches (*error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_RESPONSE))
    return;

  tries = cardpin_error_get_tries_left (*error);
  g_clear_error (error);
  if (tries >= 0)
    cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_RESPONSE, tries,
                                  g_dngettext (GETTEXT_PACKAGE,
                                               "The card refused the unblock service’s "
                                               "answer: the service holds another unblock "
                                               "key for card %s. Your PIN is still blocked. "
                                               "Call your helpdesk (the card’s unblock key "
                                               "has %d try left).",
                                               "The card refused the unblock service’s "
                                               "answer: the service holds another unblock "
                                               "key for card %s. Your PIN is still blocked. "
                                               "Call your helpdesk (the card’s unblock key "
                                               "has %d tries left).", tries),
                                  serial, tries);
  else
    cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_RESPONSE, -1,
                                  _("The card refused the unblock service’s answer: the "
                                    "service holds another unblock key for card %s. Your "
                                    "PIN is still blocked. Call your helpdesk."), serial);
}

/* Overrides */

static void
cardpin_unblock_client_finalize (GObject *object)
{
  CardpinUnblockClient *self = CARDPIN_UNBLOCK_CLIENT (object);

  g_free (self->server_url);
  g_free (self->ca_file);
  g_clear_object (&self->settings);
  g_free (self->user);
  g_clear_pointer (&self->password, cardpin_secret_unref);
  g_clear_pointer (&self->device_token, cardpin_secret_unref);
  g_free (self->request_id);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (cardpin_unblock_client_parent_class)->finalize (object);
}

static void
cardpin_unblock_client_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  CardpinUnblockClient *self = CARDPIN_UNBLOCK_CLIENT (object);

  switch (prop_id)
    {
    case PROP_SERVER_URL:
      g_value_set_string (value, self->server_url);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_USER:
      g_mutex_lock (&self->mutex);
      g_value_set_string (value, self->user);
      g_mutex_unlock (&self->mutex);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_unblock_client_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  CardpinUnblockClient *self = CARDPIN_UNBLOCK_CLIENT (object);

  switch (prop_id)
    {
    case PROP_SERVER_URL:
      self->server_url = g_value_dup_string (value);
      break;
    case PROP_CA_FILE:
      {
        const char *ca_file = g_value_get_string (value);

        self->ca_file = ca_file != NULL && ca_file[0] != '\0' ? g_strdup (ca_file) : NULL;
      }
      break;
    case PROP_USER:
      cardpin_unblock_client_set_user (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_unblock_client_class_init (CardpinUnblockClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cardpin_unblock_client_finalize;
  object_class->get_property = cardpin_unblock_client_get_property;
  object_class->set_property = cardpin_unblock_client_set_property;

  /**
   * CardpinUnblockClient:server-url:
   *
   * The service's https address, ending with "/".
   */
  props[PROP_SERVER_URL] =
    g_param_spec_string ("server-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * CardpinUnblockClient:ca-file:
   *
   * PEM file of the authorities trusted for the service, or %NULL for the system's.
   */
  props[PROP_CA_FILE] =
    g_param_spec_string ("ca-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * CardpinUnblockClient:user:
   *
   * The account the service authenticates; the login name by default.
   */
  props[PROP_USER] =
    g_param_spec_string ("user", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
cardpin_unblock_client_init (CardpinUnblockClient *self)
{
  g_mutex_init (&self->mutex);
  self->user = g_strdup (g_get_user_name ());
}

/* Public API */

/**
 * cardpin_unblock_client_new:
 * @server_url: the service's https address
 * @ca_file: (nullable): PEM file of the authorities trusted for the service; %NULL or
 *   empty for the system's
 * @error: return location
 *
 * Returns: (transfer full) (nullable): a client, or %NULL when @server_url is empty
 *   (%CARDPIN_ERROR_NOT_SUPPORTED) or not an https address (%CARDPIN_ERROR_FAILED)
 */
CardpinUnblockClient *
cardpin_unblock_client_new (const char  *server_url,
                            const char  *ca_file,
                            GError     **error)
{
  g_autofree char *normalized = cardpin_unblock_normalize_url (server_url, error);

  if (normalized == NULL)
    return NULL;
  return g_object_new (CARDPIN_TYPE_UNBLOCK_CLIENT,
                       "server-url", normalized,
                       "ca-file", ca_file,
                       NULL);
}

/**
 * cardpin_unblock_client_new_from_settings:
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 * @error: return location
 *
 * A client for the service in `unblock-server-url`, trusting `unblock-server-ca`. The PIN
 * policy is read from the same settings.
 *
 * Returns: (transfer full) (nullable): a client, or %NULL (see cardpin_unblock_client_new())
 */
static GSettings *
default_settings (GError **error)
{
  GSettings *settings = cardpin_settings_new_default ();

  if (settings == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("Online unblocking is not set up: the settings schema %s is not "
                     "installed. Reinstall cardpin."), APP_ID);
      return NULL;
    }
  return settings;
}

/**
 * cardpin_unblock_client_check_allowed:
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 * @error: return location
 *
 * Whether the administrator allows online unblocking: "online" is in
 * `allowed-unblock-methods` (lockable in dconf). cardpin_unblock_client_new_from_settings()
 * checks it; a front end that takes a service address from elsewhere checks it too.
 *
 * Returns: %TRUE when allowed; else %FALSE with %CARDPIN_ERROR_NOT_SUPPORTED
 */
gboolean
cardpin_unblock_client_check_allowed (GSettings  *settings,
                                      GError    **error)
{
  g_autoptr(GSettings) owned = NULL;

  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), FALSE);

  if (settings == NULL && (settings = owned = default_settings (error)) == NULL)
    return FALSE;
  return cardpin_policy_check_unblock_method (settings, CARDPIN_UNBLOCK_METHOD_ONLINE, error);
}

/**
 * cardpin_unblock_client_new_from_settings:
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 * @error: return location
 *
 * A client for the service in `unblock-server-url`, trusting `unblock-server-ca`, when
 * `allowed-unblock-methods` has "online". The PIN policy is read from the same settings.
 *
 * Returns: (transfer full) (nullable): a client, or %NULL: %CARDPIN_ERROR_NOT_SUPPORTED
 *   when online unblocking is not configured or not allowed (see
 *   cardpin_unblock_client_new())
 */
CardpinUnblockClient *
cardpin_unblock_client_new_from_settings (GSettings  *settings,
                                          GError    **error)
{
  g_autoptr(GSettings) owned = NULL;
  g_autofree char *url = NULL;
  g_autofree char *ca_file = NULL;
  CardpinUnblockClient *self;

  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  if (settings == NULL && (settings = owned = default_settings (error)) == NULL)
    return NULL;
  if (!cardpin_unblock_client_check_allowed (settings, error))
    return NULL;

  url = g_settings_get_string (settings, "unblock-server-url");
  ca_file = g_settings_get_string (settings, "unblock-server-ca");
  self = cardpin_unblock_client_new (url, ca_file, error);
  if (self != NULL)
    self->settings = g_object_ref (settings);
  return self;
}

const char *
cardpin_unblock_client_get_server_url (CardpinUnblockClient *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), NULL);
  return self->server_url;
}

const char *
cardpin_unblock_client_get_ca_file (CardpinUnblockClient *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), NULL);
  return self->ca_file;
}

/**
 * cardpin_unblock_client_get_user:
 * @self: a client
 *
 * Returns: the account name; do not call while another thread may set it
 */
const char *
cardpin_unblock_client_get_user (CardpinUnblockClient *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), NULL);
  return self->user;
}

/**
 * cardpin_unblock_client_set_user:
 * @self: a client
 * @user: (nullable): the account; %NULL for the login name
 */
void
cardpin_unblock_client_set_user (CardpinUnblockClient *self,
                                 const char           *user)
{
  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));

  if (user == NULL || user[0] == '\0')
    user = g_get_user_name ();

  g_mutex_lock (&self->mutex);
  if (g_strcmp0 (self->user, user) == 0)
    {
      g_mutex_unlock (&self->mutex);
      return;
    }
  g_free (self->user);
  self->user = g_strdup (user);
  g_mutex_unlock (&self->mutex);

  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_USER]);
}

/**
 * cardpin_unblock_client_set_password:
 * @self: a client
 * @password: (nullable): the account password; the client keeps a reference
 */
void
cardpin_unblock_client_set_password (CardpinUnblockClient *self,
                                     CardpinSecret        *password)
{
  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));

  g_mutex_lock (&self->mutex);
  if (password != NULL)
    cardpin_secret_ref (password);
  g_clear_pointer (&self->password, cardpin_secret_unref);
  self->password = password;
  g_mutex_unlock (&self->mutex);
}

/**
 * cardpin_unblock_client_set_device_token:
 * @self: a client
 * @token: (nullable): a device token the service issued; the client keeps a reference
 */
void
cardpin_unblock_client_set_device_token (CardpinUnblockClient *self,
                                         CardpinSecret        *token)
{
  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));

  g_mutex_lock (&self->mutex);
  if (token != NULL)
    cardpin_secret_ref (token);
  g_clear_pointer (&self->device_token, cardpin_secret_unref);
  self->device_token = token;
  g_mutex_unlock (&self->mutex);
}

gboolean
cardpin_unblock_client_has_device_token (CardpinUnblockClient *self)
{
  gboolean has;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_mutex_lock (&self->mutex);
  has = self->device_token != NULL;
  g_mutex_unlock (&self->mutex);
  return has;
}

/**
 * cardpin_unblock_client_dup_request_id:
 * @self: a client
 *
 * Returns: (transfer full) (nullable): the request id of the service's last answer, which
 *   the helpdesk finds in its audit log
 */
char *
cardpin_unblock_client_dup_request_id (CardpinUnblockClient *self)
{
  char *request_id;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), NULL);
  g_mutex_lock (&self->mutex);
  request_id = g_strdup (self->request_id);
  g_mutex_unlock (&self->mutex);
  return request_id;
}

/**
 * cardpin_unblock_client_get_retry_after:
 * @self: a client
 *
 * Returns: the seconds the service asked to wait in its last answer (429), or 0
 */
guint
cardpin_unblock_client_get_retry_after (CardpinUnblockClient *self)
{
  guint retry_after;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), 0);
  g_mutex_lock (&self->mutex);
  retry_after = self->retry_after;
  g_mutex_unlock (&self->mutex);
  return retry_after;
}

/**
 * cardpin_unblock_client_check:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * GET /v1/health: whether the service is reachable and trusted. Blocking.
 */
gboolean
cardpin_unblock_client_check (CardpinUnblockClient  *self,
                              GCancellable          *cancellable,
                              GError               **error)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(CardpinUnblockReply) reply = NULL;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);

  session = cardpin_unblock_soup_session_new (self->ca_file, error);
  if (session == NULL)
    return FALSE;
  reply = cardpin_unblock_send (session, self->server_url, "GET", "v1/health", NULL,
                                CARDPIN_UNBLOCK_AUTH_NONE, NULL, NULL, cancellable, error);
  return reply != NULL && cardpin_unblock_reply_check (reply, CARDPIN_UNBLOCK_AUTH_NONE, error);
}

/**
 * cardpin_unblock_client_request_response:
 * @self: a client
 * @serial: the card serial as printed (cardpin_token_get_serial())
 * @challenge: the card's challenge
 * @algorithm: its algorithm (0x03 3DES, 0x08 AES-128)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * POST /v1/unblock/response. Blocking.
 *
 * Returns: (transfer full) (nullable): the response, as many bytes as @challenge
 */
CardpinSecret *
cardpin_unblock_client_request_response (CardpinUnblockClient  *self,
                                         const char            *serial,
                                         GBytes                *challenge,
                                         guint                  algorithm,
                                         GCancellable          *cancellable,
                                         GError               **error)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(CardpinUnblockReply) reply = NULL;
  char *request_id = NULL;
  CardpinSecret *response;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), NULL);
  g_return_val_if_fail (serial != NULL && challenge != NULL, NULL);

  if (cardpin_unblock_algorithm_name (algorithm) == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("The card’s unblock key uses an algorithm the unblock service does not "
                     "know. Call your helpdesk."));
      return NULL;
    }

  body = cardpin_unblock_build_response_request (serial, challenge, algorithm);
  reply = call (self, "POST", "v1/unblock/response", body, FALSE, cancellable, error);
  if (reply == NULL)
    return NULL;

  response = cardpin_unblock_parse_response (reply, g_bytes_get_size (challenge), &request_id,
                                             error);
  set_request_id (self, request_id);
  return response;
}

/**
 * cardpin_unblock_client_request_puk:
 * @self: a client
 * @serial: the card serial as printed
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * POST /v1/unblock/puk. Blocking.
 *
 * Returns: (transfer full) (nullable): the card's PUK
 */
CardpinSecret *
cardpin_unblock_client_request_puk (CardpinUnblockClient  *self,
                                    const char            *serial,
                                    GCancellable          *cancellable,
                                    GError               **error)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(CardpinUnblockReply) reply = NULL;
  char *request_id = NULL;
  CardpinSecret *puk;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), NULL);
  g_return_val_if_fail (serial != NULL, NULL);

  body = cardpin_unblock_build_puk_request (serial);
  reply = call (self, "POST", "v1/unblock/puk", body, FALSE, cancellable, error);
  if (reply == NULL)
    return NULL;

  puk = cardpin_unblock_parse_puk (reply, &request_id, error);
  set_request_id (self, request_id);
  return puk;
}

/**
 * cardpin_unblock_client_unblock:
 * @self: a client
 * @token: a PIV card
 * @new_pin: the new PIN
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * The whole online unblock: checks @new_pin against the policy, reads the card's
 * challenge (holding the card), asks the service for the response and sets @new_pin with
 * it in the same card session. When the service refuses, the card is released untouched
 * and no try of its unblock key is spent. Blocking; @token is refreshed afterwards.
 *
 * Returns: %TRUE when the new PIN is set
 */
gboolean
cardpin_unblock_client_unblock (CardpinUnblockClient  *self,
                                CardpinToken          *token,
                                const CardpinSecret   *new_pin,
                                GCancellable          *cancellable,
                                GError               **error)
{
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(CardpinSecret) response = NULL;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), FALSE);
  g_return_val_if_fail (new_pin != NULL, FALSE);

  if (!check_new_pin (self, token, new_pin, error))
    return FALSE;

  session = cardpin_token_begin_unblock (token, cancellable, error);
  if (session == NULL)
    return FALSE;

  response = cardpin_unblock_client_request_response (
    self, cardpin_unblock_session_get_serial (session),
    cardpin_unblock_session_get_challenge (session),
    cardpin_unblock_session_get_algorithm (session), cancellable, error);
  if (response == NULL)
    {
      cardpin_unblock_session_cancel (session);
      return FALSE;
    }

  if (!cardpin_unblock_session_complete (session, response, new_pin, cancellable, error))
    {
      explain_card_refusal (cardpin_unblock_session_get_serial (session), error);
      return FALSE;
    }
  return TRUE;
}

/* The async unblock: begin (card thread) -> response (HTTP thread) -> complete (card
 * thread, token refreshed in the calling context). */
typedef struct {
  CardpinToken           *token;
  CardpinSecret          *new_pin;
  CardpinUnblockSession  *session;
  CardpinSecret          *response;
} UnblockData;

static void
unblock_data_free (UnblockData *data)
{
  g_clear_object (&data->token);
  g_clear_pointer (&data->new_pin, cardpin_secret_unref);
  if (data->session != NULL)
    cardpin_unblock_session_cancel (data->session);
  g_clear_object (&data->session);
  g_clear_pointer (&data->response, cardpin_secret_unref);
  g_free (data);
}

static void
unblock_complete_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UnblockData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!cardpin_unblock_session_complete_finish (CARDPIN_UNBLOCK_SESSION (source), result,
                                                &error))
    {
      explain_card_refusal (cardpin_unblock_session_get_serial (data->session), &error);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
unblock_response_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  CardpinUnblockClient *self = source_object;
  UnblockData *data = task_data;
  GError *error = NULL;

  data->response = cardpin_unblock_client_request_response (
    self, cardpin_unblock_session_get_serial (data->session),
    cardpin_unblock_session_get_challenge (data->session),
    cardpin_unblock_session_get_algorithm (data->session), cancellable, &error);
  if (data->response == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
unblock_response_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UnblockData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      cardpin_unblock_session_cancel (data->session);
      g_task_return_error (task, error);
      return;
    }

  cardpin_unblock_session_complete_async (data->session, data->response, data->new_pin,
                                          g_task_get_cancellable (task),
                                          unblock_complete_cb, g_object_ref (task));
}

static void
unblock_begin_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GTask) inner = NULL;
  UnblockData *data = g_task_get_task_data (task);
  GError *error = NULL;

  data->session = cardpin_token_begin_unblock_finish (CARDPIN_TOKEN (source), result, &error);
  if (data->session == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* the inner task shares the data; the outer one owns it */
  inner = g_task_new (g_task_get_source_object (task), g_task_get_cancellable (task),
                      unblock_response_cb, g_object_ref (task));
  g_task_set_source_tag (inner, unblock_response_thread);
  g_task_set_task_data (inner, data, NULL);
  g_task_run_in_thread (inner, unblock_response_thread);
}

/**
 * cardpin_unblock_client_unblock_async:
 * @self: a client
 * @token: a PIV card
 * @new_pin: the new PIN
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: closure
 *
 * Asynchronous cardpin_unblock_client_unblock(); @token is refreshed in the calling
 * context before @callback runs.
 */
void
cardpin_unblock_client_unblock_async (CardpinUnblockClient *self,
                                      CardpinToken         *token,
                                      const CardpinSecret  *new_pin,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  UnblockData *data;
  GError *error = NULL;

  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));
  g_return_if_fail (CARDPIN_IS_TOKEN (token));
  g_return_if_fail (new_pin != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cardpin_unblock_client_unblock_async);

  if (!check_new_pin (self, token, new_pin, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  data = g_new0 (UnblockData, 1);
  data->token = g_object_ref (token);
  data->new_pin = cardpin_secret_ref ((CardpinSecret *) new_pin);
  g_task_set_task_data (task, data, (GDestroyNotify) unblock_data_free);

  cardpin_token_begin_unblock_async (token, cancellable, unblock_begin_cb,
                                     g_steal_pointer (&task));
}

gboolean
cardpin_unblock_client_unblock_finish (CardpinUnblockClient  *self,
                                       GAsyncResult          *result,
                                       GError               **error)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_unblock_client_unblock_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cardpin_unblock_client_unblock_with_puk:
 * @self: a client
 * @token: a card without a challenge/response unblock key
 * @new_pin: the new PIN
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * For PUK-only cards: asks the service for the card's PUK (POST /v1/unblock/puk) and
 * unblocks with it; the PUK is wiped and never shown. Blocking; @token is refreshed.
 *
 * Returns: %TRUE when the new PIN is set
 */
gboolean
cardpin_unblock_client_unblock_with_puk (CardpinUnblockClient  *self,
                                         CardpinToken          *token,
                                         const CardpinSecret   *new_pin,
                                         GCancellable          *cancellable,
                                         GError               **error)
{
  g_autoptr(CardpinSecret) puk = NULL;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), FALSE);
  g_return_val_if_fail (new_pin != NULL, FALSE);

  if (!check_new_pin (self, token, new_pin, error))
    return FALSE;

  puk = cardpin_unblock_client_request_puk (self, cardpin_token_get_serial (token),
                                            cancellable, error);
  if (puk == NULL)
    return FALSE;

  return cardpin_token_unblock_pin (token, puk, new_pin, cancellable, error);
}

typedef struct {
  CardpinToken  *token;
  CardpinSecret *new_pin;
  char          *serial;
  CardpinSecret *puk;
} PukData;

static void
puk_data_free (PukData *data)
{
  g_clear_object (&data->token);
  g_clear_pointer (&data->new_pin, cardpin_secret_unref);
  g_free (data->serial);
  g_clear_pointer (&data->puk, cardpin_secret_unref);
  g_free (data);
}

static void
puk_unblock_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (cardpin_token_unblock_pin_finish (CARDPIN_TOKEN (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
puk_request_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  PukData *data = task_data;
  GError *error = NULL;

  data->puk = cardpin_unblock_client_request_puk (source_object, data->serial, cancellable,
                                                  &error);
  if (data->puk == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
puk_request_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PukData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  cardpin_token_unblock_pin_async (data->token, data->puk, data->new_pin,
                                   g_task_get_cancellable (task), puk_unblock_cb,
                                   g_object_ref (task));
}

void
cardpin_unblock_client_unblock_with_puk_async (CardpinUnblockClient *self,
                                               CardpinToken         *token,
                                               const CardpinSecret  *new_pin,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) inner = NULL;
  PukData *data;
  GError *error = NULL;

  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));
  g_return_if_fail (CARDPIN_IS_TOKEN (token));
  g_return_if_fail (new_pin != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cardpin_unblock_client_unblock_with_puk_async);

  if (!check_new_pin (self, token, new_pin, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  data = g_new0 (PukData, 1);
  data->token = g_object_ref (token);
  data->new_pin = cardpin_secret_ref ((CardpinSecret *) new_pin);
  data->serial = g_strdup (cardpin_token_get_serial (token));
  g_task_set_task_data (task, data, (GDestroyNotify) puk_data_free);

  inner = g_task_new (self, cancellable, puk_request_cb, g_steal_pointer (&task));
  g_task_set_source_tag (inner, puk_request_thread);
  g_task_set_task_data (inner, data, NULL);
  g_task_run_in_thread (inner, puk_request_thread);
}

gboolean
cardpin_unblock_client_unblock_with_puk_finish (CardpinUnblockClient  *self,
                                                GAsyncResult          *result,
                                                GError               **error)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_unblock_client_unblock_with_puk_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cardpin_unblock_client_remember_device:
 * @self: a client with credentials
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * "Remember this device": POST /v1/devices, then stores the token in the Secret Service
 * for this server and user and uses it from now on. Blocking.
 *
 * Returns: whether the token was issued and stored
 */
gboolean
cardpin_unblock_client_remember_device (CardpinUnblockClient  *self,
                                        GCancellable          *cancellable,
                                        GError               **error)
{
  g_autoptr(CardpinUnblockReply) reply = NULL;
  g_autoptr(CardpinSecret) token = NULL;
  g_autofree char *expires = NULL;
  g_autofree char *user = NULL;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);

  reply = call (self, "POST", "v1/devices", NULL, FALSE, cancellable, error);
  if (reply == NULL)
    return FALSE;
  set_request_id (self, cardpin_unblock_reply_dup_request_id (reply));

  token = cardpin_unblock_parse_device (reply, &expires, error);
  if (token == NULL)
    return FALSE;

  g_mutex_lock (&self->mutex);
  user = g_strdup (self->user);
  g_mutex_unlock (&self->mutex);

  if (!cardpin_device_token_store (self->server_url, user, token, expires, cancellable,
                                   error))
    return FALSE;

  cardpin_unblock_client_set_device_token (self, token);
  return TRUE;
}

/**
 * cardpin_unblock_client_load_device_token:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Loads the token remembered for this server and user from the Secret Service. Blocking.
 *
 * Returns: %TRUE when a token was found; %FALSE without error when none is stored
 */
gboolean
cardpin_unblock_client_load_device_token (CardpinUnblockClient  *self,
                                          GCancellable          *cancellable,
                                          GError               **error)
{
  g_autoptr(CardpinSecret) token = NULL;
  g_autofree char *user = NULL;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);

  g_mutex_lock (&self->mutex);
  user = g_strdup (self->user);
  g_mutex_unlock (&self->mutex);

  token = cardpin_device_token_lookup (self->server_url, user, cancellable, error);
  if (token == NULL)
    return FALSE;
  cardpin_unblock_client_set_device_token (self, token);
  return TRUE;
}

/**
 * cardpin_unblock_client_forget_device:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Revokes the device token at the service (DELETE /v1/devices/current) and removes it
 * from the Secret Service. A token the service no longer accepts is removed as well.
 * When the service cannot be reached the stored token is kept, so that forgetting can be
 * tried again. Blocking.
 *
 * Returns: whether the device is forgotten
 */
gboolean
cardpin_unblock_client_forget_device (CardpinUnblockClient  *self,
                                      GCancellable          *cancellable,
                                      GError               **error)
{
  g_autoptr(CardpinUnblockReply) reply = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *user = NULL;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);

  g_mutex_lock (&self->mutex);
  user = g_strdup (self->user);
  g_mutex_unlock (&self->mutex);

  if (!cardpin_unblock_client_has_device_token (self) &&
      !cardpin_unblock_client_load_device_token (self, cancellable, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                     _("This device is not remembered for %s at %s: there is nothing to "
                       "forget."), user, self->server_url);
      return FALSE;
    }

  reply = call (self, "DELETE", "v1/devices/current", NULL, TRUE, cancellable, &local_error);
  if (reply == NULL && !g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (reply != NULL)
    set_request_id (self, cardpin_unblock_reply_dup_request_id (reply));

  cardpin_unblock_client_set_device_token (self, NULL);
  return cardpin_device_token_clear (self->server_url, user, cancellable, error);
}

/* remember/forget/load in a worker thread: both are HTTP plus D-Bus, nothing touches a token */
typedef gboolean (*DeviceFunc) (CardpinUnblockClient *self,
                                GCancellable         *cancellable,
                                GError              **error);

static void
device_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  DeviceFunc func = (DeviceFunc) (gsize) task_data;  /* never freed */
  GError *error = NULL;
  gboolean ok = func (source_object, cancellable, &error);

  /* load may answer FALSE without an error: nothing stored */
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, ok);
}

static void
run_device_task (CardpinUnblockClient *self,
                 DeviceFunc            func,
                 gpointer              source_tag,
                 GCancellable         *cancellable,
                 GAsyncReadyCallback   callback,
                 gpointer              user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, (gpointer) (gsize) func, NULL);
  g_task_run_in_thread (task, device_thread);
}

void
cardpin_unblock_client_remember_device_async (CardpinUnblockClient *self,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data)
{
  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));
  run_device_task (self, cardpin_unblock_client_remember_device,
                   cardpin_unblock_client_remember_device_async, cancellable, callback,
                   user_data);
}

gboolean
cardpin_unblock_client_remember_device_finish (CardpinUnblockClient  *self,
                                               GAsyncResult          *result,
                                               GError               **error)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_unblock_client_remember_device_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
cardpin_unblock_client_forget_device_async (CardpinUnblockClient *self,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data)
{
  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));
  run_device_task (self, cardpin_unblock_client_forget_device,
                   cardpin_unblock_client_forget_device_async, cancellable, callback,
                   user_data);
}

gboolean
cardpin_unblock_client_forget_device_finish (CardpinUnblockClient  *self,
                                             GAsyncResult          *result,
                                             GError               **error)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_unblock_client_forget_device_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cardpin_unblock_client_load_device_token_async:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: closure
 *
 * Asynchronous cardpin_unblock_client_load_device_token().
 */
void
cardpin_unblock_client_load_device_token_async (CardpinUnblockClient *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data)
{
  g_return_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self));
  run_device_task (self, cardpin_unblock_client_load_device_token,
                   cardpin_unblock_client_load_device_token_async, cancellable, callback,
                   user_data);
}

/**
 * cardpin_unblock_client_load_device_token_finish:
 *
 * Returns: %TRUE when a token was found; %FALSE without error when none is stored
 */
gboolean
cardpin_unblock_client_load_device_token_finish (CardpinUnblockClient  *self,
                                                 GAsyncResult          *result,
                                                 GError               **error)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_unblock_client_load_device_token_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
