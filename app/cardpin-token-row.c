/* cardpin-token-row.c — a list row showing one card and its PIN state
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-bench-stamp.h"
#include "cardpin-pin-state.h"
#include "cardpin-token-row.h"

/**
 * CardpinTokenRow:
 *
 * A row for one [class@Cardpin.Token]: its label as the title, reader and serial
 * as the subtitle, and the PIN state in words with an icon at the end.
 *
 * [method@Cardpin.TokenRow.refresh] re-reads the state from the card in a worker
 * thread; a spinner shows meanwhile.
 */
struct _CardpinTokenRow
{
  AdwActionRow parent_instance;

  CardpinToken *token;
  GCancellable *cancellable;
  char         *state_text;
  guint         refreshing : 1;

  GtkStack     *state_stack;
  GtkSpinner   *spinner;
  GtkLabel     *state_label;
  GtkImage     *state_image;
};

G_DEFINE_FINAL_TYPE (CardpinTokenRow, cardpin_token_row, ADW_TYPE_ACTION_ROW)

enum {
  PROP_0,
  PROP_TOKEN,
  PROP_STATE_TEXT,
  PROP_REFRESHING,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static const char * const state_classes[] = { "success", "warning", "error" };

static void
set_refreshing (CardpinTokenRow *self,
                gboolean         refreshing)
{
  refreshing = !!refreshing;
  if (self->refreshing == refreshing)
    return;

  self->refreshing = refreshing;
  gtk_spinner_set_spinning (self->spinner, refreshing);
  gtk_stack_set_visible_child_name (self->state_stack, refreshing ? "refreshing" : "state");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_REFRESHING]);
}

static void
set_state (CardpinTokenRow *self,
           const char      *text,
           const char      *icon_name,
           const char      *css_class,
           const char      *tooltip)
{
  GtkWidget *label = GTK_WIDGET (self->state_label);
  GtkWidget *image = GTK_WIDGET (self->state_image);

  for (gsize i = 0; i < G_N_ELEMENTS (state_classes); i++)
    {
      gtk_widget_remove_css_class (label, state_classes[i]);
      gtk_widget_remove_css_class (image, state_classes[i]);
    }
  gtk_widget_add_css_class (label, css_class);
  gtk_widget_add_css_class (image, css_class);

  gtk_label_set_text (self->state_label, text);
  gtk_image_set_from_icon_name (self->state_image, icon_name);
  gtk_widget_set_tooltip_text (label, tooltip);
  gtk_widget_set_tooltip_text (image, tooltip);
  /* the first card state: tests/bench/bench-startup times it until painted */
  cardpin_bench_stamp_when_painted (label);

  if (g_strcmp0 (self->state_text, text) != 0)
    {
      g_free (self->state_text);
      self->state_text = g_strdup (text);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE_TEXT]);
    }
}

static void
refresh_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CardpinTokenRow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cardpin_token_refresh_finish (CARDPIN_TOKEN (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      set_refreshing (self, FALSE);
      /* The card may have gone meanwhile; the list drops the row then. */
      g_debug ("Refreshing %s failed: %s",
               cardpin_token_get_serial (self->token), error->message);
      set_state (self, _("Status unknown"), "dialog-question-symbolic", "warning",
                 error->message);
      return;
    }

  set_refreshing (self, FALSE);
  cardpin_token_row_update (self);
}

static void
token_notify_cb (CardpinTokenRow *self,
                 GParamSpec      *pspec)
{
  cardpin_token_row_update (self);
}

static void
cardpin_token_row_constructed (GObject *object)
{
  CardpinTokenRow *self = CARDPIN_TOKEN_ROW (object);

  G_OBJECT_CLASS (cardpin_token_row_parent_class)->constructed (object);

  g_assert (self->token != NULL);
  /* The manager updates its tokens on card events: follow them. */
  g_signal_connect_object (self->token, "notify",
                           G_CALLBACK (token_notify_cb), self, G_CONNECT_SWAPPED);
  cardpin_token_row_update (self);
}

static void
cardpin_token_row_dispose (GObject *object)
{
  CardpinTokenRow *self = CARDPIN_TOKEN_ROW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_TOKEN_ROW);
  g_clear_object (&self->token);

  G_OBJECT_CLASS (cardpin_token_row_parent_class)->dispose (object);
}

static void
cardpin_token_row_finalize (GObject *object)
{
  CardpinTokenRow *self = CARDPIN_TOKEN_ROW (object);

  g_free (self->state_text);

  G_OBJECT_CLASS (cardpin_token_row_parent_class)->finalize (object);
}

static void
cardpin_token_row_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  CardpinTokenRow *self = CARDPIN_TOKEN_ROW (object);

  switch (prop_id)
    {
    case PROP_TOKEN:
      g_value_set_object (value, self->token);
      break;
    case PROP_STATE_TEXT:
      g_value_set_string (value, self->state_text);
      break;
    case PROP_REFRESHING:
      g_value_set_boolean (value, self->refreshing);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_token_row_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  CardpinTokenRow *self = CARDPIN_TOKEN_ROW (object);

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
cardpin_token_row_class_init (CardpinTokenRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cardpin_token_row_constructed;
  object_class->dispose = cardpin_token_row_dispose;
  object_class->finalize = cardpin_token_row_finalize;
  object_class->get_property = cardpin_token_row_get_property;
  object_class->set_property = cardpin_token_row_set_property;

  /**
   * CardpinTokenRow:token:
   *
   * The token the row shows.
   */
  props[PROP_TOKEN] =
    g_param_spec_object ("token", NULL, NULL,
                         CARDPIN_TYPE_TOKEN,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CardpinTokenRow:state-text:
   *
   * The PIN state in words, as shown.
   */
  props[PROP_STATE_TEXT] =
    g_param_spec_string ("state-text", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CardpinTokenRow:refreshing:
   *
   * Whether the state is being read from the card.
   */
  props[PROP_REFRESHING] =
    g_param_spec_boolean ("refreshing", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-token-row.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinTokenRow, state_stack);
  gtk_widget_class_bind_template_child (widget_class, CardpinTokenRow, spinner);
  gtk_widget_class_bind_template_child (widget_class, CardpinTokenRow, state_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinTokenRow, state_image);
}

static void
cardpin_token_row_init (CardpinTokenRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_stack_set_visible_child_name (self->state_stack, "state");
}

/**
 * cardpin_token_row_new:
 * @token: the token to show
 *
 * Creates a row for @token.
 *
 * Returns: (transfer full): a new #CardpinTokenRow
 */
GtkWidget *
cardpin_token_row_new (CardpinToken *token)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  return g_object_new (CARDPIN_TYPE_TOKEN_ROW, "token", token, NULL);
}

/**
 * cardpin_token_row_get_token:
 * @self: a #CardpinTokenRow
 *
 * Returns: (transfer none): the token the row shows
 */
CardpinToken *
cardpin_token_row_get_token (CardpinTokenRow *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN_ROW (self), NULL);

  return self->token;
}

/**
 * cardpin_token_row_get_state_text:
 * @self: a #CardpinTokenRow
 *
 * Returns: (transfer none): the PIN state in words, as shown
 */
const char *
cardpin_token_row_get_state_text (CardpinTokenRow *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN_ROW (self), NULL);

  return self->state_text;
}

/**
 * cardpin_token_row_get_refreshing:
 * @self: a #CardpinTokenRow
 *
 * Returns: whether the state is being read from the card
 */
gboolean
cardpin_token_row_get_refreshing (CardpinTokenRow *self)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN_ROW (self), FALSE);

  return self->refreshing;
}

/**
 * cardpin_token_row_update:
 * @self: a #CardpinTokenRow
 *
 * Shows what the token currently knows, without talking to the card.
 */
void
cardpin_token_row_update (CardpinTokenRow *self)
{
  g_autofree char *state_text = NULL;
  g_autofree char *reader_line = NULL;
  g_autofree char *serial_line = NULL;
  g_autofree char *subtitle = NULL;
  const char *label;
  const char *reader;
  const char *serial;
  CardpinPinState pin_state;

  g_return_if_fail (CARDPIN_IS_TOKEN_ROW (self));

  label = cardpin_token_get_label (self->token);
  reader = cardpin_token_get_reader (self->token);
  serial = cardpin_token_get_serial (self->token);
  pin_state = cardpin_token_get_pin_state (self->token);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self),
                                 label != NULL && *label != '\0' ? label : _("Smart Card"));

  if (reader != NULL)
    /* Translators: the PC/SC reader a card is in */
    reader_line = g_strdup_printf (_("Reader: %s"), reader);
  else
    reader_line = g_strdup (cardpin_token_is_hardware (self->token) ?
                            _("Reader: unknown") : _("Software token"));
  if (serial != NULL && *serial != '\0')
    /* Translators: a card's serial number */
    serial_line = g_strdup_printf (_("Serial: %s"), serial);

  subtitle = g_strjoin ("\n", reader_line, serial_line, NULL);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);

  state_text = cardpin_pin_state_words (pin_state,
                                        cardpin_token_get_pin_tries_left (self->token),
                                        cardpin_token_get_puk_tries_left (self->token));
  set_state (self, state_text,
             cardpin_pin_state_icon_name (pin_state),
             cardpin_pin_state_style_class (pin_state),
             NULL);
}

/**
 * cardpin_token_row_refresh:
 * @self: a #CardpinTokenRow
 *
 * Re-reads the PIN state from the card in a worker thread and shows it.
 * A refresh already running is cancelled first.
 */
void
cardpin_token_row_refresh (CardpinTokenRow *self)
{
  g_return_if_fail (CARDPIN_IS_TOKEN_ROW (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  set_refreshing (self, TRUE);
  cardpin_token_refresh_async (self->token, self->cancellable,
                               refresh_cb, g_object_ref (self));
}
