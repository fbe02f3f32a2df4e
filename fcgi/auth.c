/*
 * fcgi/auth.c: bearer tokens with a small per-worker cache, client certificates, roles and the
 * audit principal.  Secrets never reach a log line: only the token's public id and name do.
 */
#include "config.h"
#include "auth.h"

#include <errno.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "db_auth.h"
#include "http.h"
#include "log.h"
#include "token.h"

#define CACHE_SLOTS 64

struct cached {
        char id[TOKEN_ID_LEN + 1];
        struct db_token tok;
        long long fetched_ms;
        bool is_used;
};

static struct auth_settings settings = { .required = true };
static struct cached cache[CACHE_SLOTS];
static char bound_principal[sizeof(((struct http_req *)0)->principal)];
static unsigned bound_generation;
static const struct db *bound_db;

void auth_setup(const struct auth_settings *s)
{
        settings = *s;
}

static long long mono_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum auth_role role_from_name(const char *s)
{
        if (strcmp(s, "ingest") == 0)
                return ROLE_INGEST;
        if (strcmp(s, "reader") == 0)
                return ROLE_READER;
        if (strcmp(s, "user") == 0)
                return ROLE_USER;
        if (strcmp(s, "admin") == 0)
                return ROLE_ADMIN;
        return ROLE_NONE;
}

static bool allowed(enum auth_role role, enum auth_need need)
{
        switch (need) {
        case NEED_PUBLIC:
                return true;
        case NEED_INGEST:
                return role == ROLE_INGEST || role == ROLE_ADMIN;
        case NEED_READ:
                return role == ROLE_READER || role == ROLE_USER || role == ROLE_ADMIN;
        case NEED_METRICS:
                return settings.metrics_public || role == ROLE_READER || role == ROLE_ADMIN;
        case NEED_ADMIN:
        case NEED_UNSET:
        default:
                return role == ROLE_ADMIN;
        }
}

static int unauthorized(struct http_req *req, const char *msg)
{
        http_error_hdr(req, 401, "unauthorized", msg, NULL,
                       "WWW-Authenticate: Bearer realm=\"hjo\"\r\n");
        return -EACCES;
}

/* The cached entry for id, refreshed from the database when older than the TTL. */
static int lookup(struct http_req *req, const char *id, const struct db_token **ret)
{
        long long now = mono_ms();
        struct cached *slot = NULL, *oldest = &cache[0];
        int r;

        for (size_t i = 0; i < CACHE_SLOTS; i++) {
                if (cache[i].is_used && strcmp(cache[i].id, id) == 0) {
                        slot = &cache[i];
                        break;
                }
                if (!cache[i].is_used || cache[i].fetched_ms < oldest->fetched_ms)
                        oldest = &cache[i];
        }
        if (slot && now - slot->fetched_ms < AUTH_CACHE_TTL_MS) {
                *ret = &slot->tok;
                return 0;
        }
        if (!slot)
                slot = oldest;
        slot->is_used = false;
        r = db_token_lookup(req->db, id, &slot->tok);
        if (r < 0)
                return r;
        memcpy(slot->id, id, sizeof(slot->id));
        slot->fetched_ms = now;
        slot->is_used = true;
        if (db_token_touch(req->db, id) < 0)
                log_kv(LOG_LVL_WARNING, "token last_used_at update failed, ignoring", "token_id",
                       id, NULL);
        *ret = &slot->tok;
        return 0;
}

static int from_bearer(struct http_req *req, const char *hdr)
{
        const struct db_token *tok = NULL;
        char id[TOKEN_ID_LEN + 1], hash[TOKEN_HASH_HEX + 1];
        const char *secret;
        int r;

        if (strncasecmp(hdr, "Bearer ", 7) != 0)
                return unauthorized(req, "use Authorization: Bearer <token>");
        hdr += 7;
        if (token_parse(hdr, strlen(hdr), id, &secret) < 0)
                return unauthorized(req, "malformed token");
        r = lookup(req, id, &tok);
        if (r == -ENOENT)
                return unauthorized(req, "invalid token");
        if (r < 0) {
                http_error_errno(req, r, NULL, NULL);
                return r;
        }
        if (token_hash_hex(secret, TOKEN_SECRET_LEN, hash, sizeof(hash)) < 0 ||
            !token_hash_equal(hash, tok->secret_sha256))
                return unauthorized(req, "invalid token");
        if (tok->is_revoked)
                return unauthorized(req, "token revoked");
        if (tok->is_expired)
                return unauthorized(req, "token expired");
        req->role = role_from_name(tok->role);
        (void)snprintf(req->principal, sizeof(req->principal), "token:%s", tok->name);
        (void)snprintf(req->scope_user, sizeof(req->scope_user), "%s",
                       req->role == ROLE_USER ? tok->user : "");
        return 0;
}

int auth_check(struct http_req *req, enum auth_need need)
{
        const char *hdr = FCGX_GetParam("HTTP_AUTHORIZATION", req->fcgx->envp);
        const char *verify = FCGX_GetParam("HJO_CLIENT_VERIFY", req->fcgx->envp);
        const char *dn = FCGX_GetParam("HJO_CLIENT_DN", req->fcgx->envp);
        int r;

        req->role = ROLE_NONE;
        req->principal[0] = '\0';
        req->scope_user[0] = '\0';
        if (need == NEED_PUBLIC)
                return 0;
        if (!settings.required) {
                req->role = ROLE_ADMIN;
                (void)snprintf(req->principal, sizeof(req->principal), "anonymous");
                return 0;
        }
        if (hdr && *hdr) {
                r = from_bearer(req, hdr);
                if (r < 0)
                        return r;
        } else if (settings.trust_client_cert && verify && strcmp(verify, "SUCCESS") == 0 && dn &&
                   *dn) {
                req->role = ROLE_INGEST;
                (void)snprintf(req->principal, sizeof(req->principal), "mtls:%s", dn);
        } else if (need == NEED_METRICS && settings.metrics_public) {
                return 0;
        } else {
                return unauthorized(req, "authentication required");
        }
        if (!allowed(req->role, need)) {
                http_error(req, 403, "forbidden", "this credential may not use this route", NULL);
                return -EACCES;
        }
        return 0;
}

int auth_bind_principal(struct http_req *req)
{
        int r;

        if (!req->db)
                return -ENOTCONN;
        if (bound_db == req->db && bound_generation == db_generation(req->db) &&
            strcmp(bound_principal, req->principal) == 0)
                return 0;
        r = db_set_principal(req->db, req->principal);
        if (r < 0)
                return r;
        memcpy(bound_principal, req->principal, sizeof(bound_principal));
        bound_generation = db_generation(req->db);
        bound_db = req->db;
        return 0;
}
