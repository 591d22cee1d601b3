/* cardpin-unblockd.c — the online unblock service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib/gi18n-lib.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "cardpin-master-key.h"
#include "cardpin-pam-auth.h"
#include "cardpin-store.h"
#include "cardpin-unblockd-request.h"
#include "cardpin-unblockd.h"

/**
 * CardpinUnblockd:
 *
 * The HTTPS service of DESIGN.md "Online unblock protocol". TLS and HTTP run in
 * `threads` listener threads, each with its own main context and SoupServer, all
 * accepting on the listen address (SO_REUSEPORT: the kernel spreads the connections);
 * the main thread only waits for SIGTERM. Every request that needs PAM, the token or the
 * database is paused and handled in a worker thread (PAM modules sleep after a failure;
 * the database may wait for a lock), then answered from its listener thread. One audit
 * record per request to /v1/unblock/ and /v1/devices is committed before its answer is
 * sent.
 *
 * A grant (response, PUK) does not hold its worker while it is committed: the worker
 * queues it in the store's group commit and takes the next request; the store's commit
 * thread finishes the jobs of a commit together, and each listener thread answers all
 * its finished jobs on one wakeup (measured with tests/bench/bench-unblockd.sh: every
 * wakeup of a thread costs about as much as the rest of the request's own work).
 */
typedef struct _Listener Listener;

struct _CardpinUnblockd
{
  CardpinServerConfig *config;
  CardpinMasterKey    *master_key;
  CardpinStore        *store;
  GTlsCertificate     *certificate;
  GPtrArray           *listeners;     /* of Listener */
  GMainLoop           *loop;          /* the main thread's: signals */
  GThreadPool         *workers;
  GThreadPool         *token_thread;  /* every call of the master key's token */
  gint                 in_flight;     /* atomic */
  gint                 stopping;      /* atomic */
  guint                signal_sources[2];
  guint                stop_poll;
  gint64               stop_deadline; /* monotonic: SIGTERM + STOP_GRACE_SECONDS */
};

/* A listener thread: its main context, its SoupServer on its own listening socket, and
 * the jobs finished for it */
struct _Listener
{
  CardpinUnblockd     *service;
  GMainContext        *context;
  GMainLoop           *loop;
  GThread             *thread;
  SoupServer          *server;
  GHashTable          *idle;          /* GSocket of a kept-alive connection -> its timer */
  GMutex               done_lock;
  GQueue               done;          /* of Job, finished, for this thread to answer */
  gint                 done_pending;  /* atomic; set under done_lock: done is not empty */
  GSource             *done_source;   /* ready when done_pending */
};

typedef enum {
  ROUTE_NONE,           /* not ours: 404, not audited */
  ROUTE_HEALTH,
  ROUTE_RESPONSE,
  ROUTE_PUK,
  ROUTE_DEVICE_ISSUE,
  ROUTE_DEVICE_REVOKE,
  ROUTE_AUDITED_OTHER,  /* under /v1/unblock/ or /v1/devices, but no such endpoint */
} Route;

/* What the soup side keeps per request */
typedef struct {
  char      *request_id;
  Listener  *listener;
  GSource   *deadline;
  gboolean   timed_out;
  gboolean   disconnected;   /* soup dropped the connection (shutdown, client gone) */
  gboolean   sending;        /* its answer counts in in_flight until soup is done with it */
} RequestState;

/* One request handed to a worker thread, and its answer */
typedef struct {
  CardpinUnblockd     *service;
  Listener            *listener;      /* answers it */
  SoupServerMessage   *msg;
  Route                route;
  char                *request_id;
  char                *http_method;
  char                *path;
  char                *remote;
  CardpinUnblockdAuth  auth;
  char                *basic_user;
  CardpinSecret       *credential;
  GBytes              *body;

  /* the answer */
  guint                status;
  GBytes              *answer;
  guint                retry_after;
  gboolean             ask_credentials;
  const char          *allow;
  char                *user;          /* authenticated (or claimed) user, for audit and log */
  char                *serial;
  char                *challenge_sha256;
  const char          *outcome;

  /* a grant in the store's commit: what to answer when it is granted */
  const char          *grant_name;
  CardpinSecret       *grant_secret;
  CardpinAuditRecord   grant_audit;
  CardpinUnblockdResponseRequest response_request;   /* a response's, parsed */
  gboolean             for_token;       /* authenticated and parsed: the token's turn */
  gboolean             no_wait;         /* in a listener thread (fast path) or the token
                                         * thread: must not wait for a commit */
  gboolean             audit_pending;   /* refused where no write may wait: a worker
                                         * writes its audit record, then finishes it */
} Job;

/* Threads that handle requests (PAM, token, database). More than the cores: a request
 * there mostly waits (for PAM; on PostgreSQL for the server's answer to a read), and
 * more requests in flight make bigger group commits (measured with
 * tests/bench/bench-unblockd.sh). They live as long as the service: a pool that ends idle
 * threads would start new ones for every burst of requests. */
#define WORKERS_SQLITE     8
#define WORKERS_POSTGRESQL 16

/* how long a stop waits for the answers in progress to be written */
#define STOP_GRACE_SECONDS 10

/* RFC 6585; libsoup 3.2 has no name for it */
#define STATUS_TOO_MANY_REQUESTS 429

static GQuark request_state_quark;

/* Helpers */

static RequestState *
request_state (SoupServerMessage *msg)
{
  return g_object_get_qdata (G_OBJECT (msg), request_state_quark);
}

static const char *
route_method (Route route)
{
  switch (route)
    {
    case ROUTE_RESPONSE:
      return "response";
    case ROUTE_PUK:
      return "puk";
    case ROUTE_DEVICE_ISSUE:
      return "device-issue";
    case ROUTE_DEVICE_REVOKE:
      return "device-revoke";
    case ROUTE_HEALTH:
      return "health";
    case ROUTE_AUDITED_OTHER:
    case ROUTE_NONE:
    default:
      return "unknown";
    }
}

static gboolean
path_is_audited (const char *path)
{
  return g_str_has_prefix (path, "/v1/unblock/") || strcmp (path, "/v1/unblock") == 0 ||
         strcmp (path, "/v1/devices") == 0 || g_str_has_prefix (path, "/v1/devices/");
}

/* The route of @path, and the method it takes (for 405) */
static Route
route_for (const char  *path,
           const char **allowed)
{
  static const struct {
    const char *path;
    const char *method;
    Route       route;
  } routes[] = {
    { "/v1/health", "GET", ROUTE_HEALTH },
    { "/v1/unblock/response", "POST", ROUTE_RESPONSE },
    { "/v1/unblock/puk", "POST", ROUTE_PUK },
    { "/v1/devices", "POST", ROUTE_DEVICE_ISSUE },
    { "/v1/devices/current", "DELETE", ROUTE_DEVICE_REVOKE },
  };

  *allowed = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    if (strcmp (path, routes[i].path) == 0)
      {
        *allowed = routes[i].method;
        return routes[i].route;
      }
  return path_is_audited (path) ? ROUTE_AUDITED_OTHER : ROUTE_NONE;
}

static GBytes *
json_answer (const char *request_id,
             const char *first_name,
             ...) G_GNUC_NULL_TERMINATED;

/* {"name": "value", …, "request_id": "…"}; none of the values is a secret */
static GBytes *
json_answer (const char *request_id,
             const char *first_name,
             ...)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  const char *name;
  va_list args;
  char *text;
  gsize length;

  json_builder_begin_object (builder);
  va_start (args, first_name);
  for (name = first_name; name != NULL; name = va_arg (args, const char *))
    {
      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, va_arg (args, const char *));
    }
  va_end (args);
  json_builder_set_member_name (builder, "request_id");
  json_builder_add_string_value (builder, request_id);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  return g_bytes_new_take (text, length);
}

static void
secret_bytes_free (gpointer data)
{
  cardpin_secret_unref (data);
}

/* {"<name>": "<secret>", ["expires": "…",] "request_id": "…"} built in locked memory; the
 * GBytes wipes it when soup is done with it */
static GBytes *
secret_answer (const char          *name,
               const CardpinSecret *value,
               const char          *expires,
               const char          *request_id)
{
  g_autofree char *tail = expires != NULL
    ? g_strdup_printf ("\",\"expires\":\"%s\",\"request_id\":\"%s\"}", expires, request_id)
    : g_strdup_printf ("\",\"request_id\":\"%s\"}", request_id);
  g_autofree char *head = g_strdup_printf ("{\"%s\":\"", name);
  gsize length = strlen (head) + cardpin_secret_get_length (value) + strlen (tail);
  CardpinSecret *text = cardpin_secret_new_sized (length);
  guint8 *out = cardpin_secret_get_mutable_data (text);

  memcpy (out, head, strlen (head));
  out += strlen (head);
  memcpy (out, cardpin_secret_get_data (value), cardpin_secret_get_length (value));
  out += cardpin_secret_get_length (value);
  memcpy (out, tail, strlen (tail));
  return g_bytes_new_with_free_func (cardpin_secret_get_data (text), length, secret_bytes_free,
                                     text);
}

static void
job_refuse (Job        *job,
            guint       status,
            const char *outcome,
            const char *message)
{
  job->status = status;
  job->outcome = outcome;
  g_clear_pointer (&job->answer, g_bytes_unref);
  job->answer = json_answer (job->request_id, "error", outcome, "message", message, NULL);
}

static void
job_free (Job *job)
{
  g_clear_object (&job->msg);
  g_free (job->request_id);
  g_free (job->http_method);
  g_free (job->path);
  g_free (job->remote);
  g_free (job->basic_user);
  g_clear_pointer (&job->credential, cardpin_secret_unref);
  g_clear_pointer (&job->body, g_bytes_unref);
  g_clear_pointer (&job->answer, g_bytes_unref);
  g_clear_pointer (&job->grant_secret, cardpin_secret_unref);
  cardpin_unblockd_response_request_clear (&job->response_request);
  g_free (job->user);
  g_free (job->serial);
  g_free (job->challenge_sha256);
  g_free (job);
}

/* The job's audit record (pointing into the job) */
static CardpinAuditRecord
job_record (Job *job)
{
  return (CardpinAuditRecord) {
    .user = job->user,
    .method = (char *) route_method (job->route),
    .serial = job->serial,
    .challenge_sha256 = job->challenge_sha256,
    .outcome = (char *) job->outcome,
    .request_id = job->request_id,
  };
}

/* Appends the job's audit record (worker thread). On a database failure the answer
 * becomes 503: nothing is answered that was not audited. */
static void
job_audit (Job *job)
{
  g_autoptr(GError) error = NULL;
  CardpinAuditRecord record = job_record (job);

  if (!cardpin_store_audit_append (job->service->store, &record, &error))
    {
      g_warning ("request %s: cannot write the audit record: %s", job->request_id,
                 error->message);
      job_refuse (job, SOUP_STATUS_SERVICE_UNAVAILABLE, "error",
                  "the service cannot record the request; try again later");
    }
}

static void
store_failed (Job        *job,
              GError     *error)
{
  g_warning ("request %s: database: %s", job->request_id, error->message);
  job_refuse (job, SOUP_STATUS_SERVICE_UNAVAILABLE, "error",
              "the service's database failed; try again later");
}

static void
job_refuse_bad_token (Job *job)
{
  job_refuse (job, SOUP_STATUS_UNAUTHORIZED, "bad-token",
              "the device token is unknown, expired or revoked; sign in with your password");
}

/* Sets job->user; on refusal sets the answer (audited by the caller) and returns FALSE */
static gboolean
job_authenticate (Job      *job,
                  gboolean  bearer_allowed,
                  gboolean  basic_allowed)
{
  CardpinUnblockd *self = job->service;
  g_autoptr(GError) error = NULL;

  switch (job->auth)
    {
    case CARDPIN_UNBLOCKD_AUTH_NONE:
      job->ask_credentials = TRUE;
      job_refuse (job, SOUP_STATUS_UNAUTHORIZED, "no-credentials",
                  "sign in with your account password (HTTP Basic) or a device token");
      return FALSE;

    case CARDPIN_UNBLOCKD_AUTH_MALFORMED:
      job->ask_credentials = TRUE;
      job_refuse (job, SOUP_STATUS_UNAUTHORIZED, "bad-credentials",
                  "the Authorization header is malformed");
      return FALSE;

    case CARDPIN_UNBLOCKD_AUTH_BEARER:
      {
        char *user = NULL;

        if (!bearer_allowed)
          {
            job->ask_credentials = TRUE;
            job_refuse (job, SOUP_STATUS_UNAUTHORIZED, "password-required",
                        "this request needs the account password, not a device token");
            return FALSE;
          }
        if (!cardpin_store_token_check (self->store,
                                        cardpin_secret_as_string (job->credential), &user,
                                        &error))
          {
            store_failed (job, error);
            return FALSE;
          }
        if (user == NULL)
          {
            job_refuse_bad_token (job);
            return FALSE;
          }
        job->user = user;
        return TRUE;
      }

    case CARDPIN_UNBLOCKD_AUTH_BASIC:
      {
        guint retry_after = 0;
        CardpinPamResult result;

        job->user = g_strdup (job->basic_user);
        if (!basic_allowed)
          {
            job_refuse (job, SOUP_STATUS_UNAUTHORIZED, "token-required",
                        "this request needs the device token itself");
            return FALSE;
          }
        if (!cardpin_store_throttle_check (self->store, job->user, &retry_after, &error))
          {
            store_failed (job, error);
            return FALSE;
          }
        if (retry_after > 0)
          {
            job->retry_after = retry_after;
            job_refuse (job, STATUS_TOO_MANY_REQUESTS, "throttled",
                        "too many wrong passwords for this account; try again later");
            return FALSE;
          }

        result = cardpin_pam_check (self->config->pam_service, job->user, job->credential,
                                    job->remote, &error);
        /* the password is not needed any more */
        g_clear_pointer (&job->credential, cardpin_secret_unref);
        switch (result)
          {
          case CARDPIN_PAM_OK:
            if (!cardpin_store_throttle_reset (self->store, job->user, &error))
              {
                store_failed (job, error);
                return FALSE;
              }
            return TRUE;
          case CARDPIN_PAM_BAD_CREDENTIALS:
            if (!cardpin_store_throttle_failure (self->store, job->user, &error))
              {
                store_failed (job, error);
                return FALSE;
              }
            job->ask_credentials = TRUE;
            job_refuse (job, SOUP_STATUS_UNAUTHORIZED, "bad-password",
                        "wrong user name or password");
            return FALSE;
          case CARDPIN_PAM_ACCOUNT_REFUSED:
            job_refuse (job, SOUP_STATUS_FORBIDDEN, "account-refused",
                        "this account may not use the unblock service");
            return FALSE;
          case CARDPIN_PAM_FAILED:
          default:
            g_warning ("request %s: %s", job->request_id, error->message);
            job_refuse (job, SOUP_STATUS_SERVICE_UNAVAILABLE, "error",
                        "the service cannot check passwords now; try again later");
            return FALSE;
          }
      }

    default:
      g_assert_not_reached ();
    }
}

static void job_finish (Job *job);

/* The store's commit thread: the grant of @job is committed (or failed) */
static void
grant_done_cb (const GError *error,
               CardpinGrant  grant,
               guint         retry_after,
               const char   *user,
               gpointer      user_data)
{
  Job *job = user_data;

  if (job->user == NULL && user != NULL)
    job->user = g_strdup (user);   /* the device token's */

  if (error != NULL)
    {
      /* nothing counted, nothing audited: a worker audits the failure (a write of the
       * store cannot wait here, in its commit thread) */
      g_warning ("request %s: database: %s", job->request_id, error->message);
      job_refuse (job, SOUP_STATUS_SERVICE_UNAVAILABLE, "error",
                  "the service's database failed; try again later");
      job->audit_pending = TRUE;
      g_thread_pool_push (job->service->workers, job, NULL);
      return;
    }
  job->outcome = cardpin_grant_to_string (grant);
  switch (grant)
    {
    case CARDPIN_GRANT_GRANTED:
      job->status = SOUP_STATUS_OK;
      job->answer = secret_answer (job->grant_name, job->grant_secret, NULL, job->request_id);
      break;
    case CARDPIN_GRANT_QUOTA_CARD:
    case CARDPIN_GRANT_QUOTA_USER:
      job->retry_after = MAX (retry_after, 1);
      job_refuse (job, STATUS_TOO_MANY_REQUESTS, job->outcome,
                  "too many unblock requests today; try again later or call the helpdesk");
      job->outcome = cardpin_grant_to_string (grant);
      break;
    case CARDPIN_GRANT_BAD_TOKEN:
      job_refuse_bad_token (job);
      break;
    case CARDPIN_GRANT_UNKNOWN_CARD:
    case CARDPIN_GRANT_NOT_YOURS:
    case CARDPIN_GRANT_DISABLED:
    default:
      job_refuse (job, SOUP_STATUS_FORBIDDEN, job->outcome,
                  "this card is not unblocked for this account; call the helpdesk");
      job->outcome = cardpin_grant_to_string (grant);
      break;
    }
  g_clear_pointer (&job->grant_secret, cardpin_secret_unref);
  job_finish (job);
}

/* One transaction: inventory, quotas, count, audit, in the store's next group commit;
 * then the answer: {"<name>": @secret} when granted, else the refusal. The job is
 * finished by grant_done_cb(), not by the worker. */
static void
job_grant (Job                 *job,
           const char          *name,
           const CardpinSecret *secret)
{
  CardpinUnblockd *self = job->service;

  job->grant_audit = job_record (job);   /* the store sets its outcome */
  job->grant_name = name;
  job->grant_secret = cardpin_secret_ref ((CardpinSecret *) secret);
  if (job->auth == CARDPIN_UNBLOCKD_AUTH_BEARER)
    /* a device token: checked in the grant's transaction, with the others of its commit */
    cardpin_store_grant_token_async (self->store, job->serial,
                                     cardpin_secret_as_string (job->credential),
                                     self->config->quota_card_per_day,
                                     self->config->quota_user_per_day, &job->grant_audit,
                                     grant_done_cb, job);
  else
    cardpin_store_grant_async (self->store, job->serial, job->user,
                               self->config->quota_card_per_day,
                               self->config->quota_user_per_day, &job->grant_audit,
                               grant_done_cb, job);
}

/* A refused response or PUK request: its audit record. A listener thread must not wait
 * for a commit (its other connections would wait too), nor must the token thread (every
 * request waits for it): a worker writes it then. Returns TRUE when the job went to a
 * worker (it is not the caller's any more). */
static gboolean
job_audit_refusal (Job *job)
{
  if (job->no_wait)
    {
      job->audit_pending = TRUE;
      g_thread_pool_push (job->service->workers, job, NULL);
      return TRUE;
    }
  job_audit (job);
  return FALSE;
}

/* A response's or PUK's credentials, before its body: a password now, a device token
 * in its grant's transaction (job_grant()). On refusal as job_authenticate(). */
static gboolean
job_authenticate_grant (Job *job)
{
  return job->auth == CARDPIN_UNBLOCKD_AUTH_BEARER || job_authenticate (job, TRUE, TRUE);
}

/* A response or PUK request, authenticated and parsed, goes to the token thread: one
 * thread (`token-threads`) makes every call of the token (SoftHSM2 called from several
 * threads at once costs each call twice the CPU, or more, than from one:
 * tests/bench/bench-unblockd.sh; a network HSM that answers calls in parallel may use more).
 * The token thread computes the secret, queues the grant in the store's group commit and
 * takes the next job without waiting. Returns TRUE (the job is not the caller's any more). */
static gboolean
job_to_token (Job *job)
{
  job->for_token = TRUE;
  job->no_wait = TRUE;
  g_thread_pool_push (job->service->token_thread, job, NULL);
  return TRUE;
}

/* The key store failed (or the request asks for what it cannot do) */
static void
job_refuse_key_store (Job    *job,
                      GError *error)
{
  if (g_error_matches (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID))
    job_refuse (job, SOUP_STATUS_BAD_REQUEST, "unsupported", error->message);
  else
    {
      g_warning ("request %s: key store: %s", job->request_id, error->message);
      job_refuse (job, SOUP_STATUS_SERVICE_UNAVAILABLE, "error",
                  "the service's key store failed; try again later");
    }
}

/* POST /v1/unblock/response. First (a listener or a worker) the credentials and the
 * body, then (the token thread) the response and its grant. Returns TRUE when the job
 * went to the token thread, the store's commit or a worker (the job is not the caller's
 * any more), FALSE when it is answered as it is. */
static gboolean
handle_response (Job *job)
{
  CardpinUnblockd *self = job->service;
  CardpinUnblockdResponseRequest *request = &job->response_request;
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinSecret) response_hex = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *challenge;
  gsize challenge_length;

  if (!job->for_token)
    {
      if (!job_authenticate_grant (job))
        goto audit;
      if (!cardpin_unblockd_parse_response_request (g_bytes_get_data (job->body, NULL),
                                                    g_bytes_get_size (job->body), request,
                                                    &error))
        {
          job_refuse (job, SOUP_STATUS_BAD_REQUEST, "malformed", error->message);
          goto audit;
        }
      job->serial = g_strdup (request->serial);
      job->challenge_sha256 = cardpin_unblockd_sha256_hex (request->challenge);
      return job_to_token (job);
    }

  /* computed before the grant: a refusal of the token costs no quota */
  challenge = g_bytes_get_data (request->challenge, &challenge_length);
  response = cardpin_master_key_respond (self->master_key, request->serial,
                                         request->algorithm, challenge, challenge_length,
                                         &error);
  cardpin_unblockd_response_request_clear (request);
  if (response == NULL)
    {
      job_refuse_key_store (job, error);
      goto audit;
    }
  response_hex = cardpin_master_key_hex (response);
  job_grant (job, "response", response_hex);
  return TRUE;

audit:
  return job_audit_refusal (job);
}

/* POST /v1/unblock/puk: the card's PUK, derived from the master key in the token (it is
 * stored nowhere), under the same rules and in the same two steps as a response */
static gboolean
handle_puk (Job *job)
{
  CardpinUnblockd *self = job->service;
  g_autoptr(CardpinSecret) puk = NULL;
  g_autoptr(GError) error = NULL;

  if (!job->for_token)
    {
      if (!job_authenticate_grant (job))
        goto audit;
      job->serial = cardpin_unblockd_parse_puk_request (g_bytes_get_data (job->body, NULL),
                                                        g_bytes_get_size (job->body),
                                                        &error);
      if (job->serial == NULL)
        {
          job_refuse (job, SOUP_STATUS_BAD_REQUEST, "malformed", error->message);
          goto audit;
        }
      return job_to_token (job);
    }

  /* computed before the grant: a refusal of the token costs no quota */
  puk = cardpin_master_key_puk (self->master_key, job->serial, &error);
  if (puk == NULL)
    {
      job_refuse_key_store (job, error);
      goto audit;
    }
  job_grant (job, "puk", puk);
  return TRUE;

audit:
  return job_audit_refusal (job);
}

static void
handle_device_issue (Job *job)
{
  CardpinUnblockd *self = job->service;
  g_autoptr(CardpinSecret) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) expires = NULL;
  g_autofree char *expires_text = NULL;
  gint64 expires_unix = 0;

  if (!job_authenticate (job, FALSE, TRUE))
    {
      job_audit (job);
      return;
    }
  token = cardpin_store_token_issue (self->store, job->user,
                                     (gint64) CARDPIN_UNBLOCKD_DEVICE_DAYS * 24 * 3600,
                                     &expires_unix, &error);
  if (token == NULL)
    {
      store_failed (job, error);
      job_audit (job);
      return;
    }
  job->outcome = "issued";
  job_audit (job);
  if (job->status != 0)
    return;   /* not audited: the token is not handed out */

  expires = g_date_time_new_from_unix_utc (expires_unix);
  expires_text = g_date_time_format_iso8601 (expires);
  job->status = SOUP_STATUS_OK;
  job->answer = secret_answer ("token", token, expires_text, job->request_id);
}

static void
handle_device_revoke (Job *job)
{
  CardpinUnblockd *self = job->service;
  g_autoptr(GError) error = NULL;
  gboolean revoked = FALSE;

  if (job_authenticate (job, TRUE, FALSE))
    {
      if (!cardpin_store_token_revoke (self->store, cardpin_secret_as_string (job->credential),
                                       &revoked, &error))
        store_failed (job, error);
      else
        {
          job->status = SOUP_STATUS_OK;
          job->outcome = revoked ? "revoked" : "not-found";
          job->answer = json_answer (job->request_id, "status", job->outcome, NULL);
        }
    }
  job_audit (job);
}

/* Handles @job (a worker, its listener for the fast path, or the token thread); the
 * answer goes back to the listener thread through job_finish() */
static void
job_run (Job *job)
{
  if (job->audit_pending)
    {
      /* refused in a listener thread or the token thread, or the grant failed in the
       * store's commit thread. A device token refused before its grant (a malformed body,
       * a key store failure) is looked up now, so the record names its user. */
      if (job->user == NULL && job->auth == CARDPIN_UNBLOCKD_AUTH_BEARER &&
          job->credential != NULL)
        {
          g_autoptr(GError) error = NULL;

          if (!cardpin_store_token_check (job->service->store,
                                          cardpin_secret_as_string (job->credential),
                                          &job->user, &error))
            g_warning ("request %s: database: %s", job->request_id, error->message);
        }
      job_audit (job);
      job_finish (job);
      return;
    }
  switch (job->route)
    {
    case ROUTE_RESPONSE:
      if (handle_response (job))
        return;
      break;
    case ROUTE_PUK:
      if (handle_puk (job))
        return;
      break;
    case ROUTE_DEVICE_ISSUE:
      handle_device_issue (job);
      break;
    case ROUTE_DEVICE_REVOKE:
      handle_device_revoke (job);
      break;
    case ROUTE_AUDITED_OTHER:
    case ROUTE_HEALTH:
    case ROUTE_NONE:
    default:
      if (job->allow != NULL)
        job_refuse (job, SOUP_STATUS_METHOD_NOT_ALLOWED, "bad-method",
                    "this endpoint does not take that method");
      else
        job_refuse (job, SOUP_STATUS_NOT_FOUND, "no-endpoint", "no such endpoint");
      job_audit (job);
      break;
    }
  job_finish (job);
}

static void
job_thread (gpointer data,
            gpointer user_data)
{
  job_run (data);
}

/* Any thread: @job is answered; its listener thread answers it with the others finished
 * meanwhile, on one wakeup */
static void
job_finish (Job *job)
{
  Listener *listener = job->listener;
  gboolean wake;

  g_mutex_lock (&listener->done_lock);
  g_queue_push_tail (&listener->done, job);
  wake = !g_atomic_int_get (&listener->done_pending);
  g_atomic_int_set (&listener->done_pending, TRUE);
  g_mutex_unlock (&listener->done_lock);
  /* one wakeup for the answers finished until the listener takes them (a ready time
   * would cost a wakeup per job, and another as the listener clears it: GLib 2.74
   * signals the context on every change) */
  if (wake)
    g_main_context_wakeup (listener->context);
}

static void
log_answer (const char *request_id,
            const char *http_method,
            const char *path,
            const char *user,
            const char *serial,
            guint       status,
            const char *outcome)
{
  /* one line per request, at the info level (G_MESSAGES_DEBUG=all shows it), formatted
   * only when it is shown: the audit holds every request anyway, and formatting and
   * writing it cost as much as a tenth of the main thread's work per request
   * (tests/bench/bench-unblockd.sh). Never a password, token, response or PIN: only
   * names, serials and outcomes. */
  if (g_log_writer_default_would_drop (G_LOG_LEVEL_INFO, G_LOG_DOMAIN))
    return;
  g_info ("request %s: %s %.64s user=%s serial=%s status=%u outcome=%s", request_id,
             http_method, path, user != NULL ? user : "-", serial != NULL ? serial : "-",
             status, outcome != NULL ? outcome : "-");
}

static void
send_answer (SoupServerMessage *msg,
             guint              status,
             GBytes            *answer,
             guint              retry_after,
             gboolean           ask_credentials,
             const char        *allow)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  RequestState *state = request_state (msg);

  soup_server_message_set_status (msg, status, NULL);
  /* stopping: soup closes the connection once this answer is written */
  if (state != NULL && g_atomic_int_get (&state->listener->service->stopping))
    soup_message_headers_replace (headers, "Connection", "close");
  soup_message_headers_replace (headers, "Content-Type", "application/json");
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  if (retry_after > 0)
    {
      g_autofree char *value = g_strdup_printf ("%u", retry_after);

      soup_message_headers_replace (headers, "Retry-After", value);
    }
  if (ask_credentials)
    soup_message_headers_replace (headers, "WWW-Authenticate",
                                  "Basic realm=\"cardpin\", charset=\"UTF-8\"");
  if (allow != NULL && status == SOUP_STATUS_METHOD_NOT_ALLOWED)
    soup_message_headers_replace (headers, "Allow", allow);
  if (answer != NULL)
    soup_message_body_append_bytes (soup_server_message_get_response_body (msg), answer);
}

/* Listener thread: answers a finished job */
static void
job_answer (CardpinUnblockd *self,
            Job             *job)
{
  RequestState *state = request_state (job->msg);

  if (state->disconnected)
    {
      /* no one to answer any more; the audit record is written all the same */
      log_answer (job->request_id, job->http_method, job->path, job->user, job->serial,
                  job->status, "disconnected");
      return;
    }
  send_answer (job->msg, job->status, job->answer, job->retry_after, job->ask_credentials,
               job->allow);
  log_answer (job->request_id, job->http_method, job->path, job->user, job->serial,
              job->status, job->outcome);
  /* a stop waits until the answer is written (or the client gone), not just decided */
  state->sending = TRUE;
  g_atomic_int_inc (&self->in_flight);
  soup_server_message_unpause (job->msg);
}

/* The source of the answers finished for a listener: ready while done_pending */
typedef struct {
  GSource   source;
  Listener *listener;
} DoneSource;

static gboolean
done_prepare (GSource *source,
              gint    *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (&((DoneSource *) source)->listener->done_pending);
}

static gboolean
done_check (GSource *source)
{
  return g_atomic_int_get (&((DoneSource *) source)->listener->done_pending);
}

static gboolean
done_dispatch (GSource     *source,
               GSourceFunc  callback,
               gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs done_source_funcs = {
  .prepare = done_prepare,
  .check = done_check,
  .dispatch = done_dispatch,
};

/* Listener thread: every job finished for it since the last time */
static gboolean
done_cb (gpointer user_data)
{
  Listener *listener = user_data;
  GQueue done = G_QUEUE_INIT;
  Job *job;

  g_mutex_lock (&listener->done_lock);
  g_atomic_int_set (&listener->done_pending, FALSE);
  done = listener->done;
  g_queue_init (&listener->done);
  g_mutex_unlock (&listener->done_lock);

  while ((job = g_queue_pop_head (&done)) != NULL)
    {
      job_answer (listener->service, job);
      job_free (job);
      g_atomic_int_dec_and_test (&listener->service->in_flight);
    }
  return G_SOURCE_CONTINUE;
}

/* Soup callbacks (in the listener thread of the server) */

/* A timer in @listener's context (g_timeout_add_seconds() would use the main thread's) */
static GSource *
timer_new (Listener    *listener,
           guint        seconds,
           GSourceFunc  func,
           gpointer     data)
{
  GSource *source = g_timeout_source_new_seconds (seconds);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, listener->context);
  return source;
}

static void
timer_clear (GSource **timer)
{
  if (*timer != NULL)
    {
      g_source_destroy (*timer);
      g_clear_pointer (timer, g_source_unref);
    }
}

/* Listener thread: soup is done with the answer (written, or the client gone) */
static void
request_state_sent (RequestState *state)
{
  if (state->sending)
    {
      state->sending = FALSE;
      g_atomic_int_dec_and_test (&state->listener->service->in_flight);
    }
}

static void
request_state_free (gpointer data)
{
  RequestState *state = data;

  request_state_sent (state);
  timer_clear (&state->deadline);
  g_free (state->request_id);
  g_free (state);
}

/* Ends a connection soup is waiting on: shutdown(2) wakes a TLS handshake that a thread
 * of the TLS backend waits for (a mere close would leave that thread polling, and the
 * client connected), and closing the descriptor makes soup's own pending read fail, so
 * soup drops the connection (a mere shutdown was seen to leave soup waiting) */
static void
hang_up (GSocket *socket)
{
  if (socket == NULL || g_socket_is_closed (socket))
    return;
  g_socket_shutdown (socket, TRUE, TRUE, NULL);
  g_socket_close (socket, NULL);
}

static gboolean
deadline_cb (gpointer data)
{
  SoupServerMessage *msg = data;
  RequestState *state = request_state (msg);
  CardpinUnblockd *self = state->listener->service;
  GSocket *socket = soup_server_message_get_socket (msg);

  g_clear_pointer (&state->deadline, g_source_unref);   /* removed as this returns */
  state->timed_out = TRUE;
  g_message ("request %s: no complete request within %u s; disconnected",
             state->request_id, self->config->request_timeout);
  hang_up (socket);
  return G_SOURCE_REMOVE;
}

static void
got_body_cb (SoupServerMessage *msg,
             gpointer           user_data)
{
  RequestState *state = request_state (msg);

  if (state != NULL)
    timer_clear (&state->deadline);
}

/* A kept-alive connection sent no new request within idle-timeout: closed */
static gboolean
idle_cb (gpointer data)
{
  GSocket *socket = data;
  Listener *listener = g_object_get_data (G_OBJECT (socket), "cardpin-unblockd");
  gpointer timer = NULL;

  g_debug ("a kept-alive connection was idle for %u s; closed",
           listener->service->config->idle_timeout);
  hang_up (socket);
  g_hash_table_steal_extended (listener->idle, socket, NULL, &timer);
  g_source_unref (timer);   /* removed as this returns */
  g_object_unref (socket);
  return G_SOURCE_REMOVE;
}

static void
idle_stop (Listener *listener,
           GSocket  *socket)
{
  gpointer timer;

  if (socket != NULL && g_hash_table_steal_extended (listener->idle, socket, NULL, &timer))
    {
      GSource *source = timer;

      timer_clear (&source);
      g_object_unref (socket);
    }
}

/* Every kept-alive connection waiting for its next request: closed, its timer gone */
static void
idle_close_all (Listener *listener)
{
  GHashTableIter iter;
  gpointer socket, timer;

  g_hash_table_iter_init (&iter, listener->idle);
  while (g_hash_table_iter_next (&iter, &socket, &timer))
    {
      GSource *source = timer;

      hang_up (socket);
      timer_clear (&source);
      g_object_unref (socket);
      g_hash_table_iter_remove (&iter);
    }
}

/* An answer went out: the connection, if kept alive, may now wait idle-timeout for its
 * next request (soup announces that request only once its first bytes arrive; the
 * request deadline then takes over) */
static void
request_finished_cb (SoupServer        *server,
                     SoupServerMessage *msg,
                     gpointer           user_data)
{
  Listener *listener = user_data;
  CardpinUnblockd *self = listener->service;
  GSocket *socket = soup_server_message_get_socket (msg);
  GSource *timer;

  if (socket == NULL || g_socket_is_closed (socket) || g_atomic_int_get (&self->stopping))
    return;
  idle_stop (listener, socket);
  g_object_set_data (G_OBJECT (socket), "cardpin-unblockd", listener);
  timer = timer_new (listener, self->config->idle_timeout, idle_cb, socket);
  g_hash_table_insert (listener->idle, g_object_ref (socket), timer);
}

static void
disconnected_cb (SoupServerMessage *msg,
                 gpointer           user_data)
{
  RequestState *state = request_state (msg);

  if (state != NULL)
    {
      state->disconnected = TRUE;
      request_state_sent (state);
    }
}

static void
finished_cb (SoupServerMessage *msg,
             gpointer           user_data)
{
  RequestState *state = request_state (msg);

  if (state != NULL)
    request_state_sent (state);
}

static void
request_started_cb (SoupServer        *server,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  Listener *listener = user_data;
  RequestState *state = g_new0 (RequestState, 1);

  /* the next request of a kept-alive connection: no longer idle */
  idle_stop (listener, soup_server_message_get_socket (msg));
  state->request_id = g_uuid_string_random ();
  state->listener = listener;
  state->deadline = timer_new (listener, listener->service->config->request_timeout,
                               deadline_cb, msg);
  g_object_set_qdata_full (G_OBJECT (msg), request_state_quark, state, request_state_free);
  g_signal_connect (msg, "got-body", G_CALLBACK (got_body_cb), NULL);
  g_signal_connect (msg, "disconnected", G_CALLBACK (disconnected_cb), NULL);
  g_signal_connect (msg, "finished", G_CALLBACK (finished_cb), NULL);
  /* no g_socket_set_timeout(): libsoup 3.2 leaves a connection whose read timed out open
   * and unread (the client then waits for ever); the deadline closes it instead */
}

/* A refusal decided in the listener thread (before the body is read); audited there. */
static void
refuse_now (CardpinUnblockd   *self,
            SoupServerMessage *msg,
            const char        *path,
            guint              status,
            const char        *outcome,
            const char        *message)
{
  const char *request_id = request_state (msg)->request_id;
  const char *allowed = NULL;
  Route route = route_for (path, &allowed);
  g_autoptr(GBytes) answer = json_answer (request_id, "error", outcome, "message", message,
                                          NULL);

  if (route != ROUTE_NONE && route != ROUTE_HEALTH)
    {
      g_autoptr(GError) error = NULL;
      CardpinAuditRecord record = {
        .method = (char *) route_method (route),
        .outcome = (char *) outcome,
        .request_id = (char *) request_id,
      };

      if (!cardpin_store_audit_append (self->store, &record, &error))
        {
          g_warning ("request %s: cannot write the audit record: %s", request_id,
                     error->message);
          g_clear_pointer (&answer, g_bytes_unref);
          answer = json_answer (request_id, "error", "error", "message",
                                "the service cannot record the request; try again later",
                                NULL);
          status = SOUP_STATUS_SERVICE_UNAVAILABLE;
        }
    }
  send_answer (msg, status, answer, 0, FALSE, NULL);
  log_answer (request_id, soup_server_message_get_method (msg), path, NULL, NULL, status,
              outcome);
}

/* After the headers, before the body: bound the body */
static void
early_handler_cb (SoupServer        *server,
                  SoupServerMessage *msg,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  CardpinUnblockd *self = ((Listener *) user_data)->service;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  if (request_state (msg)->timed_out)
    soup_server_message_set_status (msg, SOUP_STATUS_REQUEST_TIMEOUT, NULL);
  else if (encoding == SOUP_ENCODING_CHUNKED || encoding == SOUP_ENCODING_EOF)
    refuse_now (self, msg, path, SOUP_STATUS_LENGTH_REQUIRED, "malformed",
                "send the body with a Content-Length");
  else if (encoding == SOUP_ENCODING_CONTENT_LENGTH &&
           soup_message_headers_get_content_length (headers) > CARDPIN_UNBLOCKD_MAX_BODY)
    refuse_now (self, msg, path, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too-large",
                "the request body is too large");
}

static void
handler_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  Listener *listener = user_data;
  CardpinUnblockd *self = listener->service;
  const char *request_id = request_state (msg)->request_id;
  const char *http_method = soup_server_message_get_method (msg);
  const char *allowed = NULL;
  SoupMessageBody *body;
  Route route;
  Job *job;

  /* cut off by the deadline: never completely received, not a request */
  if (request_state (msg)->timed_out)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_REQUEST_TIMEOUT, NULL);
      return;
    }

  route = route_for (path, &allowed);
  if (route == ROUTE_NONE || (route == ROUTE_HEALTH && strcmp (http_method, "GET") == 0))
    {
      g_autoptr(GBytes) answer = NULL;
      guint status = route == ROUTE_HEALTH ? SOUP_STATUS_OK : SOUP_STATUS_NOT_FOUND;

      answer = route == ROUTE_HEALTH
        ? json_answer (request_id, "status", "ok", NULL)
        : json_answer (request_id, "error", "no-endpoint", "message", "no such endpoint",
                       NULL);
      send_answer (msg, status, answer, 0, FALSE, NULL);
      return;
    }
  if (route == ROUTE_HEALTH)
    {
      g_autoptr(GBytes) answer = json_answer (request_id, "error", "bad-method", "message",
                                              "use GET", NULL);

      send_answer (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, answer, 0, FALSE, "GET");
      return;
    }
  if (g_atomic_int_get (&self->stopping))
    {
      refuse_now (self, msg, path, SOUP_STATUS_SERVICE_UNAVAILABLE, "stopping",
                  "the service is stopping; try again");
      return;
    }

  job = g_new0 (Job, 1);
  job->service = self;
  job->listener = listener;
  job->msg = g_object_ref (msg);
  job->route = route;
  job->request_id = g_strdup (request_id);
  job->http_method = g_strdup (http_method);
  job->path = g_strdup (path);
  job->remote = g_strdup (soup_server_message_get_remote_host (msg));
  if (allowed != NULL && strcmp (allowed, http_method) != 0)
    {
      job->route = ROUTE_AUDITED_OTHER;
      job->allow = allowed;
    }
  job->auth = cardpin_unblockd_parse_authorization (
      soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                    "Authorization"),
      &job->basic_user, &job->credential);
  body = soup_server_message_get_request_body (msg);
  job->body = soup_message_body_flatten (body);

  g_atomic_int_inc (&self->in_flight);
  soup_server_message_pause (msg);
  /* the fast path: a response or PUK for a device token neither sleeps (PAM) nor waits
   * for the database (its token is checked in its grant's transaction), so its listener
   * thread parses it and hands it to the token thread, saving a worker's two thread
   * switches and, on PostgreSQL, a round trip per request (bench-unblockd); a refusal's
   * audit goes to a worker */
  if (job->auth == CARDPIN_UNBLOCKD_AUTH_BEARER && job->allow == NULL &&
      (job->route == ROUTE_RESPONSE || job->route == ROUTE_PUK))
    {
      job->no_wait = TRUE;
      job_run (job);
    }
  else
    g_thread_pool_push (self->workers, job, NULL);
}

/* Listener thread: no new connections; kept-alive connections waiting for their next
 * request are closed. Requests in progress are answered (with "Connection: close"), and
 * one whose headers already came is refused with 503 "stopping": no client is cut off
 * in the middle of an answer it is owed. */
static gboolean
listener_stop_cb (gpointer user_data)
{
  Listener *listener = user_data;
  GSList *sockets = soup_server_get_listeners (listener->server);

  /* soup's accept source then sees the socket closed and goes */
  for (GSList *l = sockets; l != NULL; l = l->next)
    g_socket_close (l->data, NULL);
  g_slist_free (sockets);
  idle_close_all (listener);
  return G_SOURCE_REMOVE;
}

/* Main thread: the requests in progress are answered (or their clients gone), or the
 * grace period is over */
static gboolean
stop_poll_cb (gpointer user_data)
{
  CardpinUnblockd *self = user_data;
  gint in_flight = g_atomic_int_get (&self->in_flight);

  if (in_flight != 0 && g_get_monotonic_time () < self->stop_deadline)
    return G_SOURCE_CONTINUE;
  if (in_flight != 0)
    g_warning ("stopping without %d answer(s): their clients did not take them within %u s",
               in_flight, STOP_GRACE_SECONDS);
  self->stop_poll = 0;
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_cb (gpointer user_data)
{
  CardpinUnblockd *self = user_data;

  if (!g_atomic_int_get (&self->stopping))
    {
      g_message ("stopping: %d request(s) in progress", g_atomic_int_get (&self->in_flight));
      g_atomic_int_set (&self->stopping, TRUE);
      for (guint i = 0; i < self->listeners->len; i++)
        {
          Listener *listener = g_ptr_array_index (self->listeners, i);

          g_main_context_invoke (listener->context, listener_stop_cb, listener);
        }
      self->stop_deadline = g_get_monotonic_time () + STOP_GRACE_SECONDS * G_TIME_SPAN_SECOND;
      self->stop_poll = g_timeout_add (20, stop_poll_cb, self);
    }
  return G_SOURCE_CONTINUE;
}

static gpointer
listener_thread (gpointer data)
{
  Listener *listener = data;

  g_main_context_push_thread_default (listener->context);
  g_main_loop_run (listener->loop);
  g_main_context_pop_thread_default (listener->context);
  return NULL;
}

/* A listener: its context, loop and server (not listening yet, no thread yet) */
static Listener *
listener_new (CardpinUnblockd *self)
{
  Listener *listener = g_new0 (Listener, 1);

  listener->service = self;
  listener->context = g_main_context_new ();
  listener->loop = g_main_loop_new (listener->context, FALSE);
  listener->idle = g_hash_table_new (NULL, NULL);
  g_mutex_init (&listener->done_lock);
  g_queue_init (&listener->done);
  listener->done_source = g_source_new (&done_source_funcs, sizeof (DoneSource));
  ((DoneSource *) listener->done_source)->listener = listener;
  g_source_set_callback (listener->done_source, done_cb, listener, NULL);
  g_source_set_name (listener->done_source, "cardpin-unblockd answers");
  g_source_attach (listener->done_source, listener->context);

  g_main_context_push_thread_default (listener->context);
  listener->server = soup_server_new ("tls-certificate", self->certificate,
                                      "server-header", "cardpin-unblockd",
                                      NULL);
  g_main_context_pop_thread_default (listener->context);
  soup_server_add_early_handler (listener->server, NULL, early_handler_cb, listener, NULL);
  soup_server_add_handler (listener->server, NULL, handler_cb, listener, NULL);
  g_signal_connect (listener->server, "request-started", G_CALLBACK (request_started_cb),
                    listener);
  g_signal_connect (listener->server, "request-finished", G_CALLBACK (request_finished_cb),
                    listener);
  return listener;
}

/* After its thread ended (or never started) */
static void
listener_free (Listener *listener)
{
  if (listener->thread != NULL)
    {
      g_main_loop_quit (listener->loop);
      g_thread_join (listener->thread);
    }
  idle_close_all (listener);
  g_hash_table_unref (listener->idle);
  g_main_context_push_thread_default (listener->context);
  soup_server_disconnect (listener->server);
  g_clear_object (&listener->server);
  g_main_context_pop_thread_default (listener->context);
  g_source_destroy (listener->done_source);
  g_source_unref (listener->done_source);
  g_mutex_clear (&listener->done_lock);
  g_main_loop_unref (listener->loop);
  g_main_context_unref (listener->context);
  g_free (listener);
}

/* A listening socket on @address that others of this process may share (SO_REUSEPORT:
 * the kernel spreads new connections over them) */
static GSocket *
listen_socket (GSocketAddress  *address,
               gboolean         shared,
               GError         **error)
{
  g_autoptr(GSocket) socket = g_socket_new (g_socket_address_get_family (address),
                                            G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                            error);
  GInetAddress *host = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  struct sockaddr_storage native;
  gsize length = g_socket_address_get_native_size (address);

  if (socket == NULL)
    return NULL;
  /* "*": every address, IPv4 (mapped) as well as IPv6, whatever the system's default */
  if (g_inet_address_get_family (host) == G_SOCKET_FAMILY_IPV6 &&
      g_inet_address_get_is_any (host) &&
      !g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, 0, error))
    return NULL;
  if (!g_socket_set_option (socket, SOL_SOCKET, SO_REUSEADDR, 1, error) ||
      (shared && !g_socket_set_option (socket, SOL_SOCKET, SO_REUSEPORT, 1, error)) ||
      !g_socket_address_to_native (address, &native, sizeof native, error))
    return NULL;
  /* bind(2) itself: g_socket_bind() turns SO_REUSEPORT off for TCP */
  if (bind (g_socket_get_fd (socket), (struct sockaddr *) &native, length) != 0)
    {
      int saved = errno;
      g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Error binding to address %s: %s"), text, g_strerror (saved));
      return NULL;
    }
  if (shared && !g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

/* Public API */

/**
 * cardpin_unblockd_new:
 * @config: (transfer full): the configuration
 * @error: return location
 *
 * Opens the database (creating or migrating its schema), the master key in its token
 * and the TLS certificate. Nothing listens yet.
 *
 * Returns: (transfer full): the service, or %NULL with an error that says what to fix
 */
CardpinUnblockd *
cardpin_unblockd_new (CardpinServerConfig  *config,
                      GError              **error)
{
  g_autoptr(CardpinUnblockd) self = g_new0 (CardpinUnblockd, 1);
  g_autoptr(GError) local_error = NULL;

  if (request_state_quark == 0)
    request_state_quark = g_quark_from_static_string ("cardpin-unblockd-request");

  self->config = config;
  self->listeners = g_ptr_array_new ();
  self->certificate = g_tls_certificate_new_from_files (config->tls_certificate,
                                                        config->tls_key, &local_error);
  if (self->certificate == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot load the TLS certificate %s with the key %s: %s. Both must be "
                     "PEM files; the key unencrypted (PKCS#8)."),
                   config->tls_certificate, config->tls_key, local_error->message);
      return NULL;
    }

  self->master_key = cardpin_master_key_open_from_keyfile (config->keyfile, error);
  if (self->master_key == NULL)
    return NULL;
  if (!cardpin_master_key_exists (self->master_key, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_NO_KEY,
                     _("The token holds no master key labelled “%s”. Create it with "
                       "“cardpin-helpdesk --config %s master-key create”."),
                     cardpin_master_key_get_label (self->master_key), config->path);
      return NULL;
    }

  self->store = cardpin_store_open (config->database, error);
  if (self->store == NULL)
    return NULL;

  self->loop = g_main_loop_new (NULL, FALSE);
  self->token_thread = g_thread_pool_new (job_thread, NULL, (gint) config->token_threads,
                                          TRUE, error);
  if (self->token_thread == NULL)
    return NULL;
  self->workers = g_thread_pool_new (job_thread, NULL,
                                     g_str_equal (cardpin_store_get_backend (self->store),
                                                  "postgresql") ? WORKERS_POSTGRESQL
                                                                : WORKERS_SQLITE,
                                     TRUE, error);
  if (self->workers == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cardpin_unblockd_run:
 * @self: the service
 * @error: return location
 *
 * Listens on `listen` (HTTPS only) in `threads` listener threads and serves until
 * SIGTERM or SIGINT; then stops listening, finishes the requests in progress and returns
 * %TRUE.
 *
 * Returns: %FALSE when it cannot listen
 */
gboolean
cardpin_unblockd_run (CardpinUnblockd  *self,
                      GError          **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GError) local_error = NULL;

  if (strcmp (self->config->listen_host, "*") == 0)
    address = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  else
    address = g_inet_address_new_from_string (self->config->listen_host);
  socket_address = g_inet_socket_address_new (address, self->config->listen_port);

  /* the address is free (no other process listens there: SO_REUSEPORT would share it
   * with one of the same user without a word), then one listening socket per thread */
  probe = listen_socket (socket_address, FALSE, &local_error);
  if (probe != NULL)
    g_socket_close (probe, NULL);
  for (guint i = 0; probe != NULL && i < self->config->threads; i++)
    {
      Listener *listener = listener_new (self);
      g_autoptr(GSocket) socket = NULL;

      g_ptr_array_add (self->listeners, listener);
      socket = listen_socket (socket_address, TRUE, &local_error);
      g_main_context_push_thread_default (listener->context);
      if (socket == NULL ||
          !soup_server_listen_socket (listener->server, socket, SOUP_SERVER_LISTEN_HTTPS,
                                      &local_error))
        g_clear_object (&probe);
      g_main_context_pop_thread_default (listener->context);
    }
  if (probe == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot listen on %s:%u: %s. Check “listen” in %s."),
                   self->config->listen_host, self->config->listen_port,
                   local_error->message, self->config->path);
      return FALSE;
    }

  self->signal_sources[0] = g_unix_signal_add (SIGTERM, stop_cb, self);
  self->signal_sources[1] = g_unix_signal_add (SIGINT, stop_cb, self);
  for (guint i = 0; i < self->listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (self->listeners, i);

      listener->thread = g_thread_new ("cardpin-https", listener_thread, listener);
    }
  g_message ("listening on https://%s:%u/ (database: %s, %u threads)",
             self->config->listen_host, self->config->listen_port,
             cardpin_store_get_backend (self->store), self->listeners->len);
  g_main_loop_run (self->loop);
  g_message ("stopped");
  return TRUE;
}

void
cardpin_unblockd_free (CardpinUnblockd *self)
{
  if (self == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  /* GLib gave SIGTERM and SIGINT their default action back: a repeated signal must not
   * cut the clean-up of a stop short (the process would end by the signal, not exit 0) */
  if (g_atomic_int_get (&self->stopping))
    {
      signal (SIGTERM, SIG_IGN);
      signal (SIGINT, SIG_IGN);
    }
  g_clear_handle_id (&self->stop_poll, g_source_remove);
  /* a job still in progress keeps its listener, store and key: leave them to the
   * process's exit */
  if (self->listeners != NULL && g_atomic_int_get (&self->in_flight) == 0)
    for (guint i = 0; i < self->listeners->len; i++)
      listener_free (g_ptr_array_index (self->listeners, i));
  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  if (self->workers != NULL && g_atomic_int_get (&self->in_flight) == 0)
    g_thread_pool_free (self->workers, FALSE, TRUE);
  if (self->token_thread != NULL && g_atomic_int_get (&self->in_flight) == 0)
    g_thread_pool_free (self->token_thread, FALSE, TRUE);
  if (g_atomic_int_get (&self->in_flight) == 0)
    {
      g_clear_pointer (&self->store, cardpin_store_free);
      g_clear_pointer (&self->master_key, cardpin_master_key_free);
    }
  g_clear_object (&self->certificate);
  cardpin_server_config_free (self->config);
  g_free (self);
}
