/* test-tool.c — cardpin-tool, run as a subprocess on the real stack
 *
 * Status output and exit codes, and the PIN commands with secrets on file descriptors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "cardpin-code.h"
#include "cardpin-error.h"
#include "cardpin-secret.h"
#include "cardpin-test-fixture.h"
#include "cardpin-unblock-session.h"

#define READER0 CARDPIN_TEST_READER0
#define READER1 CARDPIN_TEST_READER1
#define SERIAL_A "00112233445566778899AABBCCDDEEFF"
#define AES_KEY "00112233445566778899AABBCCDDEEFF"

static CardpinSecret *
secret (const char *text)
{
  return cardpin_secret_new_from_string (text);
}

static JsonArray *
run_tool_json (int *exit_status)
{
  const char *tool = g_getenv ("CARDPIN_TOOL");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "G_MESSAGES_DEBUG", "all", TRUE);
  JsonNode *root;
  int status = -1;

  /* stdout holds the JSON alone, whatever G_MESSAGES_DEBUG says: the debug messages
   * (there are some) go to stderr */
  g_assert_nonnull (tool);
  g_assert_true (g_spawn_sync (NULL,
                               (char *[]) { (char *) tool, "status", "--json", "--module",
                                            (char *) cardpin_test_opensc_module (), NULL },
                               envp, 0, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  *exit_status = WEXITSTATUS (status);
  if (*exit_status == 1)
    g_test_message ("stderr: %s", err);
  g_assert_nonnull (strstr (err, "DEBUG"));

  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  return json_array_ref (json_node_get_array (root));
}

static void
test_tool_json (CardpinTestFixture *fixture,
                gconstpointer  data)
{
  g_autoptr(JsonArray) array = NULL;
  JsonObject *card;
  int exit_status = -1;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_A, NULL });
  array = run_tool_json (&exit_status);
  g_assert_cmpint (exit_status, ==, 0);
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  card = json_array_get_object_element (array, 0);
  g_assert_cmpstr (json_object_get_string_member (card, "reader"), ==, "Virtual PCD 00 00");
  g_assert_cmpstr (json_object_get_string_member (card, "serial"), ==, SERIAL_A);
  g_assert_cmpstr (json_object_get_string_member (card, "pin_state"), ==, "ok");
  g_assert_cmpint (json_object_get_int_member (card, "pin_tries_left"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (card, "puk_tries_left"), ==, 3);
  g_assert_true (json_object_has_member (card, "label"));
  g_assert_true (json_object_has_member (card, "manufacturer"));
  g_assert_true (json_object_has_member (card, "model"));
  g_assert_nonnull (json_object_get_string_member (card, "atr"));
  g_clear_pointer (&array, json_array_unref);

  /* a blocked PIN: exit status 2 */
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--pin-tries", "1", NULL });
  cardpin_test_wrong_pin ("Virtual PCD 00 01");
  array = run_tool_json (&exit_status);
  g_assert_cmpint (exit_status, ==, 2);
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      card = json_array_get_object_element (array, i);
      if (g_str_equal (json_object_get_string_member (card, "reader"), "Virtual PCD 00 01"))
        {
          g_assert_cmpstr (json_object_get_string_member (card, "pin_state"), ==, "locked");
          g_assert_cmpint (json_object_get_int_member (card, "pin_tries_left"), ==, 0);
        }
      else
        {
          g_assert_cmpstr (json_object_get_string_member (card, "pin_state"), ==, "ok");
        }
    }
}

static void
test_tool_no_service (void)
{
  const char *tool = g_getenv ("CARDPIN_TOOL");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  g_autoptr(CardpinManager) manager = NULL;
  const GError *pcsc_error;

  /* no pcscd in this namespace at the moment: the manager says so */
  manager = cardpin_manager_new (modules, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 0);
  pcsc_error = cardpin_manager_get_pcsc_error (manager);
  g_assert_error ((GError *) pcsc_error, CARDPIN_ERROR, CARDPIN_ERROR_PCSC_UNAVAILABLE);
  g_assert_nonnull (strstr (pcsc_error->message, "pcscd"));

  /* and the tool fails with that, instead of "insert your card" */
  g_assert_true (g_spawn_sync (NULL,
                               (char *[]) { (char *) tool, "status", "--json", "--module",
                                            (char *) cardpin_test_opensc_module (), NULL },
                               NULL, 0, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err, "pcscd"));
  g_assert_cmpstr (out, ==, "");
}

/* cardpin-tool with secrets on file descriptors */

/* When set, the tool runs with the settings in $tool_config_home/glib-2.0/settings/keyfile
 * (GSettings keyfile backend), see with_settings() */
static char *tool_config_home;

static void
with_settings (const char *keyfile)
{
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;

  tool_config_home = g_dir_make_tmp ("cardpin-tool-XXXXXX", NULL);
  g_assert_nonnull (tool_config_home);
  dir = g_build_filename (tool_config_home, "glib-2.0", "settings", NULL);
  file = g_build_filename (dir, "keyfile", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, keyfile, -1, NULL));
}

static void
without_settings (void)
{
  g_autofree char *dir = g_build_filename (tool_config_home, "glib-2.0", "settings", NULL);
  g_autofree char *file = g_build_filename (dir, "keyfile", NULL);
  g_autofree char *glib_dir = g_build_filename (tool_config_home, "glib-2.0", NULL);

  g_assert_cmpint (g_remove (file), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_assert_cmpint (g_rmdir (glib_dir), ==, 0);
  g_assert_cmpint (g_rmdir (tool_config_home), ==, 0);
  g_clear_pointer (&tool_config_home, g_free);
}

static GSubprocess *
spawn_tool_fds (const char * const *args,
                const char         *fd3,
                const char         *fd4,
                const char         *fd5,
                const char         *fd6,
                GError            **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *texts[] = { fd3, fd4, fd5, fd6 };
  guint i;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (tool_config_home != NULL)
    {
      g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "keyfile", TRUE);
      g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", tool_config_home, TRUE);
    }
  for (i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      int fds[2];

      if (texts[i] == NULL)
        continue;
      g_assert_cmpint (pipe (fds), ==, 0);
      g_assert_cmpint (write (fds[1], texts[i], strlen (texts[i])), ==, strlen (texts[i]));
      close (fds[1]);
      g_subprocess_launcher_take_fd (launcher, fds[0], 3 + i);
    }

  g_ptr_array_add (argv, (char *) g_getenv ("CARDPIN_TOOL"));
  for (i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, "--module");
  g_ptr_array_add (argv, (char *) cardpin_test_opensc_module ());
  g_ptr_array_add (argv, NULL);

  return g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
}

static GSubprocess *
spawn_tool (const char * const *args,
            const char         *fd3,
            const char         *fd4,
            const char         *fd5,
            GError            **error)
{
  return spawn_tool_fds (args, fd3, fd4, fd5, NULL, error);
}

static int
tool (const char * const *args,
      const char         *fd3,
      const char         *fd4,
      const char         *fd5,
      char              **err)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  process = spawn_tool (args, fd3, fd4, fd5, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, err, &error));
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (process);
}

static void
test_tool_change_and_unblock (CardpinTestFixture *fixture,
                              gconstpointer  data)
{
  g_autofree char *err = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--serial", "BEEF", NULL });

  /* two cards: the tool wants to know which */
  g_assert_cmpint (tool ((const char * const[]) { "change", "--pin-fd", "3", "--new-pin-fd",
                                                  "4", NULL }, "123456\n", "739154\n", NULL,
                         &err), ==, 1);
  g_assert_nonnull (strstr (err, "2 cards"));
  g_clear_pointer (&err, g_free);

  /* a weak new PIN is refused before the card */
  g_assert_cmpint (tool ((const char * const[]) { "change", "--reader", READER0, "--pin-fd",
                                                  "3", "--new-pin-fd", "4", NULL },
                         "123456\n", "111111\n", NULL, &err), ==, 1);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);

  g_assert_cmpint (tool ((const char * const[]) { "change", "--reader", READER0, "--pin-fd",
                                                  "3", "--new-pin-fd", "4", NULL },
                         "123456\n", "739154\n", NULL, &err), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "739154"), ==, 0);

  /* the PUK of the second card, chosen by serial */
  g_assert_cmpint (tool ((const char * const[]) { "change-puk", "--serial",
                                                  "0000000000000000000000000000BEEF",
                                                  "--puk-fd", "3", "--new-puk-fd", "4",
                                                  NULL },
                         "12345678\n", "86421357\n", NULL, &err), ==, 0);
  g_clear_pointer (&err, g_free);

  /* block the second card's PIN, unblock it with the new PUK */
  for (guint i = 0; i < 3; i++)
    cardpin_test_yubico_verify (READER1, "999999");
  /* --puk and --challenge are exclusive, one is needed */
  g_assert_cmpint (tool ((const char * const[]) { "unblock", "--reader", READER1, NULL },
                         NULL, NULL, NULL, &err), ==, 1);
  g_clear_pointer (&err, g_free);
  /* a secret on the command line is refused */
  g_assert_cmpint (tool ((const char * const[]) { "unblock", "--puk", "--reader", READER1,
                                                  "86421357", NULL },
                         NULL, NULL, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "never taken from the command line"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tool ((const char * const[]) { "unblock", "--puk", "--reader", READER1,
                                                  "--new-pin-fd", "4", "--puk-fd", "3",
                                                  NULL },
                         "86421357\n", "509172\n", NULL, &err), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cardpin_test_yubico_verify (READER1, "509172"), ==, 0);
}

static void
test_tool_setup (CardpinTestFixture *fixture,
                 gconstpointer  data)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) new_puk = secret ("86421357");
  g_autoptr(CardpinSecret) check_pin = secret ("509172");

  cardpin_test_fixture_insert (fixture, 0, NULL);

  /* the factory PIN typed as the current one: the tool also sets a personal PUK */
  process = spawn_tool_fds ((const char * const[]) { "setup", "--pin-fd", "3",
                                                     "--new-pin-fd", "4", "--puk-fd", "5",
                                                     "--new-puk-fd", "6", NULL },
                            "123456\n", "739154\n", "12345678\n", "86421357\n", &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    g_test_message ("setup: %s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_nonnull (strstr (out, "PUK"));
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "739154"), ==, 0);

  /* the personal PUK works */
  token = cardpin_test_fixture_token (fixture, READER0, NULL);
  cardpin_test_block_pin (token, 3);
  g_assert_true (cardpin_token_unblock_pin (token, new_puk, check_pin, NULL, &error));
  g_assert_no_error (error);
}

/* The PUK has its own policy: with pin-max-length=6 an 8-digit PUK can still be set,
 * while a new PIN stays limited to 6 */
static void
test_tool_puk_policy (CardpinTestFixture *fixture,
                      gconstpointer       data)
{
  g_autofree char *err = NULL;

  with_settings ("[io/github/cardpin/CardPin]\npin-max-length=6\n");
  cardpin_test_fixture_insert (fixture, 0, NULL);

  g_assert_cmpint (tool ((const char * const[]) { "change-puk", "--reader", READER0,
                                                  "--puk-fd", "3", "--new-puk-fd", "4",
                                                  NULL },
                         "12345678\n", "86421357\n", NULL, &err), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "yubico-piv-tool", "-r", READER0,
                                                              "-a", "change-puk", "-P",
                                                              "86421357", "-N", "86421357",
                                                              NULL }, NULL, NULL, NULL), ==, 0);

  /* a 7-digit PIN: refused, in words, the PIN unchanged and no try spent */
  g_assert_cmpint (tool ((const char * const[]) { "change", "--reader", READER0, "--pin-fd",
                                                  "3", "--new-pin-fd", "4", NULL },
                         "123456\n", "7391542\n", NULL, &err), ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "at most 6"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 3);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);

  /* a 6-digit one is taken */
  g_assert_cmpint (tool ((const char * const[]) { "change", "--reader", READER0, "--pin-fd",
                                                  "3", "--new-pin-fd", "4", NULL },
                         "123456\n", "739154\n", NULL, &err), ==, 0);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "739154"), ==, 0);
  without_settings ();
}

/* The warning for a change-limited card model shows from the build tree: the list is
 * built into core, not looked up under the install prefix */
static void
test_tool_change_limited_warning (CardpinTestFixture *fixture,
                                  gconstpointer       data)
{
  g_autofree char *err = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) {
                                 "--atr", "3B8C80014341524450494E4C494D49541B",
                                 "--pin-change-limit", "1", NULL });
  g_assert_cmpint (tool ((const char * const[]) { "change", "--reader", READER0, "--pin-fd",
                                                  "3", "--new-pin-fd", "4", NULL },
                         "123456\n", "739154\n", NULL, &err), ==, 0);
  g_test_message ("%s", err);
  /* core's words (cardpin_token_explain_change_limit), with what remains before */
  g_assert_nonnull (strstr (err, "Warning: This card model (cardpin virtual card, "
                                 "change-limited test model) allows its PIN to be changed "
                                 "only 1 time. As far as this computer knows, this is the "
                                 "last change"));
  g_clear_pointer (&err, g_free);

  /* the change was counted: the next attempt says none remains (the card refuses) */
  g_assert_cmpint (tool ((const char * const[]) { "change", "--reader", READER0, "--pin-fd",
                                                  "3", "--new-pin-fd", "4", NULL },
                         "739154\n", "80421596\n", NULL, &err), !=, 0);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "As far as this computer knows, no change remains"));
}

/* Starts `unblock --challenge` on a blocked card in reader 0 with the admin key AES_KEY
 * and the new PIN 642913; returns the process and the right response code. */
static GSubprocess *
start_challenge (CardpinTestFixture  *fixture,
                 char               **code)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) parsed = NULL;
  g_autoptr(GBytes) challenge = NULL;
  g_autofree char *line = NULL;
  gsize len;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--admin-key", AES_KEY,
                                                                    NULL });
  for (guint i = 0; i < 3; i++)
    cardpin_test_yubico_verify (READER0, "999999");
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);

  process = spawn_tool ((const char * const[]) { "unblock", "--challenge", "--new-pin-fd",
                                                 "3", NULL }, "642913\n", NULL, NULL,
                        &error);
  g_assert_no_error (error);

  /* the challenge: one line on stdout in the code format */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line_utf8 (out, &len, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  parsed = cardpin_code_parse (line, 16, &error);
  g_assert_no_error (error);
  challenge = g_bytes_new (cardpin_secret_get_data (parsed), cardpin_secret_get_length (parsed));
  *code = cardpin_test_response_code ("-aes-128-ecb", AES_KEY, challenge);
  return g_steal_pointer (&process);
}

static void
write_input (GSubprocess *process,
             const char  *input,
             gsize        len,
             gboolean     close_it)
{
  g_autoptr(GError) error = NULL;
  GOutputStream *in = g_subprocess_get_stdin_pipe (process);

  g_assert_true (g_output_stream_write_all (in, input, len, NULL, NULL, &error));
  g_assert_no_error (error);
  if (close_it)
    g_assert_true (g_output_stream_close (in, NULL, &error));
  else
    g_assert_true (g_output_stream_flush (in, NULL, &error));
  g_assert_no_error (error);
}

static void
test_tool_challenge (CardpinTestFixture *fixture,
                     gconstpointer       data)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;
  g_autofree char *typo = NULL;
  g_autofree char *input = NULL;

  process = start_challenge (fixture, &code);

  /* first a typo (refused, no card try), then the right code */
  typo = g_strdup (code);
  typo[1] = typo[1] == '0' ? '1' : '0';
  input = g_strdup_printf ("%s\n%s\n", typo, code);
  write_input (process, input, strlen (input), TRUE);

  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "642913"), ==, 0);
}

/* A response line over 1 KiB, or with a NUL, is refused even when it starts with the right
 * code; the tool exits by itself (its input stays open) and the PIN stays blocked. */
static void
challenge_refused (CardpinTestFixture *fixture,
                   gboolean            with_nul)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) input = NULL;
  g_autofree char *code = NULL;

  process = start_challenge (fixture, &code);
  input = g_string_new (code);
  if (with_nul)
    g_string_append_len (input, "\0 junk\n", 7);
  else
    {
      for (guint i = 0; i < 10 * 1024; i++)
        g_string_append_c (input, 'A');
      g_string_append_c (input, '\n');
    }
  write_input (process, input->str, input->len, FALSE);

  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 1);
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "642913"), !=, 0);
}

static void
test_tool_challenge_long_line (CardpinTestFixture *fixture,
                               gconstpointer       data)
{
  challenge_refused (fixture, FALSE);
}

static void
test_tool_challenge_nul (CardpinTestFixture *fixture,
                         gconstpointer       data)
{
  challenge_refused (fixture, TRUE);
}

/* The card pulled out while the helpdesk reads the response: the tool says so */
static void
test_tool_challenge_removed (CardpinTestFixture *fixture,
                             gconstpointer       data)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;
  g_autofree char *input = NULL;
  g_autofree char *err = NULL;

  process = start_challenge (fixture, &code);
  cardpin_test_fixture_pull (fixture, 0);
  input = g_strdup_printf ("%s\n", code);
  write_input (process, input, strlen (input), TRUE);

  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 1);
  err = g_malloc0 (4096);
  g_assert_true (g_input_stream_read_all (g_subprocess_get_stderr_pipe (process), err, 4095,
                                          NULL, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("stderr: %s", err);
  g_assert_nonnull (strstr (err, "the challenge is no longer valid"));
}

/* The factory-PUK hint after a PIN change follows what the card says of its PUK */
static void
test_tool_factory_puk_hint (CardpinTestFixture *fixture,
                            gconstpointer       data)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  /* a personal PIN, the factory PUK: the hint shows */
  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--pin", "654321", NULL });
  process = spawn_tool ((const char * const[]) { "change", "--reader", READER0, "--pin-fd",
                                                 "3", "--new-pin-fd", "4", NULL },
                        "654321\n", "739154\n739154\n", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_nonnull (strstr (out, "factory PUK"));
  g_clear_pointer (&out, g_free);
  g_clear_object (&process);
  cardpin_test_fixture_pull (fixture, 0);

  /* the factory PIN, a personal PUK: no hint */
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--puk", "86421357",
                                                                    NULL });
  process = spawn_tool ((const char * const[]) { "change", "--reader", READER1, "--pin-fd",
                                                 "3", "--new-pin-fd", "4", NULL },
                        "123456\n", "739154\n739154\n", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_null (strstr (out, "factory PUK"));
}

/* --reader for a reader that is not there: exit 1, says so, lists the readers */
static void
test_tool_no_such_reader (CardpinTestFixture *fixture,
                          gconstpointer       data)
{
  g_autofree char *err = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  g_assert_cmpint (tool ((const char * const[]) { "change", "--reader", "Virtual PCD 09 09",
                                                  "--pin-fd", "3", "--new-pin-fd", "4",
                                                  NULL }, "123456\n", "739154\n", NULL,
                         &err), ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "There is no reader “Virtual PCD 09 09”"));
  g_assert_nonnull (strstr (err, "“Virtual PCD 00 00”"));
  g_assert_nonnull (strstr (err, "“Virtual PCD 00 01”"));
  g_assert_null (strstr (err, "Insert"));
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);
}

/* The card goes away in the middle of the status read: never a success with no card or
 * half a state. Either the read finished before (the whole state, exit 0) or it fails
 * (exit 1, the reason on stderr, nothing on stdout). */
static void
test_tool_status_interrupted (CardpinTestFixture *fixture,
                              gconstpointer       data)
{
  guint failed = 0;

  for (guint k = 1; k <= 49; k += 4)
    {
      g_autofree char *drop = g_strdup_printf ("%u", k);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      CardpinTestCard *card;
      int status;

      card = cardpin_test_fixture_insert (fixture, 0, (const char * const[]) {
                                            "--drop-after", drop, NULL });
      status = cardpin_test_run ((const char * const[]) { g_getenv ("CARDPIN_TOOL"), "status",
                                                          "--json", "--module",
                                                          cardpin_test_opensc_module (),
                                                          NULL }, NULL, &out, &err);
      g_test_message ("drop after APDU %u: exit %d, %s", k, status, err);
      if (status == 0)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();
          JsonArray *array;
          JsonObject *object;

          g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
          array = json_node_get_array (json_parser_get_root (parser));
          /* gone before it was seen at all: no card is the truth */
          if (json_array_get_length (array) == 0)
            goto next;
          g_assert_cmpuint (json_array_get_length (array), ==, 1);
          object = json_array_get_object_element (array, 0);
          g_assert_cmpint (json_object_get_int_member (object, "pin_tries_left"), ==, 3);
          g_assert_cmpint (json_object_get_int_member (object, "puk_tries_left"), ==, 3);
          g_assert_nonnull (json_object_get_string_member (object, "serial"));
        }
      else
        {
          g_assert_cmpint (status, ==, 1);
          g_assert_cmpstr (out, ==, "");
          g_assert_cmpuint (strlen (err), >, 0);
          failed++;
        }
    next:
      /* the card dropped itself, or is stopped now (the read needed fewer APDUs) */
      cardpin_test_card_wait_gone (card, 1000);
      fixture->cards[0] = NULL;
    }
  /* the drops did hit the read */
  g_assert_cmpuint (failed, >, 0);
}

/* Runs `status --json` @extra with OpenSC logging to @opensc_log when it is loaded;
 * returns the exit status and the parsed card */
static JsonObject *
status_with_opensc_log (const char *opensc_log,
                        const char *extra,
                        int        *exit_status)
{
  g_autofree char *conf = g_strdup_printf ("%s.conf", opensc_log);
  g_autofree char *conf_text = g_strdup_printf ("app default {\n  debug = 1;\n"
                                                "  debug_file = %s;\n}\n", opensc_log);
  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "OPENSC_CONF", conf, TRUE);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { g_getenv ("CARDPIN_TOOL"), "status", "--json", "--module",
                         cardpin_test_opensc_module (), extra, NULL };
  JsonArray *array;
  int status = -1;

  g_assert_true (g_file_set_contents (conf, conf_text, -1, NULL));
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, 0, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  *exit_status = WEXITSTATUS (status);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  return json_object_ref (json_array_get_object_element (array, 0));
}

/* `status` reads a PIV card over PC/SC alone: a few APDUs, no PKCS#11 module loaded (no
 * OpenSC log appears), the same JSON fields; --all-tokens reads through PKCS#11 */
static void
test_tool_status_lean (CardpinTestFixture *fixture,
                       gconstpointer       data)
{
  g_autofree char *opensc_log = g_build_filename (cardpin_test_stack_get_dir (fixture->stack),
                                                  "opensc-debug.log", NULL);
  const char *fields[] = { "reader", "label", "serial", "pin_state", "pin_tries_left",
                           "puk_tries_left", "pin_tries_max", "manufacturer", "model",
                           "atr", "hardware", "module" };
  g_autoptr(JsonObject) lean = NULL;
  g_autoptr(JsonObject) full = NULL;
  int exit_status = -1;
  guint before;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "-v", "--serial",
                                                                    SERIAL_A, NULL });
  before = cardpin_test_fixture_card_apdus (fixture, 0);
  lean = status_with_opensc_log (opensc_log, NULL, &exit_status);
  g_assert_cmpint (exit_status, ==, 0);
  g_test_message ("status: %u APDUs",
                  cardpin_test_fixture_card_apdus (fixture, 0) - before);
  /* yubico-piv-tool -a status sends 37 to the same card */
  g_assert_cmpuint (cardpin_test_fixture_card_apdus (fixture, 0) - before, <=, 10);
  g_assert_false (g_file_test (opensc_log, G_FILE_TEST_EXISTS));

  g_assert_cmpuint (json_object_get_size (lean), ==, G_N_ELEMENTS (fields));
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (json_object_has_member (lean, fields[i]));
  g_assert_cmpstr (json_object_get_string_member (lean, "serial"), ==, SERIAL_A);
  g_assert_cmpstr (json_object_get_string_member (lean, "label"), ==, "Virtual Card User");
  g_assert_cmpint (json_object_get_int_member (lean, "pin_tries_left"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (lean, "puk_tries_left"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (lean, "pin_tries_max"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (lean, "model"), ==, "PIV");
  g_assert_true (json_object_get_null_member (lean, "module"));
  g_assert_true (json_object_get_boolean_member (lean, "hardware"));

  /* asked for every token: through OpenSC, the same state */
  full = status_with_opensc_log (opensc_log, "--all-tokens", &exit_status);
  g_assert_cmpint (exit_status, ==, 0);
  g_assert_true (g_file_test (opensc_log, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (json_object_get_string_member (full, "module"), ==, "opensc-pkcs11.so");
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (!g_str_equal (fields[i], "manufacturer") && !g_str_equal (fields[i], "model") &&
        !g_str_equal (fields[i], "module"))
      {
        g_autofree char *a = json_to_string (json_object_get_member (lean, fields[i]), FALSE);
        g_autofree char *b = json_to_string (json_object_get_member (full, fields[i]), FALSE);

        g_assert_cmpstr (a, ==, b);
      }
}

/* cardpin-tool links no HTTPS, JSON-protocol or Secret Service library (only
 * cardpin-tool-online, which it runs for `unblock --online`, does): every other command,
 * and --help, starts without loading them. Seen in the memory map of a tool waiting for
 * a PIN. */
static void
test_tool_lean_libraries (CardpinTestFixture *fixture,
                          gconstpointer       data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *maps_path = NULL;
  g_autofree char *maps = NULL;
  int fds[2];

  cardpin_test_fixture_insert (fixture, 0, NULL);
  g_assert_cmpint (pipe (fds), ==, 0);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_take_fd (launcher, fds[0], 3);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CARDPIN_TOOL"), "change",
                                         "--pin-fd", "3", "--new-pin-fd", "3", "--module",
                                         cardpin_test_opensc_module (), NULL);
  g_assert_no_error (error);

  /* once it waits for the PIN on fd 3, OpenSC is loaded: the libraries are all there */
  maps_path = g_strdup_printf ("/proc/%s/maps", g_subprocess_get_identifier (process));
  for (guint i = 0; i < 400; i++)
    {
      g_clear_pointer (&maps, g_free);
      if (g_file_get_contents (maps_path, &maps, NULL, NULL) &&
          strstr (maps, "opensc-pkcs11") != NULL)
        break;
      g_usleep (25 * 1000);
    }
  g_assert_nonnull (maps);
  g_assert_nonnull (strstr (maps, "opensc-pkcs11"));
  g_assert_null (strstr (maps, "libsoup-3.0"));
  g_assert_null (strstr (maps, "libsecret-1"));

  close (fds[1]);
  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (process), !=, 0);
}

/* The tool waiting for a PIN is already hardened: no core dumps, not dumpable */
static void
test_tool_hardened (CardpinTestFixture *fixture,
                    gconstpointer       data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *limits_path = NULL;
  g_autofree char *status_path = NULL;
  g_autofree char *limits = NULL;
  int fds[2];
  gboolean found = FALSE;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  g_assert_cmpint (pipe (fds), ==, 0);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_take_fd (launcher, fds[0], 3);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CARDPIN_TOOL"), "change",
                                         "--pin-fd", "3", "--new-pin-fd", "3", "--module",
                                         cardpin_test_opensc_module (), NULL);
  g_assert_no_error (error);

  /* it waits for the PIN on fd 3, which stays empty */
  limits_path = g_strdup_printf ("/proc/%s/limits", g_subprocess_get_identifier (process));
  for (guint i = 0; i < 200 && !found; i++)
    {
      g_autoptr(GRegex) regex = g_regex_new ("^Max core file size +0 +0 ", G_REGEX_MULTILINE,
                                             0, NULL);

      g_clear_pointer (&limits, g_free);
      if (g_file_get_contents (limits_path, &limits, NULL, NULL))
        found = g_regex_match (regex, limits, 0, NULL);
      if (!found)
        g_usleep (50 * 1000);
    }
  g_test_message ("%s", limits);
  g_assert_true (found);

  /* not dumpable: its /proc files belong to root, not to the user who runs it */
  if (getuid () != 0)
    {
      GStatBuf st;

      status_path = g_strdup_printf ("/proc/%s/mem", g_subprocess_get_identifier (process));
      g_assert_cmpint (g_stat (status_path, &st), ==, 0);
      g_assert_cmpuint (st.st_uid, ==, 0);
    }

  close (fds[1]);
  g_assert_true (g_subprocess_wait (process, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (process), !=, 0);
}

int
main (int   argc,
      char *argv[])
{
  cardpin_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add ("/cardpin/tool/" path, CardpinTestFixture, NULL, \
              cardpin_test_fixture_setup, func, cardpin_test_fixture_teardown)

  ADD ("status-json", test_tool_json);
  g_test_add_func ("/cardpin/tool/no-service", test_tool_no_service);
  ADD ("change-and-unblock", test_tool_change_and_unblock);
  ADD ("setup", test_tool_setup);
  ADD ("puk-policy", test_tool_puk_policy);
  ADD ("change-limited-warning", test_tool_change_limited_warning);
  ADD ("challenge", test_tool_challenge);
  ADD ("challenge-long-line", test_tool_challenge_long_line);
  ADD ("challenge-nul", test_tool_challenge_nul);
  ADD ("challenge-removed", test_tool_challenge_removed);
  ADD ("hardened", test_tool_hardened);
  ADD ("no-such-reader", test_tool_no_such_reader);
  ADD ("factory-puk-hint", test_tool_factory_puk_hint);
  ADD ("status-interrupted", test_tool_status_interrupted);
  ADD ("status-lean", test_tool_status_lean);
  ADD ("lean-libraries", test_tool_lean_libraries);

#undef ADD

  return g_test_run ();
}
