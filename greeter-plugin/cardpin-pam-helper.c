/* cardpin-pam-helper.c — what the login-screen helper does for each PAM entry point
 *
 * Everything a person sees is a PAM message relayed by pam_cardpin.so; GDM renders
 * PROMPT_ECHO_ON as a visible entry, PROMPT_ECHO_OFF as a secret entry and TEXT_INFO /
 * ERROR_MSG as one label (DESIGN.md "Login screen"). The card work is core's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "cardpin-code.h"
#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-pcsc.h"
#include "cardpin-pin-state.h"
#include "cardpin-piv.h"
#include "cardpin-policy.h"
#include "cardpin-unblock-client.h"
#include "cardpin-pam-check.h"
#include "cardpin-pam-helper.h"

/* a typo, a refused new PIN or an unknown choice is asked again this many times */
#define MAX_REASKS 3

static CardpinManager *
open_manager (CardpinPamHelper  *self,
              GError           **error)
{
  return cardpin_manager_new ((const char * const *) self->modules, NULL, error);
}

/* The administrator's policy (the helper's configuration file) narrowed by core to what
 * the token takes */
static CardpinPolicy *
policy_for (CardpinPamHelper *self,
            CardpinToken     *token)
{
  g_autoptr(CardpinPolicy) configured = cardpin_policy_new_from_settings (self->config.settings);

  return cardpin_token_narrow_policy (token, configured, FALSE);
}

/* Ends the attempt: the reason as an error message, then PAM_MAXTRIES (which GDM shows
 * and stops at; anything else would restart the conversation in a loop). */
static CardpinPamResult
stop (CardpinPamHelper *self,
      const char       *reason)
{
  cardpin_pam_conv_error (&self->conv, reason);
  return CARDPIN_PAM_RESULT_MAXTRIES;
}

static CardpinPamResult
stop_aborted (CardpinPamHelper *self)
{
  return stop (self, _("Unblocking was cancelled. The PIN is still blocked; remove and "
                       "insert the card to start again."));
}

static CardpinPamResult
stop_garbage (CardpinPamHelper *self)
{
  return stop (self, _("Too many unreadable answers. The PIN is still blocked; remove and "
                       "insert the card to start again."));
}

/* The new PIN, typed twice in secret entries and checked against the policy; reasons are
 * said in words and the PIN asked again. %NULL: @result says how the attempt ends. */
static CardpinSecret *
ask_new_pin (CardpinPamHelper     *self,
             CardpinPolicy        *policy,
             const CardpinSecret  *old_pin,
             const CardpinSecret  *puk,
             gboolean              unblocking,
             CardpinPamResult     *result)
{
  const char *cancelled = unblocking ? NULL : _("Cancelled. The PIN was not changed.");

  for (guint attempt = 0; attempt <= MAX_REASKS; attempt++)
    {
      g_autoptr(CardpinSecret) pin = NULL;
      g_autoptr(CardpinSecret) again = NULL;
      g_autoptr(GError) error = NULL;
      CardpinPamReply reply;

      pin = cardpin_pam_conv_prompt (&self->conv, FALSE, _("New PIN:"), &reply);
      if (reply == CARDPIN_PAM_REPLY_ABORT)
        {
          *result = cancelled ? stop (self, cancelled) : stop_aborted (self);
          return NULL;
        }
      if (reply == CARDPIN_PAM_REPLY_OK &&
          cardpin_policy_check (policy, pin, old_pin, puk, &error))
        {
          again = cardpin_pam_conv_prompt (&self->conv, FALSE, _("New PIN again:"), &reply);
          if (reply == CARDPIN_PAM_REPLY_ABORT)
            {
              *result = cancelled ? stop (self, cancelled) : stop_aborted (self);
              return NULL;
            }
          if (reply == CARDPIN_PAM_REPLY_OK &&
              cardpin_policy_check_confirmation (pin, again, &error))
            return g_steal_pointer (&pin);
        }

      if (attempt == MAX_REASKS)
        break;
      cardpin_pam_conv_error (&self->conv,
                              error != NULL ? error->message
                                            : _("That is not a PIN this card can take."));
    }
  *result = stop (self, unblocking ? _("No new PIN was set. The PIN is still blocked; "
                                       "remove and insert the card to start again.")
                                   : _("No new PIN was set. The PIN was not changed."));
  return NULL;
}

static CardpinPamResult
unblock_with_helpdesk (CardpinPamHelper *self,
                       CardpinToken     *token,
                       CardpinPolicy    *policy)
{
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *challenge = NULL;
  CardpinPamResult result = CARDPIN_PAM_RESULT_MAXTRIES;
  gsize length;

  session = cardpin_token_begin_unblock (token, NULL, &error);
  if (session == NULL)
    return stop (self, error->message);
  length = g_bytes_get_size (cardpin_unblock_session_get_challenge (session));

  challenge = g_strdup_printf (_("Call your helpdesk and read them this challenge:\n%s"),
                               cardpin_unblock_session_get_challenge_code (session));
  cardpin_pam_conv_info (&self->conv, challenge);

  for (guint attempt = 0; response == NULL; attempt++)
    {
      g_autoptr(CardpinSecret) typed = NULL;
      CardpinPamReply reply;

      typed = cardpin_pam_conv_prompt (&self->conv, TRUE, _("Response code from your helpdesk:"),
                                       &reply);
      if (reply == CARDPIN_PAM_REPLY_ABORT)
        {
          cardpin_unblock_session_cancel (session);
          return stop_aborted (self);
        }

      g_clear_error (&error);
      /* the checksum is checked here: a typo never reaches the card */
      if (reply == CARDPIN_PAM_REPLY_OK)
        response = cardpin_code_parse (cardpin_secret_as_string (typed), length, &error);
      if (response != NULL)
        break;

      if (attempt == MAX_REASKS)
        {
          cardpin_unblock_session_cancel (session);
          return reply == CARDPIN_PAM_REPLY_OK ?
                 stop (self, _("Too many mistyped response codes. The PIN is still blocked; "
                               "remove and insert the card to start again.")) :
                 stop_garbage (self);
        }
      cardpin_pam_conv_error (&self->conv, error != NULL ? error->message
                                                         : _("That is not a response code."));
      /* an error message hides the challenge on the login screen: show it again */
      cardpin_pam_conv_info (&self->conv, challenge);
    }

  new_pin = ask_new_pin (self, policy, NULL, NULL, TRUE, &result);
  if (new_pin == NULL)
    {
      cardpin_unblock_session_cancel (session);
      return result;
    }

  g_clear_error (&error);
  if (!cardpin_unblock_session_complete (session, response, new_pin, NULL, &error))
    {
      g_debug ("unblock: %s", error->message);
      return stop (self, error->message);
    }
  return CARDPIN_PAM_RESULT_IGNORE;
}

static CardpinPamResult
unblock_with_puk (CardpinPamHelper *self,
                  CardpinToken     *token,
                  CardpinPolicy    *policy)
{
  g_autoptr(CardpinSecret) puk = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(GError) error = NULL;
  CardpinPamResult result = CARDPIN_PAM_RESULT_MAXTRIES;

  for (guint attempt = 0; puk == NULL; attempt++)
    {
      g_autoptr(CardpinSecret) typed = NULL;
      CardpinPamReply reply;

      typed = cardpin_pam_conv_prompt (&self->conv, FALSE, _("PUK:"), &reply);
      if (reply == CARDPIN_PAM_REPLY_ABORT)
        return stop_aborted (self);

      g_clear_error (&error);
      /* a value no PIV card can hold costs no try */
      if (reply == CARDPIN_PAM_REPLY_OK &&
          cardpin_piv_check_reference (typed, CARDPIN_PIV_KEY_PUK, FALSE, &error))
        puk = g_steal_pointer (&typed);
      else if (attempt == MAX_REASKS)
        return stop_garbage (self);
      else
        cardpin_pam_conv_error (&self->conv, error != NULL ? error->message
                                                           : _("That is not a PUK."));
    }

  new_pin = ask_new_pin (self, policy, NULL, puk, TRUE, &result);
  if (new_pin == NULL)
    return result;

  if (!cardpin_token_unblock_pin (token, puk, new_pin, NULL, &error))
    {
      g_debug ("unblock with PUK: %s", error->message);
      return stop (self, error->message);
    }
  return CARDPIN_PAM_RESULT_IGNORE;
}

/* A short visible answer (an account name): asked again when empty or unreadable.
 * %NULL: @result says how the attempt ends. */
static char *
ask_text (CardpinPamHelper *self,
          const char       *prompt,
          CardpinPamResult *result)
{
  for (guint attempt = 0; attempt <= MAX_REASKS; attempt++)
    {
      g_autoptr(CardpinSecret) answer = NULL;
      CardpinPamReply reply;

      answer = cardpin_pam_conv_prompt (&self->conv, TRUE, prompt, &reply);
      if (reply == CARDPIN_PAM_REPLY_ABORT)
        {
          *result = stop_aborted (self);
          return NULL;
        }
      if (reply == CARDPIN_PAM_REPLY_OK)
        {
          g_autofree char *text = g_strstrip (g_strdup (cardpin_secret_as_string (answer)));

          if (text[0] != '\0' && strlen (text) <= 256)
            return g_steal_pointer (&text);
        }
    }
  *result = stop_garbage (self);
  return NULL;
}

/* The unblock service answers the card's challenge (or gives the PUK of a card without
 * an unblock key) for the account that signs in with its password. */
static CardpinPamResult
unblock_online (CardpinPamHelper *self,
                CardpinToken     *token,
                CardpinPolicy    *policy)
{
  g_autoptr(CardpinUnblockClient) client = NULL;
  g_autoptr(CardpinSecret) password = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *account = NULL;
  CardpinPamResult result = CARDPIN_PAM_RESULT_MAXTRIES;
  CardpinPamReply reply;
  const char *ca = self->config.server_ca;
  gboolean ok;

  client = cardpin_unblock_client_new (self->config.server_url,
                                       ca != NULL && ca[0] != '\0' ? ca : NULL, &error);
  if (client == NULL)
    return stop (self, error->message);

  account = ask_text (self, _("Account name for the unblock service:"), &result);
  if (account == NULL)
    return result;
  password = cardpin_pam_conv_prompt (&self->conv, FALSE, _("Password:"), &reply);
  if (reply == CARDPIN_PAM_REPLY_ABORT)
    return stop_aborted (self);
  if (password == NULL || cardpin_secret_get_length (password) == 0)
    return stop (self, _("No password was entered. The PIN is still blocked; remove and "
                         "insert the card to start again."));

  new_pin = ask_new_pin (self, policy, NULL, NULL, TRUE, &result);
  if (new_pin == NULL)
    return result;

  cardpin_unblock_client_set_user (client, account);
  cardpin_unblock_client_set_password (client, password);
  ok = cardpin_unblock_client_unblock (client, token, new_pin, NULL, &error);
  /* a card without an unblock key: the service gives its PUK */
  if (!ok && g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED))
    {
      g_clear_error (&error);
      ok = cardpin_unblock_client_unblock_with_puk (client, token, new_pin, NULL, &error);
    }
  if (!ok)
    {
      g_debug ("online unblock: %s", error->message);
      return stop (self, error->message);
    }
  return CARDPIN_PAM_RESULT_IGNORE;
}

static const char *
method_label (CardpinPamMethod method)
{
  switch (method)
    {
    case CARDPIN_PAM_METHOD_HELPDESK:
      return _("a response code from your helpdesk");
    case CARDPIN_PAM_METHOD_PUK:
      return _("your PUK");
    case CARDPIN_PAM_METHOD_ONLINE:
    default:
      return _("your account and password (online)");
    }
}

/* Which method: no question when there is only one. 0 when the person gave up. */
static CardpinPamMethod
choose_method (CardpinPamHelper  *self,
               CardpinPamMethod  *methods,
               guint              n_methods,
               CardpinPamResult  *result)
{
  g_autoptr(GString) question = g_string_new (_("Unblock it with"));

  if (n_methods == 1)
    return methods[0];

  for (guint i = 0; i < n_methods; i++)
    g_string_append_printf (question, "%s %u = %s", i == 0 ? ":" : ",", i + 1,
                            method_label (methods[i]));
  g_string_append_printf (question, _(". Type a number from 1 to %u:"), n_methods);

  for (guint attempt = 0; attempt <= MAX_REASKS; attempt++)
    {
      g_autoptr(CardpinSecret) answer = NULL;
      CardpinPamReply reply;
      guint64 number = 0;

      answer = cardpin_pam_conv_prompt (&self->conv, TRUE, question->str, &reply);
      if (reply == CARDPIN_PAM_REPLY_ABORT)
        {
          *result = stop_aborted (self);
          return 0;
        }
      if (reply == CARDPIN_PAM_REPLY_OK &&
          g_ascii_string_to_unsigned (g_strstrip ((char *) cardpin_secret_as_string (answer)),
                                      10, 1, n_methods, &number, NULL))
        return methods[number - 1];
      if (attempt < MAX_REASKS)
        cardpin_pam_conv_error (&self->conv, _("Type one of the numbers shown."));
    }
  *result = stop_garbage (self);
  return 0;
}

CardpinPamResult
cardpin_pam_helper_auth (CardpinPamHelper *self)
{
  g_autoptr(GPtrArray) cards = cardpin_pam_check_cards ();
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *explanation = NULL;
  const char *blocked_reader = NULL;
  gboolean unknown = FALSE;
  CardpinPamMethod methods[CARDPIN_PAM_N_METHODS];
  guint n_methods = 0;
  CardpinPamMethod method;
  CardpinPamResult result = CARDPIN_PAM_RESULT_MAXTRIES;

  for (guint i = 0; i < cards->len && blocked_reader == NULL; i++)
    {
      CardpinPamCard *card = g_ptr_array_index (cards, i);

      if (card->pin_tries_left == 0)
        blocked_reader = card->reader;
      else if (!card->is_piv || card->pin_tries_left < 0)
        unknown = TRUE;
    }

  /* healthy card or no card: not one message */
  if (blocked_reader == NULL && !unknown)
    return CARDPIN_PAM_RESULT_IGNORE;

  manager = open_manager (self, &error);
  if (manager == NULL)
    {
      g_warning ("cannot load the PKCS#11 modules: %s", error->message);
      return CARDPIN_PAM_RESULT_IGNORE;
    }

  if (blocked_reader != NULL)
    token = cardpin_manager_find_token (manager, blocked_reader, NULL, &error);
  else
    {
      /* cards PC/SC alone cannot read: what PKCS#11 says of them */
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (manager)) && !token; i++)
        {
          g_autoptr(CardpinToken) candidate = g_list_model_get_item (G_LIST_MODEL (manager), i);

          if (cardpin_token_is_hardware (candidate) &&
              cardpin_token_get_pin_state (candidate) == CARDPIN_PIN_STATE_LOCKED)
            token = g_steal_pointer (&candidate);
        }
    }
  if (token == NULL)
    {
      g_debug ("no blocked token: %s", error != NULL ? error->message : "all usable");
      return CARDPIN_PAM_RESULT_IGNORE;
    }
  /* blocked by the time the modules are loaded? (another attempt may have unblocked it) */
  if (cardpin_token_get_pin_state (token) != CARDPIN_PIN_STATE_LOCKED)
    return CARDPIN_PAM_RESULT_IGNORE;

  for (guint i = 0; i < self->config.n_methods; i++)
    {
      CardpinPamMethod candidate = self->config.methods[i];

      if (candidate == CARDPIN_PAM_METHOD_HELPDESK && !cardpin_token_is_piv (token))
        continue;
      if (candidate == CARDPIN_PAM_METHOD_PUK && cardpin_token_get_puk_tries_left (token) == 0)
        continue;
      /* the online method needs the unblock service's address */
      if (candidate == CARDPIN_PAM_METHOD_ONLINE &&
          (self->config.server_url == NULL || self->config.server_url[0] == '\0'))
        continue;
      methods[n_methods++] = candidate;
    }

  explanation = cardpin_pin_state_explain (CARDPIN_PIN_STATE_LOCKED,
                                           cardpin_token_get_pin_tries_left (token),
                                           cardpin_token_get_puk_tries_left (token));
  if (n_methods == 0)
    {
      g_autofree char *text = g_strdup_printf ("%s. %s", explanation,
                                               _("It cannot be unblocked here: ask your "
                                                 "administrator."));
      return stop (self, text);
    }

  cardpin_pam_conv_info (&self->conv, _("The PIN of this smart card is blocked."));

  method = choose_method (self, methods, n_methods, &result);
  if (method == 0)
    return result;

  policy = policy_for (self, token);
  if (method == CARDPIN_PAM_METHOD_HELPDESK)
    result = unblock_with_helpdesk (self, token, policy);
  else if (method == CARDPIN_PAM_METHOD_ONLINE)
    result = unblock_online (self, token, policy);
  else
    result = unblock_with_puk (self, token, policy);

  if (result == CARDPIN_PAM_RESULT_IGNORE)
    {
      g_debug ("PIN unblocked in %s", cardpin_token_get_reader (token));
      cardpin_pam_conv_info (&self->conv, _("PIN unblocked — enter your new PIN"));
    }
  return result;
}

/* The token in the first reader with a card, through PKCS#11 */
static CardpinToken *
find_card_token (CardpinPamHelper  *self,
                 GPtrArray         *cards,
                 CardpinManager   **manager_out,
                 GError           **error)
{
  g_autoptr(CardpinManager) manager = NULL;
  CardpinPamCard *card;
  CardpinToken *token;

  if (cards->len == 0)
    return NULL;
  card = g_ptr_array_index (cards, 0);
  manager = open_manager (self, error);
  if (manager == NULL)
    return NULL;
  token = cardpin_manager_find_token (manager, card->reader, NULL, error);
  if (token != NULL)
    *manager_out = g_steal_pointer (&manager);
  return token;
}

CardpinPamResult
cardpin_pam_helper_account (CardpinPamHelper *self)
{
  g_autoptr(CardpinSecret) authtok = cardpin_pam_conv_read_authtok (&self->conv);
  g_autoptr(GPtrArray) cards = cardpin_pam_check_cards ();
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;
  CardpinPamResult result;
  CardpinPamCard *card;

  if (cards->len == 0)
    return CARDPIN_PAM_RESULT_IGNORE;
  card = g_ptr_array_index (cards, 0);

  /* the factory PIN, or the card says it must be changed */
  if (cardpin_pam_check_first_use (card, authtok, &result))
    return result;

  /* cards PC/SC alone cannot read: the token's must-change flag */
  token = find_card_token (self, cards, &manager, &error);
  if (token != NULL && cardpin_token_get_pin_state (token) == CARDPIN_PIN_STATE_MUST_CHANGE)
    return CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD;
  return CARDPIN_PAM_RESULT_IGNORE;
}

CardpinPamResult
cardpin_pam_helper_password (CardpinPamHelper *self)
{
  g_autoptr(CardpinSecret) old_pin = cardpin_pam_conv_read_authtok (&self->conv);
  g_autoptr(GPtrArray) cards = cardpin_pam_check_cards ();
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(CardpinPolicy) policy = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(GError) error = NULL;
  CardpinPamResult result = CARDPIN_PAM_RESULT_AUTHTOK_ERR;

  token = find_card_token (self, cards, &manager, &error);
  if (token == NULL)
    {
      g_debug ("no card: %s", error != NULL ? error->message : "none");
      return CARDPIN_PAM_RESULT_IGNORE;
    }

  cardpin_pam_conv_info (&self->conv, _("Your smart card still has its first PIN. Choose "
                                        "a personal PIN now."));
  /* the card says its PIN is still the factory PIN: that is the current PIN, compared
   * by the card when it is changed */
  if (old_pin == NULL && cards->len > 0 &&
      ((CardpinPamCard *) g_ptr_array_index (cards, 0))->pin_is_default == 1)
    old_pin = cardpin_secret_new_from_string (CARDPIN_PIV_FACTORY_PIN);
  if (old_pin == NULL)
    {
      CardpinPamReply reply;

      old_pin = cardpin_pam_conv_prompt (&self->conv, FALSE, _("Current PIN:"), &reply);
      if (old_pin == NULL)
        {
          cardpin_pam_conv_error (&self->conv, _("The PIN was not changed."));
          return CARDPIN_PAM_RESULT_AUTHTOK_ERR;
        }
    }

  policy = policy_for (self, token);
  new_pin = ask_new_pin (self, policy, old_pin, NULL, FALSE, &result);
  if (new_pin == NULL)
    return CARDPIN_PAM_RESULT_AUTHTOK_ERR;

  if (!cardpin_token_change_pin (token, old_pin, new_pin, NULL, &error))
    {
      cardpin_pam_conv_error (&self->conv, error->message);
      return CARDPIN_PAM_RESULT_AUTHTOK_ERR;
    }
  cardpin_pam_conv_info (&self->conv, _("The PIN was changed."));
  return CARDPIN_PAM_RESULT_SUCCESS;
}
