/* test-status.c — discovery and PIN status on the real stack
 *
 * p11-kit -> OpenSC -> pcsc-lite -> private pcscd -> vpcd -> virtual PIV cards, plus a
 * SoftHSM2 token, and cardpin-tool status run as a subprocess.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <PCSC/winscard.h>

#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-test-fixture.h"
#include "cardpin-token.h"

#define SERIAL_A "00112233445566778899AABBCCDDEEFF"
#define SERIAL_B "C0FFEE"
#define SERIAL_B_FULL "00000000000000000000000000C0FFEE"
#define SERIAL_C "0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C"

static CardpinManager *
new_manager (void)
{
  g_autoptr(GError) error = NULL;
  CardpinManager *manager;

  manager = cardpin_manager_new (cardpin_test_modules (NULL), NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (manager);
  return manager;
}

static CardpinToken *
only_token (CardpinManager *manager)
{
  g_autoptr(GError) error = NULL;
  CardpinToken *token;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  token = cardpin_manager_find_token (manager, NULL, NULL, &error);
  g_assert_no_error (error);
  return token;
}

static void
test_fresh (CardpinTestFixture *fixture,
            gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_A, NULL });
  manager = new_manager ();
  token = only_token (manager);
  g_assert_null (cardpin_manager_get_pcsc_error (manager));

  g_assert_cmpstr (cardpin_token_get_reader (token), ==, "Virtual PCD 00 00");
  g_assert_cmpstr (cardpin_token_get_serial (token), ==, SERIAL_A);
  g_assert_true (cardpin_token_is_hardware (token));
  g_assert_true (cardpin_token_is_piv (token));
  g_assert_nonnull (cardpin_token_get_atr (token));
  g_assert_cmpuint (strlen (cardpin_token_get_atr (token)), >=, 4);
  g_assert_true (g_str_has_prefix (cardpin_token_get_atr (token), "3B") ||
                 g_str_has_prefix (cardpin_token_get_atr (token), "3F"));
  g_assert_nonnull (cardpin_token_get_label (token));
  g_assert_nonnull (cardpin_token_get_manufacturer (token));
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_tries_max (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_is_default (token), ==, 1);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
  g_assert_cmpstr (cardpin_pin_state_to_string (cardpin_token_get_pin_state (token)), ==,
                   "ok");

  g_clear_object (&token);
  g_assert_finalize_object (g_steal_pointer (&manager));
}

static void
new_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  CardpinManager **manager = user_data;
  g_autoptr(GError) error = NULL;

  *manager = cardpin_manager_new_finish (result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*manager);
}

static void
test_new_async (CardpinTestFixture *fixture,
                gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad[] = { "/nonexistent/module.so", NULL };

  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--serial", SERIAL_B, NULL });
  cardpin_manager_new_async (cardpin_test_modules (NULL), NULL, new_cb, &manager);
  while (manager == NULL)
    g_main_context_iteration (NULL, TRUE);
  token = only_token (manager);
  g_assert_cmpstr (cardpin_token_get_serial (token), ==, SERIAL_B_FULL);
  g_clear_object (&token);
  g_assert_finalize_object (g_steal_pointer (&manager));

  /* a module that cannot be loaded is an error, not an empty list */
  manager = cardpin_manager_new (bad, NULL, &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_FAILED);
  g_assert_null (manager);
}

static void
test_wrong_pins (CardpinTestFixture *fixture,
                 gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--pin-tries", "5", "--pin", "24681357",
                                               NULL });
  manager = new_manager ();
  token = only_token (manager);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 5);
  g_assert_cmpint (cardpin_token_get_pin_is_default (token), ==, 0);

  /* one wrong PIN */
  cardpin_test_wrong_pin ("Virtual PCD 00 00");
  g_assert_true (cardpin_token_refresh (token, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 4);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_COUNT_LOW);

  /* two wrong PINs; seen by a full re-enumeration too */
  cardpin_test_wrong_pin ("Virtual PCD 00 00");
  g_assert_true (cardpin_manager_refresh (manager, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_COUNT_LOW);

  /* down to the final try */
  cardpin_test_wrong_pin ("Virtual PCD 00 00");
  cardpin_test_wrong_pin ("Virtual PCD 00 00");
  g_assert_true (cardpin_token_refresh (token, NULL, &error));
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 1);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_FINAL_TRY);
}

static void
refresh_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (cardpin_token_refresh_finish (CARDPIN_TOKEN (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static void
test_blocked (CardpinTestFixture *fixture,
              gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  gboolean done = FALSE;
  guint i;

  cardpin_test_fixture_insert (fixture, 0, NULL);
  manager = new_manager ();
  token = only_token (manager);

  for (i = 0; i < 3; i++)
    cardpin_test_wrong_pin ("Virtual PCD 00 00");

  cardpin_token_refresh_async (token, NULL, refresh_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 0);
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_LOCKED);
}

static void
test_puk_blocked (CardpinTestFixture *fixture,
                  gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  /* RESET RETRY COUNTER with a wrong PUK (and a new PIN), both FF-padded */
  static const guint8 wrong_puk[] = {
    0x00, 0x2C, 0x00, 0x80, 0x10,
    '9', '9', '9', '9', '9', '9', '9', '9',
    '1', '1', '2', '2', '3', '3', 0xFF, 0xFF,
  };
  guint i;

  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--puk-tries", "2", "--pin-tries", "2",
                                               NULL });
  g_assert_cmphex (cardpin_test_send_apdu ("Virtual PCD 00 01", wrong_puk, sizeof wrong_puk), ==, 0x63C1);
  g_assert_cmphex (cardpin_test_send_apdu ("Virtual PCD 00 01", wrong_puk, sizeof wrong_puk), ==, 0x63C0);
  for (i = 0; i < 2; i++)
    cardpin_test_wrong_pin ("Virtual PCD 00 01");

  manager = new_manager ();
  token = only_token (manager);
  g_assert_cmpstr (cardpin_token_get_reader (token), ==, "Virtual PCD 00 01");
  g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, 0);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, 0);
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_LOCKED);
}

static void
test_two_cards (CardpinTestFixture *fixture,
                gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) a = NULL;
  g_autoptr(CardpinToken) b = NULL;
  g_autoptr(CardpinToken) none = NULL;
  g_autoptr(GError) error = NULL;

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_A, NULL });
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--serial", SERIAL_B, "--pin-tries", "4",
                                               NULL });
  cardpin_test_wrong_pin ("Virtual PCD 00 01");

  manager = new_manager ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);

  none = cardpin_manager_find_token (manager, NULL, NULL, &error);
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD);
  g_assert_null (none);
  g_clear_error (&error);

  a = cardpin_manager_find_token (manager, "Virtual PCD 00 00", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cardpin_token_get_serial (a), ==, SERIAL_A);
  g_assert_cmpint (cardpin_token_get_pin_state (a), ==, CARDPIN_PIN_STATE_OK);

  b = cardpin_manager_find_token (manager, NULL, "00000000000000000000000000c0ffee", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cardpin_token_get_serial (b), ==, SERIAL_B_FULL);
  g_assert_cmpstr (cardpin_token_get_reader (b), ==, "Virtual PCD 00 01");
  g_assert_cmpint (cardpin_token_get_pin_tries_left (b), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_tries_max (b), ==, 4);
  g_assert_cmpint (cardpin_token_get_pin_state (b), ==, CARDPIN_PIN_STATE_COUNT_LOW);
}

typedef struct {
  guint added;
  guint removed;
  guint items_changed;
  char *last_serial;
  GThread *test_thread;
  GThread *thread;   /* the one the signals came in, when it is not test_thread */
} Events;

static void
token_added_cb (CardpinManager *manager,
                CardpinToken   *token,
                Events         *events)
{
  if (events->test_thread != NULL && g_thread_self () != events->test_thread)
    events->thread = g_thread_self ();
  events->added++;
  g_free (events->last_serial);
  events->last_serial = g_strdup (cardpin_token_get_serial (token));
}

static void
token_removed_cb (CardpinManager *manager,
                  CardpinToken   *token,
                  Events         *events)
{
  events->removed++;
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Events     *events)
{
  events->items_changed++;
}

static gboolean
timeout_cb (gpointer data)
{
  gboolean *timed_out = data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until *@counter reaches @value; %FALSE when CARDPIN_TEST_WAIT_MS passed first */
static gboolean
reaches (guint *counter,
         guint  value)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (CARDPIN_TEST_WAIT_MS, timeout_cb, &timed_out);

  while (*counter < value && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return !timed_out;
}

static void
wait_for (guint *counter,
          guint  value)
{
  g_assert_true (reaches (counter, value));
}

/* The token with @serial, or %NULL */
static CardpinToken *
find_serial (CardpinManager *manager,
             const char     *serial)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (manager)); i++)
    {
      g_autoptr(CardpinToken) token = g_list_model_get_item (G_LIST_MODEL (manager), i);

      if (g_strcmp0 (cardpin_token_get_serial (token), serial) == 0)
        return g_steal_pointer (&token);
    }
  return NULL;
}

/* The end of a watch test: stops watching, drops the handlers counting into @events and
 * asserts that nothing else still holds *@manager as it finalizes it */
static void
stop_watching (CardpinManager **manager,
               Events          *events)
{
  cardpin_manager_stop_watching (*manager);
  g_signal_handlers_disconnect_by_data (*manager, events);
  g_free (events->last_serial);
  g_assert_finalize_object (g_steal_pointer (manager));
}

static void
test_watch (CardpinTestFixture *fixture,
            gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  Events events = { 0 };

  manager = new_manager ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 0);

  g_signal_connect (manager, "token-added", G_CALLBACK (token_added_cb), &events);
  g_signal_connect (manager, "token-removed", G_CALLBACK (token_removed_cb), &events);
  g_signal_connect (manager, "items-changed", G_CALLBACK (items_changed_cb), &events);
  cardpin_manager_start_watching (manager);

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_A, NULL });
  wait_for (&events.added, 1);
  g_assert_cmpstr (events.last_serial, ==, SERIAL_A);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);

  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--serial", SERIAL_B, NULL });
  wait_for (&events.added, 2);
  g_assert_cmpstr (events.last_serial, ==, SERIAL_B_FULL);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);

  cardpin_test_fixture_pull (fixture, 0);
  wait_for (&events.removed, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);

  /* the same card again */
  cardpin_test_fixture_insert (fixture, 0, NULL);
  wait_for (&events.added, 3);
  g_assert_cmpstr (events.last_serial, ==, SERIAL_A);

  cardpin_test_fixture_pull (fixture, 1);
  cardpin_test_fixture_pull (fixture, 0);
  wait_for (&events.removed, 3);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 0);
  g_assert_cmpuint (events.items_changed, ==, events.added + events.removed);

  stop_watching (&manager, &events);
}

/* A manager as the app's: PIV cards read over PC/SC alone, watching, its signals counted
 * in @events */
static CardpinManager *
watch_as_the_app (Events *events)
{
  g_autoptr(GError) error = NULL;
  CardpinManager *manager;

  manager = cardpin_manager_new_full (cardpin_test_modules (NULL),
                                      CARDPIN_MANAGER_FLAGS_PCSC_FIRST, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (manager, "token-added", G_CALLBACK (token_added_cb), events);
  g_signal_connect (manager, "token-removed", G_CALLBACK (token_removed_cb), events);
  cardpin_manager_start_watching (manager);
  return manager;
}

/* Waits until the card in reader @index has answered more than @answered commands,
 * iterating the context meanwhile */
static void
wait_for_apdus (CardpinTestFixture *fixture,
                guint               index,
                guint               answered)
{
  gint64 end = g_get_monotonic_time () + (gint64) CARDPIN_TEST_WAIT_MS * 1000;

  while (cardpin_test_fixture_card_apdus (fixture, index) == answered &&
         g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  g_assert_cmpuint (cardpin_test_fixture_card_apdus (fixture, index), >, answered);
}

/* A card that is there but cannot be read for a moment (another program holds it, it is
 * being reset) when the readers change is not a removed card: its token stays as it was,
 * and the watch reads the card again by itself once it answers. Before, the token was
 * removed (and added again at the next change), and the app dropped that card's pages,
 * a PIN change among them, for the list of cards (test-window "still on the change
 * page", now and then). The card stops answering through the virtual card's
 * --mute-file, deterministically: no other program has to win a race for it. */
static void
test_watch_card_held (CardpinTestFixture *fixture,
                      gconstpointer       data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) a = NULL;
  g_autoptr(CardpinToken) first = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *mute = g_build_filename (cardpin_test_stack_get_dir (fixture->stack),
                                            "card-0.mute", NULL);
  Events events = { 0 };
  guint answered;

  manager = watch_as_the_app (&events);

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "-v", "--serial",
                                                                    SERIAL_A, "--mute-file",
                                                                    mute, NULL });
  wait_for (&events.added, 1);
  g_assert_cmpstr (events.last_serial, ==, SERIAL_A);
  a = g_list_model_get_item (G_LIST_MODEL (manager), 0);

  /* card A stops answering but stays in; card B comes, and the watch reads every card */
  g_assert_true (g_file_set_contents (mute, "", 0, &error));
  g_assert_no_error (error);
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--serial", SERIAL_B,
                                                                    NULL });
  wait_for (&events.added, 2);

  /* A answers again right away, while the watch still reads it again by itself; what
   * follows is the model as the read with A mute left it (this thread has not iterated
   * the context since) */
  answered = cardpin_test_fixture_card_apdus (fixture, 0);
  g_assert_cmpint (g_unlink (mute), ==, 0);
  g_assert_cmpstr (events.last_serial, ==, SERIAL_B_FULL);
  g_assert_cmpuint (events.removed, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);
  first = g_list_model_get_item (G_LIST_MODEL (manager), 0);
  g_assert_true (first == a);
  g_clear_object (&first);
  g_assert_cmpstr (cardpin_token_get_serial (a), ==, SERIAL_A);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (a), ==, 3);

  /* read again with no reader change: the card answers commands again */
  wait_for_apdus (fixture, 0, answered);

  /* B pulled: one removal, B's; A is still the token it was, with the card's state */
  cardpin_test_fixture_pull (fixture, 1);
  wait_for (&events.removed, 1);
  g_assert_cmpuint (events.removed, ==, 1);
  g_assert_cmpuint (events.added, ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  first = g_list_model_get_item (G_LIST_MODEL (manager), 0);
  g_assert_true (first == a);
  g_assert_cmpstr (cardpin_token_get_serial (a), ==, SERIAL_A);
  g_assert_cmpstr (cardpin_token_get_reader (a), ==, CARDPIN_TEST_READER0);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (a), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_tries_max (a), ==, 3);
  g_assert_cmpint (cardpin_token_get_pin_state (a), ==, CARDPIN_PIN_STATE_OK);

  stop_watching (&manager, &events);
}

/* A card swapped for another in the same reader while the watch was busy (reading the
 * other cards after a change), so that it never saw the reader empty: when the new card
 * cannot be read yet, the token of the card that went goes too, instead of staying as
 * if it were the new card's (its serial, its tries) until the next change. pcsc-lite's
 * count of insertions and removals in the reader tells the two cards apart. The swap
 * lands between two waits of the watch deterministically: this test holds a PC/SC
 * transaction on the card in reader 1, so the watch's read of the cards stops there,
 * after it saw A in reader 0, until the swap is done; and this test's own connection to
 * A, released, is what starts that read. C cannot be read from the start
 * (--mute-file). */
static void
test_watch_card_swapped (CardpinTestFixture *fixture,
                         gconstpointer       data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) a = NULL;
  g_autoptr(CardpinToken) c = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *mute = g_build_filename (cardpin_test_stack_get_dir (fixture->stack),
                                            "card-0.mute", NULL);
  /* another card: not A's state file, which reader 0 would load by default */
  g_autofree char *c_state = g_build_filename (cardpin_test_stack_get_dir (fixture->stack),
                                               "card-c.state", NULL);
  Events events = { 0 };
  SCARDCONTEXT context = 0;
  SCARDHANDLE on_a = 0;
  SCARDHANDLE on_b = 0;
  DWORD protocol = 0;
  guint answered;

  manager = watch_as_the_app (&events);

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "-v", "--serial",
                                                                    SERIAL_A, NULL });
  wait_for (&events.added, 1);
  a = find_serial (manager, SERIAL_A);
  g_assert_nonnull (a);

  /* A in use by this test when B comes: the watch reads both and from then on knows
   * reader 0 as in use */
  g_assert_cmpint (SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &context), ==,
                   SCARD_S_SUCCESS);
  g_assert_cmpint (SCardConnect (context, CARDPIN_TEST_READER0, SCARD_SHARE_SHARED,
                                 SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &on_a, &protocol),
                   ==, SCARD_S_SUCCESS);
  cardpin_test_fixture_insert (fixture, 1, (const char * const[]) { "--serial", SERIAL_B,
                                                                    NULL });
  wait_for (&events.added, 2);

  /* the watch's next read of the cards waits at B until this transaction ends; A let
   * go starts that read, and once A answers, the watch has seen A in reader 0 */
  g_assert_cmpint (SCardConnect (context, CARDPIN_TEST_READER1, SCARD_SHARE_SHARED,
                                 SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &on_b, &protocol),
                   ==, SCARD_S_SUCCESS);
  g_assert_cmpint (SCardBeginTransaction (on_b), ==, SCARD_S_SUCCESS);
  answered = cardpin_test_fixture_card_apdus (fixture, 0);
  g_assert_cmpint (SCardDisconnect (on_a, SCARD_LEAVE_CARD), ==, SCARD_S_SUCCESS);
  wait_for_apdus (fixture, 0, answered);

  /* A swapped for C, which cannot be read, while the watch waits */
  cardpin_test_fixture_pull (fixture, 0);
  g_assert_true (g_file_set_contents (mute, "", 0, &error));
  g_assert_no_error (error);
  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_C,
                                                                    "--state", c_state,
                                                                    "--mute-file", mute,
                                                                    NULL });
  g_assert_cmpint (SCardEndTransaction (on_b, SCARD_LEAVE_CARD), ==, SCARD_S_SUCCESS);
  g_assert_cmpint (SCardDisconnect (on_b, SCARD_LEAVE_CARD), ==, SCARD_S_SUCCESS);
  g_assert_cmpint (SCardReleaseContext (context), ==, SCARD_S_SUCCESS);

  /* the watch then finds a card in reader 0 that is not A and cannot be read: A's token
   * goes, and no token shows A's serial */
  reaches (&events.removed, 1);
  g_assert_cmpuint (events.removed, ==, 1);
  g_assert_null (find_serial (manager, SERIAL_A));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  g_assert_cmpuint (events.added, ==, 2);

  /* C answers: its token comes, from the watch's retries or at the latest at the next
   * reader change (B pulled), whichever reads C first */
  g_assert_cmpint (g_unlink (mute), ==, 0);
  cardpin_test_fixture_pull (fixture, 1);
  wait_for (&events.added, 3);
  g_assert_cmpstr (events.last_serial, ==, SERIAL_C);
  wait_for (&events.removed, 2);
  g_assert_cmpuint (events.added, ==, 3);
  g_assert_cmpuint (events.removed, ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  c = find_serial (manager, SERIAL_C);
  g_assert_nonnull (c);
  g_assert_true (c != a);
  g_assert_cmpstr (cardpin_token_get_reader (c), ==, CARDPIN_TEST_READER0);
  g_assert_cmpint (cardpin_token_get_pin_tries_left (c), ==, 3);

  g_clear_object (&c);
  stop_watching (&manager, &events);
}

/* The manager's signals come in the thread that runs its main context, also while that
 * thread is not iterating it (between two iterations of its own loop, when no thread
 * owns the context): never in the thread that watches the readers, where a GTK window
 * taking them would be changed from a second thread (seen: test-window's window
 * disposed in the watch thread, which then joined itself). */
static void
test_watch_thread (CardpinTestFixture *fixture,
                   gconstpointer       data)
{
  g_autoptr(CardpinManager) manager = NULL;
  Events events = { .test_thread = g_thread_self () };
  gint64 end;

  manager = new_manager ();
  g_signal_connect (manager, "token-added", G_CALLBACK (token_added_cb), &events);
  cardpin_manager_start_watching (manager);

  /* a card comes while this thread does not iterate: its change waits until it does */
  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_A, NULL });
  end = g_get_monotonic_time () + (gint64) CARDPIN_TEST_WAIT_MS * 1000;
  while (g_atomic_int_get (&events.added) == 0 && !g_main_context_pending (NULL) &&
         g_get_monotonic_time () < end)
    g_usleep (10 * 1000);
  g_assert_null (events.thread);
  g_assert_cmpuint (g_atomic_int_get (&events.added), ==, 0);

  wait_for (&events.added, 1);
  g_assert_null (events.thread);
  g_assert_cmpstr (events.last_serial, ==, SERIAL_A);

  stop_watching (&manager, &events);
}

static void
test_softhsm (CardpinTestFixture *fixture,
              gconstpointer  data)
{
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (cardpin_test_stack_get_dir (fixture->stack),
                                           "softhsm", NULL);
  g_autofree char *tokens = g_build_filename (dir, "tokens", NULL);
  g_autofree char *conf = g_build_filename (dir, "softhsm2.conf", NULL);
  g_autofree char *conf_text = NULL;
  const char *softhsm = g_getenv ("CARDPIN_SOFTHSM_MODULE");
  const char *modules[3];
  int status = -1;
  guint i;
  guint n_soft = 0;
  gboolean found_card = FALSE;
  gboolean found_soft = FALSE;

  g_assert_nonnull (softhsm);
  g_assert_cmpint (g_mkdir_with_parents (tokens, 0700), ==, 0);
  conf_text = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\n"
                               "log.level = ERROR\n", tokens);
  g_assert_true (g_file_set_contents (conf, conf_text, -1, &error));
  g_setenv ("SOFTHSM2_CONF", conf, TRUE);

  /* test PINs in argv are fine for this throw-away token */
  g_assert_true (g_spawn_sync (NULL,
                               (char *[]) { "softhsm2-util", "--init-token", "--free",
                                            "--label", "cardpin-soft", "--pin", "1234",
                                            "--so-pin", "12345678", NULL },
                               NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, &error));

  cardpin_test_fixture_insert (fixture, 0, (const char * const[]) { "--serial", SERIAL_A, NULL });

  modules[0] = cardpin_test_opensc_module ();
  modules[1] = softhsm;
  modules[2] = NULL;
  manager = cardpin_manager_new (modules, NULL, &error);
  g_assert_no_error (error);

  for (i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (manager)); i++)
    {
      g_autoptr(CardpinToken) token = g_list_model_get_item (G_LIST_MODEL (manager), i);

      if (g_strcmp0 (cardpin_token_get_serial (token), SERIAL_A) == 0)
        {
          found_card = TRUE;
          g_assert_true (cardpin_token_is_hardware (token));
          continue;
        }

      n_soft++;
      g_assert_false (cardpin_token_is_hardware (token));
      g_assert_null (cardpin_token_get_reader (token));
      g_assert_null (cardpin_token_get_atr (token));
      g_assert_cmpint (cardpin_token_get_pin_tries_left (token), ==, -1);
      g_assert_cmpint (cardpin_token_get_puk_tries_left (token), ==, -1);
      g_assert_cmpstr (cardpin_token_get_manufacturer (token), ==, "SoftHSM project");
      /* SoftHSM's spare free slot is not listed: only the initialized token */
      g_assert_cmpstr (cardpin_token_get_label (token), ==, "cardpin-soft");
      found_soft = TRUE;
      g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_OK);
      g_assert_cmpuint (cardpin_token_get_min_pin_length (token), >=, 4);
    }
  g_assert_true (found_card);
  g_assert_true (found_soft);
  g_assert_cmpuint (n_soft, ==, 1);
  g_unsetenv ("SOFTHSM2_CONF");
}

int
main (int   argc,
      char *argv[])
{
  cardpin_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add ("/cardpin/status/" path, CardpinTestFixture, NULL, \
              cardpin_test_fixture_setup, func, cardpin_test_fixture_teardown)

  ADD ("fresh", test_fresh);
  ADD ("new-async", test_new_async);
  ADD ("wrong-pins", test_wrong_pins);
  ADD ("blocked", test_blocked);
  ADD ("puk-blocked", test_puk_blocked);
  ADD ("two-cards", test_two_cards);
  ADD ("watch", test_watch);
  ADD ("watch-thread", test_watch_thread);
  ADD ("watch-card-held", test_watch_card_held);
  ADD ("watch-card-swapped", test_watch_card_swapped);
  ADD ("softhsm", test_softhsm);

#undef ADD

  return g_test_run ();
}
