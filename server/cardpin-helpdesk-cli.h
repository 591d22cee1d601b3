/* cardpin-helpdesk-cli.h — cardpin-helpdesk's subcommands
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit statuses of cardpin-helpdesk */
#define CARDPIN_HELPDESK_EXIT_OK      0
#define CARDPIN_HELPDESK_EXIT_REFUSED 1
#define CARDPIN_HELPDESK_EXIT_USAGE   2

/* Runs `cardpin-helpdesk --config FILE SUBCOMMAND …`; takes @args (argv) */
int cardpin_helpdesk_run (char **args);

G_END_DECLS
