/* cardpin-device-token.c — the unblock service's device token in the Secret Service
 *
 * "Remember this device": the token POST /v1/devices returns is kept by libsecret in the
 * user's default keyring, under the schema io.github.cardpin.CardPin.DeviceToken with
 * the attributes "server" (the service address) and "user" (the account). Nothing else
 * is ever stored: PINs are never cached.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>

#include "cardpin-device-token.h"
#include "cardpin-error.h"

static const SecretSchema *
device_token_schema (void)
{
  static const SecretSchema schema = {
    APP_ID ".DeviceToken", SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };
  return &schema;
}

static void
set_keyring_error (GError       **error,
                   const GError  *local_error)
{
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, local_error->message);
  else
    g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                 _("The keyring (Secret Service) is not available: %s. Log in to a desktop "
                   "session with an unlocked keyring to remember this device."),
                 local_error->message);
}

/**
 * cardpin_device_token_store:
 * @server_url: the service address
 * @user: the account
 * @token: the device token
 * @expires: (nullable): when it expires, as the service wrote it (for the label)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Returns: whether the token was stored
 */
gboolean
cardpin_device_token_store (const char           *server_url,
                            const char           *user,
                            const CardpinSecret  *token,
                            const char           *expires,
                            GCancellable         *cancellable,
                            GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (server_url != NULL && user != NULL && token != NULL, FALSE);

  if (expires != NULL)
    label = g_strdup_printf (_("Smart card unblock service %s for %s (expires %s)"),
                             server_url, user, expires);
  else
    label = g_strdup_printf (_("Smart card unblock service %s for %s"), server_url, user);

  if (!secret_password_store_sync (device_token_schema (), SECRET_COLLECTION_DEFAULT, label,
                                   cardpin_secret_as_string (token), cancellable,
                                   &local_error,
                                   "server", server_url, "user", user, NULL))
    {
      set_keyring_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

/**
 * cardpin_device_token_lookup:
 * @server_url: the service address
 * @user: the account
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Returns: (transfer full) (nullable): the stored token; %NULL and no error when none
 */
CardpinSecret *
cardpin_device_token_lookup (const char    *server_url,
                             const char    *user,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  CardpinSecret *token;
  char *value;

  g_return_val_if_fail (server_url != NULL && user != NULL, NULL);

  /* libsecret's non-pageable memory; secret_password_free() wipes it */
  value = secret_password_lookup_nonpageable_sync (device_token_schema (), cancellable,
                                                   &local_error,
                                                   "server", server_url, "user", user,
                                                   NULL);
  if (value == NULL)
    {
      if (local_error != NULL)
        set_keyring_error (error, local_error);
      return NULL;
    }

  token = cardpin_secret_new_from_string (value);
  secret_password_free (value);
  return token;
}

/**
 * cardpin_device_token_clear:
 * @server_url: the service address
 * @user: the account
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Returns: %TRUE when no token is stored any more
 */
gboolean
cardpin_device_token_clear (const char    *server_url,
                            const char    *user,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (server_url != NULL && user != NULL, FALSE);

  if (!secret_password_clear_sync (device_token_schema (), cancellable, &local_error,
                                   "server", server_url, "user", user, NULL) &&
      local_error != NULL)
    {
      set_keyring_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}
