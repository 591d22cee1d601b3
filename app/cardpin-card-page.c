/* cardpin-card-page.c — one card: its state and what can be done with it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-card-page-private.h"
#include "cardpin-certificates-page.h"
#include "cardpin-change-page.h"
#include "cardpin-details-page.h"
#include "cardpin-helpdesk-page.h"
#include "cardpin-online-page.h"
#include "cardpin-pin-state.h"
#include "cardpin-policy.h"
#include "cardpin-window.h"

/**
 * CardpinCardPage:
 *
 * The page of one card: who it belongs to (its label, or its serial), how its PIN
 * stands in core's words with the tries left, the PUK's tries left, and the actions
 * that the PIN's state allows: set up a first PIN, change the PIN, change the PUK,
 * unblock the PIN (with the PUK, with the helpdesk, online when an unblock service
 * is configured), the certificates and the details.
 *
 * The page follows the token: when another program spends a try or a flow changes
 * the PIN, it shows the new state at once.
 */
struct _CardpinCardPage
{
  AdwBin parent_instance;

  CardpinToken  *token;
  GSettings     *settings;

  AdwWindowTitle       *window_title;
  AdwActionRow         *holder_row;
  AdwActionRow         *pin_row;
  GtkImage             *pin_icon;
  AdwActionRow         *puk_row;
  AdwPreferencesGroup  *pin_group;
  AdwActionRow         *setup_row;
  AdwActionRow         *change_pin_row;
  AdwActionRow         *change_puk_row;
  AdwPreferencesGroup  *unblock_group;
  AdwActionRow         *unblock_puk_row;
  AdwActionRow         *unblock_helpdesk_row;
  AdwActionRow         *unblock_online_row;
  AdwActionRow         *certificates_row;
  AdwActionRow         *details_row;
};

G_DEFINE_FINAL_TYPE (CardpinCardPage, cardpin_card_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_TOKEN,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static const char * const state_classes[] = { "success", "warning", "error" };

static gboolean
method_allowed (CardpinCardPage *self,
                const char      *method)
{
  return cardpin_policy_check_unblock_method (self->settings, method, NULL);
}

static gboolean
online_configured (CardpinCardPage *self)
{
  g_autofree char *url = NULL;

  if (self->settings == NULL)
    return FALSE;
  url = g_settings_get_string (self->settings, "unblock-server-url");
  return url[0] != '\0' && method_allowed (self, CARDPIN_UNBLOCK_METHOD_ONLINE);
}

/* Visible and enabled together: a row that cannot be used is not shown. */
static void
set_action (CardpinCardPage *self,
            AdwActionRow    *row,
            const char      *action,
            gboolean         possible)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), action, possible);
  gtk_widget_set_visible (GTK_WIDGET (row), possible);
}

static char *
puk_words (int puk_tries_left)
{
  if (puk_tries_left == 0)
    return g_strdup (_("Blocked"));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d try left", "%d tries left",
                                       puk_tries_left),
                          puk_tries_left);
}

static void
update (CardpinCardPage *self)
{
  CardpinToken *token = self->token;
  CardpinPinState state = cardpin_token_get_pin_state (token);
  int pin_left = cardpin_token_get_pin_tries_left (token);
  int puk_left = cardpin_token_get_puk_tries_left (token);
  const char *label = cardpin_token_get_label (token);
  const char *serial = cardpin_token_get_serial (token);
  g_autofree char *explain = NULL;
  g_autofree char *serial_line = NULL;
  gboolean initialized = state != CARDPIN_PIN_STATE_NOT_INITIALIZED;
  gboolean locked = state == CARDPIN_PIN_STATE_LOCKED;
  gboolean pinpad = cardpin_token_has_pinpad (token);
  gboolean piv = cardpin_token_is_piv (token);
  gboolean factory = cardpin_token_get_pin_is_default (token) == 1;
  gboolean must_change = state == CARDPIN_PIN_STATE_MUST_CHANGE;
  gboolean puk_usable = puk_left != 0 && (piv || puk_left > 0);
  gboolean can_setup, can_change, pinpad_note;

  if (label == NULL || *label == '\0')
    label = serial != NULL && *serial != '\0' ? serial : _("Smart Card");

  adw_window_title_set_title (self->window_title, label);
  adw_window_title_set_subtitle (self->window_title, cardpin_token_get_reader (token));

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->holder_row), label);
  if (serial != NULL && *serial != '\0')
    /* Translators: a card's serial number */
    serial_line = g_strdup_printf (_("Serial: %s"), serial);
  adw_action_row_set_subtitle (self->holder_row, serial_line);

  explain = cardpin_pin_state_explain (state, pin_left, puk_left);
  adw_action_row_set_subtitle (self->pin_row, explain);
  gtk_image_set_from_icon_name (self->pin_icon, cardpin_pin_state_icon_name (state));
  for (gsize i = 0; i < G_N_ELEMENTS (state_classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->pin_icon), state_classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (self->pin_icon),
                            cardpin_pin_state_style_class (state));

  gtk_widget_set_visible (GTK_WIDGET (self->puk_row), puk_left >= 0);
  if (puk_left >= 0)
    {
      g_autofree char *words = puk_words (puk_left);

      adw_action_row_set_subtitle (self->puk_row, words);
    }

  can_setup = !locked && (!initialized || must_change || factory);
  can_change = initialized && !locked && !can_setup;
  set_action (self, self->setup_row, "card.setup", can_setup);
  set_action (self, self->change_pin_row, "card.change-pin", can_change);
  /* on a PIN pad reader too: the PUK is typed on the computer (the keypad takes PINs),
   * so the factory PUK that Set Up PIN on the keypad leaves can be replaced here */
  set_action (self, self->change_puk_row, "card.change-puk",
              piv && initialized && puk_usable);
  gtk_widget_set_visible (GTK_WIDGET (self->pin_group),
                          gtk_widget_get_visible (GTK_WIDGET (self->setup_row)) ||
                          gtk_widget_get_visible (GTK_WIDGET (self->change_pin_row)) ||
                          gtk_widget_get_visible (GTK_WIDGET (self->change_puk_row)));

  /* Unblocking is also how a forgotten PIN is replaced. On a PIN pad reader core has a
   * PIV card's PUK and new PIN typed on the keypad; other tokens there cannot. */
  set_action (self, self->unblock_puk_row, "card.unblock-puk",
              initialized && (!pinpad || piv) && puk_usable &&
              method_allowed (self, CARDPIN_UNBLOCK_METHOD_PUK));
  /* the admin challenge/response of PIV cards (DESIGN.md) */
  set_action (self, self->unblock_helpdesk_row, "card.unblock-helpdesk",
              initialized && piv && !pinpad && method_allowed (self, CARDPIN_UNBLOCK_METHOD_OFFLINE));
  set_action (self, self->unblock_online_row, "card.unblock-online",
              initialized && piv && !pinpad && online_configured (self));
  /* the helpdesk and online unblock ask for the new PIN on the computer, which a PIN
   * pad reader is there to avoid: say where they work */
  pinpad_note = initialized && piv && pinpad &&
                (method_allowed (self, CARDPIN_UNBLOCK_METHOD_OFFLINE) ||
                 online_configured (self));
  adw_preferences_group_set_description (self->unblock_group,
                                         pinpad_note ? _("To unblock the PIN with your "
                                                         "helpdesk or online, put the card "
                                                         "in a reader without a keypad.")
                                                     : NULL);
  adw_preferences_group_set_title (self->unblock_group,
                                   locked ? _("Unblock the PIN") : _("Forgot Your PIN?"));
  gtk_widget_set_visible (GTK_WIDGET (self->unblock_group),
                          pinpad_note ||
                          gtk_widget_get_visible (GTK_WIDGET (self->unblock_puk_row)) ||
                          gtk_widget_get_visible (GTK_WIDGET (self->unblock_helpdesk_row)) ||
                          gtk_widget_get_visible (GTK_WIDGET (self->unblock_online_row)));

  set_action (self, self->certificates_row, "card.certificates", TRUE);
  set_action (self, self->details_row, "card.details", TRUE);
}

static void
push (CardpinCardPage *self,
      GtkWidget       *page)
{
  GtkWidget *window = gtk_widget_get_ancestor (GTK_WIDGET (self), CARDPIN_TYPE_WINDOW);

  g_return_if_fail (window != NULL);
  cardpin_window_push_page (CARDPIN_WINDOW (window), page);
}

static void
change_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (widget);
  CardpinChangeMode mode;

  if (g_str_equal (action_name, "card.setup"))
    mode = CARDPIN_CHANGE_MODE_SETUP;
  else if (g_str_equal (action_name, "card.change-puk"))
    mode = CARDPIN_CHANGE_MODE_CHANGE_PUK;
  else if (g_str_equal (action_name, "card.unblock-puk"))
    mode = CARDPIN_CHANGE_MODE_UNBLOCK_PUK;
  else
    mode = CARDPIN_CHANGE_MODE_CHANGE_PIN;

  push (self, cardpin_change_page_new (self->token, mode));
}

static void
helpdesk_activated (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (widget);
  GtkWidget *window = gtk_widget_get_ancestor (widget, CARDPIN_TYPE_WINDOW);
  CardpinManager *manager = NULL;

  if (window != NULL)
    manager = cardpin_window_get_manager (CARDPIN_WINDOW (window));
  push (self, cardpin_helpdesk_page_new (manager, self->token));
}

static void
online_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (widget);

  push (self, cardpin_online_page_new (self->token));
}

static void
certificates_activated (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (widget);

  push (self, cardpin_certificates_page_new (self->token));
}

static void
details_activated (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (widget);

  push (self, cardpin_details_page_new (self->token));
}

static void
token_notify_cb (CardpinCardPage *self)
{
  update (self);
}

static void
settings_changed_cb (CardpinCardPage *self)
{
  update (self);
}

static void
cardpin_card_page_constructed (GObject *object)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (object);

  G_OBJECT_CLASS (cardpin_card_page_parent_class)->constructed (object);

  g_assert (self->token != NULL);
  g_signal_connect_object (self->token, "notify",
                           G_CALLBACK (token_notify_cb), self, G_CONNECT_SWAPPED);
  update (self);
}

static void
cardpin_card_page_dispose (GObject *object)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_CARD_PAGE);
  g_clear_object (&self->token);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cardpin_card_page_parent_class)->dispose (object);
}

static void
cardpin_card_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (object);

  switch (prop_id)
    {
    case PROP_TOKEN:
      g_value_set_object (value, self->token);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_card_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  CardpinCardPage *self = CARDPIN_CARD_PAGE (object);

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
cardpin_card_page_class_init (CardpinCardPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cardpin_card_page_constructed;
  object_class->dispose = cardpin_card_page_dispose;
  object_class->get_property = cardpin_card_page_get_property;
  object_class->set_property = cardpin_card_page_set_property;

  /**
   * CardpinCardPage:token:
   *
   * The card the page shows.
   */
  props[PROP_TOKEN] =
    g_param_spec_object ("token", NULL, NULL,
                         CARDPIN_TYPE_TOKEN,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_install_action (widget_class, "card.setup", NULL, change_activated);
  gtk_widget_class_install_action (widget_class, "card.change-pin", NULL, change_activated);
  gtk_widget_class_install_action (widget_class, "card.change-puk", NULL, change_activated);
  gtk_widget_class_install_action (widget_class, "card.unblock-puk", NULL, change_activated);
  gtk_widget_class_install_action (widget_class, "card.unblock-helpdesk", NULL,
                                   helpdesk_activated);
  gtk_widget_class_install_action (widget_class, "card.unblock-online", NULL, online_activated);
  gtk_widget_class_install_action (widget_class, "card.certificates", NULL,
                                   certificates_activated);
  gtk_widget_class_install_action (widget_class, "card.details", NULL, details_activated);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-card-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, window_title);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, holder_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, pin_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, pin_icon);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, puk_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, pin_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, setup_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, change_pin_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, change_puk_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, unblock_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, unblock_puk_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, unblock_helpdesk_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, unblock_online_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, certificates_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinCardPage, details_row);
}

static void
cardpin_card_page_init (CardpinCardPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* an uninstalled build without the schema: core's defaults apply */
  self->settings = cardpin_settings_new_default ();
  if (self->settings != NULL)
    {
      g_signal_connect_object (self->settings, "changed",
                               G_CALLBACK (settings_changed_cb), self, G_CONNECT_SWAPPED);
    }
}

/**
 * cardpin_card_page_new:
 * @token: the card
 *
 * Returns: (transfer full): a new #CardpinCardPage
 */
GtkWidget *
cardpin_card_page_new (CardpinToken *token)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  return g_object_new (CARDPIN_TYPE_CARD_PAGE, "token", token, NULL);
}

CardpinToken *
cardpin_card_page_get_token (CardpinCardPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CARD_PAGE (self), NULL);

  return self->token;
}

const char *
_cardpin_card_page_get_holder_text (CardpinCardPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CARD_PAGE (self), NULL);

  return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (self->holder_row));
}

const char *
_cardpin_card_page_get_serial_text (CardpinCardPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CARD_PAGE (self), NULL);

  return adw_action_row_get_subtitle (self->holder_row);
}

const char *
_cardpin_card_page_get_pin_text (CardpinCardPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CARD_PAGE (self), NULL);

  return adw_action_row_get_subtitle (self->pin_row);
}

const char *
_cardpin_card_page_get_puk_text (CardpinCardPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CARD_PAGE (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->puk_row)))
    return NULL;
  return adw_action_row_get_subtitle (self->puk_row);
}
