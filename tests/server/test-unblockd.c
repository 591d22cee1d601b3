/* test-unblockd.c — cardpin-unblockd on the real stack: TLS with a test CA made by openssl
 * at test time, the master key in SoftHSM2, accounts through PAM (pam_wrapper +
 * pam_matrix), the store on SQLite — or on a private PostgreSQL server when run under
 * tests/server/pg-private.sh (CARDPIN_TEST_PG_URI).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "cardpin-master-key.h"
#include "cardpin-test-stack.h"
#include "cardpin-store.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* canaries: none may ever appear in the service's log, database or audit */
#define ALICE_PASSWORD "canary-Pw-a11ce7"
#define BOB_PASSWORD   "canary-Pw-b0b0b1"
#define CAROL_PASSWORD "canary-Pw-ca401e"
#define WRONG_PASSWORD "canary-Wrong-9e2f"

/* the master key, imported so that openssl can check the responses */
#define MASTER_KEY     "8f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define CHALLENGE      "00112233445566778899AABBCCDDEEFF"

#define SERIAL_ALICE   "C0FFEE00000000000000000000000A11"
#define SERIAL_BOB     "C0FFEE00000000000000000000000B0B"
#define SERIAL_QUOTA   "C0FFEE0000000000000000000000A0A0"
#define SERIAL_OFF     "C0FFEE0000000000000000000000DEAD"
#define SERIAL_RACE    "C0FFEE0000000000000000000000FACE"
#define SERIAL_PUK     "C0FFEE00000000000000000000000B11"
#define QUOTA_CARD     3
#define REQUEST_TIMEOUT 2
#define IDLE_TIMEOUT   2

typedef struct {
  char        *dir;
  char        *database;
  char        *config;
  char        *log;
  guint16      port;
  GSubprocess *service;
  GSubprocess *second;          /* another instance on the same database */
  guint16      second_port;
  SoupSession *session;
  GPtrArray   *canaries;
  GPtrArray   *request_ids;     /* of every audited request the test made */
} World;

/* The PAM service, one name per test process: pam_wrapper copies every process's PAM
 * services to a /tmp/pam.X it picks racily (lstat() then mkdir()), so two tests running
 * at once can share one; with one name, one test's copy would replace the other's */
static char pam_service[64];

static World world;
G_LOCK_DEFINE_STATIC (world);

typedef struct {
  guint  status;
  char  *body;
  char  *retry_after;
  char  *www_authenticate;
  char  *request_id;
  char  *value;                 /* "response", "puk" or "token" */
} Reply;

static void
reply_free (Reply *reply)
{
  g_free (reply->body);
  g_free (reply->retry_after);
  g_free (reply->www_authenticate);
  g_free (reply->request_id);
  g_free (reply->value);
  g_free (reply);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

/* Helpers */

static char *
in_dir (const char *name)
{
  return g_build_filename (world.dir, name, NULL);
}

/* Runs a shell command in the test directory; returns its stdout */
static char *
sh (const char *command)
{
  return cardpin_test_sh (world.dir, command);
}

static char *
basic (const char *user,
       const char *password)
{
  g_autofree char *plain = g_strdup_printf ("%s:%s", user, password);
  g_autofree char *encoded = g_base64_encode ((const guchar *) plain, strlen (plain));

  return g_strdup_printf ("Basic %s", encoded);
}

static char *
bearer (const char *token)
{
  return g_strdup_printf ("Bearer %s", token);
}

static Reply *
call_port (SoupSession *session,
           guint16      port,
           const char  *method,
           const char  *path,
           const char  *authorization,
           const char  *body,
           gssize       body_length)
{
  g_autofree char *url = g_strdup_printf ("https://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  SoupMessageHeaders *headers;
  Reply *reply = g_new0 (Reply, 1);

  if (authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  authorization);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, body_length < 0 ? strlen (body)
                                                                   : (gsize) body_length);

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  answer = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);

  headers = soup_message_get_response_headers (msg);
  reply->status = soup_message_get_status (msg);
  reply->body = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  reply->retry_after = g_strdup (soup_message_headers_get_one (headers, "Retry-After"));
  reply->www_authenticate = g_strdup (soup_message_headers_get_one (headers,
                                                                    "WWW-Authenticate"));
  if (json_parser_load_from_data (parser, reply->body, -1, NULL) &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *object = json_node_get_object (json_parser_get_root (parser));

      reply->request_id = g_strdup (json_object_get_string_member_with_default (object,
                                                                                "request_id",
                                                                                NULL));
      reply->value = g_strdup (json_object_get_string_member_with_default (
          object,
          json_object_has_member (object, "token") ? "token"
          : json_object_has_member (object, "puk") ? "puk" : "response", NULL));
    }
  /* every answer carries its request id */
  g_assert_nonnull (reply->request_id);
  G_LOCK (world);   /* threads call too (stop-in-flight) */
  if (g_str_has_prefix (path, "/v1/unblock") || g_str_has_prefix (path, "/v1/devices"))
    g_ptr_array_add (world.request_ids, g_strdup (reply->request_id));
  if (reply->value != NULL)
    g_ptr_array_add (world.canaries, g_strdup (reply->value));
  G_UNLOCK (world);
  return reply;
}

static Reply *
call (const char *method,
      const char *path,
      const char *authorization,
      const char *body)
{
  return call_port (world.session, world.port, method, path, authorization, body, -1);
}

static char *
response_body (const char *serial)
{
  return g_strdup_printf ("{\"serial\": \"%s\", \"challenge\": \"%s\", \"algorithm\": "
                          "\"aes128\"}", serial, CHALLENGE);
}

static Reply *
ask_response (const char *user,
              const char *password,
              const char *serial)
{
  g_autofree char *auth = basic (user, password);
  g_autofree char *body = response_body (serial);

  return call ("POST", "/v1/unblock/response", auth, body);
}

static SoupSession *
session_new (void)
{
  g_autofree char *ca = in_dir ("ca.pem");
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) database = g_tls_file_database_new (ca, &error);
  SoupSession *session = soup_session_new ();

  g_assert_no_error (error);
  soup_session_set_tls_database (session, database);
  soup_session_set_timeout (session, 20);
  return session;
}

static GPtrArray *
audit_list (void)
{
  g_autoptr(CardpinStore) store = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *records;

  store = cardpin_store_open (world.database, &error);
  g_assert_no_error (error);
  records = cardpin_store_audit_list (store, &error);
  g_assert_no_error (error);
  return records;
}

static CardpinAuditRecord *
audit_find (GPtrArray  *records,
            const char *request_id)
{
  CardpinAuditRecord *found = NULL;

  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, i);

      if (g_strcmp0 (record->request_id, request_id) == 0)
        {
          g_assert_null (found);    /* one record per request */
          found = record;
        }
    }
  g_assert_nonnull (found);
  return found;
}

/* openssl: AES-128-ECB(AES-128-ECB(master, SHA-256(prefix || serial)[0..15]), challenge) */
static char *
openssl_response (const char *serial)
{
  g_autofree char *command =
    g_strdup_printf ("k=$(printf '%%s' 'cardpin-admin-key-v1%s' | openssl dgst -sha256 -binary"
                     " | head -c 16 | openssl enc -aes-128-ecb -nopad -K %s | od -An -tx1"
                     " | tr -d ' \\n');"
                     "printf '%s' | xxd -r -p | openssl enc -aes-128-ecb -nopad -K $k"
                     " | od -An -tx1 | tr -d ' \\n' | tr a-f A-F", serial, MASTER_KEY,
                     CHALLENGE);

  return sh (command);
}

/* The world */

static void
make_pki (void)
{
  g_free (sh ("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
              "  -keyout ca.key -out ca.pem -days 2 -subj '/CN=cardpin test CA'"
              "  -addext basicConstraints=critical,CA:TRUE"
              "  -addext keyUsage=critical,keyCertSign 2>/dev/null;"
              "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > srv.ext;"
              "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key"
              "  -out srv.csr -subj /CN=127.0.0.1 2>/dev/null;"
              "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
              "  -days 2 -extfile srv.ext -out srv.pem 2>/dev/null;"
              "openssl pkcs8 -topk8 -nocrypt -in srv.key -out srv-pkcs8.key"));
}

static void
make_softhsm (void)
{
  g_autofree char *tokens = in_dir ("tokens");
  g_autofree char *conf_path = in_dir ("softhsm2.conf");
  g_autofree char *conf = g_strdup_printf ("directories.tokendir = %s\n"
                                           "objectstore.backend = file\nlog.level = ERROR\n",
                                           tokens);
  g_autofree char *pin_file = in_dir ("token-pin");
  g_autoptr(CardpinMasterKey) key = NULL;
  g_autoptr(CardpinSecret) value = cardpin_secret_new_from_string (MASTER_KEY);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (tokens, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
  g_setenv ("SOFTHSM2_CONF", conf_path, TRUE);
  g_free (sh ("softhsm2-util --init-token --free --label cardpin-test --so-pin 10293847"
              " --pin 56473829 >/dev/null; printf '56473829\\n' > token-pin;"
              "chmod 600 token-pin"));

  key = cardpin_master_key_open (MODULE, "cardpin-test", pin_file, "cardpin-master", &error);
  g_assert_no_error (error);
  g_assert_true (cardpin_master_key_import (key, value, &error));
  g_assert_no_error (error);
}

static void
make_pam (void)
{
  g_autofree char *services = in_dir ("pam.d");
  g_autofree char *passdb = in_dir ("passdb");
  g_autofree char *service = NULL;
  g_autofree char *service_path = NULL;
  g_autofree char *users = NULL;

  g_assert_cmpint (g_mkdir (services, 0700), ==, 0);
  service = g_strdup_printf ("auth required %s passdb=%s\naccount required %s passdb=%s\n",
                             PAM_MATRIX_PATH, passdb, PAM_MATRIX_PATH, passdb);
  service_path = g_build_filename (services, pam_service, NULL);
  g_assert_true (g_file_set_contents (service_path, service, -1, NULL));
  users = g_strdup_printf ("alice:%s:%s\nbob:%s:%s\ncarol:%s:%s\n",
                           ALICE_PASSWORD, pam_service, BOB_PASSWORD, pam_service,
                           CAROL_PASSWORD, pam_service);
  g_assert_true (g_file_set_contents (passdb, users, -1, NULL));
}

/* @threads: the listener threads (more than the processors: several share the port
 * even on a small machine) */
static char *
config_text (guint16 port,
             guint   threads)
{
  return g_strdup_printf ("[service]\n"
                          "listen=127.0.0.1:%u\n"
                          "tls-certificate=%s/srv.pem\n"
                          "tls-key=%s/srv-pkcs8.key\n"
                          "database=%s\n"
                          "pkcs11-module=" MODULE "\n"
                          "token-label=cardpin-test\n"
                          "token-pin-file=%s/token-pin\n"
                          "master-key-label=cardpin-master\n"
                          "pam-service=%s\n"
                          "quota-card-per-day=%u\n"
                          "quota-user-per-day=100\n"
                          "request-timeout=%u\n"
                          "idle-timeout=%u\n"
                          "threads=%u\n",
                          port, world.dir, world.dir, world.database, world.dir, pam_service, QUOTA_CARD,
                          REQUEST_TIMEOUT, IDLE_TIMEOUT, threads);
}

static void
make_inventory (void)
{
  g_autoptr(CardpinStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *cards[][2] = {
    { SERIAL_ALICE, "alice" }, { SERIAL_BOB, "bob" }, { SERIAL_QUOTA, "alice" },
    { SERIAL_OFF, "alice" }, { SERIAL_RACE, "alice" }, { SERIAL_PUK, "alice" },
  };

  store = cardpin_store_open (world.database, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (cards); i++)
    {
      g_assert_true (cardpin_store_card_add (store, cards[i][0], cards[i][1], &error));
      g_assert_no_error (error);
    }
  g_assert_true (cardpin_store_card_disable (store, SERIAL_OFF, &error));
  g_assert_no_error (error);
}

static gboolean
healthy (guint16 port)
{
  g_autofree char *url = g_strdup_printf ("https://127.0.0.1:%u/v1/health", port);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GBytes) answer = soup_session_send_and_read (world.session, msg, NULL, NULL);

  return answer != NULL && soup_message_get_status (msg) == SOUP_STATUS_OK;
}

/* The service with the PAM services of @pam_dir (in the test directory) */
static GSubprocess *
spawn_service_pam (const char *config,
                   const char *log,
                   guint16     port,
                   const char *pam_dir)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *services = in_dir (pam_dir);
  GSubprocess *service;
  gint64 deadline;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", PAM_WRAPPER_PATH, TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER_SERVICE_DIR", services, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  /* every request's log line (info level), for the canary check */
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "all", TRUE);
  service = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CARDPIN_UNBLOCKD"),
                                         "--config", config, NULL);
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  while (!healthy (port))
    {
      if (g_subprocess_get_identifier (service) == NULL || g_get_monotonic_time () > deadline)
        {
          g_autofree char *text = NULL;

          g_file_get_contents (log, &text, NULL, NULL);
          g_error ("cardpin-unblockd did not start: %s", text);
        }
      g_usleep (50 * 1000);
    }
  return service;
}

static GSubprocess *
spawn_service (const char *config,
               const char *log,
               guint16     port)
{
  return spawn_service_pam (config, log, port, "pam.d");
}

/* SIGTERM: exit 0 within seconds */
static void
wait_service (GSubprocess **service,
              const char   *log,
              gint64        start);

static void
stop_service (GSubprocess **service,
              const char   *log)
{
  gint64 start = g_get_monotonic_time ();

  g_subprocess_send_signal (*service, SIGTERM);
  wait_service (service, log, start);
}

/* The service that was sent SIGTERM at @start exits 0 within seconds */
static void
wait_service (GSubprocess **service,
              const char   *log,
              gint64        start)
{
  g_assert_true (g_subprocess_wait (*service, NULL, NULL));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_TIME_SPAN_SECOND);
  if (!g_subprocess_get_if_exited (*service))
    {
      g_autofree char *text = NULL;

      g_file_get_contents (log, &text, NULL, NULL);
      g_error ("cardpin-unblockd ended by signal %d on SIGTERM; its log:\n%s",
               g_subprocess_get_term_sig (*service), text);
    }
  g_assert_cmpint (g_subprocess_get_exit_status (*service), ==, 0);
  g_clear_object (service);
}

static void
world_setup (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  world.canaries = g_ptr_array_new_with_free_func (g_free);
  world.request_ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (world.canaries, g_strdup (ALICE_PASSWORD));
  g_ptr_array_add (world.canaries, g_strdup (BOB_PASSWORD));
  g_ptr_array_add (world.canaries, g_strdup (CAROL_PASSWORD));
  g_ptr_array_add (world.canaries, g_strdup (WRONG_PASSWORD));

  world.dir = g_dir_make_tmp ("cardpin-unblockd-XXXXXX", &error);
  g_assert_no_error (error);
  if (g_getenv ("CARDPIN_TEST_PG_URI") != NULL)
    world.database = g_strdup (g_getenv ("CARDPIN_TEST_PG_URI"));
  else
    world.database = in_dir ("unblock.sqlite");

  make_pki ();
  make_softhsm ();
  make_pam ();
  make_inventory ();

  world.port = cardpin_test_free_port ();
  world.config = in_dir ("unblockd.conf");
  text = config_text (world.port, 3);
  g_assert_true (g_file_set_contents (world.config, text, -1, NULL));
  world.log = in_dir ("unblockd.log");
  world.session = session_new ();
  world.service = spawn_service (world.config, world.log, world.port);
}

static void
world_teardown (void)
{
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", world.dir);

  if (world.service != NULL)
    stop_service (&world.service, world.log);
  if (world.second != NULL)
    {
      g_autofree char *second_log = in_dir ("second.log");

      stop_service (&world.second, second_log);
    }
  g_clear_object (&world.session);
  g_free (sh (rm));
  g_free (world.dir);
  g_free (world.database);
  g_free (world.config);
  g_free (world.log);
  g_ptr_array_unref (world.canaries);
  g_ptr_array_unref (world.request_ids);
}

/* Tests */

static void
test_health (void)
{
  g_autoptr(Reply) reply = call ("GET", "/v1/health", NULL, NULL);
  g_autoptr(Reply) missing = call ("GET", "/nothing", NULL, NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpuint (missing->status, ==, 404);
}

static void
test_response (void)
{
  g_autoptr(Reply) reply = ask_response ("alice", ALICE_PASSWORD, SERIAL_ALICE);
  g_autofree char *expected = openssl_response (SERIAL_ALICE);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GBytes) challenge = NULL;
  g_autofree guint8 *raw = g_new0 (guint8, 16);
  g_autofree char *challenge_sha = NULL;
  CardpinAuditRecord *record;

  g_assert_cmpuint (reply->status, ==, 200);
  /* equal to what openssl computes from the same master key and serial */
  g_assert_cmpstr (reply->value, ==, expected);

  /* its audit record, committed before the answer */
  for (guint i = 0; i < 16; i++)
    raw[i] = (guint8) (g_ascii_xdigit_value (CHALLENGE[2 * i]) << 4 |
                       g_ascii_xdigit_value (CHALLENGE[2 * i + 1]));
  challenge = g_bytes_new (raw, 16);
  challenge_sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, challenge);
  records = audit_list ();
  record = audit_find (records, reply->request_id);
  g_assert_cmpstr (record->user, ==, "alice");
  g_assert_cmpstr (record->method, ==, "response");
  g_assert_cmpstr (record->serial, ==, SERIAL_ALICE);
  g_assert_cmpstr (record->challenge_sha256, ==, challenge_sha);
  g_assert_cmpstr (record->outcome, ==, "granted");
  g_assert_cmpint (record->time, >, 0);
}

static void
test_wrong_password (void)
{
  g_autoptr(Reply) wrong = ask_response ("alice", WRONG_PASSWORD, SERIAL_ALICE);
  g_autoptr(Reply) unknown = ask_response ("mallory", WRONG_PASSWORD, SERIAL_ALICE);
  g_autoptr(Reply) none = call ("POST", "/v1/unblock/response", NULL, "{}");
  g_autoptr(Reply) garbage = call ("POST", "/v1/unblock/response", "Basic !!!!", "{}");
  g_autoptr(GPtrArray) records = NULL;

  g_assert_cmpuint (wrong->status, ==, 401);
  g_assert_nonnull (wrong->www_authenticate);
  g_assert_null (wrong->value);
  g_assert_cmpuint (unknown->status, ==, 401);
  g_assert_cmpuint (none->status, ==, 401);
  g_assert_cmpuint (garbage->status, ==, 401);

  records = audit_list ();
  g_assert_cmpstr (audit_find (records, wrong->request_id)->outcome, ==, "bad-password");
  g_assert_cmpstr (audit_find (records, wrong->request_id)->user, ==, "alice");
  g_assert_cmpstr (audit_find (records, none->request_id)->outcome, ==, "no-credentials");
}

static void
test_denied (void)
{
  const char *serials[] = { SERIAL_BOB, SERIAL_OFF, "C0FFEE000000000000000000DEADBEEF" };
  const char *outcomes[] = { "not-yours", "disabled", "unknown-card" };
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GPtrArray) replies = g_ptr_array_new_with_free_func ((GDestroyNotify) reply_free);

  for (gsize i = 0; i < G_N_ELEMENTS (serials); i++)
    {
      Reply *reply = ask_response ("alice", ALICE_PASSWORD, serials[i]);

      g_assert_cmpuint (reply->status, ==, 403);
      g_assert_null (reply->value);
      g_ptr_array_add (replies, reply);
    }
  records = audit_list ();
  for (gsize i = 0; i < G_N_ELEMENTS (serials); i++)
    {
      Reply *reply = g_ptr_array_index (replies, i);

      g_assert_cmpstr (audit_find (records, reply->request_id)->outcome, ==, outcomes[i]);
    }
}

static void
test_quota (void)
{
  g_autoptr(Reply) over = NULL;
  guint64 wait = 0;

  for (guint i = 0; i < QUOTA_CARD; i++)
    {
      g_autoptr(Reply) reply = ask_response ("alice", ALICE_PASSWORD, SERIAL_QUOTA);

      g_assert_cmpuint (reply->status, ==, 200);
    }
  over = ask_response ("alice", ALICE_PASSWORD, SERIAL_QUOTA);
  g_assert_cmpuint (over->status, ==, 429);
  g_assert_null (over->value);
  g_assert_nonnull (over->retry_after);
  g_assert_true (g_ascii_string_to_unsigned (over->retry_after, 10, 1, 86400, &wait, NULL));
}

static void
test_throttle (void)
{
  g_autoptr(Reply) right = NULL;
  g_autoptr(Reply) throttled = NULL;
  g_autoptr(Reply) others = NULL;
  guint64 wait = 0;

  /* one wrong password never throttles */
  {
    g_autoptr(Reply) wrong = ask_response ("carol", WRONG_PASSWORD, SERIAL_ALICE);
    g_autoptr(Reply) after = ask_response ("carol", CAROL_PASSWORD, SERIAL_ALICE);

    g_assert_cmpuint (wrong->status, ==, 401);
    g_assert_cmpuint (after->status, ==, 403);    /* signed in: not her card */
  }

  for (guint i = 0; i < CARDPIN_STORE_THROTTLE_FAILURES; i++)
    {
      g_autoptr(Reply) wrong = ask_response ("carol", WRONG_PASSWORD, SERIAL_ALICE);

      g_assert_cmpuint (wrong->status, ==, 401);
    }
  /* now even the right password waits */
  right = ask_response ("carol", CAROL_PASSWORD, SERIAL_ALICE);
  g_assert_cmpuint (right->status, ==, 429);
  g_assert_true (g_ascii_string_to_unsigned (right->retry_after, 10, 1,
                                             CARDPIN_STORE_THROTTLE_WINDOW, &wait, NULL));
  throttled = ask_response ("carol", WRONG_PASSWORD, SERIAL_ALICE);
  g_assert_cmpuint (throttled->status, ==, 429);
  /* other accounts are not affected */
  others = ask_response ("alice", ALICE_PASSWORD, SERIAL_BOB);
  g_assert_cmpuint (others->status, ==, 403);
}

static void
test_malformed (void)
{
  g_autofree char *auth = basic ("alice", ALICE_PASSWORD);
  const char *bodies[] = {
    "",
    "{",
    "[]",
    "\"text\"",
    "{\"challenge\": \"" CHALLENGE "\", \"algorithm\": \"aes128\"}",
    "{\"serial\": \"" SERIAL_ALICE "\", \"algorithm\": \"aes128\"}",
    "{\"serial\": \"" SERIAL_ALICE "\", \"challenge\": \"" CHALLENGE "\"}",
    "{\"serial\": \"" SERIAL_ALICE "\", \"challenge\": \"" CHALLENGE "\", \"algorithm\": \"rsa\"}",
    "{\"serial\": \"" SERIAL_ALICE "\", \"challenge\": \"0011\", \"algorithm\": \"aes128\"}",
    "{\"serial\": \"" SERIAL_ALICE "\", \"challenge\": \"zz112233445566778899AABBCCDDEEFF\","
      " \"algorithm\": \"aes128\"}",
    "{\"serial\": 42, \"challenge\": \"" CHALLENGE "\", \"algorithm\": \"aes128\"}",
    "{\"serial\": \"with space\", \"challenge\": \"" CHALLENGE "\", \"algorithm\": \"aes128\"}",
  };
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(Reply) reply = call ("POST", "/v1/unblock/response", auth, bodies[i]);

      if (reply->status != 400)
        g_error ("body %s: status %u: %s", bodies[i], reply->status, reply->body);
      g_ptr_array_add (ids, g_strdup (reply->request_id));
    }
  /* 3DES cards: K_card as a two-key 3DES key (K1 K2 K1), equal to openssl's des-ede */
  {
    g_autofree char *bob = basic ("bob", BOB_PASSWORD);
    g_autofree char *command =
      g_strdup_printf ("k=$(printf '%%s' 'cardpin-admin-key-v1%s' | openssl dgst -sha256"
                       " -binary | head -c 16 | openssl enc -aes-128-ecb -nopad -K %s"
                       " | od -An -tx1 | tr -d ' \\n');"
                       "printf 0011223344556677 | xxd -r -p | openssl enc -des-ede-ecb -nopad"
                       " -K $k | od -An -tx1 | tr -d ' \\n' | tr a-f A-F", SERIAL_BOB,
                       MASTER_KEY);
    g_autofree char *expected = sh (command);
    g_autoptr(Reply) reply = call ("POST", "/v1/unblock/response", bob,
                                   "{\"serial\": \"" SERIAL_BOB "\", \"challenge\": "
                                   "\"0011223344556677\", \"algorithm\": \"3des\"}");

    if (reply->status != 200)
      g_error ("3des: %u %s", reply->status, reply->body);
    g_assert_cmpstr (reply->value, ==, expected);
  }
  records = audit_list ();
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpstr (audit_find (records, g_ptr_array_index (ids, i))->outcome, ==,
                     "malformed");
}

static void
test_too_large (void)
{
  g_autofree char *auth = basic ("alice", ALICE_PASSWORD);
  g_autofree char *big = g_strnfill (5000, ' ');
  g_autoptr(Reply) reply = call ("POST", "/v1/unblock/response", auth, big);
  g_autoptr(Reply) fine = ask_response ("alice", ALICE_PASSWORD, SERIAL_ALICE);
  g_autoptr(GPtrArray) records = NULL;

  g_assert_cmpuint (reply->status, ==, 413);
  g_assert_cmpuint (fine->status, ==, 200);
  records = audit_list ();
  g_assert_cmpstr (audit_find (records, reply->request_id)->outcome, ==, "too-large");
}

static void
test_endpoints (void)
{
  g_autofree char *auth = basic ("alice", ALICE_PASSWORD);
  g_autoptr(Reply) get = call ("GET", "/v1/unblock/response", auth, NULL);
  g_autoptr(Reply) get_puk = call ("GET", "/v1/unblock/puk", auth, NULL);
  g_autoptr(Reply) other = call ("POST", "/v1/unblock/other", auth, "{}");
  g_autoptr(GPtrArray) records = audit_list ();

  g_assert_cmpuint (get->status, ==, 405);
  g_assert_cmpuint (get_puk->status, ==, 405);
  g_assert_cmpuint (other->status, ==, 404);
  audit_find (records, get->request_id);
  audit_find (records, get_puk->request_id);
  audit_find (records, other->request_id);
}

static Reply *
ask_puk (const char *authorization,
         const char *serial)
{
  g_autofree char *body = g_strdup_printf ("{\"serial\": \"%s\"}", serial);

  return call ("POST", "/v1/unblock/puk", authorization, body);
}

/* openssl: B = AES-128-ECB(master, SHA-256("cardpin-puk-v1" || serial)[0..15]); the PUK
 * is B's first 8 bytes, big-endian, modulo 10^8, as 8 digits */
static char *
openssl_puk (const char *serial)
{
  g_autofree char *command =
    g_strdup_printf ("printf '%%s' 'cardpin-puk-v1%s' | openssl dgst -sha256 -binary"
                     " | head -c 16 | openssl enc -aes-128-ecb -nopad -K %s | od -An -tx1"
                     " | tr -d ' \\n' | head -c 16", serial, MASTER_KEY);
  g_autofree char *block = sh (command);
  guint64 value = g_ascii_strtoull (block, NULL, 16);

  g_assert_cmpuint (strlen (block), ==, 16);
  return g_strdup_printf ("%08" G_GUINT64_FORMAT, value % G_GUINT64_CONSTANT (100000000));
}

/* POST /v1/unblock/puk: the card's PUK, derived from the master key, under the rules of
 * a response: authentication, inventory, quota, audit */
static void
test_puk (void)
{
  g_autofree char *alice = basic ("alice", ALICE_PASSWORD);
  g_autofree char *expected = openssl_puk (SERIAL_PUK);
  g_autofree char *command = g_strdup_printf ("'%s' --config '%s' export-puk %s",
                                              g_getenv ("CARDPIN_HELPDESK"), world.config,
                                              SERIAL_PUK);
  g_autofree char *exported = NULL;
  g_autoptr(Reply) granted = ask_puk (alice, SERIAL_PUK);
  g_autofree char *wrong_auth = basic ("alice", WRONG_PASSWORD);
  g_autoptr(Reply) wrong = ask_puk (wrong_auth, SERIAL_PUK);
  g_autoptr(Reply) none = ask_puk (NULL, SERIAL_PUK);
  g_autoptr(Reply) not_yours = ask_puk (alice, SERIAL_BOB);
  g_autoptr(Reply) disabled = ask_puk (alice, SERIAL_OFF);
  g_autoptr(Reply) malformed = call ("POST", "/v1/unblock/puk", alice, "{\"serial\": 7}");
  g_autoptr(Reply) over = NULL;
  g_autoptr(GPtrArray) records = NULL;
  CardpinAuditRecord *record;
  guint64 wait = 0;

  /* 8 digits, equal to openssl's and to the helpdesk tool's */
  g_assert_cmpuint (granted->status, ==, 200);
  g_assert_cmpstr (granted->value, ==, expected);
  exported = sh (command);
  g_assert_cmpstr (exported, ==, expected);
  g_assert_cmpuint (strspn (granted->value, "0123456789"), ==, 8);
  g_assert_cmpuint (strlen (granted->value), ==, 8);

  g_assert_cmpuint (wrong->status, ==, 401);
  g_assert_null (wrong->value);
  g_assert_nonnull (wrong->www_authenticate);
  g_assert_cmpuint (none->status, ==, 401);
  g_assert_cmpuint (not_yours->status, ==, 403);
  g_assert_null (not_yours->value);
  g_assert_cmpuint (disabled->status, ==, 403);
  g_assert_cmpuint (malformed->status, ==, 400);

  /* the quota: the card's grants of this day (responses and PUKs alike) */
  for (guint i = 1; i < QUOTA_CARD; i++)
    {
      g_autoptr(Reply) again = ask_puk (alice, SERIAL_PUK);

      g_assert_cmpuint (again->status, ==, 200);
      g_assert_cmpstr (again->value, ==, expected);
    }
  over = ask_puk (alice, SERIAL_PUK);
  g_assert_cmpuint (over->status, ==, 429);
  g_assert_null (over->value);
  g_assert_true (g_ascii_string_to_unsigned (over->retry_after, 10, 1, 86400, &wait, NULL));

  /* one audit record each, method "puk"; the export is the helpdesk's */
  records = audit_list ();
  record = audit_find (records, granted->request_id);
  g_assert_cmpstr (record->method, ==, "puk");
  g_assert_cmpstr (record->user, ==, "alice");
  g_assert_cmpstr (record->serial, ==, SERIAL_PUK);
  g_assert_cmpstr (record->outcome, ==, "granted");
  g_assert_null (record->challenge_sha256);
  g_assert_cmpstr (audit_find (records, wrong->request_id)->outcome, ==, "bad-password");
  g_assert_cmpstr (audit_find (records, wrong->request_id)->method, ==, "puk");
  g_assert_cmpstr (audit_find (records, none->request_id)->outcome, ==, "no-credentials");
  g_assert_cmpstr (audit_find (records, not_yours->request_id)->outcome, ==, "not-yours");
  g_assert_cmpstr (audit_find (records, disabled->request_id)->outcome, ==, "disabled");
  g_assert_cmpstr (audit_find (records, malformed->request_id)->outcome, ==, "malformed");
  g_assert_cmpstr (audit_find (records, over->request_id)->outcome, ==, "quota-card");
  g_assert_cmpstr (audit_find (records, over->request_id)->method, ==, "puk");
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *r = g_ptr_array_index (records, i);

      if (g_strcmp0 (r->method, "export-puk") == 0)
        {
          g_assert_cmpstr (r->serial, ==, SERIAL_PUK);
          g_assert_cmpstr (r->outcome, ==, "granted");
          /* the audit holds this run's requests one to one: this one too */
          g_ptr_array_add (world.request_ids, g_strdup (r->request_id));
        }
    }
}

static void
test_plain_http (void)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  const char *request = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  char buffer[256] = { 0 };
  gssize n;
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", world.port, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 10);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                            request, strlen (request), NULL, NULL, &error));
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), buffer,
                           sizeof buffer - 1, NULL, NULL);
  /* closed, reset, or a TLS alert: never an HTTP answer */
  g_assert_null (strstr (buffer, "HTTP/"));
  g_assert_cmpint (n, <, 20);

  /* TLS 1.1 is refused, TLS 1.2 is served */
  command = g_strdup_printf ("for v in tls1_1 tls1_2; do echo \"== $v\";"
                             " openssl s_client -connect 127.0.0.1:%u -$v"
                             " -cipher 'DEFAULT@SECLEVEL=0' -CAfile ca.pem </dev/null 2>&1"
                             " | grep -E 'Cipher is' || true; done", world.port);
  out = sh (command);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "== tls1_1\nNew, (NONE), Cipher is (NONE)"));
  g_assert_nonnull (strstr (out, "== tls1_2\nNew, TLSv1.2, Cipher is"));
}

static gboolean
accept_any_cb (GTlsConnection       *connection,
               GTlsCertificate      *certificate,
               GTlsCertificateFlags  errors,
               gpointer              user_data)
{
  return TRUE;
}

/* The service answers, and the audit holds the test's requests one to one, no more
 * than @before of them */
static void
assert_serving (guint before)
{
  g_autoptr(Reply) reply = call ("GET", "/v1/health", NULL, NULL);
  g_autoptr(GPtrArray) records = NULL;

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpuint (world.request_ids->len, ==, before);
  records = audit_list ();
  g_assert_cmpuint (records->len, ==, world.request_ids->len);
}

/* A TLS connection to the service (its certificate is not checked here); *@connection
 * receives the TCP connection under it */
static GIOStream *
tls_connect (GSocketConnection **connection)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GIOStream *tls;

  *connection = g_socket_client_connect_to_host (client, "127.0.0.1", world.port, NULL,
                                                 &error);
  g_assert_no_error (error);
  /* a service that never hangs up fails the test, it does not hang it */
  g_socket_set_timeout (g_socket_connection_get_socket (*connection), 20);
  tls = g_tls_client_connection_new (G_IO_STREAM (*connection), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_any_cb), NULL);
  return tls;
}

static void
test_slow_client (void)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = tls_connect (&connection);
  g_autoptr(GError) error = NULL;
  const char *partial = "POST /v1/unblock/response HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  char buffer[64];
  gint64 start;
  gssize n;
  guint before = world.request_ids->len;

  g_assert_true (g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (tls), partial,
                                            strlen (partial), NULL, NULL, &error));
  start = g_get_monotonic_time ();
  /* the service hangs up once request-timeout has passed; nothing is answered */
  n = g_input_stream_read (g_io_stream_get_input_stream (tls), buffer, sizeof buffer, NULL,
                           NULL);
  g_assert_cmpint (n, <=, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <,
                   (REQUEST_TIMEOUT + 5) * G_TIME_SPAN_SECOND);
  g_assert_cmpint (g_get_monotonic_time () - start, >=,
                   (REQUEST_TIMEOUT - 1) * G_TIME_SPAN_SECOND);

  /* and the service goes on serving */
  assert_serving (before);
}

/* A plain TCP connection to the service (no TLS) */
static GSocket *
tcp_connect (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, world.port);
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  /* a service that never hangs up fails the test, it does not hang it */
  g_socket_set_timeout (socket, 20);
  g_assert_true (g_socket_connect (socket, address, NULL, &error));
  g_assert_no_error (error);
  return socket;
}

/* Waits until the service hangs up on @socket; returns the microseconds since @since */
static gint64
wait_hang_up (GSocket *socket,
              gint64   since)
{
  char buffer[256];
  gssize n;

  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL)) > 0)
    ;
  return g_get_monotonic_time () - since;
}

/* Clients that take the service's connections and do nothing with them: one that sends
 * nothing at all, one that stops in the middle of the TLS handshake, one that is idle
 * after a request on a kept-alive connection. The service hangs up on each once
 * request-timeout (or idle-timeout) has passed, and answers others meanwhile. */
static void
test_idle_clients (void)
{
  g_autoptr(GSocket) silent = NULL;
  g_autoptr(GSocket) stalled = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);
  /* the start of a TLS ClientHello record, and no more */
  const char hello[] = { 0x16, 0x03, 0x01, 0x00, (char) 0xc8, 0x01, 0x00 };
  const char *request = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  guint before = world.request_ids->len;
  gint64 start, idle_since;

  start = g_get_monotonic_time ();
  silent = tcp_connect ();
  stalled = tcp_connect ();
  g_assert_cmpint (g_socket_send (stalled, hello, sizeof hello, NULL, &error), ==,
                   sizeof hello);
  g_assert_no_error (error);

  /* a request on a kept-alive connection, answered; then nothing */
  tls = tls_connect (&connection);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (tls), request,
                                            strlen (request), NULL, NULL, &error));
  g_assert_no_error (error);
  while (strstr (answer->str, "\r\n\r\n") == NULL || !g_str_has_suffix (answer->str, "}"))
    {
      char buffer[512];
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (tls), buffer,
                                      sizeof buffer, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (answer, buffer, n);
    }
  g_assert_true (g_str_has_prefix (answer->str, "HTTP/1.1 200"));
  idle_since = g_get_monotonic_time ();
  /* kept alive for now */
  g_assert_false (g_socket_condition_check (g_socket_connection_get_socket (connection),
                                            G_IO_IN | G_IO_HUP));

  /* others are served meanwhile */
  {
    g_autoptr(Reply) reply = call ("GET", "/v1/health", NULL, NULL);

    g_assert_cmpuint (reply->status, ==, 200);
  }

  g_assert_cmpint (wait_hang_up (silent, start), <, (REQUEST_TIMEOUT + 4) * G_TIME_SPAN_SECOND);
  g_assert_cmpint (g_get_monotonic_time () - start, >=,
                   (REQUEST_TIMEOUT - 1) * G_TIME_SPAN_SECOND);
  g_assert_cmpint (wait_hang_up (stalled, start), <, (REQUEST_TIMEOUT + 4) * G_TIME_SPAN_SECOND);
  g_assert_cmpint (wait_hang_up (g_socket_connection_get_socket (connection), idle_since), <,
                   (IDLE_TIMEOUT + 4) * G_TIME_SPAN_SECOND);
  g_assert_cmpint (g_get_monotonic_time () - idle_since, >=,
                   (IDLE_TIMEOUT - 1) * G_TIME_SPAN_SECOND);

  /* and goes on serving; none of this was a request to audit */
  assert_serving (before);
}

static void
test_device_token (void)
{
  g_autofree char *auth = basic ("alice", ALICE_PASSWORD);
  g_autofree char *body = response_body (SERIAL_ALICE);
  g_autofree char *token_auth = NULL;
  g_autoptr(Reply) issued = call ("POST", "/v1/devices", auth, NULL);
  g_autoptr(Reply) used = NULL;
  g_autoptr(Reply) mint = NULL;
  g_autoptr(Reply) revoked = NULL;
  g_autoptr(Reply) stale = NULL;
  g_autoptr(Reply) again = NULL;
  g_autoptr(Reply) bogus = NULL;
  g_autoptr(Reply) malformed = NULL;
  g_autoptr(GPtrArray) records = NULL;

  g_assert_cmpuint (issued->status, ==, 200);
  g_assert_nonnull (issued->value);
  g_assert_nonnull (strstr (issued->body, "\"expires\""));
  token_auth = bearer (issued->value);

  used = call ("POST", "/v1/unblock/response", token_auth, body);
  g_assert_cmpuint (used->status, ==, 200);
  /* the token is checked with the grant: a malformed body is 400, audited under the
   * token's user all the same */
  malformed = call ("POST", "/v1/unblock/response", token_auth, "{\"serial\": 7}");
  g_assert_cmpuint (malformed->status, ==, 400);
  /* a token cannot mint tokens */
  mint = call ("POST", "/v1/devices", token_auth, NULL);
  g_assert_cmpuint (mint->status, ==, 401);

  revoked = call ("DELETE", "/v1/devices/current", token_auth, NULL);
  g_assert_cmpuint (revoked->status, ==, 200);
  stale = call ("POST", "/v1/unblock/response", token_auth, body);
  g_assert_cmpuint (stale->status, ==, 401);
  again = call ("DELETE", "/v1/devices/current", token_auth, NULL);
  g_assert_cmpuint (again->status, ==, 401);
  bogus = call ("POST", "/v1/unblock/response",
                "Bearer 0000000000000000000000000000000000000000000000000000000000000000",
                body);
  g_assert_cmpuint (bogus->status, ==, 401);

  records = audit_list ();
  g_assert_cmpstr (audit_find (records, issued->request_id)->method, ==, "device-issue");
  g_assert_cmpstr (audit_find (records, used->request_id)->user, ==, "alice");
  g_assert_cmpstr (audit_find (records, revoked->request_id)->method, ==, "device-revoke");
  g_assert_cmpstr (audit_find (records, stale->request_id)->outcome, ==, "bad-token");
  g_assert_null (audit_find (records, stale->request_id)->user);
  g_assert_cmpstr (audit_find (records, bogus->request_id)->outcome, ==, "bad-token");
  g_assert_cmpstr (audit_find (records, malformed->request_id)->outcome, ==, "malformed");
  g_assert_cmpstr (audit_find (records, malformed->request_id)->user, ==, "alice");
}

/* The service stopped (SIGTERM, exit 0) and started again loses nothing */
static void
test_restart (void)
{
  g_autoptr(GPtrArray) before = audit_list ();
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(Reply) quota = NULL;
  g_autoptr(Reply) fine = NULL;

  stop_service (&world.service, world.log);
  world.service = spawn_service (world.config, world.log, world.port);

  /* the quota count survived */
  quota = ask_response ("alice", ALICE_PASSWORD, SERIAL_QUOTA);
  g_assert_cmpuint (quota->status, ==, 429);
  fine = ask_response ("bob", BOB_PASSWORD, SERIAL_BOB);
  g_assert_cmpuint (fine->status, ==, 200);
  after = audit_list ();
  g_assert_cmpuint (after->len, ==, before->len + 2);
  for (guint i = 0; i < before->len; i++)
    {
      CardpinAuditRecord *a = g_ptr_array_index (before, i);
      CardpinAuditRecord *b = g_ptr_array_index (after, i);

      g_assert_cmpstr (a->request_id, ==, b->request_id);
      g_assert_cmpstr (a->outcome, ==, b->outcome);
    }
}

typedef struct {
  guint   status;
  char   *token;
  char   *body;
  gint   *done;      /* atomic: requests answered */
} InFlight;

static gpointer
in_flight_thread (gpointer data)
{
  InFlight *request = data;
  g_autoptr(SoupSession) session = session_new ();
  g_autofree char *auth = basic ("alice", ALICE_PASSWORD);
  g_autoptr(Reply) reply = call_port (session, world.port, "POST", "/v1/devices", auth, NULL,
                                      -1);

  request->status = reply->status;
  request->token = g_strdup (reply->value);
  request->body = g_strdup (reply->body);
  g_atomic_int_inc (request->done);
  return NULL;
}

static guint
count_files (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* SIGTERM while requests are in progress: each is answered (not cut off) and audited,
 * then the service exits 0; no new connection is taken meanwhile */
static void
test_stop_in_flight (void)
{
  g_autofree char *slow_dir = in_dir ("pam-slow.d");
  g_autofree char *script = in_dir ("slow-auth.sh");
  g_autofree char *passdb = in_dir ("passdb");
  g_autofree char *service_path = g_build_filename (slow_dir, pam_service, NULL);
  g_autofree char *service = NULL;
  g_autofree char *marks = NULL;
  g_autoptr(GPtrArray) records = NULL;
  InFlight requests[4] = { { 0 } };
  GThread *threads[G_N_ELEMENTS (requests)];
  gint done = 0;
  gint64 deadline, stop_start;
  guint issued = 0;

  g_assert_cmpint (g_mkdir (slow_dir, 0700), ==, 0);
  service = g_strdup_printf ("auth required %s %s\n"
                             "auth required %s passdb=%s\naccount required %s passdb=%s\n",
                             PAM_EXEC_PATH, script, PAM_MATRIX_PATH, passdb,
                             PAM_MATRIX_PATH, passdb);
  g_assert_true (g_file_set_contents (service_path, service, -1, NULL));
  stop_service (&world.service, world.log);

  /* PAM that takes 2 s and says when it started: requests surely in flight at SIGTERM.
   * pam_wrapper copies the PAM services to a /tmp/pam.X it picks with lstat() then
   * mkdir(): a service of a test running in parallel can take the same one and swap in
   * its own copy. Then the requests are answered at once, with no mark: try again. */
  for (guint attempt = 0;; attempt++)
    {
      g_autofree char *name = g_strdup_printf ("in-pam-%u", attempt);
      g_autofree char *script_text = NULL;

      g_assert_cmpuint (attempt, <, 3);
      g_free (marks);
      marks = in_dir (name);
      g_assert_cmpint (g_mkdir (marks, 0700), ==, 0);
      script_text = g_strdup_printf ("#!/bin/sh\n: > '%s/'$$\nexec sleep 2\n", marks);
      g_assert_true (g_file_set_contents (script, script_text, -1, NULL));
      g_assert_cmpint (g_chmod (script, 0700), ==, 0);

      world.service = spawn_service_pam (world.config, world.log, world.port, "pam-slow.d");
      g_atomic_int_set (&done, 0);
      for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
        {
          requests[i] = (InFlight) { .done = &done };
          threads[i] = g_thread_new ("in-flight", in_flight_thread, &requests[i]);
        }
      deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
      while (count_files (marks) < G_N_ELEMENTS (requests) && g_atomic_int_get (&done) == 0)
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_usleep (20 * 1000);
        }
      if (g_atomic_int_get (&done) == 0)
        break;
      g_test_message ("a request was answered before all were in PAM (pam_wrapper's "
                      "services swapped by a parallel test); again");
      for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
        {
          g_thread_join (threads[i]);
          g_free (requests[i].token);
          g_free (requests[i].body);
        }
      stop_service (&world.service, world.log);
    }

  stop_start = g_get_monotonic_time ();
  g_subprocess_send_signal (world.service, SIGTERM);
  /* the port is closed at once: a new client is refused, not left waiting */
  {
    g_autoptr(GSocketClient) client = g_socket_client_new ();
    g_autoptr(GSocketConnection) connection = NULL;
    g_autoptr(GError) error = NULL;

    deadline = g_get_monotonic_time () + 2 * G_TIME_SPAN_SECOND;
    do
      {
        g_clear_object (&connection);
        g_clear_error (&error);
        g_usleep (20 * 1000);
        connection = g_socket_client_connect_to_host (client, "127.0.0.1", world.port, NULL,
                                                      &error);
      }
    while (connection != NULL && g_get_monotonic_time () < deadline);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  }
  /* every request in flight got its answer: a device token */
  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_thread_join (threads[i]);
      if (requests[i].status != 200)
        g_error ("request %u: %u %s", i, requests[i].status, requests[i].body);
      g_assert_nonnull (requests[i].token);
      g_free (requests[i].token);
      g_free (requests[i].body);
    }
  wait_service (&world.service, world.log, stop_start);

  /* and each was audited before it was answered */
  records = audit_list ();
  for (guint i = 0; i < records->len; i++)
    if (g_strcmp0 (((CardpinAuditRecord *) g_ptr_array_index (records, i))->outcome,
                   "issued") == 0)
      issued++;
  g_assert_cmpuint (issued, >=, G_N_ELEMENTS (requests));
  world.service = spawn_service (world.config, world.log, world.port);
}

typedef struct {
  guint16  port;
  guint    granted;
  guint    refused;
  guint    other;
} Racer;

static gpointer
race_thread (gpointer data)
{
  Racer *racer = data;
  g_autoptr(SoupSession) session = session_new ();
  g_autofree char *auth = basic ("alice", ALICE_PASSWORD);
  g_autofree char *body = response_body (SERIAL_RACE);
  g_autofree char *url = g_strdup_printf ("https://127.0.0.1:%u/v1/unblock/response",
                                          racer->port);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      g_autoptr(GBytes) answer = NULL;

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    auth);
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
      answer = soup_session_send_and_read (session, msg, NULL, NULL);
      if (soup_message_get_status (msg) == 200)
        racer->granted++;
      else if (soup_message_get_status (msg) == 429)
        racer->refused++;
      else
        racer->other++;
    }
  return NULL;
}

/* Two instances on one database, concurrent requests for one card: never past the quota */
static void
test_two_instances (void)
{
  g_autofree char *config = in_dir ("second.conf");
  g_autofree char *log = in_dir ("second.log");
  g_autofree char *text = NULL;
  g_autoptr(GPtrArray) records = NULL;
  Racer racers[8];
  GThread *threads[G_N_ELEMENTS (racers)];
  guint granted = 0, refused = 0, other = 0, audited = 0;

  /* a second instance on the first one's port is refused, not let to share it */
  {
    g_autofree char *busy_config = in_dir ("busy.conf");
    g_autofree char *busy_text = config_text (world.port, 2);
    g_autoptr(GSubprocess) busy = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;

    g_assert_true (g_file_set_contents (busy_config, busy_text, -1, NULL));
    busy = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                             &error, g_getenv ("CARDPIN_UNBLOCKD"), "--config", busy_config,
                             NULL);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_communicate_utf8 (busy, NULL, NULL, NULL, &err, &error));
    g_assert_no_error (error);
    g_assert_false (g_subprocess_get_successful (busy));
    g_assert_nonnull (strstr (err, "Cannot listen on 127.0.0.1:"));
  }

  world.second_port = cardpin_test_free_port ();
  text = config_text (world.second_port, 1);
  g_assert_true (g_file_set_contents (config, text, -1, NULL));
  world.second = spawn_service (config, log, world.second_port);

  for (guint i = 0; i < G_N_ELEMENTS (racers); i++)
    {
      racers[i] = (Racer) { i % 2 ? world.port : world.second_port, 0, 0, 0 };
      threads[i] = g_thread_new ("racer", race_thread, &racers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (racers); i++)
    {
      g_thread_join (threads[i]);
      granted += racers[i].granted;
      refused += racers[i].refused;
      other += racers[i].other;
    }
  g_test_message ("granted %u, refused %u, other %u", granted, refused, other);
  g_assert_cmpuint (other, ==, 0);
  g_assert_cmpuint (granted, ==, QUOTA_CARD);
  g_assert_cmpuint (refused, ==, 3 * G_N_ELEMENTS (racers) - QUOTA_CARD);

  records = audit_list ();
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, i);

      if (g_strcmp0 (record->serial, SERIAL_RACE) == 0)
        {
          audited++;
          /* not in world.request_ids: the racers' ids are counted here */
          g_ptr_array_add (world.request_ids, g_strdup (record->request_id));
        }
    }
  g_assert_cmpuint (audited, ==, 3 * G_N_ELEMENTS (racers));
  stop_service (&world.second, log);
}

/* Every request to /v1/unblock/ and /v1/devices is one audit record, and nothing else is */
static void
test_audit (void)
{
  g_autoptr(GPtrArray) records = audit_list ();
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < world.request_ids->len; i++)
    g_assert_true (g_hash_table_add (ids, g_ptr_array_index (world.request_ids, i)));
  g_assert_cmpuint (records->len, ==, world.request_ids->len);
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, i);

      g_assert_true (g_hash_table_contains (ids, record->request_id));
      g_assert_nonnull (record->method);
      g_assert_nonnull (record->outcome);
    }

  /* the same, as the helpdesk tool prints it */
  {
    const char *argv[] = { g_getenv ("CARDPIN_HELPDESK"), "--config", world.config, "audit",
                           "--json", NULL };
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    int status = 0;
    JsonArray *array;

    g_assert_nonnull (argv[0]);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                 NULL, &out, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
    g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
    array = json_node_get_array (json_parser_get_root (parser));
    g_assert_cmpuint (json_array_get_length (array), ==, world.request_ids->len);
    for (guint i = 0; i < json_array_get_length (array); i++)
      {
        JsonObject *record = json_array_get_object_element (array, i);

        g_assert_true (g_hash_table_contains (ids, json_object_get_string_member (record,
                                                                                  "request_id")));
      }
  }
}

static void
check_no_canary (const char *what,
                 const char *data,
                 gsize       length)
{
  for (guint i = 0; i < world.canaries->len; i++)
    {
      const char *canary = g_ptr_array_index (world.canaries, i);

      if (memmem (data, length, canary, strlen (canary)) != NULL)
        g_error ("%s holds the secret %s", what, canary);
    }
}

static void
scan_tree (const char *path,
           guint      *files)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_autofree char *data = NULL;
      gsize length;

      /* the PAM password file holds the passwords by design */
      if (g_file_test (child, G_FILE_TEST_IS_SYMLINK) || strcmp (name, "passdb") == 0)
        continue;
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        scan_tree (child, files);
      else if (g_file_get_contents (child, &data, &length, NULL))
        {
          check_no_canary (child, data, length);
          (*files)++;
        }
    }
}

/* Last: no password, token or response of this run in the log, the database or the audit */
static void
test_canaries (void)
{
  g_autoptr(GPtrArray) records = audit_list ();
  g_autofree char *log = NULL;
  gsize length;
  guint files = 0;

  g_assert_cmpuint (world.canaries->len, >, 8);
  g_assert_true (g_file_get_contents (world.log, &log, &length, NULL));
  /* the log holds the requests' lines, granted ones included */
  g_assert_nonnull (strstr (log, "status=200 outcome=granted"));
  check_no_canary ("the log", log, length);
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *r = g_ptr_array_index (records, i);
      g_autofree char *line = g_strjoin ("|", r->user ? r->user : "", r->method,
                                         r->serial ? r->serial : "",
                                         r->challenge_sha256 ? r->challenge_sha256 : "",
                                         r->outcome, r->request_id, NULL);

      check_no_canary ("the audit", line, strlen (line));
    }

  /* every file of the run, byte for byte (the logs, SQLite and its WAL), and
   * PostgreSQL's whole data folder */
  if (g_getenv ("CARDPIN_TEST_PG_SOCKET") != NULL)
    {
      g_autofree char *pg_dir = g_path_get_dirname (g_getenv ("CARDPIN_TEST_PG_SOCKET"));

      scan_tree (pg_dir, &files);
    }
  scan_tree (world.dir, &files);
  g_assert_cmpuint (files, >=, 1);
}

int
main (int   argc,
      char *argv[])
{
  int result;

  g_test_init (&argc, &argv, NULL);
  g_snprintf (pam_service, sizeof pam_service, "cardpin-unblock-test-%d", (int) getpid ());
  if (g_getenv ("CARDPIN_UNBLOCKD") == NULL)
    g_error ("CARDPIN_UNBLOCKD is not set (meson sets it)");
  world_setup ();

  g_test_add_func ("/cardpin/unblockd/health", test_health);
  g_test_add_func ("/cardpin/unblockd/response", test_response);
  g_test_add_func ("/cardpin/unblockd/wrong-password", test_wrong_password);
  g_test_add_func ("/cardpin/unblockd/denied", test_denied);
  g_test_add_func ("/cardpin/unblockd/quota", test_quota);
  g_test_add_func ("/cardpin/unblockd/throttle", test_throttle);
  g_test_add_func ("/cardpin/unblockd/malformed", test_malformed);
  g_test_add_func ("/cardpin/unblockd/too-large", test_too_large);
  g_test_add_func ("/cardpin/unblockd/endpoints", test_endpoints);
  g_test_add_func ("/cardpin/unblockd/puk", test_puk);
  g_test_add_func ("/cardpin/unblockd/plain-http", test_plain_http);
  g_test_add_func ("/cardpin/unblockd/slow-client", test_slow_client);
  g_test_add_func ("/cardpin/unblockd/idle-clients", test_idle_clients);
  g_test_add_func ("/cardpin/unblockd/device-token", test_device_token);
  g_test_add_func ("/cardpin/unblockd/restart", test_restart);
  g_test_add_func ("/cardpin/unblockd/stop-in-flight", test_stop_in_flight);
  g_test_add_func ("/cardpin/unblockd/two-instances", test_two_instances);
  g_test_add_func ("/cardpin/unblockd/audit", test_audit);
  g_test_add_func ("/cardpin/unblockd/no-secret-stored", test_canaries);

  result = g_test_run ();
  world_teardown ();
  return result;
}
