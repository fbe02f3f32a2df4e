/*
 * lib/batch.c: building one interval's batch and its STMT_INGEST_BATCH parameters.  Arrays
 * are PostgreSQL array literals in text format ("{1.5,NULL,\"a\"}", see the PostgreSQL manual
 * "8.15.6 Array Input and Output Syntax"): every text element is double-quoted with '\\' and
 * '"' escaped, so no element can end the literal early.
 */
#include "config.h"
#include "batch.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

void batch_init(struct batch *b)
{
        memset(b, 0, sizeof(*b));
        b->node_jobs = -1;
}

void batch_clear(struct batch *b)
{
        free(b->jobs);
        free(b->gpus);
        batch_init(b);
}

void batch_reset(struct batch *b)
{
        struct batch_job *jobs = b->jobs;
        struct batch_gpu *gpus = b->gpus;
        size_t cj = b->cap_jobs, cg = b->cap_gpus;

        batch_init(b);
        b->jobs = jobs;
        b->gpus = gpus;
        b->cap_jobs = cj;
        b->cap_gpus = cg;
}

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
        size_t ncap;
        void *nv;

        if (n < *cap)
                return v;
        ncap = *cap ? *cap * 2 : 64;
        nv = reallocarray(v, ncap, size);
        if (nv)
                *cap = ncap;
        return nv;
}

struct batch_job *batch_add_job(struct batch *b)
{
        struct batch_job *v = grow(b->jobs, &b->cap_jobs, b->n_jobs, sizeof(*v));

        if (!v)
                return NULL;
        b->jobs = v;
        memset(&v[b->n_jobs], 0, sizeof(v[0]));
        return &v[b->n_jobs++];
}

struct batch_gpu *batch_add_gpu(struct batch *b)
{
        struct batch_gpu *v = grow(b->gpus, &b->cap_gpus, b->n_gpus, sizeof(*v));

        if (!v)
                return NULL;
        b->gpus = v;
        memset(&v[b->n_gpus], 0, sizeof(v[0]));
        return &v[b->n_gpus++];
}

static void add_text(struct strbuf *sb, const char *s)
{
        strbuf_addc(sb, '"');
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        strbuf_addc(sb, '\\');
                strbuf_addc(sb, *s);
        }
        strbuf_addc(sb, '"');
}

static void sep(struct strbuf *sb, size_t i)
{
        if (i)
                strbuf_addc(sb, ',');
}

/* A column of the job samples: kind of element chosen by `col`. */
enum jcol {
        J_ID, J_NODE, J_CPU, J_MEM, J_GPU, J_CPUSEC, J_PEAK, J_MAX, J_SWAP, J_ANON, J_FILE,
        J_OOM, J_PIDS, J_IOR, J_IOW, J_PCS, J_PCF, J_PMS, J_PMF, J__N
};

static void u64_or_null(struct strbuf *sb, const struct cg_stats *cg, enum cg_field f)
{
        if (cg_has(cg, f) && cg->v[f] <= (uint64_t)INT64_MAX)
                strbuf_addf(sb, "%llu", (unsigned long long)cg->v[f]);
        else
                strbuf_adds(sb, "NULL");
}

static void pct_or_null(struct strbuf *sb, const struct cg_stats *cg, enum cg_field f)
{
        if (cg_has(cg, f))
                strbuf_addf(sb, "%.2f", cg->pct[f] > 100 ? 100 : cg->pct[f]);
        else
                strbuf_adds(sb, "NULL");
}

static void job_elem(struct strbuf *sb, const struct batch_job *j, enum jcol c)
{
        static const enum cg_field u64f[] = {
                [J_PEAK] = CG_MEM_PEAK, [J_SWAP] = CG_SWAP,       [J_ANON] = CG_MEM_ANON,
                [J_FILE] = CG_MEM_FILE, [J_OOM] = CG_OOM_KILL,   [J_PIDS] = CG_PIDS,
                [J_IOR] = CG_IO_RBYTES, [J_IOW] = CG_IO_WBYTES,
        };
        static const enum cg_field pctf[] = {
                [J_PCS] = CG_CPU_SOME10, [J_PCF] = CG_CPU_FULL10,
                [J_PMS] = CG_MEM_SOME10, [J_PMF] = CG_MEM_FULL10,
        };

        switch (c) {
        case J_ID:
                add_text(sb, j->job_id);
                break;
        case J_NODE:
                if (j->node[0])
                        add_text(sb, j->node);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case J_CPU:
                if (j->has_cpu)
                        strbuf_addf(sb, "%.3f", j->cpu_pct);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case J_MEM:
                strbuf_addf(sb, "%llu", (unsigned long long)j->mem_bytes);
                break;
        case J_GPU:
                if (j->has_gpu)
                        strbuf_addf(sb, "%.3f", j->gpu_pct);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case J_CPUSEC:
                if (cg_has(&j->cg, CG_CPU_USAGE))
                        strbuf_addf(sb, "%.6f", (double)j->cg.v[CG_CPU_USAGE] / 1e6);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case J_MAX:
                if (cg_has(&j->cg, CG_MEM_MAX) && j->cg.v[CG_MEM_MAX] != CG_UNLIMITED)
                        u64_or_null(sb, &j->cg, CG_MEM_MAX);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case J_PCS:
        case J_PCF:
        case J_PMS:
        case J_PMF:
                pct_or_null(sb, &j->cg, pctf[c]);
                break;
        case J__N:
                break;
        default:
                u64_or_null(sb, &j->cg, u64f[c]);
                break;
        }
}

enum gcol { G_JOB, G_NODE, G_ID, G_VENDOR, G_UTIL, G_MUSED, G_MTOTAL, G_POWER, G_TEMP, G__N };

static void gpu_elem(struct strbuf *sb, const struct batch_gpu *g, enum gcol c)
{
        const struct gpu_dev *d = &g->dev;

        switch (c) {
        case G_JOB:
                add_text(sb, g->job_id);
                break;
        case G_NODE:
                if (g->node[0])
                        add_text(sb, g->node);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case G_ID:
                add_text(sb, g->gpu_id);
                break;
        case G_VENDOR:
                strbuf_adds(sb, d->vendor == GPU_NVIDIA ? "nvidia" : "amd");
                break;
        case G_UTIL:
                /* an allocated GPU whose utilization the tool cannot tell stays absent; an
                   idle one reads 0 from the tool and stays 0 */
                if (d->has_util)
                        strbuf_addf(sb, "%.3f", d->util_pct);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case G_MUSED:
        case G_MTOTAL: {
                bool has = c == G_MUSED ? d->has_mem_used : d->has_mem_total;
                uint64_t v = c == G_MUSED ? d->mem_used_bytes : d->mem_total_bytes;

                if (has)
                        strbuf_addf(sb, "%llu", (unsigned long long)v);
                else
                        strbuf_adds(sb, "NULL");
                break;
        }
        case G_POWER:
                if (d->has_power)
                        strbuf_addf(sb, "%.3f", d->power_w);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case G_TEMP:
                if (d->has_temp)
                        strbuf_addf(sb, "%.1f", d->temp_c);
                else
                        strbuf_adds(sb, "NULL");
                break;
        case G__N:
                break;
        }
}

/* Adds key = v to object o; v (possibly NULL: allocation failed) is consumed.  0 or -ENOMEM. */
static int add(json_object *o, const char *key, json_object *v)
{
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* The health row (STYLE 4.9: a json-c tree, serialized once by the caller). */
static json_object *health_object(const struct batch *b)
{
        json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return NULL;
        r |= add(o, "cycle_ms", json_object_new_double(b->health_cycle_ms));
        r |= add(o, "jobs_seen", json_object_new_int64(b->health_jobs_seen));
        r |= add(o, "buffered", json_object_new_int64(b->health_buffered));
        r |= add(o, "dropped", json_object_new_int64(b->health_dropped));
        r |= add(o, "tool_failures", json_object_new_int64(b->health_tool_failures));
        r |= add(o, "version", json_object_new_string(b->health_version[0] ? b->health_version
                                                                             : PACKAGE_VERSION));
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int health_json(const struct batch *b, struct strbuf *sb)
{
        json_object *o = health_object(b);

        if (!o)
                return -ENOMEM;
        strbuf_adds(sb, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return 0;
}

int batch_params(const struct batch *b, struct strbuf *sb, const char **vals)
{
        char ts[RFC3339_BUFSZ];
        size_t p = 0;

        for (size_t i = 0; i < BATCH_N_PARAMS; i++)
                strbuf_reset(&sb[i]);
        strbuf_adds(&sb[p++], b->node);
        strbuf_adds(&sb[p++], rfc3339_format(b->ts_usec, ts, sizeof(ts)));
        for (int c = 0; c < J__N; c++, p++) {
                strbuf_addc(&sb[p], '{');
                for (size_t i = 0; i < b->n_jobs; i++) {
                        sep(&sb[p], i);
                        job_elem(&sb[p], &b->jobs[i], (enum jcol)c);
                }
                strbuf_addc(&sb[p], '}');
        }
        for (int c = 0; c < G__N; c++, p++) {
                strbuf_addc(&sb[p], '{');
                for (size_t i = 0; i < b->n_gpus; i++) {
                        sep(&sb[p], i);
                        gpu_elem(&sb[p], &b->gpus[i], (enum gcol)c);
                }
                strbuf_addc(&sb[p], '}');
        }
        if (b->has_node_cpu)
                strbuf_addf(&sb[p], "%.3f", b->node_cpu_pct);
        p++;
        if (b->has_node_mem) {
                strbuf_addf(&sb[p], "%llu", (unsigned long long)b->node_mem_used);
                strbuf_addf(&sb[p + 1], "%llu", (unsigned long long)b->node_mem_total);
        }
        p += 2;
        if (b->node_jobs >= 0)
                strbuf_addf(&sb[p], "%lld", (long long)b->node_jobs);
        p++;
        if (b->has_health && health_json(b, &sb[p]) < 0)
                return -ENOMEM;
        p++;
        strbuf_adds(&sb[p++], b->want_jobs ? "true" : "false");
        for (size_t i = 0; i < BATCH_N_PARAMS; i++) {
                if (strbuf_failed(&sb[i]))
                        return -E2BIG;
                /* an empty buffer is SQL NULL, except the array columns, never empty */
                vals[i] = sb[i].len ? sb[i].buf : NULL;
        }
        return 0;
}

/* ---- POST /v1/samples bodies --------------------------------------------------------------- */

/* Adds key = value when the cgroup field is present (and fits a JSON int64). */
static int add_u64(json_object *o, const char *key, const struct cg_stats *cg, enum cg_field f)
{
        if (!cg_has(cg, f) || cg->v[f] > (uint64_t)INT64_MAX)
                return 0;
        return add(o, key, json_object_new_int64((int64_t)cg->v[f]));
}

static int add_pct(json_object *o, const char *key, const struct cg_stats *cg, enum cg_field f)
{
        if (!cg_has(cg, f))
                return 0;
        return add(o, key, json_object_new_double(cg->pct[f] > 100 ? 100 : cg->pct[f]));
}

static json_object *job_json(const struct batch_job *j)
{
        static const struct {
                const char *key;
                enum cg_field f;
        } u64s[] = {
                { "memory_peak_bytes", CG_MEM_PEAK }, { "swap_bytes", CG_SWAP },
                { "memory_anon_bytes", CG_MEM_ANON }, { "memory_file_bytes", CG_MEM_FILE },
                { "oom_kills", CG_OOM_KILL },         { "pids", CG_PIDS },
                { "io_read_bytes", CG_IO_RBYTES },    { "io_write_bytes", CG_IO_WBYTES },
        }, pcts[] = {
                { "cpu_pressure_some", CG_CPU_SOME10 },    { "cpu_pressure_full", CG_CPU_FULL10 },
                { "memory_pressure_some", CG_MEM_SOME10 }, { "memory_pressure_full", CG_MEM_FULL10 },
        };
        const struct cg_stats *cg = &j->cg;
        json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return NULL;
        r |= add(o, "job_id", json_object_new_string(j->job_id));
        if (j->node[0])
                r |= add(o, "node", json_object_new_string(j->node));
        if (j->has_cpu)
                r |= add(o, "cpu_usage", json_object_new_double(j->cpu_pct));
        r |= add(o, "memory_usage_bytes",
                 json_object_new_int64(j->mem_bytes > (uint64_t)INT64_MAX ? INT64_MAX
                                                                          : (int64_t)j->mem_bytes));
        if (j->has_gpu)
                r |= add(o, "gpu_usage", json_object_new_double(j->gpu_pct));
        if (cg_has(cg, CG_CPU_USAGE))
                r |= add(o, "cpu_seconds", json_object_new_double((double)cg->v[CG_CPU_USAGE] / 1e6));
        if (cg_has(cg, CG_MEM_MAX) && cg->v[CG_MEM_MAX] != CG_UNLIMITED)
                r |= add_u64(o, "memory_max_bytes", cg, CG_MEM_MAX);
        for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
                r |= add_u64(o, u64s[i].key, cg, u64s[i].f);
        for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
                r |= add_pct(o, pcts[i].key, cg, pcts[i].f);
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static json_object *gpu_json(const struct batch_gpu *g)
{
        const struct gpu_dev *d = &g->dev;
        json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return NULL;
        r |= add(o, "job_id", json_object_new_string(g->job_id));
        if (g->node[0])
                r |= add(o, "node", json_object_new_string(g->node));
        r |= add(o, "gpu_id", json_object_new_string(g->gpu_id));
        r |= add(o, "gpu_vendor", json_object_new_string(d->vendor == GPU_NVIDIA ? "nvidia" : "amd"));
        if (d->has_util)
                r |= add(o, "utilization_percent", json_object_new_double(d->util_pct));
        if (d->has_mem_used && d->mem_used_bytes <= (uint64_t)INT64_MAX)
                r |= add(o, "memory_used_bytes", json_object_new_int64((int64_t)d->mem_used_bytes));
        if (d->has_mem_total && d->mem_total_bytes <= (uint64_t)INT64_MAX)
                r |= add(o, "memory_total_bytes",
                         json_object_new_int64((int64_t)d->mem_total_bytes));
        if (d->has_power)
                r |= add(o, "power_watts", json_object_new_double(d->power_w));
        if (d->has_temp)
                r |= add(o, "temperature_celsius", json_object_new_double(d->temp_c));
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static json_object *node_json(const struct batch *b)
{
        json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return NULL;
        if (b->has_node_cpu)
                r |= add(o, "cpu_usage_percent", json_object_new_double(b->node_cpu_pct));
        if (b->has_node_mem && b->node_mem_total <= (uint64_t)INT64_MAX) {
                r |= add(o, "memory_used_bytes", json_object_new_int64((int64_t)b->node_mem_used));
                r |= add(o, "memory_total_bytes",
                         json_object_new_int64((int64_t)b->node_mem_total));
        }
        if (b->node_jobs >= 0 && b->node_jobs <= INT32_MAX)
                r |= add(o, "job_count", json_object_new_int64(b->node_jobs));
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* Appends make(item) for each item to a new array stored as key; 0 or -ENOMEM. */
static int add_jobs(json_object *o, const struct batch *b, size_t first, size_t n)
{
        json_object *a = json_object_new_array_ext((int)n);

        if (!a)
                return -ENOMEM;
        for (size_t i = first; i < first + n && i < b->n_jobs; i++) {
                json_object *x = job_json(&b->jobs[i]);

                if (!x || json_object_array_add(a, x) < 0) {
                        json_object_put(x);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        return add(o, "samples", a);
}

static int add_gpus(json_object *o, const struct batch *b)
{
        json_object *a = json_object_new_array_ext((int)b->n_gpus);

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_gpus; i++) {
                json_object *x = gpu_json(&b->gpus[i]);

                if (!x || json_object_array_add(a, x) < 0) {
                        json_object_put(x);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        return add(o, "gpu_samples", a);
}

int batch_json(const struct batch *b, size_t first, size_t n, bool extras, bool want_jobs,
               char **ret, size_t *ret_len)
{
        char ts[RFC3339_BUFSZ];
        json_object *o = json_object_new_object();
        const char *text;
        size_t len;
        char *copy;
        int r = 0;

        if (!o)
                return -ENOMEM;
        r |= add(o, "node", json_object_new_string(b->node));
        r |= add(o, "timestamp",
                 json_object_new_string(rfc3339_format(b->ts_usec, ts, sizeof(ts))));
        r |= add_jobs(o, b, first, n);
        if (extras && b->n_gpus > 0)
                r |= add_gpus(o, b);
        if (extras && (b->has_node_cpu || b->has_node_mem || b->node_jobs >= 0))
                r |= add(o, "node_sample", node_json(b));
        if (extras && b->has_health)
                r |= add(o, "health", health_object(b));
        if (want_jobs)
                r |= add(o, "want_jobs", json_object_new_boolean(1));
        if (r != 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
        copy = text ? strndup(text, len) : NULL;
        json_object_put(o);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        *ret_len = len;
        return 0;
}
