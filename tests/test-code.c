/* test-code.c — challenge/response codes (DESIGN.md "Codes read over the phone")
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "cardpin-code.h"
#include "cardpin-error.h"

#define N_RANDOM_CODES 10000
#define CHECK_MARK "   check "

static const char hex_upper[] = "0123456789ABCDEF";

static void
assert_bad_code (const char *text,
                 gsize       expected_length)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) secret = NULL;

  secret = cardpin_code_parse (text, expected_length, &error);
  g_assert_null (secret);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
  /* every message tells the reader what to do */
  g_assert_nonnull (strstr (error->message, "again"));
}

static void
assert_parses_to (const char   *text,
                  gsize         expected_length,
                  const guint8 *bytes,
                  gsize         n_bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) secret = NULL;

  secret = cardpin_code_parse (text, expected_length, &error);
  g_assert_no_error (error);
  g_assert_nonnull (secret);
  g_assert_cmpmem (cardpin_secret_get_data (secret), cardpin_secret_get_length (secret),
                   bytes, n_bytes);
}

static void
test_checksum_check_value (void)
{
  g_assert_cmphex (cardpin_code_checksum ("123456789", 9), ==, 0x29B1);
  g_assert_cmphex (cardpin_code_checksum ("", 0), ==, 0xFFFF);
  g_assert_cmphex (cardpin_code_checksum ("A", 1), ==, 0xB915);
}

static const guint8 design_bytes[] = {
  0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18,
  0x29, 0x3A, 0x4B, 0x5C, 0x6D, 0x7E, 0x8F, 0x90,
};

static void
test_design_example (void)
{
  g_autofree char *text = cardpin_code_format (design_bytes, sizeof design_bytes);

  /* The layout is DESIGN.md's example exactly. Its checksum there, 7F3C, is not the
   * CRC-16/CCITT-FALSE of its digits: the spec's own definition gives 8C73. */
  g_assert_cmpstr (text, ==, "A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 8C73");
  g_assert_cmphex (cardpin_code_checksum ("A1B2C3D4E5F60718293A4B5C6D7E8F90", 32), ==, 0x8C73);
  assert_parses_to (text, 16, design_bytes, sizeof design_bytes);
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 7F3C", 16);
}

static void
test_format (void)
{
  static const guint8 three[] = { 0x00, 0x0F, 0xF0 };
  g_autofree char *one = cardpin_code_format ((const guint8 *) "\x5A", 1);
  g_autofree char *odd = cardpin_code_format (three, sizeof three);
  g_autoptr(CardpinSecret) secret = cardpin_secret_new (design_bytes, sizeof design_bytes);
  g_autoptr(CardpinSecret) formatted = cardpin_code_format_secret (secret);
  char expected_one[32];

  g_snprintf (expected_one, sizeof expected_one, "5A   check %04X",
              cardpin_code_checksum ("5A", 2));
  g_assert_cmpstr (one, ==, expected_one);
  g_assert_true (g_str_has_prefix (odd, "000F F0   check "));
  g_assert_cmpstr (cardpin_secret_as_string (formatted), ==,
                   "A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 8C73");
  g_assert_cmpuint (cardpin_secret_get_length (formatted), ==, strlen (cardpin_secret_as_string (formatted)));
}

static void
test_lenient_input (void)
{
  assert_parses_to ("a1b2 c3d4 e5f6 0718 293a 4b5c 6d7e 8f90   check 8c73", 16,
                    design_bytes, sizeof design_bytes);
  assert_parses_to ("A1B2-C3D4-E5F6-0718-293A-4B5C-6D7E-8F90-8C73", 16,
                    design_bytes, sizeof design_bytes);
  assert_parses_to ("a1b2c3d4e5f60718293a4b5c6d7e8f908c73", 0,
                    design_bytes, sizeof design_bytes);
  assert_parses_to ("  A1 B2 C3 D4 E5 F6 07 18 29 3A 4B 5C 6D 7E 8F 90 CHECK 8C 73\n", 16,
                    design_bytes, sizeof design_bytes);
  assert_parses_to ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90\tCheck-8C73\r\n", 0,
                    design_bytes, sizeof design_bytes);
  assert_parses_to ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90check8C73", 16,
                    design_bytes, sizeof design_bytes);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) secret = NULL;

  assert_bad_code ("", 0);
  assert_bad_code ("   - ", 0);
  assert_bad_code ("check", 0);
  assert_bad_code ("8C73", 0);                                    /* no data */
  assert_bad_code ("A1B   check 8C73", 0);                        /* odd */
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 8C73", 8);
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F9O   check 8C73", 16); /* letter O */
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90 / check 8C73", 16);
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 8C7", 0);
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E   check 8F90 8C73", 0);
  assert_bad_code ("check A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90 check 8C73", 0);
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   chek 8C73", 0);
  assert_bad_code ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 8C73 \xc3\xa9", 0);

  /* a checksum mismatch says it is a typo */
  secret = cardpin_code_parse ("A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F91   check 8C73", 16, &error);
  g_assert_null (secret);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
  g_assert_nonnull (strstr (error->message, "typo"));
  g_clear_error (&error);

  /* a wrong length names both counts */
  secret = cardpin_code_parse ("A1B2 C3D4 E5F6 0718   check 0000", 16, &error);
  g_assert_null (secret);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
  g_assert_nonnull (strstr (error->message, "20"));
  g_assert_nonnull (strstr (error->message, "36"));
  g_clear_error (&error);
}

static void
test_too_long (void)
{
  g_autofree guint8 *data = g_malloc (CARDPIN_CODE_MAX_BYTES + 1);
  g_autofree char *longest = NULL;
  g_autofree char *too_long = NULL;

  for (guint i = 0; i <= CARDPIN_CODE_MAX_BYTES; i++)
    data[i] = (guint8) (i * 37);
  longest = cardpin_code_format (data, CARDPIN_CODE_MAX_BYTES);
  too_long = cardpin_code_format (data, CARDPIN_CODE_MAX_BYTES + 1);
  assert_parses_to (longest, 0, data, CARDPIN_CODE_MAX_BYTES);
  assert_bad_code (too_long, 0);
}

/* A swap of the last data digit a with the first checksum digit c goes unnoticed only
 * if CRC(..a) ^ CRC(..c) == (a ^ c) << 12 (values of the digits). CRC is linear, so the
 * left side depends on a and c only, not on the rest of the code: checking every pair
 * proves it for all codes of all lengths. */
static void
test_boundary_transposition_exhaustive (void)
{
  for (guint i = 0; i < 16; i++)
    for (guint j = 0; j < 16; j++)
      {
        char a[] = { '0', hex_upper[i] };
        char c[] = { '0', hex_upper[j] };
        guint16 difference;

        if (i == j)
          continue;
        difference = cardpin_code_checksum (a, 2) ^ cardpin_code_checksum (c, 2);
        g_assert_cmphex (difference, !=, (guint16) ((i ^ j) << 12));
      }
}

static gboolean
is_code_digit (const char *text,
               gsize       mark,
               gsize       len,
               gsize       i)
{
  return (i < mark && text[i] != ' ') || i >= len - 4;
}

static void
test_random_typos (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (0xCA4D915);
  guint64 substitutions = 0, transpositions = 0, harmless = 0;
  guint64 compact_transpositions = 0, boundary = 0;

  for (guint n = 0; n < N_RANDOM_CODES; n++)
    {
      gsize n_bytes = (n % 2) ? 16 : 8;
      guint8 bytes[16];
      g_autofree char *text = NULL;
      const char *mark;
      gsize len, mark_at;

      for (gsize i = 0; i < n_bytes; i++)
        bytes[i] = (guint8) g_rand_int_range (rand, 0, 256);

      text = cardpin_code_format (bytes, n_bytes);
      len = strlen (text);
      mark = strstr (text, CHECK_MARK);
      g_assert_nonnull (mark);
      mark_at = (gsize) (mark - text);
      g_assert_cmpuint (len - mark_at, ==, strlen (CHECK_MARK) + 4);

      assert_parses_to (text, n_bytes, bytes, n_bytes);

      /* every substitution of a data or checksum digit by another hex digit */
      for (gsize i = 0; i < len; i++)
        {
          char saved = text[i];

          if (!is_code_digit (text, mark_at, len, i))
            continue;
          for (guint d = 0; d < 16; d++)
            {
              g_autoptr(GError) error = NULL;
              CardpinSecret *secret;

              if (hex_upper[d] == saved)
                continue;
              text[i] = hex_upper[d];
              secret = cardpin_code_parse (text, n_bytes, &error);
              if (secret != NULL)
                g_error ("substitution at %" G_GSIZE_FORMAT " not detected: %s", i, text);
              g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
              substitutions++;
            }
          text[i] = saved;
        }

      /* every swap of two different neighbouring characters of the typed form */
      for (gsize i = 0; i + 1 < len; i++)
        {
          g_autoptr(GError) error = NULL;
          CardpinSecret *secret;
          char a = text[i], b = text[i + 1];
          gboolean both_digits;

          if (a == b)
            continue;
          both_digits = is_code_digit (text, mark_at, len, i)
                        && is_code_digit (text, mark_at, len, i + 1);
          text[i] = b;
          text[i + 1] = a;
          secret = cardpin_code_parse (text, n_bytes, &error);
          if (both_digits)
            {
              if (secret != NULL)
                g_error ("transposition at %" G_GSIZE_FORMAT " not detected: %s", i, text);
              g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
              transpositions++;
            }
          else if (secret != NULL)
            {
              /* a digit swapped with a separator: the same code, so the same bytes */
              g_assert_cmpmem (cardpin_secret_get_data (secret), cardpin_secret_get_length (secret),
                               bytes, n_bytes);
              cardpin_secret_unref (secret);
              harmless++;
            }
          else
            g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
          text[i] = a;
          text[i + 1] = b;
        }

      /* every swap of two different neighbouring digits of the code typed without
       * separators: across groups and across the data/checksum boundary too */
      {
        char compact[2 * 16 + 4 + 1];
        gsize n_digits = 0;

        for (gsize i = 0; i < len; i++)
          if (is_code_digit (text, mark_at, len, i))
            compact[n_digits++] = text[i];
        compact[n_digits] = '\0';
        g_assert_cmpuint (n_digits, ==, n_bytes * 2 + 4);
        assert_parses_to (compact, n_bytes, bytes, n_bytes);

        for (gsize i = 0; i + 1 < n_digits; i++)
          {
            g_autoptr(GError) error = NULL;
            CardpinSecret *secret;
            char a = compact[i], b = compact[i + 1];

            if (a == b)
              continue;
            compact[i] = b;
            compact[i + 1] = a;
            secret = cardpin_code_parse (compact, n_bytes, &error);
            if (secret != NULL)
              g_error ("transposition at digit %" G_GSIZE_FORMAT " not detected: %s", i, compact);
            g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE);
            if (i + 1 == n_bytes * 2)
              boundary++;
            compact_transpositions++;
            compact[i] = a;
            compact[i + 1] = b;
          }
      }
    }

  g_test_message ("%" G_GUINT64_FORMAT " substitutions, %" G_GUINT64_FORMAT
                  " transpositions in the typed form and %" G_GUINT64_FORMAT
                  " in the bare digits (%" G_GUINT64_FORMAT " across the data/checksum"
                  " boundary) detected; %" G_GUINT64_FORMAT
                  " digit/separator swaps left the code unchanged",
                  substitutions, transpositions, compact_transpositions, boundary, harmless);
  /* 5000 codes x (20 + 36 digits) x 15 other digits */
  g_assert_cmpuint (substitutions, ==, (guint64) 5000 * (20 + 36) * 15);
  /* digit pairs that differ: about 15/16 of 5000 x (15 + 27) in the typed form and of
   * 5000 x (19 + 35) in the bare digits, 5000 x 2 of them at the boundary */
  g_assert_cmpuint (transpositions, >, (guint64) 5000 * (15 + 27) * 85 / 100);
  g_assert_cmpuint (compact_transpositions, >, (guint64) 5000 * (19 + 35) * 85 / 100);
  g_assert_cmpuint (boundary, >, (guint64) 10000 * 85 / 100);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/code/checksum-check-value", test_checksum_check_value);
  g_test_add_func ("/cardpin/code/design-example", test_design_example);
  g_test_add_func ("/cardpin/code/format", test_format);
  g_test_add_func ("/cardpin/code/lenient-input", test_lenient_input);
  g_test_add_func ("/cardpin/code/errors", test_errors);
  g_test_add_func ("/cardpin/code/too-long", test_too_long);
  g_test_add_func ("/cardpin/code/boundary-transposition-exhaustive",
                   test_boundary_transposition_exhaustive);
  g_test_add_func ("/cardpin/code/random-typos", test_random_typos);

  return g_test_run ();
}
