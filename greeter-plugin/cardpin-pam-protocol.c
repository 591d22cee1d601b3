/* cardpin-pam-protocol.c — the framed protocol between pam_cardpin.so and its helper
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cardpin-pam-protocol.h"

static long long
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
send_all (int         fd,
          const void *data,
          size_t      length)
{
  const uint8_t *p = data;

  while (length > 0)
    {
      ssize_t n = send (fd, p, length, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      length -= (size_t) n;
    }
  return 0;
}

static int
recv_all (int        fd,
          void      *data,
          size_t     length,
          long long  deadline)
{
  uint8_t *p = data;

  while (length > 0)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int timeout = -1;
      ssize_t n;
      int r;

      if (deadline >= 0)
        {
          long long left = deadline - now_ms ();

          if (left <= 0)
            {
              errno = ETIMEDOUT;
              return -1;
            }
          timeout = left > 60000 ? 60000 : (int) left;
        }
      r = poll (&pfd, 1, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        continue;   /* the deadline is checked above */

      n = recv (fd, p, length, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        {
          errno = EPIPE;
          return -1;
        }
      p += n;
      length -= (size_t) n;
    }
  return 0;
}

int
cardpin_pam_frame_send (int         fd,
                        uint8_t     type,
                        uint8_t     arg,
                        const void *payload,
                        size_t      length)
{
  uint8_t buffer[CARDPIN_PAM_HEADER_SIZE + CARDPIN_PAM_MAX_PAYLOAD];
  int r;

  if (length > CARDPIN_PAM_MAX_PAYLOAD || (length > 0 && payload == NULL))
    {
      errno = EMSGSIZE;
      return -1;
    }
  buffer[0] = type;
  buffer[1] = arg;
  buffer[2] = (uint8_t) (length >> 8);
  buffer[3] = (uint8_t) (length & 0xff);
  if (length > 0)
    memcpy (buffer + CARDPIN_PAM_HEADER_SIZE, payload, length);

  /* one write, so a frame is never interleaved */
  r = send_all (fd, buffer, CARDPIN_PAM_HEADER_SIZE + length);
  explicit_bzero (buffer, sizeof buffer);
  return r;
}

int
cardpin_pam_frame_recv (int              fd,
                        CardpinPamFrame *frame,
                        int              timeout_ms)
{
  uint8_t header[CARDPIN_PAM_HEADER_SIZE];
  long long deadline = timeout_ms < 0 ? -1 : now_ms () + timeout_ms;
  size_t length;

  memset (frame, 0, sizeof *frame);
  if (recv_all (fd, header, sizeof header, deadline) < 0)
    return -1;

  length = ((size_t) header[2] << 8) | header[3];
  if (length > CARDPIN_PAM_MAX_PAYLOAD)
    {
      errno = EPROTO;
      return -1;
    }
  frame->type = header[0];
  frame->arg = header[1];
  frame->length = (uint16_t) length;
  if (length > 0 && recv_all (fd, frame->payload, length, deadline) < 0)
    {
      cardpin_pam_frame_wipe (frame);
      return -1;
    }
  frame->payload[length] = '\0';

  /* every payload is text: a NUL inside is a broken peer */
  if (memchr (frame->payload, '\0', length) != NULL)
    {
      cardpin_pam_frame_wipe (frame);
      errno = EPROTO;
      return -1;
    }
  return 0;
}

void
cardpin_pam_frame_wipe (CardpinPamFrame *frame)
{
  explicit_bzero (frame, sizeof *frame);
}
