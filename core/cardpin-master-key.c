/* cardpin-master-key.c — the helpdesk's master key in a PKCS#11 token
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <p11-kit/p11-kit.h>

#include "cardpin-master-key.h"
#include "cardpin-p11.h"

/* DESIGN.md "Key derivation": D = SHA-256(PREFIX || serial)[0..15] */
#define DERIVATION_PREFIX "cardpin-admin-key-v1"
/* The card's PUK: B = AES-128-ECB(K_master, SHA-256(PUK_PREFIX || serial)[0..15]) */
#define PUK_PREFIX "cardpin-puk-v1"
/* PUK = the first 8 bytes of B as a big-endian integer, modulo 10^8, as 8 digits */
#define PUK_MODULUS G_GUINT64_CONSTANT (100000000)

/**
 * CardpinMasterKey:
 *
 * The master key of the unblock service and the helpdesk: exactly one AES-128 secret key
 * of a given label in a PKCS#11 token, sensitive, not extractable, usable only for
 * derivation. Per-card admin keys K_card = AES-128-ECB(K_master, D) are derived inside the
 * token with CKM_AES_ECB_ENCRYPT_DATA as session objects and destroyed after use.
 *
 * The object is safe to use from several threads: each call borrows a PKCS#11 session of
 * its own from a pool (the login is shared by all sessions of the token).
 */
struct _CardpinMasterKey
{
  CardpinP11Modules *modules;
  CK_FUNCTION_LIST  *funcs;
  CK_SLOT_ID         slot;
  char              *module_path;
  char              *token_label;
  char              *key_label;

  GMutex             lock;
  GPtrArray         *idle;          /* of GSIZE_TO_POINTER (CK_SESSION_HANDLE) */
  GPtrArray         *all;           /* every session opened, closed in free */
  CK_OBJECT_HANDLE   key;           /* CK_INVALID_HANDLE until found */
};

G_DEFINE_QUARK (cardpin-master-key-error-quark, cardpin_master_key_error)

/* Helpers */

static gboolean
set_p11_error (GError     **error,
               CK_RV        rv,
               const char  *what)
{
  if (rv == CKR_OK)
    return TRUE;
  g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_FAILED,
               _("The key store failed (%s: %s). Check the token and the PKCS#11 module."),
               what, p11_kit_strerror (rv));
  return FALSE;
}

static CK_SESSION_HANDLE
session_take (CardpinMasterKey  *self,
              GError           **error)
{
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv;

  g_mutex_lock (&self->lock);
  if (self->idle->len > 0)
    session = GPOINTER_TO_SIZE (g_ptr_array_steal_index_fast (self->idle,
                                                               self->idle->len - 1));
  g_mutex_unlock (&self->lock);
  if (session != CK_INVALID_HANDLE)
    return session;

  rv = self->funcs->C_OpenSession (self->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                   NULL, &session);
  if (!set_p11_error (error, rv, "C_OpenSession"))
    return CK_INVALID_HANDLE;
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->all, GSIZE_TO_POINTER (session));
  g_mutex_unlock (&self->lock);
  return session;
}

static void
session_give (CardpinMasterKey  *self,
              CK_SESSION_HANDLE  session)
{
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->idle, GSIZE_TO_POINTER (session));
  g_mutex_unlock (&self->lock);
}

static gboolean
login (CardpinMasterKey  *self,
       const char        *pin_file,
       GError           **error)
{
  g_autoptr(CardpinSecret) pin = NULL;
  g_autoptr(GError) read_error = NULL;
  CK_SESSION_HANDLE session;
  CK_RV rv;
  int fd;

  fd = open (pin_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG,
                   _("Cannot read the token PIN file %s: %s. Check token-pin-file."),
                   pin_file, g_strerror (saved_errno));
      return FALSE;
    }
  /* the first line; the secret wipes it when it goes */
  pin = cardpin_secret_new_from_fd (fd, &read_error);
  close (fd);
  if (pin == NULL || cardpin_secret_get_length (pin) == 0)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG,
                   _("The token PIN file %s holds no PIN on its first line. Put the "
                     "token's user PIN there."), pin_file);
      return FALSE;
    }

  session = session_take (self, error);
  if (session == CK_INVALID_HANDLE)
    return FALSE;
  rv = self->funcs->C_Login (session, CKU_USER,
                             (CK_UTF8CHAR_PTR) cardpin_secret_get_data (pin),
                             cardpin_secret_get_length (pin));
  session_give (self, session);
  switch (rv)
    {
    case CKR_OK:
    case CKR_USER_ALREADY_LOGGED_IN:
      return TRUE;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_LOGIN,
                   _("The token “%s” refused the PIN in %s (%s). Check token-pin-file."),
                   self->token_label, pin_file, p11_kit_strerror (rv));
      return FALSE;
    default:
      return set_p11_error (error, rv, "C_Login");
    }
}

static gboolean
find_token (CardpinMasterKey  *self,
            GError           **error)
{
  g_autofree CK_SLOT_ID *slots = NULL;
  CK_ULONG n_slots = 0;
  CK_RV rv;

  rv = self->funcs->C_GetSlotList (CK_TRUE, NULL, &n_slots);
  if (!set_p11_error (error, rv, "C_GetSlotList"))
    return FALSE;
  slots = g_new0 (CK_SLOT_ID, MAX (n_slots, 1));
  rv = self->funcs->C_GetSlotList (CK_TRUE, slots, &n_slots);
  if (!set_p11_error (error, rv, "C_GetSlotList"))
    return FALSE;

  for (CK_ULONG i = 0; i < n_slots; i++)
    {
      CK_TOKEN_INFO info;
      g_autofree char *label = NULL;

      if (self->funcs->C_GetTokenInfo (slots[i], &info) != CKR_OK ||
          !(info.flags & CKF_TOKEN_INITIALIZED))
        continue;
      label = cardpin_p11_string (info.label, sizeof info.label);
      if (g_strcmp0 (label, self->token_label) == 0)
        {
          self->slot = slots[i];
          return TRUE;
        }
    }

  g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_NO_TOKEN,
               _("No token labelled “%s” in %s. Check token-label, or initialise the token "
                 "(softhsm2-util --init-token)."), self->token_label, self->module_path);
  return FALSE;
}

/* Finds the master key; sets self->key when there is exactly one good one. Returns
 * FALSE on error; *found tells whether a key exists. */
static gboolean
find_key (CardpinMasterKey   *self,
          CK_SESSION_HANDLE   session,
          gboolean           *found,
          GError            **error)
{
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_ATTRIBUTE query[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_LABEL, self->key_label, strlen (self->key_label) },
  };
  CK_OBJECT_HANDLE handles[2];
  CK_ULONG n = 0;
  CK_KEY_TYPE key_type = 0;
  CK_ULONG value_len = 0;
  CK_BBOOL derive = CK_FALSE, sensitive = CK_FALSE, extractable = CK_TRUE;
  CK_ATTRIBUTE attrs[] = {
    { CKA_KEY_TYPE, &key_type, sizeof key_type },
    { CKA_VALUE_LEN, &value_len, sizeof value_len },
    { CKA_DERIVE, &derive, sizeof derive },
    { CKA_SENSITIVE, &sensitive, sizeof sensitive },
    { CKA_EXTRACTABLE, &extractable, sizeof extractable },
  };
  CK_RV rv;

  *found = FALSE;
  rv = self->funcs->C_FindObjectsInit (session, query, G_N_ELEMENTS (query));
  if (!set_p11_error (error, rv, "C_FindObjectsInit"))
    return FALSE;
  rv = self->funcs->C_FindObjects (session, handles, G_N_ELEMENTS (handles), &n);
  self->funcs->C_FindObjectsFinal (session);
  if (!set_p11_error (error, rv, "C_FindObjects"))
    return FALSE;

  if (n == 0)
    return TRUE;
  *found = TRUE;
  if (n > 1)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_BAD_KEY,
                   _("Several keys in the token “%s” are labelled “%s”; there must be "
                     "exactly one. Remove the extra keys or choose another "
                     "master-key-label."), self->token_label, self->key_label);
      return FALSE;
    }

  rv = self->funcs->C_GetAttributeValue (session, handles[0], attrs, G_N_ELEMENTS (attrs));
  if (!set_p11_error (error, rv, "C_GetAttributeValue"))
    return FALSE;
  if (key_type != CKK_AES || value_len != CARDPIN_MASTER_KEY_LENGTH || !derive ||
      !sensitive || extractable)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_BAD_KEY,
                   _("The key “%s” in the token “%s” is not a sensitive, non-extractable "
                     "AES-128 key usable for derivation. Replace it with "
                     "“cardpin-helpdesk master-key create” or “import”."),
                   self->key_label, self->token_label);
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  self->key = handles[0];
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static CK_OBJECT_HANDLE
get_key (CardpinMasterKey   *self,
         CK_SESSION_HANDLE   session,
         GError            **error)
{
  CK_OBJECT_HANDLE key;
  gboolean found;

  g_mutex_lock (&self->lock);
  key = self->key;
  g_mutex_unlock (&self->lock);
  if (key != CK_INVALID_HANDLE)
    return key;

  if (!find_key (self, session, &found, error))
    return CK_INVALID_HANDLE;
  if (!found)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_NO_KEY,
                   _("The token “%s” holds no master key labelled “%s”. Create one with "
                     "“cardpin-helpdesk master-key create” (or import it)."),
                   self->token_label, self->key_label);
      return CK_INVALID_HANDLE;
    }
  return self->key;
}

/* Makes a master key from @template (create or import); refuses when one exists */
static gboolean
make_key (CardpinMasterKey  *self,
          const guint8      *value,
          GError           **error)
{
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE key_type = CKK_AES;
  CK_ULONG value_len = CARDPIN_MASTER_KEY_LENGTH;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE template[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_KEY_TYPE, &key_type, sizeof key_type },
    { CKA_LABEL, self->key_label, strlen (self->key_label) },
    { CKA_TOKEN, &yes, sizeof yes },
    { CKA_PRIVATE, &yes, sizeof yes },
    { CKA_SENSITIVE, &yes, sizeof yes },
    { CKA_EXTRACTABLE, &no, sizeof no },
    { CKA_DERIVE, &yes, sizeof yes },
    { CKA_ENCRYPT, &no, sizeof no },
    { CKA_DECRYPT, &no, sizeof no },
    { CKA_WRAP, &no, sizeof no },
    { CKA_UNWRAP, &no, sizeof no },
    { CKA_SIGN, &no, sizeof no },
    { CKA_VERIFY, &no, sizeof no },
    /* last: CKA_VALUE_LEN for generation, CKA_VALUE for import */
    { CKA_VALUE_LEN, &value_len, sizeof value_len },
  };
  CK_MECHANISM mechanism = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_SESSION_HANDLE session;
  gboolean found = FALSE;
  gboolean ok = FALSE;
  CK_RV rv;

  session = session_take (self, error);
  if (session == CK_INVALID_HANDLE)
    return FALSE;

  if (!find_key (self, session, &found, error))
    goto out;
  if (found)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_EXISTS,
                   _("The token “%s” already holds a master key labelled “%s”; nothing "
                     "was changed. A master key is made once: keep using it, or choose "
                     "another master-key-label."), self->token_label, self->key_label);
      goto out;
    }

  if (value == NULL)
    {
      rv = self->funcs->C_GenerateKey (session, &mechanism, template,
                                       G_N_ELEMENTS (template), &key);
      if (!set_p11_error (error, rv, "C_GenerateKey"))
        goto out;
    }
  else
    {
      template[G_N_ELEMENTS (template) - 1] =
        (CK_ATTRIBUTE) { CKA_VALUE, (void *) value, CARDPIN_MASTER_KEY_LENGTH };
      rv = self->funcs->C_CreateObject (session, template, G_N_ELEMENTS (template), &key);
      if (!set_p11_error (error, rv, "C_CreateObject"))
        goto out;
    }

  g_mutex_lock (&self->lock);
  self->key = key;
  g_mutex_unlock (&self->lock);
  ok = TRUE;

out:
  session_give (self, session);
  return ok;
}

/* SHA-256(@prefix || @serial)[0..15] */
static void
diversify (const char *prefix,
           const char *serial,
           guint8      out[CARDPIN_MASTER_KEY_LENGTH])
{
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize length = sizeof digest;

  g_checksum_update (sha, (const guchar *) prefix, strlen (prefix));
  g_checksum_update (sha, (const guchar *) serial, strlen (serial));
  g_checksum_get_digest (sha, digest, &length);
  memcpy (out, digest, CARDPIN_MASTER_KEY_LENGTH);
}

/* Derives K_card for @serial as a session object; the caller destroys it.
 *
 * For an AES-128 card K_card = AES-128-ECB(K_master, D). A 3DES card (the only kind
 * Debian 12's yubico-piv-tool 2.2 can personalise) gets the same 16 bytes as a two-key
 * 3DES key K1 K2 K1 (keying option 2): AES-128-ECB(K_master, D || D) is K_card || K_card,
 * and a 3DES key takes its first 24 bytes. The token does that truncation itself (PKCS#11
 * ENCRYPT_DATA derivation into a fixed-length key type), so the key is still made and
 * used inside the token. */
static CK_OBJECT_HANDLE
derive (CardpinMasterKey   *self,
        CK_SESSION_HANDLE   session,
        const char         *prefix,
        const char         *serial,
        guint               algorithm,
        gboolean            extractable,
        GError            **error)
{
  gboolean des = algorithm == CARDPIN_MASTER_KEY_ALG_3DES;
  guint8 data[2 * CARDPIN_MASTER_KEY_LENGTH];
  CK_KEY_DERIVATION_STRING_DATA params = { data, des ? 2 * CARDPIN_MASTER_KEY_LENGTH
                                                     : CARDPIN_MASTER_KEY_LENGTH };
  CK_MECHANISM mechanism = { CKM_AES_ECB_ENCRYPT_DATA, &params, sizeof params };
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE key_type = des ? CKK_DES3 : CKK_AES;
  CK_ULONG value_len = CARDPIN_MASTER_KEY_LENGTH;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE template[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_KEY_TYPE, &key_type, sizeof key_type },
    { CKA_TOKEN, &no, sizeof no },
    { CKA_PRIVATE, &yes, sizeof yes },
    { CKA_ENCRYPT, &yes, sizeof yes },
    { CKA_DECRYPT, &no, sizeof no },
    { CKA_DERIVE, &no, sizeof no },
    { CKA_SENSITIVE, extractable ? &no : &yes, sizeof yes },
    { CKA_EXTRACTABLE, extractable ? &yes : &no, sizeof yes },
    /* last: a 3DES key has a fixed length and takes no CKA_VALUE_LEN */
    { CKA_VALUE_LEN, &value_len, sizeof value_len },
  };
  CK_ULONG n_attributes = G_N_ELEMENTS (template) - (des ? 1 : 0);
  CK_OBJECT_HANDLE master, card_key = CK_INVALID_HANDLE;
  CK_RV rv;

  master = get_key (self, session, error);
  if (master == CK_INVALID_HANDLE)
    return CK_INVALID_HANDLE;

  diversify (prefix, serial, data);
  memcpy (data + CARDPIN_MASTER_KEY_LENGTH, data, CARDPIN_MASTER_KEY_LENGTH);
  rv = self->funcs->C_DeriveKey (session, &mechanism, master, template,
                                 n_attributes, &card_key);
  if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID)
    {
      /* the key was replaced behind our back: look it up once more */
      g_mutex_lock (&self->lock);
      self->key = CK_INVALID_HANDLE;
      g_mutex_unlock (&self->lock);
      master = get_key (self, session, error);
      if (master == CK_INVALID_HANDLE)
        return CK_INVALID_HANDLE;
      rv = self->funcs->C_DeriveKey (session, &mechanism, master, template,
                                     n_attributes, &card_key);
    }
  if (!set_p11_error (error, rv, "C_DeriveKey"))
    return CK_INVALID_HANDLE;
  return card_key;
}

static gsize key_length (guint algorithm);

/* The value of a key derived with @prefix, read from the token: derived like K_card, but
 * as an extractable, non-sensitive session object that lives only for this call (its
 * value is read and the object destroyed). The master key itself never leaves the
 * token. */
static CardpinSecret *
derive_value (CardpinMasterKey  *self,
              const char        *prefix,
              const char        *serial,
              guint              algorithm,
              GError           **error)
{
  g_autoptr(CardpinSecret) key = NULL;
  CK_SESSION_HANDLE session;
  CK_OBJECT_HANDLE card_key;
  CK_RV rv;

  session = session_take (self, error);
  if (session == CK_INVALID_HANDLE)
    return NULL;
  card_key = derive (self, session, prefix, serial, algorithm, TRUE, error);
  if (card_key != CK_INVALID_HANDLE)
    {
      CK_ATTRIBUTE value = { CKA_VALUE, NULL, key_length (algorithm) };

      key = cardpin_secret_new_sized (key_length (algorithm));
      value.pValue = cardpin_secret_get_mutable_data (key);
      rv = self->funcs->C_GetAttributeValue (session, card_key, &value, 1);
      self->funcs->C_DestroyObject (session, card_key);
      if (rv == CKR_OK && value.ulValueLen != key_length (algorithm))
        rv = CKR_GENERAL_ERROR;
      if (!set_p11_error (error, rv, "C_GetAttributeValue"))
        g_clear_pointer (&key, cardpin_secret_unref);
    }
  session_give (self, session);
  return g_steal_pointer (&key);
}

/* The admin key's length and a challenge's (one cipher block) for an algorithm */
static gsize
key_length (guint algorithm)
{
  return algorithm == CARDPIN_MASTER_KEY_ALG_3DES ? 24 : CARDPIN_MASTER_KEY_LENGTH;
}

static gsize
block_length (guint algorithm)
{
  return algorithm == CARDPIN_MASTER_KEY_ALG_3DES ? 8 : CARDPIN_MASTER_KEY_LENGTH;
}

static gboolean
check_algorithm (guint    algorithm,
                 GError **error)
{
  if (algorithm != CARDPIN_MASTER_KEY_ALG_AES128 && algorithm != CARDPIN_MASTER_KEY_ALG_3DES)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID,
                   _("Unknown admin key algorithm 0x%02X; AES-128 and 3DES are served."),
                   algorithm);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_challenge (guint          algorithm,
                 gsize          length,
                 GError       **error)
{
  if (!check_algorithm (algorithm, error))
    return FALSE;
  if (length != block_length (algorithm))
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID,
                   algorithm == CARDPIN_MASTER_KEY_ALG_3DES
                   ? _("A 3DES challenge has 8 bytes (16 hex digits), not %zu. Read the "
                       "challenge again.")
                   : _("An AES-128 challenge has 16 bytes (32 hex digits), not %zu. Read the "
                       "challenge again."), length);
      return FALSE;
    }
  return TRUE;
}

/* Public API */

/**
 * cardpin_master_key_check_serial:
 * @serial: a card serial, exactly as `cardpin-tool status --json` prints it
 * @error: return location
 *
 * A serial is 1 to %CARDPIN_MASTER_KEY_MAX_SERIAL printable ASCII characters without
 * spaces. It is used as given: no case or format is changed.
 *
 * Returns: %TRUE when @serial can be used
 */
gboolean
cardpin_master_key_check_serial (const char  *serial,
                                 GError     **error)
{
  gsize length = serial != NULL ? strlen (serial) : 0;

  if (length == 0 || length > CARDPIN_MASTER_KEY_MAX_SERIAL)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID,
                   _("A card serial has 1 to %d characters. Copy it from “cardpin-tool "
                     "status”."), CARDPIN_MASTER_KEY_MAX_SERIAL);
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    if (serial[i] <= ' ' || serial[i] > '~')
      {
        g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID,
                     _("A card serial holds only printable characters without spaces. Copy "
                       "it from “cardpin-tool status”."));
        return FALSE;
      }
  return TRUE;
}

/**
 * cardpin_master_key_diversifier:
 * @serial: a card serial
 * @out: (out caller-allocates): 16 bytes
 *
 * D = SHA-256("cardpin-admin-key-v1" || @serial)[0..15], the block the master key
 * encrypts into the card's admin key (DESIGN.md "Key derivation").
 */
void
cardpin_master_key_diversifier (const char *serial,
                                guint8      out[CARDPIN_MASTER_KEY_LENGTH])
{
  diversify (DERIVATION_PREFIX, serial, out);
}

/**
 * cardpin_master_key_hex:
 * @secret: bytes
 *
 * Returns: (transfer full): @secret as uppercase hex digits, in a secret of its own
 */
CardpinSecret *
cardpin_master_key_hex (const CardpinSecret *secret)
{
  static const char digits[] = "0123456789ABCDEF";
  gsize length = cardpin_secret_get_length (secret);
  const guint8 *data = cardpin_secret_get_data (secret);
  CardpinSecret *out = cardpin_secret_new_sized (2 * length);
  guint8 *text = cardpin_secret_get_mutable_data (out);

  for (gsize i = 0; i < length; i++)
    {
      text[2 * i] = digits[data[i] >> 4];
      text[2 * i + 1] = digits[data[i] & 0x0f];
    }
  return out;
}

/**
 * cardpin_master_key_open:
 * @module_path: absolute path of the PKCS#11 module
 * @token_label: the token's label
 * @pin_file: a file whose first line is the token's user PIN
 * @key_label: the master key's label
 * @error: return location
 *
 * Loads the module, finds the token, logs in with the PIN (wiped at once) and looks the
 * master key up. The key need not exist yet (see cardpin_master_key_create()).
 *
 * Returns: (transfer full): the master key handle, or %NULL
 */
CardpinMasterKey *
cardpin_master_key_open (const char  *module_path,
                         const char  *token_label,
                         const char  *pin_file,
                         const char  *key_label,
                         GError     **error)
{
  g_autoptr(CardpinMasterKey) self = NULL;
  const char *paths[] = { module_path, NULL };
  CK_SESSION_HANDLE session;
  gboolean found;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (module_path == NULL || !g_path_is_absolute (module_path))
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG,
                   _("pkcs11-module must be the absolute path of a PKCS#11 module, such as "
                     "/usr/lib/softhsm/libsofthsm2.so."));
      return NULL;
    }
  if (token_label == NULL || *token_label == '\0' || strlen (token_label) > 32)
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG,
                   _("token-label must name the token (1 to 32 characters)."));
      return NULL;
    }
  if (pin_file == NULL || *pin_file == '\0')
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG,
                   _("token-pin-file must name the file that holds the token's PIN."));
      return NULL;
    }
  if (key_label == NULL || *key_label == '\0')
    {
      g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG,
                   _("master-key-label must name the master key."));
      return NULL;
    }

  self = g_new0 (CardpinMasterKey, 1);
  g_mutex_init (&self->lock);
  self->idle = g_ptr_array_new ();
  self->all = g_ptr_array_new ();
  self->key = CK_INVALID_HANDLE;
  self->module_path = g_strdup (module_path);
  self->token_label = g_strdup (token_label);
  self->key_label = g_strdup (key_label);

  self->modules = cardpin_p11_modules_load (paths, error);
  if (self->modules == NULL)
    return NULL;
  self->funcs = cardpin_p11_modules_get (self->modules, 0);

  if (!find_token (self, error) || !login (self, pin_file, error))
    return NULL;

  session = session_take (self, error);
  if (session == CK_INVALID_HANDLE)
    return NULL;
  if (!find_key (self, session, &found, error))
    {
      session_give (self, session);
      return NULL;
    }
  session_give (self, session);
  return g_steal_pointer (&self);
}

/**
 * cardpin_master_key_open_from_keyfile:
 * @keyfile: the configuration of cardpin-unblockd and cardpin-helpdesk
 * @error: return location
 *
 * Opens the master key the group `[service]` names: `pkcs11-module`, `token-label`,
 * `token-pin-file`, `master-key-label`.
 *
 * Returns: (transfer full): the master key handle, or %NULL
 */
CardpinMasterKey *
cardpin_master_key_open_from_keyfile (GKeyFile  *keyfile,
                                      GError   **error)
{
  const char *keys[] = { "pkcs11-module", "token-label", "token-pin-file",
                         "master-key-label" };
  char *values[G_N_ELEMENTS (keys)] = { NULL, };
  CardpinMasterKey *self = NULL;
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      values[i] = g_key_file_get_string (keyfile, CARDPIN_SERVER_CONFIG_GROUP, keys[i], NULL);
      if (values[i] != NULL)
        g_strstrip (values[i]);
      if (values[i] == NULL || *values[i] == '\0')
        {
          g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_CONFIG,
                       _("The configuration lacks “%s” in the group [%s]. Add it (see "
                         "cardpin-unblockd(8))."), keys[i], CARDPIN_SERVER_CONFIG_GROUP);
          break;
        }
    }
  if (i == G_N_ELEMENTS (keys))
    self = cardpin_master_key_open (values[0], values[1], values[2], values[3], error);
  for (i = 0; i < G_N_ELEMENTS (keys); i++)
    g_free (values[i]);
  return self;
}

/**
 * cardpin_master_key_free:
 * @self: (nullable): a master key handle
 *
 * Closes the sessions (destroying any session object) and unloads the module.
 */
void
cardpin_master_key_free (CardpinMasterKey *self)
{
  if (self == NULL)
    return;
  if (self->funcs != NULL)
    for (guint i = 0; i < self->all->len; i++)
      self->funcs->C_CloseSession (GPOINTER_TO_SIZE (g_ptr_array_index (self->all, i)));
  g_clear_pointer (&self->modules, cardpin_p11_modules_unref);
  g_ptr_array_unref (self->idle);
  g_ptr_array_unref (self->all);
  g_mutex_clear (&self->lock);
  g_free (self->module_path);
  g_free (self->token_label);
  g_free (self->key_label);
  g_free (self);
}

/**
 * cardpin_master_key_get_label:
 * @self: a master key handle
 *
 * Returns: the label of the master key
 */
const char *
cardpin_master_key_get_label (CardpinMasterKey *self)
{
  return self->key_label;
}

/**
 * cardpin_master_key_exists:
 * @self: a master key handle
 * @error: return location, set only when the token fails or the key is unusable
 *
 * Returns: %TRUE when the token holds the master key
 */
gboolean
cardpin_master_key_exists (CardpinMasterKey  *self,
                           GError           **error)
{
  CK_SESSION_HANDLE session = session_take (self, error);
  gboolean found = FALSE;
  gboolean ok;

  if (session == CK_INVALID_HANDLE)
    return FALSE;
  ok = find_key (self, session, &found, error);
  session_give (self, session);
  return ok && found;
}

/**
 * cardpin_master_key_create:
 * @self: a master key handle
 * @error: return location
 *
 * Generates the master key inside the token (C_GenerateKey): AES-128, sensitive, not
 * extractable, for derivation only. Refuses with %CARDPIN_MASTER_KEY_ERROR_EXISTS when a
 * key of the label exists.
 *
 * Returns: %TRUE on success
 */
gboolean
cardpin_master_key_create (CardpinMasterKey  *self,
                           GError           **error)
{
  return make_key (self, NULL, error);
}

/**
 * cardpin_master_key_import:
 * @self: a master key handle
 * @hex: 32 hex digits (white space around them is ignored)
 * @error: return location
 *
 * Imports a master key (migration from an earlier key store) with the same attributes as
 * cardpin_master_key_create(). Refuses a malformed value and an existing key; nothing is
 * changed then.
 *
 * Returns: %TRUE on success
 */
gboolean
cardpin_master_key_import (CardpinMasterKey     *self,
                           const CardpinSecret  *hex,
                           GError              **error)
{
  g_autoptr(CardpinSecret) value = cardpin_secret_new_sized (CARDPIN_MASTER_KEY_LENGTH);
  guint8 *bytes = cardpin_secret_get_mutable_data (value);
  const guint8 *text = cardpin_secret_get_data (hex);
  gsize start = 0, end = cardpin_secret_get_length (hex);

  while (start < end && g_ascii_isspace (text[start]))
    start++;
  while (end > start && g_ascii_isspace (text[end - 1]))
    end--;
  if (end - start != 2 * CARDPIN_MASTER_KEY_LENGTH)
    goto bad;
  for (gsize i = 0; i < 2 * CARDPIN_MASTER_KEY_LENGTH; i++)
    {
      int digit = g_ascii_xdigit_value (text[start + i]);

      if (digit < 0)
        goto bad;
      bytes[i / 2] = (guint8) ((bytes[i / 2] << 4) | digit);
    }
  return make_key (self, bytes, error);

bad:
  g_set_error (error, CARDPIN_MASTER_KEY_ERROR, CARDPIN_MASTER_KEY_ERROR_INVALID,
               _("A master key file holds exactly 32 hex digits (an AES-128 key); nothing "
                 "was imported. Check the file."));
  return FALSE;
}

/**
 * cardpin_master_key_respond:
 * @self: a master key handle
 * @serial: the card's serial, as `cardpin-tool status` prints it
 * @algorithm: the challenge's PIV algorithm (%CARDPIN_MASTER_KEY_ALG_AES128 or
 *   %CARDPIN_MASTER_KEY_ALG_3DES)
 * @challenge: (array length=challenge_length): the card's challenge
 * @challenge_length: its length (16 for AES-128, 8 for 3DES)
 * @error: return location
 *
 * Computes the response AES-128-ECB(K_card, challenge) inside the token (for a 3DES card
 * 3DES-ECB with K_card as a two-key 3DES key, see derive()): K_card is derived from the
 * master key as a non-extractable session object, used once and destroyed.
 *
 * Returns: (transfer full): the response, or %NULL
 */
CardpinSecret *
cardpin_master_key_respond (CardpinMasterKey  *self,
                            const char        *serial,
                            guint              algorithm,
                            const guint8      *challenge,
                            gsize              challenge_length,
                            GError           **error)
{
  g_autoptr(CardpinSecret) response = NULL;
  CK_MECHANISM mechanism = { CKM_AES_ECB, NULL, 0 };
  CK_SESSION_HANDLE session;
  CK_OBJECT_HANDLE card_key;
  CK_ULONG length;
  CK_RV rv;

  if (!cardpin_master_key_check_serial (serial, error) ||
      !check_challenge (algorithm, challenge_length, error))
    return NULL;

  if (algorithm == CARDPIN_MASTER_KEY_ALG_3DES)
    mechanism.mechanism = CKM_DES3_ECB;
  length = block_length (algorithm);

  session = session_take (self, error);
  if (session == CK_INVALID_HANDLE)
    return NULL;
  card_key = derive (self, session, DERIVATION_PREFIX, serial, algorithm, FALSE, error);
  if (card_key != CK_INVALID_HANDLE)
    {
      response = cardpin_secret_new_sized (block_length (algorithm));
      rv = self->funcs->C_EncryptInit (session, &mechanism, card_key);
      if (rv == CKR_OK)
        rv = self->funcs->C_Encrypt (session, (CK_BYTE_PTR) challenge, challenge_length,
                                     cardpin_secret_get_mutable_data (response), &length);
      self->funcs->C_DestroyObject (session, card_key);
      if (rv == CKR_OK && length != block_length (algorithm))
        rv = CKR_GENERAL_ERROR;
      if (!set_p11_error (error, rv, "C_Encrypt"))
        g_clear_pointer (&response, cardpin_secret_unref);
    }
  session_give (self, session);
  return g_steal_pointer (&response);
}

/**
 * cardpin_master_key_export_admin_key:
 * @self: a master key handle
 * @serial: the card's serial, as `cardpin-tool status` prints it
 * @algorithm: the card's admin key algorithm: %CARDPIN_MASTER_KEY_ALG_AES128 (16 bytes)
 *   or %CARDPIN_MASTER_KEY_ALG_3DES (24 bytes: K_card as a two-key 3DES key, what
 *   yubico-piv-tool 2.2 can set)
 * @error: return location
 *
 * The card's admin key K_card, for issuance (`yubico-piv-tool -a set-mgm-key`). It is
 * derived in the token like for a response, but as an extractable, non-sensitive session
 * object that lives only for this call: its value is read and the object destroyed. The
 * master key itself never leaves the token.
 *
 * Returns: (transfer full): the 16 or 24 key bytes, or %NULL
 */
CardpinSecret *
cardpin_master_key_export_admin_key (CardpinMasterKey  *self,
                                     const char        *serial,
                                     guint              algorithm,
                                     GError           **error)
{
  if (!cardpin_master_key_check_serial (serial, error) ||
      !check_algorithm (algorithm, error))
    return NULL;
  return derive_value (self, DERIVATION_PREFIX, serial, algorithm, error);
}

/**
 * cardpin_master_key_puk:
 * @self: a master key handle
 * @serial: the card's serial, as `cardpin-tool status` prints it
 * @error: return location
 *
 * The card's PUK, derived from the master key so that it needs no storage:
 * B = AES-128-ECB(K_master, SHA-256("cardpin-puk-v1" || @serial)[0..15]), computed in the
 * token like an admin key (a derivation of its own label, so a PUK tells nothing about the
 * admin key), and PUK = the first 8 bytes of B as a big-endian integer modulo 10^8,
 * written as 8 decimal digits (leading zeros kept). An issuer puts it on the card
 * (`yubico-piv-tool -a change-puk`); the service gives it to the card's user.
 *
 * Returns: (transfer full): the 8 ASCII digits, or %NULL
 */
CardpinSecret *
cardpin_master_key_puk (CardpinMasterKey  *self,
                        const char        *serial,
                        GError           **error)
{
  g_autoptr(CardpinSecret) block = NULL;
  CardpinSecret *puk;
  guint8 *digits;
  guint64 value = 0;

  if (!cardpin_master_key_check_serial (serial, error))
    return NULL;
  block = derive_value (self, PUK_PREFIX, serial, CARDPIN_MASTER_KEY_ALG_AES128, error);
  if (block == NULL)
    return NULL;
  for (gsize i = 0; i < 8; i++)
    value = value << 8 | cardpin_secret_get_data (block)[i];
  value %= PUK_MODULUS;

  puk = cardpin_secret_new_sized (CARDPIN_MASTER_KEY_PUK_LENGTH);
  digits = cardpin_secret_get_mutable_data (puk);
  for (gsize i = CARDPIN_MASTER_KEY_PUK_LENGTH; i > 0; i--)
    {
      digits[i - 1] = (guint8) ('0' + value % 10);
      value /= 10;
    }
  cardpin_secret_wipe (&value, sizeof value);
  return puk;
}
