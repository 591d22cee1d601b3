/* cardpin-token-policy.c — the rules a token's new PIN and PUK follow: the
 * administrator's settings narrowed to what the card takes, enforced by every operation
 * that sets a PIN or a PUK before anything reaches the card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "cardpin-piv.h"
#include "cardpin-token-private.h"

/* What the token can hold: PIV cards 6 to 8 bytes for the PIN and the PUK (SP 800-73,
 * as far as the module's own limits allow); other tokens what PKCS#11 says
 * (ulMinPinLen/ulMaxPinLen, which hold for the SO PIN too); 0 is unknown. */
static void
card_limits (CardpinToken *self,
             gboolean      is_puk,
             guint        *min_length,
             guint        *max_length)
{
  *min_length = self->min_pin_length;
  *max_length = self->max_pin_length;

  if (!self->is_piv)
    return;
  if (is_puk)
    {
      /* the module's lengths are the PIN's, not the PUK's */
      *min_length = CARDPIN_PIV_PIN_MIN;
      *max_length = CARDPIN_PIV_PIN_MAX;
      return;
    }
  *min_length = MAX (*min_length, CARDPIN_PIV_PIN_MIN);
  *max_length = *max_length > 0 ? MIN (*max_length, CARDPIN_PIV_PIN_MAX)
                                : CARDPIN_PIV_PIN_MAX;
}

/**
 * cardpin_token_narrow_policy:
 * @self: a token
 * @configured: a policy as configured (settings, or a front end's own configuration
 *   file)
 * @for_puk: whether @configured is for the PUK
 *
 * Narrows @configured to what this token can hold: a PIV card 6 to 8 characters for the
 * PIN and the PUK, other tokens their PKCS#11 limits (see
 * cardpin_policy_new_for_token()). The one place that knows the cards' limits.
 *
 * Returns: (transfer full): a new #CardpinPolicy; @configured is not changed
 */
CardpinPolicy *
cardpin_token_narrow_policy (CardpinToken  *self,
                             CardpinPolicy *configured,
                             gboolean       for_puk)
{
  guint min_length, max_length;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  g_return_val_if_fail (CARDPIN_IS_POLICY (configured), NULL);

  card_limits (self, for_puk, &min_length, &max_length);
  return cardpin_policy_new_for_token (configured, min_length, max_length);
}

static CardpinPolicy *
token_policy (CardpinToken *self,
              gboolean      is_puk,
              GSettings    *settings)
{
  g_autoptr(CardpinPolicy) configured = NULL;

  configured = is_puk ? cardpin_policy_new_puk_from_settings (settings)
                      : cardpin_policy_new_from_settings (settings);
  return cardpin_token_narrow_policy (self, configured, is_puk);
}

/**
 * cardpin_token_get_pin_policy:
 * @self: a token
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 *
 * The rules a new PIN for this token follows: the keys `pin-min-length`,
 * `pin-max-length` and `pin-digits-only`, narrowed to the lengths the card takes (a
 * PIV card 6 to 8 characters). cardpin_token_change_pin(), cardpin_token_unblock_pin(),
 * cardpin_token_setup() and cardpin_unblock_session_complete() enforce it themselves
 * before any APDU; a front end may check earlier with it, for instance before asking
 * for the PIN a second time.
 *
 * Returns: (transfer full): a new #CardpinPolicy
 */
CardpinPolicy *
cardpin_token_get_pin_policy (CardpinToken *self,
                              GSettings    *settings)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);

  return token_policy (self, FALSE, settings);
}

/**
 * cardpin_token_get_puk_policy:
 * @self: a token
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 *
 * The rules a new PUK for this token follows: the keys `puk-min-length`,
 * `puk-max-length` and `puk-digits-only` (by default what a PIV PUK takes: 8
 * characters), narrowed to what the card takes. The PIN keys do not apply: with
 * `pin-max-length` 6 an 8-digit PUK is still possible. cardpin_token_change_puk() and
 * cardpin_token_setup() enforce it before any APDU.
 *
 * Returns: (transfer full): a new #CardpinPolicy
 */
CardpinPolicy *
cardpin_token_get_puk_policy (CardpinToken *self,
                              GSettings    *settings)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);

  return token_policy (self, TRUE, settings);
}

/**
 * _cardpin_token_check_new_secrets:
 * @kind: the operation
 * @secrets: (array fixed-size=4): its secrets, as for _cardpin_piv_run_op()
 * @not_initialized: whether the token has no user PIN yet (set-up: @secrets[0] is then
 *   the SO PIN, not a PIN the new one could repeat)
 * @pin_policy: the token's PIN policy
 * @puk_policy: the token's PUK policy
 * @error: return location
 *
 * Every new PIN and PUK of an operation against the token's policies, before anything
 * is sent to the card. %NULL secrets (a pinpad reader asks for them) are not checked.
 *
 * Returns: %TRUE when all may be set; else a %CARDPIN_ERROR_POLICY error naming the rule
 */
gboolean
_cardpin_token_check_new_secrets (OpKind                kind,
                                  CardpinSecret * const *secrets,
                                  gboolean              not_initialized,
                                  CardpinPolicy        *pin_policy,
                                  CardpinPolicy        *puk_policy,
                                  GError              **error)
{
  CardpinSecret * const *s = secrets;

  switch (kind)
    {
    case OP_VERIFY:
      return TRUE;

    case OP_CHANGE_PIN:
      return s[1] == NULL || cardpin_policy_check (pin_policy, s[1], s[0], NULL, error);

    case OP_CHANGE_PUK:
      return s[1] == NULL || cardpin_policy_check_puk (puk_policy, s[1], s[0], NULL, error);

    case OP_UNBLOCK_PUK:
      return s[1] == NULL || cardpin_policy_check (pin_policy, s[1], NULL, s[0], error);

    case OP_SETUP:
      /* the new PIN against the current one and the PUK that will be on the card */
      if (s[1] != NULL &&
          !cardpin_policy_check (pin_policy, s[1], not_initialized ? NULL : s[0],
                                 s[3] != NULL ? s[3] : s[2], error))
        return FALSE;
      return s[3] == NULL || cardpin_policy_check_puk (puk_policy, s[3], s[2], s[1], error);

    default:
      g_assert_not_reached ();
    }
}
