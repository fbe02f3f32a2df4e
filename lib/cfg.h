/*
 * lib/cfg.h: hjo configuration (STYLE 4.12).  One key table; precedence: compiled-in defaults,
 * then the optional `key = value` file, then the environment.  The environment name of a key is
 * HJO_<KEY> except where the Slurm integration guide fixes it (DATABASE_URL, SCHEDULER_BACKEND,
 * SLURM_BASE_URL, SLURM_API_VERSION, METRICS_RETENTION_DAYS) or the issue does (SEED_DEMO).
 * The file is named by HJO_CONFIG or the caller.  The result is immutable and passed explicitly.
 * Callers may read every field.  Not thread-safe while loading; the loaded struct is read-only.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler.h"

struct cfg {
        char *database_url;            /* DATABASE_URL, libpq URI or key=value DSN; secret */
        char *scheduler_backend;       /* SCHEDULER_BACKEND: "slurm" | "mock" (default mock) */
        char *slurm_base_url;          /* SLURM_BASE_URL (default http://localhost:6820) */
        char *slurm_api_version;       /* SLURM_API_VERSION: v0.0.NN (default v0.0.38) */
        int64_t metrics_retention_days; /* METRICS_RETENTION_DAYS: 1..36500 (default 30) */
        bool seed_demo;                /* SEED_DEMO: true|false (default false) */
        char *socket_path;             /* HJO_SOCKET: FastCGI Unix socket path ("" = inherit fd 0) */
        int64_t socket_mode;           /* HJO_SOCKET_MODE: octal, default 0660 */
        int64_t workers;               /* HJO_WORKERS: 1..256 FastCGI worker processes (default 8) */
        int64_t metrics_grace_seconds; /* HJO_METRICS_GRACE_SECONDS: 0..86400 (default 300) */
        int64_t statement_timeout_ms;  /* HJO_STATEMENT_TIMEOUT_MS: 100..600000 (default 5000) */
        char *log_level;               /* HJO_LOG_LEVEL: err|warning|notice|info|debug (default info) */
        char *sql_dir;                 /* HJO_SQL_DIR: migrations directory (default $(datadir)/hjo/sql) */
        /* hjo-collectord (issue 3) */
        int64_t collector_interval_ms; /* HJO_COLLECTOR_INTERVAL_MS: 1000..3600000 (default 10000) */
        char *collector_node;          /* HJO_COLLECTOR_NODE: node name ("" = short host name) */
        char *collector_cgroup_root;   /* HJO_COLLECTOR_CGROUP_ROOT: "" = derived like Slurm */
        char *collector_job_id_prefix; /* HJO_COLLECTOR_JOB_ID_PREFIX: default "slurm-" */
        char *collector_gpu;           /* HJO_COLLECTOR_GPU: auto|nvidia|amd|none (default auto) */
        char *collector_sink;          /* HJO_COLLECTOR_SINK: db|api|stdout (default db) */
        char *collector_api_url;       /* HJO_COLLECTOR_API_URL: base URL for sink api */
        char *collector_ca_file;       /* HJO_COLLECTOR_CA_FILE: CA bundle for https ("" = system) */
        char *collector_token_file;    /* HJO_COLLECTOR_TOKEN_FILE: bearer token file ("" = none) */
        int64_t collector_buffer_batches; /* HJO_COLLECTOR_BUFFER_BATCHES: 0..100000 (default 360) */
        char *collector_spool_file;    /* HJO_COLLECTOR_SPOOL_FILE: "" = no spool file */
        int64_t collector_spool_max_bytes; /* HJO_COLLECTOR_SPOOL_MAX_BYTES (default 64 MiB) */
        int64_t collector_tool_timeout_ms; /* HJO_COLLECTOR_TOOL_TIMEOUT_MS: 100..60000 (5000) */
        /* security (issue 5) */
        char *auth;                    /* HJO_AUTH: required|disabled (default required) */
        bool metrics_public;           /* HJO_METRICS_PUBLIC: /metrics without a token (false) */
        bool trust_client_cert;        /* HJO_TRUST_CLIENT_CERT: verified client cert = ingest */
        /* hjo-collectord: Slurm instance mode (issue 4), API sink, slow files (issue 3) */
        bool collector_slurm;          /* HJO_COLLECTOR_SLURM: run the Slurm cycle (false) */
        int64_t collector_slurm_every; /* HJO_COLLECTOR_SLURM_EVERY: every N cycles, 1..10000 (1) */
        char *slurm_user;              /* HJO_SLURM_USER: X-SLURM-USER-NAME (default "slurm") */
        char *slurm_token_file;        /* HJO_SLURM_TOKEN_FILE: file with the Slurm JWT */
        char *cluster_name;            /* HJO_CLUSTER_NAME: "" = taken from Slurm's jobs */
        int64_t collector_api_timeout_ms; /* HJO_COLLECTOR_API_TIMEOUT_MS: 100..600000 (10000) */
        int64_t collector_slow_every;  /* HJO_COLLECTOR_SLOW_EVERY: slow files every K cycles (6) */
        /* scale-out (issue 6) */
        char *database_read_url;       /* DATABASE_READ_URL: streaming replica for reads ("" = none); secret */
        char *listen;                  /* HJO_LISTEN: FastCGI TCP HOST:PORT ("" = HJO_SOCKET / fd 0) */
        /* storage: partitions and rollups (issue 6, hjo-admin maintain) */
        int64_t partition_ahead_days;     /* HJO_PARTITION_AHEAD_DAYS: 1..366 (default 7) */
        int64_t rollup_1m_retention_days; /* HJO_ROLLUP_1M_RETENTION_DAYS: 1..36500 (90) */
        int64_t rollup_1h_retention_days; /* HJO_ROLLUP_1H_RETENTION_DAYS: 1..36500 (730) */
        /* /metrics page cache (issue 6, fcgi/metrics.c) */
        int64_t metrics_cache_seconds; /* HJO_METRICS_CACHE_SECONDS: 0..3600, 0 = off (default) */
        char *metrics_cache_dir;       /* HJO_METRICS_CACHE_DIR (default /var/cache/hjo) */
        /* job events applied together (issue 6, fcgi/evbatch.c) */
        int64_t event_batch_max; /* HJO_EVENT_BATCH_MAX: 1..256 events a transaction (32); 1 = off */
};

/*
 * Loads defaults, then `file` when non-NULL (or $HJO_CONFIG when file is NULL and it is set),
 * then the environment; validates everything.  On error returns -EINVAL (bad value, unknown key,
 * syntax error), -ENOENT/-EACCES (file), and writes a message naming "file:line: key" or the
 * environment variable into errbuf.  Caller frees with cfg_free().
 */
MUST_CHECK int cfg_load(const char *file, struct cfg **ret, char *errbuf, size_t errsz);
void cfg_free(struct cfg *c); /* NULL-safe; wipes secrets */
/* Prints "key = value  # source" lines for every key, secrets (passwords in DSNs) masked. */
void cfg_dump(const struct cfg *c, FILE *out);
