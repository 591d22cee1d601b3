/* test-pcsc-status.c — the state of PIV cards read over PC/SC alone (issue 7 item 13)
 *
 * CardpinManager with CARDPIN_MANAGER_FLAGS_PCSC_ONLY / _PCSC_FIRST on the real stack:
 * the whole state in a few APDUs, no PKCS#11 module and no settings loaded in this
 * process, and operations on such a token over PC/SC. This executable never loads a
 * PKCS#11 module itself, so its memory map tells.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-secret.h"
#include "cardpin-test-fixture.h"
#include "cardpin-token.h"

#define SERIAL_A "00112233445566778899AABBCCDDEEFF"
#define HOLDER   "Alice Example"

/* Asserts that no PKCS#11 module is mapped into this process, and (@no_settings) that
 * no GSettings was used: a status read needs none (a PIN change reads its policy) */
static void
assert_lean (gboolean no_settings)
{
  g_autofree char *maps = NULL;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  g_assert_null (strstr (maps, "opensc-pkcs11"));
  g_assert_null (strstr (maps, "p11-kit-proxy"));
  g_assert_null (strstr (maps, "pkcs11/"));
  g_assert_null (strstr (maps, "softhsm"));
  /* GSettings registers its type on first use */
  if (no_settings)
    g_assert_cmpuint (g_type_from_name ("GSettings"), ==, 0);
}

static CardpinToken *
token_in (CardpinManager *manager,
          const char     *reader)
{
  g_autoptr(GError) error = NULL;
  CardpinToken *token;

  token = cardpin_manager_find_token (manager, reader, NULL, &error);
  g_assert_no_error (error);
  return token;
}

static void
test_pcsc_only (CardpinTestFixture *fixture,
                gconstpointer       data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinToken) blocked = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) old_pin = cardpin_secret_new_from_string ("123456");
  g_autoptr(CardpinSecret) new_pin = cardpin_secret_new_from_string ("739154");
  g_autoptr(CardpinSecret) puk = cardpin_secret_new_from_string ("12345678");
  guint before;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) {
                                 "-v", "--serial", SERIAL_A, "--subject", HOLDER, NULL });
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--pin-tries", "1",
                                                                    NULL });
  g_assert_cmpint (cardpin_test_yubico_verify (CARDPIN_TEST_READER1, "999999"), !=, 0);

  before = cardpin_test_fixture_card_apdus (fixture, 0);
  manager = cardpin_manager_new_full (cardpin_test_modules (NULL),
                                      CARDPIN_MANAGER_FLAGS_PCSC_ONLY, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (cardpin_manager_get_pcsc_error (manager));
  g_assert_cmpint (cardpin_manager_get_flags (manager), ==, CARDPIN_MANAGER_FLAGS_PCSC_ONLY);

  /* SELECT, GET METADATA of the PIN and the PUK, the CHUID, the holder's certificate
   * (with its GET RESPONSEs): yubico-piv-tool -a status needs 37 */
  g_test_message ("APDUs of the PC/SC read: %u",
                  cardpin_test_fixture_card_apdus (fixture, 0) - before);
  g_assert_cmpuint (cardpin_test_fixture_card_apdus (fixture, 0) - before, <=, 10);
  assert_lean (TRUE);
  g_assert_false (cardpin_manager_has_modules (manager));

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);
  token = token_in (manager, CARDPIN_TEST_READER0);
  g_assert_cmpstr (cardpin_token_get_serial (token), ==, SERIAL_A);
  g_assert_cmpstr (cardpin_token_get_label (token), ==, HOLDER);
  g_assert_cmpstr (cardpin_token_get_model (token), ==, "PIV");
  g_assert_null (cardpin_token_get_module_name (token));
  g_assert_nonnull (cardpin_token_get_atr (token));
  g_assert_true (cardpin_token_is_hardware (token));
  g_assert_true (cardpin_token_is_piv (token));
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_tries_max (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_is_default (token), ==, 1);
  g_assert_cmpint (cardpin_token_get_puk_is_default (token), ==, 1);

  blocked = token_in (manager, CARDPIN_TEST_READER1);
  g_assert_cmpint (cardpin_token_get_pin_state (blocked), ==, CARDPIN_PIN_STATE_LOCKED);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (blocked), ==, 0);

  /* operations on such tokens run over PC/SC, still without a module */
  g_assert_true (cardpin_token_change_pin (token, old_pin, new_pin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_test_yubico_verify (CARDPIN_TEST_READER0, "739154"), ==, 0);
  g_assert_true (cardpin_token_refresh (token, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_is_default (token), ==, 0);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);

  g_assert_true (cardpin_token_unblock_pin (blocked, puk, new_pin, NULL, &error));
  g_assert_no_error (error);
  /* a card with one PIN try: its one try is back */
  g_assert_cmpint (cardpin_token_get_pin_state (blocked), ==, CARDPIN_PIN_STATE_FINAL_TRY);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (blocked), ==, 1);
  g_assert_cmpint (cardpin_test_yubico_verify (CARDPIN_TEST_READER1, "739154"), ==, 0);
  assert_lean (FALSE);
}

/* PC/SC first: the same without a card that needs PKCS#11, so no module either */
static void
test_pcsc_first (CardpinTestFixture *fixture,
                 gconstpointer       data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_A,
                                                                    NULL });
  manager = cardpin_manager_new_full (cardpin_test_modules (NULL),
                                      CARDPIN_MANAGER_FLAGS_PCSC_FIRST, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  token = token_in (manager, NULL);
  g_assert_cmpstr (cardpin_token_get_serial (token), ==, SERIAL_A);
  g_assert_false (cardpin_manager_has_modules (manager));
  assert_lean (FALSE);
}

/* A read that breaks off is an error, never a token with half its state */
static void
test_pcsc_interrupted (CardpinTestFixture *fixture,
                       gconstpointer       data)
{
  guint failed = 0;

  for (guint k = 1; k <= 10; k++)
    {
      g_autoptr(CardpinManager) manager = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *drop = g_strdup_printf ("%u", k);
      CardpinTestCard *card;

      card = cardpin_test_fixture_insert (fixture, 0, (const char * const[]) {
                                            "--drop-after", drop, NULL });
      manager = cardpin_manager_new_full (NULL, CARDPIN_MANAGER_FLAGS_PCSC_ONLY, NULL,
                                          &error);
      if (manager == NULL)
        {
          g_test_message ("drop at %u: %s", k, error->message);
          g_assert_true (error->domain == CARDPIN_ERROR);
          failed++;
        }
      else
        {
          g_autoptr(CardpinToken) token = NULL;

          /* the read finished before the drop: the whole state */
          g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
          token = token_in (manager, NULL);
          g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);
          g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 3);
          g_assert_nonnull (cardpin_token_get_serial (token));
          g_assert_nonnull (cardpin_token_get_label (token));
        }
      cardpin_test_card_wait_gone (card, 1000);
      fixture->cards[0] = NULL;
    }
  /* every command of the read was hit (9 of them: the first, GET METADATA of the PIN,
   * finds PIV not yet selected, so a SELECT follows) */
  g_assert_cmpuint (failed, ==, 9);
  assert_lean (FALSE);
}

static void
token_added_cb (CardpinManager *manager,
                CardpinToken   *token,
                gpointer        user_data)
{
  *(CardpinToken **) user_data = g_object_ref (token);
}

/* Watching: a card inserted later shows with its state, read over PC/SC */
static void
test_pcsc_watch (CardpinTestFixture *fixture,
                 gconstpointer       data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) added = NULL;
  g_autoptr(GError) error = NULL;
  gint64 end;

  manager = cardpin_manager_new_full (NULL, CARDPIN_MANAGER_FLAGS_PCSC_ONLY, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 0);
  g_signal_connect (manager, "token-added", G_CALLBACK (token_added_cb), &added);
  cardpin_manager_start_watching (manager);

  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--serial", SERIAL_A,
                                                                    NULL });
  end = g_get_monotonic_time () + CARDPIN_TEST_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  while (added == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10000), TRUE);
  g_assert_nonnull (added);
  g_assert_cmpstr (cardpin_token_get_reader (added), ==, CARDPIN_TEST_READER1);
  g_assert_cmpstr (cardpin_token_get_serial (added), ==, SERIAL_A);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (added), ==, 3);
  cardpin_manager_stop_watching (manager);
  assert_lean (FALSE);
}

int
main (int   argc,
      char *argv[])
{
  cardpin_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add ("/cardpin/pcsc-status/" path, CardpinTestFixture, NULL, \
              cardpin_test_fixture_setup, func, cardpin_test_fixture_teardown)

  ADD ("pcsc-only", test_pcsc_only);
  ADD ("pcsc-first", test_pcsc_first);
  ADD ("interrupted", test_pcsc_interrupted);
  ADD ("watch", test_pcsc_watch);

#undef ADD

  return g_test_run ();
}
