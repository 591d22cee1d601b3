/* test-device-token.c — the device token in a real Secret Service
 *
 * Runs inside tests/online/keyring-session.sh: a private D-Bus session with
 * gnome-keyring-daemon. Only the token is stored, under the server and user it was
 * issued for.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "cardpin-device-token.h"
#include "cardpin-error.h"

static void
test_store_lookup_clear (void)
{
  const char *server = "https://unblock.example.org/";
  g_autoptr(CardpinSecret) token = cardpin_secret_new_from_string ("dt-0123456789abcdef");
  g_autoptr(CardpinSecret) other = cardpin_secret_new_from_string ("dt-other");
  g_autoptr(CardpinSecret) found = NULL;
  g_autoptr(GError) error = NULL;

  /* nothing stored yet: no token, no error */
  found = cardpin_device_token_lookup (server, "alice", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);

  g_assert_true (cardpin_device_token_store (server, "alice", token, "2027-01-01T00:00:00Z",
                                             NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cardpin_device_token_store (server, "bob", other, NULL, NULL, &error));
  g_assert_no_error (error);

  found = cardpin_device_token_lookup (server, "alice", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_true (cardpin_secret_equal (found, token));
  g_clear_pointer (&found, cardpin_secret_unref);

  /* another server, another user: another token or none */
  found = cardpin_device_token_lookup ("https://other.example.org/", "alice", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);
  found = cardpin_device_token_lookup (server, "bob", NULL, &error);
  g_assert_true (cardpin_secret_equal (found, other));
  g_clear_pointer (&found, cardpin_secret_unref);

  /* a second store replaces the first */
  cardpin_device_token_store (server, "alice", other, NULL, NULL, &error);
  g_assert_no_error (error);
  found = cardpin_device_token_lookup (server, "alice", NULL, &error);
  g_assert_true (cardpin_secret_equal (found, other));
  g_clear_pointer (&found, cardpin_secret_unref);

  g_assert_true (cardpin_device_token_clear (server, "alice", NULL, &error));
  g_assert_no_error (error);
  found = cardpin_device_token_lookup (server, "alice", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);
  /* clearing what is not there is fine; bob keeps his */
  g_assert_true (cardpin_device_token_clear (server, "alice", NULL, &error));
  found = cardpin_device_token_lookup (server, "bob", NULL, &error);
  g_assert_nonnull (found);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cardpin/device-token/store-lookup-clear", test_store_lookup_clear);
  return g_test_run ();
}
