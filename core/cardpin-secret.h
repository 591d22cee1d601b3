/* cardpin-secret.h — one locked, wiped buffer for every PIN, PUK, response and key
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The longest secret read from a file descriptor or a terminal, in bytes. */
#define CARDPIN_SECRET_MAX_LINE 256

#define CARDPIN_TYPE_SECRET (cardpin_secret_get_type ())

typedef struct _CardpinSecret CardpinSecret;

GType          cardpin_secret_get_type           (void) G_GNUC_CONST;

CardpinSecret *cardpin_secret_new                (const guint8   *data,
                                                  gsize           length) G_GNUC_WARN_UNUSED_RESULT;
CardpinSecret *cardpin_secret_new_from_string    (const char     *string) G_GNUC_WARN_UNUSED_RESULT;
CardpinSecret *cardpin_secret_new_sized          (gsize           length) G_GNUC_WARN_UNUSED_RESULT;
CardpinSecret *cardpin_secret_new_from_fd        (int             fd,
                                                  GError        **error) G_GNUC_WARN_UNUSED_RESULT;
CardpinSecret *cardpin_secret_new_from_terminal  (const char     *prompt,
                                                  GError        **error) G_GNUC_WARN_UNUSED_RESULT;

CardpinSecret *cardpin_secret_ref                (CardpinSecret  *self);
void           cardpin_secret_unref              (CardpinSecret  *self);

const guint8  *cardpin_secret_get_data           (const CardpinSecret *self);
guint8        *cardpin_secret_get_mutable_data   (CardpinSecret  *self);
gsize          cardpin_secret_get_length         (const CardpinSecret *self);
const char    *cardpin_secret_as_string          (const CardpinSecret *self);
gboolean       cardpin_secret_is_locked          (const CardpinSecret *self);

gboolean       cardpin_secret_equal              (const CardpinSecret *a,
                                                  const CardpinSecret *b);
gboolean       cardpin_secret_equal_bytes        (const CardpinSecret *self,
                                                  const guint8        *data,
                                                  gsize                length);

void           cardpin_secret_wipe               (gpointer        data,
                                                  gsize           length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinSecret, cardpin_secret_unref)

G_END_DECLS
