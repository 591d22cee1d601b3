/* cardpin-server-config.c — the keyfile of cardpin-unblockd and cardpin-helpdesk
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-master-key.h"
#include "cardpin-server-config.h"

#define GROUP CARDPIN_SERVER_CONFIG_GROUP

static char *
get_string (CardpinServerConfig  *config,
            const char           *key,
            gboolean              required,
            GError              **error)
{
  char *value = g_key_file_get_string (config->keyfile, GROUP, key, NULL);

  if (value != NULL)
    g_strstrip (value);
  if ((value == NULL || *value == '\0') && required)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   _("%s: the group [%s] lacks “%s”. Add it (see cardpin-unblockd(8))."),
                   config->path, GROUP, key);
      g_clear_pointer (&value, g_free);
    }
  return value;
}

static gboolean
get_quota (CardpinServerConfig  *config,
           const char           *key,
           guint                *out,
           GError              **error)
{
  g_autofree char *value = get_string (config, key, TRUE, error);
  guint64 number = 0;

  if (value == NULL)
    return FALSE;
  if (!g_ascii_string_to_unsigned (value, 10, 0, 1000000, &number, NULL))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("%s: “%s” must be a whole number from 0 to 1000000, not “%s”."),
                   config->path, key, value);
      return FALSE;
    }
  *out = (guint) number;
  return TRUE;
}

/**
 * cardpin_server_parse_listen:
 * @value: "HOST:PORT": an IPv4 address, "[IPv6]", or "*" for every address
 * @host: (out): the address, without brackets
 * @port: (out): the port (1 to 65535)
 * @error: return location
 *
 * Returns: %TRUE when @value is well formed
 */
gboolean
cardpin_server_parse_listen (const char  *value,
                             char       **host,
                             guint16     *port,
                             GError     **error)
{
  const char *colon = value != NULL ? strrchr (value, ':') : NULL;
  g_autofree char *name = NULL;
  guint64 number = 0;

  if (colon == NULL || colon == value ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
    goto bad;
  name = g_strndup (value, colon - value);
  if (name[0] == '[')
    {
      gsize len = strlen (name);

      if (len < 3 || name[len - 1] != ']')
        goto bad;
      memmove (name, name + 1, len - 2);
      name[len - 2] = '\0';
    }
  if (strcmp (name, "*") != 0)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (name);

      if (address == NULL)
        goto bad;
    }
  *host = g_steal_pointer (&name);
  *port = (guint16) number;
  return TRUE;

bad:
  g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
               _("“listen” must be HOST:PORT with an IP address (such as 127.0.0.1:8443, "
                 "[::1]:8443 or *:8443), not “%s”."), value != NULL ? value : "");
  return FALSE;
}

/* An optional key: a whole number from 1 to @max, of seconds or (@threads) of threads */
static gboolean
get_number (CardpinServerConfig  *config,
            const char           *key,
            guint                 fallback,
            guint                 max,
            gboolean              threads,
            guint                *seconds,
            GError              **error)
{
  g_autofree char *value = NULL;
  guint64 number = 0;

  *seconds = fallback;
  if (!g_key_file_has_key (config->keyfile, GROUP, key, NULL))
    return TRUE;
  value = get_string (config, key, TRUE, error);
  if (value == NULL)
    return FALSE;
  if (!g_ascii_string_to_unsigned (value, 10, 1, max, &number, NULL))
    {
      if (threads)
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                     _("%s: “%s” must be a number of threads from 1 to %u, not “%s”."),
                     config->path, key, max, value);
      else
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                     _("%s: “%s” must be a number of seconds from 1 to %u, not “%s”."),
                     config->path, key, max, value);
      return FALSE;
    }
  *seconds = (guint) number;
  return TRUE;
}

/**
 * cardpin_server_default_threads:
 * @token_threads: the threads that call the token
 *
 * Returns: the listener threads when the keyfile sets no `threads`: the processors this
 *   process may run on less @token_threads, from 1 to %CARDPIN_SERVER_MAX_THREADS
 */
guint
cardpin_server_default_threads (guint token_threads)
{
  cpu_set_t set;
  /* the processors this process may run on (taskset, systemd's CPUAffinity=);
   * g_get_num_processors() of GLib 2.74 counts all the machine's */
  guint processors = sched_getaffinity (0, sizeof set, &set) == 0 ? (guint) CPU_COUNT (&set)
                                                                 : g_get_num_processors ();

  return CLAMP (processors > token_threads ? processors - token_threads : 1, 1,
                CARDPIN_SERVER_MAX_THREADS);
}

/**
 * cardpin_server_config_load:
 * @path: the keyfile
 * @service: %TRUE for cardpin-unblockd, which needs every key; the helpdesk tool needs
 *   only `database` and the master key's keys
 * @error: return location
 *
 * Returns: (transfer full): the configuration, or %NULL with an error naming the key to fix
 */
CardpinServerConfig *
cardpin_server_config_load (const char  *path,
                            gboolean     service,
                            GError     **error)
{
  g_autoptr(CardpinServerConfig) config = g_new0 (CardpinServerConfig, 1);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *listen = NULL;

  config->path = g_strdup (path);
  config->keyfile = g_key_file_new ();
  if (!g_key_file_load_from_file (config->keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot read the configuration %s: %s"), path, local_error->message);
      return NULL;
    }
  if (!g_key_file_has_group (config->keyfile, GROUP))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                   _("%s has no group [%s]. See cardpin-unblockd(8) for the keys."),
                   path, GROUP);
      return NULL;
    }

  config->database = get_string (config, "database", TRUE, error);
  if (config->database == NULL)
    return NULL;
  if (!service)
    return g_steal_pointer (&config);

  listen = get_string (config, "listen", TRUE, error);
  if (listen == NULL ||
      !cardpin_server_parse_listen (listen, &config->listen_host, &config->listen_port, error))
    return NULL;
  config->tls_certificate = get_string (config, "tls-certificate", TRUE, error);
  if (config->tls_certificate == NULL)
    return NULL;
  config->tls_key = get_string (config, "tls-key", TRUE, error);
  if (config->tls_key == NULL)
    return NULL;
  config->pam_service = get_string (config, "pam-service", TRUE, error);
  if (config->pam_service == NULL)
    return NULL;
  if (strchr (config->pam_service, '/') != NULL)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("%s: “pam-service” is the name of a file in /etc/pam.d, not a path."),
                   path);
      return NULL;
    }
  if (!get_quota (config, "quota-card-per-day", &config->quota_card_per_day, error) ||
      !get_quota (config, "quota-user-per-day", &config->quota_user_per_day, error))
    return NULL;

  /* optional: how long a client may take to send one request (slow clients), and how
   * long a kept-alive connection may wait idle for its next one */
  if (!get_number (config, "request-timeout", 15, 300, FALSE, &config->request_timeout,
                   error) ||
      !get_number (config, "idle-timeout", 60, 3600, FALSE, &config->idle_timeout, error))
    return NULL;

  /* optional: the threads that call the token, one by default (SoftHSM2 and most local
   * tokens are slower called from several threads at once) */
  if (!get_number (config, "token-threads", 1, CARDPIN_SERVER_MAX_THREADS, TRUE,
                   &config->token_threads, error))
    return NULL;
  /* optional: the threads that serve HTTPS (TLS and HTTP); by default one per processor
   * that the token threads leave (at least one): under load a token thread keeps a
   * processor busy, and a listener more than the processors only adds thread switches
   * (tests/bench/bench-unblockd.sh, 2 processors, 32 clients: one listener served 14 %
   * more responses per second than two on PostgreSQL, with a lower p99) */
  if (!get_number (config, "threads", cardpin_server_default_threads (config->token_threads),
                   CARDPIN_SERVER_MAX_THREADS, TRUE, &config->threads, error))
    return NULL;

  return g_steal_pointer (&config);
}

void
cardpin_server_config_free (CardpinServerConfig *config)
{
  if (config == NULL)
    return;
  g_clear_pointer (&config->keyfile, g_key_file_unref);
  g_free (config->path);
  g_free (config->listen_host);
  g_free (config->tls_certificate);
  g_free (config->tls_key);
  g_free (config->database);
  g_free (config->pam_service);
  g_free (config);
}
