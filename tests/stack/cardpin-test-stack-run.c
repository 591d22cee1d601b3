/* cardpin-test-stack-run.c — run a command against the real card stack
 *
 *   cardpin-test-stack [--readers N] [--pinpad] [--card INDEX:OPTIONS]... [--] COMMAND [ARG...]
 *   cardpin-test-stack --no-pcscd [--] COMMAND [ARG...]
 *
 * Starts a private pcscd and the virtual cards, runs COMMAND inside the private
 * namespace with CARDPIN_TEST_READER<i>, CARDPIN_TEST_PORT<i>, CARDPIN_TEST_STATE<i>,
 * CARDPIN_TEST_DIR, CARDPIN_VIRTUAL_CARD and CARDPIN_OPENSC_MODULE set, and tears
 * everything down when it ends (or when this process is killed).
 *
 * With --pinpad the readers have a PIN pad (tests/stack/ifd-pinpad.c, named "Virtual PIN
 * Pad 00 0<i>"), and CARDPIN_TEST_KEYPAD names the file their keypad reads: one line per
 * PIN entry, taken from the top; nothing left is a Cancel.
 *
 * With --no-pcscd it only enters the private namespace and runs COMMAND there: a machine
 * where the smart card service is not running, whatever the host runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cardpin-test-stack.h"

static volatile sig_atomic_t child_pid;

static void
forward_signal (int signum)
{
  if (child_pid > 0)
    kill (child_pid, signum);
}

static void
usage (void)
{
  g_printerr ("Usage: cardpin-test-stack [--readers N] [--pinpad] [--card INDEX:OPTIONS]... "
              "[--] COMMAND [ARG...]\n"
              "       cardpin-test-stack --no-pcscd [--] COMMAND [ARG...]\n");
  exit (2);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) cards = g_ptr_array_new_with_free_func (g_free);
  CardpinTestStack *stack;
  guint n_readers = 2;
  gboolean no_pcscd = FALSE;
  gboolean pinpad = FALSE;
  int i, status = 0, exit_code;
  pid_t pid, parent;

  for (i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        {
          i++;
          break;
        }
      else if (g_str_equal (argv[i], "--readers") && i + 1 < argc)
        n_readers = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      else if (g_str_equal (argv[i], "--no-pcscd"))
        no_pcscd = TRUE;
      else if (g_str_equal (argv[i], "--pinpad"))
        pinpad = TRUE;
      else if (g_str_equal (argv[i], "--card") && i + 1 < argc)
        g_ptr_array_add (cards, g_strdup (argv[++i]));
      else if (argv[i][0] == '-')
        usage ();
      else
        break;
    }
  if (i >= argc || n_readers == 0 || n_readers > 16)
    usage ();

  if (!cardpin_test_stack_enter_namespace (&error))
    {
      g_printerr ("cardpin-test-stack: cannot make a private namespace: %s\n", error->message);
      return 1;
    }

  if (no_pcscd)
    {
      if (cards->len > 0)
        usage ();
      /* /run/pcscd is an empty tmpfs here: no smart card service to connect to */
      execvp (argv[i], argv + i);
      g_printerr ("cardpin-test-stack: cannot run %s: %s\n", argv[i], g_strerror (errno));
      return 127;
    }

  stack = cardpin_test_stack_new_full (n_readers, pinpad, &error);
  if (stack == NULL)
    {
      g_printerr ("cardpin-test-stack: %s\n", error->message);
      return 1;
    }

  for (guint c = 0; c < cards->len; c++)
    {
      const char *spec = cards->pdata[c];
      const char *colon = strchr (spec, ':');
      g_auto(GStrv) card_args = NULL;
      guint index;

      index = (guint) g_ascii_strtoull (spec, NULL, 10);
      if (colon == NULL || index >= cardpin_test_stack_get_n_readers (stack) ||
          !g_shell_parse_argv (colon[1] ? colon + 1 : "--", NULL, &card_args, &error))
        {
          if (colon != NULL && colon[1] == '\0')
            g_clear_error (&error);
          else
            {
              g_printerr ("cardpin-test-stack: bad --card \"%s\"%s%s\n", spec,
                          error ? ": " : "", error ? error->message : "");
              cardpin_test_stack_free (stack);
              return 2;
            }
        }
      if (card_args != NULL && g_str_equal (card_args[0], "--") && card_args[1] == NULL)
        g_clear_pointer (&card_args, g_strfreev);
      if (cardpin_test_stack_insert (stack, index, (const char * const *) card_args,
                                     &error) == NULL)
        {
          g_printerr ("cardpin-test-stack: %s\n", error->message);
          cardpin_test_stack_free (stack);
          return 1;
        }
    }

  for (guint r = 0; r < cardpin_test_stack_get_n_readers (stack); r++)
    {
      g_autofree char *key = g_strdup_printf ("CARDPIN_TEST_READER%u", r);
      g_autofree char *port_key = g_strdup_printf ("CARDPIN_TEST_PORT%u", r);
      g_autofree char *port = g_strdup_printf ("%u", cardpin_test_stack_get_port (stack, r));
      g_autofree char *state_key = g_strdup_printf ("CARDPIN_TEST_STATE%u", r);
      g_autofree char *state = g_strdup_printf ("%s/card-%u.state",
                                                cardpin_test_stack_get_dir (stack), r);

      g_setenv (key, cardpin_test_stack_get_reader (stack, r), TRUE);
      g_setenv (port_key, port, TRUE);
      g_setenv (state_key, state, TRUE);
    }
  g_setenv ("CARDPIN_TEST_DIR", cardpin_test_stack_get_dir (stack), TRUE);
  if (pinpad)
    g_setenv ("CARDPIN_TEST_KEYPAD", cardpin_test_stack_get_keypad (stack), TRUE);
  if (g_getenv ("CARDPIN_VIRTUAL_CARD") == NULL)
    g_setenv ("CARDPIN_VIRTUAL_CARD", VIRTUAL_CARD_PATH, TRUE);
  g_setenv ("CARDPIN_OPENSC_MODULE", cardpin_test_opensc_module (), TRUE);

  signal (SIGINT, forward_signal);
  signal (SIGTERM, forward_signal);
  signal (SIGHUP, forward_signal);

  parent = getpid ();
  pid = fork ();
  if (pid < 0)
    {
      g_printerr ("cardpin-test-stack: fork: %s\n", g_strerror (errno));
      cardpin_test_stack_free (stack);
      return 1;
    }
  if (pid == 0)
    {
      signal (SIGINT, SIG_DFL);
      signal (SIGTERM, SIG_DFL);
      signal (SIGHUP, SIG_DFL);
      /* the command ends with the stack, even when this process is killed */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != parent)
        _exit (1);
      execvp (argv[i], argv + i);
      g_printerr ("cardpin-test-stack: cannot run %s: %s\n", argv[i], g_strerror (errno));
      _exit (127);
    }
  child_pid = pid;

  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  cardpin_test_stack_free (stack);

  if (WIFEXITED (status))
    exit_code = WEXITSTATUS (status);
  else
    exit_code = 128 + WTERMSIG (status);
  return exit_code;
}
