/* cardpin-store-private.h — the two backends of CardpinStore (SQLite, PostgreSQL)
 *
 * The store's logic (cardpin-store.c) is written once in SQL both databases accept;
 * a backend runs one statement at a time with $1…$n parameters and returns its rows
 * as text.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A backend error that a new attempt of the whole transaction may cure (busy database,
 * serialization failure, deadlock). Never leaves cardpin-store.c. */
#define CARDPIN_STORE_ERROR_RETRY 1000

typedef struct _CardpinStoreBackend CardpinStoreBackend;

struct _CardpinStoreBackend
{
  const char *name;
  /* connections for reads, besides the one that writes */
  guint max_readers;
  /* the column type of an auto-incremented primary key */
  const char *serial_primary_key;
  /* statements of schema version 1 that only this backend needs */
  const char * const *append_only_sql;
  /* schema version 3: the statements (NULL-terminated) that create the function
   * cardpin_grants(), which makes the grants of a group commit one statement, one round
   * trip to a database server (see grants_by_function() in cardpin-store.c for its
   * arguments and result), or %NULL: the store then runs a grant statement by statement */
  const char * const *grant_function_sql;

  /* a transaction; @write: one that writes (SQLite: BEGIN IMMEDIATE, so that it holds
   * the write lock from its first read) */
  gboolean (*begin)    (gpointer db, gboolean write, GError **error);
  gboolean (*commit)   (gpointer db, GError **error);
  void     (*rollback) (gpointer db);
  /* One statement with $1…$n. @types has one character per parameter: 's' text,
   * 'i' an integer written in decimal. @rows (may be %NULL) receives a GPtrArray of
   * rows, each a GPtrArray of column values (char *, %NULL for SQL NULL);
   * @changes (may be %NULL) the number of rows changed. */
  gboolean (*query)    (gpointer             db,
                        const char          *sql,
                        const char          *types,
                        const char * const  *params,
                        GPtrArray          **rows,
                        guint               *changes,
                        GError             **error);
  /* query() that also commits the transaction, in one round trip with the statement,
   * or %NULL. On failure the transaction is still to be rolled back. */
  gboolean (*query_commit) (gpointer             db,
                            const char          *sql,
                            const char          *types,
                            const char * const  *params,
                            GPtrArray          **rows,
                            GError             **error);
  /* Whether the connection was lost (a server restart) and is made again now; %NULL
   * when a connection cannot be lost (SQLite) */
  gboolean (*reconnect) (gpointer db);
  void     (*close)    (gpointer db);
};

gpointer cardpin_store_sqlite_open   (const char                 *path,
                                      const CardpinStoreBackend **backend,
                                      GError                    **error);
gpointer cardpin_store_pg_open       (const char                 *uri,
                                      const CardpinStoreBackend **backend,
                                      GError                    **error);

G_END_DECLS
