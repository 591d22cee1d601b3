/* cardpin-renderer.h — GTK's renderer on machines without a GPU
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean cardpin_renderer_has_gpu (const char *dev_dir);
gboolean cardpin_renderer_choose  (const char *dev_dir);

G_END_DECLS
