/* cardpin-code.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-code.h"
#include "cardpin-error.h"

/*
 * Codes read over the phone (DESIGN.md): uppercase hex in groups of four separated by
 * one space, then three spaces, the word "check" and four hex digits:
 *
 *     A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 8C73
 *
 * The checksum is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final
 * xor) over the ASCII of the uppercase hex digits alone. A CRC-16 detects every error
 * burst of up to 16 bits, so every substituted digit (one byte) and every swap of two
 * neighbouring digits (two bytes) of the data is caught; a substitution or swap inside
 * the checksum changes the checksum and not the data; and for a swap across the boundary
 * (last data digit with first checksum digit) no pair of different hex digits gives a
 * matching CRC — tests/test-code.c proves all of it on 10,000 random codes.
 */

#define CHECK_WORD "check"
#define CHECKSUM_DIGITS 4
#define MAX_DIGITS (CARDPIN_CODE_MAX_BYTES * 2 + CHECKSUM_DIGITS)

static const char hex_upper[] = "0123456789ABCDEF";

static guint16 crc_table[256];

static void
crc_table_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      for (guint i = 0; i < 256; i++)
        {
          guint16 crc = (guint16) (i << 8);

          for (guint bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? (guint16) ((crc << 1) ^ 0x1021) : (guint16) (crc << 1);
          crc_table[i] = crc;
        }
      g_once_init_leave (&initialized, 1);
    }
}

static gsize
formatted_length (gsize length)
{
  gsize n_digits = length * 2;
  gsize n_groups = (n_digits + 3) / 4;

  return n_digits + (n_groups > 0 ? n_groups - 1 : 0)
         + strlen ("   " CHECK_WORD " ") + CHECKSUM_DIGITS;
}

/* Writes the formatted code and a NUL into @out (formatted_length() + 1 bytes). */
static void
format_into (const guint8 *data,
             gsize         length,
             char         *out)
{
  char *digits_start;
  char *p = out;
  guint16 crc;
  gsize n_digits = 0;

  crc_table_init ();
  crc = 0xFFFF;

  digits_start = p;
  for (gsize i = 0; i < length; i++)
    {
      char hi = hex_upper[data[i] >> 4];
      char lo = hex_upper[data[i] & 0xF];

      if (n_digits > 0 && n_digits % 4 == 0)
        *p++ = ' ';
      *p++ = hi;
      *p++ = lo;
      n_digits += 2;
      crc = (guint16) ((crc << 8) ^ crc_table[((crc >> 8) ^ (guint8) hi) & 0xFF]);
      crc = (guint16) ((crc << 8) ^ crc_table[((crc >> 8) ^ (guint8) lo) & 0xFF]);
    }
  g_assert ((gsize) (p - digits_start) == formatted_length (length)
            - strlen ("   " CHECK_WORD " ") - CHECKSUM_DIGITS);

  memcpy (p, "   " CHECK_WORD " ", strlen ("   " CHECK_WORD " "));
  p += strlen ("   " CHECK_WORD " ");
  *p++ = hex_upper[(crc >> 12) & 0xF];
  *p++ = hex_upper[(crc >> 8) & 0xF];
  *p++ = hex_upper[(crc >> 4) & 0xF];
  *p++ = hex_upper[crc & 0xF];
  *p = '\0';
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/**
 * cardpin_code_checksum:
 * @digits: (array length=n_digits): ASCII hex digits, uppercase, without spaces
 * @n_digits: how many
 *
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) over the
 * bytes of @digits. The check value of "123456789" is 0x29B1.
 *
 * Returns: the checksum
 */
guint16
cardpin_code_checksum (const char *digits,
                       gsize       n_digits)
{
  guint16 crc = 0xFFFF;

  g_return_val_if_fail (digits != NULL || n_digits == 0, 0);

  crc_table_init ();
  for (gsize i = 0; i < n_digits; i++)
    crc = (guint16) ((crc << 8) ^ crc_table[((crc >> 8) ^ (guint8) digits[i]) & 0xFF]);

  return crc;
}

/**
 * cardpin_code_format:
 * @data: (array length=length): the bytes of a challenge
 * @length: how many (at least 1)
 *
 * Formats @data as a code to read over the phone: uppercase hex in groups of four
 * separated by one space, three spaces, "check " and the four-digit checksum, as in
 * `A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90   check 8C73`. For a response, which is a
 * secret, use cardpin_code_format_secret().
 *
 * Returns: (transfer full): the code
 */
char *
cardpin_code_format (const guint8 *data,
                     gsize         length)
{
  char *out;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (length > 0, NULL);

  out = g_malloc (formatted_length (length) + 1);
  format_into (data, length, out);
  return out;
}

/**
 * cardpin_code_format_secret:
 * @secret: the bytes of a response
 *
 * Like cardpin_code_format(), but the text stays in a #CardpinSecret.
 *
 * Returns: (transfer full): the code as a secret; read it with
 *   cardpin_secret_as_string()
 */
CardpinSecret *
cardpin_code_format_secret (const CardpinSecret *secret)
{
  CardpinSecret *out;
  gsize length;

  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (cardpin_secret_get_length (secret) > 0, NULL);

  length = formatted_length (cardpin_secret_get_length (secret));
  /* a secret always has one spare byte after its length for the NUL */
  out = cardpin_secret_new_sized (length);
  format_into (cardpin_secret_get_data (secret), cardpin_secret_get_length (secret),
               (char *) cardpin_secret_get_mutable_data (out));
  return out;
}

/**
 * cardpin_code_parse:
 * @text: a code as typed by a person
 * @expected_length: the number of bytes the code must hold, or 0 for any
 * @error: return location for a #GError
 *
 * Reads a code in the format of cardpin_code_format(). Lower case, spaces, tabs and
 * dashes are accepted anywhere; the word "check" (any case) may stand once, right
 * before the last four hex digits, which are the checksum. The checksum is verified
 * before anything else can use the code, so a typo never reaches a card. This function
 * is pure: it touches no card and no global state.
 *
 * A missing or extra character, a stray character, a wrong length or a checksum
 * mismatch fails with %CARDPIN_ERROR_BAD_CODE and a message saying what to do.
 *
 * Returns: (transfer full): the bytes of the code (responses are secrets), or %NULL
 */
CardpinSecret *
cardpin_code_parse (const char  *text,
                    gsize        expected_length,
                    GError     **error)
{
  char digits[MAX_DIGITS];
  CardpinSecret *result = NULL;
  gsize n = 0;
  gssize check_at = -1;
  gsize n_data;
  guint16 crc, typed_crc;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (const char *p = text; *p != '\0';)
    {
      char c = *p;

      if (c == ' ' || c == '-' || c == '\t' || c == '\n' || c == '\r')
        {
          p++;
          continue;
        }

      if ((c == 'c' || c == 'C') && g_ascii_strncasecmp (p, CHECK_WORD, strlen (CHECK_WORD)) == 0)
        {
          if (check_at >= 0)
            {
              g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                                   _("The word “check” appears more than once. Read the code again."));
              goto out;
            }
          check_at = (gssize) n;
          p += strlen (CHECK_WORD);
          continue;
        }

      if (hex_value (c) < 0)
        {
          g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                               _("The code contains a character other than the digits 0–9 and the letters A–F. Read the code again."));
          goto out;
        }

      if (n == MAX_DIGITS)
        {
          g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                               _("The code is too long. Read the code again."));
          goto out;
        }

      digits[n++] = g_ascii_toupper (c);
      p++;
    }

  if (n == 0)
    {
      g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                           _("No code was entered. Type the code again."));
      goto out;
    }

  if (check_at >= 0 && n - (gsize) check_at != CHECKSUM_DIGITS)
    {
      g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                           _("Exactly four characters must follow the word “check”. Read the code again."));
      goto out;
    }

  if (expected_length > 0 && n != expected_length * 2 + CHECKSUM_DIGITS)
    {
      guint expected = (guint) (expected_length * 2 + CHECKSUM_DIGITS);

      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                   /* Translators: both numbers count hex characters; the first is always more than 4 */
                   g_dngettext (GETTEXT_PACKAGE,
                                "The code has %u character but must have %u, including the four after “check”. Read the code again.",
                                "The code has %u characters but must have %u, including the four after “check”. Read the code again.",
                                n),
                   (guint) n, expected);
      goto out;
    }

  if (n < CHECKSUM_DIGITS + 2)
    {
      g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                           _("The code is too short. Read the code again, including the four characters after “check”."));
      goto out;
    }

  n_data = n - CHECKSUM_DIGITS;
  if (n_data % 2 != 0)
    {
      g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                           _("The code has an odd number of characters, so one is missing or extra. Read the code again."));
      goto out;
    }

  crc = cardpin_code_checksum (digits, n_data);
  typed_crc = 0;
  for (gsize i = n_data; i < n; i++)
    typed_crc = (guint16) ((typed_crc << 4) | hex_value (digits[i]));

  if (crc != typed_crc)
    {
      g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                           _("The code has a typo: its check characters do not match the rest. Read the code again."));
      goto out;
    }

  result = cardpin_secret_new_sized (n_data / 2);
  {
    guint8 *bytes = cardpin_secret_get_mutable_data (result);

    for (gsize i = 0; i < n_data / 2; i++)
      bytes[i] = (guint8) (hex_value (digits[2 * i]) << 4 | hex_value (digits[2 * i + 1]));
  }

out:
  cardpin_secret_wipe (digits, sizeof digits);
  return result;
}
