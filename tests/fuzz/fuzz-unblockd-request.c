/* fuzz-unblockd-request.c — libFuzzer target for what cardpin-unblockd parses from the
 * network: the Authorization header and the body of POST /v1/unblock/response
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cardpin-master-key.h"
#include "cardpin-unblockd-request.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_authorization (const uint8_t *data,
                     size_t         size)
{
  g_autofree char *header = g_strndup ((const char *) data, size);
  g_autofree char *user = NULL;
  g_autoptr(CardpinSecret) credential = NULL;
  CardpinUnblockdAuth auth = cardpin_unblockd_parse_authorization (header, &user, &credential);

  switch (auth)
    {
    case CARDPIN_UNBLOCKD_AUTH_BASIC:
      if (user == NULL || credential == NULL || *user == '\0' ||
          strlen (user) > CARDPIN_UNBLOCKD_MAX_USER || strchr (user, ':') != NULL ||
          !g_utf8_validate (user, -1, NULL))
        __builtin_trap ();
      break;
    case CARDPIN_UNBLOCKD_AUTH_BEARER:
      if (user != NULL || credential == NULL || cardpin_secret_get_length (credential) == 0)
        __builtin_trap ();
      break;
    case CARDPIN_UNBLOCKD_AUTH_NONE:
    case CARDPIN_UNBLOCKD_AUTH_MALFORMED:
    default:
      if (user != NULL || credential != NULL)
        __builtin_trap ();
      break;
    }
}

static void
check_body (const uint8_t *data,
            size_t         size)
{
  g_autoptr(GError) error = NULL;
  CardpinUnblockdResponseRequest request;

  if (!cardpin_unblockd_parse_response_request (data, size, &request, &error))
    {
      if (error == NULL || request.serial != NULL || request.challenge != NULL)
        __builtin_trap ();
      return;
    }
  if (error != NULL || !cardpin_master_key_check_serial (request.serial, NULL) ||
      g_bytes_get_size (request.challenge) !=
        (request.algorithm == CARDPIN_MASTER_KEY_ALG_AES128 ? 16u : 8u))
    __builtin_trap ();
  cardpin_unblockd_response_request_clear (&request);
}

static void
check_puk_body (const uint8_t *data,
                size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *serial = cardpin_unblockd_parse_puk_request (data, size, &error);

  if ((serial == NULL) == (error == NULL) ||
      (serial != NULL && !cardpin_master_key_check_serial (serial, NULL)))
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  if (size == 0)
    return 0;
  /* the first byte picks the parser */
  if (data[0] & 1)
    check_authorization (data + 1, size - 1);
  else if (data[0] & 2)
    check_puk_body (data + 1, size - 1);
  else
    check_body (data + 1, size - 1);
  return 0;
}
