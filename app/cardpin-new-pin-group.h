/* cardpin-new-pin-group.h — a new PIN (or PUK) typed twice, checked while typing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-secret.h"
#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_NEW_PIN_GROUP (cardpin_new_pin_group_get_type ())

G_DECLARE_FINAL_TYPE (CardpinNewPinGroup, cardpin_new_pin_group, CARDPIN, NEW_PIN_GROUP,
                      AdwPreferencesGroup)

void           cardpin_new_pin_group_setup           (CardpinNewPinGroup  *self,
                                                      CardpinToken        *token,
                                                      gboolean             is_puk);
void           cardpin_new_pin_group_set_old_secret  (CardpinNewPinGroup  *self,
                                                      CardpinSecret       *old_secret);
void           cardpin_new_pin_group_set_other_secret (CardpinNewPinGroup *self,
                                                      CardpinSecret       *other_secret);
gboolean       cardpin_new_pin_group_get_valid       (CardpinNewPinGroup  *self);
const char    *cardpin_new_pin_group_get_hint        (CardpinNewPinGroup  *self);
CardpinSecret *cardpin_new_pin_group_dup_secret      (CardpinNewPinGroup  *self) G_GNUC_WARN_UNUSED_RESULT;
void           cardpin_new_pin_group_clear           (CardpinNewPinGroup  *self);
GtkEditable   *cardpin_new_pin_group_get_new_entry   (CardpinNewPinGroup  *self);
GtkEditable   *cardpin_new_pin_group_get_confirm_entry (CardpinNewPinGroup *self);

G_END_DECLS
