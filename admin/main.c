/*
 * admin/main.c: hjo-admin, the operator's command.
 *   hjo-admin [--config FILE] migrate [--sql-dir DIR]   apply sql/ migrations (idempotent)
 *   hjo-admin [--config FILE] check-config              validate the configuration
 *   hjo-admin [--config FILE] dump-config               print it, secrets masked
 *   hjo-admin [--config FILE] seed-demo                 insert the demo jobs and samples
 *   hjo-admin [--config FILE] maintain                  partitions ahead, retention (issue 6)
 * Exit status: 0 success, 1 failure, 2 usage or configuration error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "db_auth.h"
#include "db_maint.h"
#include "db_migrate.h"
#include "log.h"
#include "rfc3339.h"
#include "token.h"
#include "valid.h"

static void usage(FILE *f)
{
        fprintf(f, "usage: hjo-admin [--config FILE] COMMAND\n"
                   "commands:\n"
                   "  migrate [--sql-dir DIR]  apply schema migrations (safe to run twice or "
                   "concurrently)\n"
                   "  check-config             validate the configuration and exit\n"
                   "  dump-config              print the effective configuration (secrets "
                   "masked)\n"
                   "  seed-demo                insert demo jobs and samples (idempotent)\n"
                   "  maintain                 create sample partitions ahead, move strays out\n"
                   "                           of the default partitions, drop partitions past\n"
                   "                           their retention (run it daily: docs/storage.md)\n"
                   "  token create --name NAME --role ingest|reader|user|admin [--user USER]\n"
                   "               [--expires RFC3339] [--output FILE]\n"
                   "                           create an API token; it is printed (or written\n"
                   "                           to FILE, mode 0600) once and only its hash kept\n"
                   "  token list               list tokens (names, roles, status; no secrets)\n"
                   "  token revoke NAME        revoke a token (takes effect within 10 s)\n");
}

static int cmd_migrate(const struct cfg *cfg, int argc, char **argv)
{
        static const struct option longopts[] = {
                { "sql-dir", required_argument, NULL, 'd' },
                { NULL, 0, NULL, 0 },
        };
        struct migrate_report rep;
        const char *dir = cfg->sql_dir;
        char nbuf[2][16];
        int opt, r;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "d:", longopts, NULL)) != -1) {
                if (opt != 'd') {
                        usage(stderr);
                        return 2;
                }
                dir = optarg;
        }
        r = db_migrate(cfg->database_url, dir, &rep);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "migration failed", "dir", dir, "file", rep.failed,
                                "detail", rep.detail, NULL);
                return 1;
        }
        (void)snprintf(nbuf[0], sizeof(nbuf[0]), "%d", rep.n_applied);
        (void)snprintf(nbuf[1], sizeof(nbuf[1]), "%d", rep.n_present);
        log_kv(LOG_LVL_NOTICE, "migrations done", "applied", nbuf[0], "already_applied", nbuf[1],
               "dir", dir, NULL);
        return 0;
}

static int cmd_seed(const struct cfg *cfg)
{
        struct db *db = NULL;
        struct db_res *res = NULL;
        int r;

        r = db_open(cfg->database_url, "hjo-admin", 120000, &db);
        if (r == 0)
                r = db_exec(db, STMT_SEED_DEMO, NULL, &res, NULL);
        if (r < 0)
                (void)log_errno(LOG_LVL_ERR, r, "seeding demo data failed", NULL);
        else
                log_kv(LOG_LVL_NOTICE, "demo data seeded", "jobs_created",
                       db_res_value(res, 0, 0), NULL);
        db_res_free(res);
        db_close(db);
        return r < 0 ? 1 : 0;
}

static void maint_log(void *ctx, const char *table, const char *action, const char *part,
                      const char *n)
{
        (void)ctx;
        log_kv(strcmp(action, "default") == 0 ? LOG_LVL_INFO : LOG_LVL_NOTICE, "maintenance",
               "table", table, "action", action, "partition", part, "rows", n, NULL);
}

/* One table per transaction: a table that fails (a lock not had in time) is logged and the
   others are still maintained; the exit status says whether all succeeded. */
static int cmd_maintain(const struct cfg *cfg)
{
        struct db_maint_table t[DB_MAINT_TABLES_MAX];
        struct db *db = NULL;
        struct db_err err = { 0 };
        size_t n_tables;
        int64_t keep, latest_keep, n_metric = 0, n_gpu = 0, n_folded = 0;
        int r, failed = 0;

        /* no statement timeout: moving strays out of a default partition may take long */
        r = db_open(cfg->database_url, "hjo-admin", /* statement_timeout_ms= */ 0, &db);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "cannot connect to the database", NULL);
                return 1;
        }
        r = db_maint_tables(db, t, ARRAY_SIZE(t), &n_tables, &err);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "cannot read the list of partitioned tables",
                                "sqlstate", err.sqlstate, NULL);
                db_close(db);
                return 1;
        }
        for (size_t i = 0; i < n_tables; i++) {
                keep = t[i].retention == DB_MAINT_RAW ? cfg->metrics_retention_days
                       : t[i].retention == DB_MAINT_1M ? cfg->rollup_1m_retention_days
                                                       : cfg->rollup_1h_retention_days;
                r = db_maintain_table(db, t[i].name, cfg->partition_ahead_days, keep, maint_log,
                                      NULL, &err);
                if (r < 0) {
                        (void)log_errno(LOG_LVL_ERR, r, "maintenance of a table failed, skipping",
                                        "table", t[i].name, "sqlstate", err.sqlstate, NULL);
                        failed++;
                }
        }
        /* /metrics shows a finished job for metrics_grace_seconds (at most a day): keep a day */
        latest_keep = cfg->metrics_grace_seconds > 86400 ? cfg->metrics_grace_seconds : 86400;
        r = db_maint_prune_latest(db, latest_keep, &n_metric, &n_gpu, &err);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "pruning the latest-sample tables failed",
                                "sqlstate", err.sqlstate, NULL);
                failed++;
        } else {
                char nm[24], ng[24];

                (void)snprintf(nm, sizeof(nm), "%lld", (long long)n_metric);
                (void)snprintf(ng, sizeof(ng), "%lld", (long long)n_gpu);
                log_kv(LOG_LVL_NOTICE, "maintenance", "action", "pruned-latest",
                       "metric_latest_rows", nm, "gpu_latest_rows", ng, NULL);
        }
        r = db_maint_fold_counts(db, &n_folded, &err);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "folding the job counts failed",
                                "sqlstate", err.sqlstate, NULL);
                failed++;
        } else {
                char nf[24];

                (void)snprintf(nf, sizeof(nf), "%lld", (long long)n_folded);
                log_kv(LOG_LVL_NOTICE, "maintenance", "action", "folded-counts",
                       "job_counts_rows", nf, NULL);
        }
        db_close(db);
        return failed ? 1 : 0;
}

static bool valid_token_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == ':' || c == '@' || c == '-'))
                        return false;
        }
        return true;
}

/* Who runs hjo-admin, for the audit log: the login user of the process. */
static const char *operator_name(char *buf, size_t size)
{
        const char *u = secure_getenv("SUDO_USER");

        if (!u || !*u)
                u = secure_getenv("USER");
        (void)snprintf(buf, size, "hjo-admin:%s", u && *u ? u : "unknown");
        return buf;
}

static int token_create(struct db *db, int argc, char **argv)
{
        static const struct option longopts[] = {
                { "name", required_argument, NULL, 'n' },
                { "role", required_argument, NULL, 'r' },
                { "user", required_argument, NULL, 'u' },
                { "expires", required_argument, NULL, 'e' },
                { "output", required_argument, NULL, 'o' },
                { NULL, 0, NULL, 0 },
        };
        const char *name = NULL, *role = NULL, *user = NULL, *expires = NULL, *output = NULL;
        char tok[TOKEN_LEN + 1], id[TOKEN_ID_LEN + 1], hash[TOKEN_HASH_HEX + 1], by[128];
        const char *secret;
        int64_t exp_usec = -1;
        int opt, r, fd;
        FILE *f;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "n:r:u:e:o:", longopts, NULL)) != -1) {
                switch (opt) {
                case 'n':
                        name = optarg;
                        break;
                case 'r':
                        role = optarg;
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'e':
                        expires = optarg;
                        break;
                case 'o':
                        output = optarg;
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (!name || !valid_token_name(name)) {
                fprintf(stderr, "hjo-admin: --name must be 1-64 chars of [A-Za-z0-9._:@-]\n");
                return 2;
        }
        if (!role || (strcmp(role, "ingest") != 0 && strcmp(role, "reader") != 0 &&
                      strcmp(role, "user") != 0 && strcmp(role, "admin") != 0)) {
                fprintf(stderr, "hjo-admin: --role must be ingest, reader, user or admin\n");
                return 2;
        }
        if ((strcmp(role, "user") == 0) != (user != NULL) ||
            (user && !valid_name(user, strlen(user)))) {
                fprintf(stderr, "hjo-admin: --user USER is required with --role user, and only "
                                "there\n");
                return 2;
        }
        if (expires && rfc3339_parse(expires, strlen(expires), &exp_usec) < 0) {
                fprintf(stderr, "hjo-admin: --expires must be an RFC 3339 time with a zone\n");
                return 2;
        }
        r = token_generate(tok, sizeof(tok));
        if (r == 0)
                r = token_parse(tok, strlen(tok), id, &secret);
        if (r == 0)
                r = token_hash_hex(secret, TOKEN_SECRET_LEN, hash, sizeof(hash));
        if (r == 0)
                r = db_token_create(db, id, name, role, user, hash, exp_usec,
                                    operator_name(by, sizeof(by)));
        if (r == -EEXIST) {
                fprintf(stderr, "hjo-admin: a token named '%s' exists already\n", name);
                explicit_bzero(tok, sizeof(tok));
                return 1;
        }
        if (r < 0) {
                explicit_bzero(tok, sizeof(tok));
                (void)log_errno(LOG_LVL_ERR, r, "token create failed", "name", name, NULL);
                return 1;
        }
        if (output) {
                fd = open(output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                f = fd >= 0 ? fdopen(fd, "w") : NULL;
                if (!f || fprintf(f, "%s\n", tok) < 0 || fclose(f) != 0) {
                        fprintf(stderr, "hjo-admin: cannot write %s (it must not exist yet); "
                                        "the token was created but not saved: revoke '%s'\n",
                                output, name);
                        explicit_bzero(tok, sizeof(tok));
                        return 1;
                }
                fprintf(stderr, "token '%s' (%s) written to %s\n", name, role, output);
        } else {
                printf("%s\n", tok);
                fprintf(stderr, "token '%s' (%s): shown once, store it now\n", name, role);
        }
        explicit_bzero(tok, sizeof(tok));
        return 0;
}

static int cmd_token(const struct cfg *cfg, int argc, char **argv)
{
        struct db *db = NULL;
        char by[128];
        int r, ret = 1;

        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        r = db_open(cfg->database_url, "hjo-admin", 30000, &db);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "cannot connect to the database", NULL);
                return 1;
        }
        if (strcmp(argv[1], "create") == 0) {
                ret = token_create(db, argc - 1, argv + 1);
        } else if (strcmp(argv[1], "list") == 0) {
                r = db_token_list(db, stdout);
                ret = r < 0 ? 1 : 0;
                if (r < 0)
                        (void)log_errno(LOG_LVL_ERR, r, "token list failed", NULL);
        } else if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
                r = db_token_revoke(db, argv[2], operator_name(by, sizeof(by)));
                if (r == -ENOENT)
                        fprintf(stderr, "hjo-admin: no active token named '%s'\n", argv[2]);
                else if (r < 0)
                        (void)log_errno(LOG_LVL_ERR, r, "token revoke failed", NULL);
                else
                        fprintf(stderr, "token '%s' revoked\n", argv[2]);
                ret = r < 0 ? 1 : 0;
        } else {
                usage(stderr);
                ret = 2;
        }
        db_close(db);
        return ret;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct cfg *cfg = NULL;
        const char *config_file = NULL, *cmd;
        char errbuf[512];
        enum log_level lvl = LOG_LVL_INFO;
        int opt, r, ret;

        /* "+": stop at the command so its own options are parsed by it */
        while ((opt = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        config_file = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        cmd = argv[optind];
        r = cfg_load(config_file, &cfg, errbuf, sizeof(errbuf));
        if (r < 0) {
                fprintf(stderr, "hjo-admin: configuration error: %s\n", errbuf);
                return 2;
        }
        if (log_level_parse(cfg->log_level, &lvl) < 0)
                lvl = LOG_LVL_INFO;
        log_setup("hjo-admin", lvl);

        if (strcmp(cmd, "migrate") == 0) {
                ret = cmd_migrate(cfg, argc - optind, argv + optind);
        } else if (strcmp(cmd, "check-config") == 0) {
                printf("configuration ok\n");
                ret = 0;
        } else if (strcmp(cmd, "dump-config") == 0) {
                cfg_dump(cfg, stdout);
                ret = 0;
        } else if (strcmp(cmd, "seed-demo") == 0) {
                ret = cmd_seed(cfg);
        } else if (strcmp(cmd, "maintain") == 0) {
                ret = cmd_maintain(cfg);
        } else if (strcmp(cmd, "token") == 0) {
                ret = cmd_token(cfg, argc - optind, argv + optind);
        } else {
                fprintf(stderr, "hjo-admin: unknown command '%s'\n", cmd);
                usage(stderr);
                ret = 2;
        }
        cfg_free(cfg);
        return ret;
}
