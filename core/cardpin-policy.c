/* cardpin-policy.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-error.h"
#include "cardpin-policy.h"
#include "cardpin-pin-state.h"

/**
 * CardpinPolicy:
 *
 * The rules a new PIN (or PUK) must follow before it is sent to a card.
 *
 * A policy has a minimum and a maximum length in characters and a digits-only flag,
 * usually from the settings; cardpin_policy_new_for_token() narrows it to what a token
 * takes. cardpin_policy_check() then refuses, with %CARDPIN_ERROR_POLICY and a
 * #CardpinPolicyReason, a PIN that is:
 *
 * - shorter or longer than allowed (%CARDPIN_POLICY_TOO_SHORT, %CARDPIN_POLICY_TOO_LONG);
 * - not made of digits when digits only are allowed (%CARDPIN_POLICY_NOT_DIGITS);
 * - made with control characters or non-ASCII characters, which pinpads and many cards
 *   cannot take (%CARDPIN_POLICY_BAD_CHARACTER);
 * - a PIV factory default, 123456 or 12345678 (%CARDPIN_POLICY_FACTORY_DEFAULT);
 * - one character repeated, like 111111 (%CARDPIN_POLICY_REPEATED);
 * - a run: each digit one more, or each one less, than the one before, wrapping from
 *   9 to 0 and from 0 to 9 (123456, 987654, and also 890123 and 210987, which are
 *   just as easy to guess); or a run of letters in alphabetical order either way
 *   (abcdef, FEDCBA; letters do not wrap). Only a PIN that is a run from its first
 *   to its last character is refused (%CARDPIN_POLICY_SEQUENCE);
 * - the same as the current PIN (%CARDPIN_POLICY_SAME_AS_OLD);
 * - the same as the PUK (%CARDPIN_POLICY_SAME_AS_PUK).
 *
 * The checks run in that order; the first that fails gives the reason. Secrets are
 * compared in constant time. cardpin_policy_check_puk() applies the same rules to a
 * new PUK (compared with the old PUK and the PIN); PUK lengths differ from PIN lengths
 * (a PIV PUK has 8 characters), so use a policy made for the PUK.
 */

/* Lengths beyond this are not PINs; token values above it mean "unknown". */
#define POLICY_LENGTH_LIMIT CARDPIN_SECRET_MAX_LINE

struct _CardpinPolicy
{
  GObject   parent_instance;

  guint     min_length;
  guint     max_length;
  gboolean  digits_only;
};

G_DEFINE_FINAL_TYPE (CardpinPolicy, cardpin_policy, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MIN_LENGTH,
  PROP_MAX_LENGTH,
  PROP_DIGITS_ONLY,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static const char * const factory_defaults[] = {
  CARDPIN_PIV_FACTORY_PIN,
  CARDPIN_PIV_FACTORY_PUK,
};

static gboolean
is_repeated (const guint8 *s,
             gsize         len)
{
  if (len < 2)
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (s[i] != s[0])
      return FALSE;
  return TRUE;
}

static gboolean
is_run (const guint8 *s,
        gsize         len)
{
  if (len < 3)
    return FALSE;

  if (g_ascii_isdigit (s[0]))
    {
      int step;

      if (!g_ascii_isdigit (s[1]))
        return FALSE;
      step = (s[1] - s[0] + 10) % 10;
      if (step != 1 && step != 9)
        return FALSE;
      for (gsize i = 2; i < len; i++)
        if (!g_ascii_isdigit (s[i]) || (s[i] - s[i - 1] + 10) % 10 != step)
          return FALSE;
      return TRUE;
    }

  if (g_ascii_isalpha (s[0]))
    {
      gboolean upper = g_ascii_isupper (s[0]);
      int step = (int) s[1] - (int) s[0];

      if (step != 1 && step != -1)
        return FALSE;
      for (gsize i = 1; i < len; i++)
        if (!g_ascii_isalpha (s[i]) || g_ascii_isupper (s[i]) != upper
            || (int) s[i] - (int) s[i - 1] != step)
          return FALSE;
      return TRUE;
    }

  return FALSE;
}

static gboolean
check_secret (CardpinPolicy        *self,
              gboolean              is_puk,
              const CardpinSecret  *secret,
              const CardpinSecret  *old,
              const CardpinSecret  *other,
              GError              **error)
{
  const guint8 *s = cardpin_secret_get_data (secret);
  gsize len = cardpin_secret_get_length (secret);
  gboolean all_digits = TRUE;
  gboolean bad_character = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        all_digits = FALSE;
      if (s[i] < 0x20 || s[i] >= 0x7F)
        bad_character = TRUE;
    }

  if (self->digits_only && !all_digits)
    {
      cardpin_set_policy_error (error, CARDPIN_POLICY_NOT_DIGITS, "%s",
                                is_puk ? _("The PUK may only contain digits. Choose a PUK made of the digits 0 to 9.")
                                       : _("The PIN may only contain digits. Choose a PIN made of the digits 0 to 9."));
      return FALSE;
    }

  if (bad_character)
    {
      cardpin_set_policy_error (error, CARDPIN_POLICY_BAD_CHARACTER, "%s",
                                is_puk ? _("The PUK contains a character that card readers cannot take. Choose a PUK with only digits, letters A to Z and punctuation.")
                                       : _("The PIN contains a character that card readers cannot take. Choose a PIN with only digits, letters A to Z and punctuation."));
      return FALSE;
    }

  if (len < self->min_length)
    {
      if (is_puk)
        cardpin_set_policy_error (error, CARDPIN_POLICY_TOO_SHORT,
                                  g_dngettext (GETTEXT_PACKAGE,
                                               "The PUK is too short. Choose a PUK of at least %u character.",
                                               "The PUK is too short. Choose a PUK of at least %u characters.",
                                               self->min_length),
                                  self->min_length);
      else
        cardpin_set_policy_error (error, CARDPIN_POLICY_TOO_SHORT,
                                  g_dngettext (GETTEXT_PACKAGE,
                                               "The PIN is too short. Choose a PIN of at least %u character.",
                                               "The PIN is too short. Choose a PIN of at least %u characters.",
                                               self->min_length),
                                  self->min_length);
      return FALSE;
    }

  if (len > self->max_length)
    {
      if (is_puk)
        cardpin_set_policy_error (error, CARDPIN_POLICY_TOO_LONG,
                                  g_dngettext (GETTEXT_PACKAGE,
                                               "The PUK is too long. Choose a PUK of at most %u character.",
                                               "The PUK is too long. Choose a PUK of at most %u characters.",
                                               self->max_length),
                                  self->max_length);
      else
        cardpin_set_policy_error (error, CARDPIN_POLICY_TOO_LONG,
                                  g_dngettext (GETTEXT_PACKAGE,
                                               "The PIN is too long. Choose a PIN of at most %u character.",
                                               "The PIN is too long. Choose a PIN of at most %u characters.",
                                               self->max_length),
                                  self->max_length);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (factory_defaults); i++)
    {
      if (cardpin_secret_equal_bytes (secret, (const guint8 *) factory_defaults[i],
                                      strlen (factory_defaults[i])))
        {
          cardpin_set_policy_error (error, CARDPIN_POLICY_FACTORY_DEFAULT, "%s",
                                    is_puk ? _("This is a factory default PUK that anyone can look up. Choose a personal PUK.")
                                           : _("This is a factory default PIN that anyone can look up. Choose a personal PIN."));
          return FALSE;
        }
    }

  if (is_repeated (s, len))
    {
      cardpin_set_policy_error (error, CARDPIN_POLICY_REPEATED, "%s",
                                is_puk ? _("Choose a PUK that is not one character repeated, like 11111111.")
                                       : _("Choose a PIN that is not one character repeated, like 111111."));
      return FALSE;
    }

  if (is_run (s, len))
    {
      cardpin_set_policy_error (error, CARDPIN_POLICY_SEQUENCE, "%s",
                                is_puk ? _("Choose a PUK that is not a run of digits like 12345678 or 87654321.")
                                       : _("Choose a PIN that is not a run of digits like 123456 or 987654."));
      return FALSE;
    }

  if (old != NULL && cardpin_secret_equal (secret, old))
    {
      cardpin_set_policy_error (error, CARDPIN_POLICY_SAME_AS_OLD, "%s",
                                is_puk ? _("The new PUK is the same as the current one. Choose a different PUK.")
                                       : _("The new PIN is the same as the current one. Choose a different PIN."));
      return FALSE;
    }

  if (other != NULL && cardpin_secret_equal (secret, other))
    {
      cardpin_set_policy_error (error, CARDPIN_POLICY_SAME_AS_PUK, "%s",
                                is_puk ? _("The new PUK is the same as the PIN. Choose a PUK different from the PIN.")
                                       : _("The new PIN is the same as the PUK. Choose a PIN different from the PUK."));
      return FALSE;
    }

  return TRUE;
}

static void
cardpin_policy_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CardpinPolicy *self = CARDPIN_POLICY (object);

  switch (prop_id)
    {
    case PROP_MIN_LENGTH:
      g_value_set_uint (value, self->min_length);
      break;
    case PROP_MAX_LENGTH:
      g_value_set_uint (value, self->max_length);
      break;
    case PROP_DIGITS_ONLY:
      g_value_set_boolean (value, self->digits_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_policy_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  CardpinPolicy *self = CARDPIN_POLICY (object);

  switch (prop_id)
    {
    case PROP_MIN_LENGTH:
      cardpin_policy_set_min_length (self, g_value_get_uint (value));
      break;
    case PROP_MAX_LENGTH:
      cardpin_policy_set_max_length (self, g_value_get_uint (value));
      break;
    case PROP_DIGITS_ONLY:
      cardpin_policy_set_digits_only (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_policy_class_init (CardpinPolicyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = cardpin_policy_get_property;
  object_class->set_property = cardpin_policy_set_property;

  /**
   * CardpinPolicy:min-length:
   *
   * The shortest allowed PIN, in characters.
   */
  props[PROP_MIN_LENGTH] =
    g_param_spec_uint ("min-length", NULL, NULL,
                       1, POLICY_LENGTH_LIMIT, 6,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS
                       | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CardpinPolicy:max-length:
   *
   * The longest allowed PIN, in characters.
   */
  props[PROP_MAX_LENGTH] =
    g_param_spec_uint ("max-length", NULL, NULL,
                       1, POLICY_LENGTH_LIMIT, POLICY_LENGTH_LIMIT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS
                       | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CardpinPolicy:digits-only:
   *
   * Whether a PIN may only contain the digits 0 to 9.
   */
  props[PROP_DIGITS_ONLY] =
    g_param_spec_boolean ("digits-only", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS
                          | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
cardpin_policy_init (CardpinPolicy *self)
{
  self->min_length = 6;
  self->max_length = POLICY_LENGTH_LIMIT;
}

/**
 * cardpin_policy_new:
 * @min_length: the shortest allowed PIN (1 to 256)
 * @max_length: the longest allowed PIN (1 to 256)
 * @digits_only: whether only the digits 0 to 9 are allowed
 *
 * Creates a policy from plain values, such as the settings.
 *
 * Returns: (transfer full): a new #CardpinPolicy
 */
CardpinPolicy *
cardpin_policy_new (guint    min_length,
                    guint    max_length,
                    gboolean digits_only)
{
  return g_object_new (CARDPIN_TYPE_POLICY,
                       "min-length", CLAMP (min_length, 1, POLICY_LENGTH_LIMIT),
                       "max-length", CLAMP (max_length, 1, POLICY_LENGTH_LIMIT),
                       "digits-only", digits_only,
                       NULL);
}

/* the schema's defaults, for a system where it is not installed: a PIN of 6 to 8 digits,
 * a PUK of 8 characters, as a PIV card takes them */
static const struct {
  const char *min_key;
  const char *max_key;
  const char *digits_key;
  guint       min_length;
  guint       max_length;
  gboolean    digits_only;
} setting_keys[] = {
  { "pin-min-length", "pin-max-length", "pin-digits-only", 6, 8, TRUE },
  { "puk-min-length", "puk-max-length", "puk-digits-only", 8, 8, FALSE },
};

/**
 * cardpin_settings_new_default:
 *
 * cardpin's settings (schema io.github.cardpin.CardPin) on the default backend (dconf on
 * a desktop; GSETTINGS_BACKEND picks another), without aborting when the schema is not
 * installed.
 *
 * Returns: (transfer full) (nullable): the settings, or %NULL without the schema
 */
GSettings *
cardpin_settings_new_default (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  return schema != NULL ? g_settings_new_full (schema, NULL, NULL) : NULL;
}

static CardpinPolicy *
new_from_settings (GSettings *settings,
                   gboolean   is_puk)
{
  g_autoptr(GSettings) owned = NULL;
  guint min_length, max_length;

  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  if (settings == NULL && (settings = owned = cardpin_settings_new_default ()) == NULL)
    return cardpin_policy_new (setting_keys[is_puk].min_length,
                               setting_keys[is_puk].max_length,
                               setting_keys[is_puk].digits_only);

  min_length = g_settings_get_uint (settings, setting_keys[is_puk].min_key);
  max_length = g_settings_get_uint (settings, setting_keys[is_puk].max_key);
  /* a maximum below the minimum is a configuration slip: keep the minimum */
  return cardpin_policy_new (min_length, MAX (min_length, max_length),
                             g_settings_get_boolean (settings,
                                                     setting_keys[is_puk].digits_key));
}

/**
 * cardpin_policy_check_unblock_method:
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 * @method: %CARDPIN_UNBLOCK_METHOD_PUK, %CARDPIN_UNBLOCK_METHOD_ONLINE or
 *   %CARDPIN_UNBLOCK_METHOD_OFFLINE
 * @error: return location
 *
 * Whether the administrator allows @method: it is in `allowed-unblock-methods`
 * (lockable in dconf; the login-screen helper reads the same key from its keyfile). Every
 * front end asks this one function before it offers or starts an unblock. With @settings
 * %NULL and the schema not installed, the schema's default (every method) applies.
 *
 * Returns: %TRUE when allowed; else %FALSE with %CARDPIN_ERROR_NOT_SUPPORTED saying so
 */
gboolean
cardpin_policy_check_unblock_method (GSettings   *settings,
                                     const char  *method,
                                     GError     **error)
{
  g_autoptr(GSettings) owned = NULL;
  g_auto(GStrv) methods = NULL;

  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), FALSE);
  g_return_val_if_fail (method != NULL, FALSE);

  if (settings == NULL && (settings = owned = cardpin_settings_new_default ()) == NULL)
    return TRUE;

  methods = g_settings_get_strv (settings, "allowed-unblock-methods");
  if (g_strv_contains ((const char * const *) methods, method))
    return TRUE;

  if (g_str_equal (method, CARDPIN_UNBLOCK_METHOD_ONLINE))
    g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                         _("Your administrator does not allow online unblocking on this "
                           "computer. Unblock with your PUK or through your helpdesk."));
  else if (g_str_equal (method, CARDPIN_UNBLOCK_METHOD_PUK))
    g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                         _("Your administrator does not allow unblocking with the PUK on "
                           "this computer. Ask your helpdesk how to unblock your card."));
  else if (g_str_equal (method, CARDPIN_UNBLOCK_METHOD_OFFLINE))
    g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                         _("Your administrator does not allow unblocking with a response "
                           "code from the helpdesk on this computer. Ask your helpdesk how "
                           "to unblock your card."));
  else
    g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                 _("“%s” is not an unblock method cardpin knows."), method);
  return FALSE;
}

/**
 * cardpin_policy_new_from_settings:
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 *
 * Makes the PIN policy the administrator configured: the keys `pin-min-length`,
 * `pin-max-length` and `pin-digits-only` (lockable in dconf). With @settings %NULL and
 * the schema not installed, the schema's defaults apply (6 to 8 digits).
 *
 * Returns: (transfer full): a new #CardpinPolicy
 */
CardpinPolicy *
cardpin_policy_new_from_settings (GSettings *settings)
{
  return new_from_settings (settings, FALSE);
}

/**
 * cardpin_policy_new_puk_from_settings:
 * @settings: (nullable): settings of the `io.github.cardpin.CardPin` schema, or %NULL
 *   for the default ones
 *
 * Makes the PUK policy the administrator configured: the keys `puk-min-length`,
 * `puk-max-length` and `puk-digits-only`. Their defaults are what a PIV PUK takes
 * (8 characters, not only digits), whatever the PIN keys say.
 *
 * Returns: (transfer full): a new #CardpinPolicy
 */
CardpinPolicy *
cardpin_policy_new_puk_from_settings (GSettings *settings)
{
  return new_from_settings (settings, TRUE);
}

/**
 * cardpin_policy_new_for_token:
 * @settings: the policy from the settings
 * @token_min_length: the token's shortest PIN (ulMinPinLen), 0 if unknown
 * @token_max_length: the token's longest PIN (ulMaxPinLen), 0 if unknown
 *
 * Combines @settings with a token's limits, taking the stricter of each: the larger
 * minimum and the smaller maximum. Token values of 0 or above 256 (PKCS#11's
 * CK_UNAVAILABLE_INFORMATION) are ignored. When the two cannot both hold (the settings
 * ask for a longer PIN than the token takes), the token wins: the minimum becomes the
 * token's maximum, since a PIN the card refuses helps nobody.
 *
 * Returns: (transfer full): a new #CardpinPolicy; @settings is not changed
 */
CardpinPolicy *
cardpin_policy_new_for_token (CardpinPolicy *settings,
                              guint          token_min_length,
                              guint          token_max_length)
{
  guint min_length, max_length;

  g_return_val_if_fail (CARDPIN_IS_POLICY (settings), NULL);

  min_length = settings->min_length;
  max_length = settings->max_length;

  if (token_min_length > 0 && token_min_length <= POLICY_LENGTH_LIMIT)
    min_length = MAX (min_length, token_min_length);
  if (token_max_length > 0 && token_max_length <= POLICY_LENGTH_LIMIT)
    {
      max_length = MIN (max_length, token_max_length);
      if (min_length > max_length)
        {
          min_length = token_max_length;
          max_length = token_max_length;
        }
    }

  return cardpin_policy_new (min_length, max_length, settings->digits_only);
}

/**
 * cardpin_policy_get_min_length:
 * @self: a #CardpinPolicy
 *
 * Returns: the shortest allowed PIN, in characters
 */
guint
cardpin_policy_get_min_length (CardpinPolicy *self)
{
  g_return_val_if_fail (CARDPIN_IS_POLICY (self), 0);

  return self->min_length;
}

/**
 * cardpin_policy_set_min_length:
 * @self: a #CardpinPolicy
 * @min_length: the shortest allowed PIN, in characters
 *
 * Sets [property@Policy:min-length].
 */
void
cardpin_policy_set_min_length (CardpinPolicy *self,
                               guint          min_length)
{
  g_return_if_fail (CARDPIN_IS_POLICY (self));

  min_length = CLAMP (min_length, 1, POLICY_LENGTH_LIMIT);
  if (self->min_length == min_length)
    return;
  self->min_length = min_length;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MIN_LENGTH]);
}

/**
 * cardpin_policy_get_max_length:
 * @self: a #CardpinPolicy
 *
 * Returns: the longest allowed PIN, in characters
 */
guint
cardpin_policy_get_max_length (CardpinPolicy *self)
{
  g_return_val_if_fail (CARDPIN_IS_POLICY (self), 0);

  return self->max_length;
}

/**
 * cardpin_policy_set_max_length:
 * @self: a #CardpinPolicy
 * @max_length: the longest allowed PIN, in characters
 *
 * Sets [property@Policy:max-length].
 */
void
cardpin_policy_set_max_length (CardpinPolicy *self,
                               guint          max_length)
{
  g_return_if_fail (CARDPIN_IS_POLICY (self));

  max_length = CLAMP (max_length, 1, POLICY_LENGTH_LIMIT);
  if (self->max_length == max_length)
    return;
  self->max_length = max_length;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MAX_LENGTH]);
}

/**
 * cardpin_policy_describe_length:
 * @min_length: the shortest length allowed
 * @max_length: the longest length allowed
 * @digits_only: whether only digits are allowed
 *
 * Says the length rule in one translated sentence, for every front end: "Use exactly
 * 8 digits." when both lengths are the same, else "Use 6 to 8 digits.".
 *
 * Returns: (transfer full): the sentence
 */
char *
cardpin_policy_describe_length (guint    min_length,
                                guint    max_length,
                                gboolean digits_only)
{
  if (min_length == max_length && digits_only)
    /* Translators: the length a new PIN or PUK must have, e.g. "Use exactly 8 digits." */
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Use exactly %u digit.",
                                         "Use exactly %u digits.", min_length), min_length);
  if (min_length == max_length)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Use exactly %u character.",
                                         "Use exactly %u characters.", min_length),
                            min_length);
  if (digits_only)
    /* Translators: the lengths a new PIN or PUK may have, e.g. "Use 6 to 8 digits." */
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Use %u to %u digit.",
                                         "Use %u to %u digits.", max_length),
                            min_length, max_length);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Use %u to %u character.",
                                       "Use %u to %u characters.", max_length),
                          min_length, max_length);
}

/**
 * cardpin_policy_get_digits_only:
 * @self: a #CardpinPolicy
 *
 * Returns: whether only the digits 0 to 9 are allowed
 */
gboolean
cardpin_policy_get_digits_only (CardpinPolicy *self)
{
  g_return_val_if_fail (CARDPIN_IS_POLICY (self), FALSE);

  return self->digits_only;
}

/**
 * cardpin_policy_set_digits_only:
 * @self: a #CardpinPolicy
 * @digits_only: whether only the digits 0 to 9 are allowed
 *
 * Sets [property@Policy:digits-only].
 */
void
cardpin_policy_set_digits_only (CardpinPolicy *self,
                                gboolean       digits_only)
{
  g_return_if_fail (CARDPIN_IS_POLICY (self));

  digits_only = !!digits_only;
  if (self->digits_only == digits_only)
    return;
  self->digits_only = digits_only;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DIGITS_ONLY]);
}

/**
 * cardpin_policy_check:
 * @self: a #CardpinPolicy
 * @new_pin: the PIN the person chose
 * @old_pin: (nullable): the current PIN, if known
 * @puk: (nullable): the PUK, if known
 * @error: return location for a #GError
 *
 * Checks @new_pin against the rules listed in #CardpinPolicy. Nothing touches a card.
 *
 * Returns: %TRUE if @new_pin may be used; otherwise %FALSE with a
 *   %CARDPIN_ERROR_POLICY error whose reason cardpin_error_get_policy_reason() gives
 */
gboolean
cardpin_policy_check (CardpinPolicy        *self,
                      const CardpinSecret  *new_pin,
                      const CardpinSecret  *old_pin,
                      const CardpinSecret  *puk,
                      GError              **error)
{
  g_return_val_if_fail (CARDPIN_IS_POLICY (self), FALSE);
  g_return_val_if_fail (new_pin != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_secret (self, FALSE, new_pin, old_pin, puk, error);
}

/**
 * cardpin_policy_check_puk:
 * @self: a #CardpinPolicy for PUKs (for PIV: 8 to 8 characters)
 * @new_puk: the PUK the person chose
 * @old_puk: (nullable): the current PUK, if known
 * @pin: (nullable): the PIN, if known
 * @error: return location for a #GError
 *
 * Like cardpin_policy_check() for a new PUK: a factory default PUK (12345678 on PIV
 * cards), the current PUK, and the PIN are refused, as are weak values.
 *
 * Returns: %TRUE if @new_puk may be used; otherwise %FALSE with a
 *   %CARDPIN_ERROR_POLICY error (%CARDPIN_POLICY_SAME_AS_PUK when it equals @pin)
 */
gboolean
cardpin_policy_check_puk (CardpinPolicy        *self,
                          const CardpinSecret  *new_puk,
                          const CardpinSecret  *old_puk,
                          const CardpinSecret  *pin,
                          GError              **error)
{
  g_return_val_if_fail (CARDPIN_IS_POLICY (self), FALSE);
  g_return_val_if_fail (new_puk != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_secret (self, TRUE, new_puk, old_puk, pin, error);
}

/**
 * cardpin_policy_check_confirmation:
 * @new_secret: the new PIN or PUK
 * @confirmation: the same typed a second time
 * @error: return location for a #GError
 *
 * Returns: %TRUE if both are equal (constant time); otherwise %FALSE with a
 *   %CARDPIN_ERROR_POLICY error, reason %CARDPIN_POLICY_MISMATCH
 */
gboolean
cardpin_policy_check_confirmation (const CardpinSecret  *new_secret,
                                   const CardpinSecret  *confirmation,
                                   GError              **error)
{
  g_return_val_if_fail (new_secret != NULL, FALSE);
  g_return_val_if_fail (confirmation != NULL, FALSE);

  if (cardpin_secret_equal (new_secret, confirmation))
    return TRUE;

  cardpin_set_policy_error (error, CARDPIN_POLICY_MISMATCH, "%s",
                            _("The two entries do not match. Type the new one twice the same way."));
  return FALSE;
}
