/*
 * fcgi/api_events.c: POST /v1/events/job-started and /v1/events/job-finished, the events the
 * Slurm prolog and epilog send.  Validation happens here against strict field tables; the
 * merge rules (created / updated / skipped, first finish wins, state mapping) are in
 * sql/0002_api_functions.sql, executed in one transaction per event, or together with the
 * events that reached the worker at the same time (fcgi/evbatch.c, sql/0068).
 */
#include "config.h"
#include "api.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api_util.h"
#include "db.h"
#include "evbatch.h"
#include "http.h"
#include "jv.h"
#include "log.h"
#include "valid.h"

/* clang-format off */
#define NOHAS SIZE_MAX
#define F(t, m) offsetof(struct t, m)
/* clang-format on */


static bool valid_final_state(const char *s, size_t len)
{
        static const char *const v[] = { "completed", "failed", "cancelled" };

        for (size_t i = 0; i < 3; i++)
                if (strlen(v[i]) == len && memcmp(v[i], s, len) == 0)
                        return true;
        return false;
}

/* Slurm job state names: upper case letters and '_' ("OUT_OF_MEMORY"), optionally with Slurm's
   flag suffixes joined by '+' ("CANCELLED+"); at most 64 bytes. */
static bool valid_slurm_state(const char *s, size_t len)
{
        if (len == 0 || len > 64)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || s[i] == '+'))
                        return false;
        return true;
}

struct started {
        char *job_id, *user, *vendor, *cgroup, *partition, *account, *cluster;
        struct jv_strarr nodes, devices;
        int64_t ts, cpus, mem_mb, gpus;
        bool has_cpus, has_mem, has_gpus;
};

/* clang-format off */
static const struct jv_field started_fields[] = {
        { "job_id", JV_STR, F(started, job_id), NOHAS, JV_REQUIRED, 1, VALID_JOB_ID_MAX, 0, 0, 0, valid_job_id },
        { "user", JV_STR, F(started, user), NOHAS, JV_REQUIRED, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "node_list", JV_STRARR, F(started, nodes), NOHAS, JV_REQUIRED, 1, VALID_HOSTNAME_MAX, 0, 0, 4096, valid_hostname },
        { "timestamp", JV_TIME, F(started, ts), NOHAS, JV_REQUIRED, 0, 0, 0, 0, 0, NULL },
        { "cpu_allocation", JV_I64, F(started, cpus), F(started, has_cpus), JV_NULLABLE, 0, INT32_MAX, 0, 0, 0, NULL },
        { "memory_allocation_mb", JV_I64, F(started, mem_mb), F(started, has_mem), JV_NULLABLE, 0, INT64_C(1) << 40, 0, 0, 0, NULL },
        { "gpu_allocation", JV_I64, F(started, gpus), F(started, has_gpus), JV_NULLABLE, 0, INT32_MAX, 0, 0, 0, NULL },
        { "gpu_vendor", JV_STR, F(started, vendor), NOHAS, JV_NULLABLE, 1, 16, 0, 0, 0, api_valid_gpu_vendor },
        { "gpu_devices", JV_STRARR, F(started, devices), NOHAS, JV_NULLABLE, 1, 128, 0, 0, 64, api_valid_gpu_device },
        { "cgroup_path", JV_STR, F(started, cgroup), NOHAS, JV_NULLABLE, 1, 4096, 0, 0, 0, valid_path },
        { "partition", JV_STR, F(started, partition), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "account", JV_STR, F(started, account), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "cluster", JV_STR, F(started, cluster), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { 0 },
};
/* clang-format on */

struct finished {
        char *job_id, *final_state, *slurm_state, *user, *partition, *account, *cluster;
        struct jv_strarr nodes;
        int64_t ts, exit_code, signal;
        bool has_exit, has_signal;
};

/* clang-format off */
static const struct jv_field finished_fields[] = {
        { "job_id", JV_STR, F(finished, job_id), NOHAS, JV_REQUIRED, 1, VALID_JOB_ID_MAX, 0, 0, 0, valid_job_id },
        { "timestamp", JV_TIME, F(finished, ts), NOHAS, JV_REQUIRED, 0, 0, 0, 0, 0, NULL },
        { "exit_code", JV_I64, F(finished, exit_code), F(finished, has_exit), JV_NULLABLE, 0, 255, 0, 0, 0, NULL },
        { "signal", JV_I64, F(finished, signal), F(finished, has_signal), JV_NULLABLE, 0, 64, 0, 0, 0, NULL },
        { "final_state", JV_STR, F(finished, final_state), NOHAS, JV_NULLABLE, 1, 16, 0, 0, 0, valid_final_state },
        { "slurm_state", JV_STR, F(finished, slurm_state), NOHAS, JV_NULLABLE, 1, 64, 0, 0, 0, valid_slurm_state },
        { "user", JV_STR, F(finished, user), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "node_list", JV_STRARR, F(finished, nodes), NOHAS, JV_NULLABLE, 1, VALID_HOSTNAME_MAX, 0, 0, 4096, valid_hostname },
        { "partition", JV_STR, F(finished, partition), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "account", JV_STR, F(finished, account), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { "cluster", JV_STR, F(finished, cluster), NOHAS, JV_NULLABLE, 1, VALID_NAME_MAX, 0, 0, 0, valid_name },
        { 0 },
};
/* clang-format on */

/* Applies one event: kept for the worker's batch when one is being gathered (fcgi/evbatch.h),
   else run alone; answers {"status","job_id","message"} either way. */
static void run_event(struct http_req *req, enum db_stmt stmt, const char *const *params,
                      const char *job_id)
{
        struct db_res *res = NULL;
        struct db_err err;
        int r;

        if (evbatch_defer(req, stmt == STMT_JOB_STARTED ? EVBATCH_STARTED : EVBATCH_FINISHED,
                          params, job_id) == 0)
                return;
        r = db_exec(req->db, stmt, params, &res, &err);
        if (r < 0) {
                evbatch_answer_error(req, r, &err, db_stmt_get(stmt)->name, job_id);
                return;
        }
        if (db_res_ntuples(res) != 1)
                http_error(req, 500, NULL, "internal error", NULL);
        else
                evbatch_answer(req, db_res_value(res, 0, 0), job_id, db_res_value(res, 0, 1));
        db_res_free(res);
}

void api_job_started(struct http_req *req, const char *id)
{
        struct started s = { 0 };
        struct pbuf pb;
        const char *params[15];

        (void)id;
        pb_init(&pb);
        if (api_parse_body(req, started_fields, &s) < 0)
                goto out;
        params[0] = s.job_id;
        params[1] = s.user;
        params[2] = pb_strarr(&pb, &s.nodes, true);
        params[3] = pb_time(&pb, true, s.ts);
        params[4] = pb_i64(&pb, s.has_cpus, s.cpus);
        params[5] = pb_i64(&pb, s.has_mem, s.mem_mb);
        params[6] = pb_i64(&pb, s.has_gpus, s.gpus);
        params[7] = s.vendor;
        params[8] = pb_strarr(&pb, &s.devices, false);
        params[9] = s.cgroup;
        params[10] = s.partition;
        params[11] = s.account;
        params[12] = s.cluster;
        params[13] = req->source && *req->source ? req->source : "job-started";
        params[14] = req->corr_id;
        if (pb.failed) {
                http_error(req, 500, NULL, "internal error", NULL);
                goto out;
        }
        run_event(req, STMT_JOB_STARTED, params, s.job_id);
out:
        pb_clear(&pb);
        jv_dispatch_clear(started_fields, &s);
}

void api_job_finished(struct http_req *req, const char *id)
{
        struct finished f = { 0 };
        struct pbuf pb;
        const char *params[13];

        (void)id;
        pb_init(&pb);
        if (api_parse_body(req, finished_fields, &f) < 0)
                goto out;
        params[0] = f.job_id;
        params[1] = pb_time(&pb, true, f.ts);
        params[2] = pb_i64(&pb, f.has_exit, f.exit_code);
        params[3] = pb_i64(&pb, f.has_signal, f.signal);
        params[4] = f.final_state;
        params[5] = f.slurm_state;
        params[6] = f.user;
        params[7] = pb_strarr(&pb, &f.nodes, false);
        params[8] = f.partition;
        params[9] = f.account;
        params[10] = f.cluster;
        params[11] = req->source && *req->source ? req->source : "job-finished";
        params[12] = req->corr_id;
        if (pb.failed) {
                http_error(req, 500, NULL, "internal error", NULL);
                goto out;
        }
        run_event(req, STMT_JOB_FINISHED, params, f.job_id);
out:
        pb_clear(&pb);
        jv_dispatch_clear(finished_fields, &f);
}
