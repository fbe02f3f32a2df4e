/*
 * lib/db_maint.c: the SQL of `hjo-admin maintain` (see db_maint.h).  Table names are a fixed
 * list here and an allow-list again in SQL (hjo_part_spec); they are passed as values, never
 * spliced into SQL text.
 */
#include "config.h"
#include "db_maint.h"

#include <stdio.h>
#include <stdlib.h>

#include "compiler.h"
#include "db.h"

static const char SQL_MAINTAIN_TABLE[] =
        "SELECT action, part, n FROM hjo_maintain_table($1, $2::int, $3::int)";

/* The latest-sample rows of jobs that ended before the cutoff ($1 seconds ago).  The join
   starts from the small latest tables (running and recent jobs once pruned). */
static const char SQL_PRUNE_LATEST[] =
        "WITH m AS (DELETE FROM metric_latest l USING jobs j"
        "  WHERE j.id = l.job_id AND j.end_time < now() - make_interval(secs => $1::float8)"
        "  RETURNING 1),"
        " g AS (DELETE FROM gpu_latest l USING jobs j"
        "  WHERE j.id = l.job_id AND j.end_time < now() - make_interval(secs => $1::float8)"
        "  RETURNING 1)"
        " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM g)";

/* clang-format off */
static const struct db_maint_table tables[] = {
        { "metric_samples", DB_MAINT_RAW },
        { "gpu_samples", DB_MAINT_RAW },
        { "node_samples", DB_MAINT_RAW },
        { "metric_rollup_1m", DB_MAINT_1M },
        { "gpu_rollup_1m", DB_MAINT_1M },
        { "node_rollup_1m", DB_MAINT_1M },
        { "metric_rollup_1h", DB_MAINT_1H },
        { "gpu_rollup_1h", DB_MAINT_1H },
        { "node_rollup_1h", DB_MAINT_1H },
};
/* clang-format on */

const struct db_maint_table *db_maint_tables(size_t *ret_n)
{
        *ret_n = ARRAY_SIZE(tables);
        return tables;
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
