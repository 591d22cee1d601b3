/* cardpin-flow.c — what every flow page does while the card or the service works
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "cardpin-flow.h"
#include "cardpin-secure-entry.h"

/**
 * cardpin_flow_set_busy:
 * @page: the flow page
 * @busy_field: the page's busy state
 * @busy: whether the card (or the service) is being worked with
 * @spinner: the page's spinner
 * @back_button: its Back button
 * @inputs: the group the page asks its own secrets in
 * @new_group: the new-PIN group
 *
 * While busy, the spinner turns, the focus leaves the secret entries (before they turn
 * insensitive) and the inputs and Back cannot be used.
 *
 * Returns: %TRUE when the state changed: the page then updates its actions and notifies
 */
gboolean
cardpin_flow_set_busy (GtkWidget  *page,
                       gboolean   *busy_field,
                       gboolean    busy,
                       GtkSpinner *spinner,
                       GtkWidget  *back_button,
                       GtkWidget  *inputs,
                       GtkWidget  *new_group)
{
  busy = !!busy;
  if (*busy_field == busy)
    return FALSE;

  *busy_field = busy;
  if (busy)
    cardpin_secure_entry_release_focus (page);
  gtk_widget_set_visible (GTK_WIDGET (spinner), busy);
  gtk_spinner_set_spinning (spinner, busy);
  gtk_widget_set_sensitive (inputs, !busy);
  gtk_widget_set_sensitive (new_group, !busy);
  gtk_widget_set_sensitive (back_button, !busy);
  return TRUE;
}

/**
 * cardpin_flow_show_error:
 * @error_label: the page's error label
 * @message: (nullable): what went wrong and what to do next, or %NULL to hide it
 */
void
cardpin_flow_show_error (GtkLabel   *error_label,
                         const char *message)
{
  gtk_label_set_text (error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (error_label), message != NULL);
}
