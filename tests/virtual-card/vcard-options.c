/* vcard-options.c: command-line options of the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <string.h>

#include "vcard-error.h"
#include "vcard-options.h"

/* "CardPIV1": a direct-convention T=1 ATR that no OpenSC driver claims by ATR,
 * so OpenSC finds the card through the PIV SELECT. */
static const guint8 default_atr[] = {
  0x3B, 0x88, 0x80, 0x01, 0x43, 0x61, 0x72, 0x64, 0x50, 0x49, 0x56, 0x31, 0x43,
};

static const guint8 default_admin_key[24] = {
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};

static void
wipe_string (char *s)
{
  if (s != NULL)
    explicit_bzero (s, strlen (s));
  g_free (s);
}

static gboolean
parse_uint (const char  *option,
            const char  *text,
            guint        min,
            guint        max,
            guint       *out,
            GError     **error)
{
  guint64 v;

  if (text == NULL)
    return TRUE;

  if (!g_ascii_string_to_unsigned (text, 10, min, max, &v, NULL))
    {
      g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                   _("%s: “%s” is not a whole number from %u to %u"),
                   option, text, min, max);
      return FALSE;
    }

  *out = (guint) v;
  return TRUE;
}

/* A file name option: moves *@text (if given) to *@out; an empty name is an error */
static gboolean
take_file_name (const char  *option,
                char       **text,
                char       **out,
                GError     **error)
{
  if (*text == NULL)
    return TRUE;

  if (**text == '\0')
    {
      g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                   _("%s: the file name is empty"), option);
      return FALSE;
    }

  g_free (*out);
  *out = g_steal_pointer (text);
  return TRUE;
}

static gboolean
parse_hex (const char  *option,
           const char  *text,
           guint8      *out,
           gsize        min,
           gsize        max,
           gsize       *out_len,
           GError     **error)
{
  gsize n = strlen (text);

  if (n % 2 != 0 || n / 2 < min || n / 2 > max)
    goto bad;

  for (gsize i = 0; i < n; i += 2)
    {
      int hi = g_ascii_xdigit_value (text[i]);
      int lo = g_ascii_xdigit_value (text[i + 1]);

      if (hi < 0 || lo < 0)
        goto bad;
      out[i / 2] = (hi << 4) | lo;
    }

  *out_len = n / 2;
  return TRUE;

bad:
  explicit_bzero (out, max);
  if (min == max)
    g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                 _("%s: expected %zu bytes as hexadecimal digits"), option, min);
  else
    g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                 _("%s: expected %zu to %zu bytes as hexadecimal digits"), option, min, max);
  return FALSE;
}

/**
 * vcard_pin_is_well_formed:
 * @pin: an FF-padded PIN or PUK
 *
 * Checks the PIV format: 6 to 8 printable ASCII characters, padded with
 * 0xFF to 8 bytes.
 *
 * Returns: %TRUE if @pin is acceptable as a new PIN or PUK
 */
gboolean
vcard_pin_is_well_formed (const guint8 pin[VCARD_PIN_MAX])
{
  gsize n = 0;

  while (n < VCARD_PIN_MAX && pin[n] != 0xFF)
    {
      if (pin[n] < 0x20 || pin[n] > 0x7E)
        return FALSE;
      n++;
    }

  for (gsize i = n; i < VCARD_PIN_MAX; i++)
    if (pin[i] != 0xFF)
      return FALSE;

  return n >= 6;
}

/**
 * vcard_pin_encode:
 * @text: a PIN as text
 * @out: (out): the PIN padded with 0xFF to 8 bytes
 *
 * Returns: %TRUE if @text is a well-formed PIV PIN or PUK
 */
gboolean
vcard_pin_encode (const char *text,
                  guint8      out[VCARD_PIN_MAX])
{
  gsize n = strlen (text);

  memset (out, 0xFF, VCARD_PIN_MAX);
  if (n > VCARD_PIN_MAX)
    return FALSE;
  memcpy (out, text, n);

  if (!vcard_pin_is_well_formed (out))
    {
      memset (out, 0xFF, VCARD_PIN_MAX);
      return FALSE;
    }

  return TRUE;
}

/**
 * vcard_options_parse_drop_after:
 * @text: `N`, `N:before` or `N:after`
 * @count: (out): N, at least 1
 * @mode: (out): when to drop
 * @error: return location for an error
 *
 * Parses the value of `--drop-after`.
 *
 * Returns: %TRUE on success
 */
gboolean
vcard_options_parse_drop_after (const char     *text,
                                guint          *count,
                                VcardDropMode  *mode,
                                GError        **error)
{
  g_autofree char *number = NULL;
  const char *colon = strchr (text, ':');
  VcardDropMode m = VCARD_DROP_BEFORE;
  guint64 n;

  if (colon != NULL)
    {
      number = g_strndup (text, colon - text);
      if (g_str_equal (colon + 1, "before"))
        m = VCARD_DROP_BEFORE;
      else if (g_str_equal (colon + 1, "after"))
        m = VCARD_DROP_AFTER;
      else
        goto bad;
    }
  else
    {
      number = g_strdup (text);
    }

  if (!g_ascii_string_to_unsigned (number, 10, 1, G_MAXUINT, &n, NULL))
    goto bad;

  *count = (guint) n;
  *mode = m;
  return TRUE;

bad:
  g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
               _("--drop-after: “%s” is not N, N:before or N:after with N ≥ 1"), text);
  return FALSE;
}

/**
 * vcard_options_parse_garble:
 * @text: the value of `--garble`: command numbers (from 1) separated by commas
 * @numbers: (element-type guint): where they are appended
 * @error: return location for an error
 *
 * Returns: %TRUE when @text is a list of whole numbers ≥ 1
 */
gboolean
vcard_options_parse_garble (const char  *text,
                            GArray      *numbers,
                            GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[0] == NULL || parts[i] != NULL; i++)
    {
      guint64 n;

      if (parts[i] == NULL ||
          !g_ascii_string_to_unsigned (parts[i], 10, 1, G_MAXUINT, &n, NULL))
        {
          g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                       _("--garble: “%s” is not a list of command numbers N,N,… with "
                         "N ≥ 1"), text);
          return FALSE;
        }
      g_array_append_val (numbers, (guint) { n });
    }
  return TRUE;
}

/**
 * vcard_options_garbles:
 * @self: options
 * @command: the number of a command in the card's life, from 1
 *
 * Whether @command is not applied, and its answer is cut to one byte (a transmission
 * error; the card stays in the reader): `--garble` names it, or the file of
 * `--mute-file` exists now. That file is looked at for every command, so a test can
 * make the card unreadable and readable again while it stays inserted.
 *
 * Returns: whether the answer to @command is garbled
 */
gboolean
vcard_options_garbles (const VcardOptions *self,
                       guint               command)
{
  for (guint i = 0; self->garble != NULL && i < self->garble->len; i++)
    if (g_array_index (self->garble, guint, i) == command)
      return TRUE;
  return self->mute_path != NULL && g_file_test (self->mute_path, G_FILE_TEST_EXISTS);
}

/**
 * vcard_options_new:
 *
 * Returns: (transfer full): options with every default set
 */
VcardOptions *
vcard_options_new (void)
{
  VcardOptions *self = g_new0 (VcardOptions, 1);

  vcard_pin_encode ("123456", self->pin);
  vcard_pin_encode ("12345678", self->puk);
  memcpy (self->admin_key, default_admin_key, sizeof default_admin_key);
  self->admin_key_len = sizeof default_admin_key;
  self->pin_tries = 3;
  self->puk_tries = 3;
  self->admin_tries = 5;
  memcpy (self->atr, default_atr, sizeof default_atr);
  self->atr_len = sizeof default_atr;
  self->subject = g_strdup ("Virtual Card User");
  self->key_alg = VCARD_KEY_ALG_RSA2048;
  self->drop_mode = VCARD_DROP_BEFORE;
  self->garble = g_array_new (FALSE, FALSE, sizeof (guint));

  return self;
}

/**
 * vcard_options_free:
 * @self: (transfer full): options
 *
 * Wipes the secrets and frees @self.
 */
void
vcard_options_free (VcardOptions *self)
{
  if (self == NULL)
    return;

  g_free (self->serial);
  g_free (self->state_path);
  g_free (self->subject);
  g_free (self->mute_path);
  g_clear_pointer (&self->garble, g_array_unref);
  explicit_bzero (self, sizeof *self);
  g_free (self);
}

/**
 * vcard_options_parse:
 * @self: options holding the defaults
 * @args: (array zero-terminated=1): the command line, program name first;
 *   parsed options are removed from it
 * @error: return location for an error
 *
 * Parses and validates the command line into @self.
 *
 * Returns: %TRUE on success
 */
gboolean
vcard_options_parse (VcardOptions  *self,
                     char         **args,
                     GError       **error)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *port = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *pin_tries = NULL;
  g_autofree char *puk_tries = NULL;
  g_autofree char *admin_tries = NULL;
  g_autofree char *state_path = NULL;
  g_autofree char *change_limit = NULL;
  g_autofree char *atr = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *key_alg = NULL;
  g_autofree char *drop_after = NULL;
  g_autofree char *apdu_delay = NULL;
  g_autofree char *garble = NULL;
  g_autofree char *mute_path = NULL;
  char *pin = NULL;
  char *puk = NULL;
  char *admin_key = NULL;
  gboolean verbose = FALSE;
  gboolean ok = FALSE;
  gsize len;
  const GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_STRING, &port, N_("TCP port vpcd listens on (required)"), "N" },
    { "serial", 0, 0, G_OPTION_ARG_STRING, &serial, N_("Card serial: up to 32 hex digits"), "HEX" },
    { "pin", 0, 0, G_OPTION_ARG_STRING, &pin, N_("Initial PIN (default 123456)"), "PIN" },
    { "puk", 0, 0, G_OPTION_ARG_STRING, &puk, N_("Initial PUK (default 12345678)"), "PUK" },
    { "admin-key", 0, 0, G_OPTION_ARG_STRING, &admin_key,
      N_("Management key (9B): 16 bytes AES-128 or 24 bytes 3DES, hex"), "HEX" },
    { "pin-tries", 0, 0, G_OPTION_ARG_STRING, &pin_tries, N_("PIN tries (default 3)"), "N" },
    { "puk-tries", 0, 0, G_OPTION_ARG_STRING, &puk_tries, N_("PUK tries (default 3)"), "N" },
    { "admin-tries", 0, 0, G_OPTION_ARG_STRING, &admin_tries,
      N_("Management key tries (default 5)"), "N" },
    { "state", 0, 0, G_OPTION_ARG_FILENAME, &state_path,
      N_("State file: loaded if it exists, else created"), "FILE" },
    { "pin-change-limit", 0, 0, G_OPTION_ARG_STRING, &change_limit,
      N_("How often the PIN may be changed (0 = unlimited)"), "N" },
    { "atr", 0, 0, G_OPTION_ARG_STRING, &atr, N_("Answer to reset, hex"), "HEX" },
    { "subject", 0, 0, G_OPTION_ARG_STRING, &subject, N_("Certificate subject CN"), "CN" },
    { "key-alg", 0, 0, G_OPTION_ARG_STRING, &key_alg,
      N_("Algorithm of keys 9A and 9C: rsa2048 or eccp256"), "ALG" },
    { "drop-after", 0, 0, G_OPTION_ARG_STRING, &drop_after,
      N_("Drop off the reader at the N-th command, before or after applying it"),
      "N[:before|:after]" },
    { "apdu-delay-ms", 0, 0, G_OPTION_ARG_STRING, &apdu_delay,
      N_("Delay every answer to a command by N milliseconds, 0 to 10000 (default 0), "
         "like a real card’s latency"), "N" },
    { "garble", 0, 0, G_OPTION_ARG_STRING, &garble,
      N_("Answer these commands (numbered from 1) with one byte, without applying them: "
         "a transmission error, the card stays in the reader"), "N[,N…]" },
    { "mute-file", 0, 0, G_OPTION_ARG_FILENAME, &mute_path,
      N_("While FILE exists, answer every command with one byte, without applying it: "
         "the card stays in the reader but cannot be read until FILE is removed"), "FILE" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
      N_("Log each command header and status word"), NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("A PIV smart card emulator for vsmartcard’s vpcd."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse_strv (context, &args, error))
    goto out;

  if (args[0] != NULL && args[1] != NULL)
    {
      g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                   _("Unexpected argument “%s”"), args[1]);
      goto out;
    }

  if (port == NULL)
    {
      g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                           _("--port is required"));
      goto out;
    }
  if (!parse_uint ("--port", port, 1, 65535, &self->port, error))
    goto out;

  if (serial != NULL)
    {
      gsize n = strlen (serial);

      if (n == 0 || n > 32)
        goto bad_serial;
      for (gsize i = 0; i < n; i++)
        if (!g_ascii_isxdigit (serial[i]))
          goto bad_serial;
      g_free (self->serial);
      self->serial = g_ascii_strup (serial, -1);
    }

  if (pin != NULL && !vcard_pin_encode (pin, self->pin))
    {
      g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                           _("--pin: a PIN has 6 to 8 printable ASCII characters"));
      goto out;
    }
  if (puk != NULL && !vcard_pin_encode (puk, self->puk))
    {
      g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                           _("--puk: a PUK has 6 to 8 printable ASCII characters"));
      goto out;
    }
  if (admin_key != NULL)
    {
      if (!parse_hex ("--admin-key", admin_key, self->admin_key, 16, 24, &len, error))
        goto out;
      if (len != 16 && len != 24)
        {
          explicit_bzero (self->admin_key, sizeof self->admin_key);
          g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                               _("--admin-key: expected 16 bytes (AES-128) or 24 bytes (3DES) "
                                 "as hexadecimal digits"));
          goto out;
        }
      self->admin_key_len = len;
    }

  /* 63CX can report at most 15 tries */
  if (!parse_uint ("--pin-tries", pin_tries, 1, 15, &self->pin_tries, error) ||
      !parse_uint ("--puk-tries", puk_tries, 1, 15, &self->puk_tries, error) ||
      !parse_uint ("--admin-tries", admin_tries, 1, 15, &self->admin_tries, error) ||
      !parse_uint ("--pin-change-limit", change_limit, 0, G_MAXINT, &self->pin_change_limit,
                   error) ||
      !parse_uint ("--apdu-delay-ms", apdu_delay, 0, 10000, &self->apdu_delay_ms, error) ||
      (garble != NULL && !vcard_options_parse_garble (garble, self->garble, error)))
    goto out;

  if (!take_file_name ("--state", &state_path, &self->state_path, error) ||
      !take_file_name ("--mute-file", &mute_path, &self->mute_path, error))
    goto out;

  if (atr != NULL)
    {
      if (!parse_hex ("--atr", atr, self->atr, 2, VCARD_ATR_MAX, &self->atr_len, error))
        goto out;
      if (self->atr[0] != 0x3B && self->atr[0] != 0x3F)
        {
          g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                               _("--atr: an ATR starts with 3B or 3F"));
          goto out;
        }
    }

  if (subject != NULL)
    {
      if (*subject == '\0' || !g_utf8_validate (subject, -1, NULL) || strlen (subject) > 64)
        {
          g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                               _("--subject: expected 1 to 64 bytes of UTF-8"));
          goto out;
        }
      g_free (self->subject);
      self->subject = g_steal_pointer (&subject);
    }

  if (key_alg != NULL)
    {
      if (g_str_equal (key_alg, "rsa2048"))
        self->key_alg = VCARD_KEY_ALG_RSA2048;
      else if (g_str_equal (key_alg, "eccp256"))
        self->key_alg = VCARD_KEY_ALG_ECCP256;
      else
        {
          g_set_error (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                       _("--key-alg: “%s” is neither rsa2048 nor eccp256"), key_alg);
          goto out;
        }
    }

  if (drop_after != NULL &&
      !vcard_options_parse_drop_after (drop_after, &self->drop_after, &self->drop_mode, error))
    goto out;

  self->verbose = verbose;
  ok = TRUE;
  goto out;

bad_serial:
  g_set_error_literal (error, VCARD_ERROR, VCARD_ERROR_OPTION,
                       _("--serial: expected 1 to 32 hexadecimal digits"));
out:
  wipe_string (pin);
  wipe_string (puk);
  wipe_string (admin_key);
  return ok;
}
