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

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "cardpin-code.h"
#include "cardpin-helpdesk-cli.h"
#include "cardpin-json.h"
#include "cardpin-master-key.h"
#include "cardpin-server-config.h"
#include "cardpin-store.h"

typedef struct {
  char *config_path;
  gboolean json;
  gboolean des;                 /* export-admin-key --3des */
  char *reason;
  char *operator_name;
  CardpinServerConfig *config;
  CardpinStore *store;
  CardpinMasterKey *master_key;
} Helpdesk;

static void
helpdesk_clear (Helpdesk *self)
{
  g_clear_pointer (&self->config_path, g_free);
  g_clear_pointer (&self->reason, g_free);
  g_clear_pointer (&self->operator_name, g_free);
  g_clear_pointer (&self->config, cardpin_server_config_free);
  g_clear_pointer (&self->store, cardpin_store_free);
  g_clear_pointer (&self->master_key, cardpin_master_key_free);
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
open_store (Helpdesk  *self,
            GError   **error)
{
  self->store = cardpin_store_open (self->config->database, error);
  return self->store != NULL;
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
          cardpin_json_add_string_or_null (builder, "serial", card->serial);
          cardpin_json_add_string_or_null (builder, "user", card->user);
          json_builder_set_member_name (builder, "active");
          json_builder_add_boolean_value (builder, card->active);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      text = cardpin_json_to_text (builder);
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
      cardpin_json_add_string_or_null (builder, "time", time);
      cardpin_json_add_string_or_null (builder, "user", record->user);
      cardpin_json_add_string_or_null (builder, "method", record->method);
      cardpin_json_add_string_or_null (builder, "serial", record->serial);
      cardpin_json_add_string_or_null (builder, "challenge_sha256", record->challenge_sha256);
      cardpin_json_add_string_or_null (builder, "outcome", record->outcome);
      cardpin_json_add_string_or_null (builder, "request_id", record->request_id);
      cardpin_json_add_string_or_null (builder, "operator", record->operator_name);
      cardpin_json_add_string_or_null (builder, "reason", record->reason);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  text = cardpin_json_to_text (builder);
  g_print ("%s\n", text);
  return CARDPIN_HELPDESK_EXIT_OK;
}

/* The master key: master-key create | master-key import HEXFILE | respond SERIAL |
 * export-admin-key SERIAL */

static gboolean
open_master_key (Helpdesk  *self,
                 GError   **error)
{
  self->master_key = cardpin_master_key_open_from_keyfile (self->config->keyfile, error);
  return self->master_key != NULL;
}

/* Writes a secret's text and a newline to stdout without a copy in stdio's buffers */
static gboolean
write_secret_line (const CardpinSecret  *secret,
                   GError              **error)
{
  const char *data = cardpin_secret_as_string (secret);
  gsize length = cardpin_secret_get_length (secret);
  gsize done = 0;

  while (done <= length)
    {
      ssize_t n = done < length ? write (STDOUT_FILENO, data + done, length - done)
                                : write (STDOUT_FILENO, "\n", 1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Cannot write to standard output: %s"), g_strerror (saved_errno));
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

static int
master_key_create (Helpdesk  *self,
                   char     **args)
{
  g_autoptr(GError) error = NULL;

  if (g_strv_length (args) != 0)
    return usage_error (_("Usage: master-key create"));
  if (!open_master_key (self, &error) ||
      !cardpin_master_key_create (self->master_key, &error))
    return refuse (error);
  g_print (_("Created the master key “%s” in the token: AES-128, sensitive, not "
             "extractable.\n"), cardpin_master_key_get_label (self->master_key));
  return CARDPIN_HELPDESK_EXIT_OK;
}

static int
master_key_import (Helpdesk  *self,
                   char     **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) hex = NULL;
  int fd;

  if (g_strv_length (args) != 1)
    return usage_error (_("Usage: master-key import HEXFILE"));

  /* the key's 32 hex digits on the first line of HEXFILE ("-": standard input), read
   * straight into locked memory */
  if (g_str_equal (args[0], "-"))
    fd = STDIN_FILENO;
  else if ((fd = g_open (args[0], O_RDONLY | O_CLOEXEC | O_NOCTTY, 0)) < 0)
    {
      int saved_errno = errno;

      g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot read the key file “%s”: %s"), args[0], g_strerror (saved_errno));
      return refuse (error);
    }
  hex = cardpin_secret_new_from_fd (fd, &error);
  if (fd != STDIN_FILENO)
    close (fd);
  if (hex == NULL)
    {
      g_prefix_error (&error, _("Cannot read the key file “%s”: "), args[0]);
      return refuse (error);
    }

  if (!open_master_key (self, &error) ||
      !cardpin_master_key_import (self->master_key, hex, &error))
    return refuse (error);
  g_print (_("Imported the master key “%s” into the token: sensitive, not extractable. "
             "Destroy the key file now.\n"), cardpin_master_key_get_label (self->master_key));
  return CARDPIN_HELPDESK_EXIT_OK;
}

/* The helpdesk's audit record: the operator, the reason, a request id of its own */
static CardpinAuditRecord
helpdesk_record (Helpdesk   *self,
                 const char *method,
                 const char *serial,
                 const char *user,
                 const char *request_id)
{
  return (CardpinAuditRecord) {
    .user = (char *) user,
    .method = (char *) method,
    .serial = (char *) serial,
    .request_id = (char *) request_id,
    .operator_name = self->operator_name,
    .reason = self->reason,
  };
}

static gboolean
audit_append (Helpdesk            *self,
              CardpinAuditRecord  *record,
              const char          *outcome,
              GError             **error)
{
  record->outcome = (char *) outcome;
  if (!cardpin_store_audit_append (self->store, record, error))
    {
      g_prefix_error (error, _("The audit record could not be written, so nothing is "
                               "given out: "));
      return FALSE;
    }
  return TRUE;
}

/* An audit record for a refusal; the refusal's own message is the one shown */
static int
refuse_audited (Helpdesk            *self,
                CardpinAuditRecord  *record,
                const char          *outcome,
                const GError        *error)
{
  g_autoptr(GError) audit_error = NULL;

  if (!audit_append (self, record, outcome, &audit_error))
    g_printerr ("cardpin-helpdesk: %s\n", audit_error->message);
  return refuse (error);
}

static int
respond (Helpdesk  *self,
         char     **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinStoreCard) card = NULL;
  g_autoptr(CardpinSecret) line = NULL;
  g_autoptr(CardpinSecret) challenge = NULL;
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinSecret) code = NULL;
  g_autofree char *request_id = g_uuid_string_random ();
  char challenge_sha256[65];
  CardpinAuditRecord record;
  const char *serial;
  guint algorithm;

  if (g_strv_length (args) != 1)
    return usage_error (_("Usage: respond SERIAL [--reason TEXT] [--operator NAME]"));
  serial = args[0];
  if (self->operator_name == NULL)
    self->operator_name = g_strdup (g_get_user_name ());

  if (!cardpin_master_key_check_serial (serial, &error) || !open_store (self, &error))
    return refuse (error);
  record = helpdesk_record (self, "helpdesk-respond", serial, NULL, request_id);
  if (!cardpin_store_audit_check (&record, &error))
    return refuse (error);

  /* the card must be in the inventory and active: a disabled (lost, stolen) card gets
   * no response from the helpdesk either */
  card = cardpin_store_card_lookup (self->store, serial, &error);
  if (card == NULL)
    {
      if (!g_error_matches (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_NOT_FOUND))
        return refuse (error);
      return refuse_audited (self, &record, cardpin_grant_to_string (CARDPIN_GRANT_UNKNOWN_CARD),
                             error);
    }
  record.user = card->user;
  if (!card->active)
    {
      g_set_error (&error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_NOT_FOUND,
                   _("The card %s is disabled: no response is given for it. Check who holds "
                     "the card before anything else."), serial);
      return refuse_audited (self, &record, cardpin_grant_to_string (CARDPIN_GRANT_DISABLED),
                             error);
    }

  /* the challenge code read out over the phone: one bounded line; its checksum is
   * checked before the token is asked anything */
  if (isatty (STDIN_FILENO))
    g_printerr (_("Challenge code for card %s (user %s): "), serial, card->user);
  line = cardpin_secret_new_from_fd (STDIN_FILENO, &error);
  if (line == NULL)
    {
      g_prefix_error (&error, _("No challenge code was read from standard input: "));
      return refuse (error);
    }
  challenge = cardpin_code_parse (cardpin_secret_as_string (line), 0, &error);
  if (challenge == NULL)
    return refuse_audited (self, &record, "bad-code", error);

  cardpin_store_challenge_sha256 (cardpin_secret_get_data (challenge),
                                  cardpin_secret_get_length (challenge), challenge_sha256);
  record.challenge_sha256 = challenge_sha256;

  /* AES-128 cards answer 16-byte challenges, 3DES cards 8-byte ones */
  algorithm = cardpin_secret_get_length (challenge) == 8 ? CARDPIN_MASTER_KEY_ALG_3DES
                                                         : CARDPIN_MASTER_KEY_ALG_AES128;
  if (!open_master_key (self, &error))
    return refuse_audited (self, &record, "failed", error);
  response = cardpin_master_key_respond (self->master_key, serial, algorithm,
                                         cardpin_secret_get_data (challenge),
                                         cardpin_secret_get_length (challenge), &error);
  if (response == NULL)
    return refuse_audited (self, &record,
                           g_error_matches (error, CARDPIN_MASTER_KEY_ERROR,
                                            CARDPIN_MASTER_KEY_ERROR_INVALID) ? "bad-code"
                                                                              : "failed",
                           error);

  /* recorded before the response is shown */
  code = cardpin_code_format_secret (response);
  if (!audit_append (self, &record, "granted", &error))
    return refuse (error);
  if (isatty (STDOUT_FILENO))
    g_printerr (_("Read this response code to the caller:\n"));
  if (!write_secret_line (code, &error))
    return refuse (error);
  return CARDPIN_HELPDESK_EXIT_OK;
}

/* What an issuance export prints for a card, in locked memory */
typedef CardpinSecret *(*ExportFunc) (Helpdesk    *self,
                                      const char  *serial,
                                      GError     **error);

/* export-admin-key, export-puk: a card secret for issuance, audited as @method before it
 * is printed */
static int
export_secret (Helpdesk    *self,
               char       **args,
               const char  *method,
               const char  *usage,
               ExportFunc   export)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) text = NULL;
  g_autoptr(CardpinStoreCard) card = NULL;
  g_autofree char *request_id = g_uuid_string_random ();
  CardpinAuditRecord record;

  if (g_strv_length (args) != 1)
    return usage_error (usage);
  if (self->operator_name == NULL)
    self->operator_name = g_strdup (g_get_user_name ());
  if (!cardpin_master_key_check_serial (args[0], &error) ||
      !open_store (self, &error) ||
      !open_master_key (self, &error))
    return refuse (error);
  record = helpdesk_record (self, method, args[0], NULL, request_id);
  if (!cardpin_store_audit_check (&record, &error))
    return refuse (error);
  /* issuance may come before "card add": the user is recorded when the card is known */
  card = cardpin_store_card_lookup (self->store, args[0], NULL);
  if (card != NULL)
    record.user = card->user;

  text = export (self, args[0], &error);
  if (text == NULL)
    return refuse_audited (self, &record, "failed", error);
  if (!audit_append (self, &record, "granted", &error) ||
      !write_secret_line (text, &error))
    return refuse (error);
  return CARDPIN_HELPDESK_EXIT_OK;
}

static CardpinSecret *
admin_key_hex (Helpdesk    *self,
               const char  *serial,
               GError     **error)
{
  g_autoptr(CardpinSecret) key = NULL;

  key = cardpin_master_key_export_admin_key (self->master_key, serial,
                                             self->des ? CARDPIN_MASTER_KEY_ALG_3DES
                                                       : CARDPIN_MASTER_KEY_ALG_AES128,
                                             error);
  return key != NULL ? cardpin_master_key_hex (key) : NULL;
}

static int
export_admin_key (Helpdesk  *self,
                  char     **args)
{
  return export_secret (self, args, "export-admin-key",
                        _("Usage: export-admin-key SERIAL [--3des] [--reason TEXT] "
                          "[--operator NAME]"),
                        admin_key_hex);
}

static CardpinSecret *
puk_digits (Helpdesk    *self,
            const char  *serial,
            GError     **error)
{
  return cardpin_master_key_puk (self->master_key, serial, error);
}

static int
export_puk (Helpdesk  *self,
            char     **args)
{
  return export_secret (self, args, "export-puk",
                        _("Usage: export-puk SERIAL [--reason TEXT] [--operator NAME]"),
                        puk_digits);
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
  { "master-key", "create", master_key_create, FALSE, FALSE },
  { "master-key", "import", master_key_import, FALSE, FALSE },
  { NULL, "respond", respond, FALSE, TRUE },
  { NULL, "export-admin-key", export_admin_key, FALSE, TRUE },
  { NULL, "export-puk", export_puk, FALSE, TRUE },
};

static const char summary[] =
  N_("Subcommands:\n"
     "  card add SERIAL USER     add an active card bound to USER\n"
     "  card disable SERIAL      the service refuses the card from now on\n"
     "  card list [--json]       the inventory: serial, user, active\n"
     "  audit [--json]           the audit log, oldest first\n"
     "  master-key create        create the master key in the token\n"
     "  master-key import HEXFILE  import a master key of 32 hex digits (migration)\n"
     "  respond SERIAL           read a challenge code on stdin, print the response code\n"
     "  export-admin-key SERIAL [--3des]  print the card's admin key for issuance: 32 hex\n"
     "                           digits (AES-128), or 48 with --3des (what yubico-piv-tool\n"
     "                           2.2 can set with -a set-mgm-key)\n"
     "  export-puk SERIAL        print the card's PUK for issuance: 8 digits (set it with\n"
     "                           yubico-piv-tool -a change-puk)\n"
     "\n"
     "FILE is the service's keyfile (group [service]): “database”, and for the master key "
     "“pkcs11-module”, “token-label”, “token-pin-file”, “master-key-label”.\n"
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
    { "reason", 0, 0, G_OPTION_ARG_STRING, &self.reason,
      N_("Why the response, key or PUK is given, for the audit log (respond, "
         "export-admin-key, export-puk)"),
      N_("TEXT") },
    { "3des", 0, 0, G_OPTION_ARG_NONE, &self.des,
      N_("export-admin-key: the key as a two-key 3DES key (48 hex digits)"), NULL },
    { "operator", 0, 0, G_OPTION_ARG_STRING, &self.operator_name,
      N_("Who gives it, for the audit log (default: the login name)"), N_("NAME") },
    G_OPTION_ENTRY_NULL
  };
  guint n_args;

  context = g_option_context_new (_("SUBCOMMAND … — card inventory, audit log and offline "
                                    "responses of the cardpin unblock service"));
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

      if (self.des && !g_str_equal (command->name, "export-admin-key"))
        return usage_error (_("--3des is only for “export-admin-key”."));
      if (self.json && !command->json)
        return usage_error (_("--json is only for “card list” and “audit”."));
      if ((self.reason != NULL || self.operator_name != NULL) && !command->respond)
        return usage_error (_("--reason and --operator are only for “respond”, "
                              "“export-admin-key” and “export-puk”."));
      /* the service's keyfile: this tool needs "database" and, for the master key, the
       * token's keys */
      self.config = cardpin_server_config_load (self.config_path, FALSE, &error);
      if (self.config == NULL)
        return refuse (error);
      return command->run (&self, argv + 1 + words);
    }

  {
    g_autofree char *message = g_strdup_printf (_("Unknown subcommand “%s”."), argv[1]);

    return usage_error (message);
  }
}
