/* cardpin-token.c — one PKCS#11 token (a smart card, or a software token)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <p11-kit/p11-kit.h>

#include "cardpin-apdu.h"
#include "cardpin-atr-db.h"
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
struct _CardpinToken {
  GObject             parent_instance;

  CardpinP11Modules  *modules;
  guint               module_index;
  CK_SLOT_ID          slot;
  char               *key;

  char               *label;
  char               *manufacturer;
  char               *model;
  char               *serial;
  char               *reader;
  char               *atr;
  gboolean            hardware;
  gboolean            is_piv;
  gboolean            pinpad;
  CK_FLAGS            flags;
  guint               min_pin_length;
  guint               max_pin_length;
  int                 pin_tries_left;
  int                 pin_tries_max;
  int                 puk_tries_left;
  int                 pin_is_default;
  int                 puk_is_default;
  CardpinPinState     pin_state;
};

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

/* Helpers */

/**
 * _cardpin_match_reader:
 * @slot_description: a PKCS#11 slot description, trimmed
 * @readers: (nullable): the PC/SC reader names
 *
 * OpenSC describes a reader's slot with the reader name, truncated to the 64 bytes of
 * CK_SLOT_INFO.slotDescription.
 *
 * Returns: (nullable): the reader that @slot_description names
 */
const char *
_cardpin_match_reader (const char         *slot_description,
                       const char * const *readers)
{
  gsize len;
  guint i;

  if (readers == NULL || slot_description == NULL || *slot_description == '\0')
    return NULL;

  for (i = 0; readers[i] != NULL; i++)
    if (g_str_equal (readers[i], slot_description))
      return readers[i];

  /* truncated to the field size (trailing blanks of the reader name trimmed too) */
  len = strlen (slot_description);
  if (len < 56)
    return NULL;
  for (i = 0; readers[i] != NULL; i++)
    if (strncmp (readers[i], slot_description, len) == 0)
      return readers[i];

  return NULL;
}

void
_cardpin_token_info_free (CardpinTokenInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->key);
  g_free (info->label);
  g_free (info->manufacturer);
  g_free (info->model);
  g_free (info->serial);
  g_free (info->reader);
  g_free (info->atr);
  g_free (info);
}

/**
 * _cardpin_token_info_pin_state:
 * @info: what a read found
 *
 * Exact tries from the card win over PKCS#11 flags: 0 -> locked, 1 -> final try, fewer
 * than the maximum -> count low. Otherwise the flags decide.
 */
CardpinPinState
_cardpin_token_info_pin_state (const CardpinTokenInfo *info)
{
  if (info->pin_tries_left == 0)
    return CARDPIN_PIN_STATE_LOCKED;
  if (info->pin_tries_left < 0 && (info->flags & CKF_USER_PIN_LOCKED))
    return CARDPIN_PIN_STATE_LOCKED;
  if (!(info->flags & CKF_USER_PIN_INITIALIZED))
    return CARDPIN_PIN_STATE_NOT_INITIALIZED;
  if (info->pin_tries_left == 1)
    return CARDPIN_PIN_STATE_FINAL_TRY;
  if (info->pin_tries_left > 0 && info->pin_tries_max > 0 &&
      info->pin_tries_left < info->pin_tries_max)
    return CARDPIN_PIN_STATE_COUNT_LOW;
  if (info->flags & CKF_USER_PIN_TO_BE_CHANGED)
    return CARDPIN_PIN_STATE_MUST_CHANGE;
  if (info->pin_tries_left < 0)
    {
      if (info->flags & CKF_USER_PIN_FINAL_TRY)
        return CARDPIN_PIN_STATE_FINAL_TRY;
      if (info->flags & CKF_USER_PIN_COUNT_LOW)
        return CARDPIN_PIN_STATE_COUNT_LOW;
    }
  return CARDPIN_PIN_STATE_OK;
}

/**
 * _cardpin_token_info_read_card:
 * @info: what is known of the token; its PIV fields are filled in
 * @io: the card, inside a transaction
 * @error: return location
 *
 * Reads the PIV application's counters and serial. A card without the PIV application
 * is no error (@info->is_piv becomes %FALSE). Any transport will do: PC/SC for the
 * token, a scripted card for the fuzzer.
 */
gboolean
_cardpin_token_info_read_card (CardpinTokenInfo     *info,
                               const CardpinCardIo  *io,
                               GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *serial = NULL;
  CardpinPivTries tries;

  if (!cardpin_piv_select (io, &local_error))
    {
      if (!g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      info->is_piv = FALSE;
      return TRUE;
    }
  info->is_piv = TRUE;

  if (!cardpin_piv_get_tries (io, CARDPIN_PIV_KEY_PIN, &tries, error))
    return FALSE;
  info->pin_tries_left = tries.tries_left;
  info->pin_tries_max = tries.tries_max;
  info->pin_is_default = tries.is_default;

  if (!cardpin_piv_get_tries (io, CARDPIN_PIV_KEY_PUK, &tries, error))
    return FALSE;
  info->puk_tries_left = tries.tries_left;
  info->puk_is_default = tries.is_default;

  serial = cardpin_piv_read_serial (io, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (serial != NULL)
    {
      g_free (info->serial);
      info->serial = g_steal_pointer (&serial);
    }
  return TRUE;
}

/* Reads the card over PC/SC: one transaction, then disconnect. */
static gboolean
read_card (CardpinTokenInfo  *info,
           GCancellable      *cancellable,
           GError           **error)
{
  g_autoptr(CardpinPcscCard) card = NULL;
  CardpinCardIo io;
  gboolean ok;

  card = cardpin_pcsc_card_connect (info->reader, cancellable, error);
  if (card == NULL)
    return FALSE;

  g_free (info->atr);
  info->atr = g_strdup (cardpin_pcsc_card_get_atr (card));

  if (!cardpin_pcsc_card_begin_transaction (card, error))
    return FALSE;

  io = cardpin_pcsc_card_get_io (card);
  ok = _cardpin_token_info_read_card (info, &io, error);
  cardpin_pcsc_card_end_transaction (card, SCARD_LEAVE_CARD, NULL);
  return ok;
}

/**
 * _cardpin_token_info_read:
 * @modules: the module set
 * @module_index: which module
 * @slot: the slot with the token
 * @readers: (nullable): the PC/SC reader names, %NULL to list them here
 * @strict: whether a failure to read the card over PC/SC is an error (else the PKCS#11
 *   view is kept and tries stay unknown)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Reads a token's status. Blocking.
 */
CardpinTokenInfo *
_cardpin_token_info_read (CardpinP11Modules   *modules,
                          guint                module_index,
                          CK_SLOT_ID           slot,
                          const char * const  *readers,
                          gboolean             strict,
                          GCancellable        *cancellable,
                          GError             **error)
{
  g_autoptr(CardpinTokenInfo) info = g_new0 (CardpinTokenInfo, 1);
  g_auto(GStrv) own_readers = NULL;
  g_autofree char *description = NULL;
  g_autofree char *p11_serial = NULL;
  CK_FUNCTION_LIST *funcs = cardpin_p11_modules_get (modules, module_index);
  CK_SLOT_INFO slot_info;
  CK_TOKEN_INFO token_info;
  CK_RV rv;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  info->module_index = module_index;
  info->slot = slot;
  info->pin_tries_left = -1;
  info->pin_tries_max = -1;
  info->puk_tries_left = -1;
  info->pin_is_default = -1;
  info->puk_is_default = -1;

  rv = funcs->C_GetSlotInfo (slot, &slot_info);
  if (!cardpin_p11_set_error (error, rv, "C_GetSlotInfo"))
    return NULL;
  rv = funcs->C_GetTokenInfo (slot, &token_info);
  if (!cardpin_p11_set_error (error, rv, "C_GetTokenInfo"))
    return NULL;

  description = cardpin_p11_string (slot_info.slotDescription,
                                    sizeof slot_info.slotDescription);
  info->label = cardpin_p11_string (token_info.label, sizeof token_info.label);
  info->manufacturer = cardpin_p11_string (token_info.manufacturerID,
                                           sizeof token_info.manufacturerID);
  info->model = cardpin_p11_string (token_info.model, sizeof token_info.model);
  p11_serial = cardpin_p11_string (token_info.serialNumber, sizeof token_info.serialNumber);
  info->serial = g_strdup (p11_serial);
  info->flags = token_info.flags;
  info->hardware = (slot_info.flags & CKF_HW_SLOT) != 0;
  info->min_pin_length = token_info.ulMinPinLen;
  info->max_pin_length = token_info.ulMaxPinLen;
  info->key = g_strdup_printf ("%u:%lu:%s:%s", module_index, (gulong) slot, p11_serial,
                               info->label);

  if (info->hardware)
    {
      const char *reader;

      if (readers == NULL)
        {
          SCARDCONTEXT context = 0;
          g_autoptr(GError) pcsc_error = NULL;

          if (cardpin_pcsc_establish (&context, &pcsc_error))
            {
              own_readers = cardpin_pcsc_list_readers (context, &pcsc_error);
              SCardReleaseContext (context);
            }
          if (pcsc_error != NULL)
            {
              if (strict)
                {
                  g_propagate_error (error, g_steal_pointer (&pcsc_error));
                  return NULL;
                }
              g_debug ("PC/SC: %s", pcsc_error->message);
            }
          readers = (const char * const *) own_readers;
        }

      reader = _cardpin_match_reader (description, readers);
      if (reader != NULL)
        {
          g_autoptr(GError) card_error = NULL;

          info->reader = g_strdup (reader);
          if (!read_card (info, cancellable, &card_error))
            {
              if (strict)
                {
                  g_propagate_error (error, g_steal_pointer (&card_error));
                  return NULL;
                }
              g_debug ("Reading the card in %s: %s", reader, card_error->message);
            }
        }
      else
        {
          g_debug ("No PC/SC reader matches slot \"%s\"", description);
        }
    }

  return g_steal_pointer (&info);
}

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
  if (set_bool (&self->is_piv, info->is_piv))
    g_object_notify_by_pspec (object, props[PROP_PIV]);
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
 * @modules: the module set
 * @info: a read of the token
 *
 * Returns: (transfer full): a token with @info's identity and status
 */
CardpinToken *
_cardpin_token_new (CardpinP11Modules *modules,
                    CardpinTokenInfo  *info)
{
  CardpinToken *self = g_object_new (CARDPIN_TYPE_TOKEN, NULL);

  self->modules = cardpin_p11_modules_ref (modules);
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

/* Overrides */

static void
cardpin_token_finalize (GObject *object)
{
  CardpinToken *self = CARDPIN_TOKEN (object);

  g_clear_pointer (&self->modules, cardpin_p11_modules_unref);
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
  props[PROP_MANUFACTURER] = g_param_spec_string ("manufacturer", NULL, NULL, NULL, flags);
  props[PROP_MODEL] = g_param_spec_string ("model", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:serial:
   *
   * For PIV cards the CHUID GUID as 32 uppercase hex digits, else the PKCS#11 serial.
   */
  props[PROP_SERIAL] = g_param_spec_string ("serial", NULL, NULL, NULL, flags);
  props[PROP_MODULE_NAME] = g_param_spec_string ("module-name", NULL, NULL, NULL, flags);
  /**
   * CardpinToken:reader:
   *
   * The PC/SC reader name, %NULL for software tokens.
   */
  props[PROP_READER] = g_param_spec_string ("reader", NULL, NULL, NULL, flags);
  props[PROP_ATR] = g_param_spec_string ("atr", NULL, NULL, NULL, flags);
  props[PROP_HARDWARE] = g_param_spec_boolean ("hardware", NULL, NULL, FALSE, flags);
  /**
   * CardpinToken:piv:
   *
   * Whether the card has a PIV application (cardpin reads its counters directly).
   */
  props[PROP_PIV] = g_param_spec_boolean ("piv", NULL, NULL, FALSE, flags);
  props[PROP_PIN_TRIES_LEFT] = g_param_spec_int ("pin-tries-left", NULL, NULL,
                                                 -1, G_MAXINT, -1, flags);
  props[PROP_PUK_TRIES_LEFT] = g_param_spec_int ("puk-tries-left", NULL, NULL,
                                                 -1, G_MAXINT, -1, flags);
  props[PROP_PIN_TRIES_MAX] = g_param_spec_int ("pin-tries-max", NULL, NULL,
                                                -1, G_MAXINT, -1, flags);
  /**
   * CardpinToken:pin-is-default:
   *
   * 1 when the card says its PIN is still the factory default, 0 when not, -1 unknown.
   */
  props[PROP_PIN_IS_DEFAULT] = g_param_spec_int ("pin-is-default", NULL, NULL,
                                                 -1, 1, -1, flags);
  props[PROP_MIN_PIN_LENGTH] = g_param_spec_uint ("min-pin-length", NULL, NULL,
                                                  0, G_MAXUINT, 0, flags);
  props[PROP_MAX_PIN_LENGTH] = g_param_spec_uint ("max-pin-length", NULL, NULL,
                                                  0, G_MAXUINT, 0, flags);
  props[PROP_PIN_STATE] = g_param_spec_enum ("pin-state", NULL, NULL,
                                             CARDPIN_TYPE_PIN_STATE,
                                             CARDPIN_PIN_STATE_OK, flags);
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

/**
 * cardpin_token_refresh:
 * @self: a token
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Re-reads flags and tries left from the token and the card. Blocking; the card is held
 * only for the few APDUs of the read.
 *
 * Returns: %FALSE with %CARDPIN_ERROR_CARD_REMOVED when the card is gone, or another error
 */
gboolean
cardpin_token_refresh (CardpinToken  *self,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(CardpinTokenInfo) info = NULL;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);

  info = _cardpin_token_info_read (self->modules, self->module_index, self->slot, NULL,
                                   TRUE, cancellable, error);
  if (info == NULL)
    return FALSE;

  _cardpin_token_update (self, info);
  return TRUE;
}

static void
refresh_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  CardpinToken *self = source_object;
  CardpinTokenInfo *info;
  GError *error = NULL;

  info = _cardpin_token_info_read (self->modules, self->module_index, self->slot, NULL,
                                   TRUE, cancellable, &error);
  if (info == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, info, (GDestroyNotify) _cardpin_token_info_free);
}

static void
refresh_read_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(CardpinTokenInfo) info = NULL;
  GError *error = NULL;

  info = g_task_propagate_pointer (G_TASK (result), &error);
  if (info == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* applied here, in the caller's context, before the caller hears of it */
  _cardpin_token_update (CARDPIN_TOKEN (source), info);
  g_task_return_boolean (task, TRUE);
}

/**
 * cardpin_token_refresh_async:
 * @self: a token
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: closure
 *
 * Asynchronous cardpin_token_refresh(); properties change in the calling context.
 */
void
cardpin_token_refresh_async (CardpinToken        *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) inner = NULL;

  g_return_if_fail (CARDPIN_IS_TOKEN (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cardpin_token_refresh_async);

  inner = g_task_new (self, cancellable, refresh_read_cb, g_steal_pointer (&task));
  g_task_set_source_tag (inner, refresh_thread);
  g_task_run_in_thread (inner, refresh_thread);
}

gboolean
cardpin_token_refresh_finish (CardpinToken  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_token_refresh_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* PIN operations */


/* One operation and a snapshot of what it needs from the token, so that it can run in
 * a worker thread while the token's properties change in the main context. */
typedef struct {
  OpKind              kind;
  CardpinSecret      *secrets[4];
  CardpinP11Modules  *modules;
  guint               module_index;
  CK_SLOT_ID          slot;
  char               *reader;
  gboolean            is_piv;
  gboolean            pinpad;
  CK_FLAGS            flags;
  guint               min_pin_length;
  guint               max_pin_length;
  CardpinTokenInfo   *info;       /* the status read after the operation */
} Op;

static void
op_free (Op *op)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (op->secrets); i++)
    g_clear_pointer (&op->secrets[i], cardpin_secret_unref);
  g_clear_pointer (&op->modules, cardpin_p11_modules_unref);
  g_clear_pointer (&op->info, _cardpin_token_info_free);
  g_free (op->reader);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Op, op_free)

static Op *
op_new (CardpinToken        *self,
        OpKind               kind,
        const CardpinSecret *s0,
        const CardpinSecret *s1,
        const CardpinSecret *s2,
        const CardpinSecret *s3)
{
  const CardpinSecret *secrets[4] = { s0, s1, s2, s3 };
  Op *op = g_new0 (Op, 1);
  guint i;

  op->kind = kind;
  for (i = 0; i < G_N_ELEMENTS (secrets); i++)
    if (secrets[i] != NULL)
      op->secrets[i] = cardpin_secret_ref ((CardpinSecret *) secrets[i]);
  op->modules = cardpin_p11_modules_ref (self->modules);
  op->module_index = self->module_index;
  op->slot = self->slot;
  op->reader = g_strdup (self->reader);
  op->is_piv = self->is_piv;
  op->pinpad = self->pinpad;
  op->flags = self->flags;
  op->min_pin_length = self->min_pin_length;
  op->max_pin_length = self->max_pin_length;
  return op;
}

static gboolean
require_secret (const CardpinSecret  *secret,
                gboolean              pinpad,
                GError              **error)
{
  if (secret != NULL || pinpad)
    return TRUE;
  g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
               _("Internal error: a PIN is missing."));
  return FALSE;
}

/* PKCS#11 results of C_Login / C_SetPIN / C_InitPIN as CARDPIN_ERROR codes */
static void
set_p11_pin_error (GError   **error,
                   const Op  *op,
                   CK_RV      rv,
                   gboolean   so,
                   gboolean   changing,
                   const char *what)
{
  switch (rv)
    {
    case CKR_PIN_INCORRECT:
      if (so)
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_PUK, -1,
                                      _("Wrong PUK or administrator PIN. Check it and try "
                                        "again; each wrong try counts."));
      else
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_PIN, -1,
                                      _("Wrong PIN. Check it and try again; each wrong try "
                                        "counts."));
      return;
    case CKR_PIN_LOCKED:
      if (so)
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_PUK_BLOCKED, 0,
                                      _("The PUK is blocked. Ask your administrator to "
                                        "unblock the card."));
      else
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_PIN_BLOCKED, 0,
                                      _("The PIN is blocked. Unblock it with your PUK or "
                                        "ask your administrator."));
      return;
    case CKR_PIN_LEN_RANGE:
      {
        /* the new PIN is the one out of range: the current one was checked before */
        gsize len = op->secrets[1] != NULL ? cardpin_secret_get_length (op->secrets[1]) : 0;
        gboolean too_long = op->max_pin_length > 0 && len > op->max_pin_length;

        if (op->min_pin_length > 0 && op->max_pin_length > 0)
          cardpin_set_policy_error (error,
                                    too_long ? CARDPIN_POLICY_TOO_LONG : CARDPIN_POLICY_TOO_SHORT,
                                    too_long ? _("This PIN is too long: the card takes %u to %u "
                                                 "characters. Choose a shorter PIN.")
                                             : _("This PIN is too short: the card takes %u to %u "
                                                 "characters. Choose a longer PIN."),
                                    op->min_pin_length, op->max_pin_length);
        else
          cardpin_set_policy_error (error,
                                    too_long ? CARDPIN_POLICY_TOO_LONG : CARDPIN_POLICY_TOO_SHORT,
                                    "%s", _("The card does not accept a PIN of this length. "
                                            "Choose another PIN."));
        return;
      }
    case CKR_PIN_INVALID:
      cardpin_set_policy_error (error, CARDPIN_POLICY_BAD_CHARACTER,
                                _("The card does not accept these characters in a PIN. "
                                  "Choose another PIN."));
      return;
    case CKR_USER_PIN_NOT_INITIALIZED:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("This token has no PIN yet. Set one up first."));
      return;
    case CKR_FUNCTION_CANCELED:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                   _("The PIN entry on the reader was cancelled."));
      return;
    default:
      break;
    }
  cardpin_p11_set_error (error, rv, what);
}

static CK_UTF8CHAR_PTR
secret_ptr (const CardpinSecret *secret)
{
  return secret ? (CK_UTF8CHAR_PTR) cardpin_secret_get_data (secret) : NULL;
}

static CK_ULONG
secret_len (const CardpinSecret *secret)
{
  return secret ? cardpin_secret_get_length (secret) : 0;
}

static gboolean
op_run_p11 (Op            *op,
            GCancellable  *cancellable,
            GError       **error)
{
  CK_FUNCTION_LIST *funcs = cardpin_p11_modules_get (op->modules, op->module_index);
  CardpinSecret **s = op->secrets;
  CK_SESSION_HANDLE session;
  gboolean ok = FALSE;
  CK_RV rv;

  if (op->kind == OP_CHANGE_PUK)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("cardpin can change the PUK of PIV cards only. Ask your "
                     "administrator."));
      return FALSE;
    }

  rv = funcs->C_OpenSession (op->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                             &session);
  if (!cardpin_p11_set_error (error, rv, "C_OpenSession"))
    return FALSE;

  switch (op->kind)
    {
    case OP_VERIFY:
      rv = funcs->C_Login (session, CKU_USER, secret_ptr (s[0]), secret_len (s[0]));
      if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        {
          funcs->C_Logout (session);
          ok = TRUE;
        }
      else
        {
          set_p11_pin_error (error, op, rv, FALSE, FALSE, "C_Login");
        }
      break;

    case OP_CHANGE_PIN:
      rv = funcs->C_SetPIN (session, secret_ptr (s[0]), secret_len (s[0]),
                            secret_ptr (s[1]), secret_len (s[1]));
      ok = rv == CKR_OK;
      if (!ok)
        set_p11_pin_error (error, op, rv, FALSE, TRUE, "C_SetPIN");
      break;

    case OP_UNBLOCK_PUK:
    case OP_SETUP:
      if (op->kind == OP_SETUP && (op->flags & CKF_USER_PIN_INITIALIZED))
        {
          rv = funcs->C_SetPIN (session, secret_ptr (s[0]), secret_len (s[0]),
                                secret_ptr (s[1]), secret_len (s[1]));
          ok = rv == CKR_OK;
          if (!ok)
            set_p11_pin_error (error, op, rv, FALSE, TRUE, "C_SetPIN");
          break;
        }
      /* the PKCS#11 route: log in as SO with the PUK (or SO PIN), C_InitPIN */
      rv = funcs->C_Login (session, CKU_SO, secret_ptr (s[0]), secret_len (s[0]));
      if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        {
          set_p11_pin_error (error, op, rv, TRUE, FALSE, "C_Login");
          break;
        }
      rv = funcs->C_InitPIN (session, secret_ptr (s[1]), secret_len (s[1]));
      ok = rv == CKR_OK;
      if (!ok)
        {
          if (rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_USER_NOT_LOGGED_IN)
            g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                         _("This token cannot set a new PIN with the PUK. Ask your "
                           "administrator."));
          else
            set_p11_pin_error (error, op, rv, FALSE, TRUE, "C_InitPIN");
        }
      funcs->C_Logout (session);
      break;

    case OP_CHANGE_PUK:
    default:
      g_assert_not_reached ();
    }

  funcs->C_CloseSession (session);
  return ok;
}

/* The PIV key each secret of @kind is for, and whether it is a new value */
static gboolean
check_piv_secrets (OpKind                kind,
                   CardpinSecret * const *s,
                   GError              **error)
{
  static const struct { guint8 key; gboolean is_new; } roles[][4] = {
    [OP_VERIFY]      = { { CARDPIN_PIV_KEY_PIN, FALSE } },
    [OP_CHANGE_PIN]  = { { CARDPIN_PIV_KEY_PIN, FALSE }, { CARDPIN_PIV_KEY_PIN, TRUE } },
    [OP_CHANGE_PUK]  = { { CARDPIN_PIV_KEY_PUK, FALSE }, { CARDPIN_PIV_KEY_PUK, TRUE } },
    [OP_UNBLOCK_PUK] = { { CARDPIN_PIV_KEY_PUK, FALSE }, { CARDPIN_PIV_KEY_PIN, TRUE } },
    [OP_SETUP]       = { { CARDPIN_PIV_KEY_PIN, FALSE }, { CARDPIN_PIV_KEY_PIN, TRUE },
                         { CARDPIN_PIV_KEY_PUK, FALSE }, { CARDPIN_PIV_KEY_PUK, TRUE } },
  };
  guint n = kind == OP_VERIFY ? 1 : kind == OP_SETUP ? 4 : 2;

  for (guint i = 0; i < n; i++)
    if (s[i] != NULL &&
        !cardpin_piv_check_reference (s[i], roles[kind][i].key, roles[kind][i].is_new, error))
      return FALSE;
  return TRUE;
}

/**
 * _cardpin_piv_run_op:
 * @kind: the operation
 * @secrets: (array fixed-size=4): its secrets: current and new value; for set-up also
 *   the current and the new PUK (both %NULL: the PUK stays)
 * @io: the card, inside a transaction
 * @error: return location
 *
 * Runs a PIN operation with PIV APDUs, then logs the PIN out again. Any transport will
 * do: PC/SC for the token, a scripted card for the fuzzer.
 */
gboolean
_cardpin_piv_run_op (OpKind                kind,
                     CardpinSecret * const *secrets,
                     const CardpinCardIo  *io,
                     gboolean             *cleared,
                     GError              **error)
{
  CardpinSecret * const *s = secrets;
  gboolean ok = FALSE;

  if (cleared != NULL)
    *cleared = FALSE;

  /* every value is checked before the first APDU: a value the card cannot hold never
   * reaches it, so it never costs a try (nor a half-done operation) */
  if (!check_piv_secrets (kind, secrets, error))
    return FALSE;

  if (!cardpin_piv_select (io, error))
    return FALSE;

  switch (kind)
    {
    case OP_VERIFY:
      ok = cardpin_piv_verify (io, s[0], error);
      break;
    case OP_CHANGE_PIN:
      ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PIN, s[0], s[1], error);
      break;
    case OP_CHANGE_PUK:
      ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PUK, s[0], s[1], error);
      break;
    case OP_UNBLOCK_PUK:
      ok = cardpin_piv_reset_retry_counter (io, s[0], s[1], error);
      break;
    case OP_SETUP:
      /* all or nothing: verify the current PIN, then change the PUK (which checks the
       * current PUK), and only then the PIN, which can no longer fail on a wrong value */
      if (s[2] == NULL || s[3] == NULL)
        {
          ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PIN, s[0], s[1], error);
          break;
        }
      ok = cardpin_piv_verify (io, s[0], error) &&
           cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PUK, s[2], s[3], error);
      if (ok)
        {
          ok = cardpin_piv_change_reference (io, CARDPIN_PIV_KEY_PIN, s[0], s[1], error);
          if (!ok)
            g_prefix_error (error, _("Your new PUK is set, but the PIN was not changed: "));
        }
      break;
    default:
      g_assert_not_reached ();
    }

  /* leave no verified PIN behind in the card session; when the card cannot be seen to
   * have forgotten it, the caller resets the card */
  if (cleared != NULL)
    *cleared = cardpin_piv_logout (io, NULL);
  else
    cardpin_piv_logout (io, NULL);
  return ok;
}

static gboolean
op_run_piv (Op            *op,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(CardpinPcscCard) card = NULL;
  CardpinCardIo io;
  gboolean cleared = FALSE;
  gboolean ok;

  card = cardpin_pcsc_card_connect (op->reader, cancellable, error);
  if (card == NULL)
    return FALSE;
  if (!cardpin_pcsc_card_begin_transaction (card, error))
    return FALSE;

  io = cardpin_pcsc_card_get_io (card);
  ok = _cardpin_piv_run_op (op->kind, op->secrets, &io, &cleared, error);
  /* the card is left as it was only when it has verifiably forgotten the PIN */
  cardpin_pcsc_card_end_transaction (card, cleared ? SCARD_LEAVE_CARD : SCARD_RESET_CARD,
                                     NULL);
  return ok;
}

/* The PKCS#11 route: a value the token cannot hold (outside its PIN lengths, or with a
 * NUL, which C_Login would not see) is refused before any call that could cost a try. */
static gboolean
check_p11_secrets (Op      *op,
                   GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (op->secrets); i++)
    {
      const CardpinSecret *secret = op->secrets[i];
      gsize len;

      if (secret == NULL)
        continue;
      len = cardpin_secret_get_length (secret);
      if (memchr (cardpin_secret_get_data (secret), 0, len) != NULL)
        {
          cardpin_set_policy_error (error, CARDPIN_POLICY_BAD_CHARACTER, "%s",
                                    _("A PIN cannot hold a NUL character. Nothing was sent "
                                      "to the token and no try was used."));
          return FALSE;
        }
      if ((op->min_pin_length > 0 && len < op->min_pin_length) ||
          (op->max_pin_length > 0 && len > op->max_pin_length))
        {
          cardpin_set_policy_error (error,
                                    len < op->min_pin_length ? CARDPIN_POLICY_TOO_SHORT
                                                             : CARDPIN_POLICY_TOO_LONG,
                                    _("This token takes PINs of %u to %u characters. Nothing "
                                      "was sent to the token and no try was used."),
                                    op->min_pin_length, op->max_pin_length);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
op_run (Op            *op,
        GCancellable  *cancellable,
        GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean ok;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (op->is_piv && !op->pinpad && op->reader != NULL)
    {
      if (!require_secret (op->secrets[0], FALSE, error) ||
          (op->kind != OP_VERIFY && !require_secret (op->secrets[1], FALSE, error)))
        return FALSE;
      ok = op_run_piv (op, cancellable, &local_error);
    }
  else
    {
      /* on a pinpad reader the reader asks: no secrets needed */
      if (!require_secret (op->secrets[0], op->pinpad, error) ||
          (op->kind != OP_VERIFY && !require_secret (op->secrets[1], op->pinpad, error)) ||
          !check_p11_secrets (op, error))
        return FALSE;
      ok = op_run_p11 (op, cancellable, &local_error);
    }

  /* the status after the operation: exact tries for the error and the properties */
  op->info = _cardpin_token_info_read (op->modules, op->module_index, op->slot, NULL,
                                       FALSE, NULL, NULL);

  if (!ok && op->kind != OP_VERIFY &&
      g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED))
    {
      /* the card may have applied the change before it went: say so, so that nobody
       * spends tries on the old value blindly */
      g_clear_error (&local_error);
      g_set_error (&local_error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED,
                   _("The card was removed during the change. Insert it again: if the "
                     "change was completed the new value works, otherwise the old one "
                     "still does."));
    }

  if (!ok)
    {
      if (op->info != NULL && cardpin_error_get_tries_left (local_error) < 0 &&
          g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN) &&
          op->info->pin_tries_left >= 0)
        {
          int left = op->info->pin_tries_left;

          g_clear_error (&local_error);
          if (left == 0)
            cardpin_set_error_with_tries (&local_error, CARDPIN_ERROR_PIN_BLOCKED, 0,
                                          _("The PIN is blocked. Unblock it with your PUK "
                                            "or ask your administrator."));
          else
            cardpin_set_error_with_tries (&local_error, CARDPIN_ERROR_WRONG_PIN, left,
                                          g_dngettext (GETTEXT_PACKAGE,
                                                       "Wrong PIN. %d try left before the "
                                                       "PIN is blocked.",
                                                       "Wrong PIN. %d tries left before the "
                                                       "PIN is blocked.", left), left);
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return ok;
}

static gboolean
op_run_sync (CardpinToken  *self,
             Op            *op,
             GCancellable  *cancellable,
             GError       **error)
{
  gboolean ok = op_run (op, cancellable, error);

  if (op->info != NULL)
    _cardpin_token_update (self, op->info);
  return ok;
}

static void
op_thread (GTask        *task,
           gpointer      source_object,
           gpointer      task_data,
           GCancellable *cancellable)
{
  GError *error = NULL;

  if (op_run (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
op_done_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Op *op = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (op->info != NULL)
    _cardpin_token_update (CARDPIN_TOKEN (source), op->info);

  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
op_start_async (CardpinToken        *self,
                Op                  *op,
                gpointer             source_tag,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) inner = NULL;

  g_task_set_source_tag (task, source_tag);
  inner = g_task_new (self, cancellable, op_done_cb, g_steal_pointer (&task));
  g_task_set_source_tag (inner, op_thread);
  g_task_set_task_data (inner, op, (GDestroyNotify) op_free);
  g_task_run_in_thread (inner, op_thread);
}

static gboolean
op_finish (CardpinToken  *self,
           GAsyncResult  *result,
           gpointer       source_tag,
           GError       **error)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

CardpinTokenInfo *
_cardpin_token_read (CardpinToken  *self,
                     gboolean       strict,
                     GCancellable  *cancellable,
                     GError       **error)
{
  return _cardpin_token_info_read (self->modules, self->module_index, self->slot, NULL,
                                   strict, cancellable, error);
}

/**
 * cardpin_token_verify_pin:
 * @self: a token
 * @pin: (nullable): the PIN; %NULL on a pinpad reader
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Checks the PIN. On PIV cards the verified state is reset right after, so no other
 * process inherits it.
 *
 * Returns: %TRUE when the PIN is right; else %CARDPIN_ERROR_WRONG_PIN with
 *   cardpin_error_get_tries_left(), %CARDPIN_ERROR_PIN_BLOCKED, ...
 */
gboolean
cardpin_token_verify_pin (CardpinToken         *self,
                          const CardpinSecret  *pin,
                          GCancellable         *cancellable,
                          GError              **error)
{
  g_autoptr(Op) op = NULL;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  op = op_new (self, OP_VERIFY, pin, NULL, NULL, NULL);
  return op_run_sync (self, op, cancellable, error);
}

void
cardpin_token_verify_pin_async (CardpinToken        *self,
                                const CardpinSecret *pin,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (CARDPIN_IS_TOKEN (self));
  op_start_async (self, op_new (self, OP_VERIFY, pin, NULL, NULL, NULL),
                  cardpin_token_verify_pin_async, cancellable, callback, user_data);
}

gboolean
cardpin_token_verify_pin_finish (CardpinToken  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return op_finish (self, result, cardpin_token_verify_pin_async, error);
}

/**
 * cardpin_token_change_pin:
 * @self: a token
 * @old_pin: (nullable): the current PIN (%NULL on a pinpad reader)
 * @new_pin: (nullable): the new PIN (%NULL on a pinpad reader)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Changes the PIN. A card that allows no more changes answers
 * %CARDPIN_ERROR_PIN_CHANGE_LIMITED; nothing changed then.
 */
gboolean
cardpin_token_change_pin (CardpinToken         *self,
                          const CardpinSecret  *old_pin,
                          const CardpinSecret  *new_pin,
                          GCancellable         *cancellable,
                          GError              **error)
{
  g_autoptr(Op) op = NULL;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  op = op_new (self, OP_CHANGE_PIN, old_pin, new_pin, NULL, NULL);
  return op_run_sync (self, op, cancellable, error);
}

void
cardpin_token_change_pin_async (CardpinToken        *self,
                                const CardpinSecret *old_pin,
                                const CardpinSecret *new_pin,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (CARDPIN_IS_TOKEN (self));
  op_start_async (self, op_new (self, OP_CHANGE_PIN, old_pin, new_pin, NULL, NULL),
                  cardpin_token_change_pin_async, cancellable, callback, user_data);
}

gboolean
cardpin_token_change_pin_finish (CardpinToken  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return op_finish (self, result, cardpin_token_change_pin_async, error);
}

/**
 * cardpin_token_change_puk:
 * @self: a token (PIV cards; others answer %CARDPIN_ERROR_NOT_SUPPORTED)
 * @old_puk: the current PUK
 * @new_puk: the new PUK
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Changes the PUK (CHANGE REFERENCE DATA 81).
 */
gboolean
cardpin_token_change_puk (CardpinToken         *self,
                          const CardpinSecret  *old_puk,
                          const CardpinSecret  *new_puk,
                          GCancellable         *cancellable,
                          GError              **error)
{
  g_autoptr(Op) op = NULL;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  op = op_new (self, OP_CHANGE_PUK, old_puk, new_puk, NULL, NULL);
  return op_run_sync (self, op, cancellable, error);
}

void
cardpin_token_change_puk_async (CardpinToken        *self,
                                const CardpinSecret *old_puk,
                                const CardpinSecret *new_puk,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (CARDPIN_IS_TOKEN (self));
  op_start_async (self, op_new (self, OP_CHANGE_PUK, old_puk, new_puk, NULL, NULL),
                  cardpin_token_change_puk_async, cancellable, callback, user_data);
}

gboolean
cardpin_token_change_puk_finish (CardpinToken  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return op_finish (self, result, cardpin_token_change_puk_async, error);
}

/**
 * cardpin_token_unblock_pin:
 * @self: a token
 * @puk: the PUK
 * @new_pin: the new PIN
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Unblocks the PIN with the PUK and sets @new_pin: PIV RESET RETRY COUNTER over PC/SC;
 * for other tokens C_Login as SO with the PUK and C_InitPIN, or
 * %CARDPIN_ERROR_NOT_SUPPORTED where the module cannot.
 */
gboolean
cardpin_token_unblock_pin (CardpinToken         *self,
                           const CardpinSecret  *puk,
                           const CardpinSecret  *new_pin,
                           GCancellable         *cancellable,
                           GError              **error)
{
  g_autoptr(Op) op = NULL;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  op = op_new (self, OP_UNBLOCK_PUK, puk, new_pin, NULL, NULL);
  return op_run_sync (self, op, cancellable, error);
}

void
cardpin_token_unblock_pin_async (CardpinToken        *self,
                                 const CardpinSecret *puk,
                                 const CardpinSecret *new_pin,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (CARDPIN_IS_TOKEN (self));
  op_start_async (self, op_new (self, OP_UNBLOCK_PUK, puk, new_pin, NULL, NULL),
                  cardpin_token_unblock_pin_async, cancellable, callback, user_data);
}

gboolean
cardpin_token_unblock_pin_finish (CardpinToken  *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return op_finish (self, result, cardpin_token_unblock_pin_async, error);
}

/**
 * cardpin_token_setup:
 * @self: a token
 * @current: the SO PIN for a token without a user PIN, else the current PIN
 * @new_pin: the personal PIN
 * @current_puk: (nullable): the current PUK (PIV)
 * @new_puk: (nullable): the personal PUK (PIV)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * First-use set-up: C_InitPIN after SO login for tokens whose user PIN is not
 * initialized; otherwise the PIN is changed, and on PIV cards the PUK too when both PUK
 * arguments are given.
 */
gboolean
cardpin_token_setup (CardpinToken         *self,
                     const CardpinSecret  *current,
                     const CardpinSecret  *new_pin,
                     const CardpinSecret  *current_puk,
                     const CardpinSecret  *new_puk,
                     GCancellable         *cancellable,
                     GError              **error)
{
  g_autoptr(Op) op = NULL;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  op = op_new (self, OP_SETUP, current, new_pin, current_puk, new_puk);
  return op_run_sync (self, op, cancellable, error);
}

void
cardpin_token_setup_async (CardpinToken        *self,
                           const CardpinSecret *current,
                           const CardpinSecret *new_pin,
                           const CardpinSecret *current_puk,
                           const CardpinSecret *new_puk,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (CARDPIN_IS_TOKEN (self));
  op_start_async (self, op_new (self, OP_SETUP, current, new_pin, current_puk, new_puk),
                  cardpin_token_setup_async, cancellable, callback, user_data);
}

gboolean
cardpin_token_setup_finish (CardpinToken  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return op_finish (self, result, cardpin_token_setup_async, error);
}

static CardpinUnblockSession *
begin_unblock (CardpinToken  *self,
               const char    *reader,
               gboolean       is_piv,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(CardpinPcscCard) card = NULL;
  g_autoptr(GBytes) challenge = NULL;
  CardpinPivTries tries;
  CardpinCardIo io;
  guint8 algorithm = 0;

  if (!is_piv || reader == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("This card cannot be unblocked with a challenge code. Ask your "
                     "administrator."));
      return NULL;
    }

  card = cardpin_pcsc_card_connect (reader, cancellable, error);
  if (card == NULL)
    return NULL;
  if (!cardpin_pcsc_card_begin_transaction (card, error))
    return NULL;

  io = cardpin_pcsc_card_get_io (card);
  if (!cardpin_piv_select (&io, error) ||
      !cardpin_piv_get_tries (&io, CARDPIN_PIV_KEY_ADMIN, &tries, error))
    return NULL;

  if (tries.tries_left == 0)
    {
      cardpin_set_error_with_tries (error, CARDPIN_ERROR_ADMIN_BLOCKED, 0,
                                    _("The card's unblock key is blocked. The card must "
                                      "be replaced or reset by its issuer."));
      return NULL;
    }

  /* the metadata just read names the algorithm: no second GET METADATA */
  if (tries.algorithm == 0x03 || tries.algorithm == 0x08)
    algorithm = tries.algorithm;
  challenge = cardpin_piv_admin_challenge (&io, &algorithm, error);
  if (challenge == NULL)
    return NULL;

  /* the session keeps the card and its transaction until complete or cancel */
  return _cardpin_unblock_session_new (self, g_steal_pointer (&card), algorithm, challenge,
                                       tries.tries_left);
}

/**
 * cardpin_token_begin_unblock:
 * @self: a PIV card token
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Starts an admin challenge/response unblock: holds the card in one transaction and
 * asks it for a challenge. Complete or cancel the session soon: other processes cannot
 * use the card meanwhile.
 *
 * Returns: (transfer full): the session
 */
CardpinUnblockSession *
cardpin_token_begin_unblock (CardpinToken  *self,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  return begin_unblock (self, self->reader, self->is_piv, cancellable, error);
}

static void
begin_unblock_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  CardpinToken *self = source_object;
  const char *reader = task_data;
  CardpinUnblockSession *session;
  GError *error = NULL;

  session = begin_unblock (self, reader, reader != NULL, cancellable, &error);
  if (session == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, session, g_object_unref);
}

void
cardpin_token_begin_unblock_async (CardpinToken        *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CARDPIN_IS_TOKEN (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cardpin_token_begin_unblock_async);
  /* a non-PIV token passes no reader: NOT_SUPPORTED from the thread */
  g_task_set_task_data (task, self->is_piv ? g_strdup (self->reader) : NULL, g_free);
  g_task_run_in_thread (task, begin_unblock_thread);
}

CardpinUnblockSession *
cardpin_token_begin_unblock_finish (CardpinToken  *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_token_begin_unblock_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
cardpin_token_is_factory_pin (CardpinToken        *self,
                              const CardpinSecret *pin)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  return self->is_piv && pin != NULL &&
         cardpin_secret_equal_bytes (pin, (const guint8 *) CARDPIN_PIV_FACTORY_PIN, strlen (CARDPIN_PIV_FACTORY_PIN));
}

gboolean
cardpin_token_is_factory_puk (CardpinToken        *self,
                              const CardpinSecret *puk)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);
  return self->is_piv && puk != NULL &&
         cardpin_secret_equal_bytes (puk, (const guint8 *) CARDPIN_PIV_FACTORY_PUK, strlen (CARDPIN_PIV_FACTORY_PUK));
}

/**
 * cardpin_token_lookup_change_limit:
 * @self: a token
 * @atr_db_path: (nullable): the data file, %NULL for the default
 * @max_changes: (out) (optional): how many changes the model allows
 * @description: (out) (optional) (transfer full): the model's description
 *
 * Returns: whether the card is a model known to allow only a few PIN changes: warn
 *   before changing its PIN
 */
gboolean
cardpin_token_lookup_change_limit (CardpinToken  *self,
                                   const char    *atr_db_path,
                                   guint         *max_changes,
                                   char         **description)
{
  g_autoptr(CardpinAtrDb) db = NULL;
  g_autoptr(GError) error = NULL;
  const char *desc = NULL;
  guint max = 0;

  g_return_val_if_fail (CARDPIN_IS_TOKEN (self), FALSE);

  if (self->atr == NULL)
    return FALSE;

  db = atr_db_path ? cardpin_atr_db_new_from_file (atr_db_path, &error)
                   : cardpin_atr_db_new_default (&error);
  if (db == NULL)
    {
      g_debug ("Change-limited card list: %s", error->message);
      return FALSE;
    }
  if (!cardpin_atr_db_lookup (db, self->atr, &max, &desc))
    return FALSE;

  if (max_changes != NULL)
    *max_changes = max;
  if (description != NULL)
    *description = g_strdup (desc);
  return TRUE;
}
