/* test-pam-module.c — pam_cardpin.so exports the four pam_sm_* entry points and
 * nothing else, and links no GLib
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dlfcn.h>
#include <string.h>
#include <glib.h>

static const char * const entry_points[] = {
  "pam_sm_acct_mgmt", "pam_sm_authenticate", "pam_sm_chauthtok", "pam_sm_setcred", NULL
};

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static char *
run (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

static void
test_dlopen (void)
{
  void *module = dlopen (PAM_CARDPIN_PATH, RTLD_NOW | RTLD_LOCAL);

  g_assert_nonnull (module);
  for (guint i = 0; entry_points[i] != NULL; i++)
    g_assert_nonnull (dlsym (module, entry_points[i]));
  /* nothing of its own beyond them */
  g_assert_null (dlsym (module, "pam_sm_open_session"));
  g_assert_null (dlsym (module, "cardpin_pam_frame_send"));
  g_assert_null (dlsym (module, "cardpin_pam_frame_recv"));
  dlclose (module);
}

static void
test_exports (void)
{
  g_autofree char *out = run ((const char * const[]) { "nm", "-D", "--defined-only",
                                                        PAM_CARDPIN_PATH, NULL });
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      guint n = g_strv_length (fields);

      if (n == 0 || fields[0][0] == '\0')
        continue;
      g_ptr_array_add (names, g_strdup (fields[n - 1]));
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  g_assert_cmpstrv ((char **) names->pdata, entry_points);
}

static void
test_no_glib (void)
{
  g_autofree char *out = run ((const char * const[]) { "readelf", "-d", PAM_CARDPIN_PATH,
                                                        NULL });
  g_autofree char *ldd = run ((const char * const[]) { "ldd", PAM_CARDPIN_PATH, NULL });

  g_assert_nonnull (strstr (out, "(NEEDED)"));
  g_assert_nonnull (strstr (out, "libpam.so"));
  for (const char *lib = "glib"; lib != NULL; lib = g_str_equal (lib, "glib") ? "gobject" :
                                                    g_str_equal (lib, "gobject") ? "gio" : NULL)
    {
      g_assert_null (strstr (out, lib));
      g_assert_null (strstr (ldd, lib));
    }
}

/* The helper that runs in front of every smart-card login stays lean: no PKCS#11, TLS,
 * JSON or Secret Service library is loaded for a healthy card (the worker has them) */
static void
test_helper_lean (void)
{
  g_autofree char *helper = run ((const char * const[]) { "readelf", "-d", PAM_HELPER_PATH,
                                                           NULL });
  g_autofree char *worker = run ((const char * const[]) { "readelf", "-d", PAM_WORKER_PATH,
                                                           NULL });
  const char * const heavy[] = { "libp11-kit", "libsoup", "libjson-glib", "libsecret", NULL };

  g_assert_nonnull (strstr (helper, "libpcsclite"));
  for (guint i = 0; heavy[i] != NULL; i++)
    g_assert_null (strstr (helper, heavy[i]));
  /* the check is not vacuous: the worker does link them */
  g_assert_nonnull (strstr (worker, "libp11-kit"));
  g_assert_nonnull (strstr (worker, "libsoup"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cardpin/pam-module/dlopen", test_dlopen);
  g_test_add_func ("/cardpin/pam-module/exports", test_exports);
  g_test_add_func ("/cardpin/pam-module/no-glib", test_no_glib);
  g_test_add_func ("/cardpin/pam-module/helper-lean", test_helper_lean);
  return g_test_run ();
}
