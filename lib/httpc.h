/*
 * lib/httpc.h: a small HTTP GET client over libcurl (STYLE 4.14), for slurmrestd.
 * Every transfer has a total deadline, a byte cap on the body, HTTP and HTTPS only, no
 * redirects and no signals (CURLOPT_NOSIGNAL).  It does not log (header values may hold
 * tokens).  The libcurl type stays inside httpc.c.
 * A struct httpc belongs to one thread at a time; different handles may run in parallel.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct httpc; /* opaque: one reusable curl easy handle (keeps its connection alive) */

/* A response.  Callers read every field; clear with httpc_resp_clear(). */
struct httpc_resp {
        long status;  /* HTTP status code */
        char *body;   /* malloc'd, NUL-terminated (the NUL is not counted in len); never NULL
                         after success */
        size_t len;
};

/*
 * 0, -ENOMEM (libcurl could not be initialised).  Caller frees with httpc_free().
 * The first call initialises libcurl globally (curl_global_init is thread-safe since 7.84).
 */
MUST_CHECK int httpc_new(struct httpc **ret);
void httpc_free(struct httpc *h); /* NULL-safe */

/*
 * GET `url` with the extra request `headers` ("Name: value" strings, NULL-terminated array,
 * may be NULL).  Any HTTP status is a success here: the caller judges ret->status.
 * Errors: -EINVAL (malformed URL, a scheme other than http/https, a header with CR or LF),
 * -ETIMEDOUT (timeout_ms passed), -ENOTCONN (cannot resolve or connect), -E2BIG (the body is
 * longer than max_bytes), -EPROTO (any other transfer or protocol failure), -ENOMEM.
 * *ret is written only on success.
 */
MUST_CHECK int httpc_get(struct httpc *h, const char *url, const char *const *headers,
                         int64_t timeout_ms, size_t max_bytes, struct httpc_resp *ret);
void httpc_resp_clear(struct httpc_resp *r); /* NULL-safe; frees body */
