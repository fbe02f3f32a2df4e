/*
 * lib/sink_api.h: hjo-collectord's "api" sink transport: an HTTPS POST of one JSON batch to
 * <base_url>/v1/samples through lib/httpc.c (hjo's one HTTP client), with "Authorization:
 * Bearer <token>" read from a token file (re-read for every request, so a rotated token is
 * picked up without a restart), an optional CA file, a total deadline, HTTP and HTTPS only, no
 * redirects, no signals.
 * The token file must not be readable or writable by group or other (it is refused, as ssh
 * refuses a private key).  The token never leaves this module except in the request header:
 * it is not logged and it is wiped after use.  Does not log.  One thread per handle.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define SINK_API_TOKEN_MAX 512
#define SINK_API_RESP_MAX  (4u * 1024 * 1024)

struct sink_api; /* opaque: one lib/httpc.c handle (keeps its connection alive) */

struct sink_api_opts {
        const char *base_url;   /* http(s)://host[:port][/prefix], no trailing '/' needed */
        const char *token_file; /* "" or NULL: no Authorization header */
        const char *ca_file;    /* "" or NULL: the system's CA store */
        int64_t timeout_ms;     /* total per request; the connect timeout is min(this, 5 s) */
};

/* What to do with a batch after an HTTP answer (see sink_api_classify()). */
enum sink_api_verdict {
        SINK_API_DELIVERED, /* 2xx */
        SINK_API_REJECTED,  /* 4xx other than 408 and 429: this batch will never be taken */
        SINK_API_RETRY,     /* 408, 429, 5xx, anything else: try again later */
};

/* An answer.  Callers read every field; clear with sink_api_resp_clear(). */
struct sink_api_resp {
        long status;
        char *body; /* malloc'd, NUL-terminated (not counted in len) */
        size_t len;
};

/* Copies the options.  0, -EINVAL (no URL), -ENOMEM.  Caller frees with sink_api_free(). */
MUST_CHECK int sink_api_new(const struct sink_api_opts *o, struct sink_api **ret);
void sink_api_free(struct sink_api *s); /* NULL-safe */

/*
 * Checks and reads the token file into buf (size >= SINK_API_TOKEN_MAX): one line of
 * [A-Za-z0-9._~+/=-], trailing whitespace dropped.  0, -EPERM (group/other may access it),
 * -ENOENT, -EACCES, -EINVAL (empty, bad characters), -E2BIG.  buf is wiped on failure.
 */
MUST_CHECK int sink_api_read_token(const char *path, char *buf, size_t size);

/*
 * POSTs body (application/json) to <base_url>/v1/samples.  0 when an HTTP answer arrived,
 * whatever its status (*ret filled: judge it with sink_api_classify()); otherwise -ENOTCONN
 * (cannot resolve or connect), -ETIMEDOUT, -EPROTO (TLS or protocol failure), -E2BIG (answer
 * over SINK_API_RESP_MAX), -EINVAL (bad URL), -ENOMEM, or the token file's errors.
 */
MUST_CHECK int sink_api_post(struct sink_api *s, const char *body, size_t len,
                             struct sink_api_resp *ret);
void sink_api_resp_clear(struct sink_api_resp *r); /* NULL-safe */

enum sink_api_verdict sink_api_classify(long status);
