/* test-atr-db.c — CardpinAtrDb and data/change-limited-cards.txt
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "cardpin-atr-db.h"

/* tests/virtual-card --atr for the change-limited test model */
#define LIMITED_ATR "3B8C80014341524450494E4C494D49541B"

static char *
shipped_data_file (void)
{
  return g_test_build_filename (G_TEST_DIST, "..", "data", "change-limited-cards.txt", NULL);
}

static void
test_shipped_file (void)
{
  g_autofree char *path = shipped_data_file ();
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinAtrDb) db = cardpin_atr_db_new_from_file (path, &error);
  const char *description = NULL;
  guint max_changes = 0;

  g_assert_no_error (error);
  g_assert_nonnull (db);
  g_assert_cmpuint (cardpin_atr_db_get_n_entries (db), >=, 1);

  g_assert_true (cardpin_atr_db_lookup (db, LIMITED_ATR, &max_changes, &description));
  g_assert_cmpuint (max_changes, ==, 1);
  g_assert_cmpstr (description, ==, "cardpin virtual card, change-limited test model");

  /* spaces, colons and lower case are the same ATR */
  g_assert_true (cardpin_atr_db_lookup (db, "3b 8c 80 01 43 41 52 44 50 49 4e 4c 49 4d 49 54 1b",
                                        NULL, NULL));
  g_assert_true (cardpin_atr_db_lookup (db, "3B:8C:80:01:43:41:52:44:50:49:4E:4C:49:4D:49:54:1B",
                                        NULL, NULL));

  /* another card, a prefix, a longer ATR and junk do not match */
  g_assert_false (cardpin_atr_db_lookup (db, "3B8C80014341524450494E4C494D49541C", NULL, NULL));
  g_assert_false (cardpin_atr_db_lookup (db, "3B8C80014341524450494E4C494D4954", NULL, NULL));
  g_assert_false (cardpin_atr_db_lookup (db, LIMITED_ATR "00", NULL, NULL));
  g_assert_false (cardpin_atr_db_lookup (db, "3B8C80014341524450494E4C494D49541", NULL, NULL));
  g_assert_false (cardpin_atr_db_lookup (db, "not an ATR", NULL, NULL));
  g_assert_false (cardpin_atr_db_lookup (db, "", NULL, NULL));
}

static void
test_patterns (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinAtrDb) db = NULL;
  const char *description = NULL;
  guint max_changes = 0;

  db = cardpin_atr_db_new_from_data ("# comment\n"
                                     "\n"
                                     "   # indented comment\r\n"
                                     "3BXX8001  2  any second byte\r\n"
                                     "3b9x8001\t3\tlow half-byte any, lower case\n"
                                     "3B9F8001 4 first match wins\n",
                                     "inline", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_atr_db_get_n_entries (db), ==, 3);

  g_assert_true (cardpin_atr_db_lookup (db, "3B008001", &max_changes, &description));
  g_assert_cmpuint (max_changes, ==, 2);
  g_assert_cmpstr (description, ==, "any second byte");

  g_assert_true (cardpin_atr_db_lookup (db, "3B9F8001", &max_changes, &description));
  g_assert_cmpuint (max_changes, ==, 2);

  g_assert_false (cardpin_atr_db_lookup (db, "3B008002", NULL, NULL));
  g_assert_false (cardpin_atr_db_lookup (db, "3B00800100", NULL, NULL));
}

static void
test_errors (void)
{
  static const struct {
    const char *contents;
    const char *where;
  } bad[] = {
    { "3B8  1  odd number of digits\n", "bad:1:" },
    { "# ok\n3BZZ  1  not hex\n", "bad:2:" },
    { "3B80  0  zero changes\n", "bad:1:" },
    { "3B80  many  not a number\n", "bad:1:" },
    { "3B80  -1  negative\n", "bad:1:" },
    { "3B80\n", "bad:1:" },
    { "\n\n3B80  1\n", "bad:3:" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CardpinAtrDb) db = cardpin_atr_db_new_from_data (bad[i].contents, "bad", &error);

      g_assert_null (db);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_true (g_str_has_prefix (error->message, bad[i].where));
    }
}

/* The list is built into core: found without any file or environment variable, the
 * same as the source tree's data file */
static void
test_built_in (void)
{
  g_autofree char *path = shipped_data_file ();
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinAtrDb) db = NULL;
  g_autoptr(CardpinAtrDb) shipped = NULL;
  const char *desc = NULL;
  guint max_changes = 0;

  db = cardpin_atr_db_new_default (&error);
  g_assert_no_error (error);
  shipped = cardpin_atr_db_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_atr_db_get_n_entries (db), ==,
                    cardpin_atr_db_get_n_entries (shipped));
  g_assert_true (cardpin_atr_db_lookup (db, LIMITED_ATR, &max_changes, &desc));
  g_assert_cmpuint (max_changes, ==, 1);
  g_assert_cmpstr (desc, ==, "cardpin virtual card, change-limited test model");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/atr-db/shipped-file", test_shipped_file);
  g_test_add_func ("/cardpin/atr-db/patterns", test_patterns);
  g_test_add_func ("/cardpin/atr-db/errors", test_errors);
  g_test_add_func ("/cardpin/atr-db/built-in", test_built_in);

  return g_test_run ();
}
