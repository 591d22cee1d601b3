/* test-window.c — the main window on the real card stack, under Xvfb
 *
 * A private pcscd with a virtual PIV card, OpenSC's PKCS#11 module, and the window:
 * the card's row shows its serial and PIN state, a wrong PIN shows in the row after a
 * refresh, and pulling the card brings back "Insert your smart card".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <adwaita.h>

#include "cardpin-card-page-private.h"
#include "cardpin-change-page-private.h"
#include "cardpin-certificates-page.h"
#include "cardpin-code.h"
#include "cardpin-details-page.h"
#include "cardpin-helpdesk-page-private.h"
#include "cardpin-online-page-private.h"
#include "cardpin-test-fixture.h"
#include "cardpin-token-row.h"
#include "cardpin-window-private.h"

#define SERIAL "00112233445566778899AABBCCDDEEFF"
#define ADMIN_KEY "000102030405060708090A0B0C0D0E0F"
#define WAIT_MS CARDPIN_TEST_WAIT_MS

typedef struct {
  CardpinTestFixture  stack;   /* the shared card-stack fixture */
  CardpinWindow      *window;
} Fixture;

typedef gboolean (*Condition) (Fixture *fixture);

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until @condition holds; FALSE after @timeout_ms. */
static gboolean
wait_for (Fixture   *fixture,
          Condition  condition,
          guint      timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint wake = g_timeout_add (50, wake_cb, NULL);
  gboolean ok;

  while (!(ok = condition (fixture)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (wake);
  return ok;
}

static const char *
page (Fixture *fixture)
{
  return _cardpin_window_get_page (fixture->window);
}

static gboolean
page_is_cards (Fixture *fixture)
{
  return g_strcmp0 (page (fixture), "cards") == 0;
}

static gboolean
page_is_empty (Fixture *fixture)
{
  return g_strcmp0 (page (fixture), "empty") == 0;
}

static gboolean
page_is_error (Fixture *fixture)
{
  return g_strcmp0 (page (fixture), "error") == 0;
}

static CardpinTokenRow *
first_row (Fixture *fixture)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (_cardpin_window_get_list_box (fixture->window), 0);

  return row != NULL ? CARDPIN_TOKEN_ROW (row) : NULL;
}

static gboolean
row_settled (Fixture *fixture)
{
  CardpinTokenRow *row = first_row (fixture);

  return row != NULL && !cardpin_token_row_get_refreshing (row);
}

static void
open_window (Fixture            *fixture,
             const char * const *modules)
{
  fixture->window = CARDPIN_WINDOW (cardpin_window_new (NULL, modules));
  g_object_ref_sink (fixture->window);
  gtk_window_present (GTK_WINDOW (fixture->window));
}

/* One wrong VERIFY of the PIV PIN (key reference 80) straight over PC/SC: 63C2 */
static void
enter_wrong_pin (const char *reader)
{
  static const guint8 verify[] = {
    0x00, 0x20, 0x00, 0x80, 0x08, '9', '9', '9', '9', '9', '9', 0xFF, 0xFF
  };

  g_assert_cmphex (cardpin_test_send_apdu (reader, verify, sizeof verify), ==, 0x63C2);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  cardpin_test_fixture_setup (&fixture->stack, user_data);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  if (fixture->window != NULL)
    {
      CardpinWindow *window = g_steal_pointer (&fixture->window);
      gint64 end = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

      /* Pending card operations hold the window until they see the cancellation. */
      g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
      gtk_window_destroy (GTK_WINDOW (window));
      g_object_unref (window);
      while (window != NULL && g_get_monotonic_time () < end)
        {
          if (!g_main_context_iteration (NULL, FALSE))
            g_usleep (10000);
        }
      g_assert_null (window);
    }
  cardpin_test_fixture_teardown (&fixture->stack, user_data);
}

static void
test_card_shown_and_removed (Fixture       *fixture,
                             gconstpointer  user_data)
{
  const char * const card_args[] = { "--serial", SERIAL, NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  CardpinTokenRow *row;
  const char *subtitle;
  g_autofree char *reader_line = NULL;

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);

  open_window (fixture, modules);
  g_assert_true (wait_for (fixture, page_is_cards, WAIT_MS));
  g_assert_true (wait_for (fixture, row_settled, WAIT_MS));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (fixture->window));

  row = first_row (fixture);
  g_assert_nonnull (row);
  g_assert_null (gtk_list_box_get_row_at_index (_cardpin_window_get_list_box (fixture->window), 1));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (row)));

  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
  g_test_message ("row: %s | %s | %s",
                  adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                  subtitle, cardpin_token_row_get_state_text (row));
  g_assert_nonnull (strstr (subtitle, "Serial: " SERIAL));
  reader_line = g_strdup_printf ("Reader: %s", CARDPIN_TEST_READER0);
  g_assert_nonnull (strstr (subtitle, reader_line));
  g_assert_cmpstr (cardpin_token_row_get_state_text (row), ==, "3 tries left");

  /* A wrong PIN from elsewhere shows after a refresh. */
  enter_wrong_pin (CARDPIN_TEST_READER0);
  cardpin_token_row_refresh (row);
  g_assert_true (cardpin_token_row_get_refreshing (row));
  g_assert_true (wait_for (fixture, row_settled, WAIT_MS));
  g_assert_cmpstr (cardpin_token_row_get_state_text (first_row (fixture)), ==, "2 tries left");

  /* Pull the card: the window asks for one. */
  cardpin_test_fixture_pull (&fixture->stack, 0);
  g_assert_true (wait_for (fixture, page_is_empty, WAIT_MS));
  g_assert_null (first_row (fixture));
}

static gboolean
card_page_shown (Fixture *fixture)
{
  return CARDPIN_IS_CARD_PAGE (_cardpin_window_get_visible_page (fixture->window));
}

static gboolean
change_page_shown (Fixture *fixture)
{
  return CARDPIN_IS_CHANGE_PAGE (_cardpin_window_get_visible_page (fixture->window));
}

static gboolean
change_page_idle (Fixture *fixture)
{
  GtkWidget *page = _cardpin_window_get_visible_page (fixture->window);

  return CARDPIN_IS_CHANGE_PAGE (page) && !cardpin_change_page_get_busy (CARDPIN_CHANGE_PAGE (page));
}

/* Opens the page of the first card, as a click on its row does. */
static CardpinCardPage *
open_card_page (Fixture *fixture)
{
  g_assert_true (wait_for (fixture, page_is_cards, WAIT_MS));
  g_assert_true (wait_for (fixture, row_settled, WAIT_MS));
  gtk_widget_activate (GTK_WIDGET (first_row (fixture)));
  g_assert_true (wait_for (fixture, card_page_shown, WAIT_MS));
  return CARDPIN_CARD_PAGE (_cardpin_window_get_visible_page (fixture->window));
}

static void
type_into (GtkEditable *editable,
           const char  *text)
{
  gtk_editable_set_text (editable, "");
  for (const char *p = text; *p != '\0'; p++)
    {
      int position = -1;

      gtk_editable_insert_text (editable, p, 1, &position);
    }
}

static void
test_change_pin (Fixture       *fixture,
                 gconstpointer  user_data)
{
  const char * const card_args[] = { "--serial", SERIAL, "--pin", "24681357", NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  CardpinCardPage *card_page;
  CardpinChangePage *change;
  CardpinNewPinGroup *group;
  GtkWidget *submit;

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  open_window (fixture, modules);
  card_page = open_card_page (fixture);

  g_test_message ("card page: %s | %s | %s | %s",
                  _cardpin_card_page_get_holder_text (card_page),
                  _cardpin_card_page_get_serial_text (card_page),
                  _cardpin_card_page_get_pin_text (card_page),
                  _cardpin_card_page_get_puk_text (card_page));
  g_assert_nonnull (strstr (_cardpin_card_page_get_serial_text (card_page), SERIAL));
  g_assert_cmpstr (_cardpin_card_page_get_pin_text (card_page), ==, "PIN OK (3 tries left)");
  g_assert_cmpstr (_cardpin_card_page_get_puk_text (card_page), ==, "3 tries left");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (card_page), "card.change-pin", NULL));
  g_assert_true (wait_for (fixture, change_page_shown, WAIT_MS));
  change = CARDPIN_CHANGE_PAGE (_cardpin_window_get_visible_page (fixture->window));
  group = _cardpin_change_page_get_new_group (change);
  submit = _cardpin_change_page_get_submit_button (change);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (fixture->window));
  g_assert_false (gtk_widget_is_sensitive (submit));

  /* a weak new PIN: the reason shows as it is typed, the button stays off */
  type_into (_cardpin_change_page_get_current_entry (change), "24681357");
  type_into (cardpin_new_pin_group_get_new_entry (group), "234567");
  g_test_message ("weak PIN hint: %s", cardpin_new_pin_group_get_hint (group));
  g_assert_nonnull (strstr (cardpin_new_pin_group_get_hint (group), "run of digits"));
  type_into (cardpin_new_pin_group_get_confirm_entry (group), "234567");
  g_assert_false (cardpin_new_pin_group_get_valid (group));
  g_assert_false (gtk_widget_is_sensitive (submit));

  /* a good one, mistyped in the confirmation */
  type_into (cardpin_new_pin_group_get_new_entry (group), "97531864");
  type_into (cardpin_new_pin_group_get_confirm_entry (group), "97531865");
  g_assert_nonnull (strstr (cardpin_new_pin_group_get_hint (group), "do not match"));
  g_assert_false (gtk_widget_is_sensitive (submit));
  g_assert_cmpint (cardpin_test_card_tries (CARDPIN_TEST_READER0, 0x80), ==, 3);

  /* a wrong current PIN: the tries left, the card counted one */
  type_into (cardpin_new_pin_group_get_confirm_entry (group), "97531864");
  type_into (_cardpin_change_page_get_current_entry (change), "11223344");
  g_assert_true (cardpin_new_pin_group_get_valid (group));
  g_assert_true (gtk_widget_is_sensitive (submit));
  g_signal_emit_by_name (submit, "clicked");
  g_assert_true (cardpin_change_page_get_busy (change));
  g_assert_true (wait_for (fixture, change_page_idle, WAIT_MS));
  g_test_message ("wrong PIN: %s", _cardpin_change_page_get_error (change));
  g_assert_nonnull (strstr (_cardpin_change_page_get_error (change), "2 tries left"));
  g_assert_cmpint (cardpin_test_card_tries (CARDPIN_TEST_READER0, 0x80), ==, 2);

  /* the right one: back on the card page, and another program takes the new PIN */
  type_into (_cardpin_change_page_get_current_entry (change), "24681357");
  g_assert_true (gtk_widget_is_sensitive (submit));
  g_signal_emit_by_name (submit, "clicked");
  if (!wait_for (fixture, card_page_shown, WAIT_MS))
    g_error ("still on the change page: %s", _cardpin_change_page_get_error (change));
  g_assert_cmpstr (_cardpin_card_page_get_pin_text (card_page), ==, "PIN OK (3 tries left)");
  g_assert_cmpint (cardpin_test_yubico_verify (CARDPIN_TEST_READER0, "97531864"), ==, 0);
}

static CardpinHelpdeskPage *
helpdesk_page (Fixture *fixture)
{
  GtkWidget *page = _cardpin_window_get_visible_page (fixture->window);

  return CARDPIN_IS_HELPDESK_PAGE (page) ? CARDPIN_HELPDESK_PAGE (page) : NULL;
}

static gboolean
helpdesk_form_shown (Fixture *fixture)
{
  CardpinHelpdeskPage *page = helpdesk_page (fixture);

  return page != NULL && g_strcmp0 (cardpin_helpdesk_page_get_state (page), "form") == 0;
}

static gboolean
helpdesk_expired (Fixture *fixture)
{
  CardpinHelpdeskPage *page = helpdesk_page (fixture);

  return page != NULL && g_strcmp0 (cardpin_helpdesk_page_get_state (page), "expired") == 0;
}

static gboolean
helpdesk_gone (Fixture *fixture)
{
  return !_cardpin_window_has_page (fixture->window, CARDPIN_TYPE_HELPDESK_PAGE);
}

static gboolean
helpdesk_idle (Fixture *fixture)
{
  CardpinHelpdeskPage *page = helpdesk_page (fixture);

  return page != NULL && !cardpin_helpdesk_page_get_busy (page);
}

static void
block_pin (const char *reader)
{
  static const guint8 verify[] = {
    0x00, 0x20, 0x00, 0x80, 0x08, '9', '9', '9', '9', '9', '9', 0xFF, 0xFF
  };

  while (cardpin_test_card_tries (reader, 0x80) > 0)
    cardpin_test_send_apdu (reader, verify, sizeof verify);
}

/* The helpdesk's answer to the challenge shown, computed with openssl from the key. */
static char *
response_for (const char *challenge_code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) challenge = cardpin_code_parse (challenge_code, 0, &error);
  g_autoptr(GBytes) bytes = NULL;

  g_assert_no_error (error);
  bytes = g_bytes_new (cardpin_secret_get_data (challenge), cardpin_secret_get_length (challenge));
  return cardpin_test_response_code ("-aes-128-ecb", ADMIN_KEY, bytes);
}

static CardpinHelpdeskPage *
open_helpdesk (Fixture *fixture)
{
  CardpinCardPage *card_page = open_card_page (fixture);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (card_page), "card.unblock-helpdesk", NULL));
  g_assert_true (wait_for (fixture, helpdesk_form_shown, WAIT_MS));
  return helpdesk_page (fixture);
}

static void
test_helpdesk_unblock (Fixture       *fixture,
                       gconstpointer  user_data)
{
  const char * const card_args[] = { "--serial", SERIAL, "--admin-key", ADMIN_KEY,
                                     "--admin-tries", "3", NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  CardpinHelpdeskPage *page;
  CardpinNewPinGroup *group;
  GtkEditable *response_entry;
  GtkWidget *submit;
  const char *challenge;
  g_autofree char *response = NULL;
  g_autofree char *typo = NULL;
  g_autofree char *partial_check = NULL;
  g_autoptr(GRegex) format = g_regex_new ("^([0-9A-F]{4} ){7}[0-9A-F]{4}   check [0-9A-F]{4}$",
                                          0, 0, NULL);
  char *p;

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  block_pin (CARDPIN_TEST_READER0);
  open_window (fixture, modules);
  page = open_helpdesk (fixture);
  group = _cardpin_helpdesk_page_get_new_group (page);
  response_entry = _cardpin_helpdesk_page_get_response_entry (page);
  submit = _cardpin_helpdesk_page_get_submit_button (page);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (fixture->window));

  /* the challenge in the DESIGN.md format */
  challenge = _cardpin_helpdesk_page_get_challenge_text (page);
  g_test_message ("challenge: %s", challenge);
  g_assert_true (g_regex_match (format, challenge, 0, NULL));
  response = response_for (challenge);
  g_test_message ("response: %s", response);

  /* the checksum of what is typed so far */
  type_into (response_entry, "1a2B c3");
  partial_check = g_strdup_printf ("check %04X", cardpin_code_checksum ("1A2BC3", 6));
  g_assert_cmpstr (_cardpin_helpdesk_page_get_response_check (page), ==, partial_check);
  g_assert_false (_cardpin_helpdesk_page_get_response_typo (page));

  /* a typo: flagged in place, nothing reaches the card */
  typo = g_strdup (response);
  p = typo + 5;   /* the first digit of the second group */
  *p = *p == '0' ? '1' : '0';
  type_into (response_entry, typo);
  type_into (cardpin_new_pin_group_get_new_entry (group), "97531864");
  type_into (cardpin_new_pin_group_get_confirm_entry (group), "97531864");
  g_test_message ("typo hint: %s", _cardpin_helpdesk_page_get_response_hint (page));
  g_assert_true (_cardpin_helpdesk_page_get_response_typo (page));
  g_assert_true (cardpin_new_pin_group_get_valid (group));
  g_assert_false (gtk_widget_is_sensitive (submit));
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (page), "helpdesk.submit", NULL) &&
                  cardpin_helpdesk_page_get_busy (page));

  /* leaving ends the card session: the card is free at once, and untouched (no admin
   * try spent: a new challenge still allows all three) */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "win.back", NULL));
  g_assert_true (wait_for (fixture, card_page_shown, WAIT_MS));
  g_assert_true (wait_for (fixture, helpdesk_gone, WAIT_MS));
  g_assert_cmpint (cardpin_test_card_tries (CARDPIN_TEST_READER0, 0x80), ==, 0);
  g_assert_true (gtk_widget_activate_action (_cardpin_window_get_visible_page (fixture->window),
                                             "card.unblock-helpdesk", NULL));
  g_assert_true (wait_for (fixture, helpdesk_form_shown, WAIT_MS));
  page = helpdesk_page (fixture);
  g_test_message ("challenge hint: %s", _cardpin_helpdesk_page_get_challenge_hint (page));
  g_assert_nonnull (strstr (_cardpin_helpdesk_page_get_challenge_hint (page),
                            "3 more wrong responses"));
  group = _cardpin_helpdesk_page_get_new_group (page);
  response_entry = _cardpin_helpdesk_page_get_response_entry (page);
  submit = _cardpin_helpdesk_page_get_submit_button (page);
  g_free (response);
  response = response_for (_cardpin_helpdesk_page_get_challenge_text (page));
  type_into (cardpin_new_pin_group_get_new_entry (group), "97531864");
  type_into (cardpin_new_pin_group_get_confirm_entry (group), "97531864");

  /* the right response: the PIN is set, and another program takes it */
  type_into (response_entry, response);
  g_assert_false (_cardpin_helpdesk_page_get_response_typo (page));
  g_assert_true (gtk_widget_is_sensitive (submit));
  g_signal_emit_by_name (submit, "clicked");
  if (!wait_for (fixture, card_page_shown, WAIT_MS))
    g_error ("still on the helpdesk page: %s", _cardpin_helpdesk_page_get_status_text (page));
  g_assert_cmpint (cardpin_test_yubico_verify (CARDPIN_TEST_READER0, "97531864"), ==, 0);
}

static void
test_helpdesk_card_removed (Fixture       *fixture,
                            gconstpointer  user_data)
{
  const char * const card_args[] = { "--serial", SERIAL, "--admin-key", ADMIN_KEY,
                                     "--admin-tries", "3", NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  CardpinHelpdeskPage *page;
  g_autofree char *first = NULL;

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  open_window (fixture, modules);
  page = open_helpdesk (fixture);
  first = g_strdup (_cardpin_helpdesk_page_get_challenge_text (page));
  type_into (_cardpin_helpdesk_page_get_response_entry (page), "1234 5678");

  /* the card goes: the challenge is no longer valid, the page stays to say so */
  cardpin_test_fixture_pull (&fixture->stack, 0);
  g_assert_true (wait_for (fixture, helpdesk_expired, WAIT_MS));
  g_test_message ("expired: %s — %s", _cardpin_helpdesk_page_get_status_title (page),
                  _cardpin_helpdesk_page_get_status_text (page));
  g_assert_cmpstr (_cardpin_helpdesk_page_get_status_title (page), ==,
                   "The Challenge Is No Longer Valid");
  g_assert_cmpstr (gtk_editable_get_text (_cardpin_helpdesk_page_get_response_entry (page)), ==, "");

  /* it comes back: Start Again asks it for a new challenge */
  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  g_assert_true (wait_for (fixture, page_is_cards, WAIT_MS));
  g_assert_true (wait_for (fixture, row_settled, WAIT_MS));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "helpdesk.restart", NULL));
  g_assert_true (wait_for (fixture, helpdesk_form_shown, WAIT_MS));
  g_test_message ("new challenge: %s", _cardpin_helpdesk_page_get_challenge_text (page));
  g_assert_cmpstr (_cardpin_helpdesk_page_get_challenge_text (page), !=, first);
  g_assert_true (wait_for (fixture, helpdesk_idle, WAIT_MS));
}

/* Every label's text under @widget, one per line: what a user can read. */
static void
collect_text (GtkWidget *widget,
              GString   *out)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_visible (widget))
    g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (widget)));
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_text (child, out);
}

static gboolean
details_page_shown (Fixture *fixture)
{
  return CARDPIN_IS_DETAILS_PAGE (_cardpin_window_get_visible_page (fixture->window));
}

static void
test_details (Fixture       *fixture,
              gconstpointer  user_data)
{
  const char * const card_args[] = { "--serial", SERIAL, "--puk-tries", "5", NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  CardpinCardPage *card_page;
  g_autoptr(GString) text = g_string_new (NULL);

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  open_window (fixture, modules);
  card_page = open_card_page (fixture);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (card_page), "card.details", NULL));
  g_assert_true (wait_for (fixture, details_page_shown, WAIT_MS));

  collect_text (_cardpin_window_get_visible_page (fixture->window), text);
  g_test_message ("details:\n%s", text->str);
  g_assert_nonnull (strstr (text->str, "Serial Number\n" SERIAL "\n"));
  g_assert_nonnull (strstr (text->str, "Reader\n" CARDPIN_TEST_READER0 "\n"));
  g_assert_nonnull (strstr (text->str, "ATR\n3B"));
  g_assert_nonnull (strstr (text->str, "PUK\n5 tries left\n"));
  g_assert_nonnull (strstr (text->str, "Role\nUnblock only\n"));
  g_assert_nonnull (strstr (text->str, "Administration Key\n"));
}

static gboolean
online_page_idle (Fixture *fixture)
{
  GtkWidget *page = _cardpin_window_get_visible_page (fixture->window);

  return CARDPIN_IS_ONLINE_PAGE (page) && !cardpin_online_page_get_busy (CARDPIN_ONLINE_PAGE (page));
}

static void
test_online_unreachable (Fixture       *fixture,
                         gconstpointer  user_data)
{
  const char * const card_args[] = { "--serial", SERIAL, "--admin-key", ADMIN_KEY, NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  CardpinCardPage *card_page;
  CardpinOnlinePage *page;
  CardpinNewPinGroup *group;
  GtkWidget *submit;
  const char *error;

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  block_pin (CARDPIN_TEST_READER0);
  open_window (fixture, modules);
  card_page = open_card_page (fixture);

  /* no service configured: no online unblock */
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (card_page), "card.unblock-online", NULL) &&
                  !card_page_shown (fixture));
  g_assert_true (card_page_shown (fixture));

  /* a service that does not answer (nothing listens on 127.0.0.1:9) */
  g_settings_set_string (settings, "unblock-server-url", "https://127.0.0.1:9/");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (card_page), "card.unblock-online", NULL));
  g_assert_true (wait_for (fixture, online_page_idle, WAIT_MS));
  page = CARDPIN_ONLINE_PAGE (_cardpin_window_get_visible_page (fixture->window));
  group = _cardpin_online_page_get_new_group (page);
  submit = _cardpin_online_page_get_submit_button (page);

  type_into (cardpin_new_pin_group_get_new_entry (group), "97531864");
  type_into (cardpin_new_pin_group_get_confirm_entry (group), "97531864");
  g_assert_false (gtk_widget_is_sensitive (submit));
  type_into (_cardpin_online_page_get_password_entry (page), "not-a-real-password");
  g_assert_true (gtk_widget_is_sensitive (submit));
  g_signal_emit_by_name (submit, "clicked");
  g_assert_true (cardpin_online_page_get_busy (page));
  g_assert_true (wait_for (fixture, online_page_idle, WAIT_MS));

  error = _cardpin_online_page_get_error (page);
  g_test_message ("unreachable: %s", error);
  g_assert_nonnull (error);
  g_assert_true (online_page_idle (fixture));
  /* the card is untouched and free */
  g_assert_cmpint (cardpin_test_card_tries (CARDPIN_TEST_READER0, 0x80), ==, 0);
  g_settings_reset (settings, "unblock-server-url");
}

static gboolean
certificates_read (Fixture *fixture)
{
  GtkWidget *page = _cardpin_window_get_visible_page (fixture->window);

  return CARDPIN_IS_CERTIFICATES_PAGE (page) &&
         g_strcmp0 (cardpin_certificates_page_get_state (CARDPIN_CERTIFICATES_PAGE (page)),
                    "loading") != 0;
}

/* Opens the certificates page of the first card and waits for the read; its state
 * ("list", "empty", "error") and its text in @text */
static const char *
read_certificates (Fixture *fixture,
                   GString *text)
{
  CardpinCardPage *card_page = open_card_page (fixture);
  CardpinCertificatesPage *page;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (card_page), "card.certificates", NULL));
  g_assert_true (wait_for (fixture, certificates_read, WAIT_MS));
  page = CARDPIN_CERTIFICATES_PAGE (_cardpin_window_get_visible_page (fixture->window));

  collect_text (GTK_WIDGET (page), text);
  g_test_message ("certificates (%s):\n%s", cardpin_certificates_page_get_state (page), text->str);
  return cardpin_certificates_page_get_state (page);
}

static void
test_certificates (Fixture       *fixture,
                   gconstpointer  user_data)
{
  const char * const card_args[] = { "--serial", SERIAL, "--subject", "Grace Hopper", NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  g_autoptr(GString) text = g_string_new (NULL);

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  open_window (fixture, modules);
  g_assert_cmpstr (read_certificates (fixture, text), ==, "list");
  g_assert_nonnull (strstr (text->str, "never caches a PIN and never holds the card"));
  g_assert_nonnull (strstr (text->str, "Subject\nCN=Grace Hopper"));
  g_assert_nonnull (strstr (text->str, "Certificate for PIV Authentication\nCN=Grace Hopper\n"));
  g_assert_nonnull (strstr (text->str, "Protected By\nThe card’s PIN, once per login"));
  g_assert_nonnull (strstr (text->str, "Non-repudiation (legally binding signatures)\n"
                                       "Protected By\nThe card’s PIN, asked again for every "
                                       "signature"));
  /* the card is free: another program logs in meanwhile */
  g_assert_cmpint (cardpin_test_yubico_verify (CARDPIN_TEST_READER0, "123456"), ==, 0);
}

static void
test_card_inserted_later (Fixture       *fixture,
                          gconstpointer  user_data)
{
  const char *modules[] = { cardpin_test_opensc_module (), NULL };

  open_window (fixture, modules);
  g_assert_true (wait_for (fixture, page_is_empty, WAIT_MS));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (fixture->window));

  cardpin_test_fixture_insert (&fixture->stack, 1, NULL);

  g_assert_true (wait_for (fixture, page_is_cards, WAIT_MS));
  g_assert_true (wait_for (fixture, row_settled, WAIT_MS));
  g_assert_cmpstr (cardpin_token_row_get_state_text (first_row (fixture)), ==, "3 tries left");
}

/* The shortcuts window is built on demand (not with the window), and shows */
static void
test_shortcuts (Fixture       *fixture,
                gconstpointer  user_data)
{
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  GtkShortcutsWindow *overlay;

  open_window (fixture, modules);
  g_assert_null (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (fixture->window)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window),
                                             "win.show-help-overlay", NULL));
  overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (fixture->window));
  g_assert_nonnull (overlay);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (overlay)));
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (overlay)) == GTK_WINDOW (fixture->window));
  /* a second time: the same window again */
  gtk_window_close (GTK_WINDOW (overlay));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window),
                                             "win.show-help-overlay", NULL));
  g_assert_true (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (fixture->window)) == overlay);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (overlay)));
  gtk_window_close (GTK_WINDOW (overlay));
  g_assert_true (wait_for (fixture, page_is_empty, WAIT_MS));
}

static gboolean
spinning (Fixture *fixture)
{
  return gtk_spinner_get_spinning (_cardpin_window_get_loading_spinner (fixture->window));
}

/* A slow card (300 ms a command, a few seconds for the first read): the window says it is
 * looking at once, the spinner joins after half a second and stops with the cards; a
 * quick read shows no spinner at all (see set_page() in cardpin-window.c) */
static void
test_slow_card_spinner (Fixture       *fixture,
                        gconstpointer  user_data)
{
  const char * const card_args[] = { "--apdu-delay-ms", "300", NULL };
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  gint64 start;

  cardpin_test_fixture_insert (&fixture->stack, 0, card_args);
  start = g_get_monotonic_time ();
  open_window (fixture, modules);
  g_assert_cmpstr (page (fixture), ==, "loading");
  g_assert_false (spinning (fixture));

  g_assert_true (wait_for (fixture, spinning, WAIT_MS));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 500 * 1000);
  g_assert_cmpstr (page (fixture), ==, "loading");

  g_assert_true (wait_for (fixture, page_is_cards, WAIT_MS));
  g_assert_false (spinning (fixture));
  g_assert_true (wait_for (fixture, row_settled, WAIT_MS));
  g_assert_cmpstr (cardpin_token_row_get_state_text (first_row (fixture)), ==, "3 tries left");
}

/* A PKCS#11 module that cannot be loaded: a PIV card still shows (read over PC/SC, no
 * module needed), and only what needs the module, its certificates, says why not */
static void
test_bad_module (Fixture       *fixture,
                 gconstpointer  user_data)
{
  const char *modules[] = { "/nonexistent/cardpin-test/no-such-module.so", NULL };
  g_autoptr(GString) text = g_string_new (NULL);

  cardpin_test_fixture_insert (&fixture->stack, 0, NULL);
  open_window (fixture, modules);
  g_assert_true (wait_for (fixture, page_is_cards, WAIT_MS));
  g_assert_true (wait_for (fixture, row_settled, WAIT_MS));
  g_assert_cmpstr (cardpin_token_row_get_state_text (first_row (fixture)), ==, "3 tries left");

  g_assert_cmpstr (read_certificates (fixture, text), ==, "error");
  g_assert_nonnull (strstr (text->str, "no-such-module.so"));
}

static void
test_no_service (Fixture       *fixture,
                 gconstpointer  user_data)
{
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  AdwStatusPage *error_page;

  /* no pcscd yet: the window says so, not "insert your card" */
  open_window (fixture, modules);
  g_assert_true (wait_for (fixture, page_is_error, WAIT_MS));
  error_page = _cardpin_window_get_error_page (fixture->window);
  g_assert_cmpstr (adw_status_page_get_title (error_page), ==,
                   "Smart Card Service Not Available");
  g_assert_nonnull (strstr (adw_status_page_get_description (error_page), "pcscd"));

  /* the service starts and a card comes: it shows up without a restart */
  cardpin_test_fixture_setup (&fixture->stack, NULL);
  cardpin_test_fixture_insert (&fixture->stack, 0, NULL);
  g_assert_true (wait_for (fixture, page_is_cards, WAIT_MS));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  /* Before any thread exists. */
  if (!cardpin_test_stack_enter_namespace (&error))
    g_error ("%s", error->message);

  /* Untranslated words; no accessibility bus on the CI box. */
  g_setenv ("LANGUAGE", "C", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  setlocale (LC_ALL, "C");

  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();

  g_test_add ("/cardpin/window/card-shown-and-removed", Fixture, NULL,
              fixture_set_up, test_card_shown_and_removed, fixture_tear_down);
  g_test_add ("/cardpin/window/card-inserted-later", Fixture, NULL,
              fixture_set_up, test_card_inserted_later, fixture_tear_down);
  g_test_add ("/cardpin/window/change-pin", Fixture, NULL,
              fixture_set_up, test_change_pin, fixture_tear_down);
  g_test_add ("/cardpin/window/helpdesk-unblock", Fixture, NULL,
              fixture_set_up, test_helpdesk_unblock, fixture_tear_down);
  g_test_add ("/cardpin/window/helpdesk-card-removed", Fixture, NULL,
              fixture_set_up, test_helpdesk_card_removed, fixture_tear_down);
  g_test_add ("/cardpin/window/details", Fixture, NULL,
              fixture_set_up, test_details, fixture_tear_down);
  g_test_add ("/cardpin/window/online-unreachable", Fixture, NULL,
              fixture_set_up, test_online_unreachable, fixture_tear_down);
  g_test_add ("/cardpin/window/certificates", Fixture, NULL,
              fixture_set_up, test_certificates, fixture_tear_down);
  g_test_add ("/cardpin/window/shortcuts", Fixture, NULL,
              fixture_set_up, test_shortcuts, fixture_tear_down);
  g_test_add ("/cardpin/window/slow-card-spinner", Fixture, NULL,
              fixture_set_up, test_slow_card_spinner, fixture_tear_down);
  g_test_add ("/cardpin/window/bad-module", Fixture, NULL,
              fixture_set_up, test_bad_module, fixture_tear_down);
  g_test_add ("/cardpin/window/no-service", Fixture, NULL,
              NULL, test_no_service, fixture_tear_down);

  return g_test_run ();
}
