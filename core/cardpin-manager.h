/* cardpin-manager.h — finds PKCS#11 tokens and watches readers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_MANAGER (cardpin_manager_get_type ())

/* A GListModel of CardpinToken, kept up to date while watching. */
G_DECLARE_FINAL_TYPE (CardpinManager, cardpin_manager, CARDPIN, MANAGER, GObject)

/* @modules: %NULL for every module registered with p11-kit, or a %NULL-terminated
 * list of module paths (tests). Loads the modules and enumerates tokens. Blocking. */
CardpinManager  *cardpin_manager_new              (const char * const  *modules,
                                                   GCancellable        *cancellable,
                                                   GError             **error) G_GNUC_WARN_UNUSED_RESULT;
void             cardpin_manager_new_async        (const char * const  *modules,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
CardpinManager  *cardpin_manager_new_finish       (GAsyncResult        *result,
                                                   GError             **error) G_GNUC_WARN_UNUSED_RESULT;

/* Re-enumerates slots and tokens, emitting token-added / token-removed. Blocking. */
gboolean         cardpin_manager_refresh          (CardpinManager      *self,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

/* %NULL when pcscd answered at the last enumeration, else why not (what to do) */
const GError    *cardpin_manager_get_pcsc_error   (CardpinManager      *self);

/* Watches PC/SC readers for insertion and removal from a worker thread; signals are
 * emitted in the thread-default main context of the caller. */
void             cardpin_manager_start_watching   (CardpinManager      *self);
void             cardpin_manager_stop_watching    (CardpinManager      *self);

/* Looks a token up by reader name or by serial; %NULL-safe arguments, both %NULL
 * returns the only token (or %NULL with several). */
CardpinToken    *cardpin_manager_find_token       (CardpinManager      *self,
                                                   const char          *reader,
                                                   const char          *serial,
                                                   GError             **error);

G_END_DECLS
