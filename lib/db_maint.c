/*
 * lib/db_maint.c: the SQL of `hjo-admin maintain` (see db_maint.h).  Table names come from the
 * database's own list (hjo_part_specs()), which is also the allow-list hjo_maintain_table()
 * checks; they are passed back as values, never spliced into SQL text.
 */
#include "config.h"
#include "db_maint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "db.h"

static const char SQL_MAINTAIN_TABLE[] =
        "SELECT action, part, n FROM hjo_maintain_table($1, $2::int, $3::int)";

/* The latest-sample rows of jobs that ended before the cutoff ($1 seconds ago), after their
   running aggregates moved into the jobs row and their open minutes into the rollups
   (sql/0069_sample_live.sql). */
static const char SQL_PRUNE_LATEST[] = "SELECT metric, gpu FROM hjo_latest_retire($1::float8)";

static const char SQL_FOLD_COUNTS[] = "SELECT hjo_job_counts_fold()";

static const char SQL_PART_TABLES[] = "SELECT parent, retention FROM hjo_part_specs() ORDER BY ord";

static int retention_of(const char *s, enum db_maint_retention *ret)
{
        if (strcmp(s, "raw") == 0)
                *ret = DB_MAINT_RAW;
        else if (strcmp(s, "1m") == 0)
                *ret = DB_MAINT_1M;
        else if (strcmp(s, "1h") == 0)
                *ret = DB_MAINT_1H;
        else
                return -EPROTO;
        return 0;
}

int db_maint_tables(struct db *db, struct db_maint_table *t, size_t max, size_t *ret_n,
                    struct db_err *err)
{
        struct db_res *res = NULL;
        size_t n;
        int r;

        *ret_n = 0;
        r = db_exec_text(db, SQL_PART_TABLES, 0, NULL, &res, err);
        if (r < 0)
                return r;
        n = (size_t)db_res_ntuples(res);
        if (n > max || db_res_nfields(res) != 2) {
                r = -EPROTO;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const char *name = db_res_value(res, (int)i, 0);
                size_t len = strlen(name);

                if (len == 0 || len > DB_MAINT_NAME_MAX) {
                        r = -EPROTO;
                        goto out;
                }
                r = retention_of(db_res_value(res, (int)i, 1), &t[i].retention);
                if (r < 0)
                        goto out;
                memcpy(t[i].name, name, len + 1);
        }
        *ret_n = n;
out:
        db_res_free(res);
        return r;
}

int db_maintain_table(struct db *db, const char *table, int64_t ahead_days, int64_t keep_days,
                      db_maint_cb cb, void *ctx, struct db_err *err)
{
        struct db_res *res = NULL;
        char ahead[24], keep[24];
        const char *params[3] = { table, ahead, keep };
        int r;

        (void)snprintf(ahead, sizeof(ahead), "%lld", (long long)ahead_days);
        (void)snprintf(keep, sizeof(keep), "%lld", (long long)keep_days);
        r = db_exec_text(db, SQL_MAINTAIN_TABLE, 3, params, &res, err);
        if (r < 0)
                return r;
        for (int i = 0; cb && i < db_res_ntuples(res); i++)
                cb(ctx, table, db_res_value(res, i, 0), db_res_value(res, i, 1),
                   db_res_value(res, i, 2));
        db_res_free(res);
        return 0;
}

int db_maint_prune_latest(struct db *db, int64_t ended_seconds, int64_t *ret_metric,
                          int64_t *ret_gpu, struct db_err *err)
{
        struct db_res *res = NULL;
        char secs[24];
        const char *params[1] = { secs };
        int r;

        (void)snprintf(secs, sizeof(secs), "%lld", (long long)ended_seconds);
        r = db_exec_text(db, SQL_PRUNE_LATEST, 1, params, &res, err);
        if (r < 0)
                return r;
        *ret_metric = strtoll(db_res_value(res, 0, 0), NULL, 10);
        *ret_gpu = strtoll(db_res_value(res, 0, 1), NULL, 10);
        db_res_free(res);
        return 0;
}

int db_maint_fold_counts(struct db *db, int64_t *ret_rows, struct db_err *err)
{
        struct db_res *res = NULL;
        int r;

        r = db_exec_text(db, SQL_FOLD_COUNTS, 0, NULL, &res, err);
        if (r < 0)
                return r;
        *ret_rows = strtoll(db_res_value(res, 0, 0), NULL, 10);
        db_res_free(res);
        return 0;
}
