/* test-server-config.c — the service keyfile's optional thread keys and their defaults
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <sched.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "cardpin-server-config.h"

static char *dir;

/* The service's keyfile with every required key, and @extra lines */
static CardpinServerConfig *
load (const char  *extra,
      GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "unblockd.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[service]\n"
                                           "listen=127.0.0.1:8443\n"
                                           "tls-certificate=/etc/cardpin/tls.pem\n"
                                           "tls-key=/etc/cardpin/tls.key\n"
                                           "database=/var/lib/cardpin/unblock.sqlite\n"
                                           "pkcs11-module=/usr/lib/softhsm/libsofthsm2.so\n"
                                           "token-label=cardpin\n"
                                           "token-pin-file=/etc/cardpin/token-pin\n"
                                           "master-key-label=cardpin-master\n"
                                           "pam-service=cardpin-unblock\n"
                                           "quota-card-per-day=3\n"
                                           "quota-user-per-day=5\n"
                                           "%s", extra);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return cardpin_server_config_load (path, TRUE, error);
}

/* This process runs on the first @n processors it may use only; FALSE when it may use
 * fewer */
static gboolean
use_processors (guint n)
{
  cpu_set_t set;
  guint found = 0;

  CPU_ZERO (&set);
  for (guint cpu = 0; cpu < CPU_SETSIZE && found < n; cpu++)
    {
      cpu_set_t one;

      CPU_ZERO (&one);
      CPU_SET (cpu, &one);
      if (sched_setaffinity (0, sizeof one, &one) == 0)
        {
          CPU_SET (cpu, &set);
          found++;
        }
    }
  return found == n && sched_setaffinity (0, sizeof set, &set) == 0;
}

static void
test_default_threads (void)
{
  cpu_set_t all;
  guint processors;

  g_assert_cmpint (sched_getaffinity (0, sizeof all, &all), ==, 0);
  processors = CPU_COUNT (&all);

  /* every processor but the token thread's, at least one */
  for (guint n = 1; n <= MIN (processors, 3); n++)
    {
      g_autoptr(GError) error = NULL;
      CardpinServerConfig *config;

      g_assert_true (use_processors (n));
      config = load ("", &error);
      g_assert_no_error (error);
      g_test_message ("%u processors: %u listener threads, %u token thread", n,
                      config->threads, config->token_threads);
      g_assert_cmpuint (config->token_threads, ==, 1);
      g_assert_cmpuint (config->threads, ==, MAX (n - 1, 1));
      cardpin_server_config_free (config);
    }
  g_assert_cmpint (sched_setaffinity (0, sizeof all, &all), ==, 0);

  {
    g_autoptr(GError) error = NULL;
    CardpinServerConfig *config = load ("token-threads=2\n", &error);

    g_assert_no_error (error);
    g_assert_cmpuint (config->token_threads, ==, 2);
    g_assert_cmpuint (config->threads, ==,
                      CLAMP (processors > 2 ? processors - 2 : 1, 1, CARDPIN_SERVER_MAX_THREADS));
    cardpin_server_config_free (config);
  }
}

static void
test_threads_set (void)
{
  const char *bad[] = { "threads=0\n", "threads=17\n", "threads=two\n", "token-threads=0\n" };
  g_autoptr(GError) error = NULL;
  CardpinServerConfig *config = load ("threads=5\ntoken-threads=3\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (config->threads, ==, 5);
  g_assert_cmpuint (config->token_threads, ==, 3);
  cardpin_server_config_free (config);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_error (&error);
      g_assert_null (load (bad[i], &error));
      g_assert_nonnull (error);
      g_test_message ("%s→ %s", bad[i], error->message);
      g_assert_nonnull (strstr (error->message, "threads"));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("test-server-config-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/cardpin/server-config/default-threads", test_default_threads);
  g_test_add_func ("/cardpin/server-config/threads-set", test_threads_set);
  result = g_test_run ();

  path = g_build_filename (dir, "unblockd.conf", NULL);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  return result;
}
