/* cardpin-process.h — start-up of every program that handles a secret
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean cardpin_process_harden (GError **error);

G_END_DECLS
