/* test-stack.c — the test harness itself: pcscd, readers, cards, teardown
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <winscard.h>

#include "cardpin-test-stack.h"

/* SELECTs the PIV applet in @reader; returns the status word, or 0 when no card. */
static guint
select_sw (const char *reader)
{
  SCARDCONTEXT ctx;
  SCARDHANDLE card;
  DWORD proto = 0;
  BYTE rbuf[258];
  DWORD rlen = sizeof rbuf;
  LONG rv;
  guint sw = 0;

  g_assert_cmpint (SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), ==,
                   SCARD_S_SUCCESS);
  rv = SCardConnect (ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                     &card, &proto);
  if (rv == SCARD_S_SUCCESS)
    {
      const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;

      rv = SCardTransmit (card, pci, cardpin_test_select_piv,
                          sizeof cardpin_test_select_piv, NULL, rbuf, &rlen);
      if (rv == SCARD_S_SUCCESS && rlen >= 2)
        sw = (rbuf[rlen - 2] << 8) | rbuf[rlen - 1];
      SCardDisconnect (card, SCARD_LEAVE_CARD);
    }
  SCardReleaseContext (ctx);
  return sw;
}

static gboolean
port_listening (guint16 port)
{
  struct sockaddr_in addr = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean ok;

  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  ok = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);
  return ok;
}

static void
test_readers_and_cards (void)
{
  g_autoptr(GError) error = NULL;
  CardpinTestStack *stack;
  CardpinTestCard *card;
  g_autofree char *state = NULL;
  g_autofree char *dir = NULL;

  stack = cardpin_test_stack_new (2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cardpin_test_stack_get_n_readers (stack), ==, 2);
  g_assert_cmpstr (cardpin_test_stack_get_reader (stack, 0), ==, "Virtual PCD 00 00");
  g_assert_cmpstr (cardpin_test_stack_get_reader (stack, 1), ==, "Virtual PCD 00 01");
  dir = g_strdup (cardpin_test_stack_get_dir (stack));

  /* empty readers: no card to talk to */
  g_assert_cmpuint (select_sw (cardpin_test_stack_get_reader (stack, 0)), ==, 0);

  card = cardpin_test_stack_insert (stack, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cardpin_test_card_get_reader (card), ==, "Virtual PCD 00 01");
  g_assert_cmpuint (select_sw ("Virtual PCD 00 01"), ==, 0x9000);
  g_assert_cmpuint (select_sw ("Virtual PCD 00 00"), ==, 0);

  /* one reader holds one card */
  g_assert_null (cardpin_test_stack_insert (stack, 1, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  state = g_strdup (cardpin_test_card_get_state_file (card));
  cardpin_test_card_remove (card);
  g_assert_cmpuint (select_sw ("Virtual PCD 00 01"), ==, 0);
  g_assert_true (g_file_test (state, G_FILE_TEST_EXISTS));

  card = cardpin_test_stack_insert (stack, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (select_sw ("Virtual PCD 00 00"), ==, 0x9000);

  /* a card whose options are wrong is reported, not waited for forever */
  g_assert_null (cardpin_test_stack_insert (stack, 1,
                                            (const char * const[]) { "--pin-tries", "x", NULL },
                                            &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  cardpin_test_stack_free (stack);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
}

static void
test_killed_runner_leaves_nothing (void)
{
  const char *runner = g_getenv ("CARDPIN_TEST_STACK_RUN");
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  const char *argv[] = { runner, "--card", "0:--serial 00C0FFEE", "--", "sh", "-c",
                         "echo $CARDPIN_TEST_PORT0; exec sleep 60", NULL };
  GPid pid;
  int out_fd, status;
  char buf[64] = { 0 };
  gssize n;
  guint16 port;
  gboolean freed = FALSE;

  g_assert_nonnull (runner);
  g_auto(GStrv) envp = g_environ_unsetenv (g_get_environ (), "CARDPIN_TEST_STACK_NS");

  g_spawn_async_with_pipes (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                            NULL, &pid, NULL, &out_fd, NULL, &error);
  g_assert_no_error (error);
  n = read (out_fd, buf, sizeof buf - 1);
  g_assert_cmpint (n, >, 0);
  port = (guint16) g_ascii_strtoull (buf, NULL, 10);
  g_assert_cmpuint (port, >, 0);
  g_assert_true (port_listening (port));

  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  for (guint i = 0; i < 300 && !freed; i++)
    {
      freed = !port_listening (port);
      if (!freed)
        g_usleep (10000);
    }
  g_assert_true (freed);
  /* the command (sleep) went with it: nothing holds our end of its stdout */
  {
    struct pollfd pfd = { .fd = out_fd, .events = POLLIN };

    g_assert_cmpint (poll (&pfd, 1, 3000), ==, 1);
    g_assert_cmpint (read (out_fd, buf, sizeof buf), ==, 0);
  }
  close (out_fd);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  if (!cardpin_test_stack_enter_namespace (&error))
    g_error ("%s", error->message);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/stack/readers-and-cards", test_readers_and_cards);
  g_test_add_func ("/cardpin/stack/killed-runner-leaves-nothing",
                   test_killed_runner_leaves_nothing);

  return g_test_run ();
}
