/* test-policy.c — CardpinPolicy
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "cardpin-error.h"
#include "cardpin-policy.h"

static void
assert_pin (CardpinPolicy       *policy,
            const char          *new_pin,
            const char          *old_pin,
            const char          *puk,
            CardpinPolicyReason  expected)
{
  g_autoptr(CardpinSecret) new_secret = cardpin_secret_new_from_string (new_pin);
  g_autoptr(CardpinSecret) old_secret = old_pin ? cardpin_secret_new_from_string (old_pin) : NULL;
  g_autoptr(CardpinSecret) puk_secret = puk ? cardpin_secret_new_from_string (puk) : NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = cardpin_policy_check (policy, new_secret, old_secret, puk_secret, &error);
  if (expected == CARDPIN_POLICY_OK)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      return;
    }

  if (ok)
    g_error ("PIN “%s” was accepted, expected reason %d", new_pin, expected);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_assert_cmpint (cardpin_error_get_policy_reason (error), ==, expected);
  /* the message says what to do, and never repeats the PIN (unless it is an example) */
  g_assert_nonnull (strstr (error->message, "Choose"));
  if (new_pin[0] != '\0' && expected != CARDPIN_POLICY_REPEATED && expected != CARDPIN_POLICY_SEQUENCE)
    g_assert_null (strstr (error->message, new_pin));
}

static void
test_defaults (void)
{
  g_autoptr(CardpinPolicy) policy = g_object_new (CARDPIN_TYPE_POLICY, NULL);

  g_assert_cmpuint (cardpin_policy_get_min_length (policy), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, CARDPIN_SECRET_MAX_LINE);
  g_assert_false (cardpin_policy_get_digits_only (policy));
  assert_pin (policy, "270419", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "27041", NULL, NULL, CARDPIN_POLICY_TOO_SHORT);
}

static void
test_length (void)
{
  g_autoptr(CardpinPolicy) policy = cardpin_policy_new (6, 8, TRUE);

  assert_pin (policy, "", NULL, NULL, CARDPIN_POLICY_TOO_SHORT);
  assert_pin (policy, "27041", NULL, NULL, CARDPIN_POLICY_TOO_SHORT);
  assert_pin (policy, "270419", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "27041953", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "270419538", NULL, NULL, CARDPIN_POLICY_TOO_LONG);
}

static void
test_charset (void)
{
  g_autoptr(CardpinPolicy) digits = cardpin_policy_new (6, 8, TRUE);
  g_autoptr(CardpinPolicy) any = cardpin_policy_new (6, 8, FALSE);

  assert_pin (digits, "27a419", NULL, NULL, CARDPIN_POLICY_NOT_DIGITS);
  assert_pin (digits, "2704 9", NULL, NULL, CARDPIN_POLICY_NOT_DIGITS);
  assert_pin (any, "27a4!9", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (any, "gr8 pin", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (any, "27\t419", NULL, NULL, CARDPIN_POLICY_BAD_CHARACTER);
  assert_pin (any, "27041\x7f", NULL, NULL, CARDPIN_POLICY_BAD_CHARACTER);
  assert_pin (any, "pässwd", NULL, NULL, CARDPIN_POLICY_BAD_CHARACTER);
}

static void
test_weak (void)
{
  g_autoptr(CardpinPolicy) policy = cardpin_policy_new (4, 8, FALSE);

  /* PIV factory defaults */
  assert_pin (policy, "123456", NULL, NULL, CARDPIN_POLICY_FACTORY_DEFAULT);
  assert_pin (policy, "12345678", NULL, NULL, CARDPIN_POLICY_FACTORY_DEFAULT);

  /* one repeated character */
  assert_pin (policy, "111111", NULL, NULL, CARDPIN_POLICY_REPEATED);
  assert_pin (policy, "0000", NULL, NULL, CARDPIN_POLICY_REPEATED);
  assert_pin (policy, "zzzzzzzz", NULL, NULL, CARDPIN_POLICY_REPEATED);
  assert_pin (policy, "111112", NULL, NULL, CARDPIN_POLICY_OK);

  /* runs, both ways, wrapping between 9 and 0 */
  assert_pin (policy, "1234", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "234567", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "987654", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "87654321", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "890123", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "210987", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "01234567", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "abcdef", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  assert_pin (policy, "FEDCBA", NULL, NULL, CARDPIN_POLICY_SEQUENCE);
  /* not runs */
  assert_pin (policy, "123465", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "135791", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "123321", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "abcDEF", NULL, NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "xyzabc", NULL, NULL, CARDPIN_POLICY_OK);   /* letters do not wrap */
  assert_pin (policy, "9abcde", NULL, NULL, CARDPIN_POLICY_OK);
}

static void
test_same_as (void)
{
  g_autoptr(CardpinPolicy) policy = cardpin_policy_new (6, 8, TRUE);

  assert_pin (policy, "270419", "270419", NULL, CARDPIN_POLICY_SAME_AS_OLD);
  assert_pin (policy, "270419", "2704195", NULL, CARDPIN_POLICY_OK);
  assert_pin (policy, "27041953", NULL, "27041953", CARDPIN_POLICY_SAME_AS_PUK);
  assert_pin (policy, "27041953", "11223344", "27041954", CARDPIN_POLICY_OK);
  /* the weak check comes first: a weak PIN equal to the old one is called weak */
  assert_pin (policy, "111111", "111111", NULL, CARDPIN_POLICY_REPEATED);
}

static void
test_puk (void)
{
  g_autoptr(CardpinPolicy) policy = cardpin_policy_new (8, 8, FALSE);
  struct {
    const char *new_puk, *old_puk, *pin;
    CardpinPolicyReason reason;
  } cases[] = {
    { "12345678", NULL, NULL, CARDPIN_POLICY_FACTORY_DEFAULT },
    { "1234567", NULL, NULL, CARDPIN_POLICY_TOO_SHORT },
    { "123456789", NULL, NULL, CARDPIN_POLICY_TOO_LONG },
    { "55555555", NULL, NULL, CARDPIN_POLICY_REPEATED },
    { "76543210", NULL, NULL, CARDPIN_POLICY_SEQUENCE },
    { "31415926", "31415926", NULL, CARDPIN_POLICY_SAME_AS_OLD },
    { "31415926", NULL, "31415926", CARDPIN_POLICY_SAME_AS_PUK },
    { "31415926", "27182818", "270419", CARDPIN_POLICY_OK },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(CardpinSecret) new_puk = cardpin_secret_new_from_string (cases[i].new_puk);
      g_autoptr(CardpinSecret) old_puk = cases[i].old_puk ? cardpin_secret_new_from_string (cases[i].old_puk) : NULL;
      g_autoptr(CardpinSecret) pin = cases[i].pin ? cardpin_secret_new_from_string (cases[i].pin) : NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok = cardpin_policy_check_puk (policy, new_puk, old_puk, pin, &error);

      if (cases[i].reason == CARDPIN_POLICY_OK)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          continue;
        }
      g_assert_false (ok);
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
      g_assert_cmpint (cardpin_error_get_policy_reason (error), ==, cases[i].reason);
      g_assert_nonnull (strstr (error->message, "PUK"));
    }
}

static void
test_confirmation (void)
{
  g_autoptr(CardpinSecret) a = cardpin_secret_new_from_string ("270419");
  g_autoptr(CardpinSecret) b = cardpin_secret_new_from_string ("270419");
  g_autoptr(CardpinSecret) c = cardpin_secret_new_from_string ("270418");
  g_autoptr(GError) error = NULL;

  g_assert_true (cardpin_policy_check_confirmation (a, b, &error));
  g_assert_no_error (error);
  g_assert_false (cardpin_policy_check_confirmation (a, c, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_assert_cmpint (cardpin_error_get_policy_reason (error), ==, CARDPIN_POLICY_MISMATCH);
}

static void
test_for_token (void)
{
  g_autoptr(CardpinPolicy) settings = cardpin_policy_new (6, 12, TRUE);
  g_autoptr(CardpinPolicy) piv = cardpin_policy_new_for_token (settings, 4, 8);
  g_autoptr(CardpinPolicy) strict_token = cardpin_policy_new_for_token (settings, 8, 64);
  g_autoptr(CardpinPolicy) unknown = cardpin_policy_new_for_token (settings, 0, G_MAXUINT);
  g_autoptr(CardpinPolicy) small = cardpin_policy_new (8, 16, FALSE);
  g_autoptr(CardpinPolicy) conflict = cardpin_policy_new_for_token (small, 4, 6);

  g_assert_cmpuint (cardpin_policy_get_min_length (piv), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_max_length (piv), ==, 8);
  g_assert_true (cardpin_policy_get_digits_only (piv));
  g_assert_cmpuint (cardpin_policy_get_min_length (strict_token), ==, 8);
  g_assert_cmpuint (cardpin_policy_get_max_length (strict_token), ==, 12);
  g_assert_cmpuint (cardpin_policy_get_min_length (unknown), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_max_length (unknown), ==, 12);
  /* the token cannot take 8 characters: its limit wins */
  g_assert_cmpuint (cardpin_policy_get_min_length (conflict), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_max_length (conflict), ==, 6);
  /* the settings policy is not changed */
  g_assert_cmpuint (cardpin_policy_get_max_length (settings), ==, 12);

  assert_pin (piv, "270419538", NULL, NULL, CARDPIN_POLICY_TOO_LONG);
  assert_pin (piv, "27041953", NULL, NULL, CARDPIN_POLICY_OK);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           guint      *count)
{
  (*count)++;
}

static void
test_properties (void)
{
  g_autoptr(CardpinPolicy) policy = cardpin_policy_new (6, 8, FALSE);
  guint count = 0;
  guint min_length = 0;

  g_signal_connect (policy, "notify", G_CALLBACK (notify_cb), &count);
  cardpin_policy_set_min_length (policy, 6);
  cardpin_policy_set_max_length (policy, 8);
  cardpin_policy_set_digits_only (policy, FALSE);
  g_assert_cmpuint (count, ==, 0);
  cardpin_policy_set_min_length (policy, 4);
  g_object_set (policy, "digits-only", TRUE, "max-length", 10, NULL);
  g_assert_cmpuint (count, ==, 3);
  g_object_get (policy, "min-length", &min_length, NULL);
  g_assert_cmpuint (min_length, ==, 4);
  g_assert_true (cardpin_policy_get_digits_only (policy));
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 10);
}

static void
test_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.cardpin.CardPin");
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinPolicy) from_default = NULL;
  g_autoptr(CardpinSecret) letters = cardpin_secret_new_from_string ("k9Xw2q7");
  g_autoptr(GError) error = NULL;

  /* the schema's defaults: 6 to 8 digits */
  policy = cardpin_policy_new_from_settings (settings);
  g_assert_cmpuint (cardpin_policy_get_min_length (policy), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 8);
  g_assert_true (cardpin_policy_get_digits_only (policy));
  g_assert_false (cardpin_policy_check (policy, letters, NULL, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_assert_cmpint (cardpin_error_get_policy_reason (error), ==, CARDPIN_POLICY_NOT_DIGITS);
  g_clear_error (&error);
  g_clear_object (&policy);

  /* what an administrator set */
  g_settings_set_uint (settings, "pin-min-length", 7);
  g_settings_set_uint (settings, "pin-max-length", 12);
  g_settings_set_boolean (settings, "pin-digits-only", FALSE);
  policy = cardpin_policy_new_from_settings (settings);
  g_assert_cmpuint (cardpin_policy_get_min_length (policy), ==, 7);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 12);
  g_assert_true (cardpin_policy_check (policy, letters, NULL, NULL, &error));
  g_assert_no_error (error);

  /* NULL reads the same settings (one memory backend per process) */
  from_default = cardpin_policy_new_from_settings (NULL);
  g_assert_cmpuint (cardpin_policy_get_min_length (from_default), ==, 7);

  /* a maximum set below the minimum keeps the minimum */
  g_settings_set_uint (settings, "pin-max-length", 5);
  g_clear_object (&policy);
  policy = cardpin_policy_new_from_settings (settings);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 7);
  g_settings_reset (settings, "pin-min-length");
  g_settings_reset (settings, "pin-max-length");
  g_settings_reset (settings, "pin-digits-only");
}

/* allowed-unblock-methods, asked through one function by every front end */
static void
test_unblock_methods (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.cardpin.CardPin");
  const char *only_puk[] = { "puk", NULL };
  const char *none[] = { NULL };
  g_autoptr(GError) error = NULL;

  /* the schema's default: every method */
  g_assert_true (cardpin_policy_check_unblock_method (settings, CARDPIN_UNBLOCK_METHOD_PUK, &error));
  g_assert_true (cardpin_policy_check_unblock_method (settings, CARDPIN_UNBLOCK_METHOD_ONLINE,
                                                      &error));
  g_assert_true (cardpin_policy_check_unblock_method (NULL, CARDPIN_UNBLOCK_METHOD_OFFLINE,
                                                      &error));
  g_assert_no_error (error);

  g_settings_set_strv (settings, "allowed-unblock-methods", only_puk);
  g_assert_true (cardpin_policy_check_unblock_method (settings, CARDPIN_UNBLOCK_METHOD_PUK, &error));
  g_assert_false (cardpin_policy_check_unblock_method (NULL, CARDPIN_UNBLOCK_METHOD_OFFLINE,
                                                       &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "administrator"));
  g_clear_error (&error);
  g_assert_false (cardpin_policy_check_unblock_method (settings, CARDPIN_UNBLOCK_METHOD_ONLINE,
                                                       &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_assert_false (cardpin_policy_check_unblock_method (settings, "telepathy", &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  g_settings_set_strv (settings, "allowed-unblock-methods", none);
  g_assert_false (cardpin_policy_check_unblock_method (settings, CARDPIN_UNBLOCK_METHOD_PUK, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_settings_reset (settings, "allowed-unblock-methods");
}

/* The PUK's own keys: their defaults are a PIV PUK (8 characters), the PIN keys do not
 * narrow them */
static void
test_puk_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.cardpin.CardPin");
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinSecret) puk = cardpin_secret_new_from_string ("86421357");
  g_autoptr(GError) error = NULL;

  g_settings_set_uint (settings, "pin-max-length", 6);
  policy = cardpin_policy_new_puk_from_settings (NULL);
  g_assert_cmpuint (cardpin_policy_get_min_length (policy), ==, 8);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 8);
  g_assert_false (cardpin_policy_get_digits_only (policy));
  g_assert_true (cardpin_policy_check_puk (policy, puk, NULL, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&policy);

  g_settings_set_uint (settings, "puk-min-length", 10);
  g_settings_set_uint (settings, "puk-max-length", 12);
  g_settings_set_boolean (settings, "puk-digits-only", TRUE);
  policy = cardpin_policy_new_puk_from_settings (settings);
  g_assert_cmpuint (cardpin_policy_get_min_length (policy), ==, 10);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 12);
  g_assert_true (cardpin_policy_get_digits_only (policy));
  g_clear_object (&policy);
  policy = cardpin_policy_new_from_settings (settings);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 6);

  g_settings_reset (settings, "pin-max-length");
  g_settings_reset (settings, "puk-min-length");
  g_settings_reset (settings, "puk-max-length");
  g_settings_reset (settings, "puk-digits-only");
}

/* the length rule in words: "exactly" when both ends are the same, plurals by count */
static void
test_describe_length (void)
{
  const struct {
    guint min, max;
    gboolean digits;
    const char *expected;
  } cases[] = {
    { 8, 8, TRUE, "Use exactly 8 digits." },
    { 1, 1, TRUE, "Use exactly 1 digit." },
    { 8, 8, FALSE, "Use exactly 8 characters." },
    { 6, 8, TRUE, "Use 6 to 8 digits." },
    { 4, 63, FALSE, "Use 4 to 63 characters." },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = cardpin_policy_describe_length (cases[i].min, cases[i].max,
                                                              cases[i].digits);

      g_assert_cmpstr (text, ==, cases[i].expected);
    }
}

int
main (int   argc,
      char *argv[])
{
  /* the words are checked untranslated */
  g_setenv ("LANGUAGE", "C", TRUE);
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/policy/defaults", test_defaults);
  g_test_add_func ("/cardpin/policy/describe-length", test_describe_length);
  g_test_add_func ("/cardpin/policy/length", test_length);
  g_test_add_func ("/cardpin/policy/charset", test_charset);
  g_test_add_func ("/cardpin/policy/weak", test_weak);
  g_test_add_func ("/cardpin/policy/same-as", test_same_as);
  g_test_add_func ("/cardpin/policy/puk", test_puk);
  g_test_add_func ("/cardpin/policy/confirmation", test_confirmation);
  g_test_add_func ("/cardpin/policy/for-token", test_for_token);
  g_test_add_func ("/cardpin/policy/properties", test_properties);
  g_test_add_func ("/cardpin/policy/settings", test_settings);
  g_test_add_func ("/cardpin/policy/puk-settings", test_puk_settings);
  g_test_add_func ("/cardpin/policy/unblock-methods", test_unblock_methods);

  return g_test_run ();
}
