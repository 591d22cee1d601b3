/* cardpin-token-private.h — friend API of CardpinToken for the rest of core (manager,
 * operations, unblock session)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-p11.h"
#include "cardpin-pcsc.h"
#include "cardpin-op.h"
#include "cardpin-token.h"

G_BEGIN_DECLS

/* The token's fields, shared by the files of core that implement it */
struct _CardpinToken {
  GObject             parent_instance;

  CardpinP11Modules  *modules;
  guint               module_index;
  CK_SLOT_ID          slot;
  char               *key;
  /* a card read over PC/SC alone (no @modules): the modules to load for what only
   * PKCS#11 does (certificates), for that moment only; %NULL: every registered one */
  char              **p11_paths;

  char               *label;
  char               *manufacturer;
  char               *model;
  char               *serial;
  char               *reader;
  char               *atr;
  gboolean            hardware;
  gboolean            is_piv;
  gboolean            piv_known;     /* a card read told whether it has PIV */
  gboolean            pinpad;
  CK_FLAGS            flags;
  guint               min_pin_length;
  guint               max_pin_length;
  int                 pin_tries_left;
  int                 pin_tries_max;
  int                 puk_tries_left;
  int                 pin_is_default;
  int                 puk_is_default;
  CardpinPinState     pin_state;
};

/* What one read of a token found: PKCS#11 token info plus what the card said over PC/SC */
typedef struct {
  guint       module_index;
  CK_SLOT_ID  slot;
  char       *key;          /* identity: module, slot, PKCS#11 serial and label */
  char       *label;
  char       *manufacturer;
  char       *model;
  char       *serial;
  char       *reader;
  char       *atr;
  gboolean    hardware;
  gboolean    is_piv;
  gboolean    card_read;    /* the PC/SC read of the card completed: is_piv is known */
  gboolean    from_pcsc;    /* read over PC/SC alone, no PKCS#11 module involved */
  gboolean    pinpad_reader; /* the PC/SC read found a reader with a PIN pad */
  CK_FLAGS    flags;
  guint       min_pin_length;
  guint       max_pin_length;
  int         pin_tries_left;
  int         pin_tries_max;
  int         puk_tries_left;
  int         pin_is_default;
  int         puk_is_default;
} CardpinTokenInfo;

CardpinTokenInfo *_cardpin_token_info_read     (CardpinP11Modules   *modules,
                                                guint                module_index,
                                                CK_SLOT_ID           slot,
                                                const char * const  *readers,
                                                gboolean             strict,
                                                GCancellable        *cancellable,
                                                GError             **error);
CardpinTokenInfo *_cardpin_token_info_read_pcsc (const char        *reader,
                                                GCancellable        *cancellable,
                                                GError             **error);
void              _cardpin_token_info_free     (CardpinTokenInfo    *info);
CardpinPinState   _cardpin_token_info_pin_state (const CardpinTokenInfo *info);
const char       *_cardpin_match_reader        (const char          *slot_description,
                                                const char * const  *readers);

CardpinToken     *_cardpin_token_new           (CardpinP11Modules   *modules,
                                                CardpinTokenInfo    *info);
void              _cardpin_token_update        (CardpinToken        *self,
                                                const CardpinTokenInfo *info);
const char       *_cardpin_token_get_key       (CardpinToken        *self);
void              _cardpin_token_set_p11_paths (CardpinToken        *self,
                                                const char * const  *paths);
/* Reads the token's status without applying it; safe from any thread. */
/* one successful PIN change of a change-limited card (cardpin-token-changes.c) */
void              _cardpin_token_count_pin_change (const char        *serial);
CardpinTokenInfo *_cardpin_token_read          (CardpinToken        *self,
                                                gboolean             strict,
                                                GCancellable        *cancellable,
                                                GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinTokenInfo, _cardpin_token_info_free)

/* The card side of a status read, over any transport */
gboolean          _cardpin_token_info_read_card (CardpinTokenInfo      *info,
                                                 const CardpinCardIo   *io,
                                                 GError               **error);

/* Every new PIN and PUK of an operation against the token's policies (cardpin-token-policy.c) */
gboolean          _cardpin_token_check_new_secrets (OpKind                kind,
                                                    CardpinSecret * const *secrets,
                                                    gboolean              not_initialized,
                                                    CardpinPolicy        *pin_policy,
                                                    CardpinPolicy        *puk_policy,
                                                    GError              **error);

G_END_DECLS
