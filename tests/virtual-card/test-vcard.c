/* test-vcard.c: unit tests of the virtual PIV card's applet logic
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "vcard-card.h"
#include "vcard-error.h"
#include "vcard-options.h"
#include "vcard-state.h"
#include "vcard-tlv.h"

typedef struct
{
  char         *dir;
  char         *state_path;
  VcardOptions *options;
  VcardCard    *card;
} Fixture;

/* Helpers */

static GByteArray *
hex_to_bytes (const char *hex)
{
  GByteArray *out = g_byte_array_new ();

  while (*hex != '\0')
    {
      guint8 b;

      if (*hex == ' ')
        {
          hex++;
          continue;
        }
      g_assert_true (g_ascii_isxdigit (hex[0]) && g_ascii_isxdigit (hex[1]));
      b = g_ascii_xdigit_value (hex[0]) << 4 | g_ascii_xdigit_value (hex[1]);
      g_byte_array_append (out, &b, 1);
      hex += 2;
    }
  return out;
}

/* Sends raw bytes; returns SW and, in @data, the response data */
static guint16
send_raw (VcardCard    *card,
          const guint8 *apdu,
          gsize         len,
          GByteArray  **data)
{
  g_autoptr(GBytes) response = vcard_card_transmit (card, apdu, len);
  gsize rlen;
  const guint8 *r = g_bytes_get_data (response, &rlen);

  g_assert_cmpuint (rlen, >=, 2);
  if (data != NULL)
    {
      *data = g_byte_array_new ();
      g_byte_array_append (*data, r, rlen - 2);
    }
  return (guint16) (r[rlen - 2] << 8 | r[rlen - 1]);
}

static guint16
send_hex (VcardCard   *card,
          const char  *hex,
          GByteArray **data)
{
  g_autoptr(GByteArray) apdu = hex_to_bytes (hex);

  return send_raw (card, apdu->data, apdu->len, data);
}

/* A short case 3/4 APDU with @data (Le 00 when @le) */
static guint16
send_apdu (VcardCard    *card,
           guint8        cla,
           guint8        ins,
           guint8        p1,
           guint8        p2,
           const guint8 *payload,
           gsize         len,
           gboolean      le,
           GByteArray  **data)
{
  g_autoptr(GByteArray) apdu = g_byte_array_new ();
  guint8 header[5] = { cla, ins, p1, p2, len };
  const guint8 zero = 0;

  g_assert_cmpuint (len, <=, 255);
  g_byte_array_append (apdu, header, len > 0 ? 5 : 4);
  if (len > 0)
    g_byte_array_append (apdu, payload, len);
  if (le)
    g_byte_array_append (apdu, &zero, 1);
  return send_raw (card, apdu->data, apdu->len, data);
}

static void
pad_pin (const char *pin,
         guint8      out[8])
{
  memset (out, 0xFF, 8);
  memcpy (out, pin, strlen (pin));
}

static guint16
verify (VcardCard  *card,
        const char *pin)
{
  guint8 padded[8];

  if (pin == NULL)
    return send_hex (card, "00 20 00 80", NULL);
  pad_pin (pin, padded);
  return send_apdu (card, 0x00, 0x20, 0x00, 0x80, padded, 8, FALSE, NULL);
}

static guint16
change_reference (VcardCard  *card,
                  guint8      ref,
                  const char *old_pin,
                  const char *new_pin)
{
  guint8 data[16];

  pad_pin (old_pin, data);
  pad_pin (new_pin, data + 8);
  return send_apdu (card, 0x00, 0x24, 0x00, ref, data, 16, FALSE, NULL);
}

static guint16
reset_retry (VcardCard  *card,
             const char *puk,
             const char *new_pin)
{
  guint8 data[16];

  pad_pin (puk, data);
  pad_pin (new_pin, data + 8);
  return send_apdu (card, 0x00, 0x2C, 0x00, 0x80, data, 16, FALSE, NULL);
}

static void
select_piv (VcardCard *card)
{
  g_assert_cmphex (send_hex (card, "00 A4 04 00 05 A0 00 00 03 08 00", NULL), ==, 0x9000);
}

/* Reads the tries left from GET METADATA */
static guint
metadata_tries_left (VcardCard *card,
                     guint8     ref,
                     guint     *max,
                     gboolean  *is_default)
{
  g_autoptr(GByteArray) data = NULL;
  const guint8 *v;
  gsize len;
  guint8 apdu[4] = { 0x00, 0xF7, 0x00, ref };

  g_assert_cmphex (send_raw (card, apdu, 4, &data), ==, 0x9000);
  g_assert_true (vcard_tlv_find (data->data, data->len, 0x06, &v, &len));
  g_assert_cmpuint (len, ==, 2);
  if (max != NULL)
    *max = v[0];
  if (is_default != NULL)
    {
      g_assert_true (vcard_tlv_find (data->data, data->len, 0x05, &v, &len));
      g_assert_cmpuint (len, ==, 1);
      *is_default = v[0] == 1;
    }
  g_assert_true (vcard_tlv_find (data->data, data->len, 0x06, &v, &len));
  return v[1];
}

/* Encrypts one block with the management key, as a host would */
static void
admin_encrypt (const guint8 *key,
               gsize         key_len,
               const guint8 *in,
               guint8       *out)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  gsize bs = key_len == 16 ? 16 : 8;
  int n1 = 0, n2 = 0;

  g_assert_nonnull (ctx);
  g_assert_cmpint (EVP_EncryptInit_ex (ctx, key_len == 16 ? EVP_aes_128_ecb ()
                                                          : EVP_des_ede3_ecb (),
                                       NULL, key, NULL), ==, 1);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  g_assert_cmpint (EVP_EncryptUpdate (ctx, out, &n1, in, bs), ==, 1);
  g_assert_cmpint (EVP_EncryptFinal_ex (ctx, out + n1, &n2), ==, 1);
  g_assert_cmpint (n1 + n2, ==, (int) bs);
  EVP_CIPHER_CTX_free (ctx);
}

/* Requests a card challenge and returns it */
static gsize
admin_challenge (VcardCard *card,
                 guint8     alg,
                 guint8     challenge[16])
{
  g_autoptr(GByteArray) data = NULL;
  const guint8 req[] = { 0x7C, 0x02, 0x81, 0x00 };
  const guint8 *v;
  gsize len;

  g_assert_cmphex (send_apdu (card, 0x00, 0x87, alg, 0x9B, req, sizeof req, TRUE, &data),
                   ==, 0x9000);
  g_assert_cmpuint (data->data[0], ==, 0x7C);
  g_assert_true (vcard_tlv_find (data->data + 2, data->len - 2, 0x81, &v, &len));
  g_assert_cmpuint (len, ==, alg == 0x08 ? 16 : 8);
  g_assert_cmpuint (data->data[1], ==, len + 2);
  memcpy (challenge, v, len);
  return len;
}

static guint16
admin_answer (VcardCard    *card,
              guint8        alg,
              const guint8 *answer,
              gsize         len)
{
  guint8 msg[2 + 2 + 16] = { 0x7C, len + 2, 0x82, len };

  memcpy (msg + 4, answer, len);
  return send_apdu (card, 0x00, 0x87, alg, 0x9B, msg, len + 4, FALSE, NULL);
}

static guint16
admin_authenticate (VcardCard    *card,
                    const guint8 *key,
                    gsize         key_len,
                    gboolean      right)
{
  guint8 alg = key_len == 16 ? 0x08 : 0x03;
  guint8 challenge[16];
  guint8 answer[16];
  gsize len = admin_challenge (card, alg, challenge);

  admin_encrypt (key, key_len, challenge, answer);
  if (!right)
    answer[0] ^= 0x01;
  return admin_answer (card, alg, answer, len);
}

static const guint8 default_admin_key[24] = {
  1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

/* Fixture */

static VcardCard *
open_card (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  VcardState *state = vcard_state_open (fixture->options, &error);

  g_assert_no_error (error);
  g_assert_nonnull (state);
  return vcard_card_new (state);
}

static void
fixture_setup_with (Fixture    *fixture,
                    const char *extra)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cmdline = NULL;
  g_auto(GStrv) args = NULL;

  fixture->dir = g_dir_make_tmp ("test-vcard-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->state_path = g_build_filename (fixture->dir, "state", NULL);

  cmdline = g_strdup_printf ("cardpin-virtual-card --port 40000 --serial 0123456789ABCDEF "
                             "--key-alg eccp256 --state %s %s", fixture->state_path, extra);
  g_shell_parse_argv (cmdline, NULL, &args, &error);
  g_assert_no_error (error);

  fixture->options = vcard_options_new ();
  g_assert_true (vcard_options_parse (fixture->options, args, &error));
  g_assert_no_error (error);

  fixture->card = open_card (fixture);
  g_assert_true (g_file_test (fixture->state_path, G_FILE_TEST_IS_REGULAR));
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture_setup_with (fixture, data != NULL ? data : "");
}

static void
reopen_card (Fixture *fixture)
{
  g_assert_finalize_object (g_steal_pointer (&fixture->card));
  fixture->card = open_card (fixture);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  g_assert_finalize_object (g_steal_pointer (&fixture->card));
  vcard_options_free (fixture->options);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->state_path);
  g_free (fixture->dir);
}

/* Tests */

static void
test_select (Fixture       *fixture,
             gconstpointer  data)
{
  VcardCard *card = fixture->card;
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GByteArray) expected =
    hex_to_bytes ("61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08");

  /* Nothing selected yet */
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F C1 02 00", NULL), ==, 0x6985);
  g_assert_cmphex (verify (card, NULL), ==, 0x6985);
  g_assert_cmphex (send_hex (card, "00 E4 00 00", NULL), ==, 0x6D00);

  /* Other applets and forms */
  g_assert_cmphex (send_hex (card, "00 A4 04 00 08 A0 00 00 05 27 47 11 17 00", NULL),
                   ==, 0x6A82);
  g_assert_cmphex (send_hex (card, "00 A4 04 00 04 A0 00 00 03 00", NULL), ==, 0x6A82);
  g_assert_cmphex (send_hex (card, "00 A4 00 0C 02 3F 00", NULL), ==, 0x6A86);

  /* The full AID */
  g_assert_cmphex (send_hex (card, "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00",
                             &response), ==, 0x9000);
  g_assert_cmpmem (response->data, response->len, expected->data, expected->len);
  g_clear_pointer (&response, g_byte_array_unref);

  /* The short AID */
  g_assert_cmphex (send_hex (card, "00 A4 04 00 05 A0 00 00 03 08 00", &response), ==, 0x9000);
  g_assert_cmpmem (response->data, response->len, expected->data, expected->len);

  /* A failed SELECT keeps PIV selected */
  g_assert_cmphex (send_hex (card, "00 A4 04 00 05 A0 00 00 03 09 00", NULL), ==, 0x6A82);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);

  /* Errors */
  g_assert_cmphex (send_hex (card, "80 20 00 80", NULL), ==, 0x6E00);
  g_assert_cmphex (send_hex (card, "00 20", NULL), ==, 0x6700);
  g_assert_cmphex (send_hex (card, "00 20 00 80 08 31 32", NULL), ==, 0x6700);
  g_assert_cmphex (send_hex (card, "00 E4 00 00", NULL), ==, 0x6D00);
  g_assert_cmphex (send_hex (card, "00 CB 3F 00 05 5C 03 5F C1 02 00", NULL), ==, 0x6A86);
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5D 03 5F C1 02 00", NULL), ==, 0x6A80);
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F C1 01 00", NULL), ==, 0x6A82);
  g_assert_cmphex (send_hex (card, "00 C0 00 00 00", NULL), ==, 0x6985);

  /* GET VERSION */
  g_clear_pointer (&response, g_byte_array_unref);
  g_assert_cmphex (send_hex (card, "00 FD 00 00 00", &response), ==, 0x9000);
  g_assert_cmpuint (response->len, ==, 3);
  g_assert_cmpuint (response->data[0], ==, 5);

  /* Power off ends the session: PIV must be selected again */
  vcard_card_reset (card);
  g_assert_cmphex (verify (card, NULL), ==, 0x6985);
}

static void
test_get_data (Fixture       *fixture,
               gconstpointer  data)
{
  VcardCard *card = fixture->card;
  g_autoptr(GByteArray) response = NULL;
  g_autoptr(GByteArray) discovery =
    hex_to_bytes ("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00");
  const guint8 guid[16] = { 0, 0, 0, 0, 0, 0, 0, 0,
                            0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF };
  const guint8 *v;
  const guint8 *inner;
  gsize len;
  gsize inner_len;

  select_piv (card);

  /* CHUID: GUID from --serial, left-padded */
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F C1 02 00", &response), ==, 0x9000);
  g_assert_true (vcard_tlv_find (response->data, response->len, 0x53, &inner, &inner_len));
  g_assert_true (vcard_tlv_find (inner, inner_len, 0x34, &v, &len));
  g_assert_cmpmem (v, len, guid, sizeof guid);
  g_assert_true (vcard_tlv_find (inner, inner_len, 0x30, &v, &len));
  g_assert_cmpuint (len, ==, 25);
  g_assert_true (vcard_tlv_find (inner, inner_len, 0x35, &v, &len));
  g_assert_cmpmem (v, len, "20991231", 8);
  g_assert_true (vcard_tlv_find (inner, inner_len, 0x3E, &v, &len));
  g_assert_cmpuint (len, ==, 0);
  g_assert_true (vcard_tlv_find (inner, inner_len, 0xFE, &v, &len));
  g_clear_pointer (&response, g_byte_array_unref);

  /* CCC */
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F C1 07 00", &response), ==, 0x9000);
  g_assert_true (vcard_tlv_find (response->data, response->len, 0x53, &inner, &inner_len));
  g_assert_true (vcard_tlv_find (inner, inner_len, 0xF0, &v, &len));
  g_assert_cmpuint (len, ==, 21);
  g_clear_pointer (&response, g_byte_array_unref);

  /* Discovery object */
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 03 5C 01 7E 00", &response), ==, 0x9000);
  g_assert_cmpmem (response->data, response->len, discovery->data, discovery->len);
  g_clear_pointer (&response, g_byte_array_unref);

  /* Absent objects */
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F C1 0B 00", NULL), ==, 0x6A82);
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F FF 00 00", NULL), ==, 0x6A82);
}

/* Reads an object, following 61xx with GET RESPONSE (Le @chunk) */
static GByteArray *
read_chained (VcardCard  *card,
              const char *get_data,
              guint8      chunk,
              guint      *rounds)
{
  GByteArray *all = g_byte_array_new ();
  g_autoptr(GByteArray) part = NULL;
  guint16 sw = send_hex (card, get_data, &part);

  *rounds = 0;
  for (;;)
    {
      guint8 get_response[5] = { 0x00, 0xC0, 0x00, 0x00, chunk };

      g_byte_array_append (all, part->data, part->len);
      g_clear_pointer (&part, g_byte_array_unref);
      if (sw == 0x9000)
        break;
      g_assert_cmphex (sw & 0xFF00, ==, 0x6100);
      (*rounds)++;
      g_assert_cmpuint (*rounds, <, 100);
      sw = send_raw (card, get_response, sizeof get_response, &part);
    }
  return all;
}

static X509 *
certificate_from_object (GByteArray *object)
{
  const guint8 *inner;
  const guint8 *der;
  const guint8 *v;
  gsize inner_len;
  gsize der_len;
  gsize len;

  g_assert_true (vcard_tlv_find (object->data, object->len, 0x53, &inner, &inner_len));
  g_assert_true (vcard_tlv_find (inner, inner_len, 0x70, &der, &der_len));
  g_assert_true (vcard_tlv_find (inner, inner_len, 0x71, &v, &len));
  g_assert_cmpuint (len, ==, 1);
  g_assert_cmpuint (v[0], ==, 0);
  g_assert_true (vcard_tlv_find (inner, inner_len, 0xFE, &v, &len));
  return d2i_X509 (NULL, &der, der_len);
}

static void
assert_subject (X509       *cert,
                const char *cn)
{
  char buf[256];

  g_assert_nonnull (cert);
  g_assert_cmpint (X509_NAME_get_text_by_NID (X509_get_subject_name (cert), NID_commonName,
                                              buf, sizeof buf), >, 0);
  g_assert_cmpstr (buf, ==, cn);
}

static void
test_response_chaining (Fixture       *fixture,
                        gconstpointer  data)
{
  VcardCard *card = fixture->card;
  g_autoptr(GByteArray) object = NULL;
  g_autoptr(GByteArray) object2 = NULL;
  g_autoptr(GByteArray) part = NULL;
  X509 *cert;
  guint rounds;

  select_piv (card);

  object = read_chained (card, "00 CB 3F FF 05 5C 03 5F C1 05 00", 0, &rounds);
  g_assert_cmpuint (object->len, >, 256);
  g_assert_cmpuint (rounds, >=, 1);
  cert = certificate_from_object (object);
  assert_subject (cert, "Virtual Card User");
  X509_free (cert);

  /* Small GET RESPONSE chunks give the same bytes */
  object2 = read_chained (card, "00 CB 3F FF 05 5C 03 5F C1 05 00", 0x40, &rounds);
  g_assert_cmpuint (rounds, ==, (object->len - 256 + 0x3F) / 0x40);
  g_assert_cmpmem (object->data, object->len, object2->data, object2->len);
  g_clear_pointer (&object2, g_byte_array_unref);

  /* Extended-length GET DATA: still 256 bytes and 61xx */
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 00 00 05 5C 03 5F C1 05 00 00", &part) & 0xFF00,
                   ==, 0x6100);
  g_assert_cmpuint (part->len, ==, 256);
  g_assert_cmpmem (part->data, part->len, object->data, 256);

  /* Another command drops the rest of the response */
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);
  g_assert_cmphex (send_hex (card, "00 C0 00 00 00", NULL), ==, 0x6985);

  /* 9C has its own certificate */
  object2 = read_chained (card, "00 CB 3F FF 05 5C 03 5F C1 0A 00", 0, &rounds);
  cert = certificate_from_object (object2);
  assert_subject (cert, "Virtual Card User");
  X509_free (cert);
  g_assert_false (object->len == object2->len &&
                  memcmp (object->data, object2->data, object->len) == 0);
}

static void
test_command_chaining (Fixture       *fixture,
                       gconstpointer  data)
{
  VcardCard *card = fixture->card;
  guint8 pin[8];

  select_piv (card);
  pad_pin ("123456", pin);

  /* VERIFY in two parts */
  g_assert_cmphex (send_apdu (card, 0x10, 0x20, 0x00, 0x80, pin, 3, FALSE, NULL), ==, 0x9000);
  g_assert_cmphex (send_apdu (card, 0x00, 0x20, 0x00, 0x80, pin + 3, 5, FALSE, NULL), ==, 0x9000);
  g_assert_cmphex (verify (card, NULL), ==, 0x9000);

  /* A chain broken by another command */
  g_assert_cmphex (send_apdu (card, 0x10, 0x20, 0x00, 0x80, pin, 3, FALSE, NULL), ==, 0x9000);
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 03 5C 01 7E 00", NULL), ==, 0x6883);
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 03 5C 01 7E 00", NULL), ==, 0x9000);

  /* A chain lost on reset */
  g_assert_cmphex (send_apdu (card, 0x10, 0x20, 0x00, 0x80, pin, 3, FALSE, NULL), ==, 0x9000);
  vcard_card_reset (card);
  select_piv (card);
  g_assert_cmphex (send_apdu (card, 0x00, 0x20, 0x00, 0x80, pin + 3, 5, FALSE, NULL), ==, 0x6A80);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);
}

static void
test_verify (Fixture       *fixture,
             gconstpointer  data)
{
  VcardCard *card = fixture->card;

  select_piv (card);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);
  g_assert_cmphex (verify (card, "654321"), ==, 0x63C2);
  /* Empty VERIFY never spends a try */
  g_assert_cmphex (verify (card, NULL), ==, 0x63C2);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C2);
  g_assert_cmpuint (metadata_tries_left (card, 0x80, NULL, NULL), ==, 2);

  /* Right PIN resets the counter */
  g_assert_cmphex (verify (card, "123456"), ==, 0x9000);
  g_assert_cmphex (verify (card, NULL), ==, 0x9000);
  g_assert_cmpuint (metadata_tries_left (card, 0x80, NULL, NULL), ==, 3);

  /* Selecting PIV again clears it too (YubiKey behaviour) */
  select_piv (card);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);
  g_assert_cmphex (verify (card, "123456"), ==, 0x9000);

  /* P1=FF resets the security status */
  g_assert_cmphex (send_hex (card, "00 20 FF 80", NULL), ==, 0x9000);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);

  /* Malformed */
  g_assert_cmphex (send_hex (card, "00 20 00 80 06 31 32 33 34 35 36", NULL), ==, 0x6A80);
  g_assert_cmphex (send_hex (card, "00 20 00 81", NULL), ==, 0x6A86);
  g_assert_cmphex (send_hex (card, "00 20 01 80", NULL), ==, 0x6A86);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);

  /* A wrong PIN also resets the security status */
  g_assert_cmphex (verify (card, "123456"), ==, 0x9000);
  g_assert_cmphex (verify (card, "12345678"), ==, 0x63C2);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C2);

  /* Block it */
  g_assert_cmphex (verify (card, "000000"), ==, 0x63C1);
  g_assert_cmphex (verify (card, "000000"), ==, 0x63C0);
  g_assert_cmphex (verify (card, "123456"), ==, 0x6983);
  g_assert_cmphex (verify (card, NULL), ==, 0x6983);
  g_assert_cmphex (verify (card, "000000"), ==, 0x6983);
  g_assert_cmpuint (metadata_tries_left (card, 0x80, NULL, NULL), ==, 0);

  /* Blocked survives a restart */
  reopen_card (fixture);
  select_piv (fixture->card);
  g_assert_cmphex (verify (fixture->card, NULL), ==, 0x6983);
}

static void
test_change_pin (Fixture       *fixture,
                 gconstpointer  data)
{
  VcardCard *card = fixture->card;
  gboolean is_default;
  guint max;

  select_piv (card);
  g_assert_cmpuint (metadata_tries_left (card, 0x80, &max, &is_default), ==, 3);
  g_assert_cmpuint (max, ==, 3);
  g_assert_true (is_default);

  g_assert_cmphex (change_reference (card, 0x80, "111111", "222222"), ==, 0x63C2);

  /* A malformed new PIN is refused before the old one is checked */
  g_assert_cmphex (change_reference (card, 0x80, "123456", "12345"), ==, 0x6A80);
  g_assert_cmphex (change_reference (card, 0x80, "111111", "12345"), ==, 0x6A80);
  g_assert_cmpuint (metadata_tries_left (card, 0x80, NULL, NULL), ==, 2);

  g_assert_cmphex (change_reference (card, 0x80, "123456", "87654321"), ==, 0x9000);
  g_assert_cmpuint (metadata_tries_left (card, 0x80, NULL, &is_default), ==, 3);
  g_assert_false (is_default);
  g_assert_cmphex (verify (card, "123456"), ==, 0x63C2);
  g_assert_cmphex (verify (card, "87654321"), ==, 0x9000);

  /* PUK change */
  g_assert_cmphex (change_reference (card, 0x81, "00000000", "11223344"), ==, 0x63C2);
  g_assert_cmphex (change_reference (card, 0x81, "12345678", "11223344"), ==, 0x9000);
  g_assert_cmpuint (metadata_tries_left (card, 0x81, NULL, &is_default), ==, 3);
  g_assert_false (is_default);

  /* Bad references and lengths */
  g_assert_cmphex (change_reference (card, 0x9B, "12345678", "11223344"), ==, 0x6A86);
  g_assert_cmphex (send_hex (card, "00 24 00 80 08 31 32 33 34 35 36 FF FF", NULL), ==, 0x6A80);

  /* Blocked */
  g_assert_cmphex (change_reference (card, 0x80, "000000", "222222"), ==, 0x63C2);
  g_assert_cmphex (change_reference (card, 0x80, "000000", "222222"), ==, 0x63C1);
  g_assert_cmphex (change_reference (card, 0x80, "000000", "222222"), ==, 0x63C0);
  g_assert_cmphex (change_reference (card, 0x80, "87654321", "222222"), ==, 0x6983);
}

static void
test_change_limit (Fixture       *fixture,
                   gconstpointer  data)
{
  VcardCard *card = fixture->card;

  select_piv (card);
  g_assert_cmphex (change_reference (card, 0x80, "123456", "234567"), ==, 0x9000);
  g_assert_cmphex (change_reference (card, 0x80, "234567", "345678"), ==, 0x9000);
  /* The limit (2) is reached: refused, nothing changes, no try spent */
  g_assert_cmphex (change_reference (card, 0x80, "345678", "456789"), ==, 0x6985);
  g_assert_cmphex (change_reference (card, 0x80, "000000", "456789"), ==, 0x6985);
  g_assert_cmpuint (metadata_tries_left (card, 0x80, NULL, NULL), ==, 3);
  g_assert_cmphex (verify (card, "345678"), ==, 0x9000);

  /* The count survives a restart */
  reopen_card (fixture);
  card = fixture->card;
  select_piv (card);
  g_assert_cmphex (change_reference (card, 0x80, "345678", "456789"), ==, 0x6985);

  /* The PUK is not limited, and a PUK reset is not a change */
  g_assert_cmphex (change_reference (card, 0x81, "12345678", "87654321"), ==, 0x9000);
  g_assert_cmphex (reset_retry (card, "87654321", "999999"), ==, 0x9000);
  g_assert_cmphex (verify (card, "999999"), ==, 0x9000);
}

static void
test_puk_reset (Fixture       *fixture,
                gconstpointer  data)
{
  VcardCard *card = fixture->card;

  select_piv (card);
  for (guint i = 0; i < 3; i++)
    verify (card, "000000");
  g_assert_cmphex (verify (card, NULL), ==, 0x6983);

  g_assert_cmphex (reset_retry (card, "00000000", "654321"), ==, 0x63C2);
  g_assert_cmpuint (metadata_tries_left (card, 0x81, NULL, NULL), ==, 2);
  g_assert_cmphex (reset_retry (card, "12345678", "123"), ==, 0x6A80);
  g_assert_cmpuint (metadata_tries_left (card, 0x81, NULL, NULL), ==, 2);

  g_assert_cmphex (reset_retry (card, "12345678", "654321"), ==, 0x9000);
  g_assert_cmpuint (metadata_tries_left (card, 0x81, NULL, NULL), ==, 3);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);
  g_assert_cmphex (verify (card, "654321"), ==, 0x9000);

  /* Block the PUK */
  g_assert_cmphex (reset_retry (card, "00000000", "654321"), ==, 0x63C2);
  g_assert_cmphex (reset_retry (card, "00000000", "654321"), ==, 0x63C1);
  g_assert_cmphex (reset_retry (card, "00000000", "654321"), ==, 0x63C0);
  g_assert_cmphex (reset_retry (card, "12345678", "654321"), ==, 0x6983);
  g_assert_cmphex (send_hex (card, "00 2C 00 81", NULL), ==, 0x6A86);
}

static void
test_admin_3des (Fixture       *fixture,
                 gconstpointer  data)
{
  VcardCard *card = fixture->card;
  guint8 pin[8];
  guint8 challenge[16];
  guint8 answer[16];
  gboolean is_default;
  guint max;

  select_piv (card);
  pad_pin ("777777", pin);

  /* Not authenticated */
  g_assert_cmphex (send_apdu (card, 0x00, 0x2C, 0x02, 0x80, pin, 8, FALSE, NULL), ==, 0x6982);

  /* An answer without a challenge */
  memset (answer, 0, sizeof answer);
  g_assert_cmphex (admin_answer (card, 0x03, answer, 8), ==, 0x6985);

  /* Wrong algorithm for a 3DES key */
  g_assert_cmphex (send_hex (card, "00 87 08 9B 04 7C 02 81 00 00", NULL), ==, 0x6A86);

  g_assert_cmpuint (metadata_tries_left (card, 0x9B, &max, &is_default), ==, 5);
  g_assert_cmpuint (max, ==, 5);
  g_assert_true (is_default);

  /* Wrong answer: the admin counter goes down, the challenge is consumed */
  g_assert_cmphex (admin_authenticate (card, default_admin_key, 24, FALSE), ==, 0x63C4);
  g_assert_cmpuint (metadata_tries_left (card, 0x9B, NULL, NULL), ==, 4);
  g_assert_cmphex (admin_answer (card, 0x03, answer, 8), ==, 0x6985);
  g_assert_cmphex (send_apdu (card, 0x00, 0x2C, 0x02, 0x80, pin, 8, FALSE, NULL), ==, 0x6982);

  /* A challenge does not survive a reset */
  admin_challenge (card, 0x03, challenge);
  vcard_card_reset (card);
  select_piv (card);
  admin_encrypt (default_admin_key, 24, challenge, answer);
  g_assert_cmphex (admin_answer (card, 0x03, answer, 8), ==, 0x6985);

  /* Right answer (P1 00 is 3DES too) */
  g_assert_cmphex (admin_authenticate (card, default_admin_key, 24, TRUE), ==, 0x9000);
  g_assert_cmpuint (metadata_tries_left (card, 0x9B, NULL, NULL), ==, 5);

  /* Block the PIN, then unblock with the admin form */
  for (guint i = 0; i < 3; i++)
    verify (card, "000000");
  g_assert_cmphex (verify (card, NULL), ==, 0x6983);
  g_assert_cmphex (send_hex (card, "00 2C 02 80 08 31 32 33 FF FF FF FF FF", NULL), ==, 0x6A80);
  g_assert_cmphex (send_apdu (card, 0x00, 0x2C, 0x02, 0x80, pin, 8, FALSE, NULL), ==, 0x9000);
  g_assert_cmphex (verify (card, NULL), ==, 0x63C3);
  g_assert_cmphex (verify (card, "777777"), ==, 0x9000);

  /* The authentication ends with the session */
  vcard_card_reset (card);
  select_piv (card);
  g_assert_cmphex (send_apdu (card, 0x00, 0x2C, 0x02, 0x80, pin, 8, FALSE, NULL), ==, 0x6982);

  /* Block the admin key; it stays blocked after a restart */
  for (guint i = 5; i > 0; i--)
    g_assert_cmphex (admin_authenticate (card, default_admin_key, 24, FALSE), ==, 0x63C0 | (i - 1));
  g_assert_cmphex (send_hex (card, "00 87 03 9B 04 7C 02 81 00 00", NULL), ==, 0x6983);
  reopen_card (fixture);
  select_piv (fixture->card);
  g_assert_cmphex (send_hex (fixture->card, "00 87 03 9B 04 7C 02 81 00 00", NULL), ==, 0x6983);
  g_assert_cmpuint (metadata_tries_left (fixture->card, 0x9B, NULL, NULL), ==, 0);
}

static const guint8 aes_key[16] = {
  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
  0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
};

static void
test_admin_aes (Fixture       *fixture,
                gconstpointer  data)
{
  VcardCard *card = fixture->card;
  g_autoptr(GByteArray) response = NULL;
  guint8 witness[16];
  guint8 host_challenge[16];
  guint8 expected[16];
  guint8 msg[4 + 2 * 18] = { 0x7C, 36, 0x80, 16 };
  guint8 pin[8];
  const guint8 *v;
  gsize len;
  gboolean is_default;
  EVP_CIPHER_CTX *ctx;
  int n1 = 0, n2 = 0;

  select_piv (card);
  pad_pin ("24681357", pin);

  g_assert_cmphex (send_hex (card, "00 87 03 9B 04 7C 02 81 00 00", NULL), ==, 0x6A86);
  metadata_tries_left (card, 0x9B, NULL, &is_default);
  g_assert_false (is_default);

  /* Challenge-response */
  g_assert_cmphex (admin_authenticate (card, aes_key, 16, FALSE), ==, 0x63C2);
  g_assert_cmphex (admin_authenticate (card, aes_key, 16, TRUE), ==, 0x9000);
  g_assert_cmpuint (metadata_tries_left (card, 0x9B, NULL, NULL), ==, 3);
  g_assert_cmphex (send_apdu (card, 0x00, 0x2C, 0x02, 0x80, pin, 8, FALSE, NULL), ==, 0x9000);
  g_assert_cmphex (verify (card, "24681357"), ==, 0x9000);

  /* Mutual authentication: decrypt the witness, send it back with our challenge */
  vcard_card_reset (card);
  select_piv (card);
  g_assert_cmphex (send_hex (card, "00 87 08 9B 04 7C 02 80 00 00", &response), ==, 0x9000);
  g_assert_true (vcard_tlv_find (response->data + 2, response->len - 2, 0x80, &v, &len));
  g_assert_cmpuint (len, ==, 16);
  ctx = EVP_CIPHER_CTX_new ();
  EVP_DecryptInit_ex (ctx, EVP_aes_128_ecb (), NULL, aes_key, NULL);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  g_assert_cmpint (EVP_DecryptUpdate (ctx, witness, &n1, v, 16), ==, 1);
  g_assert_cmpint (EVP_DecryptFinal_ex (ctx, witness + n1, &n2), ==, 1);
  EVP_CIPHER_CTX_free (ctx);
  g_clear_pointer (&response, g_byte_array_unref);

  memset (host_challenge, 0x5A, sizeof host_challenge);
  memcpy (msg + 4, witness, 16);
  msg[20] = 0x81;
  msg[21] = 16;
  memcpy (msg + 22, host_challenge, 16);
  msg[1] = 36;
  g_assert_cmphex (send_apdu (card, 0x00, 0x87, 0x08, 0x9B, msg, 38, TRUE, &response),
                   ==, 0x9000);
  admin_encrypt (aes_key, 16, host_challenge, expected);
  g_assert_true (vcard_tlv_find (response->data + 2, response->len - 2, 0x82, &v, &len));
  g_assert_cmpmem (v, len, expected, 16);
  g_assert_cmphex (send_apdu (card, 0x00, 0x2C, 0x02, 0x80, pin, 8, FALSE, NULL), ==, 0x9000);

  /* A wrong witness costs a try */
  g_clear_pointer (&response, g_byte_array_unref);
  g_assert_cmphex (send_hex (card, "00 87 08 9B 04 7C 02 80 00 00", NULL), ==, 0x9000);
  g_assert_cmphex (send_apdu (card, 0x00, 0x87, 0x08, 0x9B, msg, 38, TRUE, NULL), ==, 0x63C2);
}

static guint16
sign (VcardCard    *card,
      guint8        alg,
      guint8        key,
      const guint8 *input,
      gsize         input_len,
      GByteArray  **signature)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  g_autoptr(GByteArray) inner = g_byte_array_new ();
  g_autoptr(GByteArray) response = NULL;
  gsize offset = 0;
  guint16 sw = 0;

  vcard_tlv_append (inner, 0x82, NULL, 0);
  vcard_tlv_append (inner, 0x81, input, input_len);
  vcard_tlv_append (msg, 0x7C, inner->data, inner->len);

  /* Command chaining in parts of at most 255 bytes */
  while (offset < msg->len)
    {
      gsize n = MIN (msg->len - offset, 255);
      gboolean last = offset + n == msg->len;

      g_clear_pointer (&response, g_byte_array_unref);
      sw = send_apdu (card, last ? 0x00 : 0x10, 0x87, alg, key, msg->data + offset, n,
                      last, &response);
      offset += n;
      if (!last)
        g_assert_cmphex (sw, ==, 0x9000);
    }

  /* Response chaining */
  while ((sw & 0xFF00) == 0x6100)
    {
      g_autoptr(GByteArray) part = NULL;

      sw = send_hex (card, "00 C0 00 00 00", &part);
      g_byte_array_append (response, part->data, part->len);
    }

  if (sw == 0x9000 && signature != NULL)
    {
      const guint8 *v;
      gsize len;

      g_assert_cmpuint (response->data[0], ==, 0x7C);
      g_assert_true (vcard_tlv_find (response->data, response->len, 0x7C, &v, &len));
      g_assert_true (vcard_tlv_find (v, len, 0x82, &v, &len));
      *signature = g_byte_array_new ();
      g_byte_array_append (*signature, v, len);
    }
  return sw;
}

static EVP_PKEY *
slot_public_key (VcardCard  *card,
                 const char *get_data)
{
  g_autoptr(GByteArray) object = NULL;
  X509 *cert;
  EVP_PKEY *key;
  guint rounds;

  object = read_chained (card, get_data, 0, &rounds);
  cert = certificate_from_object (object);
  g_assert_nonnull (cert);
  key = X509_get_pubkey (cert);
  X509_free (cert);
  return key;
}

static void
test_sign_ec (Fixture       *fixture,
              gconstpointer  data)
{
  VcardCard *card = fixture->card;
  g_autoptr(GByteArray) signature = NULL;
  guint8 hash[32];
  EVP_PKEY *key;
  EVP_PKEY_CTX *ctx;

  select_piv (card);
  memset (hash, 0xA5, sizeof hash);

  g_assert_cmphex (sign (card, 0x11, 0x9A, hash, 32, NULL), ==, 0x6982);
  g_assert_cmphex (sign (card, 0x07, 0x9A, hash, 32, NULL), ==, 0x6A86);
  g_assert_cmphex (sign (card, 0x11, 0x9D, hash, 32, NULL), ==, 0x6A86);
  g_assert_cmphex (verify (card, "123456"), ==, 0x9000);
  g_assert_cmphex (sign (card, 0x11, 0x9A, hash, 33, NULL), ==, 0x6A80);

  /* 9A: PIN once per session */
  key = slot_public_key (card, "00 CB 3F FF 05 5C 03 5F C1 05 00");
  for (guint i = 0; i < 2; i++)
    {
      g_clear_pointer (&signature, g_byte_array_unref);
      g_assert_cmphex (sign (card, 0x11, 0x9A, hash, 32, &signature), ==, 0x9000);
      ctx = EVP_PKEY_CTX_new (key, NULL);
      g_assert_cmpint (EVP_PKEY_verify_init (ctx), ==, 1);
      g_assert_cmpint (EVP_PKEY_verify (ctx, signature->data, signature->len, hash, 32), ==, 1);
      EVP_PKEY_CTX_free (ctx);
    }
  EVP_PKEY_free (key);

  /* 9C: the VERIFY right before is consumed by one signature */
  key = slot_public_key (card, "00 CB 3F FF 05 5C 03 5F C1 0A 00");
  g_assert_cmphex (verify (card, "123456"), ==, 0x9000);
  g_clear_pointer (&signature, g_byte_array_unref);
  g_assert_cmphex (sign (card, 0x11, 0x9C, hash, 32, &signature), ==, 0x9000);
  ctx = EVP_PKEY_CTX_new (key, NULL);
  g_assert_cmpint (EVP_PKEY_verify_init (ctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_verify (ctx, signature->data, signature->len, hash, 32), ==, 1);
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (key);
  g_assert_cmphex (sign (card, 0x11, 0x9C, hash, 32, NULL), ==, 0x6982);
  g_assert_cmphex (sign (card, 0x11, 0x9A, hash, 32, NULL), ==, 0x9000);

  /* A reset loses the PIN */
  vcard_card_reset (card);
  select_piv (card);
  g_assert_cmphex (sign (card, 0x11, 0x9A, hash, 32, NULL), ==, 0x6982);
}

static void
test_sign_rsa (Fixture       *fixture,
               gconstpointer  data)
{
  VcardCard *card = fixture->card;
  g_autoptr(GByteArray) signature = NULL;
  g_autoptr(GByteArray) metadata = NULL;
  guint8 block[256];
  guint8 recovered[256];
  gsize recovered_len = sizeof recovered;
  EVP_PKEY *key;
  EVP_PKEY_CTX *ctx;

  select_piv (card);

  /* PKCS#1 v1.5 type 1 block, padded by the host */
  memset (block, 0xFF, sizeof block);
  block[0] = 0x00;
  block[1] = 0x01;
  block[256 - 33] = 0x00;
  memset (block + 256 - 32, 0x3C, 32);

  g_assert_cmphex (sign (card, 0x07, 0x9A, block, 256, NULL), ==, 0x6982);
  g_assert_cmphex (verify (card, "123456"), ==, 0x9000);
  g_assert_cmphex (sign (card, 0x11, 0x9A, block, 256, NULL), ==, 0x6A86);
  g_assert_cmphex (sign (card, 0x07, 0x9A, block, 255, NULL), ==, 0x6A80);
  g_assert_cmphex (sign (card, 0x07, 0x9A, block, 256, &signature), ==, 0x9000);
  g_assert_cmpuint (signature->len, ==, 256);

  key = slot_public_key (card, "00 CB 3F FF 05 5C 03 5F C1 05 00");
  ctx = EVP_PKEY_CTX_new (key, NULL);
  g_assert_cmpint (EVP_PKEY_verify_recover_init (ctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_set_rsa_padding (ctx, RSA_NO_PADDING), ==, 1);
  g_assert_cmpint (EVP_PKEY_verify_recover (ctx, recovered, &recovered_len,
                                            signature->data, signature->len), ==, 1);
  g_assert_cmpmem (recovered, recovered_len, block, sizeof block);
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (key);

  /* Metadata of 9A: algorithm 07, PIN once */
  g_assert_cmphex (send_hex (card, "00 F7 00 9A 00", &metadata) & 0xFF00, ==, 0x6100);
  g_assert_cmpmem (metadata->data, 7, "\x01\x01\x07\x02\x02\x02\x01", 7);
}

static void
test_state_reload (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GByteArray) cert_before = NULL;
  g_autoptr(GByteArray) cert_after = NULL;
  g_autoptr(GByteArray) chuid_before = NULL;
  g_autoptr(GByteArray) chuid_after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VcardState) loaded = NULL;
  g_autofree char *contents = NULL;
  GStatBuf st;
  guint rounds;

  select_piv (fixture->card);
  cert_before = read_chained (fixture->card, "00 CB 3F FF 05 5C 03 5F C1 05 00", 0, &rounds);
  g_assert_cmphex (send_hex (fixture->card, "00 CB 3F FF 05 5C 03 5F C1 02 00", &chuid_before),
                   ==, 0x9000);
  g_assert_cmphex (change_reference (fixture->card, 0x80, "123456", "55555555"), ==, 0x9000);
  g_assert_cmphex (verify (fixture->card, "000000"), ==, 0x63C2);
  g_assert_cmphex (reset_retry (fixture->card, "00000000", "666666"), ==, 0x63C2);
  g_assert_cmphex (admin_authenticate (fixture->card, default_admin_key, 24, FALSE), ==, 0x63C4);

  /* The state file is private and never shows the PIN in clear */
  g_assert_cmpint (g_stat (fixture->state_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Explicit options given on a restart do not override the saved state */
  vcard_pin_encode ("999999", fixture->options->pin);
  fixture->options->pin_tries = 9;
  g_free (fixture->options->serial);
  fixture->options->serial = g_strdup ("FFFF");
  reopen_card (fixture);
  select_piv (fixture->card);

  g_assert_cmpuint (metadata_tries_left (fixture->card, 0x80, NULL, NULL), ==, 2);
  g_assert_cmpuint (metadata_tries_left (fixture->card, 0x81, NULL, NULL), ==, 2);
  g_assert_cmpuint (metadata_tries_left (fixture->card, 0x9B, NULL, NULL), ==, 4);
  g_assert_cmphex (verify (fixture->card, "999999"), ==, 0x63C1);
  g_assert_cmphex (verify (fixture->card, "55555555"), ==, 0x9000);

  cert_after = read_chained (fixture->card, "00 CB 3F FF 05 5C 03 5F C1 05 00", 0, &rounds);
  g_assert_cmpmem (cert_before->data, cert_before->len, cert_after->data, cert_after->len);
  g_assert_cmphex (send_hex (fixture->card, "00 CB 3F FF 05 5C 03 5F C1 02 00", &chuid_after),
                   ==, 0x9000);
  g_assert_cmpmem (chuid_before->data, chuid_before->len, chuid_after->data, chuid_after->len);

  /* A damaged file is an error, not a fresh card */
  g_assert_true (g_file_get_contents (fixture->state_path, &contents, NULL, NULL));
  *strstr (contents, "pin-tries-left=") = 'X';
  g_assert_true (g_file_set_contents (fixture->state_path, contents, -1, NULL));
  loaded = vcard_state_load (fixture->state_path, &error);
  g_assert_error (error, VCARD_ERROR, VCARD_ERROR_STATE);
  g_assert_null (loaded);
}


/* The algorithm GET METADATA gives for a key slot (its first TLV) */
static guint8
metadata_alg (VcardCard *card,
              guint8     slot)
{
  g_autoptr(GByteArray) data = NULL;
  guint8 apdu[4] = { 0x00, 0xF7, 0x00, slot };
  guint16 sw = send_raw (card, apdu, 4, &data);
  const guint8 *v;
  gsize len;

  g_assert_true (sw == 0x9000 || (sw & 0xFF00) == 0x6100);
  g_assert_true (vcard_tlv_find (data->data, data->len, 0x01, &v, &len));
  g_assert_cmpuint (len, ==, 1);
  return v[0];
}

/* Personalisation (issue 7 item 14): SET MANAGEMENT KEY, PUT DATA and GENERATE need the
 * management key, change what the card answers, and survive a restart */
static void
test_personalise (Fixture       *fixture,
                  gconstpointer  data)
{
  VcardCard *card = fixture->card;
  g_autoptr(GByteArray) generated = NULL;
  g_autoptr(GByteArray) object = NULL;
  guint8 set_aes[3 + 16] = { 0x08, 0x9B, 16 };
  guint8 set_bad[3 + 16] = { 0x03, 0x9B, 16 };
  const guint8 put_chuid[] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x53, 0x04, 0x34, 0x02, 0xAB, 0xCD };
  const guint8 put_bogus[] = { 0x5C, 0x03, 0x5F, 0xC0, 0x01, 0x53, 0x00 };
  const guint8 delete_cert[] = { 0x5C, 0x03, 0x5F, 0xC1, 0x0A, 0x53, 0x00 };
  const guint8 gen_rsa[] = { 0xAC, 0x03, 0x80, 0x01, 0x07 };
  const guint8 gen_ec_policy[] = { 0xAC, 0x09, 0x80, 0x01, 0x11, 0xAA, 0x01, 0x01,
                                   0xAB, 0x01, 0x01 };
  const guint8 gen_bad_alg[] = { 0xAC, 0x03, 0x80, 0x01, 0x14 };
  const guint8 *v;
  gsize len;

  memcpy (set_aes + 3, aes_key, 16);
  memcpy (set_bad + 3, aes_key, 16);
  select_piv (card);

  /* Nothing of it without the management key, and nothing changed */
  g_assert_cmphex (send_apdu (card, 0x00, 0xFF, 0xFF, 0xFF, set_aes, sizeof set_aes, FALSE, NULL),
                   ==, 0x6982);
  g_assert_cmphex (send_apdu (card, 0x00, 0xDB, 0x3F, 0xFF, put_chuid, sizeof put_chuid, FALSE,
                              NULL), ==, 0x6982);
  g_assert_cmphex (send_apdu (card, 0x00, 0x47, 0x00, 0x9A, gen_rsa, sizeof gen_rsa, TRUE, NULL),
                   ==, 0x6982);
  g_assert_cmphex (admin_authenticate (card, default_admin_key, 24, TRUE), ==, 0x9000);

  /* Malformed: a key length that does not match its algorithm, an unknown object, an
   * unknown algorithm, a slot this card does not have */
  g_assert_cmphex (send_apdu (card, 0x00, 0xFF, 0xFF, 0xFF, set_bad, sizeof set_bad, FALSE, NULL),
                   ==, 0x6A80);
  g_assert_cmphex (send_apdu (card, 0x00, 0xDB, 0x3F, 0xFF, put_bogus, sizeof put_bogus, FALSE,
                              NULL), ==, 0x6A82);
  g_assert_cmphex (send_apdu (card, 0x00, 0x47, 0x00, 0x9A, gen_bad_alg, sizeof gen_bad_alg, TRUE,
                              NULL), ==, 0x6A80);
  g_assert_cmphex (send_apdu (card, 0x00, 0x47, 0x00, 0x9D, gen_rsa, sizeof gen_rsa, TRUE, NULL),
                   ==, 0x6A86);

  /* GENERATE: an RSA key in 9A of this EC card, its public key returned in 7F49 */
  g_assert_cmphex (send_apdu (card, 0x00, 0x47, 0x00, 0x9A, gen_rsa, sizeof gen_rsa, TRUE,
                              &generated) & 0xFF00, ==, 0x6100);
  g_clear_pointer (&generated, g_byte_array_unref);
  g_assert_cmphex (send_hex (card, "00 C0 00 00 00", &generated), ==, 0x9000);
  g_clear_pointer (&generated, g_byte_array_unref);
  g_assert_cmphex (send_apdu (card, 0x00, 0x47, 0x00, 0x9C, gen_ec_policy, sizeof gen_ec_policy,
                              TRUE, &generated), ==, 0x9000);
  g_assert_true (vcard_tlv_find (generated->data, generated->len, 0x7F49, &v, &len));
  g_assert_true (vcard_tlv_find (v, len, 0x86, &v, &len));
  g_assert_cmpuint (len, ==, 65);
  g_assert_cmphex (metadata_alg (card, 0x9A), ==, 0x07);

  /* PUT DATA replaces the CHUID, an empty value deletes the 9C certificate */
  g_assert_cmphex (send_apdu (card, 0x00, 0xDB, 0x3F, 0xFF, put_chuid, sizeof put_chuid, FALSE,
                              NULL), ==, 0x9000);
  g_assert_cmphex (send_apdu (card, 0x00, 0xDB, 0x3F, 0xFF, delete_cert, sizeof delete_cert,
                              FALSE, NULL), ==, 0x9000);

  /* SET MANAGEMENT KEY: an AES-128 key; the old one no longer authenticates */
  g_assert_cmphex (send_apdu (card, 0x00, 0xFF, 0xFF, 0xFF, set_aes, sizeof set_aes, FALSE, NULL),
                   ==, 0x9000);

  /* All of it survives a restart */
  reopen_card (fixture);
  card = fixture->card;
  select_piv (card);
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F C1 02 00", &object), ==, 0x9000);
  g_assert_cmpmem (object->data, object->len, put_chuid + 5, sizeof put_chuid - 5);
  g_assert_cmphex (send_hex (card, "00 CB 3F FF 05 5C 03 5F C1 0A 00", NULL), ==, 0x6A82);
  g_assert_cmphex (send_hex (card, "00 87 03 9B 04 7C 02 81 00 00", NULL), ==, 0x6A86);
  g_assert_cmphex (admin_authenticate (card, aes_key, 16, TRUE), ==, 0x9000);
  g_assert_cmphex (metadata_alg (card, 0x9A), ==, 0x07);
  g_assert_cmphex (metadata_alg (card, 0x9C), ==, 0x11);
}

static void
test_random_serial (void)
{
  g_autoptr(VcardOptions) options = vcard_options_new ();
  g_autoptr(VcardState) a = NULL;
  g_autoptr(VcardState) b = NULL;
  g_autoptr(GError) error = NULL;

  options->key_alg = VCARD_KEY_ALG_ECCP256;
  a = vcard_state_new (options, &error);
  g_assert_no_error (error);
  b = vcard_state_new (options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (a->serial), ==, 32);
  g_assert_cmpstr (a->serial, !=, b->serial);
  g_assert_null (a->path);
  /* Without a file, saving is a no-op that succeeds */
  g_assert_true (vcard_state_save (a, &error));
}

static void
test_drop_after (void)
{
  g_autoptr(GError) error = NULL;
  const char *bad[] = { "", "0", "x", "-1", "3:later", ":after", "3:", "3:after:x", "1e3",
                        "99999999999" };
  VcardDropMode mode;
  guint n;

  g_assert_true (vcard_options_parse_drop_after ("5", &n, &mode, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 5);
  g_assert_cmpint (mode, ==, VCARD_DROP_BEFORE);

  g_assert_true (vcard_options_parse_drop_after ("3:after", &n, &mode, &error));
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (mode, ==, VCARD_DROP_AFTER);

  g_assert_true (vcard_options_parse_drop_after ("12:before", &n, &mode, &error));
  g_assert_cmpuint (n, ==, 12);
  g_assert_cmpint (mode, ==, VCARD_DROP_BEFORE);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (vcard_options_parse_drop_after (bad[i], &n, &mode, &error));
      g_assert_error (error, VCARD_ERROR, VCARD_ERROR_OPTION);
      g_clear_error (&error);
    }
}

/* --garble N,N: the commands whose answer is cut to one byte */
static void
test_garble (void)
{
  g_autoptr(VcardOptions) options = vcard_options_new ();
  g_autoptr(GError) error = NULL;
  const char *bad[] = { "", "0", "x", "3,", ",3", "3,,4", "-1", "1e3", "99999999999" };

  g_assert_false (vcard_options_garbles (options, 1));
  g_assert_true (vcard_options_parse_garble ("3,17", options->garble, &error));
  g_assert_no_error (error);
  g_assert_false (vcard_options_garbles (options, 1));
  g_assert_true (vcard_options_garbles (options, 3));
  g_assert_true (vcard_options_garbles (options, 17));
  g_assert_false (vcard_options_garbles (options, 4));

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GArray) numbers = g_array_new (FALSE, FALSE, sizeof (guint));

      g_assert_false (vcard_options_parse_garble (bad[i], numbers, &error));
      g_assert_error (error, VCARD_ERROR, VCARD_ERROR_OPTION);
      g_clear_error (&error);
    }
}

static gboolean
parse_line (const char    *line,
            VcardOptions **out)
{
  g_autoptr(VcardOptions) options = vcard_options_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *cmdline = g_strconcat ("cardpin-virtual-card ", line, NULL);

  g_assert_true (g_shell_parse_argv (cmdline, NULL, &args, NULL));
  if (!vcard_options_parse (options, args, &error))
    {
      g_assert_nonnull (error);
      return FALSE;
    }
  g_assert_no_error (error);
  if (out != NULL)
    *out = g_steal_pointer (&options);
  return TRUE;
}

static void
test_options (void)
{
  g_autoptr(VcardOptions) options = NULL;
  const char *bad[] = {
    "",
    "--port 0",
    "--port 70000",
    "--port x",
    "--port 1 --serial 0123456789ABCDEF0123456789ABCDEF0",
    "--port 1 --serial 12G4",
    "--port 1 --pin 12345",
    "--port 1 --pin 123456789",
    "--port 1 --puk 1234",
    "--port 1 --admin-key 0102",
    "--port 1 --admin-key 0102030405060708010203040506070801020304050607",
    "--port 1 --admin-key 01020304050607080102030405060708010203040506070809",
    "--port 1 --pin-tries 0",
    "--port 1 --pin-tries 16",
    "--port 1 --admin-tries abc",
    "--port 1 --atr 00",
    "--port 1 --atr 3B8",
    "--port 1 --key-alg rsa1024",
    "--port 1 --drop-after 0",
    "--port 1 --apdu-delay-ms -5",
    "--port 1 --apdu-delay-ms abc",
    "--port 1 --apdu-delay-ms 10001",
    "--port 1 --apdu-delay-ms ''",
    "--port 1 --subject ''",
    "--port 1 --state ''",
    "--port 1 --mute-file ''",
    "--port 1 extra",
    "--port 1 --no-such-option",
  };
  const guint8 default_atr[] = {
    0x3B, 0x88, 0x80, 0x01, 0x43, 0x61, 0x72, 0x64, 0x50, 0x49, 0x56, 0x31, 0x43,
  };
  guint8 pin[8];
  guint8 x = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      if (parse_line (bad[i], NULL))
        g_error ("“%s” was accepted", bad[i]);
    }

  /* Defaults; the default ATR has a right TCK */
  g_assert_true (parse_line ("--port 40000", &options));
  g_assert_cmpuint (options->port, ==, 40000);
  g_assert_null (options->serial);
  g_assert_cmpuint (options->pin_tries, ==, 3);
  g_assert_cmpuint (options->puk_tries, ==, 3);
  g_assert_cmpuint (options->admin_tries, ==, 5);
  g_assert_cmpuint (options->admin_key_len, ==, 24);
  g_assert_cmpmem (options->admin_key, 24, default_admin_key, 24);
  g_assert_cmpint (options->key_alg, ==, VCARD_KEY_ALG_RSA2048);
  g_assert_cmpstr (options->subject, ==, "Virtual Card User");
  g_assert_cmpuint (options->drop_after, ==, 0);
  g_assert_cmpuint (options->apdu_delay_ms, ==, 0);
  g_assert_null (options->mute_path);
  pad_pin ("123456", pin);
  g_assert_cmpmem (options->pin, 8, pin, 8);
  pad_pin ("12345678", pin);
  g_assert_cmpmem (options->puk, 8, pin, 8);
  g_assert_cmpmem (options->atr, options->atr_len, default_atr, sizeof default_atr);
  for (gsize i = 1; i < options->atr_len; i++)
    x ^= options->atr[i];
  g_assert_cmpuint (x, ==, 0);
  g_clear_pointer (&options, vcard_options_free);

  g_assert_true (parse_line ("--port 1 --serial abc --pin 87654321 --puk 11112222 "
                             "--admin-key 00112233445566778899aabbccddeeff --pin-tries 5 "
                             "--puk-tries 4 --admin-tries 15 --pin-change-limit 2 "
                             "--atr 3B00 --subject 'Jane Doe' --key-alg eccp256 "
                             "--drop-after 7:after -v --state /tmp/x --apdu-delay-ms 10000", &options));
  g_assert_cmpstr (options->serial, ==, "ABC");
  pad_pin ("87654321", pin);
  g_assert_cmpmem (options->pin, 8, pin, 8);
  g_assert_cmpuint (options->admin_key_len, ==, 16);
  g_assert_cmpmem (options->admin_key, 16, aes_key, 16);
  g_assert_cmpuint (options->pin_tries, ==, 5);
  g_assert_cmpuint (options->puk_tries, ==, 4);
  g_assert_cmpuint (options->admin_tries, ==, 15);
  g_assert_cmpuint (options->pin_change_limit, ==, 2);
  g_assert_cmpuint (options->atr_len, ==, 2);
  g_assert_cmpstr (options->subject, ==, "Jane Doe");
  g_assert_cmpint (options->key_alg, ==, VCARD_KEY_ALG_ECCP256);
  g_assert_cmpuint (options->drop_after, ==, 7);
  g_assert_cmpint (options->drop_mode, ==, VCARD_DROP_AFTER);
  g_assert_true (options->verbose);
  g_assert_cmpstr (options->state_path, ==, "/tmp/x");
  g_assert_cmpuint (options->apdu_delay_ms, ==, 10000);
}

/* --mute-file FILE: while FILE exists, every command's answer is cut to one byte */
static void
test_mute_file (void)
{
  g_autoptr(VcardOptions) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-vcard-mute-XXXXXX", &error);
  g_autofree char *mute = NULL;
  g_autofree char *line = NULL;

  g_assert_no_error (error);
  mute = g_build_filename (dir, "mute", NULL);
  line = g_strdup_printf ("--port 1 --garble 3 --mute-file '%s'", mute);
  g_assert_true (parse_line (line, &options));
  g_assert_cmpstr (options->mute_path, ==, mute);

  /* no file yet: only what --garble names */
  g_assert_false (vcard_options_garbles (options, 1));
  g_assert_true (vcard_options_garbles (options, 3));

  /* the file is looked at for each command: made and removed while the card runs */
  g_assert_true (g_file_set_contents (mute, "", 0, &error));
  g_assert_no_error (error);
  g_assert_true (vcard_options_garbles (options, 1));
  g_assert_true (vcard_options_garbles (options, 2));
  g_assert_true (vcard_options_garbles (options, 1000));

  g_assert_cmpint (g_unlink (mute), ==, 0);
  g_assert_false (vcard_options_garbles (options, 1));
  g_assert_false (vcard_options_garbles (options, 4));
  g_assert_true (vcard_options_garbles (options, 3));

  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_serial_guid (void)
{
  g_autoptr(VcardOptions) options = vcard_options_new ();
  g_autoptr(VcardState) state = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 guid[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0A, 0xBC };

  options->key_alg = VCARD_KEY_ALG_ECCP256;
  options->serial = g_strdup ("ABC");
  state = vcard_state_new (options, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (state->guid, 16, guid, 16);
}

static void
test_tlv (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GByteArray) big = g_byte_array_new ();
  VcardTlvReader reader;
  const guint8 *v;
  gsize len;
  guint tag;
  gboolean error;
  const guint8 truncated[] = { 0x53, 0x82, 0x01 };
  const guint8 overlong[] = { 0x53, 0x05, 0x00 };
  guint8 zeros[300] = { 0 };

  vcard_tlv_append (out, 0x5FC102, (const guint8 *) "ab", 2);
  g_assert_cmpmem (out->data, out->len, "\x5F\xC1\x02\x02" "ab", 6);
  vcard_tlv_reader_init (&reader, out->data, out->len);
  g_assert_true (vcard_tlv_reader_next (&reader, &tag, &v, &len, &error));
  g_assert_cmphex (tag, ==, 0x5FC102);
  g_assert_cmpuint (len, ==, 2);
  g_assert_false (vcard_tlv_reader_next (&reader, &tag, &v, &len, &error));
  g_assert_false (error);

  vcard_tlv_append (big, 0x53, zeros, sizeof zeros);
  g_assert_cmpmem (big->data, 4, "\x53\x82\x01\x2C", 4);
  g_assert_true (vcard_tlv_find (big->data, big->len, 0x53, &v, &len));
  g_assert_cmpuint (len, ==, 300);

  vcard_tlv_reader_init (&reader, truncated, sizeof truncated);
  g_assert_false (vcard_tlv_reader_next (&reader, &tag, &v, &len, &error));
  g_assert_true (error);
  vcard_tlv_reader_init (&reader, overlong, sizeof overlong);
  g_assert_false (vcard_tlv_reader_next (&reader, &tag, &v, &len, &error));
  g_assert_true (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, extra) \
  g_test_add ("/cardpin/vcard/" path, Fixture, extra, fixture_setup, func, fixture_teardown)

  ADD ("select", test_select, NULL);
  ADD ("get-data", test_get_data, NULL);
  ADD ("response-chaining", test_response_chaining, NULL);
  ADD ("command-chaining", test_command_chaining, NULL);
  ADD ("verify", test_verify, NULL);
  ADD ("change-pin", test_change_pin, NULL);
  ADD ("change-limit", test_change_limit, "--pin-change-limit 2");
  ADD ("puk-reset", test_puk_reset, NULL);
  ADD ("admin-3des", test_admin_3des, NULL);
  ADD ("admin-aes", test_admin_aes,
       "--admin-key 00112233445566778899AABBCCDDEEFF --admin-tries 3");
  ADD ("sign-ec", test_sign_ec, NULL);
  ADD ("sign-rsa", test_sign_rsa, "--key-alg rsa2048");
  ADD ("state-reload", test_state_reload, NULL);
  ADD ("personalise", test_personalise, NULL);
#undef ADD

  g_test_add_func ("/cardpin/vcard/random-serial", test_random_serial);
  g_test_add_func ("/cardpin/vcard/serial-guid", test_serial_guid);
  g_test_add_func ("/cardpin/vcard/drop-after", test_drop_after);
  g_test_add_func ("/cardpin/vcard/garble", test_garble);
  g_test_add_func ("/cardpin/vcard/mute-file", test_mute_file);
  g_test_add_func ("/cardpin/vcard/options", test_options);
  g_test_add_func ("/cardpin/vcard/tlv", test_tlv);

  return g_test_run ();
}
