/* cardpin-policy.h — rules a new PIN or PUK must follow
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_POLICY (cardpin_policy_get_type ())

G_DECLARE_FINAL_TYPE (CardpinPolicy, cardpin_policy, CARDPIN, POLICY, GObject)

GSettings     *cardpin_settings_new_default      (void) G_GNUC_WARN_UNUSED_RESULT;
CardpinPolicy *cardpin_policy_new                 (guint                min_length,
                                                   guint                max_length,
                                                   gboolean             digits_only) G_GNUC_WARN_UNUSED_RESULT;
CardpinPolicy *cardpin_policy_new_from_settings  (GSettings           *settings) G_GNUC_WARN_UNUSED_RESULT;
CardpinPolicy *cardpin_policy_new_puk_from_settings (GSettings         *settings) G_GNUC_WARN_UNUSED_RESULT;
CardpinPolicy *cardpin_policy_new_for_token       (CardpinPolicy       *settings,
                                                   guint                token_min_length,
                                                   guint                token_max_length) G_GNUC_WARN_UNUSED_RESULT;

guint          cardpin_policy_get_min_length      (CardpinPolicy       *self);
void           cardpin_policy_set_min_length      (CardpinPolicy       *self,
                                                   guint                min_length);
guint          cardpin_policy_get_max_length      (CardpinPolicy       *self);
void           cardpin_policy_set_max_length      (CardpinPolicy       *self,
                                                   guint                max_length);
gboolean       cardpin_policy_get_digits_only     (CardpinPolicy       *self);
void           cardpin_policy_set_digits_only     (CardpinPolicy       *self,
                                                   gboolean             digits_only);

/* "Use exactly 8 digits.", "Use 6 to 8 characters.": the length rule in words */
char          *cardpin_policy_describe_length     (guint                min_length,
                                                   guint                max_length,
                                                   gboolean             digits_only) G_GNUC_WARN_UNUSED_RESULT;

gboolean       cardpin_policy_check               (CardpinPolicy       *self,
                                                   const CardpinSecret *new_pin,
                                                   const CardpinSecret *old_pin,
                                                   const CardpinSecret *puk,
                                                   GError             **error);
gboolean       cardpin_policy_check_puk           (CardpinPolicy       *self,
                                                   const CardpinSecret *new_puk,
                                                   const CardpinSecret *old_puk,
                                                   const CardpinSecret *pin,
                                                   GError             **error);
/* Unblock methods of `allowed-unblock-methods` */
#define CARDPIN_UNBLOCK_METHOD_PUK     "puk"
#define CARDPIN_UNBLOCK_METHOD_ONLINE  "online"
#define CARDPIN_UNBLOCK_METHOD_OFFLINE "offline"

gboolean       cardpin_policy_check_unblock_method (GSettings          *settings,
                                                    const char         *method,
                                                    GError            **error);
gboolean       cardpin_policy_check_confirmation  (const CardpinSecret *new_secret,
                                                   const CardpinSecret *confirmation,
                                                   GError             **error);

G_END_DECLS
