/* fuzz-unblock-reply.c — libFuzzer target for the unblock service's replies as the
 * client parses them (core/cardpin-unblock-protocol.c): any body, under any status.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cardpin-error.h"
#include "cardpin-unblock-protocol.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
expect_protocol_error (gpointer  result,
                       GError   *error)
{
  if (result == NULL && !g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_PROTOCOL))
    __builtin_trap ();
  if (result != NULL && error != NULL)
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const guint statuses[] = { 200, 201, 400, 401, 403, 413, 429, 500, 302, 0 };
  g_autoptr(GDateTime) now = g_date_time_new_utc (2026, 12, 4, 10, 0, 0);
  g_autofree char *text = g_strndup ((const char *) data, size);
  CardpinUnblockReply reply = { 0 };

  if (size > CARDPIN_UNBLOCK_MAX_REPLY)
    return 0;
  reply.body = cardpin_secret_new (data, size);
  /* the body doubles as a Retry-After header */
  reply.retry_after = cardpin_unblock_parse_retry_after (text, now);
  if (reply.retry_after > 7 * 24 * 3600)
    __builtin_trap ();

  for (gsize i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autoptr(GError) error = NULL;

      reply.status = statuses[i];
      if (cardpin_unblock_reply_check (&reply, CARDPIN_UNBLOCK_AUTH_BASIC, &error) !=
          (statuses[i] >= 200 && statuses[i] < 300))
        __builtin_trap ();
      if ((error == NULL) != (statuses[i] >= 200 && statuses[i] < 300))
        __builtin_trap ();
    }

  reply.status = 200;
  for (gsize expected = 8; expected <= 16; expected += 8)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *request_id = NULL;
      g_autoptr(CardpinSecret) response =
        cardpin_unblock_parse_response (&reply, expected, &request_id, &error);

      expect_protocol_error (response, error);
      if (response != NULL && cardpin_secret_get_length (response) != expected)
        __builtin_trap ();
      if (response == NULL && request_id != NULL)
        __builtin_trap ();
    }

  {
    g_autoptr(GError) error = NULL;
    g_autofree char *request_id = NULL;
    g_autoptr(CardpinSecret) puk = cardpin_unblock_parse_puk (&reply, &request_id, &error);

    expect_protocol_error (puk, error);
    if (puk != NULL && cardpin_secret_get_length (puk) == 0)
      __builtin_trap ();
  }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *expires = NULL;
    g_autoptr(CardpinSecret) token = cardpin_unblock_parse_device (&reply, &expires, &error);

    expect_protocol_error (token, error);
  }
  {
    g_autofree char *request_id = cardpin_unblock_reply_dup_request_id (&reply);

    if (request_id != NULL && (strlen (request_id) > 128 ||
                               !g_utf8_validate (request_id, -1, NULL)))
      __builtin_trap ();
  }

  cardpin_secret_unref (reply.body);
  return 0;
}
