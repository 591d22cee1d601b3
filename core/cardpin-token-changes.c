/* cardpin-token-changes.c — cards whose PIN can be changed only a few times: the model
 * list, and an honest count of the changes made through cardpin on this computer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "cardpin-atr-db.h"
#include "cardpin-token-private.h"

/* A PIV card does not say how often its PIN was changed, so core counts the changes it
 * made itself, per card serial, in $XDG_STATE_HOME/cardpin/pin-changes (a key file:
 * group [pin-changes], one "serial=count" line per change-limited card). Only serials
 * and counts are in it, never a secret; it is written after a successful change only. */
#define CHANGES_GROUP "pin-changes"

static GMutex changes_lock;

static char *
changes_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "cardpin", "pin-changes", NULL);
}

/* a key file key for a serial: the serial itself when it is plain, else its hash */
static char *
changes_key (const char *serial)
{
  for (const char *c = serial; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_' && *c != '.')
      {
        g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, serial, -1);

        return g_strconcat ("sha256-", hash, NULL);
      }
  return g_strdup (serial);
}

static GKeyFile *
changes_load (const char *path)
{
  GKeyFile *file = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &error) &&
      !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_debug ("%s: %s", path, error->message);
  return file;
}

static guint
changes_counted (const char *serial)
{
  g_autofree char *path = changes_path ();
  g_autofree char *key = changes_key (serial);
  g_autoptr(GKeyFile) file = NULL;
  gint64 count;

  g_mutex_lock (&changes_lock);
  file = changes_load (path);
  g_mutex_unlock (&changes_lock);
  count = g_key_file_get_int64 (file, CHANGES_GROUP, key, NULL);
  return (guint) CLAMP (count, 0, G_MAXINT);
}

/**
 * _cardpin_token_count_pin_change:
 * @serial: the card's serial number
 *
 * Counts one successful PIN change of a change-limited card. Called from the worker
 * thread of the operation, after the card accepted the change.
 */
void
_cardpin_token_count_pin_change (const char *serial)
{
  g_autofree char *path = changes_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *key = changes_key (serial);
  g_autofree char *data = NULL;
  g_autoptr(GKeyFile) file = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  g_return_if_fail (serial != NULL && *serial != '\0');

  g_mutex_lock (&changes_lock);
  file = changes_load (path);
  g_key_file_set_int64 (file, CHANGES_GROUP, key,
                        MAX (g_key_file_get_int64 (file, CHANGES_GROUP, key, NULL), 0) + 1);
  data = g_key_file_to_data (file, &len, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      !g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &error))
    g_warning ("Cannot count the PIN change in %s: %s", path,
               error != NULL ? error->message : g_strerror (errno));
  g_mutex_unlock (&changes_lock);
}

/**
 * cardpin_token_lookup_change_limit:
 * @self: a token
 * @atr_db_path: (nullable): a data file, %NULL for the list built into core
 * @max_changes: (out) (optional): how many changes the model allows
 * @description: (out) (optional) (transfer full): the model's description
 *
 * Returns: whether the card is a model known to allow only a few PIN changes: warn
 *   before changing its PIN
 */
gboolean
cardpin_token_lookup_change_limit (CardpinToken  *self,
                                   const char    *atr_db_path,
                                   guint         *max_changes,
                                   char         **description)
{
  g_autoptr(CardpinAtrDb) db = NULL;
  g_autoptr(GError) error = NULL;
  const char *desc = NULL;
  guint max = 0;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);

  if (self->atr == NULL)
    return FALSE;

  db = atr_db_path ? cardpin_atr_db_new_from_file (atr_db_path, &error)
                   : cardpin_atr_db_new_default (&error);
  if (db == NULL)
    {
      g_debug ("Change-limited card list: %s", error->message);
      return FALSE;
    }
  if (!cardpin_atr_db_lookup (db, self->atr, &max, &desc))
    return FALSE;

  if (max_changes != NULL)
    *max_changes = max;
  if (description != NULL)
    *description = g_strdup (desc);
  return TRUE;
}

/**
 * cardpin_token_get_changes_remaining:
 * @self: a token
 * @atr_db_path: (nullable): a data file, %NULL for the list built into core
 * @max_changes: (out) (optional): how many changes the model allows
 * @remaining: (out) (optional): how many PIN changes remain as far as this computer
 *   knows: the model's limit less the changes cardpin made here. Changes made elsewhere
 *   are not counted, so this is at most what the card still allows.
 *
 * Returns: whether the card is a change-limited model whose serial is known, so that
 *   @remaining means something
 */
gboolean
cardpin_token_get_changes_remaining (CardpinToken *self,
                                     const char   *atr_db_path,
                                     guint        *max_changes,
                                     guint        *remaining)
{
  guint max = 0, made;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);

  if (self->serial == NULL || *self->serial == '\0' ||
      !cardpin_token_lookup_change_limit (self, atr_db_path, &max, NULL))
    return FALSE;

  made = changes_counted (self->serial);
  if (max_changes != NULL)
    *max_changes = max;
  if (remaining != NULL)
    *remaining = made >= max ? 0 : max - made;
  return TRUE;
}

/**
 * cardpin_token_explain_change_limit:
 * @self: a token
 * @atr_db_path: (nullable): a data file, %NULL for the list built into core
 *
 * Says in translated sentences, for every front end, that the card's model allows only
 * a few PIN changes and how many remain as far as this computer knows; before the last
 * one, that it is the last.
 *
 * Returns: (transfer full) (nullable): the text, %NULL when the card is not a
 *   change-limited model
 */
char *
cardpin_token_explain_change_limit (CardpinToken *self,
                                    const char   *atr_db_path)
{
  g_autofree char *model = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  guint max = 0, remaining = 0;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);

  if (!cardpin_token_lookup_change_limit (self, atr_db_path, &max, &model))
    return NULL;

  g_string_append_printf (text,
                          g_dngettext (GETTEXT_PACKAGE,
                                       "This card model (%s) allows its PIN to be changed "
                                       "only %u time.",
                                       "This card model (%s) allows its PIN to be changed "
                                       "only %u times.", max),
                          model, max);

  if (!cardpin_token_get_changes_remaining (self, atr_db_path, NULL, &remaining))
    g_string_append_printf (text, " %s", _("Choose a PIN you can keep."));
  else if (remaining == 0)
    g_string_append_printf (text, " %s",
                            _("As far as this computer knows, no change remains: the card "
                              "will refuse a new PIN. Ask your helpdesk for a new card."));
  else if (remaining == 1)
    g_string_append_printf (text, " %s",
                            _("As far as this computer knows, this is the last change: "
                              "after it, the PIN can never be changed again. Choose a PIN "
                              "you can keep."));
  else
    {
      g_string_append_c (text, ' ');
      g_string_append_printf (text,
                              g_dngettext (GETTEXT_PACKAGE,
                                           "As far as this computer knows, at most %u change "
                                           "remains (changes made elsewhere are not "
                                           "counted here). Choose a PIN you can keep.",
                                           "As far as this computer knows, at most %u "
                                           "changes remain (changes made elsewhere are not "
                                           "counted here). Choose a PIN you can keep.",
                                           remaining),
                              remaining);
    }

  return g_string_free (g_steal_pointer (&text), FALSE);
}
