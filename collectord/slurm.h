/*
 * collectord/slurm.h: the Slurm source of collectord (one instance per cluster): each cycle
 * fetches nodes and jobs from slurmrestd, stores node state and reconciles hjo's jobs with
 * Slurm's (lib/db_slurm.c, sql/0010_slurm.sql).  Not thread-safe; one cycle at a time.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct db;

/* Settings of the Slurm source; all strings borrowed for the duration of a call. */
struct slurm_ctx {
        const char *base_url;     /* SLURM_BASE_URL, e.g. http://localhost:6820 (no trailing /) */
        const char *api_version;  /* SLURM_API_VERSION: v0.0.37 or v0.0.38 */
        const char *user_name;    /* X-SLURM-USER-NAME */
        const char *token_file;   /* file holding the JWT for X-SLURM-USER-TOKEN; re-read each
                                     cycle so a rotated token is picked up */
        const char *cluster;      /* cluster name; NULL: taken from Slurm's jobs, else "" */
        int64_t timeout_ms;       /* per request; 0 = SLURM_DEFAULT_TIMEOUT_MS */
        size_t max_bytes;         /* per response; 0 = SLURMREST_MAX_BYTES */
        size_t max_lookups;       /* missing jobs asked about one by one per cycle; 0 = 100 */
};

#define SLURM_DEFAULT_TIMEOUT_MS 10000

/* What a cycle did (for logs and tests).  Callers read every field. */
struct slurm_report {
        size_t n_nodes, n_jobs;
        size_t n_closed, n_filled, n_corrected, n_created, n_created_finished, n_updated;
        size_t n_missing;     /* hjo-active jobs Slurm's list lacked */
        size_t n_unresolved;  /* ... of which Slurm knew nothing (purged; needs accounting) */
        size_t n_errors;      /* jobs whose reconciliation failed in the database */
        int nodes_err;        /* 0 or the negative errno of the node part */
        int jobs_err;         /* 0 or the negative errno of the job part */
        const char *err_field; /* the response field a parser rejected (static), or NULL */
        long http_status;     /* of the last failed request, 0 when none */
};

/*
 * One cycle.  The node part and the job part are independent: a failure of one does not skip
 * the other; both outcomes are in *rep (always written).  Returns 0 when both succeeded, else
 * the first error: -EINVAL (bad settings or version), -EACCES (token file unreadable, or HTTP
 * 401/403), -ENOENT (HTTP 404: wrong version path), -ETIMEDOUT, -ENOTCONN, -EPROTO (other HTTP
 * status, or a response of the wrong shape), -EBADMSG (not JSON), -E2BIG, -ENOMEM, or the
 * database errors of db_exec_text().  Logs nothing: the caller logs the report once.
 */
MUST_CHECK int slurm_cycle(const struct slurm_ctx *ctx, struct db *db, struct slurm_report *rep);
