/* cardpin-cli-private.h — shared by the files of cardpin-tool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-cli.h"

G_BEGIN_DECLS

/* "cardpin-tool: MESSAGE" on stderr */
void  cardpin_cli_print_error  (const GError  *error);
/* prints @error, returns CARDPIN_CLI_EXIT_ERROR */
int   cardpin_cli_fail         (const GError  *error);
/* the command line cardpin_cli_run() was given, as it was (for handing it on) */
char **cardpin_cli_get_argv    (void);

/* The commands; argv[0] is the command's name. Each returns the exit status. */
int   cardpin_cli_status       (char         **argv);   /* cardpin-cli-status.c */
int   cardpin_cli_change       (char         **argv);   /* cardpin-cli-pin.c */
int   cardpin_cli_change_puk   (char         **argv);
int   cardpin_cli_unblock      (char         **argv);
int   cardpin_cli_setup        (char         **argv);

G_END_DECLS
