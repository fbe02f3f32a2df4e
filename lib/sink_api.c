/*
 * lib/sink_api.c: POST /v1/samples over libcurl (see sink_api.h).  The same house limits as
 * lib/httpc.c (CURLOPT_PROTOCOLS_STR "http,https", no redirects, CURLOPT_NOSIGNAL, a byte cap
 * on the answer), plus CURLOPT_CAINFO and the Bearer header, which is built in a stack buffer
 * and wiped, like every copy curl made of it (curl_slist).
 */
#include "config.h"
#include "sink_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

#define CONNECT_TIMEOUT_MS 5000L

struct sink_api {
        CURL *curl;
        char *url; /* <base>/v1/samples */
        char *token_file;
        char *ca_file;
        int64_t timeout_ms;
};

struct resp_sink {
        struct strbuf sb;
        bool too_big;
};

int sink_api_new(const struct sink_api_opts *o, struct sink_api **ret)
{
        struct sink_api *s = NULL;
        struct strbuf url;
        size_t n;
        int r = -ENOMEM;

        if (!o || !o->base_url || !*o->base_url || o->timeout_ms <= 0)
                return -EINVAL;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        strbuf_init(&url, 8192);
        n = strlen(o->base_url);
        while (n > 0 && o->base_url[n - 1] == '/')
                n--;
        strbuf_addn(&url, o->base_url, n);
        strbuf_adds(&url, "/v1/samples");
        s = calloc(1, sizeof(*s));
        if (!s || strbuf_failed(&url))
                goto out;
        s->url = strbuf_take(&url);
        s->token_file = strdup(o->token_file ? o->token_file : "");
        s->ca_file = strdup(o->ca_file ? o->ca_file : "");
        s->curl = curl_easy_init();
        if (!s->url || !s->token_file || !s->ca_file || !s->curl)
                goto out;
        s->timeout_ms = o->timeout_ms;
        *ret = s;
        s = NULL;
        r = 0;
out:
        strbuf_clear(&url);
        sink_api_free(s);
        return r;
}

void sink_api_free(struct sink_api *s)
{
        if (!s)
                return;
        if (s->curl)
                curl_easy_cleanup(s->curl);
        free(s->url);
        free(s->token_file);
        free(s->ca_file);
        free(s);
}

void sink_api_resp_clear(struct sink_api_resp *r)
{
        if (!r)
                return;
        free(r->body);
        r->body = NULL;
        r->len = 0;
}

enum sink_api_verdict sink_api_classify(long status)
{
        if (status >= 200 && status <= 299)
                return SINK_API_DELIVERED;
        /* 401/403 say nothing about the samples: a wrong or revoked token is fixed by the
           operator, so the batch waits in the buffer/spool instead of being dropped.  408 and
           429 are "later".  Any other 4xx means this batch itself is refused. */
        if (status >= 400 && status <= 499 && status != 401 && status != 403 && status != 408 &&
            status != 429)
                return SINK_API_REJECTED;
        return SINK_API_RETRY;
}

static bool token_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}

int sink_api_read_token(const char *path, char *buf, size_t size)
{
        struct stat st;
        size_t len = 0;
        ssize_t n = 0;
        int fd, r = 0;

        if (!path || !*path || size < 2)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : -EACCES;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                r = -EACCES;
        else if (st.st_mode & (S_IRWXG | S_IRWXO))
                r = -EPERM; /* like ssh with a private key: a shared secret is no secret */
        while (r == 0 && (n = read(fd, buf + len, size - 1 - len)) > 0) {
                len += (size_t)n;
                if (len == size - 1) {
                        char extra;

                        if (read(fd, &extra, 1) > 0)
                                r = -E2BIG;
                        break;
                }
        }
        if (r == 0 && n < 0)
                r = -EIO;
        (void)close(fd);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                           buf[len - 1] == '\t'))
                len--;
        buf[len] = '\0';
        if (r == 0 && len == 0)
                r = -EINVAL;
        for (size_t i = 0; r == 0 && i < len; i++) {
                if (!token_char(buf[i]))
                        r = -EINVAL; /* never CR/LF or spaces into a header */
        }
        if (r < 0)
                explicit_bzero(buf, size);
        return r;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct resp_sink *rs = userdata;
        size_t n = size * nmemb;

        strbuf_addn(&rs->sb, ptr, n);
        if (strbuf_failed(&rs->sb)) {
                rs->too_big = true;
                return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
        }
        return n;
}

static int map_curl(CURLcode c, const struct resp_sink *rs)
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
                return rs->too_big ? -E2BIG : -EPROTO;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EPROTO;
        }
}

static CURLcode set_options(struct sink_api *s, struct curl_slist *hdrs, const char *body,
                            size_t len, struct resp_sink *rs)
{
        CURL *c = s->curl;
        CURLcode rc = CURLE_OK;
        long connect_ms = s->timeout_ms < CONNECT_TIMEOUT_MS ? (long)s->timeout_ms
                                                             : CONNECT_TIMEOUT_MS;

        curl_easy_reset(c);
        /* clang-format off */
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_URL, s->url);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_POST, 1L);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_USERAGENT,
                                                  "hjo-collectord/" PACKAGE_VERSION);
        if (rc == CURLE_OK && *s->ca_file) rc = curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
        /* clang-format on */
        return rc;
}

int sink_api_post(struct sink_api *s, const char *body, size_t len, struct sink_api_resp *ret)
{
        struct curl_slist *hdrs = NULL, *tmp;
        struct resp_sink rs = { 0 };
        char token[SINK_API_TOKEN_MAX], auth[SINK_API_TOKEN_MAX + 32];
        long status = 0;
        CURLcode rc;
        int r = 0, n;

        auth[0] = '\0';
        strbuf_init(&rs.sb, SINK_API_RESP_MAX);
        if (*s->token_file) {
                r = sink_api_read_token(s->token_file, token, sizeof(token));
                if (r < 0)
                        goto out;
                n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                explicit_bzero(token, sizeof(token));
                if (n < 0 || (size_t)n >= sizeof(auth)) {
                        r = -E2BIG;
                        goto out;
                }
                tmp = curl_slist_append(hdrs, auth);
                if (!tmp) {
                        r = -ENOMEM;
                        goto out;
                }
                hdrs = tmp;
        }
        tmp = curl_slist_append(hdrs, "Content-Type: application/json");
        if (tmp) {
                hdrs = tmp;
                tmp = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
        }
        if (!tmp) {
                r = -ENOMEM;
                goto out;
        }
        hdrs = tmp;
        rc = set_options(s, hdrs, body, len, &rs);
        if (rc == CURLE_OK)
                rc = curl_easy_perform(s->curl);
        r = map_curl(rc, &rs);
        if (r < 0)
                goto out;
        if (curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
                r = -EPROTO;
                goto out;
        }
        ret->len = rs.sb.len;
        ret->body = strbuf_take(&rs.sb);
        if (!ret->body) {
                r = -ENOMEM;
                goto out;
        }
        ret->status = status;
out:
        (void)curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
        for (struct curl_slist *p = hdrs; p; p = p->next)
                explicit_bzero(p->data, strlen(p->data));
        curl_slist_free_all(hdrs);
        explicit_bzero(auth, sizeof(auth));
        strbuf_clear(&rs.sb);
        return r;
}
