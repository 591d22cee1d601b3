/* cardpin-test-stack.c — the real card stack for tests and the demo
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "cardpin-test-stack.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <winscard.h>

#define NS_ENV "CARDPIN_TEST_STACK_NS"
#define READY_TIMEOUT_MS 15000
/* pcscd polls a vpcd reader for its card every 400 ms (PCSCLITE_STATUS_POLL_RATE) */
#define VPCD_POLL_GRACE_US (1000 * 1000)

const guint8 cardpin_test_select_piv[15] = {
  0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00
};

struct _CardpinTestCard {
  CardpinTestStack *stack;
  guint index;
  GPid pid;
  char *state_file;
};

struct _CardpinTestStack {
  char *dir;
  GPid pcscd_pid;
  guint16 base_port;
  GPtrArray *readers;   /* char* reader names, index order */
  GPtrArray *cards;     /* CardpinTestCard* still in a reader */
  char *keypad;         /* the PIN pad readers' keypad file, or NULL */
};

/* helpers */

static gboolean
write_file (const char  *path,
            const char  *contents,
            GError     **error)
{
  int fd;
  gsize len = strlen (contents);

  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, contents, len) != (gssize) len)
    {
      int errsv = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Cannot write %s: %s", path, g_strerror (errsv));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean
set_errno_error (GError     **error,
                 const char  *what)
{
  int errsv = errno;

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
               "%s: %s", what, g_strerror (errsv));
  return FALSE;
}

/* Non-root without /run/pcscd: a tmpfs over all of /run, with the parts of the old /run
 * that desktop sessions need (user runtime dirs, the system bus) bound back. */
static gboolean
mount_private_run (GError **error)
{
  g_autofree char *old = g_strdup ("/tmp/cardpin-oldrun-XXXXXX");
  static const char *keep[] = { "user", "dbus", NULL };

  if (g_mkdtemp (old) == NULL)
    return set_errno_error (error, "mkdtemp");
  if (mount ("/run", old, NULL, MS_BIND | MS_REC, NULL) != 0)
    return set_errno_error (error, "bind /run");
  if (mount ("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    return set_errno_error (error, "mount tmpfs on /run");
  for (guint i = 0; keep[i]; i++)
    {
      g_autofree char *from = g_build_filename (old, keep[i], NULL);
      g_autofree char *to = g_build_filename ("/run", keep[i], NULL);

      if (!g_file_test (from, G_FILE_TEST_IS_DIR))
        continue;
      g_mkdir (to, 0755);
      if (mount (from, to, NULL, MS_BIND | MS_REC, NULL) != 0)
        return set_errno_error (error, "bind back /run entry");
    }
  umount2 (old, MNT_DETACH);
  g_rmdir (old);
  if (g_mkdir ("/run/pcscd", 0755) != 0)
    return set_errno_error (error, "mkdir /run/pcscd");
  return TRUE;
}

/**
 * cardpin_test_stack_enter_namespace:
 *
 * Enters a private mount namespace (a user namespace too when not root) and mounts a
 * tmpfs over /run/pcscd, so that a private pcscd and the clients under test meet there.
 * Must be called while the process has a single thread. A process started inside the
 * namespace (environment `CARDPIN_TEST_STACK_NS`) stays where it is.
 */
gboolean
cardpin_test_stack_enter_namespace (GError **error)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  gboolean have_dir;

  if (g_getenv (NS_ENV) != NULL)
    return TRUE;

  if (uid == 0)
    {
      if (unshare (CLONE_NEWNS) != 0)
        return set_errno_error (error, "unshare(CLONE_NEWNS)");
    }
  else
    {
      g_autofree char *uid_map = g_strdup_printf ("0 %u 1\n", (guint) uid);
      g_autofree char *gid_map = g_strdup_printf ("0 %u 1\n", (guint) gid);

      if (unshare (CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return set_errno_error (error, "unshare(CLONE_NEWUSER | CLONE_NEWNS) "
                                       "(are unprivileged user namespaces enabled?)");
      if (!write_file ("/proc/self/setgroups", "deny", error) ||
          !write_file ("/proc/self/uid_map", uid_map, error) ||
          !write_file ("/proc/self/gid_map", gid_map, error))
        return FALSE;
    }

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return set_errno_error (error, "make / private");

  have_dir = g_file_test ("/run/pcscd", G_FILE_TEST_IS_DIR);
  if (!have_dir && uid == 0)
    {
      /* Only the empty mount point is created outside; the socket stays private. */
      if (g_mkdir ("/run/pcscd", 0755) != 0 && errno != EEXIST)
        return set_errno_error (error, "mkdir /run/pcscd");
      have_dir = TRUE;
    }

  if (have_dir)
    {
      if (mount ("tmpfs", "/run/pcscd", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
        return set_errno_error (error, "mount tmpfs on /run/pcscd");
    }
  else if (!mount_private_run (error))
    return FALSE;

  g_setenv (NS_ENV, "1", TRUE);
  return TRUE;
}

static void
child_setup (gpointer user_data)
{
  /* Whatever happens to the test, its pcscd and cards do not outlive it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1)
    _exit (1);
}

static GPid
spawn_logged (const char * const  *argv,
              const char * const  *envp,
              const char          *log_path,
              GError             **error)
{
  GPid pid = 0;
  int log_fd;
  gboolean ok;

  log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    {
      set_errno_error (error, log_path);
      return 0;
    }

  ok = g_spawn_async_with_pipes_and_fds (NULL, argv, envp,
                                         G_SPAWN_DO_NOT_REAP_CHILD,
                                         child_setup, NULL,
                                         -1, log_fd, log_fd,
                                         NULL, NULL, 0,
                                         &pid, NULL, NULL, NULL, error);
  close (log_fd);
  return ok ? pid : 0;
}

/* Returns TRUE if @pid exited (and reaps it). */
static gboolean
child_exited (GPid pid)
{
  int status;

  return waitpid (pid, &status, WNOHANG) == pid;
}

static void
stop_child (GPid pid)
{
  int status;

  if (pid <= 0)
    return;
  kill (pid, SIGTERM);
  for (guint i = 0; i < 300; i++)
    {
      if (waitpid (pid, &status, WNOHANG) == pid)
        return;
      g_usleep (10000);
    }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
}

static char *
log_tail (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return g_strdup ("");
  if (len > 2000)
    return g_strdup (contents + len - 2000);
  return g_steal_pointer (&contents);
}

static gboolean
port_free (guint16 port)
{
  struct sockaddr_in addr = { 0 };
  int fd, one = 1;
  gboolean ok;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_ANY);
  ok = bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);
  return ok;
}

static guint16
pick_ports (guint n)
{
  for (guint attempt = 0; attempt < 200; attempt++)
    {
      guint16 base = (guint16) g_random_int_range (20000, 60000 - (gint32) n);
      gboolean ok = TRUE;

      for (guint i = 0; i < n && ok; i++)
        ok = port_free (base + i);
      if (ok)
        return base;
    }
  return 0;
}

/* The reader names pcscd lists, in its order; NULL while it cannot be reached. */
static GPtrArray *
list_readers (void)
{
  SCARDCONTEXT ctx;
  DWORD len = 0;
  g_autofree char *buf = NULL;
  GPtrArray *names;

  if (SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
    return NULL;
  if (SCardListReaders (ctx, NULL, NULL, &len) != SCARD_S_SUCCESS || len == 0)
    {
      SCardReleaseContext (ctx);
      return g_ptr_array_new_with_free_func (g_free);
    }
  buf = g_malloc0 (len);
  if (SCardListReaders (ctx, NULL, buf, &len) != SCARD_S_SUCCESS)
    {
      SCardReleaseContext (ctx);
      return g_ptr_array_new_with_free_func (g_free);
    }
  SCardReleaseContext (ctx);

  names = g_ptr_array_new_with_free_func (g_free);
  for (const char *p = buf; *p; p += strlen (p) + 1)
    g_ptr_array_add (names, g_strdup (p));
  return names;
}

/* Waits until @reader shows (or no longer shows) a card. */
static gboolean
wait_card_state (const char  *reader,
                 gboolean     present,
                 GPid         card_pid,
                 guint        timeout_ms,
                 GError     **error)
{
  SCARDCONTEXT ctx;
  SCARD_READERSTATE state = { 0 };
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  LONG rv;

  rv = SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
  if (rv != SCARD_S_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "pcscd unreachable: %s", pcsc_stringify_error (rv));
      return FALSE;
    }

  state.szReader = reader;
  state.dwCurrentState = SCARD_STATE_UNAWARE;
  while (g_get_monotonic_time () < deadline)
    {
      rv = SCardGetStatusChange (ctx, 100, &state, 1);
      if (rv == SCARD_S_SUCCESS || rv == SCARD_E_TIMEOUT)
        {
          gboolean is_present = (state.dwEventState & SCARD_STATE_PRESENT) != 0;

          if (rv == SCARD_S_SUCCESS)
            state.dwCurrentState = state.dwEventState & ~SCARD_STATE_CHANGED;
          if (is_present == present && !(state.dwEventState & SCARD_STATE_UNKNOWN))
            {
              SCardReleaseContext (ctx);
              return TRUE;
            }
        }
      else
        g_usleep (50000);

      if (present && card_pid > 0 && child_exited (card_pid))
        {
          SCardReleaseContext (ctx);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "the virtual card exited before it was inserted");
          return FALSE;
        }
    }
  SCardReleaseContext (ctx);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "timed out waiting for reader \"%s\" to %s (reader state 0x%lx)", reader,
               present ? "show the card" : "become empty", (unsigned long) state.dwEventState);
  return FALSE;
}

static const char *
virtual_card_path (void)
{
  const char *env = g_getenv ("CARDPIN_VIRTUAL_CARD");

  return env ? env : VIRTUAL_CARD_PATH;
}

const char *
cardpin_test_opensc_module (void)
{
  const char *env = g_getenv ("CARDPIN_OPENSC_MODULE");

  return env ? env : OPENSC_MODULE_PATH;
}

/**
 * cardpin_test_stack_new:
 * @n_readers: how many readers
 *
 * Starts a private pcscd with vpcd readers on free ports and waits until it lists them.
 */
static CardpinTestStack *stack_new (guint n_readers, gboolean pinpad, const char *name,
                                     GError **error);

CardpinTestStack *
cardpin_test_stack_new (guint    n_readers,
                        GError **error)
{
  /* CARDPIN_TEST_PINPAD: every test's readers get the keypad, under their usual names,
   * to run a whole suite against PIN pad readers */
  if (g_getenv ("CARDPIN_TEST_PINPAD") != NULL)
    return stack_new (n_readers, TRUE, "Virtual PCD", error);
  return stack_new (n_readers, FALSE, "Virtual PCD", error);
}

/**
 * cardpin_test_stack_new_full:
 * @n_readers: how many readers
 * @pinpad: whether the readers have a PIN pad
 *
 * As cardpin_test_stack_new(); with @pinpad, pcscd loads the readers through
 * tests/stack/ifd-pinpad.c, which adds a keypad (PC/SC part 10) to vpcd and reads the
 * digits "typed" on it from the file cardpin_test_stack_get_keypad() (the variable
 * CARDPIN_TEST_KEYPAD in pcscd's environment only).
 */
CardpinTestStack *
cardpin_test_stack_new_full (guint     n_readers,
                             gboolean  pinpad,
                             GError  **error)
{
  return stack_new (n_readers, pinpad, pinpad ? "Virtual PIN Pad" : "Virtual PCD", error);
}

static CardpinTestStack *
stack_new (guint        n_readers,
           gboolean     pinpad,
           const char  *name,
           GError     **error)
{
  g_auto(GStrv) pcscd_env = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *conf_dir = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *home = NULL;
  g_autofree char *cache = NULL;
  CardpinTestStack *stack;
  guint n_entries = MAX (1, (n_readers + 1) / 2);
  gint64 deadline;
  const char *argv[] = { PCSCD_PATH, "--foreground", "--config", NULL, NULL, NULL };

  if (g_getenv (NS_ENV) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "cardpin_test_stack_enter_namespace() was not called");
      return NULL;
    }

  stack = g_new0 (CardpinTestStack, 1);
  stack->readers = g_ptr_array_new_with_free_func (g_free);
  stack->cards = g_ptr_array_new ();
  stack->dir = g_dir_make_tmp ("cardpin-stack-XXXXXX", error);
  if (stack->dir == NULL)
    goto fail;

  conf_dir = g_build_filename (stack->dir, "reader.conf.d", NULL);
  home = g_build_filename (stack->dir, "home", NULL);
  cache = g_build_filename (stack->dir, "cache", NULL);
  g_mkdir (conf_dir, 0700);
  g_mkdir (home, 0700);
  g_mkdir (cache, 0700);
  /* OpenSC keeps a file cache under the home directory: keep tests apart */
  g_setenv ("HOME", home, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  /* core counts the PIN changes of change-limited cards under the state directory */
  g_setenv ("XDG_STATE_HOME", cache, TRUE);

  pcscd_env = g_get_environ ();
  if (pinpad)
    {
      stack->keypad = g_build_filename (stack->dir, "keypad", NULL);
      if (!g_file_set_contents (stack->keypad, "", 0, error))
        goto fail;
      pcscd_env = g_environ_setenv (pcscd_env, "CARDPIN_TEST_KEYPAD", stack->keypad, TRUE);
    }

  stack->base_port = pick_ports (n_entries * 2);
  if (stack->base_port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no free vpcd ports");
      goto fail;
    }

  for (guint i = 0; i < n_entries; i++)
    {
      guint16 port = stack->base_port + 2 * i;
      g_autofree char *path = g_strdup_printf ("%s/vpcd-%u", conf_dir, i);
      g_autofree char *conf =
        g_strdup_printf ("FRIENDLYNAME \"%s\"\n"
                         "DEVICENAME   /dev/null:0x%04X\n"
                         "LIBPATH      %s\n"
                         "CHANNELID    0x%04X\n",
                         name, port,
                         pinpad ? PINPAD_DRIVER_PATH : VPCD_DRIVER_PATH, port);

      if (!g_file_set_contents (path, conf, -1, error))
        goto fail;
    }

  log_path = g_build_filename (stack->dir, "pcscd.log", NULL);
  argv[3] = conf_dir;
  if (g_getenv ("CARDPIN_TEST_DEBUG"))
    argv[4] = "--debug";
  stack->pcscd_pid = spawn_logged (argv, (const char * const *) pcscd_env, log_path, error);
  if (stack->pcscd_pid == 0)
    goto fail;

  deadline = g_get_monotonic_time () + READY_TIMEOUT_MS * 1000;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GPtrArray) names = list_readers ();

      if (names != NULL && names->len >= n_entries * 2)
        {
          for (guint i = 0; i < names->len; i++)
            g_ptr_array_add (stack->readers, g_strdup (names->pdata[i]));
          return stack;
        }
      if (child_exited (stack->pcscd_pid))
        {
          g_autofree char *tail = log_tail (log_path);

          stack->pcscd_pid = 0;
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "pcscd exited at start:\n%s", tail);
          goto fail;
        }
      g_usleep (20000);
    }
  {
    g_autofree char *tail = log_tail (log_path);

    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "pcscd did not list its readers in time:\n%s", tail);
  }

fail:
  cardpin_test_stack_free (stack);
  return NULL;
}

static void
card_free (CardpinTestCard *card)
{
  g_free (card->state_file);
  g_free (card);
}

/**
 * cardpin_test_stack_free:
 * @stack: (transfer full) (nullable): a stack
 *
 * Pulls out every card, stops pcscd and removes the temporary directory (kept when
 * `CARDPIN_TEST_KEEP` is set).
 */
void
cardpin_test_stack_free (CardpinTestStack *stack)
{
  if (stack == NULL)
    return;

  for (guint i = 0; i < stack->cards->len; i++)
    {
      CardpinTestCard *card = stack->cards->pdata[i];

      stop_child (card->pid);
      card_free (card);
    }
  g_ptr_array_unref (stack->cards);
  stop_child (stack->pcscd_pid);

  if (stack->dir != NULL)
    {
      if (g_getenv ("CARDPIN_TEST_KEEP"))
        g_printerr ("# test stack kept in %s\n", stack->dir);
      else
        {
          const char *rm_argv[] = { "rm", "-rf", "--one-file-system", stack->dir, NULL };

          g_spawn_sync (NULL, (char **) rm_argv, NULL, G_SPAWN_SEARCH_PATH,
                        NULL, NULL, NULL, NULL, NULL, NULL);
        }
    }

  g_ptr_array_unref (stack->readers);
  g_free (stack->keypad);
  g_free (stack->dir);
  g_free (stack);
}

const char *
cardpin_test_stack_get_reader (CardpinTestStack *stack,
                               guint             index)
{
  g_return_val_if_fail (index < stack->readers->len, NULL);
  return stack->readers->pdata[index];
}

guint
cardpin_test_stack_get_n_readers (CardpinTestStack *stack)
{
  return stack->readers->len;
}

const char *
cardpin_test_stack_get_dir (CardpinTestStack *stack)
{
  return stack->dir;
}

/* pcscd lists one vpcd entry's two readers in a row, entries in the order they were
 * configured, so reader @index listens on base + @index. */
guint16
cardpin_test_stack_get_port (CardpinTestStack *stack,
                             guint             index)
{
  return stack->base_port + index;
}

const char *
cardpin_test_stack_get_keypad (CardpinTestStack *stack)
{
  return stack->keypad;
}

void
cardpin_test_stack_set_keypad (CardpinTestStack   *stack,
                               const char * const *entries)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (stack->keypad);
  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    g_string_append_printf (text, "%s\n", entries[i]);
  g_file_set_contents (stack->keypad, text->str, (gssize) text->len, &error);
  g_assert_no_error (error);
}

char *
cardpin_test_stack_get_keypad_left (CardpinTestStack *stack)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_assert_nonnull (stack->keypad);
  g_file_get_contents (stack->keypad, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/**
 * cardpin_test_stack_insert:
 * @stack: a stack
 * @index: the reader
 * @args: (nullable): extra virtual card options
 *
 * Starts a virtual card in reader @index and waits until pcscd sees it.
 *
 * Returns: (transfer none): the card; it belongs to @stack until removed
 */
CardpinTestCard *
cardpin_test_stack_insert (CardpinTestStack   *stack,
                           guint               index,
                           const char * const *args,
                           GError            **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *log_path = NULL;
  CardpinTestCard *card;
  gboolean has_state = FALSE;

  g_return_val_if_fail (index < stack->readers->len, NULL);

  for (guint i = 0; i < stack->cards->len; i++)
    {
      CardpinTestCard *other = stack->cards->pdata[i];

      if (other->index == index)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "reader %u already holds a card", index);
          return NULL;
        }
    }

  card = g_new0 (CardpinTestCard, 1);
  card->stack = stack;
  card->index = index;

  g_ptr_array_add (argv, g_strdup (virtual_card_path ()));
  g_ptr_array_add (argv, g_strdup ("--port"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", cardpin_test_stack_get_port (stack, index)));
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    {
      if (g_str_equal (args[i], "--state") && args[i + 1] != NULL)
        {
          has_state = TRUE;
          card->state_file = g_strdup (args[i + 1]);
        }
      g_ptr_array_add (argv, g_strdup (args[i]));
    }
  if (!has_state)
    {
      card->state_file = g_strdup_printf ("%s/card-%u.state", stack->dir, index);
      g_ptr_array_add (argv, g_strdup ("--state"));
      g_ptr_array_add (argv, g_strdup (card->state_file));
    }
  g_ptr_array_add (argv, NULL);

  log_path = g_strdup_printf ("%s/card-%u.log", stack->dir, index);
  card->pid = spawn_logged ((const char * const *) argv->pdata, NULL, log_path, error);
  if (card->pid == 0)
    {
      card_free (card);
      return NULL;
    }

  if (!wait_card_state (stack->readers->pdata[index], TRUE, card->pid,
                        READY_TIMEOUT_MS, error))
    {
      g_autofree char *tail = log_tail (log_path);

      g_prefix_error (error, "card log:\n%s\n", tail);
      stop_child (card->pid);
      card_free (card);
      return NULL;
    }

  g_ptr_array_add (stack->cards, card);
  return card;
}

/**
 * cardpin_test_card_remove:
 * @card: (transfer full): a card
 *
 * Pulls the card out of its reader and waits until pcscd notices.
 */
void
cardpin_test_card_remove (CardpinTestCard *card)
{
  CardpinTestStack *stack = card->stack;
  g_autoptr(GError) error = NULL;

  stop_child (card->pid);
  if (!wait_card_state (stack->readers->pdata[card->index], FALSE, 0,
                        READY_TIMEOUT_MS, &error))
    g_warning ("%s", error->message);
  g_ptr_array_remove (stack->cards, card);
  card_free (card);
}

/**
 * cardpin_test_card_wait_gone:
 * @card: (transfer full): a card that leaves by itself (fault injection)
 * @timeout_ms: how long to wait
 *
 * Returns: %TRUE when the card left the reader in time; the card is freed either way
 */
gboolean
cardpin_test_card_wait_gone (CardpinTestCard *card,
                             guint            timeout_ms)
{
  CardpinTestStack *stack = card->stack;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean gone = FALSE;

  while (g_get_monotonic_time () < deadline)
    {
      if (child_exited (card->pid))
        {
          gone = TRUE;
          break;
        }
      g_usleep (10000);
    }
  if (!gone)
    stop_child (card->pid);
  else
    gone = wait_card_state (stack->readers->pdata[card->index], FALSE, 0,
                            timeout_ms, NULL);
  /* A card that vanishes inside a transaction makes pcscd's failed reset mark the reader
   * empty before its event thread, which polls vpcd every 400 ms, has seen the card go.
   * A card inserted again before that poll looks to that thread as if it never left, and
   * pcscd would keep the reader empty. Give the thread its poll. */
  if (gone)
    g_usleep (VPCD_POLL_GRACE_US);
  g_ptr_array_remove (stack->cards, card);
  card_free (card);
  return gone;
}

const char *
cardpin_test_card_get_state_file (CardpinTestCard *card)
{
  return card->state_file;
}

const char *
cardpin_test_card_get_reader (CardpinTestCard *card)
{
  return card->stack->readers->pdata[card->index];
}

guint16
cardpin_test_free_port (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

char *
cardpin_test_sh (const char *dir,
                 const char *command)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  const char *argv[] = { "/bin/sh", "-ec", command, NULL };

  g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("“%s” failed: %s%s", command, out, err);
  return g_strstrip (g_steal_pointer (&out));
}
