/*
 * fcgi/http.h: one FastCGI request as hjo's handlers see it, and the ways to answer it.
 * Every answer goes through http_reply()/http_error(), which add Content-Type,
 * Content-Length and X-Correlation-Id, and count the request for /metrics.
 * A struct http_req belongs to the worker process that accepted the request.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct cfg;
struct db;
struct strbuf;
struct FCGX_Request;

#define HTTP_MAX_BODY (1024 * 1024) /* api-notes: bodies up to 1 MiB */
#define HTTP_CORR_MAX 128

struct http_req {
        struct FCGX_Request *fcgx;
        const struct cfg *cfg;
        struct db *db;      /* the primary: every write, auth, and reads when db_read is NULL */
        struct db *db_read; /* DATABASE_READ_URL's replica when set and up, else NULL */
        const char *method;       /* borrowed from the FastCGI params */
        const char *path;         /* REQUEST_URI up to '?' (copied into path_buf) */
        const char *query;        /* QUERY_STRING ("" when absent) */
        const char *content_type; /* may be NULL */
        const char *changed_by;   /* X-Changed-By, may be NULL */
        const char *source;       /* X-Source, may be NULL */
        const char *remote;       /* REMOTE_ADDR, may be NULL */
        char corr_id[HTTP_CORR_MAX + 1];
        char path_buf[2048];
        char *body; /* malloc'd, NUL-terminated, after http_read_body() */
        size_t body_len;
        int route_idx;   /* index in the route table, -1 when none matched */
        int role;        /* enum auth_role of the caller (fcgi/auth.h), after auth_check() */
        char principal[160];   /* "token:<name>", "mtls:<subject>", "anonymous"; "" = none */
        char scope_user[256];  /* non-empty: the caller may see only this user's jobs */
        int status;      /* status sent, 0 until then */
        bool replied;
        bool deferred;   /* an event kept for the worker's batch: evbatch_flush() answers it */
};

/* Fills req from the FastCGI environment (no body read yet).  -EINVAL when the request lacks
   REQUEST_METHOD or REQUEST_URI, or the path is too long. */
MUST_CHECK int http_req_init(struct http_req *req, struct FCGX_Request *fcgx,
                             const struct cfg *cfg, struct db *db);
void http_req_clear(struct http_req *req);

/*
 * Reads the JSON body: checks Content-Type (415), CONTENT_LENGTH against HTTP_MAX_BODY (413)
 * before reading, then reads it.  On failure the error response has been sent and a negative
 * errno is returned; the handler just returns.
 */
MUST_CHECK int http_read_json_body(struct http_req *req);

/* Sends status + JSON text body (len bytes; NULL/0 for no body, e.g. 204).  extra_headers
   is NULL or preformatted "Name: value\r\n" lines. */
void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
                size_t len, const char *extra_headers);
/*
 * For a body written in pieces (GET /metrics): sends the status line and headers without
 * Content-Length and counts the request; the body follows with http_write().  Once this has
 * run, an error can no longer change the status.  0; -EALREADY when an answer was already
 * started; -EINVAL when the headers do not fit; -EIO when writing failed (client gone).
 */
MUST_CHECK int http_reply_start(struct http_req *req, int status, const char *content_type);
/* Writes body bytes after http_reply_start().  0, or -EIO when the stream failed. */
MUST_CHECK int http_write(struct http_req *req, const char *buf, size_t len);
void http_reply_json(struct http_req *req, int status, const char *json, const char *extra_headers);
/* Sends {"error": code, "message": msg[, "field": field]}; code from the status unless the
   caller names it (400 has two codes: invalid_request and validation_error). */
void http_error(struct http_req *req, int status, const char *code, const char *msg,
                const char *field);
/* Same, with extra "Name: value\r\n" header lines (Allow for 405). */
void http_error_hdr(struct http_req *req, int status, const char *code, const char *msg,
                    const char *field, const char *extra_headers);
/* Maps a negative errno from lib/ (Appendix E of STYLE.md) to an error response.
   db_msg/db_field are hjo's own database error details (may be "" or NULL). */
void http_error_errno(struct http_req *req, int r, const char *db_msg, const char *db_field);

/* Request counters shared by all worker processes (for /metrics).  Call once before fork. */
MUST_CHECK int http_stats_init(size_t n_routes);
/* Appends hjo_http_requests_total in Prometheus text format. */
void http_stats_render(struct strbuf *sb, const char *const *route_names, size_t n_routes);
