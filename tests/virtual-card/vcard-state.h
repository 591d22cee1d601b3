/* vcard-state.h: the persistent state of the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "vcard-options.h"

G_BEGIN_DECLS

/**
 * VcardSlot:
 * @VCARD_SLOT_9A: PIV authentication key
 * @VCARD_SLOT_9C: digital signature key
 * @VCARD_N_SLOTS: the number of slots
 *
 * The key slots the card holds a key pair and a certificate in.
 */
typedef enum
{
  VCARD_SLOT_9A,
  VCARD_SLOT_9C,
  VCARD_N_SLOTS,
} VcardSlot;

/**
 * VcardState:
 *
 * Everything a restarted card must remember. Saved atomically by
 * vcard_state_save() after every change.
 */
typedef struct
{
  char        *path;               /* NULL: kept in memory only */
  char        *serial;             /* 1 to 32 uppercase hex digits */
  guint8       guid[16];           /* the serial left-padded with zeros */
  guint8       pin[VCARD_PIN_MAX];
  guint8       puk[VCARD_PIN_MAX];
  guint8       admin_key[VCARD_ADMIN_KEY_MAX];
  gsize        admin_key_len;      /* 16: AES-128 (alg 08), 24: 3DES (alg 03) */
  guint        pin_tries_max;
  guint        pin_tries_left;
  guint        puk_tries_max;
  guint        puk_tries_left;
  guint        admin_tries_max;
  guint        admin_tries_left;
  guint        pin_change_limit;   /* 0: unlimited */
  guint        pin_change_count;
  VcardKeyAlg  key_alg;            /* of the keys a new card is made with */
  char        *subject;
  GHashTable  *objects;            /* data objects written with PUT DATA: tag -> GBytes
                                    * (the value of 53; empty: deleted) */
  EVP_PKEY    *keys[VCARD_N_SLOTS];
  GBytes      *certs[VCARD_N_SLOTS]; /* DER */
} VcardState;

VcardState *vcard_state_new  (const VcardOptions  *options,
                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
VcardState *vcard_state_load (const char          *path,
                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
VcardState *vcard_state_open (const VcardOptions  *options,
                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean    vcard_state_save (VcardState          *self,
                              GError             **error);
void        vcard_state_free (VcardState          *self);

EVP_PKEY   *vcard_key_generate (VcardKeyAlg      alg,
                                GError         **error) G_GNUC_WARN_UNUSED_RESULT;
VcardKeyAlg vcard_key_get_alg  (EVP_PKEY        *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VcardState, vcard_state_free)

G_END_DECLS
