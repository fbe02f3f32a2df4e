/*
 * lib/httpc.h: hjo's one HTTP client, over libcurl (STYLE 4.14): GET for slurmrestd
 * (lib/slurmrest.c via collectord/slurm.c) and POST for hjo-collectord's api sink
 * (lib/sink_api.c).  Every transfer has a total deadline and a connect timeout, a byte cap on
 * the answer, HTTP and HTTPS only, no redirects and no signals (CURLOPT_NOSIGNAL); an optional
 * CA file for a private CA.  It does not log (header values may hold tokens) and wipes every
 * copy of the request headers it made.  It is not the place for a retry policy or for reading
 * credentials: callers judge the status and build their own headers.  The libcurl type stays
 * inside httpc.c.
 * A struct httpc belongs to one thread at a time; different handles may run in parallel.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define HTTPC_CONNECT_TIMEOUT_MS 2000 /* default connect timeout (capped by the total one) */

struct httpc; /* opaque: one reusable curl easy handle (keeps its connection alive) */

/* Per-handle settings; a NULL struct or 0/NULL/"" members mean the defaults. */
struct httpc_opts {
        const char *ca_file;        /* CURLOPT_CAINFO; NULL or "": the system's CA store */
        const char *user_agent;     /* NULL: "hjo/<version>" */
        int64_t connect_timeout_ms; /* 0: HTTPC_CONNECT_TIMEOUT_MS; always <= the total one */
};

/* A response.  Callers read every field; clear with httpc_resp_clear(). */
struct httpc_resp {
        long status;  /* HTTP status code */
        char *body;   /* malloc'd, NUL-terminated (the NUL is not counted in len); never NULL
                         after success */
        size_t len;
};

/*
 * 0, -EINVAL (a negative connect timeout), -ENOMEM (libcurl could not be initialised, or a copy
 * of the options failed).  The options are copied.  Caller frees with httpc_free().
 * The first call initialises libcurl globally (curl_global_init is thread-safe since 7.84).
 */
MUST_CHECK int httpc_new(struct httpc **ret);
MUST_CHECK int httpc_new_opts(const struct httpc_opts *o, struct httpc **ret);
void httpc_free(struct httpc *h); /* NULL-safe */

/*
 * GET `url` with the extra request `headers` ("Name: value" strings, NULL-terminated array,
 * may be NULL).  Any HTTP status is a success here: the caller judges ret->status.
 * Errors: -EINVAL (malformed URL, a scheme other than http/https, a header with CR or LF,
 * timeout_ms <= 0, max_bytes 0), -ETIMEDOUT (timeout_ms passed), -ENOTCONN (cannot resolve or
 * connect, or the connection broke: send/receive failure, empty reply), -E2BIG (the body is
 * longer than max_bytes), -EPROTO (any other transfer, TLS or protocol failure), -ENOMEM.
 * *ret is written only on success.
 */
MUST_CHECK int httpc_get(struct httpc *h, const char *url, const char *const *headers,
                         int64_t timeout_ms, size_t max_bytes, struct httpc_resp *ret);

/*
 * POST `len` bytes of `body` (sent as they are; the caller names the type in `headers`, e.g.
 * "Content-Type: application/json").  No "Expect: 100-continue" round trip.  Same answers and
 * errors as httpc_get().
 */
MUST_CHECK int httpc_post(struct httpc *h, const char *url, const char *const *headers,
                          const char *body, size_t len, int64_t timeout_ms, size_t max_bytes,
                          struct httpc_resp *ret);
void httpc_resp_clear(struct httpc_resp *r); /* NULL-safe; frees body */
