/* test-unblock-tls.c — whom the online unblock client trusts
 *
 * Real TLS on loopback: `openssl s_server` with certificates made by openssl at test
 * time. The client must accept only a certificate of the configured authority that
 * names the host, and only TLS 1.2 or later; a plain-HTTP server gets nothing.
 * (The unblock service's own answers are tested against the real service in
 * tests/online/.)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "cardpin-error.h"
#include "cardpin-test-stack.h"
#include "cardpin-unblock-client.h"

typedef struct {
  char *dir;
} Pki;

static Pki pki;

static void
run (const char *command)
{
  g_free (cardpin_test_sh (pki.dir, command));
}

static char *
path (const char *name)
{
  return g_build_filename (pki.dir, name, NULL);
}

/* Two authorities; a server certificate of CA "a" for 127.0.0.1 and one for another name */
static void
make_pki (void)
{
  pki.dir = g_dir_make_tmp ("cardpin-tls-XXXXXX", NULL);
  g_assert_nonnull (pki.dir);
  run ("for ca in a b; do"
       "  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
       "    -keyout ca-$ca.key -out ca-$ca.pem -days 2 -subj \"/CN=cardpin test CA $ca\""
       "    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
       "    2>/dev/null;"
       "done;"
       "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > ip.ext;"
       "printf 'subjectAltName=DNS:unblock.example.org\\nextendedKeyUsage=serverAuth\\n' > dns.ext;"
       "for name in ip dns; do"
       "  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $name.key"
       "    -out $name.csr -subj /CN=cardpin-test 2>/dev/null;"
       "  openssl x509 -req -in $name.csr -CA ca-a.pem -CAkey ca-a.key -CAcreateserial"
       "    -days 2 -extfile $name.ext -out $name.pem 2>/dev/null;"
       "done");
}

static void
remove_pki (void)
{
  run ("rm -f ./*.pem ./*.key ./*.csr ./*.ext ./*.srl");
  g_rmdir (pki.dir);
  g_free (pki.dir);
}

typedef struct {
  GSubprocess *process;
  guint16      port;
} Server;

/* openssl s_server on a free loopback port, answering every request with 200 */
static void
server_start (Server     *server,
              const char *cert,
              const char *key,
              const char *version_option)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *cert_path = path (cert);
  g_autofree char *key_path = path (key);
  const char *argv[] = {
    "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert_path, "-key", key_path,
    "-www", "-naccept", "8", version_option,
    /* TLS 1.1 needs the old ciphers: the client must still refuse it */
    g_str_equal (version_option, "-tls1_1") ? "-cipher" : NULL, "DEFAULT@SECLEVEL=0", NULL,
  };

  server->process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                       G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));

  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
      const char *colon;

      g_assert_no_error (error);
      g_assert_nonnull (line);  /* s_server exited before it listened */
      if (g_str_has_prefix (line, "ACCEPT") && (colon = strrchr (line, ':')) != NULL)
        {
          server->port = (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
          break;
        }
    }
  g_assert_cmpuint (server->port, >, 0);
}

static void
server_stop (Server *server)
{
  g_subprocess_force_exit (server->process);
  g_subprocess_wait (server->process, NULL, NULL);
  g_clear_object (&server->process);
}

/* GET /v1/health through the client */
static gboolean
check (guint16      port,
       const char  *ca,
       GError     **error)
{
  g_autofree char *url = g_strdup_printf ("https://127.0.0.1:%u/", port);
  g_autofree char *ca_path = ca != NULL ? path (ca) : NULL;
  g_autoptr(CardpinUnblockClient) client = cardpin_unblock_client_new (url, ca_path, error);

  g_assert_nonnull (client);
  return cardpin_unblock_client_check (client, NULL, error);
}

static void
test_trusted (void)
{
  const char *versions[] = { "-tls1_2", "-tls1_3" };

  for (gsize i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      g_autoptr(GError) error = NULL;
      Server server = { 0 };

      server_start (&server, "ip.pem", "ip.key", versions[i]);
      g_assert_true (check (server.port, "ca-a.pem", &error));
      g_assert_no_error (error);
      server_stop (&server);
    }
}

static void
test_refused (void)
{
  struct {
    const char *cert;
    const char *key;
    const char *version;
    const char *ca;
    const char *why;
    const char *words;
  } cases[] = {
    { "ip.pem", "ip.key", "-tls1_2", "ca-b.pem", "another authority", "could not prove" },
    { "ip.pem", "ip.key", "-tls1_2", NULL, "the system's authorities", "could not prove" },
    { "dns.pem", "dns.key", "-tls1_2", "ca-a.pem", "a certificate for another name",
      "could not prove" },
    { "ip.pem", "ip.key", "-tls1_1", "ca-a.pem", "TLS 1.1", "outdated TLS version" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      Server server = { 0 };

      g_test_message ("refused: %s", cases[i].why);
      server_start (&server, cases[i].cert, cases[i].key, cases[i].version);
      g_assert_false (check (server.port, cases[i].ca, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].words));
      server_stop (&server);
    }
}

/* A plain-HTTP server on the port: the client never speaks HTTP in the clear */
static gboolean
plain_incoming_cb (GSocketService     *service,
                   GSocketConnection  *connection,
                   GObject            *source,
                   gpointer            user_data)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  const char *answer = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
  guint *connections = user_data;

  (*connections)++;
  g_output_stream_write_all (out, answer, strlen (answer), NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

static void
check_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  GError *error = NULL;

  if (check (GPOINTER_TO_UINT (task_data), "ca-a.pem", &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
check_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GError **error = user_data;

  g_assert_false (g_task_propagate_boolean (G_TASK (result), error));
}

static void
test_plain_http (void)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  guint connections = 0;

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (plain_incoming_cb), &connections);
  g_socket_service_start (service);

  task = g_task_new (NULL, NULL, check_done_cb, &error);
  g_task_set_task_data (task, GUINT_TO_POINTER (
    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound))), NULL);
  g_task_run_in_thread (task, check_thread);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (connections, >=, 1);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE);
  g_socket_service_stop (service);
}

int
main (int   argc,
      char *argv[])
{
  int result;

  g_test_init (&argc, &argv, NULL);
  make_pki ();

  g_test_add_func ("/cardpin/unblock-tls/trusted", test_trusted);
  g_test_add_func ("/cardpin/unblock-tls/refused", test_refused);
  g_test_add_func ("/cardpin/unblock-tls/plain-http", test_plain_http);

  result = g_test_run ();
  remove_pki ();
  return result;
}
