/*
 * lib/httpc.c: libcurl easy interface with the house limits (STYLE 4.14): CURLOPT_TIMEOUT_MS
 * (total) and a connect timeout, a write callback that stops the transfer past the byte cap
 * (and CURLOPT_MAXFILESIZE_LARGE for answers that announce their length), CURLOPT_PROTOCOLS_STR
 * "http,https" (libcurl >= 7.85), no redirects, CURLOPT_NOSIGNAL, CURLOPT_CAINFO when set.
 * GET and POST share one transfer function.  Header strings are copied by curl_slist_append();
 * the copies are wiped before they are freed because tokens travel in them (the Slurm JWT, the
 * collector's Bearer token).
 */
#include "config.h"
#include "httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

struct httpc {
        CURL *curl;
        char *ca_file;    /* NULL: the system's store */
        char *user_agent; /* never NULL */
        long connect_timeout_ms;
};

struct sink {
        struct strbuf sb;
        bool too_big;
};

int httpc_new_opts(const struct httpc_opts *o, struct httpc **ret)
{
        struct httpc *h;
        const char *ua = o && o->user_agent ? o->user_agent : "hjo/" PACKAGE_VERSION;

        if (o && o->connect_timeout_ms < 0)
                return -EINVAL;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->connect_timeout_ms = o && o->connect_timeout_ms > 0 ? (long)o->connect_timeout_ms
                                                               : HTTPC_CONNECT_TIMEOUT_MS;
        h->user_agent = strdup(ua);
        if (o && o->ca_file && *o->ca_file)
                h->ca_file = strdup(o->ca_file);
        h->curl = curl_easy_init();
        if (!h->curl || !h->user_agent || (o && o->ca_file && *o->ca_file && !h->ca_file)) {
                httpc_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

int httpc_new(struct httpc **ret)
{
        return httpc_new_opts(NULL, ret);
}

void httpc_free(struct httpc *h)
{
        if (!h)
                return;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        free(h->ca_file);
        free(h->user_agent);
        free(h);
}

void httpc_resp_clear(struct httpc_resp *r)
{
        if (!r)
                return;
        free(r->body);
        r->body = NULL;
        r->len = 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct sink *s = userdata;
        size_t n = size * nmemb;

        strbuf_addn(&s->sb, ptr, n);
        if (strbuf_failed(&s->sb)) {
                s->too_big = true;
                return 0; /* anything but n aborts the transfer with CURLE_WRITE_ERROR */
        }
        return n;
}

static void slist_wipe_free(struct curl_slist *l)
{
        for (struct curl_slist *p = l; p; p = p->next)
                explicit_bzero(p->data, strlen(p->data));
        curl_slist_free_all(l);
}

static int map_curl_error(CURLcode c, const struct sink *s)
{
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
                return -ENOTCONN;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                return s->too_big || c == CURLE_FILESIZE_EXCEEDED ? -E2BIG : -EPROTO;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EPROTO;
        }
}

struct xfer {
        const char *url;
        struct curl_slist *hdrs;
        const char *body; /* NULL: GET */
        size_t len;
        int64_t timeout_ms;
        size_t max_bytes;
};

static int set_options(struct httpc *h, const struct xfer *x, struct sink *s)
{
        CURL *c = h->curl;
        CURLcode rc = CURLE_OK;
        long connect_ms = x->timeout_ms < h->connect_timeout_ms ? (long)x->timeout_ms
                                                                : h->connect_timeout_ms;

        curl_easy_reset(c);
        /* clang-format off */
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_URL, x->url);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)x->timeout_ms);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                                                  (curl_off_t)x->max_bytes);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
        if (rc == CURLE_OK && h->ca_file) rc = curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
        if (rc == CURLE_OK && x->body) rc = curl_easy_setopt(c, CURLOPT_POST, 1L);
        if (rc == CURLE_OK && x->body) rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body);
        if (rc == CURLE_OK && x->body) rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                                             (curl_off_t)x->len);
        /* clang-format on */
        return rc == CURLE_OK ? 0 : map_curl_error(rc, s);
}

/* Copies headers[] (checked for CR/LF) into a curl list; with a body, "Expect:" is added so
   curl does not wait for a 100-continue. */
static int build_headers(const char *const *headers, bool post, struct curl_slist **ret)
{
        struct curl_slist *hdrs = NULL, *tmp;

        for (size_t i = 0; headers && headers[i]; i++) {
                if (strpbrk(headers[i], "\r\n")) {
                        slist_wipe_free(hdrs);
                        return -EINVAL;
                }
                tmp = curl_slist_append(hdrs, headers[i]);
                if (!tmp) {
                        slist_wipe_free(hdrs);
                        return -ENOMEM;
                }
                hdrs = tmp;
        }
        if (post) {
                tmp = curl_slist_append(hdrs, "Expect:");
                if (!tmp) {
                        slist_wipe_free(hdrs);
                        return -ENOMEM;
                }
                hdrs = tmp;
        }
        *ret = hdrs;
        return 0;
}

static int transfer(struct httpc *h, struct xfer *x, const char *const *headers,
                    struct httpc_resp *ret)
{
        struct sink s = { 0 };
        long status = 0;
        char *body = NULL;
        CURLcode rc;
        int r;

        if (!h || !x->url || !ret || x->timeout_ms <= 0 || x->max_bytes == 0 ||
            x->timeout_ms > (int64_t)LONG_MAX)
                return -EINVAL;
        strbuf_init(&s.sb, x->max_bytes);
        r = build_headers(headers, x->body != NULL, &x->hdrs);
        if (r < 0)
                goto out;
        r = set_options(h, x, &s);
        if (r < 0)
                goto out;
        rc = curl_easy_perform(h->curl);
        r = map_curl_error(rc, &s);
        if (r < 0)
                goto out;
        if (curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
                r = -EPROTO;
                goto out;
        }
        ret->len = s.sb.len;
        body = strbuf_take(&s.sb);
        if (!body) {
                r = -ENOMEM;
                goto out;
        }
        ret->body = body;
        ret->status = status;
        r = 0;
out:
        /* the handle keeps pointers to the list and the body: drop them before freeing */
        if (h) {
                (void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
                (void)curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
        }
        slist_wipe_free(x->hdrs);
        x->hdrs = NULL;
        strbuf_clear(&s.sb);
        return r;
}

int httpc_get(struct httpc *h, const char *url, const char *const *headers, int64_t timeout_ms,
              size_t max_bytes, struct httpc_resp *ret)
{
        struct xfer x = { .url = url, .timeout_ms = timeout_ms, .max_bytes = max_bytes };

        return transfer(h, &x, headers, ret);
}

int httpc_post(struct httpc *h, const char *url, const char *const *headers, const char *body,
               size_t len, int64_t timeout_ms, size_t max_bytes, struct httpc_resp *ret)
{
        struct xfer x = { .url = url, .body = body, .len = len, .timeout_ms = timeout_ms,
                          .max_bytes = max_bytes };

        if (!body)
                return -EINVAL;
        return transfer(h, &x, headers, ret);
}
