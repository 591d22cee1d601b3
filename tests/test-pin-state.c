/* test-pin-state.c — a token's PIN state in words (core/cardpin-pin-state.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>

#include "cardpin-pin-state.h"

static void
assert_text (CardpinPinState  state,
             int              pin_tries,
             int              puk_tries,
             const char      *expected)
{
  g_autofree char *text = cardpin_pin_state_words (state, pin_tries, puk_tries);

  g_assert_cmpstr (text, ==, expected);
}

static void
test_words (void)
{
  assert_text (CARDPIN_PIN_STATE_OK, 3, 3, "3 tries left");
  assert_text (CARDPIN_PIN_STATE_OK, -1, -1, "PIN OK");
  assert_text (CARDPIN_PIN_STATE_COUNT_LOW, 2, 3, "2 tries left");
  assert_text (CARDPIN_PIN_STATE_COUNT_LOW, 7, -1, "7 tries left");
  /* PKCS#11 flags only: tries unknown */
  assert_text (CARDPIN_PIN_STATE_COUNT_LOW, -1, -1, "Wrong PIN entered before");
  /* a counter of one is the last try whatever the flags say */
  assert_text (CARDPIN_PIN_STATE_COUNT_LOW, 1, 3, "Last try");
  assert_text (CARDPIN_PIN_STATE_FINAL_TRY, 1, 3, "Last try");
  assert_text (CARDPIN_PIN_STATE_FINAL_TRY, -1, -1, "Last try");
  assert_text (CARDPIN_PIN_STATE_LOCKED, 0, 3, "Blocked");
  assert_text (CARDPIN_PIN_STATE_LOCKED, 0, -1, "Blocked");
  assert_text (CARDPIN_PIN_STATE_LOCKED, 0, 0, "PIN and PUK blocked");
  assert_text (CARDPIN_PIN_STATE_MUST_CHANGE, 3, 3, "Must be changed");
  assert_text (CARDPIN_PIN_STATE_NOT_INITIALIZED, -1, -1, "No PIN set");
  assert_text ((CardpinPinState) 99, 3, 3, "Unknown state");
}

static void
assert_explained (CardpinPinState  state,
                  int              pin_tries,
                  int              puk_tries,
                  const char      *expected)
{
  g_autofree char *text = cardpin_pin_state_explain (state, pin_tries, puk_tries);

  g_assert_cmpstr (text, ==, expected);
}

/* the sentence the tool and the login screen show: the state and what to do next */
static void
test_explained (void)
{
  assert_explained (CARDPIN_PIN_STATE_OK, 3, 3, "PIN OK (3 tries left)");
  assert_explained (CARDPIN_PIN_STATE_OK, -1, -1, "PIN OK");
  assert_explained (CARDPIN_PIN_STATE_COUNT_LOW, 2, 3, "Wrong PIN entered: 2 tries left");
  assert_explained (CARDPIN_PIN_STATE_COUNT_LOW, 1, 3,
                    "Last try: one more wrong PIN blocks the card");
  assert_explained (CARDPIN_PIN_STATE_FINAL_TRY, -1, -1,
                    "Last try: one more wrong PIN blocks the card");
  assert_explained (CARDPIN_PIN_STATE_LOCKED, 0, 3,
                    "PIN blocked: unblock it with the PUK or your administrator");
  assert_explained (CARDPIN_PIN_STATE_LOCKED, 0, 0,
                    "PIN blocked, PUK blocked too: ask your administrator");
  assert_explained (CARDPIN_PIN_STATE_MUST_CHANGE, 3, 3, "The PIN must be changed before use");
  assert_explained (CARDPIN_PIN_STATE_NOT_INITIALIZED, -1, -1,
                    "No PIN set yet: set one up first");
}

static void
test_icons_and_styles (void)
{
  g_assert_cmpstr (cardpin_pin_state_icon_name (CARDPIN_PIN_STATE_OK), ==, "emblem-ok-symbolic");
  g_assert_cmpstr (cardpin_pin_state_style_class (CARDPIN_PIN_STATE_OK), ==, "success");
  g_assert_cmpstr (cardpin_pin_state_icon_name (CARDPIN_PIN_STATE_LOCKED), ==,
                   "changes-prevent-symbolic");
  g_assert_cmpstr (cardpin_pin_state_style_class (CARDPIN_PIN_STATE_LOCKED), ==, "error");

  for (CardpinPinState s = CARDPIN_PIN_STATE_COUNT_LOW; s <= CARDPIN_PIN_STATE_NOT_INITIALIZED; s++)
    {
      if (s == CARDPIN_PIN_STATE_LOCKED)
        continue;
      g_assert_cmpstr (cardpin_pin_state_icon_name (s), ==, "dialog-warning-symbolic");
      g_assert_cmpstr (cardpin_pin_state_style_class (s), ==, "warning");
    }
}

int
main (int   argc,
      char *argv[])
{
  /* The words are checked untranslated. */
  g_setenv ("LANGUAGE", "C", TRUE);
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/pin-state/words", test_words);
  g_test_add_func ("/cardpin/pin-state/explained", test_explained);
  g_test_add_func ("/cardpin/pin-state/icons-and-styles", test_icons_and_styles);

  return g_test_run ();
}
