/* cardpin-online-page.c — unblock the PIN through the organization's unblock service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-error.h"
#include "cardpin-online-page-private.h"
#include "cardpin-flow.h"
#include "cardpin-secure-entry.h"
#include "cardpin-unblock-client.h"
#include "cardpin-window.h"

/**
 * CardpinOnlinePage:
 *
 * The online unblock, offered only when an unblock service is configured
 * (`unblock-server-url`, and "online" in `allowed-unblock-methods`): the user signs in
 * with the account password, or with this device when it was remembered (a token from
 * the service kept in the keyring by core, never a PIN), types the new PIN twice, and
 * core does the rest: the card's challenge goes to the service, its answer and the new
 * PIN go to the card. Service errors (wrong password, not your card, too many requests,
 * unreachable) come from core in words that say what to do next.
 */
struct _CardpinOnlinePage
{
  AdwBin parent_instance;

  CardpinToken         *token;
  CardpinUnblockClient *client;
  GCancellable         *cancellable;
  gboolean              busy;
  gboolean              has_device_token;

  AdwWindowTitle      *window_title;
  GtkWidget           *back_button;
  AdwPreferencesGroup *sign_in_group;
  AdwEntryRow         *user_row;
  AdwEntryRow         *password_row;
  AdwActionRow        *remember_row;
  GtkSwitch           *remember_switch;
  CardpinNewPinGroup  *new_group;
  GtkLabel            *error_label;
  GtkButton           *submit_button;
  GtkSpinner          *spinner;
};

G_DEFINE_FINAL_TYPE (CardpinOnlinePage, cardpin_online_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_TOKEN,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static gboolean
can_submit (CardpinOnlinePage *self)
{
  if (self->busy || self->client == NULL)
    return FALSE;
  if (*gtk_editable_get_text (GTK_EDITABLE (self->user_row)) == '\0')
    return FALSE;
  if (!self->has_device_token && cardpin_secure_entry_is_empty (GTK_EDITABLE (self->password_row)))
    return FALSE;
  return cardpin_new_pin_group_get_valid (self->new_group);
}

static void
update_submit (CardpinOnlinePage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "online.submit", can_submit (self));
}

static void
set_busy (CardpinOnlinePage *self,
          gboolean            busy)
{
  if (!cardpin_flow_set_busy (GTK_WIDGET (self), &self->busy, busy, self->spinner,
                              self->back_button, GTK_WIDGET (self->sign_in_group),
                              GTK_WIDGET (self->new_group)))
    return;
  update_submit (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BUSY]);
}

static void
show_device_token (CardpinOnlinePage *self)
{
  if (self->has_device_token)
    adw_preferences_group_set_description (self->sign_in_group,
                                           _("This device is remembered: the service signs "
                                             "you in without a password."));
  gtk_widget_set_visible (GTK_WIDGET (self->password_row), !self->has_device_token);
  gtk_widget_set_visible (GTK_WIDGET (self->remember_row), !self->has_device_token);
  update_submit (self);
}

static void
finish (CardpinOnlinePage *self,
        const char        *toast)
{
  GtkWidget *window;

  set_busy (self, FALSE);
  cardpin_secure_entry_clear (GTK_EDITABLE (self->password_row));
  cardpin_new_pin_group_clear (self->new_group);

  window = gtk_widget_get_ancestor (GTK_WIDGET (self), CARDPIN_TYPE_WINDOW);
  if (window != NULL)
    {
      cardpin_window_add_toast (CARDPIN_WINDOW (window), toast);
      cardpin_window_go_back (CARDPIN_WINDOW (window));
    }
}

static void
remember_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(CardpinOnlinePage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cardpin_unblock_client_remember_device_finish (CARDPIN_UNBLOCK_CLIENT (object), result,
                                                      &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("Cannot remember this device: %s", error->message);
      finish (self, _("PIN unblocked and set, but this device could not be remembered"));
      return;
    }

  finish (self, _("PIN unblocked and set. This device is remembered"));
}

static void
unblock_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CardpinOnlinePage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cardpin_unblock_client_unblock_finish (CARDPIN_UNBLOCK_CLIENT (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      set_busy (self, FALSE);
      g_debug ("Online unblock failed: %s", error->message);

      /* a remembered device the service no longer takes: back to the password */
      if (self->has_device_token &&
          g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH))
        {
          g_autofree char *text = g_strdup_printf ("%s %s", error->message,
                                                   _("Sign in with your password."));

          cardpin_unblock_client_set_device_token (self->client, NULL);
          self->has_device_token = FALSE;
          adw_preferences_group_set_description (self->sign_in_group, NULL);
          show_device_token (self);
          cardpin_flow_show_error (self->error_label, text);
          return;
        }

      if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_SERVICE_AUTH))
        {
          cardpin_secure_entry_clear (GTK_EDITABLE (self->password_row));
          gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
        }
      cardpin_flow_show_error (self->error_label, error->message);
      return;
    }

  if (gtk_switch_get_active (self->remember_switch) && !self->has_device_token)
    {
      cardpin_unblock_client_remember_device_async (self->client, self->cancellable,
                                                    remember_cb, g_object_ref (self));
      return;
    }

  finish (self, _("PIN unblocked and set"));
}

static void
submit_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  CardpinOnlinePage *self = CARDPIN_ONLINE_PAGE (widget);
  g_autoptr(CardpinSecret) new_pin = NULL;

  if (!can_submit (self))
    return;

  new_pin = cardpin_new_pin_group_dup_secret (self->new_group);
  g_return_if_fail (new_pin != NULL);

  cardpin_unblock_client_set_user (self->client,
                                   gtk_editable_get_text (GTK_EDITABLE (self->user_row)));
  if (!cardpin_secure_entry_is_empty (GTK_EDITABLE (self->password_row)))
    {
      g_autoptr(CardpinSecret) password = NULL;

      password = cardpin_secure_entry_dup_secret (GTK_EDITABLE (self->password_row));
      cardpin_unblock_client_set_password (self->client, password);
    }

  cardpin_flow_show_error (self->error_label, NULL);
  set_busy (self, TRUE);
  cardpin_unblock_client_unblock_async (self->client, self->token, new_pin, self->cancellable,
                                        unblock_cb, g_object_ref (self));
}

static void
load_device_token_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(CardpinOnlinePage) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean found;

  found = cardpin_unblock_client_load_device_token_finish (CARDPIN_UNBLOCK_CLIENT (object),
                                                           result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* no keyring is no remembered device: the password it is */
  if (error != NULL)
    g_debug ("No remembered device token: %s", error->message);

  self->has_device_token = found;
  show_device_token (self);
}

static void
entry_changed_cb (CardpinOnlinePage *self)
{
  update_submit (self);
}

static void
confirm_activated_cb (CardpinOnlinePage *self)
{
  if (can_submit (self))
    gtk_widget_activate_action (GTK_WIDGET (self), "online.submit", NULL);
}

static void
cardpin_online_page_constructed (GObject *object)
{
  CardpinOnlinePage *self = CARDPIN_ONLINE_PAGE (object);
  g_autoptr(GError) error = NULL;
  const char *label;

  G_OBJECT_CLASS (cardpin_online_page_parent_class)->constructed (object);

  g_assert (self->token != NULL);
  label = cardpin_token_get_label (self->token);
  adw_window_title_set_subtitle (self->window_title,
                                 label != NULL && *label != '\0' ? label
                                 : cardpin_token_get_serial (self->token));
  cardpin_new_pin_group_setup (self->new_group, self->token, FALSE);
  g_signal_connect_object (cardpin_new_pin_group_get_confirm_entry (self->new_group),
                           "entry-activated", G_CALLBACK (confirm_activated_cb), self,
                           G_CONNECT_SWAPPED);

  self->client = cardpin_unblock_client_new_from_settings (NULL, &error);
  if (self->client == NULL)
    {
      cardpin_flow_show_error (self->error_label, error->message);
      gtk_widget_set_sensitive (GTK_WIDGET (self->sign_in_group), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->new_group), FALSE);
      update_submit (self);
      return;
    }

  {
    g_autofree char *description = NULL;

    /* Translators: %s is the address of the unblock service */
    description = g_strdup_printf (_("Your organization’s unblock service at %s checks who "
                                     "you are and answers the card for you."),
                                   cardpin_unblock_client_get_server_url (self->client));
    adw_preferences_group_set_description (self->sign_in_group, description);
  }
  gtk_editable_set_text (GTK_EDITABLE (self->user_row),
                         cardpin_unblock_client_get_user (self->client) != NULL
                         ? cardpin_unblock_client_get_user (self->client) : g_get_user_name ());
  cardpin_unblock_client_load_device_token_async (self->client, self->cancellable,
                                                  load_device_token_cb, g_object_ref (self));
  update_submit (self);
}

static void
cardpin_online_page_dispose (GObject *object)
{
  CardpinOnlinePage *self = CARDPIN_ONLINE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_ONLINE_PAGE);
  g_clear_object (&self->client);
  g_clear_object (&self->token);

  G_OBJECT_CLASS (cardpin_online_page_parent_class)->dispose (object);
}

static void
cardpin_online_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  CardpinOnlinePage *self = CARDPIN_ONLINE_PAGE (object);

  switch (prop_id)
    {
    case PROP_TOKEN:
      g_value_set_object (value, self->token);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_online_page_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  CardpinOnlinePage *self = CARDPIN_ONLINE_PAGE (object);

  switch (prop_id)
    {
    case PROP_TOKEN:
      g_set_object (&self->token, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_online_page_class_init (CardpinOnlinePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cardpin_online_page_constructed;
  object_class->dispose = cardpin_online_page_dispose;
  object_class->get_property = cardpin_online_page_get_property;
  object_class->set_property = cardpin_online_page_set_property;

  /**
   * CardpinOnlinePage:token:
   *
   * The card.
   */
  props[PROP_TOKEN] =
    g_param_spec_object ("token", NULL, NULL,
                         CARDPIN_TYPE_TOKEN,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CardpinOnlinePage:busy:
   *
   * Whether the service and the card are being worked with.
   */
  props[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_install_action (widget_class, "online.submit", NULL, submit_activated);

  g_type_ensure (CARDPIN_TYPE_NEW_PIN_GROUP);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-online-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, window_title);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, back_button);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, sign_in_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, user_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, password_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, remember_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, remember_switch);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, new_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, error_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, submit_button);
  gtk_widget_class_bind_template_child (widget_class, CardpinOnlinePage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, entry_changed_cb);
}

static void
cardpin_online_page_init (CardpinOnlinePage *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));

  cardpin_secure_entry_init (GTK_EDITABLE (self->password_row));
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->submit_button),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->error_label, NULL,
                                  -1);
}

/**
 * cardpin_online_page_new:
 * @token: the card
 *
 * Returns: (transfer full): a new #CardpinOnlinePage
 */
GtkWidget *
cardpin_online_page_new (CardpinToken *token)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  return g_object_new (CARDPIN_TYPE_ONLINE_PAGE, "token", token, NULL);
}

CardpinToken *
cardpin_online_page_get_token (CardpinOnlinePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_ONLINE_PAGE (self), NULL);

  return self->token;
}

gboolean
cardpin_online_page_get_busy (CardpinOnlinePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_ONLINE_PAGE (self), FALSE);

  return self->busy;
}

GtkEditable *
_cardpin_online_page_get_password_entry (CardpinOnlinePage *self)
{
  return GTK_EDITABLE (self->password_row);
}

CardpinNewPinGroup *
_cardpin_online_page_get_new_group (CardpinOnlinePage *self)
{
  return self->new_group;
}

GtkWidget *
_cardpin_online_page_get_submit_button (CardpinOnlinePage *self)
{
  return GTK_WIDGET (self->submit_button);
}

const char *
_cardpin_online_page_get_error (CardpinOnlinePage *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_text (self->error_label);
}
