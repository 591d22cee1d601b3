/* cardpin-value-row.c — a row with a name and a selectable value, for detail pages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-value-row.h"

/**
 * cardpin_value_row_new:
 * @title: what the value is
 * @value: (nullable): the value; %NULL or empty shows "Unknown"
 *
 * A row for detail pages: the name as the title, the value as a selectable label at the
 * end (to copy into a ticket), read by screen readers with the name.
 *
 * Returns: (transfer floating): a new #AdwActionRow
 */
GtkWidget *
cardpin_value_row_new (const char *title,
                       const char *value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *label = gtk_label_new (value != NULL && *value != '\0' ? value : _("Unknown"));

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
  gtk_widget_add_css_class (label, "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
  /* the value is read with its name */
  gtk_accessible_update_relation (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_RELATION_DESCRIBED_BY,
                                  label, NULL, -1);
  return row;
}

