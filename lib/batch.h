/*
 * lib/batch.h: one sampling interval of one node (job samples, GPU samples, the node sample
 * and the collector's health), as hjo-collectord builds it and hjo_ingest_batch() stores it.
 * batch_params() turns it into the 36 text parameters of STMT_INGEST_BATCH (PostgreSQL array
 * literals; values never become SQL text).  Not thread-safe per batch.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "compiler.h"
#include "gpu.h"
#include "strbuf.h"

#define BATCH_N_PARAMS 36
#define BATCH_PARAM_MAX (64u * 1024 * 1024) /* ceiling of one parameter's text */

struct batch_job {
        char job_id[272];
        char node[128]; /* "" = the batch's node */
        bool has_cpu; /* false: no CPU figures (cgroup v1 without cpuacct): cpu_usage NULL */
        double cpu_pct;
        uint64_t mem_bytes;
        bool has_gpu;
        double gpu_pct;
        struct cg_stats cg; /* cpu seconds, peak, max, swap, anon/file, oom, pids, io, PSI */
};

struct batch_gpu {
        char job_id[272];
        char node[128];
        char gpu_id[96];
        struct gpu_dev dev;
};

struct batch {
        char node[128];
        int64_t ts_usec;
        struct batch_job *jobs;
        size_t n_jobs, cap_jobs;
        struct batch_gpu *gpus;
        size_t n_gpus, cap_gpus;
        bool has_node_cpu, has_node_mem;
        double node_cpu_pct;
        uint64_t node_mem_used, node_mem_total;
        int64_t node_jobs; /* < 0: none */
        bool has_health;
        double health_cycle_ms;
        int64_t health_jobs_seen, health_buffered, health_dropped, health_tool_failures;
        char health_version[64]; /* "" = this program's PACKAGE_VERSION */
        bool want_jobs;
};

void batch_init(struct batch *b);
void batch_clear(struct batch *b); /* frees the arrays; b reusable after batch_init */
void batch_reset(struct batch *b); /* empties, keeps memory */
/* Appends an element (zeroed) and returns it; NULL on ENOMEM. */
struct batch_job *batch_add_job(struct batch *b);
struct batch_gpu *batch_add_gpu(struct batch *b);

/*
 * Fills sb[0..BATCH_N_PARAMS-1] (each strbuf_init'ed by the caller) and vals[] with the text
 * parameters of STMT_INGEST_BATCH (NULL for SQL NULL).  0, -E2BIG/-ENOMEM (a buffer failed).
 */
MUST_CHECK int batch_params(const struct batch *b, struct strbuf *sb, const char **vals);

/*
 * The body of POST /v1/samples (docs/openapi.yaml, SamplesBatch) for the job samples
 * [first, first + n) of b; with `extras` also every GPU row, the node sample and the health
 * row (a batch too large for one request is sent as several bodies, the first with extras).
 * Absent values are left out (never 0).  Built as a json-c tree, serialized once.
 * *ret is malloc'd, NUL-terminated, *ret_len bytes.  0 or -ENOMEM.
 */
MUST_CHECK int batch_json(const struct batch *b, size_t first, size_t n, bool extras,
                          bool want_jobs, char **ret, size_t *ret_len);
