/* cardpin-pam-check.h — what the login-screen helper reads of the cards over PC/SC alone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-pam-protocol.h"
#include "cardpin-secret.h"

G_BEGIN_DECLS

/**
 * CardpinPamCard:
 * @reader: the reader
 * @is_piv: whether the card has the PIV application
 * @pin_tries_left: the PIN's tries left, -1 when PC/SC alone cannot tell
 * @pin_is_default: 1 when the card says its PIN is the factory PIN, 0 when not, -1
 *   when it cannot tell
 */
typedef struct {
  char     *reader;
  gboolean  is_piv;
  int       pin_tries_left;
  int       pin_is_default;
} CardpinPamCard;

GPtrArray        *cardpin_pam_check_cards      (void) G_GNUC_WARN_UNUSED_RESULT;
gboolean          cardpin_pam_check_auth       (GPtrArray            *cards,
                                                CardpinPamResult     *result);
gboolean          cardpin_pam_check_account    (GPtrArray            *cards,
                                                CardpinPamResult     *result);
gboolean          cardpin_pam_check_first_use  (const CardpinPamCard *card,
                                                const CardpinSecret  *authtok,
                                                CardpinPamResult     *result);

void              cardpin_pam_log_to_module    (const char           *ident,
                                                gboolean              debug);

G_END_DECLS
