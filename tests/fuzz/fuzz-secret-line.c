/* fuzz-secret-line.c — libFuzzer target for the bounded line reader of core,
 * cardpin_secret_new_from_fd(), which reads every PIN, PUK, password and response line
 * from a file descriptor (cardpin-tool, and the login-screen helper to come)
 *
 * The input is the whole stream; lines are read until the first refusal or the end, as
 * the tool does. Each result is checked against a plain model of the rules: one line
 * without its "\n" or "\r\n", at most CARDPIN_SECRET_MAX_LINE bytes, a NUL refuses the
 * line, nothing after the newline (or after the refusing byte) is consumed, and a
 * refused line leaves nothing behind.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gio/gio.h>

#include "cardpin-secret.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef enum {
  MODEL_OK,
  MODEL_EOF,
  MODEL_NUL,
  MODEL_TOO_LONG,
} ModelResult;

/* What one read should give from @data at @pos: the result, the line's bytes (start and
 * length, without "\n" or a final "\r") and the offset after the read. */
static ModelResult
model_read (const uint8_t *data,
            size_t         size,
            size_t         pos,
            size_t        *line_start,
            size_t        *line_length,
            size_t        *next)
{
  size_t n = 0;
  size_t i = pos;

  *line_start = pos;
  if (i == size)
    {
      *line_length = 0;
      *next = i;
      return MODEL_EOF;
    }
  for (; i < size; i++)
    {
      if (data[i] == '\n')
        {
          i++;
          break;
        }
      if (data[i] == 0)
        {
          *next = i + 1;
          return MODEL_NUL;
        }
      if (n == CARDPIN_SECRET_MAX_LINE)
        {
          *next = i + 1;
          return MODEL_TOO_LONG;
        }
      n++;
    }
  if (n > 0 && data[pos + n - 1] == '\r')
    n--;
  *line_length = n;
  *next = i;
  return MODEL_OK;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  size_t pos = 0;
  int fd;

  fd = memfd_create ("fuzz-secret-line", MFD_CLOEXEC);
  if (fd < 0)
    __builtin_trap ();
  if (size > 0 && write (fd, data, size) != (ssize_t) size)
    __builtin_trap ();
  if (lseek (fd, 0, SEEK_SET) != 0)
    __builtin_trap ();

  for (;;)
    {
      g_autoptr(CardpinSecret) secret = NULL;
      g_autoptr(GError) error = NULL;
      size_t start, length, next;
      ModelResult expected = model_read (data, size, pos, &start, &length, &next);
      off_t offset;

      secret = cardpin_secret_new_from_fd (fd, &error);
      offset = lseek (fd, 0, SEEK_CUR);

      /* nothing past the line (or the refusing byte) is consumed */
      if (offset < 0 || (size_t) offset != next)
        __builtin_trap ();

      if (expected != MODEL_OK)
        {
          if (secret != NULL || error == NULL || error->domain != G_IO_ERROR)
            __builtin_trap ();
          if (expected == MODEL_EOF && error->code != G_IO_ERROR_PARTIAL_INPUT)
            __builtin_trap ();
          if (expected != MODEL_EOF && error->code != G_IO_ERROR_INVALID_DATA)
            __builtin_trap ();
          /* a message people read */
          if (error->message == NULL || error->message[0] == '\0')
            __builtin_trap ();
          break;
        }

      if (secret == NULL || error != NULL)
        __builtin_trap ();
      if (cardpin_secret_get_length (secret) != length ||
          length > CARDPIN_SECRET_MAX_LINE ||
          !cardpin_secret_equal_bytes (secret, data + start, length) ||
          memchr (cardpin_secret_get_data (secret), 0, length) != NULL ||
          memchr (cardpin_secret_get_data (secret), '\n', length) != NULL ||
          strlen (cardpin_secret_as_string (secret)) != length)
        __builtin_trap ();

      pos = next;
    }

  close (fd);
  return 0;
}
