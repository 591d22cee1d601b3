/* cardpin-helpdesk-cli.c — cardpin-helpdesk's subcommands
 *
 * `cardpin-helpdesk --config FILE SUBCOMMAND …` for a helpdesk and an administrator:
 * the card inventory, the audit log and (with the master key) offline responses. The
 * configuration is the service's keyfile, group [service]. Exit status 0 on success,
 * 1 on any refusal (the message on stderr says why and what to do), 2 on a usage error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "cardpin-helpdesk-cli.h"
#include "cardpin-store.h"

#define CONFIG_GROUP "service"

typedef struct {
  char *config_path;
  gboolean json;
  char *reason;
  char *operator_name;
  GKeyFile *config;
  CardpinStore *store;
} Helpdesk;

static void
helpdesk_clear (Helpdesk *self)
{
  g_clear_pointer (&self->config_path, g_free);
  g_clear_pointer (&self->reason, g_free);
  g_clear_pointer (&self->operator_name, g_free);
  g_clear_pointer (&self->config, g_key_file_unref);
  g_clear_pointer (&self->store, cardpin_store_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Helpdesk, helpdesk_clear)

static int
refuse (const GError *error)
{
  g_printerr ("cardpin-helpdesk: %s\n", error->message);
  return CARDPIN_HELPDESK_EXIT_REFUSED;
}

static int
usage_error (const char *message)
{
  g_printerr ("cardpin-helpdesk: %s\n%s\n", message,
              _("Run “cardpin-helpdesk --help” for the subcommands."));
  return CARDPIN_HELPDESK_EXIT_USAGE;
}

static gboolean
load_config (Helpdesk  *self,
             GError   **error)
{
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;

  if (!g_key_file_load_from_file (config, self->config_path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   _("Cannot read the configuration “%s”: %s"), self->config_path,
                   local_error->message);
      return FALSE;
    }
  if (!g_key_file_has_group (config, CONFIG_GROUP))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   _("The configuration “%s” has no [%s] group."), self->config_path,
                   CONFIG_GROUP);
      return FALSE;
    }
  self->config = g_steal_pointer (&config);
  return TRUE;
}

/* A key of [service]; an error names the key and the file */
static char *
config_string (Helpdesk    *self,
               const char  *key,
               GError     **error)
{
  g_autofree char *value = g_key_file_get_string (self->config, CONFIG_GROUP, key, NULL);

  if (value == NULL || *g_strstrip (value) == '\0')
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   _("The configuration “%s” does not set “%s” in [%s]."),
                   self->config_path, key, CONFIG_GROUP);
      return NULL;
    }
  return g_steal_pointer (&value);
}

static gboolean
open_store (Helpdesk  *self,
            GError   **error)
{
  g_autofree char *database = config_string (self, "database", error);

  if (database == NULL)
    return FALSE;
  self->store = cardpin_store_open (database, error);
  return self->store != NULL;
}

static char *
to_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static void
add_string_or_null (JsonBuilder *builder,
                    const char  *name,
                    const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* card add SERIAL USER | card disable SERIAL | card list */

static int
card_add (Helpdesk  *self,
          char     **args)
{
  g_autoptr(GError) error = NULL;

  if (g_strv_length (args) != 2)
    return usage_error (_("Usage: card add SERIAL USER"));
  if (!open_store (self, &error) ||
      !cardpin_store_card_add (self->store, args[0], args[1], &error))
    return refuse (error);
  g_print (_("Added card %s for %s.\n"), args[0], args[1]);
  return CARDPIN_HELPDESK_EXIT_OK;
}

static int
card_disable (Helpdesk  *self,
              char     **args)
{
  g_autoptr(GError) error = NULL;

  if (g_strv_length (args) != 1)
    return usage_error (_("Usage: card disable SERIAL"));
  if (!open_store (self, &error) ||
      !cardpin_store_card_disable (self->store, args[0], &error))
    return refuse (error);
  g_print (_("Disabled card %s: the service refuses it from now on.\n"), args[0]);
  return CARDPIN_HELPDESK_EXIT_OK;
}

static int
card_list (Helpdesk  *self,
           char     **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) cards = NULL;

  if (g_strv_length (args) != 0)
    return usage_error (_("Usage: card list [--json]"));
  if (!open_store (self, &error) ||
      (cards = cardpin_store_card_list (self->store, &error)) == NULL)
    return refuse (error);

  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autofree char *text = NULL;

      json_builder_begin_array (builder);
      for (guint i = 0; i < cards->len; i++)
        {
          CardpinStoreCard *card = g_ptr_array_index (cards, i);

          json_builder_begin_object (builder);
          add_string_or_null (builder, "serial", card->serial);
          add_string_or_null (builder, "user", card->user);
          json_builder_set_member_name (builder, "active");
          json_builder_add_boolean_value (builder, card->active);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      text = to_json (builder);
      g_print ("%s\n", text);
      return CARDPIN_HELPDESK_EXIT_OK;
    }

  for (guint i = 0; i < cards->len; i++)
    {
      CardpinStoreCard *card = g_ptr_array_index (cards, i);

      g_print ("%s\t%s\t%s\n", card->serial, card->user,
               card->active ? _("active") : _("disabled"));
    }
  if (cards->len == 0)
    g_printerr (_("The inventory is empty. Add a card with “card add SERIAL USER”.\n"));
  return CARDPIN_HELPDESK_EXIT_OK;
}

/* audit */

static char *
format_time (gint64 microseconds)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (microseconds / G_USEC_PER_SEC);
  g_autoptr(GDateTime) exact = NULL;

  if (time == NULL)
    return g_strdup ("?");
  exact = g_date_time_add (time, microseconds % G_USEC_PER_SEC);
  return g_date_time_format_iso8601 (exact);
}

static int
audit (Helpdesk  *self,
       char     **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *text = NULL;

  if (g_strv_length (args) != 0)
    return usage_error (_("Usage: audit [--json]"));
  if (!open_store (self, &error) ||
      (records = cardpin_store_audit_list (self->store, &error)) == NULL)
    return refuse (error);

  if (!self->json)
    {
      for (guint i = 0; i < records->len; i++)
        {
          CardpinAuditRecord *record = g_ptr_array_index (records, i);
          g_autofree char *time = format_time (record->time);

          g_print ("%s\t%s\t%s\t%s\t%s\t%s\t%s", time,
                   record->user != NULL ? record->user : "-", record->method,
                   record->serial != NULL ? record->serial : "-",
                   record->challenge_sha256 != NULL ? record->challenge_sha256 : "-",
                   record->outcome,
                   record->request_id != NULL ? record->request_id : "-");
          if (record->operator_name != NULL)
            g_print ("\t%s", record->operator_name);
          if (record->reason != NULL)
            g_print ("\t%s", record->reason);
          g_print ("\n");
        }
      return CARDPIN_HELPDESK_EXIT_OK;
    }

  json_builder_begin_array (builder);
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, i);
      g_autofree char *time = format_time (record->time);

      json_builder_begin_object (builder);
      add_string_or_null (builder, "time", time);
      add_string_or_null (builder, "user", record->user);
      add_string_or_null (builder, "method", record->method);
      add_string_or_null (builder, "serial", record->serial);
      add_string_or_null (builder, "challenge_sha256", record->challenge_sha256);
      add_string_or_null (builder, "outcome", record->outcome);
      add_string_or_null (builder, "request_id", record->request_id);
      add_string_or_null (builder, "operator", record->operator_name);
      add_string_or_null (builder, "reason", record->reason);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  text = to_json (builder);
  g_print ("%s\n", text);
  return CARDPIN_HELPDESK_EXIT_OK;
}

/* Dispatch */

typedef struct {
  const char *group;    /* first word, or NULL */
  const char *name;
  int (*run) (Helpdesk *self, char **args);
  gboolean json;        /* takes --json */
  gboolean respond;     /* takes --reason and --operator */
} Subcommand;

static const Subcommand subcommands[] = {
  { "card", "add", card_add, FALSE, FALSE },
  { "card", "disable", card_disable, FALSE, FALSE },
  { "card", "list", card_list, TRUE, FALSE },
  { NULL, "audit", audit, TRUE, FALSE },
};

static const char summary[] =
  N_("Subcommands:\n"
     "  card add SERIAL USER     add an active card bound to USER\n"
     "  card disable SERIAL      the service refuses the card from now on\n"
     "  card list [--json]       the inventory: serial, user, active\n"
     "  audit [--json]           the audit log, oldest first\n"
     "\n"
     "FILE is the service's keyfile (group [service]); this tool uses its key "
     "“database”.\n"
     "Exit status: 0 success, 1 refused (the message says why), 2 usage error.");

int
cardpin_helpdesk_run (char **args)
{
  g_auto(GStrv) argv = args;
  g_auto(Helpdesk) self = { NULL };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &self.config_path,
      N_("The service's configuration (keyfile, group [service])"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &self.json,
      N_("Print JSON (card list, audit)"), NULL },
    G_OPTION_ENTRY_NULL
  };
  guint n_args;

  context = g_option_context_new (_("SUBCOMMAND … — card inventory and audit log of the "
                                    "cardpin unblock service"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context, _(summary));
  if (!g_option_context_parse_strv (context, &argv, &error))
    return usage_error (error->message);

  n_args = g_strv_length (argv);
  if (n_args < 2)
    return usage_error (_("Give a subcommand."));
  if (self.config_path == NULL)
    return usage_error (_("Give the service's configuration with --config FILE."));

  for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
    {
      const Subcommand *command = &subcommands[i];
      guint words = command->group != NULL ? 2 : 1;

      if (command->group != NULL &&
          (!g_str_equal (argv[1], command->group) || n_args < 3 ||
           !g_str_equal (argv[2], command->name)))
        continue;
      if (command->group == NULL && !g_str_equal (argv[1], command->name))
        continue;

      if (self.json && !command->json)
        return usage_error (_("--json is only for “card list” and “audit”."));
      if (!load_config (&self, &error))
        return refuse (error);
      return command->run (&self, argv + 1 + words);
    }

  {
    g_autofree char *message = g_strdup_printf (_("Unknown subcommand “%s”."), argv[1]);

    return usage_error (message);
  }
}
