/*
 * lib/sink_api.c: POST /v1/samples (see sink_api.h) through hjo's one HTTP client, lib/httpc.c
 * (its limits: HTTP(S) only, no redirects, no signals, a byte cap on the answer, the CA file).
 * What is the sink's own: the URL, the token file's checks and the Bearer header, which is
 * built in a stack buffer and wiped (httpc wipes its copies).
 */
#include "config.h"
#include "sink_api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpc.h"
#include "strbuf.h"

#define CONNECT_TIMEOUT_MS 5000 /* the API may be across a site network: more than slurmrestd */

struct sink_api {
        struct httpc *http;
        char *url; /* <base>/v1/samples */
        char *token_file;
        int64_t timeout_ms;
};

int sink_api_new(const struct sink_api_opts *o, struct sink_api **ret)
{
        struct sink_api *s = NULL;
        struct strbuf url;
        size_t n;
        int r = -ENOMEM;

        if (!o || !o->base_url || !*o->base_url || o->timeout_ms <= 0)
                return -EINVAL;
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
        if (!s->url || !s->token_file)
                goto out;
        {
                const struct httpc_opts ho = {
                        .ca_file = o->ca_file,
                        .user_agent = "hjo-collectord/" PACKAGE_VERSION,
                        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                };

                r = httpc_new_opts(&ho, &s->http);
                if (r < 0)
                        goto out;
        }
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
        httpc_free(s->http);
        free(s->url);
        free(s->token_file);
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

int sink_api_post(struct sink_api *s, const char *body, size_t len, struct sink_api_resp *ret)
{
        char token[SINK_API_TOKEN_MAX], auth[SINK_API_TOKEN_MAX + 32];
        const char *headers[3] = { "Content-Type: application/json", NULL, NULL };
        struct httpc_resp resp = { 0 };
        int r = 0, n;

        auth[0] = '\0';
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
                headers[1] = auth;
        }
        r = httpc_post(s->http, s->url, headers, body, len, s->timeout_ms, SINK_API_RESP_MAX,
                       &resp);
        if (r < 0)
                goto out;
        ret->status = resp.status;
        ret->body = resp.body;
        ret->len = resp.len;
out:
        explicit_bzero(auth, sizeof(auth));
        return r;
}
