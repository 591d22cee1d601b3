/* test-store.c — CardpinStore on SQLite and on a private PostgreSQL server
 *
 * Every case runs against both backends on a fresh database: SQLite in a temporary
 * folder, PostgreSQL in a database of its own on a private server that
 * tests/server/pg-private.sh runs around this program (initdb + pg_ctl in a temporary
 * folder, Unix socket only).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>

#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "cardpin-store.h"

/* 2023-11-14T22:13:20Z; its UTC day ends 6400 s later */
#define NOW        ((gint64) 1700000000)
#define TO_MIDNIGHT 6400

static struct {
  char *dir;
  char *pg_uri;      /* the server's maintenance database */
  char *pg_socket;
  guint n_databases;
} world;

typedef struct {
  const char *backend;   /* "sqlite" or "postgresql" */
} Backend;

typedef struct {
  const Backend *backend;
  char *database;        /* what goes into the keyfile's "database" */
  char *sqlite_path;     /* SQLite only */
  char *pg_name;         /* PostgreSQL only */
  CardpinStore *store;
} Fixture;

static const Backend sqlite_backend = { "sqlite" };
static const Backend pg_backend = { "postgresql" };

/* Helpers */

static PGconn *
pg_connect (const char *uri)
{
  PGconn *conn = PQconnectdb (uri);

  if (PQstatus (conn) != CONNECTION_OK)
    g_error ("cannot connect to the private PostgreSQL: %s", PQerrorMessage (conn));
  return conn;
}

static void
pg_exec (const char *uri,
         const char *sql)
{
  PGconn *conn = pg_connect (uri);
  PGresult *result = PQexec (conn, sql);

  if (PQresultStatus (result) != PGRES_COMMAND_OK && PQresultStatus (result) != PGRES_TUPLES_OK)
    g_error ("%s: %s", sql, PQerrorMessage (conn));
  PQclear (result);
  PQfinish (conn);
}

/* Runs @sql on the fixture's database outside the store; FALSE when the database
 * refuses it */
static gboolean
raw_exec (Fixture    *fixture,
          const char *sql)
{
  gboolean ok;

  if (fixture->sqlite_path != NULL)
    {
      sqlite3 *db = NULL;

      g_assert_cmpint (sqlite3_open (fixture->sqlite_path, &db), ==, SQLITE_OK);
      sqlite3_busy_timeout (db, 5000);
      ok = sqlite3_exec (db, sql, NULL, NULL, NULL) == SQLITE_OK;
      sqlite3_close (db);
    }
  else
    {
      PGconn *conn = pg_connect (fixture->database);
      PGresult *result = PQexec (conn, sql);

      ok = PQresultStatus (result) == PGRES_COMMAND_OK ||
           PQresultStatus (result) == PGRES_TUPLES_OK;
      PQclear (result);
      PQfinish (conn);
    }
  return ok;
}

/* Everything the database holds on disk (SQLite: the file and its WAL) or in a dump */
static GBytes *
database_bytes (Fixture *fixture)
{
  GByteArray *all = g_byte_array_new ();

  if (fixture->sqlite_path != NULL)
    {
      const char *suffixes[] = { "", "-wal", "-journal" };

      for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
        {
          g_autofree char *path = g_strconcat (fixture->sqlite_path, suffixes[i], NULL);
          g_autofree char *data = NULL;
          gsize length;

          if (g_file_get_contents (path, &data, &length, NULL))
            g_byte_array_append (all, (guint8 *) data, length);
        }
    }
  else
    {
      g_autofree char *pg_dump = NULL;
      g_autofree char *out = NULL;
      g_autoptr(GError) error = NULL;
      int status;

      pg_dump = g_build_filename (g_getenv ("PG_BINDIR"), "pg_dump", NULL);
      const char *argv[] = { pg_dump, "--data-only", fixture->database, NULL };
      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                    &status, &error);
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_byte_array_append (all, (guint8 *) out, strlen (out));
    }
  return g_byte_array_free_to_bytes (all);
}

static gboolean
bytes_contain (GBytes     *bytes,
               const char *text)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);

  return memmem (data, length, text, strlen (text)) != NULL;
}

static CardpinStore *
open_store (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  CardpinStore *store = cardpin_store_open (fixture->database, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_cmpstr (cardpin_store_get_backend (store), ==, fixture->backend->backend);
  return store;
}

static void
reopen (Fixture *fixture)
{
  gint64 now = NOW;

  g_clear_pointer (&fixture->store, cardpin_store_free);
  fixture->store = open_store (fixture);
  cardpin_store_set_now (fixture->store, now);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->backend = data;
  if (g_str_equal (fixture->backend->backend, "sqlite"))
    {
      g_autofree char *name = g_strdup_printf ("store-%u.sqlite", ++world.n_databases);

      fixture->sqlite_path = g_build_filename (world.dir, name, NULL);
      fixture->database = g_strdup (fixture->sqlite_path);
    }
  else
    {
      g_autofree char *sql = NULL;

      fixture->pg_name = g_strdup_printf ("store%u", ++world.n_databases);
      sql = g_strdup_printf ("CREATE DATABASE %s", fixture->pg_name);
      pg_exec (world.pg_uri, sql);
      fixture->database = g_strdup_printf ("postgresql:///%s?host=%s&user=cardpin",
                                           fixture->pg_name, world.pg_socket);
    }
  fixture->store = open_store (fixture);
  cardpin_store_set_now (fixture->store, NOW);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_pointer (&fixture->store, cardpin_store_free);
  g_free (fixture->database);
  g_free (fixture->sqlite_path);
  g_free (fixture->pg_name);
}

static CardpinAuditRecord
request (const char *user,
         const char *serial,
         const char *request_id)
{
  return (CardpinAuditRecord) {
    .user = (char *) user,
    .method = (char *) "response",
    .serial = (char *) serial,
    .challenge_sha256 = (char *) "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    .request_id = (char *) request_id,
  };
}

static CardpinGrant
grant (CardpinStore *store,
       const char   *serial,
       const char   *user,
       guint         quota_card,
       guint         quota_user,
       guint        *retry_after)
{
  CardpinAuditRecord audit = request (user, serial, "req");
  g_autoptr(GError) error = NULL;
  CardpinGrant outcome = -1;

  g_assert_true (cardpin_store_grant (store, serial, user, quota_card, quota_user, &audit,
                                      &outcome, retry_after, &error));
  g_assert_no_error (error);
  return outcome;
}

static void
add_card (CardpinStore *store,
          const char   *serial,
          const char   *user)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (cardpin_store_card_add (store, serial, user, &error));
  g_assert_no_error (error);
}

/* Cases */

static gint64 raw_int (Fixture    *fixture,
                       const char *sql);

static void
test_schema (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(CardpinStoreCard) card = NULL;
  g_autoptr(GError) error = NULL;
  CardpinStore *newer;

  /* created on first use, with its version; reopened, nothing lost */
  add_card (fixture->store, "0011", "alice");
  reopen (fixture);
  reopen (fixture);
  card = cardpin_store_card_lookup (fixture->store, "0011", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (card->user, ==, "alice");
  g_assert_cmpint (raw_int (fixture, "SELECT version FROM schema_version"), ==, 3);

  /* a database from a newer cardpin is refused, not touched */
  g_assert_true (raw_exec (fixture, "UPDATE schema_version SET version = 999"));
  newer = cardpin_store_open (fixture->database, &error);
  g_assert_null (newer);
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_SCHEMA);
  g_assert_true (raw_exec (fixture, "UPDATE schema_version SET version = 3"));

  /* a database of version 1 is migrated to 2 (PostgreSQL: its grant function), and
   * grants on it */
  g_assert_true (raw_exec (fixture, "UPDATE schema_version SET version = 1"));
  reopen (fixture);
  g_assert_cmpint (raw_int (fixture, "SELECT version FROM schema_version"), ==, 3);
  g_assert_cmpint (grant (fixture->store, "0011", "alice", 1, 1, NULL), ==,
                   CARDPIN_GRANT_GRANTED);
  g_assert_cmpint (grant (fixture->store, "0011", "alice", 1, 1, NULL), ==,
                   CARDPIN_GRANT_QUOTA_CARD);
}

static void
test_cards (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(CardpinStoreCard) card = NULL;
  const char *bad_serials[] = { "", "a b", "tab\there", "caf\xc3\xa9", NULL };
  const char *bad_users[] = { "", " alice", "alice ", "tab\there", "\xff\xfe", NULL };
  g_autofree char *long_serial = g_strnfill (CARDPIN_STORE_MAX_FIELD + 1, 'A');
  CardpinStoreCard *entry;

  add_card (fixture->store, "00B2", "bob");
  add_card (fixture->store, "00A1", "alice");

  /* twice: refused, nothing changed */
  g_assert_false (cardpin_store_card_add (fixture->store, "00A1", "mallory", &error));
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_EXISTS);
  g_clear_error (&error);

  for (guint i = 0; bad_serials[i] != NULL; i++)
    {
      g_assert_false (cardpin_store_card_add (fixture->store, bad_serials[i], "alice", &error));
      g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID);
      g_clear_error (&error);
    }
  for (guint i = 0; bad_users[i] != NULL; i++)
    {
      g_assert_false (cardpin_store_card_add (fixture->store, "00C3", bad_users[i], &error));
      g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID);
      g_clear_error (&error);
    }
  /* a directory account: a space inside, letters beyond ASCII */
  add_card (fixture->store, "00D4", "J\xc3\xb8rn Smith");
  card = cardpin_store_card_lookup (fixture->store, "00D4", &error);
  g_assert_cmpstr (card->user, ==, "J\xc3\xb8rn Smith");
  g_clear_pointer (&card, cardpin_store_card_free);
  g_assert_true (cardpin_store_card_disable (fixture->store, "00D4", &error));
  g_assert_false (cardpin_store_card_add (fixture->store, long_serial, "alice", &error));
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (cardpin_store_card_disable (fixture->store, "00B2", &error));
  g_assert_no_error (error);
  g_assert_true (cardpin_store_card_disable (fixture->store, "00B2", &error));
  g_assert_no_error (error);
  g_assert_false (cardpin_store_card_disable (fixture->store, "FFFF", &error));
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  card = cardpin_store_card_lookup (fixture->store, "NONE", &error);
  g_assert_null (card);
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* exactly the three cards, by serial, the first unchanged by the refused add */
  cards = cardpin_store_card_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cards->len, ==, 3);
  entry = g_ptr_array_index (cards, 0);
  g_assert_cmpstr (entry->serial, ==, "00A1");
  g_assert_cmpstr (entry->user, ==, "alice");
  g_assert_true (entry->active);
  entry = g_ptr_array_index (cards, 1);
  g_assert_cmpstr (entry->serial, ==, "00B2");
  g_assert_cmpstr (entry->user, ==, "bob");
  g_assert_false (entry->active);
}

static void
test_grant_outcomes (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  const char *expected[] = { "unknown-card", "not-yours", "not-yours", "disabled", "granted" };
  guint retry_after = 1;

  add_card (fixture->store, "A", "alice");
  add_card (fixture->store, "OFF", "alice");
  g_assert_true (cardpin_store_card_disable (fixture->store, "OFF", &error));

  g_assert_cmpint (grant (fixture->store, "NOPE", "alice", 5, 5, &retry_after), ==,
                   CARDPIN_GRANT_UNKNOWN_CARD);
  g_assert_cmpuint (retry_after, ==, 0);
  g_assert_cmpint (grant (fixture->store, "A", "bob", 5, 5, NULL), ==, CARDPIN_GRANT_NOT_YOURS);
  /* an account name no card can carry is simply not the card's user */
  g_assert_cmpint (grant (fixture->store, "A", "alice ", 5, 5, NULL), ==, CARDPIN_GRANT_NOT_YOURS);
  g_assert_cmpint (grant (fixture->store, "OFF", "alice", 5, 5, NULL), ==, CARDPIN_GRANT_DISABLED);
  g_assert_cmpint (grant (fixture->store, "A", "alice", 5, 5, &retry_after), ==,
                   CARDPIN_GRANT_GRANTED);
  g_assert_cmpuint (retry_after, ==, 0);

  /* each decision is one audit record with its outcome */
  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, i);

      g_assert_cmpstr (record->outcome, ==, expected[i]);
      g_assert_cmpint (record->time, ==, NOW * G_USEC_PER_SEC);
    }
}

static void
test_quota (Fixture       *fixture,
            gconstpointer  data)
{
  guint retry_after = 0;

  add_card (fixture->store, "A1", "alice");
  add_card (fixture->store, "A2", "alice");
  add_card (fixture->store, "B1", "bob");

  /* per card: 2 a day */
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 3, NULL), ==, CARDPIN_GRANT_GRANTED);
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 3, NULL), ==, CARDPIN_GRANT_GRANTED);
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 3, &retry_after), ==,
                   CARDPIN_GRANT_QUOTA_CARD);
  g_assert_cmpuint (retry_after, ==, TO_MIDNIGHT);

  /* per user: 3 a day across alice's cards; refusals are not counted */
  g_assert_cmpint (grant (fixture->store, "A2", "alice", 2, 3, NULL), ==, CARDPIN_GRANT_GRANTED);
  g_assert_cmpint (grant (fixture->store, "A2", "alice", 2, 3, &retry_after), ==,
                   CARDPIN_GRANT_QUOTA_USER);
  g_assert_cmpuint (retry_after, ==, TO_MIDNIGHT);
  /* another user is not affected */
  g_assert_cmpint (grant (fixture->store, "B1", "bob", 2, 3, NULL), ==, CARDPIN_GRANT_GRANTED);

  /* the counts survive a restart */
  reopen (fixture);
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 3, NULL), ==, CARDPIN_GRANT_QUOTA_CARD);
  g_assert_cmpint (grant (fixture->store, "A2", "alice", 2, 3, NULL), ==, CARDPIN_GRANT_QUOTA_USER);

  /* a quota of 0 grants nothing */
  g_assert_cmpint (grant (fixture->store, "B1", "bob", 0, 3, NULL), ==, CARDPIN_GRANT_QUOTA_CARD);

  /* the next UTC day starts afresh */
  cardpin_store_set_now (fixture->store, NOW + TO_MIDNIGHT);
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 3, &retry_after), ==,
                   CARDPIN_GRANT_GRANTED);
  g_assert_cmpuint (retry_after, ==, 0);
}

/* The race: THREADS stores (separate connections) grant on one card at once */
#define THREADS    8
#define ATTEMPTS   6
#define RACE_QUOTA 13

typedef struct {
  const char *database;
  GMutex *mutex;
  GCond *cond;
  gboolean *go;
  guint granted;
  guint refused;
} Racer;

static gpointer
racer_thread (gpointer data)
{
  Racer *racer = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinStore) store = cardpin_store_open (racer->database, &error);

  g_assert_no_error (error);
  g_mutex_lock (racer->mutex);
  while (!*racer->go)
    g_cond_wait (racer->cond, racer->mutex);
  g_mutex_unlock (racer->mutex);

  for (guint i = 0; i < ATTEMPTS; i++)
    {
      CardpinAuditRecord audit = request ("alice", "RACE", "race");
      CardpinGrant outcome;

      g_assert_true (cardpin_store_grant (store, "RACE", "alice", RACE_QUOTA, 1000, &audit,
                                          &outcome, NULL, &error));
      g_assert_no_error (error);
      if (outcome == CARDPIN_GRANT_GRANTED)
        racer->granted++;
      else
        {
          g_assert_cmpint (outcome, ==, CARDPIN_GRANT_QUOTA_CARD);
          racer->refused++;
        }
    }
  return NULL;
}

static void
test_race (Fixture       *fixture,
           gconstpointer  data)
{
  GThread *threads[THREADS];
  Racer racers[THREADS];
  GMutex mutex;
  GCond cond;
  gboolean go = FALSE;
  guint granted = 0, refused = 0, audited_granted = 0;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;

  g_mutex_init (&mutex);
  g_cond_init (&cond);
  add_card (fixture->store, "RACE", "alice");

  for (guint i = 0; i < THREADS; i++)
    {
      racers[i] = (Racer) { fixture->database, &mutex, &cond, &go };
      threads[i] = g_thread_new ("racer", racer_thread, &racers[i]);
    }
  g_mutex_lock (&mutex);
  go = TRUE;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&mutex);
  for (guint i = 0; i < THREADS; i++)
    {
      g_thread_join (threads[i]);
      granted += racers[i].granted;
      refused += racers[i].refused;
    }

  /* exactly the quota, never more; every attempt audited once */
  g_assert_cmpuint (granted, ==, RACE_QUOTA);
  g_assert_cmpuint (refused, ==, THREADS * ATTEMPTS - RACE_QUOTA);
  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, THREADS * ATTEMPTS);
  for (guint i = 0; i < records->len; i++)
    if (g_str_equal (((CardpinAuditRecord *) g_ptr_array_index (records, i))->outcome, "granted"))
      audited_granted++;
  g_assert_cmpuint (audited_granted, ==, RACE_QUOTA);

  g_mutex_clear (&mutex);
  g_cond_clear (&cond);
}

/* Asynchronous grants, all queued at once (as the service's workers do): they are
 * committed in group commits, each is told exactly once, never past the quota, and every
 * one is audited; a malformed one is refused at once, nothing queued */
typedef struct {
  GMutex mutex;
  GCond cond;
  guint told;
  guint granted;
  guint refused;
  guint failed;
} AsyncTally;

static void
async_grant_cb (const GError *error,
                CardpinGrant  outcome,
                guint         retry_after,
                const char   *user,
                gpointer      user_data)
{
  AsyncTally *tally = user_data;

  g_mutex_lock (&tally->mutex);
  if (error != NULL)
    tally->failed++;
  else if (outcome == CARDPIN_GRANT_GRANTED)
    tally->granted++;
  else
    {
      g_assert_cmpint (outcome, ==, CARDPIN_GRANT_QUOTA_CARD);
      g_assert_cmpuint (retry_after, >, 0);
      tally->refused++;
    }
  tally->told++;
  g_cond_broadcast (&tally->cond);
  g_mutex_unlock (&tally->mutex);
}

static void
test_grant_async (Fixture       *fixture,
                  gconstpointer  data)
{
  const guint n = THREADS * ATTEMPTS;
  g_autofree CardpinAuditRecord *audits = g_new (CardpinAuditRecord, n);
  CardpinAuditRecord bad = request ("alice", "NOT A SERIAL", "bad");
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  AsyncTally tally = { 0 };

  g_mutex_init (&tally.mutex);
  g_cond_init (&tally.cond);
  add_card (fixture->store, "RACE", "alice");

  cardpin_store_grant_async (fixture->store, "NOT A SERIAL", "alice", RACE_QUOTA, 1000, &bad,
                             async_grant_cb, &tally);
  g_assert_cmpuint (tally.failed, ==, 1);
  for (guint i = 0; i < n; i++)
    {
      audits[i] = request ("alice", "RACE", "async");
      cardpin_store_grant_async (fixture->store, "RACE", "alice", RACE_QUOTA, 1000,
                                 &audits[i], async_grant_cb, &tally);
    }
  g_mutex_lock (&tally.mutex);
  while (tally.told < n + 1)
    g_cond_wait (&tally.cond, &tally.mutex);
  g_mutex_unlock (&tally.mutex);

  g_assert_cmpuint (tally.failed, ==, 1);
  g_assert_cmpuint (tally.granted, ==, RACE_QUOTA);
  g_assert_cmpuint (tally.refused, ==, n - RACE_QUOTA);
  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, n);

  g_mutex_clear (&tally.mutex);
  g_cond_clear (&tally.cond);
}

/* The same race between PROCESSES processes, as between service instances: each runs
 * this program with --racer, waits for its stdin to close, grants ATTEMPTS times and
 * prints how many it got */
#define PROCESSES 6

static int
racer_main (const char *database)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinStore) store = cardpin_store_open (database, &error);
  guint granted = 0;
  char go;

  if (store == NULL)
    {
      g_printerr ("racer: %s\n", error->message);
      return 1;
    }
  /* the starting shot: the parent closes our stdin */
  while (read (STDIN_FILENO, &go, 1) > 0)
    ;
  for (guint i = 0; i < ATTEMPTS; i++)
    {
      CardpinAuditRecord audit = request ("alice", "RACE", "race");
      CardpinGrant outcome;

      if (!cardpin_store_grant (store, "RACE", "alice", RACE_QUOTA, 1000, &audit, &outcome,
                                NULL, &error))
        {
          g_printerr ("racer: %s\n", error->message);
          return 1;
        }
      granted += outcome == CARDPIN_GRANT_GRANTED;
    }
  g_print ("%u\n", granted);
  return 0;
}

static void
test_race_processes (Fixture       *fixture,
                     gconstpointer  data)
{
  GSubprocess *racers[PROCESSES];
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  guint granted = 0;

  add_card (fixture->store, "RACE", "alice");
  for (guint i = 0; i < PROCESSES; i++)
    {
      racers[i] = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                    &error, self, "--racer", fixture->database, NULL);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < PROCESSES; i++)
    g_assert_true (g_output_stream_close (g_subprocess_get_stdin_pipe (racers[i]), NULL, &error));
  for (guint i = 0; i < PROCESSES; i++)
    {
      char out[32] = "";
      gsize length = 0;

      g_assert_true (g_input_stream_read_all (g_subprocess_get_stdout_pipe (racers[i]), out,
                                              sizeof out - 1, &length, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_subprocess_wait (racers[i], NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_if_exited (racers[i]));
      g_assert_cmpint (g_subprocess_get_exit_status (racers[i]), ==, 0);
      granted += g_ascii_strtoull (out, NULL, 10);
      g_object_unref (racers[i]);
    }

  g_assert_cmpuint (granted, ==, RACE_QUOTA);
  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, PROCESSES * ATTEMPTS);
}

static void
test_tokens (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) token = NULL;
  g_autoptr(CardpinSecret) other = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *text = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *wrong = NULL;
  char *user = NULL;
  gboolean revoked = TRUE;
  gint64 expires = 0;

  token = cardpin_store_token_issue (fixture->store, "alice", 3600, &expires, &error);
  g_assert_no_error (error);
  g_assert_cmpint (expires, ==, NOW + 3600);
  text = g_strndup (cardpin_secret_as_string (token), cardpin_secret_get_length (token));
  g_assert_cmpuint (strlen (text), ==, 2 * CARDPIN_STORE_TOKEN_BYTES);
  other = cardpin_store_token_issue (fixture->store, "bob", 3600, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cardpin_secret_equal (token, other));

  g_assert_true (cardpin_store_token_check (fixture->store, text, &user, &error));
  g_assert_cmpstr (user, ==, "alice");
  g_clear_pointer (&user, g_free);

  /* one digit off, malformed, empty: not valid */
  wrong = g_strdup (text);
  wrong[10] = wrong[10] == '0' ? '1' : '0';
  g_assert_true (cardpin_store_token_check (fixture->store, wrong, &user, &error));
  g_assert_null (user);
  g_assert_true (cardpin_store_token_check (fixture->store, "not a token", &user, &error));
  g_assert_null (user);
  g_assert_true (cardpin_store_token_check (fixture->store, "", &user, &error));
  g_assert_null (user);
  g_assert_no_error (error);

  /* only the hash is stored */
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  g_assert_true (raw_exec (fixture, "SELECT 1"));
  if (fixture->sqlite_path != NULL)
    {
      /* everything on disk: close so the WAL is checkpointed into the file too */
      g_clear_pointer (&fixture->store, cardpin_store_free);
      bytes = database_bytes (fixture);
      reopen (fixture);
    }
  else
    bytes = database_bytes (fixture);
  g_assert_true (bytes_contain (bytes, hash));
  g_assert_false (bytes_contain (bytes, text));

  /* expiry */
  cardpin_store_set_now (fixture->store, NOW + 3600);
  g_assert_true (cardpin_store_token_check (fixture->store, text, &user, &error));
  g_assert_null (user);
  cardpin_store_set_now (fixture->store, NOW + 3599);
  g_assert_true (cardpin_store_token_check (fixture->store, text, &user, &error));
  g_assert_cmpstr (user, ==, "alice");
  g_clear_pointer (&user, g_free);

  /* revocation: once; bob's token stays valid */
  g_assert_true (cardpin_store_token_revoke (fixture->store, text, &revoked, &error));
  g_assert_true (revoked);
  g_assert_true (cardpin_store_token_revoke (fixture->store, text, &revoked, &error));
  g_assert_false (revoked);
  g_assert_true (cardpin_store_token_check (fixture->store, text, &user, &error));
  g_assert_null (user);
  g_assert_true (cardpin_store_token_check (fixture->store, cardpin_secret_as_string (other),
                                            &user, &error));
  g_assert_cmpstr (user, ==, "bob");
  g_clear_pointer (&user, g_free);
  g_assert_no_error (error);

  /* nonsense lifetime */
  g_assert_null (cardpin_store_token_issue (fixture->store, "alice", 0, NULL, &error));
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID);
}

/* Grants for device tokens: each token is looked up in its grant's transaction, a whole
 * group commit's in one statement; the token's user is granted for and audited, a token
 * that is not valid is refused (and audited) without counting anything */
typedef struct {
  GMutex mutex;
  GCond cond;
  guint told;
  CardpinGrant outcome[16];
  char *user[16];
} TokenTally;

typedef struct {
  TokenTally *tally;
  guint index;
} TokenCall;

static void
token_grant_cb (const GError *error,
                CardpinGrant  outcome,
                guint         retry_after,
                const char   *user,
                gpointer      user_data)
{
  TokenCall *call = user_data;
  TokenTally *tally = call->tally;

  g_assert_no_error ((GError *) error);
  g_assert_cmpuint (retry_after > 0, ==, outcome == CARDPIN_GRANT_QUOTA_CARD ||
                                          outcome == CARDPIN_GRANT_QUOTA_USER);
  g_mutex_lock (&tally->mutex);
  tally->outcome[call->index] = outcome;
  tally->user[call->index] = g_strdup (user);
  tally->told++;
  g_cond_broadcast (&tally->cond);
  g_mutex_unlock (&tally->mutex);
}

/* Queues the grants of @tokens[i] for @serials[i] at once, waits for all */
static void
grant_tokens (Fixture            *fixture,
              TokenTally         *tally,
              guint               n,
              const char * const *tokens,
              const char * const *serials)
{
  CardpinAuditRecord audits[8];
  TokenCall calls[8];

  g_assert_cmpuint (n, <=, G_N_ELEMENTS (audits));
  tally->told = 0;
  for (guint i = 0; i < n; i++)
    {
      g_clear_pointer (&tally->user[i], g_free);
      /* the user named here is not the one audited: the token's is */
      audits[i] = request ("not-audited", serials[i], "by-token");
      calls[i] = (TokenCall) { tally, i };
      cardpin_store_grant_token_async (fixture->store, serials[i], tokens[i], 100, 100,
                                       &audits[i], token_grant_cb, &calls[i]);
    }
  g_mutex_lock (&tally->mutex);
  while (tally->told < n)
    g_cond_wait (&tally->cond, &tally->mutex);
  g_mutex_unlock (&tally->mutex);
}

static void
test_grant_token (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) alice = NULL;
  g_autoptr(CardpinSecret) bob = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autofree char *wrong = NULL;
  TokenTally tally = { 0 };
  gboolean revoked = FALSE;
  guint bad = 0, granted = 0;

  g_mutex_init (&tally.mutex);
  g_cond_init (&tally.cond);
  add_card (fixture->store, "TOKEN-A", "alice");
  add_card (fixture->store, "TOKEN-B", "bob");
  alice = cardpin_store_token_issue (fixture->store, "alice", 3600, NULL, &error);
  g_assert_no_error (error);
  bob = cardpin_store_token_issue (fixture->store, "bob", 3600, NULL, &error);
  g_assert_no_error (error);
  wrong = g_strdup (cardpin_secret_as_string (alice));
  wrong[3] = wrong[3] == '0' ? '1' : '0';

  {
    const char *tokens[] = {
      cardpin_secret_as_string (alice), cardpin_secret_as_string (alice), wrong,
      "not a token", cardpin_secret_as_string (bob), cardpin_secret_as_string (alice),
    };
    const char *serials[] = { "TOKEN-A", "TOKEN-B", "TOKEN-A", "TOKEN-A", "TOKEN-B", "NONE" };

    grant_tokens (fixture, &tally, G_N_ELEMENTS (tokens), tokens, serials);
  }
  g_assert_cmpint (tally.outcome[0], ==, CARDPIN_GRANT_GRANTED);
  g_assert_cmpstr (tally.user[0], ==, "alice");
  g_assert_cmpint (tally.outcome[1], ==, CARDPIN_GRANT_NOT_YOURS);
  g_assert_cmpstr (tally.user[1], ==, "alice");
  g_assert_cmpint (tally.outcome[2], ==, CARDPIN_GRANT_BAD_TOKEN);
  g_assert_null (tally.user[2]);
  g_assert_cmpint (tally.outcome[3], ==, CARDPIN_GRANT_BAD_TOKEN);
  g_assert_null (tally.user[3]);
  g_assert_cmpint (tally.outcome[4], ==, CARDPIN_GRANT_GRANTED);
  g_assert_cmpstr (tally.user[4], ==, "bob");
  g_assert_cmpint (tally.outcome[5], ==, CARDPIN_GRANT_UNKNOWN_CARD);

  /* expired, then revoked: refused; bob's token still good */
  cardpin_store_set_now (fixture->store, NOW + 3600);
  {
    const char *tokens[] = { cardpin_secret_as_string (alice) };
    const char *serials[] = { "TOKEN-A" };

    grant_tokens (fixture, &tally, 1, tokens, serials);
    g_assert_cmpint (tally.outcome[0], ==, CARDPIN_GRANT_BAD_TOKEN);
  }
  cardpin_store_set_now (fixture->store, NOW);
  g_assert_true (cardpin_store_token_revoke (fixture->store, cardpin_secret_as_string (alice),
                                             &revoked, &error));
  g_assert_true (revoked);
  {
    const char *tokens[] = { cardpin_secret_as_string (alice), cardpin_secret_as_string (bob) };
    const char *serials[] = { "TOKEN-A", "TOKEN-B" };

    grant_tokens (fixture, &tally, 2, tokens, serials);
    g_assert_cmpint (tally.outcome[0], ==, CARDPIN_GRANT_BAD_TOKEN);
    g_assert_cmpint (tally.outcome[1], ==, CARDPIN_GRANT_GRANTED);
    g_assert_cmpstr (tally.user[1], ==, "bob");
  }

  /* every grant audited once, with the token's user (none for a bad token) */
  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 9);
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, i);

      g_assert_cmpstr (record->request_id, ==, "by-token");
      g_assert_cmpstr (record->user, !=, "not-audited");
      if (g_str_equal (record->outcome, "bad-token"))
        {
          g_assert_null (record->user);
          bad++;
        }
      else if (g_str_equal (record->outcome, "granted"))
        {
          g_assert_true (g_str_equal (record->user, "alice") || g_str_equal (record->user, "bob"));
          granted++;
        }
    }
  g_assert_cmpuint (bad, ==, 4);
  g_assert_cmpuint (granted, ==, 3);


  for (guint i = 0; i < G_N_ELEMENTS (tally.user); i++)
    g_free (tally.user[i]);
  g_mutex_clear (&tally.mutex);
  g_cond_clear (&tally.cond);
}

/* The first column of the first row @sql answers on the fixture's database, as a number;
 * -1 when it answers no row */
static gint64
raw_int (Fixture    *fixture,
         const char *sql)
{
  gint64 value = -1;

  if (fixture->sqlite_path != NULL)
    {
      sqlite3 *db = NULL;
      sqlite3_stmt *statement = NULL;

      g_assert_cmpint (sqlite3_open (fixture->sqlite_path, &db), ==, SQLITE_OK);
      g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL), ==, SQLITE_OK);
      if (sqlite3_step (statement) == SQLITE_ROW)
        value = sqlite3_column_int64 (statement, 0);
      sqlite3_finalize (statement);
      sqlite3_close (db);
    }
  else
    {
      PGconn *conn = pg_connect (fixture->database);
      PGresult *result = PQexec (conn, sql);

      g_assert_cmpint (PQresultStatus (result), ==, PGRES_TUPLES_OK);
      if (PQntuples (result) > 0)
        value = g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
      PQclear (result);
      PQfinish (conn);
    }
  return value;
}

/* A group commit of grants of every kind, decided one after the other as if alone: each
 * sees the counts of the ones before it; a grant refused for the user's quota takes
 * nothing from the card's; user names with the characters that need quoting reach the
 * database and the audit unchanged. On PostgreSQL all but the first wait behind a row
 * lock held outside the store, so that they are committed together, as one batch. */
#define BATCH 12

static void
test_grant_batch (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *odd = "q\"u\\o,te {x} NULL";
  g_autoptr(CardpinSecret) carol = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  const struct {
    const char *serial;
    const char *user;      /* or NULL: carol's device token */
    const char *token;     /* instead of carol's, when not NULL */
    CardpinGrant outcome;
    const char *granted_user;
  } grants[BATCH] = {
    { "BLOCK", "erin", NULL, CARDPIN_GRANT_GRANTED, "erin" },
    { "X", "carol", NULL, CARDPIN_GRANT_GRANTED, "carol" },
    { "X", "carol", NULL, CARDPIN_GRANT_GRANTED, "carol" },
    { "X", "carol", NULL, CARDPIN_GRANT_QUOTA_CARD, "carol" },
    { "Y", "carol", NULL, CARDPIN_GRANT_QUOTA_USER, "carol" },
    { "Y", NULL, NULL, CARDPIN_GRANT_QUOTA_USER, "carol" },
    { "D", "dave", NULL, CARDPIN_GRANT_GRANTED, "dave" },
    { "OFF", "dave", NULL, CARDPIN_GRANT_DISABLED, "dave" },
    { "D", "carol", NULL, CARDPIN_GRANT_NOT_YOURS, "carol" },
    { "Q", odd, NULL, CARDPIN_GRANT_GRANTED, odd },
    { "NONE", "dave", NULL, CARDPIN_GRANT_UNKNOWN_CARD, "dave" },
    { "X", NULL, "0123", CARDPIN_GRANT_BAD_TOKEN, NULL },
  };
  CardpinAuditRecord audits[BATCH];
  TokenCall calls[BATCH];
  TokenTally tally = { 0 };
  PGconn *hold = NULL;

  g_mutex_init (&tally.mutex);
  g_cond_init (&tally.cond);
  add_card (fixture->store, "BLOCK", "erin");
  add_card (fixture->store, "X", "carol");
  add_card (fixture->store, "Y", "carol");
  add_card (fixture->store, "D", "dave");
  add_card (fixture->store, "OFF", "dave");
  add_card (fixture->store, "Q", odd);
  g_assert_true (cardpin_store_card_disable (fixture->store, "OFF", &error));
  carol = cardpin_store_token_issue (fixture->store, "carol", 3600, NULL, &error);
  g_assert_no_error (error);
  /* erin's counters exist: the first grant of the batch waits for their lock */
  g_assert_cmpint (grant (fixture->store, "BLOCK", "erin", 100, 100, NULL), ==,
                   CARDPIN_GRANT_GRANTED);
  if (fixture->sqlite_path == NULL)
    {
      PGresult *result;

      hold = pg_connect (fixture->database);
      result = PQexec (hold, "BEGIN; SELECT count FROM grant_counts"
                             " WHERE kind = 'card' AND key = 'BLOCK' FOR UPDATE");
      g_assert_cmpint (PQresultStatus (result), ==, PGRES_TUPLES_OK);
      PQclear (result);
    }

  for (guint i = 0; i < BATCH; i++)
    {
      guint quota_card = i == 0 ? 100 : 2;

      audits[i] = request (grants[i].user != NULL ? grants[i].user : "not-audited",
                           grants[i].serial, "batch");
      calls[i] = (TokenCall) { &tally, i };
      if (grants[i].user != NULL)
        cardpin_store_grant_async (fixture->store, grants[i].serial, grants[i].user,
                                   quota_card, 2, &audits[i], token_grant_cb, &calls[i]);
      else
        cardpin_store_grant_token_async (fixture->store, grants[i].serial,
                                         grants[i].token != NULL
                                         ? grants[i].token : cardpin_secret_as_string (carol),
                                         quota_card, 2, &audits[i], token_grant_cb,
                                         &calls[i]);
    }
  if (hold != NULL)
    {
      /* the commit waits for the lock: nothing is decided yet */
      g_usleep (200 * G_TIME_SPAN_MILLISECOND);
      g_mutex_lock (&tally.mutex);
      g_assert_cmpuint (tally.told, ==, 0);
      g_mutex_unlock (&tally.mutex);
      PQclear (PQexec (hold, "COMMIT"));
      PQfinish (hold);
    }
  g_mutex_lock (&tally.mutex);
  while (tally.told < BATCH)
    g_cond_wait (&tally.cond, &tally.mutex);
  g_mutex_unlock (&tally.mutex);

  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 1 + BATCH);
  for (guint i = 0; i < BATCH; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, 1 + i);

      g_test_message ("grant %u: %s", i, cardpin_grant_to_string (tally.outcome[i]));
      g_assert_cmpint (tally.outcome[i], ==, grants[i].outcome);
      g_assert_cmpstr (tally.user[i], ==, grants[i].granted_user);
      g_assert_cmpstr (record->outcome, ==, cardpin_grant_to_string (grants[i].outcome));
      g_assert_cmpstr (record->user, ==, grants[i].granted_user);
      g_assert_cmpstr (record->serial, ==, grants[i].serial);
      g_clear_pointer (&tally.user[i], g_free);
    }

  /* the counts: X's two; none taken from Y by the user's quota; carol's two */
  g_assert_cmpint (raw_int (fixture, "SELECT count FROM grant_counts WHERE kind = 'card'"
                                     " AND key = 'X'"), ==, 2);
  g_assert_cmpint (MAX (raw_int (fixture, "SELECT count FROM grant_counts WHERE"
                                          " kind = 'card' AND key = 'Y'"), 0), ==, 0);
  g_assert_cmpint (raw_int (fixture, "SELECT count FROM grant_counts WHERE kind = 'user'"
                                     " AND key = 'carol'"), ==, 2);
  g_assert_cmpint (raw_int (fixture, "SELECT count FROM grant_counts WHERE kind = 'user'"
                                     " AND key = 'dave'"), ==, 1);
  g_assert_cmpint (raw_int (fixture, "SELECT count FROM grant_counts WHERE kind = 'card'"
                                     " AND key = 'BLOCK'"), ==, 2);
  g_assert_cmpint (raw_int (fixture, "SELECT count FROM grant_counts WHERE kind = 'user'"
                                     " AND key = 'q\"u\\o,te {x} NULL'"), ==, 1);

  g_mutex_clear (&tally.mutex);
  g_cond_clear (&tally.cond);
}

static void
test_throttle (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint retry_after = 1;

  /* one wrong password never throttles; four neither */
  g_assert_true (cardpin_store_throttle_failure (fixture->store, "alice", &error));
  g_assert_true (cardpin_store_throttle_check (fixture->store, "alice", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, 0);
  for (guint i = 1; i < CARDPIN_STORE_THROTTLE_FAILURES - 1; i++)
    g_assert_true (cardpin_store_throttle_failure (fixture->store, "alice", &error));
  g_assert_true (cardpin_store_throttle_check (fixture->store, "alice", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, 0);

  /* the fifth within the window does, for the rest of the window */
  cardpin_store_set_now (fixture->store, NOW + 60);
  g_assert_true (cardpin_store_throttle_failure (fixture->store, "alice", &error));
  g_assert_true (cardpin_store_throttle_check (fixture->store, "alice", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, CARDPIN_STORE_THROTTLE_WINDOW - 60);
  /* only alice */
  g_assert_true (cardpin_store_throttle_check (fixture->store, "bob", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, 0);

  /* the window passes: a new failure starts a new window */
  cardpin_store_set_now (fixture->store, NOW + CARDPIN_STORE_THROTTLE_WINDOW);
  g_assert_true (cardpin_store_throttle_check (fixture->store, "alice", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, 0);
  g_assert_true (cardpin_store_throttle_failure (fixture->store, "alice", &error));
  g_assert_true (cardpin_store_throttle_check (fixture->store, "alice", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, 0);

  /* five again, then a right password clears them */
  for (guint i = 1; i < CARDPIN_STORE_THROTTLE_FAILURES; i++)
    g_assert_true (cardpin_store_throttle_failure (fixture->store, "alice", &error));
  g_assert_true (cardpin_store_throttle_check (fixture->store, "alice", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, CARDPIN_STORE_THROTTLE_WINDOW);
  g_assert_true (cardpin_store_throttle_reset (fixture->store, "alice", &error));
  g_assert_true (cardpin_store_throttle_check (fixture->store, "alice", &retry_after, &error));
  g_assert_cmpuint (retry_after, ==, 0);
  g_assert_no_error (error);

  /* whatever name a client sends is counted, never refused */
  for (guint i = 0; i < CARDPIN_STORE_THROTTLE_FAILURES; i++)
    g_assert_true (cardpin_store_throttle_failure (fixture->store, " m\x01" "allory\xff ", &error));
  g_assert_true (cardpin_store_throttle_check (fixture->store, " m\x01" "allory\xff ", &retry_after,
                                               &error));
  g_assert_no_error (error);
  g_assert_cmpuint (retry_after, >, 0);
}

static void
test_audit (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  CardpinAuditRecord appended[] = {
    { .user = (char *) "alice", .method = (char *) "response", .serial = (char *) "A1",
      .challenge_sha256 = (char *) "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      .outcome = (char *) "bad-password", .request_id = (char *) "r-1" },
    { .user = NULL, .method = (char *) "device-issue", .outcome = (char *) "malformed",
      .request_id = (char *) "r-2" },
    { .user = (char *) "bob", .method = (char *) "helpdesk-respond", .serial = (char *) "B1",
      .outcome = (char *) "granted", .operator_name = (char *) "carol",
      .reason = (char *) "called from the airport, identity checked" },
  };
  CardpinAuditRecord bad[] = {
    { .method = (char *) "response", .outcome = NULL },
    { .method = NULL, .outcome = (char *) "granted" },
    { .method = (char *) "response", .outcome = (char *) "x", .challenge_sha256 = (char *) "ABC" },
    { .method = (char *) "response", .outcome = (char *) "x",
      .challenge_sha256 = (char *) "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" },
    { .method = (char *) "response", .outcome = (char *) "x", .reason = (char *) "line\nbreak" },
    { .method = (char *) "response", .outcome = (char *) "x", .operator_name = (char *) "a\tb" },
  };
  /* what a client sent is kept as well as it can be, never refused */
  g_autofree char *long_user = g_strnfill (300, 'u');
  CardpinAuditRecord client = {
    .user = long_user, .method = (char *) "response", .serial = (char *) "A\x01" "B\xff",
    .outcome = (char *) "bad-password", .request_id = (char *) "r-4",
  };

  for (guint i = 0; i < G_N_ELEMENTS (appended); i++)
    {
      cardpin_store_set_now (fixture->store, NOW + i);
      g_assert_true (cardpin_store_audit_append (fixture->store, &appended[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (cardpin_store_audit_append (fixture->store, &bad[i], &error));
      g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID);
      g_clear_error (&error);
    }

  g_assert_true (cardpin_store_audit_append (fixture->store, &client, &error));
  g_assert_no_error (error);

  reopen (fixture);
  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, G_N_ELEMENTS (appended) + 1);
  {
    CardpinAuditRecord *record = g_ptr_array_index (records, G_N_ELEMENTS (appended));

    g_assert_cmpuint (strlen (record->user), ==, CARDPIN_STORE_MAX_FIELD);
    g_assert_cmpstr (record->serial, ==, "A?B?");
    g_assert_cmpstr (record->outcome, ==, "bad-password");
  }
  g_ptr_array_remove_index (records, G_N_ELEMENTS (appended));
  for (guint i = 0; i < records->len; i++)
    {
      CardpinAuditRecord *record = g_ptr_array_index (records, i);

      g_assert_cmpint (record->time, ==, (NOW + i) * G_USEC_PER_SEC);
      g_assert_cmpstr (record->user, ==, appended[i].user);
      g_assert_cmpstr (record->method, ==, appended[i].method);
      g_assert_cmpstr (record->serial, ==, appended[i].serial);
      g_assert_cmpstr (record->challenge_sha256, ==, appended[i].challenge_sha256);
      g_assert_cmpstr (record->outcome, ==, appended[i].outcome);
      g_assert_cmpstr (record->request_id, ==, appended[i].request_id);
      g_assert_cmpstr (record->operator_name, ==, appended[i].operator_name);
      g_assert_cmpstr (record->reason, ==, appended[i].reason);
    }

  /* append-only, also for someone with SQL access */
  g_assert_false (raw_exec (fixture, "UPDATE audit SET outcome = 'granted'"));
  g_assert_false (raw_exec (fixture, "DELETE FROM audit"));
  g_clear_pointer (&records, g_ptr_array_unref);
  records = cardpin_store_audit_list (fixture->store, &error);
  g_assert_cmpuint (records->len, ==, G_N_ELEMENTS (appended) + 1);
}

/* The PostgreSQL server restarts under a running store: the next call connects again */
static void
test_reconnect (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *dir = g_path_get_dirname (world.pg_socket);
  const char *argv[] = { g_getenv ("PG_PRIVATE"), "restart", dir, NULL };
  g_autoptr(GError) error = NULL;
  int status;

  add_card (fixture->store, "A1", "alice");
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 2, NULL), ==, CARDPIN_GRANT_GRANTED);

  g_assert_nonnull (argv[0]);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  /* nothing lost, and the store works on */
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 2, NULL), ==, CARDPIN_GRANT_GRANTED);
  g_assert_cmpint (grant (fixture->store, "A1", "alice", 2, 2, NULL), ==, CARDPIN_GRANT_QUOTA_CARD);
}

static void
test_bad_database (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = g_build_filename (world.dir, "no", "such", "folder.sqlite", NULL);
  g_autofree char *uri = g_strdup_printf ("postgresql:///nosuchdb?host=%s&user=cardpin",
                                          world.pg_socket);
  CardpinStore *store;

  store = cardpin_store_open (missing, &error);
  g_assert_null (store);
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "folder.sqlite"));
  g_clear_error (&error);

  store = cardpin_store_open (uri, &error);
  g_assert_null (store);
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED);
  g_clear_error (&error);

  /* a password in the URI never shows in the message */
  g_free (uri);
  uri = g_strdup_printf ("postgresql://cardpin:S3cretCanary@127.0.0.1:1/x?connect_timeout=2");
  store = cardpin_store_open (uri, &error);
  g_assert_null (store);
  g_assert_null (strstr (error->message, "S3cretCanary"));
  g_clear_error (&error);

  store = cardpin_store_open ("", &error);
  g_assert_null (store);
  g_assert_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID);
}

/* SQLite: the WAL is checkpointed as it grows, by the store's own checkpointer, off the
 * writer's path: its pages are copied into the database file, instead of only staying in
 * a WAL that grows with every commit; and it starts over, so it stays small. 6000 grants,
 * one commit each, write about 18000 pages to the WAL (3 per commit). Without
 * checkpoints the database file stays at 1 page (measured); with them it held 144 to 190
 * pages. The WAL file's size is the most it ever held (SQLite reuses it from the start):
 * while only the checkpointer's thread completed checkpoints, it reached 4500 to 17000
 * pages (10270 in a full parallel CI run); once the writer completes them at 4000 pages
 * (RESTART_PAGES in cardpin-store-sqlite.c), never more than 4002 (MAX_WAL_PAGES leaves room for tries that found the checkpointer busy). */
#define CHECKPOINT_GRANTS    6000
#define CHECKPOINT_MIN_PAGES 10
#define MAX_WAL_PAGES        5000

static void
test_checkpoint (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *wal = g_strconcat (fixture->sqlite_path, "-wal", NULL);
  guint8 header[32];
  guint32 page_size;
  GStatBuf st, db_st;
  FILE *file;

  add_card (fixture->store, "CHECKPOINT", "alice");
  for (guint i = 0; i < CHECKPOINT_GRANTS; i++)
    g_assert_cmpint (grant (fixture->store, "CHECKPOINT", "alice", 1000000, 1000000, NULL), ==,
                     CARDPIN_GRANT_GRANTED);
  g_assert_cmpint (g_stat (wal, &st), ==, 0);
  g_assert_cmpint (g_stat (fixture->sqlite_path, &db_st), ==, 0);
  /* a WAL file's 32-byte header holds the page size at 8, big-endian */
  file = g_fopen (wal, "rb");
  g_assert_nonnull (file);
  g_assert_cmpuint (fread (header, 1, sizeof header, file), ==, sizeof header);
  fclose (file);
  page_size = (guint32) header[8] << 24 | (guint32) header[9] << 16 |
              (guint32) header[10] << 8 | header[11];
  g_assert_cmpuint (page_size, >=, 512);
  g_test_message ("after %u grants: database file %" G_GINT64_FORMAT " pages, WAL %"
                  G_GINT64_FORMAT " bytes", CHECKPOINT_GRANTS,
                  (gint64) db_st.st_size / page_size, (gint64) st.st_size);
  g_assert_cmpint (db_st.st_size / page_size, >=, CHECKPOINT_MIN_PAGES);
  /* a WAL file: a 32-byte header, then frames of a 24-byte header and a page */
  g_assert_cmpint ((st.st_size - 32) / (page_size + 24), <=, MAX_WAL_PAGES);
}

static void
add_cases (const Backend *backend)
{
  static const struct {
    const char *name;
    void (*func) (Fixture *, gconstpointer);
  } cases[] = {
    { "schema", test_schema },
    { "cards", test_cards },
    { "grant-outcomes", test_grant_outcomes },
    { "quota", test_quota },
    { "race", test_race },
    { "grant-async", test_grant_async },
    { "grant-batch", test_grant_batch },
    { "race-processes", test_race_processes },
    { "tokens", test_tokens },
    { "grant-token", test_grant_token },
    { "throttle", test_throttle },
    { "audit", test_audit },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cardpin/store/%s/%s", backend->backend,
                                               cases[i].name);

      g_test_add (path, Fixture, backend, fixture_setup, cases[i].func, fixture_teardown);
    }
  if (g_str_equal (backend->backend, "sqlite"))
    g_test_add ("/cardpin/store/sqlite/checkpoint", Fixture, backend, fixture_setup,
                test_checkpoint, fixture_teardown);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int result;

  if (argc == 3 && g_str_equal (argv[1], "--racer"))
    return racer_main (argv[2]);

  g_test_init (&argc, &argv, NULL);

  world.dir = g_dir_make_tmp ("test-store-XXXXXX", &error);
  g_assert_no_error (error);
  /* the private server: tests/server/pg-private.sh run test-store */
  world.pg_uri = g_strdup (g_getenv ("CARDPIN_TEST_PG_URI"));
  world.pg_socket = g_strdup (g_getenv ("CARDPIN_TEST_PG_SOCKET"));
  if (world.pg_uri == NULL || world.pg_socket == NULL)
    g_error ("run me through tests/server/pg-private.sh run: no PostgreSQL server given");

  add_cases (&sqlite_backend);
  add_cases (&pg_backend);
  g_test_add ("/cardpin/store/postgresql/reconnect", Fixture, &pg_backend, fixture_setup,
              test_reconnect, fixture_teardown);
  g_test_add_func ("/cardpin/store/bad-database", test_bad_database);

  result = g_test_run ();

  if (result == 0)
    {
      g_autofree char *command = g_strdup_printf ("rm -rf '%s'", world.dir);

      g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL));
    }
  else
    g_printerr ("# kept %s\n", world.dir);
  return result;
}
