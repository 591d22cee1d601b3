/* cardpin-manager.h — finds PKCS#11 tokens and watches readers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-token.h"

G_BEGIN_DECLS

/**
 * CardpinManagerFlags:
 * @CARDPIN_MANAGER_FLAGS_NONE: every token of every PKCS#11 module (software tokens
 *   too); the cards' PIV counters read over PC/SC in addition
 * @CARDPIN_MANAGER_FLAGS_PCSC_FIRST: the cards in the PC/SC readers; a PIV card is read
 *   over PC/SC alone, and the PKCS#11 modules are loaded only when a card has no PIV
 *   application, or is in a reader with a PIN pad (then such cards are read through
 *   them, so the module drives the pad). Software tokens are not listed.
 * @CARDPIN_MANAGER_FLAGS_PCSC_ONLY: the PIV cards in the PC/SC readers, read over PC/SC
 *   alone; no PKCS#11 module is ever loaded, and cards without a PIV application are
 *   left out. What the login-screen helper needs: a few commands per card.
 *
 * How a manager finds and reads tokens.
 */
typedef enum {
  CARDPIN_MANAGER_FLAGS_NONE       = 0,
  CARDPIN_MANAGER_FLAGS_PCSC_FIRST = 1 << 0,
  CARDPIN_MANAGER_FLAGS_PCSC_ONLY  = 1 << 1,
} CardpinManagerFlags;

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

/* As cardpin_manager_new(), choosing how tokens are found and read (@flags). With
 * %CARDPIN_MANAGER_FLAGS_PCSC_FIRST or _PCSC_ONLY a PIV card costs a few APDUs and no
 * module is loaded for it; @modules (%NULL: every registered one) is what is loaded when
 * a card needs PKCS#11. Blocking. */
CardpinManager  *cardpin_manager_new_full         (const char * const  *modules,
                                                   CardpinManagerFlags  flags,
                                                   GCancellable        *cancellable,
                                                   GError             **error) G_GNUC_WARN_UNUSED_RESULT;
void             cardpin_manager_new_full_async   (const char * const  *modules,
                                                   CardpinManagerFlags  flags,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
CardpinManager  *cardpin_manager_new_full_finish  (GAsyncResult        *result,
                                                   GError             **error) G_GNUC_WARN_UNUSED_RESULT;
CardpinManagerFlags
                 cardpin_manager_get_flags        (CardpinManager      *self);
/* Whether any PKCS#11 module has been loaded (none, for PIV cards read over PC/SC) */
gboolean         cardpin_manager_has_modules      (CardpinManager      *self);

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
