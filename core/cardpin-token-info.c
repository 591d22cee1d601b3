/* cardpin-token-info.c — what one read of a token finds: PKCS#11 token info plus the
 * card's PIV counters over PC/SC
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <p11-kit/p11-kit.h>

#include "cardpin-error.h"
#include "cardpin-p11.h"
#include "cardpin-pcsc.h"
#include "cardpin-piv.h"
#include "cardpin-token-private.h"

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
 * Reads the PIV application's counters and serial, with as few commands as the card
 * allows: SELECT, the PIN's counter (GET METADATA, else an empty VERIFY), the PUK's only
 * where metadata answered (no other command reads it without spending a try), and the
 * CHUID for the serial. A token read over PC/SC alone (@info->from_pcsc) also reads the
 * holder's name from the authentication certificate, which PKCS#11 gives otherwise.
 * A card without the PIV application is no error (@info->is_piv becomes %FALSE); any
 * other failure is. Any transport will do: PC/SC for the token, a scripted card for
 * the fuzzer.
 */
gboolean
_cardpin_token_info_read_card (CardpinTokenInfo     *info,
                               const CardpinCardIo  *io,
                               GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *serial = NULL;
  CardpinPivTries tries;
  gboolean selected;

  /* PIV still selected (as OpenSC or an earlier read leave it): no SELECT, which on
   * YubiKey-like cards would end another program's PIN login between its C_Login and its
   * C_Sign (a status poll while it signs) */
  if (!cardpin_piv_get_selected_pin_tries (io, &tries, &selected, NULL, error))
    return FALSE;

  if (!selected && !cardpin_piv_select (io, &local_error))
    {
      if (!g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      info->is_piv = FALSE;
      info->card_read = TRUE;
      return TRUE;
    }
  info->is_piv = TRUE;

  if (!selected && !cardpin_piv_get_tries (io, CARDPIN_PIV_KEY_PIN, &tries, error))
    return FALSE;
  info->pin_tries_left = tries.tries_left;
  info->pin_tries_max = tries.tries_max;
  info->pin_is_default = tries.is_default;

  /* a card that has no metadata for its PIN has none for its PUK either */
  if (tries.tries_max >= 0)
    {
      if (!cardpin_piv_get_tries (io, CARDPIN_PIV_KEY_PUK, &tries, error))
        return FALSE;
      info->puk_tries_left = tries.tries_left;
      info->puk_is_default = tries.is_default;
    }

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

  if (info->from_pcsc)
    {
      g_autofree char *holder = cardpin_piv_read_holder (io, &local_error);

      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_free (info->label);
      info->label = g_steal_pointer (&holder);
    }

  info->card_read = TRUE;
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
  info->pinpad_reader = cardpin_pcsc_card_has_pinpad (card);

  if (!cardpin_pcsc_card_begin_transaction (card, error))
    return FALSE;

  io = cardpin_pcsc_card_get_io (card);
  ok = _cardpin_token_info_read_card (info, &io, error);
  cardpin_pcsc_card_end_transaction (card, SCARD_LEAVE_CARD, NULL);
  return ok;
}

static CardpinTokenInfo *
info_new (void)
{
  CardpinTokenInfo *info = g_new0 (CardpinTokenInfo, 1);

  info->pin_tries_left = -1;
  info->pin_tries_max = -1;
  info->puk_tries_left = -1;
  info->pin_is_default = -1;
  info->puk_is_default = -1;
  return info;
}

/**
 * _cardpin_token_info_read_pcsc:
 * @reader: the reader with the card
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Reads the card in @reader over PC/SC alone, without any PKCS#11 module: for a PIV
 * card, what a status needs (serial, holder, tries left, factory values); for any other
 * card only that it has no PIV application (@info->is_piv %FALSE). Blocking.
 *
 * Returns: (transfer full): what the card said, or %NULL when it could not be read
 *   (card removed, pcscd gone, the card failing)
 */
CardpinTokenInfo *
_cardpin_token_info_read_pcsc (const char    *reader,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(CardpinTokenInfo) info = info_new ();

  g_return_val_if_fail (reader != NULL, NULL);

  info->reader = g_strdup (reader);
  info->hardware = TRUE;
  info->from_pcsc = TRUE;
  /* what a PIV card is to PKCS#11: initialized, with a user PIN of 6 to 8 bytes */
  info->flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED;
  info->min_pin_length = CARDPIN_PIV_PIN_MIN;
  info->max_pin_length = CARDPIN_PIV_PIN_MAX;

  if (!read_card (info, cancellable, error))
    return NULL;
  /* what PKCS#11 calls a reader that asks for the PIN itself */
  if (info->pinpad_reader)
    info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;

  if (info->is_piv)
    info->model = g_strdup ("PIV");
  /* a different card in the same reader is a different token */
  info->key = g_strdup_printf ("pcsc:%s:%s:%s", reader, info->atr ? info->atr : "",
                               info->serial ? info->serial : "");
  return g_steal_pointer (&info);
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
  g_autoptr(CardpinTokenInfo) info = info_new ();
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
