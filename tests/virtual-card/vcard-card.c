/* vcard-card.c: the PIV applet of the virtual card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure logic: a C-APDU goes in, an R-APDU comes out. The transport
 * (vcard-vpcd.c) calls vcard_card_reset() on power off and reset.
 */

#include <glib/gi18n-lib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "vcard-card.h"
#include "vcard-tlv.h"

#define SW_OK                0x9000
#define SW_MORE              0x6100
#define SW_TRIES             0x63C0
#define SW_MEMORY_FAILURE    0x6581
#define SW_WRONG_LENGTH      0x6700
#define SW_CHAIN_LAST        0x6883
#define SW_SECURITY          0x6982
#define SW_BLOCKED           0x6983
#define SW_CONDITIONS        0x6985
#define SW_WRONG_DATA        0x6A80
#define SW_NOT_FOUND         0x6A82
#define SW_WRONG_P1P2        0x6A86
#define SW_UNKNOWN_INS       0x6D00
#define SW_UNKNOWN_CLA       0x6E00
#define SW_NO_DIAGNOSIS      0x6F00

#define INS_VERIFY           0x20
#define INS_CHANGE_REF       0x24
#define INS_RESET_RETRY      0x2C
#define INS_GENERAL_AUTH     0x87
#define INS_SELECT           0xA4
#define INS_GET_RESPONSE     0xC0
#define INS_GET_DATA         0xCB
#define INS_GENERATE         0x47
#define INS_PUT_DATA         0xDB
#define INS_GET_METADATA     0xF7
#define INS_SET_MGMKEY       0xFF
#define INS_GET_SERIAL       0xF8
#define INS_GET_VERSION      0xFD

#define ALG_3DES             0x03
#define ALG_RSA2048          0x07
#define ALG_AES128           0x08
#define ALG_ECCP256          0x11

#define KEY_PIN              0x80
#define KEY_PUK              0x81
#define KEY_9A               0x9A
#define KEY_ADMIN            0x9B
#define KEY_9C               0x9C

#define MAX_CHAIN            65536

typedef enum
{
  CHALLENGE_NONE,
  CHALLENGE_CARD,     /* 7C 02 81 00: host must answer 82 E_K(challenge) */
  CHALLENGE_WITNESS,  /* 7C 02 80 00: host must answer 80 W 81 challenge */
} ChallengeKind;

typedef struct
{
  guint8        cla;
  guint8        ins;
  guint8        p1;
  guint8        p2;
  const guint8 *data;
  gsize         lc;
  gsize         le;      /* 256 or 65536 for a zero Le */
  gboolean      has_le;
} Apdu;

typedef struct
{
  const guint8 *value;
  gsize         len;
  gboolean      present;
} AuthField;

struct _VcardCard
{
  GObject        parent_instance;

  VcardState    *state;
  gboolean       verbose;

  /* The card session: lost on power off and reset */
  gboolean       selected;
  gboolean       pin_verified;
  gboolean       pin_always;       /* a VERIFY the next 9C signature may use */
  gboolean       admin_authenticated;
  ChallengeKind  challenge_kind;
  guint8         challenge[16];

  GByteArray    *chain;            /* NULL: no command chain under way */
  guint8         chain_ins;
  guint8         chain_p1;
  guint8         chain_p2;

  GBytes        *response;         /* what GET RESPONSE still has to return */
  gsize          response_offset;
};

G_DEFINE_FINAL_TYPE (VcardCard, vcard_card, G_TYPE_OBJECT)

static const guint8 piv_aid[] = {
  0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
};

/* What OpenSC 0.23 accepts as a PIV application property template */
static const guint8 piv_apt[] = {
  0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
  0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08,
};

static const guint8 fascn[25] = {
  0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
  0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
};

static const guint8 default_pin[VCARD_PIN_MAX] = {
  '1', '2', '3', '4', '5', '6', 0xFF, 0xFF,
};

static const guint8 default_puk[VCARD_PIN_MAX] = {
  '1', '2', '3', '4', '5', '6', '7', '8',
};

static const guint8 default_admin_key[24] = {
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};

static void
wipe_byte_array (GByteArray *array)
{
  if (array == NULL)
    return;
  if (array->len > 0)
    explicit_bzero (array->data, array->len);
  g_byte_array_unref (array);
}

static void
clear_chain (VcardCard *self)
{
  g_clear_pointer (&self->chain, wipe_byte_array);
}

static void
clear_response (VcardCard *self)
{
  g_clear_pointer (&self->response, g_bytes_unref);
  self->response_offset = 0;
}

static void
clear_session (VcardCard *self)
{
  self->selected = FALSE;
  self->pin_verified = FALSE;
  self->pin_always = FALSE;
  self->admin_authenticated = FALSE;
  self->challenge_kind = CHALLENGE_NONE;
  explicit_bzero (self->challenge, sizeof self->challenge);
  clear_chain (self);
  clear_response (self);
}

static guint16
save (VcardCard *self)
{
  g_autoptr(GError) error = NULL;

  if (!vcard_state_save (self->state, &error))
    {
      g_printerr ("cardpin-virtual-card: %s\n", error->message);
      return SW_MEMORY_FAILURE;
    }
  return SW_OK;
}

/* A failed attempt on a reference: one try less, saved before answering */
static guint16
spend_try (VcardCard *self,
           guint     *left)
{
  guint16 sw;

  if (*left > 0)
    (*left)--;
  sw = save (self);
  return sw == SW_OK ? SW_TRIES | *left : sw;
}

static guint16
restore_tries (VcardCard *self,
               guint     *left,
               guint      max)
{
  if (*left == max)
    return SW_OK;
  *left = max;
  return save (self);
}

static gsize
admin_block_size (VcardCard *self)
{
  return self->state->admin_key_len == 16 ? 16 : 8;
}

static guint8
admin_alg (VcardCard *self)
{
  return self->state->admin_key_len == 16 ? ALG_AES128 : ALG_3DES;
}

static gboolean
admin_encrypt (VcardCard    *self,
               const guint8 *in,
               guint8       *out)
{
  const EVP_CIPHER *cipher = self->state->admin_key_len == 16 ? EVP_aes_128_ecb ()
                                                               : EVP_des_ede3_ecb ();
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n1 = 0;
  int n2 = 0;
  gboolean ok;

  ok = ctx != NULL &&
       EVP_EncryptInit_ex (ctx, cipher, NULL, self->state->admin_key, NULL) == 1 &&
       EVP_CIPHER_CTX_set_padding (ctx, 0) == 1 &&
       EVP_EncryptUpdate (ctx, out, &n1, in, admin_block_size (self)) == 1 &&
       EVP_EncryptFinal_ex (ctx, out + n1, &n2) == 1 &&
       (gsize) (n1 + n2) == admin_block_size (self);
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

static guint8
key_alg_id (EVP_PKEY *key)
{
  return vcard_key_get_alg (key) == VCARD_KEY_ALG_RSA2048 ? ALG_RSA2048 : ALG_ECCP256;
}

static void
append_wrapped (GByteArray   *out,
                guint         tag,
                GByteArray   *inner)
{
  vcard_tlv_append (out, tag, inner->data, inner->len);
}

/* SELECT */

static guint16
handle_select (VcardCard  *self,
               const Apdu *apdu,
               GByteArray *out)
{
  if (apdu->p1 != 0x04 || (apdu->p2 != 0x00 && apdu->p2 != 0x0C))
    return SW_WRONG_P1P2;

  /* Any prefix of the full AID of at least the RID and PIX start */
  if (apdu->lc < 5 || apdu->lc > sizeof piv_aid || memcmp (apdu->data, piv_aid, apdu->lc) != 0)
    return SW_NOT_FOUND;

  /* Like a YubiKey, (re-)selecting PIV clears the PIN's security status;
   * yubico-piv-tool relies on it to read the PIN tries with an empty VERIFY.
   * The card session (9B authentication, a pending challenge) goes on. */
  self->selected = TRUE;
  self->pin_verified = FALSE;
  self->pin_always = FALSE;
  if (apdu->p2 == 0x00)
    g_byte_array_append (out, piv_apt, sizeof piv_apt);
  return SW_OK;
}

/* GET DATA */

static void
append_chuid (VcardCard  *self,
              GByteArray *out)
{
  GByteArray *inner = g_byte_array_new ();

  vcard_tlv_append (inner, 0x30, fascn, sizeof fascn);
  vcard_tlv_append (inner, 0x34, self->state->guid, sizeof self->state->guid);
  vcard_tlv_append (inner, 0x35, (const guint8 *) "20991231", 8);
  vcard_tlv_append (inner, 0x3E, NULL, 0);
  vcard_tlv_append (inner, 0xFE, NULL, 0);
  append_wrapped (out, 0x53, inner);
  g_byte_array_unref (inner);
}

static void
append_ccc (VcardCard  *self,
            GByteArray *out)
{
  GByteArray *inner = g_byte_array_new ();
  guint8 card_id[21] = { 0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02 };
  const guint8 v21 = 0x21;
  const guint8 v00 = 0x00;
  const guint8 v10 = 0x10;

  memcpy (card_id + 7, self->state->guid + 2, 14);
  vcard_tlv_append (inner, 0xF0, card_id, sizeof card_id);
  vcard_tlv_append (inner, 0xF1, &v21, 1);
  vcard_tlv_append (inner, 0xF2, &v21, 1);
  vcard_tlv_append (inner, 0xF3, NULL, 0);
  vcard_tlv_append (inner, 0xF4, &v00, 1);
  vcard_tlv_append (inner, 0xF5, &v10, 1);
  vcard_tlv_append (inner, 0xF6, NULL, 0);
  vcard_tlv_append (inner, 0xF7, NULL, 0);
  vcard_tlv_append (inner, 0xFA, NULL, 0);
  vcard_tlv_append (inner, 0xFB, NULL, 0);
  vcard_tlv_append (inner, 0xFC, NULL, 0);
  vcard_tlv_append (inner, 0xFD, NULL, 0);
  vcard_tlv_append (inner, 0xFE, NULL, 0);
  append_wrapped (out, 0x53, inner);
  g_byte_array_unref (inner);
}

static void
append_discovery (GByteArray *out)
{
  GByteArray *inner = g_byte_array_new ();
  /* PIN usage policy: PIV PIN only, PIV PIN preferred */
  const guint8 policy[2] = { 0x40, 0x00 };

  vcard_tlv_append (inner, 0x4F, piv_aid, sizeof piv_aid);
  vcard_tlv_append (inner, 0x5F2F, policy, sizeof policy);
  append_wrapped (out, 0x7E, inner);
  g_byte_array_unref (inner);
}

static void
append_certificate (VcardCard  *self,
                    VcardSlot   slot,
                    GByteArray *out)
{
  GByteArray *inner = g_byte_array_new ();
  const guint8 uncompressed = 0x00;
  gsize len;
  const guint8 *der = g_bytes_get_data (self->state->certs[slot], &len);

  vcard_tlv_append (inner, 0x70, der, len);
  vcard_tlv_append (inner, 0x71, &uncompressed, 1);
  vcard_tlv_append (inner, 0xFE, NULL, 0);
  append_wrapped (out, 0x53, inner);
  g_byte_array_unref (inner);
}

static guint16
handle_get_data (VcardCard  *self,
                 const Apdu *apdu,
                 GByteArray *out)
{
  VcardTlvReader reader;
  const guint8 *value;
  gsize len;
  guint tag;
  guint id = 0;
  gboolean error;
  GBytes *written;

  if (apdu->p1 != 0x3F || apdu->p2 != 0xFF)
    return SW_WRONG_P1P2;

  vcard_tlv_reader_init (&reader, apdu->data, apdu->lc);
  if (!vcard_tlv_reader_next (&reader, &tag, &value, &len, &error) ||
      tag != 0x5C || reader.pos != reader.end || len < 1 || len > 3)
    return SW_WRONG_DATA;
  for (gsize i = 0; i < len; i++)
    id = (id << 8) | value[i];

  /* What an issuer wrote with PUT DATA replaces the card's own object */
  written = g_hash_table_lookup (self->state->objects, GUINT_TO_POINTER (id));
  if (written != NULL)
    {
      if (g_bytes_get_size (written) == 0)
        return SW_NOT_FOUND;
      vcard_tlv_append (out, 0x53, g_bytes_get_data (written, NULL), g_bytes_get_size (written));
      return SW_OK;
    }

  switch (id)
    {
    case 0x7E:
      append_discovery (out);
      return SW_OK;
    case 0x5FC102:
      append_chuid (self, out);
      return SW_OK;
    case 0x5FC107:
      append_ccc (self, out);
      return SW_OK;
    case 0x5FC105:
      append_certificate (self, VCARD_SLOT_9A, out);
      return SW_OK;
    case 0x5FC10A:
      append_certificate (self, VCARD_SLOT_9C, out);
      return SW_OK;
    default:
      return SW_NOT_FOUND;
    }
}

/* VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER */

static guint16
handle_verify (VcardCard  *self,
               const Apdu *apdu)
{
  VcardState *state = self->state;

  if (apdu->p2 != KEY_PIN)
    return SW_WRONG_P1P2;

  if (apdu->p1 == 0xFF)
    {
      if (apdu->lc != 0)
        return SW_WRONG_DATA;
      self->pin_verified = FALSE;
      self->pin_always = FALSE;
      return SW_OK;
    }
  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;

  if (state->pin_tries_left == 0)
    return SW_BLOCKED;

  if (apdu->lc == 0)
    return self->pin_verified ? SW_OK : SW_TRIES | state->pin_tries_left;

  if (apdu->lc != VCARD_PIN_MAX)
    return SW_WRONG_DATA;

  if (CRYPTO_memcmp (apdu->data, state->pin, VCARD_PIN_MAX) != 0)
    {
      self->pin_verified = FALSE;
      self->pin_always = FALSE;
      return spend_try (self, &state->pin_tries_left);
    }

  self->pin_verified = TRUE;
  self->pin_always = TRUE;
  return restore_tries (self, &state->pin_tries_left, state->pin_tries_max);
}

static guint16
handle_change_reference (VcardCard  *self,
                         const Apdu *apdu)
{
  VcardState *state = self->state;
  guint8 *reference;
  guint *left;
  guint max;

  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;

  if (apdu->p2 == KEY_PIN)
    {
      reference = state->pin;
      left = &state->pin_tries_left;
      max = state->pin_tries_max;
    }
  else if (apdu->p2 == KEY_PUK)
    {
      reference = state->puk;
      left = &state->puk_tries_left;
      max = state->puk_tries_max;
    }
  else
    {
      return SW_WRONG_P1P2;
    }

  if (apdu->lc != 2 * VCARD_PIN_MAX)
    return SW_WRONG_DATA;
  if (*left == 0)
    return SW_BLOCKED;
  if (apdu->p2 == KEY_PIN && state->pin_change_limit != 0 &&
      state->pin_change_count >= state->pin_change_limit)
    return SW_CONDITIONS;
  if (!vcard_pin_is_well_formed (apdu->data + VCARD_PIN_MAX))
    return SW_WRONG_DATA;

  if (CRYPTO_memcmp (apdu->data, reference, VCARD_PIN_MAX) != 0)
    {
      if (apdu->p2 == KEY_PIN)
        {
          self->pin_verified = FALSE;
          self->pin_always = FALSE;
        }
      return spend_try (self, left);
    }

  memcpy (reference, apdu->data + VCARD_PIN_MAX, VCARD_PIN_MAX);
  *left = max;
  if (apdu->p2 == KEY_PIN)
    state->pin_change_count++;
  return save (self);
}

static guint16
handle_reset_retry (VcardCard  *self,
                    const Apdu *apdu)
{
  VcardState *state = self->state;
  const guint8 *new_pin;

  if (apdu->p2 != KEY_PIN)
    return SW_WRONG_P1P2;

  if (apdu->p1 == 0x00)
    {
      if (apdu->lc != 2 * VCARD_PIN_MAX)
        return SW_WRONG_DATA;
      if (state->puk_tries_left == 0)
        return SW_BLOCKED;
      new_pin = apdu->data + VCARD_PIN_MAX;
      if (!vcard_pin_is_well_formed (new_pin))
        return SW_WRONG_DATA;
      if (CRYPTO_memcmp (apdu->data, state->puk, VCARD_PIN_MAX) != 0)
        return spend_try (self, &state->puk_tries_left);
      state->puk_tries_left = state->puk_tries_max;
    }
  else if (apdu->p1 == 0x02)
    {
      /* Administrative unblock: 9B authenticated in this card session */
      if (!self->admin_authenticated)
        return SW_SECURITY;
      if (apdu->lc != VCARD_PIN_MAX)
        return SW_WRONG_DATA;
      new_pin = apdu->data;
      if (!vcard_pin_is_well_formed (new_pin))
        return SW_WRONG_DATA;
    }
  else
    {
      return SW_WRONG_P1P2;
    }

  memcpy (state->pin, new_pin, VCARD_PIN_MAX);
  state->pin_tries_left = state->pin_tries_max;
  self->pin_verified = FALSE;
  self->pin_always = FALSE;
  return save (self);
}

/* GENERAL AUTHENTICATE */

static guint16
respond_auth (GByteArray   *out,
              guint         tag,
              const guint8 *value,
              gsize         len)
{
  GByteArray *inner = g_byte_array_new ();

  vcard_tlv_append (inner, tag, value, len);
  append_wrapped (out, 0x7C, inner);
  g_byte_array_unref (inner);
  return SW_OK;
}

static guint16
admin_answer_checked (VcardCard *self,
                      gboolean   right)
{
  VcardState *state = self->state;

  self->admin_authenticated = right;
  if (!right)
    return spend_try (self, &state->admin_tries_left);
  return restore_tries (self, &state->admin_tries_left, state->admin_tries_max);
}

static guint16
handle_admin_auth (VcardCard       *self,
                   const Apdu      *apdu,
                   const AuthField *f80,
                   const AuthField *f81,
                   const AuthField *f82,
                   GByteArray      *out)
{
  gsize bs = admin_block_size (self);
  guint8 expected[16];
  guint8 block[16];
  ChallengeKind pending = self->challenge_kind;
  guint16 sw;

  if (apdu->p1 != admin_alg (self) && !(admin_alg (self) == ALG_3DES && apdu->p1 == 0x00))
    return SW_WRONG_P1P2;
  if (self->state->admin_tries_left == 0)
    return SW_BLOCKED;

  /* Card challenge: 7C 02 81 00 */
  if (f81->present && f81->len == 0 && !f80->present && !f82->present)
    {
      if (RAND_bytes (self->challenge, bs) != 1)
        return SW_NO_DIAGNOSIS;
      self->challenge_kind = CHALLENGE_CARD;
      self->admin_authenticated = FALSE;
      return respond_auth (out, 0x81, self->challenge, bs);
    }

  /* Mutual authentication, step 1: 7C 02 80 00 -> E_K(witness) */
  if (f80->present && f80->len == 0 && !f81->present && !f82->present)
    {
      if (RAND_bytes (self->challenge, bs) != 1 || !admin_encrypt (self, self->challenge, block))
        return SW_NO_DIAGNOSIS;
      self->challenge_kind = CHALLENGE_WITNESS;
      self->admin_authenticated = FALSE;
      return respond_auth (out, 0x80, block, bs);
    }

  /* Answer to the card challenge: 7C .. 82 E_K(challenge) */
  if (f82->present && f82->len > 0 && !f80->present && !f81->present)
    {
      if (pending != CHALLENGE_CARD)
        return SW_CONDITIONS;
      self->challenge_kind = CHALLENGE_NONE;
      if (f82->len != bs)
        return SW_WRONG_DATA;
      if (!admin_encrypt (self, self->challenge, expected))
        return SW_NO_DIAGNOSIS;
      explicit_bzero (self->challenge, sizeof self->challenge);
      sw = admin_answer_checked (self, CRYPTO_memcmp (expected, f82->value, bs) == 0);
      explicit_bzero (expected, sizeof expected);
      return sw;
    }

  /* Mutual authentication, step 2: 7C .. 80 W 81 host-challenge -> 82 E_K(host-challenge) */
  if (f80->present && f80->len > 0 && f81->present && f81->len > 0 &&
      (!f82->present || f82->len == 0))
    {
      if (pending != CHALLENGE_WITNESS)
        return SW_CONDITIONS;
      self->challenge_kind = CHALLENGE_NONE;
      if (f80->len != bs || f81->len != bs)
        return SW_WRONG_DATA;
      sw = admin_answer_checked (self, CRYPTO_memcmp (self->challenge, f80->value, bs) == 0);
      explicit_bzero (self->challenge, sizeof self->challenge);
      if (sw != SW_OK)
        return sw;
      if (!admin_encrypt (self, f81->value, block))
        return SW_NO_DIAGNOSIS;
      return respond_auth (out, 0x82, block, bs);
    }

  return SW_WRONG_DATA;
}

static guint16
handle_sign (VcardCard       *self,
             const Apdu      *apdu,
             const AuthField *f80,
             const AuthField *f81,
             const AuthField *f82,
             const AuthField *f85,
             GByteArray      *out)
{
  VcardSlot slot = apdu->p2 == KEY_9A ? VCARD_SLOT_9A : VCARD_SLOT_9C;
  EVP_PKEY *key = self->state->keys[slot];
  EVP_PKEY_CTX *ctx = NULL;
  guint8 sig[512];
  gsize sig_len = sizeof sig;
  gboolean rsa = vcard_key_get_alg (key) == VCARD_KEY_ALG_RSA2048;
  gboolean ok;

  if (apdu->p1 != key_alg_id (key))
    return SW_WRONG_P1P2;
  if (!f82->present || f82->len != 0 || !f81->present || f80->present || f85->present)
    return SW_WRONG_DATA;

  if (slot == VCARD_SLOT_9A ? !self->pin_verified : !self->pin_always)
    return SW_SECURITY;

  if (rsa ? f81->len != 256 : (f81->len == 0 || f81->len > 32))
    return SW_WRONG_DATA;

  ctx = EVP_PKEY_CTX_new (key, NULL);
  ok = ctx != NULL && EVP_PKEY_sign_init (ctx) == 1 &&
       (!rsa || EVP_PKEY_CTX_set_rsa_padding (ctx, RSA_NO_PADDING) == 1) &&
       EVP_PKEY_sign (ctx, sig, &sig_len, f81->value, f81->len) == 1;
  EVP_PKEY_CTX_free (ctx);
  if (!ok)
    return SW_WRONG_DATA;

  if (slot == VCARD_SLOT_9C)
    self->pin_always = FALSE;

  return respond_auth (out, 0x82, sig, sig_len);
}

static guint16
handle_general_authenticate (VcardCard  *self,
                             const Apdu *apdu,
                             GByteArray *out)
{
  AuthField f80 = { 0 }, f81 = { 0 }, f82 = { 0 }, f85 = { 0 };
  VcardTlvReader reader;
  const guint8 *value;
  gsize len;
  guint tag;
  gboolean error;

  if (apdu->p2 != KEY_ADMIN && apdu->p2 != KEY_9A && apdu->p2 != KEY_9C)
    return SW_WRONG_P1P2;

  vcard_tlv_reader_init (&reader, apdu->data, apdu->lc);
  if (!vcard_tlv_reader_next (&reader, &tag, &value, &len, &error) ||
      tag != 0x7C || reader.pos != reader.end)
    return SW_WRONG_DATA;

  vcard_tlv_reader_init (&reader, value, len);
  while (vcard_tlv_reader_next (&reader, &tag, &value, &len, &error))
    {
      AuthField *f;

      switch (tag)
        {
        case 0x80: f = &f80; break;
        case 0x81: f = &f81; break;
        case 0x82: f = &f82; break;
        case 0x85: f = &f85; break;
        default: return SW_WRONG_DATA;
        }
      if (f->present)
        return SW_WRONG_DATA;
      f->present = TRUE;
      f->value = value;
      f->len = len;
    }
  if (error)
    return SW_WRONG_DATA;

  if (apdu->p2 == KEY_ADMIN)
    {
      if (f85.present)
        return SW_WRONG_DATA;
      return handle_admin_auth (self, apdu, &f80, &f81, &f82, out);
    }

  return handle_sign (self, apdu, &f80, &f81, &f82, &f85, out);
}

/* YubiKey extensions */

/* The public key as GENERATE and GET METADATA return it: @tag { 81 n 82 e } or { 86 point } */
static void
append_public_key (EVP_PKEY   *key,
                   guint       tag,
                   GByteArray *out)
{
  GByteArray *inner = g_byte_array_new ();

  if (vcard_key_get_alg (key) == VCARD_KEY_ALG_RSA2048)
    {
      const char *names[2] = { OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E };

      for (guint i = 0; i < 2; i++)
        {
          BIGNUM *bn = NULL;
          guint8 buf[512];
          int n;

          if (EVP_PKEY_get_bn_param (key, names[i], &bn) != 1)
            continue;
          n = BN_bn2bin (bn, buf);
          vcard_tlv_append (inner, 0x81 + i, buf, n);
          BN_free (bn);
        }
    }
  else
    {
      guint8 point[133];
      gsize n = 0;

      if (EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                           point, sizeof point, &n) == 1)
        vcard_tlv_append (inner, 0x86, point, n);
    }

  append_wrapped (out, tag, inner);
  g_byte_array_unref (inner);
}

static guint16
handle_get_metadata (VcardCard  *self,
                     const Apdu *apdu,
                     GByteArray *out)
{
  VcardState *state = self->state;
  guint8 alg;
  guint8 is_default;
  guint8 tries[2];
  guint8 policy[2];

  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;

  switch (apdu->p2)
    {
    case KEY_PIN:
      alg = 0xFF;
      is_default = memcmp (state->pin, default_pin, VCARD_PIN_MAX) == 0;
      tries[0] = state->pin_tries_max;
      tries[1] = state->pin_tries_left;
      break;
    case KEY_PUK:
      alg = 0xFF;
      is_default = memcmp (state->puk, default_puk, VCARD_PIN_MAX) == 0;
      tries[0] = state->puk_tries_max;
      tries[1] = state->puk_tries_left;
      break;
    case KEY_ADMIN:
      alg = admin_alg (self);
      is_default = state->admin_key_len == sizeof default_admin_key &&
                   memcmp (state->admin_key, default_admin_key, state->admin_key_len) == 0;
      tries[0] = state->admin_tries_max;
      tries[1] = state->admin_tries_left;
      policy[0] = 0x00;
      policy[1] = 0x01;   /* touch: never */
      vcard_tlv_append (out, 0x01, &alg, 1);
      vcard_tlv_append (out, 0x02, policy, 2);
      vcard_tlv_append (out, 0x05, &is_default, 1);
      vcard_tlv_append (out, 0x06, tries, 2);
      return SW_OK;
    case KEY_9A:
    case KEY_9C:
      {
        const guint8 origin = 0x01;  /* generated on the card */
        EVP_PKEY *key = self->state->keys[apdu->p2 == KEY_9A ? VCARD_SLOT_9A : VCARD_SLOT_9C];

        alg = key_alg_id (key);
        policy[0] = apdu->p2 == KEY_9A ? 0x02 : 0x03;  /* PIN once / always */
        policy[1] = 0x01;                               /* touch: never */
        vcard_tlv_append (out, 0x01, &alg, 1);
        vcard_tlv_append (out, 0x02, policy, 2);
        vcard_tlv_append (out, 0x03, &origin, 1);
        append_public_key (key, 0x04, out);
        return SW_OK;
      }
    default:
      return SW_WRONG_P1P2;
    }

  vcard_tlv_append (out, 0x01, &alg, 1);
  vcard_tlv_append (out, 0x05, &is_default, 1);
  vcard_tlv_append (out, 0x06, tries, 2);
  return SW_OK;
}

static guint16
handle_get_version (VcardCard  *self,
                    const Apdu *apdu,
                    GByteArray *out)
{
  const guint8 version[3] = { 5, 7, 0 };

  if (apdu->p1 != 0x00 || apdu->p2 != 0x00)
    return SW_WRONG_P1P2;
  g_byte_array_append (out, version, sizeof version);
  return SW_OK;
}

static guint16
handle_get_serial (VcardCard  *self,
                   const Apdu *apdu,
                   GByteArray *out)
{
  const guint8 *g = self->state->guid;
  guint32 serial = ((guint32) g[12] << 24 | (guint32) g[13] << 16 |
                    (guint32) g[14] << 8 | g[15]) % 100000000;
  guint8 be[4] = { serial >> 24, serial >> 16, serial >> 8, serial };

  if (apdu->p1 != 0x00 || apdu->p2 != 0x00)
    return SW_WRONG_P1P2;
  g_byte_array_append (out, be, sizeof be);
  return SW_OK;
}


/* Personalisation: what yubico-piv-tool sends to issue a card */

/* PUT DATA 00 DB 3F FF: 5C <id> 53 <value>; an empty 53 deletes the object */
static guint16
handle_put_data (VcardCard  *self,
                 const Apdu *apdu)
{
  VcardTlvReader reader;
  const guint8 *id_value;
  const guint8 *value;
  gsize id_len;
  gsize len;
  guint tag;
  guint id = 0;
  gboolean error;

  if (apdu->p1 != 0x3F || apdu->p2 != 0xFF)
    return SW_WRONG_P1P2;
  if (!self->admin_authenticated)
    return SW_SECURITY;

  vcard_tlv_reader_init (&reader, apdu->data, apdu->lc);
  if (!vcard_tlv_reader_next (&reader, &tag, &id_value, &id_len, &error) ||
      tag != 0x5C || id_len < 1 || id_len > 3)
    return SW_WRONG_DATA;
  if (!vcard_tlv_reader_next (&reader, &tag, &value, &len, &error) ||
      tag != 0x53 || reader.pos != reader.end)
    return SW_WRONG_DATA;
  for (gsize i = 0; i < id_len; i++)
    id = (id << 8) | id_value[i];

  /* The data objects of SP 800-73-4 (5FC1xx) and the discovery object */
  if (id != 0x7E && (id < 0x5FC101 || id > 0x5FC123))
    return SW_NOT_FOUND;

  g_hash_table_insert (self->state->objects, GUINT_TO_POINTER (id), g_bytes_new (value, len));
  return save (self);
}

/* GENERATE ASYMMETRIC KEY PAIR 00 47 00 <slot>: AC { 80 <alg> [AA policy] [AB touch] } */
static guint16
handle_generate (VcardCard  *self,
                 const Apdu *apdu,
                 GByteArray *out)
{
  g_autoptr(GError) local_error = NULL;
  VcardTlvReader reader;
  const guint8 *value;
  gsize len;
  guint tag;
  gboolean error;
  guint8 alg = 0;
  VcardSlot slot;
  EVP_PKEY *key;
  guint16 sw;

  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;
  if (apdu->p2 == KEY_9A)
    slot = VCARD_SLOT_9A;
  else if (apdu->p2 == KEY_9C)
    slot = VCARD_SLOT_9C;
  else
    return SW_WRONG_P1P2;
  if (!self->admin_authenticated)
    return SW_SECURITY;

  vcard_tlv_reader_init (&reader, apdu->data, apdu->lc);
  if (!vcard_tlv_reader_next (&reader, &tag, &value, &len, &error) ||
      tag != 0xAC || reader.pos != reader.end)
    return SW_WRONG_DATA;
  vcard_tlv_reader_init (&reader, value, len);
  while (vcard_tlv_reader_next (&reader, &tag, &value, &len, &error))
    {
      if (tag == 0x80 && len == 1)
        alg = value[0];
      else if ((tag == 0xAA || tag == 0xAB) && len == 1)
        continue;   /* PIN and touch policies: this card keeps its fixed ones */
      else
        return SW_WRONG_DATA;
    }
  if (error)
    return SW_WRONG_DATA;
  if (alg != ALG_RSA2048 && alg != ALG_ECCP256)
    return SW_WRONG_DATA;

  key = vcard_key_generate (alg == ALG_RSA2048 ? VCARD_KEY_ALG_RSA2048 : VCARD_KEY_ALG_ECCP256,
                            &local_error);
  if (key == NULL)
    return SW_NO_DIAGNOSIS;

  EVP_PKEY_free (self->state->keys[slot]);
  self->state->keys[slot] = key;
  sw = save (self);
  if (sw != SW_OK)
    return sw;
  append_public_key (key, 0x7F49, out);
  return SW_OK;
}

/* SET MANAGEMENT KEY (YubiKey) 00 FF FF FF|FE: <alg> 9B <len> <key> */
static guint16
handle_set_mgmkey (VcardCard  *self,
                   const Apdu *apdu)
{
  VcardState *state = self->state;
  gsize len;

  if (apdu->p1 != 0xFF || (apdu->p2 != 0xFF && apdu->p2 != 0xFE))
    return SW_WRONG_P1P2;
  if (!self->admin_authenticated)
    return SW_SECURITY;
  if (apdu->lc < 3 || apdu->data[1] != KEY_ADMIN || apdu->data[2] != apdu->lc - 3)
    return SW_WRONG_DATA;

  len = apdu->data[2];
  if (!((apdu->data[0] == ALG_3DES && len == 24) || (apdu->data[0] == ALG_AES128 && len == 16)))
    return SW_WRONG_DATA;

  memcpy (state->admin_key, apdu->data + 3, len);
  state->admin_key_len = len;
  state->admin_tries_left = state->admin_tries_max;
  return save (self);
}

/* Dispatch */

static guint16
dispatch (VcardCard  *self,
          const Apdu *apdu,
          GByteArray *out)
{
  if (apdu->ins == INS_SELECT)
    return handle_select (self, apdu, out);

  if (!self->selected)
    {
      switch (apdu->ins)
        {
        case INS_VERIFY:
        case INS_CHANGE_REF:
        case INS_RESET_RETRY:
        case INS_GENERAL_AUTH:
        case INS_GET_DATA:
        case INS_GET_METADATA:
        case INS_GET_SERIAL:
        case INS_GET_VERSION:
        case INS_PUT_DATA:
        case INS_GENERATE:
        case INS_SET_MGMKEY:
          return SW_CONDITIONS;
        default:
          return SW_UNKNOWN_INS;
        }
    }

  switch (apdu->ins)
    {
    case INS_VERIFY:
      return handle_verify (self, apdu);
    case INS_CHANGE_REF:
      return handle_change_reference (self, apdu);
    case INS_RESET_RETRY:
      return handle_reset_retry (self, apdu);
    case INS_GENERAL_AUTH:
      return handle_general_authenticate (self, apdu, out);
    case INS_GET_DATA:
      return handle_get_data (self, apdu, out);
    case INS_GET_METADATA:
      return handle_get_metadata (self, apdu, out);
    case INS_GET_SERIAL:
      return handle_get_serial (self, apdu, out);
    case INS_GET_VERSION:
      return handle_get_version (self, apdu, out);
    case INS_PUT_DATA:
      return handle_put_data (self, apdu);
    case INS_GENERATE:
      return handle_generate (self, apdu, out);
    case INS_SET_MGMKEY:
      return handle_set_mgmkey (self, apdu);
    default:
      return SW_UNKNOWN_INS;
    }
}

/* ISO 7816-3/-4 cases 1 to 4, short and extended */
static gboolean
parse_apdu (const guint8 *buf,
            gsize         len,
            Apdu         *apdu)
{
  memset (apdu, 0, sizeof *apdu);
  if (len < 4)
    return FALSE;

  apdu->cla = buf[0];
  apdu->ins = buf[1];
  apdu->p1 = buf[2];
  apdu->p2 = buf[3];

  if (len == 4)
    return TRUE;

  if (len == 5)
    {
      apdu->has_le = TRUE;
      apdu->le = buf[4] ? buf[4] : 256;
      return TRUE;
    }

  if (buf[4] != 0)
    {
      gsize lc = buf[4];

      apdu->data = buf + 5;
      apdu->lc = lc;
      if (len == 5 + lc)
        return TRUE;
      if (len == 6 + lc)
        {
          apdu->has_le = TRUE;
          apdu->le = buf[len - 1] ? buf[len - 1] : 256;
          return TRUE;
        }
      return FALSE;
    }

  /* Extended length */
  if (len == 7)
    {
      gsize le = (gsize) buf[5] << 8 | buf[6];

      apdu->has_le = TRUE;
      apdu->le = le ? le : 65536;
      return TRUE;
    }
  if (len < 8)
    return FALSE;

  apdu->lc = (gsize) buf[5] << 8 | buf[6];
  apdu->data = buf + 7;
  if (apdu->lc == 0)
    return FALSE;
  if (len == 7 + apdu->lc)
    return TRUE;
  if (len == 9 + apdu->lc)
    {
      gsize le = (gsize) buf[len - 2] << 8 | buf[len - 1];

      apdu->has_le = TRUE;
      apdu->le = le ? le : 65536;
      return TRUE;
    }
  return FALSE;
}

static guint16
more_data_sw (gsize remaining)
{
  return SW_MORE | (remaining > 0xFF ? 0x00 : remaining);
}

static guint16
handle_get_response (VcardCard  *self,
                     const Apdu *apdu,
                     GByteArray *out)
{
  gsize total;
  const guint8 *data;
  gsize n;

  if (self->response == NULL)
    return SW_CONDITIONS;
  if (apdu->p1 != 0x00 || apdu->p2 != 0x00)
    return SW_WRONG_P1P2;

  data = g_bytes_get_data (self->response, &total);
  n = MIN (apdu->has_le ? apdu->le : 256, 256);
  n = MIN (n, total - self->response_offset);
  g_byte_array_append (out, data + self->response_offset, n);
  self->response_offset += n;

  if (self->response_offset == total)
    {
      clear_response (self);
      return SW_OK;
    }
  return more_data_sw (total - self->response_offset);
}

static guint16
process (VcardCard  *self,
         const Apdu *apdu,
         GByteArray *out)
{
  GByteArray *body;
  guint16 sw;
  gsize max;

  if ((apdu->cla & ~0x10) != 0)
    return SW_UNKNOWN_CLA;

  if (apdu->ins == INS_GET_RESPONSE && !(apdu->cla & 0x10))
    return handle_get_response (self, apdu, out);

  clear_response (self);

  if (apdu->cla & 0x10)
    {
      if (self->chain != NULL &&
          (apdu->ins != self->chain_ins || apdu->p1 != self->chain_p1 ||
           apdu->p2 != self->chain_p2))
        {
          clear_chain (self);
          return SW_CHAIN_LAST;
        }
      if (self->chain == NULL)
        {
          self->chain = g_byte_array_new ();
          self->chain_ins = apdu->ins;
          self->chain_p1 = apdu->p1;
          self->chain_p2 = apdu->p2;
        }
      if (self->chain->len + apdu->lc > MAX_CHAIN)
        {
          clear_chain (self);
          return SW_WRONG_LENGTH;
        }
      g_byte_array_append (self->chain, apdu->data, apdu->lc);
      return SW_OK;
    }

  body = g_byte_array_new ();
  if (self->chain != NULL)
    {
      Apdu whole = *apdu;

      if (apdu->ins != self->chain_ins || apdu->p1 != self->chain_p1 ||
          apdu->p2 != self->chain_p2 || self->chain->len + apdu->lc > MAX_CHAIN)
        {
          clear_chain (self);
          wipe_byte_array (body);
          return SW_CHAIN_LAST;
        }
      g_byte_array_append (self->chain, apdu->data, apdu->lc);
      whole.data = self->chain->data;
      whole.lc = self->chain->len;
      sw = dispatch (self, &whole, body);
      clear_chain (self);
    }
  else
    {
      sw = dispatch (self, apdu, body);
    }

  if (sw != SW_OK || body->len == 0)
    {
      wipe_byte_array (body);
      return sw;
    }

  max = MIN (apdu->has_le ? apdu->le : 256, 256);
  if (body->len <= max)
    {
      g_byte_array_append (out, body->data, body->len);
      wipe_byte_array (body);
      return SW_OK;
    }

  g_byte_array_append (out, body->data, max);
  self->response = g_bytes_new (body->data, body->len);
  self->response_offset = max;
  wipe_byte_array (body);
  return more_data_sw (g_bytes_get_size (self->response) - max);
}

static void
vcard_card_finalize (GObject *object)
{
  VcardCard *self = VCARD_CARD (object);

  clear_session (self);
  g_clear_pointer (&self->state, vcard_state_free);

  G_OBJECT_CLASS (vcard_card_parent_class)->finalize (object);
}

static void
vcard_card_class_init (VcardCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vcard_card_finalize;
}

static void
vcard_card_init (VcardCard *self)
{
}

/**
 * vcard_card_new:
 * @state: (transfer full): the card's persistent state
 *
 * Returns: (transfer full): a card, powered on, nothing selected
 */
VcardCard *
vcard_card_new (VcardState *state)
{
  VcardCard *self;

  g_return_val_if_fail (state != NULL, NULL);

  self = g_object_new (VCARD_TYPE_CARD, NULL);
  self->state = state;
  return self;
}

/**
 * vcard_card_get_state:
 * @self: a card
 *
 * Returns: (transfer none): the persistent state
 */
VcardState *
vcard_card_get_state (VcardCard *self)
{
  g_return_val_if_fail (VCARD_IS_CARD (self), NULL);

  return self->state;
}

/**
 * vcard_card_set_verbose:
 * @self: a card
 * @verbose: whether to log each command
 *
 * When @verbose, vcard_card_transmit() logs the header (CLA INS P1 P2) and
 * the status word of each command to stderr, never any data.
 */
void
vcard_card_set_verbose (VcardCard *self,
                        gboolean   verbose)
{
  g_return_if_fail (VCARD_IS_CARD (self));

  self->verbose = !!verbose;
}

/**
 * vcard_card_reset:
 * @self: a card
 *
 * Ends the card session, as power off or reset do: the security status,
 * the selected applet, 9B authentication, a pending challenge, command and
 * response chaining are lost. The persistent state is kept.
 */
void
vcard_card_reset (VcardCard *self)
{
  g_return_if_fail (VCARD_IS_CARD (self));

  clear_session (self);
}

/**
 * vcard_card_transmit:
 * @self: a card
 * @apdu: (array length=apdu_len): a command APDU
 * @apdu_len: the length of @apdu
 *
 * Processes one command. State changes are saved before this returns.
 *
 * Returns: (transfer full): the response APDU, data followed by SW1 SW2
 */
GBytes *
vcard_card_transmit (VcardCard    *self,
                     const guint8 *apdu,
                     gsize         apdu_len)
{
  GByteArray *out;
  Apdu parsed;
  guint16 sw;
  guint8 sw_bytes[2];
  GBytes *result;

  g_return_val_if_fail (VCARD_IS_CARD (self), NULL);
  g_return_val_if_fail (apdu != NULL || apdu_len == 0, NULL);

  out = g_byte_array_new ();
  if (parse_apdu (apdu, apdu_len, &parsed))
    {
      sw = process (self, &parsed, out);
    }
  else
    {
      clear_chain (self);
      sw = SW_WRONG_LENGTH;
    }

  if (self->verbose)
    {
      if (apdu_len >= 4)
        g_printerr ("vcard: %02X %02X %02X %02X -> %04X\n",
                    apdu[0], apdu[1], apdu[2], apdu[3], sw);
      else
        g_printerr ("vcard: (%zu-byte command) -> %04X\n", apdu_len, sw);
    }

  sw_bytes[0] = sw >> 8;
  sw_bytes[1] = sw & 0xFF;
  g_byte_array_append (out, sw_bytes, 2);
  result = g_bytes_new (out->data, out->len);
  wipe_byte_array (out);
  return result;
}
