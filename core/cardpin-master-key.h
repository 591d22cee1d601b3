/* cardpin-master-key.h — the helpdesk's master key in a PKCS#11 token and the per-card
 * admin keys derived from it inside the token (DESIGN.md "Key derivation"). Shared by
 * cardpin-unblockd and cardpin-helpdesk.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

#define CARDPIN_MASTER_KEY_ERROR (cardpin_master_key_error_quark ())

/**
 * CardpinMasterKeyError:
 * @CARDPIN_MASTER_KEY_ERROR_FAILED: the module or the token failed; the message says how
 * @CARDPIN_MASTER_KEY_ERROR_CONFIG: the configuration is incomplete or wrong
 * @CARDPIN_MASTER_KEY_ERROR_NO_TOKEN: no token carries the configured label
 * @CARDPIN_MASTER_KEY_ERROR_LOGIN: the token refused the PIN of `token-pin-file`
 * @CARDPIN_MASTER_KEY_ERROR_NO_KEY: the token holds no master key of that label
 * @CARDPIN_MASTER_KEY_ERROR_EXISTS: a key of that label exists already (create, import)
 * @CARDPIN_MASTER_KEY_ERROR_BAD_KEY: several keys carry the label, or the key is not an
 *   AES-128 key usable for derivation
 * @CARDPIN_MASTER_KEY_ERROR_INVALID: a malformed serial, challenge, algorithm or key file
 *
 * Errors of #CardpinMasterKey. Nothing in the token changed when one is returned.
 */
typedef enum {
  CARDPIN_MASTER_KEY_ERROR_FAILED,
  CARDPIN_MASTER_KEY_ERROR_CONFIG,
  CARDPIN_MASTER_KEY_ERROR_NO_TOKEN,
  CARDPIN_MASTER_KEY_ERROR_LOGIN,
  CARDPIN_MASTER_KEY_ERROR_NO_KEY,
  CARDPIN_MASTER_KEY_ERROR_EXISTS,
  CARDPIN_MASTER_KEY_ERROR_BAD_KEY,
  CARDPIN_MASTER_KEY_ERROR_INVALID,
} CardpinMasterKeyError;

/* PIV algorithm identifiers of an admin challenge */
#define CARDPIN_MASTER_KEY_ALG_3DES   0x03
#define CARDPIN_MASTER_KEY_ALG_AES128 0x08

/* The length of a master key, a per-card key, a diversifier and an AES challenge */
#define CARDPIN_MASTER_KEY_LENGTH 16
/* The length of a card's PUK (decimal digits) */
#define CARDPIN_MASTER_KEY_PUK_LENGTH 8
/* The longest card serial accepted */
#define CARDPIN_MASTER_KEY_MAX_SERIAL 128

/* The keyfile group both server programs read (cardpin-unblockd(8)) */
#define CARDPIN_SERVER_CONFIG_GROUP "service"

typedef struct _CardpinMasterKey CardpinMasterKey;

GQuark             cardpin_master_key_error_quark          (void);

CardpinMasterKey  *cardpin_master_key_open                 (const char          *module_path,
                                                            const char          *token_label,
                                                            const char          *pin_file,
                                                            const char          *key_label,
                                                            GError             **error) G_GNUC_WARN_UNUSED_RESULT;
CardpinMasterKey  *cardpin_master_key_open_from_keyfile    (GKeyFile            *keyfile,
                                                            GError             **error) G_GNUC_WARN_UNUSED_RESULT;
void               cardpin_master_key_free                 (CardpinMasterKey    *self);

const char        *cardpin_master_key_get_label            (CardpinMasterKey    *self);
gboolean           cardpin_master_key_exists               (CardpinMasterKey    *self,
                                                            GError             **error);
gboolean           cardpin_master_key_create               (CardpinMasterKey    *self,
                                                            GError             **error);
gboolean           cardpin_master_key_import               (CardpinMasterKey    *self,
                                                            const CardpinSecret *hex,
                                                            GError             **error);

CardpinSecret     *cardpin_master_key_respond              (CardpinMasterKey    *self,
                                                            const char          *serial,
                                                            guint                algorithm,
                                                            const guint8        *challenge,
                                                            gsize                challenge_length,
                                                            GError             **error) G_GNUC_WARN_UNUSED_RESULT;
CardpinSecret     *cardpin_master_key_export_admin_key     (CardpinMasterKey    *self,
                                                            const char          *serial,
                                                            guint                algorithm,
                                                            GError             **error) G_GNUC_WARN_UNUSED_RESULT;
/* The card's PUK: 8 decimal digits derived from the master key (no storage) */
CardpinSecret     *cardpin_master_key_puk                  (CardpinMasterKey    *self,
                                                            const char          *serial,
                                                            GError             **error) G_GNUC_WARN_UNUSED_RESULT;

gboolean           cardpin_master_key_check_serial         (const char          *serial,
                                                            GError             **error);
void               cardpin_master_key_diversifier          (const char          *serial,
                                                            guint8               out[CARDPIN_MASTER_KEY_LENGTH]);
/* Uppercase hex of a secret, in a locked, wiped buffer */
CardpinSecret     *cardpin_master_key_hex                  (const CardpinSecret *secret) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinMasterKey, cardpin_master_key_free)

G_END_DECLS
