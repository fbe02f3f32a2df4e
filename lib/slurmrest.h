/*
 * lib/slurmrest.h: pure parsers of slurmrestd responses (GET /slurm/<ver>/nodes, /jobs and
 * /job/{id}) for the OpenAPI plugins of Slurm 22.05: v0.0.37 and v0.0.38.  No I/O, no
 * logging, thread-safe.  Unknown fields are skipped (Slurm adds fields between versions);
 * known fields with a wrong type, missing required fields and out-of-range numbers are errors.
 * Units are converted here: cpu_load / 100 (Slurm sends the load average x 100), memory MiB
 * ("MB" in Slurm) -> bytes for nodes.  Slurm's "no value"/"infinite" markers (NO_VAL,
 * INFINITE, their 64-bit forms, and the {set, infinite, number} objects of v0.0.40+) become
 * "absent" (-1).
 * v0.0.36 is rejected: its node object lacks alloc_cpus, alloc_memory and partitions.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "hostlist.h"

#define SLURMREST_MAX_BYTES (64u * 1024 * 1024) /* largest response accepted */
#define SLURMREST_MAX_DEPTH 32
#define SLURMREST_MAX_NODES 100000
#define SLURMREST_MAX_JOBS  1000000
#define SLURMREST_MAX_JOB_NODES 65536 /* expanded hosts of one job */

enum slurmrest_version {
        SLURMREST_V0037 = 37,
        SLURMREST_V0038 = 38,
};

/* "v0.0.37" or "v0.0.38" (the SLURM_API_VERSION setting).  0 or -EINVAL (other versions,
   v0.0.36 included).  *ret untouched on failure. */
MUST_CHECK int slurmrest_version_parse(const char *s, enum slurmrest_version *ret);

/* One node.  Integers are -1 when Slurm did not say.  Callers read every field. */
struct slurm_node {
        char *name;         /* valid_hostname() */
        char *state;        /* base state as Slurm spells it, lower case: idle, mixed, ... */
        char *state_flags;  /* flags joined by '+', upper case ("DRAIN"), "" when none */
        char *reason;       /* "" when none */
        char **partitions;  /* n_partitions names */
        size_t n_partitions;
        int64_t cpus, alloc_cpus, idle_cpus;
        double load;        /* cpu_load / 100 (load average); valid when has_load */
        bool has_load;
        int64_t mem_total_bytes;  /* real_memory (configured), MiB -> bytes */
        int64_t mem_alloc_bytes;  /* alloc_memory */
        int64_t mem_free_bytes;   /* free_memory (what the OS reports on the node) */
};

struct slurm_node_list {
        struct slurm_node *v;
        size_t n;
};

/* One job.  Strings are NULL when absent or empty; integers -1 when absent. */
struct slurm_job {
        uint64_t job_id;
        char *state;        /* upper case: PENDING, RUNNING, COMPLETED, TIMEOUT, ... */
        char *state_reason;
        char *name;
        char *user_name;
        char *account;
        char *partition;
        char *cluster;
        struct hostlist nodes;   /* the "nodes" host list, expanded */
        int64_t submit_time, start_time, end_time; /* Unix seconds; -1 absent (Slurm's 0) */
        int64_t exit_status;     /* raw wait(2) status ("exit_code"); -1 absent */
        int64_t cpus;            /* allocated CPUs */
        int64_t mem_mb;          /* allocated memory in MiB, whole job */
        int64_t gpus;            /* GPUs in gres_detail; 0 when the list is empty */
        int64_t time_limit_min;
};

struct slurm_job_list {
        struct slurm_job *v;
        size_t n;
};

/*
 * Parses a nodes response of API version `ver` ((buf, len) need not be NUL-terminated).
 * 0; -EBADMSG (not strict JSON, too deep, trailing bytes, bad UTF-8); -E2BIG (len over
 * SLURMREST_MAX_BYTES or too many items); -EPROTO (wrong shape: a missing or mistyped known
 * field, a non-empty "errors" array, meta.plugin.type of another version, a number out of
 * range); -ENOMEM.  *reterr_field (may be NULL) names the offending field (static string).
 * *ret is written only on success; free with slurm_node_list_clear().
 */
MUST_CHECK int slurmrest_parse_nodes(const char *buf, size_t len, enum slurmrest_version ver,
                                     struct slurm_node_list *ret, const char **reterr_field);
/* The same for a /jobs or /job/{id} response. */
MUST_CHECK int slurmrest_parse_jobs(const char *buf, size_t len, enum slurmrest_version ver,
                                    struct slurm_job_list *ret, const char **reterr_field);
/*
 * The error_number of the first entry of a response's "errors" array (any version), e.g. 2017
 * (ESLURM_INVALID_JOB_ID) for /job/{id} of a job slurmctld no longer knows.  0, -ENODATA (no
 * error entry), -EBADMSG, -E2BIG, -EPROTO (no error_number where an entry exists).
 */
#define SLURMREST_ESLURM_INVALID_JOB_ID 2017
MUST_CHECK int slurmrest_parse_error_number(const char *buf, size_t len, int64_t *ret);
void slurm_node_list_clear(struct slurm_node_list *l); /* NULL-safe; leaves it empty */
void slurm_job_list_clear(struct slurm_job_list *l);   /* NULL-safe; leaves it empty */

/* Job states.  Final: the job is over and the name is its outcome (COMPLETED, FAILED,
   TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE).
   Started: it holds nodes now (RUNNING, SUSPENDED, COMPLETING, STAGE_OUT, SIGNALING...). */
bool slurm_state_is_final(const char *state);
bool slurm_state_is_started(const char *state);
/*
 * Decodes Slurm's exit_code (a wait(2) status) into exit code and signal.  Slurm's internal
 * signals above 64 (125 = OOM marker, from status 253) are reported as *ret_signal = -1: the
 * state name (OUT_OF_MEMORY) carries that meaning, and hjo stores signals 0..64 only.
 */
void slurm_exit_decode(int64_t status, int *ret_exit, int *ret_signal);
