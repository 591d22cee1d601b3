/* cardpin-status-text.c — a token's PIN state in words, for the front ends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-status-text.h"

/**
 * cardpin_status_text:
 * @pin_state: the token's PIN state
 * @pin_tries_left: PIN tries left, or -1 when unknown
 * @puk_tries_left: PUK tries left, or -1 when unknown
 *
 * Says in a few translated words how the PIN stands: "PIN OK", "2 tries left",
 * "Final try", "PIN blocked", ...
 *
 * Returns: (transfer full): the text
 */
char *
cardpin_status_text (CardpinPinState pin_state,
                     int             pin_tries_left,
                     int             puk_tries_left)
{
  switch (pin_state)
    {
    case CARDPIN_PIN_STATE_OK:
      return g_strdup (_("PIN OK"));

    case CARDPIN_PIN_STATE_COUNT_LOW:
      if (pin_tries_left == 1)
        return g_strdup (_("Final try"));
      if (pin_tries_left > 1)
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "%d try left", "%d tries left",
                                             pin_tries_left),
                                pin_tries_left);
      return g_strdup (_("Wrong PIN entered before"));

    case CARDPIN_PIN_STATE_FINAL_TRY:
      return g_strdup (_("Final try"));

    case CARDPIN_PIN_STATE_LOCKED:
      if (puk_tries_left == 0)
        return g_strdup (_("PIN and PUK blocked"));
      return g_strdup (_("PIN blocked"));

    case CARDPIN_PIN_STATE_MUST_CHANGE:
      return g_strdup (_("PIN must be changed"));

    case CARDPIN_PIN_STATE_NOT_INITIALIZED:
      return g_strdup (_("No PIN set"));

    default:
      return g_strdup (_("Unknown state"));
    }
}

/**
 * cardpin_status_icon_name:
 * @pin_state: the token's PIN state
 *
 * Returns: (transfer none): a symbolic icon name for the state
 */
const char *
cardpin_status_icon_name (CardpinPinState pin_state)
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
 * cardpin_status_css_class:
 * @pin_state: the token's PIN state
 *
 * Returns: (transfer none): the libadwaita style class for the state:
 *   "success", "warning" or "error"
 */
const char *
cardpin_status_css_class (CardpinPinState pin_state)
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
