/* fuzz-card.c — libFuzzer target for the card-response path: status, PIN operations and
 * the admin challenge/response unblock, fed by a fake card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input:
 *
 *   <n> <ATR: min (n, 33) bytes> <operation> <answer>*
 *   answer = <length, 2 bytes big-endian> <that many bytes: data and SW1 SW2>
 *
 * The ATR goes through the change-limited card list. The operation byte (missing: 00)
 * chooses what the host does, as CardpinToken does it over PC/SC:
 *
 *   bits 0-3 (mod 8)  0 status (SELECT, tries of 80 and 81 by GET METADATA with the
 *                       empty VERIFY fallback, CHUID serial), 1 verify, 2 change PIN,
 *                       3 change PUK, 4 PUK unblock, 5 first-use set-up (PIN then PUK),
 *                       6 admin challenge -> code -> response code -> respond -> set PIN,
 *                       7 a PIN pad reader (_cardpin_piv_run_pinpad_op): verify, change,
 *                       PUK unblock or set-up (bits 4-5) typed on the reader's keypad
 *   bits 4-5          the new PIN: 8 digits, 6 digits, 5 (too short), 9 (too long)
 *   bit 6             the current PIN/PUK: the factory value, or 7 digits
 *   bit 7             admin: ask the card for 3DES instead of finding the algorithm out;
 *                     status: read as over PC/SC alone (also the holder's certificate)
 *
 * Each command gets the next answer; when they run out, or an answer is cut short, the
 * card is gone (SCARD_W_REMOVED_CARD), as when it is pulled out. A request to the reader
 * (SCardControl: its feature list, a PIN entry on its keypad) gets the next answer too,
 * and the PIN entry requests the host sends must be well-formed and carry no digits. Every command the host
 * sends must be a well-formed APDU; every failure must come with an error of
 * CARDPIN_ERROR that a user interface can act on; results must be within their
 * documented ranges. Nothing else is checked: odd but valid card answers pass.
 *
 * tests/fuzz/corpus/fuzz-card/ holds the answers of a fresh virtual card
 * (tests/virtual-card, in process) for each operation.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <openssl/evp.h>
#include <PCSC/reader.h>

#include "cardpin-apdu.h"
#include "cardpin-atr-db.h"
#include "cardpin-code.h"
#include "cardpin-error.h"
#include "cardpin-pcsc.h"
#include "cardpin-pinpad.h"
#include "cardpin-piv.h"
#include "cardpin-secret.h"
#include "cardpin-token-private.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) \
      { \
        fprintf (stderr, "fuzz-card: check failed at %s:%d: %s\n", \
                 __FILE__, __LINE__, #cond); \
        abort (); \
      } \
  } G_STMT_END

#define ATR_MAX 33

typedef enum {
  FUZZ_OP_STATUS,
  FUZZ_OP_VERIFY,
  FUZZ_OP_CHANGE_PIN,
  FUZZ_OP_CHANGE_PUK,
  FUZZ_OP_UNBLOCK_PUK,
  FUZZ_OP_SETUP,
  FUZZ_OP_ADMIN,
  FUZZ_OP_PINPAD,
  FUZZ_N_OPS
} FuzzOp;

#define FUZZ_NEW_PIN_MASK   0x30
#define FUZZ_OLD_ALT        0x40
#define FUZZ_ADMIN_3DES     0x80

/* the virtual card's factory management key (3DES; AES cards use its first 16 bytes) */
static const guint8 admin_key[24] = {
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};

/* the change-limited card list built into core */
static CardpinAtrDb *atr_db;

/* Fake card */

typedef struct {
  const guint8 *answers;
  gsize         size;
  gsize         pos;
} FakeCard;

/* The card's (or reader's) next scripted answer: a big-endian 16-bit length, then that
 * many bytes, copied to @out. FALSE when the script ends or the answer does not fit
 * (the card is then gone for good: every later exchange fails too). */
static gboolean
next_answer (FakeCard *card,
             guint8   *out,
             gsize     out_size,
             gsize    *out_len)
{
  gsize len;

  if (card->size - card->pos < 2)
    goto removed;
  len = (card->answers[card->pos] << 8) | card->answers[card->pos + 1];
  if (len > card->size - card->pos - 2 || len > out_size)
    goto removed;
  memcpy (out, card->answers + card->pos + 2, len);
  *out_len = len;
  card->pos += 2 + len;
  return TRUE;

removed:
  card->pos = card->size;
  return FALSE;
}

/* A host-built command must be one of the ISO 7816-4 cases, short or extended. */
static gboolean
apdu_is_well_formed (const guint8 *apdu,
                     gsize         len)
{
  gsize lc;

  if (len < 4)
    return FALSE;
  if (len == 4 || len == 5)                         /* case 1, case 2 short */
    return TRUE;
  if (apdu[4] != 0)                                 /* case 3 or 4 short */
    return len == 5 + apdu[4] || len == 5 + apdu[4] + 1;
  if (len == 7)                                     /* case 2 extended */
    return TRUE;
  lc = (apdu[5] << 8) | apdu[6];
  return lc != 0 && (len == 7 + lc || len == 7 + lc + 2);
}

static gboolean
fake_transmit (gpointer       user_data,
               const guint8  *command,
               gsize          command_len,
               guint8        *response,
               gsize         *response_len,
               GError       **error)
{
  FakeCard *card = user_data;

  FUZZ_CHECK (command != NULL && apdu_is_well_formed (command, command_len));
  FUZZ_CHECK (command_len <= CARDPIN_APDU_MAX_COMMAND);
  FUZZ_CHECK (*response_len == CARDPIN_APDU_MAX_RESPONSE);

  if (!next_answer (card, response, *response_len, response_len))
    return cardpin_pcsc_set_error (error, SCARD_W_REMOVED_CARD, "SCardTransmit");
  return TRUE;
}

/* A PIN entry request (PIN_VERIFY_STRUCTURE / PIN_MODIFY_STRUCTURE): its APDU is
 * well-formed and its PIN blocks hold only the padding the reader replaces */
static void
check_pin_request (const guint8 *in,
                   gsize         in_len)
{
  gsize header;
  guint32 data_len;
  const guint8 *apdu;

  FUZZ_CHECK (in_len > sizeof (PIN_VERIFY_STRUCTURE));
  /* a verify carries 8 bytes of PIN, a change or unblock 16: tell them by the length */
  header = in_len - sizeof (PIN_VERIFY_STRUCTURE) == 13 ? sizeof (PIN_VERIFY_STRUCTURE)
                                                        : sizeof (PIN_MODIFY_STRUCTURE);
  FUZZ_CHECK (in_len > header);
  memcpy (&data_len, in + header - 4, 4);
  FUZZ_CHECK (data_len == in_len - header);
  apdu = in + header;
  FUZZ_CHECK (apdu_is_well_formed (apdu, data_len));
  for (gsize i = 5; i < data_len; i++)
    FUZZ_CHECK (apdu[i] == 0xFF);
}

static gboolean
fake_control (gpointer       user_data,
              guint32        code,
              const guint8  *in,
              gsize          in_len,
              guint8        *out,
              gsize          out_size,
              gsize         *out_len,
              GError       **error)
{
  FakeCard *card = user_data;

  /* the feature list and the PIN properties are asked with nothing; a PIN entry with
   * its request */
  if (in_len > 0)
    check_pin_request (in, in_len);

  if (!next_answer (card, out, out_size, out_len))
    return cardpin_pcsc_set_error (error, SCARD_W_REMOVED_CARD, "SCardControl");
  return TRUE;
}

/* Checks */

/* @ok and @error agree; a failure is a CARDPIN_ERROR a user interface can act on. */
static void
check_result (gboolean      ok,
              const GError *error)
{
  int tries;

  if (ok)
    {
      FUZZ_CHECK (error == NULL);
      return;
    }

  FUZZ_CHECK (error != NULL);
  FUZZ_CHECK (error->domain == CARDPIN_ERROR);
  /* the card path has no network: service errors cannot come from it */
  FUZZ_CHECK ((error->code >= CARDPIN_ERROR_FAILED &&
               error->code < CARDPIN_ERROR_SERVICE_UNAVAILABLE) ||
              error->code == CARDPIN_ERROR_PINPAD);
  FUZZ_CHECK (error->message != NULL && error->message[0] != '\0' &&
              g_utf8_validate (error->message, -1, NULL));

  tries = cardpin_error_get_tries_left (error);
  switch (error->code)
    {
    case CARDPIN_ERROR_WRONG_PIN:
    case CARDPIN_ERROR_WRONG_PUK:
    case CARDPIN_ERROR_WRONG_RESPONSE:
      FUZZ_CHECK (tries >= 1 && tries <= 15);
      break;
    case CARDPIN_ERROR_PIN_BLOCKED:
    case CARDPIN_ERROR_PUK_BLOCKED:
    case CARDPIN_ERROR_ADMIN_BLOCKED:
      FUZZ_CHECK (tries == 0);
      break;
    case CARDPIN_ERROR_POLICY:
      FUZZ_CHECK (cardpin_error_get_policy_reason (error) != CARDPIN_POLICY_OK);
      break;
    default:
      FUZZ_CHECK (tries == -1);
      break;
    }
}

static void
check_tries (const CardpinPivTries *tries)
{
  FUZZ_CHECK (tries->tries_left >= -1 && tries->tries_left <= 255);
  FUZZ_CHECK (tries->tries_max >= -1 && tries->tries_max <= 255);
  FUZZ_CHECK (tries->tries_max != 0);
  FUZZ_CHECK (tries->tries_max < 0 || tries->tries_left <= tries->tries_max);
  FUZZ_CHECK (tries->is_default >= -1 && tries->is_default <= 1);
}

static void
check_atr (const guint8 *atr,
           gsize         atr_len)
{
  g_autofree char *hex = cardpin_hex_encode (atr, atr_len);
  const char *description = NULL;
  guint max_changes = 0;

  FUZZ_CHECK (strlen (hex) == 2 * atr_len);
  if (cardpin_atr_db_lookup (atr_db, hex, &max_changes, &description))
    {
      FUZZ_CHECK (atr_len > 0);
      FUZZ_CHECK (max_changes > 0);
      FUZZ_CHECK (description != NULL && description[0] != '\0');
    }
}

/* Operations, in the order CardpinToken sends them */

/* The token's own status read (_cardpin_token_info_read_card), on the scripted card */
static void
run_status (const CardpinCardIo *io,
            gboolean             from_pcsc)
{
  g_autoptr(GError) error = NULL;
  CardpinTokenInfo info = { 0 };
  CardpinPinState state;
  gboolean ok;

  info.flags = CKF_USER_PIN_INITIALIZED;
  info.from_pcsc = from_pcsc;
  info.pin_tries_left = info.pin_tries_max = info.puk_tries_left = -1;
  info.pin_is_default = -1;

  ok = _cardpin_token_info_read_card (&info, io, &error);
  check_result (ok, error);
  if (info.serial != NULL)
    {
      FUZZ_CHECK (info.is_piv);
      FUZZ_CHECK (strlen (info.serial) == 32);
      FUZZ_CHECK (strspn (info.serial, "0123456789ABCDEF") == 32);
      FUZZ_CHECK (strspn (info.serial, "0") != 32);
      g_free (info.serial);
    }
  if (info.label != NULL)
    {
      /* the holder's name: only read over PC/SC alone, valid UTF-8, no control
       * characters */
      FUZZ_CHECK (from_pcsc && info.is_piv);
      FUZZ_CHECK (info.label[0] != '\0');
      FUZZ_CHECK (g_utf8_validate (info.label, -1, NULL));
      for (const char *p = info.label; *p != '\0'; p++)
        FUZZ_CHECK (!g_ascii_iscntrl (*p));
      g_free (info.label);
    }
  if (!ok || !info.is_piv)
    return;
  FUZZ_CHECK (info.card_read);

  check_tries (&(CardpinPivTries) { .tries_left = info.pin_tries_left,
                                    .tries_max = info.pin_tries_max,
                                    .is_default = info.pin_is_default });
  check_tries (&(CardpinPivTries) { .tries_left = info.puk_tries_left,
                                    .tries_max = -1, .is_default = -1 });

  state = _cardpin_token_info_pin_state (&info);
  FUZZ_CHECK (state >= CARDPIN_PIN_STATE_OK && state <= CARDPIN_PIN_STATE_NOT_INITIALIZED);
  FUZZ_CHECK ((state == CARDPIN_PIN_STATE_LOCKED) == (info.pin_tries_left == 0));
}

/* The token's own PIV operations (_cardpin_piv_run_op), on the scripted card */
static void
run_pin_operation (const CardpinCardIo *io,
                   FuzzOp               op,
                   const CardpinSecret *old_value,
                   const CardpinSecret *new_value)
{
  g_autoptr(CardpinSecret) puk = cardpin_secret_new_from_string ("12345678");
  g_autoptr(CardpinSecret) new_puk = cardpin_secret_new_from_string ("86427531");
  g_autoptr(GError) error = NULL;
  CardpinSecret *secrets[4] = { (CardpinSecret *) old_value, (CardpinSecret *) new_value,
                                NULL, NULL };
  OpKind kind;
  gboolean ok;

  switch (op)
    {
    case FUZZ_OP_VERIFY:
      kind = OP_VERIFY;
      break;
    case FUZZ_OP_CHANGE_PIN:
      kind = OP_CHANGE_PIN;
      break;
    case FUZZ_OP_CHANGE_PUK:
      kind = OP_CHANGE_PUK;
      break;
    case FUZZ_OP_UNBLOCK_PUK:
      kind = OP_UNBLOCK_PUK;
      secrets[0] = puk;
      break;
    case FUZZ_OP_SETUP:
      kind = OP_SETUP;
      secrets[2] = puk;
      secrets[3] = new_puk;
      break;
    case FUZZ_OP_STATUS:
    case FUZZ_OP_ADMIN:
    case FUZZ_OP_PINPAD:
    case FUZZ_N_OPS:
    default:
      g_assert_not_reached ();
    }

  ok = _cardpin_piv_run_op (kind, secrets, io, NULL, &error);
  check_result (ok, error);
}

/* The same on a PIN pad reader: the values typed on its keypad, none from the host */
static void
run_pinpad_operation (const CardpinCardIo *io,
                      guint                which)
{
  static const OpKind kinds[] = { OP_VERIFY, OP_CHANGE_PIN, OP_UNBLOCK_PUK, OP_SETUP };
  g_autoptr(GError) error = NULL;
  gboolean cleared = FALSE;
  gboolean ok;

  ok = _cardpin_piv_run_pinpad_op (kinds[which % G_N_ELEMENTS (kinds)], io, &cleared,
                                   &error);
  check_result (ok, error);
}

/* What the helpdesk computes from the challenge, with the virtual card's factory key */
static CardpinSecret *
compute_response (guint8        algorithm,
                  const guint8 *challenge,
                  gsize         len)
{
  g_autoptr(CardpinSecret) response = cardpin_secret_new_sized (len);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0;
  int final = 0;

  FUZZ_CHECK (ctx != NULL);
  FUZZ_CHECK (EVP_EncryptInit_ex (ctx,
                                  algorithm == 0x08 ? EVP_aes_128_ecb ()
                                                    : EVP_des_ede3_ecb (),
                                  NULL, admin_key, NULL) == 1);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  FUZZ_CHECK (EVP_EncryptUpdate (ctx, cardpin_secret_get_mutable_data (response), &n,
                                 challenge, (int) len) == 1);
  FUZZ_CHECK (EVP_EncryptFinal_ex (ctx, cardpin_secret_get_mutable_data (response) + n,
                                   &final) == 1);
  FUZZ_CHECK ((gsize) (n + final) == len);
  EVP_CIPHER_CTX_free (ctx);

  return g_steal_pointer (&response);
}

/* cardpin_piv_admin_begin() as the unblock session starts, the challenge read over the
 * phone, then cardpin_piv_admin_complete() as the session completes */
static void
run_admin (const CardpinCardIo *io,
           guint8               algorithm,
           const CardpinSecret *new_pin)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) challenge = NULL;
  g_autoptr(CardpinSecret) heard = NULL;
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinSecret) response_code = NULL;
  g_autoptr(CardpinSecret) typed = NULL;
  g_autofree char *challenge_code = NULL;
  int admin_tries_left = -1;
  const guint8 *data;
  gsize len;
  gboolean ok;

  challenge = cardpin_piv_admin_begin (io, &algorithm, &admin_tries_left, &error);
  check_result (challenge != NULL, error);
  /* a blocked admin key is refused before any challenge is asked for */
  FUZZ_CHECK (admin_tries_left != 0 || challenge == NULL);
  if (challenge == NULL)
    return;

  data = g_bytes_get_data (challenge, &len);
  FUZZ_CHECK ((algorithm == 0x08 && len == 16) || (algorithm == 0x03 && len == 8));

  /* the code shown to the user reads back as the same challenge */
  challenge_code = cardpin_code_format (data, len);
  heard = cardpin_code_parse (challenge_code, len, &error);
  FUZZ_CHECK (heard != NULL && error == NULL);
  FUZZ_CHECK (cardpin_secret_equal_bytes (heard, data, len));

  /* the response code typed back goes through the parser, as in complete_code() */
  response = compute_response (algorithm, data, len);
  response_code = cardpin_code_format_secret (response);
  typed = cardpin_code_parse (cardpin_secret_as_string (response_code), len, &error);
  FUZZ_CHECK (typed != NULL && error == NULL);
  FUZZ_CHECK (cardpin_secret_equal (typed, response));
  FUZZ_CHECK (cardpin_secret_get_length (typed) == len);

  ok = cardpin_piv_admin_complete (io, algorithm, typed, new_pin, NULL, &error);
  check_result (ok, error);
  /* the session resets the card here */
}

static const char * const new_pins[] = { "24681357", "975310", "12345", "123456789" };

/* Runs the operation @selector names against @io. */
static void
run_operation (const CardpinCardIo *io,
               guint8               selector)
{
  FuzzOp op = (selector & 0x0F) % FUZZ_N_OPS;
  gboolean alt_old = (selector & FUZZ_OLD_ALT) != 0;
  g_autoptr(CardpinSecret) new_value =
    cardpin_secret_new_from_string (new_pins[(selector & FUZZ_NEW_PIN_MASK) >> 4]);
  g_autoptr(CardpinSecret) old_value = NULL;

  switch (op)
    {
    case FUZZ_OP_STATUS:
      run_status (io, (selector & FUZZ_ADMIN_3DES) != 0);
      break;
    case FUZZ_OP_ADMIN:
      run_admin (io, (selector & FUZZ_ADMIN_3DES) ? 0x03 : 0x00, new_value);
      break;
    case FUZZ_OP_PINPAD:
      run_pinpad_operation (io, (selector & FUZZ_NEW_PIN_MASK) >> 4);
      break;
    case FUZZ_OP_CHANGE_PUK:
      old_value = cardpin_secret_new_from_string (alt_old ? "1234567" : "12345678");
      run_pin_operation (io, op, old_value, new_value);
      break;
    case FUZZ_OP_VERIFY:
    case FUZZ_OP_CHANGE_PIN:
    case FUZZ_OP_UNBLOCK_PUK:
    case FUZZ_OP_SETUP:
      old_value = cardpin_secret_new_from_string (alt_old ? "1234567" : "123456");
      run_pin_operation (io, op, old_value, new_value);
      break;
    case FUZZ_N_OPS:
    default:
      g_assert_not_reached ();
    }
}

/* libFuzzer entry points */

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(GError) error = NULL;

  (void) argc;
  (void) argv;

  atr_db = cardpin_atr_db_new_default (&error);
  if (atr_db == NULL)
    {
      fprintf (stderr, "fuzz-card: cannot load the change-limited card list: %s\n",
               error->message);
      abort ();
    }
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  FakeCard card = { 0 };
  CardpinCardIo io = { fake_transmit, &card, fake_control };
  gsize atr_len;
  guint8 selector = 0;

  if (size == 0)
    return 0;

  atr_len = MIN (MIN (data[0], ATR_MAX), size - 1);
  check_atr (data + 1, atr_len);

  data += 1 + atr_len;
  size -= 1 + atr_len;
  if (size > 0)
    {
      selector = data[0];
      data++;
      size--;
    }

  card.answers = data;
  card.size = size;
  run_operation (&io, selector);

  return 0;
}
