/* cardpin-pcsc.h — PC/SC access: contexts, one card connection, transactions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <PCSC/winscard.h>

#include "cardpin-apdu.h"

G_BEGIN_DECLS

/* The name of the pcsc-lite pseudo reader that reports reader insertion and removal */
#define CARDPIN_PCSC_PNP_NOTIFICATION "\\\\?PnP?\\Notification"

/**
 * CardpinControlFunc:
 * @user_data: closure
 * @code: the reader's control code (PC/SC SCardControl)
 * @in: (array length=in_len): what to send to the reader
 * @out: (array length=out_size): buffer for the answer
 * @out_len: (out): bytes written
 * @error: return location
 *
 * Sends one control request to the card's reader (PC/SC part 10: the PIN pad).
 */
typedef gboolean (*CardpinControlFunc) (gpointer       user_data,
                                        guint32        code,
                                        const guint8  *in,
                                        gsize          in_len,
                                        guint8        *out,
                                        gsize          out_size,
                                        gsize         *out_len,
                                        GError       **error);

/**
 * CardpinCardIo:
 * @transmit: sends one APDU
 * @user_data: closure
 * @control: (nullable): sends a control request to the reader; %NULL when there is no
 *   reader to ask (a fake card)
 *
 * How card drivers talk to a card: a PC/SC connection, or a fake for tests and fuzzing.
 */
typedef struct {
  CardpinTransmitFunc transmit;
  gpointer            user_data;
  CardpinControlFunc  control;
} CardpinCardIo;

typedef struct _CardpinPcscCard CardpinPcscCard;

gboolean          cardpin_pcsc_set_error              (GError              **error,
                                                       LONG                  rv,
                                                       const char           *what);
gboolean          cardpin_pcsc_establish              (SCARDCONTEXT         *context,
                                                       GError              **error);
char            **cardpin_pcsc_list_readers           (SCARDCONTEXT          context,
                                                       GError              **error);
/* how often this process connected to and disconnected from the card in @reader */
guint             cardpin_pcsc_get_own_uses           (const char           *reader);
gboolean          cardpin_pcsc_readers_with_card      (char               ***readers_out,
                                                       char               ***present_out,
                                                       guint               **events_out,
                                                       GError              **pcsc_error_out,
                                                       GError              **error);

CardpinPcscCard  *cardpin_pcsc_card_connect           (const char           *reader,
                                                       GCancellable         *cancellable,
                                                       GError              **error);
gboolean          cardpin_pcsc_card_begin_transaction (CardpinPcscCard      *card,
                                                       GError              **error);
gboolean          cardpin_pcsc_card_end_transaction   (CardpinPcscCard      *card,
                                                       DWORD                 disposition,
                                                       GError              **error);
CardpinApduResponse *
                  cardpin_pcsc_card_transmit          (CardpinPcscCard      *card,
                                                       const CardpinApdu    *apdu,
                                                       GError              **error);
CardpinCardIo     cardpin_pcsc_card_get_io            (CardpinPcscCard      *card);
const char       *cardpin_pcsc_card_get_reader        (CardpinPcscCard      *card);
/* uppercase hex */
const char       *cardpin_pcsc_card_get_atr           (CardpinPcscCard      *card);
/* Whether the reader has a PIN pad (PC/SC part 10: FEATURE_VERIFY_PIN_DIRECT or
 * FEATURE_MODIFY_PIN_DIRECT); one control request to pcscd, no command to the card. */
gboolean          cardpin_pcsc_card_has_pinpad        (CardpinPcscCard      *card);
/* Parses a CM_IOCTL_GET_FEATURE_REQUEST answer (tag, length 4, control code big-endian;
 * repeated): whether it lists a PIN pad feature. Malformed input is "no PIN pad". */
gboolean          cardpin_pcsc_features_have_pinpad   (const guint8         *features,
                                                       gsize                 len);
/* The control code of feature @tag in such an answer, 0 when it is not there */
guint32           cardpin_pcsc_features_find          (const guint8         *features,
                                                       gsize                 len,
                                                       guint8                tag);
/* Ends any open transaction and disconnects with @disposition, then frees @card. */
void              cardpin_pcsc_card_disconnect        (CardpinPcscCard      *card,
                                                       DWORD                 disposition);
/* cardpin_pcsc_card_disconnect() with SCARD_LEAVE_CARD */
void              cardpin_pcsc_card_free              (CardpinPcscCard      *card);

/* Sends @apdu through @io with GET RESPONSE / 6CXX handling */
CardpinApduResponse *
                  cardpin_card_io_transceive          (const CardpinCardIo  *io,
                                                       const CardpinApdu    *apdu,
                                                       GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinPcscCard, cardpin_pcsc_card_free)

G_END_DECLS
