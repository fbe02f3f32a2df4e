/*
 * fcgi/api_util.c: shared helpers of the /v1 handlers.
 */
#include "config.h"
#include "api_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "http.h"
#include "log.h"
#include "qparam.h"
#include "rfc3339.h"
#include "strbuf.h"
#include "valid.h"

void pb_init(struct pbuf *pb)
{
        memset(pb, 0, sizeof(*pb));
}

void pb_clear(struct pbuf *pb)
{
        for (size_t i = 0; i < pb->n_owned; i++)
                free(pb->owned[i]);
        pb->n_owned = 0;
        pb->n_num = 0;
}

static char *pb_slot(struct pbuf *pb)
{
        if (pb->n_num >= PB_MAX) {
                pb->failed = true;
                return NULL;
        }
        return pb->num[pb->n_num++];
}

const char *pb_i64(struct pbuf *pb, bool has, int64_t v)
{
        char *s;

        if (!has)
                return NULL;
        s = pb_slot(pb);
        if (s)
                (void)snprintf(s, sizeof(pb->num[0]), "%lld", (long long)v);
        return s;
}

const char *pb_double(struct pbuf *pb, bool has, double v)
{
        char *s;

        if (!has)
                return NULL;
        s = pb_slot(pb);
        if (s)
                (void)snprintf(s, sizeof(pb->num[0]), "%.17g", v);
        return s;
}

const char *pb_time(struct pbuf *pb, bool has, int64_t usec)
{
        char *s;

        if (!has)
                return NULL;
        s = pb_slot(pb);
        if (s)
                (void)rfc3339_format(usec, s, sizeof(pb->num[0]));
        return s;
}

const char *pb_strarr(struct pbuf *pb, const struct jv_strarr *a, bool keep_empty)
{
        struct strbuf sb;
        char *s;

        if (!a || (a->n == 0 && !keep_empty))
                return NULL;
        if (pb->n_owned >= PB_MAX) {
                pb->failed = true;
                return NULL;
        }
        /* array literal: every element double-quoted, '"' and '\' backslash-escaped */
        strbuf_init(&sb, 4 * 1024 * 1024);
        strbuf_addc(&sb, '{');
        for (size_t i = 0; i < a->n; i++) {
                if (i)
                        strbuf_addc(&sb, ',');
                strbuf_addc(&sb, '"');
                for (const char *p = a->v[i]; *p; p++) {
                        if (*p == '"' || *p == '\\')
                                strbuf_addc(&sb, '\\');
                        strbuf_addc(&sb, *p);
                }
                strbuf_addc(&sb, '"');
        }
        strbuf_addc(&sb, '}');
        s = strbuf_take(&sb);
        if (!s) {
                pb->failed = true;
                return NULL;
        }
        pb->owned[pb->n_owned++] = s;
        return s;
}

int api_parse_body(struct http_req *req, const struct jv_field *fields, void *target)
{
        struct jv *j = NULL;
        const char *field = NULL, *msg = NULL;
        int r;

        r = http_read_json_body(req);
        if (r < 0)
                return r;
        r = jv_parse(req->body, req->body_len, HTTP_MAX_BODY, /* max_depth= */ 16, &j);
        if (r == -E2BIG) {
                http_error(req, 413, NULL, "request body exceeds 1 MiB", NULL);
                goto out;
        }
        if (r < 0) {
                http_error(req, 400, "invalid_request",
                           "request body is not valid JSON (strict, UTF-8, no trailing data)",
                           NULL);
                goto out;
        }
        if (!jv_is_object(j)) {
                http_error(req, 400, "invalid_request", "request body must be a JSON object",
                           NULL);
                r = -EINVAL;
                goto out;
        }
        r = jv_dispatch(j, fields, 0, target, &field, &msg);
        if (r < 0) {
                char text[320];

                (void)snprintf(text, sizeof(text), "%s %s", field ? field : "body",
                               msg ? msg : "is invalid");
                http_error(req, 400, "validation_error", text, field);
        }
out:
        jv_free(j);
        return r;
}

static bool blank(const char *s)
{
        if (!s)
                return true;
        for (; *s; s++)
                if (*s != ' ' && *s != '\t')
                        return false;
        return true;
}

bool api_audit_headers_ok(struct http_req *req)
{
        if (blank(req->changed_by)) {
                http_error(req, 400, "validation_error", "the X-Changed-By header is required",
                           "X-Changed-By");
                return false;
        }
        if (blank(req->source)) {
                http_error(req, 400, "validation_error", "the X-Source header is required",
                           "X-Source");
                return false;
        }
        if (!valid_name(req->changed_by, strlen(req->changed_by)) ||
            !valid_name(req->source, strlen(req->source))) {
                http_error(req, 400, "validation_error",
                           "X-Changed-By and X-Source must be 1-255 bytes of UTF-8 text",
                           valid_name(req->source, strlen(req->source)) ? "X-Changed-By"
                                                                         : "X-Source");
                return false;
        }
        return true;
}

bool api_job_id_ok(struct http_req *req, const char *id)
{
        if (id && valid_job_id(id, strlen(id)))
                return true;
        http_error(req, 404, "not_found", "job not found", NULL);
        return false;
}

const char *api_actor(const struct http_req *req, char *buf, size_t size)
{
        if (!blank(req->changed_by) && valid_name(req->changed_by, strlen(req->changed_by)))
                return req->changed_by;
        (void)snprintf(buf, size, "%s", req->remote ? req->remote : "unknown");
        return buf;
}

const char *const api_resolution_names[] = { "auto", "raw", "1m", "1h", NULL };

int api_parse_query(struct http_req *req, const struct qparam *spec, struct qval *vals)
{
        char errbuf[64], text[320];
        const char *field = NULL, *msg = NULL;
        int r;

        r = qparam_parse(req->query, strlen(req->query), spec, vals, errbuf, sizeof(errbuf),
                         &field, &msg);
        if (r < 0) {
                (void)snprintf(text, sizeof(text), "%s %s", field ? field : "query",
                               msg ? msg : "is invalid");
                http_error(req, 400, "validation_error", text, field);
        }
        return r;
}

const char *api_qval_str(const struct qval *v)
{
        return v->set ? v->s : NULL;
}

void api_run_json(struct http_req *req, enum db_stmt stmt, const char *const *params, int status,
                  const char *extra_headers)
{
        api_run_json_or_404(req, stmt, params, status, extra_headers, "job not found");
}

/* Runs stmt; on failure answers the mapped error (logged unless it is the client's: -EINVAL,
   -ENOENT, -EEXIST) and returns it, *res untouched. */
static int run_stmt(struct http_req *req, enum db_stmt stmt, const char *const *params,
                    struct db_res **res)
{
        struct db_err err;
        int r;

        r = db_exec(req->db, stmt, params, res, &err);
        if (r < 0) {
                if (r != -EINVAL && r != -ENOENT && r != -EEXIST)
                        (void)log_errno(LOG_LVL_ERR, r, "statement failed", "stmt",
                                        db_stmt_get(stmt)->name, "sqlstate", err.sqlstate,
                                        "req_id", req->corr_id, "route", req->path, NULL);
                http_error_errno(req, r, err.message, err.field);
        }
        return r;
}

void api_run_json_or_404(struct http_req *req, enum db_stmt stmt, const char *const *params,
                         int status, const char *extra_headers, const char *not_found_msg)
{
        struct db_res *res = NULL;

        if (run_stmt(req, stmt, params, &res) < 0)
                return;
        if (db_res_ntuples(res) < 1 || db_res_isnull(res, 0, 0))
                http_error(req, 404, "not_found", not_found_msg, NULL);
        else
                http_reply(req, status, "application/json", db_res_value(res, 0, 0),
                           (size_t)db_res_length(res, 0, 0), extra_headers);
        db_res_free(res);
}

static const char *series_value(const void *ctx, int row, int col)
{
        const struct db_res *res = ctx;

        return db_res_isnull(res, row, col) ? NULL : db_res_value(res, row, col);
}

void api_run_series(struct http_req *req, enum db_stmt stmt, const char *const *params,
                    enum series_kind kind, const char *id, const char *not_found_msg)
{
        struct db_res *res = NULL;
        struct strbuf sb;
        int r;

        strbuf_init(&sb, SERIES_JSON_MAX_BYTES);
        if (run_stmt(req, stmt, params, &res) < 0)
                goto out;
        if (db_res_ntuples(res) < 1) {
                http_error(req, 404, "not_found", not_found_msg, NULL);
                goto out;
        }
        r = db_res_nfields(res) == SERIES_N_COLS
                    ? series_json_format(&sb, kind, id, db_res_ntuples(res), series_value, res)
                    : -EBADMSG;
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "metrics answer failed", "stmt",
                                db_stmt_get(stmt)->name, "req_id", req->corr_id, "route",
                                req->path, NULL);
                http_error(req, 500, NULL, "internal error", NULL);
                goto out;
        }
        http_reply(req, 200, "application/json", sb.buf, sb.len, NULL);
out:
        strbuf_clear(&sb);
        db_res_free(res);
}

bool api_valid_gpu_vendor(const char *s, size_t len)
{
        static const char *const v[] = { "none", "nvidia", "amd", "mixed" };

        for (size_t i = 0; i < ARRAY_SIZE(v); i++)
                if (strlen(v[i]) == len && memcmp(v[i], s, len) == 0)
                        return true;
        return false;
}

bool api_valid_gpu_device(const char *s, size_t len)
{
        if (len == 0 || len > 128)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == ':' || c == '.'))
                        return false;
        }
        return true;
}
