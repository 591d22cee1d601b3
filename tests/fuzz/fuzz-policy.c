/* fuzz-policy.c — libFuzzer target for the PIN/PUK policy of core: cardpin_policy_new(),
 * cardpin_policy_new_for_token(), cardpin_policy_check(), _check_puk(),
 * _check_confirmation() and the check every token operation runs before any APDU
 * (_cardpin_token_check_new_secrets())
 *
 * Input: min, max, flags, token min, token max, then up to four secrets, each a length
 * byte and its bytes (length 0xFF: no secret). Flags: bit 0 digits only, bit 1 check as
 * a PUK, bits 2-4 the operation, bit 5 the token has no user PIN yet.
 *
 * An accepted value must satisfy what the rules promise (length, characters, not a
 * factory value, not one repeated character, not the old value or the other secret); a
 * refused one must be CARDPIN_ERROR_POLICY with a reason and a message.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cardpin-error.h"
#include "cardpin-pin-state.h"
#include "cardpin-policy.h"
#include "cardpin-token-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_refusal (const GError *error)
{
  CardpinPolicyReason reason;

  if (!g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_POLICY))
    __builtin_trap ();
  reason = cardpin_error_get_policy_reason (error);
  if (reason == CARDPIN_POLICY_OK || reason > CARDPIN_POLICY_MISMATCH)
    __builtin_trap ();
  if (error->message == NULL || error->message[0] == '\0')
    __builtin_trap ();
}

static gboolean
same (const CardpinSecret *a,
      const CardpinSecret *b)
{
  return a != NULL && b != NULL &&
         cardpin_secret_get_length (a) == cardpin_secret_get_length (b) &&
         memcmp (cardpin_secret_get_data (a), cardpin_secret_get_data (b),
                 cardpin_secret_get_length (a)) == 0;
}

static gboolean
is_text (const CardpinSecret *s,
         const char          *text)
{
  return cardpin_secret_get_length (s) == strlen (text) &&
         memcmp (cardpin_secret_get_data (s), text, strlen (text)) == 0;
}

/* What an accepted value must be, checked without the policy's code */
static void
check_accepted (CardpinPolicy       *policy,
                const CardpinSecret *value,
                const CardpinSecret *old,
                const CardpinSecret *other)
{
  const guint8 *s = cardpin_secret_get_data (value);
  gsize len = cardpin_secret_get_length (value);
  gboolean repeated = len >= 2;

  if (len < cardpin_policy_get_min_length (policy) ||
      len > cardpin_policy_get_max_length (policy))
    __builtin_trap ();
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] < 0x20 || s[i] > 0x7E)
        __builtin_trap ();
      if (cardpin_policy_get_digits_only (policy) && (s[i] < '0' || s[i] > '9'))
        __builtin_trap ();
      if (s[i] != s[0])
        repeated = FALSE;
    }
  if (repeated || is_text (value, CARDPIN_PIV_FACTORY_PIN) ||
      is_text (value, CARDPIN_PIV_FACTORY_PUK) || same (value, old) || same (value, other))
    __builtin_trap ();
}

static void
check_value (CardpinPolicy       *policy,
             gboolean             is_puk,
             const CardpinSecret *value,
             const CardpinSecret *old,
             const CardpinSecret *other)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (is_puk)
    ok = cardpin_policy_check_puk (policy, value, old, other, &error);
  else
    ok = cardpin_policy_check (policy, value, old, other, &error);

  if (ok)
    {
      if (error != NULL)
        __builtin_trap ();
      check_accepted (policy, value, old, other);
    }
  else
    check_refusal (error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinPolicy) narrowed = NULL;
  g_autoptr(GError) error = NULL;
  CardpinSecret *secrets[4] = { NULL, NULL, NULL, NULL };
  guint min, max, token_min, token_max, flags, kind;
  gboolean digits_only, is_puk, not_initialized, ok;
  size_t pos = 5;

  if (size < 5)
    return 0;
  min = data[0];
  max = data[1];
  flags = data[2];
  token_min = data[3];
  token_max = data[4];
  digits_only = flags & 1;
  is_puk = (flags >> 1) & 1;
  kind = ((flags >> 2) & 7) % (OP_SETUP + 1);
  not_initialized = (flags >> 5) & 1;

  for (guint i = 0; i < G_N_ELEMENTS (secrets) && pos < size; i++)
    {
      size_t len = data[pos++];

      if (len == 0xFF)
        continue;
      len = MIN (len, size - pos);
      secrets[i] = cardpin_secret_new (data + pos, len);
      pos += len;
    }

  policy = cardpin_policy_new (min, max, digits_only);
  if (cardpin_policy_get_min_length (policy) < 1 ||
      cardpin_policy_get_max_length (policy) > CARDPIN_SECRET_MAX_LINE ||
      cardpin_policy_get_digits_only (policy) != digits_only)
    __builtin_trap ();

  /* the token's limits win over the settings */
  narrowed = cardpin_policy_new_for_token (policy, token_min, token_max);
  if (token_max > 0 &&
      (cardpin_policy_get_max_length (narrowed) > token_max ||
       cardpin_policy_get_min_length (narrowed) > cardpin_policy_get_max_length (narrowed)))
    __builtin_trap ();
  if (token_min > 0 && token_min <= cardpin_policy_get_max_length (narrowed) &&
      cardpin_policy_get_min_length (narrowed) < token_min)
    __builtin_trap ();

  if (secrets[0] != NULL)
    {
      check_value (policy, is_puk, secrets[0], secrets[1], secrets[2]);
      check_value (narrowed, is_puk, secrets[0], secrets[1], secrets[2]);

      if (secrets[1] != NULL)
        {
          ok = cardpin_policy_check_confirmation (secrets[0], secrets[1], &error);
          if (ok != same (secrets[0], secrets[1]))
            __builtin_trap ();
          if (!ok && cardpin_error_get_policy_reason (error) != CARDPIN_POLICY_MISMATCH)
            __builtin_trap ();
          g_clear_error (&error);
        }
    }

  /* the check of a token operation: the PIN policy, the PUK policy; whatever it
   * accepts, each new value on its own is accepted too */
  ok = _cardpin_token_check_new_secrets (kind, secrets, not_initialized, narrowed, policy,
                                         &error);
  if (!ok)
    check_refusal (error);
  else
    {
      const CardpinSecret *new_pin = NULL, *new_puk = NULL;

      if (kind == OP_CHANGE_PIN || kind == OP_UNBLOCK_PUK || kind == OP_SETUP)
        new_pin = secrets[1];
      if (kind == OP_CHANGE_PUK)
        new_puk = secrets[1];
      if (kind == OP_SETUP)
        new_puk = secrets[3];
      if (new_pin != NULL)
        check_accepted (narrowed, new_pin, NULL, NULL);
      if (new_puk != NULL)
        check_accepted (policy, new_puk, NULL, NULL);
      if (kind == OP_UNBLOCK_PUK && new_pin != NULL && same (new_pin, secrets[0]))
        __builtin_trap ();
    }

  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    g_clear_pointer (&secrets[i], cardpin_secret_unref);
  return 0;
}
