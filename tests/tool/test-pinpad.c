/* test-pinpad.c — PIN pad readers on the real stack
 *
 * A private pcscd loads tests/stack/ifd-pinpad.c (vpcd with a PC/SC part 10 keypad); the
 * digits "typed on the keypad" come from the stack's keypad file, which only pcscd's
 * reader reads. First the reader itself is checked against independent clients (OpenSC
 * sees a PIN pad and logs in through it), then core and cardpin-tool: the PIN change
 * with the digits typed on the keypad, a wrong current PIN, Cancel on the keypad, a
 * confirmation that differs, and the lean status route.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include "cardpin-error.h"
#include "cardpin-test-fixture.h"

#define KEYPAD_MESSAGE "on the reader's keypad"

static const char *
reader0 (CardpinTestFixture *fixture)
{
  return cardpin_test_stack_get_reader (fixture->stack, 0);
}

static void
keypad (CardpinTestFixture *fixture,
        const char * const *entries)
{
  cardpin_test_stack_set_keypad (fixture->stack, entries);
}

/* asserts that the reader took every entry typed */
static void
assert_keypad_used (CardpinTestFixture *fixture)
{
  g_autofree char *left = cardpin_test_stack_get_keypad_left (fixture->stack);

  g_assert_cmpstr (left, ==, "");
}

/* cardpin-tool with stdin closed: it must not ask for anything there */
static int
tool_change (CardpinTestFixture  *fixture,
             char               **out,
             char               **err)
{
  const char *tool = g_getenv ("CARDPIN_TOOL");

  g_assert_nonnull (tool);
  return cardpin_test_run ((const char * const[]) { tool, "change", "--reader",
                                                    reader0 (fixture), NULL },
                           "", out, err);
}

/* A pipe holding @text, its read end for the tool */
static int
pipe_with (const char *text)
{
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], text, strlen (text)), ==, (gssize) strlen (text));
  close (fds[1]);
  return fds[0];
}

/* cardpin-tool change with the PINs on file descriptors 3 and 4, as a script runs it */
static int
tool_change_fds (CardpinTestFixture  *fixture,
                 const char          *pin,
                 const char          *new_pin,
                 char               **err)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  g_subprocess_launcher_take_fd (launcher, pipe_with (pin), 3);
  g_subprocess_launcher_take_fd (launcher, pipe_with (new_pin), 4);
  process = g_subprocess_launcher_spawnv (launcher,
                                          (const char * const[]) { g_getenv ("CARDPIN_TOOL"),
                                                                   "change", "--reader",
                                                                   reader0 (fixture),
                                                                   "--pin-fd", "3",
                                                                   "--new-pin-fd", "4", NULL },
                                          &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, "", NULL, &out, err, &error));
  g_assert_no_error (error);
  g_assert_null (strstr (out, KEYPAD_MESSAGE));
  return g_subprocess_get_exit_status (process);
}

/* The virtual reader is a PIN pad to OpenSC, an independent client: the token has a
 * protected authentication path, and a login without a PIN takes the digits from the
 * keypad (right: logged in; wrong: CKR_PIN_INCORRECT and one try spent). */
static void
test_reader (CardpinTestFixture *fixture,
             gconstpointer       data)
{
  const char *module = cardpin_test_opensc_module ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  g_assert_true (g_str_has_prefix (reader0 (fixture), "Virtual PIN Pad"));

  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "pkcs11-tool", "--module", module,
                                                              "--list-token-slots", NULL },
                                     NULL, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "PIN pad present"));
  g_clear_pointer (&out, g_free);

  keypad (fixture, (const char * const[]) { "123456", NULL });
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "pkcs11-tool", "--module", module,
                                                              "--login", "--list-objects",
                                                              NULL },
                                     NULL, NULL, NULL), ==, 0);
  assert_keypad_used (fixture);

  keypad (fixture, (const char * const[]) { "999999", NULL });
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "pkcs11-tool", "--module", module,
                                                              "--login", "--list-objects",
                                                              NULL },
                                     NULL, NULL, &err), !=, 0);
  g_assert_nonnull (strstr (err, "CKR_PIN_INCORRECT"));
  assert_keypad_used (fixture);
  g_assert_cmpint (cardpin_test_card_tries (reader0 (fixture), 0x80), ==, 2);
}

/* Core: the token says it has a PIN pad, and a verify without a PIN takes the keypad's */
static void
test_core_verify (CardpinTestFixture *fixture,
                  gconstpointer       data)
{
  g_autoptr(GError) error = NULL;
  CardpinToken *token;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  token = cardpin_test_fixture_token (fixture, NULL, NULL);
  g_assert_true (cardpin_token_has_pinpad (token));
  g_assert_true (cardpin_token_is_piv (token));

  keypad (fixture, (const char * const[]) { "123456", NULL });
  g_assert_true (cardpin_token_verify_pin (token, NULL, NULL, &error));
  g_assert_no_error (error);
  assert_keypad_used (fixture);

  keypad (fixture, (const char * const[]) { "654321", NULL });
  g_assert_false (cardpin_token_verify_pin (token, NULL, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN);
  g_assert_cmpint (cardpin_error_get_tries_left (error), ==, 2);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 2);
}

/* (a) cardpin-tool change: the keypad message, nothing read from stdin, the new PIN is
 * the one typed on the keypad (yubico-piv-tool accepts it, not the old one) */
static void
test_tool_change (CardpinTestFixture *fixture,
                  gconstpointer       data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  keypad (fixture, (const char * const[]) { "123456", "739154", "739154", NULL });
  g_assert_cmpint (tool_change (fixture, &out, &err), ==, 0);
  g_test_message ("stdout: %s\nstderr: %s", out, err);
  g_assert_nonnull (strstr (out, KEYPAD_MESSAGE));
  g_assert_nonnull (strstr (out, "The PIN was changed."));
  assert_keypad_used (fixture);

  g_assert_cmpint (cardpin_test_yubico_verify (reader0 (fixture), "739154"), ==, 0);
  g_assert_cmpint (cardpin_test_yubico_verify (reader0 (fixture), "123456"), !=, 0);
}

/* (b) a wrong current PIN typed on the keypad: the tries left in the error, the PIN
 * unchanged */
static void
test_tool_wrong_pin (CardpinTestFixture *fixture,
                     gconstpointer       data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  keypad (fixture, (const char * const[]) { "999999", "739154", "739154", NULL });
  g_assert_cmpint (tool_change (fixture, &out, &err), ==, 1);
  g_test_message ("stderr: %s", err);
  g_assert_nonnull (strstr (out, KEYPAD_MESSAGE));
  g_assert_nonnull (strstr (err, "Wrong PIN. 2 tries left"));
  assert_keypad_used (fixture);
  g_assert_cmpint (cardpin_test_card_tries (reader0 (fixture), 0x80), ==, 2);

  /* the old PIN still works, the typed new one does not */
  g_assert_cmpint (cardpin_test_yubico_verify (reader0 (fixture), "123456"), ==, 0);
  g_assert_cmpint (cardpin_test_yubico_verify (reader0 (fixture), "739154"), !=, 0);
}

/* (c) Cancel on the keypad (nothing typed): a clear error, nothing reached the card; and
 * the same for a confirmation that differs and a PIN too short for the reader */
static void
test_tool_cancel (CardpinTestFixture *fixture,
                  gconstpointer       data)
{
  static const struct {
    const char *entries[4];
    const char *message;
  } cases[] = {
    { { NULL }, "cancelled" },
    { { "123456", NULL }, "cancelled" },
    { { "123456", "739154", "739155" }, "differ" },
    { { "123", "739154", "739154" }, "6 to 8 digits" },
  };

  cardpin_test_fixture_insert (fixture, 0, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      keypad (fixture, cases[i].entries);
      g_assert_cmpint (tool_change (fixture, &out, &err), ==, 1);
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, err);
      g_assert_nonnull (strstr (err, cases[i].message));
      g_assert_nonnull (strstr (err, "Nothing"));
      assert_keypad_used (fixture);
      /* the card saw nothing: no try spent */
      g_assert_cmpint (cardpin_test_card_tries (reader0 (fixture), 0x80), ==, 3);
    }
  g_assert_cmpint (cardpin_test_yubico_verify (reader0 (fixture), "123456"), ==, 0);
}

/* A script that hands the PINs over on file descriptors: they go to the card as on any
 * reader (the keypad is not used), and the PIN rules hold for them */
static void
test_tool_change_fds (CardpinTestFixture *fixture,
                      gconstpointer       data)
{
  g_autofree char *err = NULL;
  g_autofree char *left = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  keypad (fixture, (const char * const[]) { "999999", NULL });

  /* a weak new PIN is refused before the card */
  g_assert_cmpint (tool_change_fds (fixture, "123456\n", "111111\n", &err), ==, 1);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tool_change_fds (fixture, "123456\n", "739154\n", &err), ==, 0);
  g_assert_cmpint (cardpin_test_yubico_verify (reader0 (fixture), "739154"), ==, 0);
  /* nobody typed on the keypad */
  left = cardpin_test_stack_get_keypad_left (fixture->stack);
  g_assert_cmpstr (left, ==, "999999\n");
}

/* The lean status route (PC/SC only) on a PIN pad reader: the card and its tries */
static void
test_tool_status (CardpinTestFixture *fixture,
                  gconstpointer       data)
{
  const char *tool = g_getenv ("CARDPIN_TOOL");
  g_autofree char *out = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--pin-tries", "2", NULL });
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { tool, "status", "--json", NULL },
                                     NULL, &out, NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "Virtual PIN Pad 00 00"));
  g_assert_nonnull (strstr (out, "\"pin_tries_left\" : 2"));
}

/* CARDPIN_TEST_PINPAD (test-pam-pinpad runs the PAM tests with it): the usual reader
 * names, with a PIN pad */
static void
setup_env_knob (CardpinTestFixture *fixture,
                gconstpointer       data)
{
  g_setenv ("CARDPIN_TEST_PINPAD", "1", TRUE);
  cardpin_test_fixture_setup (fixture, data);
  g_unsetenv ("CARDPIN_TEST_PINPAD");
}

static void
test_env_knob (CardpinTestFixture *fixture,
               gconstpointer       data)
{
  CardpinToken *token;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  g_assert_cmpstr (reader0 (fixture), ==, CARDPIN_TEST_READER0);
  token = cardpin_test_fixture_token (fixture, NULL, NULL);
  g_assert_true (cardpin_token_has_pinpad (token));
}

int
main (int   argc,
      char *argv[])
{
  cardpin_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add ("/cardpin/pinpad/" path, CardpinTestFixture, NULL, \
              cardpin_test_fixture_setup_pinpad, func, cardpin_test_fixture_teardown)
  ADD ("reader", test_reader);
  ADD ("core-verify", test_core_verify);
  ADD ("tool-change", test_tool_change);
  ADD ("tool-wrong-pin", test_tool_wrong_pin);
  ADD ("tool-cancel", test_tool_cancel);
  ADD ("tool-change-fds", test_tool_change_fds);
  ADD ("tool-status", test_tool_status);
#undef ADD
  g_test_add ("/cardpin/pinpad/env-knob", CardpinTestFixture, NULL, setup_env_knob,
              test_env_knob, cardpin_test_fixture_teardown);

  return g_test_run ();
}
