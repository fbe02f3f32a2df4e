/*
 * lib/db.c: a libpq connection with lazily prepared statements, one SQLSTATE→errno mapping
 * (db_check) and one reconnect-and-retry on a lost connection (STYLE 4.10).
 * It does not log: callers decide what a failure means and log it once.
 */
#include "config.h"
#include "db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db {
        PGconn *conn;
        bool prepared[STMT__MAX];
        unsigned generation; /* incremented by every reconnect: session settings are gone */
};

struct db_res {
        PGresult *res;
};

static void copy_bounded(char *dst, size_t size, const char *src)
{
        size_t n;

        if (!src) {
                dst[0] = '\0';
                return;
        }
        n = strnlen(src, size - 1);
        memcpy(dst, src, n);
        dst[n] = '\0';
}

static int sqlstate_to_errno(const char *st)
{
        if (!st || strlen(st) != 5)
                return -EIO;
        if (strcmp(st, "HJ400") == 0)
                return -EINVAL;
        if (strcmp(st, "HJ404") == 0)
                return -ENOENT;
        if (strcmp(st, "HJ409") == 0 || strcmp(st, "23505") == 0)
                return -EEXIST;
        if (strcmp(st, "57014") == 0)
                return -ETIMEDOUT;
        if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P03") == 0)
                return -ENOTCONN;
        if (strncmp(st, "22", 2) == 0 || strcmp(st, "23514") == 0 || strcmp(st, "23502") == 0)
                return -EINVAL;
        return -EIO;
}

/*
 * The only place that reads PQresultStatus and clears failed results.  On success the result
 * is handed to the caller through *ret (or cleared when ret is NULL).
 */
static int db_check(PGconn *conn, PGresult *res, struct db_res **ret, struct db_err *err)
{
        ExecStatusType st;
        const char *sqlstate;
        struct db_res *dr;
        int r;

        if (!res)
                return PQstatus(conn) == CONNECTION_BAD ? -ENOTCONN : -ENOMEM;
        st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
                if (!ret) {
                        PQclear(res);
                        return 0;
                }
                dr = malloc(sizeof(*dr));
                if (!dr) {
                        PQclear(res);
                        return -ENOMEM;
                }
                dr->res = res;
                *ret = dr;
                return 0;
        }
        sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        /* sqlstate points into res: map it before clearing */
        r = db_err_set(err, sqlstate, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
                       PQresultErrorField(res, PG_DIAG_COLUMN_NAME));
        if (!sqlstate && PQstatus(conn) == CONNECTION_BAD)
                r = -ENOTCONN;
        PQclear(res);
        return r;
}

int db_err_set(struct db_err *err, const char *sqlstate, const char *message, const char *column)
{
        if (err) {
                copy_bounded(err->sqlstate, sizeof(err->sqlstate), sqlstate);
                err->message[0] = '\0';
                err->field[0] = '\0';
                /* Only hjo's own errors carry text meant for clients. */
                if (sqlstate && strncmp(sqlstate, "HJ", 2) == 0) {
                        copy_bounded(err->message, sizeof(err->message), message);
                        copy_bounded(err->field, sizeof(err->field), column);
                }
        }
        return sqlstate_to_errno(sqlstate);
}

static int open_with(const char *dsn, const char *app_name, int64_t statement_timeout_ms,
                     bool read_only, struct db **ret)
{
        struct db *db = NULL;
        char timeout_opt[112];
        const char *keys[] = { "dbname", "application_name", "options", "connect_timeout", NULL };
        const char *vals[] = { dsn, app_name, timeout_opt, "5", NULL };
        int n, r;

        /* jit=off: hjo's statements are short; JIT compilation alone took 256 of 422 ms of a
           10,000-job /metrics scrape (bench/run.sh), against 93 ms without it. */
        n = snprintf(timeout_opt, sizeof(timeout_opt),
                     "-c statement_timeout=%lld -c TimeZone=UTC -c jit=off%s",
                     (long long)statement_timeout_ms,
                     read_only ? " -c default_transaction_read_only=on" : "");
        if (n < 0 || (size_t)n >= sizeof(timeout_opt))
                return -EINVAL;
        db = calloc(1, sizeof(*db));
        if (!db)
                return -ENOMEM;
        /* expand_dbname=1: dsn may be a URI or a key=value string; its own settings win for
           everything except what we add after it. */
        db->conn = PQconnectdbParams(keys, vals, /* expand_dbname= */ 1);
        if (!db->conn) {
                r = -ENOMEM;
                goto out;
        }
        if (PQstatus(db->conn) != CONNECTION_OK) {
                r = -ENOTCONN;
                goto out;
        }
        *ret = db;
        db = NULL;
        r = 0;
out:
        db_close(db);
        return r;
}

int db_open(const char *dsn, const char *app_name, int64_t statement_timeout_ms, struct db **ret)
{
        return open_with(dsn, app_name, statement_timeout_ms, false, ret);
}

int db_open_read(const char *dsn, const char *app_name, int64_t statement_timeout_ms,
                 struct db **ret)
{
        return open_with(dsn, app_name, statement_timeout_ms, true, ret);
}

bool db_idle_ok(struct db *db)
{
        if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK ||
            PQtransactionStatus(db->conn) != PQTRANS_IDLE)
                return false;
        /* Between statements the server has nothing to say: what is readable is its goodbye (a
           FATAL on shutdown, then EOF), a reset, or TLS housekeeping (session tickets), which
           PQconsumeInput absorbs.  Reading twice is enough to see the EOF after a FATAL. */
        for (int i = 0; i < 3; i++) {
                struct pollfd p = { .events = POLLIN | POLLRDHUP };

                p.fd = PQsocket(db->conn); /* lint-ok: libpq's own fd, nothing opened */
                if (p.fd < 0)
                        return false;
                if (poll(&p, 1, 0) == 0)
                        return true;
                if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK)
                        return false;
        }
        return false;
}

void db_close(struct db *db)
{
        if (!db)
                return;
        if (db->conn)
                PQfinish(db->conn);
        free(db);
}

static int prepare(struct db *db, enum db_stmt id, struct db_err *err)
{
        const struct db_stmt_def *def = db_stmt_get(id);
        int r;

        if (db->prepared[id])
                return 0;
        r = db_check(db->conn, PQprepare(db->conn, def->name, def->sql, def->n_params, NULL), NULL,
                     err);
        if (r == 0)
                db->prepared[id] = true;
        return r;
}

static int exec_once(struct db *db, enum db_stmt id, const char *const *params,
                     struct db_res **ret, struct db_err *err)
{
        const struct db_stmt_def *def = db_stmt_get(id);
        int r;

        r = prepare(db, id, err);
        if (r < 0)
                return r;
        return db_check(db->conn,
                        PQexecPrepared(db->conn, def->name, def->n_params, params, NULL, NULL, 0),
                        ret, err);
}

int db_exec(struct db *db, enum db_stmt id, const char *const *params, struct db_res **ret,
            struct db_err *err)
{
        int r;

        if (!db)
                return -ENOTCONN;
        r = exec_once(db, id, params, ret, err);
        if (r != -ENOTCONN || PQstatus(db->conn) != CONNECTION_BAD)
                return r;
        /* Lost connection (server restart, idle kill): reset once, re-prepare lazily, retry
           once.  The statements are idempotent event handlers or reads, so a retry after an
           unacknowledged commit answers "skipped" rather than applying twice. */
        PQreset(db->conn);
        if (PQstatus(db->conn) != CONNECTION_OK)
                return -ENOTCONN;
        memset(db->prepared, 0, sizeof(db->prepared));
        db->generation++;
        return exec_once(db, id, params, ret, err);
}

int db_exec_unnamed(struct db *db, enum db_stmt id, const char *const *params,
                    struct db_res **ret, struct db_err *err)
{
        const struct db_stmt_def *def = db_stmt_get(id);
        int r;

        if (!db)
                return -ENOTCONN;
        r = db_check(db->conn,
                     PQexecParams(db->conn, def->sql, def->n_params, NULL, params, NULL, NULL, 0),
                     ret, err);
        if (r != -ENOTCONN || PQstatus(db->conn) != CONNECTION_BAD)
                return r;
        PQreset(db->conn);
        if (PQstatus(db->conn) != CONNECTION_OK)
                return -ENOTCONN;
        memset(db->prepared, 0, sizeof(db->prepared));
        db->generation++;
        return db_check(db->conn,
                        PQexecParams(db->conn, def->sql, def->n_params, NULL, params, NULL, NULL, 0),
                        ret, err);
}

int db_command(struct db *db, const char *sql)
{
        int r;

        if (!db)
                return -ENOTCONN;
        r = db_check(db->conn, PQexec(db->conn, sql), NULL, NULL);
        if (r == -ENOTCONN && PQstatus(db->conn) == CONNECTION_BAD) {
                PQreset(db->conn);
                if (PQstatus(db->conn) != CONNECTION_OK)
                        return -ENOTCONN;
                memset(db->prepared, 0, sizeof(db->prepared));
                db->generation++;
                r = db_check(db->conn, PQexec(db->conn, sql), NULL, NULL);
        }
        return r;
}

int db_res_ntuples(const struct db_res *r)
{
        return PQntuples(r->res);
}

int db_res_nfields(const struct db_res *r)
{
        return PQnfields(r->res);
}

const char *db_res_value(const struct db_res *r, int row, int col)
{
        return PQgetvalue(r->res, row, col);
}

int db_res_length(const struct db_res *r, int row, int col)
{
        return PQgetlength(r->res, row, col);
}

bool db_res_isnull(const struct db_res *r, int row, int col)
{
        return PQgetisnull(r->res, row, col) != 0;
}

void db_res_free(struct db_res *r)
{
        if (!r)
                return;
        PQclear(r->res);
        free(r);
}

int db_server_version(const struct db *db)
{
        return db->conn ? PQserverVersion(db->conn) : 0;
}

int db_exec_text(struct db *db, const char *sql, int n_params, const char *const *params,
                 struct db_res **ret, struct db_err *err)
{
        int r;

        if (!db)
                return -ENOTCONN;
        r = db_check(db->conn, PQexecParams(db->conn, sql, n_params, NULL, params, NULL, NULL, 0),
                     ret, err);
        if (r != -ENOTCONN || PQstatus(db->conn) != CONNECTION_BAD)
                return r;
        PQreset(db->conn);
        if (PQstatus(db->conn) != CONNECTION_OK)
                return -ENOTCONN;
        memset(db->prepared, 0, sizeof(db->prepared));
        db->generation++;
        return db_check(db->conn,
                        PQexecParams(db->conn, sql, n_params, NULL, params, NULL, NULL, 0), ret,
                        err);
}

unsigned db_generation(const struct db *db)
{
        return db ? db->generation : 0;
}

/*
 * Single-row mode (libpq "Retrieving Query Results Row-by-Row"): each row comes as its own
 * PGRES_SINGLE_TUPLE result as soon as libpq has read it, and the server blocks on the socket
 * while we are busy, so neither side holds the whole result.  The last result is a
 * zero-row PGRES_TUPLES_OK, or an error (then the rows before it were a prefix).
 */
int db_stream(struct db *db, enum db_stmt id, const char *const *params, db_row_fn fn, void *ctx,
              struct db_err *err)
{
        const struct db_stmt_def *def = db_stmt_get(id);
        PGresult *res;
        int r, cb = 0;

        if (!db)
                return -ENOTCONN;
        r = prepare(db, id, err);
        if (r < 0)
                return r;
        if (!PQsendQueryPrepared(db->conn, def->name, def->n_params, params, NULL, NULL, 0))
                return PQstatus(db->conn) == CONNECTION_BAD ? -ENOTCONN : -EIO;
        if (!PQsetSingleRowMode(db->conn))
                r = -EIO; /* cannot happen right after a successful send; drain below */
        while ((res = PQgetResult(db->conn)) != NULL) {
                if (PQresultStatus(res) == PGRES_SINGLE_TUPLE && r == 0 && cb == 0) {
                        struct db_res row = { .res = res };

                        cb = fn(ctx, &row);
                        if (cb < 0) {
                                /* Stop the server's work; the rows already in flight and
                                   the cancel's error are drained by this loop. */
                                PGcancel *c = PQgetCancel(db->conn);
                                char buf[256];

                                if (c) {
                                        (void)PQcancel(c, buf, sizeof(buf));
                                        PQfreeCancel(c);
                                }
                        }
                        PQclear(res);
                } else if (PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
                        PQclear(res);
                } else if (r == 0 && cb == 0) {
                        r = db_check(db->conn, res, NULL, err);
                } else {
                        PQclear(res);
                }
        }
        if (cb < 0)
                return cb;
        return r;
}
