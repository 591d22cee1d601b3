/* cardpin-details-page.c — a card's identity and its secrets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-details-page.h"
#include "cardpin-value-row.h"

/**
 * CardpinDetailsPage:
 *
 * What a helpdesk asks for: the reader, the ATR, the serial number, the manufacturer
 * and the model; and the card's secrets as a table, one expanded row per secret with
 * its role (user, unblock only, administrator), its kind (PIN, PUK, challenge/response
 * key), what it is for, who may change and who may unblock it, and the tries left.
 * Values are selectable so they can be copied into a ticket.
 */
struct _CardpinDetailsPage
{
  AdwBin parent_instance;

  CardpinToken *token;
  GPtrArray    *rows;     /* the rows this page added, to replace them on updates */

  AdwWindowTitle      *window_title;
  AdwPreferencesGroup *card_group;
  AdwPreferencesGroup *secrets_group;
};

G_DEFINE_FINAL_TYPE (CardpinDetailsPage, cardpin_details_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_TOKEN,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
add_row (CardpinDetailsPage  *self,
         AdwPreferencesGroup *group,
         GtkWidget           *row)
{
  adw_preferences_group_add (group, row);
  g_ptr_array_add (self->rows, row);
}

static char *
tries_text (int tries_left)
{
  /* PKCS#11 tokens and PIV management keys have no retry counter that standard
   * commands read: say so rather than "Unknown" */
  if (tries_left < 0)
    return g_strdup (_("Not reported by the card"));
  if (tries_left == 0)
    return g_strdup (_("Blocked"));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d try left", "%d tries left",
                                       tries_left),
                          tries_left);
}

typedef struct {
  const char *name;
  const char *role;
  const char *kind;
  const char *purpose;
  const char *change;
  const char *unblock;
  int         tries_left;
} Secret;

static void
add_secret (CardpinDetailsPage *self,
            const Secret       *secret)
{
  GtkWidget *expander = adw_expander_row_new ();
  g_autofree char *tries = tries_text (secret->tries_left);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (expander), secret->name);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (expander), FALSE);
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (expander), tries);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (expander), TRUE);

  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), cardpin_value_row_new (_("Role"), secret->role));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), cardpin_value_row_new (_("Kind"), secret->kind));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander),
                            cardpin_value_row_new (_("What It Is For"), secret->purpose));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander),
                            cardpin_value_row_new (_("Who May Change It"), secret->change));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander),
                            cardpin_value_row_new (_("Who May Unblock It"), secret->unblock));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), cardpin_value_row_new (_("Tries Left"), tries));

  add_row (self, self->secrets_group, expander);
}

static void
update (CardpinDetailsPage *self)
{
  CardpinToken *token = self->token;
  const char *label = cardpin_token_get_label (token);
  const char *reader = cardpin_token_get_reader (token);
  const char *manufacturer, *module;

  for (guint i = 0; i < self->rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (self->rows, i);

      adw_preferences_group_remove (ADW_PREFERENCES_GROUP (gtk_widget_get_ancestor (row, ADW_TYPE_PREFERENCES_GROUP)),
                                    row);
    }
  g_ptr_array_set_size (self->rows, 0);

  adw_window_title_set_subtitle (self->window_title,
                                 label != NULL && *label != '\0' ? label
                                 : cardpin_token_get_serial (token));

  add_row (self, self->card_group, cardpin_value_row_new (_("Label"), label));
  add_row (self, self->card_group,
           cardpin_value_row_new (_("Reader"), reader != NULL ? reader
                                   : cardpin_token_is_hardware (token) ? NULL
                                   : _("None (software token)")));
  add_row (self, self->card_group, cardpin_value_row_new (_("ATR"), cardpin_token_get_atr (token)));
  add_row (self, self->card_group, cardpin_value_row_new (_("Serial Number"), cardpin_token_get_serial (token)));
  /* a PIV card read over PC/SC alone names no manufacturer and needs no module: say so
   * rather than "Unknown" */
  manufacturer = cardpin_token_get_manufacturer (token);
  module = cardpin_token_get_module_name (token);
  add_row (self, self->card_group,
           cardpin_value_row_new (_("Manufacturer"),
                                  manufacturer != NULL && *manufacturer != '\0' ? manufacturer
                                  : _("Not reported by the card")));
  add_row (self, self->card_group, cardpin_value_row_new (_("Model"), cardpin_token_get_model (token)));
  add_row (self, self->card_group,
           cardpin_value_row_new (_("PKCS#11 Module"),
                                  module != NULL && *module != '\0' ? module
                                  : _("None: cardpin reads this card directly")));

  if (cardpin_token_is_piv (token))
    {
      const Secret pin = {
        _("PIN"), _("User"), _("PIN"),
        _("Unlocks the card’s keys: logging in, signing, decrypting"),
        _("You, with the current PIN"),
        _("You, with the PUK; your helpdesk, with the card’s administration key"),
        cardpin_token_get_pin_tries_left (token),
      };
      const Secret puk = {
        _("PUK"), _("Unblock only"), _("PUK (PIN unblocking key)"),
        _("Unblocks the PIN and sets a new one"),
        _("You, with the current PUK"),
        _("Nobody: a blocked PUK stays blocked; your helpdesk can still unblock the PIN"),
        cardpin_token_get_puk_tries_left (token),
      };
      const Secret admin = {
        _("Administration Key"), _("Administrator"),
        _("Challenge/response key (PIV card management key)"),
        _("Lets your helpdesk unblock the PIN over the phone without knowing it"),
        _("Your organization’s card administrators"),
        _("Nobody: when it is blocked, the card must be replaced"),
        -1,
      };

      add_secret (self, &pin);
      add_secret (self, &puk);
      add_secret (self, &admin);
    }
  else
    {
      const Secret pin = {
        _("PIN"), _("User"), _("PIN"),
        _("Unlocks the token’s keys"),
        _("You, with the current PIN"),
        _("The security officer, with the security officer PIN"),
        cardpin_token_get_pin_tries_left (token),
      };
      const Secret so = {
        _("Security Officer PIN"), _("Administrator"), _("PIN"),
        _("Sets up the token and sets a new PIN when it is blocked"),
        _("The security officer"),
        _("Nobody: when it is blocked, the token must be initialized again, which erases it"),
        -1,
      };

      add_secret (self, &pin);
      add_secret (self, &so);
    }
}

static void
token_notify_cb (CardpinDetailsPage *self)
{
  update (self);
}

static void
cardpin_details_page_constructed (GObject *object)
{
  CardpinDetailsPage *self = CARDPIN_DETAILS_PAGE (object);

  G_OBJECT_CLASS (cardpin_details_page_parent_class)->constructed (object);

  g_assert (self->token != NULL);
  g_signal_connect_object (self->token, "notify",
                           G_CALLBACK (token_notify_cb), self, G_CONNECT_SWAPPED);
  update (self);
}

static void
cardpin_details_page_dispose (GObject *object)
{
  CardpinDetailsPage *self = CARDPIN_DETAILS_PAGE (object);

  g_clear_pointer (&self->rows, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_DETAILS_PAGE);
  g_clear_object (&self->token);

  G_OBJECT_CLASS (cardpin_details_page_parent_class)->dispose (object);
}

static void
cardpin_details_page_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  CardpinDetailsPage *self = CARDPIN_DETAILS_PAGE (object);

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
cardpin_details_page_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  CardpinDetailsPage *self = CARDPIN_DETAILS_PAGE (object);

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
cardpin_details_page_class_init (CardpinDetailsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cardpin_details_page_constructed;
  object_class->dispose = cardpin_details_page_dispose;
  object_class->get_property = cardpin_details_page_get_property;
  object_class->set_property = cardpin_details_page_set_property;

  /**
   * CardpinDetailsPage:token:
   *
   * The card.
   */
  props[PROP_TOKEN] =
    g_param_spec_object ("token", NULL, NULL,
                         CARDPIN_TYPE_TOKEN,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-details-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinDetailsPage, window_title);
  gtk_widget_class_bind_template_child (widget_class, CardpinDetailsPage, card_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinDetailsPage, secrets_group);
}

static void
cardpin_details_page_init (CardpinDetailsPage *self)
{
  self->rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cardpin_details_page_new:
 * @token: the card
 *
 * Returns: (transfer full): a new #CardpinDetailsPage
 */
GtkWidget *
cardpin_details_page_new (CardpinToken *token)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  return g_object_new (CARDPIN_TYPE_DETAILS_PAGE, "token", token, NULL);
}

CardpinToken *
cardpin_details_page_get_token (CardpinDetailsPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_DETAILS_PAGE (self), NULL);

  return self->token;
}
