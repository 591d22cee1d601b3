/* test-hardening.c — no card try is ever wasted, operations are all or nothing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "cardpin-error.h"
#include "cardpin-secret.h"
#include "cardpin-unblock-session.h"
#include "cardpin-test-fixture.h"

#define READER0 CARDPIN_TEST_READER0
#define AES_KEY "00112233445566778899AABBCCDDEEFF"

/* Values no PIV card can hold as a PIN or PUK: each must be refused before any APDU */
static const struct {
  const char *data;
  gsize       len;
} malformed[] = {
  { "", 0 }, { "1", 1 }, { "12", 2 }, { "123", 3 }, { "12345", 5 }, { "  ", 2 },
  { "123456789", 9 }, { "1234567890123456", 16 },
  { "12\0" "456", 6 }, { "123456\0", 7 }, { "\0" "1234567", 8 },
  { "12\xff" "456", 6 }, { "\xff\xff\xff\xff\xff\xff", 6 }, { "1234\t6", 6 },
  { "123\n56", 6 }, { "123\x7f" "56", 6 },
};

static CardpinSecret *
secret (const char *text)
{
  return cardpin_secret_new_from_string (text);
}

static void
assert_tries (CardpinToken *token,
              int           pin,
              int           puk)
{
  g_autoptr(GError) error = NULL;

  /* from the card itself, then as core reads it */
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, pin);
  g_assert_true (cardpin_token_refresh (token, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, pin);
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, puk);
}

static void
test_malformed_current (CardpinTestFixture *fixture,
                        gconstpointer       data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) new_pin = secret ("739154");
  g_autoptr(CardpinSecret) new_puk = secret ("86421357");
  g_autoptr(CardpinSecret) pin = secret ("123456");
  g_autoptr(CardpinSecret) puk = secret ("12345678");

  cardpin_test_fixture_insert (fixture, 0, NULL);
  token = cardpin_test_fixture_token (fixture, READER0, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autoptr(CardpinSecret) bad = cardpin_secret_new ((const guint8 *) malformed[i].data,
                                                         malformed[i].len);
      g_autoptr(GError) error = NULL;

      g_test_message ("malformed value %u", i);

      g_assert_false (cardpin_token_verify_pin (token, bad, NULL, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_clear_error (&error);

      g_assert_false (cardpin_token_change_pin (token, bad, new_pin, NULL, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_assert_nonnull (strstr (error->message, "no try was used"));
      g_clear_error (&error);

      g_assert_false (cardpin_token_change_puk (token, bad, new_puk, NULL, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_clear_error (&error);

      /* a new PUK the card cannot hold: refused too, the current one untouched */
      g_assert_false (cardpin_token_change_puk (token, puk, bad, NULL, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_clear_error (&error);

      g_assert_false (cardpin_token_unblock_pin (token, bad, new_pin, NULL, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_clear_error (&error);

      /* set-up: a bad current PIN or a bad current PUK */
      g_assert_false (cardpin_token_setup (token, bad, new_pin, puk, new_puk, NULL, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_clear_error (&error);
      g_assert_false (cardpin_token_setup (token, pin, new_pin, bad, new_puk, NULL, &error));
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_clear_error (&error);
    }

  /* not one try was spent, and the card still has its values */
  assert_tries (token, 3, 3);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);
}

/* set-up with a wrong current PUK changes nothing: the PIN stays the factory one */
static void
test_setup_atomic (CardpinTestFixture *fixture,
                   gconstpointer       data)
{
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinSecret) pin = secret ("123456");
  g_autoptr(CardpinSecret) new_pin = secret ("739154");
  g_autoptr(CardpinSecret) wrong_puk = secret ("87654321");
  g_autoptr(CardpinSecret) wrong_pin = secret ("654321");
  g_autoptr(CardpinSecret) puk = secret ("12345678");
  g_autoptr(CardpinSecret) new_puk = secret ("86421357");
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  token = cardpin_test_fixture_token (fixture, READER0, NULL);

  g_assert_false (cardpin_token_setup (token, pin, new_pin, wrong_puk, new_puk, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK);
  g_clear_error (&error);
  assert_tries (token, 3, 2);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);

  /* a wrong current PIN: the PUK is not changed either */
  g_assert_false (cardpin_token_setup (token, wrong_pin, new_pin, puk, new_puk, NULL, &error));
  g_assert_true (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN));
  g_clear_error (&error);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "123456"), ==, 0);
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "yubico-piv-tool", "-r", READER0,
                                                              "-a", "unblock-pin", "-P",
                                                              "12345678", "-N", "123456",
                                                              NULL }, NULL, NULL, NULL), ==, 0);

  /* and with everything right, both change */
  g_assert_true (cardpin_token_setup (token, pin, new_pin, puk, new_puk, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "739154"), ==, 0);
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "yubico-piv-tool", "-r", READER0,
                                                              "-a", "unblock-pin", "-P",
                                                              "86421357", "-N", "739154",
                                                              NULL }, NULL, NULL, NULL), ==, 0);
}

/* The policy for a new PIN or PUK is core's: every route refuses a weak or too long one
 * itself, before any APDU. The current secrets given are wrong, so any APDU would cost
 * a try. */
static void
assert_refused (GError              *error,
                CardpinPolicyReason  reason)
{
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_assert_cmpint (cardpin_error_get_policy_reason (error), ==, reason);
  g_test_message ("refused: %s", error->message);
}

static void
test_policy_every_route (CardpinTestFixture *fixture,
                         gconstpointer       data)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(CardpinSecret) wrong_pin = secret ("654321");
  g_autoptr(CardpinSecret) wrong_puk = secret ("87654321");
  g_autoptr(CardpinSecret) puk = secret ("12345678");
  g_autoptr(CardpinSecret) weak = secret ("111111");
  g_autoptr(CardpinSecret) too_long = secret ("7391542");
  g_autoptr(CardpinSecret) weak_puk = secret ("11111111");
  g_autoptr(CardpinSecret) new_pin = secret ("739154");
  g_autoptr(CardpinSecret) new_puk = secret ("86421357");
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinPolicy) pin_policy = NULL;
  g_autoptr(CardpinPolicy) puk_policy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;

  /* the administrator allows PINs of 6 characters at most */
  g_settings_set_uint (settings, "pin-max-length", 6);
  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--admin-key", AES_KEY,
                                                                    NULL });
  token = cardpin_test_fixture_token (fixture, READER0, NULL);

  /* the token's policies: the settings narrowed to the card; the PUK's own keys */
  pin_policy = cardpin_token_get_pin_policy (token, NULL);
  puk_policy = cardpin_token_get_puk_policy (token, NULL);
  g_assert_cmpuint (cardpin_policy_get_min_length (pin_policy), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_max_length (pin_policy), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_min_length (puk_policy), ==, 8);
  g_assert_cmpuint (cardpin_policy_get_max_length (puk_policy), ==, 8);
  /* a front end's own configuration (the login-screen helper's file), narrowed by core */
  {
    g_autoptr(CardpinPolicy) configured = cardpin_policy_new (4, 12, TRUE);
    g_autoptr(CardpinPolicy) narrowed = cardpin_token_narrow_policy (token, configured,
                                                                     FALSE);

    g_assert_cmpuint (cardpin_policy_get_min_length (narrowed), ==, 6);
    g_assert_cmpuint (cardpin_policy_get_max_length (narrowed), ==, 8);
  }

  /* change */
  g_assert_false (cardpin_token_change_pin (token, wrong_pin, weak, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_REPEATED);
  g_clear_error (&error);
  g_assert_false (cardpin_token_change_pin (token, wrong_pin, too_long, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_TOO_LONG);
  g_assert_nonnull (strstr (error->message, "at most 6"));
  g_clear_error (&error);

  /* set-up: a weak or too long PIN, a weak PUK */
  g_assert_false (cardpin_token_setup (token, wrong_pin, weak, wrong_puk, new_puk, NULL,
                                       &error));
  assert_refused (error, CARDPIN_POLICY_REPEATED);
  g_clear_error (&error);
  g_assert_false (cardpin_token_setup (token, wrong_pin, too_long, NULL, NULL, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_TOO_LONG);
  g_clear_error (&error);
  g_assert_false (cardpin_token_setup (token, wrong_pin, new_pin, wrong_puk, weak_puk, NULL,
                                       &error));
  assert_refused (error, CARDPIN_POLICY_REPEATED);
  g_clear_error (&error);
  /* change-puk: a weak PUK; the PIN's maximum does not apply to the PUK */
  g_assert_false (cardpin_token_change_puk (token, wrong_puk, weak_puk, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_REPEATED);
  g_clear_error (&error);
  g_assert_false (cardpin_token_change_puk (token, wrong_puk, new_pin, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_TOO_SHORT);
  g_clear_error (&error);
  assert_tries (token, 3, 3);
  g_assert_true (cardpin_token_change_puk (token, puk, new_puk, NULL, &error));
  g_assert_no_error (error);

  /* unblock with the PUK */
  cardpin_test_block_pin (token, 3);
  g_assert_false (cardpin_token_unblock_pin (token, wrong_puk, weak, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_REPEATED);
  g_clear_error (&error);
  g_assert_false (cardpin_token_unblock_pin (token, wrong_puk, too_long, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_TOO_LONG);
  g_clear_error (&error);
  assert_tries (token, 0, 3);

  /* unblock with a challenge: a wrong response never reaches the card with a refused
   * PIN, and the right one does not either; the session stays for a good PIN */
  session = cardpin_token_begin_unblock (token, NULL, &error);
  g_assert_no_error (error);
  response = cardpin_secret_new ((const guint8 *) "0123456789abcdef", 16);
  g_assert_false (cardpin_unblock_session_complete (session, response, weak, NULL, &error));
  assert_refused (error, CARDPIN_POLICY_REPEATED);
  g_clear_error (&error);
  code = cardpin_test_response_code ("-aes-128-ecb", AES_KEY,
                                     cardpin_unblock_session_get_challenge (session));
  g_assert_false (cardpin_unblock_session_complete_code (session, code, too_long, NULL,
                                                         &error));
  assert_refused (error, CARDPIN_POLICY_TOO_LONG);
  g_clear_error (&error);
  g_assert_true (cardpin_unblock_session_is_active (session));
  g_assert_true (cardpin_unblock_session_complete_code (session, code, new_pin, NULL,
                                                        &error));
  g_assert_no_error (error);

  assert_tries (token, 3, 3);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "739154"), ==, 0);
  g_settings_reset (settings, "pin-max-length");
}

int
main (int   argc,
      char *argv[])
{
  cardpin_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add ("/cardpin/hardening/" path, CardpinTestFixture, NULL, \
              cardpin_test_fixture_setup, func, cardpin_test_fixture_teardown)

  ADD ("malformed-current", test_malformed_current);
  ADD ("setup-atomic", test_setup_atomic);
  ADD ("policy-every-route", test_policy_every_route);

#undef ADD

  return g_test_run ();
}
