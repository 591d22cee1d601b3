/* cardpin-store.c — the service's storage: inventory, quotas, device tokens, throttle, audit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cardpin-store.h"
#include "cardpin-store-private.h"

#define SECONDS_PER_DAY (24 * 60 * 60)
/* attempts of one transaction that meets a busy database, a deadlock or a
 * serialization failure */
#define MAX_ATTEMPTS 50
/* the longest helpdesk reason */
#define MAX_REASON 512

/* writes that arrive while a commit is in flight wait for the next one, which takes up
 * to this many of them in one transaction (group commit) */
#define MAX_BATCH 64

typedef struct _Conn Conn;

typedef gboolean (*TransactionFunc) (Conn          *conn,
                                     gpointer   data,
                                     GError   **error);

/* One write waiting for (or in) a group commit. A synchronous caller waits for @done;
 * an asynchronous one is told through @finish, which the commit thread calls (and
 * which frees the write). */
typedef struct _Write Write;
struct _Write {
  TransactionFunc  func;
  gpointer         data;
  GError          *error;
  gboolean         ok;
  gboolean         done;
  void           (*finish) (Write *write);
};

/* A database connection as the transaction functions see it */
struct _Conn {
  CardpinStore *store;
  gpointer      db;
};

/*
 * Writes go through one connection in group commits, made by one thread of the store (the
 * commit thread): a caller queues its write and waits (or, cardpin_store_grant_async(),
 * is called back); the commit thread runs every queued write in one transaction and
 * commits it once (one fsync for all), then tells their callers, all at once. Each write
 * is its own function over the transaction; one that fails is taken out and the others
 * run again without it, so a write commits exactly when its caller is told it did.
 * Writes queued while a commit is in flight make the next batch. Reads use a pool of
 * further connections (SQLite WAL: readers never wait for the writer).
 */
struct _CardpinStore
{
  const CardpinStoreBackend *backend;
  char *database;
  gint64 now;

  GMutex mutex;               /* guards everything below */
  GCond cond;                 /* a synchronous write is done */
  GCond commit_cond;          /* the commit thread has work (or is to stop) */
  GCond reader_cond;          /* a read connection came back */
  Conn writer;                /* used only by the commit thread */
  GQueue queue;               /* of Write, waiting for a commit */
  GThread *committer;
  gboolean committer_idle;    /* waiting on commit_cond */
  gboolean closing;
  GPtrArray *readers;         /* idle read connections */
  guint n_readers;            /* open read connections */
};

G_DEFINE_QUARK (cardpin-store-error-quark, cardpin_store_error)

/* The schema. Version N is reached by running migrations[N - 1]; a database written by
 * a newer cardpin (a higher version) is refused, never downgraded. @ID@ is the
 * backend's auto-incremented key. */
static const char * const schema_v1[] = {
  "CREATE TABLE cards ("
  " serial TEXT PRIMARY KEY,"
  " username TEXT NOT NULL,"
  " active INTEGER NOT NULL DEFAULT 1,"
  " added BIGINT NOT NULL)",
  /* granted responses per card ('card', serial) and per user ('user', name) and UTC day */
  "CREATE TABLE grant_counts ("
  " kind TEXT NOT NULL,"
  " key TEXT NOT NULL,"
  " day BIGINT NOT NULL,"
  " count INTEGER NOT NULL,"
  " PRIMARY KEY (kind, key, day))",
  "CREATE TABLE audit ("
  " id @ID@,"
  " time BIGINT NOT NULL,"
  " username TEXT,"
  " method TEXT NOT NULL,"
  " serial TEXT,"
  " challenge_sha256 TEXT,"
  " outcome TEXT NOT NULL,"
  " request_id TEXT,"
  " operator TEXT,"
  " reason TEXT)",
  /* SHA-256 of the token's text, never the token */
  "CREATE TABLE device_tokens ("
  " hash TEXT PRIMARY KEY,"
  " username TEXT NOT NULL,"
  " issued BIGINT NOT NULL,"
  " expires BIGINT NOT NULL,"
  " revoked INTEGER NOT NULL DEFAULT 0)",
  "CREATE TABLE password_failures ("
  " username TEXT PRIMARY KEY,"
  " window_start BIGINT NOT NULL,"
  " failures INTEGER NOT NULL)",
  NULL
};

/* Version 2 added a backend's function that made one grant one statement (no longer
 * created); version 3 adds the backend's function that makes a whole group commit's
 * grants one statement (grant_function_sql), if any */
static const char * const schema_v2[] = {
  NULL
};

static const char * const schema_v3[] = {
  NULL
};

static const char * const * const migrations[] = {
  schema_v1,
  schema_v2,
  schema_v3,
};

#define SCHEMA_VERSION ((int) G_N_ELEMENTS (migrations))

/* Helpers */

static gint64
now_seconds (CardpinStore *store)
{
  return store->now != 0 ? store->now : g_get_real_time () / G_USEC_PER_SEC;
}

static gint64
now_microseconds (CardpinStore *store)
{
  return store->now != 0 ? store->now * G_USEC_PER_SEC : g_get_real_time ();
}

static const char *
cell (GPtrArray *rows,
      guint      row,
      guint      column)
{
  return g_ptr_array_index ((GPtrArray *) g_ptr_array_index (rows, row), column);
}

static gint64
cell_int (GPtrArray *rows,
          guint      row,
          guint      column)
{
  const char *text = cell (rows, row, column);

  return text != NULL ? g_ascii_strtoll (text, NULL, 10) : 0;
}

static gboolean
query (Conn                *conn,
       const char          *sql,
       const char          *types,
       const char * const  *params,
       GPtrArray          **rows,
       guint               *changes,
       GError             **error)
{
  return conn->store->backend->query (conn->db, sql, types, params, rows, changes, error);
}

static gboolean
is_retry (const GError *error)
{
  return g_error_matches (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_RETRY);
}

/* let the other transaction finish, then try again */
static void
back_off (guint attempt)
{
  g_usleep (g_random_int_range (1000, 5000) * MIN (attempt, 10));
}

/* A retry error that has run out of attempts is a plain failure */
static void
finish_error (Write  *write,
              GError *error)
{
  if (is_retry (error))
    error->code = CARDPIN_STORE_ERROR_FAILED;
  write->error = error;
  write->ok = FALSE;
}

static gboolean grant_cb (Conn      *conn,
                          gpointer   data,
                          GError   **error);
static gboolean grants_by_function (Conn       *conn,
                                    GPtrArray  *batch,
                                    gboolean   *committed,
                                    GError    **error);
static gboolean resolve_tokens     (Conn       *conn,
                                    GPtrArray  *batch,
                                    GError    **error);

/* The commit thread: runs @batch (of Write) in one transaction on the writer connection, again
 * from the start when the database asks for it (busy, deadlock, serialization failure)
 * or when a write failed (without that write). Sets each write's outcome. */
static void
commit_batch (CardpinStore *store,
              GPtrArray    *all)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_copy (all, NULL, NULL);
  Conn *conn = &store->writer;
  guint attempt = 1;
  /* a database server: grants together in one statement (one round trip, with the
   * commit where the backend can) */
  gboolean one_statement = store->backend->grant_function_sql != NULL;

  for (guint i = 0; i < batch->len; i++)
    if (((Write *) g_ptr_array_index (batch, i))->func != grant_cb)
      one_statement = FALSE;

  while (batch->len > 0)
    {
      g_autoptr(GError) local_error = NULL;
      Write *failed = NULL;
      gboolean committed = FALSE;
      gboolean ok = store->backend->begin (conn->db, TRUE, &local_error);

      /* the backend's function looks the device tokens up itself */
      if (ok && one_statement)
        ok = grants_by_function (conn, batch, &committed, &local_error);
      else if (ok && resolve_tokens (conn, batch, &local_error))
        for (guint i = 0; ok && i < batch->len; i++)
          {
            Write *write = g_ptr_array_index (batch, i);

            if (!write->func (conn, write->data, &local_error))
              {
                failed = write;
                ok = FALSE;
              }
          }
      else
        ok = FALSE;
      if (ok && (committed || store->backend->commit (conn->db, &local_error)))
        {
          for (guint i = 0; i < batch->len; i++)
            ((Write *) g_ptr_array_index (batch, i))->ok = TRUE;
          return;
        }
      if (committed)
        {
          /* committed, but its answer made no sense (a schema of another cardpin): never
           * again, every write fails */
          for (guint i = 0; i < batch->len; i++)
            finish_error (g_ptr_array_index (batch, i), g_error_copy (local_error));
          return;
        }
      store->backend->rollback (conn->db);

      if (is_retry (local_error) && attempt < MAX_ATTEMPTS)
        {
          back_off (attempt++);
          continue;
        }
      if (one_statement && !is_retry (local_error))
        {
          /* which grant failed? again, one statement each */
          one_statement = FALSE;
          continue;
        }
      if (failed != NULL && !is_retry (local_error))
        {
          /* this write's own failure (a duplicate card, …): it alone fails */
          finish_error (failed, g_steal_pointer (&local_error));
          g_ptr_array_remove (batch, failed);
          continue;
        }
      /* the database failed (or stayed busy): every write fails */
      for (guint i = 0; i < batch->len; i++)
        finish_error (g_ptr_array_index (batch, i), g_error_copy (local_error));
      return;
    }
}

/* The commit thread: commits the queued writes in batches until the store closes (and
 * nothing is left to commit) */
static gpointer
commit_thread (gpointer data)
{
  CardpinStore *store = data;

  g_mutex_lock (&store->mutex);
  for (;;)
    {
      g_autoptr(GPtrArray) batch = NULL;
      g_autoptr(GPtrArray) finish = NULL;
      gboolean waiters = FALSE;

      if (g_queue_is_empty (&store->queue))
        {
          if (store->closing)
            break;
          store->committer_idle = TRUE;
          g_cond_wait (&store->commit_cond, &store->mutex);
          store->committer_idle = FALSE;
          continue;
        }
      batch = g_ptr_array_new ();
      while (batch->len < MAX_BATCH && !g_queue_is_empty (&store->queue))
        g_ptr_array_add (batch, g_queue_pop_head (&store->queue));
      g_mutex_unlock (&store->mutex);

      commit_batch (store, batch);

      g_mutex_lock (&store->mutex);
      /* a synchronous write is its caller's as soon as it is done: not touched after */
      finish = g_ptr_array_new ();
      for (guint i = 0; i < batch->len; i++)
        {
          Write *write = g_ptr_array_index (batch, i);

          if (write->finish != NULL)
            g_ptr_array_add (finish, write);
          else
            {
              write->done = TRUE;
              waiters = TRUE;
            }
        }
      if (waiters)
        g_cond_broadcast (&store->cond);
      if (finish->len > 0)
        {
          g_mutex_unlock (&store->mutex);
          for (guint i = 0; i < finish->len; i++)
            {
              Write *write = g_ptr_array_index (finish, i);

              write->finish (write);
            }
          g_mutex_lock (&store->mutex);
        }
    }
  g_mutex_unlock (&store->mutex);
  return NULL;
}

/* Queues @write for the commit thread (mutex held) */
static void
queue_write (CardpinStore *store,
             Write        *write)
{
  g_queue_push_tail (&store->queue, write);
  if (store->committer == NULL)
    store->committer = g_thread_new ("cardpin-commit", commit_thread, store);
  else if (store->committer_idle)
    g_cond_signal (&store->commit_cond);
}

/* Runs @func in a write transaction, committed (possibly with other writes) when this
 * returns %TRUE; @func must set all its outputs anew each time it runs. */
static gboolean
run_transaction (CardpinStore     *store,
                 TransactionFunc   func,
                 gpointer          data,
                 GError          **error)
{
  Write write = { func, data, NULL, FALSE, FALSE, NULL };

  g_mutex_lock (&store->mutex);
  queue_write (store, &write);
  while (!write.done)
    g_cond_wait (&store->cond, &store->mutex);
  g_mutex_unlock (&store->mutex);

  if (!write.ok)
    g_propagate_error (error, write.error);
  return write.ok;
}

static gpointer open_connection (const char                 *database,
                                 const CardpinStoreBackend **backend,
                                 GError                    **error);

/* A read connection: an idle one, a new one, or (all the backend's max_readers busy)
 * the next one that comes back */
static gpointer
reader_take (CardpinStore  *store,
             GError       **error)
{
  const CardpinStoreBackend *backend;
  gpointer db = NULL;

  g_mutex_lock (&store->mutex);
  while (store->readers->len == 0 && store->n_readers >= store->backend->max_readers)
    g_cond_wait (&store->reader_cond, &store->mutex);
  if (store->readers->len > 0)
    db = g_ptr_array_steal_index_fast (store->readers, store->readers->len - 1);
  else
    store->n_readers++;
  g_mutex_unlock (&store->mutex);
  if (db != NULL)
    return db;

  db = open_connection (store->database, &backend, error);
  if (db == NULL)
    {
      g_mutex_lock (&store->mutex);
      store->n_readers--;
      g_cond_signal (&store->reader_cond);
      g_mutex_unlock (&store->mutex);
    }
  return db;
}

static void
reader_give (CardpinStore *store,
             gpointer      db)
{
  g_mutex_lock (&store->mutex);
  g_ptr_array_add (store->readers, db);
  g_cond_signal (&store->reader_cond);
  g_mutex_unlock (&store->mutex);
}

/* Runs @func, which reads with ONE statement (atomic by itself, so without a
 * transaction), on a read connection; again when the database asks for it, or once
 * after the connection was lost and made again */
static gboolean
run_read (CardpinStore     *store,
          TransactionFunc   func,
          gpointer          data,
          GError          **error)
{
  Conn conn = { store, reader_take (store, error) };
  gboolean reconnected = FALSE;

  if (conn.db == NULL)
    return FALSE;
  for (guint attempt = 1; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      if (func (&conn, data, &local_error))
        {
          reader_give (store, conn.db);
          return TRUE;
        }
      if (is_retry (local_error) && attempt < MAX_ATTEMPTS)
        {
          back_off (attempt);
          continue;
        }
      if (!reconnected && store->backend->reconnect != NULL &&
          store->backend->reconnect (conn.db))
        {
          reconnected = TRUE;
          continue;
        }
      if (is_retry (local_error))
        local_error->code = CARDPIN_STORE_ERROR_FAILED;
      g_propagate_error (error, g_steal_pointer (&local_error));
      reader_give (store, conn.db);
      return FALSE;
    }
}

/* Serials: 1 to CARDPIN_STORE_MAX_FIELD printable ASCII characters, no space, exactly
 * what `cardpin-tool status --json` prints */
static gboolean
check_serial (const char  *value,
              GError     **error)
{
  gsize length = value != NULL ? strlen (value) : 0;

  if (length == 0 || length > CARDPIN_STORE_MAX_FIELD)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                   _("A card serial must be 1 to %d characters long."),
                   CARDPIN_STORE_MAX_FIELD);
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    if (value[i] <= ' ' || value[i] > '~')
      {
        g_autofree char *escaped = g_strescape (value, NULL);

        g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                     _("The card serial “%s” contains a space or a character that is not "
                       "printable ASCII. Give it as “cardpin-tool status” prints it."),
                     escaped);
        return FALSE;
      }
  return TRUE;
}

/* User names: 1 to CARDPIN_STORE_MAX_FIELD bytes of UTF-8 without control characters
 * and without white space at either end (directory accounts may hold spaces and
 * letters beyond ASCII) */
static gboolean
check_user (const char  *value,
            GError     **error)
{
  gsize length = value != NULL ? strlen (value) : 0;
  gboolean ok = length > 0 && length <= CARDPIN_STORE_MAX_FIELD &&
                g_utf8_validate (value, length, NULL);

  if (ok)
    ok = !g_unichar_isspace (g_utf8_get_char (value)) &&
         !g_unichar_isspace (g_utf8_get_char (g_utf8_prev_char (value + length)));
  for (const char *p = value; ok && *p != '\0'; p = g_utf8_next_char (p))
    ok = !g_unichar_iscntrl (g_utf8_get_char (p));
  if (!ok)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                   _("A user name must be 1 to %d bytes of UTF-8 without control characters "
                     "and without spaces at either end."), CARDPIN_STORE_MAX_FIELD);
      return FALSE;
    }
  return TRUE;
}

/* An account the service authenticated (grants, device tokens): whatever PAM accepted,
 * as long as it is UTF-8 of a sane length; it can only ever match a card whose user
 * passed check_user() */
static gboolean
check_account (const char  *value,
               GError     **error)
{
  gsize length = value != NULL ? strlen (value) : 0;

  if (length == 0 || length > CARDPIN_STORE_MAX_FIELD || !g_utf8_validate (value, length, NULL))
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                   _("A user name must be 1 to %d bytes of UTF-8."), CARDPIN_STORE_MAX_FIELD);
      return FALSE;
    }
  return TRUE;
}

/* What a client sent (a user name that failed to sign in, a malformed serial) is
 * recorded as well as it can be: invalid UTF-8 and control characters become "?", and
 * the text is cut at @max bytes */
static char *
sanitize (const char *value,
          gsize       max)
{
  g_autofree char *valid = NULL;
  GString *out;

  if (value == NULL)
    return NULL;
  valid = g_utf8_make_valid (value, -1);
  out = g_string_new (NULL);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gsize before = out->len;

      if (c == 0xFFFD || g_unichar_iscntrl (c))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
      if (out->len > max)
        {
          g_string_truncate (out, before);
          break;
        }
    }
  return g_string_free (out, FALSE);
}

/* Free text of an audit record: valid UTF-8 without control characters */
static gboolean
check_text (const char  *value,
            gsize        max,
            gboolean     required,
            const char  *what,
            GError     **error)
{
  if (value == NULL)
    {
      if (!required)
        return TRUE;
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                   _("The audit record has no %s."), what);
      return FALSE;
    }
  if (strlen (value) > max || !g_utf8_validate (value, -1, NULL))
    goto bad;
  for (const char *p = value; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      goto bad;
  return TRUE;

bad:
  g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
               _("The %s of the audit record is longer than %zu bytes, not UTF-8, or "
                 "holds a control character."), what, max);
  return FALSE;
}

static gboolean
check_audit (const CardpinAuditRecord  *record,
             gboolean                   need_outcome,
             GError                   **error)
{
  const char *hash = record->challenge_sha256;

  /* user, serial and request id may come from a client: sanitized, never refused */
  if (!check_text (record->method, CARDPIN_STORE_MAX_FIELD, TRUE, "method", error) ||
      !check_text (record->outcome, CARDPIN_STORE_MAX_FIELD, need_outcome, "outcome", error) ||
      !check_text (record->operator_name, CARDPIN_STORE_MAX_FIELD, FALSE, "operator", error) ||
      !check_text (record->reason, MAX_REASON, FALSE, "reason", error))
    return FALSE;

  if (hash != NULL)
    {
      gboolean ok = strlen (hash) == 64;

      for (gsize i = 0; ok && i < 64; i++)
        ok = g_ascii_isxdigit (hash[i]) && !g_ascii_isupper (hash[i]);
      if (!ok)
        {
          g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                       _("The challenge hash of an audit record must be 64 lowercase hex "
                         "digits."));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
insert_audit (Conn                      *conn,
              const CardpinAuditRecord  *record,
              const char                *outcome,
              GError                   **error)
{
  g_autofree char *time = g_strdup_printf ("%" G_GINT64_FORMAT, now_microseconds (conn->store));
  g_autofree char *user = sanitize (record->user, CARDPIN_STORE_MAX_FIELD);
  g_autofree char *serial = sanitize (record->serial, CARDPIN_STORE_MAX_FIELD);
  g_autofree char *request_id = sanitize (record->request_id, CARDPIN_STORE_MAX_FIELD);
  const char *params[] = {
    time, user, record->method, serial, record->challenge_sha256,
    outcome, request_id, record->operator_name, record->reason,
  };

  return query (conn,
                "INSERT INTO audit (time, username, method, serial, challenge_sha256,"
                " outcome, request_id, operator, reason)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                "issssssss", params, NULL, NULL, error);
}

/* SHA-256 of @text as 64 lowercase hex digits */
static void
sha256_hex (const char *text,
            gsize       length,
            char        out[65])
{
  guint8 digest[32];
  unsigned int digest_length = sizeof digest;

  EVP_Digest (text, length, digest, &digest_length, EVP_sha256 (), NULL);
  for (gsize i = 0; i < sizeof digest; i++)
    g_snprintf (out + 2 * i, 3, "%02x", digest[i]);
}

/* Schema */

static gboolean
migrate_cb (Conn          *conn,
            gpointer       data,
            GError       **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  int version = 0;

  /* one migration at a time when several instances start together */
  if (g_str_equal (conn->store->backend->name, "postgresql") &&
      !query (conn, "SELECT pg_advisory_xact_lock(7219031)", NULL, NULL, NULL, NULL, error))
    return FALSE;

  if (!query (conn, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
              NULL, NULL, NULL, NULL, error) ||
      !query (conn, "SELECT version FROM schema_version", NULL, NULL, &rows, NULL, error))
    return FALSE;
  if (rows->len > 0)
    version = cell_int (rows, 0, 0);

  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_SCHEMA,
                   _("The database has schema version %d, newer than this program knows "
                     "(%d). Upgrade cardpin on this machine."), version, SCHEMA_VERSION);
      return FALSE;
    }

  for (int next = version + 1; next <= SCHEMA_VERSION; next++)
    {
      const char * const *steps = migrations[next - 1];

      for (guint i = 0; steps[i] != NULL; i++)
        {
          g_autoptr(GString) sql = g_string_new (steps[i]);

          g_string_replace (sql, "@ID@", conn->store->backend->serial_primary_key, 0);
          if (!query (conn, sql->str, NULL, NULL, NULL, NULL, error))
            return FALSE;
        }
      if (next == 1)
        for (guint i = 0; conn->store->backend->append_only_sql[i] != NULL; i++)
          if (!query (conn, conn->store->backend->append_only_sql[i], NULL, NULL, NULL, NULL, error))
            return FALSE;
      if (next == 3 && conn->store->backend->grant_function_sql != NULL)
        for (guint i = 0; conn->store->backend->grant_function_sql[i] != NULL; i++)
          if (!query (conn, conn->store->backend->grant_function_sql[i], NULL, NULL, NULL,
                      NULL, error))
            return FALSE;
    }

  if (version != SCHEMA_VERSION)
    {
      g_autofree char *text = g_strdup_printf ("%d", SCHEMA_VERSION);
      const char *params[] = { text };

      if (!query (conn, "DELETE FROM schema_version", NULL, NULL, NULL, NULL, error) ||
          !query (conn, "INSERT INTO schema_version (version) VALUES ($1)", "i", params,
                  NULL, NULL, error))
        return FALSE;
    }
  return TRUE;
}

static gpointer
open_connection (const char                 *database,
                 const CardpinStoreBackend **backend,
                 GError                    **error)
{
  if (g_str_has_prefix (database, "postgresql://") || g_str_has_prefix (database, "postgres://"))
    return cardpin_store_pg_open (database, backend, error);
  return cardpin_store_sqlite_open (database, backend, error);
}

/* Public API */

/**
 * cardpin_store_open:
 * @database: an SQLite file path, or a `postgresql://` URI
 * @error: return location for a #GError
 *
 * Opens the database, creating the SQLite file on first use, and creates or migrates
 * the schema. The URI may hold a password; it is never part of a message.
 *
 * Returns: (transfer full): the store, or %NULL
 */
CardpinStore *
cardpin_store_open (const char  *database,
                    GError     **error)
{
  g_autoptr(CardpinStore) store = NULL;

  if (database == NULL || database[0] == '\0')
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                   _("No database is configured: set “database” to an SQLite file path or "
                     "a postgresql:// URI."));
      return NULL;
    }

  store = g_new0 (CardpinStore, 1);
  g_mutex_init (&store->mutex);
  g_cond_init (&store->cond);
  g_cond_init (&store->commit_cond);
  g_cond_init (&store->reader_cond);
  g_queue_init (&store->queue);
  store->readers = g_ptr_array_new ();
  store->writer.store = store;
  store->writer.db = open_connection (database, &store->backend, error);
  if (store->writer.db == NULL)
    return NULL;
  store->database = g_strdup (database);

  if (!run_transaction (store, migrate_cb, NULL, error))
    return NULL;
  return g_steal_pointer (&store);
}

void
cardpin_store_free (CardpinStore *store)
{
  if (store == NULL)
    return;
  if (store->committer != NULL)
    {
      /* it commits what is queued, then ends */
      g_mutex_lock (&store->mutex);
      store->closing = TRUE;
      g_cond_signal (&store->commit_cond);
      g_mutex_unlock (&store->mutex);
      g_thread_join (store->committer);
    }
  if (store->writer.db != NULL)
    store->backend->close (store->writer.db);
  for (guint i = 0; i < store->readers->len; i++)
    store->backend->close (g_ptr_array_index (store->readers, i));
  g_ptr_array_unref (store->readers);
  g_mutex_clear (&store->mutex);
  g_cond_clear (&store->cond);
  g_cond_clear (&store->commit_cond);
  g_cond_clear (&store->reader_cond);
  /* the URI may hold a password */
  if (store->database != NULL)
    cardpin_secret_wipe (store->database, strlen (store->database));
  g_free (store->database);
  g_free (store);
}

const char *
cardpin_store_get_backend (CardpinStore *store)
{
  return store->backend->name;
}

void
cardpin_store_set_now (CardpinStore *store,
                       gint64        now)
{
  store->now = now;
}

/* Inventory */

typedef struct {
  const char *serial;
  const char *user;
  CardpinStoreCard *card;
  GPtrArray *cards;
} CardData;

static gboolean
card_add_cb (Conn          *conn,
             gpointer       data,
             GError       **error)
{
  CardData *card = data;
  g_autofree char *added = g_strdup_printf ("%" G_GINT64_FORMAT, now_seconds (conn->store));
  const char *params[] = { card->serial, card->user, added };
  guint changes = 0;

  if (!query (conn,
              "INSERT INTO cards (serial, username, active, added) VALUES ($1, $2, 1, $3)"
              " ON CONFLICT (serial) DO NOTHING",
              "ssi", params, NULL, &changes, error))
    return FALSE;
  if (changes == 0)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_EXISTS,
                   _("The card %s is already in the inventory; nothing was changed."),
                   card->serial);
      return FALSE;
    }
  return TRUE;
}

/**
 * cardpin_store_card_add:
 *
 * Adds an active card bound to @user. Refuses (%CARDPIN_STORE_ERROR_EXISTS) a serial
 * that is already in the inventory, active or not.
 */
gboolean
cardpin_store_card_add (CardpinStore  *store,
                        const char    *serial,
                        const char    *user,
                        GError       **error)
{
  CardData data = { serial, user };

  if (!check_serial (serial, error) || !check_user (user, error))
    return FALSE;
  return run_transaction (store, card_add_cb, &data, error);
}

static gboolean
card_disable_cb (Conn          *conn,
                 gpointer       data,
                 GError       **error)
{
  CardData *card = data;
  const char *params[] = { card->serial };
  guint changes = 0;

  if (!query (conn, "UPDATE cards SET active = 0 WHERE serial = $1", "s", params,
              NULL, &changes, error))
    return FALSE;
  if (changes == 0)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_NOT_FOUND,
                   _("The card %s is not in the inventory. “card list” shows the cards "
                     "there are."), card->serial);
      return FALSE;
    }
  return TRUE;
}

/**
 * cardpin_store_card_disable:
 *
 * Disables a card: the service refuses it from now on. Disabling a disabled card
 * succeeds; a card not in the inventory is %CARDPIN_STORE_ERROR_NOT_FOUND.
 */
gboolean
cardpin_store_card_disable (CardpinStore  *store,
                            const char    *serial,
                            GError       **error)
{
  CardData data = { serial };

  if (!check_serial (serial, error))
    return FALSE;
  return run_transaction (store, card_disable_cb, &data, error);
}

static CardpinStoreCard *
card_from_row (GPtrArray *rows,
               guint      row)
{
  CardpinStoreCard *card = g_new0 (CardpinStoreCard, 1);

  card->serial = g_strdup (cell (rows, row, 0));
  card->user = g_strdup (cell (rows, row, 1));
  card->active = cell_int (rows, row, 2) != 0;
  return card;
}

static gboolean
card_lookup_cb (Conn          *conn,
                gpointer       data,
                GError       **error)
{
  CardData *card = data;
  const char *params[] = { card->serial };
  g_autoptr(GPtrArray) rows = NULL;

  g_clear_pointer (&card->card, cardpin_store_card_free);
  if (!query (conn, "SELECT serial, username, active FROM cards WHERE serial = $1",
              "s", params, &rows, NULL, error))
    return FALSE;
  if (rows->len == 0)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_NOT_FOUND,
                   _("The card %s is not in the inventory. Add it with “card add”."),
                   card->serial);
      return FALSE;
    }
  card->card = card_from_row (rows, 0);
  return TRUE;
}

CardpinStoreCard *
cardpin_store_card_lookup (CardpinStore  *store,
                           const char    *serial,
                           GError       **error)
{
  CardData data = { serial };

  if (!check_serial (serial, error) ||
      !run_read (store, card_lookup_cb, &data, error))
    return NULL;
  return data.card;
}

static gboolean
card_list_cb (Conn          *conn,
              gpointer       data,
              GError       **error)
{
  CardData *card = data;
  g_autoptr(GPtrArray) rows = NULL;

  g_clear_pointer (&card->cards, g_ptr_array_unref);
  if (!query (conn, "SELECT serial, username, active FROM cards ORDER BY serial",
              NULL, NULL, &rows, NULL, error))
    return FALSE;
  card->cards = g_ptr_array_new_with_free_func ((GDestroyNotify) cardpin_store_card_free);
  for (guint i = 0; i < rows->len; i++)
    g_ptr_array_add (card->cards, card_from_row (rows, i));
  return TRUE;
}

GPtrArray *
cardpin_store_card_list (CardpinStore  *store,
                         GError       **error)
{
  CardData data = { NULL };

  if (!run_read (store, card_list_cb, &data, error))
    return NULL;
  return data.cards;
}

void
cardpin_store_card_free (CardpinStoreCard *card)
{
  if (card == NULL)
    return;
  g_free (card->serial);
  g_free (card->user);
  g_free (card);
}

/* Grant */

typedef struct {
  const char *serial;
  const char *user;
  guint quota_card;
  guint quota_user;
  const CardpinAuditRecord *audit;
  CardpinGrant outcome;
  guint retry_after;

  /* a grant for a device token (cardpin_store_grant_token_async()): its hash; the
   * commit looks it up, then grants for its user */
  gboolean by_token;
  char token_hash[65];
  char *token_user;                 /* found, or NULL: CARDPIN_GRANT_BAD_TOKEN */
  CardpinAuditRecord token_audit;   /* @audit with user = token_user */
} GrantData;

static gboolean token_hash  (const char  *token,
                             char         hash[65]);

/* Whether the hash @stored in the database (or %NULL) is @hash, compared in constant
 * time */
static gboolean
same_token_hash (const char *stored,
                 const char *hash)
{
  return stored != NULL && strlen (stored) == 64 && CRYPTO_memcmp (stored, hash, 64) == 0;
}

static gboolean token_valid (Conn        *conn,
                             GPtrArray   *rows,
                             guint        row,
                             const char  *hash);

/* Without the backend's grant function (SQLite; a batch run again one grant at a time):
 * the users of the device tokens that @batch's grants came with, for all in ONE
 * statement (one round trip to a server), in the grant's transaction: a token revoked
 * by another instance a moment before is refused. A grant whose token is unknown,
 * expired or revoked is decided here (CARDPIN_GRANT_BAD_TOKEN): the grant itself skips
 * it and only audits it. */
static gboolean
resolve_tokens (Conn       *conn,
                GPtrArray  *batch,
                GError    **error)
{
  g_autoptr(GString) sql = g_string_new ("SELECT hash, username, expires, revoked"
                                         " FROM device_tokens WHERE hash IN (");
  g_autoptr(GString) types = g_string_new (NULL);
  g_autoptr(GPtrArray) grants = g_ptr_array_new ();    /* of GrantData, with a token */
  g_autoptr(GPtrArray) params = g_ptr_array_new ();
  g_autoptr(GPtrArray) rows = NULL;

  for (guint i = 0; i < batch->len; i++)
    {
      Write *write = g_ptr_array_index (batch, i);
      GrantData *grant = write->data;

      if (write->func != grant_cb || !grant->by_token)
        continue;
      g_ptr_array_add (grants, grant);
      g_string_append_printf (sql, params->len > 0 ? ", $%u" : "$%u", params->len + 1);
      g_string_append_c (types, 's');
      g_ptr_array_add (params, grant->token_hash);
    }
  if (grants->len == 0)
    return TRUE;
  g_string_append_c (sql, ')');
  if (!query (conn, sql->str, types->str, (const char **) params->pdata, &rows, NULL, error))
    return FALSE;

  for (guint i = 0; i < grants->len; i++)
    {
      GrantData *grant = g_ptr_array_index (grants, i);

      /* again from the start when the batch is run again */
      g_clear_pointer (&grant->token_user, g_free);
      for (guint r = 0; r < rows->len && grant->token_user == NULL; r++)
        if (token_valid (conn, rows, r, grant->token_hash))
          grant->token_user = g_strdup (cell (rows, r, 1));
      grant->user = grant->token_user;
      if (grant->token_user == NULL)
        grant->outcome = CARDPIN_GRANT_BAD_TOKEN;
      grant->token_audit = *grant->audit;
      grant->token_audit.user = grant->token_user;
      grant->audit = &grant->token_audit;
    }
  return TRUE;
}

/* Counts one grant on the counter of @kind/@key for @day if it is below @quota (creating
 * it at 1): ONE statement, atomic by itself and, on PostgreSQL, holding the row's lock to
 * the end of the transaction, so that no other transaction or instance counts past the
 * quota. *@counted says whether it counted. */
static gboolean
count_grant (Conn         *conn,
             const char   *kind,
             const char   *key,
             const char   *day,
             guint         quota,
             gboolean     *counted,
             GError      **error)
{
  g_autofree char *limit = g_strdup_printf ("%u", quota);
  const char *params[] = { kind, key, day, limit };
  g_autoptr(GPtrArray) rows = NULL;

  *counted = FALSE;
  if (quota == 0)
    return TRUE;
  if (!query (conn,
              "INSERT INTO grant_counts (kind, key, day, count) VALUES ($1, $2, $3, 1)"
              " ON CONFLICT (kind, key, day) DO UPDATE SET count = grant_counts.count + 1"
              " WHERE grant_counts.count < $4"
              " RETURNING count",
              "ssii", params, &rows, NULL, error))
    return FALSE;
  *counted = rows->len == 1;
  return TRUE;
}

/* The arguments of a grant */
static gboolean
check_grant (const char                *serial,
             const char                *user,
             const CardpinAuditRecord  *audit,
             GError                   **error)
{
  return check_serial (serial, error) && check_account (user, error) &&
         check_audit (audit, FALSE, error);
}

/* @value as the next element of the PostgreSQL array literal @literal ("{" so far, or
 * more): quoted, with '"' and '\' escaped; %NULL as NULL */
static void
append_array_element (GString    *literal,
                      const char *value)
{
  if (literal->len > 1)
    g_string_append_c (literal, ',');
  if (value == NULL)
    {
      g_string_append (literal, "NULL");
      return;
    }
  g_string_append_c (literal, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (literal, '\\');
      g_string_append_c (literal, *p);
    }
  g_string_append_c (literal, '"');
}

/* The backend function's array arguments, in its order (see cardpin-store-pg.c) */
enum {
  GRANT_TOKEN, GRANT_SERIAL, GRANT_USER, GRANT_QUOTA_CARD, GRANT_QUOTA_USER, GRANT_TIME,
  GRANT_AUDIT_USER, GRANT_METHOD, GRANT_AUDIT_SERIAL, GRANT_CHALLENGE, GRANT_REQUEST_ID,
  GRANT_ARRAYS
};

/* @grant's fields appended to the array literals @arrays */
static void
grant_function_args (Conn       *conn,
                     GrantData  *grant,
                     GString   **arrays)
{
  const CardpinAuditRecord *record = grant->audit;
  char quota_card[16], quota_user[16], time[32];
  g_autofree char *user = sanitize (record->user, CARDPIN_STORE_MAX_FIELD);
  g_autofree char *serial = sanitize (record->serial, CARDPIN_STORE_MAX_FIELD);
  g_autofree char *request_id = sanitize (record->request_id, CARDPIN_STORE_MAX_FIELD);
  const char *all[GRANT_ARRAYS] = {
    [GRANT_TOKEN] = grant->by_token ? grant->token_hash : NULL,
    [GRANT_SERIAL] = grant->serial,
    [GRANT_USER] = grant->by_token ? NULL : grant->user,
    [GRANT_QUOTA_CARD] = quota_card,
    [GRANT_QUOTA_USER] = quota_user,
    [GRANT_TIME] = time,
    [GRANT_AUDIT_USER] = grant->by_token ? NULL : user,
    [GRANT_METHOD] = record->method,
    [GRANT_AUDIT_SERIAL] = serial,
    [GRANT_CHALLENGE] = record->challenge_sha256,
    [GRANT_REQUEST_ID] = request_id,
  };

  g_snprintf (quota_card, sizeof quota_card, "%u", grant->quota_card);
  g_snprintf (quota_user, sizeof quota_user, "%u", grant->quota_user);
  g_snprintf (time, sizeof time, "%" G_GINT64_FORMAT, now_microseconds (conn->store));
  for (guint i = 0; i < GRANT_ARRAYS; i++)
    append_array_element (arrays[i], all[i]);
}

/* @grant's outcome (and, with a device token, its user) from the row the backend's
 * function answered: outcome, user, the hash of the token row it matched */
static gboolean
grant_function_outcome (GrantData   *grant,
                        GPtrArray   *row,
                        gint64       now,
                        GError     **error)
{
  const char *outcome = row->len == 3 ? g_ptr_array_index (row, 0) : NULL;
  const char *user = row->len == 3 ? g_ptr_array_index (row, 1) : NULL;
  const char *hash = row->len == 3 ? g_ptr_array_index (row, 2) : NULL;

  for (CardpinGrant g = CARDPIN_GRANT_GRANTED; g <= CARDPIN_GRANT_BAD_TOKEN; g++)
    {
      if (g_strcmp0 (outcome, cardpin_grant_to_string (g)) != 0)
        continue;
      if (grant->by_token)
        {
          /* the token's user, from the row whose hash equals the token's (compared here
           * in constant time too); none: unknown, expired or revoked */
          gboolean found = g != CARDPIN_GRANT_BAD_TOKEN;

          if (found != (user != NULL && same_token_hash (hash, grant->token_hash)))
            break;
          g_clear_pointer (&grant->token_user, g_free);
          grant->token_user = g_strdup (user);
          grant->user = grant->token_user;
        }
      else if (g == CARDPIN_GRANT_BAD_TOKEN)
        break;
      grant->outcome = g;
      if (g == CARDPIN_GRANT_QUOTA_CARD || g == CARDPIN_GRANT_QUOTA_USER)
        grant->retry_after = (now / SECONDS_PER_DAY + 1) * SECONDS_PER_DAY - now;
      return TRUE;
    }
  g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED,
               _("The database's grant function answered “%s”: the database's schema does not "
                 "match this cardpin. Run the same cardpin version on every instance."),
               outcome != NULL ? outcome : "");
  return FALSE;
}

/* The grants of @batch (of Write, each a grant_cb()), their device tokens looked up and
 * their audit records included, as ONE statement of the backend's function, one round
 * trip to the server: SELECT * FROM cardpin_grants(day, now, tokens[], serials[], …),
 * each array an element per grant. The grants are decided one after the other in the
 * transaction, each seeing the counts of the ones before it. With @committed, and a
 * backend that can (query_commit), the transaction is committed in the same round trip:
 * *@committed says whether it was. */
static gboolean
grants_by_function (Conn       *conn,
                    GPtrArray  *batch,
                    gboolean   *committed,
                    GError    **error)
{
  gint64 now = now_seconds (conn->store);
  char day[32], now_text[32];
  GString *arrays[GRANT_ARRAYS];
  const char *params[2 + GRANT_ARRAYS] = { day, now_text };
  g_autoptr(GPtrArray) rows = NULL;
  gboolean ok;

  g_snprintf (day, sizeof day, "%" G_GINT64_FORMAT, now / SECONDS_PER_DAY);
  g_snprintf (now_text, sizeof now_text, "%" G_GINT64_FORMAT, now);
  for (guint i = 0; i < GRANT_ARRAYS; i++)
    arrays[i] = g_string_new ("{");
  for (guint i = 0; i < batch->len; i++)
    {
      GrantData *grant = ((Write *) g_ptr_array_index (batch, i))->data;

      grant->retry_after = 0;
      grant_function_args (conn, grant, arrays);
    }
  for (guint i = 0; i < GRANT_ARRAYS; i++)
    params[2 + i] = g_string_append_c (arrays[i], '}')->str;

#define GRANTS_SQL "SELECT * FROM cardpin_grants($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11," \
                   " $12, $13)"
#define GRANTS_TYPES "iisssssssssss"
  G_STATIC_ASSERT (sizeof GRANTS_TYPES - 1 == G_N_ELEMENTS (params));
  if (committed != NULL && conn->store->backend->query_commit != NULL)
    {
      ok = conn->store->backend->query_commit (conn->db, GRANTS_SQL, GRANTS_TYPES, params,
                                               &rows, error);
      *committed = ok;
    }
  else
    ok = query (conn, GRANTS_SQL, GRANTS_TYPES, params, &rows, NULL, error);
#undef GRANTS_TYPES
#undef GRANTS_SQL
  for (guint i = 0; i < GRANT_ARRAYS; i++)
    g_string_free (arrays[i], TRUE);
  if (!ok)
    return FALSE;

  if (rows->len != batch->len)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED,
                   _("The database's grant function answered %u rows for %u grants: the "
                     "database's schema does not match this cardpin. Run the same cardpin "
                     "version on every instance."), rows->len, batch->len);
      return FALSE;
    }
  for (guint i = 0; i < batch->len; i++)
    {
      GrantData *grant = ((Write *) g_ptr_array_index (batch, i))->data;

      if (!grant_function_outcome (grant, g_ptr_array_index (rows, i), now, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
grant_cb (Conn          *conn,
          gpointer       data,
          GError       **error)
{
  GrantData *grant = data;
  const char *params[] = { grant->serial };
  g_autoptr(GPtrArray) rows = NULL;
  gint64 now = now_seconds (conn->store);
  g_autofree char *day = g_strdup_printf ("%" G_GINT64_FORMAT, now / SECONDS_PER_DAY);

  grant->retry_after = 0;
  if (grant->by_token && grant->token_user == NULL)
    return insert_audit (conn, grant->audit,
                         cardpin_grant_to_string (CARDPIN_GRANT_BAD_TOKEN), error);
  if (conn->store->backend->grant_function_sql != NULL)
    {
      g_autoptr(GPtrArray) one = g_ptr_array_new ();
      Write write = { .func = grant_cb, .data = grant };

      g_ptr_array_add (one, &write);
      return grants_by_function (conn, one, NULL, error);
    }

  if (!query (conn, "SELECT username, active FROM cards WHERE serial = $1", "s", params,
              &rows, NULL, error))
    return FALSE;

  if (rows->len == 0)
    grant->outcome = CARDPIN_GRANT_UNKNOWN_CARD;
  else if (g_strcmp0 (cell (rows, 0, 0), grant->user) != 0)
    grant->outcome = CARDPIN_GRANT_NOT_YOURS;
  else if (cell_int (rows, 0, 1) == 0)
    grant->outcome = CARDPIN_GRANT_DISABLED;
  else
    {
      gboolean counted;

      /* always the card's counter first, then the user's: one lock order */
      if (!count_grant (conn, "card", grant->serial, day, grant->quota_card, &counted, error))
        return FALSE;
      if (!counted)
        grant->outcome = CARDPIN_GRANT_QUOTA_CARD;
      else if (!count_grant (conn, "user", grant->user, day, grant->quota_user, &counted,
                             error))
        return FALSE;
      else if (!counted)
        {
          const char *card_params[] = { grant->serial, day };

          /* the user's quota is used up: take the card's count back */
          if (!query (conn,
                      "UPDATE grant_counts SET count = count - 1"
                      " WHERE kind = 'card' AND key = $1 AND day = $2",
                      "si", card_params, NULL, NULL, error))
            return FALSE;
          grant->outcome = CARDPIN_GRANT_QUOTA_USER;
        }
      else
        grant->outcome = CARDPIN_GRANT_GRANTED;
      if (grant->outcome != CARDPIN_GRANT_GRANTED)
        grant->retry_after = (now / SECONDS_PER_DAY + 1) * SECONDS_PER_DAY - now;
    }

  return insert_audit (conn, grant->audit, cardpin_grant_to_string (grant->outcome), error);
}

/**
 * cardpin_store_grant:
 * @store: the store
 * @serial: the card the response is for
 * @user: the authenticated user
 * @quota_card_per_day: granted responses per card and UTC day
 * @quota_user_per_day: granted responses per user and UTC day
 * @audit: the audit record to append (outcome and time are set here)
 * @outcome: (out): the decision
 * @retry_after: (out) (optional): seconds until a quota frees up, else 0
 * @error: return location for a #GError
 *
 * Decides whether @user gets a response for @serial, counts it and audits the decision,
 * in one transaction: two service instances on one database never grant past a quota.
 * The caller gives the response only on %CARDPIN_GRANT_GRANTED.
 *
 * Returns: %FALSE on a database error or a malformed argument: nothing was counted or
 *   audited
 */
gboolean
cardpin_store_grant (CardpinStore              *store,
                     const char                *serial,
                     const char                *user,
                     guint                      quota_card_per_day,
                     guint                      quota_user_per_day,
                     const CardpinAuditRecord  *audit,
                     CardpinGrant              *outcome,
                     guint                     *retry_after,
                     GError                   **error)
{
  GrantData data = { serial, user, quota_card_per_day, quota_user_per_day, audit };

  g_return_val_if_fail (audit != NULL, FALSE);
  if (!check_grant (serial, user, audit, error))
    return FALSE;
  if (!run_transaction (store, grant_cb, &data, error))
    return FALSE;
  *outcome = data.outcome;
  if (retry_after != NULL)
    *retry_after = data.retry_after;
  return TRUE;
}

/* An asynchronous grant: its write, its data and whom to tell */
typedef struct {
  Write                  write;
  GrantData              data;
  CardpinStoreGrantFunc  callback;
  gpointer               user_data;
} GrantWrite;

static void
grant_finish (Write *write)
{
  GrantWrite *grant = (GrantWrite *) write;

  grant->callback (write->ok ? NULL : write->error, grant->data.outcome,
                   grant->data.retry_after, grant->data.user, grant->user_data);
  g_clear_error (&write->error);
  g_free (grant->data.token_user);
  g_free (grant);
}

/* Queues a grant for the next group commit: for @user, or for the holder of @token; a
 * malformed argument is refused at once, through @callback, nothing queued */
static void
grant_queue (CardpinStore              *store,
             const char                *serial,
             const char                *user,
             const char                *token,
             guint                      quota_card_per_day,
             guint                      quota_user_per_day,
             const CardpinAuditRecord  *audit,
             CardpinStoreGrantFunc      callback,
             gpointer                   user_data)
{
  g_autoptr(GError) error = NULL;
  GrantWrite *grant;

  g_return_if_fail (audit != NULL && callback != NULL);
  /* for a token the user is the token's: any well-formed name stands in for the check */
  if (!check_grant (serial, token != NULL ? "-" : user, audit, &error))
    {
      callback (error, CARDPIN_GRANT_UNKNOWN_CARD, 0, user, user_data);
      return;
    }
  grant = g_new0 (GrantWrite, 1);
  grant->write.func = grant_cb;
  grant->write.data = &grant->data;
  grant->write.finish = grant_finish;
  grant->data = (GrantData) { serial, user, quota_card_per_day, quota_user_per_day, audit };
  if (token != NULL)
    {
      grant->data.by_token = TRUE;
      /* a malformed token has no hash: it matches no row (hashes are hex) */
      if (!token_hash (token, grant->data.token_hash))
        g_strlcpy (grant->data.token_hash, "-", sizeof grant->data.token_hash);
    }
  grant->callback = callback;
  grant->user_data = user_data;

  g_mutex_lock (&store->mutex);
  queue_write (store, &grant->write);
  g_mutex_unlock (&store->mutex);
}

/**
 * cardpin_store_grant_async:
 * @store: the store
 * @serial: the card the response is for
 * @user: the authenticated user
 * @quota_card_per_day: granted responses per card and UTC day
 * @quota_user_per_day: granted responses per user and UTC day
 * @audit: the audit record to append (outcome and time are set here)
 * @callback: called once the grant is committed (or failed)
 * @user_data: for @callback
 *
 * cardpin_store_grant() without waiting: the grant joins the next group commit and
 * @callback is called once it is durable (with the outcome) or failed (with the error;
 * nothing was counted or audited). @callback runs in the store's commit thread (or in
 * this one, before this returns, for a malformed argument), after the commit and together
 * with the other grants of that commit; it must not call the store's other writes (they
 * would wait for the commit thread itself). @serial, @user and @audit must stay valid
 * until @callback is called.
 */
void
cardpin_store_grant_async (CardpinStore              *store,
                           const char                *serial,
                           const char                *user,
                           guint                      quota_card_per_day,
                           guint                      quota_user_per_day,
                           const CardpinAuditRecord  *audit,
                           CardpinStoreGrantFunc      callback,
                           gpointer                   user_data)
{
  grant_queue (store, serial, user, NULL, quota_card_per_day, quota_user_per_day, audit,
               callback, user_data);
}

void
cardpin_store_grant_token_async (CardpinStore              *store,
                                 const char                *serial,
                                 const char                *token,
                                 guint                      quota_card_per_day,
                                 guint                      quota_user_per_day,
                                 const CardpinAuditRecord  *audit,
                                 CardpinStoreGrantFunc      callback,
                                 gpointer                   user_data)
{
  grant_queue (store, serial, NULL, token, quota_card_per_day, quota_user_per_day, audit,
               callback, user_data);
}

const char *
cardpin_grant_to_string (CardpinGrant grant)
{
  switch (grant)
    {
    case CARDPIN_GRANT_GRANTED:      return "granted";
    case CARDPIN_GRANT_UNKNOWN_CARD: return "unknown-card";
    case CARDPIN_GRANT_NOT_YOURS:    return "not-yours";
    case CARDPIN_GRANT_DISABLED:     return "disabled";
    case CARDPIN_GRANT_QUOTA_CARD:   return "quota-card";
    case CARDPIN_GRANT_QUOTA_USER:   return "quota-user";
    case CARDPIN_GRANT_BAD_TOKEN:    return "bad-token";
    default:                         return "unknown";
    }
}

/* Audit */

/**
 * cardpin_store_challenge_sha256:
 * @challenge: (array length=length): the challenge's bytes (not its text)
 * @length: their number
 * @out: (out caller-allocates): 64 lowercase hex digits and a NUL
 *
 * The challenge's fingerprint for #CardpinAuditRecord.challenge_sha256: the service and
 * the helpdesk compute it the same way, so one challenge has one fingerprint.
 */
void
cardpin_store_challenge_sha256 (const guint8 *challenge,
                                gsize         length,
                                char          out[65])
{
  sha256_hex ((const char *) challenge, length, out);
}

typedef struct {
  const CardpinAuditRecord *record;
  GPtrArray *records;
} AuditData;

static gboolean
audit_append_cb (Conn          *conn,
                 gpointer       data,
                 GError       **error)
{
  AuditData *audit = data;

  return insert_audit (conn, audit->record, audit->record->outcome, error);
}

/**
 * cardpin_store_audit_append:
 *
 * Appends one record (refusals too); its time is set here. Committed when this
 * returns %TRUE.
 */
gboolean
cardpin_store_audit_append (CardpinStore              *store,
                            const CardpinAuditRecord  *record,
                            GError                   **error)
{
  AuditData data = { record };

  if (!check_audit (record, TRUE, error))
    return FALSE;
  return run_transaction (store, audit_append_cb, &data, error);
}

gboolean
cardpin_store_audit_check (const CardpinAuditRecord  *record,
                           GError                   **error)
{
  return check_audit (record, FALSE, error);
}

static gboolean
audit_list_cb (Conn          *conn,
               gpointer       data,
               GError       **error)
{
  AuditData *audit = data;
  g_autoptr(GPtrArray) rows = NULL;

  g_clear_pointer (&audit->records, g_ptr_array_unref);
  if (!query (conn,
              "SELECT time, username, method, serial, challenge_sha256, outcome, request_id,"
              " operator, reason FROM audit ORDER BY id",
              NULL, NULL, &rows, NULL, error))
    return FALSE;
  audit->records = g_ptr_array_new_full (rows->len, (GDestroyNotify) cardpin_audit_record_free);
  for (guint i = 0; i < rows->len; i++)
    {
      CardpinAuditRecord *record = g_new0 (CardpinAuditRecord, 1);

      record->time = cell_int (rows, i, 0);
      record->user = g_strdup (cell (rows, i, 1));
      record->method = g_strdup (cell (rows, i, 2));
      record->serial = g_strdup (cell (rows, i, 3));
      record->challenge_sha256 = g_strdup (cell (rows, i, 4));
      record->outcome = g_strdup (cell (rows, i, 5));
      record->request_id = g_strdup (cell (rows, i, 6));
      record->operator_name = g_strdup (cell (rows, i, 7));
      record->reason = g_strdup (cell (rows, i, 8));
      g_ptr_array_add (audit->records, record);
    }
  return TRUE;
}

GPtrArray *
cardpin_store_audit_list (CardpinStore  *store,
                          GError       **error)
{
  AuditData data = { NULL };

  if (!run_read (store, audit_list_cb, &data, error))
    return NULL;
  return data.records;
}

void
cardpin_audit_record_free (CardpinAuditRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->user);
  g_free (record->method);
  g_free (record->serial);
  g_free (record->challenge_sha256);
  g_free (record->outcome);
  g_free (record->request_id);
  g_free (record->operator_name);
  g_free (record->reason);
  g_free (record);
}

/* Device tokens */

typedef struct {
  const char *user;
  char hash[65];
  gint64 expires;
  char *found_user;
  gboolean revoked;
} TokenData;

/* Row @row of (hash, username, expires, revoked) is the token of @hash (compared in
 * constant time), neither expired nor revoked */
static gboolean
token_valid (Conn        *conn,
             GPtrArray   *rows,
             guint        row,
             const char  *hash)
{
  return same_token_hash (cell (rows, row, 0), hash) &&
         cell_int (rows, row, 2) > now_seconds (conn->store) &&
         cell_int (rows, row, 3) == 0;
}

/* The hash of a well-formed token's text, else FALSE */
static gboolean
token_hash (const char *token,
            char        hash[65])
{
  gsize length = token != NULL ? strnlen (token, 2 * CARDPIN_STORE_TOKEN_BYTES + 1) : 0;

  if (length != 2 * CARDPIN_STORE_TOKEN_BYTES)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isxdigit (token[i]) || g_ascii_isupper (token[i]))
      return FALSE;
  sha256_hex (token, length, hash);
  return TRUE;
}

static gboolean
token_issue_cb (Conn          *conn,
                gpointer       data,
                GError       **error)
{
  TokenData *token = data;
  g_autofree char *issued = g_strdup_printf ("%" G_GINT64_FORMAT, now_seconds (conn->store));
  g_autofree char *expires = g_strdup_printf ("%" G_GINT64_FORMAT, token->expires);
  const char *params[] = { token->hash, token->user, issued, expires };

  g_autofree char *stale = g_strdup_printf ("%" G_GINT64_FORMAT,
                                            now_seconds (conn->store) - SECONDS_PER_DAY);
  const char *stale_params[] = { stale };

  /* tokens that expired a day ago are of no use to anyone: drop them on the way */
  if (!query (conn, "DELETE FROM device_tokens WHERE expires < $1", "i", stale_params,
              NULL, NULL, error))
    return FALSE;
  return query (conn,
                "INSERT INTO device_tokens (hash, username, issued, expires, revoked)"
                " VALUES ($1, $2, $3, $4, 0)",
                "ssii", params, NULL, NULL, error);
}

/**
 * cardpin_store_token_issue:
 * @store: the store
 * @user: the user the token authenticates
 * @lifetime_seconds: how long it is valid
 * @expires: (out) (optional): when it expires, Unix seconds
 * @error: return location for a #GError
 *
 * Makes a device token from CARDPIN_STORE_TOKEN_BYTES bytes of the system's CSPRNG and
 * stores only the SHA-256 of its text.
 *
 * Returns: (transfer full): the token's text, 64 lowercase hex digits, or %NULL
 */
CardpinSecret *
cardpin_store_token_issue (CardpinStore  *store,
                           const char    *user,
                           gint64         lifetime_seconds,
                           gint64        *expires,
                           GError       **error)
{
  TokenData data = { user };
  g_autoptr(CardpinSecret) text = NULL;
  guint8 random[CARDPIN_STORE_TOKEN_BYTES];
  char *out;

  if (!check_account (user, error))
    return NULL;
  if (lifetime_seconds <= 0)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                   _("A device token must live for at least one second."));
      return NULL;
    }
  if (RAND_bytes (random, sizeof random) != 1)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED,
                   _("The system's random number generator failed; no device token was "
                     "issued."));
      return NULL;
    }

  text = cardpin_secret_new_sized (2 * sizeof random);
  out = (char *) cardpin_secret_get_mutable_data (text);
  for (gsize i = 0; i < sizeof random; i++)
    {
      static const char digits[] = "0123456789abcdef";

      out[2 * i] = digits[random[i] >> 4];
      out[2 * i + 1] = digits[random[i] & 0xf];
    }
  cardpin_secret_wipe (random, sizeof random);
  sha256_hex (out, 2 * sizeof random, data.hash);
  data.expires = now_seconds (store) + lifetime_seconds;

  if (!run_transaction (store, token_issue_cb, &data, error))
    return NULL;
  if (expires != NULL)
    *expires = data.expires;
  return g_steal_pointer (&text);
}

static gboolean
token_check_cb (Conn          *conn,
                gpointer       data,
                GError       **error)
{
  TokenData *token = data;
  const char *params[] = { token->hash };
  g_autoptr(GPtrArray) rows = NULL;

  g_clear_pointer (&token->found_user, g_free);
  if (!query (conn,
              "SELECT hash, username, expires, revoked FROM device_tokens WHERE hash = $1",
              "s", params, &rows, NULL, error))
    return FALSE;
  if (rows->len == 1 && token_valid (conn, rows, 0, token->hash))
    token->found_user = g_strdup (cell (rows, 0, 1));
  return TRUE;
}

/**
 * cardpin_store_token_check:
 * @store: the store
 * @token: the token's text as the client sent it
 * @user: (out) (transfer full): its user, or %NULL when the token is not valid
 * @error: return location for a #GError
 *
 * Looks the token up by its hash and compares the hashes in constant time; an unknown,
 * malformed, expired or revoked token yields %NULL.
 *
 * Returns: %FALSE only on a database error
 */
gboolean
cardpin_store_token_check (CardpinStore  *store,
                           const char    *token,
                           char         **user,
                           GError       **error)
{
  TokenData data = { NULL };

  *user = NULL;
  if (!token_hash (token, data.hash))
    return TRUE;
  if (!run_read (store, token_check_cb, &data, error))
    return FALSE;
  *user = data.found_user;
  return TRUE;
}

static gboolean
token_revoke_cb (Conn          *conn,
                 gpointer       data,
                 GError       **error)
{
  TokenData *token = data;
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, now_seconds (conn->store));
  const char *params[] = { token->hash, now };
  guint changes = 0;

  if (!query (conn,
              "UPDATE device_tokens SET revoked = 1"
              " WHERE hash = $1 AND revoked = 0 AND expires > $2",
              "si", params, NULL, &changes, error))
    return FALSE;
  token->revoked = changes > 0;
  return TRUE;
}

gboolean
cardpin_store_token_revoke (CardpinStore  *store,
                            const char    *token,
                            gboolean      *revoked,
                            GError       **error)
{
  TokenData data = { NULL };

  if (revoked != NULL)
    *revoked = FALSE;
  if (!token_hash (token, data.hash))
    return TRUE;
  if (!run_transaction (store, token_revoke_cb, &data, error))
    return FALSE;
  if (revoked != NULL)
    *revoked = data.revoked;
  return TRUE;
}

/* Wrong-password throttle */

typedef struct {
  char *user;
  guint retry_after;
} ThrottleData;

/* The throttle counts wrong passwords for whatever name a client sent, well-formed or
 * not (it never refuses one): the name, sanitized, is the counter's key */
static gboolean
throttle_init (ThrottleData  *data,
               const char    *user,
               GError       **error)
{
  if (user == NULL || user[0] == '\0')
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_INVALID,
                   _("The throttle needs a user name."));
      return FALSE;
    }
  data->user = sanitize (user, CARDPIN_STORE_MAX_FIELD);
  return TRUE;
}

static gboolean
throttle_check_cb (Conn          *conn,
                   gpointer       data,
                   GError       **error)
{
  ThrottleData *throttle = data;
  const char *params[] = { throttle->user };
  g_autoptr(GPtrArray) rows = NULL;
  gint64 now = now_seconds (conn->store);

  throttle->retry_after = 0;
  if (!query (conn,
              "SELECT window_start, failures FROM password_failures WHERE username = $1",
              "s", params, &rows, NULL, error))
    return FALSE;
  if (rows->len == 1)
    {
      gint64 end = cell_int (rows, 0, 0) + CARDPIN_STORE_THROTTLE_WINDOW;

      if (cell_int (rows, 0, 1) >= CARDPIN_STORE_THROTTLE_FAILURES && end > now)
        throttle->retry_after = end - now;
    }
  return TRUE;
}

/**
 * cardpin_store_throttle_check:
 * @retry_after: (out): seconds until @user may try a password again, 0 when not throttled
 *
 * An account is throttled once it has had CARDPIN_STORE_THROTTLE_FAILURES wrong
 * passwords within CARDPIN_STORE_THROTTLE_WINDOW seconds of the first one.
 */
gboolean
cardpin_store_throttle_check (CardpinStore  *store,
                              const char    *user,
                              guint         *retry_after,
                              GError       **error)
{
  ThrottleData data = { NULL };
  gboolean ok;

  *retry_after = 0;
  if (!throttle_init (&data, user, error))
    return FALSE;
  ok = run_read (store, throttle_check_cb, &data, error);
  g_free (data.user);
  if (ok)
    *retry_after = data.retry_after;
  return ok;
}

static gboolean
throttle_failure_cb (Conn          *conn,
                     gpointer       data,
                     GError       **error)
{
  ThrottleData *throttle = data;
  gint64 now = now_seconds (conn->store);
  g_autofree char *now_text = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  g_autofree char *old = g_strdup_printf ("%" G_GINT64_FORMAT, now - CARDPIN_STORE_THROTTLE_WINDOW);
  const char *params[] = { throttle->user, now_text, old };

  /* a window that has passed starts again at this failure */
  return query (conn,
                "INSERT INTO password_failures (username, window_start, failures)"
                " VALUES ($1, $2, 1)"
                " ON CONFLICT (username) DO UPDATE SET"
                " failures = CASE WHEN password_failures.window_start <= $3 THEN 1"
                "                 ELSE password_failures.failures + 1 END,"
                " window_start = CASE WHEN password_failures.window_start <= $3 THEN $2"
                "                     ELSE password_failures.window_start END",
                "sii", params, NULL, NULL, error);
}

gboolean
cardpin_store_throttle_failure (CardpinStore  *store,
                                const char    *user,
                                GError       **error)
{
  ThrottleData data = { NULL };
  gboolean ok;

  if (!throttle_init (&data, user, error))
    return FALSE;
  ok = run_transaction (store, throttle_failure_cb, &data, error);
  g_free (data.user);
  return ok;
}

static gboolean
throttle_reset_cb (Conn          *conn,
                   gpointer       data,
                   GError       **error)
{
  ThrottleData *throttle = data;
  const char *params[] = { throttle->user };

  return query (conn, "DELETE FROM password_failures WHERE username = $1", "s", params,
                NULL, NULL, error);
}

gboolean
cardpin_store_throttle_reset (CardpinStore  *store,
                              const char    *user,
                              GError       **error)
{
  ThrottleData data = { NULL };
  gboolean ok;

  if (!throttle_init (&data, user, error))
    return FALSE;
  ok = run_transaction (store, throttle_reset_cb, &data, error);
  g_free (data.user);
  return ok;
}
