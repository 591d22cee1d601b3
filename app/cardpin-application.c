/* cardpin-application.c — the "Smart Card PIN" application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application-private.h"
#include "cardpin-manager.h"
#include "cardpin-resources.h"
#include "cardpin-window.h"

/**
 * CardpinApplication:
 *
 * The application object of "Smart Card PIN".
 *
 * It opens one [class@Cardpin.Window]. The command-line option `--module PATH`
 * (repeatable) restricts the PKCS#11 modules to the given ones instead of every
 * module registered with p11-kit; tests and the demo use it. An instance started
 * with `--module` does not register as the unique instance, so its module list
 * never ends up in (or comes from) another running instance.
 *
 * The first read of the cards starts before GTK and libadwaita are initialized, in a
 * worker thread, so that the card's answers and the toolkit's start overlap; the first
 * window takes its result ([method@Cardpin.Window.reload] reads again).
 */
struct _CardpinApplication
{
  AdwApplication parent_instance;

  GStrv modules;

  /* the first read of the cards, started at startup */
  GCancellable         *first_cancellable;
  gboolean              first_done;
  gboolean              first_taken;
  CardpinManager       *first_manager;
  GError               *first_error;
  CardpinFirstLoadFunc  first_func;
  gpointer              first_data;
};

G_DEFINE_FINAL_TYPE (CardpinApplication, cardpin_application, ADW_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "module", 'm', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME_ARRAY, NULL,
    N_("Use this PKCS#11 module instead of the ones registered with p11-kit (repeatable)"),
    N_("PATH") },
  { "version", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
    N_("Show the version and exit"), NULL },
  { NULL }
};

/**
 * cardpin_ensure_resources:
 *
 * Registers the application's GResource (templates, shortcuts) once.
 */
void
cardpin_ensure_resources (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      cardpin_register_resource ();
      g_once_init_leave (&registered, 1);
    }
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  GtkWindow *window = gtk_application_get_active_window (app);
  const char *developers[] = { "The cardpin authors", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", window,
                        "modal", TRUE,
                        "application-icon", APP_ID,
                        "application-name", _("Smart Card PIN"),
                        "developer-name", _("The cardpin authors"),
                        "version", PACKAGE_VERSION,
                        "website", "https://github.com/cardpin/cardpin",
                        "issue-url", "https://github.com/cardpin/cardpin/issues",
                        "license-type", GTK_LICENSE_LGPL_2_1,
                        "developers", developers,
                        /* Translators: put your names here, one per line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL },
  { "about", about_activated, NULL, NULL, NULL },
};

static int
cardpin_application_handle_local_options (GApplication *application,
                                          GVariantDict *options)
{
  CardpinApplication *self = CARDPIN_APPLICATION (application);
  g_auto(GStrv) modules = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("%s %s\n", g_get_prgname (), PACKAGE_VERSION);
      return 0;
    }

  if (g_variant_dict_lookup (options, "module", "^aay", &modules) && modules[0] != NULL)
    {
      g_strfreev (self->modules);
      self->modules = g_steal_pointer (&modules);
      /* A private module list belongs to this process only. */
      g_application_set_flags (application,
                               g_application_get_flags (application) |
                               G_APPLICATION_NON_UNIQUE);
    }

  return -1;
}

static void
hand_over_first_load (CardpinApplication *self)
{
  CardpinFirstLoadFunc func = self->first_func;

  if (func == NULL || !self->first_done)
    return;

  self->first_func = NULL;
  func (self->first_manager, self->first_error, self->first_data);
  g_clear_object (&self->first_manager);
  g_clear_error (&self->first_error);
}

static void
first_load_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(CardpinApplication) self = user_data;

  self->first_done = TRUE;
  self->first_manager = cardpin_manager_new_full_finish (result, &self->first_error);
  hand_over_first_load (self);
}

/**
 * _cardpin_application_take_first_load:
 * @self: the application
 * @func: gets the first read's manager, or why there is none
 * @user_data: closure
 *
 * Takes the first read of the cards, started at startup; only once. @func is called
 * at once when the read is done already, else when it is (also when it is cancelled
 * at shutdown).
 *
 * Returns: %FALSE (and @func is not called) when there is none to take
 */
gboolean
_cardpin_application_take_first_load (CardpinApplication   *self,
                                      CardpinFirstLoadFunc  func,
                                      gpointer              user_data)
{
  g_return_val_if_fail (CARDPIN_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  if (self->first_cancellable == NULL || self->first_taken)
    return FALSE;

  self->first_taken = TRUE;
  self->first_func = func;
  self->first_data = user_data;
  hand_over_first_load (self);
  return TRUE;
}

static void
cardpin_application_startup (GApplication *application)
{
  CardpinApplication *self = CARDPIN_APPLICATION (application);
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *close_accels[] = { "<Control>w", NULL };
  const char *reload_accels[] = { "F5", "<Control>r", NULL };
  const char *help_overlay_accels[] = { "<Control>question", NULL };

  /* the cards answer while GTK starts (see CardpinWindow for the flags) */
  self->first_cancellable = g_cancellable_new ();
  cardpin_manager_new_full_async ((const char * const *) self->modules,
                                  CARDPIN_MANAGER_FLAGS_PCSC_FIRST, self->first_cancellable,
                                  first_load_cb, g_object_ref (self));

  G_APPLICATION_CLASS (cardpin_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application),
                                   app_actions, G_N_ELEMENTS (app_actions),
                                   application);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "app.quit",
                                         quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "window.close",
                                         close_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "win.reload",
                                         reload_accels);
  /* GTK's accelerator for the shortcuts window, which CardpinWindow builds on demand */
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "win.show-help-overlay",
                                         help_overlay_accels);
}

static void
cardpin_application_activate (GApplication *application)
{
  CardpinApplication *self = CARDPIN_APPLICATION (application);
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (application));
  if (window == NULL)
    window = GTK_WINDOW (cardpin_window_new (self, (const char * const *) self->modules));

  gtk_window_present (window);
}

static void
cardpin_application_shutdown (GApplication *application)
{
  CardpinApplication *self = CARDPIN_APPLICATION (application);

  g_cancellable_cancel (self->first_cancellable);

  G_APPLICATION_CLASS (cardpin_application_parent_class)->shutdown (application);
}

static void
cardpin_application_finalize (GObject *object)
{
  CardpinApplication *self = CARDPIN_APPLICATION (object);

  g_strfreev (self->modules);
  g_clear_object (&self->first_cancellable);
  g_clear_object (&self->first_manager);
  g_clear_error (&self->first_error);

  G_OBJECT_CLASS (cardpin_application_parent_class)->finalize (object);
}

static void
cardpin_application_class_init (CardpinApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = cardpin_application_finalize;

  app_class->handle_local_options = cardpin_application_handle_local_options;
  app_class->startup = cardpin_application_startup;
  app_class->activate = cardpin_application_activate;
  app_class->shutdown = cardpin_application_shutdown;

  cardpin_ensure_resources ();
}

static void
cardpin_application_init (CardpinApplication *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), NULL);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Check, change and unblock smart card PINs."));
}

/**
 * cardpin_application_new:
 *
 * Creates the application object.
 *
 * Returns: (transfer full): a new #CardpinApplication
 */
CardpinApplication *
cardpin_application_new (void)
{
  return g_object_new (CARDPIN_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/cardpin/CardPin",
                       NULL);
}

/**
 * cardpin_application_get_modules:
 * @self: a #CardpinApplication
 *
 * Gets the PKCS#11 modules given with `--module`.
 *
 * Returns: (nullable) (transfer none): the module paths, or %NULL for every module
 *   registered with p11-kit
 */
const char * const *
cardpin_application_get_modules (CardpinApplication *self)
{
  g_return_val_if_fail (CARDPIN_IS_APPLICATION (self), NULL);

  return (const char * const *) self->modules;
}
