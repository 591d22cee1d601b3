/* cardpin-cli-online-options.c — the options of `cardpin-tool unblock --online`, shared
 * by the cardpin-tool that has the online client (cardpin-cli-online.c) and the lean one
 * that hands --online over to it (cardpin-cli-online-exec.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-cli-online.h"

void
cardpin_cli_online_init (CardpinCliOnline *online)
{
  *online = (CardpinCliOnline) { 0 };
  online->password_fd = -1;
}

void
cardpin_cli_online_clear (CardpinCliOnline *online)
{
  g_clear_pointer (&online->server, g_free);
  g_clear_pointer (&online->ca_file, g_free);
  g_clear_pointer (&online->user, g_free);
}

void
cardpin_cli_online_add_entries (CardpinCliOnline *online,
                                GOptionContext   *context)
{
  const GOptionEntry entries[] = {
    { "online", 0, 0, G_OPTION_ARG_NONE, &online->online,
      N_("Unblock through the organisation's unblock service (with --puk: the service "
         "gives the card's PUK)"), NULL },
    { "server", 0, 0, G_OPTION_ARG_STRING, &online->server,
      N_("With --online: the service's https address instead of the configured one"),
      N_("URL") },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &online->ca_file,
      N_("With --online: trust only the authorities in this PEM file for the service"),
      N_("FILE") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &online->user,
      N_("With --online: the account at the service (default: your login name)"),
      N_("NAME") },
    { "password-fd", 0, 0, G_OPTION_ARG_INT, &online->password_fd,
      N_("With --online: read the account password from this file descriptor (one line)"),
      N_("FD") },
    { "remember-device", 0, 0, G_OPTION_ARG_NONE, &online->remember_device,
      N_("With --online: after the unblock, keep a device token from the service in the "
         "keyring so that next time no password is needed"), NULL },
    { "forget-device", 0, 0, G_OPTION_ARG_NONE, &online->forget_device,
      N_("With --online: revoke and remove this device's token, and do nothing else"),
      NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
}
