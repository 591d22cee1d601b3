/* cardpin-application.h — the "Smart Card PIN" application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CARDPIN_TYPE_APPLICATION (cardpin_application_get_type ())

G_DECLARE_FINAL_TYPE (CardpinApplication, cardpin_application, CARDPIN, APPLICATION, AdwApplication)

CardpinApplication  *cardpin_application_new          (void) G_GNUC_WARN_UNUSED_RESULT;
const char * const  *cardpin_application_get_modules  (CardpinApplication *self);

void                 cardpin_ensure_resources         (void);

G_END_DECLS
