/* cardpin-token-ops.c — the PIN operations of a token: one runner for the blocking and
 * the _async/_finish forms (as gck-call.c does), routed to PIV over PC/SC
 * (cardpin-piv.c) or to PKCS#11 (cardpin-p11.c)
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
#include "cardpin-pinpad.h"
#include "cardpin-piv.h"
#include "cardpin-token-private.h"

/* Status refresh */

/* A fresh read of a token: over PC/SC alone for a card read that way (no modules), else
 * PKCS#11 and the card's PIV counters */
static CardpinTokenInfo *
read_info (CardpinP11Modules  *modules,
           guint               module_index,
           CK_SLOT_ID          slot,
           const char         *reader,
           gboolean            strict,
           GCancellable       *cancellable,
           GError            **error)
{
  if (modules == NULL)
    {
      g_autoptr(CardpinTokenInfo) info = NULL;

      info = _cardpin_token_info_read_pcsc (reader, cancellable, error);
      if (info != NULL && !info->is_piv)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED,
                       _("The card in reader “%s” is not the one that was read. Insert "
                         "it again."), reader);
          return NULL;
        }
      return g_steal_pointer (&info);
    }
  return _cardpin_token_info_read (modules, module_index, slot, NULL, strict, cancellable,
                                   error);
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

  info = read_info (self->modules, self->module_index, self->slot, self->reader, TRUE,
                    cancellable, error);
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

  info = read_info (self->modules, self->module_index, self->slot, self->reader, TRUE,
                    cancellable, &error);
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

CardpinTokenInfo *
_cardpin_token_read (CardpinToken  *self,
                     gboolean       strict,
                     GCancellable  *cancellable,
                     GError       **error)
{
  return read_info (self->modules, self->module_index, self->slot, self->reader, strict,
                    cancellable, error);
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
  gboolean            piv_known;
  gboolean            pinpad;
  CK_FLAGS            flags;
  guint               min_pin_length;
  guint               max_pin_length;
  gboolean            not_initialized;
  CardpinPolicy      *pin_policy;  /* what a new PIN / PUK must follow; read in the */
  CardpinPolicy      *puk_policy;  /* caller's thread, when the operation sets one */
  CardpinTokenInfo   *info;       /* the status read after the operation */
  char               *count_serial; /* a change-limited card's serial: count a success */
} Op;

static void
op_free (Op *op)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (op->secrets); i++)
    g_clear_pointer (&op->secrets[i], cardpin_secret_unref);
  g_clear_pointer (&op->modules, cardpin_p11_modules_unref);
  g_clear_pointer (&op->info, _cardpin_token_info_free);
  g_clear_object (&op->pin_policy);
  g_clear_object (&op->puk_policy);
  g_free (op->reader);
  g_free (op->count_serial);
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
  op->modules = self->modules != NULL ? cardpin_p11_modules_ref (self->modules) : NULL;
  op->module_index = self->module_index;
  op->slot = self->slot;
  op->reader = g_strdup (self->reader);
  op->is_piv = self->is_piv;
  op->piv_known = self->piv_known;
  op->pinpad = self->pinpad;
  op->flags = self->flags;
  op->min_pin_length = self->min_pin_length;
  op->max_pin_length = self->max_pin_length;
  op->not_initialized = self->pin_state == CARDPIN_PIN_STATE_NOT_INITIALIZED;
  /* the PIN of a change-limited card is changed (the set-up of a card that has a PIN
   * changes it too): count it once done, as the card does */
  if ((kind == OP_CHANGE_PIN || (kind == OP_SETUP && !op->not_initialized)) &&
      self->serial != NULL && *self->serial != '\0' &&
      cardpin_token_lookup_change_limit (self, NULL, NULL, NULL))
    op->count_serial = g_strdup (self->serial);
  if (kind != OP_VERIFY)
    {
      op->pin_policy = cardpin_token_get_pin_policy (self, NULL);
      op->puk_policy = cardpin_token_get_puk_policy (self, NULL);
    }
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

/* @probe: whether the card is not known to have PIV (its last read broke off): its
 * SELECT tells, and @no_piv says when it answered that there is no PIV application */
static gboolean
op_run_piv (Op            *op,
            gboolean       probe,
            gboolean      *no_piv,
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
  /* on a PIN pad reader without values from the caller, the person types them there */
  if (op->pinpad && op->secrets[0] == NULL)
    {
      ok = _cardpin_piv_run_pinpad_op (op->kind, &io, &cleared, error);
      cardpin_pcsc_card_end_transaction (card, cleared ? SCARD_LEAVE_CARD : SCARD_RESET_CARD,
                                         NULL);
      return ok;
    }
  if (probe)
    {
      g_autoptr(GError) select_error = NULL;

      if (!cardpin_piv_select (&io, &select_error))
        {
          *no_piv = g_error_matches (select_error, CARDPIN_ERROR,
                                     CARDPIN_ERROR_NOT_SUPPORTED);
          g_propagate_error (error, g_steal_pointer (&select_error));
          return FALSE;
        }
    }

  ok = _cardpin_piv_run_op (op->kind, op->secrets, &io, &cleared, error);
  /* the card is left as it was only when it has verifiably forgotten the PIN */
  cardpin_pcsc_card_end_transaction (card, cleared ? SCARD_LEAVE_CARD : SCARD_RESET_CARD,
                                     NULL);
  return ok;
}

static gboolean
op_run_p11 (Op      *op,
            GError **error)
{
  /* on a pinpad reader the reader asks: no secrets needed */
  if (!require_secret (op->secrets[0], op->pinpad, error) ||
      (op->kind != OP_VERIFY && !require_secret (op->secrets[1], op->pinpad, error)) ||
      !_cardpin_p11_check_secrets (op->secrets, op->min_pin_length,
                                   op->max_pin_length, error))
    return FALSE;
  return _cardpin_p11_run_op (cardpin_p11_modules_get (op->modules, op->module_index),
                              op->slot, op->flags, op->min_pin_length, op->max_pin_length,
                              op->kind, op->secrets, error);
}

/* Runs the operation on its route. A PIV card is driven over PC/SC, on a PIN pad reader
 * with the PINs typed on its keypad (OpenSC's PIV driver cannot change a PIN there);
 * PKCS#11 serves only a card that answered that it has no PIV application, never one
 * that failed to answer: an I/O error (card removed, pcscd gone, a garbled answer) is
 * the operation's error, with its reason. */
static gboolean
op_run_route (Op            *op,
              GCancellable  *cancellable,
              GError       **error)
{
  if (op->reader != NULL && (op->is_piv || (!op->piv_known && !op->pinpad)))
    {
      g_autoptr(GError) piv_error = NULL;
      gboolean no_piv = FALSE;

      /* all values from the caller, or (on a PIN pad reader) none */
      gboolean on_keypad = op->pinpad && op->secrets[0] == NULL;

      if (!require_secret (op->secrets[0], on_keypad, error) ||
          (op->kind != OP_VERIFY && !require_secret (op->secrets[1], on_keypad, error)))
        return FALSE;
      if (op_run_piv (op, !op->is_piv, &no_piv, cancellable, &piv_error))
        return TRUE;
      if (!no_piv || op->modules == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&piv_error));
          return FALSE;
        }
      g_debug ("%s: no PIV application, PKCS#11 then", op->reader);
    }
  else if (op->modules == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("This card has no PIV application."));
      return FALSE;
    }

  return op_run_p11 (op, error);
}

static gboolean
op_run (Op            *op,
        GCancellable  *cancellable,
        GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  /* a card whose last read broke off may be PIV: its SELECT tells (op_run_route) */
  gboolean piv_route = (op->is_piv || (!op->piv_known && !op->pinpad)) && op->reader != NULL;
  gboolean ok;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* the rules for new values hold on every route, before anything reaches the card (a
   * PUK change, which only the PIV route can do, says so first) */
  if ((op->kind != OP_CHANGE_PUK || piv_route) &&
      !_cardpin_token_check_new_secrets (op->kind, op->secrets, op->not_initialized,
                                         op->pin_policy, op->puk_policy, error))
    return FALSE;

  ok = op_run_route (op, cancellable, &local_error);
  if (ok && op->count_serial != NULL)
    _cardpin_token_count_pin_change (op->count_serial);

  /* the status after the operation: exact tries for the error and the properties */
  op->info = read_info (op->modules, op->module_index, op->slot, op->reader, FALSE, NULL,
                         NULL);

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
