/* vcard-card.h: the PIV applet of the virtual card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib-object.h>

#include "vcard-state.h"

G_BEGIN_DECLS

#define VCARD_TYPE_CARD (vcard_card_get_type ())

G_DECLARE_FINAL_TYPE (VcardCard, vcard_card, VCARD, CARD, GObject)

VcardCard  *vcard_card_new         (VcardState   *state) G_GNUC_WARN_UNUSED_RESULT;
VcardState *vcard_card_get_state   (VcardCard    *self);
void        vcard_card_set_verbose (VcardCard    *self,
                                    gboolean      verbose);
void        vcard_card_reset       (VcardCard    *self);
GBytes     *vcard_card_transmit    (VcardCard    *self,
                                    const guint8 *apdu,
                                    gsize         apdu_len) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
