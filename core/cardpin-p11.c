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
#include "cardpin-policy.h"

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

/* PIN operations */

/**
 * cardpin_p11_set_pin_error:
 * @error: return location
 * @rv: what C_Login, C_SetPIN or C_InitPIN returned (not CKR_OK)
 * @so: whether the secret was the PUK (SO PIN)
 * @changing: whether a new value was being set
 * @new_value: (nullable): the new value, if any
 * @min_pin_length: the token's ulMinPinLen (0: unknown)
 * @max_pin_length: the token's ulMaxPinLen (0: unknown)
 * @what: the function, for other errors
 *
 * The PKCS#11 results of the PIN functions as CARDPIN_ERROR codes.
 */
void
cardpin_p11_set_pin_error (GError   **error,
                           CK_RV      rv,
                           gboolean   so,
                           gboolean   changing,
                           const CardpinSecret *new_value,
                           guint      min_pin_length,
                           guint      max_pin_length,
                           const char *what)
{
  switch (rv)
    {
    case CKR_PIN_INCORRECT:
      if (so)
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_PUK, -1,
                                      _("Wrong PUK or administrator PIN. Check it and try "
                                        "again; each wrong try counts."));
      else
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_WRONG_PIN, -1,
                                      _("Wrong PIN. Check it and try again; each wrong try "
                                        "counts."));
      return;
    case CKR_PIN_LOCKED:
      if (so)
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_PUK_BLOCKED, 0,
                                      _("The PUK is blocked. Ask your administrator to "
                                        "unblock the card."));
      else
        cardpin_set_error_with_tries (error, CARDPIN_ERROR_PIN_BLOCKED, 0,
                                      _("The PIN is blocked. Unblock it with your PUK or "
                                        "ask your administrator."));
      return;
    case CKR_PIN_LEN_RANGE:
      {
        /* the new PIN is the one out of range: the current one was checked before */
        gsize len = new_value != NULL ? cardpin_secret_get_length (new_value) : 0;
        gboolean too_long = max_pin_length > 0 && len > max_pin_length;

        if (min_pin_length > 0 && max_pin_length > 0)
          {
            g_autofree char *rule = cardpin_policy_describe_length (min_pin_length,
                                                                    max_pin_length, FALSE);

            /* Translators: %s is the length rule, e.g. "Use 4 to 8 characters." */
            cardpin_set_policy_error (error,
                                      too_long ? CARDPIN_POLICY_TOO_LONG : CARDPIN_POLICY_TOO_SHORT,
                                      too_long ? _("The card refused this PIN as too long. %s")
                                               : _("The card refused this PIN as too short. %s"),
                                      rule);
          }
        else
          cardpin_set_policy_error (error,
                                    too_long ? CARDPIN_POLICY_TOO_LONG : CARDPIN_POLICY_TOO_SHORT,
                                    "%s", _("The card does not accept a PIN of this length. "
                                            "Choose another PIN."));
        return;
      }
    case CKR_PIN_INVALID:
      cardpin_set_policy_error (error, CARDPIN_POLICY_BAD_CHARACTER,
                                _("The card does not accept these characters in a PIN. "
                                  "Choose another PIN."));
      return;
    case CKR_USER_PIN_NOT_INITIALIZED:
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("This token has no PIN yet. Set one up first."));
      return;
    case CKR_FUNCTION_CANCELED:
      /* the person pressed Cancel on the reader: not the caller's GCancellable, which
       * front ends ignore, but an error to show */
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_PINPAD,
                   _("The PIN entry on the reader was cancelled. Nothing was sent to the "
                     "card; start again to type the PIN on the reader’s keypad."));
      return;
    default:
      break;
    }
  cardpin_p11_set_error (error, rv, what);
}

static CK_UTF8CHAR_PTR
secret_ptr (const CardpinSecret *secret)
{
  return secret ? (CK_UTF8CHAR_PTR) cardpin_secret_get_data (secret) : NULL;
}

static CK_ULONG
secret_len (const CardpinSecret *secret)
{
  return secret ? cardpin_secret_get_length (secret) : 0;
}

/**
 * _cardpin_p11_run_op:
 * @funcs: the token's module
 * @slot: the token's slot
 * @token_flags: the token's flags (CKF_USER_PIN_INITIALIZED decides the set-up route)
 * @min_pin_length: the token's ulMinPinLen, for the error messages
 * @max_pin_length: the token's ulMaxPinLen, for the error messages
 * @kind: the operation
 * @secrets: (array fixed-size=4): as in #OpKind; %NULL on a pinpad reader
 * @error: return location
 *
 * Runs a PIN operation through PKCS#11. Check the secrets with
 * _cardpin_p11_check_secrets() first.
 */
gboolean
_cardpin_p11_run_op (CK_FUNCTION_LIST      *funcs,
                     CK_SLOT_ID             slot,
                     CK_FLAGS               token_flags,
                     guint                  min_pin_length,
                     guint                  max_pin_length,
                     OpKind                 kind,
                     CardpinSecret * const *secrets,
                     GError               **error)
{
  CardpinSecret * const *s = secrets;
  CK_SESSION_HANDLE session;
  gboolean ok = FALSE;
  CK_RV rv;

  if (kind == OP_CHANGE_PUK)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                   _("cardpin can change the PUK of PIV cards only. Ask your "
                     "administrator."));
      return FALSE;
    }

  rv = funcs->C_OpenSession (slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                             &session);
  if (!cardpin_p11_set_error (error, rv, "C_OpenSession"))
    return FALSE;

  switch (kind)
    {
    case OP_VERIFY:
      rv = funcs->C_Login (session, CKU_USER, secret_ptr (s[0]), secret_len (s[0]));
      if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        {
          funcs->C_Logout (session);
          ok = TRUE;
        }
      else
        {
          cardpin_p11_set_pin_error (error, rv, FALSE, FALSE, s[1],
                                     min_pin_length, max_pin_length, "C_Login");
        }
      break;

    case OP_CHANGE_PIN:
      rv = funcs->C_SetPIN (session, secret_ptr (s[0]), secret_len (s[0]),
                            secret_ptr (s[1]), secret_len (s[1]));
      ok = rv == CKR_OK;
      if (!ok)
        cardpin_p11_set_pin_error (error, rv, FALSE, TRUE, s[1],
                                   min_pin_length, max_pin_length, "C_SetPIN");
      break;

    case OP_UNBLOCK_PUK:
    case OP_SETUP:
      if (kind == OP_SETUP && (token_flags & CKF_USER_PIN_INITIALIZED))
        {
          rv = funcs->C_SetPIN (session, secret_ptr (s[0]), secret_len (s[0]),
                                secret_ptr (s[1]), secret_len (s[1]));
          ok = rv == CKR_OK;
          if (!ok)
            cardpin_p11_set_pin_error (error, rv, FALSE, TRUE, s[1],
                                       min_pin_length, max_pin_length, "C_SetPIN");
          break;
        }
      /* the PKCS#11 route: log in as SO with the PUK (or SO PIN), C_InitPIN */
      rv = funcs->C_Login (session, CKU_SO, secret_ptr (s[0]), secret_len (s[0]));
      if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        {
          cardpin_p11_set_pin_error (error, rv, TRUE, FALSE, s[1],
                                     min_pin_length, max_pin_length, "C_Login");
          break;
        }
      rv = funcs->C_InitPIN (session, secret_ptr (s[1]), secret_len (s[1]));
      ok = rv == CKR_OK;
      if (!ok)
        {
          if (rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_USER_NOT_LOGGED_IN)
            g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NOT_SUPPORTED,
                         _("This token cannot set a new PIN with the PUK. Ask your "
                           "administrator."));
          else
            cardpin_p11_set_pin_error (error, rv, FALSE, TRUE, s[1],
                                       min_pin_length, max_pin_length, "C_InitPIN");
        }
      funcs->C_Logout (session);
      break;

    case OP_CHANGE_PUK:
    default:
      g_assert_not_reached ();
    }

  funcs->C_CloseSession (session);
  return ok;
}

/**
 * _cardpin_p11_check_secrets:
 * @secrets: (array fixed-size=4): as in #OpKind
 * @min_pin_length: the token's ulMinPinLen (0: no limit)
 * @max_pin_length: the token's ulMaxPinLen (0: no limit)
 * @error: return location
 *
 * The PKCS#11 route: a value the token cannot hold (outside its PIN lengths, or with a
 * NUL, which C_Login would not see) is refused before any call that could cost a try.
 */
gboolean
_cardpin_p11_check_secrets (CardpinSecret * const *secrets,
                            guint                  min_pin_length,
                            guint                  max_pin_length,
                            GError               **error)
{
  for (guint i = 0; i < 4; i++)
    {
      const CardpinSecret *secret = secrets[i];
      gsize len;

      if (secret == NULL)
        continue;
      len = cardpin_secret_get_length (secret);
      if (memchr (cardpin_secret_get_data (secret), 0, len) != NULL)
        {
          cardpin_set_policy_error (error, CARDPIN_POLICY_BAD_CHARACTER, "%s",
                                    _("A PIN cannot hold a NUL character. Nothing was sent "
                                      "to the token and no try was used."));
          return FALSE;
        }
      if ((min_pin_length > 0 && len < min_pin_length) ||
          (max_pin_length > 0 && len > max_pin_length))
        {
          CardpinPolicyReason reason = len < min_pin_length ? CARDPIN_POLICY_TOO_SHORT
                                                            : CARDPIN_POLICY_TOO_LONG;
          g_autofree char *rule = NULL;

          if (min_pin_length == 0 || max_pin_length == 0)
            {
              cardpin_set_policy_error (error, reason, "%s",
                                        _("This token does not take a PIN of this length. "
                                          "Nothing was sent to the token and no try was "
                                          "used."));
              return FALSE;
            }
          rule = cardpin_policy_describe_length (min_pin_length, max_pin_length, FALSE);
          /* Translators: %s is the length rule, e.g. "Use 4 to 8 characters." */
          cardpin_set_policy_error (error, reason,
                                    _("This token does not take a PIN of this length. %s "
                                      "Nothing was sent to the token and no try was used."),
                                    rule);
          return FALSE;
        }
    }
  return TRUE;
}

