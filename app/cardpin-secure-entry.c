/* cardpin-secure-entry.c — secrets typed into GTK entries: locked buffers, wiped
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "cardpin-secure-entry.h"

/**
 * cardpin_secure_entry_init:
 * @editable: a #GtkPasswordEntry, an #AdwPasswordEntryRow or an #AdwEntryRow
 *
 * Makes the text of @editable live in a #GtkPasswordEntryBuffer: non-pageable memory
 * that GTK wipes when it frees it. A visible entry (a response code the user compares
 * with what the helpdesk reads) keeps its visibility.
 */
void
cardpin_secure_entry_init (GtkEditable *editable)
{
  GtkEditable *delegate;
  g_autoptr(GtkEntryBuffer) buffer = NULL;

  g_return_if_fail (GTK_IS_EDITABLE (editable));

  /* GtkPasswordEntry already has one */
  if (GTK_IS_PASSWORD_ENTRY (editable))
    return;

  delegate = gtk_editable_get_delegate (editable);
  while (delegate != NULL && !GTK_IS_TEXT (delegate))
    delegate = gtk_editable_get_delegate (delegate);
  g_return_if_fail (GTK_IS_TEXT (delegate));

  buffer = gtk_password_entry_buffer_new ();
  gtk_text_set_buffer (GTK_TEXT (delegate), buffer);
}

/**
 * cardpin_secure_entry_dup_secret:
 * @editable: an entry set up with cardpin_secure_entry_init()
 *
 * Returns: (transfer full): the text as a #CardpinSecret (locked, wiped on free)
 */
CardpinSecret *
cardpin_secure_entry_dup_secret (GtkEditable *editable)
{
  g_return_val_if_fail (GTK_IS_EDITABLE (editable), NULL);

  /* gtk_editable_get_text() points into the entry's own (locked) buffer: no copy */
  return cardpin_secret_new_from_string (gtk_editable_get_text (editable));
}

gboolean
cardpin_secure_entry_is_empty (GtkEditable *editable)
{
  g_return_val_if_fail (GTK_IS_EDITABLE (editable), TRUE);

  return *gtk_editable_get_text (editable) == '\0';
}

/**
 * cardpin_secure_entry_clear:
 * @editable: an entry
 *
 * Empties @editable; the password buffer wipes what it held.
 */
void
cardpin_secure_entry_clear (GtkEditable *editable)
{
  g_return_if_fail (GTK_IS_EDITABLE (editable));

  if (!cardpin_secure_entry_is_empty (editable))
    gtk_editable_delete_text (editable, 0, -1);
}

/**
 * cardpin_secure_entry_release_focus:
 * @form: a widget holding entries
 *
 * Takes the keyboard focus away from @form before it turns insensitive or hides: a
 * focused GtkText that goes insensitive keeps its cursor blinking without a focus-out.
 */
void
cardpin_secure_entry_release_focus (GtkWidget *form)
{
  GtkRoot *root;
  GtkWidget *focus;

  g_return_if_fail (GTK_IS_WIDGET (form));

  root = gtk_widget_get_root (form);
  if (root == NULL)
    return;
  focus = gtk_root_get_focus (root);
  if (focus != NULL && (focus == form || gtk_widget_is_ancestor (focus, form)))
    gtk_root_set_focus (root, NULL);
}
