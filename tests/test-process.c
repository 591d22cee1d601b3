/* test-process.c — cardpin_process_harden()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <glib.h>

#include "cardpin-process.h"

static void
test_harden (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      struct rlimit core = { RLIM_INFINITY, RLIM_INFINITY };
      struct rlimit limit;

      /* start from a process that would dump core and is dumpable */
      setrlimit (RLIMIT_CORE, &core);
      prctl (PR_SET_DUMPABLE, 1, 0, 0, 0);
      g_assert_cmpint (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 1);

      g_assert_true (cardpin_process_harden (&error));
      g_assert_no_error (error);

      g_assert_cmpint (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 0);
      g_assert_cmpint (getrlimit (RLIMIT_CORE, &limit), ==, 0);
      g_assert_cmpuint (limit.rlim_cur, ==, 0);
      g_assert_cmpuint (limit.rlim_max, ==, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cardpin/process/harden", test_harden);
  return g_test_run ();
}
