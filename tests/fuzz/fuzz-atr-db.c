/* fuzz-atr-db.c — libFuzzer target for the change-limited card list and ATR matching
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input: a data file, then a NUL byte, then an ATR as hex (what a card reports).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <gio/gio.h>

#include "cardpin-atr-db.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(CardpinAtrDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *atr = NULL;
  const uint8_t *nul = memchr (data, '\0', size);
  const char *description = NULL;
  guint max_changes = 0;

  contents = g_strndup ((const char *) data, nul ? (gsize) (nul - data) : size);
  atr = nul ? g_strndup ((const char *) nul + 1, size - (gsize) (nul - data) - 1) : g_strdup ("");

  db = cardpin_atr_db_new_from_data (contents, "fuzz", &error);
  if (db == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
        __builtin_trap ();
      return 0;
    }

  if (cardpin_atr_db_lookup (db, atr, &max_changes, &description))
    {
      if (max_changes == 0 || description == NULL || description[0] == '\0')
        __builtin_trap ();
    }

  return 0;
}
