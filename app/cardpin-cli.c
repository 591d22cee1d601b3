/* cardpin-cli.c — the command-line front end (cardpin-tool): dispatch to the commands
 * (status in cardpin-cli-status.c, the PIN commands in cardpin-cli-pin.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n-lib.h>

#include "cardpin-cli-private.h"

typedef int (*CommandFunc) (char **argv);

typedef struct {
  const char  *name;
  CommandFunc  func;
  const char  *summary;   /* N_() */
} Command;

static const Command commands[] = {
  { "status", cardpin_cli_status, N_("Show every card and the state of its PIN") },
  { "change", cardpin_cli_change, N_("Change the PIN") },
  { "change-puk", cardpin_cli_change_puk, N_("Change the PUK") },
  { "unblock", cardpin_cli_unblock, N_("Unblock the PIN with the PUK (--puk), a challenge "
                                       "code (--challenge) or the unblock service (--online)") },
  { "setup", cardpin_cli_setup, N_("Set a personal PIN (and PUK) on a new card") },
};

/* Helpers */

static GLogWriterOutput
log_to_stderr (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  g_autofree char *line = NULL;
  const char *domain = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
  /* G_MESSAGES_DEBUG decides, as with GLib's own writer */
  if (g_log_writer_default_would_drop (log_level, domain))
    return G_LOG_WRITER_HANDLED;
  line = g_log_writer_format_fields (log_level, fields, n_fields,
                                     g_log_writer_supports_color (fileno (stderr)));
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
cardpin_cli_print_error (const GError *error)
{
  g_printerr ("%s: %s\n", g_get_prgname (), error->message);
}

int
cardpin_cli_fail (const GError *error)
{
  cardpin_cli_print_error (error);
  return CARDPIN_CLI_EXIT_ERROR;
}

static void
print_usage (FILE *stream)
{
  guint i;

  fprintf (stream, _("Usage: %s COMMAND [OPTION…]\n\nCommands:\n"), g_get_prgname ());
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (stream, "\n%s\n", _("Run “cardpin-tool COMMAND --help” for a command's options."));
  fprintf (stream, "%s\n",
           _("Exit status: 0 success; 1 error; 2 (status) at least one PIN is blocked."));
}

/**
 * cardpin_cli_run:
 * @argv: the arguments, argv[0] the program name
 *
 * Returns: the exit status (#CardpinCliExit)
 */
static char **cli_argv;

char **
cardpin_cli_get_argv (void)
{
  return cli_argv;
}

int
cardpin_cli_run (char **argv)
{
  g_autofree char *prgname = NULL;
  guint i;

  /* the commands' option parsing edits @argv; a copy stays whole */
  g_strfreev (cli_argv);
  cli_argv = g_strdupv (argv);

  /* stdout is for results (status --json): every log message goes to stderr */
  g_log_set_writer_func (log_to_stderr, NULL, NULL);

  prgname = g_path_get_basename (argv[0] != NULL ? argv[0] : "cardpin-tool");
  g_set_prgname (prgname);

  if (argv[0] == NULL || argv[1] == NULL)
    {
      print_usage (stderr);
      return CARDPIN_CLI_EXIT_ERROR;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return CARDPIN_CLI_EXIT_OK;
    }

  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_str_equal (argv[1], commands[i].name))
        {
          /* the command sees itself as argv[0] */
          return commands[i].func (argv + 1);
        }
    }

  g_printerr (_("%s: unknown command “%s”\n"), prgname, argv[1]);
  print_usage (stderr);
  return CARDPIN_CLI_EXIT_ERROR;
}
