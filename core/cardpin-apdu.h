/* cardpin-apdu.h — ISO 7816-4 command APDUs, responses, BER-TLV and status words
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest command data field cardpin sends (PIV needs far less; extended APDUs allow it). */
#define CARDPIN_APDU_MAX_DATA     4096
/* Largest command APDU: header, extended Lc, data, extended Le */
#define CARDPIN_APDU_MAX_COMMAND  (4 + 3 + CARDPIN_APDU_MAX_DATA + 3)
/* Largest response, data and SW, that cardpin accepts across GET RESPONSE chaining */
#define CARDPIN_APDU_MAX_RESPONSE 65536
/* Le meaning "no Le field" */
#define CARDPIN_APDU_NO_LE        (-1)

#define CARDPIN_SW_OK                     0x9000
#define CARDPIN_SW_WRONG_LENGTH           0x6700
#define CARDPIN_SW_SECURITY_NOT_SATISFIED 0x6982
#define CARDPIN_SW_AUTH_BLOCKED           0x6983
#define CARDPIN_SW_CONDITIONS_NOT_SATISFIED 0x6985
#define CARDPIN_SW_WRONG_DATA             0x6A80
#define CARDPIN_SW_FILE_NOT_FOUND         0x6A82
#define CARDPIN_SW_INCORRECT_P1P2         0x6A86
#define CARDPIN_SW_REF_NOT_FOUND          0x6A88
#define CARDPIN_SW_INS_NOT_SUPPORTED      0x6D00
#define CARDPIN_SW_CLA_NOT_SUPPORTED      0x6E00

/**
 * CardpinApdu:
 * @bytes: the encoded command
 * @len: its length
 * @body_len: the length without the Le field (used to re-send with another Le)
 * @extended: whether the command uses extended length fields
 *
 * An encoded command APDU on the stack. Commands can carry secrets (VERIFY, CHANGE
 * REFERENCE DATA): call cardpin_apdu_clear() when done; g_auto() does it.
 */
typedef struct {
  guint8   bytes[CARDPIN_APDU_MAX_COMMAND];
  gsize    len;
  /*< private >*/
  gsize    body_len;   /* header + Lc + data, without the Le field */
  gboolean extended;
} CardpinApdu;

/**
 * CardpinApduResponse:
 * @data: the response data, without SW1 SW2
 * @len: its length
 * @sw: SW1 SW2 of the last response
 *
 * A response, heap allocated, wiped when freed.
 */
typedef struct {
  guint8  *data;
  gsize    len;
  guint16  sw;
} CardpinApduResponse;

/**
 * CardpinTransmitFunc:
 * @user_data: closure
 * @command: the encoded command
 * @command_len: its length
 * @response: buffer of %CARDPIN_APDU_MAX_RESPONSE bytes for data and SW
 * @response_len: (out): bytes written, including SW1 SW2
 * @error: return location
 *
 * Sends one command APDU and receives one raw response (no chaining).
 */
typedef gboolean (*CardpinTransmitFunc) (gpointer       user_data,
                                         const guint8  *command,
                                         gsize          command_len,
                                         guint8        *response,
                                         gsize         *response_len,
                                         GError       **error);

gboolean             cardpin_apdu_build            (CardpinApdu           *apdu,
                                                    guint8                 cla,
                                                    guint8                 ins,
                                                    guint8                 p1,
                                                    guint8                 p2,
                                                    const guint8          *data,
                                                    gsize                  data_len,
                                                    int                    le);
void                 cardpin_apdu_clear            (CardpinApdu           *apdu);

CardpinApduResponse *cardpin_apdu_response_new     (const guint8          *data,
                                                    gsize                  len,
                                                    guint16                sw);
void                 cardpin_apdu_response_free    (CardpinApduResponse   *response);

CardpinApduResponse *cardpin_apdu_transceive       (CardpinTransmitFunc    transmit,
                                                    gpointer               user_data,
                                                    const CardpinApdu     *apdu,
                                                    GError               **error);

/* Status words */
gboolean             cardpin_sw_is_ok              (guint16                sw);
/* 63CX: returns X, else -1 */
int                  cardpin_sw_tries_left         (guint16                sw);
const char          *cardpin_sw_describe           (guint16                sw);

/* BER-TLV (ISO 7816-4 / X.690 subset: tags up to 3 bytes, definite lengths up to 3 bytes) */
gboolean             cardpin_tlv_next              (const guint8          *buf,
                                                    gsize                  len,
                                                    gsize                 *offset,
                                                    guint                 *tag,
                                                    const guint8         **value,
                                                    gsize                 *value_len);
const guint8        *cardpin_tlv_find              (const guint8          *buf,
                                                    gsize                  len,
                                                    guint                  tag,
                                                    gsize                 *value_len);
void                 cardpin_tlv_append            (GByteArray            *out,
                                                    guint                  tag,
                                                    const guint8          *value,
                                                    gsize                  value_len);

/* Hex helpers (uppercase, no separators); decode accepts spaces and colons */
char                *cardpin_hex_encode            (const guint8          *data,
                                                    gsize                  len);
GBytes              *cardpin_hex_decode            (const char            *hex);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CardpinApdu, cardpin_apdu_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinApduResponse, cardpin_apdu_response_free)

G_END_DECLS
