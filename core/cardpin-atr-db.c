/* cardpin-atr-db.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gio/gio.h>

#include "cardpin-atr-db.h"
#include "cardpin-core-resources.h"

#define DEFAULT_RESOURCE "/io/github/cardpin/core/change-limited-cards.txt"

/**
 * CardpinAtrDb:
 *
 * Card models recognised by their ATR, from `change-limited-cards.txt`: cards that
 * allow their PIN to be changed only a limited number of times. A front end warns
 * before changing the PIN of a card that matches.
 *
 * The file has one model per line, `<ATR pattern>  <max PIN changes>  <description>`,
 * and `#` comment lines. The pattern is the ATR in hex without spaces, where `XX`
 * matches any byte (and a single `X` any half-byte); it must have as many bytes as the
 * ATR. See data/change-limited-cards.txt, which is built into core as a resource
 * (cardpin_atr_db_new_default()).
 */

typedef struct {
  char  *pattern;       /* uppercase hex digits, 'X' for any half-byte */
  guint  max_changes;
  char  *description;
} AtrEntry;

struct _CardpinAtrDb
{
  GObject  parent_instance;

  GArray  *entries;     /* of AtrEntry */
};

G_DEFINE_FINAL_TYPE (CardpinAtrDb, cardpin_atr_db, G_TYPE_OBJECT)

static void
atr_entry_clear (gpointer data)
{
  AtrEntry *entry = data;

  g_clear_pointer (&entry->pattern, g_free);
  g_clear_pointer (&entry->description, g_free);
}

/* Returns the next whitespace-separated word of *p and moves *p past it. */
static char *
next_word (const char **p)
{
  const char *start;

  while (g_ascii_isspace (**p))
    (*p)++;
  start = *p;
  while (**p != '\0' && !g_ascii_isspace (**p))
    (*p)++;
  return start == *p ? NULL : g_strndup (start, (gsize) (*p - start));
}

static gboolean
parse_line (CardpinAtrDb  *self,
            const char    *line,
            const char    *source_name,
            guint          line_number,
            GError       **error)
{
  g_autofree char *pattern = NULL;
  g_autofree char *count = NULL;
  g_autofree char *description = NULL;
  const char *p = line;
  AtrEntry entry;
  guint64 max_changes;
  gsize len;

  while (g_ascii_isspace (*p))
    p++;
  if (*p == '\0' || *p == '#')
    return TRUE;

  pattern = next_word (&p);
  count = next_word (&p);
  description = g_strstrip (g_strdup (p));

  len = strlen (pattern);
  if (len == 0 || len % 2 != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s:%u: the ATR pattern must have two characters per byte"),
                   source_name, line_number);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      if (g_ascii_isxdigit (pattern[i]) || pattern[i] == 'X' || pattern[i] == 'x')
        pattern[i] = g_ascii_toupper (pattern[i]);
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("%s:%u: the ATR pattern may only contain hex digits and X"),
                       source_name, line_number);
          return FALSE;
        }
    }

  if (count == NULL
      || !g_ascii_string_to_unsigned (count, 10, 1, G_MAXUINT, &max_changes, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s:%u: the number of PIN changes must be a whole number of at least 1"),
                   source_name, line_number);
      return FALSE;
    }

  if (description[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s:%u: the card model has no description"),
                   source_name, line_number);
      return FALSE;
    }

  entry.pattern = g_steal_pointer (&pattern);
  entry.max_changes = (guint) max_changes;
  entry.description = g_steal_pointer (&description);
  g_array_append_val (self->entries, entry);

  return TRUE;
}

static void
cardpin_atr_db_finalize (GObject *object)
{
  CardpinAtrDb *self = CARDPIN_ATR_DB (object);

  g_clear_pointer (&self->entries, g_array_unref);

  G_OBJECT_CLASS (cardpin_atr_db_parent_class)->finalize (object);
}

static void
cardpin_atr_db_class_init (CardpinAtrDbClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cardpin_atr_db_finalize;
}

static void
cardpin_atr_db_init (CardpinAtrDb *self)
{
  self->entries = g_array_new (FALSE, FALSE, sizeof (AtrEntry));
  g_array_set_clear_func (self->entries, atr_entry_clear);
}

/**
 * cardpin_atr_db_new_from_data:
 * @contents: the text of a data file
 * @source_name: a name for error messages, such as the file name
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the card models in @contents, or %NULL with
 *   %G_IO_ERROR_INVALID_DATA naming the line that is wrong
 */
CardpinAtrDb *
cardpin_atr_db_new_from_data (const char  *contents,
                              const char  *source_name,
                              GError     **error)
{
  g_autoptr(CardpinAtrDb) self = NULL;
  g_auto(GStrv) lines = NULL;

  g_return_val_if_fail (contents != NULL, NULL);
  g_return_val_if_fail (source_name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CARDPIN_TYPE_ATR_DB, NULL);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (!parse_line (self, lines[i], source_name, i + 1, error))
      return NULL;

  return g_steal_pointer (&self);
}

/**
 * cardpin_atr_db_new_from_file:
 * @path: a data file
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the card models in @path, or %NULL with @error set
 *   (%G_FILE_ERROR when it cannot be read, %G_IO_ERROR_INVALID_DATA when a line is
 *   wrong)
 */
CardpinAtrDb *
cardpin_atr_db_new_from_file (const char  *path,
                              GError     **error)
{
  g_autofree char *contents = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;

  return cardpin_atr_db_new_from_data (contents, path, error);
}

/**
 * cardpin_atr_db_new_default:
 * @error: return location for a #GError
 *
 * Loads the list of change-limited card models built into core (data/
 * change-limited-cards.txt as the resource
 * `/io/github/cardpin/core/change-limited-cards.txt`): the same list from the build tree
 * and from any install prefix, with no file to find at run time.
 *
 * Returns: (transfer full): the card models, or %NULL with @error set
 */
CardpinAtrDb *
cardpin_atr_db_new_default (GError **error)
{
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_resource_lookup_data (cardpin_core_get_resource (), DEFAULT_RESOURCE,
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (bytes == NULL)
    return NULL;
  /* resource data is always followed by a NUL byte */
  return cardpin_atr_db_new_from_data (g_bytes_get_data (bytes, NULL),
                                       "resource://" DEFAULT_RESOURCE, error);
}

/**
 * cardpin_atr_db_get_n_entries:
 * @self: a #CardpinAtrDb
 *
 * Returns: the number of card models
 */
guint
cardpin_atr_db_get_n_entries (CardpinAtrDb *self)
{
  g_return_val_if_fail (CARDPIN_IS_ATR_DB (self), 0);

  return self->entries->len;
}

/**
 * cardpin_atr_db_lookup:
 * @self: a #CardpinAtrDb
 * @atr_hex: an ATR in hex, any case; spaces and colons between bytes are ignored
 * @max_changes: (out) (optional): the number of PIN changes the model allows
 * @description: (out) (optional) (transfer none): the model's description
 *
 * Finds the first model whose pattern matches @atr_hex.
 *
 * Returns: whether a model matches; a malformed @atr_hex matches nothing
 */
gboolean
cardpin_atr_db_lookup (CardpinAtrDb  *self,
                       const char    *atr_hex,
                       guint         *max_changes,
                       const char   **description)
{
  g_autoptr(GString) atr = NULL;

  g_return_val_if_fail (CARDPIN_IS_ATR_DB (self), FALSE);
  g_return_val_if_fail (atr_hex != NULL, FALSE);

  atr = g_string_new (NULL);
  for (const char *p = atr_hex; *p != '\0'; p++)
    {
      if (*p == ' ' || *p == ':')
        continue;
      if (!g_ascii_isxdigit (*p))
        return FALSE;
      g_string_append_c (atr, g_ascii_toupper (*p));
    }
  if (atr->len == 0 || atr->len % 2 != 0)
    return FALSE;

  for (guint i = 0; i < self->entries->len; i++)
    {
      const AtrEntry *entry = &g_array_index (self->entries, AtrEntry, i);
      gboolean match;

      if (strlen (entry->pattern) != atr->len)
        continue;

      match = TRUE;
      for (gsize j = 0; j < atr->len && match; j++)
        match = entry->pattern[j] == 'X' || entry->pattern[j] == atr->str[j];

      if (match)
        {
          if (max_changes != NULL)
            *max_changes = entry->max_changes;
          if (description != NULL)
            *description = entry->description;
          return TRUE;
        }
    }

  return FALSE;
}
