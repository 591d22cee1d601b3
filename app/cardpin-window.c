/* cardpin-window.c — the main window of "Smart Card PIN"
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application-private.h"
#include "cardpin-card-page.h"
#include "cardpin-error.h"
#include "cardpin-token-row.h"
#include "cardpin-window-private.h"

/**
 * CardpinWindow:
 *
 * The main window: the smart cards in the readers, each with its PIN state.
 *
 * It creates a [class@Cardpin.Manager] in a worker thread (PIV cards read over PC/SC
 * first, see %CARDPIN_MANAGER_FLAGS_PCSC_FIRST), shows its tokens in a list and
 * follows insertion and removal while open. With no card it asks for
 * one; when the smart card service cannot be reached it says what to do.
 *
 * Pages stack up in a folded #AdwLeaflet: the list, a card's page
 * ([class@Cardpin.CardPage]), then one flow (change the PIN, unblock it...). Going
 * back drops the pages above; a card that is removed takes its pages with it, except
 * a helpdesk unblock, which stays to say that its challenge is no longer valid.
 */
struct _CardpinWindow
{
  AdwApplicationWindow parent_instance;

  GStrv           modules;
  CardpinManager *manager;
  GCancellable   *cancellable;

  AdwToastOverlay *toast_overlay;
  AdwLeaflet      *leaflet;
  GtkWidget       *cards_page;
  GtkStack        *stack;
  GtkSpinner      *loading_spinner;
  AdwStatusPage   *error_page;
  AdwStatusPage   *empty_page;
  GtkListBox      *list_box;

  guint            drop_pages_idle;
  guint            spinner_timeout;
};

G_DEFINE_FINAL_TYPE (CardpinWindow, cardpin_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_MODULES,
  PROP_MANAGER,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

/* The status pages' icons are SVGs (no PNG at their size); GTK 4.8 loads them, and
 * librsvg with them, at start-up even while their page is hidden. Set when a page first
 * shows, a start-up that shows the cards loads no SVG (9 MiB less resident memory at the
 * first card state, tests/bench/bench-startup). */
static void
ensure_status_icon (AdwStatusPage *page,
                    const char    *icon_name)
{
  if (adw_status_page_get_icon_name (page) == NULL)
    adw_status_page_set_icon_name (page, icon_name);
}

/* The spinner shows only when looking for cards takes a while: a quick read goes from
 * the title to the cards without a flash of the spinner, and a start-up that shows the
 * cards soon does not load the spinner's icon, an SVG (librsvg: 9 MiB resident memory at
 * the first card state with a 20 ms card, tests/bench/bench-startup). */
#define SPINNER_DELAY_MS 500

static gboolean
spinner_timeout_cb (gpointer user_data)
{
  CardpinWindow *self = user_data;

  self->spinner_timeout = 0;
  gtk_spinner_set_spinning (self->loading_spinner, TRUE);
  return G_SOURCE_REMOVE;
}

static void
set_page (CardpinWindow *self,
          const char    *name)
{
  const char *visible = gtk_stack_get_visible_child_name (self->stack);

  if (g_str_equal (name, "empty"))
    ensure_status_icon (self->empty_page, "auth-smartcard-symbolic");
  else if (g_str_equal (name, "error"))
    ensure_status_icon (self->error_page, "dialog-error-symbolic");

  if (!g_str_equal (name, "loading"))
    {
      g_clear_handle_id (&self->spinner_timeout, g_source_remove);
      gtk_spinner_set_spinning (self->loading_spinner, FALSE);
    }
  else if (self->spinner_timeout == 0 && !gtk_spinner_get_spinning (self->loading_spinner))
    {
      self->spinner_timeout = g_timeout_add (SPINNER_DELAY_MS, spinner_timeout_cb, self);
    }
  /* the cards replace the spinner at once (no crossfade): at start-up the first state
   * is drawn in the first frame, not after an animation */
  gtk_stack_set_visible_child_full (self->stack, name,
                                    g_strcmp0 (visible, "loading") == 0
                                    ? GTK_STACK_TRANSITION_TYPE_NONE
                                    : GTK_STACK_TRANSITION_TYPE_CROSSFADE);
}

static void show_error (CardpinWindow *self,
                        const GError  *error);

static void
update_page (CardpinWindow *self)
{
  if (self->manager == NULL)
    return;

  if (g_list_model_get_n_items (G_LIST_MODEL (self->manager)) > 0)
    set_page (self, "cards");
  /* no card and no pcscd: say what to do, not "insert your card" */
  else if (cardpin_manager_get_pcsc_error (self->manager) != NULL)
    show_error (self, cardpin_manager_get_pcsc_error (self->manager));
  else
    set_page (self, "empty");
}

static void
show_error (CardpinWindow *self,
            const GError  *error)
{
  if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_PCSC_UNAVAILABLE))
    {
      adw_status_page_set_title (self->error_page, _("Smart Card Service Not Available"));
      adw_status_page_set_description (self->error_page,
                                       _("The smart card service (pcscd) cannot be reached. "
                                         "Make sure the pcscd package is installed and its "
                                         "service is running (systemctl start pcscd.socket), "
                                         "or ask your administrator. Then try again."));
    }
  else
    {
      /* libcardpin's messages say what happened and what to do next. */
      adw_status_page_set_title (self->error_page, _("Cannot Read Smart Cards"));
      adw_status_page_set_description (self->error_page, error->message);
    }

  set_page (self, "error");
}

static void
add_toast (CardpinWindow *self,
           const char    *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, 3);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static CardpinToken *
page_token (GtkWidget *page)
{
  CardpinToken *token = NULL;

  if (g_object_class_find_property (G_OBJECT_GET_CLASS (page), "token") == NULL)
    return NULL;
  g_object_get (page, "token", &token, NULL);
  if (token != NULL)
    g_object_unref (token);   /* the page keeps it */
  return token;
}

/* The focus leaves a page before it hides: a GtkText that stays focused while
 * unmapped keeps blinking and complains that it never saw a focus-out. */
static void
drop_focus_in (CardpinWindow *self,
               GtkWidget     *page)
{
  GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (self));

  if (focus != NULL && (page == NULL || gtk_widget_is_ancestor (focus, page)))
    gtk_window_set_focus (GTK_WINDOW (self), NULL);
}

/* A form opens ready to type: the focus goes to its first entry that is shown and
 * sensitive (the keyboard user then types at once; the entries' mnemonics move on). */
static gboolean
focus_first_entry (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child) || !gtk_widget_is_sensitive (child))
        continue;
      if (GTK_IS_EDITABLE (child) && gtk_editable_get_editable (GTK_EDITABLE (child)))
        return gtk_widget_grab_focus (child);
      if (focus_first_entry (child))
        return TRUE;
    }
  return FALSE;
}

/* once, when the pushed page is first on screen (mnemonic activation and the leaflet
 * move the focus until then) */
static void
page_mapped_cb (GtkWidget *page)
{
  g_signal_handlers_disconnect_by_func (page, page_mapped_cb, NULL);
  focus_first_entry (page);
}

static gboolean
keeps_after_removal (GtkWidget *page)
{
  return g_object_get_data (G_OBJECT (page), "cardpin-keep-after-removal") != NULL;
}

/* The leaflet's pages in their order (its widget children are in stacking order) */
static GPtrArray *
leaflet_children (CardpinWindow *self)
{
  g_autoptr(GtkSelectionModel) pages = adw_leaflet_get_pages (self->leaflet);
  GPtrArray *children = g_ptr_array_new ();
  guint n = g_list_model_get_n_items (G_LIST_MODEL (pages));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(AdwLeafletPage) page = g_list_model_get_item (G_LIST_MODEL (pages), i);

      g_ptr_array_add (children, adw_leaflet_page_get_child (page));
    }
  return children;
}

static void
remove_page (CardpinWindow *self,
             GtkWidget     *page)
{
  drop_focus_in (self, page);
  adw_leaflet_remove (self->leaflet, page);
}

/* The pages of a removed card go; a helpdesk unblock stays to say so. */
static void
drop_pages_of_token (CardpinWindow *self,
                     CardpinToken  *token)
{
  GtkWidget *visible = adw_leaflet_get_visible_child (self->leaflet);
  g_autoptr(GPtrArray) children = leaflet_children (self);
  g_autoptr(GPtrArray) doomed = g_ptr_array_new ();
  gboolean visible_doomed = FALSE;

  for (guint i = 0; i < children->len; i++)
    {
      GtkWidget *child = g_ptr_array_index (children, i);

      if (child == self->cards_page || keeps_after_removal (child))
        continue;
      if (page_token (child) != token)
        continue;
      g_ptr_array_add (doomed, child);
      if (child == visible)
        visible_doomed = TRUE;
    }

  if (visible_doomed)
    adw_leaflet_set_visible_child (self->leaflet, self->cards_page);
  for (guint i = 0; i < doomed->len; i++)
    remove_page (self, g_ptr_array_index (doomed, i));
}

/* Pages above the visible one are gone once the user went back. */
static void
drop_pages_above_visible (CardpinWindow *self)
{
  GtkWidget *visible = adw_leaflet_get_visible_child (self->leaflet);
  g_autoptr(GPtrArray) children = leaflet_children (self);
  gboolean above = FALSE;

  if (visible == NULL)
    return;

  for (guint i = 0; i < children->len; i++)
    {
      GtkWidget *child = g_ptr_array_index (children, i);

      if (above)
        remove_page (self, child);
      else if (child == visible)
        above = TRUE;
    }
}

static gboolean
drop_pages_idle_cb (gpointer user_data)
{
  CardpinWindow *self = user_data;

  self->drop_pages_idle = 0;
  if (self->leaflet != NULL && !adw_leaflet_get_child_transition_running (self->leaflet))
    drop_pages_above_visible (self);
  return G_SOURCE_REMOVE;
}

/* The leaflet reports the end of a transition from inside set_visible_child() when a
 * new one skips it: change nothing there, only once it is done. */
static void
leaflet_transition_cb (CardpinWindow *self)
{
  /* (while the window is destroyed, the leaflet is already gone) */
  if (self->leaflet == NULL)
    return;
  if (!adw_leaflet_get_child_transition_running (self->leaflet) && self->drop_pages_idle == 0)
    self->drop_pages_idle = g_idle_add (drop_pages_idle_cb, self);
}

static void
row_activated_cb (CardpinWindow *self,
                  GtkListBoxRow *row)
{
  if (CARDPIN_IS_TOKEN_ROW (row))
    cardpin_window_show_token (self, cardpin_token_row_get_token (CARDPIN_TOKEN_ROW (row)));
}

static GtkWidget *
create_row_cb (gpointer item,
               gpointer user_data)
{
  /* the manager has just read the card: its state is current (and the manager reads
   * it again whenever the reader reports a change) */
  return cardpin_token_row_new (CARDPIN_TOKEN (item));
}

static void
items_changed_cb (GListModel    *model,
                  guint          position,
                  guint          removed,
                  guint          added,
                  CardpinWindow *self)
{
  update_page (self);
}

static void
token_removed_cb (CardpinManager *manager,
                  CardpinToken   *token,
                  CardpinWindow  *self)
{
  const char *label = cardpin_token_get_label (token);
  g_autofree char *title = NULL;

  if (label == NULL || *label == '\0')
    label = _("Smart Card");

  /* Translators: %s is the label of a smart card */
  title = g_strdup_printf (_("“%s” removed"), label);
  add_toast (self, title);

  drop_pages_of_token (self, token);
}

static void
clear_manager (CardpinWindow *self)
{
  if (self->manager == NULL)
    return;

  /* the pages of the old manager's tokens go with it (not while being destroyed) */
  if (self->leaflet != NULL &&
      gtk_widget_get_parent (self->cards_page) == GTK_WIDGET (self->leaflet))
    {
      drop_focus_in (self, NULL);
      adw_leaflet_set_visible_child (self->leaflet, self->cards_page);
      drop_pages_above_visible (self);
    }

  cardpin_manager_stop_watching (self->manager);
  g_signal_handlers_disconnect_by_data (self->manager, self);
  gtk_list_box_bind_model (self->list_box, NULL, NULL, NULL, NULL);
  g_clear_object (&self->manager);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MANAGER]);
}

static void
set_manager (CardpinWindow  *self,
             CardpinManager *manager)
{
  clear_manager (self);

  self->manager = g_object_ref (manager);
  gtk_list_box_bind_model (self->list_box, G_LIST_MODEL (manager),
                           create_row_cb, self, NULL);
  g_signal_connect_object (manager, "items-changed",
                           G_CALLBACK (items_changed_cb), self, G_CONNECT_DEFAULT);
  g_signal_connect_object (manager, "token-removed",
                           G_CALLBACK (token_removed_cb), self, G_CONNECT_DEFAULT);
  cardpin_manager_start_watching (manager);

  update_page (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MANAGER]);
}

/* One load of the manager: the window and the cancellable it was started with */
typedef struct {
  CardpinWindow *self;
  GCancellable  *cancellable;
} Load;

static void
load_done (Load           *load,
           CardpinManager *manager,
           const GError   *error)
{
  CardpinWindow *self = load->self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* A load that was superseded (reload, window closed) but finished anyway. */
  if (load->cancellable != self->cancellable)
    return;

  g_clear_object (&self->cancellable);

  if (manager == NULL)
    {
      g_debug ("Cannot list smart cards: %s", error->message);
      show_error (self, error);
      return;
    }

  set_manager (self, manager);
}

static void
load_free (Load *load)
{
  g_object_unref (load->self);
  g_object_unref (load->cancellable);
  g_free (load);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Load, load_free)

static void
manager_new_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Load) load = user_data;
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(GError) error = NULL;

  manager = cardpin_manager_new_full_finish (result, &error);
  load_done (load, manager, error);
}

static void
first_load_cb (CardpinManager *manager,
               const GError   *error,
               gpointer        user_data)
{
  g_autoptr(Load) load = user_data;

  load_done (load, manager, error);
}

static Load *
start_load (CardpinWindow *self)
{
  Load *load;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  clear_manager (self);

  self->cancellable = g_cancellable_new ();
  set_page (self, "loading");
  load = g_new0 (Load, 1);
  load->self = g_object_ref (self);
  load->cancellable = g_object_ref (self->cancellable);
  return load;
}

/* The shortcuts window is built when first asked for, not with the window: GtkApplication
 * would build it for every window at start-up (its resource is not at
 * gtk/help-overlay.ui for that reason), 5 to 15 ms before the first card state. */
static void
show_help_overlay_activated (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  GtkApplicationWindow *window = GTK_APPLICATION_WINDOW (widget);
  GtkShortcutsWindow *overlay = gtk_application_window_get_help_overlay (window);

  if (overlay == NULL)
    {
      g_autoptr(GtkBuilder) builder =
        gtk_builder_new_from_resource ("/io/github/cardpin/CardPin/ui/help-overlay.ui");

      overlay = GTK_SHORTCUTS_WINDOW (gtk_builder_get_object (builder, "help_overlay"));
      gtk_application_window_set_help_overlay (window, overlay);
    }
  gtk_window_present (GTK_WINDOW (overlay));
}

static void
reload_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  cardpin_window_reload (CARDPIN_WINDOW (widget));
}

static void
back_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  cardpin_window_go_back (CARDPIN_WINDOW (widget));
}

static void
cardpin_window_dispose (GObject *object)
{
  CardpinWindow *self = CARDPIN_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->drop_pages_idle, g_source_remove);
  g_clear_handle_id (&self->spinner_timeout, g_source_remove);
  clear_manager (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_WINDOW);

  G_OBJECT_CLASS (cardpin_window_parent_class)->dispose (object);
}

static void
cardpin_window_finalize (GObject *object)
{
  CardpinWindow *self = CARDPIN_WINDOW (object);

  g_strfreev (self->modules);

  G_OBJECT_CLASS (cardpin_window_parent_class)->finalize (object);
}

static void
cardpin_window_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CardpinWindow *self = CARDPIN_WINDOW (object);

  switch (prop_id)
    {
    case PROP_MODULES:
      g_value_set_boxed (value, self->modules);
      break;
    case PROP_MANAGER:
      g_value_set_object (value, self->manager);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_window_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  CardpinWindow *self = CARDPIN_WINDOW (object);

  switch (prop_id)
    {
    case PROP_MODULES:
      g_strfreev (self->modules);
      self->modules = g_value_dup_boxed (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_window_class_init (CardpinWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cardpin_window_dispose;
  object_class->finalize = cardpin_window_finalize;
  object_class->get_property = cardpin_window_get_property;
  object_class->set_property = cardpin_window_set_property;

  /**
   * CardpinWindow:modules:
   *
   * The PKCS#11 modules to load, or %NULL for every module registered with
   * p11-kit.
   */
  props[PROP_MODULES] =
    g_param_spec_boxed ("modules", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CardpinWindow:manager:
   *
   * The token manager, once loaded; %NULL while loading or after an error.
   */
  props[PROP_MANAGER] =
    g_param_spec_object ("manager", NULL, NULL,
                         CARDPIN_TYPE_MANAGER,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_install_action (widget_class, "win.reload", NULL, reload_activated);
  gtk_widget_class_install_action (widget_class, "win.show-help-overlay", NULL,
                                   show_help_overlay_activated);
  gtk_widget_class_install_action (widget_class, "win.back", NULL, back_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.back", NULL);

  g_type_ensure (CARDPIN_TYPE_TOKEN_ROW);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, cards_page);
  gtk_widget_class_bind_template_callback (widget_class, leaflet_transition_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, CardpinWindow, list_box);
}

static void
cardpin_window_init (CardpinWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cardpin_window_new:
 * @application: (nullable): the application
 * @modules: (nullable) (array zero-terminated=1): PKCS#11 module paths, or %NULL
 *   for every module registered with p11-kit
 *
 * Creates the main window; it starts looking for cards at once.
 *
 * Returns: (transfer full): a new #CardpinWindow
 */
GtkWidget *
cardpin_window_new (CardpinApplication *application,
                    const char * const *modules)
{
  CardpinWindow *self;

  g_return_val_if_fail (application == NULL || CARDPIN_IS_APPLICATION (application), NULL);

  self = g_object_new (CARDPIN_TYPE_WINDOW,
                       "application", application,
                       "modules", modules,
                       NULL);

  /* the application started reading the cards before GTK was up: take that read */
  if (application != NULL)
    {
      Load *load = start_load (self);

      if (_cardpin_application_take_first_load (application, first_load_cb, load))
        return GTK_WIDGET (self);
      load_free (load);
    }

  cardpin_window_reload (self);
  return GTK_WIDGET (self);
}

/**
 * cardpin_window_get_manager:
 * @self: a #CardpinWindow
 *
 * Returns: (nullable) (transfer none): the token manager, or %NULL while loading
 *   or after an error
 */
CardpinManager *
cardpin_window_get_manager (CardpinWindow *self)
{
  g_return_val_if_fail (CARDPIN_IS_WINDOW (self), NULL);

  return self->manager;
}

/**
 * cardpin_window_reload:
 * @self: a #CardpinWindow
 *
 * Drops the current token list and looks for cards again (after an error,
 * for example).
 */
void
cardpin_window_reload (CardpinWindow *self)
{
  Load *load;

  g_return_if_fail (CARDPIN_IS_WINDOW (self));

  load = start_load (self);
  /* PIV cards are read over PC/SC alone (a few commands each): the first state shows
   * without waiting for every PKCS#11 module to scan every slot, and no module keeps
   * the card connected while the window is open. The modules are loaded for a card
   * without PIV, and for a moment to read certificates. */
  cardpin_manager_new_full_async ((const char * const *) self->modules,
                                  CARDPIN_MANAGER_FLAGS_PCSC_FIRST, self->cancellable,
                                  manager_new_cb, load);
}

/**
 * cardpin_window_push_page:
 * @self: a #CardpinWindow
 * @page: a page (a widget with its own header bar)
 *
 * Shows @page above the current one; the pages above the current one go.
 */
void
cardpin_window_push_page (CardpinWindow *self,
                          GtkWidget     *page)
{
  g_return_if_fail (CARDPIN_IS_WINDOW (self));
  g_return_if_fail (GTK_IS_WIDGET (page));

  drop_pages_above_visible (self);
  drop_focus_in (self, NULL);
  adw_leaflet_append (self->leaflet, page);
  g_signal_connect (page, "map", G_CALLBACK (page_mapped_cb), NULL);
  adw_leaflet_set_visible_child (self->leaflet, page);
}

/**
 * cardpin_window_go_back:
 * @self: a #CardpinWindow
 *
 * Goes back to the page below the current one.
 */
void
cardpin_window_go_back (CardpinWindow *self)
{
  g_return_if_fail (CARDPIN_IS_WINDOW (self));

  drop_focus_in (self, adw_leaflet_get_visible_child (self->leaflet));
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/**
 * cardpin_window_show_token:
 * @self: a #CardpinWindow
 * @token: a token of the window's manager
 *
 * Opens the card page of @token above the list.
 */
void
cardpin_window_show_token (CardpinWindow *self,
                           CardpinToken  *token)
{
  g_return_if_fail (CARDPIN_IS_WINDOW (self));
  g_return_if_fail (CARDPIN_IS_TOKEN (token));

  drop_focus_in (self, NULL);
  adw_leaflet_set_visible_child (self->leaflet, self->cards_page);
  drop_pages_above_visible (self);
  cardpin_window_push_page (self, cardpin_card_page_new (token));
}

/**
 * cardpin_window_add_toast:
 * @self: a #CardpinWindow
 * @title: what happened, in a few words
 *
 * Shows a toast, e.g. after a flow succeeded.
 */
void
cardpin_window_add_toast (CardpinWindow *self,
                          const char    *title)
{
  g_return_if_fail (CARDPIN_IS_WINDOW (self));
  g_return_if_fail (title != NULL);

  add_toast (self, title);
}

const char *
_cardpin_window_get_page (CardpinWindow *self)
{
  g_return_val_if_fail (CARDPIN_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

/* whether a page of type @type is in the window, visible or not */
gboolean
_cardpin_window_has_page (CardpinWindow *self,
                          GType          type)
{
  g_autoptr(GPtrArray) children = leaflet_children (self);

  for (guint i = 0; i < children->len; i++)
    if (G_TYPE_CHECK_INSTANCE_TYPE (g_ptr_array_index (children, i), type))
      return TRUE;
  return FALSE;
}

GtkSpinner *
_cardpin_window_get_loading_spinner (CardpinWindow *self)
{
  g_return_val_if_fail (CARDPIN_IS_WINDOW (self), NULL);

  return self->loading_spinner;
}

GtkWidget *
_cardpin_window_get_visible_page (CardpinWindow *self)
{
  g_return_val_if_fail (CARDPIN_IS_WINDOW (self), NULL);

  return adw_leaflet_get_visible_child (self->leaflet);
}

GtkListBox *
_cardpin_window_get_list_box (CardpinWindow *self)
{
  g_return_val_if_fail (CARDPIN_IS_WINDOW (self), NULL);

  return self->list_box;
}

AdwStatusPage *
_cardpin_window_get_error_page (CardpinWindow *self)
{
  g_return_val_if_fail (CARDPIN_IS_WINDOW (self), NULL);

  return self->error_page;
}
