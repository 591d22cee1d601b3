/* cardpin-store.h — the service's storage: inventory, quotas, device tokens, throttle, audit
 *
 * One API, two backends chosen by the `database` value of the keyfile: a file path is
 * SQLite (created on first use, WAL), `postgresql://…` (or `postgres://…`) is PostgreSQL
 * through libpq, for several service instances sharing one database. Either backend
 * creates or migrates the schema when it is opened.
 *
 * A CardpinStore holds one database connection and serialises its callers with a
 * mutex: one store may be shared by the threads of one process. Separate processes or
 * instances each open their own store; the database keeps them consistent (a grant and
 * its quota count are one transaction).
 *
 * Nothing secret is ever stored: device tokens are kept as their SHA-256 only, and an
 * audit record holds the SHA-256 of the challenge, never a response, PUK, password or PIN.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "cardpin-secret.h"

G_BEGIN_DECLS

#define CARDPIN_STORE_ERROR (cardpin_store_error_quark ())

/**
 * CardpinStoreError:
 * @CARDPIN_STORE_ERROR_FAILED: the database failed; the message says how
 * @CARDPIN_STORE_ERROR_INVALID: an argument is malformed (serial, user name, …);
 *   nothing was changed
 * @CARDPIN_STORE_ERROR_EXISTS: the card is already in the inventory
 * @CARDPIN_STORE_ERROR_NOT_FOUND: no such card in the inventory
 * @CARDPIN_STORE_ERROR_SCHEMA: the database was written by a newer cardpin
 */
typedef enum {
  CARDPIN_STORE_ERROR_FAILED,
  CARDPIN_STORE_ERROR_INVALID,
  CARDPIN_STORE_ERROR_EXISTS,
  CARDPIN_STORE_ERROR_NOT_FOUND,
  CARDPIN_STORE_ERROR_SCHEMA,
} CardpinStoreError;

/* The longest serial, user name, method, outcome or request id the store accepts. */
#define CARDPIN_STORE_MAX_FIELD 128

/* Wrong passwords: this many failures within the window throttle the account until the
 * window has passed. One wrong password never throttles. */
#define CARDPIN_STORE_THROTTLE_FAILURES 5
#define CARDPIN_STORE_THROTTLE_WINDOW   (5 * 60)

/* Length in bytes of a device token's randomness (its text is twice as many hex digits) */
#define CARDPIN_STORE_TOKEN_BYTES 32

typedef struct _CardpinStore CardpinStore;

/**
 * CardpinStoreCard:
 * One card of the inventory.
 */
typedef struct {
  char     *serial;
  char     *user;
  gboolean  active;
} CardpinStoreCard;

/**
 * CardpinGrant:
 * @CARDPIN_GRANT_GRANTED: the response may be given; it was counted and audited
 * @CARDPIN_GRANT_UNKNOWN_CARD: the card is not in the inventory (answer 403)
 * @CARDPIN_GRANT_NOT_YOURS: the card is bound to another user (403)
 * @CARDPIN_GRANT_DISABLED: the card is disabled (403)
 * @CARDPIN_GRANT_QUOTA_CARD: the card's quota for today is used up (429, Retry-After)
 * @CARDPIN_GRANT_QUOTA_USER: the user's quota for today is used up (429, Retry-After)
 * @CARDPIN_GRANT_BAD_TOKEN: the device token is unknown, expired or revoked (401; only
 *   from cardpin_store_grant_token_async())
 *
 * The outcome of cardpin_store_grant(). Quotas count granted responses per UTC day.
 */
typedef enum {
  CARDPIN_GRANT_GRANTED,
  CARDPIN_GRANT_UNKNOWN_CARD,
  CARDPIN_GRANT_NOT_YOURS,
  CARDPIN_GRANT_DISABLED,
  CARDPIN_GRANT_QUOTA_CARD,
  CARDPIN_GRANT_QUOTA_USER,
  CARDPIN_GRANT_BAD_TOKEN,
} CardpinGrant;

/**
 * CardpinAuditRecord:
 * @time: microseconds since the Unix epoch (UTC); set by the store on append
 * @user: the (claimed) user, or the card's user for the helpdesk; may be %NULL
 * @method: what was asked, e.g. "response", "puk", "device-issue", "device-revoke",
 *   "helpdesk-respond"
 * @serial: the card serial, or %NULL
 * @challenge_sha256: lowercase hex SHA-256 of the challenge's bytes (not of its text), or
 *   %NULL
 * @outcome: e.g. cardpin_grant_to_string(), "bad-password", "throttled", "malformed"
 * @request_id: the id given in the answer
 * @operator_name: the helpdesk operator, or %NULL
 * @reason: the helpdesk operator's reason, or %NULL
 *
 * One append-only audit record. Never a response, PUK, password or PIN. @user, @serial
 * and @request_id may be what a client sent: they are stored sanitized (invalid UTF-8 and
 * control characters as "?", cut at CARDPIN_STORE_MAX_FIELD bytes), never refused.
 * @method, @outcome, @operator_name, @reason and @challenge_sha256 must be well-formed.
 */
typedef struct {
  gint64  time;
  char   *user;
  char   *method;
  char   *serial;
  char   *challenge_sha256;
  char   *outcome;
  char   *request_id;
  char   *operator_name;
  char   *reason;
} CardpinAuditRecord;

GQuark        cardpin_store_error_quark      (void);

CardpinStore *cardpin_store_open             (const char          *database,
                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
void          cardpin_store_free             (CardpinStore        *store);
/* "sqlite" or "postgresql" */
const char   *cardpin_store_get_backend      (CardpinStore        *store);

/* Inventory */
gboolean      cardpin_store_card_add         (CardpinStore        *store,
                                              const char          *serial,
                                              const char          *user,
                                              GError             **error);
gboolean      cardpin_store_card_disable     (CardpinStore        *store,
                                              const char          *serial,
                                              GError             **error);
/* %NULL with CARDPIN_STORE_ERROR_NOT_FOUND when the card is not in the inventory */
CardpinStoreCard *cardpin_store_card_lookup  (CardpinStore        *store,
                                              const char          *serial,
                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
/* of CardpinStoreCard, ordered by serial */
GPtrArray    *cardpin_store_card_list        (CardpinStore        *store,
                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
void          cardpin_store_card_free        (CardpinStoreCard    *card);

/* Grant: ONE transaction that checks the card (in the inventory, active, bound to
 * @user), checks the per-card and per-user quotas of the current UTC day (0 = no
 * response at all), counts a grant, and appends @audit (its outcome and time are set
 * by the store; the caller fills user, method, serial, challenge_sha256, request_id).
 * Race-free across processes and instances sharing one database. @user is the
 * authenticated account (any UTF-8 up to CARDPIN_STORE_MAX_FIELD bytes; a name that no
 * card can carry is simply CARDPIN_GRANT_NOT_YOURS).
 * On a quota outcome *@retry_after is the number of seconds until the quota frees up
 * (the next UTC day), else 0. Returns %FALSE only on a database error (nothing
 * counted, nothing audited). Compute the response first and give it out only on
 * CARDPIN_GRANT_GRANTED: a token failure then neither counts nor audits a grant. */
gboolean      cardpin_store_grant            (CardpinStore        *store,
                                              const char          *serial,
                                              const char          *user,
                                              guint                quota_card_per_day,
                                              guint                quota_user_per_day,
                                              const CardpinAuditRecord *audit,
                                              CardpinGrant        *outcome,
                                              guint               *retry_after,
                                              GError             **error);
/* cardpin_store_grant() without waiting: @callback gets the outcome once the grant is
 * committed (group commit), or the error (nothing counted or audited); it runs in the
 * store's commit thread and must not call the store's other writes. @user is the
 * account granted for (for a device token: the token's, or %NULL when it is not valid),
 * valid during the call. */
typedef void (*CardpinStoreGrantFunc) (const GError *error,
                                       CardpinGrant  outcome,
                                       guint         retry_after,
                                       const char   *user,
                                       gpointer      user_data);
void          cardpin_store_grant_async      (CardpinStore              *store,
                                              const char                *serial,
                                              const char                *user,
                                              guint                      quota_card_per_day,
                                              guint                      quota_user_per_day,
                                              const CardpinAuditRecord  *audit,
                                              CardpinStoreGrantFunc      callback,
                                              gpointer                   user_data);
/* cardpin_store_grant_async() for the holder of the device token @token (its text as
 * the client sent it), looked up in the grant's own transaction (for a whole group
 * commit in one statement): CARDPIN_GRANT_BAD_TOKEN, audited with no user, when it is
 * unknown, malformed, expired or revoked. @audit's user is ignored: the token's is
 * audited. */
void          cardpin_store_grant_token_async (CardpinStore             *store,
                                               const char               *serial,
                                               const char               *token,
                                               guint                     quota_card_per_day,
                                               guint                     quota_user_per_day,
                                               const CardpinAuditRecord *audit,
                                               CardpinStoreGrantFunc     callback,
                                               gpointer                  user_data);
/* "granted", "unknown-card", "not-yours", "disabled", "quota-card", "quota-user",
 * "bad-token" */
const char   *cardpin_grant_to_string        (CardpinGrant         grant);

/* The audit's challenge_sha256: lowercase hex SHA-256 of the challenge's bytes */
void          cardpin_store_challenge_sha256 (const guint8        *challenge,
                                              gsize                length,
                                              char                 out[65]);

/* Audit: append-only */
gboolean      cardpin_store_audit_append     (CardpinStore        *store,
                                              const CardpinAuditRecord *record,
                                              GError             **error);
/* Whether cardpin_store_audit_append() would take @record (its outcome may still be
 * %NULL): to refuse a malformed operator or reason before anything is done */
gboolean      cardpin_store_audit_check      (const CardpinAuditRecord *record,
                                              GError             **error);
/* of CardpinAuditRecord, oldest first */
GPtrArray    *cardpin_store_audit_list       (CardpinStore        *store,
                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
void          cardpin_audit_record_free      (CardpinAuditRecord  *record);

/* Device tokens. Issue returns the token's text (64 lowercase hex digits from a CSPRNG)
 * exactly once; the store keeps only its SHA-256. *@expires: Unix seconds (UTC). */
CardpinSecret *cardpin_store_token_issue     (CardpinStore        *store,
                                              const char          *user,
                                              gint64               lifetime_seconds,
                                              gint64              *expires,
                                              GError             **error) G_GNUC_WARN_UNUSED_RESULT;
/* TRUE unless the database failed; *@user is the token's user, or %NULL when the token
 * is unknown, malformed, expired or revoked. Compares in constant time. */
gboolean      cardpin_store_token_check      (CardpinStore        *store,
                                              const char          *token,
                                              char               **user,
                                              GError             **error);
/* TRUE unless the database failed; *@revoked (may be %NULL) says whether a valid token
 * was revoked */
gboolean      cardpin_store_token_revoke     (CardpinStore        *store,
                                              const char          *token,
                                              gboolean            *revoked,
                                              GError             **error);

/* Wrong-password throttle per account. check: *@retry_after > 0 when throttled.
 * failure: count one wrong password. reset: a right password clears the count. Any
 * non-empty name a client sends is accepted (sanitized into the counter's key). */
gboolean      cardpin_store_throttle_check   (CardpinStore        *store,
                                              const char          *user,
                                              guint               *retry_after,
                                              GError             **error);
gboolean      cardpin_store_throttle_failure (CardpinStore        *store,
                                              const char          *user,
                                              GError             **error);
gboolean      cardpin_store_throttle_reset   (CardpinStore        *store,
                                              const char          *user,
                                              GError             **error);

/* For tests: the store's clock in Unix seconds (0: the real clock) */
void          cardpin_store_set_now          (CardpinStore        *store,
                                              gint64               now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinStore, cardpin_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinStoreCard, cardpin_store_card_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CardpinAuditRecord, cardpin_audit_record_free)

G_END_DECLS
