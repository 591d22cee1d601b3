/* cardpin-pin-state.c — a token's PIN state in words and icons, once for every front end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-pin-state.h"

/**
 * cardpin_pin_state_words:
 * @pin_state: the token's PIN state
 * @pin_tries_left: PIN tries left, or -1 when unknown
 * @puk_tries_left: PUK tries left, or -1 when unknown
 *
 * Says in a few translated words how the PIN stands, with the tries left where the
 * card tells: "3 tries left", "2 tries left", "Last try", "Blocked", "Must be changed",
 * ... ("PIN OK" when a usable PIN's tries are not known)
 *
 * Returns: (transfer full): the text
 */
char *
cardpin_pin_state_words (CardpinPinState pin_state,
                     int             pin_tries_left,
                     int             puk_tries_left)
{
  switch (pin_state)
    {
    case CARDPIN_PIN_STATE_OK:
      /* the tries-left indicator, where the card tells */
      if (pin_tries_left > 0)
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "%d try left", "%d tries left",
                                             pin_tries_left),
                                pin_tries_left);
      return g_strdup (_("PIN OK"));

    case CARDPIN_PIN_STATE_COUNT_LOW:
      if (pin_tries_left == 1)
        return g_strdup (_("Last try"));
      if (pin_tries_left > 1)
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "%d try left", "%d tries left",
                                             pin_tries_left),
                                pin_tries_left);
      return g_strdup (_("Wrong PIN entered before"));

    case CARDPIN_PIN_STATE_FINAL_TRY:
      return g_strdup (_("Last try"));

    case CARDPIN_PIN_STATE_LOCKED:
      if (puk_tries_left == 0)
        return g_strdup (_("PIN and PUK blocked"));
      return g_strdup (_("Blocked"));

    case CARDPIN_PIN_STATE_MUST_CHANGE:
      return g_strdup (_("Must be changed"));

    case CARDPIN_PIN_STATE_NOT_INITIALIZED:
      return g_strdup (_("No PIN set"));

    default:
      return g_strdup (_("Unknown state"));
    }
}

/**
 * cardpin_pin_state_explain:
 * @pin_state: the token's PIN state
 * @pin_tries_left: PIN tries left, or -1 when unknown
 * @puk_tries_left: PUK tries left, or -1 when unknown
 *
 * Says in a translated sentence how the PIN stands and what to do next, for a
 * command-line or a login-screen front end: "PIN OK (3 tries left)", "PIN blocked:
 * unblock it with the PUK or your administrator", ...
 *
 * Returns: (transfer full): the text
 */
char *
cardpin_pin_state_explain (CardpinPinState pin_state,
                           int             pin_tries_left,
                           int             puk_tries_left)
{
  int left = pin_tries_left;

  switch (pin_state)
    {
    case CARDPIN_PIN_STATE_OK:
      if (left > 0)
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "PIN OK (%d try left)",
                                             "PIN OK (%d tries left)", left), left);
      return g_strdup (_("PIN OK"));
    case CARDPIN_PIN_STATE_COUNT_LOW:
      if (left == 1)
        return g_strdup (_("Last try: one more wrong PIN blocks the card"));
      if (left > 0)
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "Wrong PIN entered: %d try left",
                                             "Wrong PIN entered: %d tries left", left),
                                left);
      return g_strdup (_("Wrong PIN entered: few tries left"));
    case CARDPIN_PIN_STATE_FINAL_TRY:
      return g_strdup (_("Last try: one more wrong PIN blocks the card"));
    case CARDPIN_PIN_STATE_LOCKED:
      if (puk_tries_left == 0)
        return g_strdup (_("PIN blocked, PUK blocked too: ask your administrator"));
      return g_strdup (_("PIN blocked: unblock it with the PUK or your administrator"));
    case CARDPIN_PIN_STATE_MUST_CHANGE:
      return g_strdup (_("The PIN must be changed before use"));
    case CARDPIN_PIN_STATE_NOT_INITIALIZED:
      return g_strdup (_("No PIN set yet: set one up first"));
    default:
      return g_strdup (_("Unknown"));
    }
}

/**
 * cardpin_pin_state_icon_name:
 * @pin_state: the token's PIN state
 *
 * Returns: (transfer none): a symbolic icon name for the state
 */
const char *
cardpin_pin_state_icon_name (CardpinPinState pin_state)
{
  switch (pin_state)
    {
    case CARDPIN_PIN_STATE_OK:
      return "emblem-ok-symbolic";
    case CARDPIN_PIN_STATE_COUNT_LOW:
    case CARDPIN_PIN_STATE_FINAL_TRY:
    case CARDPIN_PIN_STATE_MUST_CHANGE:
    case CARDPIN_PIN_STATE_NOT_INITIALIZED:
      return "dialog-warning-symbolic";
    case CARDPIN_PIN_STATE_LOCKED:
      return "changes-prevent-symbolic";
    default:
      return "dialog-question-symbolic";
    }
}

/**
 * cardpin_pin_state_style_class:
 * @pin_state: the token's PIN state
 *
 * Returns: (transfer none): the libadwaita style class for the state:
 *   "success", "warning" or "error"
 */
const char *
cardpin_pin_state_style_class (CardpinPinState pin_state)
{
  switch (pin_state)
    {
    case CARDPIN_PIN_STATE_OK:
      return "success";
    case CARDPIN_PIN_STATE_LOCKED:
      return "error";
    case CARDPIN_PIN_STATE_COUNT_LOW:
    case CARDPIN_PIN_STATE_FINAL_TRY:
    case CARDPIN_PIN_STATE_MUST_CHANGE:
    case CARDPIN_PIN_STATE_NOT_INITIALIZED:
    default:
      return "warning";
    }
}
