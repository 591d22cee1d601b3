/* cardpin-token.c — one PKCS#11 token (a smart card, or a software token)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <p11-kit/p11-kit.h>

#include "cardpin-enums.h"
#include "cardpin-error.h"
#include "cardpin-p11.h"
#include "cardpin-pcsc.h"
#include "cardpin-pin-state.h"
#include "cardpin-piv.h"
#include "cardpin-token-private.h"

/**
 * CardpinToken:
 *
 * One PKCS#11 token: a smart card in a reader, or a software token. Identity (module,
 * slot, reader) is fixed; status properties change on cardpin_token_refresh() and when
 * the manager re-enumerates. Card I/O never holds the card longer than one operation.
 */
G_DEFINE_FINAL_TYPE (CardpinToken, cardpin_token, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LABEL,
  PROP_MANUFACTURER,
  PROP_MODEL,
  PROP_SERIAL,
  PROP_MODULE_NAME,
  PROP_READER,
  PROP_ATR,
  PROP_HARDWARE,
  PROP_PIV,
  PROP_PIN_TRIES_LEFT,
  PROP_PUK_TRIES_LEFT,
  PROP_PIN_TRIES_MAX,
  PROP_PIN_IS_DEFAULT,
  PROP_MIN_PIN_LENGTH,
  PROP_MAX_PIN_LENGTH,
  PROP_PIN_STATE,
  PROP_HAS_PINPAD,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static gboolean
set_string (char       **field,
            const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
set_int (int *field,
         int  value)
{
  if (*field == value)
    return FALSE;
  *field = value;
  return TRUE;
}

static gboolean
set_uint (guint *field,
          guint  value)
{
  if (*field == value)
    return FALSE;
  *field = value;
  return TRUE;
}

static gboolean
set_bool (gboolean *field,
          gboolean  value)
{
  value = !!value;
  if (*field == value)
    return FALSE;
  *field = value;
  return TRUE;
}

/**
 * _cardpin_token_update:
 * @self: a token
 * @info: a fresh read of it
 *
 * Takes the status from @info and notifies what changed. Call in the token's context.
 */
void
_cardpin_token_update (CardpinToken           *self,
                       const CardpinTokenInfo *info)
{
  CardpinPinState pin_state = _cardpin_token_info_pin_state (info);
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);

  self->flags = info->flags;
  if (set_string (&self->label, info->label))
    g_object_notify_by_pspec (object, props[PROP_LABEL]);
  if (set_string (&self->manufacturer, info->manufacturer))
    g_object_notify_by_pspec (object, props[PROP_MANUFACTURER]);
  if (set_string (&self->model, info->model))
    g_object_notify_by_pspec (object, props[PROP_MODEL]);
  if (set_string (&self->serial, info->serial))
    g_object_notify_by_pspec (object, props[PROP_SERIAL]);
  if (set_string (&self->reader, info->reader))
    g_object_notify_by_pspec (object, props[PROP_READER]);
  if (set_string (&self->atr, info->atr))
    g_object_notify_by_pspec (object, props[PROP_ATR]);
  if (set_bool (&self->hardware, info->hardware))
    g_object_notify_by_pspec (object, props[PROP_HARDWARE]);
  /* whether the card has PIV is learnt only from a read that got that far: a read that
   * broke off (the card failing, pcscd gone) says nothing about it, and must not send
   * the next operation down another route */
  if (info->card_read || info->reader == NULL)
    {
      self->piv_known = TRUE;
      if (set_bool (&self->is_piv, info->is_piv))
        g_object_notify_by_pspec (object, props[PROP_PIV]);
    }
  if (set_bool (&self->pinpad, (info->flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0))
    g_object_notify_by_pspec (object, props[PROP_HAS_PINPAD]);
  if (set_uint (&self->min_pin_length, info->min_pin_length))
    g_object_notify_by_pspec (object, props[PROP_MIN_PIN_LENGTH]);
  if (set_uint (&self->max_pin_length, info->max_pin_length))
    g_object_notify_by_pspec (object, props[PROP_MAX_PIN_LENGTH]);
  if (set_int (&self->pin_tries_left, info->pin_tries_left))
    g_object_notify_by_pspec (object, props[PROP_PIN_TRIES_LEFT]);
  if (set_int (&self->pin_tries_max, info->pin_tries_max))
    g_object_notify_by_pspec (object, props[PROP_PIN_TRIES_MAX]);
  if (set_int (&self->puk_tries_left, info->puk_tries_left))
    g_object_notify_by_pspec (object, props[PROP_PUK_TRIES_LEFT]);
  if (set_int (&self->pin_is_default, info->pin_is_default))
    g_object_notify_by_pspec (object, props[PROP_PIN_IS_DEFAULT]);
  self->puk_is_default = info->puk_is_default;
  if (self->pin_state != pin_state)
    {
      self->pin_state = pin_state;
      g_object_notify_by_pspec (object, props[PROP_PIN_STATE]);
    }

  g_object_thaw_notify (object);
}

/**
 * _cardpin_token_new:
 * @modules: (nullable): the module set; %NULL for a card read over PC/SC alone
 * @info: a read of the token
 *
 * Returns: (transfer full): a token with @info's identity and status
 */
CardpinToken *
_cardpin_token_new (CardpinP11Modules *modules,
                    CardpinTokenInfo  *info)
{
  CardpinToken *self = g_object_new (CARDPIN_TYPE_TOKEN, NULL);

  self->modules = modules != NULL ? cardpin_p11_modules_ref (modules) : NULL;
  self->module_index = info->module_index;
  self->slot = info->slot;
  self->key = g_strdup (info->key);
  /* the reader is part of the identity: the card's status is read over PC/SC from it */
  self->reader = g_strdup (info->reader);
  _cardpin_token_update (self, info);
  return self;
}

const char *
_cardpin_token_get_key (CardpinToken *self)
{
  return self->key;
}

/* The PKCS#11 modules a token read over PC/SC alone loads when it needs them (the
 * manager's list; %NULL: every registered one) */
void
_cardpin_token_set_p11_paths (CardpinToken       *self,
                              const char * const *paths)
{
  g_strfreev (self->p11_paths);
  self->p11_paths = g_strdupv ((char **) paths);
}

/* Overrides */

static void
cardpin_token_finalize (GObject *object)
{
  CardpinToken *self = CARDPIN_TOKEN (object);

  g_clear_pointer (&self->modules, cardpin_p11_modules_unref);
  g_strfreev (self->p11_paths);
  g_free (self->key);
  g_free (self->label);
  g_free (self->manufacturer);
  g_free (self->model);
  g_free (self->serial);
  g_free (self->reader);
  g_free (self->atr);

  G_OBJECT_CLASS (cardpin_token_parent_class)->finalize (object);
}

static void
cardpin_token_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  CardpinToken *self = CARDPIN_TOKEN (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case PROP_MANUFACTURER:
      g_value_set_string (value, self->manufacturer);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_SERIAL:
      g_value_set_string (value, self->serial);
      break;
    case PROP_MODULE_NAME:
      g_value_set_string (value, cardpin_token_get_module_name (self));
      break;
    case PROP_READER:
      g_value_set_string (value, self->reader);
      break;
    case PROP_ATR:
      g_value_set_string (value, self->atr);
      break;
    case PROP_HARDWARE:
      g_value_set_boolean (value, self->hardware);
      break;
    case PROP_PIV:
      g_value_set_boolean (value, self->is_piv);
      break;
    case PROP_PIN_TRIES_LEFT:
      g_value_set_int (value, self->pin_tries_left);
      break;
    case PROP_PUK_TRIES_LEFT:
      g_value_set_int (value, self->puk_tries_left);
      break;
    case PROP_PIN_TRIES_MAX:
      g_value_set_int (value, self->pin_tries_max);
      break;
    case PROP_PIN_IS_DEFAULT:
      g_value_set_int (value, self->pin_is_default);
      break;
    case PROP_MIN_PIN_LENGTH:
      g_value_set_uint (value, self->min_pin_length);
      break;
    case PROP_MAX_PIN_LENGTH:
      g_value_set_uint (value, self->max_pin_length);
      break;
    case PROP_PIN_STATE:
      g_value_set_enum (value, self->pin_state);
      break;
    case PROP_HAS_PINPAD:
      g_value_set_boolean (value, self->pinpad);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_token_class_init (CardpinTokenClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                            G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = cardpin_token_finalize;
  object_class->get_property = cardpin_token_get_property;

  /**
   * CardpinToken:label:
   *
   * The token label.
   */
  props[PROP_LABEL] = g_param_spec_string ("label", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:manufacturer:
   *
   * The token's manufacturer, from PKCS#11 CK_TOKEN_INFO.
   */
  props[PROP_MANUFACTURER] = g_param_spec_string ("manufacturer", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:model:
   *
   * The token's model, from PKCS#11 CK_TOKEN_INFO.
   */
  props[PROP_MODEL] = g_param_spec_string ("model", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:serial:
   *
   * For PIV cards the CHUID GUID as 32 uppercase hex digits, else the PKCS#11 serial.
   */
  props[PROP_SERIAL] = g_param_spec_string ("serial", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:module-name:
   *
   * The name of the PKCS#11 module that shows the token.
   */
  props[PROP_MODULE_NAME] = g_param_spec_string ("module-name", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:reader:
   *
   * The PC/SC reader name, %NULL for software tokens.
   */
  props[PROP_READER] = g_param_spec_string ("reader", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:atr:
   *
   * The card's answer to reset as uppercase hex, %NULL when unknown or for
   * software tokens.
   */
  props[PROP_ATR] = g_param_spec_string ("atr", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:hardware:
   *
   * Whether the token sits in a hardware slot (a card in a reader).
   */
  props[PROP_HARDWARE] = g_param_spec_boolean ("hardware", NULL, NULL, FALSE, flags);
  /**
   * CardpinToken:piv:
   *
   * Whether the card has a PIV application (cardpin reads its counters directly).
   */
  props[PROP_PIV] = g_param_spec_boolean ("piv", NULL, NULL, FALSE, flags);
  /**
   * CardpinToken:pin-tries-left:
   *
   * PIN tries left before the PIN is blocked, as the card counts them; -1 when
   * the card does not tell.
   */
  props[PROP_PIN_TRIES_LEFT] = g_param_spec_int ("pin-tries-left", NULL, NULL,
                                                 -1, G_MAXINT, -1, flags);
  /**
   * CardpinToken:puk-tries-left:
   *
   * PUK tries left before the PUK is blocked; -1 when the card does not tell.
   */
  props[PROP_PUK_TRIES_LEFT] = g_param_spec_int ("puk-tries-left", NULL, NULL,
                                                 -1, G_MAXINT, -1, flags);
  /**
   * CardpinToken:pin-tries-max:
   *
   * The PIN retry counter's maximum; -1 when the card does not tell.
   */
  props[PROP_PIN_TRIES_MAX] = g_param_spec_int ("pin-tries-max", NULL, NULL,
                                                -1, G_MAXINT, -1, flags);
  /**
   * CardpinToken:pin-is-default:
   *
   * 1 when the card says its PIN is still the factory default, 0 when not, -1 unknown.
   */
  props[PROP_PIN_IS_DEFAULT] = g_param_spec_int ("pin-is-default", NULL, NULL,
                                                 -1, 1, -1, flags);
  /**
   * CardpinToken:min-pin-length:
   *
   * The shortest PIN the token takes (PKCS#11 ulMinPinLen), 0 when unknown.
   */
  props[PROP_MIN_PIN_LENGTH] = g_param_spec_uint ("min-pin-length", NULL, NULL,
                                                  0, G_MAXUINT, 0, flags);
  /**
   * CardpinToken:max-pin-length:
   *
   * The longest PIN the token takes (PKCS#11 ulMaxPinLen), 0 when unknown.
   */
  props[PROP_MAX_PIN_LENGTH] = g_param_spec_uint ("max-pin-length", NULL, NULL,
                                                  0, G_MAXUINT, 0, flags);
  /**
   * CardpinToken:pin-state:
   *
   * The PIN's state: exact tries from the card win over the PKCS#11 flags.
   */
  props[PROP_PIN_STATE] = g_param_spec_enum ("pin-state", NULL, NULL,
                                             CARDPIN_TYPE_PIN_STATE,
                                             CARDPIN_PIN_STATE_OK, flags);
  /**
   * CardpinToken:has-pinpad:
   *
   * Whether the reader has its own PIN pad (the PIN is typed there, never
   * on the computer).
   */
  props[PROP_HAS_PINPAD] = g_param_spec_boolean ("has-pinpad", NULL, NULL, FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
cardpin_token_init (CardpinToken *self)
{
  self->pin_tries_left = -1;
  self->pin_tries_max = -1;
  self->puk_tries_left = -1;
  self->pin_is_default = -1;
  self->puk_is_default = -1;
  self->pin_state = CARDPIN_PIN_STATE_OK;
}

/* Public API */

/**
 * cardpin_pin_state_to_string:
 * @pin_state: a PIN state
 *
 * Returns: the stable machine-readable name: ok, count-low, final-try, locked,
 *   must-change or not-initialized
 */
const char *
cardpin_pin_state_to_string (CardpinPinState pin_state)
{
  switch (pin_state)
    {
    case CARDPIN_PIN_STATE_OK:
      return "ok";
    case CARDPIN_PIN_STATE_COUNT_LOW:
      return "count-low";
    case CARDPIN_PIN_STATE_FINAL_TRY:
      return "final-try";
    case CARDPIN_PIN_STATE_LOCKED:
      return "locked";
    case CARDPIN_PIN_STATE_MUST_CHANGE:
      return "must-change";
    case CARDPIN_PIN_STATE_NOT_INITIALIZED:
      return "not-initialized";
    default:
      g_return_val_if_reached ("ok");
    }
}

const char *
cardpin_token_get_label (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  return self->label;
}

const char *
cardpin_token_get_manufacturer (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  return self->manufacturer;
}

const char *
cardpin_token_get_model (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  return self->model;
}

const char *
cardpin_token_get_serial (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  return self->serial;
}

const char *
cardpin_token_get_module_name (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  /* a card read over PC/SC alone involves no module */
  if (self->modules == NULL)
    return NULL;
  return cardpin_p11_modules_get_name (self->modules, self->module_index);
}

const char *
cardpin_token_get_reader (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  return self->reader;
}

const char *
cardpin_token_get_atr (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  return self->atr;
}

gboolean
cardpin_token_is_hardware (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  return self->hardware;
}

/**
 * cardpin_token_is_piv:
 * @self: a token
 *
 * Returns: whether the card has a PIV application
 */
gboolean
cardpin_token_is_piv (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  return self->is_piv;
}

int
cardpin_token_get_pin_tries_left (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), -1);
  return self->pin_tries_left;
}

int
cardpin_token_get_puk_tries_left (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), -1);
  return self->puk_tries_left;
}

int
cardpin_token_get_pin_tries_max (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), -1);
  return self->pin_tries_max;
}

/**
 * cardpin_token_get_pin_is_default:
 * @self: a token
 *
 * Returns: 1 when the card reports its PIN is still the factory default, 0 when not,
 *   -1 when it cannot tell
 */
int
cardpin_token_get_pin_is_default (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), -1);
  return self->pin_is_default;
}

/**
 * cardpin_token_get_puk_is_default:
 * @self: a token
 *
 * Returns: 1 when the card reports its PUK is still the factory default, 0 when not,
 *   -1 when it cannot tell (no card try is ever spent to find out)
 */
int
cardpin_token_get_puk_is_default (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), -1);
  return self->puk_is_default;
}

guint
cardpin_token_get_min_pin_length (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), 0);
  return self->min_pin_length;
}

guint
cardpin_token_get_max_pin_length (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), 0);
  return self->max_pin_length;
}

CardpinPinState
cardpin_token_get_pin_state (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), CARDPIN_PIN_STATE_OK);
  return self->pin_state;
}

gboolean
cardpin_token_has_pinpad (CardpinToken *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  return self->pinpad;
}

/* Factory values */

gboolean
cardpin_token_is_factory_pin (CardpinToken        *self,
                              const CardpinSecret *pin)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  return self->is_piv && pin != NULL &&
         cardpin_secret_equal_bytes (pin, (const guint8 *) CARDPIN_PIV_FACTORY_PIN,
                                     strlen (CARDPIN_PIV_FACTORY_PIN));
}

gboolean
cardpin_token_is_factory_puk (CardpinToken        *self,
                              const CardpinSecret *puk)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  return self->is_piv && puk != NULL &&
         cardpin_secret_equal_bytes (puk, (const guint8 *) CARDPIN_PIV_FACTORY_PUK,
                                     strlen (CARDPIN_PIV_FACTORY_PUK));
}

