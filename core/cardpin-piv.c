/* cardpin-piv.c — PIV card driver (NIST SP 800-73) over a card connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-error.h"
#include "cardpin-piv.h"
#include "cardpin-secret.h"

#define INS_SELECT        0xA4
#define INS_VERIFY        0x20
#define INS_GET_DATA      0xCB
#define INS_GET_METADATA  0xF7

static const guint8 piv_aid[] = { 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00 };
static const guint8 chuid_tag[] = { 0x5C, 0x03, 0x5F, 0xC1, 0x02 };

static CardpinApduResponse *
send_command (const CardpinCardIo  *io,
              guint8                ins,
              guint8                p1,
              guint8                p2,
              const guint8         *data,
              gsize                 data_len,
              int                   le,
              GError              **error)
{
  g_auto(CardpinApdu) apdu = { 0 };

  if (!cardpin_apdu_build (&apdu, 0x00, ins, p1, p2, data, data_len, le))
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                   _("Internal error: cannot encode a card command."));
      return NULL;
    }
  return cardpin_card_io_transceive (io, &apdu, error);
}

static gboolean get_pin_tries_by_verify (const CardpinCardIo  *io,
                                         CardpinPivTries      *tries,
                                         GError              **error);

static void
set_unexpected (GError  **error,
                guint16   sw)
{
  g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
               _("The card answered unexpectedly (status %04X). Remove the card and insert "
                 "it again."), sw);
}

/**
 * cardpin_piv_select:
 * @io: the card
 * @error: return location
 *
 * Selects the PIV application.
 *
 * Returns: %TRUE when the card has one; %FALSE with %CARDPIN_ERROR_NOT_SUPPORTED when it
 *   does not, or another error
 */
gboolean
cardpin_piv_select (const CardpinCardIo  *io,
                    GError              **error)
{
  g_autoptr(CardpinApduResponse) response = NULL;

  response = send_command (io, INS_SELECT, 0x04, 0x00, piv_aid, sizeof piv_aid, 256, error);
  if (response == NULL)
    return FALSE;

  if (cardpin_sw_is_ok (response->sw))
    return TRUE;

  /* only the answers that mean "no such application" make this a card without PIV
   * (another route may serve it); anything else is the card failing */
  if (cardpin_piv_sw_means_no_applet (response->sw))
    g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                 _("This card has no PIV application."));
  else
    set_unexpected (error, response->sw);
  return FALSE;
}

/**
 * cardpin_piv_sw_means_no_applet:
 * @sw: the status word of a SELECT of the PIV application
 *
 * Returns: whether @sw says that the card has no PIV application: 6A82 (not found),
 *   6A81 (function not supported), 6A86 (wrong P1-P2: no selection by AID), 6999
 *   (applet selection failed), 6D00 / 6E00 (instruction or class not supported)
 */
gboolean
cardpin_piv_sw_means_no_applet (guint16 sw)
{
  switch (sw)
    {
    case CARDPIN_SW_FILE_NOT_FOUND:
    case 0x6A81:
    case CARDPIN_SW_INCORRECT_P1P2:
    case 0x6999:
    case CARDPIN_SW_INS_NOT_SUPPORTED:
    case CARDPIN_SW_CLA_NOT_SUPPORTED:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Nothing known of a counter yet */
static void
tries_unknown (CardpinPivTries *tries)
{
  tries->tries_left = -1;
  tries->tries_max = -1;
  tries->is_default = -1;
  tries->algorithm = -1;
}

/**
 * cardpin_piv_parse_metadata:
 * @data: the data of a GET METADATA answer
 * @len: its length
 * @tries: (out): what it says
 *
 * Parses YubiKey-style PIV metadata: 05 01 <default?>, 06 02 <max> <left>.
 *
 * Returns: whether @data holds a well-formed retry counter (tag 06)
 */
gboolean
cardpin_piv_parse_metadata (const guint8    *data,
                            gsize            len,
                            CardpinPivTries *tries)
{
  const guint8 *value;
  gsize value_len;

  tries_unknown (tries);

  value = cardpin_tlv_find (data, len, 0x01, &value_len);
  if (value != NULL && value_len == 1)
    tries->algorithm = value[0];

  value = cardpin_tlv_find (data, len, 0x05, &value_len);
  if (value != NULL && value_len == 1)
    tries->is_default = value[0] != 0;

  value = cardpin_tlv_find (data, len, 0x06, &value_len);
  if (value == NULL || value_len != 2 || value[1] > value[0] || value[0] == 0)
    return FALSE;

  tries->tries_max = value[0];
  tries->tries_left = value[1];
  return TRUE;
}

/**
 * cardpin_piv_get_tries:
 * @io: the card, PIV selected
 * @key_ref: %CARDPIN_PIV_KEY_PIN, %CARDPIN_PIV_KEY_PUK or %CARDPIN_PIV_KEY_ADMIN
 * @tries: (out): the counter; -1 fields where the card cannot tell
 * @error: return location
 *
 * Reads a retry counter without spending a try: GET METADATA (00 F7 00 @key_ref) where
 * the card has it; for the PIN an empty VERIFY (63CX) otherwise.
 *
 * Returns: %FALSE only on transport errors or malformed answers
 */
gboolean
cardpin_piv_get_tries (const CardpinCardIo  *io,
                       guint8                key_ref,
                       CardpinPivTries      *tries,
                       GError              **error)
{
  g_autoptr(CardpinApduResponse) response = NULL;

  tries_unknown (tries);

  response = send_command (io, INS_GET_METADATA, 0x00, key_ref, NULL, 0, 256, error);
  if (response == NULL)
    return FALSE;

  if (cardpin_sw_is_ok (response->sw))
    {
      if (cardpin_piv_parse_metadata (response->data, response->len, tries))
        return TRUE;
      g_debug ("PIV metadata for %02X has no valid retry counter", key_ref);
    }
  else
    {
      g_debug ("GET METADATA %02X: %04X (%s)", key_ref, response->sw,
               cardpin_sw_describe (response->sw));
    }

  if (key_ref != CARDPIN_PIV_KEY_PIN)
    return TRUE;
  return get_pin_tries_by_verify (io, tries, error);
}

/**
 * cardpin_piv_get_selected_pin_tries:
 * @io: the card, any application selected
 * @tries: (out): the PIN's counter, when @found
 * @found: (out): whether the card answered: the PIV application is selected, and has
 *   metadata
 * @sw: (out) (optional): the status word of the answer
 * @error: return location
 *
 * GET METADATA of the PIN, without a SELECT: one command that leaves the card's security
 * state alone. Only PIV answers GET METADATA of key 80 with a well-formed retry counter.
 *
 * Returns: %FALSE only when the card could not be asked
 */
gboolean
cardpin_piv_get_selected_pin_tries (const CardpinCardIo  *io,
                                    CardpinPivTries      *tries,
                                    gboolean             *found,
                                    guint16              *sw,
                                    GError              **error)
{
  g_autoptr(CardpinApduResponse) response = NULL;

  *found = FALSE;
  tries_unknown (tries);
  response = send_command (io, INS_GET_METADATA, 0x00, CARDPIN_PIV_KEY_PIN, NULL, 0, 256,
                           error);
  if (response == NULL)
    return FALSE;
  if (sw != NULL)
    *sw = response->sw;
  *found = cardpin_sw_is_ok (response->sw) &&
           cardpin_piv_parse_metadata (response->data, response->len, tries);
  return TRUE;
}

/**
 * cardpin_piv_read_pin_tries:
 * @io: the card, in a transaction, any application selected
 * @tries: (out): the PIN's counter; -1 fields where the card cannot tell
 * @error: return location
 *
 * Reads the PIN's retry counter without spending a try and, where the card allows,
 * without touching its security state: when the PIV application is still selected (as
 * OpenSC or an earlier read leave it) GET METADATA answers at once, one command. Only
 * otherwise is the application selected, which on YubiKey-like cards clears a verified
 * PIN and makes the next PKCS#11 login (pam_sss, pam_pkcs11) read the card's objects and
 * verify again. For the login-screen check, which runs in front of such a login.
 *
 * Returns: %TRUE with @tries filled; %FALSE with %CARDPIN_ERROR_NOT_SUPPORTED when the
 *   card has no PIV application, or another error
 */
gboolean
cardpin_piv_read_pin_tries (const CardpinCardIo  *io,
                            CardpinPivTries      *tries,
                            GError              **error)
{
  gboolean found;
  guint16 sw;

  if (!cardpin_piv_get_selected_pin_tries (io, tries, &found, &sw, error))
    return FALSE;
  if (found)
    return TRUE;

  if (!cardpin_piv_select (io, error))
    return FALSE;
  /* a card without metadata is asked with an empty VERIFY at once (@tries is still
   * unknown: the answer was no metadata) */
  if (sw == CARDPIN_SW_INS_NOT_SUPPORTED)
    return get_pin_tries_by_verify (io, tries, error);
  return cardpin_piv_get_tries (io, CARDPIN_PIV_KEY_PIN, tries, error);
}

/* The PIN's counter from an empty VERIFY, which never spends a try (PIV selected) */
static gboolean
get_pin_tries_by_verify (const CardpinCardIo  *io,
                         CardpinPivTries      *tries,
                         GError              **error)
{
  g_autoptr(CardpinApduResponse) verify = NULL;
  int left;

  verify = send_command (io, INS_VERIFY, 0x00, CARDPIN_PIV_KEY_PIN, NULL, 0,
                         CARDPIN_APDU_NO_LE, error);
  if (verify == NULL)
    return FALSE;

  left = cardpin_sw_tries_left (verify->sw);
  if (left >= 0)
    tries->tries_left = left;
  else if (verify->sw == CARDPIN_SW_AUTH_BLOCKED)
    tries->tries_left = 0;
  else if (!cardpin_sw_is_ok (verify->sw))
    g_debug ("empty VERIFY: %04X (%s)", verify->sw, cardpin_sw_describe (verify->sw));
  /* 9000: verified in this card session, so the counter is at its (unknown) maximum */

  return TRUE;
}

/**
 * cardpin_piv_parse_chuid:
 * @data: the data of a GET DATA answer for the CHUID (53 { ... 34 <GUID> ... })
 * @len: its length
 *
 * Returns: (transfer full) (nullable): the GUID as 32 uppercase hex digits, or %NULL
 *   when absent, malformed or all zeros
 */
char *
cardpin_piv_parse_chuid (const guint8 *data,
                         gsize         len)
{
  const guint8 *inner;
  const guint8 *guid;
  gsize inner_len;
  gsize guid_len;
  gsize i;

  inner = cardpin_tlv_find (data, len, 0x53, &inner_len);
  if (inner == NULL)
    return NULL;
  guid = cardpin_tlv_find (inner, inner_len, 0x34, &guid_len);
  if (guid == NULL || guid_len != 16)
    return NULL;

  for (i = 0; i < guid_len; i++)
    if (guid[i] != 0)
      return cardpin_hex_encode (guid, guid_len);

  return NULL;
}

/**
 * cardpin_piv_read_serial:
 * @io: the card, PIV selected
 * @error: return location
 *
 * Reads the CHUID and returns its GUID.
 *
 * Returns: (transfer full) (nullable): 32 uppercase hex digits; %NULL without @error
 *   set when the card has no usable CHUID
 */
char *
cardpin_piv_read_serial (const CardpinCardIo  *io,
                         GError              **error)
{
  g_autoptr(CardpinApduResponse) response = NULL;

  response = send_command (io, INS_GET_DATA, 0x3F, 0xFF, chuid_tag, sizeof chuid_tag, 256,
                           error);
  if (response == NULL)
    return NULL;

  if (response->sw == CARDPIN_SW_FILE_NOT_FOUND)
    return NULL;
  if (!cardpin_sw_is_ok (response->sw))
    {
      set_unexpected (error, response->sw);
      return NULL;
    }

  return cardpin_piv_parse_chuid (response->data, response->len);
}

/* The largest certificate accepted, compressed or not */
#define CERT_MAX (16 * 1024)

static GBytes *
gunzip_bounded (const guint8 *data,
                gsize         len)
{
  g_autoptr(GZlibDecompressor) decompressor = NULL;
  g_autofree guint8 *out = g_malloc (CERT_MAX);
  gsize in_done = 0;
  gsize out_done = 0;

  decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  for (;;)
    {
      gsize read = 0;
      gsize written = 0;
      GConverterResult result;

      if (out_done == CERT_MAX)
        return NULL;
      result = g_converter_convert (G_CONVERTER (decompressor), data + in_done,
                                    len - in_done, out + out_done, CERT_MAX - out_done,
                                    G_CONVERTER_INPUT_AT_END, &read, &written, NULL);
      in_done += read;
      out_done += written;
      if (result == G_CONVERTER_FINISHED)
        return g_bytes_new (out, out_done);
      if (result == G_CONVERTER_ERROR || (read == 0 && written == 0))
        return NULL;
    }
}

/* The @index-th element of a DER SEQUENCE's value that is not a context tag [0] (the
 * optional version of a TBSCertificate), or %NULL */
static const guint8 *
der_element (const guint8 *seq,
             gsize         seq_len,
             guint         index,
             guint        *tag,
             gsize        *len)
{
  const guint8 *value;
  gsize offset = 0;
  gsize value_len;
  guint t;

  while (cardpin_tlv_next (seq, seq_len, &offset, &t, &value, &value_len))
    {
      if (t == 0xA0)
        continue;
      if (index-- == 0)
        {
          *tag = t;
          *len = value_len;
          return value;
        }
    }
  return NULL;
}

/* A directory string as UTF-8: UTF8String, PrintableString, IA5String, T61String (taken
 * as UTF-8, as OpenSC does) or BMPString (UCS-2 big-endian) */
static char *
der_string (guint         tag,
            const guint8 *value,
            gsize         len)
{
  g_autofree gunichar2 *utf16 = NULL;

  switch (tag)
    {
    case 0x0C:
    case 0x13:
    case 0x14:
    case 0x16:
      if (!g_utf8_validate_len ((const char *) value, len, NULL))
        return NULL;
      return g_strndup ((const char *) value, len);
    case 0x1E:
      if (len % 2 != 0)
        return NULL;
      utf16 = g_new0 (gunichar2, len / 2 + 1);
      for (gsize i = 0; i < len / 2; i++)
        utf16[i] = (gunichar2) (value[2 * i] << 8 | value[2 * i + 1]);
      return g_utf16_to_utf8 (utf16, (glong) (len / 2), NULL, NULL, NULL);
    default:
      return NULL;
    }
}

/* The first common name (2.5.4.3) of an X.509 certificate's subject */
static char *
cert_subject_cn (const guint8 *der,
                 gsize         der_len)
{
  static const guint8 cn_oid[] = { 0x55, 0x04, 0x03 };
  const guint8 *cert, *tbs, *subject;
  gsize cert_len, tbs_len, subject_len;
  gsize rdn_offset = 0;
  guint tag;

  cert = cardpin_tlv_find (der, der_len, 0x30, &cert_len);
  if (cert == NULL)
    return NULL;
  tbs = cardpin_tlv_find (cert, cert_len, 0x30, &tbs_len);
  if (tbs == NULL)
    return NULL;
  /* serial number, signature algorithm, issuer, validity, subject */
  subject = der_element (tbs, tbs_len, 4, &tag, &subject_len);
  if (subject == NULL || tag != 0x30)
    return NULL;

  for (;;)
    {
      const guint8 *rdn;
      gsize rdn_len;
      gsize attr_offset = 0;

      if (!cardpin_tlv_next (subject, subject_len, &rdn_offset, &tag, &rdn, &rdn_len))
        return NULL;
      if (tag != 0x31)
        continue;

      for (;;)
        {
          const guint8 *attr, *oid, *value;
          gsize attr_len, oid_len, value_len;
          gsize offset = 0;
          guint value_tag;

          if (!cardpin_tlv_next (rdn, rdn_len, &attr_offset, &tag, &attr, &attr_len))
            break;
          if (tag != 0x30 ||
              !cardpin_tlv_next (attr, attr_len, &offset, &tag, &oid, &oid_len) ||
              tag != 0x06 || oid_len != sizeof cn_oid ||
              memcmp (oid, cn_oid, sizeof cn_oid) != 0)
            continue;
          if (!cardpin_tlv_next (attr, attr_len, &offset, &value_tag, &value, &value_len))
            return NULL;
          return der_string (value_tag, value, value_len);
        }
    }
}

/**
 * cardpin_piv_parse_cert_holder:
 * @data: the data of a GET DATA answer for a certificate object (53 { 70 <cert>
 *   71 <info> ... })
 * @len: its length
 *
 * The holder's name as OpenSC shows it for the token label: the first common name of
 * the certificate's subject. A gzip-compressed certificate (71 with bit 0 set) is
 * decompressed, up to 16 KiB. Only the DER structure down to the subject is read; the
 * certificate is not verified (it is a name to show, not a credential).
 *
 * Returns: (transfer full) (nullable): the common name as UTF-8 without control
 *   characters, or %NULL when absent or malformed
 */
char *
cardpin_piv_parse_cert_holder (const guint8 *data,
                               gsize         len)
{
  g_autoptr(GBytes) inflated = NULL;
  const guint8 *inner;
  const guint8 *cert;
  const guint8 *info;
  gsize inner_len;
  gsize cert_len;
  gsize info_len;
  char *holder;

  inner = cardpin_tlv_find (data, len, 0x53, &inner_len);
  if (inner == NULL)
    return NULL;
  cert = cardpin_tlv_find (inner, inner_len, 0x70, &cert_len);
  if (cert == NULL || cert_len == 0 || cert_len > CERT_MAX)
    return NULL;
  info = cardpin_tlv_find (inner, inner_len, 0x71, &info_len);
  if (info != NULL && info_len == 1 && (info[0] & 0x01))
    {
      inflated = gunzip_bounded (cert, cert_len);
      if (inflated == NULL)
        return NULL;
      cert = g_bytes_get_data (inflated, &cert_len);
    }

  holder = cert_subject_cn (cert, cert_len);
  if (holder == NULL)
    return NULL;
  /* a NUL ends it; control characters become spaces; an empty name is no name */
  for (char *p = holder; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p))
      *p = ' ';
  if (*holder == '\0')
    g_clear_pointer (&holder, g_free);
  return holder;
}

/**
 * cardpin_piv_read_holder:
 * @io: the card, PIV selected
 * @error: return location
 *
 * Reads the PIV authentication certificate (5FC105, key 9A) and returns its subject's
 * common name: what OpenSC shows as the token label.
 *
 * Returns: (transfer full) (nullable): the holder's name; %NULL without @error set
 *   when the card has no such certificate or it is unreadable
 */
char *
cardpin_piv_read_holder (const CardpinCardIo  *io,
                         GError              **error)
{
  static const guint8 cert_9a_tag[] = { 0x5C, 0x03, 0x5F, 0xC1, 0x05 };
  g_autoptr(CardpinApduResponse) response = NULL;

  response = send_command (io, INS_GET_DATA, 0x3F, 0xFF, cert_9a_tag, sizeof cert_9a_tag,
                           256, error);
  if (response == NULL)
    return NULL;

  if (!cardpin_sw_is_ok (response->sw))
    {
      g_debug ("GET DATA 5FC105: %04X (%s)", response->sw,
               cardpin_sw_describe (response->sw));
      return NULL;
    }
  return cardpin_piv_parse_cert_holder (response->data, response->len);
}

/* PIN operations */

#define INS_CHANGE_REFERENCE    0x24
#define INS_RESET_RETRY_COUNTER 0x2C
#define INS_GENERAL_AUTHENTICATE 0x87
#define PIV_ALG_3DES            0x03
#define PIV_ALG_AES128          0x08

/**
 * cardpin_piv_set_sw_error:
 * @error: return location
 * @key_ref: the reference the command used (80 PIN, 81 PUK, 9B admin key)
 * @sw: the card's status word
 * @changing: whether the command changed the reference's value (CHANGE REFERENCE DATA
 *   or RESET RETRY COUNTER): a refusal with 6985 then means the card allows no more
 *   changes
 *
 * Turns a failing status word into an error a user interface can act on.
 */
void
cardpin_piv_set_sw_error (GError  **error,
                          guint8    key_ref,
                          guint16   sw,
                          gboolean  changing)
{
  int left = cardpin_sw_tries_left (sw);

  if (sw == CARDPIN_SW_AUTH_BLOCKED)
    left = 0;

  if (left >= 0)
    {
      switch (key_ref)
        {
        case CARDPIN_PIV_KEY_PUK:
          if (left == 0)
            cardpin_set_error_with_tries (error, CARDPIN_ERROR_PUK_BLOCKED, 0,
                                          _("The PUK is blocked. Ask your administrator to "
                                            "unblock the card."));
          else
            cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_PUK, left,
                                          g_dngettext (GETTEXT_PACKAGE,
                                                       "Wrong PUK. %d try left before the "
                                                       "PUK is blocked.",
                                                       "Wrong PUK. %d tries left before the "
                                                       "PUK is blocked.", left), left);
          return;

        case CARDPIN_PIV_KEY_ADMIN:
          if (left == 0)
            cardpin_set_error_with_tries (error, CARDPIN_ERROR_ADMIN_BLOCKED, 0,
                                          _("The card's unblock key is blocked. The card "
                                            "must be replaced or reset by its issuer."));
          else
            cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_RESPONSE, left,
                                          g_dngettext (GETTEXT_PACKAGE,
                                                       "The card did not accept the "
                                                       "response code. %d try left; start "
                                                       "again with a new challenge.",
                                                       "The card did not accept the "
                                                       "response code. %d tries left; start "
                                                       "again with a new challenge.", left),
                                          left);
          return;

        default:
          if (left == 0)
            cardpin_set_error_with_tries (error, CARDPIN_ERROR_PIN_BLOCKED, 0,
                                          _("The PIN is blocked. Unblock it with your PUK "
                                            "or ask your administrator."));
          else
            cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_PIN, left,
                                          g_dngettext (GETTEXT_PACKAGE,
                                                       "Wrong PIN. %d try left before the "
                                                       "PIN is blocked.",
                                                       "Wrong PIN. %d tries left before the "
                                                       "PIN is blocked.", left), left);
          return;
        }
    }

  switch (sw)
    {
    case CARDPIN_SW_CONDITIONS_NOT_SATISFIED:
      if (changing && key_ref == CARDPIN_PIV_KEY_PIN)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PIN_CHANGE_LIMITED,
                       _("This card's PIN can no longer be changed. Keep using your "
                         "current PIN, or ask your administrator for a new card."));
          return;
        }
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("The card refused the operation. Ask your administrator."));
      return;

    case CARDPIN_SW_WRONG_DATA:
    case CARDPIN_SW_WRONG_LENGTH:
      if (changing)
        {
          cardpin_set_policy_error (error, CARDPIN_POLICY_BAD_CHARACTER,
                                    _("The card does not accept this new value. Use 6 to "
                                      "8 digits."));
          return;
        }
      break;

    case CARDPIN_SW_SECURITY_NOT_SATISFIED:
      if (key_ref == CARDPIN_PIV_KEY_ADMIN)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED,
                       _("The challenge is no longer valid. Start again with a new "
                         "challenge."));
          return;
        }
      break;

    case CARDPIN_SW_INS_NOT_SUPPORTED:
    case CARDPIN_SW_INCORRECT_P1P2:
    case CARDPIN_SW_REF_NOT_FOUND:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("This card cannot do that."));
      return;

    default:
      break;
    }

  set_unexpected (error, sw);
}

/**
 * cardpin_piv_check_reference:
 * @value: a PIN or PUK as typed
 * @key: %CARDPIN_PIV_KEY_PIN or %CARDPIN_PIV_KEY_PUK
 * @is_new: whether @value is to be set (otherwise it is the current one)
 * @error: return location
 *
 * Whether @value is something a PIV card can hold: 6 to 8 bytes, none of them a control
 * character (NUL included) or the padding byte 0xFF. A current value that fails this
 * cannot be right, so it must never reach the card, where it would cost a try.
 *
 * Returns: %TRUE when @value can be sent
 */
gboolean
cardpin_piv_check_reference (const CardpinSecret  *value,
                             guint8                key,
                             gboolean              is_new,
                             GError              **error)
{
  gsize len = cardpin_secret_get_length (value);
  const guint8 *data = cardpin_secret_get_data (value);
  gboolean puk = key == CARDPIN_PIV_KEY_PUK;
  const char *what;

  for (gsize i = 0; i < len; i++)
    if (data[i] < 0x20 || data[i] == 0x7F || data[i] == 0xFF)
      {
        if (is_new)
          what = puk ? _("The new PUK holds a character a card cannot take. Use digits.")
                     : _("The new PIN holds a character a card cannot take. Use digits.");
        else
          what = puk ? _("This cannot be your PUK: it holds a character a card cannot take. "
                         "Nothing was sent to the card and no try was used.")
                     : _("This cannot be your PIN: it holds a character a card cannot take. "
                         "Nothing was sent to the card and no try was used.");
        cardpin_set_policy_error (error, CARDPIN_POLICY_BAD_CHARACTER, "%s", what);
        return FALSE;
      }

  if (len >= CARDPIN_PIV_PIN_MIN && len <= CARDPIN_PIV_PIN_MAX)
    return TRUE;

  if (is_new)
    what = puk ? _("A PIV card's PUK has 6 to 8 characters. Choose one of that length.")
               : _("A PIV card's PIN has 6 to 8 characters. Choose one of that length.");
  else
    what = puk ? _("This cannot be your PUK: a PIV card's PUK has 6 to 8 characters. "
                   "Nothing was sent to the card and no try was used.")
               : _("This cannot be your PIN: a PIV card's PIN has 6 to 8 characters. "
                   "Nothing was sent to the card and no try was used.");
  cardpin_set_policy_error (error,
                            len > CARDPIN_PIV_PIN_MAX ? CARDPIN_POLICY_TOO_LONG
                                                      : CARDPIN_POLICY_TOO_SHORT,
                            "%s", what);
  return FALSE;
}

/* FF-pads a PIN or PUK, checked with cardpin_piv_check_reference(), to 8 bytes */
static gboolean
pad_reference (const CardpinSecret  *value,
               guint8                key,
               guint8                out[8],
               gboolean              is_new,
               GError              **error)
{
  if (!cardpin_piv_check_reference (value, key, is_new, error))
    return FALSE;

  memset (out, 0xFF, 8);
  memcpy (out, cardpin_secret_get_data (value), cardpin_secret_get_length (value));
  return TRUE;
}

static guint16
send_secret (const CardpinCardIo  *io,
             guint8                ins,
             guint8                p1,
             guint8                p2,
             const guint8         *data,
             gsize                 data_len,
             GError              **error)
{
  g_autoptr(CardpinApduResponse) response = NULL;

  response = send_command (io, ins, p1, p2, data, data_len, CARDPIN_APDU_NO_LE, error);
  if (response == NULL)
    return 0;
  /* 0 means "no answer" to the callers: a card answering SW 0000 is malformed */
  if (response->sw == 0)
    set_unexpected (error, response->sw);
  return response->sw;
}

/**
 * cardpin_piv_verify:
 * @io: the card, PIV selected
 * @pin: the PIN
 * @error: return location
 *
 * VERIFY 00 20 00 80. On success the PIN stays verified in this card session: call
 * cardpin_piv_logout() when done.
 */
gboolean
cardpin_piv_verify (const CardpinCardIo  *io,
                    const CardpinSecret  *pin,
                    GError              **error)
{
  guint8 block[8];
  guint16 sw;

  if (!pad_reference (pin, CARDPIN_PIV_KEY_PIN, block, FALSE, error))
    return FALSE;
  sw = send_secret (io, INS_VERIFY, 0x00, CARDPIN_PIV_KEY_PIN, block, sizeof block, error);
  cardpin_secret_wipe (block, sizeof block);
  if (sw == 0)
    return FALSE;
  if (!cardpin_sw_is_ok (sw))
    {
      cardpin_piv_set_sw_error (error, CARDPIN_PIV_KEY_PIN, sw, FALSE);
      return FALSE;
    }
  return TRUE;
}

/**
 * cardpin_piv_logout:
 * @io: the card, PIV selected
 * @error: return location
 *
 * VERIFY 00 20 FF 80 resets the PIN's security status; then an empty VERIFY checks that
 * the PIN is no longer verified (9000 there would mean it still is).
 *
 * Returns: %TRUE when the card has verifiably forgotten the PIN; otherwise reset it
 */
gboolean
cardpin_piv_logout (const CardpinCardIo  *io,
                    GError              **error)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  g_autoptr(CardpinApduResponse) check = NULL;

  response = send_command (io, INS_VERIFY, 0xFF, CARDPIN_PIV_KEY_PIN, NULL, 0,
                           CARDPIN_APDU_NO_LE, error);
  if (response == NULL)
    return FALSE;
  if (!cardpin_sw_is_ok (response->sw))
    {
      set_unexpected (error, response->sw);
      return FALSE;
    }

  check = send_command (io, INS_VERIFY, 0x00, CARDPIN_PIV_KEY_PIN, NULL, 0,
                        CARDPIN_APDU_NO_LE, error);
  if (check == NULL)
    return FALSE;
  if (cardpin_sw_is_ok (check->sw))
    {
      g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
                           _("The card still counts the PIN as entered after the log-out."));
      return FALSE;
    }
  return TRUE;
}

/**
 * cardpin_piv_change_reference:
 * @io: the card, PIV selected
 * @key_ref: %CARDPIN_PIV_KEY_PIN or %CARDPIN_PIV_KEY_PUK
 * @old_value: the current value
 * @new_value: the new value (6 to 8 characters)
 * @error: return location
 *
 * CHANGE REFERENCE DATA 00 24 00 @key_ref with old||new, FF-padded.
 */
gboolean
cardpin_piv_change_reference (const CardpinCardIo  *io,
                              guint8                key_ref,
                              const CardpinSecret  *old_value,
                              const CardpinSecret  *new_value,
                              GError              **error)
{
  guint8 block[16];
  guint16 sw;

  if (!pad_reference (old_value, key_ref, block, FALSE, error) ||
      !pad_reference (new_value, key_ref, block + 8, TRUE, error))
    {
      cardpin_secret_wipe (block, sizeof block);
      return FALSE;
    }
  sw = send_secret (io, INS_CHANGE_REFERENCE, 0x00, key_ref, block, sizeof block, error);
  cardpin_secret_wipe (block, sizeof block);
  if (sw == 0)
    return FALSE;
  if (!cardpin_sw_is_ok (sw))
    {
      cardpin_piv_set_sw_error (error, key_ref, sw, TRUE);
      return FALSE;
    }
  return TRUE;
}

/**
 * cardpin_piv_reset_retry_counter:
 * @io: the card, PIV selected
 * @puk: the PUK
 * @new_pin: the new PIN
 * @error: return location
 *
 * RESET RETRY COUNTER 00 2C 00 80 with PUK||new PIN, FF-padded: sets the PIN and resets
 * its counter.
 */
gboolean
cardpin_piv_reset_retry_counter (const CardpinCardIo  *io,
                                 const CardpinSecret  *puk,
                                 const CardpinSecret  *new_pin,
                                 GError              **error)
{
  guint8 block[16];
  guint16 sw;

  if (!pad_reference (puk, CARDPIN_PIV_KEY_PUK, block, FALSE, error) ||
      !pad_reference (new_pin, CARDPIN_PIV_KEY_PIN, block + 8, TRUE, error))
    {
      cardpin_secret_wipe (block, sizeof block);
      return FALSE;
    }
  sw = send_secret (io, INS_RESET_RETRY_COUNTER, 0x00, CARDPIN_PIV_KEY_PIN, block,
                    sizeof block, error);
  cardpin_secret_wipe (block, sizeof block);
  if (sw == 0)
    return FALSE;
  if (!cardpin_sw_is_ok (sw))
    {
      /* the PUK's counter answers here */
      cardpin_piv_set_sw_error (error, CARDPIN_PIV_KEY_PUK, sw, TRUE);
      return FALSE;
    }
  return TRUE;
}

static CardpinApduResponse *
request_challenge (const CardpinCardIo  *io,
                   guint8                algorithm,
                   GError              **error)
{
  static const guint8 ask[] = { 0x7C, 0x02, 0x81, 0x00 };

  return send_command (io, INS_GENERAL_AUTHENTICATE, algorithm, CARDPIN_PIV_KEY_ADMIN,
                       ask, sizeof ask, 256, error);
}

/**
 * cardpin_piv_admin_challenge:
 * @io: the card, PIV selected, inside a transaction the caller keeps
 * @algorithm: (inout): 0 to find out (GET METADATA 9B, else AES-128 then 3DES), or the
 *   algorithm to use; set to the one used
 * @error: return location
 *
 * GENERAL AUTHENTICATE 00 87 @algorithm 9B 7C 02 81 00: the card's challenge.
 *
 * Returns: (transfer full): the challenge (8 bytes for 3DES, 16 for AES)
 */
GBytes *
cardpin_piv_admin_challenge (const CardpinCardIo  *io,
                             guint8               *algorithm,
                             GError              **error)
{
  g_autoptr(CardpinApduResponse) response = NULL;
  const guint8 *template;
  const guint8 *challenge;
  gsize template_len;
  gsize challenge_len;
  gsize expected;

  if (*algorithm == 0)
    {
      g_autoptr(CardpinApduResponse) metadata = NULL;

      metadata = send_command (io, INS_GET_METADATA, 0x00, CARDPIN_PIV_KEY_ADMIN, NULL, 0,
                               256, error);
      if (metadata == NULL)
        return NULL;
      if (cardpin_sw_is_ok (metadata->sw))
        {
          const guint8 *alg;
          gsize alg_len;

          alg = cardpin_tlv_find (metadata->data, metadata->len, 0x01, &alg_len);
          if (alg != NULL && alg_len == 1 &&
              (alg[0] == PIV_ALG_AES128 || alg[0] == PIV_ALG_3DES))
            *algorithm = alg[0];
        }
    }

  if (*algorithm == 0)
    {
      /* a mismatched algorithm is refused with 6A86 and costs nothing */
      response = request_challenge (io, PIV_ALG_AES128, error);
      if (response == NULL)
        return NULL;
      *algorithm = PIV_ALG_AES128;
      if (response->sw == CARDPIN_SW_INCORRECT_P1P2)
        {
          g_clear_pointer (&response, cardpin_apdu_response_free);
          *algorithm = PIV_ALG_3DES;
        }
    }

  if (response == NULL)
    {
      response = request_challenge (io, *algorithm, error);
      if (response == NULL)
        return NULL;
    }

  if (!cardpin_sw_is_ok (response->sw))
    {
      cardpin_piv_set_sw_error (error, CARDPIN_PIV_KEY_ADMIN, response->sw, FALSE);
      return NULL;
    }

  expected = *algorithm == PIV_ALG_AES128 ? 16 : 8;
  template = cardpin_tlv_find (response->data, response->len, 0x7C, &template_len);
  challenge = template ? cardpin_tlv_find (template, template_len, 0x81, &challenge_len)
                       : NULL;
  if (challenge == NULL || challenge_len != expected)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
                   _("The card sent a malformed challenge. Remove the card, insert it "
                     "again and start over."));
      return NULL;
    }

  return g_bytes_new (challenge, challenge_len);
}

/**
 * cardpin_piv_admin_respond:
 * @io: the card, in the transaction of the challenge
 * @algorithm: the challenge's algorithm
 * @response: E_K(challenge)
 * @error: return location
 *
 * GENERAL AUTHENTICATE 00 87 @algorithm 9B 7C <len> 82 <len> response.
 */
gboolean
cardpin_piv_admin_respond (const CardpinCardIo  *io,
                           guint8                algorithm,
                           const CardpinSecret  *response,
                           GError              **error)
{
  g_autoptr(GByteArray) inner = g_byte_array_new ();
  g_autoptr(GByteArray) outer = g_byte_array_new ();
  g_autoptr(CardpinApduResponse) answer = NULL;
  gboolean ok;

  cardpin_tlv_append (inner, 0x82, cardpin_secret_get_data (response),
                      cardpin_secret_get_length (response));
  cardpin_tlv_append (outer, 0x7C, inner->data, inner->len);
  cardpin_secret_wipe (inner->data, inner->len);

  answer = send_command (io, INS_GENERAL_AUTHENTICATE, algorithm, CARDPIN_PIV_KEY_ADMIN,
                         outer->data, outer->len, CARDPIN_APDU_NO_LE, error);
  cardpin_secret_wipe (outer->data, outer->len);
  if (answer == NULL)
    return FALSE;

  ok = cardpin_sw_is_ok (answer->sw);
  if (!ok)
    cardpin_piv_set_sw_error (error, CARDPIN_PIV_KEY_ADMIN, answer->sw, FALSE);
  return ok;
}

/**
 * cardpin_piv_admin_set_pin:
 * @io: the card, admin-authenticated in this card session
 * @new_pin: the new PIN
 * @error: return location
 *
 * RESET RETRY COUNTER 00 2C 02 80 with the new PIN, FF-padded.
 */
gboolean
cardpin_piv_admin_set_pin (const CardpinCardIo  *io,
                           const CardpinSecret  *new_pin,
                           GError              **error)
{
  guint8 block[8];
  guint16 sw;

  if (!pad_reference (new_pin, CARDPIN_PIV_KEY_PIN, block, TRUE, error))
    return FALSE;
  sw = send_secret (io, INS_RESET_RETRY_COUNTER, 0x02, CARDPIN_PIV_KEY_PIN, block,
                    sizeof block, error);
  cardpin_secret_wipe (block, sizeof block);
  if (sw == 0)
    return FALSE;
  if (!cardpin_sw_is_ok (sw))
    {
      cardpin_piv_set_sw_error (error, CARDPIN_PIV_KEY_ADMIN, sw, TRUE);
      return FALSE;
    }
  return TRUE;
}

/* PIN operations and the admin unblock, over any transport: PC/SC for the token, a
 * scripted card for the fuzzer */

/* The PIV key each secret of @kind is for, and whether it is a new value */
static gboolean
check_piv_secrets (OpKind                kind,
                   CardpinSecret * const *s,
                   GError              **error)
{
  static const struct { guint8 key; gboolean is_new; } roles[][4] = {
    [OP_VERIFY]      = { { CARDPIN_PIV_KEY_PIN, FALSE } },
    [OP_CHANGE_PIN]  = { { CARDPIN_PIV_KEY_PIN, FALSE }, { CARDPIN_PIV_KEY_PIN, TRUE } },
    [OP_CHANGE_PUK]  = { { CARDPIN_PIV_KEY_PUK, FALSE }, { CARDPIN_PIV_KEY_PUK, TRUE } },
    [OP_UNBLOCK_PUK] = { { CARDPIN_PIV_KEY_PUK, FALSE }, { CARDPIN_PIV_KEY_PIN, TRUE } },
    [OP_SETUP]       = { { CARDPIN_PIV_KEY_PIN, FALSE }, { CARDPIN_PIV_KEY_PIN, TRUE },
                         { CARDPIN_PIV_KEY_PUK, FALSE }, { CARDPIN_PIV_KEY_PUK, TRUE } },
  };
  guint n = kind == OP_VERIFY ? 1 : kind == OP_SETUP ? 4 : 2;

  for (guint i = 0; i < n; i++)
    if (s[i] != NULL &&
        !cardpin_piv_check_reference (s[i], roles[kind][i].key, roles[kind][i].is_new, error))
      return FALSE;
  return TRUE;
}

/**
 * _cardpin_piv_run_op:
 * @kind: the operation
 * @secrets: (array fixed-size=4): its secrets: current and new value; for set-up also
 *   the current and the new PUK (both %NULL: the PUK stays)
 * @io: the card, inside a transaction
 * @cleared: (out) (optional): whether the card confirmed the PIN's log-out (9000); when
 *   not, the caller resets the card
 * @error: return location
 *
 * Runs a PIN operation with PIV APDUs, then logs the PIN out again. Any transport will
 * do: PC/SC for the token, a scripted card for the fuzzer.
 */
gboolean
_cardpin_piv_run_op (OpKind                kind,
                     CardpinSecret * const *secrets,
                     const CardpinCardIo  *io,
                     gboolean             *cleared,
                     GError              **error)
{
  CardpinSecret * const *s = secrets;
  gboolean ok = FALSE;

  if (cleared != NULL)
    *cleared = FALSE;

  /* every value is checked before the first APDU: a value the card cannot hold never
   * reaches it, so it never costs a try (nor a half-done operation) */
  if (!check_piv_secrets (kind, secrets, error))
    return FALSE;

  if (!cardpin_piv_select (io, error))
    return FALSE;

  switch (kind)
    {
    case OP_VERIFY:
      ok = cardpin_piv_verify (io, s[0], error);
      break;
    case OP_CHANGE_PIN:
      ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PIN, s[0], s[1], error);
      break;
    case OP_CHANGE_PUK:
      ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PUK, s[0], s[1], error);
      break;
    case OP_UNBLOCK_PUK:
      ok = cardpin_piv_reset_retry_counter (io, s[0], s[1], error);
      break;
    case OP_SETUP:
      /* all or nothing: verify the current PIN, then change the PUK (which checks the
       * current PUK), and only then the PIN, which can no longer fail on a wrong value */
      if (s[2] == NULL || s[3] == NULL)
        {
          ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PIN, s[0], s[1], error);
          break;
        }
      ok = cardpin_piv_verify (io, s[0], error) &&
           cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PUK, s[2], s[3], error);
      if (ok)
        {
          ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PIN, s[0], s[1], error);
          if (!ok)
            g_prefix_error (error, _("Your new PUK is set, but the PIN was not changed: "));
        }
      break;
    default:
      g_assert_not_reached ();
    }

  /* leave no verified PIN behind in the card session; when the card cannot be seen to
   * have forgotten it, the caller resets the card */
  if (cleared != NULL)
    *cleared = cardpin_piv_logout (io, NULL);
  else
    cardpin_piv_logout (io, NULL);
  return ok;
}

/**
 * cardpin_piv_admin_begin:
 * @io: the card, inside a transaction the caller keeps until the unblock ends
 * @algorithm: (inout): 0 to find out, or the algorithm to use; set to the one used
 * @admin_tries_left: (out): the admin key's tries left
 * @error: return location
 *
 * Starts an admin challenge/response unblock: SELECT, the admin key's tries (its
 * metadata names the algorithm, so no second GET METADATA), then the challenge.
 *
 * Returns: (transfer full): the challenge, or %NULL (%CARDPIN_ERROR_ADMIN_BLOCKED when the
 *   admin key is blocked)
 */
GBytes *
cardpin_piv_admin_begin (const CardpinCardIo  *io,
                         guint8               *algorithm,
                         int                  *admin_tries_left,
                         GError              **error)
{
  CardpinPivTries tries;

  if (!cardpin_piv_select (io, error) ||
      !cardpin_piv_get_tries (io, CARDPIN_PIV_KEY_ADMIN, &tries, error))
    return NULL;

  *admin_tries_left = tries.tries_left;
  if (tries.tries_left == 0)
    {
      cardpin_set_error_with_tries (error, CARDPIN_ERROR_ADMIN_BLOCKED, 0,
                                    _("The card's unblock key is blocked. The card must "
                                      "be replaced or reset by its issuer."));
      return NULL;
    }

  if (*algorithm == 0 && (tries.algorithm == 0x03 || tries.algorithm == 0x08))
    *algorithm = tries.algorithm;
  return cardpin_piv_admin_challenge (io, algorithm, error);
}

/**
 * cardpin_piv_admin_complete:
 * @io: the card, in the transaction of cardpin_piv_admin_begin()
 * @algorithm: the algorithm of the challenge
 * @response: the response to the challenge
 * @new_pin: the new PIN
 * @responded: (out) (optional): whether the card accepted the response
 * @error: return location
 *
 * Answers the challenge and sets the new PIN. The caller resets the card afterwards
 * whatever the result: neither the admin authentication nor the challenge survives.
 */
gboolean
cardpin_piv_admin_complete (const CardpinCardIo  *io,
                            guint8                algorithm,
                            const CardpinSecret  *response,
                            const CardpinSecret  *new_pin,
                            gboolean             *responded,
                            GError              **error)
{
  gboolean ok = cardpin_piv_admin_respond (io, algorithm, response, error);

  if (responded != NULL)
    *responded = ok;
  return ok && cardpin_piv_admin_set_pin (io, new_pin, error);
}
