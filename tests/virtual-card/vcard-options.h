/* vcard-options.h: command-line options of the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * VcardKeyAlg:
 * @VCARD_KEY_ALG_RSA2048: RSA 2048 (PIV algorithm 07)
 * @VCARD_KEY_ALG_ECCP256: ECC P-256 (PIV algorithm 11)
 *
 * The algorithm of the keys in slots 9A and 9C.
 */
typedef enum
{
  VCARD_KEY_ALG_RSA2048,
  VCARD_KEY_ALG_ECCP256,
} VcardKeyAlg;

/**
 * VcardDropMode:
 * @VCARD_DROP_BEFORE: drop off the reader before applying the command
 * @VCARD_DROP_AFTER: apply the command (and save), then drop without answering
 *
 * What `--drop-after` does with the command it drops at.
 */
typedef enum
{
  VCARD_DROP_BEFORE,
  VCARD_DROP_AFTER,
} VcardDropMode;

#define VCARD_PIN_MAX 8
#define VCARD_ADMIN_KEY_MAX 24
#define VCARD_ATR_MAX 33

/**
 * VcardOptions:
 *
 * The validated command line. Secrets are wiped by vcard_options_free().
 */
typedef struct
{
  guint         port;
  char         *serial;            /* uppercase hex, or NULL for random */
  guint8        pin[VCARD_PIN_MAX]; /* FF-padded */
  guint8        puk[VCARD_PIN_MAX]; /* FF-padded */
  guint8        admin_key[VCARD_ADMIN_KEY_MAX];
  gsize         admin_key_len;     /* 16 (AES-128) or 24 (3DES) */
  guint         pin_tries;
  guint         puk_tries;
  guint         admin_tries;
  char         *state_path;
  guint         pin_change_limit;  /* 0: unlimited */
  guint8        atr[VCARD_ATR_MAX];
  gsize         atr_len;
  char         *subject;
  VcardKeyAlg   key_alg;
  guint         drop_after;        /* 0: never */
  VcardDropMode drop_mode;
  guint         apdu_delay_ms;     /* delay of each APDU answer; 0: none */
  GArray       *garble;            /* guint command numbers answered with one byte */
  char         *mute_path;         /* while this file exists, every answer is one byte */
  gboolean      verbose;
} VcardOptions;

VcardOptions *vcard_options_new              (void) G_GNUC_WARN_UNUSED_RESULT;
void          vcard_options_free             (VcardOptions   *self);
gboolean      vcard_options_parse            (VcardOptions   *self,
                                              char          **args,
                                              GError        **error);
gboolean      vcard_options_parse_drop_after (const char     *text,
                                              guint          *count,
                                              VcardDropMode  *mode,
                                              GError        **error);
gboolean      vcard_options_parse_garble     (const char     *text,
                                              GArray         *numbers,
                                              GError        **error);
gboolean      vcard_options_garbles          (const VcardOptions *self,
                                              guint           command);
gboolean      vcard_pin_encode               (const char     *text,
                                              guint8          out[VCARD_PIN_MAX]);
gboolean      vcard_pin_is_well_formed       (const guint8    pin[VCARD_PIN_MAX]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VcardOptions, vcard_options_free)

G_END_DECLS
