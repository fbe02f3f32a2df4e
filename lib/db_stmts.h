/*
 * lib/db_stmts.h: the ids of every prepared statement.  The SQL text for each is in
 * lib/db_stmts.c (the only place SQL lives, besides sql/ migrations).
 */
#pragma once
#include <stddef.h>

enum db_stmt {
        STMT_PING,
        STMT_JOB_STARTED,
        STMT_JOB_FINISHED,
        STMT_EVENTS_APPLY,
        STMT_JOBS_LIST,
        STMT_JOB_GET,
        STMT_JOB_CREATE,
        STMT_JOB_PATCH,
        STMT_JOB_DELETE,
        STMT_SAMPLE_ADD,
        STMT_SAMPLES_ROWS,         /* GET /v1/jobs/{id}/metrics: hjo_samples_rows() */
        STMT_NODE_SAMPLES_ROWS,    /* GET /v1/nodes/{node}/metrics: hjo_node_samples_rows() */
        STMT_METRICS_JOBS,
        STMT_METRICS_GPUS,
        STMT_METRICS_NODES,
        STMT_METRICS_STATES,
        STMT_SEED_DEMO,
        STMT_INGEST_BATCH,         /* collectord / POST /v1/samples: hjo_ingest_batch() */
        STMT__MAX,
};

struct db_stmt_def {
        const char *name; /* prepared statement name */
        const char *sql;
        int n_params;
};

/* Borrowed, static. */
const struct db_stmt_def *db_stmt_get(enum db_stmt id);
