/* cardpin-store-sqlite.c — CardpinStore on SQLite (one file, WAL)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "cardpin-store.h"
#include "cardpin-store-private.h"

/* how long one statement waits for another process's write transaction */
#define BUSY_TIMEOUT_MS 10000

static gboolean
set_error (sqlite3     *db,
           int          rc,
           GError     **error)
{
  int code = CARDPIN_STORE_ERROR_FAILED;

  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
    code = CARDPIN_STORE_ERROR_RETRY;
  g_set_error (error, CARDPIN_STORE_ERROR, code,
               _("The SQLite database failed: %s"),
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  return FALSE;
}

/* Pages written to the WAL after which a checkpoint (in the checkpointer's thread) copies
 * them into the database file */
#define CHECKPOINT_PAGES    1000
/* Pages in the WAL after which the writer itself completes the checkpoint, so that the
 * WAL starts over (see wal_hook()); and how many more pages it lets pass before it tries
 * again when it could not */
#define RESTART_PAGES       (4 * CHECKPOINT_PAGES)
#define RESTART_RETRY_PAGES 100

/* A connection and its prepared statements, by their SQL text */
typedef struct {
  sqlite3    *db;
  GHashTable *statements;
  char       *path;
  /* checkpoints: one thread with a connection of its own, started by the first */
  GThread    *checkpointer;
  GMutex      checkpoint_mutex;
  GCond       checkpoint_cond;
  gboolean    checkpoint_wanted;   /* guarded by checkpoint_mutex */
  gboolean    checkpoint_stop;     /* guarded by checkpoint_mutex */
  int         checkpoint_mark;     /* the WAL's pages at the last request (writer only) */
  int         restart_mark;        /* the WAL's pages at the writer's last try (writer only) */
} Connection;

static void
statement_free (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

/* A statement is kept for the next query; reset, it holds no lock */
static void
done (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

static gboolean
sqlite_query (gpointer             data,
              const char          *sql,
              const char          *types,
              const char * const  *params,
              GPtrArray          **rows,
              guint               *changes,
              GError             **error)
{
  Connection *connection = data;
  sqlite3 *db = connection->db;
  sqlite3_stmt *stmt = g_hash_table_lookup (connection->statements, sql);
  g_autoptr(GPtrArray) result = NULL;
  gsize n_params = types != NULL ? strlen (types) : 0;
  int rc;

  if (stmt == NULL)
    {
      g_autofree char *text = g_strdup (sql);

      /* $N is PostgreSQL's spelling of SQLite's ?N */
      for (char *p = text; *p != '\0'; p++)
        if (*p == '$')
          *p = '?';

      rc = sqlite3_prepare_v3 (db, text, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
      if (rc != SQLITE_OK)
        return set_error (db, rc, error);
      g_hash_table_insert (connection->statements, g_strdup (sql), stmt);
    }

  for (gsize i = 0; i < n_params; i++)
    {
      if (params[i] == NULL)
        rc = sqlite3_bind_null (stmt, i + 1);
      else if (types[i] == 'i')
        rc = sqlite3_bind_int64 (stmt, i + 1, g_ascii_strtoll (params[i], NULL, 10));
      else
        rc = sqlite3_bind_text (stmt, i + 1, params[i], -1, SQLITE_TRANSIENT);
      if (rc != SQLITE_OK)
        {
          set_error (db, rc, error);
          done (stmt);
          return FALSE;
        }
    }

  result = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      int n_columns = sqlite3_column_count (stmt);
      GPtrArray *row = g_ptr_array_new_full (n_columns, g_free);

      for (int c = 0; c < n_columns; c++)
        g_ptr_array_add (row, g_strdup ((const char *) sqlite3_column_text (stmt, c)));
      g_ptr_array_add (result, row);
    }
  if (rc != SQLITE_DONE)
    {
      set_error (db, rc, error);
      done (stmt);
      return FALSE;
    }
  done (stmt);

  if (changes != NULL)
    *changes = sqlite3_changes (db);
  if (rows != NULL)
    *rows = g_steal_pointer (&result);
  return TRUE;
}

static gboolean
sqlite_exec (sqlite3     *db,
             const char  *sql,
             GError     **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_error (db, rc, error);
  return TRUE;
}

static gboolean
sqlite_begin (gpointer   data,
              gboolean   write,
              GError   **error)
{
  /* IMMEDIATE: the write lock is taken now (waiting up to the busy timeout), so two
   * processes never both read a quota and then both count it. Readers do not wait for
   * the writer (WAL). */
  return sqlite_query (data, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL, NULL,
                       error);
}

static gboolean
sqlite_commit (gpointer   data,
               GError   **error)
{
  return sqlite_query (data, "COMMIT", NULL, NULL, NULL, NULL, error);
}

static void
sqlite_rollback (gpointer data)
{
  Connection *connection = data;

  if (!sqlite3_get_autocommit (connection->db))
    sqlite3_exec (connection->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One checkpoint on @db, the checkpointer's own connection (opened now if need be): off
 * the writer's path, since SQLite would run it inside a COMMIT (and fsync the database
 * file there), holding up every write of the group commit. PASSIVE: it never waits for
 * readers or the writer. */
static void
checkpoint (Connection  *connection,
            sqlite3    **db)
{
  int rc;

  if (*db == NULL)
    {
      rc = sqlite3_open_v2 (connection->path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                            NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec (*db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        {
          g_warning ("%s: checkpoint: %s", connection->path,
                     *db != NULL ? sqlite3_errmsg (*db) : sqlite3_errstr (rc));
          g_clear_pointer (db, sqlite3_close_v2);
          return;
        }
    }
  rc = sqlite3_wal_checkpoint_v2 (*db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    g_warning ("%s: checkpoint: %s", connection->path, sqlite3_errmsg (*db));
}

/* The checkpointer: a checkpoint whenever wal_hook() asks, until the connection closes.
 * One thread and one connection for all (a thread and a connection per checkpoint cost
 * more than the checkpoint: measured with tests/bench/bench-unblockd.sh). */
static gpointer
checkpoint_thread (gpointer data)
{
  Connection *connection = data;
  sqlite3 *db = NULL;

  g_mutex_lock (&connection->checkpoint_mutex);
  for (;;)
    {
      while (!connection->checkpoint_wanted && !connection->checkpoint_stop)
        g_cond_wait (&connection->checkpoint_cond, &connection->checkpoint_mutex);
      if (connection->checkpoint_stop)
        break;
      connection->checkpoint_wanted = FALSE;
      g_mutex_unlock (&connection->checkpoint_mutex);
      checkpoint (connection, &db);
      g_mutex_lock (&connection->checkpoint_mutex);
    }
  g_mutex_unlock (&connection->checkpoint_mutex);
  sqlite3_close_v2 (db);
  return NULL;
}

/* After each commit of this connection (the writer), its write lock released: a
 * checkpoint in the checkpointer's thread for every CHECKPOINT_PAGES pages written to the
 * WAL since the last one was asked for.
 *
 * Those never let the WAL start over under steady writes: SQLite starts it over at a
 * write that finds every page of it copied, and a checkpoint in another thread copies
 * up to the last page it saw while the writer goes on appending. A RESTART checkpoint
 * there waits for a moment without a writer, which back-to-back commits do not leave
 * (seen: it waited out the 10 s busy timeout while the WAL grew to 17000 pages; every
 * commit's fsync then extends the file). So once the WAL holds RESTART_PAGES, the writer
 * completes the checkpoint here, where no write of this process can start until this
 * returns: it copies what the checkpointer has not yet (about CHECKPOINT_PAGES at most),
 * and the next write starts the WAL over. PASSIVE, it waits for no one: while the
 * checkpointer runs, or a reader still reads an older snapshot, the writer tries again
 * RESTART_RETRY_PAGES later. */
static int
wal_hook (gpointer  data,
          sqlite3  *db,
          const char *name,
          int       pages)
{
  Connection *connection = data;
  int rc;

  /* fewer pages than at the last request: the WAL started over */
  if (pages < connection->checkpoint_mark)
    connection->checkpoint_mark = 0;
  if (pages < connection->restart_mark)
    connection->restart_mark = 0;
  if (pages >= RESTART_PAGES)
    {
      if (pages < connection->restart_mark + RESTART_RETRY_PAGES)
        return SQLITE_OK;
      connection->restart_mark = pages;
      rc = sqlite3_wal_checkpoint_v2 (db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        g_warning ("%s: checkpoint: %s", connection->path, sqlite3_errmsg (db));
      return SQLITE_OK;
    }
  if (pages < connection->checkpoint_mark + CHECKPOINT_PAGES)
    return SQLITE_OK;
  connection->checkpoint_mark = pages;

  g_mutex_lock (&connection->checkpoint_mutex);
  connection->checkpoint_wanted = TRUE;
  if (connection->checkpointer == NULL)
    connection->checkpointer = g_thread_new ("cardpin-checkpoint", checkpoint_thread,
                                             connection);
  else
    g_cond_signal (&connection->checkpoint_cond);
  g_mutex_unlock (&connection->checkpoint_mutex);
  return SQLITE_OK;
}

static void
sqlite_close (gpointer data)
{
  Connection *connection = data;

  g_mutex_lock (&connection->checkpoint_mutex);
  connection->checkpoint_stop = TRUE;
  g_cond_signal (&connection->checkpoint_cond);
  g_mutex_unlock (&connection->checkpoint_mutex);
  if (connection->checkpointer != NULL)
    g_thread_join (connection->checkpointer);
  g_mutex_clear (&connection->checkpoint_mutex);
  g_cond_clear (&connection->checkpoint_cond);
  g_free (connection->path);

  g_hash_table_unref (connection->statements);
  sqlite3_close_v2 (connection->db);
  g_free (connection);
}

static const char * const sqlite_append_only[] = {
  "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
  " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
  " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  NULL
};

static const CardpinStoreBackend sqlite_backend = {
  .name = "sqlite",
  /* few: the WAL has 4 read marks for snapshots that are not the checkpointed file, one
   * of them for the writer; a reader that finds none free spins and then sleeps, up to
   * a second (seen under load with 8 readers) */
  .max_readers = 2,
  .serial_primary_key = "INTEGER PRIMARY KEY AUTOINCREMENT",
  .append_only_sql = sqlite_append_only,
  .begin = sqlite_begin,
  .commit = sqlite_commit,
  .rollback = sqlite_rollback,
  .query = sqlite_query,
  .close = sqlite_close,
};

gpointer
cardpin_store_sqlite_open (const char                 *path,
                           const CardpinStoreBackend **backend,
                           GError                    **error)
{
  static gsize initialized = 0;
  Connection *connection;
  sqlite3 *db = NULL;
  int fd;
  int rc;

  if (g_once_init_enter (&initialized))
    {
      /* no global memory statistics: they put one mutex around every allocation of
       * every connection (fails harmlessly when SQLite is already in use) */
      (void) sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
      g_once_init_leave (&initialized, 1);
    }

  /* created on first use, readable by the service's user only: it holds the inventory,
   * the audit and the hashes of device tokens. Only when it does not exist: closing a
   * descriptor of the file would drop the POSIX locks of this process's other
   * connections to it (the store's read connections). */
  if (g_access (path, F_OK) != 0)
    {
      fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          int saved_errno = errno;

          g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED,
                       _("Cannot open the database “%s”: %s. Check the “database” key of "
                         "the configuration and the permissions of its folder."),
                       path, g_strerror (saved_errno));
          return NULL;
        }
      close (fd);
    }

  /* one thread at a time uses a connection (the store hands them out) */
  rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED,
                   _("Cannot open the database “%s”: %s"), path,
                   db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
      sqlite3_close_v2 (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  connection = g_new0 (Connection, 1);
  connection->db = db;
  connection->path = g_strdup (path);
  g_mutex_init (&connection->checkpoint_mutex);
  g_cond_init (&connection->checkpoint_cond);
  /* checkpoints in a thread of their own (wal_hook), not inside a commit */
  sqlite3_wal_hook (db, wal_hook, connection);
  connection->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                  statement_free);

  /* WAL: readers never wait for the writer; FULL: a commit (a grant and its audit
   * record) is on disk before the answer is sent */
  if (!sqlite_exec (db, "PRAGMA journal_mode=WAL", error) ||
      !sqlite_exec (db, "PRAGMA synchronous=FULL", error) ||
      !sqlite_exec (db, "PRAGMA secure_delete=ON", error))
    {
      g_prefix_error (error, "%s: ", path);
      sqlite_close (connection);
      return NULL;
    }

  *backend = &sqlite_backend;
  return connection;
}
