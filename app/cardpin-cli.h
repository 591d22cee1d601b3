/* cardpin-cli.h — the command-line front end (cardpin-tool)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * CardpinCliExit:
 * @CARDPIN_CLI_EXIT_OK: success
 * @CARDPIN_CLI_EXIT_ERROR: an error (message on stderr)
 * @CARDPIN_CLI_EXIT_BLOCKED: `status`: at least one PIN is blocked
 */
typedef enum {
  CARDPIN_CLI_EXIT_OK = 0,
  CARDPIN_CLI_EXIT_ERROR = 1,
  CARDPIN_CLI_EXIT_BLOCKED = 2,
} CardpinCliExit;

/* Runs cardpin-tool with @argv (argv[0] is the program name); returns the exit status.
 * Modifies @argv like g_option_context_parse_strv(). */
int    cardpin_cli_run          (char       **argv);

/* The `status --json` document for a list of CardpinToken */
char  *cardpin_cli_status_json  (GListModel  *tokens) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
