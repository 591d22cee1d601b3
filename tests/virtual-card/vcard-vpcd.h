/* vcard-vpcd.h: the vsmartcard vpcd transport of the virtual card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "vcard-card.h"
#include "vcard-options.h"

G_BEGIN_DECLS

gboolean vcard_vpcd_run (VcardCard           *card,
                         const VcardOptions  *options,
                         GError             **error);

G_END_DECLS
