/*
 * lib/db.h: one PostgreSQL connection with its prepared statements (STYLE 4.10).
 * The connection is opaque; results are opaque too (struct db_res), so no libpq type leaks
 * into callers.  All statement text lives in lib/db_stmts.c; callers name statements by id.
 * A struct db belongs to one thread/process at a time.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "db_stmts.h"

struct db;
struct db_res;

/* Details of a failed statement that may be shown to clients (hjo's own HJxxx errors only)
   or logged (sqlstate). */
struct db_err {
        char sqlstate[6];
        char message[256]; /* for HJxxx errors: our text from sql/; otherwise empty */
        char field[64];    /* for HJ400: the offending field */
};

/*
 * Connects with `dsn` (libpq URI or key=value string), sets application_name and
 * statement_timeout, and prepares every statement of lib/db_stmts.c.
 * 0, -ENOTCONN (server unreachable or refused), -EIO (preparing failed).
 */
MUST_CHECK int db_open(const char *dsn, const char *app_name, int64_t statement_timeout_ms,
                       struct db **ret);
/* Same, for a read-only session (default_transaction_read_only=on): a connection to a streaming
   replica (DATABASE_READ_URL), which refuses writes anyway, or to any server that must not be
   written through it. */
MUST_CHECK int db_open_read(const char *dsn, const char *app_name, int64_t statement_timeout_ms,
                            struct db **ret);
void db_close(struct db *db); /* NULL-safe */
/*
 * Between statements: true when the connection is open, idle, and the server has sent nothing
 * since (no round trip: one non-blocking poll of the socket).  False after the server closed it
 * (shutdown, crash, restart, idle kill) or when db is NULL.  A peer that vanished without a
 * word (network partition) still looks alive until a statement times out.
 */
bool db_idle_ok(struct db *db);

/*
 * db may be NULL (no connection yet): -ENOTCONN.
 * Runs prepared statement `id` with text parameters (NULL = SQL NULL).  On success *ret holds
 * the result (free with db_res_free()); ret may be NULL to discard it.
 * Errors: -EINVAL (HJ400 / data exceptions 22xxx / check violations 23514), -ENOENT (HJ404),
 * -EEXIST (unique violation 23505 or HJ409), -ETIMEDOUT (57014), -ENOTCONN (class 08, or the
 * connection was lost and one reconnect + retry failed), -EIO (anything else).
 * err, when non-NULL, receives the details.
 */
MUST_CHECK int db_exec(struct db *db, enum db_stmt id, const char *const *params,
                       struct db_res **ret, struct db_err *err);
/*
 * Same as db_exec() but as an unnamed statement (PQexecParams: parse, bind and execute in one
 * round trip, nothing kept on the server), so it works behind PgBouncer in transaction pooling
 * mode, where a prepared statement may land on another server connection.
 */
MUST_CHECK int db_exec_unnamed(struct db *db, enum db_stmt id, const char *const *params,
                               struct db_res **ret, struct db_err *err);
/*
 * Fills *err (when non-NULL) from an error reported as data rather than as a failed statement
 * (hjo_events_apply answers one per event), as db_exec() fills it from a failed one, and returns
 * the same negative errno.
 */
int db_err_set(struct db_err *err, const char *sqlstate, const char *message, const char *column);
/* Runs a fixed, parameterless command (BEGIN, COMMIT, ROLLBACK, SET ...) from db_stmts. */
MUST_CHECK int db_command(struct db *db, const char *sql);

/*
 * Runs one statement given as text (unnamed: PQexecParams), for the few statements that are not
 * worth a prepared slot (lib/db_auth.c, hjo-admin).  sql must be a constant from lib/db*.c.
 * Same errors as db_exec().
 */
MUST_CHECK int db_exec_text(struct db *db, const char *sql, int n_params,
                            const char *const *params, struct db_res **ret, struct db_err *err);
/* Changes whenever the connection was re-established (session settings were lost). */
unsigned db_generation(const struct db *db);

int db_res_ntuples(const struct db_res *r);
int db_res_nfields(const struct db_res *r);
/* Borrowed, valid until db_res_free(); "" for NULL (check db_res_isnull). */
const char *db_res_value(const struct db_res *r, int row, int col);
int db_res_length(const struct db_res *r, int row, int col);
bool db_res_isnull(const struct db_res *r, int row, int col);
void db_res_free(struct db_res *r); /* NULL-safe */

/* The connection's server version (e.g. 150020), 0 when unknown. */
int db_server_version(const struct db *db);

/*
 * One row of a streamed result: row is a one-row result (use row 0 with db_res_value() and
 * friends), borrowed for the duration of the call.  Return 0 to go on, or a negative errno to
 * stop the statement (db_stream() then cancels it and returns that errno).
 */
typedef int (*db_row_fn)(void *ctx, const struct db_res *row);
/*
 * Runs prepared statement `id` like db_exec(), but hands the rows to fn one at a time as they
 * arrive (libpq single-row mode), so memory does not grow with the number of rows.
 * 0 when every row was delivered; fn's errno when fn stopped it; otherwise db_exec()'s errors,
 * which may come after some rows were delivered (a failure mid-result).  No reconnect: within
 * a transaction a retry could not see the same snapshot; the next statement reconnects.
 * After a non-zero return inside a transaction, the caller rolls it back.
 */
MUST_CHECK int db_stream(struct db *db, enum db_stmt id, const char *const *params, db_row_fn fn,
                         void *ctx, struct db_err *err);
