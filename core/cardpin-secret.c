/* cardpin-secret.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <gio/gio.h>

#include "cardpin-secret.h"

/**
 * CardpinSecret:
 *
 * A buffer for one secret: a PIN, a PUK, an unblock response or a key.
 *
 * The bytes live in their own anonymous memory mapping, locked into RAM with mlock(2)
 * where the system allows it (failure is ignored; see cardpin_secret_is_locked()),
 * excluded from core dumps, and wiped with explicit_bzero(3) before they are unmapped
 * (or kept, wiped, for the next secret).
 * The buffer is always followed by a NUL byte, so cardpin_secret_as_string() is a
 * valid C string for textual secrets.
 *
 * A #CardpinSecret is reference counted and immutable once shared: only the code that
 * created it with cardpin_secret_new_sized() fills it, through
 * cardpin_secret_get_mutable_data(), before handing it on. The last
 * cardpin_secret_unref() wipes it. The contents are never logged, and there is no
 * function that copies them into ordinary memory.
 */
struct _CardpinSecret
{
  gatomicrefcount  ref_count;
  gsize            length;
  gsize            mapped;
  gboolean         locked;
  guint8          *data;
};

G_DEFINE_BOXED_TYPE (CardpinSecret, cardpin_secret, cardpin_secret_ref, cardpin_secret_unref)

/* Signals that interrupt a terminal prompt; the echo is restored before they act. */
static const int prompt_signals[] = {
  SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU,
};

static volatile sig_atomic_t caught_signals[NSIG];

/* Wiped one-page mappings kept for the next secret, so that a service that handles many
 * secrets does not map, lock and unmap a page for each (each munmap(2) of a threaded
 * process interrupts every CPU). The unblock service holds up to four secrets per request
 * in flight (credential, response, its hex, the answer): 128 pages serve 32 concurrent
 * clients without a munmap(2) (tests/bench/bench-unblockd.sh); the cache never holds
 * more than the peak of secrets alive at once. */
#define PAGE_CACHE_SIZE 128

static GMutex page_cache_lock;
static struct {
  guint8   *data;
  gboolean  locked;
} page_cache[PAGE_CACHE_SIZE];
static guint page_cache_length;

static CardpinSecret *
secret_alloc (gsize capacity)
{
  CardpinSecret *self;
  gsize page_size = (gsize) sysconf (_SC_PAGESIZE);

  g_return_val_if_fail (capacity < G_MAXSIZE - 2 * page_size, NULL);

  self = g_new0 (CardpinSecret, 1);
  g_atomic_ref_count_init (&self->ref_count);
  /* One spare byte for the NUL; whole pages so that munlock() never unlocks memory
   * that another secret shares. */
  self->mapped = (capacity + 1 + page_size - 1) / page_size * page_size;
  if (self->mapped == page_size)
    {
      g_mutex_lock (&page_cache_lock);
      if (page_cache_length > 0)
        {
          page_cache_length--;
          self->data = page_cache[page_cache_length].data;
          self->locked = page_cache[page_cache_length].locked;
        }
      g_mutex_unlock (&page_cache_lock);
      if (self->data != NULL)
        return self;
    }
  self->data = mmap (NULL, self->mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (self->data == MAP_FAILED)
    g_error ("%s: failed to map %" G_GSIZE_FORMAT " bytes: %s",
             G_STRLOC, self->mapped, g_strerror (errno));

  self->locked = mlock (self->data, self->mapped) == 0;
#ifdef MADV_DONTDUMP
  (void) madvise (self->data, self->mapped, MADV_DONTDUMP);
#endif

  return self;
}

static void
secret_free (CardpinSecret *self)
{
  cardpin_secret_wipe (self->data, self->mapped);
  if (self->mapped == (gsize) sysconf (_SC_PAGESIZE))
    {
      gboolean cached = FALSE;

      g_mutex_lock (&page_cache_lock);
      if (page_cache_length < PAGE_CACHE_SIZE)
        {
          page_cache[page_cache_length].data = self->data;
          page_cache[page_cache_length].locked = self->locked;
          page_cache_length++;
          cached = TRUE;
        }
      g_mutex_unlock (&page_cache_lock);
      if (cached)
        {
          g_free (self);
          return;
        }
    }
  if (self->locked)
    munlock (self->data, self->mapped);
  munmap (self->data, self->mapped);
  g_free (self);
}

static gboolean
write_all (int         fd,
           const char *text)
{
  gsize len = strlen (text);

  while (len > 0)
    {
      ssize_t n = write (fd, text, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      text += n;
      len -= (gsize) n;
    }

  return TRUE;
}

typedef enum {
  READ_LINE_OK,
  READ_LINE_EOF,
  READ_LINE_TOO_LONG,
  READ_LINE_NUL,
  READ_LINE_ERROR,
  READ_LINE_INTERRUPTED,
} ReadLineResult;

static gboolean
any_signal_caught (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (prompt_signals); i++)
    if (caught_signals[prompt_signals[i]])
      return TRUE;
  return FALSE;
}

/* Reads one line into @self (capacity CARDPIN_SECRET_MAX_LINE + 1) one byte at a time,
 * so nothing after the newline is consumed and no stdio buffer holds a copy.
 *
 * With @wait_mask (the terminal prompt), the prompt signals are blocked by the caller;
 * each byte is awaited with pselect() and @wait_mask, which unblocks them atomically, so
 * a signal that arrives at any moment ends the wait (no race between a check and a
 * blocking read()). */
static ReadLineResult
read_line (int               fd,
           CardpinSecret    *self,
           const sigset_t   *wait_mask,
           int              *saved_errno)
{
  gsize n = 0;
  gboolean any = FALSE;
  gboolean too_long = FALSE;
  gboolean nul = FALSE;

  for (;;)
    {
      guint8 byte = 0;
      ssize_t r;

      if (wait_mask != NULL)
        {
          fd_set readable;

          if (any_signal_caught ())
            {
              self->length = n;
              return READ_LINE_INTERRUPTED;
            }
          FD_ZERO (&readable);
          FD_SET (fd, &readable);
          if (pselect (fd + 1, &readable, NULL, NULL, NULL, wait_mask) < 0)
            {
              if (errno == EINTR)
                continue;
              *saved_errno = errno;
              self->length = n;
              return READ_LINE_ERROR;
            }
        }

      r = read (fd, &byte, 1);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          *saved_errno = errno;
          self->length = n;
          return READ_LINE_ERROR;
        }
      if (r == 0)
        break;

      any = TRUE;
      if (byte == '\n')
        break;
      if (byte == 0)
        {
          /* a NUL would cut the secret short where it is used as a string */
          nul = TRUE;
          break;
        }
      if (n == CARDPIN_SECRET_MAX_LINE)
        {
          /* bounded: stop at once instead of reading an endless line */
          too_long = TRUE;
          cardpin_secret_wipe (&byte, sizeof byte);
          break;
        }
      self->data[n++] = byte;
      cardpin_secret_wipe (&byte, sizeof byte);
    }

  if (n > 0 && self->data[n - 1] == '\r')
    self->data[--n] = 0;
  self->length = n;

  if (nul || too_long)
    {
      /* nothing of a refused line is kept */
      cardpin_secret_wipe (self->data, n);
      self->length = 0;
      return nul ? READ_LINE_NUL : READ_LINE_TOO_LONG;
    }
  if (!any)
    return READ_LINE_EOF;
  return READ_LINE_OK;
}

static gboolean
read_line_result_to_error (ReadLineResult   result,
                           int              saved_errno,
                           GError         **error)
{
  switch (result)
    {
    case READ_LINE_OK:
      return TRUE;
    case READ_LINE_EOF:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                           _("The input ended before a secret was read. Give one secret per line."));
      return FALSE;
    case READ_LINE_TOO_LONG:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The secret is longer than %u characters. Check the input: give one secret per line."),
                   (guint) CARDPIN_SECRET_MAX_LINE);
      return FALSE;
    case READ_LINE_NUL:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The input holds a NUL byte. Give one secret per line, as text."));
      return FALSE;
    case READ_LINE_INTERRUPTED:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           _("Reading the secret was interrupted."));
      return FALSE;
    case READ_LINE_ERROR:
    default:
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not read the secret: %s"), g_strerror (saved_errno));
      return FALSE;
    }
}

static void
caught_signal_handler (int signo)
{
  caught_signals[signo] = 1;
}

/**
 * cardpin_secret_wipe:
 * @data: (nullable): memory to wipe
 * @length: its size in bytes
 *
 * Overwrites @length bytes at @data with zeros in a way the compiler cannot optimise
 * away. Use it on every temporary copy of a secret before freeing it.
 */
void
cardpin_secret_wipe (gpointer data,
                     gsize    length)
{
  /* glibc's explicit_bzero: a store the compiler must keep (as OPENSSL_cleanse, without
   * loading libcrypto into every program that holds a PIN) */
  if (data != NULL && length > 0)
    explicit_bzero (data, length);
}

/**
 * cardpin_secret_new_sized:
 * @length: the size in bytes
 *
 * Creates a zero-filled secret of @length bytes for the caller to fill through
 * cardpin_secret_get_mutable_data() before it shares the secret.
 *
 * Returns: (transfer full): a new #CardpinSecret
 */
CardpinSecret *
cardpin_secret_new_sized (gsize length)
{
  CardpinSecret *self = secret_alloc (length);

  self->length = length;
  return self;
}

/**
 * cardpin_secret_new:
 * @data: (array length=length) (nullable): the secret bytes
 * @length: the number of bytes
 *
 * Creates a secret holding a copy of @data. The caller wipes its own copy.
 *
 * Returns: (transfer full): a new #CardpinSecret
 */
CardpinSecret *
cardpin_secret_new (const guint8 *data,
                    gsize         length)
{
  CardpinSecret *self;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  self = cardpin_secret_new_sized (length);
  if (length > 0)
    memcpy (self->data, data, length);
  return self;
}

/**
 * cardpin_secret_new_from_string:
 * @string: a NUL-terminated secret, such as a PIN
 *
 * Creates a secret holding a copy of @string without its NUL. The caller wipes its
 * own copy.
 *
 * Returns: (transfer full): a new #CardpinSecret
 */
CardpinSecret *
cardpin_secret_new_from_string (const char *string)
{
  g_return_val_if_fail (string != NULL, NULL);

  return cardpin_secret_new ((const guint8 *) string, strlen (string));
}

/**
 * cardpin_secret_new_from_fd:
 * @fd: a readable file descriptor
 * @error: return location for a #GError
 *
 * Reads one line from @fd and returns it without its "\n" or "\r\n". Bytes are read
 * one at a time straight into locked memory: nothing after the newline is consumed,
 * so several secrets can be read from one descriptor, and no buffer outside the
 * secret ever holds them. The line may hold at most %CARDPIN_SECRET_MAX_LINE bytes;
 * a longer line is consumed and refused. An empty line gives an empty secret; end of
 * input before any byte is an error.
 *
 * Returns: (transfer full): the secret, or %NULL with @error set (%G_IO_ERROR)
 */
CardpinSecret *
cardpin_secret_new_from_fd (int      fd,
                            GError **error)
{
  g_autoptr(CardpinSecret) self = NULL;
  ReadLineResult result;
  int saved_errno = 0;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = secret_alloc (CARDPIN_SECRET_MAX_LINE + 1);
  result = read_line (fd, self, NULL, &saved_errno);
  if (!read_line_result_to_error (result, saved_errno, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * cardpin_secret_new_from_terminal:
 * @prompt: the prompt, already translated, such as "PIN: "
 * @error: return location for a #GError
 *
 * Asks for a secret on the controlling terminal (`/dev/tty`, whatever stdin and
 * stdout are) with echo turned off, and reads one line as
 * cardpin_secret_new_from_fd() does.
 *
 * The terminal settings are restored on every path. While the prompt is up, SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT, SIGALRM and SIGPIPE are caught; the echo is restored, the
 * previous handlers are put back and the signal is raised again, so it acts as it
 * would have (usually ending the process); if the process survives it, the function
 * fails with %G_IO_ERROR_CANCELLED. After SIGTSTP, SIGTTIN or SIGTTOU the process is
 * stopped with the echo on, and asks again when it continues. Signals that were
 * ignored stay ignored. Call it from the main thread.
 *
 * Returns: (transfer full): the secret, or %NULL with @error set (%G_IO_ERROR)
 */
CardpinSecret *
cardpin_secret_new_from_terminal (const char  *prompt,
                                  GError     **error)
{
  g_return_val_if_fail (prompt != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (;;)
    {
      g_autoptr(CardpinSecret) self = NULL;
      struct sigaction old_actions[G_N_ELEMENTS (prompt_signals)];
      struct sigaction action;
      struct termios saved, quiet;
      sigset_t blocked, wait_mask;
      ReadLineResult result;
      gboolean restart = FALSE;
      int saved_errno = 0;
      int fd;

      fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (fd < 0)
        {
          saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("There is no terminal to ask for the secret (%s). Give it on a file descriptor instead."),
                       g_strerror (saved_errno));
          return NULL;
        }

      if (tcgetattr (fd, &saved) != 0)
        {
          saved_errno = errno;
          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Could not turn off the terminal echo: %s"), g_strerror (saved_errno));
          return NULL;
        }

      for (guint i = 0; i < G_N_ELEMENTS (prompt_signals); i++)
        caught_signals[prompt_signals[i]] = 0;

      /* Block the prompt signals while the handlers are swapped; they are only let in
       * while waiting for input (see read_line()), and what arrives after that is
       * delivered to the restored handlers. */
      sigemptyset (&blocked);
      for (guint i = 0; i < G_N_ELEMENTS (prompt_signals); i++)
        sigaddset (&blocked, prompt_signals[i]);
      sigprocmask (SIG_BLOCK, &blocked, &wait_mask);

      memset (&action, 0, sizeof action);
      sigemptyset (&action.sa_mask);
      action.sa_flags = 0;   /* no SA_RESTART: pselect() must return on a signal */
      action.sa_handler = caught_signal_handler;
      for (guint i = 0; i < G_N_ELEMENTS (prompt_signals); i++)
        {
          sigaction (prompt_signals[i], &action, &old_actions[i]);
          if (old_actions[i].sa_handler == SIG_IGN)
            sigaction (prompt_signals[i], &old_actions[i], NULL);
        }

      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) (ECHO | ECHOE | ECHOK | ECHONL);
      quiet.c_lflag |= ICANON;
      self = secret_alloc (CARDPIN_SECRET_MAX_LINE + 1);

      if (tcsetattr (fd, TCSAFLUSH, &quiet) != 0)
        {
          saved_errno = errno;
          result = errno == EINTR ? READ_LINE_INTERRUPTED : READ_LINE_ERROR;
        }
      else
        {
          write_all (fd, prompt);
          result = read_line (fd, self, &wait_mask, &saved_errno);
          write_all (fd, "\n");
        }

      while (tcsetattr (fd, TCSAFLUSH, &saved) != 0 && errno == EINTR)
        ;
      for (guint i = 0; i < G_N_ELEMENTS (prompt_signals); i++)
        sigaction (prompt_signals[i], &old_actions[i], NULL);
      close (fd);
      sigprocmask (SIG_SETMASK, &wait_mask, NULL);

      /* Echo is back on and the old handlers are in place: deliver what we caught. */
      for (guint i = 0; i < G_N_ELEMENTS (prompt_signals); i++)
        {
          int signo = prompt_signals[i];

          if (!caught_signals[signo])
            continue;
          caught_signals[signo] = 0;
          kill (getpid (), signo);
          if (signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU)
            restart = TRUE;
          else
            result = READ_LINE_INTERRUPTED;
        }

      if (restart && result != READ_LINE_OK)
        continue;

      if (!read_line_result_to_error (result, saved_errno, error))
        return NULL;

      return g_steal_pointer (&self);
    }
}

/**
 * cardpin_secret_ref:
 * @self: a #CardpinSecret
 *
 * Returns: (transfer full): @self with one more reference
 */
CardpinSecret *
cardpin_secret_ref (CardpinSecret *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * cardpin_secret_unref:
 * @self: (transfer full): a #CardpinSecret
 *
 * Drops a reference; the last one wipes and frees the secret.
 */
void
cardpin_secret_unref (CardpinSecret *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    secret_free (self);
}

/**
 * cardpin_secret_get_data:
 * @self: a #CardpinSecret
 *
 * Returns: (array length=length): the secret bytes, valid while @self lives
 */
const guint8 *
cardpin_secret_get_data (const CardpinSecret *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->data;
}

/**
 * cardpin_secret_get_mutable_data:
 * @self: a #CardpinSecret made with cardpin_secret_new_sized()
 *
 * Gives the creator of a secret write access to fill it. Do not change a secret
 * after it has been shared.
 *
 * Returns: the secret bytes (cardpin_secret_get_length() of them)
 */
guint8 *
cardpin_secret_get_mutable_data (CardpinSecret *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->data;
}

/**
 * cardpin_secret_get_length:
 * @self: a #CardpinSecret
 *
 * Returns: the length of the secret in bytes
 */
gsize
cardpin_secret_get_length (const CardpinSecret *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->length;
}

/**
 * cardpin_secret_as_string:
 * @self: a #CardpinSecret
 *
 * The secret as a NUL-terminated string, for textual secrets such as PINs. It is a
 * view of the locked buffer, not a copy: do not g_strdup() it. A secret holding a NUL
 * byte appears cut short.
 *
 * Returns: the secret as a string, valid while @self lives
 */
const char *
cardpin_secret_as_string (const CardpinSecret *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char *) self->data;
}

/**
 * cardpin_secret_is_locked:
 * @self: a #CardpinSecret
 *
 * Returns: whether mlock(2) succeeded, so the secret cannot be swapped out
 */
gboolean
cardpin_secret_is_locked (const CardpinSecret *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->locked;
}

/**
 * cardpin_secret_equal_bytes:
 * @self: a #CardpinSecret
 * @data: (array length=length) (nullable): bytes to compare with
 * @length: the number of bytes
 *
 * Compares in constant time for a given length (as CRYPTO_memcmp() does: every byte
 * is read, the differences are OR-ed through a volatile, no early exit); only the
 * length can show through timing.
 *
 * Returns: whether @self holds exactly @data
 */
gboolean
cardpin_secret_equal_bytes (const CardpinSecret *self,
                            const guint8        *data,
                            gsize                length)
{
  volatile guint8 diff = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  if (self->length != length)
    return FALSE;
  if (length == 0)
    return TRUE;
  for (gsize i = 0; i < length; i++)
    diff |= self->data[i] ^ data[i];
  return diff == 0;
}

/**
 * cardpin_secret_equal:
 * @a: (nullable): a #CardpinSecret
 * @b: (nullable): a #CardpinSecret
 *
 * Compares two secrets in constant time for a given length. Two %NULL secrets are
 * equal; %NULL and a secret are not.
 *
 * Returns: whether @a and @b hold the same bytes
 */
gboolean
cardpin_secret_equal (const CardpinSecret *a,
                      const CardpinSecret *b)
{
  if (a == NULL || b == NULL)
    return a == b;

  return cardpin_secret_equal_bytes (a, b->data, b->length);
}
