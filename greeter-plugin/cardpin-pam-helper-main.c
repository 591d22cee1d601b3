/* cardpin-pam-helper-main.c — cardpin-pam-helper, started by pam_cardpin.so only
 *
 * Its socket is fd 3, its environment empty, its arguments hold no secret. It dies with
 * its parent (PR_SET_PDEATHSIG, set before exec and again here), on end of file on its
 * socket, and at its deadlines.
 *
 * It runs in front of every smart-card login, so it is lean: it reads the cards' PIN
 * counters over PC/SC (cardpin-pam-check.c) and, for a healthy card or no card, says
 * so and exits, with no PKCS#11 module, no settings and no TLS stack loaded; so does the
 * account step when the card says whether its PIN is the factory PIN. Anything else (a
 * blocked card, a card PC/SC alone cannot read, the password step) it hands over by exec to cardpin-pam-worker, installed beside it, with the same
 * arguments and socket.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cardpin-pam-check.h"
#include "cardpin-pam-protocol.h"
#include "cardpin-process.h"

#define OVERALL_TIMEOUT_S 1800
#define WORKER_NAME "cardpin-pam-worker"

/* cardpin-pam-worker beside this program (the installed libexec dir, or the build tree) */
static char *
worker_path (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = NULL;

  if (self == NULL)
    return NULL;
  dir = g_path_get_dirname (self);
  return g_build_filename (dir, WORKER_NAME, NULL);
}

static int
send_result (CardpinPamResult result)
{
  if (cardpin_pam_frame_send (CARDPIN_PAM_HELPER_FD, CARDPIN_PAM_FRAME_RESULT,
                              (uint8_t) result, NULL, 0) != 0)
    g_debug ("pam_cardpin.so went away before the result");
  return 0;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) cards = NULL;
  g_autofree char *worker = NULL;
  char *const envp[] = { NULL };
  const char *mode = NULL;
  gboolean debug = FALSE;
  CardpinPamResult result;

  /* dies with pam_cardpin.so's process, even if it was set too late before exec */
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  signal (SIGPIPE, SIG_IGN);
  alarm (OVERALL_TIMEOUT_S);

  /* the worker reads the other arguments */
  for (int i = 1; i < argc; i++)
    {
      if (g_str_has_prefix (argv[i], "--mode="))
        mode = argv[i] + strlen ("--mode=");
      else if (g_str_equal (argv[i], "--debug"))
        debug = TRUE;
    }
  cardpin_pam_log_to_module ("cardpin-pam-helper", debug);

  worker = worker_path ();
  if (!cardpin_process_harden (&error))
    {
      g_warning ("%s", error->message);
      return 1;
    }

  if (g_strcmp0 (mode, "auth") == 0)
    {
      cards = cardpin_pam_check_cards ();
      if (cardpin_pam_check_auth (cards, &result))
        {
          g_debug ("auth: %u card(s), nothing to do (result %d)", cards->len, result);
          return send_result (result);
        }
    }

  if (g_strcmp0 (mode, "account") == 0)
    {
      cards = cardpin_pam_check_cards ();
      if (cardpin_pam_check_account (cards, &result))
        {
          CardpinPamFrame frame = { 0 };

          /* the PIN just typed is not needed: read and wiped unused */
          if (cardpin_pam_frame_recv (CARDPIN_PAM_HELPER_FD, &frame, 5000) != 0 ||
              frame.type != CARDPIN_PAM_FRAME_AUTHTOK)
            g_debug ("account: no PIN frame from pam_cardpin.so");
          cardpin_pam_frame_wipe (&frame);
          g_debug ("account: %u card(s), result %d", cards->len, result);
          return send_result (result);
        }
    }

  /* a card to unblock or to read through PKCS#11, or another step: the worker's */
  if (worker != NULL)
    {
      argv[0] = worker;
      execve (worker, argv, envp);
    }
  g_warning ("cannot start %s: %s", worker != NULL ? worker : WORKER_NAME,
             g_strerror (errno));
  return send_result (CARDPIN_PAM_RESULT_IGNORE);
}
