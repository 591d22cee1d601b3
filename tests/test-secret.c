/* test-secret.c — CardpinSecret
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gio.h>

#include "cardpin-secret.h"

static void
test_new (void)
{
  static const guint8 bytes[] = { 0x00, 0x01, 0xFF, 0x80 };
  g_autoptr(CardpinSecret) a = cardpin_secret_new (bytes, sizeof bytes);
  g_autoptr(CardpinSecret) b = cardpin_secret_new_from_string ("123456");
  g_autoptr(CardpinSecret) empty = cardpin_secret_new (NULL, 0);
  g_autoptr(CardpinSecret) sized = cardpin_secret_new_sized (3);

  g_assert_cmpmem (cardpin_secret_get_data (a), cardpin_secret_get_length (a), bytes, sizeof bytes);
  g_assert_cmpuint (cardpin_secret_get_length (b), ==, 6);
  g_assert_cmpstr (cardpin_secret_as_string (b), ==, "123456");
  /* always NUL-terminated, even for binary secrets */
  g_assert_cmpint (cardpin_secret_get_data (a)[sizeof bytes], ==, 0);
  g_assert_cmpuint (cardpin_secret_get_length (empty), ==, 0);
  g_assert_cmpstr (cardpin_secret_as_string (empty), ==, "");

  g_assert_cmpuint (cardpin_secret_get_length (sized), ==, 3);
  g_assert_cmpmem (cardpin_secret_get_data (sized), 3, "\0\0\0", 3);
  memcpy (cardpin_secret_get_mutable_data (sized), "abc", 3);
  g_assert_cmpstr (cardpin_secret_as_string (sized), ==, "abc");
  g_assert_true (cardpin_secret_get_mutable_data (sized) == cardpin_secret_get_data (sized));
}

static void
test_boxed (void)
{
  g_autoptr(CardpinSecret) a = cardpin_secret_new_from_string ("secret");
  CardpinSecret *copy;
  GValue value = G_VALUE_INIT;

  g_assert_true (G_TYPE_IS_BOXED (CARDPIN_TYPE_SECRET));
  /* copying shares the locked buffer: no unwiped duplicate is made */
  copy = g_boxed_copy (CARDPIN_TYPE_SECRET, a);
  g_assert_true (copy == a);
  g_boxed_free (CARDPIN_TYPE_SECRET, copy);
  g_assert_cmpstr (cardpin_secret_as_string (a), ==, "secret");

  g_value_init (&value, CARDPIN_TYPE_SECRET);
  g_value_set_boxed (&value, a);
  g_assert_true (g_value_get_boxed (&value) == a);
  g_value_unset (&value);
  g_assert_cmpstr (cardpin_secret_as_string (a), ==, "secret");
}

static void
test_locked (void)
{
  g_autoptr(CardpinSecret) a = cardpin_secret_new_from_string ("123456");
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;
  char *line;
  guint64 locked_kb = 0;

  /* The mapping of one secret is locked unless RLIMIT_MEMLOCK forbids it: check the
   * kernel's own count, not only our flag. */
  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, &error));
  g_assert_no_error (error);
  line = strstr (status, "VmLck:");
  g_assert_nonnull (line);
  locked_kb = g_ascii_strtoull (line + strlen ("VmLck:"), NULL, 10);
  if (cardpin_secret_is_locked (a))
    g_assert_cmpuint (locked_kb, >=, 4);
  else
    g_test_message ("mlock() was refused here; the secret is still wiped");
}

static void
test_equal (void)
{
  g_autoptr(CardpinSecret) a = cardpin_secret_new_from_string ("123456");
  g_autoptr(CardpinSecret) b = cardpin_secret_new_from_string ("123456");
  g_autoptr(CardpinSecret) c = cardpin_secret_new_from_string ("123457");
  g_autoptr(CardpinSecret) d = cardpin_secret_new_from_string ("1234567");
  g_autoptr(CardpinSecret) e1 = cardpin_secret_new_from_string ("");
  g_autoptr(CardpinSecret) e2 = cardpin_secret_new (NULL, 0);

  g_assert_true (cardpin_secret_equal (a, b));
  g_assert_true (cardpin_secret_equal (a, a));
  g_assert_false (cardpin_secret_equal (a, c));
  g_assert_false (cardpin_secret_equal (a, d));
  g_assert_false (cardpin_secret_equal (d, a));
  g_assert_true (cardpin_secret_equal (e1, e2));
  g_assert_false (cardpin_secret_equal (a, e1));
  g_assert_false (cardpin_secret_equal (a, NULL));
  g_assert_false (cardpin_secret_equal (NULL, a));
  g_assert_true (cardpin_secret_equal (NULL, NULL));
  g_assert_true (cardpin_secret_equal_bytes (a, (const guint8 *) "123456", 6));
  g_assert_false (cardpin_secret_equal_bytes (a, (const guint8 *) "12345", 5));
  g_assert_true (cardpin_secret_equal_bytes (e1, NULL, 0));
}

static void
test_wipe (void)
{
  char buffer[] = "a secret that must go";

  cardpin_secret_wipe (buffer, sizeof buffer);
  for (gsize i = 0; i < sizeof buffer; i++)
    g_assert_cmpint (buffer[i], ==, 0);
  cardpin_secret_wipe (NULL, 0);
}

static void
write_string (int         fd,
              const char *text)
{
  gsize len = strlen (text);

  while (len > 0)
    {
      ssize_t n = write (fd, text, len);

      g_assert_cmpint (n, >, 0);
      text += n;
      len -= (gsize) n;
    }
}

static void
assert_fd_secret (int         fd,
                  const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) secret = cardpin_secret_new_from_fd (fd, &error);

  g_assert_no_error (error);
  g_assert_nonnull (secret);
  g_assert_cmpstr (cardpin_secret_as_string (secret), ==, expected);
  g_assert_cmpuint (cardpin_secret_get_length (secret), ==, strlen (expected));
}

static void
test_from_fd (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) secret = NULL;
  g_autofree char *longest = g_strnfill (CARDPIN_SECRET_MAX_LINE, '7');
  g_autofree char *too_long = g_strnfill (CARDPIN_SECRET_MAX_LINE + 1, '8');
  int fds[2];
  char rest[16] = { 0 };

  g_assert_no_errno (pipe (fds));
  write_string (fds[1], "123456\n654321\r\n\nafter empty\n");
  write_string (fds[1], longest);
  write_string (fds[1], "\n");
  write_string (fds[1], too_long);
  write_string (fds[1], "\n");

  assert_fd_secret (fds[0], "123456");
  assert_fd_secret (fds[0], "654321");
  assert_fd_secret (fds[0], "");
  assert_fd_secret (fds[0], "after empty");
  assert_fd_secret (fds[0], longest);

  /* a line that is too long is refused as soon as it is: the reader stops there (one
   * byte past the limit), so an endless line costs no more than the limit */
  secret = cardpin_secret_new_from_fd (fds[0], &error);
  g_assert_null (secret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_cmpint (read (fds[0], rest, sizeof rest - 1), ==, 1);
  g_assert_cmpstr (rest, ==, "\n");
  memset (rest, 0, sizeof rest);

  /* so is a line with a NUL byte, even when it starts with a whole secret; nothing after
   * the NUL is consumed */
  write_string (fds[1], "123456");
  g_assert_cmpint (write (fds[1], "\0tail\n", 6), ==, 6);
  secret = cardpin_secret_new_from_fd (fds[0], &error);
  g_assert_null (secret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_cmpint (read (fds[0], rest, sizeof rest - 1), ==, 5);
  g_assert_cmpstr (rest, ==, "tail\n");

  /* a last line without a newline, then end of input */
  write_string (fds[1], "last\r");
  close (fds[1]);
  assert_fd_secret (fds[0], "last");
  secret = cardpin_secret_new_from_fd (fds[0], &error);
  g_assert_null (secret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT);
  g_clear_error (&error);
  close (fds[0]);

  /* a descriptor that cannot be read */
  g_assert_no_errno (pipe (fds));
  secret = cardpin_secret_new_from_fd (fds[1], &error);
  g_assert_null (secret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&error);
  close (fds[0]);
  close (fds[1]);
}

/* --- the terminal prompt, on a pseudo-terminal that is the child's controlling tty --- */

typedef struct {
  int    master;
  int    slave;       /* held open so the master never reads a hangup (EIO) */
  char  *slave_name;
  pid_t  child;
  GString *output;
} Pty;

enum {
  CHILD_OK = 0,
  CHILD_NO_TTY = 10,
  CHILD_FAILED,
  CHILD_WRONG_SECRET,
  CHILD_ECHO_NOT_RESTORED,
  CHILD_NOT_CANCELLED,
};

static volatile sig_atomic_t child_got_sigint;

static void
child_sigint_handler (int signo)
{
  child_got_sigint = 1;
}

typedef enum {
  CHILD_EXPECT_SECRET,
  CHILD_EXPECT_CANCELLED,   /* has its own SIGINT handler */
  CHILD_DEFAULT_SIGNALS,
} ChildMode;

static G_NORETURN void
run_child (const char *slave_name,
           ChildMode   mode)
{
  g_autoptr(CardpinSecret) secret = NULL;
  g_autoptr(GError) error = NULL;
  struct termios attrs;
  int slave;

  if (setsid () < 0)
    _exit (CHILD_NO_TTY);
  /* the first terminal a session leader opens becomes its controlling terminal */
  slave = open (slave_name, O_RDWR);
  if (slave < 0)
    _exit (CHILD_NO_TTY);

  if (mode == CHILD_EXPECT_CANCELLED)
    {
      struct sigaction action = { 0 };

      action.sa_handler = child_sigint_handler;
      sigemptyset (&action.sa_mask);
      sigaction (SIGINT, &action, NULL);
    }

  secret = cardpin_secret_new_from_terminal ("PIN: ", &error);

  if (tcgetattr (slave, &attrs) != 0 || !(attrs.c_lflag & ECHO))
    _exit (CHILD_ECHO_NOT_RESTORED);

  if (mode == CHILD_EXPECT_CANCELLED)
    {
      if (secret != NULL || !child_got_sigint
          || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _exit (CHILD_NOT_CANCELLED);
      _exit (CHILD_OK);
    }

  if (secret == NULL)
    _exit (CHILD_FAILED);
  if (g_strcmp0 (cardpin_secret_as_string (secret), "s3cret PIN") != 0)
    _exit (CHILD_WRONG_SECRET);
  _exit (CHILD_OK);
}

static gboolean
pty_echo_is_on (Pty *pty)
{
  struct termios attrs;
  int fd = open (pty->slave_name, O_RDWR | O_NOCTTY);

  g_assert_cmpint (fd, >=, 0);
  g_assert_no_errno (tcgetattr (fd, &attrs));
  close (fd);
  return (attrs.c_lflag & ECHO) != 0;
}

static void
pty_start (Pty       *pty,
           ChildMode  mode)
{
  pty->master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (pty->master, >=, 0);
  g_assert_no_errno (grantpt (pty->master));
  g_assert_no_errno (unlockpt (pty->master));
  pty->slave_name = g_strdup (ptsname (pty->master));
  pty->slave = open (pty->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (pty->slave, >=, 0);
  g_assert_true (pty_echo_is_on (pty));   /* a new terminal echoes */
  pty->output = g_string_new (NULL);

  pty->child = fork ();
  g_assert_cmpint (pty->child, >=, 0);
  if (pty->child == 0)
    {
      close (pty->master);
      close (pty->slave);
      run_child (pty->slave_name, mode);
    }
}

/* Reads what the child wrote until @text has appeared @count times in all. */
static void
pty_wait_for (Pty        *pty,
              const char *text,
              guint       count)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      struct pollfd pfd = { pty->master, POLLIN, 0 };
      const char *p = pty->output->str;
      guint found = 0;
      char buffer[256];
      ssize_t n;

      while ((p = strstr (p, text)) != NULL)
        {
          found++;
          p += strlen (text);
        }
      if (found >= count)
        return;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (poll (&pfd, 1, 100) <= 0)
        continue;
      n = read (pty->master, buffer, sizeof buffer);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (pty->output, buffer, n);
    }
}

static int
pty_wait_child (Pty *pty)
{
  int status = 0;

  g_assert_cmpint (waitpid (pty->child, &status, 0), ==, pty->child);
  return status;
}

static void
pty_clear (Pty *pty)
{
  close (pty->slave);
  close (pty->master);
  g_free (pty->slave_name);
  g_string_free (pty->output, TRUE);
}

static void
test_from_terminal (void)
{
  Pty pty;
  int status;

  pty_start (&pty, CHILD_EXPECT_SECRET);
  pty_wait_for (&pty, "PIN: ", 1);
  write_string (pty.master, "s3cret PIN\n");
  /* the newline the prompt prints after the answer */
  pty_wait_for (&pty, "PIN: \r\n", 1);
  status = pty_wait_child (&pty);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, CHILD_OK);
  /* the answer was not echoed */
  g_assert_null (strstr (pty.output->str, "s3cret"));
  g_assert_true (pty_echo_is_on (&pty));
  pty_clear (&pty);
}

static void
test_from_terminal_sigint (void)
{
  Pty pty;
  int status;

  /* default SIGINT: the echo is restored, then the process dies of the signal */
  pty_start (&pty, CHILD_DEFAULT_SIGNALS);
  pty_wait_for (&pty, "PIN: ", 1);
  g_assert_false (pty_echo_is_on (&pty));
  write_string (pty.master, "half");
  g_assert_no_errno (kill (pty.child, SIGINT));
  status = pty_wait_child (&pty);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGINT);
  g_assert_true (pty_echo_is_on (&pty));
  pty_clear (&pty);

  /* with the program's own SIGINT handler: it runs, and the prompt is cancelled */
  pty_start (&pty, CHILD_EXPECT_CANCELLED);
  pty_wait_for (&pty, "PIN: ", 1);
  g_assert_no_errno (kill (pty.child, SIGINT));
  status = pty_wait_child (&pty);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, CHILD_OK);
  g_assert_true (pty_echo_is_on (&pty));
  pty_clear (&pty);
}

static void
test_from_terminal_sigtstp (void)
{
  Pty pty;
  int status;

  /* SIGTSTP: echo back on, the stop is delivered (the kernel drops it here because
   * the child's process group is orphaned), then the prompt starts again */
  pty_start (&pty, CHILD_EXPECT_SECRET);
  pty_wait_for (&pty, "PIN: ", 1);
  write_string (pty.master, "typed before the stop");
  g_assert_no_errno (kill (pty.child, SIGTSTP));
  pty_wait_for (&pty, "PIN: ", 2);
  write_string (pty.master, "s3cret PIN\n");
  status = pty_wait_child (&pty);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, CHILD_OK);
  g_assert_null (strstr (pty.output->str, "s3cret"));
  g_assert_null (strstr (pty.output->str, "typed"));
  pty_clear (&pty);
}

static void
test_no_terminal (void)
{
  pid_t child = fork ();
  int status = 0;

  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CardpinSecret) secret = NULL;

      /* a new session has no controlling terminal */
      if (setsid () < 0)
        _exit (CHILD_NO_TTY);
      secret = cardpin_secret_new_from_terminal ("PIN: ", &error);
      if (secret != NULL || error == NULL || error->domain != G_IO_ERROR)
        _exit (CHILD_FAILED);
      _exit (CHILD_OK);
    }
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, CHILD_OK);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/secret/new", test_new);
  g_test_add_func ("/cardpin/secret/boxed", test_boxed);
  g_test_add_func ("/cardpin/secret/locked", test_locked);
  g_test_add_func ("/cardpin/secret/equal", test_equal);
  g_test_add_func ("/cardpin/secret/wipe", test_wipe);
  g_test_add_func ("/cardpin/secret/from-fd", test_from_fd);
  g_test_add_func ("/cardpin/secret/from-terminal", test_from_terminal);
  g_test_add_func ("/cardpin/secret/from-terminal-sigint", test_from_terminal_sigint);
  g_test_add_func ("/cardpin/secret/from-terminal-sigtstp", test_from_terminal_sigtstp);
  g_test_add_func ("/cardpin/secret/no-terminal", test_no_terminal);

  return g_test_run ();
}
