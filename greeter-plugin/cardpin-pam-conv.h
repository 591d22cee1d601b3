/* cardpin-pam-conv.h — the helper's side of the conversation with pam_cardpin.so
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-pam-protocol.h"
#include "cardpin-secret.h"

G_BEGIN_DECLS

/**
 * CardpinPamReply:
 * @CARDPIN_PAM_REPLY_OK: an answer (valid UTF-8, at most CARDPIN_PAM_MAX_PAYLOAD bytes)
 * @CARDPIN_PAM_REPLY_GARBAGE: an answer that is too long or not UTF-8
 * @CARDPIN_PAM_REPLY_ABORT: the conversation failed or gave no answer (cancelled)
 */
typedef enum {
  CARDPIN_PAM_REPLY_OK,
  CARDPIN_PAM_REPLY_GARBAGE,
  CARDPIN_PAM_REPLY_ABORT,
} CardpinPamReply;

typedef struct {
  int  fd;
  /* how long to wait for the person at a prompt */
  int  answer_timeout_ms;
} CardpinPamConv;

/* Each of these exits the process when the module is gone (end of file, timeout,
 * broken frame): there is no one left to talk to. */
void             cardpin_pam_conv_info        (CardpinPamConv   *conv,
                                               const char       *text);
void             cardpin_pam_conv_error       (CardpinPamConv   *conv,
                                               const char       *text);
/* @echo: PAM_PROMPT_ECHO_ON when %TRUE, else PAM_PROMPT_ECHO_OFF. Returns the answer
 * (a locked, wiped secret) for CARDPIN_PAM_REPLY_OK, else %NULL. */
CardpinSecret   *cardpin_pam_conv_prompt      (CardpinPamConv   *conv,
                                               gboolean          echo,
                                               const char       *text,
                                               CardpinPamReply  *reply) G_GNUC_WARN_UNUSED_RESULT;
/* The first frame of the account and password modes: PAM_AUTHTOK or %NULL. */
CardpinSecret   *cardpin_pam_conv_read_authtok (CardpinPamConv  *conv) G_GNUC_WARN_UNUSED_RESULT;
void             cardpin_pam_conv_result      (CardpinPamConv   *conv,
                                               CardpinPamResult  result);

G_END_DECLS
