/* vcard-tlv.c: BER-TLV helpers for the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "vcard-tlv.h"

/**
 * vcard_tlv_reader_init:
 * @reader: the reader to set up
 * @data: (array length=len): the encoded objects
 * @len: the length of @data
 *
 * Points @reader at the first object in @data.
 */
void
vcard_tlv_reader_init (VcardTlvReader *reader,
                       const guint8   *data,
                       gsize           len)
{
  reader->pos = data;
  reader->end = data + len;
}

/**
 * vcard_tlv_reader_next:
 * @reader: a reader
 * @tag: (out): the tag, its bytes big-endian (e.g. 0x5FC102)
 * @value: (out): the value
 * @value_len: (out): the length of @value
 * @error: (out): set to %TRUE when the input is malformed
 *
 * Reads the next object. Tags of up to three bytes and definite lengths of
 * up to three length bytes are accepted.
 *
 * Returns: %TRUE if an object was read; %FALSE at the end or on an error
 */
gboolean
vcard_tlv_reader_next (VcardTlvReader  *reader,
                       guint           *tag,
                       const guint8   **value,
                       gsize           *value_len,
                       gboolean        *error)
{
  const guint8 *p = reader->pos;
  guint t;
  gsize l;

  *error = FALSE;
  if (p >= reader->end)
    return FALSE;

  t = *p++;
  if ((t & 0x1F) == 0x1F)
    {
      guint n = 0;

      do
        {
          if (p >= reader->end || ++n > 2)
            goto bad;
          t = (t << 8) | *p;
        }
      while (*p++ & 0x80);
    }

  if (p >= reader->end)
    goto bad;
  l = *p++;
  if (l & 0x80)
    {
      guint n = l & 0x7F;

      if (n == 0 || n > 3 || (gsize) (reader->end - p) < n)
        goto bad;
      l = 0;
      while (n--)
        l = (l << 8) | *p++;
    }

  if ((gsize) (reader->end - p) < l)
    goto bad;

  *tag = t;
  *value = p;
  *value_len = l;
  reader->pos = p + l;
  return TRUE;

bad:
  *error = TRUE;
  reader->pos = reader->end;
  return FALSE;
}

/**
 * vcard_tlv_find:
 * @data: (array length=len): a sequence of objects
 * @len: the length of @data
 * @tag: the tag to look for (not recursive)
 * @value: (out) (optional): the value
 * @value_len: (out) (optional): the length of @value
 *
 * Looks for @tag among the top-level objects in @data.
 *
 * Returns: %TRUE if found and everything before it was well formed
 */
gboolean
vcard_tlv_find (const guint8  *data,
                gsize          len,
                guint          tag,
                const guint8 **value,
                gsize         *value_len)
{
  VcardTlvReader reader;
  const guint8 *v;
  gsize vl;
  guint t;
  gboolean error;

  vcard_tlv_reader_init (&reader, data, len);
  while (vcard_tlv_reader_next (&reader, &t, &v, &vl, &error))
    {
      if (t == tag)
        {
          if (value)
            *value = v;
          if (value_len)
            *value_len = vl;
          return TRUE;
        }
    }

  return FALSE;
}

/**
 * vcard_tlv_append_len:
 * @out: the buffer to append to
 * @len: a length
 *
 * Appends @len in the shortest BER definite form.
 */
void
vcard_tlv_append_len (GByteArray *out,
                      gsize       len)
{
  guint8 b[4];
  guint n;

  g_return_if_fail (len <= 0xFFFFFF);

  if (len < 0x80)
    {
      b[0] = len;
      n = 1;
    }
  else if (len <= 0xFF)
    {
      b[0] = 0x81;
      b[1] = len;
      n = 2;
    }
  else if (len <= 0xFFFF)
    {
      b[0] = 0x82;
      b[1] = len >> 8;
      b[2] = len;
      n = 3;
    }
  else
    {
      b[0] = 0x83;
      b[1] = len >> 16;
      b[2] = len >> 8;
      b[3] = len;
      n = 4;
    }

  g_byte_array_append (out, b, n);
}

/**
 * vcard_tlv_append:
 * @out: the buffer to append to
 * @tag: a tag of one to three bytes, big-endian
 * @value: (array length=value_len) (nullable): the value
 * @value_len: the length of @value
 *
 * Appends one object.
 */
void
vcard_tlv_append (GByteArray   *out,
                  guint         tag,
                  const guint8 *value,
                  gsize         value_len)
{
  guint8 t[3];
  guint n = 0;

  if (tag > 0xFFFF)
    t[n++] = tag >> 16;
  if (tag > 0xFF)
    t[n++] = tag >> 8;
  t[n++] = tag;

  g_byte_array_append (out, t, n);
  vcard_tlv_append_len (out, value_len);
  if (value_len > 0)
    g_byte_array_append (out, value, value_len);
}
