/* cardpin-pam-conv.c — the helper's side of the conversation with pam_cardpin.so
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>

#include "cardpin-pam-conv.h"

G_GNUC_NORETURN static void
module_gone (const char *what)
{
  /* no secret here: only what failed */
  g_debug ("pam_cardpin.so is gone (%s: %s); exiting", what, g_strerror (errno));
  exit (0);
}

static void
send_text (CardpinPamConv *conv,
           int             style,
           const char     *text)
{
  gsize length = strlen (text);

  /* texts are ours; a translation that does not fit is cut at a character boundary */
  if (length > CARDPIN_PAM_MAX_PAYLOAD)
    length = g_utf8_find_prev_char (text, text + CARDPIN_PAM_MAX_PAYLOAD + 1) - text;
  if (cardpin_pam_frame_send (conv->fd, CARDPIN_PAM_FRAME_CONV, (guint8) style, text,
                              length) != 0)
    module_gone ("send");
}

static void
recv_frame (CardpinPamConv  *conv,
            CardpinPamFrame *frame,
            guint8           type,
            int              timeout_ms)
{
  if (cardpin_pam_frame_recv (conv->fd, frame, timeout_ms) != 0)
    module_gone ("receive");
  if (frame->type != type)
    {
      cardpin_pam_frame_wipe (frame);
      errno = EPROTO;
      module_gone ("unexpected frame");
    }
}

/* A message that takes no answer (the module acknowledges it) */
static void
say (CardpinPamConv *conv,
     int             style,
     const char     *text)
{
  CardpinPamFrame frame;

  send_text (conv, style, text);
  recv_frame (conv, &frame, CARDPIN_PAM_FRAME_ANSWER, conv->answer_timeout_ms);
  cardpin_pam_frame_wipe (&frame);
}

void
cardpin_pam_conv_info (CardpinPamConv *conv,
                       const char     *text)
{
  say (conv, PAM_TEXT_INFO, text);
}

void
cardpin_pam_conv_error (CardpinPamConv *conv,
                        const char     *text)
{
  say (conv, PAM_ERROR_MSG, text);
}

CardpinSecret *
cardpin_pam_conv_prompt (CardpinPamConv  *conv,
                         gboolean         echo,
                         const char      *text,
                         CardpinPamReply *reply)
{
  CardpinPamFrame frame;
  CardpinSecret *answer = NULL;

  send_text (conv, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, text);
  recv_frame (conv, &frame, CARDPIN_PAM_FRAME_ANSWER, conv->answer_timeout_ms);

  switch (frame.arg)
    {
    case CARDPIN_PAM_ANSWER_OK:
      if (g_utf8_validate ((const char *) frame.payload, frame.length, NULL))
        {
          answer = cardpin_secret_new (frame.payload, frame.length);
          *reply = CARDPIN_PAM_REPLY_OK;
        }
      else
        *reply = CARDPIN_PAM_REPLY_GARBAGE;
      break;
    case CARDPIN_PAM_ANSWER_TOO_LONG:
      *reply = CARDPIN_PAM_REPLY_GARBAGE;
      break;
    default:
      *reply = CARDPIN_PAM_REPLY_ABORT;
      break;
    }
  cardpin_pam_frame_wipe (&frame);
  return answer;
}

CardpinSecret *
cardpin_pam_conv_read_authtok (CardpinPamConv *conv)
{
  CardpinPamFrame frame;
  CardpinSecret *authtok = NULL;

  recv_frame (conv, &frame, CARDPIN_PAM_FRAME_AUTHTOK, 10000);
  if (frame.arg == 1 && frame.length > 0)
    authtok = cardpin_secret_new (frame.payload, frame.length);
  cardpin_pam_frame_wipe (&frame);
  return authtok;
}

void
cardpin_pam_conv_result (CardpinPamConv   *conv,
                         CardpinPamResult  result)
{
  if (cardpin_pam_frame_send (conv->fd, CARDPIN_PAM_FRAME_RESULT, (guint8) result, NULL,
                              0) != 0)
    module_gone ("result");
}
