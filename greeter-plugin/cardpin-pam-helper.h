/* cardpin-pam-helper.h — what the login-screen helper does for each PAM entry point
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-pam-config.h"
#include "cardpin-pam-conv.h"

G_BEGIN_DECLS

typedef struct {
  CardpinPamConv     conv;
  CardpinPamConfig   config;
  /* PKCS#11 modules for the operations; %NULL: every module registered with p11-kit */
  char             **modules;
} CardpinPamHelper;

/* pam_sm_authenticate: silent unless a PIN is blocked; then the unblock conversation */
CardpinPamResult  cardpin_pam_helper_auth      (CardpinPamHelper *self);
/* pam_sm_acct_mgmt: NEW_AUTHTOK_REQD for a factory or must-change PIN */
CardpinPamResult  cardpin_pam_helper_account   (CardpinPamHelper *self);
/* pam_sm_chauthtok: a personal PIN instead of the factory one */
CardpinPamResult  cardpin_pam_helper_password  (CardpinPamHelper *self);

G_END_DECLS
