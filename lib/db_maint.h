/*
 * lib/db_maint.h: storage maintenance (issue 6, docs/storage.md): partitions created ahead,
 * strays moved out of the DEFAULT partitions, whole partitions dropped past their retention.
 * The work is done by hjo_maintain_table() in sql/0050_partitioning.sql; this module reads the
 * list of tables from the database (hjo_part_specs(), sql/0067: the list is kept there only)
 * and runs one table per transaction, so a lock that cannot be had on one table
 * (lock_timeout) does not undo the others.  Not thread-safe (one struct db).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct db;
struct db_err;

/* Which retention a table follows. */
enum db_maint_retention {
        DB_MAINT_RAW, /* METRICS_RETENTION_DAYS: metric_samples, gpu_samples, node_samples */
        DB_MAINT_1M,  /* HJO_ROLLUP_1M_RETENTION_DAYS: metric_rollup_1m, gpu_rollup_1m,
                         node_rollup_1m */
        DB_MAINT_1H,  /* HJO_ROLLUP_1H_RETENTION_DAYS: metric_rollup_1h, gpu_rollup_1h,
                         node_rollup_1h */
};

#define DB_MAINT_NAME_MAX 63 /* PostgreSQL's NAMEDATALEN - 1 */
#define DB_MAINT_TABLES_MAX 64

struct db_maint_table {
        char name[DB_MAINT_NAME_MAX + 1];
        enum db_maint_retention retention;
};

/*
 * The partitioned tables and the retention each follows, from hjo_part_specs() (sql/0067), in
 * the order maintenance visits them: up to max entries into t, the count in *ret_n.  0; -EPROTO
 * when a row is not what the list holds (a name too long, a retention other than raw/1m/1h, more
 * than max rows); or the errors of db_exec_text().
 */
MUST_CHECK int db_maint_tables(struct db *db, struct db_maint_table *t, size_t max, size_t *ret_n,
                               struct db_err *err);

/* Called once per action row: action is created|dropped|purged|default, part the partition,
   n the row count ("" when none).  Borrowed strings, valid during the call. */
typedef void (*db_maint_cb)(void *ctx, const char *table, const char *action, const char *part,
                            const char *n);

/*
 * Maintains one table (a name from db_maint_tables()): partitions from today to ahead_days
 * ahead, rows of the DEFAULT partition moved to their day within the kept window, partitions
 * whose range ends keep_days or more before today dropped.  One transaction.
 * 0, or the errors of db_exec_text() (-ETIMEDOUT also for a lock not had within 10 s);
 * err, when non-NULL, receives the details.
 */
MUST_CHECK int db_maintain_table(struct db *db, const char *table, int64_t ahead_days,
                                 int64_t keep_days, db_maint_cb cb, void *ctx,
                                 struct db_err *err);

/*
 * Deletes the rows of metric_latest and gpu_latest (the newest sample of each job node and GPU,
 * read by /metrics and by collectord's job list) of jobs that ended more than ended_seconds
 * ago: without it they keep a row for every job ever run, and /metrics' join reads them all.
 * Their running aggregates move into the jobs row and their open minutes into the rollups
 * first (hjo_latest_retire, sql/0069), so nothing a reader sees changes.  A late sample of such
 * a job makes its row again; the next run removes it.  One transaction.
 * 0 and the counts in *ret_metric / *ret_gpu, or the errors of db_exec_text().
 */
MUST_CHECK int db_maint_prune_latest(struct db *db, int64_t ended_seconds, int64_t *ret_metric,
                                     int64_t *ret_gpu, struct db_err *err);

/*
 * Folds the job_counts rows of database backends that have exited into backend 0 and drops
 * empty groups (hjo_job_counts_fold, sql/0070): each backend that writes jobs adds to rows of
 * its own, so the table grows with the backends seen since the last fold.  The counts do not
 * change.  Gives up after 200 ms waiting for a lock (to run again next time).
 * 0 and the number of rows folded in *ret_rows, or the errors of db_exec_text().
 */
MUST_CHECK int db_maint_fold_counts(struct db *db, int64_t *ret_rows, struct db_err *err);
