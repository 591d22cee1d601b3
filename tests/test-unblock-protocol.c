/* test-unblock-protocol.c — the online unblock client's requests, replies and errors
 *
 * The exchanges with the real service are in tests/online/; these cases pin the JSON,
 * the status mapping and the settings without a network.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>

#include "cardpin-error.h"
#include "cardpin-test-stack.h"
#include "cardpin-unblock-client.h"
#include "cardpin-unblock-protocol.h"

static CardpinUnblockReply *
reply_new (guint       status,
           const char *body,
           guint       retry_after)
{
  CardpinUnblockReply *reply = g_new0 (CardpinUnblockReply, 1);

  reply->status = status;
  reply->body = cardpin_secret_new ((const guint8 *) body, strlen (body));
  reply->retry_after = retry_after;
  return reply;
}

static void
test_normalize_url (void)
{
  struct {
    const char *in;
    const char *out;
    int code;
  } cases[] = {
    { "https://unblock.example.org", "https://unblock.example.org/", -1 },
    { "https://unblock.example.org/", "https://unblock.example.org/", -1 },
    { "https://127.0.0.1:8443/cardpin", "https://127.0.0.1:8443/cardpin/", -1 },
    { "", NULL, CARDPIN_ERROR_NOT_SUPPORTED },
    { "http://unblock.example.org/", NULL, CARDPIN_ERROR_FAILED },
    { "https://user@unblock.example.org/", NULL, CARDPIN_ERROR_FAILED },
    { "https://unblock.example.org/?x=1", NULL, CARDPIN_ERROR_FAILED },
    { "unblock.example.org", NULL, CARDPIN_ERROR_FAILED },
    { "https:///path", NULL, CARDPIN_ERROR_FAILED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *out = cardpin_unblock_normalize_url (cases[i].in, &error);

      if (cases[i].out != NULL)
        {
          g_assert_no_error (error);
          g_assert_cmpstr (out, ==, cases[i].out);
        }
      else
        {
          g_assert_null (out);
          g_assert_error (error, CARDPIN_ERROR, cases[i].code);
        }
    }
}

static void
test_retry_after (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_utc (2026, 12, 4, 10, 0, 0);

  g_assert_cmpuint (cardpin_unblock_parse_retry_after (NULL, now), ==, 0);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after ("", now), ==, 0);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after ("120", now), ==, 120);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after (" 7 ", now), ==, 7);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after ("12x", now), ==, 0);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after ("soon", now), ==, 0);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after ("99999999999", now), ==, 7 * 24 * 3600);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after ("Fri, 04 Dec 2026 10:01:30 GMT", now),
                    ==, 90);
  g_assert_cmpuint (cardpin_unblock_parse_retry_after ("Fri, 04 Dec 2026 09:00:00 GMT", now),
                    ==, 0);
}

static void
test_format_wait (void)
{
  g_autofree char *a = cardpin_unblock_format_wait (0);
  g_autofree char *b = cardpin_unblock_format_wait (59);
  g_autofree char *c = cardpin_unblock_format_wait (61);
  g_autofree char *d = cardpin_unblock_format_wait (3601);

  g_assert_cmpstr (a, ==, "1 second");
  g_assert_cmpstr (b, ==, "59 seconds");
  g_assert_cmpstr (c, ==, "2 minutes");
  g_assert_cmpstr (d, ==, "2 hours");
}

static void
test_status_mapping (void)
{
  struct {
    guint status;
    CardpinUnblockAuth auth;
    int code;
    const char *words;
  } cases[] = {
    { 200, CARDPIN_UNBLOCK_AUTH_BASIC, -1, NULL },
    { 204, CARDPIN_UNBLOCK_AUTH_BEARER, -1, NULL },
    { 401, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_AUTH, "user name and password" },
    { 401, CARDPIN_UNBLOCK_AUTH_BEARER, CARDPIN_ERROR_SERVICE_AUTH, "Sign in with your password" },
    { 403, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_DENIED, "not registered to you" },
    { 429, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_QUOTA, "Try again later" },
    { 400, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_PROTOCOL, "HTTP 400" },
    { 413, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_PROTOCOL, "HTTP 413" },
    { 418, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_PROTOCOL, "HTTP 418" },
    { 500, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_UNAVAILABLE, "Try again later" },
    { 503, CARDPIN_UNBLOCK_AUTH_BASIC, CARDPIN_ERROR_SERVICE_UNAVAILABLE, "HTTP 503" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(CardpinUnblockReply) reply = reply_new (cases[i].status, "", 0);
      g_autoptr(GError) error = NULL;
      gboolean ok = cardpin_unblock_reply_check (reply, cases[i].auth, &error);

      if (cases[i].code < 0)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          continue;
        }
      g_assert_false (ok);
      g_assert_error (error, CARDPIN_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].words));
    }
}

static void
test_status_details (void)
{
  g_autoptr(CardpinUnblockReply) quota =
    reply_new (429, "{\"error\":\"quota\",\"request_id\":\"r-42\"}", 120);
  g_autoptr(CardpinUnblockReply) denied =
    reply_new (403, "{\"request_id\":\"r-43\"}", 0);
  g_autoptr(CardpinUnblockReply) junk = reply_new (403, "<html>no</html>", 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  g_assert_false (cardpin_unblock_reply_check (quota, CARDPIN_UNBLOCK_AUTH_BASIC, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_QUOTA);
  g_assert_nonnull (strstr (error->message, "Try again in 2 minutes"));
  g_assert_nonnull (strstr (error->message, "r-42"));
  g_clear_error (&error);

  g_assert_false (cardpin_unblock_reply_check (denied, CARDPIN_UNBLOCK_AUTH_BEARER, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_DENIED);
  g_assert_nonnull (strstr (error->message, "r-43"));
  g_clear_error (&error);

  /* a body that is not JSON still maps by status */
  g_assert_false (cardpin_unblock_reply_check (junk, CARDPIN_UNBLOCK_AUTH_BASIC, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_DENIED);
  id = cardpin_unblock_reply_dup_request_id (junk);
  g_assert_null (id);
}

static void
test_build_requests (void)
{
  static const guint8 challenge_data[] = {
    0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
  };
  g_autoptr(GBytes) challenge = g_bytes_new_static (challenge_data, sizeof challenge_data);
  g_autoptr(GBytes) aes = cardpin_unblock_build_response_request ("0A1B2C", challenge, 0x08);
  g_autoptr(GBytes) des_challenge = g_bytes_new_static (challenge_data, 8);
  g_autoptr(GBytes) des = cardpin_unblock_build_response_request ("0A1B2C", des_challenge, 0x03);
  g_autoptr(GBytes) puk = cardpin_unblock_build_puk_request ("0A1B2C");
  g_autofree char *aes_text = g_strndup (g_bytes_get_data (aes, NULL), g_bytes_get_size (aes));
  g_autofree char *des_text = g_strndup (g_bytes_get_data (des, NULL), g_bytes_get_size (des));
  g_autofree char *puk_text = g_strndup (g_bytes_get_data (puk, NULL), g_bytes_get_size (puk));

  g_assert_cmpstr (aes_text, ==,
                   "{\"serial\":\"0A1B2C\",\"challenge\":\"0123456789ABCDEFFEDCBA9876543210\","
                   "\"algorithm\":\"aes128\"}");
  g_assert_cmpstr (des_text, ==,
                   "{\"serial\":\"0A1B2C\",\"challenge\":\"0123456789ABCDEF\","
                   "\"algorithm\":\"3des\"}");
  g_assert_cmpstr (puk_text, ==, "{\"serial\":\"0A1B2C\"}");
  g_assert_null (cardpin_unblock_algorithm_name (0x11));
}

static void
test_parse_response (void)
{
  static const guint8 expected[8] = { 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18 };
  struct {
    const char *body;
    gboolean ok;
  } cases[] = {
    { "{\"response\":\"A1B2C3D4E5F60718\",\"request_id\":\"abc\"}", TRUE },
    { "{\"request_id\":\"abc\",\"response\":\"a1b2c3d4e5f60718\"}", TRUE },
    { "{\"response\":\"A1B2C3D4E5F607\"}", FALSE },             /* too short */
    { "{\"response\":\"A1B2C3D4E5F6071800\"}", FALSE },         /* too long */
    { "{\"response\":\"A1B2 C3D4 E5F6 0718\"}", FALSE },        /* a code, not hex */
    { "{\"response\":\"G1B2C3D4E5F60718\"}", FALSE },
    { "{\"response\":12345678}", FALSE },
    { "{\"puk\":\"12345678\"}", FALSE },
    { "[\"A1B2C3D4E5F60718\"]", FALSE },
    { "A1B2C3D4E5F60718", FALSE },
    { "", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(CardpinUnblockReply) reply = reply_new (200, cases[i].body, 0);
      g_autoptr(CardpinSecret) response = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *request_id = NULL;

      response = cardpin_unblock_parse_response (reply, sizeof expected, &request_id, &error);
      if (cases[i].ok)
        {
          g_assert_no_error (error);
          g_assert_true (cardpin_secret_equal_bytes (response, expected, sizeof expected));
          g_assert_cmpstr (request_id, ==, "abc");
        }
      else
        {
          g_assert_null (response);
          g_assert_null (request_id);
          g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL);
        }
    }
}

static void
test_parse_puk_device (void)
{
  g_autoptr(CardpinUnblockReply) puk_reply =
    reply_new (200, "{\"puk\":\"87654321\",\"request_id\":\"r1\"}", 0);
  g_autoptr(CardpinUnblockReply) device_reply =
    reply_new (201, "{\"token\":\"tok-123\",\"expires\":\"2027-03-04T00:00:00Z\"}", 0);
  g_autoptr(CardpinUnblockReply) bad_device = reply_new (201, "{\"token\":\"\"}", 0);
  g_autoptr(CardpinSecret) puk = NULL;
  g_autoptr(CardpinSecret) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request_id = NULL;
  g_autofree char *expires = NULL;

  puk = cardpin_unblock_parse_puk (puk_reply, &request_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cardpin_secret_as_string (puk), ==, "87654321");
  g_assert_cmpstr (request_id, ==, "r1");

  token = cardpin_unblock_parse_device (device_reply, &expires, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cardpin_secret_as_string (token), ==, "tok-123");
  g_assert_cmpstr (expires, ==, "2027-03-04T00:00:00Z");

  g_assert_null (cardpin_unblock_parse_device (bad_device, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL);
}

static void
test_settings (void)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();
  g_autoptr(GSettings) settings = g_settings_new_with_backend (APP_ID, backend);
  g_autoptr(CardpinUnblockClient) client = NULL;
  g_autoptr(GError) error = NULL;

  /* not configured: a clear refusal, not a crash or a default server */
  client = cardpin_unblock_client_new_from_settings (settings, &error);
  g_assert_null (client);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  g_settings_set_string (settings, "unblock-server-url", "http://plain.example.org/");
  client = cardpin_unblock_client_new_from_settings (settings, &error);
  g_assert_null (client);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED);
  g_clear_error (&error);

  g_settings_set_string (settings, "unblock-server-url", "https://127.0.0.1:8443");
  g_settings_set_string (settings, "unblock-server-ca", "/etc/cardpin/ca.pem");
  client = cardpin_unblock_client_new_from_settings (settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cardpin_unblock_client_get_server_url (client), ==, "https://127.0.0.1:8443/");
  g_assert_cmpstr (cardpin_unblock_client_get_ca_file (client), ==, "/etc/cardpin/ca.pem");
  g_assert_cmpstr (cardpin_unblock_client_get_user (client), ==, g_get_user_name ());
  cardpin_unblock_client_set_user (client, "alice");
  g_assert_cmpstr (cardpin_unblock_client_get_user (client), ==, "alice");
  g_assert_finalize_object (g_steal_pointer (&client));

  /* the administrator may forbid online unblocking */
  g_assert_true (cardpin_unblock_client_check_allowed (settings, &error));
  g_settings_set_strv (settings, "allowed-unblock-methods",
                       (const char * const[]) { "puk", "offline", NULL });
  g_assert_false (cardpin_unblock_client_check_allowed (settings, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  client = cardpin_unblock_client_new_from_settings (settings, &error);
  g_assert_null (client);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "does not allow"));
}

/* A free loopback port with nothing listening */
static void
test_unreachable (void)
{
  g_autofree char *url = g_strdup_printf ("https://127.0.0.1:%u/", cardpin_test_free_port ());
  g_autoptr(CardpinUnblockClient) client = NULL;
  g_autoptr(CardpinSecret) password = cardpin_secret_new_from_string ("canary-password");
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(GBytes) challenge = g_bytes_new_static ("01234567", 8);
  g_autoptr(GError) error = NULL;

  client = cardpin_unblock_client_new (url, NULL, &error);
  g_assert_no_error (error);

  /* no credentials: refused before any connection */
  response = cardpin_unblock_client_request_response (client, "0A", challenge, 0x03, NULL,
                                                      &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH);
  g_clear_error (&error);

  cardpin_unblock_client_set_password (client, password);
  response = cardpin_unblock_client_request_response (client, "0A", challenge, 0x03, NULL,
                                                      &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "Cannot reach"));
  g_assert_null (strstr (error->message, "canary"));
  g_clear_error (&error);

  g_assert_false (cardpin_unblock_client_check (client, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE);
  g_clear_error (&error);

  /* a user name Basic cannot carry */
  cardpin_unblock_client_set_user (client, "a:b");
  response = cardpin_unblock_client_request_response (client, "0A", challenge, 0x03, NULL,
                                                      &error);
  g_assert_null (response);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH);
}

static void
test_bad_ca_file (void)
{
  g_autoptr(CardpinUnblockClient) client = NULL;
  g_autoptr(GError) error = NULL;

  client = cardpin_unblock_client_new ("https://127.0.0.1:1/", "/nonexistent/ca.pem", &error);
  g_assert_no_error (error);
  g_assert_false (cardpin_unblock_client_check (client, NULL, &error));
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "unblock-server-ca"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cardpin/unblock-protocol/normalize-url", test_normalize_url);
  g_test_add_func ("/cardpin/unblock-protocol/retry-after", test_retry_after);
  g_test_add_func ("/cardpin/unblock-protocol/format-wait", test_format_wait);
  g_test_add_func ("/cardpin/unblock-protocol/status-mapping", test_status_mapping);
  g_test_add_func ("/cardpin/unblock-protocol/status-details", test_status_details);
  g_test_add_func ("/cardpin/unblock-protocol/build-requests", test_build_requests);
  g_test_add_func ("/cardpin/unblock-protocol/parse-response", test_parse_response);
  g_test_add_func ("/cardpin/unblock-protocol/parse-puk-device", test_parse_puk_device);
  g_test_add_func ("/cardpin/unblock-protocol/settings", test_settings);
  g_test_add_func ("/cardpin/unblock-protocol/unreachable", test_unreachable);
  g_test_add_func ("/cardpin/unblock-protocol/bad-ca-file", test_bad_ca_file);

  return g_test_run ();
}
