/* cardpin-process.c — start-up of every program that handles a secret
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "cardpin-process.h"

/**
 * cardpin_process_harden:
 * @error: return location for a #GError
 *
 * Called first thing by every program that handles a PIN, PUK, response or password
 * (the app, cardpin-tool, the login-screen helper, the unblock service): makes the
 * process non-dumpable, so that no other process of the same user can read its memory
 * through /proc/PID/mem or ptrace(2), and turns core dumps off, so that a crash writes
 * no secret to disk.
 *
 * Returns: %TRUE when both are in force
 */
gboolean
cardpin_process_harden (GError **error)
{
  struct rlimit no_core = { 0, 0 };

  if (setrlimit (RLIMIT_CORE, &no_core) != 0 ||
      prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not protect this program's memory from other programs: %s"),
                   g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}
