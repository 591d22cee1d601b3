/* cardpin-store-pg.c — CardpinStore on PostgreSQL (libpq), shared by several instances
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libpq-fe.h>

#include "cardpin-store.h"
#include "cardpin-store-private.h"

/* A connection and its prepared statements, by their SQL text: a statement with
 * parameters is parsed and planned once per connection (measured with
 * tests/bench/bench-unblockd.sh: parsing and planning every call cost the server
 * about as much as the rest of a grant) */
typedef struct {
  PGconn     *conn;
  GHashTable *prepared;   /* SQL text -> statement name */
  /* the BEGIN of a transaction whose first statement is still to come: both are sent
   * together, one round trip (pg_begin(), pg_query()) */
  const char *pending_begin;
} PgConn;

/* SQLSTATEs after which the whole transaction may simply be tried again */
static gboolean
is_retryable (const char *sqlstate)
{
  return sqlstate != NULL &&
         (g_str_equal (sqlstate, "40001") ||   /* serialization_failure */
          g_str_equal (sqlstate, "40P01") ||   /* deadlock_detected */
          g_str_equal (sqlstate, "23505"));    /* unique_violation (a racing insert) */
}

static gboolean
set_error (PGconn      *conn,
           PGresult    *result,
           GError     **error)
{
  const char *sqlstate = result != NULL ? PQresultErrorField (result, PG_DIAG_SQLSTATE) : NULL;
  const char *message = result != NULL ? PQresultErrorMessage (result) : PQerrorMessage (conn);
  g_autofree char *text = g_strstrip (g_strdup (message != NULL ? message : ""));

  g_set_error (error, CARDPIN_STORE_ERROR,
               is_retryable (sqlstate) ? CARDPIN_STORE_ERROR_RETRY : CARDPIN_STORE_ERROR_FAILED,
               _("The PostgreSQL database failed: %s"), text);
  return FALSE;
}

/* The name of @sql prepared on @pg (prepared now, if need be), or %NULL with an error */
static const char *
prepared_name (PgConn      *pg,
               const char  *sql,
               int          n_params,
               GError     **error)
{
  const char *name = g_hash_table_lookup (pg->prepared, sql);
  g_autofree char *new_name = NULL;
  PGresult *result;

  if (name != NULL)
    return name;
  new_name = g_strdup_printf ("cardpin_%u", g_hash_table_size (pg->prepared) + 1);
  result = PQprepare (pg->conn, new_name, sql, n_params, NULL);
  if (PQresultStatus (result) != PGRES_COMMAND_OK)
    {
      set_error (pg->conn, result, error);
      PQclear (result);
      return NULL;
    }
  PQclear (result);
  g_hash_table_insert (pg->prepared, g_strdup (sql), new_name);
  return g_steal_pointer (&new_name);
}

/* A statement's @result (freed here) as pg_query() returns it */
static gboolean
take_result (PGconn     *conn,
             PGresult   *result,
             GPtrArray **rows,
             guint      *changes,
             GError    **error)
{
  ExecStatusType status = PQresultStatus (result);

  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    {
      set_error (conn, result, error);
      PQclear (result);
      return FALSE;
    }

  if (rows != NULL)
    {
      int n_rows = PQntuples (result);
      int n_columns = PQnfields (result);

      *rows = g_ptr_array_new_full (n_rows, (GDestroyNotify) g_ptr_array_unref);
      for (int r = 0; r < n_rows; r++)
        {
          GPtrArray *row = g_ptr_array_new_full (n_columns, g_free);

          for (int c = 0; c < n_columns; c++)
            g_ptr_array_add (row, PQgetisnull (result, r, c) ? NULL
                                                             : g_strdup (PQgetvalue (result, r, c)));
          g_ptr_array_add (*rows, row);
        }
    }
  if (changes != NULL)
    {
      const char *tuples = PQcmdTuples (result);

      *changes = tuples[0] != '\0' ? (guint) g_ascii_strtoull (tuples, NULL, 10) : 0;
    }
  PQclear (result);
  return TRUE;
}

static gboolean pg_reconnect (gpointer data);

/* The statement @name (prepared; else @sql, without parameters), after @begin and
 * before @commit (each may be %NULL), in ONE round trip (libpq's pipeline mode): the
 * statement's result, or %NULL with an error (the first of BEGIN's, the statement's and
 * COMMIT's, or a lost connection's). A statement that fails ends the transaction's
 * work: COMMIT is not run. */
static PGresult *
exec_pipeline (PgConn              *pg,
               const char          *begin,
               const char          *name,
               const char          *sql,
               int                  n_params,
               const char * const  *params,
               const char          *commit,
               GError             **error)
{
  PGconn *conn = pg->conn;
  PGresult *results[3] = { NULL, NULL, NULL };   /* BEGIN's, the statement's, COMMIT's */
  const gboolean sent_part[3] = { begin != NULL, TRUE, commit != NULL };
  PGresult *next;
  gboolean sent;

  if (!PQenterPipelineMode (conn))
    {
      set_error (conn, NULL, error);
      return NULL;
    }
  sent = (begin == NULL || PQsendQueryParams (conn, begin, 0, NULL, NULL, NULL, NULL, 0)) &&
         (name != NULL ? PQsendQueryPrepared (conn, name, n_params, params, NULL, NULL, 0)
                       : PQsendQueryParams (conn, sql, 0, NULL, NULL, NULL, NULL, 0)) &&
         (commit == NULL || PQsendQueryParams (conn, commit, 0, NULL, NULL, NULL, NULL, 0)) &&
         PQpipelineSync (conn);
  if (sent)
    {
      /* each result ended by NULL, then the sync */
      for (guint i = 0; i < G_N_ELEMENTS (results); i++)
        {
          if (!sent_part[i])
            continue;
          results[i] = PQgetResult (conn);
          while ((next = PQgetResult (conn)) != NULL)
            PQclear (next);
        }
      next = PQgetResult (conn);
      sent = PQresultStatus (next) == PGRES_PIPELINE_SYNC;
      PQclear (next);
    }
  PQexitPipelineMode (conn);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      ExecStatusType status = PQresultStatus (results[i]);

      if (!sent_part[i])
        continue;
      if (!sent || results[i] == NULL || status == PGRES_FATAL_ERROR)
        {
          set_error (conn, status == PGRES_FATAL_ERROR ? results[i] : NULL, error);
          for (guint j = 0; j < G_N_ELEMENTS (results); j++)
            PQclear (results[j]);
          return NULL;
        }
    }
  PQclear (results[0]);
  PQclear (results[2]);
  return results[1];
}

/* A statement in one round trip with the transaction's BEGIN (if still to be sent) and
 * @commit (or %NULL); with BEGIN, connects again, once, when the connection was lost
 * (nothing of the transaction ran) */
static gboolean
query_pipelined (PgConn              *pg,
                 const char          *sql,
                 int                  n_params,
                 const char * const  *params,
                 const char          *commit,
                 GPtrArray          **rows,
                 guint               *changes,
                 GError             **error)
{
  const char *begin = g_steal_pointer (&pg->pending_begin);

  for (gboolean again = begin != NULL; ; again = FALSE)
    {
      g_autoptr(GError) local_error = NULL;
      const char *name = NULL;
      PGresult *result = NULL;

      if (PQstatus (pg->conn) == CONNECTION_OK &&
          (n_params == 0 || (name = prepared_name (pg, sql, n_params, &local_error)) != NULL))
        result = exec_pipeline (pg, begin, name, sql, n_params, params, commit, &local_error);
      if (result != NULL)
        return take_result (pg->conn, result, rows, changes, error);
      if (PQstatus (pg->conn) == CONNECTION_OK)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (again && pg_reconnect (pg))
        continue;

      g_autofree char *text = g_strstrip (g_strdup (PQerrorMessage (pg->conn)));

      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED,
                   _("Lost the connection to the PostgreSQL database and cannot connect "
                     "again: %s. Check that the server runs."), text);
      return FALSE;
    }
}

static gboolean
pg_query (gpointer             data,
          const char          *sql,
          const char          *types,
          const char * const  *params,
          GPtrArray          **rows,
          guint               *changes,
          GError             **error)
{
  PgConn *pg = data;
  PGconn *conn = pg->conn;
  PGresult *result;
  int n_params = types != NULL ? strlen (types) : 0;

  if (pg->pending_begin != NULL)
    return query_pipelined (pg, sql, n_params, params, NULL, rows, changes, error);
  if (n_params > 0)
    {
      const char *name = prepared_name (pg, sql, n_params, error);

      if (name == NULL)
        return FALSE;
      result = PQexecPrepared (conn, name, n_params, (const char * const *) params, NULL,
                               NULL, 0);
    }
  else
    result = PQexec (conn, sql);
  return take_result (conn, result, rows, changes, error);
}

static gboolean
pg_exec (PgConn      *pg,
         const char  *sql,
         GError     **error)
{
  return pg_query (pg, sql, NULL, NULL, NULL, NULL, error);
}

static void
ignore_notice (void       *data,
               const char *message)
{
  /* "relation … already exists, skipping" and the like: not for the service's log */
}

/* A lost connection (a server restart, a dropped connection) shows as a bad one after a
 * failed statement: connect again, once */
static gboolean
pg_reconnect (gpointer data)
{
  PgConn *pg = data;
  PGconn *conn = pg->conn;

  if (PQstatus (conn) == CONNECTION_OK)
    return FALSE;
  /* a new session: no statement is prepared there */
  g_hash_table_remove_all (pg->prepared);
  PQreset (conn);
  if (PQstatus (conn) != CONNECTION_OK)
    return FALSE;
  PQsetNoticeProcessor (conn, ignore_notice, NULL);
  return TRUE;
}

static gboolean
pg_begin (gpointer   data,
          gboolean   write,
          GError   **error)
{
  PgConn *pg = data;

  /* READ COMMITTED; the quota counters are counted with one atomic upsert each, which
   * holds the row's lock to the end of the transaction. Sent with the transaction's
   * first statement, one round trip (pg_query()): a lost connection is made again
   * there. */
  pg->pending_begin = write ? "BEGIN" : "BEGIN READ ONLY";
  return TRUE;
}

static gboolean
pg_commit (gpointer   data,
           GError   **error)
{
  PgConn *pg = data;

  /* a transaction without a statement: nothing was sent */
  if (g_steal_pointer (&pg->pending_begin) != NULL)
    return TRUE;
  return pg_exec (pg, "COMMIT", error);
}

static gboolean
pg_query_commit (gpointer             data,
                 const char          *sql,
                 const char          *types,
                 const char * const  *params,
                 GPtrArray          **rows,
                 GError             **error)
{
  return query_pipelined (data, sql, types != NULL ? strlen (types) : 0, params, "COMMIT",
                          rows, NULL, error);
}

static void
pg_rollback (gpointer data)
{
  PgConn *pg = data;

  pg->pending_begin = NULL;
  if (PQtransactionStatus (pg->conn) != PQTRANS_IDLE)
    PQclear (PQexec (pg->conn, "ROLLBACK"));
}

static void
pg_close (gpointer data)
{
  PgConn *pg = data;

  PQfinish (pg->conn);
  g_hash_table_unref (pg->prepared);
  g_free (pg);
}

static const char * const pg_append_only[] = {
  "CREATE OR REPLACE FUNCTION cardpin_audit_append_only() RETURNS trigger"
  " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
  "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
  " FOR EACH ROW EXECUTE FUNCTION cardpin_audit_append_only()",
  "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
  " FOR EACH STATEMENT EXECUTE FUNCTION cardpin_audit_append_only()",
  NULL
};

/* The grants of a group commit in one statement, one round trip, set-based: the same
 * decisions, in the same order, as grant_cb() in cardpin-store.c makes statement by
 * statement, grant after grant (the device token's user, if any; the card, its user,
 * active; the card's quota, then the user's), but each table is read or written once
 * for the whole batch:
 * - the device tokens and the cards are read once;
 * - each counter the batch may count on is locked (SELECT … FOR UPDATE; created at 0
 *   when it is the day's first), one after the other sorted by kind and key, so that two
 *   instances lock them in one order and never deadlock; each stays locked to the end of
 *   the transaction: no other transaction or instance counts past a quota;
 * - the grants are decided one after the other on those counts in memory, each seeing
 *   the ones before it; the counters that moved are written back once;
 * - the audit records are inserted in one statement, in the batch's order.
 * Arguments: the UTC day and the time (seconds, for the tokens' expiry), then one array
 * per field, an element per grant (p_token: the SHA-256 of the device token, else NULL;
 * p_user: the authenticated user, NULL with a token). One row per grant, in order: its
 * outcome, its user (a token's, NULL when the token is unknown, expired or revoked) and
 * the hash of the token row it matched. */
static const char * const pg_grant_function[] = {
  /* version 2's cardpin_grant() stays: instances of the version before, still running
   * during a rolling upgrade, keep granting through it */
  "CREATE OR REPLACE FUNCTION cardpin_grants(p_day BIGINT, p_now BIGINT,"
  "  p_token TEXT[], p_serial TEXT[], p_user TEXT[], p_quota_card BIGINT[], p_quota_user BIGINT[],"
  "  p_time BIGINT[], p_audit_user TEXT[], p_method TEXT[], p_audit_serial TEXT[],"
  "  p_challenge TEXT[], p_request_id TEXT[])"
  "  RETURNS TABLE (outcome TEXT, username TEXT, hash TEXT) LANGUAGE plpgsql AS $$"
  " DECLARE"
  "  outcomes TEXT[]; users TEXT[]; hashes TEXT[];"
  "  n INTEGER := cardinality(p_serial);"
  "  audit_users TEXT[] := p_audit_user;"
  "  t_hash TEXT[]; t_user TEXT[];"
  "  c_serial TEXT[]; c_user TEXT[]; c_active INTEGER[];"
  "  k_id TEXT[] := '{}'; k_count INTEGER[] := '{}'; k_old INTEGER[];"
  "  v_kind TEXT; v_key TEXT; v_count INTEGER;"
  "  j INTEGER; kc INTEGER; ku INTEGER;"
  " BEGIN"
  "  outcomes := array_fill(NULL::TEXT, ARRAY[n]);"
  "  users := p_user;"
  "  hashes := array_fill(NULL::TEXT, ARRAY[n]);"
  "  IF cardinality(array_remove(p_token, NULL)) > 0 THEN"
  "   SELECT array_agg(t.hash), array_agg(t.username) INTO t_hash, t_user FROM device_tokens t"
  "    WHERE t.hash = ANY (p_token) AND t.expires > p_now AND t.revoked = 0;"
  "  END IF;"
  "  SELECT array_agg(c.serial), array_agg(c.username), array_agg(c.active)"
  "   INTO c_serial, c_user, c_active FROM cards c WHERE c.serial = ANY (p_serial);"
  "  FOR i IN 1..n LOOP"
  "   IF p_token[i] IS NOT NULL THEN"
  "    j := array_position(t_hash, p_token[i]);"
  "    users[i] := t_user[j]; hashes[i] := t_hash[j]; audit_users[i] := t_user[j];"
  "    IF j IS NULL THEN outcomes[i] := 'bad-token'; CONTINUE; END IF;"
  "   END IF;"
  "   j := array_position(c_serial, p_serial[i]);"
  "   IF j IS NULL THEN outcomes[i] := 'unknown-card';"
  "   ELSIF c_user[j] IS DISTINCT FROM users[i] THEN outcomes[i] := 'not-yours';"
  "   ELSIF c_active[j] = 0 THEN outcomes[i] := 'disabled';"
  "   ELSIF p_quota_card[i] <= 0 THEN outcomes[i] := 'quota-card';"
  "   ELSE"
  "    IF array_position(k_id, 'card:' || p_serial[i]) IS NULL THEN"
  "     k_id := k_id || ('card:' || p_serial[i]);"
  "    END IF;"
  "    IF p_quota_user[i] > 0 AND array_position(k_id, 'user:' || users[i]) IS NULL THEN"
  "     k_id := k_id || ('user:' || users[i]);"
  "    END IF;"
  "   END IF;"
  "  END LOOP;"
  "  IF cardinality(k_id) > 0 THEN"
  "   SELECT array_agg(x ORDER BY x) INTO k_id FROM unnest(k_id) x;"
  "   FOR k IN 1..cardinality(k_id) LOOP"
  "    v_kind := split_part(k_id[k], ':', 1); v_key := substr(k_id[k], length(v_kind) + 2);"
  "    SELECT g.count INTO v_count FROM grant_counts g"
  "     WHERE g.kind = v_kind AND g.key = v_key AND g.day = p_day FOR UPDATE;"
  "    IF NOT FOUND THEN"
  "     INSERT INTO grant_counts AS g (kind, key, day, count) VALUES (v_kind, v_key, p_day, 0)"
  "      ON CONFLICT (kind, key, day) DO UPDATE SET count = g.count RETURNING g.count INTO v_count;"
  "    END IF;"
  "    k_count[k] := v_count;"
  "   END LOOP;"
  "   k_old := k_count;"
  "   FOR i IN 1..n LOOP"
  "    CONTINUE WHEN outcomes[i] IS NOT NULL;"
  "    kc := array_position(k_id, 'card:' || p_serial[i]);"
  "    IF k_count[kc] >= p_quota_card[i] THEN outcomes[i] := 'quota-card';"
  "    ELSIF p_quota_user[i] <= 0 THEN outcomes[i] := 'quota-user';"
  "    ELSE"
  "     ku := array_position(k_id, 'user:' || users[i]);"
  "     IF k_count[ku] >= p_quota_user[i] THEN outcomes[i] := 'quota-user';"
  "     ELSE"
  "      k_count[kc] := k_count[kc] + 1; k_count[ku] := k_count[ku] + 1;"
  "      outcomes[i] := 'granted';"
  "     END IF;"
  "    END IF;"
  "   END LOOP;"
  "   FOR k IN 1..cardinality(k_id) LOOP"
  "    CONTINUE WHEN k_count[k] = k_old[k];"
  "    v_kind := split_part(k_id[k], ':', 1); v_key := substr(k_id[k], length(v_kind) + 2);"
  "    UPDATE grant_counts g SET count = k_count[k]"
  "     WHERE g.kind = v_kind AND g.key = v_key AND g.day = p_day;"
  "   END LOOP;"
  "  END IF;"
  "  INSERT INTO audit (time, username, method, serial, challenge_sha256, outcome, request_id)"
  "   SELECT * FROM unnest(p_time, audit_users, p_method, p_audit_serial, p_challenge,"
  "                        outcomes, p_request_id);"
  "  RETURN QUERY SELECT * FROM unnest(outcomes, users, hashes);"
  " END $$",
  NULL
};

static const CardpinStoreBackend pg_backend = {
  .name = "postgresql",
  /* a read is a round trip to the server: as many as the service has workers */
  .max_readers = 8,
  .serial_primary_key = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
  .append_only_sql = pg_append_only,
  .grant_function_sql = pg_grant_function,
  .begin = pg_begin,
  .commit = pg_commit,
  .query_commit = pg_query_commit,
  .rollback = pg_rollback,
  .query = pg_query,
  .reconnect = pg_reconnect,
  .close = pg_close,
};

gpointer
cardpin_store_pg_open (const char                 *uri,
                       const CardpinStoreBackend **backend,
                       GError                    **error)
{
  /* defaults that the URI overrides: parameters before "dbname" yield to the ones
   * expanded from it */
  const char * const keywords[] = { "connect_timeout", "application_name", "dbname", NULL };
  const char * const values[] = { "10", "cardpin", uri, NULL };
  PGconn *conn;
  PgConn *pg;

  /* the URI may hold a password: it never goes into a message */
  conn = PQconnectdbParams (keywords, values, 1);
  if (conn == NULL || PQstatus (conn) != CONNECTION_OK)
    {
      g_autofree char *text = g_strstrip (g_strdup (conn != NULL ? PQerrorMessage (conn) : ""));

      g_set_error (error, CARDPIN_STORE_ERROR, CARDPIN_STORE_ERROR_FAILED,
                   _("Cannot connect to the PostgreSQL database: %s. Check the “database” "
                     "key of the configuration and that the server runs."), text);
      PQfinish (conn);
      return NULL;
    }
  PQsetNoticeProcessor (conn, ignore_notice, NULL);

  pg = g_new0 (PgConn, 1);
  pg->conn = conn;
  pg->prepared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  *backend = &pg_backend;
  return pg;
}
