/*
 * fcgi/api_samples.c: POST /v1/samples, one sampling interval of one node for many jobs, as
 * hjo-collectord's "api" sink sends it (for sites that give compute nodes no database
 * credentials).  The body is validated here against strict field tables (every element of
 * every array, errors naming the field as "samples[3].cpu_usage"), turned into a struct batch
 * and stored by the same SQL function the collector's "db" sink calls (hjo_ingest_batch,
 * sql/0004_collector.sql): one transaction, job aggregates updated only for rows actually
 * inserted, so a replayed body changes nothing.  It is not a second ingest path with its own
 * rules.
 *
 * Body: {"node", "timestamp", "samples": [...], "gpu_samples": [...], "node_sample": {...},
 * "health": {...}, "want_jobs": bool}; see docs/openapi.yaml (SamplesBatch) for every field.
 * Answer 200: {"stored", "duplicates", "unknown_jobs", "finished_jobs", "gpu_stored",
 * "rejected": [{"job_id", "reason"}], and with want_jobs "jobs": [...]}: the pending/running
 * jobs on that node with what a collector needs to compute CPU percentages (allocated CPUs,
 * start time, the last stored cumulative CPU seconds) and to attribute GPUs.  No user names.
 */
#include "config.h"
#include "api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"
#include "batch.h"
#include "db.h"
#include "http.h"
#include "jv.h"
#include "log.h"
#include "num.h"
#include "rfc3339.h"
#include "strbuf.h"
#include "valid.h"

#define SAMPLES_MAX_ITEMS 10000 /* the 1 MiB body holds fewer anyway */
#define GPU_MAX_ITEMS     4096
#define NODE_NAME_MAX     127 /* struct batch's node[128] */
#define GPU_ID_MAX        95  /* struct batch_gpu's gpu_id[96] */
#define BYTES_MAX         INT64_MAX

/* clang-format off */
#define NOHAS JV_NO_HAS
#define F(t, m) offsetof(struct t, m)
/* clang-format on */

static bool valid_node(const char *s, size_t len)
{
        return len <= NODE_NAME_MAX && valid_hostname(s, len);
}

static bool valid_vendor(const char *s, size_t len)
{
        return (len == 6 && memcmp(s, "nvidia", 6) == 0) || (len == 3 && memcmp(s, "amd", 3) == 0);
}

static bool valid_gpu_id(const char *s, size_t len)
{
        return len <= GPU_ID_MAX && api_valid_gpu_device(s, len);
}

struct top {
        char *node;
        int64_t ts;
        bool has_samples, has_gpus, has_node, has_health, want_jobs;
};

/* clang-format off */
static const struct jv_field top_fields[] = {
        { "node", JV_STR, F(top, node), NOHAS, JV_REQUIRED, 1, NODE_NAME_MAX, 0, 0, 0, valid_node },
        { "timestamp", JV_TIME, F(top, ts), NOHAS, JV_REQUIRED, 0, 0, 0, 0, 0, NULL },
        { "samples", JV_ANY, 0, F(top, has_samples), JV_REQUIRED, 0, 0, 0, 0, 0, NULL },
        { "gpu_samples", JV_ANY, 0, F(top, has_gpus), JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { "node_sample", JV_ANY, 0, F(top, has_node), JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { "health", JV_ANY, 0, F(top, has_health), JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { "want_jobs", JV_BOOL, F(top, want_jobs), NOHAS, JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { 0 },
};
/* clang-format on */

/* One job sample: the columns of metric_samples (sql/0001_init.sql, 0004_collector.sql). */
struct jsample {
        char *job_id, *node;
        double cpu, gpu, cpu_sec, psi[4];
        int64_t mem, u[9];
        bool has_cpu, has_gpu, has_cpu_sec, has_psi[4], has_u[9];
};

/* The u[] members, in the order of these cgroup fields (struct cg_stats). */
static const enum cg_field jsample_u_field[9] = {
        CG_MEM_PEAK, CG_MEM_MAX, CG_SWAP, CG_MEM_ANON, CG_MEM_FILE,
        CG_OOM_KILL, CG_PIDS,    CG_IO_RBYTES, CG_IO_WBYTES,
};
static const enum cg_field jsample_psi_field[4] = { CG_CPU_SOME10, CG_CPU_FULL10, CG_MEM_SOME10,
                                                    CG_MEM_FULL10 };

/* clang-format off */
#define U(name, i) { name, JV_I64, F(jsample, u[i]), F(jsample, has_u[i]), JV_NULLABLE, 0, BYTES_MAX, 0, 0, 0, NULL }
#define PSI(name, i) { name, JV_DOUBLE, F(jsample, psi[i]), F(jsample, has_psi[i]), JV_NULLABLE, 0, 0, 0, 100, 0, NULL }
static const struct jv_field sample_fields[] = {
        { "job_id", JV_STR, F(jsample, job_id), NOHAS, JV_REQUIRED, 1, VALID_JOB_ID_MAX, 0, 0, 0, valid_job_id },
        { "node", JV_STR, F(jsample, node), NOHAS, JV_NULLABLE, 1, NODE_NAME_MAX, 0, 0, 0, valid_node },
        /* absent or null: no CPU figures for the job (cgroup v1 without cpuacct), stored NULL */
        { "cpu_usage", JV_DOUBLE, F(jsample, cpu), F(jsample, has_cpu), JV_NULLABLE, 0, 0, 0, 100, 0, NULL },
        { "memory_usage_bytes", JV_I64, F(jsample, mem), NOHAS, JV_REQUIRED, 0, BYTES_MAX, 0, 0, 0, NULL },
        { "gpu_usage", JV_DOUBLE, F(jsample, gpu), F(jsample, has_gpu), JV_NULLABLE, 0, 0, 0, 100, 0, NULL },
        /* 2^53 µs is 285 years of one CPU: beyond that a double loses the microseconds */
        { "cpu_seconds", JV_DOUBLE, F(jsample, cpu_sec), F(jsample, has_cpu_sec), JV_NULLABLE, 0, 0, 0, 9.0e9, 0, NULL },
        U("memory_peak_bytes", 0),
        U("memory_max_bytes", 1),
        U("swap_bytes", 2),
        U("memory_anon_bytes", 3),
        U("memory_file_bytes", 4),
        U("oom_kills", 5),
        U("pids", 6),
        U("io_read_bytes", 7),
        U("io_write_bytes", 8),
        PSI("cpu_pressure_some", 0),
        PSI("cpu_pressure_full", 1),
        PSI("memory_pressure_some", 2),
        PSI("memory_pressure_full", 3),
        { 0 },
};
#undef U
#undef PSI
/* clang-format on */

struct jgpu {
        char *job_id, *node, *gpu_id, *vendor;
        double util, power, temp;
        int64_t mem_used, mem_total;
        bool has_util, has_power, has_temp, has_used, has_total;
};

/* clang-format off */
static const struct jv_field gpu_fields[] = {
        { "job_id", JV_STR, F(jgpu, job_id), NOHAS, JV_REQUIRED, 1, VALID_JOB_ID_MAX, 0, 0, 0, valid_job_id },
        { "node", JV_STR, F(jgpu, node), NOHAS, JV_NULLABLE, 1, NODE_NAME_MAX, 0, 0, 0, valid_node },
        { "gpu_id", JV_STR, F(jgpu, gpu_id), NOHAS, JV_REQUIRED, 1, GPU_ID_MAX, 0, 0, 0, valid_gpu_id },
        { "gpu_vendor", JV_STR, F(jgpu, vendor), NOHAS, JV_REQUIRED, 1, 6, 0, 0, 0, valid_vendor },
        { "utilization_percent", JV_DOUBLE, F(jgpu, util), F(jgpu, has_util), JV_NULLABLE, 0, 0, 0, 100, 0, NULL },
        { "memory_used_bytes", JV_I64, F(jgpu, mem_used), F(jgpu, has_used), JV_NULLABLE, 0, BYTES_MAX, 0, 0, 0, NULL },
        { "memory_total_bytes", JV_I64, F(jgpu, mem_total), F(jgpu, has_total), JV_NULLABLE, 0, BYTES_MAX, 0, 0, 0, NULL },
        { "power_watts", JV_DOUBLE, F(jgpu, power), F(jgpu, has_power), JV_NULLABLE, 0, 0, 0, 100000, 0, NULL },
        { "temperature_celsius", JV_DOUBLE, F(jgpu, temp), F(jgpu, has_temp), JV_NULLABLE, 0, 0, -273.15, 1000, 0, NULL },
        { 0 },
};
/* clang-format on */

struct jnode {
        double cpu;
        int64_t used, total, jobs;
        bool has_cpu, has_used, has_total, has_jobs;
};

/* clang-format off */
static const struct jv_field node_fields[] = {
        { "cpu_usage_percent", JV_DOUBLE, F(jnode, cpu), F(jnode, has_cpu), JV_NULLABLE, 0, 0, 0, 100, 0, NULL },
        { "memory_used_bytes", JV_I64, F(jnode, used), F(jnode, has_used), JV_NULLABLE, 0, BYTES_MAX, 0, 0, 0, NULL },
        { "memory_total_bytes", JV_I64, F(jnode, total), F(jnode, has_total), JV_NULLABLE, 0, BYTES_MAX, 0, 0, 0, NULL },
        { "job_count", JV_I64, F(jnode, jobs), F(jnode, has_jobs), JV_NULLABLE, 0, INT32_MAX, 0, 0, 0, NULL },
        { 0 },
};
/* clang-format on */

struct jhealth {
        double cycle_ms;
        int64_t jobs_seen, buffered, dropped, tool_failures;
        char *version;
};

/* clang-format off */
static const struct jv_field health_fields[] = {
        { "cycle_ms", JV_DOUBLE, F(jhealth, cycle_ms), NOHAS, JV_REQUIRED, 0, 0, 0, 86400000, 0, NULL },
        { "jobs_seen", JV_I64, F(jhealth, jobs_seen), NOHAS, JV_REQUIRED, 0, INT32_MAX, 0, 0, 0, NULL },
        { "buffered", JV_I64, F(jhealth, buffered), NOHAS, JV_REQUIRED, 0, INT64_MAX, 0, 0, 0, NULL },
        { "dropped", JV_I64, F(jhealth, dropped), NOHAS, JV_REQUIRED, 0, INT64_MAX, 0, 0, 0, NULL },
        { "tool_failures", JV_I64, F(jhealth, tool_failures), NOHAS, JV_REQUIRED, 0, INT64_MAX, 0, 0, 0, NULL },
        { "version", JV_STR, F(jhealth, version), NOHAS, JV_NULLABLE, 1, 63, 0, 0, 0, valid_name },
        { 0 },
};
/* clang-format on */

/* Where validation failed, for the 400 answer: "samples[3].cpu_usage". */
struct verr {
        char field[320];
        const char *msg;
};

static void verr_set(struct verr *e, const char *array, size_t i, const char *field,
                     const char *msg)
{
        int n;

        if (array && i != SIZE_MAX)
                n = snprintf(e->field, sizeof(e->field), "%s[%zu]%s%s", array, i,
                             field ? "." : "", field ? field : "");
        else if (array)
                n = snprintf(e->field, sizeof(e->field), "%s%s%s", array, field ? "." : "",
                             field ? field : "");
        else
                n = snprintf(e->field, sizeof(e->field), "%s", field ? field : "body");
        if (n < 0 || (size_t)n >= sizeof(e->field))
                (void)snprintf(e->field, sizeof(e->field), "%s", array ? array : "body");
        e->msg = msg ? msg : "is invalid";
}

/* Dispatches j (an object) with fields; on -EINVAL fills e naming array[i].field. */
static int dispatch(const struct jv *j, const struct jv_field *fields, void *target,
                    const char *array, size_t i, struct verr *e)
{
        const char *field = NULL, *msg = NULL;
        int r = jv_dispatch(j, fields, 0, target, &field, &msg);

        if (r == -EINVAL)
                verr_set(e, array, i, strcmp(field ? field : "", "(root)") == 0 ? NULL : field,
                         msg);
        return r;
}

static void copy_str(char *dst, size_t size, const char *src)
{
        size_t n = src ? strlen(src) : 0;

        if (n >= size)
                n = size - 1; /* unreachable: the field tables cap every length below size */
        memcpy(dst, src ? src : "", n);
        dst[n] = '\0';
}

static void set_u(struct cg_stats *st, enum cg_field f, uint64_t v)
{
        st->v[f] = v;
        st->has |= 1u << f;
}

static int add_sample(struct batch *b, const struct jv *el, size_t i, struct verr *e)
{
        struct jsample s = { 0 };
        struct batch_job *bj;
        int r;

        r = dispatch(el, sample_fields, &s, "samples", i, e);
        if (r < 0)
                return r;
        bj = batch_add_job(b);
        if (!bj) {
                r = -ENOMEM;
                goto out;
        }
        copy_str(bj->job_id, sizeof(bj->job_id), s.job_id);
        copy_str(bj->node, sizeof(bj->node), s.node);
        bj->has_cpu = s.has_cpu;
        bj->cpu_pct = s.cpu;
        bj->mem_bytes = (uint64_t)s.mem;
        set_u(&bj->cg, CG_MEM_CURRENT, (uint64_t)s.mem);
        bj->has_gpu = s.has_gpu;
        bj->gpu_pct = s.gpu;
        if (s.has_cpu_sec)
                set_u(&bj->cg, CG_CPU_USAGE, (uint64_t)(s.cpu_sec * 1e6 + 0.5)); /* >= 0 */
        for (size_t k = 0; k < ARRAY_SIZE(jsample_u_field); k++) {
                if (s.has_u[k])
                        set_u(&bj->cg, jsample_u_field[k], (uint64_t)s.u[k]);
        }
        for (size_t k = 0; k < ARRAY_SIZE(jsample_psi_field); k++) {
                if (s.has_psi[k]) {
                        bj->cg.pct[jsample_psi_field[k]] = s.psi[k];
                        bj->cg.has |= 1u << jsample_psi_field[k];
                }
        }
out:
        jv_dispatch_clear(sample_fields, &s);
        return r;
}

static int add_gpu(struct batch *b, const struct jv *el, size_t i, struct verr *e)
{
        struct jgpu g = { 0 };
        struct batch_gpu *bg;
        int r;

        r = dispatch(el, gpu_fields, &g, "gpu_samples", i, e);
        if (r < 0)
                return r;
        bg = batch_add_gpu(b);
        if (!bg) {
                r = -ENOMEM;
                goto out;
        }
        copy_str(bg->job_id, sizeof(bg->job_id), g.job_id);
        copy_str(bg->node, sizeof(bg->node), g.node);
        copy_str(bg->gpu_id, sizeof(bg->gpu_id), g.gpu_id);
        bg->dev.vendor = strcmp(g.vendor, "amd") == 0 ? GPU_AMD : GPU_NVIDIA;
        bg->dev.has_util = g.has_util;
        bg->dev.util_pct = g.util;
        bg->dev.has_mem_used = g.has_used;
        bg->dev.mem_used_bytes = (uint64_t)g.mem_used;
        bg->dev.has_mem_total = g.has_total;
        bg->dev.mem_total_bytes = (uint64_t)g.mem_total;
        bg->dev.has_power = g.has_power;
        bg->dev.power_w = g.power;
        bg->dev.has_temp = g.has_temp;
        bg->dev.temp_c = g.temp;
out:
        jv_dispatch_clear(gpu_fields, &g);
        return r;
}

/* Walks array member `name` of root, calling add() for each element (each must be an object). */
static int add_array(struct batch *b, const struct jv *root, const char *name, size_t max_items,
                     int (*add)(struct batch *, const struct jv *, size_t, struct verr *),
                     struct verr *e)
{
        struct jv *arr = NULL;
        size_t n;
        int r;

        r = jv_member(root, name, &arr);
        if (r == -ENOENT)
                return 0; /* null: the table said whether that is allowed */
        if (r < 0)
                return r;
        if (!jv_is_array(arr)) {
                verr_set(e, name, SIZE_MAX, NULL, "must be an array of objects");
                r = -EINVAL;
                goto out;
        }
        n = jv_array_len(arr);
        if (n > max_items) {
                verr_set(e, name, SIZE_MAX, NULL, "has too many items");
                r = -EINVAL;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                struct jv *el = NULL;

                r = jv_array_get(arr, i, &el);
                if (r == -ENOENT) {
                        verr_set(e, name, i, NULL, "must be an object");
                        r = -EINVAL;
                }
                if (r == 0)
                        r = add(b, el, i, e);
                jv_free(el);
                if (r < 0)
                        goto out;
        }
out:
        jv_free(arr);
        return r;
}

static int add_node(struct batch *b, const struct jv *root, struct verr *e)
{
        struct jnode nd = { 0 };
        struct jv *o = NULL;
        int r;

        r = jv_member(root, "node_sample", &o);
        if (r == -ENOENT)
                return 0;
        if (r == 0)
                r = dispatch(o, node_fields, &nd, "node_sample", SIZE_MAX, e);
        jv_free(o);
        if (r < 0)
                return r;
        b->has_node_cpu = nd.has_cpu;
        b->node_cpu_pct = nd.cpu;
        /* hjo_ingest_batch takes used and total as a pair (struct batch does too) */
        if (nd.has_used != nd.has_total) {
                verr_set(e, "node_sample", SIZE_MAX,
                         nd.has_used ? "memory_total_bytes" : "memory_used_bytes",
                         "is required with the other memory figure");
                return -EINVAL;
        }
        b->has_node_mem = nd.has_used;
        b->node_mem_used = (uint64_t)nd.used;
        b->node_mem_total = (uint64_t)nd.total;
        b->node_jobs = nd.has_jobs ? nd.jobs : -1;
        return 0;
}

static int add_health(struct batch *b, const struct jv *root, struct verr *e)
{
        struct jhealth h = { 0 };
        struct jv *o = NULL;
        int r;

        r = jv_member(root, "health", &o);
        if (r == -ENOENT)
                return 0;
        if (r == 0)
                r = dispatch(o, health_fields, &h, "health", SIZE_MAX, e);
        jv_free(o);
        if (r < 0)
                return r;
        b->has_health = true;
        b->health_cycle_ms = h.cycle_ms;
        b->health_jobs_seen = h.jobs_seen;
        b->health_buffered = h.buffered;
        b->health_dropped = h.dropped;
        b->health_tool_failures = h.tool_failures;
        copy_str(b->health_version, sizeof(b->health_version), h.version ? h.version : "unknown");
        jv_dispatch_clear(health_fields, &h);
        return 0;
}

/* Parses and validates the body into b.  0, or < 0 with the answer sent. */
static int parse_body(struct http_req *req, struct batch *b)
{
        struct top t = { 0 };
        struct verr e = { { 0 }, NULL };
        struct jv *root = NULL;
        int r;

        r = http_read_json_body(req);
        if (r < 0)
                return r;
        r = jv_parse(req->body, req->body_len, HTTP_MAX_BODY, /* max_depth= */ 8, &root);
        if (r == -E2BIG) {
                http_error(req, 413, NULL, "request body exceeds 1 MiB", NULL);
                goto out;
        }
        if (r < 0) {
                http_error(req, 400, "invalid_request",
                           "request body is not valid JSON (strict, UTF-8, no trailing data, "
                           "nesting depth <= 8)",
                           NULL);
                goto out;
        }
        if (!jv_is_object(root)) {
                http_error(req, 400, "invalid_request", "request body must be a JSON object",
                           NULL);
                r = -EINVAL;
                goto out;
        }
        r = dispatch(root, top_fields, &t, NULL, SIZE_MAX, &e);
        if (r == 0) {
                copy_str(b->node, sizeof(b->node), t.node);
                b->ts_usec = t.ts;
                b->want_jobs = t.want_jobs;
                r = add_array(b, root, "samples", SAMPLES_MAX_ITEMS, add_sample, &e);
        }
        if (r == 0)
                r = add_array(b, root, "gpu_samples", GPU_MAX_ITEMS, add_gpu, &e);
        if (r == 0)
                r = add_node(b, root, &e);
        if (r == 0)
                r = add_health(b, root, &e);
        if (r == -EINVAL) {
                char text[400];

                (void)snprintf(text, sizeof(text), "%s %s", e.field, e.msg);
                http_error(req, 400, "validation_error", text, e.field);
        } else if (r < 0) {
                http_error(req, 500, NULL, "out of memory", NULL);
        }
out:
        jv_dispatch_clear(top_fields, &t);
        jv_free(root);
        return r;
}

static int add(json_object *o, const char *key, json_object *v)
{
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *str_or_null(const struct db_res *res, int row, int col)
{
        return db_res_isnull(res, row, col) ? NULL
                                            : json_object_new_string(db_res_value(res, row, col));
}

/* An integer column; 0 when NULL (never malformed: PostgreSQL printed it). */
static int64_t col_i64(const struct db_res *res, int row, int col)
{
        const char *s = db_res_value(res, row, col);
        int64_t v = 0;

        if (num_parse_i64(s, strlen(s), INT64_MIN, INT64_MAX, &v) < 0)
                v = 0;
        return v;
}

static json_object *i64_or_null(const struct db_res *res, int row, int col)
{
        return db_res_isnull(res, row, col) ? NULL : json_object_new_int64(col_i64(res, row, col));
}

static json_object *double_or_null(const struct db_res *res, int row, int col)
{
        const char *s = db_res_value(res, row, col);
        double v;

        if (db_res_isnull(res, row, col) || num_parse_double(s, strlen(s), &v) < 0)
                return NULL;
        return json_object_new_double(v);
}

/* A 'job' row of hjo_ingest_batch as the collector's metadata object. */
static json_object *job_object(const struct db_res *res, int row)
{
        json_object *o = json_object_new_object(), *devs = json_object_new_array();
        const char *d = db_res_value(res, row, 4);
        int r = 0;

        if (!o || !devs) {
                json_object_put(o);
                json_object_put(devs);
                return NULL;
        }
        while (*d) { /* gpu_devices: comma-joined ids, which never hold a comma */
                size_t n = strcspn(d, ",");

                if (n > 0)
                        r |= json_object_array_add(devs, json_object_new_string_len(d, (int)n));
                d += n + (d[n] == ',');
        }
        r |= add(o, "job_id", json_object_new_string(db_res_value(res, row, 1)));
        r |= add(o, "allocated_cpus", i64_or_null(res, row, 3));
        r |= add(o, "gpu_devices", devs);
        r |= add(o, "cgroup_path", str_or_null(res, row, 5));
        r |= add(o, "start_time", str_or_null(res, row, 6));
        r |= add(o, "last_sample_at", str_or_null(res, row, 7));
        r |= add(o, "last_cpu_seconds", double_or_null(res, row, 8));
        if (r != 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* Turns hjo_ingest_batch's rows into the answer object. */
static json_object *answer(const struct db_res *res, bool want_jobs)
{
        json_object *o = json_object_new_object(), *rejected = json_object_new_array();
        json_object *jobs = want_jobs ? json_object_new_array() : NULL;
        int64_t c[6] = { 0 };
        static const char *const names[6] = { "stored",   "duplicate",  "unknown",
                                              "finished", "gpu_stored", "gpu_received" };
        int r = 0;

        if (!o || !rejected || (want_jobs && !jobs))
                goto fail;
        for (int i = 0; i < db_res_ntuples(res); i++) {
                const char *kind = db_res_value(res, i, 0);

                if (strcmp(kind, "count") == 0) {
                        for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
                                if (strcmp(db_res_value(res, i, 1), names[k]) == 0)
                                        c[k] = col_i64(res, i, 2);
                        }
                } else if (strcmp(kind, "unknown") == 0 || strcmp(kind, "finished") == 0) {
                        json_object *x = json_object_new_object();

                        if (!x)
                                goto fail;
                        r |= add(x, "job_id", json_object_new_string(db_res_value(res, i, 1)));
                        r |= add(x, "reason", json_object_new_string(kind));
                        r |= json_object_array_add(rejected, x);
                } else if (strcmp(kind, "job") == 0 && jobs) {
                        json_object *x = job_object(res, i);

                        if (!x || json_object_array_add(jobs, x) < 0) {
                                json_object_put(x);
                                goto fail;
                        }
                }
        }
        r |= add(o, "stored", json_object_new_int64(c[0]));
        r |= add(o, "duplicates", json_object_new_int64(c[1]));
        r |= add(o, "unknown_jobs", json_object_new_int64(c[2]));
        r |= add(o, "finished_jobs", json_object_new_int64(c[3]));
        r |= add(o, "gpu_stored", json_object_new_int64(c[4]));
        r |= add(o, "rejected", rejected);
        rejected = NULL;
        if (jobs) {
                r |= add(o, "jobs", jobs);
                jobs = NULL;
        }
        if (r != 0)
                goto fail;
        return o;
fail:
        json_object_put(jobs);
        json_object_put(rejected);
        json_object_put(o);
        return NULL;
}

void api_samples_post(struct http_req *req, const char *id)
{
        struct batch b;
        struct strbuf pb[BATCH_N_PARAMS];
        const char *vals[BATCH_N_PARAMS];
        struct db_res *res = NULL;
        struct db_err err;
        json_object *o = NULL;
        int r;

        (void)id;
        batch_init(&b);
        for (size_t i = 0; i < BATCH_N_PARAMS; i++)
                strbuf_init(&pb[i], 2 * HTTP_MAX_BODY); /* text never outgrows the body much */
        if (parse_body(req, &b) < 0)
                goto out;
        r = batch_params(&b, pb, vals);
        if (r < 0) {
                http_error(req, 500, NULL, "internal error", NULL);
                goto out;
        }
        r = db_exec(req->db, STMT_INGEST_BATCH, vals, &res, &err);
        if (r < 0) {
                if (r != -EINVAL && r != -ENOENT && r != -EEXIST)
                        (void)log_errno(LOG_LVL_ERR, r, "sample batch failed", "stmt",
                                        db_stmt_get(STMT_INGEST_BATCH)->name, "sqlstate",
                                        err.sqlstate, "req_id", req->corr_id, "node", b.node,
                                        NULL);
                http_error_errno(req, r, err.message, err.field);
                goto out;
        }
        o = answer(res, b.want_jobs);
        if (!o) {
                http_error(req, 500, NULL, "out of memory", NULL);
                goto out;
        }
        http_reply_json(req, 200, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
out:
        json_object_put(o);
        db_res_free(res);
        for (size_t i = 0; i < BATCH_N_PARAMS; i++)
                strbuf_clear(&pb[i]);
        batch_clear(&b);
}
