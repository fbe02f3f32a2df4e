/*
 * lib/db_maint.c: the SQL of `hjo-admin maintain` (see db_maint.h).  Table names are a fixed
 * list here and an allow-list again in SQL (hjo_part_spec); they are passed as values, never
 * spliced into SQL text.
 */
#include "config.h"
#include "db_maint.h"

#include <stdio.h>

#include "compiler.h"
#include "db.h"

static const char SQL_MAINTAIN_TABLE[] =
        "SELECT action, part, n FROM hjo_maintain_table($1, $2::int, $3::int)";

/* clang-format off */
static const struct db_maint_table tables[] = {
        { "metric_samples", DB_MAINT_RAW },
        { "gpu_samples", DB_MAINT_RAW },
        { "node_samples", DB_MAINT_RAW },
        { "metric_rollup_1m", DB_MAINT_1M },
        { "gpu_rollup_1m", DB_MAINT_1M },
        { "metric_rollup_1h", DB_MAINT_1H },
        { "gpu_rollup_1h", DB_MAINT_1H },
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
