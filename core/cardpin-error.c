/* cardpin-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "cardpin-error.h"

typedef struct {
  int tries_left;
  CardpinPolicyReason reason;
} CardpinErrorPrivate;

static void
cardpin_error_private_init (CardpinErrorPrivate *priv)
{
  priv->tries_left = -1;
  priv->reason = CARDPIN_POLICY_OK;
}

static void
cardpin_error_private_copy (const CardpinErrorPrivate *src,
                            CardpinErrorPrivate       *dest)
{
  *dest = *src;
}

static void
cardpin_error_private_clear (CardpinErrorPrivate *priv)
{
}

G_DEFINE_EXTENDED_ERROR (CardpinError, cardpin_error)
G_DEFINE_QUARK (cardpin-p11-error-quark, cardpin_p11_error)
G_DEFINE_QUARK (cardpin-pcsc-error-quark, cardpin_pcsc_error)

/**
 * cardpin_set_error_with_tries:
 * @error: return location
 * @code: the error code
 * @tries_left: tries left, or -1 when unknown
 * @format: message format (translated by the caller)
 *
 * Sets a %CARDPIN_ERROR carrying the number of tries left.
 */
void
cardpin_set_error_with_tries (GError       **error,
                              CardpinError   code,
                              int            tries_left,
                              const char    *format,
                              ...)
{
  CardpinErrorPrivate *priv;
  g_autofree char *message = NULL;
  va_list args;

  if (error == NULL)
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  *error = g_error_new_literal (CARDPIN_ERROR, code, message);
  priv = cardpin_error_get_private (*error);
  priv->tries_left = tries_left;
}

/**
 * cardpin_set_policy_error:
 * @error: return location
 * @reason: why the PIN was refused
 * @format: message format (translated by the caller)
 *
 * Sets a %CARDPIN_ERROR_POLICY error carrying @reason.
 */
void
cardpin_set_policy_error (GError              **error,
                          CardpinPolicyReason   reason,
                          const char           *format,
                          ...)
{
  CardpinErrorPrivate *priv;
  g_autofree char *message = NULL;
  va_list args;

  if (error == NULL)
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  *error = g_error_new_literal (CARDPIN_ERROR, CARDPIN_ERROR_POLICY, message);
  priv = cardpin_error_get_private (*error);
  priv->reason = reason;
}

/**
 * cardpin_error_get_tries_left:
 * @error: a #GError
 *
 * Returns: the tries left carried by a %CARDPIN_ERROR, or -1 when unknown
 */
int
cardpin_error_get_tries_left (const GError *error)
{
  CardpinErrorPrivate *priv;

  if (error == NULL || error->domain != CARDPIN_ERROR)
    return -1;
  priv = cardpin_error_get_private (error);
  return priv ? priv->tries_left : -1;
}

/**
 * cardpin_error_get_policy_reason:
 * @error: a #GError
 *
 * Returns: the reason carried by a %CARDPIN_ERROR_POLICY error
 */
CardpinPolicyReason
cardpin_error_get_policy_reason (const GError *error)
{
  CardpinErrorPrivate *priv;

  if (error == NULL || error->domain != CARDPIN_ERROR)
    return CARDPIN_POLICY_OK;
  priv = cardpin_error_get_private (error);
  return priv ? priv->reason : CARDPIN_POLICY_OK;
}
