/* cardpin-pam-config.h — the login-screen helper's settings
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The keyfile with the keys of the io.github.cardpin.CardPin GSettings schema, in the
 * group [cardpin], values in GVariant text: read through GSettings' keyfile backend, so
 * core reads it as it reads dconf on the desktop */
#define CARDPIN_PAM_CONFIG_GROUP "cardpin"

typedef enum {
  CARDPIN_PAM_METHOD_HELPDESK = 1 << 0,   /* "offline" in the settings */
  CARDPIN_PAM_METHOD_PUK      = 1 << 1,
  CARDPIN_PAM_METHOD_ONLINE   = 1 << 2,
} CardpinPamMethod;

#define CARDPIN_PAM_N_METHODS 3

typedef struct {
  /* the keyfile's settings (io.github.cardpin.CardPin) */
  GSettings        *settings;
  /* the methods allowed, in the order they are offered */
  CardpinPamMethod  methods[CARDPIN_PAM_N_METHODS];
  guint             n_methods;
  char             *server_url;
  char             *server_ca;
} CardpinPamConfig;

/* Opens @path as settings (a missing file means the schema's defaults) and narrows the
 * methods to @methods_arg (the module's comma-separated methods=, %NULL for all). A
 * malformed file, an unknown key or a value the schema refuses is an error that names
 * it. */
gboolean  cardpin_pam_config_load   (CardpinPamConfig  *config,
                                     const char        *path,
                                     const char        *methods_arg,
                                     GError           **error);
void      cardpin_pam_config_clear  (CardpinPamConfig  *config);
gboolean  cardpin_pam_config_allows (const CardpinPamConfig *config,
                                     CardpinPamMethod        method);

G_END_DECLS
