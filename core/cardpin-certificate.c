/* cardpin-certificate.c — the certificates on a card and the PIN that guards each key
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cardpin-certificate.h"
#include "cardpin-error.h"
#include "cardpin-p11.h"
#include "cardpin-token-private.h"

/**
 * CardpinCertificate:
 *
 * One certificate of a token, as the token's PKCS#11 module shows it without a login:
 * subject, issuer, validity and key usage from the X.509 certificate, and which PIN
 * protects the private key with the same CKA_ID: from its CKA_ALWAYS_AUTHENTICATE when
 * the module shows private keys before a login; on PIV cards, whose private keys stay
 * hidden until then, from the key's slot as SP 800-73-4 fixes it (9C digital signature:
 * the PIN at every use; 9E card authentication: no PIN; the others: once per login).
 * Reading them never logs in and never keeps a session open.
 */
struct _CardpinCertificate
{
  GObject     parent_instance;

  char       *label;
  char       *subject;
  char       *issuer;
  GDateTime  *not_before;
  GDateTime  *not_after;
  GStrv         key_usages;
  CardpinKeyPin key_pin;
};

G_DEFINE_FINAL_TYPE (CardpinCertificate, cardpin_certificate, G_TYPE_OBJECT)

/* Helpers */

static char *
name_string (const X509_NAME *name)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *data = NULL;
  long length;
  char *out;

  X509_NAME_print_ex (bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  length = BIO_get_mem_data (bio, &data);
  out = g_utf8_make_valid (data, length);
  BIO_free (bio);
  return out;
}

static GDateTime *
asn1_time (const ASN1_TIME *time)
{
  struct tm tm = { 0 };

  if (time == NULL || ASN1_TIME_to_tm (time, &tm) != 1)
    return NULL;
  return g_date_time_new_utc (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static GStrv
key_usage_words (X509 *x509)
{
  static const struct {
    guint32     bit;
    const char *words;
  } usages[] = {
    { KU_DIGITAL_SIGNATURE, N_("Digital signature") },
    { KU_NON_REPUDIATION, N_("Non-repudiation (legally binding signatures)") },
    { KU_KEY_ENCIPHERMENT, N_("Key encipherment") },
    { KU_DATA_ENCIPHERMENT, N_("Data encipherment") },
    { KU_KEY_AGREEMENT, N_("Key agreement") },
    { KU_KEY_CERT_SIGN, N_("Certificate signing") },
    { KU_CRL_SIGN, N_("CRL signing") },
  };
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint32 flags;

  flags = X509_get_key_usage (x509);
  if (flags != UINT32_MAX)
    for (gsize i = 0; i < G_N_ELEMENTS (usages); i++)
      if (flags & usages[i].bit)
        g_strv_builder_add (builder, _(usages[i].words));
  return g_strv_builder_end (builder);
}

/* A variable-length attribute of @object, or %NULL */
static guint8 *
get_attribute (CK_FUNCTION_LIST  *funcs,
               CK_SESSION_HANDLE  session,
               CK_OBJECT_HANDLE   object,
               CK_ATTRIBUTE_TYPE  type,
               gsize             *length)
{
  CK_ATTRIBUTE attr = { type, NULL, 0 };
  guint8 *value;

  if (funcs->C_GetAttributeValue (session, object, &attr, 1) != CKR_OK ||
      attr.ulValueLen == (CK_ULONG) -1 || attr.ulValueLen == 0)
    return NULL;
  value = g_malloc0 (attr.ulValueLen + 1);
  attr.pValue = value;
  if (funcs->C_GetAttributeValue (session, object, &attr, 1) != CKR_OK)
    {
      g_free (value);
      return NULL;
    }
  *length = attr.ulValueLen;
  return value;
}

/* OpenSC's CKA_ID of the PIV key slots (9A 01, 9C 02, 9D 03, 9E 04, retired 05-18) */
static CardpinKeyPin
piv_key_pin (const guint8 *id,
             gsize         id_length)
{
  if (id_length != 1 || id[0] == 0 || id[0] > 0x18)
    return CARDPIN_KEY_PIN_UNKNOWN;
  if (id[0] == 0x02)
    return CARDPIN_KEY_PIN_ALWAYS;
  if (id[0] == 0x04)
    return CARDPIN_KEY_PIN_NONE;
  return CARDPIN_KEY_PIN_ONCE;
}

/* The object of @klass with @id, if the module shows it without a login */
static gboolean
find_object (CK_FUNCTION_LIST  *funcs,
             CK_SESSION_HANDLE  session,
             CK_OBJECT_CLASS    klass,
             const guint8      *id,
             gsize              id_length,
             CK_OBJECT_HANDLE  *object)
{
  CK_ATTRIBUTE match[] = {
    { CKA_CLASS, &klass, sizeof klass },
    { CKA_ID, (void *) id, id_length },
  };
  CK_ULONG n = 0;

  if (funcs->C_FindObjectsInit (session, match, G_N_ELEMENTS (match)) != CKR_OK)
    return FALSE;
  if (funcs->C_FindObjects (session, object, 1, &n) != CKR_OK)
    n = 0;
  funcs->C_FindObjectsFinal (session);
  return n > 0;
}

static CardpinKeyPin
key_pin (CK_FUNCTION_LIST  *funcs,
         CK_SESSION_HANDLE  session,
         gboolean           is_piv,
         const guint8      *id,
         gsize              id_length)
{
  CK_OBJECT_HANDLE key;
  CK_BBOOL always = CK_FALSE;
  CK_ATTRIBUTE attr = { CKA_ALWAYS_AUTHENTICATE, &always, sizeof always };

  if (find_object (funcs, session, CKO_PRIVATE_KEY, id, id_length, &key))
    {
      if (funcs->C_GetAttributeValue (session, key, &attr, 1) == CKR_OK && always == CK_TRUE)
        return CARDPIN_KEY_PIN_ALWAYS;
      return is_piv ? piv_key_pin (id, id_length) : CARDPIN_KEY_PIN_ONCE;
    }
  /* PIV private keys are private objects: their public key tells that they are there */
  if (is_piv && find_object (funcs, session, CKO_PUBLIC_KEY, id, id_length, &key))
    return piv_key_pin (id, id_length);
  return is_piv ? CARDPIN_KEY_PIN_NO_KEY : CARDPIN_KEY_PIN_UNKNOWN;
}

static CardpinCertificate *
certificate_new (CK_FUNCTION_LIST  *funcs,
                 CK_SESSION_HANDLE  session,
                 gboolean           is_piv,
                 CK_OBJECT_HANDLE   object)
{
  g_autofree guint8 *der = NULL;
  g_autofree guint8 *label = NULL;
  g_autofree guint8 *id = NULL;
  gsize der_length = 0, label_length = 0, id_length = 0;
  const unsigned char *p;
  CardpinCertificate *self;
  X509 *x509;

  der = get_attribute (funcs, session, object, CKA_VALUE, &der_length);
  if (der == NULL)
    return NULL;
  p = der;
  x509 = d2i_X509 (NULL, &p, (long) der_length);
  if (x509 == NULL)
    return NULL;

  self = g_object_new (CARDPIN_TYPE_CERTIFICATE, NULL);
  label = get_attribute (funcs, session, object, CKA_LABEL, &label_length);
  if (label != NULL)
    self->label = g_utf8_make_valid ((const char *) label, label_length);
  self->subject = name_string (X509_get_subject_name (x509));
  self->issuer = name_string (X509_get_issuer_name (x509));
  self->not_before = asn1_time (X509_get0_notBefore (x509));
  self->not_after = asn1_time (X509_get0_notAfter (x509));
  self->key_usages = key_usage_words (x509);
  X509_free (x509);

  id = get_attribute (funcs, session, object, CKA_ID, &id_length);
  self->key_pin = id != NULL ? key_pin (funcs, session, is_piv, id, id_length)
                             : CARDPIN_KEY_PIN_UNKNOWN;
  return self;
}

typedef struct {
  CardpinP11Modules *modules;       /* %NULL: loaded for this read (@paths, @reader) */
  guint              module_index;
  CK_SLOT_ID         slot;
  gboolean           is_piv;
  char             **paths;
  char              *reader;
} ListData;

static void
list_data_free (ListData *data)
{
  g_clear_pointer (&data->modules, cardpin_p11_modules_unref);
  g_strfreev (data->paths);
  g_free (data->reader);
  g_free (data);
}

static ListData *
list_data_new (CardpinToken *token)
{
  ListData *data = g_new0 (ListData, 1);

  data->modules = token->modules != NULL ? cardpin_p11_modules_ref (token->modules) : NULL;
  data->module_index = token->module_index;
  data->slot = token->slot;
  data->is_piv = token->is_piv;
  data->paths = g_strdupv (token->p11_paths);
  data->reader = g_strdup (token->reader);
  return data;
}

/* A card read over PC/SC alone: loads the PKCS#11 modules for this read only and finds
 * the slot of its reader. They are finalized once the read is done, so no module keeps
 * the card connected in this process. */
static CardpinP11Modules *
load_for_reader (ListData  *data,
                 GError   **error)
{
  g_autoptr(CardpinP11Modules) modules = NULL;
  const char *readers[] = { data->reader, NULL };

  if (data->reader == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("The certificates of this token cannot be read."));
      return NULL;
    }

  g_debug ("Loading the PKCS#11 modules to read the certificates in “%s”", data->reader);
  modules = cardpin_p11_modules_load ((const char * const *) data->paths, error);
  if (modules == NULL)
    return NULL;

  for (guint m = 0; m < cardpin_p11_modules_get_n (modules); m++)
    {
      CK_FUNCTION_LIST *funcs = cardpin_p11_modules_get (modules, m);
      g_autofree CK_SLOT_ID *slots = NULL;
      CK_ULONG n_slots = 0;

      if (funcs->C_GetSlotList (CK_TRUE, NULL, &n_slots) != CKR_OK || n_slots == 0)
        continue;
      slots = g_new0 (CK_SLOT_ID, n_slots);
      if (funcs->C_GetSlotList (CK_TRUE, slots, &n_slots) != CKR_OK)
        continue;
      for (CK_ULONG i = 0; i < n_slots; i++)
        {
          g_autofree char *description = NULL;
          CK_SLOT_INFO info;

          if (funcs->C_GetSlotInfo (slots[i], &info) != CKR_OK)
            continue;
          description = cardpin_p11_string (info.slotDescription,
                                            sizeof info.slotDescription);
          if (_cardpin_match_reader (description, readers) == NULL)
            continue;
          data->module_index = m;
          data->slot = slots[i];
          return g_steal_pointer (&modules);
        }
    }

  g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
               _("No PKCS#11 module reads the card in reader “%s”, so its certificates "
                 "cannot be shown. Ask your administrator to install OpenSC."),
               data->reader);
  return NULL;
}

static GListModel *
list_certificates (ListData      *data,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(CardpinP11Modules) loaded = NULL;
  CK_FUNCTION_LIST *funcs;
  CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
  CK_ATTRIBUTE match[] = { { CKA_CLASS, &klass, sizeof klass } };
  CK_OBJECT_HANDLE objects[64];
  CK_SESSION_HANDLE session;
  CK_ULONG n = 0;
  g_autoptr(GListStore) store = g_list_store_new (CARDPIN_TYPE_CERTIFICATE);
  CK_RV rv;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (data->modules == NULL)
    {
      loaded = load_for_reader (data, error);
      if (loaded == NULL)
        return NULL;
    }
  funcs = cardpin_p11_modules_get (loaded != NULL ? loaded : data->modules,
                                   data->module_index);

  rv = funcs->C_OpenSession (data->slot, CKF_SERIAL_SESSION, NULL, NULL, &session);
  if (!cardpin_p11_set_error (error, rv, "C_OpenSession"))
    return NULL;

  rv = funcs->C_FindObjectsInit (session, match, G_N_ELEMENTS (match));
  if (rv == CKR_OK)
    {
      rv = funcs->C_FindObjects (session, objects, G_N_ELEMENTS (objects), &n);
      funcs->C_FindObjectsFinal (session);
    }
  if (rv != CKR_OK)
    {
      funcs->C_CloseSession (session);
      cardpin_p11_set_error (error, rv, "C_FindObjects");
      return NULL;
    }

  for (CK_ULONG i = 0; i < n; i++)
    {
      g_autoptr(CardpinCertificate) certificate = certificate_new (funcs, session, data->is_piv,
                                                                          objects[i]);

      if (certificate != NULL)
        g_list_store_append (store, certificate);
    }

  /* never held beyond this read */
  funcs->C_CloseSession (session);
  return G_LIST_MODEL (g_steal_pointer (&store));
}

static void
list_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  GListModel *certificates = list_certificates (task_data, cancellable, &error);

  if (certificates == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, certificates, g_object_unref);
}

/* Overrides */

static void
cardpin_certificate_finalize (GObject *object)
{
  CardpinCertificate *self = CARDPIN_CERTIFICATE (object);

  g_free (self->label);
  g_free (self->subject);
  g_free (self->issuer);
  g_clear_pointer (&self->not_before, g_date_time_unref);
  g_clear_pointer (&self->not_after, g_date_time_unref);
  g_strfreev (self->key_usages);

  G_OBJECT_CLASS (cardpin_certificate_parent_class)->finalize (object);
}

static void
cardpin_certificate_class_init (CardpinCertificateClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cardpin_certificate_finalize;
}

static void
cardpin_certificate_init (CardpinCertificate *self)
{
}

/* Public API */

const char *
cardpin_certificate_get_label (CardpinCertificate *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATE (self), NULL);
  return self->label;
}

const char *
cardpin_certificate_get_subject (CardpinCertificate *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATE (self), NULL);
  return self->subject;
}

const char *
cardpin_certificate_get_issuer (CardpinCertificate *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATE (self), NULL);
  return self->issuer;
}

GDateTime *
cardpin_certificate_get_not_before (CardpinCertificate *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATE (self), NULL);
  return self->not_before;
}

GDateTime *
cardpin_certificate_get_not_after (CardpinCertificate *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATE (self), NULL);
  return self->not_after;
}

const char * const *
cardpin_certificate_get_key_usages (CardpinCertificate *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATE (self), NULL);
  return (const char * const *) self->key_usages;
}

CardpinKeyPin
cardpin_certificate_get_key_pin (CardpinCertificate *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATE (self), CARDPIN_KEY_PIN_UNKNOWN);
  return self->key_pin;
}

/**
 * cardpin_token_list_certificates:
 * @token: a token
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Reads the token's certificates through its PKCS#11 module, in one read-only session
 * without a login, closed before returning.
 *
 * Returns: (transfer full): a #GListModel of #CardpinCertificate, or %NULL with @error
 */
GListModel *
cardpin_token_list_certificates (CardpinToken  *token,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  g_autoptr(GListModel) certificates = NULL;
  ListData *data;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  data = list_data_new (token);
  certificates = list_certificates (data, cancellable, error);
  list_data_free (data);
  return g_steal_pointer (&certificates);
}

void
cardpin_token_list_certificates_async (CardpinToken        *token,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CARDPIN_IS_TOKEN (token));

  task = g_task_new (token, cancellable, callback, user_data);
  g_task_set_source_tag (task, cardpin_token_list_certificates_async);
  g_task_set_task_data (task, list_data_new (token), (GDestroyNotify) list_data_free);
  g_task_run_in_thread (task, list_thread);
}

GListModel *
cardpin_token_list_certificates_finish (CardpinToken  *token,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);
  g_return_val_if_fail (g_task_is_valid (result, token), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_token_list_certificates_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
