/*
 * fcgi/http.c: request parsing and response writing on top of libfcgi's FCGX_* API, the
 * errno→HTTP mapping (the one place, STYLE Appendix E) and the request counters.
 * Note: libfcgi's FCGX_FPrintF lacks %zu, so everything is formatted with snprintf first.
 */
#include "config.h"
#include "http.h"

#include <errno.h>
#include <fcgiapp.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "num.h"
#include "strbuf.h"

static const int stat_codes[] = { 200, 201, 204, 400, 401, 403, 404, 405,
                                  409, 413, 415, 500, 502, 503, 504 };
static const char *const stat_methods[] = { "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD",
                                            "OTHER" };
#define N_CODES   ARRAY_SIZE(stat_codes)
#define N_METHODS ARRAY_SIZE(stat_methods)

static _Atomic uint64_t *stats; /* [(n_routes + 1)][N_METHODS][N_CODES], shared mapping */
static size_t stats_routes;

static const char *reason(int status)
{
        switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 204: return "No Content";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 409: return "Conflict";
        case 413: return "Payload Too Large";
        case 415: return "Unsupported Media Type";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "Unknown";
        }
}

static const char *default_code(int status)
{
        switch (status) {
        case 400: return "invalid_request";
        case 404: return "not_found";
        case 405: return "method_not_allowed";
        case 409: return "conflict";
        case 413: return "payload_too_large";
        case 415: return "unsupported_media_type";
        case 503: return "unavailable";
        case 504: return "unavailable";
        default: return "internal_error";
        }
}

static bool corr_valid(const char *s)
{
        size_t n = 0;

        for (; s[n]; n++) {
                char c = s[n];

                if (n >= HTTP_CORR_MAX)
                        return false;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == ':' || c == '-'))
                        return false;
        }
        return n > 0;
}

static void corr_generate(char *buf, size_t size)
{
        unsigned char rnd[16];
        static const char hex[] = "0123456789abcdef";
        size_t i;

        if (getentropy(rnd, sizeof(rnd)) < 0)
                memset(rnd, 0, sizeof(rnd));
        for (i = 0; i < sizeof(rnd) && 2 * i + 2 < size; i++) {
                buf[2 * i] = hex[rnd[i] >> 4];
                buf[2 * i + 1] = hex[rnd[i] & 15];
        }
        buf[2 * i] = '\0';
}

int http_req_init(struct http_req *req, FCGX_Request *fcgx, const struct cfg *cfg, struct db *db)
{
        const char *uri, *q, *corr;
        size_t n;

        memset(req, 0, sizeof(*req));
        req->fcgx = fcgx;
        req->cfg = cfg;
        req->db = db;
        req->route_idx = -1;
        req->method = FCGX_GetParam("REQUEST_METHOD", fcgx->envp);
        uri = FCGX_GetParam("REQUEST_URI", fcgx->envp);
        req->query = FCGX_GetParam("QUERY_STRING", fcgx->envp);
        if (!req->query)
                req->query = "";
        req->content_type = FCGX_GetParam("CONTENT_TYPE", fcgx->envp);
        req->changed_by = FCGX_GetParam("HTTP_X_CHANGED_BY", fcgx->envp);
        req->source = FCGX_GetParam("HTTP_X_SOURCE", fcgx->envp);
        req->remote = FCGX_GetParam("REMOTE_ADDR", fcgx->envp);
        corr = FCGX_GetParam("HTTP_X_CORRELATION_ID", fcgx->envp);
        if (corr && corr_valid(corr))
                memcpy(req->corr_id, corr, strlen(corr) + 1);
        else
                corr_generate(req->corr_id, sizeof(req->corr_id));
        if (!req->method || !uri)
                return -EINVAL;
        q = strchr(uri, '?');
        n = q ? (size_t)(q - uri) : strlen(uri);
        if (n >= sizeof(req->path_buf))
                return -EINVAL;
        memcpy(req->path_buf, uri, n);
        req->path_buf[n] = '\0';
        req->path = req->path_buf;
        return 0;
}

void http_req_clear(struct http_req *req)
{
        free(req->body);
        req->body = NULL;
}

static bool is_json_type(const char *ct)
{
        static const char want[] = "application/json";
        size_t n = sizeof(want) - 1;

        if (!ct || strncasecmp(ct, want, n) != 0)
                return false;
        /* a parameter such as "; charset=utf-8" may follow */
        return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

int http_read_json_body(struct http_req *req)
{
        const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->fcgx->envp);
        uint64_t len = 0;
        int got;

        if (cl && *cl && num_parse_u64(cl, strlen(cl), UINT64_MAX, &len) < 0) {
                http_error(req, 400, "invalid_request", "invalid Content-Length", NULL);
                return -EINVAL;
        }
        if (len > HTTP_MAX_BODY) {
                http_error(req, 413, NULL, "request body exceeds 1 MiB", NULL);
                return -E2BIG;
        }
        if (!is_json_type(req->content_type)) {
                http_error(req, 415, NULL, "Content-Type must be application/json", NULL);
                return -EINVAL;
        }
        req->body = malloc(len + 1);
        if (!req->body) {
                http_error(req, 500, NULL, "out of memory", NULL);
                return -ENOMEM;
        }
        got = len ? FCGX_GetStr(req->body, (int)len, req->fcgx->in) : 0;
        if (got < 0 || (uint64_t)got != len) {
                http_error(req, 400, "invalid_request", "request body shorter than Content-Length",
                           NULL);
                return -EINVAL;
        }
        req->body[len] = '\0';
        req->body_len = len;
        return 0;
}

static void stats_count(const struct http_req *req, int status)
{
        size_t m, c, route;

        if (!stats)
                return;
        for (m = 0; m < N_METHODS - 1; m++)
                if (req->method && strcmp(req->method, stat_methods[m]) == 0)
                        break;
        for (c = 0; c < N_CODES; c++)
                if (stat_codes[c] == status)
                        break;
        if (c == N_CODES)
                return;
        route = req->route_idx < 0 ? stats_routes : (size_t)req->route_idx;
        atomic_fetch_add_explicit(&stats[(route * N_METHODS + m) * N_CODES + c], 1,
                                  memory_order_relaxed);
}

void http_reply(struct http_req *req, int status, const char *content_type, const char *body,
                size_t len, const char *extra_headers)
{
        char head[1024];
        int n;

        if (req->replied)
                return;
        req->replied = true;
        req->status = status;
        if (status == 204 || !body)
                n = snprintf(head, sizeof(head),
                             "Status: %d %s\r\nX-Correlation-Id: %s\r\n%s\r\n", status,
                             reason(status), req->corr_id, extra_headers ? extra_headers : "");
        else
                n = snprintf(head, sizeof(head),
                             "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %lu\r\n"
                             "X-Correlation-Id: %s\r\n%s\r\n",
                             status, reason(status), content_type, (unsigned long)len,
                             req->corr_id, extra_headers ? extra_headers : "");
        if (n < 0 || (size_t)n >= sizeof(head)) {
                n = snprintf(head, sizeof(head), "Status: 500 Internal Server Error\r\n\r\n");
                body = NULL;
        }
        (void)FCGX_PutStr(head, n, req->fcgx->out);
        if (body && status != 204 && len > 0)
                (void)FCGX_PutStr(body, (int)len, req->fcgx->out);
        stats_count(req, status);
}

int http_reply_start(struct http_req *req, int status, const char *content_type)
{
        char head[512];
        int n;

        if (req->replied)
                return -EALREADY;
        req->replied = true;
        req->status = status;
        /* No Content-Length: nginx reads the body until the FastCGI request ends and sends it to
           HTTP/1.1 clients chunked, so a page cut short is visibly incomplete. */
        n = snprintf(head, sizeof(head),
                     "Status: %d %s\r\nContent-Type: %s\r\nX-Correlation-Id: %s\r\n\r\n", status,
                     reason(status), content_type, req->corr_id);
        if (n < 0 || (size_t)n >= sizeof(head))
                return -EINVAL;
        stats_count(req, status);
        return FCGX_PutStr(head, n, req->fcgx->out) == n ? 0 : -EIO;
}

int http_write(struct http_req *req, const char *buf, size_t len)
{
        while (len > 0) {
                int chunk = len > INT_MAX ? INT_MAX : (int)len;

                if (FCGX_PutStr(buf, chunk, req->fcgx->out) != chunk)
                        return -EIO;
                buf += chunk;
                len -= (size_t)chunk;
        }
        return 0;
}

void http_reply_json(struct http_req *req, int status, const char *json, const char *extra_headers)
{
        http_reply(req, status, "application/json", json, json ? strlen(json) : 0, extra_headers);
}

void http_error(struct http_req *req, int status, const char *code, const char *msg,
                const char *field)
{
        http_error_hdr(req, status, code, msg, field, NULL);
}

void http_error_hdr(struct http_req *req, int status, const char *code, const char *msg,
                    const char *field, const char *extra_headers)
{
        json_object *o = json_object_new_object();
        const char *s;

        if (!o) {
                http_reply_json(req, 500, "{\"error\":\"internal_error\",\"message\":\"oom\"}",
                                NULL);
                return;
        }
        json_object_object_add(o, "error", json_object_new_string(code ? code : default_code(status)));
        json_object_object_add(o, "message", json_object_new_string(msg ? msg : reason(status)));
        if (field && *field)
                json_object_object_add(o, "field", json_object_new_string(field));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        http_reply_json(req, status, s, extra_headers);
        json_object_put(o);
}

void http_error_errno(struct http_req *req, int r, const char *db_msg, const char *db_field)
{
        bool has_msg = db_msg && *db_msg;

        switch (r) {
        case -EINVAL:
        case -ERANGE:
        case -EBADMSG:
                http_error(req, 400, "validation_error", has_msg ? db_msg : "invalid value",
                           db_field);
                break;
        case -ENOENT:
                http_error(req, 404, NULL, has_msg ? db_msg : "not found", NULL);
                break;
        case -EEXIST:
                http_error(req, 409, NULL, has_msg ? db_msg : "conflict", NULL);
                break;
        case -E2BIG:
                http_error(req, 413, NULL, "payload too large", NULL);
                break;
        case -ETIMEDOUT:
                http_error(req, 503, "unavailable", "the database did not answer in time", NULL);
                break;
        case -ENOTCONN:
                http_error(req, 503, "unavailable", "the database is unavailable", NULL);
                break;
        default:
                http_error(req, 500, "internal_error", "internal error", NULL);
                break;
        }
}

int http_stats_init(size_t n_routes)
{
        size_t size = (n_routes + 1) * N_METHODS * N_CODES * sizeof(*stats);
        void *p;

        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -errno;
        stats = p;
        stats_routes = n_routes;
        return 0;
}

void http_stats_render(struct strbuf *sb, const char *const *route_names, size_t n_routes)
{
        strbuf_adds(sb, "# HELP hjo_http_requests_total HTTP requests answered by hjo-api, by "
                        "route, method and status code.\n"
                        "# TYPE hjo_http_requests_total counter\n");
        if (!stats)
                return;
        for (size_t r = 0; r <= n_routes && r <= stats_routes; r++) {
                for (size_t m = 0; m < N_METHODS; m++) {
                        for (size_t c = 0; c < N_CODES; c++) {
                                uint64_t v = atomic_load_explicit(
                                        &stats[(r * N_METHODS + m) * N_CODES + c],
                                        memory_order_relaxed);

                                if (v == 0)
                                        continue;
                                strbuf_adds(sb, "hjo_http_requests_total{route=\"");
                                strbuf_add_escaped(sb, r < n_routes ? route_names[r] : "unmatched",
                                                   ESC_PROM_LABEL);
                                strbuf_addf(sb, "\",method=\"%s\",code=\"%d\"} %llu\n",
                                            stat_methods[m], stat_codes[c],
                                            (unsigned long long)v);
                        }
                }
        }
}
