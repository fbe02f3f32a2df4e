/*
 * lib/httpc.c: libcurl easy interface with the house limits (STYLE 4.14): CURLOPT_TIMEOUT_MS
 * (total) and a connect timeout, a write callback that stops the transfer past the byte cap,
 * CURLOPT_PROTOCOLS_STR "http,https" (libcurl >= 7.85), no redirects, CURLOPT_NOSIGNAL.
 * Header strings are copied by curl_slist_append(); the copies are wiped before they are freed
 * because the Slurm token travels in one of them.
 */
#include "config.h"
#include "httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Connecting to slurmrestd on the cluster network should take well under this. */
#define HTTPC_CONNECT_TIMEOUT_MS 2000L

struct httpc {
        CURL *curl;
};

struct sink {
        struct strbuf sb;
        bool too_big;
};

int httpc_new(struct httpc **ret)
{
        struct httpc *h;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->curl = curl_easy_init();
        if (!h->curl) {
                free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

void httpc_free(struct httpc *h)
{
        if (!h)
                return;
        curl_easy_cleanup(h->curl);
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

static int set_options(CURL *c, const char *url, struct curl_slist *hdrs, int64_t timeout_ms,
                       size_t max_bytes, struct sink *s)
{
        CURLcode rc = CURLE_OK;

        curl_easy_reset(c);
        /* clang-format off */
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_URL, url);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                                                  timeout_ms < HTTPC_CONNECT_TIMEOUT_MS ?
                                                  (long)timeout_ms : HTTPC_CONNECT_TIMEOUT_MS);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                                                  (curl_off_t)max_bytes);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "hjo/" PACKAGE_VERSION);
        /* clang-format on */
        return rc == CURLE_OK ? 0 : map_curl_error(rc, s);
}

int httpc_get(struct httpc *h, const char *url, const char *const *headers, int64_t timeout_ms,
              size_t max_bytes, struct httpc_resp *ret)
{
        struct curl_slist *hdrs = NULL, *tmp;
        struct sink s = { 0 };
        long status = 0;
        char *body = NULL;
        CURLcode rc;
        int r;

        if (!h || !url || timeout_ms <= 0 || max_bytes == 0)
                return -EINVAL;
        strbuf_init(&s.sb, max_bytes);
        for (size_t i = 0; headers && headers[i]; i++) {
                if (strpbrk(headers[i], "\r\n")) {
                        r = -EINVAL;
                        goto out;
                }
                tmp = curl_slist_append(hdrs, headers[i]);
                if (!tmp) {
                        r = -ENOMEM;
                        goto out;
                }
                hdrs = tmp;
        }
        r = set_options(h->curl, url, hdrs, timeout_ms, max_bytes, &s);
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
        /* the handle keeps pointers to the list: drop them before freeing it */
        (void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
        slist_wipe_free(hdrs);
        strbuf_clear(&s.sb);
        return r;
}
