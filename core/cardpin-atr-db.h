/* cardpin-atr-db.h — card models known by their ATR (change-limited cards)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CARDPIN_TYPE_ATR_DB (cardpin_atr_db_get_type ())

G_DECLARE_FINAL_TYPE (CardpinAtrDb, cardpin_atr_db, CARDPIN, ATR_DB, GObject)

CardpinAtrDb *cardpin_atr_db_new_default       (GError       **error) G_GNUC_WARN_UNUSED_RESULT;
CardpinAtrDb *cardpin_atr_db_new_from_file     (const char    *path,
                                                GError       **error) G_GNUC_WARN_UNUSED_RESULT;
CardpinAtrDb *cardpin_atr_db_new_from_data     (const char    *contents,
                                                const char    *source_name,
                                                GError       **error) G_GNUC_WARN_UNUSED_RESULT;

guint         cardpin_atr_db_get_n_entries     (CardpinAtrDb  *self);
gboolean      cardpin_atr_db_lookup            (CardpinAtrDb  *self,
                                                const char    *atr_hex,
                                                guint         *max_changes,
                                                const char   **description);

G_END_DECLS
