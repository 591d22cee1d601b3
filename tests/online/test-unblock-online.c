/* test-unblock-online.c — online unblock end to end, on the real stack
 *
 * The real service (server/cardpin-unblockd) on 127.0.0.1 with a test CA made by openssl
 * at test time, its master key in SoftHSM2, accounts checked through PAM (pam_wrapper +
 * pam_matrix), SQLite; a virtual PIV card whose management key is the one the helpdesk
 * tool exports for its serial, behind a private pcscd; CardpinUnblockClient and
 * cardpin-tool on the other side; a real Secret Service for the device token (the whole
 * program runs inside tests/online/keyring-session.sh).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-secret.h"
#include "cardpin-test-fixture.h"
#include "cardpin-token.h"
#include "cardpin-unblock-client.h"

#define READER0 CARDPIN_TEST_READER0

/* canaries: none may ever appear in the service's log, database or audit */
#define ALICE_PASSWORD "canary-Pw-7f3a91"
#define BOB_PASSWORD   "canary-Pw-b0b0b0"
#define WRONG_PASSWORD "canary-Wrong-55e1"

/* serials as cardpin prints them (CHUID GUID, 32 uppercase hex digits) */
#define SERIAL_ALICE   "C0FFEE00000000000000000000000A11"
#define SERIAL_BOB     "C0FFEE00000000000000000000000B0B"
#define SERIAL_QUOTA   "C0FFEE0000000000000000000000A0A0"
#define SERIAL_OFF     "C0FFEE0000000000000000000000DEAD"
/* the per-card quota holds for every card: SERIAL_ALICE is unblocked 5 times in this run
 * (unblock, unblock-async, device-token, tool, pam-login-screen), so the quota must
 * leave room for that */
#define QUOTA_CARD     6

typedef struct {
  char              *dir;
  char              *url;
  char              *config;
  char              *log;
  char              *admin_key;       /* hex, for SERIAL_ALICE */
  GSubprocess       *service;
  CardpinTestFixture cards;           /* the stack, the card, the manager */
  GPtrArray         *canaries;        /* every secret this run used */
} World;

static World world;

/* The PAM service, one name per test process: pam_wrapper copies every process's PAM
 * services to a /tmp/pam.X it picks racily (lstat() then mkdir()), so two tests running
 * at once can share one; with one name, one test's copy would replace the other's */
static char pam_service[64];

/* Helpers */

static char *
in_dir (const char *name)
{
  return g_build_filename (world.dir, name, NULL);
}

static const char *
program (const char *variable)
{
  const char *path = g_getenv (variable);

  if (path == NULL)
    g_error ("%s is not set (meson sets it)", variable);
  return path;
}

static void
add_canary (const char *text)
{
  g_ptr_array_add (world.canaries, g_strdup (text));
}

/* Runs a shell command in the test directory; returns its stdout */
static char *
sh (const char *command)
{
  return cardpin_test_sh (world.dir, command);
}

/* cardpin-helpdesk --config FILE ARGS…; returns stdout, asserts the exit status */
static char *
helpdesk (int                 expected_status,
          const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_ptr_array_add (argv, (gpointer) program ("CARDPIN_HELPDESK"));
  g_ptr_array_add (argv, (gpointer) "--config");
  g_ptr_array_add (argv, world.config);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "SOFTHSM2_CONF", in_dir ("softhsm2.conf"), TRUE);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != expected_status)
    g_error ("cardpin-helpdesk %s: exit %d, expected %d: %s%s", args[0],
             g_subprocess_get_exit_status (process), expected_status, out, err);
  return g_steal_pointer (&out);
}

static CardpinUnblockClient *
client_new (const char *ca,
            const char *user,
            const char *password)
{
  g_autofree char *ca_path = in_dir (ca);
  g_autoptr(GError) error = NULL;
  CardpinUnblockClient *client = cardpin_unblock_client_new (world.url, ca_path, &error);

  g_assert_no_error (error);
  cardpin_unblock_client_set_user (client, user);
  if (password != NULL)
    {
      g_autoptr(CardpinSecret) secret = cardpin_secret_new_from_string (password);

      cardpin_unblock_client_set_password (client, secret);
    }
  return client;
}

static CardpinToken *
alice_token (void)
{
  CardpinToken *token = cardpin_test_fixture_token (&world.cards, READER0, NULL);

  g_assert_cmpstr (cardpin_token_get_serial (token), ==, SERIAL_ALICE);
  return token;
}

static void
block_pin (CardpinToken *token)
{
  if (cardpin_token_get_pin_state (token) != CARDPIN_PIN_STATE_LOCKED)
    cardpin_test_block_pin (token, MAX (cardpin_token_get_pin_tries_left (token), 1));
}

/* An independent PIV client verifies @pin on the card */
static int
yubico_verify (const char *pin)
{
  return cardpin_test_yubico_verify (READER0, pin);
}

static guint
audit_count (void)
{
  const char *args[] = { "audit", "--json", NULL };
  g_autofree char *out = helpdesk (0, args);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  return json_array_get_length (json_node_get_array (json_parser_get_root (parser)));
}

static char *
hex (const CardpinSecret *secret)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < cardpin_secret_get_length (secret); i++)
    g_string_append_printf (out, "%02X", cardpin_secret_get_data (secret)[i]);
  return g_string_free (out, FALSE);
}

/* The world: PKI, SoftHSM2, PAM, the service, the inventory, the card */

static void
make_pki (void)
{
  g_free (sh ("for ca in a b; do"
              "  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
              "    -keyout ca-$ca.key -out ca-$ca.pem -days 2 -subj \"/CN=cardpin test CA $ca\""
              "    -addext basicConstraints=critical,CA:TRUE"
              "    -addext keyUsage=critical,keyCertSign 2>/dev/null;"
              "done;"
              "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > srv.ext;"
              "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key"
              "  -out srv.csr -subj /CN=127.0.0.1 2>/dev/null;"
              "openssl x509 -req -in srv.csr -CA ca-a.pem -CAkey ca-a.key -CAcreateserial"
              "  -days 2 -extfile srv.ext -out srv.pem 2>/dev/null;"
              /* unencrypted PKCS#8, as the service's keyfile documents */
              "openssl pkcs8 -topk8 -nocrypt -in srv.key -out srv-pkcs8.key"));
}

static void
make_softhsm (void)
{
  g_autofree char *tokens = in_dir ("tokens");
  g_autofree char *conf = NULL;
  g_autofree char *conf_path = in_dir ("softhsm2.conf");

  g_assert_cmpint (g_mkdir (tokens, 0700), ==, 0);
  conf = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\n"
                          "log.level = ERROR\n", tokens);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
  g_free (sh ("SOFTHSM2_CONF=./softhsm2.conf softhsm2-util --init-token --free"
              " --label cardpin-test --so-pin 10293847 --pin 56473829 >/dev/null;"
              "printf '56473829\\n' > token-pin; chmod 600 token-pin"));
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
  users = g_strdup_printf ("alice:%s:%s\nbob:%s:%s\n",
                           ALICE_PASSWORD, pam_service, BOB_PASSWORD, pam_service);
  g_assert_true (g_file_set_contents (passdb, users, -1, NULL));
}

static void
make_config (guint16 port)
{
  g_autofree char *text = NULL;

  world.config = in_dir ("unblockd.conf");
  text = g_strdup_printf ("[service]\n"
                          "listen=127.0.0.1:%u\n"
                          "tls-certificate=%s/srv.pem\n"
                          "tls-key=%s/srv-pkcs8.key\n"
                          "database=%s/unblock.sqlite\n"
                          "pkcs11-module=%s\n"
                          "token-label=cardpin-test\n"
                          "token-pin-file=%s/token-pin\n"
                          "master-key-label=cardpin-master\n"
                          "pam-service=%s\n"
                          "quota-card-per-day=%u\n"
                          "quota-user-per-day=100\n",
                          port, world.dir, world.dir, world.dir, SOFTHSM_MODULE_PATH,
                          world.dir, pam_service, QUOTA_CARD);
  g_assert_true (g_file_set_contents (world.config, text, -1, NULL));
}

static void
make_inventory (void)
{
  g_autofree char *key = NULL;

  g_free (helpdesk (0, (const char * const[]) { "master-key", "create", NULL }));
  g_free (helpdesk (0, (const char * const[]) { "card", "add", SERIAL_ALICE, "alice", NULL }));
  g_free (helpdesk (0, (const char * const[]) { "card", "add", SERIAL_BOB, "bob", NULL }));
  g_free (helpdesk (0, (const char * const[]) { "card", "add", SERIAL_QUOTA, "alice", NULL }));
  g_free (helpdesk (0, (const char * const[]) { "card", "add", SERIAL_OFF, "alice", NULL }));
  g_free (helpdesk (0, (const char * const[]) { "card", "disable", SERIAL_OFF, NULL }));

  key = helpdesk (0, (const char * const[]) { "export-admin-key", SERIAL_ALICE, NULL });
  world.admin_key = g_strstrip (g_steal_pointer (&key));
  g_assert_cmpuint (strlen (world.admin_key), ==, 32);
}

static void
start_service (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(CardpinUnblockClient) probe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *services = in_dir ("pam.d");
  gint64 deadline;

  world.log = in_dir ("unblockd.log");
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stderr_file_path (launcher, world.log);
  g_subprocess_launcher_set_stdout_file_path (launcher, world.log);
  g_subprocess_launcher_setenv (launcher, "SOFTHSM2_CONF", in_dir ("softhsm2.conf"), TRUE);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", PAM_WRAPPER_PATH, TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER_SERVICE_DIR", services, TRUE);
  /* the service's own warnings are its business, not a test failure */
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  world.service = g_subprocess_launcher_spawn (launcher, &error,
                                               program ("CARDPIN_UNBLOCKD"), "--config",
                                               world.config, NULL);
  g_assert_no_error (error);

  probe = client_new ("ca-a.pem", "alice", NULL);
  deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  while (!cardpin_unblock_client_check (probe, NULL, &error))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_clear_error (&error);
      g_usleep (50 * 1000);
    }
}

static void
world_setup (void)
{
  g_autoptr(GError) error = NULL;

  world.canaries = g_ptr_array_new_with_free_func (g_free);
  add_canary (ALICE_PASSWORD);
  add_canary (BOB_PASSWORD);
  add_canary (WRONG_PASSWORD);

  world.dir = g_dir_make_tmp ("cardpin-online-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (world.dir, 0755), ==, 0);

  make_pki ();
  make_softhsm ();
  make_pam ();
  {
    guint16 port = cardpin_test_free_port ();

    world.url = g_strdup_printf ("https://127.0.0.1:%u/", port);
    make_config (port);
  }
  make_inventory ();
  start_service ();

  cardpin_test_fixture_setup (&world.cards, NULL);
  cardpin_test_fixture_insert (&world.cards, 0,
                               (const char * const[]) { "--serial", SERIAL_ALICE,
                                                        "--admin-key", world.admin_key,
                                                        NULL });
}

static void
world_teardown (void)
{
  g_autofree char *rm = NULL;

  cardpin_test_fixture_teardown (&world.cards, NULL);
  if (world.service != NULL)
    {
      g_subprocess_send_signal (world.service, SIGTERM);
      g_subprocess_wait (world.service, NULL, NULL);
      g_clear_object (&world.service);
    }
  rm = g_strdup_printf ("rm -rf '%s'", world.dir);
  g_free (sh (rm));
  g_free (world.dir);
  g_free (world.url);
  g_free (world.config);
  g_free (world.log);
  g_free (world.admin_key);
  g_ptr_array_unref (world.canaries);
}

/* Tests */

static void
test_unblock (void)
{
  g_autoptr(CardpinUnblockClient) client = client_new ("ca-a.pem", "alice", ALICE_PASSWORD);
  g_autoptr(CardpinToken) token = alice_token ();
  g_autoptr(CardpinSecret) new_pin = cardpin_secret_new_from_string ("73920584");
  g_autoptr(GError) error = NULL;
  g_autofree char *request_id = NULL;
  guint before = audit_count ();

  add_canary ("73920584");
  block_pin (token);
  g_assert_cmpint (yubico_verify ("73920584"), !=, 0);

  g_assert_true (cardpin_unblock_client_unblock (client, token, new_pin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);

  request_id = cardpin_unblock_client_dup_request_id (client);
  g_assert_nonnull (request_id);
  g_assert_cmpuint (audit_count (), ==, before + 1);

  /* an independent PIV client takes the new PIN */
  g_assert_cmpint (yubico_verify ("73920584"), ==, 0);
}

static void
unblock_async_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GError **error = user_data;

  if (cardpin_unblock_client_unblock_finish (CARDPIN_UNBLOCK_CLIENT (source), result, error))
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "success");
}

static void
test_unblock_async (void)
{
  g_autoptr(CardpinUnblockClient) client = client_new ("ca-a.pem", "alice", ALICE_PASSWORD);
  g_autoptr(CardpinToken) token = alice_token ();
  g_autoptr(CardpinSecret) new_pin = cardpin_secret_new_from_string ("41852963");
  GError *error = NULL;

  add_canary ("41852963");
  block_pin (token);
  cardpin_unblock_client_unblock_async (client, token, new_pin, NULL, unblock_async_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);

  /* the token was refreshed in this context before the callback */
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
  g_assert_cmpint (yubico_verify ("41852963"), ==, 0);
}

static void
test_wrong_password (void)
{
  g_autoptr(CardpinUnblockClient) client = client_new ("ca-a.pem", "alice", WRONG_PASSWORD);
  g_autoptr(CardpinToken) token = alice_token ();
  g_autoptr(CardpinSecret) new_pin = cardpin_secret_new_from_string ("60418273");
  g_autoptr(GError) error = NULL;

  block_pin (token);
  g_assert_false (cardpin_unblock_client_unblock (client, token, new_pin, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH);
  g_assert_nonnull (strstr (error->message, "user name and password"));
  g_assert_null (strstr (error->message, WRONG_PASSWORD));

  /* the card was released untouched: still blocked, the new PIN not set */
  g_assert_true (cardpin_token_refresh (token, NULL, NULL));
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_LOCKED);
  g_assert_cmpint (yubico_verify ("60418273"), !=, 0);

  /* a policy breach is refused before the service is asked */
  {
    g_autoptr(CardpinUnblockClient) right = client_new ("ca-a.pem", "alice", ALICE_PASSWORD);
    g_autoptr(CardpinSecret) weak = cardpin_secret_new_from_string ("123456");
    guint before = audit_count ();

    g_clear_error (&error);
    g_assert_false (cardpin_unblock_client_unblock (right, token, weak, NULL, &error));
    g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
    g_assert_cmpuint (audit_count (), ==, before);
  }
}

static void
test_denied (void)
{
  g_autoptr(CardpinUnblockClient) client = client_new ("ca-a.pem", "alice", ALICE_PASSWORD);
  g_autoptr(GBytes) challenge = g_bytes_new_static ("0123456789abcdef", 16);
  const char *serials[] = { SERIAL_BOB, SERIAL_OFF, "C0FFEE000000000000000000DEADBEEF" };

  for (gsize i = 0; i < G_N_ELEMENTS (serials); i++)
    {
      g_autoptr(CardpinSecret) response = NULL;
      g_autoptr(GError) error = NULL;

      response = cardpin_unblock_client_request_response (client, serials[i], challenge, 0x08,
                                                          NULL, &error);
      g_assert_null (response);
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_DENIED);
      g_assert_nonnull (strstr (error->message, "helpdesk"));
    }
}

static void
test_quota (void)
{
  g_autoptr(CardpinUnblockClient) client = client_new ("ca-a.pem", "alice", ALICE_PASSWORD);
  g_autoptr(GBytes) challenge = g_bytes_new_static ("fedcba9876543210", 16);
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < QUOTA_CARD; i++)
    {
      response = cardpin_unblock_client_request_response (client, SERIAL_QUOTA, challenge,
                                                          0x08, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (cardpin_secret_get_length (response), ==, 16);
      g_ptr_array_add (world.canaries, hex (response));
      g_clear_pointer (&response, cardpin_secret_unref);
    }

  response = cardpin_unblock_client_request_response (client, SERIAL_QUOTA, challenge, 0x08,
                                                      NULL, &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_QUOTA);
  g_assert_cmpuint (cardpin_unblock_client_get_retry_after (client), >, 0);
  g_assert_nonnull (strstr (error->message, "Try again in"));
}

static void
test_wrong_ca (void)
{
  g_autoptr(CardpinUnblockClient) client = client_new ("ca-b.pem", "alice", ALICE_PASSWORD);
  g_autoptr(GBytes) challenge = g_bytes_new_static ("0123456789abcdef", 16);
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GError) error = NULL;
  guint before = audit_count ();

  response = cardpin_unblock_client_request_response (client, SERIAL_ALICE, challenge, 0x08,
                                                      NULL, &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "could not prove"));
  /* nothing reached the service */
  g_assert_cmpuint (audit_count (), ==, before);
}

static void
test_device_token (void)
{
  g_autoptr(CardpinUnblockClient) first = client_new ("ca-a.pem", "alice", ALICE_PASSWORD);
  g_autoptr(CardpinUnblockClient) second = client_new ("ca-a.pem", "alice", NULL);
  g_autoptr(CardpinUnblockClient) stale = client_new ("ca-a.pem", "alice", NULL);
  g_autoptr(CardpinToken) token = alice_token ();
  g_autoptr(CardpinSecret) new_pin = cardpin_secret_new_from_string ("58204731");
  g_autoptr(GBytes) challenge = g_bytes_new_static ("0123456789abcdef", 16);
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GError) error = NULL;

  add_canary ("58204731");

  /* issue: POST /v1/devices with the password, kept in the keyring */
  g_assert_true (cardpin_unblock_client_remember_device (first, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cardpin_unblock_client_has_device_token (first));

  /* use: another client, no password, the token from the keyring */
  g_assert_true (cardpin_unblock_client_load_device_token (second, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cardpin_unblock_client_load_device_token (stale, NULL, &error));
  block_pin (token);
  g_assert_true (cardpin_unblock_client_unblock (second, token, new_pin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (yubico_verify ("58204731"), ==, 0);

  /* revoke: DELETE /v1/devices/current, and the keyring forgets it */
  g_assert_true (cardpin_unblock_client_forget_device (second, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (cardpin_unblock_client_load_device_token (second, NULL, &error));
  g_assert_no_error (error);

  /* a copy of the revoked token is refused */
  response = cardpin_unblock_client_request_response (stale, SERIAL_ALICE, challenge, 0x08,
                                                      NULL, &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH);
  g_assert_nonnull (strstr (error->message, "Sign in with your password"));
}

/* cardpin-tool unblock --online with the password and the new PIN on file descriptors */
static int
tool_unblock (const char  *user,
              const char  *password,
              const char  *new_pin,
              char       **err)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ca = in_dir ("ca-a.pem");
  g_autofree char *out = NULL;
  int password_pipe[2], pin_pipe[2];

  g_assert_true (g_unix_open_pipe (password_pipe, FD_CLOEXEC, NULL));
  g_assert_true (g_unix_open_pipe (pin_pipe, FD_CLOEXEC, NULL));
  g_assert_cmpint (write (password_pipe[1], password, strlen (password)), ==, strlen (password));
  g_assert_cmpint (write (password_pipe[1], "\n", 1), ==, 1);
  g_assert_cmpint (write (pin_pipe[1], new_pin, strlen (new_pin)), ==, strlen (new_pin));
  g_assert_cmpint (write (pin_pipe[1], "\n", 1), ==, 1);
  close (password_pipe[1]);
  close (pin_pipe[1]);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_fd (launcher, password_pipe[0], 3);
  g_subprocess_launcher_take_fd (launcher, pin_pipe[0], 4);
  /* no Secret Service needed with --password-fd */
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  process = g_subprocess_launcher_spawn (launcher, &error, program ("CARDPIN_TOOL"),
                                         "unblock", "--online", "--server", world.url,
                                         "--ca-file", ca, "--user", user,
                                         "--password-fd", "3", "--new-pin-fd", "4",
                                         "--reader", READER0, "--module",
                                         cardpin_test_opensc_module (), NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, err, &error));
  g_assert_no_error (error);
  g_test_message ("cardpin-tool: %s%s", out, *err);
  return g_subprocess_get_exit_status (process);
}

static void
test_tool (void)
{
  g_autoptr(CardpinToken) token = alice_token ();
  g_autofree char *err = NULL;

  add_canary ("39517206");
  block_pin (token);

  /* bob's wrong password: one wrong password per account, never the throttle */
  g_assert_cmpint (tool_unblock ("bob", WRONG_PASSWORD, "39517206", &err), ==, 1);
  g_assert_nonnull (strstr (err, "did not accept your user name and password"));
  g_assert_cmpint (yubico_verify ("39517206"), !=, 0);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (tool_unblock ("alice", ALICE_PASSWORD, "39517206", &err), ==, 0);
  g_assert_cmpint (yubico_verify ("39517206"), ==, 0);
}

/* The login screen: pam_cardpin.so in front of the card module, as GDM runs it, with
 * pamtester as the PAM client (answers on stdin, no user name asked by the module): the
 * helper asks the account name and password, the new PIN twice, the service answers the
 * card's challenge, "PIN unblocked — enter your new PIN" and PAM_IGNORE; then OpenSC's
 * pkcs11-tool (the module the next PAM module would use) logs in with the new PIN. */
static void
test_pam_login_screen (void)
{
  g_autoptr(CardpinToken) token = alice_token ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *services = in_dir ("pam.d-login");
  g_autofree char *service = g_build_filename (services, "gdm-smartcard", NULL);
  g_autofree char *config = in_dir ("cardpin-login.conf");
  g_autofree char *text = NULL;
  g_autofree char *input = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  guint before = audit_count ();
  const char *new_pin = "48157306";

  add_canary (new_pin);
  block_pin (token);
  g_assert_cmpint (yubico_verify (new_pin), !=, 0);

  text = g_strdup_printf ("[cardpin]\n"
                          "allowed-unblock-methods=['online']\n"
                          "unblock-server-url='%s'\n"
                          "unblock-server-ca='%s/ca-a.pem'\n", world.url, world.dir);
  g_assert_true (g_file_set_contents (config, text, -1, &error));
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  g_assert_cmpint (g_mkdir (services, 0700), ==, 0);
  text = g_strdup_printf ("auth [success=ok ignore=ignore default=die] %s helper=%s "
                          "config=%s module=%s\n"
                          "auth required %s\n",
                          PAM_CARDPIN_PATH, PAM_HELPER_PATH, config,
                          cardpin_test_opensc_module (), PAM_PERMIT_PATH);
  g_assert_true (g_file_set_contents (service, text, -1, &error));
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", PAM_WRAPPER_PATH, TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER_SERVICE_DIR", services, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, "pamtester", "-v",
                                         "gdm-smartcard", "alice", "authenticate", NULL);
  g_assert_no_error (error);
  /* account name, password, new PIN, new PIN again */
  input = g_strdup_printf ("alice\n%s\n%s\n%s\n", ALICE_PASSWORD, new_pin, new_pin);
  g_assert_true (g_subprocess_communicate_utf8 (process, input, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("pamtester: %s%s", out, err);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);

  /* one method: no question; the account and password asked by the helper (pamtester
   * prints prompts on stderr, messages on stdout) */
  g_assert_null (strstr (err, "Type a number"));
  g_assert_nonnull (strstr (err, "Account name for the unblock service:Password:New PIN:"
                                 "New PIN again:"));
  g_assert_nonnull (strstr (out, "PIN unblocked — enter your new PIN"));
  g_assert_nonnull (strstr (out, "successfully authenticated"));
  g_assert_cmpuint (audit_count (), ==, before + 1);

  /* the module the next card module would use logs in with the new PIN */
  g_clear_object (&launcher);
  g_clear_object (&process);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "CARDPIN_TEST_NEW_PIN", new_pin, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, "pkcs11-tool", "--module",
                                         cardpin_test_opensc_module (), "--login",
                                         "--pin", "env:CARDPIN_TEST_NEW_PIN",
                                         "--list-objects", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    g_error ("pkcs11-tool --login with the new PIN: %s%s", out, err);
  g_assert_cmpint (yubico_verify (new_pin), ==, 0);
}

/* Last: no password, PIN or response of this run in the service's log, database or audit */
static void
test_canaries (void)
{
  const char *args[] = { "audit", "--json", NULL };
  g_autofree char *audit = helpdesk (0, args);
  g_autofree char *log = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;
  gsize checked = 0;

  g_assert_true (g_file_get_contents (world.log, &log, NULL, NULL));
  for (guint i = 0; i < world.canaries->len; i++)
    {
      const char *canary = g_ptr_array_index (world.canaries, i);

      g_assert_null (strstr (log, canary));
      g_assert_null (strstr (audit, canary));
    }

  /* the database and its WAL, byte for byte */
  dir = g_dir_open (world.dir, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *data = NULL;
      gsize length;

      if (!g_str_has_prefix (name, "unblock.sqlite"))
        continue;
      path = in_dir (name);
      g_assert_true (g_file_get_contents (path, &data, &length, NULL));
      for (guint i = 0; i < world.canaries->len; i++)
        {
          const char *canary = g_ptr_array_index (world.canaries, i);

          g_assert_null (memmem (data, length, canary, strlen (canary)));
        }
      checked++;
    }
  g_assert_cmpuint (checked, >=, 1);
}

int
main (int   argc,
      char *argv[])
{
  int result;

  cardpin_test_init (&argc, &argv);
  g_snprintf (pam_service, sizeof pam_service, "cardpin-unblock-test-%d", (int) getpid ());
  world_setup ();

  g_test_add_func ("/cardpin/online/unblock", test_unblock);
  g_test_add_func ("/cardpin/online/unblock-async", test_unblock_async);
  g_test_add_func ("/cardpin/online/wrong-password", test_wrong_password);
  g_test_add_func ("/cardpin/online/denied", test_denied);
  g_test_add_func ("/cardpin/online/quota", test_quota);
  g_test_add_func ("/cardpin/online/wrong-ca", test_wrong_ca);
  g_test_add_func ("/cardpin/online/device-token", test_device_token);
  g_test_add_func ("/cardpin/online/tool", test_tool);
  g_test_add_func ("/cardpin/online/pam-login-screen", test_pam_login_screen);
  g_test_add_func ("/cardpin/online/no-secret-in-logs", test_canaries);

  result = g_test_run ();
  world_teardown ();
  return result;
}
