/*
 * lib/db_migrate.c: applies sql/NNNN_*.sql in order.  The files are trusted (they ship with
 * hjo), so each is sent as one simple-query string; nothing from clients is ever involved.
 */
#include "config.h"
#include "db_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "num.h"
#include "strbuf.h"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_BYTES (4 * 1024 * 1024)
/* pg_advisory_lock key: "hjo" + "migr" as a 64-bit number */
#define MIGRATE_LOCK_KEY "6872111109105103"

static const char SQL_CREATE_TABLE[] =
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_LOCK[] = "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")";
static const char SQL_APPLIED[] = "SELECT checksum FROM schema_migrations WHERE version = $1";
static const char SQL_RECORD[] =
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)";

struct mfile {
        int version;
        char name[128];
};

static int cmp_mfile(const void *a, const void *b)
{
        const struct mfile *x = a, *y = b;

        return (x->version > y->version) - (x->version < y->version);
}

/* "0001_init.sql": four digits, '_', [a-z0-9_]+, ".sql". */
static bool parse_name(const char *name, int *ret_version)
{
        size_t len = strlen(name);
        uint64_t v;

        if (len < 10 || len >= sizeof(((struct mfile *)0)->name))
                return false;
        if (name[4] != '_' || strcmp(name + len - 4, ".sql") != 0)
                return false;
        for (size_t i = 5; i < len - 4; i++) {
                char c = name[i];

                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                        return false;
        }
        if (num_parse_u64(name, 4, 9999, &v) < 0 || v == 0)
                return false;
        *ret_version = (int)v;
        return true;
}

static int list_files(const char *dir, struct mfile **ret, size_t *ret_n)
{
        DIR *d = NULL;
        struct dirent *de;
        struct mfile *files = NULL;
        size_t n = 0;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return -errno;
        files = calloc(MIGRATE_MAX_FILES, sizeof(*files));
        if (!files) {
                r = -ENOMEM;
                goto out;
        }
        while ((de = readdir(d))) {
                int version;
                size_t len = strlen(de->d_name);

                if (len < 4 || strcmp(de->d_name + len - 4, ".sql") != 0)
                        continue;
                if (!parse_name(de->d_name, &version) || n >= MIGRATE_MAX_FILES) {
                        r = -EINVAL;
                        goto out;
                }
                files[n].version = version;
                memcpy(files[n].name, de->d_name, len + 1);
                n++;
        }
        qsort(files, n, sizeof(*files), cmp_mfile);
        for (size_t i = 1; i < n; i++) {
                if (files[i].version == files[i - 1].version) {
                        r = -EINVAL;
                        goto out;
                }
        }
        *ret = files;
        *ret_n = n;
        files = NULL;
out:
        free(files);
        if (d)
                closedir(d);
        return r;
}

static int read_file(const char *dir, const char *name, struct strbuf *sb)
{
        char path[4096];
        char buf[65536];
        ssize_t k;
        int fd, n, r = 0;

        n = snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                strbuf_addn(sb, buf, (size_t)k);
        if (k < 0)
                r = -errno;
        else if (strbuf_failed(sb))
                r = -E2BIG;
        close(fd);
        return r;
}

/* FNV-1a 64 of the file: detects an applied migration that was edited afterwards. */
static void checksum(const char *s, size_t len, char out[17])
{
        uint64_t h = 14695981039346656037ULL;

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ULL;
        }
        (void)snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static bool ok_result(PGresult *res, ExecStatusType want, struct migrate_report *rep)
{
        bool ok = res && PQresultStatus(res) == want;

        if (!ok && rep && res)
                (void)snprintf(rep->detail, sizeof(rep->detail), "%s",
                               PQresultErrorMessage(res));
        PQclear(res);
        return ok;
}

static int apply_one(PGconn *conn, const char *dir, const struct mfile *f,
                     struct migrate_report *rep)
{
        struct strbuf sb;
        PGresult *res = NULL;
        char vbuf[16], sum[17];
        const char *params[3];
        int r;

        strbuf_init(&sb, MIGRATE_MAX_BYTES);
        r = read_file(dir, f->name, &sb);
        if (r < 0)
                goto out;
        checksum(sb.buf ? sb.buf : "", sb.len, sum);
        (void)snprintf(vbuf, sizeof(vbuf), "%d", f->version);

        params[0] = vbuf;
        res = PQexecParams(conn, SQL_APPLIED, 1, NULL, params, NULL, NULL, 0);
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
                (void)ok_result(res, PGRES_TUPLES_OK, rep);
                r = -EIO;
                goto out;
        }
        if (PQntuples(res) == 1) {
                bool same = strcmp(PQgetvalue(res, 0, 0), sum) == 0;

                PQclear(res);
                if (!same) {
                        (void)snprintf(rep->detail, sizeof(rep->detail),
                                       "%s was changed after it was applied", f->name);
                        r = -EINVAL;
                        goto out;
                }
                rep->n_present++;
                r = 0;
                goto out;
        }
        PQclear(res);

        if (!ok_result(PQexec(conn, "BEGIN"), PGRES_COMMAND_OK, rep) ||
            !ok_result(PQexec(conn, sb.buf ? sb.buf : ""), PGRES_COMMAND_OK, rep)) {
                r = -EIO;
                goto rollback;
        }
        params[1] = f->name;
        params[2] = sum;
        if (!ok_result(PQexecParams(conn, SQL_RECORD, 3, NULL, params, NULL, NULL, 0),
                       PGRES_COMMAND_OK, rep) ||
            !ok_result(PQexec(conn, "COMMIT"), PGRES_COMMAND_OK, rep)) {
                r = -EIO;
                goto rollback;
        }
        rep->n_applied++;
        r = 0;
        goto out;
rollback:
        PQclear(PQexec(conn, "ROLLBACK"));
out:
        if (r < 0 && rep->failed[0] == '\0')
                (void)snprintf(rep->failed, sizeof(rep->failed), "%s", f->name);
        strbuf_clear(&sb);
        return r;
}

int db_migrate(const char *dsn, const char *sql_dir, struct migrate_report *report)
{
        const char *keys[] = { "dbname", "application_name", "options", NULL };
        const char *vals[] = { dsn, "hjo-admin-migrate", "-c client_min_messages=warning", NULL };
        PGconn *conn = NULL;
        struct mfile *files = NULL;
        size_t n = 0;
        bool locked = false;
        int r;

        memset(report, 0, sizeof(*report));
        r = list_files(sql_dir, &files, &n);
        if (r < 0) {
                (void)snprintf(report->detail, sizeof(report->detail),
                               "cannot list migrations in %s", sql_dir);
                goto out;
        }
        conn = PQconnectdbParams(keys, vals, /* expand_dbname= */ 1);
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
                if (conn)
                        (void)snprintf(report->detail, sizeof(report->detail), "%s",
                                       PQerrorMessage(conn));
                r = -ENOTCONN;
                goto out;
        }
        if (!ok_result(PQexec(conn, SQL_LOCK), PGRES_TUPLES_OK, report)) {
                r = -EIO;
                goto out;
        }
        locked = true;
        if (!ok_result(PQexec(conn, SQL_CREATE_TABLE), PGRES_COMMAND_OK, report)) {
                r = -EIO;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                r = apply_one(conn, sql_dir, &files[i], report);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        if (locked)
                PQclear(PQexec(conn, SQL_UNLOCK));
        if (conn)
                PQfinish(conn);
        free(files);
        return r;
}
