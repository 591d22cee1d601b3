/* cardpin-piv.h — PIV card driver (NIST SP 800-73) over a card connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-op.h"
#include "cardpin-pcsc.h"
#include "cardpin-secret.h"

G_BEGIN_DECLS

#define CARDPIN_PIV_KEY_PIN   0x80
#define CARDPIN_PIV_KEY_PUK   0x81
#define CARDPIN_PIV_KEY_ADMIN 0x9B

/* PIV PINs and PUKs are 6 to 8 bytes, FF-padded to 8 */
#define CARDPIN_PIV_PIN_MIN   6
#define CARDPIN_PIV_PIN_MAX   8

/**
 * CardpinPivTries:
 * @tries_left: tries left, -1 when unknown
 * @tries_max: the counter's maximum, -1 when unknown
 * @is_default: 1 when the reference still holds its factory value, 0 when not, -1 when
 *   unknown
 * @algorithm: the key's algorithm from the metadata (tag 01), -1 when unknown
 */
typedef struct {
  int tries_left;
  int tries_max;
  int is_default;
  int algorithm;
} CardpinPivTries;

gboolean  cardpin_piv_check_reference (const CardpinSecret  *value,
                                       guint8                key,
                                       gboolean              is_new,
                                       GError              **error);
gboolean  cardpin_piv_select          (const CardpinCardIo  *io,
                                       GError              **error);
gboolean  cardpin_piv_get_tries       (const CardpinCardIo  *io,
                                       guint8                key_ref,
                                       CardpinPivTries      *tries,
                                       GError              **error);
gboolean  cardpin_piv_get_selected_pin_tries (const CardpinCardIo  *io,
                                              CardpinPivTries      *tries,
                                              gboolean             *found,
                                              guint16              *sw,
                                              GError              **error);
gboolean  cardpin_piv_read_pin_tries  (const CardpinCardIo  *io,
                                       CardpinPivTries      *tries,
                                       GError              **error);
char     *cardpin_piv_read_serial     (const CardpinCardIo  *io,
                                       GError              **error);
gboolean  cardpin_piv_parse_metadata  (const guint8         *data,
                                       gsize                 len,
                                       CardpinPivTries      *tries);
char     *cardpin_piv_parse_chuid     (const guint8         *data,
                                       gsize                 len);
char     *cardpin_piv_read_holder     (const CardpinCardIo  *io,
                                       GError              **error);
char     *cardpin_piv_parse_cert_holder (const guint8       *data,
                                       gsize                 len);
gboolean  cardpin_piv_sw_means_no_applet (guint16            sw);

/* PIN operations; errors carry the card's answer as CARDPIN_ERROR codes with tries */
gboolean  cardpin_piv_verify          (const CardpinCardIo  *io,
                                       const CardpinSecret  *pin,
                                       GError              **error);
gboolean  cardpin_piv_logout          (const CardpinCardIo  *io,
                                       GError              **error);
gboolean  cardpin_piv_change_reference (const CardpinCardIo *io,
                                       guint8                key_ref,
                                       const CardpinSecret  *old_value,
                                       const CardpinSecret  *new_value,
                                       GError              **error);
gboolean  cardpin_piv_reset_retry_counter (const CardpinCardIo *io,
                                       const CardpinSecret  *puk,
                                       const CardpinSecret  *new_pin,
                                       GError              **error);

/* Admin challenge/response unblock (key 9B); @algorithm is 03 (3DES) or 08 (AES-128) */
GBytes   *cardpin_piv_admin_challenge (const CardpinCardIo  *io,
                                       guint8               *algorithm,
                                       GError              **error);
gboolean  cardpin_piv_admin_respond   (const CardpinCardIo  *io,
                                       guint8                algorithm,
                                       const CardpinSecret  *response,
                                       GError              **error);
gboolean  cardpin_piv_admin_set_pin   (const CardpinCardIo  *io,
                                       const CardpinSecret  *new_pin,
                                       GError              **error);

GBytes   *cardpin_piv_admin_begin     (const CardpinCardIo  *io,
                                       guint8               *algorithm,
                                       int                  *admin_tries_left,
                                       GError              **error);
gboolean  cardpin_piv_admin_complete  (const CardpinCardIo  *io,
                                       guint8                algorithm,
                                       const CardpinSecret  *response,
                                       const CardpinSecret  *new_pin,
                                       gboolean             *responded,
                                       GError              **error);

/* A PIN operation with PIV APDUs; @secrets as in #OpKind */
gboolean  _cardpin_piv_run_op         (OpKind                 kind,
                                       CardpinSecret * const *secrets,
                                       const CardpinCardIo   *io,
                                       gboolean              *cleared,
                                       GError               **error);

void      cardpin_piv_set_sw_error    (GError              **error,
                                       guint8                key_ref,
                                       guint16               sw,
                                       gboolean              changing);

G_END_DECLS
