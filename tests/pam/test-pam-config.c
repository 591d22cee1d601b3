/* test-pam-config.c — the login-screen helper's settings keyfile
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "cardpin-pam-config.h"
#include "cardpin-policy.h"

static char *
write_config (const char *text)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("cardpin-pam-config-XXXXXX", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_missing_file_defaults (void)
{
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(GError) error = NULL;
  CardpinPamConfig config;

  g_assert_true (cardpin_pam_config_load (&config, "/nonexistent/cardpin.conf", NULL, &error));
  g_assert_no_error (error);
  /* the schema's defaults: every method, 6 to 8 digits */
  g_assert_cmpuint (config.n_methods, ==, 3);
  policy = cardpin_policy_new_from_settings (config.settings);
  g_assert_cmpuint (cardpin_policy_get_min_length (policy), ==, 6);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 8);
  g_assert_true (cardpin_policy_get_digits_only (policy));
  cardpin_pam_config_clear (&config);
}

static void
test_keys_and_methods (void)
{
  g_autofree char *path = write_config ("[cardpin]\n"
                                        "allowed-unblock-methods=['puk', 'offline']\n"
                                        "pin-min-length=uint32 7\n"
                                        "pin-max-length=8\n"
                                        "pin-digits-only=false\n"
                                        "unblock-server-url='https://unblock.example.org/'\n");
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinPolicy) puk_policy = NULL;
  g_autoptr(GError) error = NULL;
  CardpinPamConfig config;

  g_assert_true (cardpin_pam_config_load (&config, path, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config.n_methods, ==, 2);
  g_assert_true (cardpin_pam_config_allows (&config, CARDPIN_PAM_METHOD_HELPDESK));
  g_assert_true (cardpin_pam_config_allows (&config, CARDPIN_PAM_METHOD_PUK));
  g_assert_false (cardpin_pam_config_allows (&config, CARDPIN_PAM_METHOD_ONLINE));
  /* core's policy reads the keyfile through the settings, as it reads dconf */
  policy = cardpin_policy_new_from_settings (config.settings);
  g_assert_cmpuint (cardpin_policy_get_min_length (policy), ==, 7);
  g_assert_cmpuint (cardpin_policy_get_max_length (policy), ==, 8);
  g_assert_false (cardpin_policy_get_digits_only (policy));
  /* keys the file leaves out keep the schema's defaults */
  puk_policy = cardpin_policy_new_puk_from_settings (config.settings);
  g_assert_cmpuint (cardpin_policy_get_min_length (puk_policy), ==, 8);
  g_assert_true (cardpin_policy_check_unblock_method (config.settings, "puk", NULL));
  g_assert_false (cardpin_policy_check_unblock_method (config.settings, "online", NULL));
  g_assert_cmpstr (config.server_url, ==, "https://unblock.example.org/");
  cardpin_pam_config_clear (&config);

  /* methods= picks among the allowed ones, in its order; "online" is not allowed here */
  g_assert_true (cardpin_pam_config_load (&config, path, "puk,online,helpdesk", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config.n_methods, ==, 2);
  g_assert_cmpint (config.methods[0], ==, CARDPIN_PAM_METHOD_PUK);
  g_assert_cmpint (config.methods[1], ==, CARDPIN_PAM_METHOD_HELPDESK);
  cardpin_pam_config_clear (&config);
  g_unlink (path);
}

static void
test_malformed (void)
{
  const char *bad[] = {
    "[cardpin]\npin-min-length=six\n",
    "[cardpin]\npin-min-length=2\n",
    "[cardpin]\nallowed-unblock-methods=['sms']\n",
    "[cardpin]\nallowed-unblock-methods='puk'\n",
    "[cardpin]\npin-minimum-length=6\n",
    "not a keyfile\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = write_config (bad[i]);
      g_autoptr(GError) error = NULL;
      CardpinPamConfig config;

      g_assert_false (cardpin_pam_config_load (&config, path, NULL, &error));
      g_assert_nonnull (error);
      /* the message names the file */
      g_assert_nonnull (strstr (error->message, path));
      cardpin_pam_config_clear (&config);
      g_unlink (path);
    }

  {
    g_autoptr(GError) error = NULL;
    CardpinPamConfig config;

    g_assert_false (cardpin_pam_config_load (&config, "/nonexistent", "helpdesk,sms", &error));
    g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
    cardpin_pam_config_clear (&config);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cardpin/pam-config/missing-file-defaults", test_missing_file_defaults);
  g_test_add_func ("/cardpin/pam-config/keys-and-methods", test_keys_and_methods);
  g_test_add_func ("/cardpin/pam-config/malformed", test_malformed);
  return g_test_run ();
}
