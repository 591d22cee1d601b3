/* test-operations.c — PIN operations on the real stack
 *
 * verify, change PIN and PUK, PUK unblock, admin challenge/response unblock, first-use
 * set-up, change-limited cards, the card never held during a status poll, and the
 * cardpin-tool commands; cross-checked with pkcs11-tool, yubico-piv-tool and the
 * openssl command line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "cardpin-apdu.h"
#include "cardpin-code.h"
#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-secret.h"
#include "cardpin-test-fixture.h"
#include "cardpin-token.h"
#include "cardpin-unblock-session.h"

#define READER0 CARDPIN_TEST_READER0
#define READER1 CARDPIN_TEST_READER1
#define AES_KEY "00112233445566778899AABBCCDDEEFF"
#define DES_KEY "010203040506070801020304050607080102030405060708"
#define LIMITED_ATR "3B8C80014341524450494E4C494D49541B"

static CardpinSecret *
secret (const char *text)
{
  return cardpin_secret_new_from_string (text);
}

static gboolean
verify (CardpinToken  *token,
        const char    *pin,
        GError       **error)
{
  g_autoptr(CardpinSecret) s = secret (pin);

  return cardpin_token_verify_pin (token, s, NULL, error);
}

/* Tests */

static void
test_verify (CardpinTestFixture *fixture,
             gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  token = cardpin_test_fixture_token (fixture, READER0, NULL);

  g_assert_true (verify (token, "123456", &error));
  g_assert_no_error (error);

  g_assert_false (verify (token, "111222", &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN);
  g_assert_cmpint (cardpin_error_get_tries_left (error), ==, 2);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 2);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_COUNT_LOW);
  g_clear_error (&error);

  /* a right PIN resets the counter */
  g_assert_true (verify (token, "123456", &error));
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);

  /* too long for PIV: refused before the card, no try spent */
  g_assert_false (verify (token, "123456789", &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_clear_error (&error);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);

  /* the verified state does not outlive the operation: signing needs a PIN again */
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "pkcs11-tool", "--module",
                                                 cardpin_test_opensc_module (),
                                                 "--slot-description", READER0,
                                                 "--sign", "--id", "01", "-m",
                                                 "SHA256-RSA-PKCS", "--input-file",
                                                 "/etc/hostname", "--output-file",
                                                 "/dev/null", NULL }, NULL, NULL, NULL), !=, 0);

  cardpin_test_block_pin (token, 3);
  g_assert_false (verify (token, "123456", &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PIN_BLOCKED);
}

static void
change_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GError **error = user_data;

  cardpin_token_change_pin_finish (CARDPIN_TOKEN (source), result, error);
  if (*error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "success marker");
}

static void
test_change_pin (CardpinTestFixture *fixture,
                 gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) old_pin = secret ("123456");
  g_autoptr(CardpinSecret) new_pin = secret ("739154");
  g_autoptr(CardpinSecret) newer_pin = secret ("80421596");
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  token = cardpin_test_fixture_token (fixture, READER0, NULL);
  g_assert_true (cardpin_token_is_factory_pin (token, old_pin));
  g_assert_false (cardpin_token_is_factory_pin (token, new_pin));
  g_assert_cmpint (cardpin_token_get_pin_is_default (token), ==, 1);

  g_assert_true (cardpin_token_change_pin (token, old_pin, new_pin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_is_default (token), ==, 0);

  /* other clients agree */
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "739154"), ==, 0);
  g_assert_cmpint (cardpin_test_pkcs11_tool_login (READER0, "739154"), ==, 0);

  /* a wrong current PIN changes nothing and costs a try */
  g_assert_false (cardpin_token_change_pin (token, old_pin, newer_pin, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN);
  g_assert_cmpint (cardpin_error_get_tries_left (error), ==, 2);
  g_clear_error (&error);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 2);

  /* asynchronously */
  cardpin_token_change_pin_async (token, new_pin, newer_pin, NULL, change_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);
  g_assert_true (verify (token, "80421596", &error));
  g_assert_no_error (error);
}

static void
test_change_puk_and_unblock (CardpinTestFixture *fixture,
                             gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) old_puk = secret ("12345678");
  g_autoptr(CardpinSecret) new_puk = secret ("86421357");
  g_autoptr(CardpinSecret) new_pin = secret ("509172");
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 1, NULL);
  token = cardpin_test_fixture_token (fixture, READER1, NULL);

  g_assert_true (cardpin_token_change_puk (token, old_puk, new_puk, NULL, &error));
  g_assert_no_error (error);

  cardpin_test_block_pin (token, 3);

  /* the old PUK is wrong now */
  g_assert_false (cardpin_token_unblock_pin (token, old_puk, new_pin, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK);
  g_assert_cmpint (cardpin_error_get_tries_left (error), ==, 2);
  g_clear_error (&error);
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 2);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_LOCKED);

  g_assert_true (cardpin_token_unblock_pin (token, new_puk, new_pin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_test_yubico_verify (READER1, "509172"), ==, 0);
}

static void
test_puk_blocked (CardpinTestFixture *fixture,
                  gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) wrong = secret ("87654321");
  g_autoptr(CardpinSecret) new_pin = secret ("509172");
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--puk-tries", "1", NULL });
  token = cardpin_test_fixture_token (fixture, READER0, NULL);
  cardpin_test_block_pin (token, 3);

  g_assert_false (cardpin_token_unblock_pin (token, wrong, new_pin, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PUK_BLOCKED);
  g_clear_error (&error);
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 0);
}

static void
test_challenge_aes (CardpinTestFixture *fixture,
                    gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(CardpinSecret) new_pin = secret ("642913");
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;
  g_autofree char *typo = NULL;
  GBytes *challenge;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--admin-key", AES_KEY, "--serial", "A1",
                                               NULL });
  token = cardpin_test_fixture_token (fixture, READER0, NULL);
  cardpin_test_block_pin (token, 3);

  session = cardpin_token_begin_unblock (token, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_unblock_session_get_algorithm (session), ==, 0x08);
  g_assert_cmpint (cardpin_unblock_session_get_admin_tries_left (session), ==, 5);
  challenge = cardpin_unblock_session_get_challenge (session);
  g_assert_cmpuint (g_bytes_get_size (challenge), ==, 16);
  /* 8 groups of 4, three spaces, "check" and the checksum */
  g_assert_cmpuint (strlen (cardpin_unblock_session_get_challenge_code (session)), ==,
                    8 * 4 + 7 + 3 + 6 + 4);
  g_assert_true (g_str_has_suffix (cardpin_unblock_session_get_serial (session), "A1"));

  /* the card is held: another client waits for the transaction (killed after 2 s) */
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "timeout", "2", "yubico-piv-tool", "-r",
                                                 READER0, "-a", "verify-pin", "-P",
                                                 "123456", NULL }, NULL, NULL, NULL), ==, 124);

  code = cardpin_test_response_code ("-aes-128-ecb", AES_KEY, challenge);
  /* a typo is caught before the card: the session stays */
  typo = g_strdup (code);
  typo[0] = typo[0] == 'A' ? 'B' : 'A';
  g_assert_false (cardpin_unblock_session_complete_code (session, typo, new_pin, NULL,
                                                         &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
  g_clear_error (&error);
  g_assert_true (cardpin_unblock_session_is_active (session));

  g_assert_true (cardpin_unblock_session_complete_code (session, code, new_pin, NULL,
                                                        &error));
  g_assert_no_error (error);
  g_assert_false (cardpin_unblock_session_is_active (session));
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);

  /* OpenSC logs in with the new PIN */
  g_assert_cmpint (cardpin_test_pkcs11_tool_login (READER0, "642913"), ==, 0);
}

static void
test_challenge_3des_wrong_response (CardpinTestFixture *fixture,
                                    gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(CardpinSecret) new_pin = secret ("642913");
  g_autoptr(CardpinSecret) zeros = cardpin_secret_new_sized (8);
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;

  /* the PIV default 3DES admin key */
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--admin-tries", "3", NULL });
  token = cardpin_test_fixture_token (fixture, READER1, NULL);

  session = cardpin_token_begin_unblock (token, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_unblock_session_get_algorithm (session), ==, 0x03);
  g_assert_cmpuint (g_bytes_get_size (cardpin_unblock_session_get_challenge (session)), ==, 8);

  g_assert_false (cardpin_unblock_session_complete (session, zeros, new_pin, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_RESPONSE);
  g_assert_cmpint (cardpin_error_get_tries_left (error), ==, 2);
  g_clear_error (&error);

  /* the challenge was used: the session is over */
  g_assert_false (cardpin_unblock_session_is_active (session));
  g_assert_false (cardpin_unblock_session_complete (session, zeros, new_pin, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED);
  g_clear_error (&error);
  g_clear_object (&session);

  /* a new challenge, answered right with 3DES */
  session = cardpin_token_begin_unblock (token, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_unblock_session_get_admin_tries_left (session), ==, 2);
  code = cardpin_test_response_code ("-des-ede3", DES_KEY, cardpin_unblock_session_get_challenge (session));
  g_assert_true (cardpin_unblock_session_complete_code (session, code, new_pin, NULL,
                                                        &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_test_yubico_verify (READER1, "642913"), ==, 0);
}

typedef struct {
  CardpinUnblockSession *session;
  gboolean               done;
  GError                *error;
} AsyncState;

static void
begin_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  AsyncState *state = user_data;

  state->session = cardpin_token_begin_unblock_finish (CARDPIN_TOKEN (source), result,
                                                       &state->error);
  state->done = TRUE;
}

static void
complete_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncState *state = user_data;

  cardpin_unblock_session_complete_finish (CARDPIN_UNBLOCK_SESSION (source), result,
                                           &state->error);
  state->done = TRUE;
}

static void
test_challenge_async (CardpinTestFixture *fixture,
                      gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) new_pin = secret ("642913");
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GBytes) bytes = NULL;
  AsyncState state = { 0 };

  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--admin-key", AES_KEY, NULL });
  token = cardpin_test_fixture_token (fixture, READER1, NULL);
  cardpin_test_block_pin (token, 3);

  cardpin_token_begin_unblock_async (token, NULL, begin_cb, &state);
  while (!state.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (state.error);
  g_assert_nonnull (state.session);

  bytes = cardpin_test_openssl_response ("-aes-128-ecb", AES_KEY,
                            cardpin_unblock_session_get_challenge (state.session));
  response = cardpin_secret_new (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  state.done = FALSE;
  cardpin_unblock_session_complete_async (state.session, response, new_pin, NULL,
                                          complete_cb, &state);
  while (!state.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (state.error);
  /* the token was refreshed before the callback */
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
  g_clear_object (&state.session);
  g_assert_cmpint (cardpin_test_pkcs11_tool_login (READER1, "642913"), ==, 0);
}

static void
test_challenge_expired (CardpinTestFixture *fixture,
                        gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(CardpinSecret) new_pin = secret ("642913");
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--admin-key", AES_KEY, NULL });
  token = cardpin_test_fixture_token (fixture, READER0, NULL);

  /* cancel: the card is free again at once */
  session = cardpin_token_begin_unblock (token, NULL, &error);
  g_assert_no_error (error);
  cardpin_unblock_session_cancel (session);
  g_assert_false (cardpin_unblock_session_is_active (session));
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);
  g_clear_object (&session);

  /* removal between challenge and response */
  session = cardpin_token_begin_unblock (token, NULL, &error);
  g_assert_no_error (error);
  code = cardpin_test_response_code ("-aes-128-ecb", AES_KEY, cardpin_unblock_session_get_challenge (session));
  cardpin_test_fixture_pull (fixture, 0);
  g_assert_false (cardpin_unblock_session_complete_code (session, code, new_pin, NULL,
                                                         &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED);
  g_clear_error (&error);

  /* the card back: its PIN is unchanged */
  cardpin_test_fixture_insert (fixture, 0, NULL);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);
}

static void
test_change_limited (CardpinTestFixture *fixture,
                     gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) pin0 = secret ("123456");
  g_autoptr(CardpinSecret) pin1 = secret ("739154");
  g_autoptr(CardpinSecret) pin2 = secret ("80421596");
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;
  g_autofree char *explained = NULL;
  guint max = 0, remaining = 0;

  /* the list built into core */
  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--pin-change-limit", "1", "--atr",
                                               LIMITED_ATR, NULL });
  token = cardpin_test_fixture_token (fixture, READER0, NULL);
  g_assert_cmpstr (cardpin_token_get_atr (token), ==, LIMITED_ATR);
  g_assert_true (cardpin_token_lookup_change_limit (token, NULL, &max, &description));
  g_assert_cmpuint (max, ==, 1);
  g_assert_nonnull (description);
  /* nothing counted yet on this computer: the one change remains, and it is the last */
  max = 0;
  g_assert_true (cardpin_token_get_changes_remaining (token, NULL, &max, &remaining));
  g_assert_cmpuint (max, ==, 1);
  g_assert_cmpuint (remaining, ==, 1);
  explained = cardpin_token_explain_change_limit (token, NULL);
  g_assert_nonnull (strstr (explained, "this is the last change"));
  g_clear_pointer (&explained, g_free);

  /* a refused change is not counted */
  g_assert_false (cardpin_token_change_pin (token, pin2, pin1, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN);
  g_clear_error (&error);
  g_assert_true (cardpin_token_get_changes_remaining (token, NULL, NULL, &remaining));
  g_assert_cmpuint (remaining, ==, 1);

  g_assert_true (cardpin_token_change_pin (token, pin0, pin1, NULL, &error));
  g_assert_no_error (error);
  /* counted after the card took it */
  g_assert_true (cardpin_token_get_changes_remaining (token, NULL, NULL, &remaining));
  g_assert_cmpuint (remaining, ==, 0);
  explained = cardpin_token_explain_change_limit (token, NULL);
  g_assert_nonnull (strstr (explained, "no change remains"));
  g_assert_false (cardpin_token_change_pin (token, pin1, pin2, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PIN_CHANGE_LIMITED);
  g_clear_error (&error);
  /* nothing changed, no try spent (the wrong PIN before cost one, the change reset it) */
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);
  g_assert_true (cardpin_token_verify_pin (token, pin1, NULL, &error));
  g_assert_no_error (error);
}

static void
test_setup_piv (CardpinTestFixture *fixture,
                gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) pin = secret ("123456");
  g_autoptr(CardpinSecret) puk = secret ("12345678");
  g_autoptr(CardpinSecret) new_pin = secret ("739154");
  g_autoptr(CardpinSecret) new_puk = secret ("86421357");
  g_autoptr(CardpinSecret) other_pin = secret ("509172");
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  token = cardpin_test_fixture_token (fixture, READER0, NULL);
  g_assert_true (cardpin_token_is_factory_puk (token, puk));

  g_assert_true (cardpin_token_setup (token, pin, new_pin, puk, new_puk, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_is_default (token), ==, 0);

  /* the factory PUK no longer works, the personal one does */
  cardpin_test_block_pin (token, 3);
  g_assert_false (cardpin_token_unblock_pin (token, puk, other_pin, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK);
  g_clear_error (&error);
  g_assert_true (cardpin_token_unblock_pin (token, new_puk, new_pin, NULL, &error));
  g_assert_no_error (error);
}

static void
test_setup_softhsm (CardpinTestFixture *fixture,
                    gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) so_pin = secret ("12345678");
  g_autoptr(CardpinSecret) wrong_so = secret ("87654321");
  /* the default policy's 6 digits, though SoftHSM would take 4 */
  g_autoptr(CardpinSecret) new_pin = secret ("739154");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (cardpin_test_stack_get_dir (fixture->stack),
                                           "softhsm", NULL);
  g_autofree char *tokens = g_build_filename (dir, "tokens", NULL);
  g_autofree char *conf = g_build_filename (dir, "softhsm2.conf", NULL);
  g_autofree char *conf_text = NULL;
  const char *softhsm = g_getenv ("CARDPIN_SOFTHSM_MODULE");
  guint i;

  g_assert_cmpint (g_mkdir_with_parents (tokens, 0700), ==, 0);
  conf_text = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\n"
                               "log.level = ERROR\n", tokens);
  g_assert_true (g_file_set_contents (conf, conf_text, -1, &error));
  g_setenv ("SOFTHSM2_CONF", conf, TRUE);

  /* a token with an SO PIN and no user PIN yet */
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "pkcs11-tool", "--module",
                                                              softhsm, "--init-token",
                                                              "--label", "fresh", "--so-pin",
                                                              "12345678", NULL },
                                     NULL, NULL, NULL), ==, 0);

  {
    const char *modules[] = { softhsm, NULL };

    fixture->manager = cardpin_manager_new (modules, NULL, &error);
    g_assert_no_error (error);
  }
  for (i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (fixture->manager)); i++)
    {
      g_autoptr(CardpinToken) t = g_list_model_get_item (G_LIST_MODEL (fixture->manager), i);

      if (g_strcmp0 (cardpin_token_get_label (t), "fresh") == 0)
        token = g_steal_pointer (&t);
    }
  g_assert_nonnull (token);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_NOT_INITIALIZED);

  g_assert_false (cardpin_token_setup (token, wrong_so, new_pin, NULL, NULL, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK);
  g_clear_error (&error);

  g_assert_true (cardpin_token_setup (token, so_pin, new_pin, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
  g_assert_true (cardpin_token_verify_pin (token, new_pin, NULL, &error));
  g_assert_no_error (error);

  /* the PUK is PIV-only */
  g_assert_false (cardpin_token_change_puk (token, so_pin, wrong_so, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_clear_object (&token);
  g_assert_finalize_object (g_steal_pointer (&fixture->manager));
  g_unsetenv ("SOFTHSM2_CONF");
}

typedef struct {
  guint     refreshes;
  gboolean  done;
  gboolean  failed;
  int       signer_status;
} Poll;

static void
poll_refresh_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Poll *poll = user_data;
  g_autoptr(GError) error = NULL;

  if (!cardpin_token_refresh_finish (CARDPIN_TOKEN (source), result, &error))
    {
      g_test_message ("refresh: %s", error->message);
      poll->failed = TRUE;
    }
  poll->refreshes++;
  if (!poll->done)
    cardpin_token_refresh_async (CARDPIN_TOKEN (source), NULL, poll_refresh_cb, poll);
}

static void
signer_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Poll *poll = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error));
  poll->signer_status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  poll->done = TRUE;
}

static void
test_sign_during_poll (CardpinTestFixture *fixture,
                       gconstpointer  data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GSubprocess) signer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;
  g_autofree char *input = g_build_filename (cardpin_test_stack_get_dir (fixture->stack),
                                             "to-sign", NULL);
  g_autofree char *stop = NULL;
  g_autofree char *count = NULL;
  g_autofree char *signed_text = NULL;
  Poll poll = { 0 };

  cardpin_test_fixture_insert (fixture, 0, NULL);
  token = cardpin_test_fixture_token (fixture, READER0, NULL);
  g_assert_true (g_file_set_contents (input, "sign me while cardpin polls", -1, &error));

  /* signatures in a row by another process, each with its own C_Login: at least five,
   * and on until cardpin has polled a few times alongside (a loaded machine may sign
   * faster than it polls); 60 at most */
  stop = g_build_filename (cardpin_test_stack_get_dir (fixture->stack), "stop", NULL);
  count = g_build_filename (cardpin_test_stack_get_dir (fixture->stack), "signed", NULL);
  script = g_strdup_printf ("i=0; while [ $i -lt 60 ]; do "
                            "[ $i -ge 5 ] && [ -e '%s' ] && exit 0; i=$((i + 1)); "
                            "pkcs11-tool --module '%s' --slot-description '%s' --login "
                            "--pin 123456 --sign --id 01 -m SHA256-RSA-PKCS "
                            "--input-file '%s' --output-file /dev/null || exit 1; "
                            "echo $i > '%s'; done",
                            stop, cardpin_test_opensc_module (), READER0, input, count);
  signer = g_subprocess_newv ((const char * const[]) { "sh", "-c", script, NULL },
                              G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                              G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (signer, NULL, signer_done_cb, &poll);

  cardpin_token_refresh_async (token, NULL, poll_refresh_cb, &poll);
  while (!poll.done)
    {
      g_main_context_iteration (NULL, TRUE);
      if (poll.refreshes >= 3 && !g_file_test (stop, G_FILE_TEST_EXISTS))
        g_assert_true (g_file_set_contents (stop, "", 0, NULL));
    }
  /* let the last refresh finish */
  {
    guint last = poll.refreshes;

    while (poll.refreshes == last)
      g_main_context_iteration (NULL, TRUE);
  }

  g_assert_true (g_file_get_contents (count, &signed_text, NULL, NULL));
  g_assert_cmpuint (g_ascii_strtoull (signed_text, NULL, 10), >=, 5);
  g_assert_cmpint (poll.signer_status, ==, 0);
  g_assert_false (poll.failed);
  g_assert_cmpuint (poll.refreshes, >, 2);
  g_test_message ("%u status reads while %s signatures were made", poll.refreshes,
                  g_strstrip (signed_text));
}

int
main (int   argc,
      char *argv[])
{
  cardpin_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add ("/cardpin/operations/" path, CardpinTestFixture, NULL, \
              cardpin_test_fixture_setup, func, cardpin_test_fixture_teardown)

  ADD ("verify", test_verify);
  ADD ("change-pin", test_change_pin);
  ADD ("change-puk-and-unblock", test_change_puk_and_unblock);
  ADD ("puk-blocked", test_puk_blocked);
  ADD ("challenge-aes", test_challenge_aes);
  ADD ("challenge-3des-wrong-response", test_challenge_3des_wrong_response);
  ADD ("challenge-async", test_challenge_async);
  ADD ("challenge-expired", test_challenge_expired);
  ADD ("change-limited", test_change_limited);
  ADD ("setup-piv", test_setup_piv);
  ADD ("setup-softhsm", test_setup_softhsm);
  ADD ("sign-during-poll", test_sign_during_poll);

#undef ADD

  return g_test_run ();
}
