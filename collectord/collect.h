/*
 * collectord/collect.h: one sampling cycle of hjo-collectord: discover the node's Slurm job
 * cgroups, read them, turn cumulative CPU time into a percentage of the job's allocation,
 * query the GPU tools once, read the node's /proc figures, and fill a struct batch.
 * The collector is opaque: it keeps the previous counters of every job (for CPU percentages
 * over the interval) and what the database told it about the node's jobs (allocated CPUs,
 * GPU devices, cgroup paths for SLUID mapping, the last stored cumulative cpu_seconds, so the
 * first sample after a restart is right).  One thread.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct batch;
struct collector;

struct collector_opts {
        const char *node;          /* node name for samples (a multi-slurmd scope name wins) */
        const char *cgroup_root;   /* NULL/"" = derived */
        const char *id_prefix;     /* "slurm-" */
        const char *gpu;           /* auto | nvidia | amd | none */
        const char *tool_path;     /* PATH-style search list for the GPU tools */
        int tool_timeout_ms;
        bool read_memstat, read_pressure, read_io;
        bool allow_no_memory; /* stdout sink: keep samples whose memory is not available */
        unsigned slow_every;  /* read the slow-changing files every N cycles (0, 1: always) */
};

/* Counters of the last cycle, for logs and health. */
struct collect_stats {
        size_t jobs_seen, samples, unmapped_sluid, incomplete, first_sightings, vanished;
        size_t gpus, gpu_samples;
        uint64_t tool_failures; /* cumulative */
        int last_tool_error;    /* negative errno of the last failure, 0 if none */
        const char *last_tool;  /* "nvidia-smi" / "rocm-smi" */
};

MUST_CHECK int collector_new(const struct collector_opts *o, struct collector **ret);
void collector_free(struct collector *c);

/*
 * Samples once into b (batch_reset first by the caller; b->node is set here).
 * now_mono_usec / now_wall_usec: this cycle's clock readings.  0 or -errno (discovery of the
 * root failed); per-job problems are counted in stats, not returned.
 */
MUST_CHECK int collector_cycle(struct collector *c, int64_t now_mono_usec, int64_t now_wall_usec,
                               struct batch *b, struct collect_stats *stats);

/*
 * Priming (for --once): while on, a cycle only records the counters of jobs that have no
 * baseline yet (no previous cycle, no stored cpu_seconds, no start time), so that a second
 * cycle a moment later can compute their percentages; jobs with a baseline are left alone.
 */
void collector_set_priming(struct collector *c, bool on);

/*
 * What the sink learned about one pending/running job of this node (a 'job' row of
 * hjo_ingest_batch).  Call collector_meta_begin() before a set of rows: jobs not named again
 * lose their metadata.  Strings may be NULL.  0 or -ENOMEM.
 */
void collector_meta_begin(struct collector *c);
MUST_CHECK int collector_meta_job(struct collector *c, const char *job_id, int64_t allocated_cpus,
                                  const char *gpu_devices, const char *cgroup_path,
                                  int64_t start_usec, int64_t last_ts_usec,
                                  double last_cpu_seconds, bool has_last);
