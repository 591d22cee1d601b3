/* cardpin-token-private.h — friend API between CardpinToken and CardpinManager
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-p11.h"
#include "cardpin-pcsc.h"
#include "cardpin-token.h"
#include "cardpin-unblock-session.h"

G_BEGIN_DECLS

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
void              _cardpin_token_info_free     (CardpinTokenInfo    *info);
CardpinPinState   _cardpin_token_info_pin_state (const CardpinTokenInfo *info);
const char       *_cardpin_match_reader        (const char          *slot_description,
                                                const char * const  *readers);

CardpinToken     *_cardpin_token_new           (CardpinP11Modules   *modules,
                                                CardpinTokenInfo    *info);
void              _cardpin_token_update        (CardpinToken        *self,
                                                const CardpinTokenInfo *info);
const char       *_cardpin_token_get_key       (CardpinToken        *self);
/* Reads the token's status without applying it; safe from any thread. */
CardpinTokenInfo *_cardpin_token_read          (CardpinToken        *self,
                                                gboolean             strict,
                                                GCancellable        *cancellable,
                                                GError             **error);

CardpinUnblockSession *
                  _cardpin_unblock_session_new (CardpinToken        *token,
                                                CardpinPcscCard     *card,
                                                guint8               algorithm,
                                                GBytes              *challenge,
                                                int                  admin_tries_left);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinTokenInfo, _cardpin_token_info_free)

/* The card side of a status read and of the PIN operations, over any transport */
typedef enum {
  OP_VERIFY,
  OP_CHANGE_PIN,
  OP_CHANGE_PUK,
  OP_UNBLOCK_PUK,
  OP_SETUP,
} OpKind;

gboolean          _cardpin_token_info_read_card (CardpinTokenInfo      *info,
                                                 const CardpinCardIo   *io,
                                                 GError               **error);
gboolean          _cardpin_piv_run_op           (OpKind                 kind,
                                                 CardpinSecret * const *secrets,
                                                 const CardpinCardIo   *io,
                                                 gboolean              *cleared,
                                                 GError               **error);

G_END_DECLS
