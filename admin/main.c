/*
 * admin/main.c: hjo-admin, the operator's command.
 *   hjo-admin [--config FILE] migrate [--sql-dir DIR]   apply sql/ migrations (idempotent)
 *   hjo-admin [--config FILE] check-config              validate the configuration
 *   hjo-admin [--config FILE] dump-config               print it, secrets masked
 *   hjo-admin [--config FILE] seed-demo                 insert the demo jobs and samples
 * Exit status: 0 success, 1 failure, 2 usage or configuration error.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "db_migrate.h"
#include "log.h"

static void usage(FILE *f)
{
        fprintf(f, "usage: hjo-admin [--config FILE] COMMAND\n"
                   "commands:\n"
                   "  migrate [--sql-dir DIR]  apply schema migrations (safe to run twice or "
                   "concurrently)\n"
                   "  check-config             validate the configuration and exit\n"
                   "  dump-config              print the effective configuration (secrets "
                   "masked)\n"
                   "  seed-demo                insert demo jobs and samples (idempotent)\n");
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
        } else {
                fprintf(stderr, "hjo-admin: unknown command '%s'\n", cmd);
                usage(stderr);
                ret = 2;
        }
        cfg_free(cfg);
        return ret;
}
