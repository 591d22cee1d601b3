/* cardpin-pam-config.c — the login-screen helper's settings
 *
 * The login screen has no dconf session, so the helper reads the same keys as the
 * GSettings schema from a keyfile (DESIGN.md "Configuration") through GSettings' keyfile
 * backend (root path /io/github/cardpin/CardPin/, group [cardpin]): core's policy reads
 * the same #GSettings as on the desktop. Values are GVariant text:
 *
 *   [cardpin]
 *   allowed-unblock-methods=['offline', 'puk']
 *   pin-min-length=6
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gio.h>
#include <gio/gsettingsbackend.h>
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

/* The schema: installed, or (for the tests) in the build tree the worker runs from */
static GSettingsSchema *
lookup_schema (GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchemaSource) own = NULL;
  GSettingsSchema *schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
#ifdef CARDPIN_PAM_BUILD_DIR
  if (schema == NULL)
    {
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;

      if (g_strcmp0 (dir, CARDPIN_PAM_BUILD_DIR) == 0)
        own = g_settings_schema_source_new_from_directory (CARDPIN_PAM_BUILD_SCHEMA_DIR,
                                                           NULL, TRUE, NULL);
      if (own != NULL)
        schema = g_settings_schema_source_lookup (own, APP_ID, TRUE);
    }
#endif
  if (schema == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("The settings schema %s is not installed. Reinstall cardpin; the login "
                   "screen ignores the module until then."), APP_ID);
  return schema;
}

/* Every key of the file's group is one of the schema's, with a value it takes: the
 * keyfile backend would silently fall back to the default */
static gboolean
check_file (GSettingsSchema  *schema,
            const char       *path,
            gboolean         *exists,
            GError          **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) keys = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error))
    {
      *exists = FALSE;
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, local_error->domain, local_error->code, "%s: %s", path,
                   local_error->message);
      return FALSE;
    }

  *exists = TRUE;
  keys = g_key_file_get_keys (file, CARDPIN_PAM_CONFIG_GROUP, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autoptr(GSettingsSchemaKey) key = NULL;
      g_autoptr(GVariant) value = NULL;
      g_autofree char *text = NULL;
      g_autofree char *type = NULL;

      if (!g_settings_schema_has_key (schema, keys[i]))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                       _("%s: “%s” is not a cardpin setting. Fix the file; the login "
                         "screen ignores the module until then."), path, keys[i]);
          return FALSE;
        }
      key = g_settings_schema_get_key (schema, keys[i]);
      type = g_variant_type_dup_string (g_settings_schema_key_get_value_type (key));
      text = g_key_file_get_value (file, CARDPIN_PAM_CONFIG_GROUP, keys[i], NULL);
      value = g_variant_parse (g_settings_schema_key_get_value_type (key), text, NULL, NULL,
                               &local_error);
      if (value == NULL || !g_settings_schema_key_range_check (key, value))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _("%s: “%s” is not a value “%s” can take (GVariant text of type "
                         "%s). Fix the file; the login screen ignores the module until "
                         "then."), path, text, keys[i], type);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
cardpin_pam_config_load (CardpinPamConfig  *config,
                         const char        *path,
                         const char        *methods_arg,
                         GError           **error)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsBackend) backend = NULL;
  g_auto(GStrv) names = NULL;
  g_auto(GStrv) wanted = NULL;
  CardpinPamMethod allowed = 0;
  gboolean exists = FALSE;

  memset (config, 0, sizeof *config);

  schema = lookup_schema (error);
  if (schema == NULL || !check_file (schema, path, &exists, error))
    return FALSE;

  /* no file: the schema's defaults (the keyfile backend would create its directory) */
  if (exists)
    backend = g_keyfile_settings_backend_new (path, "/io/github/cardpin/CardPin/",
                                              CARDPIN_PAM_CONFIG_GROUP);
  else
    backend = g_memory_settings_backend_new ();
  config->settings = g_settings_new_full (schema, backend, NULL);

  names = g_settings_get_strv (config->settings, "allowed-unblock-methods");
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
  config->server_url = g_settings_get_string (config->settings, "unblock-server-url");
  config->server_ca = g_settings_get_string (config->settings, "unblock-server-ca");

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
  g_clear_object (&config->settings);
}
