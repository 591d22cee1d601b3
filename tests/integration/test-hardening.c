/* test-hardening.c — no card try is ever wasted, operations are all or nothing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "cardpin-error.h"
#include "cardpin-secret.h"
#include "cardpin-test-fixture.h"

#define READER0 CARDPIN_TEST_READER0

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

#undef ADD

  return g_test_run ();
}
