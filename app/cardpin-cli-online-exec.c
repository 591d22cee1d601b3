/* cardpin-cli-online-exec.c — `unblock --online` in the lean cardpin-tool
 *
 * The online unblock needs HTTPS, JSON and the Secret Service (libsoup, libsecret and
 * what they pull in: about twenty libraries). Linking them into cardpin-tool would make
 * every run pay for loading them, `status` and `--help` too (issue 7 item 13). So the
 * cardpin-tool users run has no online client: once the options of `unblock --online`
 * are checked, and before any secret is read, it runs cardpin-tool-online, the same tool
 * with the online client, on the same command line (same file descriptors, terminal and
 * environment). cardpin-tool-online lives next to cardpin-tool in the build tree and in
 * libexec when installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "cardpin-cli-online.h"
#include "cardpin-cli-private.h"
#include "cardpin-error.h"

#define ONLINE_TOOL "cardpin-tool-online"

/* Next to this program (the build tree), in ../libexec from it (an installation moved
 * as a whole, or under DESTDIR), or in the configured libexec directory */
static char *
find_online_tool (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;
  g_autofree char *beside = dir != NULL ? g_build_filename (dir, ONLINE_TOOL, NULL) : NULL;
  g_autofree char *relative = dir != NULL ? g_build_filename (dir, "..", "libexec",
                                                              ONLINE_TOOL, NULL) : NULL;
  g_autofree char *configured = g_build_filename (LIBEXECDIR, ONLINE_TOOL, NULL);
  const char *candidates[] = { beside, relative, configured };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] != NULL && g_file_test (candidates[i], G_FILE_TEST_IS_EXECUTABLE))
      return g_strdup (candidates[i]);
  return NULL;
}

/* Replaces this process with cardpin-tool-online; returns only on failure */
static void
run_online_tool (GError **error)
{
  g_autofree char *path = find_online_tool ();
  char **argv = cardpin_cli_get_argv ();

  if (path == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("The online unblock is not installed (%s is missing from %s). "
                     "Install cardpin completely, or unblock with --puk or --challenge."),
                   ONLINE_TOOL, LIBEXECDIR);
      return;
    }
  g_debug ("Online unblock: running %s", path);
  execv (path, argv);
  g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
               _("Cannot start the online unblock (%s): %s. Install cardpin completely, "
                 "or unblock with --puk or --challenge."), path, g_strerror (errno));
}

CardpinUnblockClient *
cardpin_cli_online_connect (CardpinCliOnline  *online,
                            GError           **error)
{
  run_online_tool (error);
  return NULL;
}

int
cardpin_cli_online_forget (CardpinCliOnline *online)
{
  g_autoptr(GError) error = NULL;

  run_online_tool (&error);
  return cardpin_cli_fail (error);
}

int
cardpin_cli_online_unblock (CardpinCliOnline     *online,
                            CardpinUnblockClient *client,
                            CardpinToken         *token,
                            const CardpinSecret  *new_pin,
                            gboolean              with_puk)
{
  g_autoptr(GError) error = NULL;

  /* cardpin_cli_online_connect() came first and did not return a client */
  run_online_tool (&error);
  return cardpin_cli_fail (error);
}
