/* vcard-vpcd.c: the vsmartcard vpcd transport of the virtual card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * vpcd (libifdvpcd.so inside pcscd) listens on TCP; the card connects.
 * Every message is a 2-byte big-endian length and a payload. A 1-byte
 * payload is a control message (0 power off, 1 power on, 2 reset, 4 get
 * ATR); anything longer is a C-APDU, answered with the R-APDU.
 */

#include <glib/gi18n-lib.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>

#include "vcard-error.h"
#include "vcard-vpcd.h"

#define CONNECT_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define CONNECT_RETRY_US   (100 * 1000)

enum {
  VPCD_CTRL_OFF = 0,
  VPCD_CTRL_ON = 1,
  VPCD_CTRL_RESET = 2,
  VPCD_CTRL_ATR = 4,
};

static GSocketConnection *
connect_vpcd (guint    port,
              GError **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  gint64 deadline = g_get_monotonic_time () + CONNECT_TIMEOUT_US;

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      GSocketConnection *connection;

      connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL,
                                                    &local_error);
      if (connection != NULL)
        return connection;

      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
          g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, VCARD_ERROR, VCARD_ERROR_TRANSPORT,
                       _("Could not connect to vpcd on 127.0.0.1:%u: %s"),
                       port, local_error->message);
          return NULL;
        }
      g_usleep (CONNECT_RETRY_US);
    }
}

/* Returns FALSE with no error set when the peer closed the connection */
static gboolean
read_message (GInputStream  *input,
              guint8        *buffer,
              gsize         *len,
              GError       **error)
{
  guint8 header[2];
  gsize n = 0;

  if (!g_input_stream_read_all (input, header, sizeof header, &n, NULL, error))
    return FALSE;
  if (n < sizeof header)
    return FALSE;

  *len = (gsize) header[0] << 8 | header[1];
  if (!g_input_stream_read_all (input, buffer, *len, &n, NULL, error))
    return FALSE;
  return n == *len;
}

static gboolean
write_message (GOutputStream  *output,
               const guint8   *data,
               gsize           len,
               GError        **error)
{
  guint8 *frame;
  gboolean ok;

  g_return_val_if_fail (len <= 0xFFFF, FALSE);

  frame = g_malloc (len + 2);
  frame[0] = len >> 8;
  frame[1] = len & 0xFF;
  memcpy (frame + 2, data, len);
  ok = g_output_stream_write_all (output, frame, len + 2, NULL, NULL, error);
  explicit_bzero (frame, len + 2);
  g_free (frame);
  return ok;
}

static void
block_termination (gboolean block)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigprocmask (block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/**
 * vcard_vpcd_run:
 * @card: the card
 * @options: port, ATR and `--drop-after` come from here
 * @error: return location for an error
 *
 * Connects to vpcd and serves @card until the connection closes or the
 * `--drop-after` command is reached. SIGTERM and SIGINT are held back while
 * a command is applied and its state saved, so a termination signal never
 * interrupts that.
 *
 * Returns: %TRUE when the card was connected and its session ended (the
 *   connection closed or the card dropped off); %FALSE if vpcd could not be
 *   reached
 */
gboolean
vcard_vpcd_run (VcardCard           *card,
                const VcardOptions  *options,
                GError             **error)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autofree guint8 *buffer = g_malloc (0x10000);
  g_autoptr(GError) local_error = NULL;
  GInputStream *input;
  GOutputStream *output;
  guint apdu_count = 0;
  gboolean ok = TRUE;

  connection = connect_vpcd (options->port, error);
  if (connection == NULL)
    return FALSE;
  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  output = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  for (;;)
    {
      g_autoptr(GBytes) response = NULL;
      const guint8 *data;
      gsize len = 0;
      gsize response_len;

      /* vpcd writes a frame's length and its data in two sends; answer each with an
       * immediate ACK or Nagle's algorithm on its side holds the data back until our
       * delayed ACK (about 40 ms a command). Linux clears the flag now and then. */
      g_socket_set_option (g_socket_connection_get_socket (connection),
                           IPPROTO_TCP, TCP_QUICKACK, 1, NULL);
      if (!read_message (input, buffer, &len, &local_error))
        {
          /* vpcd gone (pcscd stopped, reader removed): the card is pulled */
          if (local_error != NULL && options->verbose)
            g_printerr ("vcard: connection closed: %s\n", local_error->message);
          break;
        }

      block_termination (TRUE);

      if (len == 1)
        {
          switch (buffer[0])
            {
            case VPCD_CTRL_OFF:
            case VPCD_CTRL_RESET:
              vcard_card_reset (card);
              break;
            case VPCD_CTRL_ON:
              break;
            case VPCD_CTRL_ATR:
              ok = write_message (output, options->atr, options->atr_len, &local_error);
              break;
            default:
              break;
            }
          block_termination (FALSE);
          if (!ok)
            break;
          continue;
        }

      if (len == 0)
        {
          block_termination (FALSE);
          continue;
        }

      apdu_count++;
      if (options->drop_after != 0 && apdu_count == options->drop_after &&
          options->drop_mode == VCARD_DROP_BEFORE)
        {
          if (options->verbose)
            g_printerr ("vcard: dropping off the reader before command %u\n", apdu_count);
          explicit_bzero (buffer, len);
          break;
        }

      if (vcard_options_garbles (options, apdu_count))
        {
          /* --garble, --mute-file: lost in transit; the reader gets one byte, no status
           * word */
          static const guint8 garbled[] = { 0x6F };

          if (options->verbose)
            g_printerr ("vcard: garbling the answer to command %u\n", apdu_count);
          response = g_bytes_new_static (garbled, sizeof garbled);
        }
      else
        {
          response = vcard_card_transmit (card, buffer, len);
        }
      explicit_bzero (buffer, len);

      if (options->drop_after != 0 && apdu_count == options->drop_after)
        {
          if (options->verbose)
            g_printerr ("vcard: dropping off the reader after command %u\n", apdu_count);
          break;
        }

      /* --apdu-delay-ms: model a real card's latency */
      if (options->apdu_delay_ms > 0)
        g_usleep ((gulong) options->apdu_delay_ms * 1000);

      data = g_bytes_get_data (response, &response_len);
      ok = write_message (output, data, response_len, &local_error);
      block_termination (FALSE);
      if (!ok)
        break;
    }

  /* A failed write means vpcd went away: the card is pulled, not an error */
  if (!ok && options->verbose)
    g_printerr ("vcard: connection closed: %s\n", local_error->message);

  explicit_bzero (buffer, 0x10000);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  block_termination (FALSE);
  return TRUE;
}
