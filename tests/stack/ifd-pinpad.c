/* ifd-pinpad.c — a virtual PIN pad reader for tests (never installed)
 *
 * A pcsc-lite IFD handler that pcscd loads like any reader driver (a reader.conf.d entry
 * with LIBPATH pointing here). It is vsmartcard's vpcd reader with a keypad: every IFDH*
 * call goes to the real vpcd driver (dlopen'ed from VPCD_DRIVER_PATH), and IFDHControl adds
 * what a CCID PIN pad reader (libccid) offers through PC/SC part 10:
 *
 * - CM_IOCTL_GET_FEATURE_REQUEST: FEATURE_VERIFY_PIN_DIRECT, FEATURE_MODIFY_PIN_DIRECT and
 *   FEATURE_IFD_PIN_PROPERTIES, with libccid's control codes (SCARD_CTL_CODE (0x330000 +
 *   tag));
 * - VERIFY_PIN_DIRECT / MODIFY_PIN_DIRECT: parses the PIN_VERIFY_STRUCTURE /
 *   PIN_MODIFY_STRUCTURE (pcsc-lite's reader.h), "reads the keypad", puts the digits into
 *   the APDU the way the CCID specification (PC_to_RDR_Secure) describes it, sends the
 *   APDU to the card through vpcd and returns the card's answer;
 * - IFD_PIN_PROPERTIES: no display.
 *
 * The keypad: the file named by the environment variable CARDPIN_TEST_KEYPAD of pcscd
 * (the test stack sets it; the program under test never sees digits). Each PIN entry
 * takes the first line of that file and removes it; a line is what the person typed
 * before pressing OK. No line (or no file) is a person pressing Cancel: the reader
 * answers 64 01 as a CCID reader does, and the card sees nothing. Other reader answers
 * as in PC/SC part 10 / CCID: 64 02 the new PIN and its confirmation differ, 64 03 a
 * PIN outside the structure's minimum and maximum length, 6B 80 a structure the reader
 * cannot follow. Nothing ever logs the digits.
 *
 * What it formats: the units (bits or bytes) and position of bmFormatString, ASCII or
 * BCD digits, left or right justification inside the PIN block of bmPINBlockString (the
 * other bytes of the block stay as the host filled them: OpenSC pads with FF), the PIN
 * length field of bmPINBlockString / bmPINLengthFormat, and for a change the old and new
 * PIN at bInsertionOffsetOld / bInsertionOffsetNew (bytes, added to the position) with
 * the entries bConfirmPIN asks for (bit 1: the current PIN; bit 0: the new PIN twice).
 * A variable-size PIN block (block size 0) is not supported (6B 80), as on many readers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#define EXPORT __attribute__ ((visibility ("default")))

/* libccid's control codes: SCARD_CTL_CODE (FEATURE + CLASS2_IOCTL_MAGIC) */
#define CLASS2_IOCTL_MAGIC 0x330000
#define IOCTL_FEATURE(tag) SCARD_CTL_CODE (CLASS2_IOCTL_MAGIC + (tag))

/* reader answers (CCID bError mapped by libccid; PC/SC part 10) */
#define SW_CANCELLED 0x6401
#define SW_MISMATCH  0x6402
#define SW_LENGTH    0x6403
#define SW_BAD_DATA  0x6B80

#define MAX_APDU 261
#define MAX_DIGITS 16

/* the real vpcd driver */
typedef struct {
  RESPONSECODE (*create_channel_by_name) (DWORD, LPSTR);
  RESPONSECODE (*create_channel) (DWORD, DWORD);
  RESPONSECODE (*close_channel) (DWORD);
  RESPONSECODE (*get_capabilities) (DWORD, DWORD, PDWORD, PUCHAR);
  RESPONSECODE (*set_capabilities) (DWORD, DWORD, DWORD, PUCHAR);
  RESPONSECODE (*set_protocol_parameters) (DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR);
  RESPONSECODE (*power_icc) (DWORD, DWORD, PUCHAR, PDWORD);
  RESPONSECODE (*transmit_to_icc) (DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, PDWORD,
                                   PSCARD_IO_HEADER);
  RESPONSECODE (*icc_presence) (DWORD);
} Vpcd;

static Vpcd vpcd;
static pthread_once_t vpcd_once = PTHREAD_ONCE_INIT;
static int vpcd_loaded;
/* one keypad file for all readers of this pcscd: entries are taken one at a time */
static pthread_mutex_t keypad_lock = PTHREAD_MUTEX_INITIALIZER;

static void
load_vpcd (void)
{
  void *handle = dlopen (VPCD_DRIVER_PATH, RTLD_NOW | RTLD_LOCAL);

  if (handle == NULL)
    {
      fprintf (stderr, "ifd-pinpad: cannot load %s: %s\n", VPCD_DRIVER_PATH, dlerror ());
      return;
    }
#define SYM(field, name) \
  if ((*(void **) &vpcd.field = dlsym (handle, name)) == NULL) \
    { \
      fprintf (stderr, "ifd-pinpad: %s has no %s\n", VPCD_DRIVER_PATH, name); \
      return; \
    }
  SYM (create_channel_by_name, "IFDHCreateChannelByName");
  SYM (create_channel, "IFDHCreateChannel");
  SYM (close_channel, "IFDHCloseChannel");
  SYM (get_capabilities, "IFDHGetCapabilities");
  SYM (set_capabilities, "IFDHSetCapabilities");
  SYM (set_protocol_parameters, "IFDHSetProtocolParameters");
  SYM (power_icc, "IFDHPowerICC");
  SYM (transmit_to_icc, "IFDHTransmitToICC");
  SYM (icc_presence, "IFDHICCPresence");
#undef SYM
  vpcd_loaded = 1;
}

static int
have_vpcd (void)
{
  pthread_once (&vpcd_once, load_vpcd);
  return vpcd_loaded;
}

/* The keypad */

/* Takes the next entry off the keypad file into @digits (NUL-terminated, wiped by the
 * caller). Returns 1 for an entry, 0 for Cancel (no entry), -1 for an entry longer than
 * any keypad allows. */
static int
keypad_take (char digits[MAX_DIGITS + 1])
{
  const char *path = getenv ("CARDPIN_TEST_KEYPAD");
  char buf[4096];
  size_t len = 0, line_len;
  char *newline;
  FILE *f;
  int ret = 0;

  memset (digits, 0, MAX_DIGITS + 1);
  if (path == NULL)
    return 0;

  pthread_mutex_lock (&keypad_lock);
  f = fopen (path, "r+e");
  if (f == NULL)
    goto out;
  len = fread (buf, 1, sizeof buf - 1, f);
  buf[len] = '\0';
  if (len == 0)
    goto out_close;

  newline = memchr (buf, '\n', len);
  line_len = newline ? (size_t) (newline - buf) : len;
  if (line_len > MAX_DIGITS)
    ret = -1;
  else
    {
      memcpy (digits, buf, line_len);
      ret = 1;
    }
  /* the rest of the queue stays for the next entry */
  len -= newline ? line_len + 1 : line_len;
  memmove (buf, buf + (newline ? line_len + 1 : line_len), len);
  rewind (f);
  if (fwrite (buf, 1, len, f) != len || fflush (f) != 0 || ftruncate (fileno (f), (off_t) len) != 0)
    fprintf (stderr, "ifd-pinpad: cannot update %s: %s\n", path, strerror (errno));

out_close:
  fclose (f);
out:
  explicit_bzero (buf, sizeof buf);
  pthread_mutex_unlock (&keypad_lock);
  return ret;
}

/* PIN formatting (CCID PC_to_RDR_Secure) */

typedef struct {
  uint8_t format;        /* bmFormatString */
  uint8_t block;         /* bmPINBlockString */
  uint8_t length_format; /* bmPINLengthFormat */
  unsigned min_digits;
  unsigned max_digits;
} PinFormat;

/* Writes @value's low @bits bits at bit @bit_pos of @data (MSB first) */
static void
put_bits (uint8_t  *data,
          unsigned  bit_pos,
          unsigned  bits,
          unsigned  value)
{
  for (unsigned i = 0; i < bits; i++)
    {
      unsigned pos = bit_pos + i;
      uint8_t mask = 0x80 >> (pos % 8);

      if (value & (1u << (bits - 1 - i)))
        data[pos / 8] |= mask;
      else
        data[pos / 8] &= (uint8_t) ~mask;
    }
}

/* Puts the entry @digits into the command data @data (@data_len bytes after the APDU
 * header) at @extra_offset bytes plus the position of @fmt. Returns 0, or the reader's
 * status word when it cannot. */
static unsigned
insert_pin (const PinFormat *fmt,
            const char      *digits,
            unsigned         extra_offset,
            uint8_t         *data,
            size_t           data_len)
{
  size_t n = strlen (digits);
  unsigned bytes_units = fmt->format & 0x80;
  unsigned position = (fmt->format >> 3) & 0x0F;
  unsigned right = fmt->format & 0x04;
  unsigned encoding = fmt->format & 0x03;
  unsigned block_size = fmt->block & 0x0F;
  unsigned length_bits = fmt->block >> 4;
  unsigned pin_offset, encoded_len;
  uint8_t encoded[MAX_DIGITS];

  if (n < fmt->min_digits || n > fmt->max_digits)
    return SW_LENGTH;
  for (size_t i = 0; i < n; i++)
    if (digits[i] < '0' || digits[i] > '9')
      return SW_LENGTH;

  /* the position is in bytes, or in bits (then it must fall on a byte here) */
  if (!bytes_units && position % 8 != 0)
    return SW_BAD_DATA;
  pin_offset = extra_offset + (bytes_units ? position : position / 8);

  switch (encoding)
    {
    case 0x02:  /* ASCII: one byte a digit */
      memcpy (encoded, digits, n);
      encoded_len = (unsigned) n;
      break;
    case 0x01:  /* BCD: two digits a byte, an odd last digit padded with F */
      memset (encoded, 0xFF, sizeof encoded);
      for (size_t i = 0; i < n; i++)
        {
          uint8_t nibble = (uint8_t) (digits[i] - '0');

          if (i % 2 == 0)
            encoded[i / 2] = (uint8_t) ((nibble << 4) | 0x0F);
          else
            encoded[i / 2] = (uint8_t) ((encoded[i / 2] & 0xF0) | nibble);
        }
      encoded_len = (unsigned) (n + 1) / 2;
      break;
    default:    /* binary: not a keypad format any host here sends */
      return SW_BAD_DATA;
    }

  if (block_size == 0 || encoded_len > block_size || pin_offset + block_size > data_len)
    {
      explicit_bzero (encoded, sizeof encoded);
      return block_size != 0 && encoded_len > block_size ? SW_LENGTH : SW_BAD_DATA;
    }
  /* the rest of the block keeps the host's padding */
  memcpy (data + pin_offset + (right ? block_size - encoded_len : 0), encoded, encoded_len);
  explicit_bzero (encoded, sizeof encoded);

  /* the number of digits, when the block has a length field */
  if (length_bits > 0)
    {
      unsigned length_pos = fmt->length_format & 0x0F;
      unsigned bit_pos = (fmt->length_format & 0x10) ? length_pos * 8 : length_pos;

      bit_pos += extra_offset * 8;
      if ((bit_pos + length_bits + 7) / 8 > data_len)
        return SW_BAD_DATA;
      put_bits (data, bit_pos, length_bits, (unsigned) n);
    }
  return 0;
}

/* Sends the completed APDU to the card through vpcd; the answer goes back to the host */
static RESPONSECODE
transmit (DWORD    lun,
          uint8_t *apdu,
          size_t   apdu_len,
          PUCHAR   rx,
          DWORD    rx_len,
          LPDWORD  returned)
{
  SCARD_IO_HEADER send_pci = { .Protocol = 1, .Length = 0 };
  SCARD_IO_HEADER recv_pci = { 0 };
  DWORD len = rx_len;
  RESPONSECODE rv;

  rv = vpcd.transmit_to_icc (lun, send_pci, apdu, (DWORD) apdu_len, rx, &len, &recv_pci);
  explicit_bzero (apdu, apdu_len);
  if (rv == IFD_SUCCESS)
    *returned = len;
  return rv;
}

static RESPONSECODE
answer_sw (unsigned sw,
           PUCHAR   rx,
           DWORD    rx_len,
           LPDWORD  returned)
{
  if (rx_len < 2)
    return IFD_ERROR_INSUFFICIENT_BUFFER;
  rx[0] = (uint8_t) (sw >> 8);
  rx[1] = (uint8_t) sw;
  *returned = 2;
  return IFD_SUCCESS;
}

/* The APDU behind a structure: @apdu_len bytes with a 5-byte header and Lc data bytes */
static int
apdu_ok (const uint8_t *apdu,
         size_t         apdu_len)
{
  return apdu_len >= 5 && apdu_len <= MAX_APDU && apdu[4] + 5u <= apdu_len;
}

/* What a PIN_VERIFY_STRUCTURE and a PIN_MODIFY_STRUCTURE (@header bytes before abData)
 * share: the format (their first five bytes, and wPINMaxExtraDigit at @minmax_at) and
 * the APDU (ulDataLength, their last field, then abData). Returns 0, or the reader's
 * answer to a request it cannot follow. */
static unsigned
read_request (const uint8_t *tx,
              DWORD          tx_len,
              size_t         header,
              size_t         minmax_at,
              PinFormat     *fmt,
              uint8_t        apdu[MAX_APDU],
              size_t        *apdu_len)
{
  uint32_t data_len;
  uint16_t minmax;

  if (tx_len < header)
    return SW_BAD_DATA;
  memcpy (&data_len, tx + header - sizeof data_len, sizeof data_len);
  if (data_len != tx_len - header || !apdu_ok (tx + header, data_len))
    return SW_BAD_DATA;
  memcpy (apdu, tx + header, data_len);
  *apdu_len = data_len;

  memcpy (&minmax, tx + minmax_at, sizeof minmax);
  *fmt = (PinFormat) { tx[2], tx[3], tx[4], minmax >> 8, minmax & 0xFF };
  return 0;
}

/* The end of a request: the reader's own answer @sw, or (0) the completed APDU sent to
 * the card; @apdu is wiped either way */
static RESPONSECODE
finish (DWORD    lun,
        unsigned sw,
        uint8_t *apdu,
        size_t   apdu_len,
        PUCHAR   rx,
        DWORD    rx_len,
        LPDWORD  returned)
{
  if (sw != 0)
    {
      explicit_bzero (apdu, MAX_APDU);
      return answer_sw (sw, rx, rx_len, returned);
    }
  return transmit (lun, apdu, apdu_len, rx, rx_len, returned);
}

static RESPONSECODE
verify_pin (DWORD          lun,
            const uint8_t *tx,
            DWORD          tx_len,
            PUCHAR         rx,
            DWORD          rx_len,
            LPDWORD        returned)
{
  PinFormat fmt;
  uint8_t apdu[MAX_APDU];
  size_t apdu_len = 0;
  char digits[MAX_DIGITS + 1] = "";
  unsigned sw;
  int got;

  sw = read_request (tx, tx_len, offsetof (PIN_VERIFY_STRUCTURE, abData),
                     offsetof (PIN_VERIFY_STRUCTURE, wPINMaxExtraDigit), &fmt, apdu, &apdu_len);
  if (sw == 0)
    {
      got = keypad_take (digits);
      if (got <= 0)
        sw = got == 0 ? SW_CANCELLED : SW_LENGTH;
      else
        sw = insert_pin (&fmt, digits, 0, apdu + 5, apdu[4]);
    }
  explicit_bzero (digits, sizeof digits);
  return finish (lun, sw, apdu, apdu_len, rx, rx_len, returned);
}

static RESPONSECODE
modify_pin (DWORD          lun,
            const uint8_t *tx,
            DWORD          tx_len,
            PUCHAR         rx,
            DWORD          rx_len,
            LPDWORD        returned)
{
  PIN_MODIFY_STRUCTURE s;
  PinFormat fmt;
  uint8_t apdu[MAX_APDU];
  size_t apdu_len = 0;
  char old_digits[MAX_DIGITS + 1] = "";
  char new_digits[MAX_DIGITS + 1] = "";
  char confirm[MAX_DIGITS + 1] = "";
  unsigned sw;
  int got = 1;

  sw = read_request (tx, tx_len, offsetof (PIN_MODIFY_STRUCTURE, abData),
                     offsetof (PIN_MODIFY_STRUCTURE, wPINMaxExtraDigit), &fmt, apdu, &apdu_len);
  if (sw != 0)
    return finish (lun, sw, apdu, apdu_len, rx, rx_len, returned);
  memcpy (&s, tx, offsetof (PIN_MODIFY_STRUCTURE, abData));

  /* the prompts in the order a reader shows them: current, new, new again */
  if (s.bConfirmPIN & 0x02)
    got = keypad_take (old_digits);
  if (got > 0)
    got = keypad_take (new_digits);
  if (got > 0 && (s.bConfirmPIN & 0x01))
    {
      got = keypad_take (confirm);
      if (got > 0 && strcmp (new_digits, confirm) != 0)
        sw = SW_MISMATCH;
    }
  if (got <= 0)
    sw = got == 0 ? SW_CANCELLED : SW_LENGTH;
  if (sw == 0 && (s.bConfirmPIN & 0x02))
    sw = insert_pin (&fmt, old_digits, s.bInsertionOffsetOld, apdu + 5, apdu[4]);
  if (sw == 0)
    sw = insert_pin (&fmt, new_digits, s.bInsertionOffsetNew, apdu + 5, apdu[4]);
  explicit_bzero (old_digits, sizeof old_digits);
  explicit_bzero (new_digits, sizeof new_digits);
  explicit_bzero (confirm, sizeof confirm);
  return finish (lun, sw, apdu, apdu_len, rx, rx_len, returned);
}

static RESPONSECODE
get_features (PUCHAR  rx,
              DWORD   rx_len,
              LPDWORD returned)
{
  static const uint8_t tags[] = {
    FEATURE_VERIFY_PIN_DIRECT, FEATURE_MODIFY_PIN_DIRECT, FEATURE_IFD_PIN_PROPERTIES,
  };
  DWORD len = 0;

  if (rx_len < sizeof tags * 6)
    return IFD_ERROR_INSUFFICIENT_BUFFER;
  for (size_t i = 0; i < sizeof tags; i++)
    {
      uint32_t code = IOCTL_FEATURE (tags[i]);

      /* tag, length 4, the control code big-endian */
      rx[len++] = tags[i];
      rx[len++] = 4;
      rx[len++] = (uint8_t) (code >> 24);
      rx[len++] = (uint8_t) (code >> 16);
      rx[len++] = (uint8_t) (code >> 8);
      rx[len++] = (uint8_t) code;
    }
  *returned = len;
  return IFD_SUCCESS;
}

/* The driver API: vpcd's, with a keypad */

EXPORT RESPONSECODE
IFDHControl (DWORD   Lun,
             DWORD   dwControlCode,
             PUCHAR  TxBuffer,
             DWORD   TxLength,
             PUCHAR  RxBuffer,
             DWORD   RxLength,
             LPDWORD pdwBytesReturned)
{
  if (!have_vpcd ())
    return IFD_COMMUNICATION_ERROR;
  *pdwBytesReturned = 0;

  if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST)
    return get_features (RxBuffer, RxLength, pdwBytesReturned);
  if (dwControlCode == IOCTL_FEATURE (FEATURE_VERIFY_PIN_DIRECT))
    return verify_pin (Lun, TxBuffer, TxLength, RxBuffer, RxLength, pdwBytesReturned);
  if (dwControlCode == IOCTL_FEATURE (FEATURE_MODIFY_PIN_DIRECT))
    return modify_pin (Lun, TxBuffer, TxLength, RxBuffer, RxLength, pdwBytesReturned);
  if (dwControlCode == IOCTL_FEATURE (FEATURE_IFD_PIN_PROPERTIES))
    {
      /* no display, keypress validation, default timeout: a plain keypad */
      PIN_PROPERTIES_STRUCTURE props = { .wLcdLayout = 0, .bEntryValidationCondition = 0x02,
                                         .bTimeOut2 = 0 };

      if (RxLength < sizeof props)
        return IFD_ERROR_INSUFFICIENT_BUFFER;
      memcpy (RxBuffer, &props, sizeof props);
      *pdwBytesReturned = sizeof props;
      return IFD_SUCCESS;
    }
  return IFD_ERROR_NOT_SUPPORTED;
}

EXPORT RESPONSECODE
IFDHCreateChannelByName (DWORD Lun,
                         LPSTR DeviceName)
{
  return have_vpcd () ? vpcd.create_channel_by_name (Lun, DeviceName) : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHCreateChannel (DWORD Lun,
                   DWORD Channel)
{
  return have_vpcd () ? vpcd.create_channel (Lun, Channel) : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHCloseChannel (DWORD Lun)
{
  return have_vpcd () ? vpcd.close_channel (Lun) : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHGetCapabilities (DWORD  Lun,
                     DWORD  Tag,
                     PDWORD Length,
                     PUCHAR Value)
{
  return have_vpcd () ? vpcd.get_capabilities (Lun, Tag, Length, Value) : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHSetCapabilities (DWORD  Lun,
                     DWORD  Tag,
                     DWORD  Length,
                     PUCHAR Value)
{
  return have_vpcd () ? vpcd.set_capabilities (Lun, Tag, Length, Value) : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHSetProtocolParameters (DWORD Lun,
                           DWORD Protocol,
                           UCHAR Flags,
                           UCHAR PTS1,
                           UCHAR PTS2,
                           UCHAR PTS3)
{
  return have_vpcd () ? vpcd.set_protocol_parameters (Lun, Protocol, Flags, PTS1, PTS2, PTS3)
                      : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHPowerICC (DWORD  Lun,
              DWORD  Action,
              PUCHAR Atr,
              PDWORD AtrLength)
{
  return have_vpcd () ? vpcd.power_icc (Lun, Action, Atr, AtrLength) : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHTransmitToICC (DWORD            Lun,
                   SCARD_IO_HEADER  SendPci,
                   PUCHAR           TxBuffer,
                   DWORD            TxLength,
                   PUCHAR           RxBuffer,
                   PDWORD           RxLength,
                   PSCARD_IO_HEADER RecvPci)
{
  return have_vpcd () ? vpcd.transmit_to_icc (Lun, SendPci, TxBuffer, TxLength, RxBuffer,
                                              RxLength, RecvPci)
                      : IFD_COMMUNICATION_ERROR;
}

EXPORT RESPONSECODE
IFDHICCPresence (DWORD Lun)
{
  return have_vpcd () ? vpcd.icc_presence (Lun) : IFD_COMMUNICATION_ERROR;
}
