/* vcard-state.c: the persistent state of the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "vcard-error.h"
#include "vcard-state.h"

#define STATE_VERSION 1

static const char * const slot_names[VCARD_N_SLOTS] = { "9a", "9c" };

static void
wipe_free (char *s)
{
  if (s != NULL)
    explicit_bzero (s, strlen (s));
  g_free (s);
}

static void
serial_to_guid (const char *serial,
                guint8      guid[16])
{
  char padded[33];
  gsize n = strlen (serial);

  memset (padded, '0', 32 - n);
  memcpy (padded + 32 - n, serial, n);
  for (guint i = 0; i < 16; i++)
    guid[i] = (g_ascii_xdigit_value (padded[2 * i]) << 4) |
              g_ascii_xdigit_value (padded[2 * i + 1]);
}

static gboolean
serial_is_valid (const char *serial)
{
  gsize n = strlen (serial);

  if (n == 0 || n > 32)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isxdigit (serial[i]) || g_ascii_islower (serial[i]))
      return FALSE;
  return TRUE;
}

static gboolean
crypto_error (GError     **error,
              const char  *message)
{
  g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_CRYPTO, message);
  return FALSE;
}

/**
 * vcard_key_generate:
 * @alg: the algorithm
 * @error: return location for an error
 *
 * Returns: (transfer full): a new key pair, or %NULL on error
 */
EVP_PKEY *
vcard_key_generate (VcardKeyAlg   alg,
                    GError      **error)
{
  EVP_PKEY *key;

  if (alg == VCARD_KEY_ALG_RSA2048)
    key = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t) 2048);
  else
    key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");

  if (key == NULL)
    crypto_error (error, _("Could not generate a key pair"));
  return key;
}

/**
 * vcard_key_get_alg:
 * @key: a key pair of the card
 *
 * Returns: the algorithm of @key (each slot has its own once GENERATE ran)
 */
VcardKeyAlg
vcard_key_get_alg (EVP_PKEY *key)
{
  return EVP_PKEY_get_base_id (key) == EVP_PKEY_RSA ? VCARD_KEY_ALG_RSA2048
                                                    : VCARD_KEY_ALG_ECCP256;
}

static gboolean
add_extension (X509       *cert,
               int         nid,
               const char *value)
{
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  gboolean ok;

  X509V3_set_ctx (&ctx, cert, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
  if (ext == NULL)
    return FALSE;
  ok = X509_add_ext (cert, ext, -1) == 1;
  X509_EXTENSION_free (ext);
  return ok;
}

static GBytes *
make_certificate (EVP_PKEY    *key,
                  VcardSlot    slot,
                  const char  *subject,
                  GError     **error)
{
  X509 *cert = X509_new ();
  X509_NAME *name = NULL;
  ASN1_INTEGER *serial = NULL;
  BIGNUM *bn = NULL;
  unsigned char *der = NULL;
  GBytes *result = NULL;
  guint8 rnd[16];
  int len;

  if (cert == NULL || RAND_bytes (rnd, sizeof rnd) != 1)
    goto out;
  rnd[0] &= 0x7F;
  rnd[0] |= 0x40;
  bn = BN_bin2bn (rnd, sizeof rnd, NULL);
  serial = bn != NULL ? BN_to_ASN1_INTEGER (bn, NULL) : NULL;
  name = X509_NAME_new ();
  if (serial == NULL || name == NULL ||
      !X509_set_version (cert, X509_VERSION_3) ||
      !X509_set_serialNumber (cert, serial) ||
      !X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *) subject, -1, -1, 0) ||
      !X509_set_subject_name (cert, name) ||
      !X509_set_issuer_name (cert, name) ||
      X509_gmtime_adj (X509_getm_notBefore (cert), -24 * 3600) == NULL ||
      X509_time_adj_ex (X509_getm_notAfter (cert), 20 * 365, 0, NULL) == NULL ||
      !X509_set_pubkey (cert, key) ||
      !add_extension (cert, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension (cert, NID_key_usage,
                      slot == VCARD_SLOT_9A ? "critical,digitalSignature"
                                            : "critical,digitalSignature,nonRepudiation") ||
      !add_extension (cert, NID_subject_key_identifier, "hash") ||
      X509_sign (cert, key, EVP_sha256 ()) <= 0)
    goto out;

  len = i2d_X509 (cert, &der);
  if (len <= 0)
    goto out;
  result = g_bytes_new (der, len);

out:
  if (result == NULL)
    crypto_error (error, _("Could not make a certificate"));
  OPENSSL_free (der);
  X509_NAME_free (name);
  ASN1_INTEGER_free (serial);
  BN_free (bn);
  X509_free (cert);
  return result;
}

static VcardState *
state_alloc (void)
{
  VcardState *self = g_new0 (VcardState, 1);

  self->objects = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_bytes_unref);
  return self;
}

/**
 * vcard_state_new:
 * @options: the command line
 * @error: return location for an error
 *
 * Makes a fresh card from @options: PINs, counters, the management key,
 * the serial (random if not given) and new key pairs with self-signed
 * certificates. Nothing is saved yet.
 *
 * Returns: (transfer full): the new state, or %NULL on error
 */
VcardState *
vcard_state_new (const VcardOptions  *options,
                 GError             **error)
{
  g_autoptr(VcardState) self = state_alloc ();

  self->path = g_strdup (options->state_path);
  if (options->serial != NULL)
    {
      self->serial = g_ascii_strup (options->serial, -1);
    }
  else
    {
      guint8 rnd[16];

      if (RAND_bytes (rnd, sizeof rnd) != 1)
        {
          crypto_error (error, _("Could not make a random serial number"));
          return NULL;
        }
      self->serial = g_malloc (33);
      for (guint i = 0; i < 16; i++)
        g_snprintf (self->serial + 2 * i, 3, "%02X", rnd[i]);
    }
  g_return_val_if_fail (serial_is_valid (self->serial), NULL);
  serial_to_guid (self->serial, self->guid);

  memcpy (self->pin, options->pin, VCARD_PIN_MAX);
  memcpy (self->puk, options->puk, VCARD_PIN_MAX);
  memcpy (self->admin_key, options->admin_key, options->admin_key_len);
  self->admin_key_len = options->admin_key_len;
  self->pin_tries_max = self->pin_tries_left = options->pin_tries;
  self->puk_tries_max = self->puk_tries_left = options->puk_tries;
  self->admin_tries_max = self->admin_tries_left = options->admin_tries;
  self->pin_change_limit = options->pin_change_limit;
  self->pin_change_count = 0;
  self->key_alg = options->key_alg;
  self->subject = g_strdup (options->subject);

  for (guint i = 0; i < VCARD_N_SLOTS; i++)
    {
      self->keys[i] = vcard_key_generate (self->key_alg, error);
      if (self->keys[i] == NULL)
        return NULL;
      self->certs[i] = make_certificate (self->keys[i], i, self->subject, error);
      if (self->certs[i] == NULL)
        return NULL;
    }

  return g_steal_pointer (&self);
}

static void
append_hex (GString      *out,
            const char   *key,
            const guint8 *data,
            gsize         len)
{
  g_string_append_printf (out, "%s=", key);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", data[i]);
  g_string_append_c (out, '\n');
}

static void
append_base64 (GString      *out,
               const char   *key,
               const guint8 *data,
               gsize         len)
{
  char *b64 = g_base64_encode (data, len);

  g_string_append_printf (out, "%s=%s\n", key, b64);
  wipe_free (b64);
}

static gint
compare_tags (gconstpointer a,
              gconstpointer b)
{
  guint x = GPOINTER_TO_UINT (a);
  guint y = GPOINTER_TO_UINT (b);

  return x < y ? -1 : x > y;
}

/**
 * vcard_state_save:
 * @self: a state
 * @error: return location for an error
 *
 * Writes @self to its file atomically (a new file renamed over the old one,
 * mode 0600). Does nothing for a state without a file.
 *
 * Returns: %TRUE on success
 */
gboolean
vcard_state_save (VcardState  *self,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  GString *out;
  gboolean ok = TRUE;

  if (self->path == NULL)
    return TRUE;

  out = g_string_sized_new (8192);
  g_string_append_printf (out, "# cardpin virtual PIV card state; contains secrets\n");
  g_string_append_printf (out, "version=%d\n", STATE_VERSION);
  g_string_append_printf (out, "serial=%s\n", self->serial);
  append_hex (out, "pin", self->pin, VCARD_PIN_MAX);
  append_hex (out, "puk", self->puk, VCARD_PIN_MAX);
  append_hex (out, "admin-key", self->admin_key, self->admin_key_len);
  g_string_append_printf (out, "pin-tries-max=%u\npin-tries-left=%u\n",
                          self->pin_tries_max, self->pin_tries_left);
  g_string_append_printf (out, "puk-tries-max=%u\npuk-tries-left=%u\n",
                          self->puk_tries_max, self->puk_tries_left);
  g_string_append_printf (out, "admin-tries-max=%u\nadmin-tries-left=%u\n",
                          self->admin_tries_max, self->admin_tries_left);
  g_string_append_printf (out, "pin-change-limit=%u\npin-change-count=%u\n",
                          self->pin_change_limit, self->pin_change_count);
  g_string_append_printf (out, "key-alg=%s\n",
                          self->key_alg == VCARD_KEY_ALG_RSA2048 ? "rsa2048" : "eccp256");
  {
    g_autofree char *escaped = g_strescape (self->subject, NULL);

    g_string_append_printf (out, "subject=%s\n", escaped);
  }

  for (guint i = 0; i < VCARD_N_SLOTS && ok; i++)
    {
      g_autofree char *key_name = g_strdup_printf ("key-%s", slot_names[i]);
      g_autofree char *cert_name = g_strdup_printf ("cert-%s", slot_names[i]);
      unsigned char *der = NULL;
      int len = i2d_PrivateKey (self->keys[i], &der);
      gsize cert_len;
      const guint8 *cert = g_bytes_get_data (self->certs[i], &cert_len);

      if (len <= 0)
        {
          ok = crypto_error (error, _("Could not encode a private key"));
          break;
        }
      append_base64 (out, key_name, der, len);
      OPENSSL_clear_free (der, len);
      append_base64 (out, cert_name, cert, cert_len);
    }

  if (ok)
    {
      g_autoptr(GList) tags = g_list_sort (g_hash_table_get_keys (self->objects),
                                           compare_tags);

      for (GList *l = tags; l != NULL; l = l->next)
        {
          guint tag = GPOINTER_TO_UINT (l->data);
          GBytes *value = g_hash_table_lookup (self->objects, l->data);
          g_autofree char *name = g_strdup_printf ("object-%06x", tag);
          gsize len;
          const guint8 *data = g_bytes_get_data (value, &len);

          if (len == 0)
            g_string_append_printf (out, "%s=\n", name);
          else
            append_base64 (out, name, data, len);
        }
    }

  if (ok && !g_file_set_contents_full (self->path, out->str, out->len,
                                       G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_set_error (error, VCARD_ERROR, VCARD_ERROR_STATE,
                   _("Could not save the card state: %s"), local_error->message);
      ok = FALSE;
    }

  explicit_bzero (out->str, out->allocated_len);
  g_string_free (out, TRUE);
  return ok;
}

static gboolean
bad_state (GError     **error,
           const char  *path,
           const char  *what)
{
  g_set_error (error, VCARD_ERROR, VCARD_ERROR_STATE,
               _("The card state in “%s” is damaged (%s); delete it to start afresh"),
               path, what);
  return FALSE;
}

static gboolean
get_uint (GHashTable  *table,
          const char  *key,
          guint        max,
          guint       *out)
{
  const char *v = g_hash_table_lookup (table, key);
  guint64 n;

  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 0, max, &n, NULL))
    return FALSE;
  *out = (guint) n;
  return TRUE;
}

static gboolean
get_hex (GHashTable  *table,
         const char  *key,
         guint8      *out,
         gsize        max,
         gsize       *out_len)
{
  const char *v = g_hash_table_lookup (table, key);
  gsize n;

  if (v == NULL)
    return FALSE;
  n = strlen (v);
  if (n % 2 != 0 || n / 2 > max)
    return FALSE;
  for (gsize i = 0; i < n; i += 2)
    {
      int hi = g_ascii_xdigit_value (v[i]);
      int lo = g_ascii_xdigit_value (v[i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      out[i / 2] = (hi << 4) | lo;
    }
  *out_len = n / 2;
  return TRUE;
}

static guint8 *
get_base64 (GHashTable  *table,
            const char  *key,
            gsize       *out_len)
{
  const char *v = g_hash_table_lookup (table, key);
  g_autofree char *copy = NULL;
  guint8 *data;

  if (v == NULL || *v == '\0')
    return NULL;
  copy = g_strdup (v);
  data = g_base64_decode_inplace (copy, out_len);
  if (*out_len == 0)
    return NULL;
  data = g_memdup2 (data, *out_len);
  explicit_bzero (copy, strlen (v));
  return data;
}

static gboolean
parse_state (VcardState  *self,
             GHashTable  *table,
             GError     **error)
{
  const char *path = self->path;
  const char *v;
  guint version;
  gsize len;
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  if (!get_uint (table, "version", G_MAXUINT, &version) || version != STATE_VERSION)
    return bad_state (error, path, "version");

  v = g_hash_table_lookup (table, "serial");
  if (v == NULL || !serial_is_valid (v))
    return bad_state (error, path, "serial");
  self->serial = g_strdup (v);
  serial_to_guid (self->serial, self->guid);

  if (!get_hex (table, "pin", self->pin, VCARD_PIN_MAX, &len) || len != VCARD_PIN_MAX ||
      !vcard_pin_is_well_formed (self->pin))
    return bad_state (error, path, "pin");
  if (!get_hex (table, "puk", self->puk, VCARD_PIN_MAX, &len) || len != VCARD_PIN_MAX ||
      !vcard_pin_is_well_formed (self->puk))
    return bad_state (error, path, "puk");
  if (!get_hex (table, "admin-key", self->admin_key, VCARD_ADMIN_KEY_MAX,
                &self->admin_key_len) ||
      (self->admin_key_len != 16 && self->admin_key_len != 24))
    return bad_state (error, path, "admin-key");

  if (!get_uint (table, "pin-tries-max", 15, &self->pin_tries_max) ||
      !get_uint (table, "pin-tries-left", self->pin_tries_max, &self->pin_tries_left) ||
      !get_uint (table, "puk-tries-max", 15, &self->puk_tries_max) ||
      !get_uint (table, "puk-tries-left", self->puk_tries_max, &self->puk_tries_left) ||
      !get_uint (table, "admin-tries-max", 15, &self->admin_tries_max) ||
      !get_uint (table, "admin-tries-left", self->admin_tries_max, &self->admin_tries_left) ||
      self->pin_tries_max == 0 || self->puk_tries_max == 0 || self->admin_tries_max == 0)
    return bad_state (error, path, "retry counters");

  if (!get_uint (table, "pin-change-limit", G_MAXINT, &self->pin_change_limit) ||
      !get_uint (table, "pin-change-count", G_MAXINT, &self->pin_change_count))
    return bad_state (error, path, "PIN change limit");

  v = g_hash_table_lookup (table, "key-alg");
  if (g_strcmp0 (v, "rsa2048") == 0)
    self->key_alg = VCARD_KEY_ALG_RSA2048;
  else if (g_strcmp0 (v, "eccp256") == 0)
    self->key_alg = VCARD_KEY_ALG_ECCP256;
  else
    return bad_state (error, path, "key-alg");

  v = g_hash_table_lookup (table, "subject");
  if (v == NULL)
    return bad_state (error, path, "subject");
  self->subject = g_strcompress (v);

  for (guint i = 0; i < VCARD_N_SLOTS; i++)
    {
      g_autofree char *key_name = g_strdup_printf ("key-%s", slot_names[i]);
      g_autofree char *cert_name = g_strdup_printf ("cert-%s", slot_names[i]);
      guint8 *der;
      const unsigned char *p;

      der = get_base64 (table, key_name, &len);
      if (der == NULL)
        return bad_state (error, path, key_name);
      p = der;
      self->keys[i] = d2i_AutoPrivateKey (NULL, &p, len);
      OPENSSL_cleanse (der, len);
      g_free (der);
      if (self->keys[i] == NULL ||
          (EVP_PKEY_get_base_id (self->keys[i]) != EVP_PKEY_RSA &&
           EVP_PKEY_get_base_id (self->keys[i]) != EVP_PKEY_EC))
        return bad_state (error, path, key_name);

      der = get_base64 (table, cert_name, &len);
      if (der == NULL)
        return bad_state (error, path, cert_name);
      self->certs[i] = g_bytes_new_take (der, len);
    }

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint64 tag;
      guint8 *data;

      if (!g_str_has_prefix (key, "object-"))
        continue;
      if (!g_ascii_string_to_unsigned ((const char *) key + 7, 16, 1, 0xFFFFFF, &tag, NULL))
        return bad_state (error, path, key);
      if (*(const char *) value == '\0')
        {
          g_hash_table_insert (self->objects, GUINT_TO_POINTER (tag), g_bytes_new (NULL, 0));
          continue;
        }
      data = get_base64 (table, key, &len);
      if (data == NULL)
        return bad_state (error, path, key);
      g_hash_table_insert (self->objects, GUINT_TO_POINTER (tag), g_bytes_new_take (data, len));
    }

  return TRUE;
}

/**
 * vcard_state_load:
 * @path: a state file written by vcard_state_save()
 * @error: return location for an error
 *
 * Returns: (transfer full): the state, or %NULL on error
 */
VcardState *
vcard_state_load (const char  *path,
                  GError     **error)
{
  g_autoptr(VcardState) self = state_alloc ();
  g_autoptr(GHashTable) table = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) local_error = NULL;
  char *contents = NULL;
  gsize length = 0;
  char *line;
  char *next;
  gboolean ok;

  self->path = g_strdup (path);
  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, VCARD_ERROR, VCARD_ERROR_STATE,
                   _("Could not read the card state: %s"), local_error->message);
      return NULL;
    }

  for (line = contents; line != NULL && *line != '\0'; line = next)
    {
      char *eq;

      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';
      if (*line == '#' || *line == '\0')
        continue;
      eq = strchr (line, '=');
      if (eq == NULL)
        continue;
      *eq = '\0';
      g_hash_table_insert (table, line, eq + 1);
    }

  ok = parse_state (self, table, error);
  explicit_bzero (contents, length);
  g_free (contents);

  return ok ? g_steal_pointer (&self) : NULL;
}

/**
 * vcard_state_open:
 * @options: the command line
 * @error: return location for an error
 *
 * Loads the state file named by @options if it exists; otherwise makes a
 * new card from @options and saves it (when a file is named).
 *
 * Returns: (transfer full): the state, or %NULL on error
 */
VcardState *
vcard_state_open (const VcardOptions  *options,
                  GError             **error)
{
  g_autoptr(VcardState) self = NULL;

  if (options->state_path != NULL &&
      g_file_test (options->state_path, G_FILE_TEST_EXISTS))
    return vcard_state_load (options->state_path, error);

  self = vcard_state_new (options, error);
  if (self == NULL || !vcard_state_save (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * vcard_state_free:
 * @self: (transfer full): a state
 *
 * Wipes the secrets and frees @self.
 */
void
vcard_state_free (VcardState *self)
{
  if (self == NULL)
    return;

  g_free (self->path);
  g_free (self->serial);
  g_free (self->subject);
  for (guint i = 0; i < VCARD_N_SLOTS; i++)
    {
      EVP_PKEY_free (self->keys[i]);
      g_clear_pointer (&self->certs[i], g_bytes_unref);
    }
  g_clear_pointer (&self->objects, g_hash_table_unref);
  explicit_bzero (self, sizeof *self);
  g_free (self);
}
