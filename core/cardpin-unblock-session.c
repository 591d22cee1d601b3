/* cardpin-unblock-session.c — an admin challenge/response unblock in progress
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-code.h"
#include "cardpin-error.h"
#include "cardpin-pcsc.h"
#include "cardpin-piv.h"
#include "cardpin-token-private.h"
#include "cardpin-unblock-session.h"

/**
 * CardpinUnblockSession:
 *
 * An admin challenge/response unblock between cardpin_token_begin_unblock() and
 * cardpin_unblock_session_complete() or cardpin_unblock_session_cancel(). It holds the
 * card session and one PC/SC transaction, so that no other process can talk to the card
 * while the challenge is read over the phone; the challenge lives only in this card
 * session. When the session ends the card is reset so that no admin state survives.
 * Card removal or reset in between ends it with %CARDPIN_ERROR_CHALLENGE_EXPIRED.
 */
struct _CardpinUnblockSession {
  GObject           parent_instance;

  GMutex            mutex;       /* guards card: complete may run in a worker thread */
  CardpinToken     *token;
  CardpinPcscCard  *card;
  guint8            algorithm;
  GBytes           *challenge;
  char             *challenge_code;
  char             *serial;
  int               admin_tries_left;
};

G_DEFINE_FINAL_TYPE (CardpinUnblockSession, cardpin_unblock_session, G_TYPE_OBJECT)

/* Helpers */

static void
end_locked (CardpinUnblockSession *self)
{
  if (self->card == NULL)
    return;
  /* reset: neither the admin authentication nor a challenge survives */
  cardpin_pcsc_card_disconnect (g_steal_pointer (&self->card), SCARD_RESET_CARD);
}

static gboolean
complete_locked (CardpinUnblockSession  *self,
                 const CardpinSecret    *response,
                 const CardpinSecret    *new_pin,
                 CardpinPolicy          *policy,
                 GCancellable           *cancellable,
                 GError                **error)
{
  g_autoptr(GError) local_error = NULL;
  CardpinCardIo io;
  gboolean responded;
  gboolean ok;

  if (self->card == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED,
                   _("This challenge was already used or cancelled. Start again with a new "
                     "challenge."));
      return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (cardpin_secret_get_length (response) != g_bytes_get_size (self->challenge))
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE,
                   _("The response code has the wrong length. Read it again."));
      return FALSE;
    }

  /* the PIN rules hold here too, before the response reaches the card: the session
   * stays active for another PIN */
  if (!cardpin_policy_check (policy, new_pin, NULL, NULL, error))
    return FALSE;

  io = cardpin_pcsc_card_get_io (self->card);
  ok = cardpin_piv_admin_complete (&io, self->algorithm, response, new_pin, &responded,
                                   &local_error);

  /* the card consumed the challenge whatever happened */
  end_locked (self);

  if (!ok)
    {
      if (!responded &&
          g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED))
        {
          /* nothing was changed on the card */
          g_set_error_literal (error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED,
                               _("The card was removed; the challenge is no longer valid. "
                                 "Insert the card and start again with a new challenge."));
          return FALSE;
        }
      if (g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED))
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED,
                       _("The card was removed or reset before the unblock finished. "
                         "Insert the card; if your new PIN does not work, start again "
                         "with a new challenge."));
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return TRUE;
}

/* Overrides */

static void
cardpin_unblock_session_dispose (GObject *object)
{
  CardpinUnblockSession *self = CARDPIN_UNBLOCK_SESSION (object);

  g_mutex_lock (&self->mutex);
  end_locked (self);
  g_mutex_unlock (&self->mutex);
  g_clear_object (&self->token);

  G_OBJECT_CLASS (cardpin_unblock_session_parent_class)->dispose (object);
}

static void
cardpin_unblock_session_finalize (GObject *object)
{
  CardpinUnblockSession *self = CARDPIN_UNBLOCK_SESSION (object);

  g_clear_pointer (&self->challenge, g_bytes_unref);
  g_free (self->challenge_code);
  g_free (self->serial);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (cardpin_unblock_session_parent_class)->finalize (object);
}

static void
cardpin_unblock_session_class_init (CardpinUnblockSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cardpin_unblock_session_dispose;
  object_class->finalize = cardpin_unblock_session_finalize;
}

static void
cardpin_unblock_session_init (CardpinUnblockSession *self)
{
  g_mutex_init (&self->mutex);
  self->admin_tries_left = -1;
}

/* Starting a session */

static CardpinUnblockSession *
unblock_session_new (CardpinToken    *token,
                     CardpinPcscCard *card,
                     guint8           algorithm,
                     GBytes          *challenge,
                     int              admin_tries_left)
{
  CardpinUnblockSession *self = g_object_new (CARDPIN_TYPE_UNBLOCK_SESSION, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (challenge, &len);

  self->token = g_object_ref (token);
  self->card = card;
  self->algorithm = algorithm;
  self->challenge = g_bytes_ref (challenge);
  self->challenge_code = cardpin_code_format (data, len);
  self->serial = g_strdup (cardpin_token_get_serial (token));
  self->admin_tries_left = admin_tries_left;
  return self;
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
  int admin_tries_left = -1;
  CardpinCardIo io;
  guint8 algorithm = 0;

  /* a card whose last read broke off is tried: its SELECT tells */
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
  challenge = cardpin_piv_admin_begin (&io, &algorithm, &admin_tries_left, error);
  if (challenge == NULL)
    return NULL;

  /* the session keeps the card and its transaction until complete or cancel */
  return unblock_session_new (self, g_steal_pointer (&card), algorithm, challenge,
                              admin_tries_left);
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
  return begin_unblock (self, self->reader, self->is_piv || !self->piv_known, cancellable,
                        error);
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
  g_task_set_task_data (task, self->is_piv || !self->piv_known ? g_strdup (self->reader)
                                                                 : NULL, g_free);
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


/* Public API */

/**
 * cardpin_unblock_session_get_challenge_code:
 * @self: a session
 *
 * Returns: (transfer none): the challenge as a code to read over the phone, in the
 *   DESIGN.md format ("A1B2 C3D4 ...   check 7F3C")
 */
const char *
cardpin_unblock_session_get_challenge_code (CardpinUnblockSession *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), NULL);
  return self->challenge_code;
}

/**
 * cardpin_unblock_session_get_challenge:
 * @self: a session
 *
 * Returns: (transfer none): the challenge bytes (8 for 3DES, 16 for AES-128); owned by
 *   the session: do not unref
 */
GBytes *
cardpin_unblock_session_get_challenge (CardpinUnblockSession *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), NULL);
  return self->challenge;
}

guint
cardpin_unblock_session_get_algorithm (CardpinUnblockSession *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), 0);
  return self->algorithm;
}

const char *
cardpin_unblock_session_get_serial (CardpinUnblockSession *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), NULL);
  return self->serial;
}

int
cardpin_unblock_session_get_admin_tries_left (CardpinUnblockSession *self)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), -1);
  return self->admin_tries_left;
}

gboolean
cardpin_unblock_session_is_active (CardpinUnblockSession *self)
{
  gboolean active;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), FALSE);
  g_mutex_lock (&self->mutex);
  active = self->card != NULL;
  g_mutex_unlock (&self->mutex);
  return active;
}

/**
 * cardpin_unblock_session_complete:
 * @self: a session
 * @response: the response (E_K(challenge)), as many bytes as the challenge
 * @new_pin: the new PIN
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Authenticates with the response (GENERAL AUTHENTICATE 9B) and sets the new PIN
 * (RESET RETRY COUNTER 00 2C 02 80) in the session's card transaction, then resets the
 * card. The session ends either way, except for a response of the wrong length or a new
 * PIN that breaks the token's PIN policy (cardpin_token_get_pin_policy(),
 * %CARDPIN_ERROR_POLICY), which never reach the card. Blocking; the token is refreshed afterwards.
 *
 * Returns: %TRUE when the PIN was set
 */
gboolean
cardpin_unblock_session_complete (CardpinUnblockSession  *self,
                                  const CardpinSecret    *response,
                                  const CardpinSecret    *new_pin,
                                  GCancellable           *cancellable,
                                  GError                **error)
{
  g_autoptr(CardpinPolicy) policy = NULL;
  gboolean ended;
  gboolean ok;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), FALSE);
  g_return_val_if_fail (response != NULL && new_pin != NULL, FALSE);

  policy = cardpin_token_get_pin_policy (self->token, NULL);
  g_mutex_lock (&self->mutex);
  ok = complete_locked (self, response, new_pin, policy, cancellable, error);
  ended = self->card == NULL;
  g_mutex_unlock (&self->mutex);

  /* a session still active holds the card: a read now would wait for itself */
  if (ended)
    cardpin_token_refresh (self->token, NULL, NULL);
  return ok;
}

/**
 * cardpin_unblock_session_complete_code:
 * @self: a session
 * @response_code: the response as typed (DESIGN.md code format)
 * @new_pin: the new PIN
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Like cardpin_unblock_session_complete(), but parses and checks @response_code first:
 * a code with a typo is refused with %CARDPIN_ERROR_BAD_CODE before anything reaches
 * the card, and the session stays active for another try.
 */
gboolean
cardpin_unblock_session_complete_code (CardpinUnblockSession  *self,
                                       const char             *response_code,
                                       const CardpinSecret    *new_pin,
                                       GCancellable           *cancellable,
                                       GError                **error)
{
  g_autoptr(CardpinSecret) response = NULL;

  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), FALSE);
  g_return_val_if_fail (response_code != NULL, FALSE);

  response = cardpin_code_parse (response_code, g_bytes_get_size (self->challenge), error);
  if (response == NULL)
    return FALSE;

  return cardpin_unblock_session_complete (self, response, new_pin, cancellable, error);
}

typedef struct {
  CardpinSecret    *response;
  CardpinSecret    *new_pin;
  CardpinPolicy    *policy;
  CardpinTokenInfo *info;
} CompleteData;

static void
complete_data_free (CompleteData *data)
{
  g_clear_pointer (&data->response, cardpin_secret_unref);
  g_clear_pointer (&data->new_pin, cardpin_secret_unref);
  g_clear_object (&data->policy);
  g_clear_pointer (&data->info, _cardpin_token_info_free);
  g_free (data);
}

static void
complete_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  CardpinUnblockSession *self = source_object;
  CompleteData *data = task_data;
  GError *error = NULL;
  gboolean ended;
  gboolean ok;

  g_mutex_lock (&self->mutex);
  ok = complete_locked (self, data->response, data->new_pin, data->policy, cancellable,
                        &error);
  ended = self->card == NULL;
  g_mutex_unlock (&self->mutex);

  if (ended)
    data->info = _cardpin_token_read (self->token, FALSE, NULL, NULL);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
complete_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  CardpinUnblockSession *self = CARDPIN_UNBLOCK_SESSION (source);
  g_autoptr(GTask) task = user_data;
  CompleteData *data = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (data->info != NULL)
    _cardpin_token_update (self->token, data->info);

  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * cardpin_unblock_session_complete_async:
 * @self: a session
 * @response: the response
 * @new_pin: the new PIN
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: closure
 *
 * Asynchronous cardpin_unblock_session_complete(); the token is refreshed in the calling
 * context before @callback runs.
 */
void
cardpin_unblock_session_complete_async (CardpinUnblockSession *self,
                                        const CardpinSecret   *response,
                                        const CardpinSecret   *new_pin,
                                        GCancellable          *cancellable,
                                        GAsyncReadyCallback    callback,
                                        gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) inner = NULL;
  CompleteData *data;

  g_return_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self));
  g_return_if_fail (response != NULL && new_pin != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cardpin_unblock_session_complete_async);

  data = g_new0 (CompleteData, 1);
  data->response = cardpin_secret_ref ((CardpinSecret *) response);
  data->new_pin = cardpin_secret_ref ((CardpinSecret *) new_pin);
  /* the settings are read here, in the caller's thread */
  data->policy = cardpin_token_get_pin_policy (self->token, NULL);

  inner = g_task_new (self, cancellable, complete_done_cb, g_steal_pointer (&task));
  g_task_set_source_tag (inner, complete_thread);
  g_task_set_task_data (inner, data, (GDestroyNotify) complete_data_free);
  g_task_run_in_thread (inner, complete_thread);
}

gboolean
cardpin_unblock_session_complete_finish (CardpinUnblockSession  *self,
                                         GAsyncResult           *result,
                                         GError                **error)
{
  g_return_val_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_unblock_session_complete_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cardpin_unblock_session_cancel:
 * @self: a session
 *
 * Ends the session without unblocking: ends the transaction and resets the card.
 */
void
cardpin_unblock_session_cancel (CardpinUnblockSession *self)
{
  g_return_if_fail (CARDPIN_IS_UNBLOCK_SESSION (self));

  g_mutex_lock (&self->mutex);
  end_locked (self);
  g_mutex_unlock (&self->mutex);
}
