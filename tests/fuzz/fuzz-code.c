/* fuzz-code.c — libFuzzer target for cardpin_code_parse()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cardpin-code.h"
#include "cardpin-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Parses @text; a code that parses must format back to a code that parses to the same
 * bytes, and a failure must be BAD_CODE. */
static void
check_one (const char *text,
           gsize       expected_length)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) secret = cardpin_code_parse (text, expected_length, &error);
  g_autoptr(CardpinSecret) formatted = NULL;
  g_autoptr(CardpinSecret) again = NULL;

  if (secret == NULL)
    {
      if (!g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE))
        __builtin_trap ();
      return;
    }
  if (error != NULL || cardpin_secret_get_length (secret) == 0
      || cardpin_secret_get_length (secret) > CARDPIN_CODE_MAX_BYTES
      || (expected_length > 0 && cardpin_secret_get_length (secret) != expected_length))
    __builtin_trap ();

  formatted = cardpin_code_format_secret (secret);
  again = cardpin_code_parse (cardpin_secret_as_string (formatted),
                              cardpin_secret_get_length (secret), &error);
  if (again == NULL || !cardpin_secret_equal (secret, again))
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;

  /* the parser takes a C string: stop at the first NUL like a caller would */
  text = g_strndup ((const char *) data, size);

  check_one (text, 0);
  check_one (text, 8);
  check_one (text, 16);

  return 0;
}
