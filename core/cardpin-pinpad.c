/* cardpin-pinpad.c — PIV PINs typed on the reader's keypad (PC/SC part 10)
 *
 * A PIN pad reader takes the command APDU with the PIN's place filled with padding, asks
 * the person for the digits on its own keypad, puts them in, and sends the command to the
 * card: the PIN never passes through the computer. cardpin asks the reader for its
 * features (CM_IOCTL_GET_FEATURE_REQUEST), then sends a PIN_VERIFY_STRUCTURE or
 * PIN_MODIFY_STRUCTURE (pcsc-lite's reader.h) to the control code the reader listed for
 * FEATURE_VERIFY_PIN_DIRECT or FEATURE_MODIFY_PIN_DIRECT.
 *
 * The PIV format: ASCII digits, left-justified in an 8-byte block pre-filled with FF,
 * 6 to 8 digits; a change (CHANGE REFERENCE DATA) or an unblock (RESET RETRY COUNTER)
 * takes the current value at offset 0 and the new PIN at offset 8, the new PIN twice.
 *
 * OpenSC's PIV driver cannot change a PIN on a PIN pad (it refuses an empty new PIN
 * before the reader is asked, CKR_PIN_LEN_RANGE, still so in OpenSC 0.23 to 0.26), so
 * cardpin drives the keypad itself on the PIV route, as it drives the card.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <PCSC/reader.h>

#include "cardpin-error.h"
#include "cardpin-pinpad.h"
#include "cardpin-piv.h"
#include "cardpin-secret.h"

#define INS_VERIFY              0x20
#define INS_CHANGE_REFERENCE    0x24
#define INS_RESET_RETRY_COUNTER 0x2C

/* reader answers (PC/SC part 10, from the CCID slot error) */
#define SW_PINPAD_TIMEOUT   0x6400
#define SW_PINPAD_CANCELLED 0x6401
#define SW_PINPAD_MISMATCH  0x6402
#define SW_PINPAD_LENGTH    0x6403
#define SW_PINPAD_REJECTED  0x6B80

/* how long the reader waits for the first and the next key, in seconds */
#define PINPAD_TIMEOUT 60

/* bmFormatString: system units bytes, PIN at position 0, left-justified, ASCII */
#define FORMAT_BYTES_ASCII 0x82
/* bmPINBlockString: no PIN length field, an 8-byte block */
#define PIN_BLOCK_8 0x08
/* bEntryValidationCondition: the person presses OK */
#define VALIDATE_OK_KEY 0x02
/* bConfirmPIN: the current value, then the new PIN and its confirmation */
#define CONFIRM_CURRENT_AND_NEW 0x03

/* The control code of the reader's feature @tag; @display: whether the reader says it
 * has a display (FEATURE_IFD_PIN_PROPERTIES, wLcdLayout), where it shows its prompts */
static guint32
find_feature (const CardpinCardIo  *io,
              guint8                tag,
              gboolean             *display,
              GError              **error)
{
  guint8 features[256];
  gsize len = 0;
  guint32 code, properties;

  *display = FALSE;
  if (io->control == NULL ||
      !io->control (io->user_data, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, features,
                    sizeof features, &len, NULL))
    len = 0;
  code = cardpin_pcsc_features_find (features, len, tag);
  if (code == 0)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("The card reader does not offer PIN entry on its keypad for this. Use "
                     "a reader without a keypad, or ask your administrator."));
      return 0;
    }

  properties = cardpin_pcsc_features_find (features, len, FEATURE_IFD_PIN_PROPERTIES);
  if (properties != 0)
    {
      PIN_PROPERTIES_STRUCTURE props;
      gsize props_len = 0;

      if (io->control (io->user_data, properties, NULL, 0, (guint8 *) &props, sizeof props,
                       &props_len, NULL) &&
          props_len == sizeof props)
        *display = props.wLcdLayout != 0;
    }
  return code;
}

/* The reader's own answers; %FALSE with @error for them, %TRUE for the card's */
static gboolean
check_reader_sw (guint16   sw,
                 GError  **error)
{
  switch (sw)
    {
    case SW_PINPAD_CANCELLED:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PINPAD,
                   _("The PIN entry on the reader was cancelled. Nothing was sent to the "
                     "card; start again to type the PIN on the reader’s keypad."));
      return FALSE;
    case SW_PINPAD_TIMEOUT:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PINPAD,
                   _("The reader waited too long for the PIN. Nothing was sent to the "
                     "card; start again and type the PIN on the reader’s keypad."));
      return FALSE;
    case SW_PINPAD_MISMATCH:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PINPAD,
                   _("The new PIN and its confirmation typed on the reader differ. Nothing "
                     "was changed; start again."));
      return FALSE;
    case SW_PINPAD_LENGTH:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PINPAD,
                   _("A PIN typed on the reader had too few or too many digits: use 6 to 8 "
                     "digits. Nothing was sent to the card; start again."));
      return FALSE;
    case SW_PINPAD_REJECTED:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("The card reader refused the PIN entry request. Use a reader without "
                     "a keypad, or ask your administrator."));
      return FALSE;
    default:
      return TRUE;
    }
}

/* Sends one PIN entry request: @ins on key @key_ref with @n_blocks FF-filled 8-byte PIN
 * blocks (1: verify, 2: current value and new PIN). @sw: the status word the reader
 * returns (its own, or the card's). */
static gboolean
pinpad_command (const CardpinCardIo  *io,
                guint8                ins,
                guint8                key_ref,
                guint                 n_blocks,
                guint16              *sw,
                GError              **error)
{
  gboolean modify = n_blocks == 2;
  guint8 buf[sizeof (PIN_MODIFY_STRUCTURE) + 5 + 16];
  guint8 answer[258];
  gsize header = modify ? sizeof (PIN_MODIFY_STRUCTURE) : sizeof (PIN_VERIFY_STRUCTURE);
  guint8 *apdu = buf + header;
  gsize apdu_len = 5 + 8 * n_blocks;
  gsize answer_len = 0;
  gboolean display;
  guint32 code;

  code = find_feature (io, modify ? FEATURE_MODIFY_PIN_DIRECT : FEATURE_VERIFY_PIN_DIRECT,
                       &display, error);
  if (code == 0)
    return FALSE;

  memset (buf, 0, sizeof buf);
  if (modify)
    {
      PIN_MODIFY_STRUCTURE *s = (PIN_MODIFY_STRUCTURE *) buf;

      s->bTimerOut = PINPAD_TIMEOUT;
      s->bTimerOut2 = PINPAD_TIMEOUT;
      s->bmFormatString = FORMAT_BYTES_ASCII;
      s->bmPINBlockString = PIN_BLOCK_8;
      s->bInsertionOffsetOld = 0;
      s->bInsertionOffsetNew = 8;
      s->wPINMaxExtraDigit = CARDPIN_PIV_PIN_MIN << 8 | CARDPIN_PIV_PIN_MAX;
      s->bConfirmPIN = CONFIRM_CURRENT_AND_NEW;
      s->bEntryValidationCondition = VALIDATE_OK_KEY;
      /* the reader's own prompts, when it has a display: current, new, again (a reader
       * without one may refuse a request for messages) */
      s->bNumberMessage = display ? 0x03 : 0x00;
      s->bMsgIndex1 = 0x00;
      s->bMsgIndex2 = 0x01;
      s->bMsgIndex3 = 0x02;
      s->ulDataLength = apdu_len;
    }
  else
    {
      PIN_VERIFY_STRUCTURE *s = (PIN_VERIFY_STRUCTURE *) buf;

      s->bTimerOut = PINPAD_TIMEOUT;
      s->bTimerOut2 = PINPAD_TIMEOUT;
      s->bmFormatString = FORMAT_BYTES_ASCII;
      s->bmPINBlockString = PIN_BLOCK_8;
      s->wPINMaxExtraDigit = CARDPIN_PIV_PIN_MIN << 8 | CARDPIN_PIV_PIN_MAX;
      s->bEntryValidationCondition = VALIDATE_OK_KEY;
      s->bNumberMessage = display ? 0x01 : 0x00;
      s->ulDataLength = apdu_len;
    }
  apdu[0] = 0x00;
  apdu[1] = ins;
  apdu[2] = 0x00;
  apdu[3] = key_ref;
  apdu[4] = (guint8) (8 * n_blocks);
  memset (apdu + 5, 0xFF, 8 * n_blocks);

  if (!io->control (io->user_data, code, buf, header + apdu_len, answer, sizeof answer,
                    &answer_len, error))
    return FALSE;
  if (answer_len < 2)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
                   _("The card reader gave no answer to the PIN entry. Try again, or use "
                     "a reader without a keypad."));
      return FALSE;
    }
  /* the answer of a PIN command carries no data, only a status word */
  cardpin_secret_wipe (answer, answer_len - 2);
  *sw = (guint16) (answer[answer_len - 2] << 8 | answer[answer_len - 1]);
  return TRUE;
}

/* One PIN entry on the keypad; the card's refusal as cardpin_piv_set_sw_error() says
 * for @checked_ref, the reference whose value the card checks */
static gboolean
pinpad_run (const CardpinCardIo  *io,
            guint8                ins,
            guint8                key_ref,
            guint8                checked_ref,
            guint                 n_blocks,
            GError              **error)
{
  guint16 sw = 0;

  if (!pinpad_command (io, ins, key_ref, n_blocks, &sw, error) ||
      !check_reader_sw (sw, error))
    return FALSE;
  if (sw != CARDPIN_SW_OK)
    {
      cardpin_piv_set_sw_error (error, checked_ref, sw, n_blocks == 2);
      return FALSE;
    }
  return TRUE;
}

/**
 * _cardpin_piv_run_pinpad_op:
 * @kind: the operation: verify, change the PIN, set up (a change of the first PIN), or
 *   unblock with the PUK
 * @io: the card, inside a transaction, with its reader's control function
 * @cleared: (out) (optional): whether the card confirmed the PIN's log-out
 * @error: return location
 *
 * Runs a PIN operation whose values the person types on the reader's keypad, then logs
 * the PIN out again. A change of the PUK needs its values from the caller (the PIV
 * route with APDUs).
 */
gboolean
_cardpin_piv_run_pinpad_op (OpKind                kind,
                            const CardpinCardIo  *io,
                            gboolean             *cleared,
                            GError              **error)
{
  gboolean ok = FALSE;

  if (cleared != NULL)
    *cleared = FALSE;
  if (kind == OP_CHANGE_PUK)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("The PUK cannot be typed on the reader’s keypad. Type it on the "
                     "computer instead."));
      return FALSE;
    }

  if (!cardpin_piv_select (io, error))
    return FALSE;

  switch (kind)
    {
    case OP_VERIFY:
      ok = pinpad_run (io, INS_VERIFY, CARDPIN_PIV_KEY_PIN, CARDPIN_PIV_KEY_PIN, 1, error);
      break;
    case OP_CHANGE_PIN:
    case OP_SETUP:
      ok = pinpad_run (io, INS_CHANGE_REFERENCE, CARDPIN_PIV_KEY_PIN, CARDPIN_PIV_KEY_PIN, 2,
                       error);
      break;
    case OP_UNBLOCK_PUK:
      /* RESET RETRY COUNTER of the PIN checks the PUK: a refusal is the PUK's */
      ok = pinpad_run (io, INS_RESET_RETRY_COUNTER, CARDPIN_PIV_KEY_PIN, CARDPIN_PIV_KEY_PUK,
                       2, error);
      break;
    case OP_CHANGE_PUK:
    default:
      g_assert_not_reached ();
    }

  if (cleared != NULL)
    *cleared = cardpin_piv_logout (io, NULL);
  else
    cardpin_piv_logout (io, NULL);
  return ok;
}
