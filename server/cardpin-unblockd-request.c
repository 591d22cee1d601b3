/* cardpin-unblockd-request.c — parsing what a client sends to cardpin-unblockd
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "cardpin-json.h"
#include "cardpin-master-key.h"
#include "cardpin-unblockd-request.h"

static gboolean
valid_user (const char *user,
            gsize       length)
{
  if (length == 0 || length > CARDPIN_UNBLOCKD_MAX_USER || !g_utf8_validate (user, length, NULL))
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if ((guchar) user[i] < 0x20 || user[i] == 0x7f || user[i] == ':' || user[i] == '/')
      return FALSE;
  return TRUE;
}

/**
 * cardpin_unblockd_parse_authorization:
 * @header: (nullable): the Authorization header
 * @user: (out): for Basic, the user name
 * @credential: (out): the password (Basic) or the device token (Bearer)
 *
 * The password is decoded straight into locked memory.
 *
 * Returns: which scheme, %CARDPIN_UNBLOCKD_AUTH_NONE without a header, or
 *   %CARDPIN_UNBLOCKD_AUTH_MALFORMED (nothing returned)
 */
CardpinUnblockdAuth
cardpin_unblockd_parse_authorization (const char      *header,
                                      char           **user,
                                      CardpinSecret  **credential)
{
  *user = NULL;
  *credential = NULL;

  if (header == NULL)
    return CARDPIN_UNBLOCKD_AUTH_NONE;

  if (g_ascii_strncasecmp (header, "Bearer ", 7) == 0)
    {
      const char *token = header + 7;
      gsize length;

      while (*token == ' ')
        token++;
      length = strlen (token);
      while (length > 0 && token[length - 1] == ' ')
        length--;
      if (length == 0 || length > 256)
        return CARDPIN_UNBLOCKD_AUTH_MALFORMED;
      for (gsize i = 0; i < length; i++)
        if (!g_ascii_isgraph (token[i]))
          return CARDPIN_UNBLOCKD_AUTH_MALFORMED;
      *credential = cardpin_secret_new ((const guint8 *) token, length);
      return CARDPIN_UNBLOCKD_AUTH_BEARER;
    }

  if (g_ascii_strncasecmp (header, "Basic ", 6) == 0)
    {
      const char *encoded = header + 6;
      g_autoptr(CardpinSecret) plain = NULL;
      const guint8 *data;
      const guint8 *colon;
      gsize length, decoded;
      gint state = 0;
      guint save = 0;

      while (*encoded == ' ')
        encoded++;
      length = strlen (encoded);
      while (length > 0 && encoded[length - 1] == ' ')
        length--;
      if (length == 0 || length > 1024 || length % 4 != 0)
        return CARDPIN_UNBLOCKD_AUTH_MALFORMED;
      for (gsize i = 0; i < length; i++)
        if (!g_ascii_isalnum (encoded[i]) && encoded[i] != '+' && encoded[i] != '/' &&
            !(encoded[i] == '=' && i >= length - 2))
          return CARDPIN_UNBLOCKD_AUTH_MALFORMED;

      plain = cardpin_secret_new_sized (length / 4 * 3 + 3);
      decoded = g_base64_decode_step (encoded, length, cardpin_secret_get_mutable_data (plain),
                                      &state, &save);
      data = cardpin_secret_get_data (plain);
      colon = memchr (data, ':', decoded);
      if (colon == NULL || !valid_user ((const char *) data, colon - data) ||
          memchr (colon + 1, '\0', decoded - (colon + 1 - data)) != NULL)
        return CARDPIN_UNBLOCKD_AUTH_MALFORMED;
      *user = g_strndup ((const char *) data, colon - data);
      *credential = cardpin_secret_new (colon + 1, decoded - (colon + 1 - data));
      return CARDPIN_UNBLOCKD_AUTH_BASIC;
    }

  return CARDPIN_UNBLOCKD_AUTH_MALFORMED;
}

static gboolean
malformed (GError     **error,
           const char  *message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  return FALSE;
}

/**
 * cardpin_unblockd_parse_response_request:
 * @body: (array length=length): the body of POST /v1/unblock/response
 * @length: its length
 * @request: (out caller-allocates): filled on success
 * @error: return location (%G_IO_ERROR_INVALID_DATA, message for the client)
 *
 * {"serial": "…", "challenge": "<hex>", "algorithm": "aes128" | "3des"}. The challenge
 * has 16 bytes for AES-128 and 8 for 3DES; other members are ignored.
 *
 * Returns: %TRUE when the request is well formed
 */
/* The JSON object of a request body and its "serial"; @parser keeps the object alive */
static JsonObject *
parse_object (JsonParser    *parser,
              const guint8  *body,
              gsize          length,
              const char   **serial,
              GError       **error)
{
  JsonNode *root;
  JsonObject *object;

  if (length == 0 || length > CARDPIN_UNBLOCKD_MAX_BODY ||
      !g_utf8_validate ((const char *) body, length, NULL) ||
      memchr (body, '\0', length) != NULL)
    {
      malformed (error, "the body must be a JSON object in UTF-8");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, (const char *) body, length, NULL))
    {
      malformed (error, "the body is not valid JSON");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      malformed (error, "the body must be a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);

  *serial = cardpin_json_get_string_member (object, "serial");
  if (*serial == NULL || !cardpin_master_key_check_serial (*serial, NULL))
    {
      malformed (error, "\"serial\" must be the card serial as cardpin prints it");
      return NULL;
    }
  return object;
}

gboolean
cardpin_unblockd_parse_response_request (const guint8                    *body,
                                         gsize                            length,
                                         CardpinUnblockdResponseRequest  *request,
                                         GError                         **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree guint8 *challenge = NULL;
  const char *serial, *hex, *algorithm;
  JsonObject *object;
  gsize hex_length, expected;

  memset (request, 0, sizeof *request);
  object = parse_object (parser, body, length, &serial, error);
  if (object == NULL)
    return FALSE;

  algorithm = cardpin_json_get_string_member (object, "algorithm");
  if (g_strcmp0 (algorithm, "aes128") == 0)
    request->algorithm = CARDPIN_MASTER_KEY_ALG_AES128;
  else if (g_strcmp0 (algorithm, "3des") == 0)
    request->algorithm = CARDPIN_MASTER_KEY_ALG_3DES;
  else
    return malformed (error, "\"algorithm\" must be \"aes128\" or \"3des\"");
  expected = request->algorithm == CARDPIN_MASTER_KEY_ALG_AES128 ? 16 : 8;

  hex = cardpin_json_get_string_member (object, "challenge");
  hex_length = hex != NULL ? strlen (hex) : 0;
  if (hex_length != 2 * expected)
    return malformed (error, request->algorithm == CARDPIN_MASTER_KEY_ALG_AES128
                             ? "\"challenge\" must be 32 hex digits for aes128"
                             : "\"challenge\" must be 16 hex digits for 3des");
  challenge = g_malloc (expected);
  for (gsize i = 0; i < hex_length; i += 2)
    {
      int high = g_ascii_xdigit_value (hex[i]);
      int low = g_ascii_xdigit_value (hex[i + 1]);

      if (high < 0 || low < 0)
        return malformed (error, "\"challenge\" must be hex digits");
      challenge[i / 2] = (guint8) (high << 4 | low);
    }

  request->serial = g_strdup (serial);
  request->challenge = g_bytes_new_take (g_steal_pointer (&challenge), expected);
  return TRUE;
}

/**
 * cardpin_unblockd_parse_puk_request:
 * @body: (array length=length): the body of POST /v1/unblock/puk
 * @length: its length
 * @error: return location (%G_IO_ERROR_INVALID_DATA, message for the client)
 *
 * {"serial": "…"}; other members are ignored.
 *
 * Returns: (transfer full): the serial, or %NULL when the request is malformed
 */
char *
cardpin_unblockd_parse_puk_request (const guint8  *body,
                                    gsize          length,
                                    GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  const char *serial;

  if (parse_object (parser, body, length, &serial, error) == NULL)
    return NULL;
  return g_strdup (serial);
}

void
cardpin_unblockd_response_request_clear (CardpinUnblockdResponseRequest *request)
{
  g_clear_pointer (&request->serial, g_free);
  g_clear_pointer (&request->challenge, g_bytes_unref);
}

char *
cardpin_unblockd_sha256_hex (GBytes *data)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data);
}
