/* pam_cardpin.c — thin PAM glue for GDM's smart-card login
 *
 * No GLib here: the module starts cardpin-pam-helper (libexec, built on core) over a
 * socketpair and relays the PAM conversation to it with the framed protocol of
 * cardpin-pam-protocol.h. It follows pam_unix's helper pattern: SIGCHLD at its default
 * during the call, only the socket and /dev/null open in the child, an empty environment,
 * waitpid() retried on EINTR. A helper that is missing, crashes or hangs leaves the stack
 * as if the module were absent (PAM_IGNORE).
 *
 * pam_sm_authenticate never returns PAM_SUCCESS: the module can only help a later card
 * module succeed (by unblocking the PIN), never let anyone in by itself. It never calls
 * pam_get_user(): GDM's smart-card service has no user name.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "cardpin-pam-protocol.h"

#define DEFAULT_HELPER   LIBEXECDIR "/cardpin-pam-helper"
/* How long the helper may take to say something (card work, not the person's typing) */
#define DEFAULT_TIMEOUT  30
#define MAX_TIMEOUT      600
#define MAX_ARG          512
#define MAX_ARGV         12

typedef enum {
  MODE_AUTH,
  MODE_ACCOUNT,
  MODE_PASSWORD,
} Mode;

typedef struct {
  int         debug;
  int         first_use;
  int         timeout_s;
  const char *helper;
  const char *methods;
  const char *config;
  const char *module;
} Options;

/* The PIN used at login, kept from pam_sm_acct_mgmt to pam_sm_chauthtok (libpam clears
 * PAM_AUTHTOK when pam_chauthtok starts); wiped when PAM ends */
#define FIRST_PIN_DATA "cardpin-first-pin"
/* Set by the auth step when the card said its PIN is still the factory PIN, for
 * pam_sm_acct_mgmt (no second card read, no extra pam.d line) */
#define FIRST_USE_DATA "cardpin-first-use"

static const char * const mode_names[] = { "auth", "account", "password" };

static int
safe_value (const char *value,
            int         is_path)
{
  size_t i, n = strlen (value);

  if (n == 0 || n > MAX_ARG - 32)
    return 0;
  if (is_path && value[0] != '/')
    return 0;
  for (i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) value[i];

      if (c < 0x20 || c == 0x7f)
        return 0;
    }
  return 1;
}

static void
parse_options (pam_handle_t *pamh,
               int           argc,
               const char  **argv,
               Options      *options)
{
  int i;

  memset (options, 0, sizeof *options);
  options->timeout_s = DEFAULT_TIMEOUT;
  options->helper = DEFAULT_HELPER;

  for (i = 0; i < argc; i++)
    {
      const char *arg = argv[i];

      if (strcmp (arg, "debug") == 0)
        options->debug = 1;
      else if (strcmp (arg, "first_use") == 0)
        options->first_use = 1;
      else if (strncmp (arg, "timeout=", 8) == 0)
        {
          char *end = NULL;
          long value;

          errno = 0;
          value = strtol (arg + 8, &end, 10);
          if (errno != 0 || end == arg + 8 || *end != '\0' || value < 1 ||
              value > MAX_TIMEOUT)
            pam_syslog (pamh, LOG_WARNING, "ignoring %s: expected 1 to %d seconds", arg,
                        MAX_TIMEOUT);
          else
            options->timeout_s = (int) value;
        }
      else if (strncmp (arg, "helper=", 7) == 0 && safe_value (arg + 7, 1))
        options->helper = arg + 7;
      else if (strncmp (arg, "config=", 7) == 0 && safe_value (arg + 7, 1))
        options->config = arg + 7;
      else if (strncmp (arg, "module=", 7) == 0 && safe_value (arg + 7, 1))
        options->module = arg + 7;
      else if (strncmp (arg, "methods=", 8) == 0 && safe_value (arg + 8, 0))
        options->methods = arg + 8;
      else
        pam_syslog (pamh, LOG_WARNING, "ignoring unknown or malformed argument: %s", arg);
    }
}

/* The locale the application runs in, for the helper's messages: a name, never a path */
static const char *
current_locale (void)
{
  const char *locale = setlocale (LC_MESSAGES, NULL);
  size_t i;

  if (locale == NULL || strcmp (locale, "C") == 0 || strcmp (locale, "POSIX") == 0 ||
      strlen (locale) > 64)
    return NULL;
  for (i = 0; locale[i] != '\0'; i++)
    {
      char c = locale[i];

      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '@' || c == '-'))
        return NULL;
    }
  return locale;
}

/* The child between fork and exec: async-signal-safe calls only. */
static void
exec_helper (int          sock,
             pid_t        parent,
             const char  *path,
             char *const *argv)
{
  char *const envp[] = { NULL };
  sigset_t none;
  struct sigaction dfl;
  int null_fd, fd;

  /* dies with the caller (GDM's worker exits on SIGTERM without pam_end) */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid () != parent)
    _exit (127);

  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction (SIGPIPE, &dfl, NULL);
  sigaction (SIGCHLD, &dfl, NULL);
  sigaction (SIGALRM, &dfl, NULL);
  sigaction (SIGTERM, &dfl, NULL);

  if (sock == CARDPIN_PAM_HELPER_FD)
    {
      if (fcntl (sock, F_SETFD, 0) != 0)
        _exit (127);
    }
  else if (dup2 (sock, CARDPIN_PAM_HELPER_FD) != CARDPIN_PAM_HELPER_FD)
    _exit (127);

  null_fd = open ("/dev/null", O_RDWR);
  if (null_fd < 0)
    _exit (127);
  for (fd = 0; fd < 3; fd++)
    if (fd != null_fd && dup2 (null_fd, fd) != fd)
      _exit (127);

  /* nothing else of the caller's (sockets, its own secrets' files) reaches the helper */
  if (close_range (CARDPIN_PAM_HELPER_FD + 1, ~0U, 0) != 0)
    {
      long max = sysconf (_SC_OPEN_MAX);

      for (fd = CARDPIN_PAM_HELPER_FD + 1; fd < (max > 0 ? max : 65536); fd++)
        close (fd);
    }

  execve (path, argv, envp);
  _exit (127);
}

static void
reap (pam_handle_t *pamh,
      const Options *options,
      pid_t          pid,
      int            sock,
      int            kill_first)
{
  int status = 0;
  pid_t r;

  if (!kill_first && sock >= 0)
    {
      /* a helper that said its result exits at once: its end of the socket closes when
       * it does. Give it a second, then it is killed. */
      struct pollfd pfd = { .fd = sock, .events = POLLIN };
      char byte;
      int n;

      do
        n = poll (&pfd, 1, 1000);
      while (n < 0 && errno == EINTR);
      if (n == 1 && recv (sock, &byte, 1, MSG_DONTWAIT) == 0)
        {
          do
            r = waitpid (pid, &status, 0);
          while (r < 0 && errno == EINTR);
          goto done;
        }
    }
  kill (pid, SIGKILL);
  do
    r = waitpid (pid, &status, 0);
  while (r < 0 && errno == EINTR);

done:
  if (options->debug && r == pid)
    {
      if (WIFEXITED (status))
        pam_syslog (pamh, LOG_DEBUG, "helper exited with status %d", WEXITSTATUS (status));
      else if (WIFSIGNALED (status))
        pam_syslog (pamh, LOG_DEBUG, "helper ended by signal %d", WTERMSIG (status));
    }
}

static void
wipe_data (pam_handle_t *pamh,
           void         *data,
           int           error_status)
{
  if (data != NULL)
    {
      explicit_bzero (data, strlen (data));
      free (data);
    }
}

/* One message of the helper through the application's conversation; the answer goes
 * back to the helper. Returns 0, or -1 when the helper is gone. */
static int
relay_conv (pam_handle_t    *pamh,
            int              sock,
            CardpinPamFrame *frame)
{
  const struct pam_conv *conv = NULL;
  struct pam_message message;
  const struct pam_message *messages[1] = { &message };
  struct pam_response *response = NULL;
  int style = frame->arg;
  int prompt = style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON;
  CardpinPamAnswer answer = CARDPIN_PAM_ANSWER_OK;
  const char *text = NULL;
  size_t length = 0;
  int r;

  if (!prompt && style != PAM_TEXT_INFO && style != PAM_ERROR_MSG)
    {
      errno = EPROTO;
      return -1;
    }

  message.msg_style = style;
  message.msg = (const char *) frame->payload;

  if (pam_get_item (pamh, PAM_CONV, (const void **) &conv) != PAM_SUCCESS ||
      conv == NULL || conv->conv == NULL)
    r = PAM_CONV_ERR;
  else
    r = conv->conv (1, messages, &response, conv->appdata_ptr);

  if (r != PAM_SUCCESS)
    answer = CARDPIN_PAM_ANSWER_CONV_ERROR;
  else if (response == NULL || response[0].resp == NULL)
    answer = CARDPIN_PAM_ANSWER_NONE;
  else
    {
      text = response[0].resp;
      length = strlen (text);
      if (length > CARDPIN_PAM_MAX_PAYLOAD)
        {
          answer = CARDPIN_PAM_ANSWER_TOO_LONG;
          text = NULL;
          length = 0;
        }
    }

  if (!prompt)
    {
      /* informational messages take no answer; a failed one is not fatal */
      text = NULL;
      length = 0;
      answer = CARDPIN_PAM_ANSWER_OK;
    }

  r = cardpin_pam_frame_send (sock, CARDPIN_PAM_FRAME_ANSWER, (uint8_t) answer, text,
                              length);

  if (response != NULL)
    {
      if (response[0].resp != NULL)
        {
          explicit_bzero (response[0].resp, strlen (response[0].resp));
          free (response[0].resp);
        }
      free (response);
    }
  return r;
}

/* Runs the helper in @mode; returns its CardpinPamResult, or 0 when it failed (missing,
 * crashed, hung, broke the protocol). */
static int
run_helper (pam_handle_t *pamh,
            const Options *options,
            Mode           mode)
{
  char args[MAX_ARGV][MAX_ARG];
  char *argv[MAX_ARGV + 1];
  int argc = 0;
  int socks[2] = { -1, -1 };
  struct sigaction dfl, saved;
  int restore_sigchld = 0;
  CardpinPamFrame frame;
  const char *locale;
  pid_t pid = -1;
  int result = 0;
  int kill_first = 1;

#define ADD_ARG(...) \
  do { \
    snprintf (args[argc], MAX_ARG, __VA_ARGS__); \
    argv[argc] = args[argc]; \
    argc++; \
  } while (0)

  ADD_ARG ("%s", options->helper);
  ADD_ARG ("--mode=%s", mode_names[mode]);
  if (options->debug)
    ADD_ARG ("--debug");
  if (options->methods != NULL)
    ADD_ARG ("--methods=%s", options->methods);
  if (options->config != NULL)
    ADD_ARG ("--config=%s", options->config);
  if (options->module != NULL)
    ADD_ARG ("--module=%s", options->module);
  locale = current_locale ();
  if (locale != NULL)
    ADD_ARG ("--locale=%s", locale);
  argv[argc] = NULL;
#undef ADD_ARG

  memset (&frame, 0, sizeof frame);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) != 0)
    {
      pam_syslog (pamh, LOG_ERR, "socketpair: %m");
      goto out;
    }

  /* the application may ignore or catch SIGCHLD; waitpid needs the default */
  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset (&dfl.sa_mask);
  if (sigaction (SIGCHLD, &dfl, &saved) == 0)
    restore_sigchld = 1;

  {
    pid_t parent = getpid ();

    pid = fork ();
    if (pid == 0)
      {
        close (socks[0]);
        exec_helper (socks[1], parent, options->helper, argv);
      }
  }
  if (pid < 0)
    {
      pam_syslog (pamh, LOG_ERR, "fork: %m");
      goto out;
    }
  close (socks[1]);
  socks[1] = -1;

  if (options->debug)
    pam_syslog (pamh, LOG_DEBUG, "started %s --mode=%s (pid %d)", options->helper,
                mode_names[mode], (int) pid);

  if (mode != MODE_AUTH)
    {
      const void *item = NULL;
      const char *authtok = NULL;
      int r;

      /* the PIN the person just logged in with; compared in memory by the helper */
      if (mode == MODE_PASSWORD &&
          pam_get_data (pamh, FIRST_PIN_DATA, &item) == PAM_SUCCESS && item != NULL)
        authtok = item;
      else if (mode == MODE_PASSWORD &&
               pam_get_item (pamh, PAM_OLDAUTHTOK, &item) == PAM_SUCCESS && item != NULL)
        authtok = item;
      else if (pam_get_item (pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL)
        authtok = item;
      if (authtok != NULL && strlen (authtok) > CARDPIN_PAM_MAX_PAYLOAD)
        authtok = NULL;
      r = cardpin_pam_frame_send (socks[0], CARDPIN_PAM_FRAME_AUTHTOK, authtok != NULL,
                                  authtok, authtok != NULL ? strlen (authtok) : 0);
      if (r != 0)
        goto out;
    }

  for (;;)
    {
      if (cardpin_pam_frame_recv (socks[0], &frame, options->timeout_s * 1000) != 0)
        {
          if (errno == ETIMEDOUT)
            pam_syslog (pamh, LOG_ERR, "%s did not answer within %d s; ignoring this module",
                        options->helper, options->timeout_s);
          else if (errno == EPIPE)
            pam_syslog (pamh, LOG_ERR, "%s ended without a result; ignoring this module",
                        options->helper);
          else
            pam_syslog (pamh, LOG_ERR, "%s broke the protocol (%m); ignoring this module",
                        options->helper);
          goto out;
        }

      if (frame.type == CARDPIN_PAM_FRAME_RESULT && frame.length == 0 &&
          frame.arg >= CARDPIN_PAM_RESULT_IGNORE && frame.arg <= CARDPIN_PAM_RESULT_AUTHTOK_ERR)
        {
          result = frame.arg;
          kill_first = 0;
          break;
        }
      if (frame.type == CARDPIN_PAM_FRAME_LOG)
        {
          /* the helper's log: through the service's log; debug lines only with debug */
          if (frame.arg <= LOG_NOTICE || options->debug)
            pam_syslog (pamh, frame.arg <= LOG_DEBUG ? frame.arg : LOG_DEBUG, "%s",
                        (const char *) frame.payload);
          cardpin_pam_frame_wipe (&frame);
          continue;
        }
      if (frame.type != CARDPIN_PAM_FRAME_CONV || relay_conv (pamh, socks[0], &frame) != 0)
        {
          pam_syslog (pamh, LOG_ERR, "%s: conversation broken off; ignoring this module",
                      options->helper);
          goto out;
        }
      cardpin_pam_frame_wipe (&frame);
    }

out:
  cardpin_pam_frame_wipe (&frame);
  if (socks[1] >= 0)
    close (socks[1]);
  if (pid > 0)
    reap (pamh, options, pid, socks[0], kill_first);
  if (socks[0] >= 0)
    close (socks[0]);
  if (restore_sigchld)
    sigaction (SIGCHLD, &saved, NULL);
  if (options->debug)
    pam_syslog (pamh, LOG_DEBUG, "helper result %d", result);
  return result;
}

static void
remember_first_pin (pam_handle_t  *pamh,
                    const Options *options)
{
  const void *item = NULL;
  char *copy;

  if (pam_get_item (pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || item == NULL)
    return;
  if (run_helper (pamh, options, MODE_ACCOUNT) != CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD)
    return;

  copy = strdup (item);
  if (copy != NULL && pam_set_data (pamh, FIRST_PIN_DATA, copy, wipe_data) != PAM_SUCCESS)
    wipe_data (pamh, copy, 0);
}

PAM_EXTERN int
pam_sm_authenticate (pam_handle_t *pamh,
                     int           flags,
                     int           argc,
                     const char  **argv)
{
  Options options;
  int rv = PAM_IGNORE;

  parse_options (pamh, argc, argv, &options);

  /* after the card module: is the PIN it just took the factory PIN (or must the card's
   * PIN be changed)? libpam clears PAM_AUTHTOK when pam_authenticate returns, so the
   * answer and the PIN are kept for pam_sm_acct_mgmt and pam_sm_chauthtok. */
  if (options.first_use)
    {
      remember_first_pin (pamh, &options);
      return PAM_IGNORE;
    }

  switch (run_helper (pamh, &options, MODE_AUTH))
    {
    case CARDPIN_PAM_RESULT_MAXTRIES:
      rv = PAM_MAXTRIES;
      break;
    case CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD:
      /* a healthy card that still has its factory PIN: the stack goes on, and the
       * account step asks for a personal PIN */
      pam_set_data (pamh, FIRST_USE_DATA, (void *) FIRST_USE_DATA, NULL);
      rv = PAM_IGNORE;
      break;
    default:
      /* done, nothing to do, or a helper that failed: the stack goes on. Never
       * PAM_SUCCESS, whatever the helper says. */
      rv = PAM_IGNORE;
      break;
    }
  return rv;
}

PAM_EXTERN int
pam_sm_setcred (pam_handle_t *pamh,
                int           flags,
                int           argc,
                const char  **argv)
{
  return PAM_IGNORE;
}

PAM_EXTERN int
pam_sm_acct_mgmt (pam_handle_t *pamh,
                  int           flags,
                  int           argc,
                  const char  **argv)
{
  Options options;

  const void *data = NULL;

  /* the auth step found a card that says it has its factory PIN, or the first_use line
   * the factory PIN itself */
  if (pam_get_data (pamh, FIRST_USE_DATA, &data) == PAM_SUCCESS && data != NULL)
    return PAM_NEW_AUTHTOK_REQD;
  if (pam_get_data (pamh, FIRST_PIN_DATA, &data) == PAM_SUCCESS && data != NULL)
    return PAM_NEW_AUTHTOK_REQD;

  /* else what the card says of itself (PIV metadata, the token's must-change flag) */
  parse_options (pamh, argc, argv, &options);
  if (run_helper (pamh, &options, MODE_ACCOUNT) == CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD)
    return PAM_NEW_AUTHTOK_REQD;
  return PAM_IGNORE;
}

PAM_EXTERN int
pam_sm_chauthtok (pam_handle_t *pamh,
                  int           flags,
                  int           argc,
                  const char  **argv)
{
  Options options;

  /* the first pass only asks whether the module could take part */
  if (flags & PAM_PRELIM_CHECK)
    return PAM_SUCCESS;

  parse_options (pamh, argc, argv, &options);
  switch (run_helper (pamh, &options, MODE_PASSWORD))
    {
    case CARDPIN_PAM_RESULT_SUCCESS:
      /* the old PIN is no use any more: wiped now rather than at pam_end */
      pam_set_data (pamh, FIRST_PIN_DATA, NULL, NULL);
      pam_set_data (pamh, FIRST_USE_DATA, NULL, NULL);
      return PAM_SUCCESS;
    case CARDPIN_PAM_RESULT_AUTHTOK_ERR:
      return PAM_AUTHTOK_ERR;
    case CARDPIN_PAM_RESULT_MAXTRIES:
      return PAM_MAXTRIES;
    default:
      return PAM_IGNORE;
    }
}
