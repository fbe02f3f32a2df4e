/*
 * fcgi/evbatch.c: job events applied in batches (see evbatch.h).
 *
 * Why: each event applied alone is a PL/pgSQL call with its own INSERT or UPDATE of the job row
 * (9 index entries), audit row and commit.  PostgreSQL spends most of that on work per statement and
 * per transaction (executor start-up, the row check prepared again, the commit), not per row:
 * 8 start+finish pairs in two hjo_events_apply calls cost 230-250 us a pair against 650-780 us
 * applied one by one (pgbench, one client, same database; docs/performance.md).
 *
 * The batch is gathered by the worker's accept loop (fcgi/main.c): the listening socket is
 * non-blocking, so "another request is waiting" is an accept that succeeds, never a wait.
 */
#include "config.h"
#include "evbatch.h"

#include <errno.h>
#include <fcgiapp.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "http.h"
#include "log.h"
#include "num.h"
#include "strbuf.h"

#define EVBATCH_MAX_MAX 256
/* the batch's JSON: an event that would not fit (bodies are up to 1 MiB) is applied alone */
#define EVBATCH_JSON_MAX (64u * 1024 * 1024)

/* The keys of each kind's parameters in hjo_events_apply's JSON, in STMT_JOB_STARTED /
   STMT_JOB_FINISHED order; the values are the same text parameters (arrays as {..} literals,
   which jsonb_to_recordset reads with the array type's input function). */
static const char *const started_keys[] = {
        "job_id", "user",      "nodes",   "ts",      "cpus",   "mem_mb", "gpus", "vendor",
        "devices", "cgroup", "partition", "account", "cluster", "source", "corr",
};
static const char *const finished_keys[] = {
        "job_id", "ts",        "exit",    "signal",  "final",  "slurm", "user",
        "nodes",  "partition", "account", "cluster", "source", "corr",
};

struct item {
        struct http_req *req;
        char *job_id;
};

static struct {
        int listen_fd;
        size_t max;
        size_t n;
        struct item items[EVBATCH_MAX_MAX];
        struct strbuf json; /* "[{...},{...}" while gathering */
} b = { .listen_fd = -1, .max = 1 };

void evbatch_setup(int listen_fd, size_t max)
{
        b.listen_fd = listen_fd;
        b.max = max < 1 ? 1 : max > EVBATCH_MAX_MAX ? EVBATCH_MAX_MAX : max;
        b.n = 0;
        strbuf_init(&b.json, EVBATCH_JSON_MAX);
}

bool evbatch_pending(void)
{
        return b.n > 0;
}

static bool another_waiting(void)
{
        struct pollfd p = { .fd = b.listen_fd, .events = POLLIN };

        return b.listen_fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int evbatch_defer(struct http_req *req, enum evbatch_kind kind, const char *const *params,
                  const char *job_id)
{
        const char *const *keys = kind == EVBATCH_STARTED ? started_keys : finished_keys;
        size_t n_keys = kind == EVBATCH_STARTED ? ARRAY_SIZE(started_keys)
                                                : ARRAY_SIZE(finished_keys);
        json_object *o = NULL;
        char *id = NULL;
        int r = -EAGAIN;

        /* a kept FastCGI connection (fastcgi_keep_conn) is answered at once: fcgi/main.c */
        if (b.n >= b.max || b.max <= 1 || req->fcgx->keepConnection ||
            (b.n == 0 && !another_waiting()))
                return -EAGAIN;
        o = json_object_new_object();
        id = strdup(job_id);
        if (!o || !id) {
                r = -ENOMEM;
                goto out;
        }
        json_object_object_add(o, "ord", json_object_new_int((int)b.n));
        json_object_object_add(o, "kind", json_object_new_string(kind == EVBATCH_STARTED
                                                                         ? "started"
                                                                         : "finished"));
        for (size_t i = 0; i < n_keys; i++)
                json_object_object_add(o, keys[i],
                                       params[i] ? json_object_new_string(params[i]) : NULL);
        json_object_object_add(o, "principal", json_object_new_string(req->principal));
        strbuf_addc(&b.json, b.n == 0 ? '[' : ',');
        strbuf_adds(&b.json, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        if (strbuf_failed(&b.json)) {
                /* the events kept so far still go; this one is applied alone */
                r = -ENOMEM;
                goto out;
        }
        b.items[b.n].req = req;
        b.items[b.n].job_id = id;
        req->deferred = true;
        id = NULL;
        b.n++;
        r = 0;
out:
        free(id);
        json_object_put(o);
        return r;
}

void evbatch_answer(struct http_req *req, const char *status, const char *job_id,
                    const char *message)
{
        json_object *o = json_object_new_object();

        if (!o) {
                http_error(req, 500, NULL, "out of memory", NULL);
                return;
        }
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "job_id", json_object_new_string(job_id));
        json_object_object_add(o, "message", json_object_new_string(message));
        http_reply_json(req, 200, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
        json_object_put(o);
}

void evbatch_answer_error(struct http_req *req, int r, const struct db_err *err,
                          const char *stmt, const char *job_id)
{
        /* the event's own errors (refused by the rules) are the client's; others are logged */
        if (r != -EINVAL && r != -ENOENT && r != -EEXIST)
                (void)log_errno(LOG_LVL_ERR, r, "event statement failed", "stmt", stmt,
                                "sqlstate", err->sqlstate, "req_id", req->corr_id, "job_id",
                                job_id, NULL);
        http_error_errno(req, r, err->message, err->field);
}

void evbatch_flush(struct db *db)
{
        struct db_res *res = NULL;
        struct db_err err = { 0 };
        bool *answered = NULL;
        const char *params[1];
        int r;

        if (b.n == 0)
                return;
        strbuf_addc(&b.json, ']');
        answered = calloc(b.n, sizeof(*answered));
        if (strbuf_failed(&b.json) || !answered) {
                r = -ENOMEM;
                goto fail;
        }
        if (!db) {
                r = -ENOTCONN;
                goto fail;
        }
        params[0] = b.json.buf;
        r = db_exec(db, STMT_EVENTS_APPLY, params, &res, &err);
        if (r < 0)
                goto fail;
        for (int i = 0; i < db_res_ntuples(res); i++) {
                const char *o = db_res_value(res, i, 0);
                uint64_t ord;
                struct item *it;

                if (num_parse_u64(o, strlen(o), b.n - 1, &ord) < 0 || answered[ord])
                        continue;
                it = &b.items[ord];
                answered[ord] = true;
                if (!db_res_isnull(res, i, 1)) {
                        evbatch_answer(it->req, db_res_value(res, i, 1), it->job_id,
                                       db_res_value(res, i, 2));
                        continue;
                }
                r = db_err_set(&err, db_res_value(res, i, 3), db_res_value(res, i, 4),
                               db_res_value(res, i, 5));
                evbatch_answer_error(it->req, r, &err, "events_apply", it->job_id);
        }
        /* hjo_events_apply answers every event; one it did not is an internal error */
        r = -EIO;
        memset(&err, 0, sizeof(err));
fail:
        /* as each event would have been answered alone: a failed transaction fails them all */
        for (size_t i = 0; i < b.n; i++)
                if (!answered || !answered[i])
                        evbatch_answer_error(b.items[i].req, r, &err, "events_apply",
                                             b.items[i].job_id);
        db_res_free(res);
        free(answered);
        for (size_t i = 0; i < b.n; i++)
                free(b.items[i].job_id);
        b.n = 0;
        strbuf_reset(&b.json);
}
