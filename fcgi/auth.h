/*
 * fcgi/auth.h: who is calling, and may they (issue 5).
 * Credentials: "Authorization: Bearer hjo_<id>_<secret>" (lib/token.h), or, when the operator
 * trusts client certificates, a client certificate nginx verified (mutual TLS; nginx passes
 * HJO_CLIENT_VERIFY=SUCCESS and the subject in HJO_CLIENT_DN) — worth the ingest role.
 * Roles: ingest < reader; user = reader limited to one user's jobs; admin = everything.
 * Tokens are cached per worker for AUTH_CACHE_TTL_MS, so a revocation takes effect within
 * that time.  One worker process = one thread: not thread-safe.
 */
#pragma once
#include <stdbool.h>

#include "compiler.h"

struct http_req;

#define AUTH_CACHE_TTL_MS 10000

enum auth_role { ROLE_NONE = 0, ROLE_INGEST, ROLE_READER, ROLE_USER, ROLE_ADMIN };

/* What a route needs.  0 is deliberately "unset", treated as admin-only (fail closed). */
enum auth_need {
        NEED_UNSET = 0,
        NEED_PUBLIC,  /* anyone (health) */
        NEED_INGEST,  /* ingest or admin: lifecycle events, samples */
        NEED_READ,    /* reader, user (scoped), admin */
        NEED_METRICS, /* reader or admin; anyone when metrics_public */
        NEED_ADMIN,   /* admin: job CRUD mutations, DELETE */
};

struct auth_settings {
        bool required;          /* false: every request is admin "anonymous" (testing only) */
        bool metrics_public;    /* /metrics without credentials (sites that protect by network) */
        bool trust_client_cert; /* a verified client certificate is an ingest credential */
};

/* Set once per worker before serving. */
void auth_setup(const struct auth_settings *s);

/*
 * Authenticates req and checks `need`.  On success fills req->principal/role/scope_user and
 * returns 0; otherwise answers 401 (no or bad credentials, with WWW-Authenticate) or 403 (valid
 * credentials without the right) or 503 (database down) and returns < 0.
 */
MUST_CHECK int auth_check(struct http_req *req, enum auth_need need);

/* Makes the database session record req's principal in the audit log; call before a
   mutating statement.  Cheap when unchanged. */
MUST_CHECK int auth_bind_principal(struct http_req *req);
