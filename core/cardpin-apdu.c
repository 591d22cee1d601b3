/* cardpin-apdu.c — ISO 7816-4 command APDUs, responses, BER-TLV and status words
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-apdu.h"
#include "cardpin-secret.h"
#include "cardpin-error.h"

#define INS_GET_RESPONSE 0xC0
/* 256 rounds of 256 bytes fill CARDPIN_APDU_MAX_RESPONSE; a few more for 6Cxx */
#define MAX_EXCHANGES    300

/**
 * cardpin_apdu_build:
 * @apdu: (out caller-allocates): where to encode
 * @cla: class byte
 * @ins: instruction
 * @p1: parameter 1
 * @p2: parameter 2
 * @data: (nullable): command data
 * @data_len: its length, at most %CARDPIN_APDU_MAX_DATA
 * @le: expected response length: %CARDPIN_APDU_NO_LE, or 0..65536 where 256 (short) and
 *   65536 (extended) are encoded as zero
 *
 * Encodes a command APDU, short when data and Le fit (data <= 255, Le <= 256), extended
 * otherwise.
 *
 * Returns: %FALSE when the arguments cannot be encoded
 */
gboolean
cardpin_apdu_build (CardpinApdu  *apdu,
                    guint8        cla,
                    guint8        ins,
                    guint8        p1,
                    guint8        p2,
                    const guint8 *data,
                    gsize         data_len,
                    int           le)
{
  gsize n = 0;

  g_return_val_if_fail (apdu != NULL, FALSE);

  apdu->len = 0;
  apdu->body_len = 0;
  apdu->extended = FALSE;

  if (data_len > CARDPIN_APDU_MAX_DATA || (data_len > 0 && data == NULL))
    return FALSE;
  if (le < CARDPIN_APDU_NO_LE || le > 65536)
    return FALSE;

  apdu->extended = data_len > 255 || le > 256;

  apdu->bytes[n++] = cla;
  apdu->bytes[n++] = ins;
  apdu->bytes[n++] = p1;
  apdu->bytes[n++] = p2;

  if (data_len > 0)
    {
      if (apdu->extended)
        {
          apdu->bytes[n++] = 0x00;
          apdu->bytes[n++] = (data_len >> 8) & 0xFF;
          apdu->bytes[n++] = data_len & 0xFF;
        }
      else
        {
          apdu->bytes[n++] = data_len & 0xFF;
        }
      memcpy (apdu->bytes + n, data, data_len);
      n += data_len;
    }
  apdu->body_len = n;

  if (le != CARDPIN_APDU_NO_LE)
    {
      if (apdu->extended)
        {
          if (data_len == 0)
            apdu->bytes[n++] = 0x00;
          apdu->bytes[n++] = (le >> 8) & 0xFF;   /* 65536 -> 00 00 */
          apdu->bytes[n++] = le & 0xFF;
        }
      else
        {
          apdu->bytes[n++] = le & 0xFF;          /* 256 -> 00 */
        }
    }

  apdu->len = n;
  return TRUE;
}

/**
 * cardpin_apdu_clear:
 * @apdu: an encoded command
 *
 * Wipes the command (it may hold a PIN).
 */
void
cardpin_apdu_clear (CardpinApdu *apdu)
{
  if (apdu == NULL)
    return;
  cardpin_secret_wipe (apdu->bytes, sizeof apdu->bytes);
  apdu->len = 0;
  apdu->body_len = 0;
}

/**
 * cardpin_apdu_response_new:
 * @data: (nullable): response data
 * @len: its length
 * @sw: status word
 *
 * Returns: (transfer full): a new response
 */
CardpinApduResponse *
cardpin_apdu_response_new (const guint8 *data,
                           gsize         len,
                           guint16       sw)
{
  CardpinApduResponse *response = g_new0 (CardpinApduResponse, 1);

  /* one spare byte so empty responses still have a valid pointer */
  response->data = g_malloc (len + 1);
  if (len > 0)
    memcpy (response->data, data, len);
  response->len = len;
  response->sw = sw;
  return response;
}

/**
 * cardpin_apdu_response_free:
 * @response: (nullable): a response
 *
 * Wipes and frees @response.
 */
void
cardpin_apdu_response_free (CardpinApduResponse *response)
{
  if (response == NULL)
    return;
  cardpin_secret_wipe (response->data, response->len);
  g_free (response->data);
  g_free (response);
}

static gboolean
exchange (CardpinTransmitFunc   transmit,
          gpointer              user_data,
          const guint8         *command,
          gsize                 command_len,
          guint8               *buffer,
          gsize                *buffer_len,
          guint16              *sw,
          GError              **error)
{
  gsize len = CARDPIN_APDU_MAX_RESPONSE;

  if (!transmit (user_data, command, command_len, buffer, &len, error))
    return FALSE;

  if (len == 0)
    {
      /* no status word at all: seen when a card leaves the reader mid-command (vpcd) */
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED,
                   _("The card stopped answering; it was removed or lost power. Insert "
                     "the card and try again."));
      return FALSE;
    }

  if (len < 2 || len > CARDPIN_APDU_MAX_RESPONSE)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
                   _("The card sent a malformed answer (%u bytes). "
                     "Remove the card and insert it again."), (guint) len);
      return FALSE;
    }

  *sw = (buffer[len - 2] << 8) | buffer[len - 1];
  *buffer_len = len - 2;
  return TRUE;
}

/**
 * cardpin_apdu_transceive:
 * @transmit: sends one APDU
 * @user_data: closure for @transmit
 * @apdu: the command
 * @error: return location
 *
 * Sends @apdu and collects the whole answer: on 61XX it sends GET RESPONSE with Le XX
 * and concatenates the data; on 6CXX it sends the command once more with Le XX.
 *
 * Returns: (transfer full): the response (any status word), or %NULL on a transport
 *   error or a malformed or endless answer
 */
CardpinApduResponse *
cardpin_apdu_transceive (CardpinTransmitFunc   transmit,
                         gpointer              user_data,
                         const CardpinApdu    *apdu,
                         GError              **error)
{
  g_autoptr(GByteArray) collected = NULL;
  g_autofree guint8 *buffer = NULL;
  g_auto(CardpinApdu) resend = { 0 };
  CardpinApduResponse *response = NULL;
  const guint8 *command = apdu->bytes;
  gsize command_len = apdu->len;
  gboolean resent = FALSE;
  guint8 cla;
  guint i;

  g_return_val_if_fail (transmit != NULL, NULL);
  g_return_val_if_fail (apdu != NULL && apdu->len >= 4, NULL);

  cla = apdu->bytes[0] & 0x0F; /* keep channel and secure-messaging bits, drop chaining */
  buffer = g_malloc (CARDPIN_APDU_MAX_RESPONSE);
  /* sized for the longest answer up front: a growing array would leave unwiped copies
   * of what it held behind in the heap (the limit is checked before each append) */
  collected = g_byte_array_sized_new (CARDPIN_APDU_MAX_RESPONSE);

  for (i = 0; i < MAX_EXCHANGES; i++)
    {
      gsize len = 0;
      guint16 sw = 0;
      guint8 sw1, sw2;

      if (!exchange (transmit, user_data, command, command_len, buffer, &len, &sw, error))
        goto out;

      sw1 = sw >> 8;
      sw2 = sw & 0xFF;

      if (collected->len + len > CARDPIN_APDU_MAX_RESPONSE)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
                       _("The card's answer is too long. Remove the card and insert it "
                         "again."));
          goto out;
        }

      if (sw1 == 0x6C && !resent && command == apdu->bytes && apdu->body_len == 4)
        {
          /* wrong Le: send the same command again with Le = SW2. Only a command without
           * data is sent again: one with data (a PIN block) is never repeated, the 6CXX
           * stands as the answer. */
          memcpy (resend.bytes, apdu->bytes, apdu->body_len);
          resend.len = apdu->body_len;
          if (apdu->extended)
            {
              if (apdu->body_len == 4)
                resend.bytes[resend.len++] = 0x00;
              resend.bytes[resend.len++] = 0x00;
              resend.bytes[resend.len++] = sw2;
            }
          else
            {
              resend.bytes[resend.len++] = sw2;
            }
          command = resend.bytes;
          command_len = resend.len;
          resent = TRUE;
          continue;
        }

      g_byte_array_append (collected, buffer, len);
      cardpin_secret_wipe (buffer, len);

      if (sw1 == 0x61)
        {
          /* more data: GET RESPONSE with Le = SW2 (00 = 256) */
          resend.bytes[0] = cla;
          resend.bytes[1] = INS_GET_RESPONSE;
          resend.bytes[2] = 0x00;
          resend.bytes[3] = 0x00;
          resend.bytes[4] = sw2;
          resend.len = 5;
          resend.body_len = 4;
          resend.extended = FALSE;
          command = resend.bytes;
          command_len = resend.len;
          resent = TRUE; /* a 6CXX answer to GET RESPONSE is not retried */
          continue;
        }

      response = cardpin_apdu_response_new (collected->data, collected->len, sw);
      goto out;
    }

  g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
               _("The card kept announcing more data. Remove the card and insert it "
                 "again."));

out:
  cardpin_secret_wipe (buffer, CARDPIN_APDU_MAX_RESPONSE);
  cardpin_secret_wipe (collected->data, collected->len);
  return response;
}

/**
 * cardpin_sw_is_ok:
 * @sw: a status word
 *
 * Returns: whether @sw is 9000
 */
gboolean
cardpin_sw_is_ok (guint16 sw)
{
  return sw == CARDPIN_SW_OK;
}

/**
 * cardpin_sw_tries_left:
 * @sw: a status word
 *
 * Returns: X for 63CX (tries left after a failed verification), else -1
 */
int
cardpin_sw_tries_left (guint16 sw)
{
  if ((sw & 0xFFF0) == 0x63C0)
    return sw & 0x0F;
  return -1;
}

/**
 * cardpin_sw_describe:
 * @sw: a status word
 *
 * Returns: an untranslated description of @sw for debug logs
 */
const char *
cardpin_sw_describe (guint16 sw)
{
  if ((sw & 0xFF00) == 0x6100)
    return "more data available";
  if ((sw & 0xFFF0) == 0x63C0)
    return "verification failed, tries left in low nibble";
  if ((sw & 0xFF00) == 0x6C00)
    return "wrong Le";

  switch (sw)
    {
    case CARDPIN_SW_OK:
      return "success";
    case CARDPIN_SW_WRONG_LENGTH:
      return "wrong length";
    case CARDPIN_SW_SECURITY_NOT_SATISFIED:
      return "security status not satisfied";
    case CARDPIN_SW_AUTH_BLOCKED:
      return "authentication method blocked";
    case CARDPIN_SW_CONDITIONS_NOT_SATISFIED:
      return "conditions of use not satisfied";
    case CARDPIN_SW_WRONG_DATA:
      return "incorrect data";
    case CARDPIN_SW_FILE_NOT_FOUND:
      return "file or application not found";
    case CARDPIN_SW_INCORRECT_P1P2:
      return "incorrect P1 P2";
    case CARDPIN_SW_REF_NOT_FOUND:
      return "referenced data not found";
    case CARDPIN_SW_INS_NOT_SUPPORTED:
      return "instruction not supported";
    case CARDPIN_SW_CLA_NOT_SUPPORTED:
      return "class not supported";
    default:
      return "unknown status";
    }
}

/**
 * cardpin_tlv_next:
 * @buf: BER-TLV encoded data
 * @len: its length
 * @offset: (inout): where to read; advanced past the TLV on success
 * @tag: (out): the tag, its bytes big-endian (e.g. 0x5FC102)
 * @value: (out): the value, pointing into @buf
 * @value_len: (out): its length
 *
 * Reads one BER-TLV. Tags of up to 3 bytes, definite lengths in short form or long
 * form with 1 to 3 length bytes. Skips 00 and FF padding between objects.
 *
 * Returns: %FALSE at the end of @buf or on malformed input (truncated tag, length or
 *   value; indefinite or too long length form)
 */
gboolean
cardpin_tlv_next (const guint8  *buf,
                  gsize          len,
                  gsize         *offset,
                  guint         *tag,
                  const guint8 **value,
                  gsize         *value_len)
{
  gsize pos = *offset;
  guint t;
  gsize l;

  /* ISO 7816-4: 00 and FF before, between or after objects are padding */
  while (pos < len && (buf[pos] == 0x00 || buf[pos] == 0xFF))
    pos++;
  if (pos >= len)
    return FALSE;

  t = buf[pos++];
  if ((t & 0x1F) == 0x1F)
    {
      guint n = 0;

      do
        {
          if (pos >= len || ++n > 2)
            return FALSE;
          t = (t << 8) | buf[pos];
        }
      while (buf[pos++] & 0x80);
    }

  if (pos >= len)
    return FALSE;

  l = buf[pos++];
  if (l & 0x80)
    {
      guint n = l & 0x7F;

      if (n == 0 || n > 3 || len - pos < n)
        return FALSE;
      l = 0;
      while (n-- > 0)
        l = (l << 8) | buf[pos++];
    }

  if (l > len - pos)
    return FALSE;

  *tag = t;
  *value = buf + pos;
  *value_len = l;
  *offset = pos + l;
  return TRUE;
}

/**
 * cardpin_tlv_find:
 * @buf: BER-TLV encoded data (a sequence of sibling objects)
 * @len: its length
 * @tag: the tag to find
 * @value_len: (out): the value's length
 *
 * Returns: (nullable): the value of the first sibling with @tag, or %NULL when absent or
 *   when the data is malformed before it
 */
const guint8 *
cardpin_tlv_find (const guint8 *buf,
                  gsize         len,
                  guint         tag,
                  gsize        *value_len)
{
  gsize offset = 0;
  guint t;
  const guint8 *value;
  gsize vlen;

  while (cardpin_tlv_next (buf, len, &offset, &t, &value, &vlen))
    {
      if (t == tag)
        {
          *value_len = vlen;
          return value;
        }
    }

  *value_len = 0;
  return NULL;
}

/**
 * cardpin_tlv_append:
 * @out: where to append
 * @tag: the tag (1 to 3 bytes, big-endian)
 * @value: (nullable): the value
 * @value_len: its length (< 2^24)
 *
 * Appends one BER-TLV with the shortest length encoding.
 */
void
cardpin_tlv_append (GByteArray   *out,
                    guint         tag,
                    const guint8 *value,
                    gsize         value_len)
{
  guint8 head[8];
  gsize n = 0;

  g_return_if_fail (value_len < (1u << 24));

  if (tag > 0xFFFF)
    head[n++] = (tag >> 16) & 0xFF;
  if (tag > 0xFF)
    head[n++] = (tag >> 8) & 0xFF;
  head[n++] = tag & 0xFF;

  if (value_len < 0x80)
    {
      head[n++] = value_len;
    }
  else if (value_len <= 0xFF)
    {
      head[n++] = 0x81;
      head[n++] = value_len;
    }
  else if (value_len <= 0xFFFF)
    {
      head[n++] = 0x82;
      head[n++] = value_len >> 8;
      head[n++] = value_len & 0xFF;
    }
  else
    {
      head[n++] = 0x83;
      head[n++] = value_len >> 16;
      head[n++] = (value_len >> 8) & 0xFF;
      head[n++] = value_len & 0xFF;
    }

  g_byte_array_append (out, head, n);
  if (value_len > 0)
    g_byte_array_append (out, value, value_len);
}

/**
 * cardpin_hex_encode:
 * @data: bytes
 * @len: their count
 *
 * Returns: (transfer full): @data as uppercase hex
 */
char *
cardpin_hex_encode (const guint8 *data,
                    gsize         len)
{
  static const char digits[] = "0123456789ABCDEF";
  char *out = g_malloc (len * 2 + 1);
  gsize i;

  for (i = 0; i < len; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 0x0F];
    }
  out[2 * len] = '\0';
  return out;
}

/**
 * cardpin_hex_decode:
 * @hex: hex digits, optionally separated by spaces or colons
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL when @hex is not whole bytes
 *   of hex digits
 */
GBytes *
cardpin_hex_decode (const char *hex)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  int high = -1;
  const char *p;

  for (p = hex; *p != '\0'; p++)
    {
      int v;

      if (*p == ' ' || *p == ':')
        continue;
      v = g_ascii_xdigit_value (*p);
      if (v < 0)
        return NULL;
      if (high < 0)
        {
          high = v;
        }
      else
        {
          guint8 b = (high << 4) | v;
          g_byte_array_append (out, &b, 1);
          high = -1;
        }
    }

  if (high >= 0)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}
