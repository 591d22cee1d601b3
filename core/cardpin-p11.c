/* cardpin-p11.c — PKCS#11 modules through p11-kit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <p11-kit/p11-kit.h>

#include "cardpin-error.h"
#include "cardpin-p11.h"

/* Modules are loaded unmanaged and initialized here with recursive mutexes: OpenSC 0.23
 * re-locks its card mutex in the same thread when a card is pulled during
 * C_GetTokenInfo (seen in the watch test: owner == the waiting thread), which deadlocks
 * with the plain mutexes p11-kit's managed wrapper hands it. */
struct _CardpinP11Modules {
  gatomicrefcount     ref_count;
  gboolean            registered;   /* loaded with p11_kit_modules_load() */
  CK_FUNCTION_LIST  **modules;      /* NULL-terminated */
  gboolean           *initialized;  /* we called C_Initialize: we call C_Finalize */
  char              **names;
  guint               n_modules;
};

static CK_RV
create_mutex_cb (CK_VOID_PTR_PTR mutex)
{
  GRecMutex *m;

  if (mutex == NULL)
    return CKR_ARGUMENTS_BAD;
  m = g_new0 (GRecMutex, 1);
  g_rec_mutex_init (m);
  *mutex = m;
  return CKR_OK;
}

static CK_RV
destroy_mutex_cb (CK_VOID_PTR mutex)
{
  if (mutex == NULL)
    return CKR_MUTEX_BAD;
  g_rec_mutex_clear (mutex);
  g_free (mutex);
  return CKR_OK;
}

static CK_RV
lock_mutex_cb (CK_VOID_PTR mutex)
{
  if (mutex == NULL)
    return CKR_MUTEX_BAD;
  g_rec_mutex_lock (mutex);
  return CKR_OK;
}

static CK_RV
unlock_mutex_cb (CK_VOID_PTR mutex)
{
  if (mutex == NULL)
    return CKR_MUTEX_BAD;
  g_rec_mutex_unlock (mutex);
  return CKR_OK;
}

/* Returns CKR_OK also when someone else in the process initialized it already. */
static CK_RV
initialize_module (CK_FUNCTION_LIST *module,
                   gboolean         *ours)
{
  CK_C_INITIALIZE_ARGS args = {
    .CreateMutex = create_mutex_cb,
    .DestroyMutex = destroy_mutex_cb,
    .LockMutex = lock_mutex_cb,
    .UnlockMutex = unlock_mutex_cb,
    .flags = 0,
    .pReserved = NULL,
  };
  CK_RV rv = module->C_Initialize (&args);

  *ours = rv == CKR_OK;
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
    rv = CKR_OK;
  return rv;
}

/**
 * cardpin_p11_set_error:
 * @error: return location
 * @rv: a PKCS#11 result
 * @what: untranslated name of the failed call
 *
 * Maps @rv to an error: token gone -> %CARDPIN_ERROR_CARD_REMOVED, unsupported ->
 * %CARDPIN_ERROR_NOT_SUPPORTED, anything else %CARDPIN_P11_ERROR with @rv as the code.
 * Callers map PIN results (CKR_PIN_INCORRECT ...) themselves, they know which PIN.
 *
 * Returns: %TRUE for CKR_OK (no error set), else %FALSE
 */
gboolean
cardpin_p11_set_error (GError     **error,
                       CK_RV        rv,
                       const char  *what)
{
  switch (rv)
    {
    case CKR_OK:
      return TRUE;

    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SLOT_ID_INVALID:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED,
                   _("The card was removed. Insert the card and try again."));
      return FALSE;

    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_MECHANISM_INVALID:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("This card or token cannot do that."));
      return FALSE;

    default:
      g_set_error (error, CARDPIN_P11_ERROR, (int) rv,
                   _("The card's PKCS#11 module failed (%s: %s). Try again."),
                   what, p11_kit_strerror (rv));
      return FALSE;
    }
}

/**
 * cardpin_p11_string:
 * @string: a blank-padded string from a PKCS#11 structure
 * @max_len: its field size
 *
 * Returns: (transfer full): the trimmed string, valid UTF-8
 */
char *
cardpin_p11_string (const CK_UTF8CHAR *string,
                    gsize              max_len)
{
  g_autofree char *raw = p11_kit_space_strdup (string, max_len);

  /* some modules NUL-terminate early: stop there */
  g_strchomp (raw);
  return g_utf8_make_valid (raw, -1);
}

/**
 * cardpin_p11_modules_load:
 * @paths: (nullable): %NULL for every module registered with p11-kit, or a
 *   %NULL-terminated list of module paths
 * @error: return location
 *
 * Loads and initializes the modules. Registered modules that fail to initialize are
 * skipped by p11-kit; an explicit path that fails is an error.
 *
 * Returns: (transfer full): the module set, or %NULL
 */
CardpinP11Modules *
cardpin_p11_modules_load (const char * const  *paths,
                          GError             **error)
{
  g_autoptr(CardpinP11Modules) self = g_new0 (CardpinP11Modules, 1);
  g_autoptr(GPtrArray) loaded = g_ptr_array_new ();
  guint i;

  g_atomic_ref_count_init (&self->ref_count);

  if (paths == NULL)
    {
      CK_FUNCTION_LIST **all;

      self->registered = TRUE;
      all = p11_kit_modules_load (NULL, P11_KIT_MODULE_UNMANAGED);
      if (all == NULL)
        {
          g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                       _("Cannot load the PKCS#11 modules: %s. Check the p11-kit "
                         "configuration."), p11_kit_message ());
          return NULL;
        }
      /* like p11_kit_modules_load_and_initialize(): modules that fail are left out */
      for (i = 0; all[i] != NULL; i++)
        {
          g_autofree char *trust = p11_kit_config_option (all[i], "trust-policy");
          gboolean ours = FALSE;
          CK_RV rv;

          /* trust stores (p11-kit-trust) hold certificates, never a PIN; TLS code in
           * this process (GnuTLS) uses them through p11-kit's managed API, so leave
           * them alone */
          if (g_strcmp0 (trust, "yes") == 0)
            {
              p11_kit_module_release (all[i]);
              continue;
            }

          rv = initialize_module (all[i], &ours);

          if (rv != CKR_OK)
            {
              g_autofree char *name = p11_kit_module_get_name (all[i]);

              g_debug ("Skipping PKCS#11 module %s: %s", name ? name : "?",
                       p11_kit_strerror (rv));
              p11_kit_module_release (all[i]);
              continue;
            }
          g_ptr_array_add (loaded, all[i]);
          self->initialized = g_renew (gboolean, self->initialized, loaded->len);
          self->initialized[loaded->len - 1] = ours;
        }
      free (all);
      self->n_modules = loaded->len;
      g_ptr_array_add (loaded, NULL);
      self->modules = (CK_FUNCTION_LIST **) g_ptr_array_free (g_steal_pointer (&loaded),
                                                              FALSE);
    }
  else
    {
      self->n_modules = g_strv_length ((char **) paths);
      self->modules = g_new0 (CK_FUNCTION_LIST *, self->n_modules + 1);
      self->initialized = g_new0 (gboolean, self->n_modules + 1);
      for (i = 0; i < self->n_modules; i++)
        {
          CK_FUNCTION_LIST *module;
          CK_RV rv;

          module = p11_kit_module_load (paths[i], P11_KIT_MODULE_UNMANAGED);
          if (module == NULL)
            {
              g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                           _("Cannot load the PKCS#11 module %s: %s."),
                           paths[i], p11_kit_message ());
              return NULL;
            }
          rv = initialize_module (module, &self->initialized[i]);
          if (rv != CKR_OK)
            {
              p11_kit_module_release (module);
              g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED,
                           _("Cannot initialize the PKCS#11 module %s: %s."),
                           paths[i], p11_kit_strerror (rv));
              return NULL;
            }
          self->modules[i] = module;
        }
    }

  self->names = g_new0 (char *, self->n_modules + 1);
  for (i = 0; i < self->n_modules; i++)
    {
      char *name = p11_kit_module_get_name (self->modules[i]);

      if (name != NULL)
        {
          self->names[i] = g_strdup (name);
          free (name);
        }
      else
        {
          char *filename = p11_kit_module_get_filename (self->modules[i]);

          self->names[i] = g_path_get_basename (filename ? filename
                                                : (paths ? paths[i] : "?"));
          free (filename);
        }
    }

  return g_steal_pointer (&self);
}

CardpinP11Modules *
cardpin_p11_modules_ref (CardpinP11Modules *modules)
{
  g_atomic_ref_count_inc (&modules->ref_count);
  return modules;
}

void
cardpin_p11_modules_unref (CardpinP11Modules *modules)
{
  guint i;

  if (modules == NULL || !g_atomic_ref_count_dec (&modules->ref_count))
    return;

  if (modules->modules != NULL)
    {
      for (i = 0; i < modules->n_modules && modules->modules[i] != NULL; i++)
        {
          if (modules->initialized[i])
            modules->modules[i]->C_Finalize (NULL);
          p11_kit_module_release (modules->modules[i]);
        }
      g_free (modules->modules);
    }
  g_free (modules->initialized);

  g_strfreev (modules->names);
  g_free (modules);
}

guint
cardpin_p11_modules_get_n (CardpinP11Modules *modules)
{
  return modules->n_modules;
}

CK_FUNCTION_LIST *
cardpin_p11_modules_get (CardpinP11Modules *modules,
                         guint              index)
{
  g_return_val_if_fail (index < modules->n_modules, NULL);
  return modules->modules[index];
}

const char *
cardpin_p11_modules_get_name (CardpinP11Modules *modules,
                              guint              index)
{
  g_return_val_if_fail (index < modules->n_modules, NULL);
  return modules->names[index];
}
