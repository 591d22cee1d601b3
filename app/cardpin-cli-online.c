/* cardpin-cli-online.c — `cardpin-tool unblock --online`: the unblock service's side
 *
 *   cardpin-tool unblock --online [--server URL] [--ca-file FILE] [--user NAME]
 *                        [--password-fd N] [--new-pin-fd M] [--remember-device]
 *   cardpin-tool unblock --online --puk …       (the service gives the card's PUK)
 *   cardpin-tool unblock --online --forget-device
 *
 * The password is read from --password-fd (one line) or typed on the terminal without
 * echo; it is never taken from the command line or the environment. The Secret Service
 * (D-Bus) is used only for a remembered device: without --password-fd a token stored by
 * --remember-device is tried first.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-cli-online.h"
#include "cardpin-error.h"

static void
print_error (const GError *error)
{
  g_printerr ("%s: %s\n", g_get_prgname (), error->message);
}

static CardpinUnblockClient *
new_client (CardpinCliOnline  *online,
            GError           **error)
{
  g_autoptr(CardpinUnblockClient) client = NULL;

  /* --server names another service, but what the administrator forbids stays forbidden */
  if (online->server != NULL)
    client = cardpin_unblock_client_check_allowed (NULL, error)
               ? cardpin_unblock_client_new (online->server, online->ca_file, error)
               : NULL;
  else
    client = cardpin_unblock_client_new_from_settings (NULL, error);
  if (client == NULL)
    return NULL;

  /* --ca-file also applies to the configured address */
  if (online->server == NULL && online->ca_file != NULL)
    {
      g_autoptr(CardpinUnblockClient) configured = g_steal_pointer (&client);

      client = cardpin_unblock_client_new (cardpin_unblock_client_get_server_url (configured),
                                           online->ca_file, error);
      if (client == NULL)
        return NULL;
    }

  cardpin_unblock_client_set_user (client, online->user);
  return g_steal_pointer (&client);
}

static gboolean
ask_password (CardpinUnblockClient  *client,
              GError               **error)
{
  g_autoptr(CardpinSecret) password = NULL;
  g_autofree char *prompt = g_strdup_printf (_("Password of %s at %s: "),
                                             cardpin_unblock_client_get_user (client),
                                             cardpin_unblock_client_get_server_url (client));

  password = cardpin_secret_new_from_terminal (prompt, error);
  if (password == NULL)
    return FALSE;
  cardpin_unblock_client_set_password (client, password);
  return TRUE;
}

/**
 * cardpin_cli_online_connect:
 * @online: the parsed options
 * @error: return location
 *
 * Returns: (transfer full) (nullable): a client holding credentials
 */
CardpinUnblockClient *
cardpin_cli_online_connect (CardpinCliOnline  *online,
                            GError           **error)
{
  g_autoptr(CardpinUnblockClient) client = NULL;
  g_autoptr(GError) keyring_error = NULL;

  client = new_client (online, error);
  if (client == NULL)
    return NULL;

  if (online->password_fd >= 0)
    {
      g_autoptr(CardpinSecret) password = cardpin_secret_new_from_fd (online->password_fd,
                                                                      error);
      if (password == NULL)
        return NULL;
      if (cardpin_secret_get_length (password) == 0)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH,
                       _("The password read from file descriptor %d is empty."),
                       online->password_fd);
          return NULL;
        }
      cardpin_unblock_client_set_password (client, password);
      return g_steal_pointer (&client);
    }

  /* a remembered device signs in without a password; no keyring is no token */
  if (cardpin_unblock_client_load_device_token (client, NULL, &keyring_error))
    return g_steal_pointer (&client);
  if (keyring_error != NULL)
    g_debug ("No remembered device token: %s", keyring_error->message);

  if (!ask_password (client, error))
    return NULL;
  return g_steal_pointer (&client);
}

/**
 * cardpin_cli_online_forget:
 * @online: the parsed options
 *
 * Returns: the exit status
 */
int
cardpin_cli_online_forget (CardpinCliOnline *online)
{
  g_autoptr(CardpinUnblockClient) client = NULL;
  g_autoptr(GError) error = NULL;

  client = new_client (online, &error);
  if (client == NULL || !cardpin_unblock_client_forget_device (client, NULL, &error))
    {
      print_error (error);
      return 1;
    }

  g_print (_("This device is forgotten: the unblock service at %s no longer accepts its "
             "token and the keyring no longer holds it.\n"),
           cardpin_unblock_client_get_server_url (client));
  return 0;
}

static gboolean
run_unblock (CardpinUnblockClient  *client,
             CardpinToken          *token,
             const CardpinSecret   *new_pin,
             gboolean               with_puk,
             GError               **error)
{
  if (with_puk)
    return cardpin_unblock_client_unblock_with_puk (client, token, new_pin, NULL, error);
  return cardpin_unblock_client_unblock (client, token, new_pin, NULL, error);
}

/**
 * cardpin_cli_online_unblock:
 * @online: the parsed options
 * @client: from cardpin_cli_online_connect()
 * @token: the card
 * @new_pin: the new PIN, checked against the policy
 * @with_puk: have the service give the card's PUK instead of answering a challenge
 *
 * Returns: the exit status
 */
int
cardpin_cli_online_unblock (CardpinCliOnline     *online,
                            CardpinUnblockClient *client,
                            CardpinToken         *token,
                            const CardpinSecret  *new_pin,
                            gboolean              with_puk)
{
  g_autoptr(GError) error = NULL;
  gboolean used_token = cardpin_unblock_client_has_device_token (client);

  if (!run_unblock (client, token, new_pin, with_puk, &error))
    {
      /* a remembered token the service no longer takes: sign in on the terminal. The
       * card was released untouched, so trying again costs nothing. */
      if (used_token && online->password_fd < 0 &&
          g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH))
        {
          print_error (error);
          g_clear_error (&error);
          cardpin_unblock_client_set_device_token (client, NULL);
          if (!ask_password (client, &error) ||
              !run_unblock (client, token, new_pin, with_puk, &error))
            {
              print_error (error);
              return 1;
            }
        }
      else
        {
          print_error (error);
          return 1;
        }
    }

  g_print ("%s\n", _("The PIN was unblocked and set."));

  if (online->remember_device)
    {
      if (!cardpin_unblock_client_remember_device (client, NULL, &error))
        {
          g_printerr (_("%s: the PIN was set, but this device could not be remembered: "
                        "%s\n"), g_get_prgname (), error->message);
          return 1;
        }
      g_print ("%s\n", _("This device is remembered: next time the unblock service signs "
                         "you in without a password. Forget it with “cardpin-tool unblock "
                         "--online --forget-device”."));
    }
  return 0;
}
