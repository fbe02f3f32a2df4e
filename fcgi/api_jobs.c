/*
 * fcgi/api_jobs.c: the /v1/jobs resource (list, create, read, patch, delete) and its samples
 * (/v1/jobs/{id}/metrics).  Every handler validates its input completely before the one
 * statement it runs; the JSON answers are built by the database (hjo_job_json) so that all
 * routes return the same job shape.
 */
#include "config.h"
#include "api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api_util.h"
#include "cursor.h"
#include "db.h"
#include "db_auth.h"
#include "http.h"
#include "jv.h"
#include "log.h"
#include "qparam.h"
#include "valid.h"

#define NOHAS   SIZE_MAX
#define F(t, m) offsetof(struct t, m)

static const char *const state_names[] = { "pending", "running", "completed", "failed",
                                           "cancelled", NULL };

static bool valid_state(const char *s, size_t len)
{
        for (size_t i = 0; state_names[i]; i++)
                if (strlen(state_names[i]) == len && memcmp(state_names[i], s, len) == 0)
                        return true;
        return false;
}

/* A user-scoped caller may see job `id` only when it is theirs; anything else answers 404,
   exactly like a missing job.  Returns true when the handler may go on. */
static bool scope_ok(struct http_req *req, const char *id)
{
        int r;

        if (!req->scope_user[0])
                return true;
        r = db_job_owned_by(req->db, id, req->scope_user);
        if (r == 0)
                return true;
        if (r == -ENOENT)
                http_error(req, 404, "not_found", "job not found", NULL);
        else
                http_error_errno(req, r, NULL, NULL);
        return false;
}

/* ---- GET /v1/jobs ---------------------------------------------------------------------- */

enum { JQ_STATE, JQ_USER, JQ_NODE, JQ_ACCOUNT, JQ_PARTITION, JQ_SINCE, JQ_UNTIL, JQ_LIMIT,
       JQ_OFFSET, JQ_SORT, JQ_EFF_LT, JQ_EFF_GT, JQ_MEM_LT, JQ_MEM_GT, JQ_GPU_LT, JQ_GPU_GT,
       JQ_IDLE_LT, JQ_IDLE_GT, JQ_COUNT, JQ_AFTER, JQ__MAX };

/* total: an exact count (default) or the planner's estimate (cheap on millions of jobs) */
static const char *const count_names[] = { "exact", "estimate", NULL };

/* Sort keys (hjo_jobs_list, sql/0061_keyset.sql): '-' = descending.  A summary key lists
   only the jobs that have that summary (finished jobs with samples). */
static const char *const sort_names[] = { "-start_time", "start_time", "cpu_efficiency",
                                          "-cpu_efficiency", "memory_peak_ratio",
                                          "-memory_peak_ratio", "gpu_mean_utilization",
                                          "-gpu_mean_utilization", "idle_gpu_hours",
                                          "-idle_gpu_hours", NULL };

/* clang-format off */
static const struct qparam jobs_query[JQ__MAX + 1] = {
        [JQ_STATE] = { "state", QP_ENUM, 0, 0, 0, state_names },
        [JQ_USER] = { "user", QP_NAME, 0, 0, 0, NULL },
        [JQ_NODE] = { "node", QP_HOST, 0, 0, 0, NULL },
        [JQ_ACCOUNT] = { "account", QP_NAME, 0, 0, 0, NULL },
        [JQ_PARTITION] = { "partition", QP_NAME, 0, 0, 0, NULL },
        [JQ_SINCE] = { "since", QP_TIME, 0, 0, 0, NULL },
        [JQ_UNTIL] = { "until", QP_TIME, 0, 0, 0, NULL },
        [JQ_LIMIT] = { "limit", QP_INT, 1, 1000, 100, NULL },
        [JQ_OFFSET] = { "offset", QP_INT, 0, 10000000, 0, NULL },
        [JQ_SORT] = { "sort", QP_ENUM, 0, 0, 0, sort_names },
        [JQ_EFF_LT] = { "cpu_efficiency_lt", QP_NUM, 0, 1000000, 0, NULL },
        [JQ_EFF_GT] = { "cpu_efficiency_gt", QP_NUM, 0, 1000000, 0, NULL },
        [JQ_MEM_LT] = { "memory_peak_ratio_lt", QP_NUM, 0, 1000000, 0, NULL },
        [JQ_MEM_GT] = { "memory_peak_ratio_gt", QP_NUM, 0, 1000000, 0, NULL },
        [JQ_GPU_LT] = { "gpu_mean_utilization_lt", QP_NUM, 0, 100, 0, NULL },
        [JQ_GPU_GT] = { "gpu_mean_utilization_gt", QP_NUM, 0, 100, 0, NULL },
        [JQ_IDLE_LT] = { "idle_gpu_hours_lt", QP_NUM, 0, 1000000000, 0, NULL },
        [JQ_IDLE_GT] = { "idle_gpu_hours_gt", QP_NUM, 0, 1000000000, 0, NULL },
        [JQ_COUNT] = { "count", QP_ENUM, 0, 0, 0, count_names },
        [JQ_AFTER] = { "after", QP_TOKEN, 1, CURSOR_MAX, 0, NULL },
        [JQ__MAX] = { NULL, 0, 0, 0, 0, NULL },
};
/* clang-format on */

/* after= (keyset pagination): a cursor of the same sort order, never with offset.  Answers 400
   naming `after` and returns < 0 when it is refused. */
static int parse_after(struct http_req *req, const struct qval *q, struct cursor *ret)
{
        const char *sort = q[JQ_SORT].set ? q[JQ_SORT].s : sort_names[0];
        const char *msg = NULL;
        char text[128];

        if (q[JQ_OFFSET].set) {
                http_error(req, 400, "validation_error",
                           "after cannot be combined with offset (a cursor says where the page "
                           "starts)",
                           "after");
                return -EINVAL;
        }
        if (cursor_parse(q[JQ_AFTER].s, strlen(q[JQ_AFTER].s), sort, ret, &msg) < 0) {
                (void)snprintf(text, sizeof(text), "after %s", msg);
                http_error(req, 400, "validation_error", text, "after");
                return -EINVAL;
        }
        return 0;
}

void api_jobs_list(struct http_req *req, const char *id)
{
        struct qval q[JQ__MAX];
        struct cursor after = { 0 };
        struct pbuf pb;
        const char *params[22];

        (void)id;
        pb_init(&pb);
        if (api_parse_query(req, jobs_query, q) < 0)
                goto out;
        if (q[JQ_AFTER].set && parse_after(req, q, &after) < 0)
                goto out;
        params[0] = api_qval_str(&q[JQ_STATE]);
        params[1] = api_qval_str(&q[JQ_USER]);
        if (req->scope_user[0]) {
                /* a user-scoped caller lists its own jobs; asking for another user's finds
                   nothing, as if that user had none */
                if (q[JQ_USER].set && strcmp(q[JQ_USER].s, req->scope_user) != 0)
                        params[1] = "";
                else
                        params[1] = req->scope_user;
        }
        params[2] = api_qval_str(&q[JQ_NODE]);
        params[3] = api_qval_str(&q[JQ_ACCOUNT]);
        params[4] = api_qval_str(&q[JQ_PARTITION]);
        params[5] = pb_time(&pb, q[JQ_SINCE].set, q[JQ_SINCE].i);
        params[6] = pb_time(&pb, q[JQ_UNTIL].set, q[JQ_UNTIL].i);
        params[7] = pb_i64(&pb, true, q[JQ_LIMIT].i);
        params[8] = pb_i64(&pb, true, q[JQ_OFFSET].i);
        params[9] = api_qval_str(&q[JQ_SORT]);
        for (int k = JQ_EFF_LT; k <= JQ_IDLE_GT; k++)
                params[10 + k - JQ_EFF_LT] = pb_double(&pb, q[k].set, q[k].d);
        params[18] = api_qval_str(&q[JQ_COUNT]);
        /* the cursor's key in the column type of the sort key (NULL: a NULL start_time) */
        params[19] = pb_time(&pb, after.has_key && after.is_time, after.key_usec);
        params[20] = pb_double(&pb, after.has_key && !after.is_time, after.key_num);
        params[21] = q[JQ_AFTER].set ? after.id : NULL;
        api_run_json(req, STMT_JOBS_LIST, params, 200, NULL);
out:
        pb_clear(&pb);
}

/* ---- POST /v1/jobs --------------------------------------------------------------------- */

struct create {
        char *id, *user, *state, *partition, *account, *vendor, *cgroup;
        struct jv_strarr nodes, devices;
        int64_t start, cpus, mem_mb, gpus;
        bool has_start, has_cpus, has_mem, has_gpus;
};

/* clang-format off */
static const struct jv_field create_fields[] = {
        { "id", JV_STR, F(create, id), NOHAS, JV_REQUIRED, 1, VALID_JOB_ID_MAX, 0, 0, 0, valid_job_id },
        { "user", JV_STR, F(create, user), NOHAS, JV_REQUIRED, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "nodes", JV_STRARR, F(create, nodes), NOHAS, JV_REQUIRED, 1, VALID_HOSTNAME_MAX, 0, 0, 4096, valid_hostname },
        { "state", JV_STR, F(create, state), NOHAS, JV_NULLABLE, 1, 16, 0, 0, 0, valid_state },
        { "start_time", JV_TIME, F(create, start), F(create, has_start), JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { "partition", JV_STR, F(create, partition), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "account", JV_STR, F(create, account), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "allocated_cpus", JV_I64, F(create, cpus), F(create, has_cpus), JV_NULLABLE, 0, INT32_MAX, 0, 0, 0, NULL },
        { "allocated_memory_mb", JV_I64, F(create, mem_mb), F(create, has_mem), JV_NULLABLE, 0, INT64_C(1) << 40, 0, 0, 0, NULL },
        { "allocated_gpus", JV_I64, F(create, gpus), F(create, has_gpus), JV_NULLABLE, 0, INT32_MAX, 0, 0, 0, NULL },
        { "gpu_vendor", JV_STR, F(create, vendor), NOHAS, JV_NULLABLE, 1, 16, 0, 0, 0, api_valid_gpu_vendor },
        { "gpu_devices", JV_STRARR, F(create, devices), NOHAS, JV_NULLABLE, 1, 128, 0, 0, 64, api_valid_gpu_device },
        { "cgroup_path", JV_STR, F(create, cgroup), NOHAS, JV_NULLABLE, 1, 4096, 0, 0, 0, valid_path },
        { 0 },
};
/* clang-format on */

void api_job_create(struct http_req *req, const char *id)
{
        struct create c = { 0 };
        struct pbuf pb;
        const char *params[16];
        char location[400];

        (void)id;
        pb_init(&pb);
        if (!api_audit_headers_ok(req))
                goto out;
        if (api_parse_body(req, create_fields, &c) < 0)
                goto out;
        params[0] = c.id;
        params[1] = c.user;
        params[2] = pb_strarr(&pb, &c.nodes, true);
        params[3] = c.state;
        params[4] = pb_time(&pb, c.has_start, c.start);
        params[5] = c.partition;
        params[6] = c.account;
        params[7] = pb_i64(&pb, c.has_cpus, c.cpus);
        params[8] = pb_i64(&pb, c.has_mem, c.mem_mb);
        params[9] = pb_i64(&pb, c.has_gpus, c.gpus);
        params[10] = c.vendor;
        params[11] = pb_strarr(&pb, &c.devices, false);
        params[12] = c.cgroup;
        params[13] = req->changed_by;
        params[14] = req->source;
        params[15] = req->corr_id;
        (void)snprintf(location, sizeof(location), "Location: /v1/jobs/%s\r\n", c.id);
        api_run_json(req, STMT_JOB_CREATE, params, 201, location);
out:
        pb_clear(&pb);
        jv_dispatch_clear(create_fields, &c);
}

/* ---- GET / PATCH / DELETE /v1/jobs/{id} ------------------------------------------------ */

void api_job_get(struct http_req *req, const char *id)
{
        const char *params[1] = { id };

        if (!api_job_id_ok(req, id) || !scope_ok(req, id))
                return;
        api_run_json(req, STMT_JOB_GET, params, 200, NULL);
}

struct patch {
        char *state;
        double cpu, mem_mb, gpu;
        bool has_cpu, has_mem, has_gpu;
};

/* clang-format off */
static const struct jv_field patch_fields[] = {
        { "state", JV_STR, F(patch, state), NOHAS, 0, 1, 16, 0, 0, 0, valid_state },
        { "cpu_usage", JV_DOUBLE, F(patch, cpu), F(patch, has_cpu), 0, 0, 0, 0, 100, 0, NULL },
        { "memory_usage_mb", JV_DOUBLE, F(patch, mem_mb), F(patch, has_mem), 0, 0, 0, 0, 1e12, 0, NULL },
        { "gpu_usage", JV_DOUBLE, F(patch, gpu), F(patch, has_gpu), 0, 0, 0, 0, 100, 0, NULL },
        { 0 },
};
/* clang-format on */

void api_job_patch(struct http_req *req, const char *id)
{
        struct patch p = { 0 };
        struct pbuf pb;
        const char *params[8];

        pb_init(&pb);
        if (!api_job_id_ok(req, id))
                goto out;
        if (!api_audit_headers_ok(req))
                goto out;
        if (api_parse_body(req, patch_fields, &p) < 0)
                goto out;
        if (!p.state && !p.has_cpu && !p.has_mem && !p.has_gpu) {
                http_error(req, 400, "validation_error",
                           "give at least one of state, cpu_usage, memory_usage_mb, gpu_usage",
                           NULL);
                goto out;
        }
        params[0] = id;
        params[1] = p.state;
        params[2] = pb_double(&pb, p.has_cpu, p.cpu);
        params[3] = pb_double(&pb, p.has_mem, p.mem_mb);
        params[4] = pb_double(&pb, p.has_gpu, p.gpu);
        params[5] = req->changed_by;
        params[6] = req->source;
        params[7] = req->corr_id;
        api_run_json(req, STMT_JOB_PATCH, params, 200, NULL);
out:
        pb_clear(&pb);
        jv_dispatch_clear(patch_fields, &p);
}

void api_job_delete(struct http_req *req, const char *id)
{
        struct db_err err;
        const char *params[4];
        int r;

        if (!api_job_id_ok(req, id))
                return;
        if (!api_audit_headers_ok(req))
                return;
        params[0] = id;
        params[1] = req->changed_by;
        params[2] = req->source;
        params[3] = req->corr_id;
        r = db_exec(req->db, STMT_JOB_DELETE, params, NULL, &err);
        if (r < 0) {
                if (r != -ENOENT)
                        (void)log_errno(LOG_LVL_ERR, r, "delete failed", "sqlstate", err.sqlstate,
                                        "req_id", req->corr_id, NULL);
                http_error_errno(req, r, err.message, err.field);
                return;
        }
        http_reply(req, 204, NULL, NULL, 0, NULL);
}

/* ---- /v1/jobs/{id}/metrics -------------------------------------------------------------- */

enum { SQ_START, SQ_END, SQ_NODE, SQ_LIMIT, SQ_RESOLUTION, SQ__MAX };

/* clang-format off */
static const struct qparam samples_query[SQ__MAX + 1] = {
        [SQ_START] = { "start_time", QP_TIME, 0, 0, 0, NULL },
        [SQ_END] = { "end_time", QP_TIME, 0, 0, 0, NULL },
        [SQ_NODE] = { "node", QP_HOST, 0, 0, 0, NULL },
        [SQ_LIMIT] = { "limit", QP_INT, 1, 10000, 1000, NULL },
        [SQ_RESOLUTION] = { "resolution", QP_ENUM, 0, 0, 0, api_resolution_names },
        [SQ__MAX] = { NULL, 0, 0, 0, 0, NULL },
};
/* clang-format on */

void api_samples_list(struct http_req *req, const char *id)
{
        struct qval q[SQ__MAX];
        struct pbuf pb;
        const char *params[6];

        pb_init(&pb);
        if (!api_job_id_ok(req, id) || !scope_ok(req, id))
                goto out;
        if (api_parse_query(req, samples_query, q) < 0)
                goto out;
        params[0] = id;
        params[1] = pb_time(&pb, q[SQ_START].set, q[SQ_START].i);
        params[2] = pb_time(&pb, q[SQ_END].set, q[SQ_END].i);
        params[3] = api_qval_str(&q[SQ_NODE]);
        params[4] = pb_i64(&pb, true, q[SQ_LIMIT].i);
        params[5] = api_qval_str(&q[SQ_RESOLUTION]);
        api_run_series(req, STMT_SAMPLES_ROWS, params, SERIES_JOB, id, "job not found");
out:
        pb_clear(&pb);
}

struct sample {
        char *node;
        int64_t ts, mem_bytes;
        double cpu, mem_mb, gpu;
        bool has_ts, has_mem_bytes, has_mem_mb, has_gpu, has_cpu;
};

/* clang-format off */
static const struct jv_field sample_fields[] = {
        { "cpu_usage", JV_DOUBLE, F(sample, cpu), F(sample, has_cpu), JV_REQUIRED, 0, 0, 0, 100, 0, NULL },
        { "memory_usage_mb", JV_DOUBLE, F(sample, mem_mb), F(sample, has_mem_mb), JV_NULLABLE, 0, 0, 0, 1e12, 0, NULL },
        { "memory_usage_bytes", JV_I64, F(sample, mem_bytes), F(sample, has_mem_bytes), JV_NULLABLE, 0, INT64_MAX / 2, 0, 0, 0, NULL },
        { "gpu_usage", JV_DOUBLE, F(sample, gpu), F(sample, has_gpu), JV_NULLABLE, 0, 0, 0, 100, 0, NULL },
        { "node", JV_STR, F(sample, node), NOHAS, JV_NULLABLE, 1, VALID_HOSTNAME_MAX, 0, 0, 0, valid_hostname },
        { "timestamp", JV_TIME, F(sample, ts), F(sample, has_ts), JV_NULLABLE, 0, 0, 0, 0, 0, NULL },
        { 0 },
};
/* clang-format on */

void api_sample_add(struct http_req *req, const char *id)
{
        struct sample s = { 0 };
        struct pbuf pb;
        struct db_res *res = NULL;
        struct db_err err;
        json_object *o = NULL;
        const char *params[6];
        int64_t mem_bytes;
        bool stored;
        int r;

        pb_init(&pb);
        if (!api_job_id_ok(req, id))
                goto out;
        if (api_parse_body(req, sample_fields, &s) < 0)
                goto out;
        if (!s.has_mem_bytes && !s.has_mem_mb) {
                http_error(req, 400, "validation_error",
                           "memory_usage_mb or memory_usage_bytes is required", "memory_usage_mb");
                goto out;
        }
        /* Both given: the exact byte count wins.  MiB are converted, rounded to a byte. */
        mem_bytes = s.has_mem_bytes ? s.mem_bytes : (int64_t)(s.mem_mb * 1048576.0 + 0.5);
        params[0] = id;
        params[1] = s.node;
        params[2] = pb_time(&pb, s.has_ts, s.ts);
        params[3] = pb_double(&pb, true, s.cpu);
        params[4] = pb_i64(&pb, true, mem_bytes);
        params[5] = pb_double(&pb, s.has_gpu, s.gpu);
        r = db_exec(req->db, STMT_SAMPLE_ADD, params, &res, &err);
        if (r < 0) {
                if (r != -EINVAL && r != -ENOENT && r != -EEXIST)
                        (void)log_errno(LOG_LVL_ERR, r, "sample insert failed", "sqlstate",
                                        err.sqlstate, "req_id", req->corr_id, "job_id", id, NULL);
                http_error_errno(req, r, err.message, err.field);
                goto out;
        }
        if (db_res_ntuples(res) != 1) {
                http_error(req, 500, NULL, "internal error", NULL);
                goto out;
        }
        stored = strcmp(db_res_value(res, 0, 0), "t") == 0;
        o = json_object_new_object();
        if (!o) {
                http_error(req, 500, NULL, "out of memory", NULL);
                goto out;
        }
        json_object_object_add(o, "job_id", json_object_new_string(id));
        json_object_object_add(o, "timestamp", json_object_new_string(db_res_value(res, 0, 2)));
        json_object_object_add(o, "node", json_object_new_string(db_res_value(res, 0, 1)));
        json_object_object_add(o, "stored", json_object_new_boolean(stored));
        http_reply_json(req, stored ? 201 : 200,
                        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
out:
        json_object_put(o);
        db_res_free(res);
        pb_clear(&pb);
        jv_dispatch_clear(sample_fields, &s);
}
