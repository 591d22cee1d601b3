/* vcard-tlv.h: BER-TLV helpers for the virtual PIV card
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * VcardTlvReader:
 * @pos: the next byte to read
 * @end: one past the last byte
 *
 * A cursor over a sequence of BER-TLV objects. It never reads outside
 * [@pos, @end).
 */
typedef struct
{
  const guint8 *pos;
  const guint8 *end;
} VcardTlvReader;

void     vcard_tlv_reader_init (VcardTlvReader  *reader,
                                const guint8    *data,
                                gsize            len);
gboolean vcard_tlv_reader_next (VcardTlvReader  *reader,
                                guint           *tag,
                                const guint8   **value,
                                gsize           *value_len,
                                gboolean        *error);
gboolean vcard_tlv_find        (const guint8    *data,
                                gsize            len,
                                guint            tag,
                                const guint8   **value,
                                gsize           *value_len);
void     vcard_tlv_append_len  (GByteArray      *out,
                                gsize            len);
void     vcard_tlv_append      (GByteArray      *out,
                                guint            tag,
                                const guint8    *value,
                                gsize            value_len);

G_END_DECLS
