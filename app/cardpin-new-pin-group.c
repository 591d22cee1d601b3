/* cardpin-new-pin-group.c — a new PIN (or PUK) typed twice, checked while typing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-error.h"
#include "cardpin-new-pin-group.h"
#include "cardpin-policy.h"
#include "cardpin-secure-entry.h"

/**
 * CardpinNewPinGroup:
 *
 * The "New PIN" and "Confirm New PIN" entries of every form that sets a PIN or a PUK.
 *
 * Below them a line explains the rule (length, digits) and, as the user types, why
 * the new value would be refused (core's policy: too short, a run like 123456, the
 * factory value, the same as the old one...). [property@Cardpin.NewPinGroup:valid]
 * holds only when the policy accepts the new value and both entries match, so the
 * form's button can stay insensitive until then: nothing invalid reaches the card.
 */
struct _CardpinNewPinGroup
{
  AdwPreferencesGroup parent_instance;

  CardpinPolicy *policy;
  CardpinSecret *old_secret;
  CardpinSecret *other_secret;
  gboolean       is_puk;
  gboolean       valid;

  AdwEntryRow   *new_row;
  AdwEntryRow   *confirm_row;
  GtkImage      *new_icon;
  GtkImage      *confirm_icon;
  GtkLabel      *hint_label;
};

G_DEFINE_FINAL_TYPE (CardpinNewPinGroup, cardpin_new_pin_group, ADW_TYPE_PREFERENCES_GROUP)

enum {
  PROP_0,
  PROP_VALID,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static char *
rule_text (CardpinNewPinGroup *self)
{
  guint min = cardpin_policy_get_min_length (self->policy);
  guint max = cardpin_policy_get_max_length (self->policy);
  gboolean digits = cardpin_policy_get_digits_only (self->policy);
  g_autofree char *length = cardpin_policy_describe_length (min, max, digits);
  const char *avoid;

  if (self->is_puk)
    avoid = digits ? _("Avoid runs like 12345678 and repeated digits.")
                   : _("Avoid runs like 12345678 and repeated characters.");
  else
    avoid = digits ? _("Avoid runs like 123456 and repeated digits.")
                   : _("Avoid runs like 123456 and repeated characters.");

  return g_strdup_printf ("%s %s", length, avoid);
}

static void
set_row_state (AdwEntryRow *row,
               GtkImage    *icon,
               int          state)   /* -1 error, 0 nothing, 1 fine */
{
  if (state < 0)
    gtk_widget_add_css_class (GTK_WIDGET (row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (row), "error");

  gtk_widget_set_visible (GTK_WIDGET (icon), state != 0);
  if (state < 0)
    {
      gtk_image_set_from_icon_name (icon, "dialog-warning-symbolic");
      gtk_widget_remove_css_class (GTK_WIDGET (icon), "success");
      gtk_widget_add_css_class (GTK_WIDGET (icon), "error");
    }
  else if (state > 0)
    {
      gtk_image_set_from_icon_name (icon, "emblem-ok-symbolic");
      gtk_widget_remove_css_class (GTK_WIDGET (icon), "error");
      gtk_widget_add_css_class (GTK_WIDGET (icon), "success");
    }
}

static void
set_hint (CardpinNewPinGroup *self,
          const char         *text,
          gboolean            is_error)
{
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->hint_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->hint_label), "error");

  if (g_strcmp0 (gtk_label_get_text (self->hint_label), text) != 0)
    gtk_label_set_text (self->hint_label, text);
}

static void
set_valid (CardpinNewPinGroup *self,
           gboolean            valid)
{
  valid = !!valid;
  if (self->valid == valid)
    return;

  self->valid = valid;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_VALID]);
}

static void
update (CardpinNewPinGroup *self)
{
  GtkEditable *new_entry = GTK_EDITABLE (self->new_row);
  GtkEditable *confirm_entry = GTK_EDITABLE (self->confirm_row);
  g_autoptr(CardpinSecret) new_secret = NULL;
  g_autoptr(CardpinSecret) confirmation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *rule = NULL;
  gboolean ok;

  if (self->policy == NULL)
    return;

  rule = rule_text (self);

  if (cardpin_secure_entry_is_empty (new_entry))
    {
      set_row_state (self->new_row, self->new_icon, 0);
      set_row_state (self->confirm_row, self->confirm_icon, 0);
      set_hint (self, rule, FALSE);
      set_valid (self, FALSE);
      return;
    }

  new_secret = cardpin_secure_entry_dup_secret (new_entry);
  if (self->is_puk)
    ok = cardpin_policy_check_puk (self->policy, new_secret, self->old_secret,
                                   self->other_secret, &error);
  else
    ok = cardpin_policy_check (self->policy, new_secret, self->old_secret,
                               self->other_secret, &error);

  if (!ok)
    {
      /* Too short is what everyone is while typing: say the rule, not an error. */
      gboolean typing = cardpin_error_get_policy_reason (error) == CARDPIN_POLICY_TOO_SHORT;

      set_row_state (self->new_row, self->new_icon, typing ? 0 : -1);
      set_row_state (self->confirm_row, self->confirm_icon, 0);
      set_hint (self, typing ? rule : error->message, !typing);
      set_valid (self, FALSE);
      return;
    }

  set_row_state (self->new_row, self->new_icon, 1);

  if (cardpin_secure_entry_is_empty (confirm_entry))
    {
      set_row_state (self->confirm_row, self->confirm_icon, 0);
      set_hint (self, self->is_puk ? _("Now type the new PUK again to confirm it.")
                                   : _("Now type the new PIN again to confirm it."),
                FALSE);
      set_valid (self, FALSE);
      return;
    }

  confirmation = cardpin_secure_entry_dup_secret (confirm_entry);
  g_clear_error (&error);
  if (!cardpin_policy_check_confirmation (new_secret, confirmation, &error))
    {
      /* still typing the confirmation: only flag it once it is as long */
      gboolean typing = cardpin_secret_get_length (confirmation) <
                        cardpin_secret_get_length (new_secret);

      set_row_state (self->confirm_row, self->confirm_icon, typing ? 0 : -1);
      set_hint (self,
                typing ? (self->is_puk ? _("Now type the new PUK again to confirm it.")
                                       : _("Now type the new PIN again to confirm it."))
                       : error->message,
                !typing);
      set_valid (self, FALSE);
      return;
    }

  set_row_state (self->confirm_row, self->confirm_icon, 1);
  set_hint (self, self->is_puk ? _("The new PUK is fine.") : _("The new PIN is fine."), FALSE);
  set_valid (self, TRUE);
}

static void
entry_changed_cb (CardpinNewPinGroup *self)
{
  update (self);
}

static void
cardpin_new_pin_group_dispose (GObject *object)
{
  CardpinNewPinGroup *self = CARDPIN_NEW_PIN_GROUP (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_NEW_PIN_GROUP);
  g_clear_object (&self->policy);
  g_clear_pointer (&self->old_secret, cardpin_secret_unref);
  g_clear_pointer (&self->other_secret, cardpin_secret_unref);

  G_OBJECT_CLASS (cardpin_new_pin_group_parent_class)->dispose (object);
}

static void
cardpin_new_pin_group_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  CardpinNewPinGroup *self = CARDPIN_NEW_PIN_GROUP (object);

  switch (prop_id)
    {
    case PROP_VALID:
      g_value_set_boolean (value, self->valid);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_new_pin_group_class_init (CardpinNewPinGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cardpin_new_pin_group_dispose;
  object_class->get_property = cardpin_new_pin_group_get_property;

  /**
   * CardpinNewPinGroup:valid:
   *
   * Whether the new value follows the policy and both entries hold it.
   */
  props[PROP_VALID] =
    g_param_spec_boolean ("valid", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-new-pin-group.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinNewPinGroup, new_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinNewPinGroup, confirm_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinNewPinGroup, new_icon);
  gtk_widget_class_bind_template_child (widget_class, CardpinNewPinGroup, confirm_icon);
  gtk_widget_class_bind_template_child (widget_class, CardpinNewPinGroup, hint_label);
  gtk_widget_class_bind_template_callback (widget_class, entry_changed_cb);
}

static void
cardpin_new_pin_group_init (CardpinNewPinGroup *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  cardpin_secure_entry_init (GTK_EDITABLE (self->new_row));
  cardpin_secure_entry_init (GTK_EDITABLE (self->confirm_row));

  /* a screen reader reads the rule and the reason with the entry */
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->new_row),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->hint_label, NULL,
                                  -1);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->confirm_row),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->hint_label, NULL,
                                  -1);
}

/**
 * cardpin_new_pin_group_setup:
 * @self: a #CardpinNewPinGroup
 * @token: the card the new value is for: its limits narrow the policy
 * @is_puk: a new PUK rather than a new PIN
 *
 * Sets what the group checks against and the entries' titles.
 */
void
cardpin_new_pin_group_setup (CardpinNewPinGroup *self,
                             CardpinToken       *token,
                             gboolean            is_puk)
{
  g_return_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self));
  g_return_if_fail (CARDPIN_IS_TOKEN (token));

  g_clear_object (&self->policy);
  /* core's rules, the same that the operation enforces */
  self->policy = is_puk ? cardpin_token_get_puk_policy (token, NULL)
                        : cardpin_token_get_pin_policy (token, NULL);
  self->is_puk = !!is_puk;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->new_row),
                                 is_puk ? _("_New PUK") : _("_New PIN"));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->confirm_row),
                                 is_puk ? _("C_onfirm New PUK") : _("C_onfirm New PIN"));
  update (self);
}

/**
 * cardpin_new_pin_group_set_old_secret:
 * @self: a #CardpinNewPinGroup
 * @old_secret: (nullable): the value being replaced, as typed
 *
 * The new value must differ from it.
 */
void
cardpin_new_pin_group_set_old_secret (CardpinNewPinGroup *self,
                                      CardpinSecret      *old_secret)
{
  g_return_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self));

  g_clear_pointer (&self->old_secret, cardpin_secret_unref);
  if (old_secret != NULL && cardpin_secret_get_length (old_secret) > 0)
    self->old_secret = cardpin_secret_ref (old_secret);
  update (self);
}

/**
 * cardpin_new_pin_group_set_other_secret:
 * @self: a #CardpinNewPinGroup
 * @other_secret: (nullable): the other secret of the card (the PUK for a new PIN)
 *
 * The new value must differ from it.
 */
void
cardpin_new_pin_group_set_other_secret (CardpinNewPinGroup *self,
                                        CardpinSecret      *other_secret)
{
  g_return_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self));

  g_clear_pointer (&self->other_secret, cardpin_secret_unref);
  if (other_secret != NULL && cardpin_secret_get_length (other_secret) > 0)
    self->other_secret = cardpin_secret_ref (other_secret);
  update (self);
}

gboolean
cardpin_new_pin_group_get_valid (CardpinNewPinGroup *self)
{
  g_return_val_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self), FALSE);

  return self->valid;
}

/**
 * cardpin_new_pin_group_get_hint:
 * @self: a #CardpinNewPinGroup
 *
 * Returns: (transfer none): the rule, or why the new value would be refused, as shown
 */
const char *
cardpin_new_pin_group_get_hint (CardpinNewPinGroup *self)
{
  g_return_val_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self), NULL);

  return gtk_label_get_text (self->hint_label);
}

/**
 * cardpin_new_pin_group_dup_secret:
 * @self: a #CardpinNewPinGroup
 *
 * Returns: (transfer full) (nullable): the new value when valid, else %NULL
 */
CardpinSecret *
cardpin_new_pin_group_dup_secret (CardpinNewPinGroup *self)
{
  g_return_val_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self), NULL);

  if (!self->valid)
    return NULL;
  return cardpin_secure_entry_dup_secret (GTK_EDITABLE (self->new_row));
}

/**
 * cardpin_new_pin_group_clear:
 * @self: a #CardpinNewPinGroup
 *
 * Empties both entries (their buffers wipe what they held).
 */
void
cardpin_new_pin_group_clear (CardpinNewPinGroup *self)
{
  g_return_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self));

  cardpin_secure_entry_clear (GTK_EDITABLE (self->confirm_row));
  cardpin_secure_entry_clear (GTK_EDITABLE (self->new_row));
}

GtkEditable *
cardpin_new_pin_group_get_new_entry (CardpinNewPinGroup *self)
{
  g_return_val_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self), NULL);

  return GTK_EDITABLE (self->new_row);
}

GtkEditable *
cardpin_new_pin_group_get_confirm_entry (CardpinNewPinGroup *self)
{
  g_return_val_if_fail (CARDPIN_IS_NEW_PIN_GROUP (self), NULL);

  return GTK_EDITABLE (self->confirm_row);
}
