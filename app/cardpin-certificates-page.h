/* cardpin-certificates-page.h — the certificates on a card and which PIN protects each key
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_CERTIFICATES_PAGE (cardpin_certificates_page_get_type ())

G_DECLARE_FINAL_TYPE (CardpinCertificatesPage, cardpin_certificates_page, CARDPIN,
                      CERTIFICATES_PAGE, AdwBin)

GtkWidget    *cardpin_certificates_page_new        (CardpinToken            *token) G_GNUC_WARN_UNUSED_RESULT;
CardpinToken *cardpin_certificates_page_get_token  (CardpinCertificatesPage *self);
/* "loading", "list", "empty" or "error" */
const char   *cardpin_certificates_page_get_state  (CardpinCertificatesPage *self);

G_END_DECLS
