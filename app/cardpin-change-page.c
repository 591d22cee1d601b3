/* cardpin-change-page.c — change the PIN or the PUK, set up a first PIN, unblock with the PUK
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-change-page-private.h"
#include "cardpin-error.h"
#include "cardpin-new-pin-group.h"
#include "cardpin-flow.h"
#include "cardpin-secure-entry.h"
#include "cardpin-window.h"

/**
 * CardpinChangePage:
 *
 * One form for the four flows that take a secret the user knows and set a new one:
 * change the PIN, set up a first PIN, change the PUK, and unblock the PIN with the PUK.
 *
 * The entries are named for what they hold ("Current PIN", "PUK", "New PIN",
 * "Confirm New PIN"); the new value is checked against core's policy while the user
 * types ([class@Cardpin.NewPinGroup]) and the button stays insensitive until it holds.
 * The card work runs in core's worker thread with a spinner next to the button; a wrong
 * PIN or PUK shows the tries left and what the next failure would do, a success shows
 * a toast and goes back to the card. On a pinpad reader the entries give way to a note:
 * the reader asks for the PINs itself.
 *
 * Set Up PIN on a PIV card that may still have its factory PUK asks for the current PUK
 * and a new PUK twice as well: core verifies both current values before it changes
 * anything, then changes the PUK and the PIN (cardpin_token_setup()).
 */
struct _CardpinChangePage
{
  AdwBin parent_instance;

  CardpinToken      *token;
  CardpinChangeMode  mode;
  GCancellable      *cancellable;
  gboolean           busy;
  gboolean           pinpad;
  gboolean           with_puk;   /* Set Up PIN replaces the PUK too */
  gboolean           last_change; /* of a change-limited card: confirmed first */

  AdwWindowTitle      *window_title;
  GtkWidget           *back_button;
  AdwPreferencesGroup *intro_group;
  GtkLabel            *notice_label;
  GtkCheckButton      *last_change_check;
  AdwPreferencesGroup *current_group;
  AdwEntryRow         *current_row;
  CardpinNewPinGroup  *new_group;
  AdwPreferencesGroup *current_puk_group;
  AdwEntryRow         *current_puk_row;
  CardpinNewPinGroup  *new_puk_group;
  GtkLabel            *error_label;
  GtkButton           *submit_button;
  GtkLabel            *submit_label;
  GtkSpinner          *spinner;
};

G_DEFINE_FINAL_TYPE (CardpinChangePage, cardpin_change_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_TOKEN,
  PROP_MODE,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static gboolean
can_submit (CardpinChangePage *self)
{
  if (self->busy)
    return FALSE;
  if (self->last_change && !gtk_check_button_get_active (self->last_change_check))
    return FALSE;
  if (self->pinpad)
    return TRUE;
  if (self->with_puk &&
      (cardpin_secure_entry_is_empty (GTK_EDITABLE (self->current_puk_row)) ||
       !cardpin_new_pin_group_get_valid (self->new_puk_group)))
    return FALSE;
  return !cardpin_secure_entry_is_empty (GTK_EDITABLE (self->current_row)) &&
         cardpin_new_pin_group_get_valid (self->new_group);
}

static void
update_submit (CardpinChangePage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "change.submit", can_submit (self));
}

static void
set_busy (CardpinChangePage *self,
          gboolean            busy)
{
  if (!cardpin_flow_set_busy (GTK_WIDGET (self), &self->busy, busy, self->spinner,
                              self->back_button, GTK_WIDGET (self->current_group),
                              GTK_WIDGET (self->new_group)))
    return;
  gtk_widget_set_sensitive (GTK_WIDGET (self->current_puk_group), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->new_puk_group), !busy);
  update_submit (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BUSY]);
}

/* What the next wrong try would do, after the card's own message */
static char *
error_text (CardpinChangePage *self,
            const GError      *error)
{
  int left = cardpin_error_get_tries_left (error);
  const char *next = NULL;

  if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN) && left == 1)
    next = _("If the next PIN is wrong too, the PIN is blocked: then you need your PUK or "
             "your helpdesk to unblock it.");
  else if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK) && left == 1)
    next = _("If the next PUK is wrong too, the PUK is blocked for good: then only your "
             "helpdesk can unblock the PIN.");
  else if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_PIN_BLOCKED))
    next = _("Go back to the card to unblock it.");

  if (next != NULL)
    return g_strdup_printf ("%s %s", error->message, next);
  return g_strdup (error->message);
}

static const char *
success_text (CardpinChangePage *self)
{
  switch (self->mode)
    {
    case CARDPIN_CHANGE_MODE_SETUP:
      if (self->with_puk)
        return _("Your personal PIN and PUK are set. Keep the PUK in a safe place");
      /* what the card says of its PUK after the set-up */
      if (cardpin_token_get_puk_is_default (self->token) == 1)
        return _("Your personal PIN is set. The card still has its factory PUK: change it too");
      return _("Your personal PIN is set");
    case CARDPIN_CHANGE_MODE_CHANGE_PUK:
      return _("PUK changed. Keep it in a safe place");
    case CARDPIN_CHANGE_MODE_UNBLOCK_PUK:
      return _("PIN unblocked and set");
    case CARDPIN_CHANGE_MODE_CHANGE_PIN:
    default:
      if (cardpin_token_get_puk_is_default (self->token) == 1)
        return _("PIN changed. The card still has its factory PUK: change it too");
      return _("PIN changed");
    }
}

static void
op_done_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CardpinChangePage) self = user_data;
  CardpinToken *token = CARDPIN_TOKEN (object);
  g_autoptr(GError) error = NULL;
  GtkWidget *window;
  gboolean ok;

  switch (self->mode)
    {
    case CARDPIN_CHANGE_MODE_SETUP:
      ok = cardpin_token_setup_finish (token, result, &error);
      break;
    case CARDPIN_CHANGE_MODE_CHANGE_PUK:
      ok = cardpin_token_change_puk_finish (token, result, &error);
      break;
    case CARDPIN_CHANGE_MODE_UNBLOCK_PUK:
      ok = cardpin_token_unblock_pin_finish (token, result, &error);
      break;
    case CARDPIN_CHANGE_MODE_CHANGE_PIN:
    default:
      ok = cardpin_token_change_pin_finish (token, result, &error);
      break;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_busy (self, FALSE);

  if (!ok)
    {
      g_autofree char *text = error_text (self, error);

      g_debug ("%s failed: %s", G_OBJECT_TYPE_NAME (self), error->message);
      cardpin_flow_show_error (self->error_label, text);
      /* a wrong current value: type it again; the new one stays */
      if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN) ||
          g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK))
        {
          AdwEntryRow *wrong = self->current_row;

          /* in the set-up, a wrong PUK is the PUK's entry */
          if (self->with_puk &&
              g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK))
            wrong = self->current_puk_row;
          cardpin_secure_entry_clear (GTK_EDITABLE (wrong));
          gtk_widget_grab_focus (GTK_WIDGET (wrong));
        }
      return;
    }

  cardpin_secure_entry_clear (GTK_EDITABLE (self->current_row));
  cardpin_new_pin_group_clear (self->new_group);
  cardpin_secure_entry_clear (GTK_EDITABLE (self->current_puk_row));
  cardpin_new_pin_group_clear (self->new_puk_group);

  window = gtk_widget_get_ancestor (GTK_WIDGET (self), CARDPIN_TYPE_WINDOW);
  if (window != NULL)
    {
      cardpin_window_add_toast (CARDPIN_WINDOW (window), success_text (self));
      cardpin_window_go_back (CARDPIN_WINDOW (window));
    }
}

static void
submit_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  CardpinChangePage *self = CARDPIN_CHANGE_PAGE (widget);
  g_autoptr(CardpinSecret) current = NULL;
  g_autoptr(CardpinSecret) new_secret = NULL;
  g_autoptr(CardpinSecret) current_puk = NULL;
  g_autoptr(CardpinSecret) new_puk = NULL;

  if (!can_submit (self))
    return;

  if (!self->pinpad)
    {
      current = cardpin_secure_entry_dup_secret (GTK_EDITABLE (self->current_row));
      new_secret = cardpin_new_pin_group_dup_secret (self->new_group);
      g_return_if_fail (new_secret != NULL);
    }
  if (self->with_puk)
    {
      current_puk = cardpin_secure_entry_dup_secret (GTK_EDITABLE (self->current_puk_row));
      new_puk = cardpin_new_pin_group_dup_secret (self->new_puk_group);
      g_return_if_fail (new_puk != NULL);
    }

  cardpin_flow_show_error (self->error_label, NULL);
  set_busy (self, TRUE);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  switch (self->mode)
    {
    case CARDPIN_CHANGE_MODE_SETUP:
      cardpin_token_setup_async (self->token, current, new_secret, current_puk, new_puk,
                                 self->cancellable, op_done_cb, g_object_ref (self));
      break;
    case CARDPIN_CHANGE_MODE_CHANGE_PUK:
      cardpin_token_change_puk_async (self->token, current, new_secret,
                                      self->cancellable, op_done_cb, g_object_ref (self));
      break;
    case CARDPIN_CHANGE_MODE_UNBLOCK_PUK:
      cardpin_token_unblock_pin_async (self->token, current, new_secret,
                                       self->cancellable, op_done_cb, g_object_ref (self));
      break;
    case CARDPIN_CHANGE_MODE_CHANGE_PIN:
    default:
      cardpin_token_change_pin_async (self->token, current, new_secret,
                                      self->cancellable, op_done_cb, g_object_ref (self));
      break;
    }
}

static void
current_changed_cb (CardpinChangePage *self)
{
  g_autoptr(CardpinSecret) current = NULL;

  current = cardpin_secure_entry_dup_secret (GTK_EDITABLE (self->current_row));
  /* the new PIN must differ from the old one, and a new PIN from the PUK */
  if (self->mode == CARDPIN_CHANGE_MODE_UNBLOCK_PUK)
    cardpin_new_pin_group_set_other_secret (self->new_group, current);
  else if (self->mode != CARDPIN_CHANGE_MODE_SETUP ||
           cardpin_token_get_pin_state (self->token) != CARDPIN_PIN_STATE_NOT_INITIALIZED)
    cardpin_new_pin_group_set_old_secret (self->new_group, current);

  update_submit (self);
}

/* the new PUK must differ from the current PUK and from the new PIN */
static void
current_puk_changed_cb (CardpinChangePage *self)
{
  g_autoptr(CardpinSecret) current_puk = NULL;

  current_puk = cardpin_secure_entry_dup_secret (GTK_EDITABLE (self->current_puk_row));
  cardpin_new_pin_group_set_old_secret (self->new_puk_group, current_puk);
  update_submit (self);
}

static void
new_pin_changed_cb (CardpinChangePage *self)
{
  g_autoptr(CardpinSecret) new_pin = NULL;

  if (!self->with_puk)
    return;
  new_pin = cardpin_secure_entry_dup_secret (cardpin_new_pin_group_get_new_entry (self->new_group));
  cardpin_new_pin_group_set_other_secret (self->new_puk_group, new_pin);
}

static void
last_change_toggled_cb (CardpinChangePage *self)
{
  update_submit (self);
}

static void
current_puk_activated_cb (CardpinChangePage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (cardpin_new_pin_group_get_new_entry (self->new_puk_group)));
}

static void
entry_activated_cb (CardpinChangePage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (cardpin_new_pin_group_get_new_entry (self->new_group)));
}

static void
valid_changed_cb (CardpinChangePage *self)
{
  update_submit (self);
}

static void
confirm_activated_cb (CardpinChangePage *self)
{
  if (can_submit (self))
    gtk_widget_activate_action (GTK_WIDGET (self), "change.submit", NULL);
  else if (self->with_puk &&
           cardpin_secure_entry_is_empty (GTK_EDITABLE (self->current_puk_row)))
    gtk_widget_grab_focus (GTK_WIDGET (self->current_puk_row));
}

static void
setup_mode (CardpinChangePage *self)
{
  gboolean initialized = cardpin_token_get_pin_state (self->token) !=
                         CARDPIN_PIN_STATE_NOT_INITIALIZED;
  g_autofree char *limit_text = NULL;
  g_autoptr(GString) notice = g_string_new (NULL);
  const char *label = cardpin_token_get_label (self->token);
  const char *title, *intro, *current_title, *button;
  guint remaining = 0;

  switch (self->mode)
    {
    case CARDPIN_CHANGE_MODE_SETUP:
      title = _("Set Up PIN");
      if (initialized)
        {
          intro = _("Replace the first PIN of your card, from your card letter, with a "
                    "personal PIN that only you know.");
          current_title = _("_Current PIN");
        }
      else
        {
          intro = _("This card has no PIN yet. Type the security officer PIN from your "
                    "card letter, then choose your PIN.");
          current_title = _("_Security Officer PIN");
        }
      button = _("_Set Up PIN");
      break;
    case CARDPIN_CHANGE_MODE_CHANGE_PUK:
      title = _("Change PUK");
      intro = _("The PUK unblocks your PIN when it is blocked. Type the current PUK, then "
                "choose a new one and keep it in a safe place.");
      current_title = _("_Current PUK");
      button = _("_Change PUK");
      break;
    case CARDPIN_CHANGE_MODE_UNBLOCK_PUK:
      title = _("Unblock PIN");
      intro = _("Type the PUK from your card letter, then choose a new PIN. Each wrong PUK "
                "counts against the PUK’s tries.");
      current_title = _("_PUK");
      button = _("_Unblock PIN");
      break;
    case CARDPIN_CHANGE_MODE_CHANGE_PIN:
    default:
      title = _("Change PIN");
      intro = _("Type your current PIN, then the new one twice.");
      current_title = _("_Current PIN");
      button = _("_Change PIN");
      break;
    }

  /* the reader asks for the PINs itself: the page says so instead of how to type them */
  self->pinpad = cardpin_token_has_pinpad (self->token) &&
                 self->mode != CARDPIN_CHANGE_MODE_CHANGE_PUK;
  if (self->pinpad && self->mode == CARDPIN_CHANGE_MODE_UNBLOCK_PUK)
    intro = _("Your card reader has a keypad. Press the button below, then type the PUK "
              "from your card letter and the new PIN twice on the reader’s keypad when it "
              "asks.");
  else if (self->pinpad)
    intro = _("Your card reader has a keypad. Press the button below, then type the "
              "current and the new PIN on the reader’s keypad when it asks.");

  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title,
                                 label != NULL && *label != '\0' ? label
                                 : cardpin_token_get_serial (self->token));
  adw_preferences_group_set_description (self->intro_group, intro);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->current_row), current_title);
  gtk_label_set_text_with_mnemonic (self->submit_label, button);
  /* a button with its own label child is named by nobody else: name it its text */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->submit_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  gtk_label_get_text (self->submit_label), -1);
  cardpin_new_pin_group_setup (self->new_group, self->token,
                               self->mode == CARDPIN_CHANGE_MODE_CHANGE_PUK);

  /* first use of a PIV card: its PUK is personalised in the same step, unless the card
   * says its PUK is no longer the factory one */
  self->with_puk = self->mode == CARDPIN_CHANGE_MODE_SETUP && initialized && !self->pinpad &&
                   cardpin_token_is_piv (self->token) &&
                   cardpin_token_get_puk_tries_left (self->token) != 0 &&
                   cardpin_token_get_puk_is_default (self->token) != 0;
  if (self->with_puk)
    {
      cardpin_new_pin_group_setup (self->new_puk_group, self->token, TRUE);
      /* mnemonics of their own: the PIN's entries have N and o */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (cardpin_new_pin_group_get_new_entry (self->new_puk_group)),
                                     _("Ne_w PUK"));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (cardpin_new_pin_group_get_confirm_entry (self->new_puk_group)),
                                     _("Con_firm New PUK"));
      adw_preferences_group_set_description (self->current_puk_group,
                                             _("The PUK unblocks your PIN if it is ever "
                                               "blocked. Type the PUK from your card "
                                               "letter, then choose your own. Nothing is "
                                               "changed unless both current values are "
                                               "right."));
      g_signal_connect_object (cardpin_new_pin_group_get_new_entry (self->new_group),
                               "changed", G_CALLBACK (new_pin_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (cardpin_new_pin_group_get_confirm_entry (self->new_puk_group),
                               "entry-activated", G_CALLBACK (confirm_activated_cb), self,
                               G_CONNECT_SWAPPED);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->current_puk_group), self->with_puk);
  gtk_widget_set_visible (GTK_WIDGET (self->new_puk_group), self->with_puk);

  /* a change-limited card: core's words with the changes remaining; the last one (or
   * one after the last, as far as this computer knows) is confirmed first */
  if ((self->mode == CARDPIN_CHANGE_MODE_CHANGE_PIN ||
       (self->mode == CARDPIN_CHANGE_MODE_SETUP && initialized)) &&
      (limit_text = cardpin_token_explain_change_limit (self->token, NULL)) != NULL)
    {
      if (notice->len > 0)
        g_string_append (notice, "\n\n");
      g_string_append (notice, limit_text);
      guint max_changes = 0;

      /* no serial, no count: a model that allows one change is at its last one */
      if (!cardpin_token_get_changes_remaining (self->token, NULL, NULL, &remaining) &&
          cardpin_token_lookup_change_limit (self->token, NULL, &max_changes, NULL))
        remaining = max_changes;
      self->last_change = remaining <= 1;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->last_change_check), self->last_change);

  gtk_label_set_text (self->notice_label, notice->str);
  gtk_widget_set_visible (GTK_WIDGET (self->notice_label), notice->len > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->current_group), !self->pinpad);
  gtk_widget_set_visible (GTK_WIDGET (self->new_group), !self->pinpad);

  g_signal_connect_object (cardpin_new_pin_group_get_confirm_entry (self->new_group),
                           "entry-activated", G_CALLBACK (confirm_activated_cb), self,
                           G_CONNECT_SWAPPED);
  update_submit (self);
}

static void
cardpin_change_page_constructed (GObject *object)
{
  CardpinChangePage *self = CARDPIN_CHANGE_PAGE (object);

  G_OBJECT_CLASS (cardpin_change_page_parent_class)->constructed (object);

  g_assert (self->token != NULL);
  setup_mode (self);
}

static void
cardpin_change_page_dispose (GObject *object)
{
  CardpinChangePage *self = CARDPIN_CHANGE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_CHANGE_PAGE);
  g_clear_object (&self->token);

  G_OBJECT_CLASS (cardpin_change_page_parent_class)->dispose (object);
}

static void
cardpin_change_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  CardpinChangePage *self = CARDPIN_CHANGE_PAGE (object);

  switch (prop_id)
    {
    case PROP_TOKEN:
      g_value_set_object (value, self->token);
      break;
    case PROP_MODE:
      g_value_set_int (value, self->mode);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_change_page_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  CardpinChangePage *self = CARDPIN_CHANGE_PAGE (object);

  switch (prop_id)
    {
    case PROP_TOKEN:
      g_set_object (&self->token, g_value_get_object (value));
      break;
    case PROP_MODE:
      self->mode = g_value_get_int (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_change_page_class_init (CardpinChangePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cardpin_change_page_constructed;
  object_class->dispose = cardpin_change_page_dispose;
  object_class->get_property = cardpin_change_page_get_property;
  object_class->set_property = cardpin_change_page_set_property;

  /**
   * CardpinChangePage:token:
   *
   * The card.
   */
  props[PROP_TOKEN] =
    g_param_spec_object ("token", NULL, NULL,
                         CARDPIN_TYPE_TOKEN,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CardpinChangePage:mode:
   *
   * Which flow (#CardpinChangeMode).
   */
  props[PROP_MODE] =
    g_param_spec_int ("mode", NULL, NULL,
                      CARDPIN_CHANGE_MODE_CHANGE_PIN, CARDPIN_CHANGE_MODE_UNBLOCK_PUK,
                      CARDPIN_CHANGE_MODE_CHANGE_PIN,
                      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CardpinChangePage:busy:
   *
   * Whether the card is being worked on.
   */
  props[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_install_action (widget_class, "change.submit", NULL, submit_activated);

  g_type_ensure (CARDPIN_TYPE_NEW_PIN_GROUP);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-change-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, window_title);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, back_button);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, intro_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, notice_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, last_change_check);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, current_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, current_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, new_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, current_puk_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, current_puk_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, new_puk_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, error_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, submit_button);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, submit_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinChangePage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, current_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, entry_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, current_puk_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, last_change_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, current_puk_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, valid_changed_cb);
}

/* GTK 4.8 names a check button by its label with the mnemonic's underline: name it
 * its visible text */
static void
name_by_visible_text (GtkCheckButton *check)
{
  const char *label = gtk_check_button_get_label (check);
  g_autoptr(GString) text = g_string_new (NULL);

  for (const char *c = label; c != NULL && *c != '\0'; c++)
    {
      if (*c == '_')
        {
          if (c[1] != '_')
            continue;
          c++;
        }
      g_string_append_c (text, *c);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  text->str, -1);
}

static void
cardpin_change_page_init (CardpinChangePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  name_by_visible_text (self->last_change_check);

  cardpin_secure_entry_init (GTK_EDITABLE (self->current_row));
  cardpin_secure_entry_init (GTK_EDITABLE (self->current_puk_row));
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->last_change_check),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->notice_label, NULL,
                                  -1);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->submit_button),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->error_label, NULL,
                                  -1);
}

/**
 * cardpin_change_page_new:
 * @token: the card
 * @mode: the flow
 *
 * Returns: (transfer full): a new #CardpinChangePage
 */
GtkWidget *
cardpin_change_page_new (CardpinToken      *token,
                         CardpinChangeMode  mode)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  return g_object_new (CARDPIN_TYPE_CHANGE_PAGE, "token", token, "mode", mode, NULL);
}

CardpinToken *
cardpin_change_page_get_token (CardpinChangePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CHANGE_PAGE (self), NULL);

  return self->token;
}

CardpinChangeMode
cardpin_change_page_get_mode (CardpinChangePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CHANGE_PAGE (self), CARDPIN_CHANGE_MODE_CHANGE_PIN);

  return self->mode;
}

gboolean
cardpin_change_page_get_busy (CardpinChangePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CHANGE_PAGE (self), FALSE);

  return self->busy;
}

GtkEditable *
_cardpin_change_page_get_current_entry (CardpinChangePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CHANGE_PAGE (self), NULL);

  return GTK_EDITABLE (self->current_row);
}

CardpinNewPinGroup *
_cardpin_change_page_get_new_group (CardpinChangePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CHANGE_PAGE (self), NULL);

  return self->new_group;
}

GtkWidget *
_cardpin_change_page_get_submit_button (CardpinChangePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CHANGE_PAGE (self), NULL);

  return GTK_WIDGET (self->submit_button);
}

const char *
_cardpin_change_page_get_error (CardpinChangePage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CHANGE_PAGE (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_text (self->error_label);
}
