/* cardpin-pam-auth.h — account passwords checked through the service's PAM service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

typedef enum {
  CARDPIN_PAM_OK,                /* pam_authenticate and pam_acct_mgmt succeeded */
  CARDPIN_PAM_BAD_CREDENTIALS,   /* unknown user or wrong password (401) */
  CARDPIN_PAM_ACCOUNT_REFUSED,   /* right password, but the account may not log in (403) */
  CARDPIN_PAM_FAILED,            /* PAM itself failed (503); see the error */
} CardpinPamResult;

/* Blocking (PAM modules may sleep after a failure): call it from a worker thread. */
CardpinPamResult cardpin_pam_check (const char           *service,
                                    const char           *user,
                                    const CardpinSecret  *password,
                                    const char           *remote_host,
                                    GError              **error);

G_END_DECLS
