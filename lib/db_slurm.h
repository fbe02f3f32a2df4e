/*
 * lib/db_slurm.h: the database side of the Slurm integration: storing slurmrestd node state,
 * reconciling jobs (sql/0010_slurm.sql does the work in one statement each), and the /metrics
 * rows and text for Slurm's node data.  Statements run unnamed (db_exec_text, PQexecParams), so
 * they work behind PgBouncer in transaction pooling.  Does not log.
 * Same threading rule as struct db: one user at a time.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct db;
struct db_res;
struct slurm_job;
struct slurm_node;
struct strbuf;

/* What one reconciliation pass did.  Callers read every field. */
struct db_slurm_recon {
        size_t n_closed, n_filled, n_corrected, n_created, n_created_finished, n_updated;
        size_t n_errors;     /* jobs whose reconciliation failed (the others went on) */
        uint64_t *missing;   /* Slurm job ids hjo believes active that Slurm did not list */
        size_t n_missing;
};

void db_slurm_recon_clear(struct db_slurm_recon *r); /* NULL-safe; frees missing */

/*
 * Stores the state of `n` nodes of `cluster` ("" when unknown) seen at ts_usec, and drops the
 * cluster's nodes that are no longer listed.  0 or the errors of db_exec_text(), -E2BIG (the
 * batch does not fit SLURM_DB_MAX_BATCH_BYTES), -ENOMEM.
 */
#define SLURM_DB_MAX_BATCH_BYTES (256u * 1024 * 1024)
MUST_CHECK int db_slurm_store_nodes(struct db *db, const char *cluster, int64_t ts_usec,
                                    const struct slurm_node *nodes, size_t n);

/*
 * Reconciles Slurm's jobs (ids become "slurm-<job_id>") with hjo's jobs, audited with source
 * "reconcile" and correlation id `corr`.  With find_missing, ret->missing lists the ids of jobs
 * hjo believes pending/running (of `cluster`, or with no cluster; any cluster when cluster is
 * NULL) that are not in `jobs`.  *ret is written only on success; clear it with
 * db_slurm_recon_clear().  0 or the errors of db_exec_text(), -EPROTO (unexpected rows), -ENOMEM.
 */
MUST_CHECK int db_slurm_reconcile(struct db *db, const char *cluster,
                                  const struct slurm_job *jobs, size_t n, bool find_missing,
                                  const char *corr, struct db_slurm_recon *ret);

/*
 * /metrics: the Slurm node rows seen in the last stale_seconds, in the caller's transaction.
 * Columns: cluster, node, state label, cpus, alloc_cpus, cpu_load, memory total, allocated,
 * free (bytes); NULL where Slurm did not say.  *ret freed with db_res_free().
 */
MUST_CHECK int db_slurm_metrics_nodes(struct db *db, int64_t stale_seconds, struct db_res **ret);
/*
 * Appends the Prometheus text (format 0.0.4) of those rows: hpc_node_state{cluster,node,state}
 * (always 1), hpc_node_cpus_total, hpc_node_cpus_allocated, hpc_node_cpu_load,
 * hpc_node_memory_total_bytes, hpc_node_memory_allocated_bytes, hpc_node_memory_free_bytes,
 * each {cluster,node}.  Errors are the strbuf's sticky error.
 */
void db_slurm_metrics_render(struct strbuf *sb, const struct db_res *res);
/*
 * The replacement for SQL_METRICS_NODES in lib/db_stmts.c (same $1 and columns: node,
 * cpu_usage_percent, memory_used_bytes, job_count), which falls back to slurmrestd data when
 * a node has no fresh node_samples row (see the comment at its definition).
 */
extern const char db_slurm_sql_metrics_nodes_fallback[];
