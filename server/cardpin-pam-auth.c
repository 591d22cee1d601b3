/* cardpin-pam-auth.c — account passwords checked through the service's PAM service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <security/pam_appl.h>

#include "cardpin-pam-auth.h"

typedef struct {
  const char          *user;
  const CardpinSecret *password;
} Conversation;

static char *
copy_secret (const CardpinSecret *secret)
{
  gsize length = cardpin_secret_get_length (secret);
  char *copy = malloc (length + 1);

  /* PAM frees the answer itself; modules wipe the token they keep */
  if (copy != NULL)
    {
      memcpy (copy, cardpin_secret_get_data (secret), length);
      copy[length] = '\0';
    }
  return copy;
}

static int
conversation_cb (int                        n_messages,
                 const struct pam_message **messages,
                 struct pam_response      **responses,
                 void                      *data)
{
  Conversation *conversation = data;
  struct pam_response *answers;

  if (n_messages <= 0 || n_messages > PAM_MAX_NUM_MSG)
    return PAM_CONV_ERR;
  answers = calloc ((size_t) n_messages, sizeof *answers);
  if (answers == NULL)
    return PAM_BUF_ERR;

  for (int i = 0; i < n_messages; i++)
    {
      switch (messages[i]->msg_style)
        {
        case PAM_PROMPT_ECHO_OFF:
          answers[i].resp = copy_secret (conversation->password);
          break;
        case PAM_PROMPT_ECHO_ON:
          answers[i].resp = strdup (conversation->user);
          break;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
          continue;
        default:
          break;
        }
      if (answers[i].resp == NULL)
        {
          for (int j = 0; j < i; j++)
            if (answers[j].resp != NULL)
              {
                explicit_bzero (answers[j].resp, strlen (answers[j].resp));
                free (answers[j].resp);
              }
          free (answers);
          return PAM_CONV_ERR;
        }
    }
  *responses = answers;
  return PAM_SUCCESS;
}

/**
 * cardpin_pam_check:
 * @service: the PAM service (a file in /etc/pam.d)
 * @user: the account
 * @password: its password
 * @remote_host: (nullable): the client's address, for PAM_RHOST
 * @error: return location, set for %CARDPIN_PAM_FAILED
 *
 * pam_authenticate() then pam_acct_mgmt() on @service, silently, refusing empty
 * passwords. The password is handed only to PAM's conversation.
 *
 * Returns: what PAM said
 */
CardpinPamResult
cardpin_pam_check (const char           *service,
                   const char           *user,
                   const CardpinSecret  *password,
                   const char           *remote_host,
                   GError              **error)
{
  Conversation conversation = { user, password };
  struct pam_conv conv = { conversation_cb, &conversation };
  pam_handle_t *pamh = NULL;
  CardpinPamResult result;
  int rv;

  if (cardpin_secret_get_length (password) == 0)
    return CARDPIN_PAM_BAD_CREDENTIALS;

  rv = pam_start (service, user, &conv, &pamh);
  if (rv != PAM_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("PAM service “%s” cannot start: %s. Check /etc/pam.d/%s."),
                   service, pam_strerror (NULL, rv), service);
      return CARDPIN_PAM_FAILED;
    }
  if (remote_host != NULL)
    pam_set_item (pamh, PAM_RHOST, remote_host);

  rv = pam_authenticate (pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (rv == PAM_SUCCESS)
    rv = pam_acct_mgmt (pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  else if (rv == PAM_AUTH_ERR || rv == PAM_USER_UNKNOWN || rv == PAM_MAXTRIES ||
           rv == PAM_CRED_INSUFFICIENT)
    {
      pam_end (pamh, rv);
      return CARDPIN_PAM_BAD_CREDENTIALS;
    }

  switch (rv)
    {
    case PAM_SUCCESS:
      result = CARDPIN_PAM_OK;
      break;
    case PAM_ACCT_EXPIRED:
    case PAM_NEW_AUTHTOK_REQD:
    case PAM_PERM_DENIED:
    case PAM_AUTHTOK_EXPIRED:
      result = CARDPIN_PAM_ACCOUNT_REFUSED;
      break;
    case PAM_USER_UNKNOWN:
      result = CARDPIN_PAM_BAD_CREDENTIALS;
      break;
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("PAM service “%s” failed: %s."), service, pam_strerror (pamh, rv));
      result = CARDPIN_PAM_FAILED;
      break;
    }
  pam_end (pamh, rv);
  return result;
}
