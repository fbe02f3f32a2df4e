/*
 * lib/db_auth.c: the SQL of API tokens and the audit principal.  These run rarely (a token is
 * looked up once per worker and cached; the principal is set when it changes), so they are
 * unnamed statements.
 */
#include "config.h"
#include "db_auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "rfc3339.h"

static const char SQL_TOKEN_LOOKUP[] =
        "SELECT name, role, coalesce(user_name, ''), secret_sha256,"
        " coalesce(expires_at <= now(), false), revoked_at IS NOT NULL"
        " FROM api_tokens WHERE id = $1";
static const char SQL_TOKEN_TOUCH[] = "UPDATE api_tokens SET last_used_at = now() WHERE id = $1";
static const char SQL_TOKEN_CREATE[] =
        "SELECT hjo_token_create($1, $2, $3, $4, $5, $6::timestamptz, $7)";
static const char SQL_TOKEN_REVOKE[] = "SELECT hjo_token_revoke($1, $2)";
static const char SQL_TOKEN_LIST[] =
        "SELECT name, role, coalesce(user_name, '-'), id, hjo_ts(created_at), created_by,"
        " coalesce(hjo_ts(expires_at), 'never'),"
        " CASE WHEN revoked_at IS NOT NULL THEN 'revoked ' || hjo_ts(revoked_at)"
        "      WHEN expires_at <= now() THEN 'expired' ELSE 'active' END,"
        " coalesce(hjo_ts(last_used_at), 'never')"
        " FROM api_tokens ORDER BY name";
static const char SQL_JOB_OWNED[] = "SELECT 1 FROM jobs WHERE id = $1 AND user_name = $2";
static const char SQL_SET_PRINCIPAL[] = "SELECT set_config('hjo.principal', $1, false)";

static void copy(char *dst, size_t size, const char *src)
{
        (void)snprintf(dst, size, "%s", src);
}

int db_token_lookup(struct db *db, const char *id, struct db_token *ret)
{
        struct db_res *res = NULL;
        const char *params[1] = { id };
        int r;

        r = db_exec_text(db, SQL_TOKEN_LOOKUP, 1, params, &res, NULL);
        if (r < 0)
                return r;
        if (db_res_ntuples(res) != 1) {
                r = -ENOENT;
                goto out;
        }
        copy(ret->name, sizeof(ret->name), db_res_value(res, 0, 0));
        copy(ret->role, sizeof(ret->role), db_res_value(res, 0, 1));
        copy(ret->user, sizeof(ret->user), db_res_value(res, 0, 2));
        copy(ret->secret_sha256, sizeof(ret->secret_sha256), db_res_value(res, 0, 3));
        ret->is_expired = strcmp(db_res_value(res, 0, 4), "t") == 0;
        ret->is_revoked = strcmp(db_res_value(res, 0, 5), "t") == 0;
        r = 0;
out:
        db_res_free(res);
        return r;
}

int db_token_touch(struct db *db, const char *id)
{
        const char *params[1] = { id };

        return db_exec_text(db, SQL_TOKEN_TOUCH, 1, params, NULL, NULL);
}

int db_token_create(struct db *db, const char *id, const char *name, const char *role,
                    const char *user, const char *secret_sha256, int64_t expires_usec,
                    const char *by)
{
        char exp[RFC3339_BUFSZ];
        const char *params[7] = { id, name, role, user, secret_sha256, NULL, by };

        if (expires_usec >= 0)
                params[5] = rfc3339_format(expires_usec, exp, sizeof(exp));
        return db_exec_text(db, SQL_TOKEN_CREATE, 7, params, NULL, NULL);
}

int db_token_revoke(struct db *db, const char *name, const char *by)
{
        struct db_res *res = NULL;
        const char *params[2] = { name, by };
        int r;

        r = db_exec_text(db, SQL_TOKEN_REVOKE, 2, params, &res, NULL);
        if (r < 0)
                return r;
        r = db_res_ntuples(res) == 1 && strcmp(db_res_value(res, 0, 0), "t") == 0 ? 0 : -ENOENT;
        db_res_free(res);
        return r;
}

int db_token_list(struct db *db, FILE *out)
{
        struct db_res *res = NULL;
        int r;

        r = db_exec_text(db, SQL_TOKEN_LIST, 0, NULL, &res, NULL);
        if (r < 0)
                return r;
        fprintf(out, "%-24s %-7s %-16s %-16s %-28s %-16s %-28s %-40s %s\n", "NAME", "ROLE", "USER",
                "ID", "CREATED", "BY", "EXPIRES", "STATUS", "LAST USED");
        for (int i = 0; i < db_res_ntuples(res); i++)
                fprintf(out, "%-24s %-7s %-16s %-16s %-28s %-16s %-28s %-40s %s\n",
                        db_res_value(res, i, 0), db_res_value(res, i, 1), db_res_value(res, i, 2),
                        db_res_value(res, i, 3), db_res_value(res, i, 4), db_res_value(res, i, 5),
                        db_res_value(res, i, 6), db_res_value(res, i, 7), db_res_value(res, i, 8));
        db_res_free(res);
        return 0;
}

int db_set_principal(struct db *db, const char *principal)
{
        const char *params[1] = { principal };

        return db_exec_text(db, SQL_SET_PRINCIPAL, 1, params, NULL, NULL);
}

int db_job_owned_by(struct db *db, const char *id, const char *user)
{
        struct db_res *res = NULL;
        const char *params[2] = { id, user };
        int r;

        r = db_exec_text(db, SQL_JOB_OWNED, 2, params, &res, NULL);
        if (r < 0)
                return r;
        r = db_res_ntuples(res) == 1 ? 0 : -ENOENT;
        db_res_free(res);
        return r;
}
