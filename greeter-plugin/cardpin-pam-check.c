/* cardpin-pam-check.c — what the login-screen helper reads of the cards over PC/SC alone
 *
 * The check that runs in front of every smart-card login: each card's PIN counter, read
 * with core's PC/SC and PIV driver in one transaction, no PKCS#11 module loaded. Most
 * logins end here (healthy card or no card), so cardpin-pam-helper links only this and
 * starts cardpin-pam-worker (the conversations, PKCS#11, settings, the unblock service)
 * when a card needs more.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <syslog.h>

#include "cardpin-error.h"
#include "cardpin-pcsc.h"
#include "cardpin-pin-state.h"
#include "cardpin-piv.h"
#include "cardpin-pam-check.h"

static gboolean log_debug;
static const char *log_ident = "cardpin";

static void
card_free (CardpinPamCard *card)
{
  g_free (card->reader);
  g_free (card);
}

/* One card: its PIN counter, without clearing a PIN the card module verified before
 * (cardpin_piv_read_pin_tries); the card is left as it was (no reset). */
static CardpinPamCard *
check_card (const char *reader)
{
  g_autoptr(CardpinPcscCard) connection = NULL;
  g_autoptr(GError) error = NULL;
  CardpinPamCard *card;
  CardpinPivTries tries;
  CardpinCardIo io;

  connection = cardpin_pcsc_card_connect (reader, NULL, &error);
  if (connection == NULL || !cardpin_pcsc_card_begin_transaction (connection, &error))
    {
      g_debug ("%s: %s", reader, error->message);
      return NULL;
    }

  card = g_new0 (CardpinPamCard, 1);
  card->reader = g_strdup (reader);
  card->pin_tries_left = -1;
  card->pin_is_default = -1;
  io = cardpin_pcsc_card_get_io (connection);
  if (cardpin_piv_read_pin_tries (&io, &tries, &error))
    {
      card->is_piv = TRUE;
      card->pin_tries_left = tries.tries_left;
      card->pin_is_default = tries.is_default;
    }
  else if (!g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED))
    {
      /* a PIV card that failed half-way: PKCS#11 may still read it */
      card->is_piv = TRUE;
    }
  if (error != NULL)
    g_debug ("%s: %s", reader, error->message);
  cardpin_pcsc_card_end_transaction (connection, SCARD_LEAVE_CARD, NULL);
  g_debug ("%s: %s, PIN tries left %d", reader, card->is_piv ? "PIV" : "not PIV",
           card->pin_tries_left);
  return card;
}

/**
 * cardpin_pam_check_cards:
 *
 * Reads the PIN counter of each card present over PC/SC alone: for a PIV card that
 * OpenSC used last one command (GET METADATA), else SELECT and one or two more. No
 * card, no reader or no pcscd is an empty list; a card that cannot be connected to is
 * left out.
 *
 * Returns: (transfer full) (element-type CardpinPamCard): the cards
 */
GPtrArray *
cardpin_pam_check_cards (void)
{
  GPtrArray *cards = g_ptr_array_new_with_free_func ((GDestroyNotify) card_free);
  g_autoptr(GError) pcsc_error = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) readers = NULL;
  g_auto(GStrv) present = NULL;

  if (!cardpin_pcsc_readers_with_card (&readers, &present, NULL, &pcsc_error, &error))
    {
      g_debug ("PC/SC: %s", error->message);
      return cards;
    }
  if (pcsc_error != NULL)
    g_debug ("no PC/SC: %s", pcsc_error->message);

  for (guint i = 0; present[i] != NULL; i++)
    {
      CardpinPamCard *card = check_card (present[i]);

      if (card != NULL)
        g_ptr_array_add (cards, card);
    }
  return cards;
}

/**
 * cardpin_pam_check_auth:
 * @cards: (element-type CardpinPamCard): what cardpin_pam_check_cards() read
 * @result: (out): the result of the auth step when this settles it
 *
 * Settles the auth step when every card is a readable PIV card with PIN tries left (or
 * there is no card): %CARDPIN_PAM_RESULT_IGNORE, or
 * %CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD when the first card says its PIN is still the
 * factory PIN (the module remembers it for the account step, and still goes on).
 *
 * Returns: %FALSE when a card is blocked or PC/SC alone cannot tell: the worker's turn
 */
gboolean
cardpin_pam_check_auth (GPtrArray        *cards,
                        CardpinPamResult *result)
{
  for (guint i = 0; i < cards->len; i++)
    {
      CardpinPamCard *card = g_ptr_array_index (cards, i);

      if (!card->is_piv || card->pin_tries_left <= 0)
        return FALSE;
    }

  *result = CARDPIN_PAM_RESULT_IGNORE;
  if (cards->len > 0 &&
      ((CardpinPamCard *) g_ptr_array_index (cards, 0))->pin_is_default == 1)
    *result = CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD;
  return TRUE;
}

/**
 * cardpin_pam_check_account:
 * @cards: (element-type CardpinPamCard): what cardpin_pam_check_cards() read
 * @result: (out): the result of the account step when this settles it
 *
 * Settles the account step when there is no card, or when the first card is a PIV card
 * that says whether its PIN is the factory PIN (then the PIN just typed needs no
 * comparison): %CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD or %CARDPIN_PAM_RESULT_IGNORE.
 *
 * Returns: %FALSE when the card cannot say so: the worker compares the PIN or asks
 *   PKCS#11
 */
gboolean
cardpin_pam_check_account (GPtrArray        *cards,
                           CardpinPamResult *result)
{
  CardpinPamCard *card;

  *result = CARDPIN_PAM_RESULT_IGNORE;
  if (cards->len == 0)
    return TRUE;
  card = g_ptr_array_index (cards, 0);
  if (!card->is_piv || card->pin_tries_left < 0 || card->pin_is_default < 0)
    return FALSE;
  if (card->pin_is_default == 1)
    *result = CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD;
  return TRUE;
}

/**
 * cardpin_pam_check_first_use:
 * @card: the card logged in with
 * @authtok: (nullable): the PIN just logged in with (the PAM_AUTHTOK item)
 * @result: (out): %CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD when the PIN is the factory PIN,
 *   else %CARDPIN_PAM_RESULT_IGNORE
 *
 * Whether the PIN must be changed now: @authtok is the factory PIN (compared in memory,
 * no card try) or the card says so itself (PIV metadata).
 *
 * Returns: %FALSE when PC/SC alone cannot tell (the token's must-change flag decides)
 */
gboolean
cardpin_pam_check_first_use (const CardpinPamCard *card,
                             const CardpinSecret  *authtok,
                             CardpinPamResult     *result)
{
  *result = CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD;
  if (authtok != NULL &&
      cardpin_secret_equal_bytes (authtok, (const guint8 *) CARDPIN_PIV_FACTORY_PIN,
                                  strlen (CARDPIN_PIV_FACTORY_PIN)))
    {
      g_debug ("the PIN is the factory PIN");
      return TRUE;
    }
  if (card->is_piv && card->pin_is_default == 1)
    {
      g_debug ("the card reports its factory PIN");
      return TRUE;
    }
  *result = CARDPIN_PAM_RESULT_IGNORE;
  return card->is_piv && card->pin_tries_left >= 0;
}

static GLogWriterOutput
log_writer (GLogLevelFlags   log_level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  const char *message = NULL;
  const char *domain = NULL;
  int priority;

  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    priority = LOG_ERR;
  else if (log_level & G_LOG_LEVEL_WARNING)
    priority = LOG_WARNING;
  else if (log_level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    priority = log_debug ? LOG_INFO : -1;
  else
    priority = log_debug ? LOG_DEBUG : -1;
  if (priority < 0)
    return G_LOG_WRITER_HANDLED;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
    else if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
  /* debug lines are cardpin's own (no log domain), not the libraries' */
  if (priority >= LOG_INFO && domain != NULL)
    return G_LOG_WRITER_HANDLED;
  if (message != NULL)
    {
      g_autofree char *line = g_strdup_printf ("%s: %s", log_ident, message);

      /* a longer line is cut; the protocol carries no NUL */
      if (strlen (line) > CARDPIN_PAM_MAX_PAYLOAD)
        line[CARDPIN_PAM_MAX_PAYLOAD] = '\0';
      cardpin_pam_frame_send (CARDPIN_PAM_HELPER_FD, CARDPIN_PAM_FRAME_LOG, (uint8_t) priority,
                              line, strlen (line));
    }
  return G_LOG_WRITER_HANDLED;
}

/**
 * cardpin_pam_log_to_module:
 * @ident: the program's name, at the start of each line
 * @debug: whether debug messages are logged too (module argument `debug`)
 *
 * Sends GLib's log messages to pam_cardpin.so, which logs them with pam_syslog() in
 * the PAM service's log (authpriv). No message may hold a secret.
 */
void
cardpin_pam_log_to_module (const char *ident,
                           gboolean    debug)
{
  log_debug = debug;
  log_ident = ident;
  g_log_set_writer_func (log_writer, NULL, NULL);
}
