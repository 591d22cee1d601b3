/* cardpin-p11.h — PKCS#11 modules through p11-kit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <p11-kit/pkcs11.h>

#include "cardpin-op.h"
#include "cardpin-secret.h"

G_BEGIN_DECLS

/* A set of loaded and initialized PKCS#11 modules, shared (atomically refcounted) by
 * the manager and its tokens; finalized when the last reference goes. */
typedef struct _CardpinP11Modules CardpinP11Modules;

CardpinP11Modules *cardpin_p11_modules_load     (const char * const  *paths,
                                                 GError             **error);
CardpinP11Modules *cardpin_p11_modules_ref      (CardpinP11Modules   *modules);
void               cardpin_p11_modules_unref    (CardpinP11Modules   *modules);
guint              cardpin_p11_modules_get_n    (CardpinP11Modules   *modules);
CK_FUNCTION_LIST  *cardpin_p11_modules_get      (CardpinP11Modules   *modules,
                                                 guint                index);
/* p11-kit's module name, or the file name for explicitly loaded modules */
const char        *cardpin_p11_modules_get_name (CardpinP11Modules   *modules,
                                                 guint                index);

gboolean           cardpin_p11_set_error        (GError             **error,
                                                 CK_RV                rv,
                                                 const char          *what);
/* A blank-padded PKCS#11 string, trimmed, as UTF-8 (invalid bytes replaced) */
char              *cardpin_p11_string           (const CK_UTF8CHAR   *string,
                                                 gsize                max_len);

void               cardpin_p11_set_pin_error    (GError             **error,
                                                 CK_RV                rv,
                                                 gboolean             so,
                                                 gboolean             changing,
                                                 const CardpinSecret *new_value,
                                                 guint                min_pin_length,
                                                 guint                max_pin_length,
                                                 const char          *what);
gboolean           _cardpin_p11_check_secrets   (CardpinSecret * const *secrets,
                                                 guint                min_pin_length,
                                                 guint                max_pin_length,
                                                 GError             **error);
gboolean           _cardpin_p11_run_op          (CK_FUNCTION_LIST    *funcs,
                                                 CK_SLOT_ID           slot,
                                                 CK_FLAGS             token_flags,
                                                 guint                min_pin_length,
                                                 guint                max_pin_length,
                                                 OpKind               kind,
                                                 CardpinSecret * const *secrets,
                                                 GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinP11Modules, cardpin_p11_modules_unref)

G_END_DECLS
