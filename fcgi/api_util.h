/*
 * fcgi/api_util.h: what every /v1 handler needs: body parsing through a jv field table with the
 * error answer, text parameters for prepared statements, the audit headers, and running a
 * statement whose single JSON value is the answer.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "db_stmts.h"
#include "jv.h"
#include "series_json.h"

struct http_req;
struct qparam;
struct qval;

#define PB_MAX 24

/* Text parameters for one statement; pb_* return pointers valid until pb_clear(). */
struct pbuf {
        char num[PB_MAX][40];
        size_t n_num;
        char *owned[PB_MAX];
        size_t n_owned;
        bool failed;
};

void pb_init(struct pbuf *pb);
void pb_clear(struct pbuf *pb);
const char *pb_i64(struct pbuf *pb, bool has, int64_t v);    /* NULL when !has */
const char *pb_double(struct pbuf *pb, bool has, double v);  /* NULL when !has */
const char *pb_time(struct pbuf *pb, bool has, int64_t usec); /* NULL when !has */
/* PostgreSQL array literal {"a","b"}; NULL when a is NULL or (empty and !keep_empty). */
const char *pb_strarr(struct pbuf *pb, const struct jv_strarr *a, bool keep_empty);

/* Reads and parses the JSON body into target; on failure answers 400/413/415 and returns < 0. */
MUST_CHECK int api_parse_body(struct http_req *req, const struct jv_field *fields, void *target);
/*
 * Parses the query string against spec (fcgi/qparam.h) into vals (one per spec row); on failure
 * answers 400 validation_error naming the parameter and returns < 0.
 */
MUST_CHECK int api_parse_query(struct http_req *req, const struct qparam *spec, struct qval *vals);
/* A QP_ENUM / QP_NAME / QP_HOST value as a statement parameter: NULL when absent. */
const char *api_qval_str(const struct qval *v);
/* resolution= of the metrics routes: auto (default, picked by the SQL function from the range),
   raw, 1m, 1h (docs/storage.md).  NULL-terminated. */
extern const char *const api_resolution_names[];
/* X-Changed-By and X-Source must be present and non-blank; otherwise answers 400. */
MUST_CHECK bool api_audit_headers_ok(struct http_req *req);
/* A path {id} that is not a valid job id names no job: answers 404 and returns false. */
MUST_CHECK bool api_job_id_ok(struct http_req *req, const char *id);
/* The audit "changed_by": X-Changed-By when given, else "<route> <remote address>". */
const char *api_actor(const struct http_req *req, char *buf, size_t size);

/* gpu_vendor: none | nvidia | amd | mixed. */
bool api_valid_gpu_vendor(const char *s, size_t len);
/* GPU identifiers as nvidia-smi / rocm-smi print them ("GPU-8f2c…", "0", "card1"): 1-128 chars
   of [A-Za-z0-9_.:-]. */
bool api_valid_gpu_device(const char *s, size_t len);

/*
 * Runs stmt; answers `status` with the JSON text in row 0, column 0 (404 when that is NULL or
 * there is no row), or the mapped error.
 */
void api_run_json(struct http_req *req, enum db_stmt stmt, const char *const *params, int status,
                  const char *extra_headers);
/* The same, with the 404 answer's message (api_run_json's is "job not found"). */
void api_run_json_or_404(struct http_req *req, enum db_stmt stmt, const char *const *params,
                         int status, const char *extra_headers, const char *not_found_msg);
/*
 * The metrics of a job or a node: runs stmt (STMT_SAMPLES_ROWS or STMT_NODE_SAMPLES_ROWS) and
 * answers 200 with the document fcgi/series_json.c writes from its rows for `id`, 404 with
 * not_found_msg when there is no row (unknown job or node), or the mapped error.
 */
void api_run_series(struct http_req *req, enum db_stmt stmt, const char *const *params,
                    enum series_kind kind, const char *id, const char *not_found_msg);
