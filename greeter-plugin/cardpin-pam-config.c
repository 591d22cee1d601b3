/* cardpin-pam-config.c — the login-screen helper's settings
 *
 * The login screen has no dconf session, so the helper reads the same keys as the
 * GSettings schema from a keyfile (DESIGN.md "Configuration"). Values are GVariant text,
 * as GSettings' keyfile backend writes them:
 *
 *   [cardpin]
 *   allowed-unblock-methods=['offline', 'puk']
 *   pin-min-length=6
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "cardpin-pam-config.h"
#include "cardpin-policy.h"

static const struct {
  const char       *name;
  const char       *alias;
  CardpinPamMethod  method;
} method_names[] = {
  { CARDPIN_UNBLOCK_METHOD_OFFLINE, "helpdesk", CARDPIN_PAM_METHOD_HELPDESK },
  { CARDPIN_UNBLOCK_METHOD_PUK, NULL, CARDPIN_PAM_METHOD_PUK },
  { CARDPIN_UNBLOCK_METHOD_ONLINE, NULL, CARDPIN_PAM_METHOD_ONLINE },
};

static CardpinPamMethod
method_from_name (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (method_names); i++)
    if (g_strcmp0 (name, method_names[i].name) == 0 ||
        g_strcmp0 (name, method_names[i].alias) == 0)
      return method_names[i].method;
  return 0;
}

/* A key's value as GVariant text of @type, or %NULL when the key is absent */
static GVariant *
get_value (GKeyFile            *file,
           const char          *path,
           const char          *key,
           const GVariantType  *type,
           GError             **error)
{
  g_autofree char *text = g_key_file_get_value (file, CARDPIN_PAM_CONFIG_GROUP, key, NULL);
  g_autoptr(GError) local_error = NULL;
  GVariant *value;

  if (text == NULL)
    return NULL;
  value = g_variant_parse (type, text, NULL, NULL, &local_error);
  if (value == NULL)
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                 _("%s: the value of “%s” is not a valid %s (%s). Fix the file; the "
                   "login screen ignores the module until then."),
                 path, key, (const char *) type, local_error->message);
  return value;
}

static gboolean
get_uint (GKeyFile    *file,
          const char  *path,
          const char  *key,
          guint       *out,
          GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GVariant) value = get_value (file, path, key, G_VARIANT_TYPE_UINT32, &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (value == NULL)
    return TRUE;
  *out = g_variant_get_uint32 (value);
  if (*out < 4 || *out > 64)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("%s: “%s” must be between 4 and 64."), path, key);
      return FALSE;
    }
  return TRUE;
}

gboolean
cardpin_pam_config_load (CardpinPamConfig  *config,
                         const char        *path,
                         const char        *methods_arg,
                         GError           **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GVariant) methods = NULL;
  g_autoptr(GVariant) url = NULL;
  g_autoptr(GVariant) ca = NULL;
  g_auto(GStrv) wanted = NULL;
  CardpinPamMethod allowed = 0;

  memset (config, 0, sizeof *config);
  config->pin_min_length = 6;
  config->pin_max_length = 8;
  config->pin_digits_only = TRUE;
  allowed = CARDPIN_PAM_METHOD_HELPDESK | CARDPIN_PAM_METHOD_PUK | CARDPIN_PAM_METHOD_ONLINE;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, local_error->domain, local_error->code, "%s: %s", path,
                       local_error->message);
          return FALSE;
        }
      g_clear_error (&local_error);
    }
  else
    {
      g_autoptr(GVariant) digits = NULL;

      methods = get_value (file, path, "allowed-unblock-methods", G_VARIANT_TYPE_STRING_ARRAY,
                           error);
      if (methods == NULL && error != NULL && *error != NULL)
        return FALSE;
      url = get_value (file, path, "unblock-server-url", G_VARIANT_TYPE_STRING, error);
      if (url == NULL && error != NULL && *error != NULL)
        return FALSE;
      ca = get_value (file, path, "unblock-server-ca", G_VARIANT_TYPE_STRING, error);
      if (ca == NULL && error != NULL && *error != NULL)
        return FALSE;
      digits = get_value (file, path, "pin-digits-only", G_VARIANT_TYPE_BOOLEAN, error);
      if (digits == NULL && error != NULL && *error != NULL)
        return FALSE;
      if (digits != NULL)
        config->pin_digits_only = g_variant_get_boolean (digits);
      if (!get_uint (file, path, "pin-min-length", &config->pin_min_length, error) ||
          !get_uint (file, path, "pin-max-length", &config->pin_max_length, error))
        return FALSE;
    }

  if (methods != NULL)
    {
      g_autofree const char **names = g_variant_get_strv (methods, NULL);

      allowed = 0;
      for (guint i = 0; names[i] != NULL; i++)
        {
          CardpinPamMethod method = method_from_name (names[i]);

          if (method == 0 || g_strcmp0 (names[i], "helpdesk") == 0)
            {
              g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                           _("%s: unknown unblock method “%s” in “allowed-unblock-methods”; "
                             "the methods are “puk”, “online” and “offline”."), path,
                           names[i]);
              return FALSE;
            }
          allowed |= method;
        }
    }
  if (url != NULL)
    config->server_url = g_variant_dup_string (url, NULL);
  if (ca != NULL)
    config->server_ca = g_variant_dup_string (ca, NULL);

  /* the module's methods= picks among the allowed ones, in its order */
  if (methods_arg != NULL)
    {
      wanted = g_strsplit (methods_arg, ",", -1);
      for (guint i = 0; wanted[i] != NULL; i++)
        {
          CardpinPamMethod method = method_from_name (g_strstrip (wanted[i]));

          if (method == 0)
            {
              g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                           _("methods=: unknown unblock method “%s”; the methods are "
                             "“helpdesk”, “puk” and “online”."), wanted[i]);
              return FALSE;
            }
          if ((allowed & method) && !cardpin_pam_config_allows (config, method) &&
              config->n_methods < CARDPIN_PAM_N_METHODS)
            config->methods[config->n_methods++] = method;
        }
    }
  else
    {
      for (guint i = 0; i < G_N_ELEMENTS (method_names); i++)
        if (allowed & method_names[i].method)
          config->methods[config->n_methods++] = method_names[i].method;
    }
  return TRUE;
}

gboolean
cardpin_pam_config_allows (const CardpinPamConfig *config,
                           CardpinPamMethod        method)
{
  for (guint i = 0; i < config->n_methods; i++)
    if (config->methods[i] == method)
      return TRUE;
  return FALSE;
}

void
cardpin_pam_config_clear (CardpinPamConfig *config)
{
  g_clear_pointer (&config->server_url, g_free);
  g_clear_pointer (&config->server_ca, g_free);
}
