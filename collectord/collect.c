/*
 * collectord/collect.c: one sampling cycle (see collect.h).
 *
 * CPU percent of a job over the interval = Δ cpu.stat usage_usec / (Δ wall time × CPUs) ×
 * 100, where CPUs is jobs.allocated_cpus, else the job's cpuset.cpus.effective count, else the
 * node's online CPUs; clamped to [0, 100].  The previous counter comes from, in order: the
 * previous cycle of this process; the last cpu_seconds the database holds for (job, node)
 * (after a restart); the job's start_time (usage since start).  Without any of these the job is
 * remembered and its first sample is written next cycle: nothing is invented.  A counter that
 * went backwards means the cgroup was re-created; the new usage then happened within the
 * interval, so usage / interval is used (and clamped), never a negative or wrapped value.
 *
 * Cost (issue 3's budget: < 50 µs of CPU per job-sample): on cgroup v2 only the files that
 * change every interval are read every cycle (cpu.stat, memory.current, memory.peak,
 * memory.swap.current, memory.events, pids.current); the slow-changing ones (memory.stat,
 * io.stat, the PSI files, cpuset.cpus.effective, memory.max) every `slow_every` cycles and
 * until a job's first sample is stored (so that sample is complete).  The limits (memory.max, the cpuset's CPU count) are carried into the
 * cheap cycles, since a limit holds until it is changed; memory.stat, io.stat and PSI are
 * measurements and are left absent (NULL) in the cheap cycles rather than repeated.
 */
#include "config.h"
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "cgdiscover.h"
#include "cgroup.h"
#include "gpu.h"
#include "num.h"
#include "proc.h"
#include "procstat.h"

#define TOOL_MAX_BYTES (256 * 1024)

struct jstate {
        char id[272];
        bool used;
        unsigned seen_gen;
        bool has_prev;
        uint64_t prev_usage_usec;
        int64_t prev_mono_usec;
        /* from the database */
        bool has_meta;
        int64_t alloc_cpus; /* 0 = unknown */
        char *gpu_devices;  /* comma-separated, malloc'd, may be NULL */
        char cg_name[64];   /* last path component of jobs.cgroup_path */
        int64_t start_usec; /* 0 = unknown */
        bool has_last;
        int64_t last_ts_usec;
        double last_cpu_seconds;
        /* limits from the last full read, carried into the cheap cycles (see read_job) */
        bool has_full;
        uint32_t limits_has;
        uint64_t mem_max, ncpus;
};

struct collector {
        struct collector_opts o;
        char node[128];
        struct cgd_root root;
        bool has_root;
        struct cgd_list list;
        struct jstate *tab;
        size_t cap, n_used;
        unsigned gen;
        long clk_tck;
        uint64_t node_cpus;
        bool has_prev_stat;
        struct ps_cpu prev_stat;
        uint64_t tool_failures;
        struct gpu_list gpus;
        bool priming;
};

static uint64_t hash_str(const char *s)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ULL;
        }
        return h;
}

static struct jstate *slot_find(struct jstate *tab, size_t cap, const char *id)
{
        size_t i = (size_t)hash_str(id) & (cap - 1);

        while (tab[i].used && strcmp(tab[i].id, id) != 0)
                i = (i + 1) & (cap - 1);
        return &tab[i];
}

/* Rebuilds the table with capacity cap, dropping entries neither seen this cycle nor known
   to the database. */
static int rehash(struct collector *c, size_t cap)
{
        struct jstate *nt = calloc(cap, sizeof(*nt));

        if (!nt)
                return -ENOMEM;
        c->n_used = 0;
        for (size_t i = 0; i < c->cap; i++) {
                struct jstate *e = &c->tab[i];

                if (!e->used)
                        continue;
                if (e->seen_gen + 2 < c->gen && !e->has_meta) {
                        free(e->gpu_devices);
                        continue;
                }
                *slot_find(nt, cap, e->id) = *e;
                c->n_used++;
        }
        free(c->tab);
        c->tab = nt;
        c->cap = cap;
        return 0;
}

static struct jstate *state_get(struct collector *c, const char *id, bool create)
{
        struct jstate *e;

        if ((c->n_used + 1) * 2 > c->cap && create) {
                if (rehash(c, c->cap * 2) < 0)
                        return NULL;
        }
        e = slot_find(c->tab, c->cap, id);
        if (e->used || !create)
                return e->used ? e : NULL;
        if (strlen(id) >= sizeof(e->id))
                return NULL;
        memset(e, 0, sizeof(*e));
        memcpy(e->id, id, strlen(id) + 1);
        e->used = true;
        c->n_used++;
        return e;
}

int collector_new(const struct collector_opts *o, struct collector **ret)
{
        struct collector *c = calloc(1, sizeof(*c));
        long n;

        if (!c)
                return -ENOMEM;
        c->o = *o;
        if (strlen(o->node) >= sizeof(c->node)) {
                free(c);
                return -ENAMETOOLONG;
        }
        memcpy(c->node, o->node, strlen(o->node) + 1);
        c->cap = 1024;
        c->tab = calloc(c->cap, sizeof(*c->tab));
        if (!c->tab) {
                free(c);
                return -ENOMEM;
        }
        c->clk_tck = sysconf(_SC_CLK_TCK);
        if (c->clk_tck <= 0)
                c->clk_tck = 100;
        n = sysconf(_SC_NPROCESSORS_ONLN);
        c->node_cpus = n > 0 ? (uint64_t)n : 1;
        *ret = c;
        return 0;
}

void collector_free(struct collector *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->cap; i++)
                free(c->tab[i].gpu_devices);
        free(c->tab);
        cgd_list_clear(&c->list);
        free(c);
}

void collector_set_priming(struct collector *c, bool on)
{
        c->priming = on;
}

void collector_meta_begin(struct collector *c)
{
        for (size_t i = 0; i < c->cap; i++) {
                if (c->tab[i].used)
                        c->tab[i].has_meta = false;
        }
}

int collector_meta_job(struct collector *c, const char *job_id, int64_t allocated_cpus,
                       const char *gpu_devices, const char *cgroup_path, int64_t start_usec,
                       int64_t last_ts_usec, double last_cpu_seconds, bool has_last)
{
        struct jstate *e = state_get(c, job_id, true);
        const char *base;

        if (!e)
                return -ENOMEM;
        free(e->gpu_devices);
        e->gpu_devices = NULL;
        if (gpu_devices && *gpu_devices) {
                e->gpu_devices = strdup(gpu_devices);
                if (!e->gpu_devices)
                        return -ENOMEM;
        }
        e->has_meta = true;
        e->seen_gen = c->gen; /* keep it through the next rehash */
        e->alloc_cpus = allocated_cpus > 0 ? allocated_cpus : 0;
        e->cg_name[0] = '\0';
        if (cgroup_path && *cgroup_path) {
                size_t n = strlen(cgroup_path);

                while (n > 1 && cgroup_path[n - 1] == '/')
                        n--;
                base = cgroup_path;
                for (size_t i = 0; i < n; i++) {
                        if (cgroup_path[i] == '/')
                                base = cgroup_path + i + 1;
                }
                n -= (size_t)(base - cgroup_path);
                if (n < sizeof(e->cg_name)) {
                        memcpy(e->cg_name, base, n);
                        e->cg_name[n] = '\0';
                }
        }
        e->start_usec = start_usec;
        e->has_last = has_last;
        e->last_ts_usec = last_ts_usec;
        e->last_cpu_seconds = last_cpu_seconds;
        return 0;
}

/* The job id of a SLUID directory, through jobs.cgroup_path; NULL when unknown. */
static const char *sluid_job(const struct collector *c, const char *name)
{
        for (size_t i = 0; i < c->cap; i++) {
                const struct jstate *e = &c->tab[i];

                if (e->used && e->has_meta && strcmp(e->cg_name, name) == 0)
                        return e->id;
        }
        return NULL;
}

static int read_job(const struct collector *c, const struct cgd_job *j, bool full,
                    struct cg_stats *st)
{
        unsigned flags = (c->o.read_memstat ? CG_READ_MEMSTAT : 0) |
                         (c->o.read_pressure ? CG_READ_PRESSURE : 0) |
                         (c->o.read_io ? CG_READ_IO : 0);
        int fds[4] = { -1, -1, -1, -1 };
        int r;

        if (c->root.version == CGD_V2) {
                fds[0] = cgd_open_dir(&c->root, NULL, j->rel);
                if (fds[0] < 0)
                        return fds[0];
                r = full ? cg_read_v2(fds[0], flags, st) : cg_read_v2_fast(fds[0], st);
        } else {
                static const char *const ctrl[] = { "cpuacct", "memory", "pids", "cpuset" };

                for (size_t i = 0; i < ARRAY_SIZE(ctrl); i++)
                        fds[i] = cgd_open_dir(&c->root, ctrl[i], j->rel);
                if (fds[0] < 0 && fds[1] < 0)
                        return -ENOENT;
                r = cg_read_v1(fds[0], fds[1], fds[2], fds[3], flags, c->clk_tck, st);
        }
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
                if (fds[i] >= 0)
                        (void)close(fds[i]);
        }
        return r;
}

static double clamp_pct(double v)
{
        return v < 0 ? 0 : v > 100 ? 100 : v;
}

/* CPU percent for job state e with the current usage; false when there is no baseline. */
static bool cpu_percent(const struct collector *c, const struct jstate *e,
                        const struct cg_stats *st, int64_t mono, int64_t wall, double *ret)
{
        uint64_t usage = st->v[CG_CPU_USAGE];
        double cpus, dt, du;

        if (e->alloc_cpus > 0)
                cpus = (double)e->alloc_cpus;
        else if (cg_has(st, CG_NCPUS) && st->v[CG_NCPUS] > 0)
                cpus = (double)st->v[CG_NCPUS];
        else
                cpus = (double)c->node_cpus;
        if (e->has_prev) {
                dt = (double)(mono - e->prev_mono_usec);
                du = usage >= e->prev_usage_usec ? (double)(usage - e->prev_usage_usec)
                                                 : (double)usage; /* re-created cgroup */
        } else if (e->has_meta && e->has_last && wall > e->last_ts_usec) {
                double last = e->last_cpu_seconds * 1e6;

                dt = (double)(wall - e->last_ts_usec);
                du = (double)usage >= last ? (double)usage - last : (double)usage;
        } else if (e->has_meta && e->start_usec > 0 && wall > e->start_usec) {
                dt = (double)(wall - e->start_usec);
                du = (double)usage;
        } else {
                return false;
        }
        if (dt <= 0)
                return false;
        *ret = clamp_pct(100.0 * du / (dt * cpus));
        return true;
}

static void run_gpu_tool(struct collector *c, bool amd, bool required, struct collect_stats *s)
{
        static const char *const nv_argv[] = { "nvidia-smi", GPU_NVSMI_QUERY,
                                               "--format=csv,noheader,nounits", NULL };
        static const char *const amd_argv[] = { "rocm-smi", "--showuse", "--showmeminfo", "vram",
                                                "--showpower", "--showtemp", "--showuniqueid",
                                                "--json", NULL };
        static const char *const env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };
        const char *const *argv = amd ? amd_argv : nv_argv;
        struct proc_out out = { 0 };
        struct gpu_list l;
        char exe[4096];
        int r;

        if (proc_find(argv[0], c->o.tool_path, exe, sizeof(exe)) < 0 && !required)
                return; /* no such vendor here */
        r = proc_capture(argv, c->o.tool_path, env, c->o.tool_timeout_ms, TOOL_MAX_BYTES, &out);
        if (r == 0 && out.exit_status != 0)
                r = -EPROTO;
        if (r == 0)
                r = amd ? gpu_parse_rocm_json(out.buf, out.len, &l)
                        : gpu_parse_nvsmi_csv(out.buf, out.len, &l);
        proc_out_clear(&out);
        if (r < 0) {
                c->tool_failures++;
                s->last_tool_error = r == -EBADMSG ? -EPROTO : r;
                s->last_tool = argv[0];
                return;
        }
        for (size_t i = 0; i < l.n && c->gpus.n < GPU_MAX_DEVICES; i++)
                c->gpus.v[c->gpus.n++] = l.v[i];
}

/* Adds the GPU rows of job e and sets its average GPU utilization. */
static int attribute_gpus(struct collector *c, const struct jstate *e, struct batch *b,
                          struct batch_job *bj)
{
        double sum = 0;
        size_t n_util = 0;

        if (!e || !e->gpu_devices)
                return 0;
        for (size_t g = 0; g < c->gpus.n; g++) {
                const struct gpu_dev *d = &c->gpus.v[g];
                const char *p = e->gpu_devices;
                bool match = false;

                while (*p && !match) {
                        char id[128];
                        size_t n = strcspn(p, ",");

                        if (n < sizeof(id)) {
                                memcpy(id, p, n);
                                id[n] = '\0';
                                match = gpu_dev_matches(d, id);
                        }
                        p += n + (p[n] == ',');
                }
                if (!match)
                        continue;
                {
                        struct batch_gpu *bg = batch_add_gpu(b);

                        if (!bg)
                                return -ENOMEM;
                        memcpy(bg->job_id, bj->job_id, sizeof(bg->job_id));
                        memcpy(bg->node, bj->node, sizeof(bg->node));
                        (void)gpu_dev_id(d, bg->gpu_id, sizeof(bg->gpu_id));
                        bg->dev = *d;
                }
                if (d->has_util) {
                        sum += d->util_pct;
                        n_util++;
                }
        }
        if (n_util) {
                bj->has_gpu = true;
                bj->gpu_pct = clamp_pct(sum / (double)n_util);
        }
        return 0;
}

static void node_sample(struct collector *c, struct batch *b)
{
        struct ps_cpu cur;
        uint64_t total, avail;

        if (ps_read_stat(NULL, &cur) == 0) {
                if (c->has_prev_stat && ps_cpu_percent(&c->prev_stat, &cur, &b->node_cpu_pct) == 0)
                        b->has_node_cpu = true;
                c->prev_stat = cur;
                c->has_prev_stat = true;
        }
        if (ps_read_meminfo(NULL, &total, &avail) == 0) {
                b->has_node_mem = true;
                b->node_mem_total = total;
                b->node_mem_used = total - avail;
        }
}

static int sample_job(struct collector *c, const struct cgd_job *j, int64_t mono, int64_t wall,
                      struct batch *b, struct collect_stats *s)
{
        const char *id = j->job_id;
        struct batch_job *bj;
        struct cg_stats st;
        struct jstate *e;
        double pct = 0;
        bool has_cpu, has_pct, full;
        const uint32_t limits = (1u << CG_MEM_MAX) | (1u << CG_NCPUS);
        int r;

        if (j->is_sluid) {
                id = sluid_job(c, j->name);
                if (!id) {
                        s->unmapped_sluid++;
                        return 0;
                }
        }
        e = state_get(c, id, false);
        full = c->o.slow_every <= 1 || c->gen % c->o.slow_every == 0 || !e || !e->has_full;
        r = read_job(c, j, full, &st);
        if (r == -ENOENT || r == -ENODATA) {
                s->vanished++;
                return 0;
        }
        if (r < 0)
                return 0; /* malformed or unreadable: skipped this cycle, counted below */
        s->jobs_seen++;
        has_cpu = cg_has(&st, CG_CPU_USAGE);
        if (!has_cpu && !cg_has(&st, CG_MEM_CURRENT)) {
                s->incomplete++; /* neither CPU nor memory: nothing to store */
                return 0;
        }
        e = state_get(c, id, true);
        if (!e)
                return -ENOMEM;
        e->seen_gen = c->gen;
        if (full) {
                e->limits_has = st.has & limits;
                e->mem_max = st.v[CG_MEM_MAX];
                e->ncpus = st.v[CG_NCPUS];
        } else {
                st.has |= e->limits_has;
                st.v[CG_MEM_MAX] = e->mem_max;
                st.v[CG_NCPUS] = e->ncpus;
        }
        if (has_cpu) {
                has_pct = cpu_percent(c, e, &st, mono, wall, &pct);
                if (c->priming && has_pct)
                        return 0; /* it has a baseline: leave it for the real cycle */
                e->has_prev = true;
                e->prev_usage_usec = st.v[CG_CPU_USAGE];
                e->prev_mono_usec = mono;
                if (!has_pct || c->priming) {
                        s->first_sightings += !has_pct;
                        return 0;
                }
        } else if (c->priming) {
                return 0; /* no CPU baseline to wait for: the real cycle stores it */
        }
        if (!cg_has(&st, CG_MEM_CURRENT) && !c->o.allow_no_memory) {
                s->incomplete++; /* metric_samples needs memory; "not available" is no zero */
                return 0;
        }
        /* Without CPU figures (cgroup v1 without a cpuacct job cgroup: Slurm's default
           jobacct_gather/linux) the sample is memory-only, cpu_usage NULL (sql/0041). */
        bj = batch_add_job(b);
        if (!bj)
                return -ENOMEM;
        memcpy(bj->job_id, id, strlen(id) + 1);
        if (j->node[0])
                memcpy(bj->node, j->node, sizeof(bj->node));
        bj->has_cpu = has_cpu;
        bj->cpu_pct = has_cpu ? pct : 0;
        bj->mem_bytes = cg_has(&st, CG_MEM_CURRENT) ? st.v[CG_MEM_CURRENT] : 0;
        bj->cg = st;
        s->samples++;
        if (full)
                e->has_full = true; /* the job's first stored sample has every file */
        return attribute_gpus(c, e, b, bj);
}

int collector_cycle(struct collector *c, int64_t now_mono_usec, int64_t now_wall_usec,
                    struct batch *b, struct collect_stats *stats)
{
        struct collect_stats s = { .tool_failures = c->tool_failures };
        size_t before;
        int r;

        c->gen++;
        if (!c->has_root) {
                r = cgd_detect(c->o.cgroup_root && *c->o.cgroup_root ? c->o.cgroup_root : NULL,
                               &c->root);
                if (r < 0)
                        return r;
                c->has_root = true;
        }
        memcpy(b->node, c->node, sizeof(b->node));
        b->ts_usec = now_wall_usec;
        c->gpus.n = 0;
        if (strcmp(c->o.gpu, "none") != 0) {
                if (strcmp(c->o.gpu, "amd") != 0)
                        run_gpu_tool(c, false, strcmp(c->o.gpu, "nvidia") == 0, &s);
                if (strcmp(c->o.gpu, "nvidia") != 0)
                        run_gpu_tool(c, true, strcmp(c->o.gpu, "amd") == 0, &s);
        }
        s.gpus = c->gpus.n;
        r = cgd_scan(&c->root, c->o.id_prefix, &c->list);
        if (r < 0)
                return r;
        before = b->n_gpus;
        for (size_t i = 0; i < c->list.n; i++) {
                r = sample_job(c, &c->list.v[i], now_mono_usec, now_wall_usec, b, &s);
                if (r < 0)
                        return r;
        }
        s.gpu_samples = b->n_gpus - before;
        node_sample(c, b);
        b->node_jobs = (int64_t)s.jobs_seen;
        /* forget jobs that are gone, now and then */
        if (c->n_used > 64 && c->n_used > 2 * (s.jobs_seen + 1))
                (void)rehash(c, c->cap);
        s.tool_failures = c->tool_failures;
        *stats = s;
        return 0;
}
