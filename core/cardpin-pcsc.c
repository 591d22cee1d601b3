/* cardpin-pcsc.c — PC/SC access: contexts, one card connection, transactions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <PCSC/pcsclite.h>
#include <PCSC/reader.h>

#include "cardpin-error.h"
#include "cardpin-pcsc.h"

struct _CardpinPcscCard {
  SCARDCONTEXT  context;
  SCARDHANDLE   handle;
  DWORD         protocol;
  gboolean      in_transaction;
  char         *reader;
  char         *atr;
};

/* This process's own connections per reader: each connect and each disconnect counts
 * one, so that a watcher can tell its own uses of a card from other programs' */
static GMutex own_uses_mutex;
static GHashTable *own_uses;

static void
count_own_use (const char *reader)
{
  gpointer n;

  g_mutex_lock (&own_uses_mutex);
  if (own_uses == NULL)
    own_uses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  n = g_hash_table_lookup (own_uses, reader);
  g_hash_table_insert (own_uses, g_strdup (reader), GUINT_TO_POINTER (GPOINTER_TO_UINT (n) + 1));
  g_mutex_unlock (&own_uses_mutex);
}

/**
 * cardpin_pcsc_get_own_uses:
 * @reader: a reader name
 *
 * How often this process connected to and disconnected from the card in @reader
 * (cardpin_pcsc_card_connect(), cardpin_pcsc_card_disconnect()): when the count moved
 * while the reader went from in use to free, the use was (also) this process's own.
 *
 * Returns: the count, 0 before the first connection
 */
guint
cardpin_pcsc_get_own_uses (const char *reader)
{
  guint n = 0;

  g_mutex_lock (&own_uses_mutex);
  if (own_uses != NULL)
    n = GPOINTER_TO_UINT (g_hash_table_lookup (own_uses, reader));
  g_mutex_unlock (&own_uses_mutex);
  return n;
}

/**
 * cardpin_pcsc_set_error:
 * @error: return location
 * @rv: a PC/SC result
 * @what: untranslated name of the failed call, for the message
 *
 * Maps @rv to an error: card removed or reset -> %CARDPIN_ERROR_CARD_REMOVED, no
 * service -> %CARDPIN_ERROR_PCSC_UNAVAILABLE, no card -> %CARDPIN_ERROR_NO_CARD,
 * cancelled -> %G_IO_ERROR_CANCELLED, anything else -> %CARDPIN_PCSC_ERROR with @rv
 * as the code.
 *
 * Returns: %TRUE when @rv is %SCARD_S_SUCCESS (no error set), else %FALSE
 */
gboolean
cardpin_pcsc_set_error (GError     **error,
                        LONG         rv,
                        const char  *what)
{
  switch (rv)
    {
    case SCARD_S_SUCCESS:
      return TRUE;

    case SCARD_W_REMOVED_CARD:
    case SCARD_W_RESET_CARD:
    case SCARD_E_NO_SMARTCARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_E_READER_UNAVAILABLE:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED,
                   _("The card was removed or reset. Insert the card and try again."));
      return FALSE;

    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PCSC_UNAVAILABLE,
                   _("The smart card service (pcscd) is not running. Start it "
                     "(systemctl start pcscd.socket) or ask your administrator."));
      return FALSE;

    case SCARD_E_NO_READERS_AVAILABLE:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD,
                   _("No card reader is connected. Connect your reader and insert your "
                     "card."));
      return FALSE;

    case SCARD_E_UNKNOWN_READER:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD,
                   _("The card reader is no longer connected. Connect it and try again."));
      return FALSE;

    case SCARD_E_CANCELLED:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                   _("The operation was cancelled."));
      return FALSE;

    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNSUPPORTED_CARD:
    case SCARD_E_PROTO_MISMATCH:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_ERROR,
                   _("The card does not respond properly (%s). Remove it and insert it "
                     "again."), pcsc_stringify_error (rv));
      return FALSE;

    default:
      g_set_error (error, CARDPIN_PCSC_ERROR, (int) rv,
                   _("The smart card service failed (%s: %s). Try again."),
                   what, pcsc_stringify_error (rv));
      return FALSE;
    }
}

/**
 * cardpin_pcsc_establish:
 * @context: (out): the new context
 * @error: return location
 *
 * Establishes a PC/SC context (system scope).
 */
gboolean
cardpin_pcsc_establish (SCARDCONTEXT  *context,
                        GError       **error)
{
  LONG rv = SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, context);

  return cardpin_pcsc_set_error (error, rv, "SCardEstablishContext");
}

/**
 * cardpin_pcsc_list_readers:
 * @context: a PC/SC context
 * @error: return location
 *
 * Returns: (transfer full): the reader names (possibly none), or %NULL on error
 */
char **
cardpin_pcsc_list_readers (SCARDCONTEXT   context,
                           GError       **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *names = NULL;
  DWORD len = 0;
  LONG rv;
  const char *p;

  rv = SCardListReaders (context, NULL, NULL, &len);
  if (rv == SCARD_E_NO_READERS_AVAILABLE)
    return g_strv_builder_end (builder);
  if (!cardpin_pcsc_set_error (error, rv, "SCardListReaders"))
    return NULL;

  names = g_malloc0 (len + 2);
  rv = SCardListReaders (context, NULL, names, &len);
  if (rv == SCARD_E_NO_READERS_AVAILABLE)
    return g_strv_builder_end (builder);
  if (!cardpin_pcsc_set_error (error, rv, "SCardListReaders"))
    return NULL;

  for (p = names; *p != '\0'; p += strlen (p) + 1)
    g_strv_builder_add (builder, p);

  return g_strv_builder_end (builder);
}

/**
 * cardpin_pcsc_readers_with_card:
 * @readers_out: (out) (transfer full): every reader
 * @present_out: (out) (transfer full): the readers that hold a card that can be talked
 *   to (not mute)
 * @events_out: (out) (optional) (transfer full) (array): for each reader of
 *   @present_out, pcsc-lite's count of card insertions and removals in it (the high 16
 *   bits of its event state): a card that is still the same one keeps its count
 * @pcsc_error_out: (nullable): why pcscd could not be reached, if it could not; that is
 *   no failure (no card)
 * @error: return location
 *
 * Lists the readers and their cards on one PC/SC context, without connecting to any.
 *
 * Returns: %FALSE when pcscd fails; no pcscd or no readers is no error
 */
gboolean
cardpin_pcsc_readers_with_card (char   ***readers_out,
                                char   ***present_out,
                                guint   **events_out,
                                GError  **pcsc_error_out,
                                GError  **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GArray) events = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree SCARD_READERSTATE *states = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) readers = NULL;
  SCARDCONTEXT context = 0;
  LONG rv = SCARD_S_SUCCESS;
  guint n;
  guint i;

  if (!cardpin_pcsc_establish (&context, &local_error))
    goto failed;
  readers = cardpin_pcsc_list_readers (context, &local_error);
  if (readers == NULL)
    {
      SCardReleaseContext (context);
      goto failed;
    }

  n = g_strv_length (readers);
  states = g_new0 (SCARD_READERSTATE, MAX (n, 1));
  for (i = 0; i < n; i++)
    {
      states[i].szReader = readers[i];
      states[i].dwCurrentState = SCARD_STATE_UNAWARE;
    }
  if (n > 0)
    rv = SCardGetStatusChange (context, 0, states, n);
  SCardReleaseContext (context);
  if (rv != SCARD_E_TIMEOUT && !cardpin_pcsc_set_error (error, rv, "SCardGetStatusChange"))
    return FALSE;

  for (i = 0; i < n; i++)
    {
      guint count = (states[i].dwEventState >> 16) & 0xFFFF;

      if (!(states[i].dwEventState & SCARD_STATE_PRESENT))
        continue;
      if (states[i].dwEventState & SCARD_STATE_MUTE)
        {
          g_debug ("The card in “%s” does not answer", readers[i]);
          continue;
        }
      g_strv_builder_add (builder, readers[i]);
      g_array_append_val (events, count);
    }
  *readers_out = g_steal_pointer (&readers);
  *present_out = g_strv_builder_end (builder);
  if (events_out != NULL)
    *events_out = (guint *) g_array_free (g_steal_pointer (&events), FALSE);
  return TRUE;

failed:
  g_debug ("PC/SC readers: %s", local_error->message);
  if (g_error_matches (local_error, CARDPIN_ERROR, CARDPIN_ERROR_PCSC_UNAVAILABLE))
    {
      /* no pcscd: no card, which the manager reports (cardpin_manager_get_pcsc_error) */
      g_propagate_error (pcsc_error_out, g_steal_pointer (&local_error));
      *readers_out = g_new0 (char *, 1);
      *present_out = g_new0 (char *, 1);
      if (events_out != NULL)
        *events_out = NULL;
      return TRUE;
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/**
 * cardpin_pcsc_card_connect:
 * @reader: a reader name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Connects to the card in @reader (shared, T=0 or T=1) on a context of its own.
 *
 * Returns: (transfer full): the connection, or %NULL
 */
CardpinPcscCard *
cardpin_pcsc_card_connect (const char    *reader,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(CardpinPcscCard) card = NULL;
  BYTE atr[MAX_ATR_SIZE];
  DWORD atr_len = sizeof atr;
  DWORD state = 0;
  DWORD protocol = 0;
  DWORD reader_len = 0;
  LONG rv;

  g_return_val_if_fail (reader != NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  card = g_new0 (CardpinPcscCard, 1);
  card->reader = g_strdup (reader);

  if (!cardpin_pcsc_establish (&card->context, error))
    return NULL;

  rv = SCardConnect (card->context, reader, SCARD_SHARE_SHARED,
                     SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                     &card->handle, &card->protocol);
  if (!cardpin_pcsc_set_error (error, rv, "SCardConnect"))
    return NULL;
  count_own_use (reader);

  rv = SCardStatus (card->handle, NULL, &reader_len, &state, &protocol, atr, &atr_len);
  if (!cardpin_pcsc_set_error (error, rv, "SCardStatus"))
    return NULL;
  card->atr = cardpin_hex_encode (atr, atr_len);

  return g_steal_pointer (&card);
}

/**
 * cardpin_pcsc_card_begin_transaction:
 * @card: a connection
 * @error: return location
 *
 * Starts an exclusive transaction: no other process talks to the card until it ends.
 * Keep it as short as one operation.
 */
gboolean
cardpin_pcsc_card_begin_transaction (CardpinPcscCard  *card,
                                     GError          **error)
{
  LONG rv;

  g_return_val_if_fail (card != NULL, FALSE);
  g_return_val_if_fail (!card->in_transaction, FALSE);

  rv = SCardBeginTransaction (card->handle);
  if (!cardpin_pcsc_set_error (error, rv, "SCardBeginTransaction"))
    return FALSE;
  card->in_transaction = TRUE;
  return TRUE;
}

/**
 * cardpin_pcsc_card_end_transaction:
 * @card: a connection
 * @disposition: %SCARD_LEAVE_CARD or %SCARD_RESET_CARD
 * @error: (nullable): return location
 *
 * Ends the transaction started with cardpin_pcsc_card_begin_transaction().
 */
gboolean
cardpin_pcsc_card_end_transaction (CardpinPcscCard  *card,
                                   DWORD             disposition,
                                   GError          **error)
{
  LONG rv;

  g_return_val_if_fail (card != NULL, FALSE);

  if (!card->in_transaction)
    return TRUE;
  card->in_transaction = FALSE;
  rv = SCardEndTransaction (card->handle, disposition);
  return cardpin_pcsc_set_error (error, rv, "SCardEndTransaction");
}

static gboolean
pcsc_transmit (gpointer       user_data,
               const guint8  *command,
               gsize          command_len,
               guint8        *response,
               gsize         *response_len,
               GError       **error)
{
  CardpinPcscCard *card = user_data;
  const SCARD_IO_REQUEST *pci;
  DWORD len = *response_len;
  LONG rv;

  pci = card->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  rv = SCardTransmit (card->handle, pci, command, command_len, NULL, response, &len);
  if (!cardpin_pcsc_set_error (error, rv, "SCardTransmit"))
    return FALSE;
  *response_len = len;
  return TRUE;
}

static gboolean
pcsc_control (gpointer       user_data,
              guint32        code,
              const guint8  *in,
              gsize          in_len,
              guint8        *out,
              gsize          out_size,
              gsize         *out_len,
              GError       **error)
{
  CardpinPcscCard *card = user_data;
  DWORD len = 0;
  LONG rv;

  rv = SCardControl (card->handle, code, in, in_len, out, out_size, &len);
  if (!cardpin_pcsc_set_error (error, rv, "SCardControl"))
    return FALSE;
  *out_len = MIN (len, out_size);
  return TRUE;
}

/**
 * cardpin_pcsc_card_get_io:
 * @card: a connection
 *
 * Returns: the transmit and control functions and closure of @card
 */
CardpinCardIo
cardpin_pcsc_card_get_io (CardpinPcscCard *card)
{
  CardpinCardIo io = { pcsc_transmit, card, pcsc_control };

  return io;
}

/**
 * cardpin_card_io_transceive:
 * @io: how to reach the card
 * @apdu: the command
 * @error: return location
 *
 * Returns: (transfer full): the whole response, see cardpin_apdu_transceive()
 */
CardpinApduResponse *
cardpin_card_io_transceive (const CardpinCardIo  *io,
                            const CardpinApdu    *apdu,
                            GError              **error)
{
  return cardpin_apdu_transceive (io->transmit, io->user_data, apdu, error);
}

/**
 * cardpin_pcsc_card_transmit:
 * @card: a connection
 * @apdu: the command
 * @error: return location
 *
 * Returns: (transfer full): the whole response (GET RESPONSE chaining done)
 */
CardpinApduResponse *
cardpin_pcsc_card_transmit (CardpinPcscCard    *card,
                            const CardpinApdu  *apdu,
                            GError            **error)
{
  return cardpin_apdu_transceive (pcsc_transmit, card, apdu, error);
}

const char *
cardpin_pcsc_card_get_reader (CardpinPcscCard *card)
{
  return card->reader;
}

const char *
cardpin_pcsc_card_get_atr (CardpinPcscCard *card)
{
  return card->atr;
}

/* PC/SC part 10 feature tags (pcsc-lite's reader.h) */
#define FEATURE_TAG_VERIFY_PIN_DIRECT 0x06
#define FEATURE_TAG_MODIFY_PIN_DIRECT 0x07

guint32
cardpin_pcsc_features_find (const guint8 *features,
                            gsize         len,
                            guint8        tag)
{
  gsize i = 0;

  g_return_val_if_fail (features != NULL || len == 0, 0);

  /* each feature: tag, length (4), the control code (4 bytes, big-endian); anything
   * malformed before the tag means the answer cannot be trusted */
  while (i + 2 <= len)
    {
      guint8 value_len = features[i + 1];

      if (value_len != 4 || i + 2 + value_len > len)
        return 0;
      if (features[i] == tag)
        return (guint32) features[i + 2] << 24 | (guint32) features[i + 3] << 16 |
               (guint32) features[i + 4] << 8 | features[i + 5];
      i += 2 + value_len;
    }
  return 0;
}

gboolean
cardpin_pcsc_features_have_pinpad (const guint8 *features,
                                   gsize         len)
{
  return cardpin_pcsc_features_find (features, len, FEATURE_TAG_VERIFY_PIN_DIRECT) != 0 ||
         cardpin_pcsc_features_find (features, len, FEATURE_TAG_MODIFY_PIN_DIRECT) != 0;
}

/**
 * cardpin_pcsc_card_has_pinpad:
 * @card: a connection
 *
 * Asks the reader driver for its PC/SC part 10 features (CM_IOCTL_GET_FEATURE_REQUEST).
 * A reader that does not answer has no PIN pad for cardpin.
 *
 * Returns: whether the reader has its own PIN pad
 */
gboolean
cardpin_pcsc_card_has_pinpad (CardpinPcscCard *card)
{
  guint8 features[256];
  DWORD len = 0;
  LONG rv;

  g_return_val_if_fail (card != NULL, FALSE);

  rv = SCardControl (card->handle, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, features,
                     sizeof features, &len);
  if (rv != SCARD_S_SUCCESS)
    {
      g_debug ("%s: no PC/SC features (%s)", card->reader, pcsc_stringify_error (rv));
      return FALSE;
    }
  return cardpin_pcsc_features_have_pinpad (features, MIN (len, sizeof features));
}

/**
 * cardpin_pcsc_card_disconnect:
 * @card: (transfer full): a connection
 * @disposition: %SCARD_LEAVE_CARD, or %SCARD_RESET_CARD so that no security state
 *   of this session survives
 *
 * Ends an open transaction, disconnects, releases the context and frees @card.
 */
void
cardpin_pcsc_card_disconnect (CardpinPcscCard *card,
                              DWORD            disposition)
{
  if (card == NULL)
    return;

  if (card->in_transaction)
    SCardEndTransaction (card->handle, disposition);
  if (card->handle != 0)
    {
      SCardDisconnect (card->handle, disposition);
      count_own_use (card->reader);
    }
  if (card->context != 0)
    SCardReleaseContext (card->context);

  g_free (card->reader);
  g_free (card->atr);
  g_free (card);
}

void
cardpin_pcsc_card_free (CardpinPcscCard *card)
{
  cardpin_pcsc_card_disconnect (card, SCARD_LEAVE_CARD);
}
