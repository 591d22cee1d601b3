/* cardpin-certificates-page.c — the certificates on a card and which PIN protects each key
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-certificate.h"
#include "cardpin-certificates-page.h"
#include "cardpin-value-row.h"

/**
 * CardpinCertificatesPage:
 *
 * The certificates on the card, read by core in a worker thread without a login: for
 * each its subject, issuer, validity and key usage, and which PIN protects its key —
 * the card's PIN once per login, or the PIN asked again at every signature (keys that
 * always authenticate, such as the PIV digital signature key). The page says that
 * cardpin never caches a PIN and never holds the card.
 */
struct _CardpinCertificatesPage
{
  AdwBin parent_instance;

  CardpinToken *token;
  GCancellable *cancellable;
  const char   *state;

  AdwWindowTitle      *window_title;
  GtkStack            *stack;
  GtkSpinner          *spinner;
  AdwStatusPage       *error_page;
  AdwPreferencesGroup *list_group;
};

G_DEFINE_FINAL_TYPE (CardpinCertificatesPage, cardpin_certificates_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_TOKEN,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
set_state (CardpinCertificatesPage *self,
           const char              *state)
{
  self->state = state;
  gtk_spinner_set_spinning (self->spinner, g_strcmp0 (state, "loading") == 0);
  gtk_stack_set_visible_child_name (self->stack, state);
}

static char *
date_text (GDateTime *date)
{
  g_autoptr(GDateTime) local = NULL;

  if (date == NULL)
    return NULL;
  local = g_date_time_to_local (date);
  /* Translators: a certificate's validity date, see g_date_time_format() */
  return g_date_time_format (local, _("%-d %B %Y"));
}

static const char *
protection_text (CardpinCertificate *certificate)
{
  switch (cardpin_certificate_get_key_pin (certificate))
    {
    case CARDPIN_KEY_PIN_NO_KEY:
      return _("No key on this card for this certificate");
    case CARDPIN_KEY_PIN_ONCE:
      return _("The card’s PIN, once per login");
    case CARDPIN_KEY_PIN_ALWAYS:
      return _("The card’s PIN, asked again for every signature");
    case CARDPIN_KEY_PIN_NONE:
      return _("No PIN: the card proves itself, for doors and terminals");
    case CARDPIN_KEY_PIN_UNKNOWN:
    default:
      return _("The card’s PIN (the token does not say more before a login)");
    }
}

static void
add_certificate (CardpinCertificatesPage *self,
                 CardpinCertificate      *certificate)
{
  GtkWidget *expander = adw_expander_row_new ();
  const char *label = cardpin_certificate_get_label (certificate);
  const char * const *usages = cardpin_certificate_get_key_usages (certificate);
  g_autofree char *from = date_text (cardpin_certificate_get_not_before (certificate));
  g_autofree char *until = date_text (cardpin_certificate_get_not_after (certificate));
  g_autofree char *usage_text = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  GDateTime *not_after = cardpin_certificate_get_not_after (certificate);

  if (not_after != NULL && g_date_time_compare (not_after, now) < 0)
    {
      g_autofree char *expired = g_strdup_printf (_("%s (expired)"), until);

      g_free (until);
      until = g_steal_pointer (&expired);
    }
  usage_text = usages[0] != NULL ? g_strjoinv (", ", (char **) usages)
                                 : g_strdup (_("Any (not restricted)"));

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (expander),
                                 label != NULL && *label != '\0' ? label : _("Certificate"));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (expander), FALSE);
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (expander),
                                 cardpin_certificate_get_subject (certificate));
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (expander), TRUE);

  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander),
                            cardpin_value_row_new (_("Subject"),
                                                   cardpin_certificate_get_subject (certificate)));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander),
                            cardpin_value_row_new (_("Issuer"),
                                                   cardpin_certificate_get_issuer (certificate)));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), cardpin_value_row_new (_("Valid From"), from));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), cardpin_value_row_new (_("Valid Until"), until));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), cardpin_value_row_new (_("Key Usage"), usage_text));
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander),
                            cardpin_value_row_new (_("Protected By"), protection_text (certificate)));

  adw_preferences_group_add (self->list_group, expander);
}

static void
list_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(CardpinCertificatesPage) self = user_data;
  g_autoptr(GListModel) certificates = NULL;
  g_autoptr(GError) error = NULL;
  guint n;

  certificates = cardpin_token_list_certificates_finish (CARDPIN_TOKEN (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (certificates == NULL)
    {
      adw_status_page_set_description (self->error_page, error->message);
      set_state (self, "error");
      return;
    }

  n = g_list_model_get_n_items (certificates);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CardpinCertificate) certificate = g_list_model_get_item (certificates, i);

      add_certificate (self, certificate);
    }
  set_state (self, n > 0 ? "list" : "empty");
}

static void
cardpin_certificates_page_constructed (GObject *object)
{
  CardpinCertificatesPage *self = CARDPIN_CERTIFICATES_PAGE (object);
  const char *label;

  G_OBJECT_CLASS (cardpin_certificates_page_parent_class)->constructed (object);

  g_assert (self->token != NULL);
  label = cardpin_token_get_label (self->token);
  adw_window_title_set_subtitle (self->window_title,
                                 label != NULL && *label != '\0' ? label
                                 : cardpin_token_get_serial (self->token));
  set_state (self, "loading");
  cardpin_token_list_certificates_async (self->token, self->cancellable, list_cb,
                                         g_object_ref (self));
}

static void
cardpin_certificates_page_dispose (GObject *object)
{
  CardpinCertificatesPage *self = CARDPIN_CERTIFICATES_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_CERTIFICATES_PAGE);
  g_clear_object (&self->token);

  G_OBJECT_CLASS (cardpin_certificates_page_parent_class)->dispose (object);
}

static void
cardpin_certificates_page_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  CardpinCertificatesPage *self = CARDPIN_CERTIFICATES_PAGE (object);

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
cardpin_certificates_page_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  CardpinCertificatesPage *self = CARDPIN_CERTIFICATES_PAGE (object);

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
cardpin_certificates_page_class_init (CardpinCertificatesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cardpin_certificates_page_constructed;
  object_class->dispose = cardpin_certificates_page_dispose;
  object_class->get_property = cardpin_certificates_page_get_property;
  object_class->set_property = cardpin_certificates_page_set_property;

  /**
   * CardpinCertificatesPage:token:
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
                                               "/io/github/cardpin/CardPin/ui/cardpin-certificates-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinCertificatesPage, window_title);
  gtk_widget_class_bind_template_child (widget_class, CardpinCertificatesPage, stack);
  gtk_widget_class_bind_template_child (widget_class, CardpinCertificatesPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, CardpinCertificatesPage, error_page);
  gtk_widget_class_bind_template_child (widget_class, CardpinCertificatesPage, list_group);
}

static void
cardpin_certificates_page_init (CardpinCertificatesPage *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cardpin_certificates_page_new:
 * @token: the card
 *
 * Creates the page; it reads the certificates at once.
 *
 * Returns: (transfer full): a new #CardpinCertificatesPage
 */
GtkWidget *
cardpin_certificates_page_new (CardpinToken *token)
{
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  return g_object_new (CARDPIN_TYPE_CERTIFICATES_PAGE, "token", token, NULL);
}

CardpinToken *
cardpin_certificates_page_get_token (CardpinCertificatesPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATES_PAGE (self), NULL);

  return self->token;
}

const char *
cardpin_certificates_page_get_state (CardpinCertificatesPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_CERTIFICATES_PAGE (self), NULL);

  return self->state;
}
