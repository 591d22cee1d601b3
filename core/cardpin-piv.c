/* cardpin-piv.c — PIV card driver (NIST SP 800-73) over a card connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-error.h"
#include "cardpin-piv.h"

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

  if (!cardpin_sw_is_ok (response->sw))
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("This card has no PIV application."));
      return FALSE;
    }
  return TRUE;
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

  tries->tries_left = -1;
  tries->tries_max = -1;
  tries->is_default = -1;

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
  g_autoptr(CardpinApduResponse) verify = NULL;
  int left;

  tries->tries_left = -1;
  tries->tries_max = -1;
  tries->is_default = -1;

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

  /* empty VERIFY never spends a try */
  verify = send_command (io, INS_VERIFY, 0x00, key_ref, NULL, 0, CARDPIN_APDU_NO_LE, error);
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
