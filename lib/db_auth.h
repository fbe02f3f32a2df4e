/*
 * lib/db_auth.h: API tokens in the database (sql/0020_auth.sql) and the per-connection
 * principal that the audit log records.  SQL text lives in lib/db_auth.c.
 * Callers own the struct db; not thread-safe beyond that.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler.h"
#include "token.h"

struct db;

struct db_token {
        char name[65];
        char role[8];
        char user[256]; /* "" unless role is "user" */
        char secret_sha256[TOKEN_HASH_HEX + 1];
        bool is_expired, is_revoked;
};

/* 0, -ENOENT (no such id), or a db_exec error. */
MUST_CHECK int db_token_lookup(struct db *db, const char *id, struct db_token *ret);
/* Records use (last_used_at); errors are ignorable by the caller. */
MUST_CHECK int db_token_touch(struct db *db, const char *id);
/* 0, -EEXIST (name taken), -EINVAL (bad name/role/user), or a db_exec error.  expires_usec < 0:
   never expires. */
MUST_CHECK int db_token_create(struct db *db, const char *id, const char *name, const char *role,
                               const char *user, const char *secret_sha256, int64_t expires_usec,
                               const char *by);
/* 0 or -ENOENT (no active token of that name). */
MUST_CHECK int db_token_revoke(struct db *db, const char *name, const char *by);
/* Prints one line per token (no secrets: they are not stored). */
MUST_CHECK int db_token_list(struct db *db, FILE *out);
/* 0 when job `id` exists and belongs to `user`, -ENOENT otherwise (a user-scoped token sees
   another user's job exactly as a missing one), or a db_exec error. */
MUST_CHECK int db_job_owned_by(struct db *db, const char *id, const char *user);
/* Sets hjo.principal for this session (what the audit log records as principal). */
MUST_CHECK int db_set_principal(struct db *db, const char *principal);
