/* test-apdu.c — APDU building, GET RESPONSE / 6CXX chaining, BER-TLV, PIV parsers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include <string.h>

#include "cardpin-apdu.h"
#include "cardpin-error.h"
#include "cardpin-pcsc.h"
#include "cardpin-piv.h"
#include "cardpin-secret.h"

/* A fake card: a script of raw responses, and a record of the commands it got */
typedef struct {
  GPtrArray *responses;   /* GBytes */
  GPtrArray *commands;    /* GBytes */
  guint      next;
  gboolean   endless;     /* repeat the last response forever */
} FakeCard;

static void
fake_card_init (FakeCard *fake)
{
  fake->responses = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  fake->commands = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  fake->next = 0;
  fake->endless = FALSE;
}

static void
fake_card_clear (FakeCard *fake)
{
  g_ptr_array_unref (fake->responses);
  g_ptr_array_unref (fake->commands);
}

static void
fake_card_add (FakeCard   *fake,
               const char *hex)
{
  GBytes *bytes = cardpin_hex_decode (hex);

  g_assert_nonnull (bytes);
  g_ptr_array_add (fake->responses, bytes);
}

static char *
fake_card_command (FakeCard *fake,
                   guint     index)
{
  GBytes *bytes;
  gsize len;
  const guint8 *data;

  g_assert_cmpuint (index, <, fake->commands->len);
  bytes = g_ptr_array_index (fake->commands, index);
  data = g_bytes_get_data (bytes, &len);
  return cardpin_hex_encode (data, len);
}

static gboolean
fake_transmit (gpointer       user_data,
               const guint8  *command,
               gsize          command_len,
               guint8        *response,
               gsize         *response_len,
               GError       **error)
{
  FakeCard *fake = user_data;
  GBytes *bytes;
  gsize len;
  const guint8 *data;

  g_ptr_array_add (fake->commands, g_bytes_new (command, command_len));

  if (fake->next >= fake->responses->len)
    {
      if (!fake->endless || fake->responses->len == 0)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED, "card gone");
          return FALSE;
        }
      fake->next = fake->responses->len - 1;
    }

  bytes = g_ptr_array_index (fake->responses, fake->next++);
  data = g_bytes_get_data (bytes, &len);
  g_assert_cmpuint (len, <=, *response_len);
  memcpy (response, data, len);
  *response_len = len;
  return TRUE;
}

static void
assert_apdu (const CardpinApdu *apdu,
             const char        *expected)
{
  g_autofree char *hex = cardpin_hex_encode (apdu->bytes, apdu->len);

  g_assert_cmpstr (hex, ==, expected);
}

static void
test_build_cases (void)
{
  g_auto(CardpinApdu) apdu = { 0 };
  const guint8 data[] = { 0x01, 0x02, 0x03 };

  /* case 1 */
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0x20, 0x00, 0x80, NULL, 0,
                                     CARDPIN_APDU_NO_LE));
  assert_apdu (&apdu, "00200080");
  /* case 2, Le 256 is 00 */
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0xC0, 0x00, 0x00, NULL, 0, 256));
  assert_apdu (&apdu, "00C0000000");
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0xC0, 0x00, 0x00, NULL, 0, 16));
  assert_apdu (&apdu, "00C0000010");
  /* case 3 */
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0x24, 0x00, 0x80, data, 3,
                                     CARDPIN_APDU_NO_LE));
  assert_apdu (&apdu, "0024008003010203");
  /* case 4 */
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0xA4, 0x04, 0x00, data, 3, 256));
  assert_apdu (&apdu, "00A404000301020300");
  g_assert_cmpuint (apdu.body_len, ==, 8);
  g_assert_false (apdu.extended);
}

static void
test_build_extended (void)
{
  g_auto(CardpinApdu) apdu = { 0 };
  g_autofree guint8 *data = g_malloc0 (300);

  /* case 2 extended: 00 Le1 Le2; 65536 is 00 00 */
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0xCB, 0x3F, 0xFF, NULL, 0, 65536));
  assert_apdu (&apdu, "00CB3FFF000000");
  g_assert_true (apdu.extended);
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0xCB, 0x3F, 0xFF, NULL, 0, 257));
  assert_apdu (&apdu, "00CB3FFF000101");

  /* case 3 extended: 00 Lc1 Lc2 data, case 4: then Le1 Le2 */
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0xDB, 0x3F, 0xFF, data, 300,
                                     CARDPIN_APDU_NO_LE));
  g_assert_cmpuint (apdu.len, ==, 4 + 3 + 300);
  g_assert_cmpuint (apdu.bytes[4], ==, 0x00);
  g_assert_cmpuint (apdu.bytes[5], ==, 0x01);
  g_assert_cmpuint (apdu.bytes[6], ==, 0x2C);
  g_assert_true (cardpin_apdu_build (&apdu, 0x00, 0xDB, 0x3F, 0xFF, data, 300, 256));
  g_assert_cmpuint (apdu.len, ==, 4 + 3 + 300 + 2);
  g_assert_cmpuint (apdu.bytes[apdu.len - 2], ==, 0x01);
  g_assert_cmpuint (apdu.bytes[apdu.len - 1], ==, 0x00);
}

static void
test_build_invalid (void)
{
  g_auto(CardpinApdu) apdu = { 0 };
  g_autofree guint8 *data = g_malloc0 (CARDPIN_APDU_MAX_DATA + 1);

  g_assert_false (cardpin_apdu_build (&apdu, 0, 0xDB, 0, 0, data, CARDPIN_APDU_MAX_DATA + 1,
                                      CARDPIN_APDU_NO_LE));
  g_assert_false (cardpin_apdu_build (&apdu, 0, 0xC0, 0, 0, NULL, 0, 65537));
  g_assert_false (cardpin_apdu_build (&apdu, 0, 0xC0, 0, 0, NULL, 0, -2));
  g_assert_false (cardpin_apdu_build (&apdu, 0, 0xC0, 0, 0, NULL, 4, 0));
}

static void
test_clear (void)
{
  CardpinApdu apdu;
  const guint8 pin[] = { '1', '2', '3', '4', '5', '6', 0xFF, 0xFF };
  gsize i;

  g_assert_true (cardpin_apdu_build (&apdu, 0, 0x20, 0, 0x80, pin, sizeof pin,
                                     CARDPIN_APDU_NO_LE));
  cardpin_apdu_clear (&apdu);
  g_assert_cmpuint (apdu.len, ==, 0);
  for (i = 0; i < sizeof apdu.bytes; i++)
    g_assert_cmpuint (apdu.bytes[i], ==, 0);
}

static CardpinApduResponse *
run_script (FakeCard    *fake,
            const char  *command_hex,
            GError     **error)
{
  g_autoptr(GBytes) command = cardpin_hex_decode (command_hex);
  g_auto(CardpinApdu) apdu = { 0 };
  const guint8 *c;
  gsize len;

  c = g_bytes_get_data (command, &len);
  g_assert_cmpuint (len, >=, 4);
  /* commands here are case 1, 2 (5 bytes) or 4 (with Le) */
  if (len == 4)
    g_assert_true (cardpin_apdu_build (&apdu, c[0], c[1], c[2], c[3], NULL, 0,
                                       CARDPIN_APDU_NO_LE));
  else if (len == 5)
    g_assert_true (cardpin_apdu_build (&apdu, c[0], c[1], c[2], c[3], NULL, 0,
                                       c[4] == 0 ? 256 : c[4]));
  else
    g_assert_true (cardpin_apdu_build (&apdu, c[0], c[1], c[2], c[3], c + 5, c[4],
                                       c[len - 1] == 0 ? 256 : c[len - 1]));
  assert_apdu (&apdu, command_hex);

  return cardpin_apdu_transceive (fake_transmit, fake, &apdu, error);
}

static void
test_transceive_plain (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  FakeCard fake;

  fake_card_init (&fake);
  fake_card_add (&fake, "01029000");
  response = run_script (&fake, "00CA010200", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->sw, ==, 0x9000);
  g_assert_cmpuint (response->len, ==, 2);
  g_assert_cmpmem (response->data, 2, "\x01\x02", 2);
  g_assert_cmpuint (fake.commands->len, ==, 1);
  fake_card_clear (&fake);
}

static void
test_transceive_get_response (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  g_autofree char *data = NULL;
  FakeCard fake;

  fake_card_init (&fake);
  fake_card_add (&fake, "AABB6100");      /* 256 more */
  fake_card_add (&fake, "CCDD6103");      /* 3 more */
  fake_card_add (&fake, "EEFF119000");
  response = run_script (&fake, "04CB3FFF055C035FC10200", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->sw, ==, 0x9000);
  data = cardpin_hex_encode (response->data, response->len);
  g_assert_cmpstr (data, ==, "AABBCCDDEEFF11");

  g_assert_cmpuint (fake.commands->len, ==, 3);
  /* GET RESPONSE keeps the channel bits of CLA, Le = SW2 */
  second = fake_card_command (&fake, 1);
  third = fake_card_command (&fake, 2);
  g_assert_cmpstr (second, ==, "04C0000000");
  g_assert_cmpstr (third, ==, "04C0000003");
  fake_card_clear (&fake);
}

static void
test_transceive_chained_error_sw (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  FakeCard fake;

  /* the last answer's SW is the result, data so far is kept */
  fake_card_init (&fake);
  fake_card_add (&fake, "01026102");
  fake_card_add (&fake, "6A82");
  response = run_script (&fake, "00CB3FFF00", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->sw, ==, 0x6A82);
  g_assert_cmpuint (response->len, ==, 2);
  fake_card_clear (&fake);
}

static void
test_transceive_wrong_le (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *second = NULL;
  FakeCard fake;

  fake_card_init (&fake);
  fake_card_add (&fake, "6C04");
  fake_card_add (&fake, "010203049000");
  response = run_script (&fake, "00CA010200", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->sw, ==, 0x9000);
  g_assert_cmpuint (response->len, ==, 4);
  second = fake_card_command (&fake, 1);
  g_assert_cmpstr (second, ==, "00CA010204");
  fake_card_clear (&fake);
}

static void
test_transceive_wrong_le_once (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  FakeCard fake;

  /* a card that answers 6CXX again is not retried forever: its SW comes back */
  fake_card_init (&fake);
  fake_card_add (&fake, "6C04");
  fake_card_add (&fake, "6C05");
  response = run_script (&fake, "00CA010200", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->sw, ==, 0x6C05);
  g_assert_cmpuint (fake.commands->len, ==, 2);
  fake_card_clear (&fake);
}

/* a command with data (a PIN block) is never sent twice: 6CXX to it is its answer */
static void
test_transceive_wrong_le_with_data (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  FakeCard fake;

  fake_card_init (&fake);
  fake_card_add (&fake, "6C04");
  fake_card_add (&fake, "9000");
  /* VERIFY 80 with a PIN block and an Le */
  response = run_script (&fake, "002000800831323334353637FF00", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response->sw, ==, 0x6C04);
  g_assert_cmpuint (fake.commands->len, ==, 1);
  fake_card_clear (&fake);
}

static void
test_transceive_endless (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  FakeCard fake;

  /* a card announcing more data forever: stopped, not looped */
  fake_card_init (&fake);
  fake_card_add (&fake, "6101");
  fake.endless = TRUE;
  response = run_script (&fake, "00CB3FFF00", &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR);
  g_assert_null (response);
  g_assert_cmpuint (fake.commands->len, <=, 301);
  fake_card_clear (&fake);
}

static void
test_transceive_too_long (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) big = g_string_new (NULL);
  FakeCard fake;
  guint i;

  /* 256-byte chunks beyond CARDPIN_APDU_MAX_RESPONSE in total */
  for (i = 0; i < 256; i++)
    g_string_append (big, "AB");
  g_string_append (big, "6100");
  fake_card_init (&fake);
  fake_card_add (&fake, big->str);
  fake.endless = TRUE;
  response = run_script (&fake, "00CB3FFF00", &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR);
  g_assert_null (response);
  fake_card_clear (&fake);
}

static void
test_transceive_malformed (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  FakeCard fake;

  /* a one-byte answer has no status word */
  fake_card_init (&fake);
  fake_card_add (&fake, "90");
  response = run_script (&fake, "00CA010200", &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR);
  g_assert_null (response);
  g_clear_error (&error);
  fake_card_clear (&fake);

  /* no answer at all: the card went away */
  fake_card_init (&fake);
  fake_card_add (&fake, "");
  response = run_script (&fake, "00CA010200", &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED);
  g_assert_null (response);
  fake_card_clear (&fake);
}

static void
test_transceive_transport_error (void)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  FakeCard fake;

  /* the card drops in the middle of GET RESPONSE chaining */
  fake_card_init (&fake);
  fake_card_add (&fake, "01026110");
  response = run_script (&fake, "00CB3FFF00", &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED);
  g_assert_null (response);
  fake_card_clear (&fake);
}

static void
test_sw (void)
{
  g_assert_true (cardpin_sw_is_ok (0x9000));
  g_assert_false (cardpin_sw_is_ok (0x6300));
  g_assert_cmpint (cardpin_sw_tries_left (0x63C2), ==, 2);
  g_assert_cmpint (cardpin_sw_tries_left (0x63C0), ==, 0);
  g_assert_cmpint (cardpin_sw_tries_left (0x63CF), ==, 15);
  g_assert_cmpint (cardpin_sw_tries_left (0x6983), ==, -1);
  g_assert_cmpint (cardpin_sw_tries_left (0x6300), ==, -1);
  g_assert_cmpint (cardpin_sw_tries_left (0x9000), ==, -1);
  g_assert_cmpstr (cardpin_sw_describe (0x6A82), ==, "file or application not found");
  g_assert_cmpstr (cardpin_sw_describe (0x61FF), ==, "more data available");
}

typedef struct {
  const char *hex;
  guint       tag;
  gsize       value_len;
  gsize       offset_after;
} TlvCase;

static void
test_tlv_parse (void)
{
  const TlvCase cases[] = {
    { "0102AABB", 0x01, 2, 4 },
    { "5FC10203010203", 0x5FC102, 3, 7 },         /* two-byte tag continuation */
    { "7F4900", 0x7F49, 0, 3 },
    { "5FFF01020102", 0x5FFF01, 2, 6 },           /* three-byte tag */
    { "53810101", 0x53, 1, 4 },                   /* long form, one length byte */
    { "5382000101", 0x53, 1, 5 },                 /* long form, two length bytes */
    { "538300000101", 0x53, 1, 6 },               /* long form, three length bytes */
    { "00FF0101AA", 0x01, 1, 5 },                 /* padding skipped */
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = cardpin_hex_decode (cases[i].hex);
      const guint8 *buf;
      const guint8 *value;
      gsize len;
      gsize offset = 0;
      gsize value_len;
      guint tag;

      buf = g_bytes_get_data (bytes, &len);
      g_test_message ("TLV %s", cases[i].hex);
      g_assert_true (cardpin_tlv_next (buf, len, &offset, &tag, &value, &value_len));
      g_assert_cmphex (tag, ==, cases[i].tag);
      g_assert_cmpuint (value_len, ==, cases[i].value_len);
      g_assert_cmpuint (offset, ==, cases[i].offset_after);
      g_assert_true (value + value_len <= buf + len);
      g_assert_false (cardpin_tlv_next (buf, len, &offset, &tag, &value, &value_len));
    }
}

static void
test_tlv_malformed (void)
{
  const char *cases[] = {
    "01",           /* no length */
    "0103AABB",     /* value truncated */
    "5F",           /* tag truncated */
    "5FC1",         /* tag continuation truncated */
    "5FC1C2C30100", /* tag longer than 3 bytes */
    "5380",         /* indefinite length */
    "538401000000", /* 4 length bytes */
    "5381",         /* long form, length bytes missing */
    "538200",       /* long form, one of two length bytes */
    "5382FFFF00",   /* long length beyond the buffer */
    "5383FFFFFF00", /* huge length */
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = cardpin_hex_decode (cases[i]);
      const guint8 *buf;
      const guint8 *value = NULL;
      gsize len;
      gsize offset = 0;
      gsize value_len = 0;
      guint tag = 0;

      buf = g_bytes_get_data (bytes, &len);
      g_test_message ("malformed TLV %s", cases[i]);
      g_assert_false (cardpin_tlv_next (buf, len, &offset, &tag, &value, &value_len));
      g_assert_cmpuint (offset, ==, 0);
    }
}

static void
test_tlv_find (void)
{
  g_autoptr(GBytes) bytes = cardpin_hex_decode ("0101FF 0502AABB 060303 02");
  const guint8 *buf;
  const guint8 *value;
  gsize len;
  gsize value_len;

  buf = g_bytes_get_data (bytes, &len);
  value = cardpin_tlv_find (buf, len, 0x05, &value_len);
  g_assert_nonnull (value);
  g_assert_cmpuint (value_len, ==, 2);
  g_assert_cmpuint (value[0], ==, 0xAA);
  g_assert_null (cardpin_tlv_find (buf, len, 0x07, &value_len));
  g_assert_cmpuint (value_len, ==, 0);
  /* the 06 object is truncated: not found, no overread */
  g_assert_null (cardpin_tlv_find (buf, len, 0x06, &value_len));
}

static void
test_tlv_round_trip (void)
{
  const gsize lengths[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 70000 };
  const guint tags[] = { 0x53, 0x5FC102, 0x7F49 };
  guint i, t;

  for (t = 0; t < G_N_ELEMENTS (tags); t++)
    for (i = 0; i < G_N_ELEMENTS (lengths); i++)
      {
        g_autoptr(GByteArray) out = g_byte_array_new ();
        g_autofree guint8 *value = g_malloc (lengths[i] + 1);
        const guint8 *parsed;
        gsize parsed_len;
        gsize offset = 0;
        guint tag;

        memset (value, 0x5A, lengths[i]);
        cardpin_tlv_append (out, tags[t], value, lengths[i]);
        g_assert_true (cardpin_tlv_next (out->data, out->len, &offset, &tag, &parsed,
                                         &parsed_len));
        g_assert_cmphex (tag, ==, tags[t]);
        g_assert_cmpuint (parsed_len, ==, lengths[i]);
        g_assert_cmpuint (offset, ==, out->len);
        g_assert_cmpmem (parsed, parsed_len, value, lengths[i]);
        /* shortest encoding */
        if (lengths[i] < 0x80)
          g_assert_cmpuint (out->len, ==, (tags[t] > 0xFFFF ? 3 : tags[t] > 0xFF ? 2 : 1) +
                            1 + lengths[i]);
      }
}

static void
test_hex (void)
{
  const guint8 data[] = { 0x00, 0x1F, 0xA0, 0xFF };
  g_autofree char *hex = cardpin_hex_encode (data, sizeof data);
  g_autoptr(GBytes) back = cardpin_hex_decode ("00 1f:A0ff");
  g_autoptr(GBytes) empty = cardpin_hex_decode ("");

  g_assert_cmpstr (hex, ==, "001FA0FF");
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), data, sizeof data);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
  g_assert_null (cardpin_hex_decode ("ABC"));
  g_assert_null (cardpin_hex_decode ("GG"));
}

static void
test_piv_metadata (void)
{
  g_autoptr(GBytes) ok = cardpin_hex_decode ("0101FF 050101 06020302");
  g_autoptr(GBytes) no_counter = cardpin_hex_decode ("0101FF 050100");
  g_autoptr(GBytes) bad_counter = cardpin_hex_decode ("06020305");
  g_autoptr(GBytes) truncated = cardpin_hex_decode ("0101FF 060303");
  CardpinPivTries tries;

  g_assert_true (cardpin_piv_parse_metadata (g_bytes_get_data (ok, NULL),
                                             g_bytes_get_size (ok), &tries));
  g_assert_cmpint (tries.tries_max, ==, 3);
  g_assert_cmpint (tries.tries_left, ==, 2);
  g_assert_cmpint (tries.is_default, ==, 1);

  g_assert_false (cardpin_piv_parse_metadata (g_bytes_get_data (no_counter, NULL),
                                              g_bytes_get_size (no_counter), &tries));
  g_assert_cmpint (tries.is_default, ==, 0);
  g_assert_cmpint (tries.tries_left, ==, -1);

  /* more left than the maximum is nonsense */
  g_assert_false (cardpin_piv_parse_metadata (g_bytes_get_data (bad_counter, NULL),
                                              g_bytes_get_size (bad_counter), &tries));
  g_assert_false (cardpin_piv_parse_metadata (g_bytes_get_data (truncated, NULL),
                                              g_bytes_get_size (truncated), &tries));
}

static void
test_piv_chuid (void)
{
  g_autoptr(GBytes) chuid = cardpin_hex_decode (
    "533B"
    "3019D4E739DA739CED39CE739D836858210842108421C84210C3EB"
    "3410 00000000000000000000000000C0FFEE"
    "350832303939313233313E00FE00");
  g_autoptr(GBytes) zero = cardpin_hex_decode ("5312 3410 00000000000000000000000000000000");
  g_autoptr(GBytes) short_guid = cardpin_hex_decode ("5304 3402 0102");
  g_autoptr(GBytes) truncated = cardpin_hex_decode ("5340 3410 0102");
  g_autofree char *serial = NULL;
  g_autofree char *none = NULL;

  serial = cardpin_piv_parse_chuid (g_bytes_get_data (chuid, NULL), g_bytes_get_size (chuid));
  g_assert_cmpstr (serial, ==, "00000000000000000000000000C0FFEE");
  none = cardpin_piv_parse_chuid (g_bytes_get_data (zero, NULL), g_bytes_get_size (zero));
  g_assert_null (none);
  g_assert_null (cardpin_piv_parse_chuid (g_bytes_get_data (short_guid, NULL),
                                          g_bytes_get_size (short_guid)));
  g_assert_null (cardpin_piv_parse_chuid (g_bytes_get_data (truncated, NULL),
                                          g_bytes_get_size (truncated)));
}

/* SELECT: only "no such application" answers make a card without PIV (another route
 * may serve it); any other answer is the card failing, never a reason to switch */
static void
test_piv_select_answers (void)
{
  const struct { const char *sw; int code; } cases[] = {
    { "9000", -1 },
    { "6A82", CARDPIN_ERROR_NOT_SUPPORTED },
    { "6A81", CARDPIN_ERROR_NOT_SUPPORTED },
    { "6A86", CARDPIN_ERROR_NOT_SUPPORTED },
    { "6D00", CARDPIN_ERROR_NOT_SUPPORTED },
    { "6E00", CARDPIN_ERROR_NOT_SUPPORTED },
    { "6999", CARDPIN_ERROR_NOT_SUPPORTED },
    { "6F00", CARDPIN_ERROR_CARD_ERROR },
    { "6581", CARDPIN_ERROR_CARD_ERROR },
    { "6400", CARDPIN_ERROR_CARD_ERROR },
    { "6985", CARDPIN_ERROR_CARD_ERROR },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      CardpinCardIo io = { fake_transmit, NULL };
      FakeCard fake;
      gboolean ok;

      fake_card_init (&fake);
      io.user_data = &fake;
      fake_card_add (&fake, cases[i].sw);
      ok = cardpin_piv_select (&io, &error);
      if (cases[i].code < 0)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, CARDPIN_ERROR, cases[i].code);
        }
      fake_card_clear (&fake);
    }
}

/* A certificate made by the openssl command line, independently of cardpin */
static GBytes *
make_cert (const char *subject)
{
  g_autofree char *dir = g_dir_make_tmp ("cardpin-cert-XXXXXX", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  g_autofree char *der = g_build_filename (dir, "cert.der", NULL);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-utf8", "-keyout", key,
                         "-subj", subject, "-days", "30", "-outform", "DER", "-out", der,
                         NULL };
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;
  int status = -1;

  g_assert_nonnull (dir);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_file_get_contents (der, &contents, &len, NULL));
  g_unlink (key);
  g_unlink (der);
  g_rmdir (dir);
  return g_bytes_new_take (contents, len);
}

/* The PIV certificate object of GET DATA: 53 { 70 cert, 71 info, FE 00 } */
static GBytes *
piv_cert_object (GBytes  *cert,
                 gboolean compress)
{
  g_autoptr(GByteArray) inner = g_byte_array_new ();
  g_autoptr(GByteArray) outer = g_byte_array_new ();
  g_autoptr(GBytes) body = g_bytes_ref (cert);
  guint8 info = compress ? 0x01 : 0x00;

  if (compress)
    {
      g_autoptr(GZlibCompressor) gzip = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
      g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (cert);
      g_autoptr(GInputStream) converted = g_converter_input_stream_new (in, G_CONVERTER (gzip));
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
      g_autoptr(GError) error = NULL;

      g_output_stream_splice (out, converted, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
      g_assert_no_error (error);
      g_clear_pointer (&body, g_bytes_unref);
      body = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
    }
  cardpin_tlv_append (inner, 0x70, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  cardpin_tlv_append (inner, 0x71, &info, 1);
  g_byte_array_append (inner, (const guint8 *) "\xFE\x00", 2);
  cardpin_tlv_append (outer, 0x53, inner->data, inner->len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&outer));
}

static char *
holder_of (GBytes *object)
{
  return cardpin_piv_parse_cert_holder (g_bytes_get_data (object, NULL),
                                        g_bytes_get_size (object));
}

/* The holder's name from a certificate object, as OpenSC shows it for the token label */
static void
test_piv_cert_holder (void)
{
  g_autoptr(GBytes) plain = make_cert ("/O=Example Org/CN=Alice Example/OU=People");
  g_autoptr(GBytes) utf8 = make_cert ("/CN=Zoë Ünlü");
  g_autoptr(GBytes) no_cn = make_cert ("/O=Example Org");
  g_autoptr(GBytes) object = piv_cert_object (plain, FALSE);
  g_autoptr(GBytes) gzipped = piv_cert_object (plain, TRUE);
  g_autoptr(GBytes) utf8_object = piv_cert_object (utf8, FALSE);
  g_autoptr(GBytes) no_cn_object = piv_cert_object (no_cn, FALSE);
  g_autoptr(GBytes) truncated = NULL;
  g_autofree char *a = holder_of (object);
  g_autofree char *b = holder_of (gzipped);
  g_autofree char *c = holder_of (utf8_object);

  g_assert_cmpstr (a, ==, "Alice Example");
  g_assert_cmpstr (b, ==, "Alice Example");
  g_assert_cmpstr (c, ==, "Zoë Ünlü");
  g_assert_null (holder_of (no_cn_object));

  /* cut anywhere: no name, never a crash or a read past the end */
  for (gsize n = 0; n < g_bytes_get_size (object); n += 7)
    {
      g_autofree char *cut = NULL;

      truncated = g_bytes_new_from_bytes (object, 0, n);
      cut = holder_of (truncated);
      g_assert_null (cut);
      g_clear_pointer (&truncated, g_bytes_unref);
    }
  /* not a certificate object */
  g_assert_null (cardpin_piv_parse_cert_holder ((const guint8 *) "\x53\x02\x70\x00", 4));
}

static void
test_piv_tries_fallback (void)
{
  g_autoptr(GError) error = NULL;
  CardpinCardIo io = { fake_transmit, NULL };
  CardpinPivTries tries;
  g_autofree char *verify = NULL;
  FakeCard fake;

  /* no GET METADATA (6D00): an empty VERIFY tells 63C2 */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "6D00");
  fake_card_add (&fake, "63C2");
  g_assert_true (cardpin_piv_get_tries (&io, CARDPIN_PIV_KEY_PIN, &tries, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tries.tries_left, ==, 2);
  g_assert_cmpint (tries.tries_max, ==, -1);
  verify = fake_card_command (&fake, 1);
  g_assert_cmpstr (verify, ==, "00200080");
  fake_card_clear (&fake);

  /* blocked */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "6A86");
  fake_card_add (&fake, "6983");
  g_assert_true (cardpin_piv_get_tries (&io, CARDPIN_PIV_KEY_PIN, &tries, &error));
  g_assert_cmpint (tries.tries_left, ==, 0);
  fake_card_clear (&fake);

  /* the PUK has no fallback that spends nothing: unknown, and no VERIFY sent */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "6D00");
  g_assert_true (cardpin_piv_get_tries (&io, CARDPIN_PIV_KEY_PUK, &tries, &error));
  g_assert_cmpint (tries.tries_left, ==, -1);
  g_assert_cmpuint (fake.commands->len, ==, 1);
  fake_card_clear (&fake);

  /* metadata */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "0101FF05010006020503 9000");
  g_assert_true (cardpin_piv_get_tries (&io, CARDPIN_PIV_KEY_PUK, &tries, &error));
  g_assert_cmpint (tries.tries_left, ==, 3);
  g_assert_cmpint (tries.tries_max, ==, 5);
  g_assert_cmpint (tries.is_default, ==, 0);
  fake_card_clear (&fake);
}

typedef struct {
  guint8       key_ref;
  guint16      sw;
  gboolean     changing;
  CardpinError code;
  int          tries;
} SwCase;

static void
test_piv_sw_errors (void)
{
  const SwCase cases[] = {
    { 0x80, 0x63C2, FALSE, CARDPIN_ERROR_WRONG_PIN, 2 },
    { 0x80, 0x63C1, TRUE, CARDPIN_ERROR_WRONG_PIN, 1 },
    { 0x80, 0x63C0, FALSE, CARDPIN_ERROR_PIN_BLOCKED, 0 },
    { 0x80, 0x6983, FALSE, CARDPIN_ERROR_PIN_BLOCKED, 0 },
    { 0x81, 0x63C1, TRUE, CARDPIN_ERROR_WRONG_PUK, 1 },
    { 0x81, 0x6983, TRUE, CARDPIN_ERROR_PUK_BLOCKED, 0 },
    { 0x9B, 0x63C4, FALSE, CARDPIN_ERROR_WRONG_RESPONSE, 4 },
    { 0x9B, 0x6983, FALSE, CARDPIN_ERROR_ADMIN_BLOCKED, 0 },
    { 0x9B, 0x6982, TRUE, CARDPIN_ERROR_CHALLENGE_EXPIRED, -1 },
    { 0x80, 0x6985, TRUE, CARDPIN_ERROR_PIN_CHANGE_LIMITED, -1 },
    { 0x80, 0x6985, FALSE, CARDPIN_ERROR_NOT_SUPPORTED, -1 },
    { 0x80, 0x6A80, TRUE, CARDPIN_ERROR_POLICY, -1 },
    { 0x80, 0x6D00, FALSE, CARDPIN_ERROR_NOT_SUPPORTED, -1 },
    { 0x80, 0x6F00, FALSE, CARDPIN_ERROR_CARD_ERROR, -1 },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("key %02X SW %04X", cases[i].key_ref, cases[i].sw);
      cardpin_piv_set_sw_error (&error, cases[i].key_ref, cases[i].sw, cases[i].changing);
      g_assert_error (error, CARDPIN_ERROR, (int) cases[i].code);
      g_assert_cmpint (cardpin_error_get_tries_left (error), ==, cases[i].tries);
      g_assert_cmpstr (error->message, !=, "");
    }
}

static void
test_piv_secrets_checked_first (void)
{
  g_autoptr(CardpinSecret) too_long = cardpin_secret_new_from_string ("123456789");
  g_autoptr(CardpinSecret) too_short = cardpin_secret_new_from_string ("12345");
  g_autoptr(CardpinSecret) ok = cardpin_secret_new_from_string ("123456");
  g_autoptr(GError) error = NULL;
  CardpinCardIo io = { fake_transmit, NULL };
  FakeCard fake;

  fake_card_init (&fake);
  io.user_data = &fake;

  /* nothing reaches the card */
  g_assert_false (cardpin_piv_verify (&io, too_long, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_assert_cmpint (cardpin_error_get_policy_reason (error), ==, CARDPIN_POLICY_TOO_LONG);
  g_clear_error (&error);
  g_assert_false (cardpin_piv_change_reference (&io, 0x80, ok, too_short, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_assert_cmpint (cardpin_error_get_policy_reason (error), ==, CARDPIN_POLICY_TOO_SHORT);
  g_clear_error (&error);
  g_assert_false (cardpin_piv_admin_set_pin (&io, too_long, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY);
  g_clear_error (&error);
  g_assert_cmpuint (fake.commands->len, ==, 0);

  /* FF padding and the APDU */
  fake_card_add (&fake, "9000");
  g_assert_true (cardpin_piv_change_reference (&io, 0x81, ok, ok, &error));
  g_assert_no_error (error);
  {
    g_autofree char *sent = fake_card_command (&fake, 0);

    g_assert_cmpstr (sent, ==, "0024008110313233343536FFFF313233343536FFFF");
  }
  fake_card_clear (&fake);
}

static void
test_piv_admin_challenge (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) challenge = NULL;
  CardpinCardIo io = { fake_transmit, NULL };
  guint8 algorithm = 0;
  FakeCard fake;

  /* no metadata, AES refused (6A86, costs nothing), 3DES answers */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "6D00");
  fake_card_add (&fake, "6A86");
  fake_card_add (&fake, "7C0A81080102030405060708 9000");
  challenge = cardpin_piv_admin_challenge (&io, &algorithm, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (algorithm, ==, 0x03);
  g_assert_cmpuint (g_bytes_get_size (challenge), ==, 8);
  {
    g_autofree char *aes = fake_card_command (&fake, 1);
    g_autofree char *des = fake_card_command (&fake, 2);

    g_assert_cmpstr (aes, ==, "0087089B047C02810000");
    g_assert_cmpstr (des, ==, "0087039B047C02810000");
  }
  fake_card_clear (&fake);
  g_clear_pointer (&challenge, g_bytes_unref);

  /* metadata names AES; a challenge of the wrong size is refused */
  fake_card_init (&fake);
  io.user_data = &fake;
  algorithm = 0;
  fake_card_add (&fake, "010108 06020505 9000");
  fake_card_add (&fake, "7C0A81080102030405060708 9000");
  challenge = cardpin_piv_admin_challenge (&io, &algorithm, &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR);
  g_assert_null (challenge);
  g_assert_cmpuint (algorithm, ==, 0x08);
  g_clear_error (&error);
  fake_card_clear (&fake);

  /* admin key blocked */
  fake_card_init (&fake);
  io.user_data = &fake;
  algorithm = 0x08;
  fake_card_add (&fake, "6983");
  challenge = cardpin_piv_admin_challenge (&io, &algorithm, &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_ADMIN_BLOCKED);
  fake_card_clear (&fake);
}

/* The PIN's security status is cleared and the clearing checked; anything else says the
 * card must be reset */
static void
test_piv_logout_checked (void)
{
  CardpinCardIo io = { fake_transmit, NULL };
  g_autofree char *logout = NULL;
  g_autofree char *check = NULL;
  FakeCard fake;

  /* cleared: the empty VERIFY says "not verified, 3 tries" */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "9000");
  fake_card_add (&fake, "63C3");
  g_assert_true (cardpin_piv_logout (&io, NULL));
  logout = fake_card_command (&fake, 0);
  check = fake_card_command (&fake, 1);
  g_assert_cmpstr (logout, ==, "0020FF80");
  g_assert_cmpstr (check, ==, "00200080");
  fake_card_clear (&fake);

  /* a card that refuses the log-out */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "6A86");
  g_assert_false (cardpin_piv_logout (&io, NULL));
  fake_card_clear (&fake);

  /* a card that accepts it but still counts the PIN as verified */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "9000");
  fake_card_add (&fake, "9000");
  g_assert_false (cardpin_piv_logout (&io, NULL));
  fake_card_clear (&fake);

  /* a card gone in between */
  fake_card_init (&fake);
  io.user_data = &fake;
  fake_card_add (&fake, "9000");
  g_assert_false (cardpin_piv_logout (&io, NULL));
  fake_card_clear (&fake);
}

/* A reader's PC/SC part 10 feature list: a PIN pad reader (CCID driver: verify, modify,
 * PIN properties, TLV properties, escape) has its PINs typed on its keypad, with the
 * control codes it lists; an ordinary reader, a driver without features and malformed
 * lists do not. */
static void
test_pinpad_features (void)
{
  static const guint8 pinpad[] = {
    0x06, 0x04, 0x42, 0x33, 0x00, 0x06,   /* FEATURE_VERIFY_PIN_DIRECT */
    0x07, 0x04, 0x42, 0x33, 0x00, 0x07,   /* FEATURE_MODIFY_PIN_DIRECT */
    0x0A, 0x04, 0x42, 0x33, 0x00, 0x0A,   /* FEATURE_IFD_PIN_PROPERTIES */
    0x12, 0x04, 0x42, 0x33, 0x00, 0x12,   /* FEATURE_GET_TLV_PROPERTIES */
  };
  static const guint8 modify_only[] = {
    0x12, 0x04, 0x42, 0x33, 0x00, 0x12,
    0x07, 0x04, 0x42, 0x33, 0x00, 0x07,
  };
  static const guint8 plain[] = {
    0x12, 0x04, 0x42, 0x33, 0x00, 0x12,
    0x13, 0x04, 0x42, 0x33, 0x00, 0x13,   /* FEATURE_CCID_ESC_COMMAND */
  };
  static const guint8 bad_length[] = { 0x12, 0x05, 0x42, 0x33, 0x00, 0x12, 0x00,
                                       0x06, 0x04, 0x42, 0x33, 0x00, 0x06 };

  g_assert_true (cardpin_pcsc_features_have_pinpad (pinpad, sizeof pinpad));
  g_assert_true (cardpin_pcsc_features_have_pinpad (modify_only, sizeof modify_only));
  g_assert_false (cardpin_pcsc_features_have_pinpad (plain, sizeof plain));
  g_assert_false (cardpin_pcsc_features_have_pinpad (NULL, 0));
  /* cut inside the verify feature's value: not trusted */
  g_assert_false (cardpin_pcsc_features_have_pinpad (pinpad, 5));
  g_assert_false (cardpin_pcsc_features_have_pinpad (pinpad, 1));
  /* a malformed entry before it ends the list */
  g_assert_false (cardpin_pcsc_features_have_pinpad (bad_length, sizeof bad_length));

  /* the control code to use is the one the reader lists, big-endian */
  g_assert_cmphex (cardpin_pcsc_features_find (pinpad, sizeof pinpad, 0x06), ==, 0x42330006);
  g_assert_cmphex (cardpin_pcsc_features_find (modify_only, sizeof modify_only, 0x07), ==,
                   0x42330007);
  g_assert_cmphex (cardpin_pcsc_features_find (modify_only, sizeof modify_only, 0x06), ==, 0);
  g_assert_cmphex (cardpin_pcsc_features_find (bad_length, sizeof bad_length, 0x06), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/pcsc/pinpad-features", test_pinpad_features);

  g_test_add_func ("/cardpin/apdu/build-cases", test_build_cases);
  g_test_add_func ("/cardpin/apdu/build-extended", test_build_extended);
  g_test_add_func ("/cardpin/apdu/build-invalid", test_build_invalid);
  g_test_add_func ("/cardpin/apdu/clear", test_clear);
  g_test_add_func ("/cardpin/apdu/transceive-plain", test_transceive_plain);
  g_test_add_func ("/cardpin/apdu/transceive-get-response", test_transceive_get_response);
  g_test_add_func ("/cardpin/apdu/transceive-chained-error-sw",
                   test_transceive_chained_error_sw);
  g_test_add_func ("/cardpin/apdu/transceive-wrong-le", test_transceive_wrong_le);
  g_test_add_func ("/cardpin/apdu/transceive-wrong-le-once", test_transceive_wrong_le_once);
  g_test_add_func ("/cardpin/apdu/transceive-endless", test_transceive_endless);
  g_test_add_func ("/cardpin/apdu/transceive-too-long", test_transceive_too_long);
  g_test_add_func ("/cardpin/apdu/transceive-malformed", test_transceive_malformed);
  g_test_add_func ("/cardpin/apdu/transceive-transport-error",
                   test_transceive_transport_error);
  g_test_add_func ("/cardpin/apdu/sw", test_sw);
  g_test_add_func ("/cardpin/apdu/tlv-parse", test_tlv_parse);
  g_test_add_func ("/cardpin/apdu/tlv-malformed", test_tlv_malformed);
  g_test_add_func ("/cardpin/apdu/tlv-find", test_tlv_find);
  g_test_add_func ("/cardpin/apdu/tlv-round-trip", test_tlv_round_trip);
  g_test_add_func ("/cardpin/apdu/hex", test_hex);
  g_test_add_func ("/cardpin/apdu/piv-metadata", test_piv_metadata);
  g_test_add_func ("/cardpin/apdu/piv-chuid", test_piv_chuid);
  g_test_add_func ("/cardpin/apdu/piv-tries-fallback", test_piv_tries_fallback);
  g_test_add_func ("/cardpin/apdu/piv-select-answers", test_piv_select_answers);
  g_test_add_func ("/cardpin/apdu/piv-cert-holder", test_piv_cert_holder);
  g_test_add_func ("/cardpin/apdu/piv-sw-errors", test_piv_sw_errors);
  g_test_add_func ("/cardpin/apdu/piv-secrets-checked-first", test_piv_secrets_checked_first);
  g_test_add_func ("/cardpin/apdu/piv-admin-challenge", test_piv_admin_challenge);
  g_test_add_func ("/cardpin/apdu/piv-logout-checked", test_piv_logout_checked);
  g_test_add_func ("/cardpin/apdu/transceive-wrong-le-with-data",
                   test_transceive_wrong_le_with_data);

  return g_test_run ();
}
