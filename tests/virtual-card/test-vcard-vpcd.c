/* test-vcard-vpcd.c: the virtual card's vpcd transport, end to end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The test plays vpcd: it listens on a loopback port, starts
 * cardpin-virtual-card (path in argv[1]) and speaks the framing to it.
 */

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "vcard-state.h"

static const char *card_exe;

typedef struct
{
  char              *dir;
  char              *state_path;
  GSocketListener   *listener;
  guint16            port;
  GSubprocess       *card;
  GSocketConnection *connection;
  char              *stderr_text;
} Fixture;

static void
accept_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GSocketConnection **connection = user_data;
  g_autoptr(GError) error = NULL;

  *connection = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL,
                                                 &error);
  g_assert_no_error (error);
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_error ("timed out waiting for the virtual card");
  return G_SOURCE_REMOVE;
}

static void
start_card (Fixture    *fixture,
            const char *extra)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) extra_args = NULL;
  guint timeout;

  g_ptr_array_add (argv, g_strdup (card_exe));
  g_ptr_array_add (argv, g_strdup ("--port"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", fixture->port));
  g_ptr_array_add (argv, g_strdup ("--state"));
  g_ptr_array_add (argv, g_strdup (fixture->state_path));
  g_ptr_array_add (argv, g_strdup ("--key-alg"));
  g_ptr_array_add (argv, g_strdup ("eccp256"));
  g_ptr_array_add (argv, g_strdup ("-v"));
  if (extra != NULL)
    {
      g_assert_true (g_shell_parse_argv (extra, NULL, &extra_args, NULL));
      for (guint i = 0; extra_args[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (extra_args[i]));
    }
  g_ptr_array_add (argv, NULL);

  fixture->card = g_subprocess_newv ((const char * const *) argv->pdata,
                                     G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);

  timeout = g_timeout_add_seconds (30, timeout_cb, NULL);
  g_socket_listener_accept_async (fixture->listener, NULL, accept_cb, &fixture->connection);
  while (fixture->connection == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout);

  g_socket_set_timeout (g_socket_connection_get_socket (fixture->connection), 20);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;

  fixture->dir = g_dir_make_tmp ("test-vcard-vpcd-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->state_path = g_build_filename (fixture->dir, "state", NULL);

  fixture->listener = g_socket_listener_new ();
  g_socket_listener_add_address (fixture->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  fixture->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));

  start_card (fixture, data);
}

/* Waits for the card to exit; returns its exit status */
static int
wait_card (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) err_bytes = NULL;

  g_subprocess_communicate (fixture->card, NULL, NULL, NULL, &err_bytes, &error);
  g_assert_no_error (error);
  g_free (fixture->stderr_text);
  fixture->stderr_text = g_strndup (g_bytes_get_data (err_bytes, NULL),
                                    g_bytes_get_size (err_bytes));
  g_assert_true (g_subprocess_get_if_exited (fixture->card));
  return g_subprocess_get_exit_status (fixture->card);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  /* Still running: the test failed half-way */
  if (fixture->card != NULL && g_subprocess_get_identifier (fixture->card) != NULL)
    {
      g_subprocess_force_exit (fixture->card);
      g_subprocess_wait (fixture->card, NULL, NULL);
    }
  g_clear_object (&fixture->connection);
  g_clear_object (&fixture->card);
  g_socket_listener_close (fixture->listener);
  g_clear_object (&fixture->listener);
  g_unlink (fixture->state_path);
  g_rmdir (fixture->dir);
  g_free (fixture->state_path);
  g_free (fixture->dir);
  g_free (fixture->stderr_text);
}

static void
send_frame (Fixture    *fixture,
            const char *hex)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (fixture->connection));
  g_autoptr(GError) error = NULL;
  guint8 frame[300];
  gsize n = 0;

  for (const char *p = hex; *p != '\0'; )
    {
      if (*p == ' ')
        {
          p++;
          continue;
        }
      frame[2 + n++] = g_ascii_xdigit_value (p[0]) << 4 | g_ascii_xdigit_value (p[1]);
      p += 2;
    }
  frame[0] = n >> 8;
  frame[1] = n & 0xFF;
  g_output_stream_write_all (out, frame, n + 2, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Returns the payload as uppercase hex without spaces, or NULL at EOF */
static char *
recv_frame (Fixture *fixture)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (fixture->connection));
  g_autoptr(GError) error = NULL;
  GString *hex = g_string_new (NULL);
  guint8 buf[0x10000];
  gsize n = 0;
  gsize len;

  g_input_stream_read_all (in, buf, 2, &n, NULL, &error);
  g_assert_no_error (error);
  if (n == 0)
    {
      g_string_free (hex, TRUE);
      return NULL;
    }
  g_assert_cmpuint (n, ==, 2);
  len = buf[0] << 8 | buf[1];
  g_input_stream_read_all (in, buf, len, &n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, len);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02X", buf[i]);
  return g_string_free (hex, FALSE);
}

static void
assert_exchange (Fixture    *fixture,
                 const char *command,
                 const char *expected)
{
  g_autofree char *response = NULL;

  send_frame (fixture, command);
  response = recv_frame (fixture);
  g_assert_cmpstr (response, ==, expected);
}

#define SELECT "00 A4 04 00 05 A0 00 00 03 08 00"
#define SELECTED "61114F0600001000010079074F05A0000003089000"
#define VERIFY_WRONG "00 20 00 80 08 39 38 37 36 35 34 FF FF"
#define VERIFY_RIGHT "00 20 00 80 08 31 32 33 34 35 36 FF FF"

static guint
saved_pin_tries (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VcardState) state = vcard_state_load (fixture->state_path, &error);

  g_assert_no_error (error);
  return state->pin_tries_left;
}

static void
test_session (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *atr = NULL;

  /* Get ATR; power on has no answer */
  send_frame (fixture, "04");
  atr = recv_frame (fixture);
  g_assert_cmpstr (atr, ==, "3B888001436172645049563143");
  send_frame (fixture, "01");

  assert_exchange (fixture, SELECT, SELECTED);
  assert_exchange (fixture, VERIFY_WRONG, "63C2");
  assert_exchange (fixture, VERIFY_RIGHT, "9000");
  assert_exchange (fixture, "00 20 00 80", "9000");

  /* Reset ends the session: nothing selected, PIN status lost */
  send_frame (fixture, "02");
  assert_exchange (fixture, "00 20 00 80", "6985");
  assert_exchange (fixture, SELECT, SELECTED);
  assert_exchange (fixture, "00 20 00 80", "63C3");

  /* Power off too */
  assert_exchange (fixture, VERIFY_RIGHT, "9000");
  send_frame (fixture, "00");
  send_frame (fixture, "01");
  assert_exchange (fixture, "00 20 00 80", "6985");

  /* vpcd closes the connection: the card exits 0 */
  g_io_stream_close (G_IO_STREAM (fixture->connection), NULL, NULL);
  g_assert_cmpint (wait_card (fixture), ==, 0);

  /* -v logs headers and status words, never the PIN */
  g_assert_nonnull (strstr (fixture->stderr_text, "00 20 00 80 -> 63C2"));
  g_assert_null (strstr (fixture->stderr_text, "31 32 33"));
  g_assert_null (strstr (fixture->stderr_text, "313233"));
  g_assert_null (strstr (fixture->stderr_text, "123456"));
  g_assert_null (strstr (fixture->stderr_text, "39 38 37"));
}

/* --apdu-delay-ms 200: each answer comes at least 200 ms after its command */
static void
test_apdu_delay (Fixture       *fixture,
                 gconstpointer  data)
{
  gint64 start;

  send_frame (fixture, "01");
  start = g_get_monotonic_time ();
  assert_exchange (fixture, SELECT, SELECTED);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 200 * G_TIME_SPAN_MILLISECOND);

  g_io_stream_close (G_IO_STREAM (fixture->connection), NULL, NULL);
  g_assert_cmpint (wait_card (fixture), ==, 0);
}

static void
test_drop_before (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *response = NULL;

  assert_exchange (fixture, SELECT, SELECTED);
  send_frame (fixture, VERIFY_WRONG);
  response = recv_frame (fixture);
  g_assert_null (response);
  g_assert_cmpint (wait_card (fixture), ==, 0);
  g_assert_cmpuint (saved_pin_tries (fixture), ==, 3);
}

static void
test_drop_after (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *response = NULL;

  /* Control messages are not counted */
  send_frame (fixture, "01");
  assert_exchange (fixture, SELECT, SELECTED);
  send_frame (fixture, "02");
  assert_exchange (fixture, SELECT, SELECTED);
  send_frame (fixture, VERIFY_WRONG);
  response = recv_frame (fixture);
  g_assert_null (response);
  g_assert_cmpint (wait_card (fixture), ==, 0);
  g_assert_cmpuint (saved_pin_tries (fixture), ==, 2);

  /* A restarted card keeps the counter */
  g_clear_object (&fixture->connection);
  g_clear_object (&fixture->card);
  start_card (fixture, NULL);
  assert_exchange (fixture, SELECT, SELECTED);
  assert_exchange (fixture, "00 20 00 80", "63C2");
}

/* --mute-file FILE: while FILE exists the card answers every command with one byte and
 * applies none, yet stays connected; once FILE is gone it answers again */
static void
test_mute_file (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *mute = g_build_filename (fixture->dir, "mute", NULL);
  g_autofree char *extra = g_strdup_printf ("--mute-file %s", mute);
  g_autoptr(GError) error = NULL;

  /* the card of the set-up has no --mute-file: this one does */
  g_io_stream_close (G_IO_STREAM (fixture->connection), NULL, NULL);
  g_assert_cmpint (wait_card (fixture), ==, 0);
  g_clear_object (&fixture->connection);
  g_clear_object (&fixture->card);
  start_card (fixture, extra);

  send_frame (fixture, "01");
  assert_exchange (fixture, SELECT, SELECTED);

  g_assert_true (g_file_set_contents (mute, "", 0, &error));
  g_assert_no_error (error);
  assert_exchange (fixture, SELECT, "6F");
  assert_exchange (fixture, VERIFY_WRONG, "6F");
  assert_exchange (fixture, "00 20 00 80", "6F");

  /* readable again, in the same session: the wrong PIN was never applied */
  g_assert_cmpint (g_unlink (mute), ==, 0);
  assert_exchange (fixture, "00 20 00 80", "63C3");
  assert_exchange (fixture, VERIFY_RIGHT, "9000");

  g_io_stream_close (G_IO_STREAM (fixture->connection), NULL, NULL);
  g_assert_cmpint (wait_card (fixture), ==, 0);
  g_assert_nonnull (strstr (fixture->stderr_text, "garbling the answer to command 2\n"));
  g_assert_nonnull (strstr (fixture->stderr_text, "garbling the answer to command 4\n"));
  g_assert_null (strstr (fixture->stderr_text, "garbling the answer to command 5\n"));
  g_assert_cmpuint (saved_pin_tries (fixture), ==, 3);
}

static void
test_sigterm (Fixture       *fixture,
              gconstpointer  data)
{
  assert_exchange (fixture, SELECT, SELECTED);
  assert_exchange (fixture, VERIFY_WRONG, "63C2");
  g_subprocess_send_signal (fixture->card, SIGTERM);
  g_assert_cmpint (wait_card (fixture), ==, 0);
  g_assert_cmpuint (saved_pin_tries (fixture), ==, 2);
}

static void
test_bad_options (void)
{
  const char *bad[][4] = {
    { "--pin", "12", NULL },
    { "--port", "1", "--key-alg", "dsa" },
    { "--port", "1", "--serial", "xyz" },
    { "--port", "1", "--drop-after", "0" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GSubprocess) card = NULL;
      g_autoptr(GError) error = NULL;
      const char *argv[6] = { card_exe };

      memcpy (argv + 1, bad[i], sizeof bad[i]);
      card = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
      g_assert_no_error (error);
      g_subprocess_wait (card, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_if_exited (card));
      g_assert_cmpint (g_subprocess_get_exit_status (card), ==, 2);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  if (argc < 2)
    {
      g_printerr ("usage: %s [gtest options] PATH-TO-cardpin-virtual-card\n", argv[0]);
      return 1;
    }
  card_exe = argv[1];

  g_test_add ("/cardpin/vcard-vpcd/session", Fixture, NULL,
              fixture_setup, test_session, fixture_teardown);
  g_test_add ("/cardpin/vcard-vpcd/apdu-delay", Fixture, "--apdu-delay-ms 200",
              fixture_setup, test_apdu_delay, fixture_teardown);
  g_test_add ("/cardpin/vcard-vpcd/drop-before", Fixture, "--drop-after 2:before",
              fixture_setup, test_drop_before, fixture_teardown);
  g_test_add ("/cardpin/vcard-vpcd/drop-after", Fixture, "--drop-after 3:after",
              fixture_setup, test_drop_after, fixture_teardown);
  g_test_add ("/cardpin/vcard-vpcd/mute-file", Fixture, NULL,
              fixture_setup, test_mute_file, fixture_teardown);
  g_test_add ("/cardpin/vcard-vpcd/sigterm", Fixture, NULL,
              fixture_setup, test_sigterm, fixture_teardown);
  g_test_add_func ("/cardpin/vcard-vpcd/bad-options", test_bad_options);

  return g_test_run ();
}
