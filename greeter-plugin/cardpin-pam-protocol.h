/* cardpin-pam-protocol.h — the framed protocol between pam_cardpin.so and its helper
 *
 * Plain C, no GLib: pam_cardpin.so includes it. Every frame is a 4-byte header (type,
 * argument, payload length as 16-bit big endian) and at most CARDPIN_PAM_MAX_PAYLOAD
 * bytes of payload. Text holds no NUL byte. A frame that breaks these rules ends the
 * conversation. Payloads that may hold a secret are wiped by both sides after use.
 *
 *   helper -> module
 *     CONV   arg = PAM message style (PAM_PROMPT_ECHO_OFF ...), payload = the text
 *     RESULT arg = a CardpinPamResult, no payload
 *     LOG    arg = a syslog priority, payload = the message (never a secret); the module
 *            logs it with pam_syslog(), so everything cardpin logs at the login screen
 *            goes through the PAM service's log, debug lines only with `debug`
 *   module -> helper
 *     AUTHTOK arg = 1 when PAM_AUTHTOK is set (payload = it), 0 when not (first frame
 *             of the account and password modes only)
 *     ANSWER  arg = a CardpinPamAnswer, payload = the answer when CARDPIN_PAM_ANSWER_OK
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CARDPIN_PAM_HEADER_SIZE   4
/* The longest message text or answer; a longer answer is reported, never cut */
#define CARDPIN_PAM_MAX_PAYLOAD   1024
/* The fd the helper finds its socket on */
#define CARDPIN_PAM_HELPER_FD     3

typedef enum {
  CARDPIN_PAM_FRAME_CONV    = 'C',
  CARDPIN_PAM_FRAME_RESULT  = 'R',
  CARDPIN_PAM_FRAME_LOG     = 'L',
  CARDPIN_PAM_FRAME_AUTHTOK = 'T',
  CARDPIN_PAM_FRAME_ANSWER  = 'A',
} CardpinPamFrameType;

typedef enum {
  CARDPIN_PAM_ANSWER_OK,
  CARDPIN_PAM_ANSWER_CONV_ERROR,   /* the conversation function failed (abort) */
  CARDPIN_PAM_ANSWER_NONE,         /* it returned no response (NULL) */
  CARDPIN_PAM_ANSWER_TOO_LONG,     /* longer than CARDPIN_PAM_MAX_PAYLOAD */
} CardpinPamAnswer;

/* What the helper asks the module to return. The module maps it per entry point and
 * never turns anything into PAM_SUCCESS from pam_sm_authenticate. */
typedef enum {
  CARDPIN_PAM_RESULT_IGNORE = 1,   /* nothing to do, or done: the stack goes on */
  CARDPIN_PAM_RESULT_MAXTRIES,     /* stop this attempt; the reason was said */
  CARDPIN_PAM_RESULT_NEW_AUTHTOK_REQD,
  CARDPIN_PAM_RESULT_SUCCESS,      /* account and password modes only */
  CARDPIN_PAM_RESULT_AUTHTOK_ERR,  /* password mode: the PIN was not changed */
} CardpinPamResult;

typedef struct {
  uint8_t  type;
  uint8_t  arg;
  uint16_t length;
  uint8_t  payload[CARDPIN_PAM_MAX_PAYLOAD + 1];   /* NUL-terminated for text */
} CardpinPamFrame;

/* Writes one frame (MSG_NOSIGNAL: a gone peer is an error, not a SIGPIPE). 0 or -1. */
int   cardpin_pam_frame_send   (int                    fd,
                                uint8_t                type,
                                uint8_t                arg,
                                const void            *payload,
                                size_t                 length);
/* Reads one frame, waiting at most @timeout_ms in total (-1: no limit). Returns 0, -1 on
 * error or a malformed frame (errno EPROTO), on end of file (errno EPIPE) or on timeout
 * (errno ETIMEDOUT). The payload is NUL-terminated; text with a NUL inside is EPROTO. */
int   cardpin_pam_frame_recv   (int                    fd,
                                CardpinPamFrame       *frame,
                                int                    timeout_ms);
/* Wipes a frame (its payload may be a secret). */
void  cardpin_pam_frame_wipe   (CardpinPamFrame       *frame);
