/* test-master-key.c — CardpinMasterKey on a real SoftHSM2 token, checked against the
 * openssl command line and pkcs11-tool (OpenSC), which share no code with it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "cardpin-master-key.h"
#include "cardpin-test-stack.h"

#define MODULE      "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN       "cardpin-mk-test"
#define TOKEN_PIN   "31415926"
#define SERIAL      "C0FFEE00000000000000000000000A11"
/* a known master key, imported, for the openssl check */
#define KNOWN_KEY   "000102030405060708090a0b0c0d0e0f"
#define CHALLENGE   "00112233445566778899AABBCCDDEEFF"

static char *dir;
static char *pin_file;

/* Runs a shell command in the test directory; returns its stdout */
static char *
sh (const char *command)
{
  return cardpin_test_sh (dir, command);
}

static char *
hex_of (const CardpinSecret *secret)
{
  g_autoptr(CardpinSecret) hex = cardpin_master_key_hex (secret);

  return g_strdup (cardpin_secret_as_string (hex));
}

static CardpinMasterKey *
open_key (const char *label)
{
  g_autoptr(GError) error = NULL;
  CardpinMasterKey *key = cardpin_master_key_open (MODULE, TOKEN, pin_file, label, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  return key;
}

/* openssl: K_card = AES-128-ECB(master, SHA-256(prefix || serial)[0..15]) */
static char *
openssl_card_key (const char *master_hex,
                  const char *serial)
{
  g_autofree char *command =
    g_strdup_printf ("printf '%%s' 'cardpin-admin-key-v1%s' | openssl dgst -sha256 -binary"
                     " | head -c 16 | openssl enc -aes-128-ecb -nopad -K %s"
                     " | od -An -tx1 | tr -d ' \\n' | tr a-f A-F", serial, master_hex);

  return sh (command);
}

static char *
openssl_cipher (const char *cipher,
                const char *key_hex,
                const char *data_hex)
{
  g_autofree char *command =
    g_strdup_printf ("printf '%s' | xxd -r -p | openssl enc %s -nopad -K %s"
                     " | od -An -tx1 | tr -d ' \\n' | tr a-f A-F", data_hex, cipher, key_hex);

  return sh (command);
}

static char *
openssl_encrypt (const char *key_hex,
                 const char *data_hex)
{
  return openssl_cipher ("-aes-128-ecb", key_hex, data_hex);
}

static guint8 *
bytes_of (const char *hex_text)
{
  guint8 *out = g_new0 (guint8, strlen (hex_text) / 2);

  for (gsize i = 0; hex_text[i] && hex_text[i + 1]; i += 2)
    out[i / 2] = (guint8) (g_ascii_xdigit_value (hex_text[i]) << 4 |
                           g_ascii_xdigit_value (hex_text[i + 1]));
  return out;
}

static CardpinSecret *
respond (CardpinMasterKey *key,
         const char       *serial,
         GError          **error)
{
  g_autofree guint8 *challenge = bytes_of (CHALLENGE);

  return cardpin_master_key_respond (key, serial, CARDPIN_MASTER_KEY_ALG_AES128, challenge, 16,
                                     error);
}

/* Tests */

static void
test_create (void)
{
  g_autoptr(CardpinMasterKey) key = open_key ("created");
  g_autoptr(CardpinSecret) hex = cardpin_secret_new_from_string (KNOWN_KEY);
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinSecret) admin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *admin_hex = NULL;
  g_autofree char *response_hex = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *objects = NULL;

  /* no key yet: a response is refused, saying how to make one */
  g_assert_false (cardpin_master_key_exists (key, &error));
  g_assert_no_error (error);
  response = respond (key, SERIAL, &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_NO_KEY);
  g_assert_nonnull (strstr (error->message, "master-key create"));
  g_clear_error (&error);

  g_assert_true (cardpin_master_key_create (key, &error));
  g_assert_no_error (error);
  g_assert_true (cardpin_master_key_exists (key, &error));

  /* once only: create and import refuse, nothing changes */
  g_assert_false (cardpin_master_key_create (key, &error));
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (cardpin_master_key_import (key, hex, &error));
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_EXISTS);
  g_clear_error (&error);

  /* the response is AES(K_card, challenge) with the K_card export-admin-key gives */
  admin = cardpin_master_key_export_admin_key (key, SERIAL, CARDPIN_MASTER_KEY_ALG_AES128, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_secret_get_length (admin), ==, 16);
  response = respond (key, SERIAL, &error);
  g_assert_no_error (error);
  admin_hex = hex_of (admin);
  response_hex = hex_of (response);
  expected = openssl_encrypt (admin_hex, CHALLENGE);
  g_assert_cmpstr (response_hex, ==, expected);

  /* pkcs11-tool (OpenSC) sees one AES key of that label: sensitive, never extractable,
   * derive only; and no derived session object survives */
  objects = sh ("SOFTHSM2_CONF=./softhsm2.conf pkcs11-tool --module " MODULE
                " --token-label " TOKEN " --login --pin " TOKEN_PIN
                " --list-objects --type secrkey 2>/dev/null");
  g_test_message ("%s", objects);
  g_assert_nonnull (strstr (objects, "label:      created"));
  g_assert_nonnull (strstr (objects, "AES length 16"));
  g_assert_nonnull (strstr (objects, "Usage:      derive"));
  g_assert_nonnull (strstr (objects, "sensitive, always sensitive, never extractable"));
  g_assert_null (strstr (objects, "encrypt"));
  /* a reopened handle finds the same key and answers the same */
  {
    g_autoptr(CardpinMasterKey) again = NULL;
    g_autoptr(CardpinSecret) second = NULL;
    g_autofree char *second_hex = NULL;

    g_clear_pointer (&key, cardpin_master_key_free);
    again = open_key ("created");
    second = respond (again, SERIAL, &error);
    g_assert_no_error (error);
    second_hex = hex_of (second);
    g_assert_cmpstr (second_hex, ==, response_hex);
  }
}

static void
test_import (void)
{
  g_autoptr(CardpinMasterKey) key = open_key ("imported");
  g_autoptr(CardpinSecret) hex = cardpin_secret_new_from_string ("  " KNOWN_KEY "\n");
  g_autoptr(CardpinSecret) admin = NULL;
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *card_key = openssl_card_key (KNOWN_KEY, SERIAL);
  g_autofree char *expected = NULL;
  g_autofree char *admin_hex = NULL;
  g_autofree char *response_hex = NULL;
  const char *bad[] = {
    "000102030405060708090a0b0c0d0e0",      /* 31 digits */
    "000102030405060708090a0b0c0d0e0f00",   /* 34 digits */
    "000102030405060708090a0b0c0d0e0g",     /* not hex */
    "00010203 0405060708090a0b0c0d0e0f",    /* space inside */
    "",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(CardpinSecret) wrong = cardpin_secret_new_from_string (bad[i]);

      g_assert_false (cardpin_master_key_import (key, wrong, &error));
      g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_false (cardpin_master_key_exists (key, &error));
      g_assert_no_error (error);
    }

  g_assert_true (cardpin_master_key_import (key, hex, &error));
  g_assert_no_error (error);
  g_assert_false (cardpin_master_key_import (key, hex, &error));
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_EXISTS);
  g_clear_error (&error);

  /* derived key and response equal openssl's from the same master key and serial */
  admin = cardpin_master_key_export_admin_key (key, SERIAL, CARDPIN_MASTER_KEY_ALG_AES128, &error);
  g_assert_no_error (error);
  admin_hex = hex_of (admin);
  g_assert_cmpstr (admin_hex, ==, card_key);

  response = respond (key, SERIAL, &error);
  g_assert_no_error (error);
  response_hex = hex_of (response);
  expected = openssl_encrypt (card_key, CHALLENGE);
  g_assert_cmpstr (response_hex, ==, expected);

  /* another serial, another key; the serial is used exactly as given */
  {
    g_autoptr(CardpinSecret) other = cardpin_master_key_export_admin_key (key, "c0ffee",
                                                                          CARDPIN_MASTER_KEY_ALG_AES128, &error);
    g_autofree char *other_hex = hex_of (other);
    g_autofree char *other_expected = openssl_card_key (KNOWN_KEY, "c0ffee");

    g_assert_cmpstr (other_hex, ==, other_expected);
    g_assert_cmpstr (other_hex, !=, admin_hex);
  }
}


/* A 3DES card (what yubico-piv-tool 2.2 personalises): K_card as a two-key 3DES key
 * K1 K2 K1, made in the token; its response equals openssl's des-ede3 with that key */
static void
test_3des (void)
{
  g_autoptr(CardpinMasterKey) key = open_key ("imported");
  g_autofree guint8 *challenge = bytes_of ("0011223344556677");
  g_autoptr(CardpinSecret) admin = NULL;
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *card_key = openssl_card_key (KNOWN_KEY, SERIAL);
  g_autofree char *admin_hex = NULL;
  g_autofree char *response_hex = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *two_key = NULL;

  if (!cardpin_master_key_exists (key, NULL))
    {
      g_autoptr(CardpinSecret) hex = cardpin_secret_new_from_string (KNOWN_KEY);

      g_assert_true (cardpin_master_key_import (key, hex, &error));
      g_assert_no_error (error);
    }

  admin = cardpin_master_key_export_admin_key (key, SERIAL, CARDPIN_MASTER_KEY_ALG_3DES, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_secret_get_length (admin), ==, 24);
  admin_hex = hex_of (admin);

  /* K_card || K_card[0..7], up to the DES parity bits (the low bit of each byte) */
  two_key = g_strdup_printf ("%s%.16s", card_key, card_key);
  {
    g_autofree guint8 *got = bytes_of (admin_hex);
    g_autofree guint8 *want = bytes_of (two_key);

    for (gsize i = 0; i < 24; i++)
      g_assert_cmphex (got[i] & 0xFE, ==, want[i] & 0xFE);
  }

  response = cardpin_master_key_respond (key, SERIAL, CARDPIN_MASTER_KEY_ALG_3DES, challenge, 8,
                                         &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_secret_get_length (response), ==, 8);
  response_hex = hex_of (response);
  expected = openssl_cipher ("-des-ede3", two_key, "0011223344556677");
  g_assert_cmpstr (response_hex, ==, expected);
}

static void
test_bad_input (void)
{
  g_autoptr(CardpinMasterKey) key = open_key ("imported");
  g_autofree guint8 *challenge = bytes_of (CHALLENGE);
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *long_serial = g_strnfill (CARDPIN_MASTER_KEY_MAX_SERIAL + 1, 'A');
  const char *serials[] = { "", "C0 FFEE", "C0FFEE\n", "C0FF\xc3\xa9", long_serial };

  for (gsize i = 0; i < G_N_ELEMENTS (serials); i++)
    {
      response = respond (key, serials[i], &error);
      g_assert_null (response);
      g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID);
      g_clear_error (&error);
    }

  /* 3DES: a challenge is one 8-byte block */
  response = cardpin_master_key_respond (key, SERIAL, CARDPIN_MASTER_KEY_ALG_3DES, challenge,
                                         16, &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "8 bytes"));
  g_clear_error (&error);
  g_assert_null (cardpin_master_key_export_admin_key (key, SERIAL, 0x11, &error));
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID);
  g_clear_error (&error);
  response = cardpin_master_key_respond (key, SERIAL, 0x11, challenge, 16, &error);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID);
  g_clear_error (&error);
  response = cardpin_master_key_respond (key, SERIAL, CARDPIN_MASTER_KEY_ALG_AES128, challenge,
                                         15, &error);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID);
  g_clear_error (&error);
}

static void
test_open_errors (void)
{
  g_autofree char *wrong_pin = g_build_filename (dir, "wrong-pin", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty-pin", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-file", NULL);
  g_autoptr(GError) error = NULL;
  CardpinMasterKey *key;

  g_assert_true (g_file_set_contents (wrong_pin, "11111111\n", -1, NULL));
  g_assert_true (g_file_set_contents (empty, "\n" TOKEN_PIN "\n", -1, NULL));

  key = cardpin_master_key_open ("libsofthsm2.so", TOKEN, pin_file, "x", &error);
  g_assert_null (key);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG);
  g_clear_error (&error);

  key = cardpin_master_key_open (MODULE, "no-such-token", pin_file, "x", &error);
  g_assert_null (key);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_NO_TOKEN);
  g_assert_nonnull (strstr (error->message, "no-such-token"));
  g_clear_error (&error);

  key = cardpin_master_key_open (MODULE, TOKEN, wrong_pin, "x", &error);
  g_assert_null (key);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_LOGIN);
  g_assert_null (strstr (error->message, "11111111"));
  g_clear_error (&error);

  /* the PIN is on the FIRST line */
  key = cardpin_master_key_open (MODULE, TOKEN, empty, "x", &error);
  g_assert_null (key);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG);
  g_clear_error (&error);

  key = cardpin_master_key_open (MODULE, TOKEN, missing, "x", &error);
  g_assert_null (key);
  g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG);
  g_clear_error (&error);

  /* the keyfile names every key it needs */
  {
    g_autoptr(GKeyFile) keyfile = g_key_file_new ();

    g_key_file_set_string (keyfile, "service", "pkcs11-module", MODULE);
    g_key_file_set_string (keyfile, "service", "token-label", TOKEN);
    g_key_file_set_string (keyfile, "service", "token-pin-file", pin_file);
    key = cardpin_master_key_open_from_keyfile (keyfile, &error);
    g_assert_null (key);
    g_assert_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "master-key-label"));
    g_clear_error (&error);

    g_key_file_set_string (keyfile, "service", "master-key-label", "imported");
    key = cardpin_master_key_open_from_keyfile (keyfile, &error);
    g_assert_no_error (error);
    g_assert_true (cardpin_master_key_exists (key, &error));
    cardpin_master_key_free (key);
  }
}

typedef struct {
  CardpinMasterKey *key;
  char             *expected;
  guint             failures;
} Shared;

static gpointer
respond_thread (gpointer data)
{
  Shared *shared = data;

  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(CardpinSecret) response = respond (shared->key, SERIAL, NULL);
      g_autofree char *got = response != NULL ? hex_of (response) : NULL;

      if (g_strcmp0 (got, shared->expected) != 0)
        g_atomic_int_inc (&shared->failures);
    }
  return NULL;
}

/* the service answers from several threads at once */
static void
test_threads (void)
{
  g_autoptr(CardpinMasterKey) key = open_key ("imported");
  g_autofree char *card_key = openssl_card_key (KNOWN_KEY, SERIAL);
  Shared shared = { key, openssl_encrypt (card_key, CHALLENGE), 0 };
  GThread *threads[8];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("respond", respond_thread, &shared);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpuint (shared.failures, ==, 0);
  g_free (shared.expected);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *conf_path = NULL;
  g_autofree char *rm = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);

  dir = g_dir_make_tmp ("cardpin-master-key-XXXXXX", &error);
  g_assert_no_error (error);
  conf_path = g_build_filename (dir, "softhsm2.conf", NULL);
  conf = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\n"
                          "log.level = ERROR\n", dir);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
  g_setenv ("SOFTHSM2_CONF", conf_path, TRUE);
  g_free (sh ("softhsm2-util --init-token --free --label " TOKEN " --so-pin 10293847"
              " --pin " TOKEN_PIN " >/dev/null"));
  pin_file = g_build_filename (dir, "token-pin", NULL);
  g_assert_true (g_file_set_contents (pin_file, TOKEN_PIN "\nsecond line\n", -1, NULL));

  g_test_add_func ("/cardpin/master-key/create", test_create);
  g_test_add_func ("/cardpin/master-key/import", test_import);
  g_test_add_func ("/cardpin/master-key/3des", test_3des);
  g_test_add_func ("/cardpin/master-key/bad-input", test_bad_input);
  g_test_add_func ("/cardpin/master-key/open-errors", test_open_errors);
  g_test_add_func ("/cardpin/master-key/threads", test_threads);
  result = g_test_run ();

  rm = g_strdup_printf ("rm -rf '%s'", dir);
  g_free (sh (rm));
  g_free (pin_file);
  g_free (dir);
  return result;
}
