/* test-pam.c — pam_cardpin.so and cardpin-pam-helper on the real stack
 *
 * pam_wrapper (LD_PRELOAD, service files in a temporary directory) and libpamtest run
 * the real module from the build tree, which starts the real helper, which talks to a
 * private pcscd and a virtual PIV card (tests/stack). The conversation driver answers
 * like GDM's smart-card service: no user name, ECHO_ON a visible entry, ECHO_OFF a secret
 * entry, TEXT_INFO / ERROR_MSG a label.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "cardpin-code.h"
#include "cardpin-test-fixture.h"

#define READER0 CARDPIN_TEST_READER0
#define AES_KEY "00112233445566778899AABBCCDDEEFF"
#define NEW_PIN "642913"

/* What the person does at the next prompt */
typedef enum {
  ACT_END,            /* no prompt expected any more */
  ACT_TEXT,           /* types @text */
  ACT_RESPONSE,       /* types the right response code for the challenge shown */
  ACT_TYPO,           /* the right response code with one character changed */
  ACT_WRONG,          /* a well-formed response code the card refuses */
  ACT_CHOOSE,         /* types @text only when asked to choose, else the next action */
  ACT_NULL,           /* the conversation returns no response */
  ACT_EMPTY,          /* types nothing and presses Enter */
  ACT_CONV_ERR,       /* the conversation fails (GDM cancelled) */
  ACT_LONG,           /* 8 KiB of digits */
  ACT_NOT_UTF8,       /* bytes that are not UTF-8 */
  ACT_PULL_CARD,      /* pulls the card out, then types the right response */
  ACT_KILL_HELPER,    /* kills the helper, then types the right response */
} Act;

typedef struct {
  Act         act;
  const char *text;
} Action;

typedef struct {
  CardpinTestFixture *fixture;
  const Action       *actions;
  guint               next;
  GPtrArray          *log;        /* "I:text", "E:text", "S:text" (secret), "V:text" */
  GBytes             *challenge;
  int                 login_at;   /* log length when a module asked for the user */
  GPtrArray          *secrets;    /* what was typed at secret prompts and as responses */
} Driver;

static char *services_dir;
static char *work_dir;
static char *config_path;
static char *online_args;
static char *hang_helper;
static char *crash_helper;
static char *hang_args;

/* The helpers started by this process (children named cardpin-pam-helper, or
 * cardpin-pam-worker once the helper handed over to it) */
static GArray *
helper_pids (pid_t parent)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));
  DIR *proc = opendir ("/proc");
  struct dirent *entry;

  while ((entry = readdir (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *stat = NULL;
      char *close_paren;
      pid_t pid = atoi (entry->d_name);
      int ppid = 0;
      char state = 0;

      if (pid <= 0)
        continue;
      path = g_strdup_printf ("/proc/%d/stat", pid);
      if (!g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      close_paren = strrchr (stat, ')');
      if (close_paren == NULL || !strstr (stat, "(cardpin-pam-") ||
          sscanf (close_paren + 2, "%c %d", &state, &ppid) != 2)
        continue;
      if ((parent == 0 || ppid == parent) && state != 'Z')
        g_array_append_val (pids, pid);
    }
  closedir (proc);
  return pids;
}

static char *
response_for (Driver *driver)
{
  g_assert_nonnull (driver->challenge);
  return cardpin_test_response_code ("-aes-128-ecb", AES_KEY, driver->challenge);
}

static char *
answer (Driver     *driver,
        int         style,
        const char *prompt,
        int        *rv)
{
  const Action *action;

  for (;;)
    {
      action = &driver->actions[driver->next];
      if (action->act == ACT_END)
        g_error ("unexpected prompt: %s", prompt);
      driver->next++;
      if (action->act != ACT_CHOOSE || strstr (prompt, "Type a number") != NULL)
        break;
    }

  switch (action->act)
    {
    case ACT_TEXT:
    case ACT_CHOOSE:
      return g_strdup (action->text);
    case ACT_RESPONSE:
      return response_for (driver);
    case ACT_TYPO:
      {
        char *code = response_for (driver);

        code[1] = code[1] == '0' ? '1' : '0';
        return code;
      }
    case ACT_WRONG:
      {
        g_autoptr(GBytes) zero = g_bytes_new_static ("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
        g_autofree char *code = cardpin_code_format (g_bytes_get_data (zero, NULL), 16);

        return g_steal_pointer (&code);
      }
    case ACT_NULL:
      return NULL;
    case ACT_EMPTY:
      return g_strdup ("");
    case ACT_CONV_ERR:
      *rv = PAM_CONV_ERR;
      return NULL;
    case ACT_LONG:
      {
        char *text = g_malloc (8193);

        memset (text, '1', 8192);
        text[8192] = '\0';
        return text;
      }
    case ACT_NOT_UTF8:
      return g_strdup ("\xff\xfe\xc3\x28 0123 4567");
    case ACT_PULL_CARD:
      cardpin_test_fixture_pull (driver->fixture, 0);
      return response_for (driver);
    case ACT_KILL_HELPER:
      {
        g_autoptr(GArray) pids = helper_pids (getpid ());

        g_assert_cmpuint (pids->len, ==, 1);
        g_assert_cmpint (kill (g_array_index (pids, pid_t, 0), SIGKILL), ==, 0);
        return response_for (driver);
      }
    default:
      g_assert_not_reached ();
    }
}

/* GDM's way: one message at a time is what the module sends; answers are malloc'd */
static int
driver_conv (int                        num_msg,
             const struct pam_message **msg,
             struct pam_response      **resp,
             void                      *appdata)
{
  Driver *driver = appdata;
  struct pam_response *responses = calloc (num_msg, sizeof *responses);
  int rv = PAM_SUCCESS;

  for (int i = 0; i < num_msg && rv == PAM_SUCCESS; i++)
    {
      const char *text = msg[i]->msg;
      char *typed = NULL;
      gboolean give_null = FALSE;

      switch (msg[i]->msg_style)
        {
        case PAM_TEXT_INFO:
          g_ptr_array_add (driver->log, g_strconcat ("I:", text, NULL));
          if (strstr (text, "challenge:\n") != NULL)
            {
              g_autoptr(CardpinSecret) parsed = NULL;
              g_autoptr(GError) error = NULL;

              parsed = cardpin_code_parse (strstr (text, ":\n") + 2, 16, &error);
              g_assert_no_error (error);
              g_clear_pointer (&driver->challenge, g_bytes_unref);
              driver->challenge = g_bytes_new (cardpin_secret_get_data (parsed),
                                               cardpin_secret_get_length (parsed));
            }
          break;
        case PAM_ERROR_MSG:
          g_ptr_array_add (driver->log, g_strconcat ("E:", text, NULL));
          break;
        case PAM_PROMPT_ECHO_ON:
          /* pam_get_user()'s question: only a later module (pam_permit) may ask it */
          if (g_str_has_prefix (text, "login:"))
            {
              g_assert_cmpint (driver->login_at, <, 0);
              driver->login_at = driver->log->len;
              responses[i].resp = strdup ("cardpin-test-user");
              break;
            }
          G_GNUC_FALLTHROUGH;
        case PAM_PROMPT_ECHO_OFF:
          g_ptr_array_add (driver->log, g_strconcat (msg[i]->msg_style == PAM_PROMPT_ECHO_ON ?
                                                     "V:" : "S:", text, NULL));
          typed = answer (driver, msg[i]->msg_style, text, &rv);
          give_null = typed == NULL;
          if (typed != NULL && (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
                                g_str_has_prefix (text, "Response code")))
            g_ptr_array_add (driver->secrets, g_strdup (typed));
          if (typed != NULL)
            {
              responses[i].resp = strdup (typed);
              cardpin_secret_wipe (typed, strlen (typed));
              g_free (typed);
            }
          break;
        default:
          g_assert_not_reached ();
        }
      if (give_null && rv == PAM_SUCCESS)
        {
          free (responses);
          *resp = NULL;
          return PAM_SUCCESS;
        }
    }
  if (rv != PAM_SUCCESS)
    {
      for (int i = 0; i < num_msg; i++)
        free (responses[i].resp);
      free (responses);
      return rv;
    }
  *resp = responses;
  return PAM_SUCCESS;
}

/* A service named @name: @control pam_cardpin.so @args, then @next */
static void
write_service (const char *name,
               const char *control,
               const char *args,
               const char *next)
{
  g_autofree char *path = g_build_filename (services_dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  text = g_strdup_printf ("auth %s %s debug helper=%s config=%s module=%s %s\n"
                          "auth required %s\n"
                          "account required %s\n"
                          "account [new_authtok_reqd=ok default=ignore] %s helper=%s "
                          "config=%s module=%s %s\n"
                          "password required %s helper=%s config=%s module=%s %s\n",
                          control, PAM_CARDPIN_PATH, PAM_HELPER_PATH, config_path,
                          cardpin_test_opensc_module (), args,
                          next,
                          PAM_PERMIT_PATH,
                          PAM_CARDPIN_PATH, PAM_HELPER_PATH, config_path,
                          cardpin_test_opensc_module (), args,
                          PAM_CARDPIN_PATH, PAM_HELPER_PATH, config_path,
                          cardpin_test_opensc_module (), args);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

#define TRANSPARENT "[success=ok ignore=ignore default=die]"

/* Runs pam_authenticate in service @name with no user name; returns its result */
static int
run_auth (const char   *name,
          Driver       *driver)
{
  struct pam_testcase tests[] = { pam_test (PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
  enum pamtest_err perr;

  driver->login_at = -1;
  perr = _pamtest_conv (name, NULL, driver_conv, driver, tests, G_N_ELEMENTS (tests), NULL);
  if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE)
    g_error ("%s: %s", name, pamtest_strerror (perr));
  /* pam_cardpin.so never asked for a user name: only after its last message, if at all */
  g_assert_true (driver->login_at < 0 || (guint) driver->login_at == driver->log->len);
  return tests[0].op_rv;
}

static Driver *
driver_new (CardpinTestFixture *fixture,
            const Action       *actions)
{
  Driver *driver = g_new0 (Driver, 1);

  driver->fixture = fixture;
  driver->actions = actions;
  driver->log = g_ptr_array_new_with_free_func (g_free);
  driver->secrets = g_ptr_array_new_with_free_func (g_free);
  driver->login_at = -1;
  return driver;
}

static void
driver_free (Driver *driver)
{
  g_ptr_array_unref (driver->log);
  g_ptr_array_unref (driver->secrets);
  g_clear_pointer (&driver->challenge, g_bytes_unref);
  g_free (driver);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Driver, driver_free)

static gboolean
log_has (Driver     *driver,
         const char *prefix,
         const char *needle)
{
  for (guint i = 0; i < driver->log->len; i++)
    {
      const char *line = g_ptr_array_index (driver->log, i);

      if (g_str_has_prefix (line, prefix) && strstr (line, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
dump_log (Driver *driver)
{
  for (guint i = 0; i < driver->log->len; i++)
    g_test_message ("  %s", (const char *) g_ptr_array_index (driver->log, i));
}

static void
insert_blocked (CardpinTestFixture *fixture,
                const char         *admin_tries)
{
  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--admin-key", AES_KEY,
                                                                    "--admin-tries",
                                                                    admin_tries, NULL });
  for (guint i = 0; i < 3; i++)
    cardpin_test_yubico_verify (READER0, "999999");
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
}

static void
block_again (void)
{
  for (guint i = 0; i < 3; i++)
    cardpin_test_yubico_verify (READER0, "999999");
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
}

/* Tests ------------------------------------------------------------------------------ */

static void
test_healthy_silent (CardpinTestFixture *fixture,
                     gconstpointer       data)
{
  static const Action actions[] = { { ACT_END, NULL } };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  cardpin_test_fixture_insert (fixture, 0, NULL);
  /* the module steps aside; pam_permit decides */
  g_assert_cmpint (run_auth ("healthy", driver), ==, PAM_SUCCESS);
  g_assert_cmpuint (driver->log->len, ==, 0);
  g_assert_cmpint (run_auth ("healthy-deny", driver), ==, PAM_AUTH_ERR);
  g_assert_cmpuint (driver->log->len, ==, 0);

  /* an application that ignores SIGCHLD (the module sets the default for its call, so
   * it can wait for its helper, and puts the application's disposition back) */
  {
    struct sigaction ignore = { 0 }, saved, after;

    ignore.sa_handler = SIG_IGN;
    g_assert_cmpint (sigaction (SIGCHLD, &ignore, &saved), ==, 0);
    g_assert_cmpint (run_auth ("healthy", driver), ==, PAM_SUCCESS);
    g_assert_cmpint (sigaction (SIGCHLD, &saved, &after), ==, 0);
    g_assert_true (after.sa_handler == SIG_IGN);
    g_assert_cmpuint (driver->log->len, ==, 0);
  }

  /* setcred is harmless: the module ignores it, the stack decides */
  {
    struct pam_testcase tests[] = {
      pam_test (PAMTEST_AUTHENTICATE, PAM_SUCCESS),
      pam_test (PAMTEST_SETCRED, PAM_SUCCESS),
    };

    driver->login_at = -1;
    g_assert_cmpint (_pamtest_conv ("healthy", NULL, driver_conv, driver, tests,
                                    G_N_ELEMENTS (tests), NULL), ==, PAMTEST_ERR_OK);
    g_assert_cmpuint (driver->log->len, ==, 0);
  }
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 3);
}

static void
test_no_card_silent (CardpinTestFixture *fixture,
                     gconstpointer       data)
{
  static const Action actions[] = { { ACT_END, NULL } };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  g_assert_cmpint (run_auth ("nocard", driver), ==, PAM_SUCCESS);
  g_assert_cmpuint (driver->log->len, ==, 0);
}

static void
test_helpdesk_unblock (CardpinTestFixture *fixture,
                       gconstpointer       data)
{
  static const Action actions[] = {
    { ACT_CHOOSE, "1" }, { ACT_RESPONSE }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN },
    { ACT_END, NULL }
  };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("helpdesk", driver), ==, PAM_SUCCESS);
  dump_log (driver);

  /* the DESIGN.md code format, "check" and all, as TEXT_INFO; then the prompts */
  g_assert_true (log_has (driver, "I:", "blocked"));
  g_assert_true (log_has (driver, "I:", "   check "));
  g_assert_true (log_has (driver, "V:", "esponse"));
  g_assert_true (log_has (driver, "S:", "New PIN"));
  g_assert_false (log_has (driver, "V:", "Type a number"));   /* one method: no question */
  g_assert_cmpstr (g_ptr_array_index (driver->log, driver->log->len - 1), ==,
                   "I:PIN unblocked — enter your new PIN");
  g_assert_cmpuint (driver->next, ==, 4);

  /* the next card module (OpenSC's PKCS#11 module) logs in with the new PIN */
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 3);
  g_assert_cmpint (cardpin_test_pkcs11_tool_login (READER0, NEW_PIN), ==, 0);
}

static void
test_helpdesk_typo (CardpinTestFixture *fixture,
                    gconstpointer       data)
{
  static const Action actions[] = {
    { ACT_TYPO }, { ACT_EMPTY }, { ACT_NOT_UTF8 }, { ACT_RESPONSE },
    { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN }, { ACT_END, NULL }
  };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("typo", driver), ==, PAM_SUCCESS);
  dump_log (driver);
  g_assert_true (log_has (driver, "E:", ""));
  g_assert_true (log_has (driver, "I:", "PIN unblocked"));
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, NEW_PIN), ==, 0);
}

static void
test_helpdesk_typos_exhausted (CardpinTestFixture *fixture,
                               gconstpointer       data)
{
  static const Action actions[] = {
    { ACT_TYPO }, { ACT_TYPO }, { ACT_TYPO }, { ACT_TYPO }, { ACT_END, NULL }
  };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("typos", driver), ==, PAM_MAXTRIES);
  dump_log (driver);
  g_assert_true (log_has (driver, "E:", "mistyped"));
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
}

static void
test_helpdesk_wrong (CardpinTestFixture *fixture,
                     gconstpointer       data)
{
  static const Action actions[] = {
    { ACT_WRONG }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN }, { ACT_END, NULL }
  };
  g_autoptr(Driver) driver = driver_new (fixture, actions);
  g_autoptr(Driver) again = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("wrong", driver), ==, PAM_MAXTRIES);
  dump_log (driver);
  g_assert_true (log_has (driver, "E:", "2 tries left"));
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);

  /* the next attempt starts with a fresh challenge; the admin tries go down */
  g_assert_cmpint (run_auth ("wrong", again), ==, PAM_MAXTRIES);
  g_assert_true (log_has (again, "E:", "1 try left"));
  g_assert_false (g_bytes_equal (driver->challenge, again->challenge));
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, NEW_PIN), !=, 0);
}

static void
test_puk (CardpinTestFixture *fixture,
          gconstpointer       data)
{
  static const Action actions[] = {
    { ACT_CHOOSE, "2" }, { ACT_TEXT, "1234" }, { ACT_TEXT, "12345678" },
    { ACT_TEXT, "111111" }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN }, { ACT_END, NULL }
  };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("puk", driver), ==, PAM_SUCCESS);
  dump_log (driver);
  /* two methods: the question; a too-short PUK and a weak PIN are refused in words */
  g_assert_true (log_has (driver, "V:", "Type a number"));
  g_assert_true (log_has (driver, "S:", "PUK"));
  g_assert_cmpuint (driver->next, ==, 6);
  g_assert_true (log_has (driver, "I:", "PIN unblocked"));
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, NEW_PIN), ==, 0);
}

static void
test_card_removed (CardpinTestFixture *fixture,
                   gconstpointer       data)
{
  static const Action actions[] = { { ACT_PULL_CARD }, { ACT_TEXT, NEW_PIN },
                                    { ACT_TEXT, NEW_PIN }, { ACT_END, NULL } };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("removed", driver), ==, PAM_MAXTRIES);
  dump_log (driver);
  g_assert_true (log_has (driver, "E:", ""));
  g_assert_false (log_has (driver, "I:", "PIN unblocked"));
}

/* What a broken or cancelled conversation does: PAM_MAXTRIES with the reason, no card
 * try spent, the PIN still blocked */
static void
conversation_broken (CardpinTestFixture *fixture,
                     const Action       *actions,
                     const char         *reason)
{
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("broken", driver), ==, PAM_MAXTRIES);
  dump_log (driver);
  g_assert_true (log_has (driver, "E:", reason));
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
}

static void
test_conv_null (CardpinTestFixture *fixture, gconstpointer data)
{
  static const Action actions[] = { { ACT_NULL }, { ACT_END, NULL } };
  conversation_broken (fixture, actions, "cancelled");
}

static void
test_conv_error (CardpinTestFixture *fixture, gconstpointer data)
{
  static const Action actions[] = { { ACT_CONV_ERR }, { ACT_END, NULL } };
  conversation_broken (fixture, actions, "cancelled");
}

static void
test_conv_garbage (CardpinTestFixture *fixture, gconstpointer data)
{
  static const Action actions[] = { { ACT_LONG }, { ACT_NOT_UTF8 }, { ACT_EMPTY },
                                    { ACT_LONG }, { ACT_END, NULL } };
  conversation_broken (fixture, actions, "unreadable");
}

static void
test_conv_new_pin_cancelled (CardpinTestFixture *fixture, gconstpointer data)
{
  static const Action actions[] = { { ACT_RESPONSE }, { ACT_CONV_ERR }, { ACT_END, NULL } };
  conversation_broken (fixture, actions, "cancelled");
}

static void
test_helper_killed (CardpinTestFixture *fixture,
                    gconstpointer       data)
{
  static const Action actions[] = { { ACT_KILL_HELPER }, { ACT_END, NULL } };
  g_autoptr(Driver) driver = driver_new (fixture, actions);
  g_autoptr(GArray) left = NULL;

  insert_blocked (fixture, "3");
  /* as if the module were absent */
  g_assert_cmpint (run_auth ("killed", driver), ==, PAM_SUCCESS);
  left = helper_pids (getpid ());
  g_assert_cmpuint (left->len, ==, 0);
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
}

static void
test_helper_hung (CardpinTestFixture *fixture,
                  gconstpointer       data)
{
  static const Action actions[] = { { ACT_END, NULL } };
  g_autoptr(Driver) driver = driver_new (fixture, actions);
  gint64 start;

  start = g_get_monotonic_time ();
  g_assert_cmpint (run_auth ("hung", driver), ==, PAM_SUCCESS);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (driver->log->len, ==, 0);
}

static void
test_helper_missing_or_crashing (CardpinTestFixture *fixture,
                                 gconstpointer       data)
{
  static const Action actions[] = { { ACT_END, NULL } };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  g_assert_cmpint (run_auth ("missing", driver), ==, PAM_SUCCESS);
  g_assert_cmpint (run_auth ("crash", driver), ==, PAM_SUCCESS);
  g_assert_cmpuint (driver->log->len, ==, 0);
}

/* pamtester, an independent PAM client, killed at the response prompt: its helper is
 * gone within a second. Before that, one healthy-card run through pamtester. */
static void
test_pamtester_parent_killed (CardpinTestFixture *fixture,
                              gconstpointer       data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) pids = NULL;
  g_autofree char *out = NULL;
  pid_t helper = 0;
  gint64 deadline;
  const char *pamtester_argv[] = { "pamtester", "-v", "pt", "", "authenticate", NULL };

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", PAM_WRAPPER_PATH, TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER_SERVICE_DIR", services_dir, TRUE);

  /* healthy card: pamtester reports success through pam_permit, not one message */
  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--admin-key", AES_KEY,
                                                                    NULL });
  process = g_subprocess_launcher_spawnv (launcher, pamtester_argv, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, "", NULL, &out, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_nonnull (strstr (out, "successfully authenticated"));
  g_assert_null (strstr (out, "PIN"));
  g_clear_object (&process);

  /* blocked: killed at the prompt */
  block_again ();
  process = g_subprocess_launcher_spawnv (launcher, pamtester_argv, &error);
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + CARDPIN_TEST_WAIT_MS * 1000;
  while (helper == 0 && g_get_monotonic_time () < deadline)
    {
      g_autoptr(GArray) found = helper_pids (atoi (g_subprocess_get_identifier (process)));

      if (found->len == 1)
        helper = g_array_index (found, pid_t, 0);
      else
        g_usleep (20000);
    }
  g_assert_cmpint (helper, >, 0);
  /* let it reach the response prompt (it waits for pamtester's stdin) */
  g_usleep (1500000);
  g_subprocess_force_exit (process);
  g_assert_true (g_subprocess_wait (process, NULL, &error));

  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  for (;;)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%d/stat", helper);
      g_autofree char *stat = NULL;

      if (!g_file_get_contents (path, &stat, NULL, NULL) ||
          strstr (stat, ") Z ") != NULL)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
}

/* Online (the unblock service configured but not reachable): no question with one
 * method, the account in a visible entry, the password in a secret one, the new PIN
 * twice; the service's absence ends the attempt with the reason, the PIN still blocked */
static void
test_online_unreachable (CardpinTestFixture *fixture,
                         gconstpointer       data)
{
  static const Action actions[] = {
    { ACT_TEXT, "alice" }, { ACT_TEXT, "canary-Pw-online" }, { ACT_TEXT, NEW_PIN },
    { ACT_TEXT, NEW_PIN }, { ACT_END, NULL }
  };
  g_autoptr(Driver) driver = driver_new (fixture, actions);

  insert_blocked (fixture, "3");
  g_assert_cmpint (run_auth ("online", driver), ==, PAM_MAXTRIES);
  dump_log (driver);
  g_assert_false (log_has (driver, "V:", "Type a number"));
  g_assert_true (log_has (driver, "V:", "Account"));
  g_assert_true (log_has (driver, "S:", "Password"));
  g_assert_cmpuint (driver->next, ==, 4);
  g_assert_true (log_has (driver, "E:", ""));
  g_assert_false (log_has (driver, "E:", "canary"));
  g_assert_false (log_has (driver, "I:", "PIN unblocked"));
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 0);
}

/* First-use PIN: the factory PIN just typed (PAM_AUTHTOK, set here by pam_unix, as a
 * card module would) -> PAM_NEW_AUTHTOK_REQD from the account stack; chauthtok with
 * PAM_CHANGE_EXPIRED_AUTHTOK sets a personal PIN; then the account stack goes on. */
static void
write_first_use_service (const char *name)
{
  g_autofree char *path = g_build_filename (services_dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  text = g_strdup_printf ("auth optional %s\n"
                          "auth optional %s helper=%s config=%s module=%s first_use\n"
                          "auth required %s\n"
                          "account required %s\n"
                          "account [new_authtok_reqd=ok default=ignore] %s helper=%s "
                          "config=%s module=%s\n"
                          "password required %s helper=%s config=%s module=%s\n",
                          PAM_UNIX_PATH,
                          PAM_CARDPIN_PATH, PAM_HELPER_PATH, config_path,
                          cardpin_test_opensc_module (),
                          PAM_PERMIT_PATH,
                          PAM_PERMIT_PATH,
                          PAM_CARDPIN_PATH, PAM_HELPER_PATH, config_path,
                          cardpin_test_opensc_module (),
                          PAM_CARDPIN_PATH, PAM_HELPER_PATH, config_path,
                          cardpin_test_opensc_module ());
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

/* One first-use login in @service: auth, PAM_NEW_AUTHTOK_REQD from the account stack,
 * chauthtok (PAM_CHANGE_EXPIRED_AUTHTOK, as GDM) sets NEW_PIN after a weak PIN is
 * refused in words, without asking for the current PIN; then a second login whose
 * account stack goes on, with @after_actions and @after_messages messages. */
static void
first_use_login (CardpinTestFixture *fixture,
                 const char         *service,
                 const Action       *actions,
                 const Action       *after_actions,
                 guint               after_messages)
{
  g_autoptr(Driver) driver = driver_new (fixture, actions);
  g_autoptr(Driver) after_driver = driver_new (fixture, after_actions);
  struct pam_testcase tests[] = {
    pam_test (PAMTEST_AUTHENTICATE, PAM_SUCCESS),
    pam_test (PAMTEST_ACCOUNT, PAM_NEW_AUTHTOK_REQD),
    pam_test_flags (PAMTEST_CHAUTHTOK, PAM_SUCCESS, PAM_CHANGE_EXPIRED_AUTHTOK),
  };
  struct pam_testcase after[] = {
    pam_test (PAMTEST_AUTHENTICATE, PAM_SUCCESS),
    pam_test (PAMTEST_ACCOUNT, PAM_SUCCESS),
  };
  enum pamtest_err perr;
  guint n_actions = 0;

  while (actions[n_actions].act != ACT_END)
    n_actions++;

  if (fixture->cards[0] == NULL)
    cardpin_test_fixture_insert (fixture, 0, NULL);
  perr = _pamtest_conv (service, "cardpin-test-user", driver_conv, driver, tests,
                        G_N_ELEMENTS (tests), NULL);
  dump_log (driver);
  g_assert_cmpint (perr, ==, PAMTEST_ERR_OK);
  g_assert_true (log_has (driver, "I:", "first PIN"));
  g_assert_false (log_has (driver, "S:", "Current PIN"));
  g_assert_true (log_has (driver, "E:", ""));
  g_assert_cmpuint (driver->next, ==, n_actions);
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, NEW_PIN), ==, 0);
  g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), ==, 3);

  /* a personal PIN: the account stack goes on, no message of the module */
  perr = _pamtest_conv (service, "cardpin-test-user", driver_conv, after_driver, after,
                        G_N_ELEMENTS (after), NULL);
  g_assert_cmpint (perr, ==, PAMTEST_ERR_OK);
  g_assert_cmpuint (after_driver->log->len, ==, after_messages);
}

/* With the first_use line: the PIN pam_unix took (PAM_AUTHTOK) is compared */
static void
test_first_use (CardpinTestFixture *fixture,
                gconstpointer       data)
{
  static const Action actions[] = { { ACT_TEXT, "123456" }, { ACT_TEXT, "111111" },
                                    { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN },
                                    { ACT_END, NULL } };
  static const Action after_actions[] = { { ACT_TEXT, NEW_PIN }, { ACT_END, NULL } };

  /* the second login: only pam_unix's password prompt */
  first_use_login (fixture, "firstuse", actions, after_actions, 1);
}

/* What the module and its helper log with `debug`: every line goes through pam_syslog(),
 * which pam_wrapper turns into "PWRAP_DEBUG ... SYSLOG(7) ..." lines on stderr when
 * PAM_WRAPPER_DEBUGLEVEL is 2; stderr is a file for the time of the run. */
static char *
run_auth_logged (const char *name,
                 Driver     *driver,
                 int        *rv)
{
  g_autofree char *path = g_build_filename (work_dir, "syslog.txt", NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;
  int saved, fd;

  fflush (stderr);
  saved = dup (STDERR_FILENO);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (dup2 (fd, STDERR_FILENO), ==, STDERR_FILENO);
  close (fd);
  g_setenv ("PAM_WRAPPER_DEBUGLEVEL", "2", TRUE);

  *rv = run_auth (name, driver);

  g_unsetenv ("PAM_WRAPPER_DEBUGLEVEL");
  fflush (stderr);
  g_assert_cmpint (dup2 (saved, STDERR_FILENO), ==, STDERR_FILENO);
  close (saved);
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  g_unlink (path);
  return text;
}

/* No secret typed (PIN, PUK, response) in the log, in any spelling */
static void
assert_no_secret_logged (Driver     *driver,
                         const char *log)
{
  g_assert_cmpuint (driver->secrets->len, >, 0);
  for (guint i = 0; i < driver->secrets->len; i++)
    {
      const char *secret = g_ptr_array_index (driver->secrets, i);
      g_autofree char *bare = g_strdup (secret);
      char *out = bare;

      /* a response code without its spaces (the bytes in hex) */
      for (const char *in = secret; *in != '\0'; in++)
        if (g_ascii_isxdigit (*in))
          *out++ = *in;
      *out = '\0';
      if (strstr (log, secret) != NULL || (strlen (bare) >= 6 && strstr (log, bare) != NULL))
        g_error ("a secret typed at the login screen (“%s”) is in the log:\n%s", secret, log);
    }
}

static void
test_debug_log_no_secrets (CardpinTestFixture *fixture,
                           gconstpointer       data)
{
  /* canaries: a PUK, new PINs and a response code no other test uses */
  static const Action helpdesk_actions[] = {
    { ACT_CHOOSE, "1" }, { ACT_RESPONSE }, { ACT_TEXT, "731946" }, { ACT_TEXT, "731946" },
    { ACT_END, NULL }
  };
  static const Action puk_actions[] = {
    { ACT_CHOOSE, "2" }, { ACT_TEXT, "58203917" }, { ACT_TEXT, "864213" },
    { ACT_TEXT, "864213" }, { ACT_END, NULL }
  };
  g_autoptr(Driver) helpdesk = driver_new (fixture, helpdesk_actions);
  g_autoptr(Driver) puk = driver_new (fixture, puk_actions);
  g_autofree char *helpdesk_log = NULL;
  g_autofree char *puk_log = NULL;
  int rv;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--admin-key", AES_KEY,
                                                                    "--puk", "58203917",
                                                                    NULL });
  block_again ();
  helpdesk_log = run_auth_logged ("canary", helpdesk, &rv);
  dump_log (helpdesk);
  g_assert_cmpint (rv, ==, PAM_SUCCESS);
  g_assert_true (log_has (helpdesk, "I:", "PIN unblocked"));

  block_again ();
  puk_log = run_auth_logged ("canary", puk, &rv);
  dump_log (puk);
  g_assert_cmpint (rv, ==, PAM_SUCCESS);
  g_assert_true (log_has (puk, "I:", "PIN unblocked"));
  g_assert_cmpint (cardpin_test_yubico_verify (READER0, "864213"), ==, 0);

  /* debug lines were written, by the module and by the helper through it: the check
   * below would otherwise hold for an empty log */
  g_assert_nonnull (strstr (helpdesk_log, "SYSLOG(7)"));
  g_assert_nonnull (strstr (helpdesk_log, "helper result"));
  g_assert_nonnull (strstr (helpdesk_log, "cardpin-pam-worker: PIN unblocked"));
  g_assert_nonnull (strstr (puk_log, "cardpin-pam-worker: PIN unblocked"));
  assert_no_secret_logged (helpdesk, helpdesk_log);
  assert_no_secret_logged (puk, puk_log);
}

/* First-use PIN from the documented lines alone (greeter-plugin/pam.d, pam_cardpin(8)):
 * no first_use line. The auth line reads from the card that its PIN is still the factory
 * PIN; the account line says PAM_NEW_AUTHTOK_REQD; chauthtok sets a personal PIN without
 * asking for the current one. */
static void
test_first_use_documented_lines (CardpinTestFixture *fixture,
                                 gconstpointer       data)
{
  static const Action actions[] = { { ACT_TEXT, "111111" }, { ACT_TEXT, NEW_PIN },
                                    { ACT_TEXT, NEW_PIN }, { ACT_END, NULL } };
  static const Action no_actions[] = { { ACT_END, NULL } };
  g_autoptr(Driver) account_driver = driver_new (fixture, no_actions);
  struct pam_testcase account[] = { pam_test (PAMTEST_ACCOUNT, PAM_NEW_AUTHTOK_REQD) };

  /* the account step alone (no auth step before it) asks the card itself */
  cardpin_test_fixture_insert (fixture, 0, NULL);
  g_assert_cmpint (_pamtest_conv ("firstuse-doc", "cardpin-test-user", driver_conv,
                                  account_driver, account, G_N_ELEMENTS (account), NULL),
                   ==, PAMTEST_ERR_OK);
  g_assert_cmpuint (account_driver->log->len, ==, 0);

  /* pam_permit stands in for pam_sss: the second login without a word */
  first_use_login (fixture, "firstuse-doc", actions, no_actions, 0);
}

/* The stack-safety matrix: every scenario x the module's place in the stack. The module
 * never lets anyone in by itself: before pam_deny the result is never PAM_SUCCESS. */
typedef enum {
  CARD_HEALTHY,
  CARD_BLOCKED,
  CARD_NONE,
} CardState;

typedef struct {
  const char *name;
  CardState   card;
  const char *args;
  Action      actions[5];
  int         module_result;   /* what the module returns: PAM_IGNORE or PAM_MAXTRIES */
} Scenario;

static Scenario scenarios[] = {
  { "healthy card", CARD_HEALTHY, "", { { ACT_END } }, PAM_IGNORE },
  { "no card", CARD_NONE, "", { { ACT_END } }, PAM_IGNORE },
  { "unblocked", CARD_BLOCKED, "methods=helpdesk",
    { { ACT_RESPONSE }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN }, { ACT_END } }, PAM_IGNORE },
  { "typo, then right", CARD_BLOCKED, "methods=helpdesk",
    { { ACT_TYPO }, { ACT_RESPONSE }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN }, { ACT_END } },
    PAM_IGNORE },
  { "PUK route", CARD_BLOCKED, "methods=helpdesk,puk",
    { { ACT_TEXT, "2" }, { ACT_TEXT, "12345678" }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN },
      { ACT_END } }, PAM_IGNORE },
  { "wrong response", CARD_BLOCKED, "methods=helpdesk",
    { { ACT_WRONG }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN }, { ACT_END } }, PAM_MAXTRIES },
  { "card removed", CARD_BLOCKED, "methods=helpdesk",
    { { ACT_PULL_CARD }, { ACT_TEXT, NEW_PIN }, { ACT_TEXT, NEW_PIN }, { ACT_END } },
    PAM_MAXTRIES },
  { "conv NULL", CARD_BLOCKED, "methods=helpdesk", { { ACT_NULL }, { ACT_END } }, PAM_MAXTRIES },
  { "PAM_CONV_ERR", CARD_BLOCKED, "methods=helpdesk", { { ACT_CONV_ERR }, { ACT_END } },
    PAM_MAXTRIES },
  { "garbage", CARD_BLOCKED, "methods=helpdesk",
    { { ACT_LONG }, { ACT_NOT_UTF8 }, { ACT_EMPTY }, { ACT_LONG }, { ACT_END } }, PAM_MAXTRIES },
  { "no method", CARD_BLOCKED, "methods=online", { { ACT_END } }, PAM_MAXTRIES },
  { "helper killed", CARD_BLOCKED, "methods=helpdesk", { { ACT_KILL_HELPER }, { ACT_END } },
    PAM_IGNORE },
  { "helper hung", CARD_BLOCKED, NULL /* hang_args */, { { ACT_END } }, PAM_IGNORE },
  { "helper missing", CARD_BLOCKED, "helper=/nonexistent", { { ACT_END } }, PAM_IGNORE },
};
static const struct {
  const char *control;
  const char *next;
  gboolean    deny;
  const char *label;
} places[] = {
  { "sufficient", PAM_DENY_PATH, TRUE, "sufficient, pam_deny" },
  { "optional", PAM_DENY_PATH, TRUE, "optional, pam_deny" },
  { TRANSPARENT, PAM_DENY_PATH, TRUE, "[success=ok ignore=ignore default=die], pam_deny" },
  { TRANSPARENT, PAM_PERMIT_PATH, FALSE, "[success=ok ignore=ignore default=die], pam_permit" },
};


static void
test_matrix (CardpinTestFixture *fixture,
             gconstpointer       data)
{
  const char * const card_args[] = { "--admin-key", AES_KEY, "--admin-tries", "15", NULL };

  for (guint s = 0; s < G_N_ELEMENTS (scenarios); s++)
    for (guint p = 0; p < G_N_ELEMENTS (places); p++)
      {
        const Scenario *scenario = &scenarios[s];
        g_autoptr(Driver) driver = driver_new (fixture, scenario->actions);
        g_autofree char *name = g_strdup_printf ("matrix-%u-%u", s, p);
        int rv, expected;

        /* the same card (state file) every time; pulled for "no card" */
        if (fixture->cards[0] == NULL && scenario->card != CARD_NONE)
          cardpin_test_fixture_insert (fixture, 0, card_args);
        else if (fixture->cards[0] != NULL && scenario->card == CARD_NONE)
          cardpin_test_fixture_pull (fixture, 0);
        if (scenario->card == CARD_BLOCKED && cardpin_test_card_tries (READER0, 0x80) != 0)
          block_again ();
        if (scenario->card == CARD_HEALTHY)
          g_assert_cmpint (cardpin_test_card_tries (READER0, 0x80), >, 0);
        rv = run_auth (name, driver);
        g_test_message ("matrix: %-16s | %-52s | %s", scenario->name, places[p].label,
                        pam_strerror (NULL, rv));

        /* never in by itself */
        if (places[p].deny)
          g_assert_cmpint (rv, !=, PAM_SUCCESS);
        if (g_str_equal (places[p].control, "sufficient"))
          expected = PAM_AUTH_ERR;
        else if (g_str_equal (places[p].control, "optional"))
          expected = PAM_AUTH_ERR;
        else if (scenario->module_result == PAM_MAXTRIES)
          expected = PAM_MAXTRIES;
        else
          expected = places[p].deny ? PAM_AUTH_ERR : PAM_SUCCESS;
        if (rv != expected)
          dump_log (driver);
        g_assert_cmpint (rv, ==, expected);
        {
          g_autoptr(GArray) left = helper_pids (getpid ());
          g_assert_cmpuint (left->len, ==, 0);
        }
      }
}

static void
write_script (char       **path,
              const char  *name,
              const char  *body)
{
  g_autoptr(GError) error = NULL;

  *path = g_build_filename (work_dir, name, NULL);
  g_assert_true (g_file_set_contents (*path, body, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chmod (*path, 0755), ==, 0);
}

/* pam_wrapper reads the service files once: all of them are written before any test */
static void
write_services (void)
{
  write_service ("healthy", TRANSPARENT, "", PAM_PERMIT_PATH);
  write_service ("healthy-deny", TRANSPARENT, "", PAM_DENY_PATH);
  write_service ("nocard", TRANSPARENT, "", PAM_PERMIT_PATH);
  write_service ("helpdesk", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("typo", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("typos", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("wrong", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("puk", TRANSPARENT, "methods=helpdesk,puk", PAM_PERMIT_PATH);
  write_service ("removed", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("broken", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("killed", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("hung", TRANSPARENT, hang_args, PAM_PERMIT_PATH);
  write_service ("crash", TRANSPARENT, crash_helper, PAM_PERMIT_PATH);
  write_service ("pt", TRANSPARENT, "methods=helpdesk", PAM_PERMIT_PATH);
  write_service ("missing", TRANSPARENT, "helper=/nonexistent/cardpin-pam-helper",
                 PAM_PERMIT_PATH);
  write_service ("online", TRANSPARENT, online_args, PAM_PERMIT_PATH);
  write_first_use_service ("firstuse");
  write_service ("canary", TRANSPARENT, "methods=helpdesk,puk", PAM_PERMIT_PATH);
  /* the documented lines, pam_permit standing in for pam_sss */
  write_service ("firstuse-doc", TRANSPARENT, "", PAM_PERMIT_PATH);
  for (guint s = 0; s < G_N_ELEMENTS (scenarios); s++)
    for (guint p = 0; p < G_N_ELEMENTS (places); p++)
      {
        g_autofree char *name = g_strdup_printf ("matrix-%u-%u", s, p);

        write_service (name, places[p].control,
                       scenarios[s].args != NULL ? scenarios[s].args : hang_args,
                       places[p].next);
      }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *crash_path = NULL;
  int status;

  cardpin_test_init (&argc, &argv);

  work_dir = g_dir_make_tmp ("cardpin-pam-XXXXXX", &error);
  g_assert_no_error (error);
  services_dir = g_build_filename (work_dir, "pam.d", NULL);
  g_assert_cmpint (g_mkdir (services_dir, 0700), ==, 0);
  g_setenv ("PAM_WRAPPER_SERVICE_DIR", services_dir, TRUE);
  config_path = g_build_filename (work_dir, "cardpin.conf", NULL);
  g_assert_true (g_file_set_contents (config_path,
                                      "[cardpin]\n"
                                      "allowed-unblock-methods=['offline', 'puk']\n"
                                      "pin-min-length=6\n", -1, &error));
  {
    g_autofree char *online_config = g_build_filename (work_dir, "cardpin-online.conf", NULL);

    /* port 1 on the loopback: nothing listens there */
    g_assert_true (g_file_set_contents (online_config,
                                        "[cardpin]\n"
                                        "allowed-unblock-methods=['online', 'puk']\n"
                                        "unblock-server-url='https://127.0.0.1:1/'\n",
                                        -1, &error));
    online_args = g_strdup_printf ("methods=online config=%s", online_config);
  }
  /* a helper that never answers, and one that crashes at once */
  write_script (&hang_helper, "hang-helper", "#!/bin/sh\nexec sleep 60\n");
  write_script (&crash_path, "crash-helper", "#!/bin/sh\nkill -SEGV $$\n");
  crash_helper = g_strdup_printf ("helper=%s", crash_path);
  hang_args = g_strdup_printf ("timeout=1 helper=%s", hang_helper);
  write_services ();

#define ADD(path, func) \
  g_test_add ("/cardpin/pam/" path, CardpinTestFixture, NULL, cardpin_test_fixture_setup, \
              func, cardpin_test_fixture_teardown)
  ADD ("healthy-silent", test_healthy_silent);
  ADD ("no-card-silent", test_no_card_silent);
  ADD ("helpdesk-unblock", test_helpdesk_unblock);
  ADD ("helpdesk-typo", test_helpdesk_typo);
  ADD ("helpdesk-typos-exhausted", test_helpdesk_typos_exhausted);
  ADD ("helpdesk-wrong-response", test_helpdesk_wrong);
  ADD ("puk", test_puk);
  ADD ("card-removed", test_card_removed);
  ADD ("conv-null", test_conv_null);
  ADD ("conv-error", test_conv_error);
  ADD ("conv-garbage", test_conv_garbage);
  ADD ("conv-new-pin-cancelled", test_conv_new_pin_cancelled);
  ADD ("helper-killed", test_helper_killed);
  ADD ("helper-hung", test_helper_hung);
  ADD ("helper-missing-or-crashing", test_helper_missing_or_crashing);
  ADD ("pamtester-parent-killed", test_pamtester_parent_killed);
  ADD ("online-unreachable", test_online_unreachable);
  ADD ("first-use", test_first_use);
  ADD ("debug-log-no-secrets", test_debug_log_no_secrets);
  ADD ("first-use-documented-lines", test_first_use_documented_lines);
  ADD ("stack-safety-matrix", test_matrix);
#undef ADD

  status = g_test_run ();
  if (status == 0)
    {
      g_autoptr(GFile) dir = g_file_new_for_path (work_dir);
      g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", work_dir);

      if (system (rm) != 0)
        g_warning ("could not remove %s", work_dir);
    }
  return status;
}
