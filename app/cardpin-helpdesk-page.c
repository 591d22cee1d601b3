/* cardpin-helpdesk-page.c — unblock the PIN with a challenge read to the helpdesk
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "cardpin-application.h"
#include "cardpin-code.h"
#include "cardpin-error.h"
#include "cardpin-helpdesk-page-private.h"
#include "cardpin-flow.h"
#include "cardpin-secure-entry.h"
#include "cardpin-unblock-session.h"
#include "cardpin-window.h"

/* the four characters after "check" */
#define CHECK_DIGITS 4

/**
 * CardpinHelpdeskPage:
 *
 * The offline unblock: the card makes a challenge, the user reads it to the helpdesk
 * over the phone, the helpdesk reads a response back, and the card takes it with the
 * new PIN.
 *
 * The challenge shows in large monospace groups with its checksum, in the DESIGN.md
 * format (`A1B2 C3D4 …   check 8C73`), selectable and with a copy button. While the
 * user types the response, the checksum of what is typed so far shows next to the
 * entry, so it can be compared with what the helpdesk reads out; the response's own
 * checksum, typed as its last four characters, catches a typo in place: it never
 * reaches the card and costs no try. A challenge lives only as long as its card
 * session: if the card is removed, the page says that the challenge is no longer
 * valid and offers to start again.
 */
struct _CardpinHelpdeskPage
{
  AdwBin parent_instance;

  CardpinManager        *manager;
  CardpinToken          *token;
  char                  *serial;
  CardpinUnblockSession *session;
  GCancellable          *cancellable;
  gboolean               busy;
  gboolean               response_ok;
  gboolean               response_typo;
  const char            *state;     /* see cardpin_helpdesk_page_get_state() */

  AdwWindowTitle      *window_title;
  GtkWidget           *back_button;
  GtkStack            *stack;
  GtkSpinner          *starting_spinner;
  AdwStatusPage       *status_page;
  AdwPreferencesGroup *challenge_group;
  GtkLabel            *challenge_label;
  AdwEntryRow         *response_row;
  GtkLabel            *response_check_label;
  GtkLabel            *response_hint_label;
  CardpinNewPinGroup  *new_group;
  GtkLabel            *error_label;
  GtkButton           *submit_button;
  GtkSpinner          *spinner;
};

G_DEFINE_FINAL_TYPE (CardpinHelpdeskPage, cardpin_helpdesk_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_MANAGER,
  PROP_TOKEN,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void start (CardpinHelpdeskPage *self);

static gboolean
can_submit (CardpinHelpdeskPage *self)
{
  return !self->busy && self->session != NULL && self->response_ok &&
         cardpin_new_pin_group_get_valid (self->new_group);
}

static void
update_actions (CardpinHelpdeskPage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "helpdesk.submit", can_submit (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "helpdesk.copy", self->session != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "helpdesk.restart", !self->busy);
}

static void
set_busy (CardpinHelpdeskPage *self,
          gboolean              busy)
{
  if (!cardpin_flow_set_busy (GTK_WIDGET (self), &self->busy, busy, self->spinner,
                              self->back_button, GTK_WIDGET (self->response_row),
                              GTK_WIDGET (self->new_group)))
    return;
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BUSY]);
}

static void
show_status (CardpinHelpdeskPage *self,
             const char          *title,
             const char          *description)
{
  gtk_spinner_set_spinning (self->starting_spinner, FALSE);
  adw_status_page_set_title (self->status_page, title);
  adw_status_page_set_description (self->status_page, description);
  gtk_stack_set_visible_child_name (self->stack, "status");
  self->state = "failed";
  update_actions (self);
}

static void
end_session (CardpinHelpdeskPage *self)
{
  if (self->session == NULL)
    return;

  /* resets the card: the challenge dies with its session */
  g_debug ("Ending the unblock session of %s", self->serial);
  if (cardpin_unblock_session_is_active (self->session))
    cardpin_unblock_session_cancel (self->session);
  g_clear_object (&self->session);
}

static void
clear_form (CardpinHelpdeskPage *self)
{
  cardpin_secure_entry_clear (GTK_EDITABLE (self->response_row));
  cardpin_new_pin_group_clear (self->new_group);
  cardpin_flow_show_error (self->error_label, NULL);
}

static void
show_expired (CardpinHelpdeskPage *self)
{
  g_cancellable_cancel (self->cancellable);
  set_busy (self, FALSE);
  end_session (self);
  clear_form (self);
  show_status (self, _("The Challenge Is No Longer Valid"),
               _("The card was removed or reset, so the challenge you read to your "
                 "helpdesk no longer works. Insert the card, press Start Again and read "
                 "the new challenge to your helpdesk."));
  self->state = "expired";
}

/* Response checking while typing */

static void
set_check_style (GtkWidget  *widget,
                 const char *css_class)
{
  gtk_widget_remove_css_class (widget, "error");
  gtk_widget_remove_css_class (widget, "success");
  if (css_class != NULL)
    gtk_widget_add_css_class (widget, css_class);
}

static void
update_response (CardpinHelpdeskPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->response_row));
  /* the typed digits; wiped before return */
  char digits[CARDPIN_CODE_MAX_BYTES * 2 + CHECK_DIGITS + 1];
  gsize n = 0, expected = 0;
  gboolean bad = FALSE;
  g_autofree char *check = NULL;
  g_autofree char *hint = NULL;
  const char *style = NULL;

  self->response_ok = FALSE;
  self->response_typo = FALSE;

  if (self->session != NULL)
    expected = g_bytes_get_size (cardpin_unblock_session_get_challenge (self->session)) * 2;

  for (const char *p = text; *p != '\0';)
    {
      if (*p == ' ' || *p == '-' || *p == '\t')
        p++;
      else if (g_ascii_strncasecmp (p, "check", 5) == 0)
        p += 5;
      else if (g_ascii_isxdigit (*p) && n < sizeof digits - 1)
        digits[n++] = g_ascii_toupper (*p++);
      else
        {
          bad = TRUE;
          break;
        }
    }

  if (n == 0 && !bad)
    {
      hint = g_strdup_printf (_("Type the response as the helpdesk reads it: %u characters "
                                "in groups of four, then the four after “check”."),
                              (guint) expected);
    }
  else if (!bad && n <= expected)
    {
      check = g_strdup_printf ("check %04X", cardpin_code_checksum (digits, n));
      hint = g_strdup_printf (_("%u of %u characters. The checksum of what you typed is "
                                "next to the entry: when you have typed it all, it must be "
                                "the one the helpdesk reads after “check”."),
                              (guint) n, (guint) expected);
    }
  else if (!bad && n < expected + CHECK_DIGITS)
    {
      check = g_strdup_printf ("check %04X", cardpin_code_checksum (digits, expected));
      hint = g_strdup (_("Now type the four characters after “check”."));
    }
  else
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CardpinSecret) response = NULL;

      response = cardpin_code_parse (text, expected / 2, &error);
      if (n >= expected)
        check = g_strdup_printf ("check %04X", cardpin_code_checksum (digits, expected));
      if (response != NULL)
        {
          self->response_ok = TRUE;
          style = "success";
          hint = g_strdup (_("The response is complete and its checksum matches."));
        }
      else
        {
          /* a typo: flagged here, it never reaches the card */
          self->response_typo = TRUE;
          style = "error";
          hint = g_strdup (error->message);
        }
    }

  cardpin_secret_wipe (digits, sizeof digits);

  gtk_label_set_text (self->response_check_label, check != NULL ? check : "");
  set_check_style (GTK_WIDGET (self->response_check_label), style);
  set_check_style (GTK_WIDGET (self->response_hint_label),
                   self->response_typo ? "error" : NULL);
  if (self->response_typo)
    gtk_widget_add_css_class (GTK_WIDGET (self->response_row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->response_row), "error");
  gtk_label_set_text (self->response_hint_label, hint);
  update_actions (self);
}

static void
response_changed_cb (CardpinHelpdeskPage *self)
{
  update_response (self);
}

static void
response_activated_cb (CardpinHelpdeskPage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (cardpin_new_pin_group_get_new_entry (self->new_group)));
}

static void
valid_changed_cb (CardpinHelpdeskPage *self)
{
  update_actions (self);
}

static void
confirm_activated_cb (CardpinHelpdeskPage *self)
{
  if (can_submit (self))
    gtk_widget_activate_action (GTK_WIDGET (self), "helpdesk.submit", NULL);
}

/* The card session */

static void
begin_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(CardpinHelpdeskPage) self = user_data;
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;
  int admin_left;

  session = cardpin_token_begin_unblock_finish (CARDPIN_TOKEN (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (session != NULL)
        cardpin_unblock_session_cancel (session);
      return;
    }

  gtk_spinner_set_spinning (self->starting_spinner, FALSE);
  set_busy (self, FALSE);

  if (session == NULL)
    {
      g_debug ("No challenge: %s", error->message);
      if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED) ||
          g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD))
        show_expired (self);
      else
        show_status (self, _("Cannot Start the Unblock"), error->message);
      return;
    }

  self->session = g_steal_pointer (&session);

  gtk_label_set_text (self->challenge_label,
                      cardpin_unblock_session_get_challenge_code (self->session));
  admin_left = cardpin_unblock_session_get_admin_tries_left (self->session);
  if (admin_left > 0)
    description = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                "Call your helpdesk and read them this "
                                                "code. They read a response code back to "
                                                "you. The card takes %d more wrong "
                                                "response.",
                                                "Call your helpdesk and read them this "
                                                "code. They read a response code back to "
                                                "you. The card takes %d more wrong "
                                                "responses.", admin_left),
                                   admin_left);
  else
    description = g_strdup (_("Call your helpdesk and read them this code. They read a "
                              "response code back to you."));
  adw_preferences_group_set_description (self->challenge_group, description);

  clear_form (self);
  update_response (self);
  gtk_stack_set_visible_child_name (self->stack, "form");
  self->state = "form";
  update_actions (self);
}

static void
start (CardpinHelpdeskPage *self)
{
  end_session (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  gtk_stack_set_visible_child_name (self->stack, "starting");
  self->state = "starting";
  gtk_spinner_set_spinning (self->starting_spinner, TRUE);
  update_actions (self);
  cardpin_token_begin_unblock_async (self->token, self->cancellable, begin_cb,
                                     g_object_ref (self));
}

static void
complete_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(CardpinHelpdeskPage) self = user_data;
  g_autoptr(GError) error = NULL;
  GtkWidget *window;

  if (!cardpin_unblock_session_complete_finish (CARDPIN_UNBLOCK_SESSION (object), result,
                                                &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      set_busy (self, FALSE);
      g_debug ("Unblock failed: %s", error->message);

      if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_BAD_CODE) &&
          self->session != NULL && cardpin_unblock_session_is_active (self->session))
        {
          /* nothing reached the card */
          cardpin_flow_show_error (self->error_label, error->message);
          return;
        }

      if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED) ||
          g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED))
        {
          show_expired (self);
          return;
        }

      /* the session ended with the attempt: a new one needs a new challenge */
      end_session (self);
      clear_form (self);
      if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_RESPONSE))
        {
          g_autofree char *text = g_strdup_printf ("%s %s", error->message,
                                                   _("Check with your helpdesk that they "
                                                     "answered this card’s challenge, then "
                                                     "start again: the card makes a new "
                                                     "one."));

          show_status (self, _("The Card Did Not Accept the Response"), text);
        }
      else
        show_status (self, _("The PIN Was Not Unblocked"), error->message);
      return;
    }

  set_busy (self, FALSE);
  g_clear_object (&self->session);
  clear_form (self);

  window = gtk_widget_get_ancestor (GTK_WIDGET (self), CARDPIN_TYPE_WINDOW);
  if (window != NULL)
    {
      cardpin_window_add_toast (CARDPIN_WINDOW (window), _("PIN unblocked and set"));
      cardpin_window_go_back (CARDPIN_WINDOW (window));
    }
}

static void
submit_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (widget);
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinSecret) new_pin = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  if (!can_submit (self))
    return;

  length = g_bytes_get_size (cardpin_unblock_session_get_challenge (self->session));
  response = cardpin_code_parse (gtk_editable_get_text (GTK_EDITABLE (self->response_row)),
                                 length, &error);
  if (response == NULL)
    {
      cardpin_flow_show_error (self->error_label, error->message);
      return;
    }
  new_pin = cardpin_new_pin_group_dup_secret (self->new_group);
  g_return_if_fail (new_pin != NULL);

  cardpin_flow_show_error (self->error_label, NULL);
  set_busy (self, TRUE);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  cardpin_unblock_session_complete_async (self->session, response, new_pin,
                                          self->cancellable, complete_cb,
                                          g_object_ref (self));
}

static void
copy_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (widget);
  GtkWidget *window;

  if (self->session == NULL)
    return;

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget),
                          cardpin_unblock_session_get_challenge_code (self->session));
  window = gtk_widget_get_ancestor (widget, CARDPIN_TYPE_WINDOW);
  if (window != NULL)
    cardpin_window_add_toast (CARDPIN_WINDOW (window), _("Challenge copied"));
}

static void
restart_activated (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (widget);
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;

  if (self->busy)
    return;

  /* the card may have come back as a new token: find it by its serial */
  if (self->manager != NULL)
    {
      token = cardpin_manager_find_token (self->manager, NULL, self->serial, &error);
      if (token == NULL)
        {
          show_status (self, _("Insert Your Card"),
                       _("Put the card back into the reader, then press Start Again."));
          return;
        }
      if (token != self->token)
        {
          g_set_object (&self->token, token);
          g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TOKEN]);
        }
    }

  start (self);
}

static void
token_removed_cb (CardpinHelpdeskPage *self,
                  CardpinToken        *token)
{
  if (token == self->token)
    show_expired (self);
}

static void
cardpin_helpdesk_page_constructed (GObject *object)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (object);
  const char *label;

  G_OBJECT_CLASS (cardpin_helpdesk_page_parent_class)->constructed (object);

  g_assert (self->token != NULL);
  self->serial = g_strdup (cardpin_token_get_serial (self->token));
  label = cardpin_token_get_label (self->token);
  adw_window_title_set_subtitle (self->window_title,
                                 label != NULL && *label != '\0' ? label : self->serial);
  cardpin_new_pin_group_setup (self->new_group, self->token, FALSE);
  g_signal_connect_object (cardpin_new_pin_group_get_confirm_entry (self->new_group),
                           "entry-activated", G_CALLBACK (confirm_activated_cb), self,
                           G_CONNECT_SWAPPED);
  if (self->manager != NULL)
    g_signal_connect_object (self->manager, "token-removed",
                             G_CALLBACK (token_removed_cb), self, G_CONNECT_SWAPPED);

  start (self);
}

/* Out of the window (the user went back, the window closed): the card is released. */
static void
cardpin_helpdesk_page_unroot (GtkWidget *widget)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (widget);

  g_cancellable_cancel (self->cancellable);
  end_session (self);
  clear_form (self);

  GTK_WIDGET_CLASS (cardpin_helpdesk_page_parent_class)->unroot (widget);
}

static void
cardpin_helpdesk_page_dispose (GObject *object)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  end_session (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), CARDPIN_TYPE_HELPDESK_PAGE);
  g_clear_object (&self->token);
  g_clear_object (&self->manager);

  G_OBJECT_CLASS (cardpin_helpdesk_page_parent_class)->dispose (object);
}

static void
cardpin_helpdesk_page_finalize (GObject *object)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (object);

  g_free (self->serial);

  G_OBJECT_CLASS (cardpin_helpdesk_page_parent_class)->finalize (object);
}

static void
cardpin_helpdesk_page_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (object);

  switch (prop_id)
    {
    case PROP_MANAGER:
      g_value_set_object (value, self->manager);
      break;
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
cardpin_helpdesk_page_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  CardpinHelpdeskPage *self = CARDPIN_HELPDESK_PAGE (object);

  switch (prop_id)
    {
    case PROP_MANAGER:
      g_set_object (&self->manager, g_value_get_object (value));
      break;
    case PROP_TOKEN:
      g_set_object (&self->token, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cardpin_helpdesk_page_class_init (CardpinHelpdeskPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cardpin_helpdesk_page_constructed;
  object_class->dispose = cardpin_helpdesk_page_dispose;
  object_class->finalize = cardpin_helpdesk_page_finalize;
  object_class->get_property = cardpin_helpdesk_page_get_property;
  object_class->set_property = cardpin_helpdesk_page_set_property;
  widget_class->unroot = cardpin_helpdesk_page_unroot;

  /**
   * CardpinHelpdeskPage:manager:
   *
   * The manager that reports the card's removal and finds it again.
   */
  props[PROP_MANAGER] =
    g_param_spec_object ("manager", NULL, NULL,
                         CARDPIN_TYPE_MANAGER,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CardpinHelpdeskPage:token:
   *
   * The card; a new token when the card came back and the user started again.
   */
  props[PROP_TOKEN] =
    g_param_spec_object ("token", NULL, NULL,
                         CARDPIN_TYPE_TOKEN,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY);

  /**
   * CardpinHelpdeskPage:busy:
   *
   * Whether the card is being worked on.
   */
  props[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_install_action (widget_class, "helpdesk.submit", NULL, submit_activated);
  gtk_widget_class_install_action (widget_class, "helpdesk.copy", NULL, copy_activated);
  gtk_widget_class_install_action (widget_class, "helpdesk.restart", NULL, restart_activated);

  g_type_ensure (CARDPIN_TYPE_NEW_PIN_GROUP);

  cardpin_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cardpin/CardPin/ui/cardpin-helpdesk-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, window_title);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, back_button);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, stack);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, starting_spinner);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, status_page);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, challenge_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, challenge_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, response_row);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, response_check_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, response_hint_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, new_group);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, submit_button);
  gtk_widget_class_bind_template_child (widget_class, CardpinHelpdeskPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, response_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, response_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, valid_changed_cb);
}

static void
cardpin_helpdesk_page_init (CardpinHelpdeskPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* the response is visible (it is compared with what the helpdesk reads) but kept in
   * locked memory that is wiped */
  cardpin_secure_entry_init (GTK_EDITABLE (self->response_row));

  /* a screen reader reads the checksum and the hint with the entry */
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->response_row),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY,
                                  self->response_check_label, self->response_hint_label, NULL,
                                  -1);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->submit_button),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->error_label, NULL,
                                  -1);

  /* the window keeps this page when the card goes: it says so and offers to restart */
  g_object_set_data (G_OBJECT (self), "cardpin-keep-after-removal", GINT_TO_POINTER (TRUE));
}

/**
 * cardpin_helpdesk_page_new:
 * @manager: (nullable): the manager that reports the card's removal
 * @token: the card
 *
 * Creates the page; it asks the card for a challenge at once.
 *
 * Returns: (transfer full): a new #CardpinHelpdeskPage
 */
GtkWidget *
cardpin_helpdesk_page_new (CardpinManager *manager,
                           CardpinToken   *token)
{
  g_return_val_if_fail (manager == NULL || CARDPIN_IS_MANAGER (manager), NULL);
  g_return_val_if_fail (CARDPIN_IS_TOKEN (token), NULL);

  return g_object_new (CARDPIN_TYPE_HELPDESK_PAGE, "manager", manager, "token", token, NULL);
}

CardpinToken *
cardpin_helpdesk_page_get_token (CardpinHelpdeskPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_HELPDESK_PAGE (self), NULL);

  return self->token;
}

const char *
cardpin_helpdesk_page_get_state (CardpinHelpdeskPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_HELPDESK_PAGE (self), NULL);

  return self->state;
}

gboolean
cardpin_helpdesk_page_get_busy (CardpinHelpdeskPage *self)
{
  g_return_val_if_fail (CARDPIN_IS_HELPDESK_PAGE (self), FALSE);

  return self->busy;
}

const char *
_cardpin_helpdesk_page_get_challenge_text (CardpinHelpdeskPage *self)
{
  return gtk_label_get_text (self->challenge_label);
}

GtkEditable *
_cardpin_helpdesk_page_get_response_entry (CardpinHelpdeskPage *self)
{
  return GTK_EDITABLE (self->response_row);
}

const char *
_cardpin_helpdesk_page_get_response_check (CardpinHelpdeskPage *self)
{
  return gtk_label_get_text (self->response_check_label);
}

const char *
_cardpin_helpdesk_page_get_response_hint (CardpinHelpdeskPage *self)
{
  return gtk_label_get_text (self->response_hint_label);
}

gboolean
_cardpin_helpdesk_page_get_response_typo (CardpinHelpdeskPage *self)
{
  return self->response_typo;
}

CardpinNewPinGroup *
_cardpin_helpdesk_page_get_new_group (CardpinHelpdeskPage *self)
{
  return self->new_group;
}

GtkWidget *
_cardpin_helpdesk_page_get_submit_button (CardpinHelpdeskPage *self)
{
  return GTK_WIDGET (self->submit_button);
}

const char *
_cardpin_helpdesk_page_get_status_title (CardpinHelpdeskPage *self)
{
  return adw_status_page_get_title (self->status_page);
}

const char *
_cardpin_helpdesk_page_get_status_text (CardpinHelpdeskPage *self)
{
  return adw_status_page_get_description (self->status_page);
}

const char *
_cardpin_helpdesk_page_get_challenge_hint (CardpinHelpdeskPage *self)
{
  return adw_preferences_group_get_description (self->challenge_group);
}
