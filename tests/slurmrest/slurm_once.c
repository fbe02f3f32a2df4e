/*
 * tests/slurmrest/slurm_once.c: runs one slurm_cycle() of collectord/slurm.c against a real
 * slurmrestd and PostgreSQL, prints the report as key=value, and with --metrics the Slurm
 * node part of /metrics (db_slurm_metrics_render) and the rows of the node query with the
 * slurmrestd fallback (db_slurm_sql_metrics_nodes_fallback).  A test driver, not a daemon.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "db_slurm.h"
#include "log.h"
#include "slurm.h"
#include "strbuf.h"

static int print_metrics(struct db *db)
{
        struct db_res *res = NULL;
        struct strbuf sb;
        const char *params[] = { "900" };
        int r;

        strbuf_init(&sb, 16u * 1024 * 1024);
        r = db_slurm_metrics_nodes(db, 900, &res);
        if (r < 0)
                goto out;
        db_slurm_metrics_render(&sb, res);
        if (strbuf_failed(&sb)) {
                r = -E2BIG;
                goto out;
        }
        fputs(sb.buf ? sb.buf : "", stdout);
        db_res_free(res);
        res = NULL;
        r = db_exec_text(db, db_slurm_sql_metrics_nodes_fallback, 1, params, &res, NULL);
        if (r < 0)
                goto out;
        for (int i = 0; i < db_res_ntuples(res); i++)
                printf("fallback node=%s cpu_usage_percent=%s memory_used_bytes=%s job_count=%s\n",
                       db_res_value(res, i, 0), db_res_value(res, i, 1), db_res_value(res, i, 2),
                       db_res_value(res, i, 3));
out:
        db_res_free(res);
        strbuf_clear(&sb);
        return r;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "dsn", required_argument, NULL, 'd' },
                { "base-url", required_argument, NULL, 'b' },
                { "api-version", required_argument, NULL, 'v' },
                { "user", required_argument, NULL, 'u' },
                { "token-file", required_argument, NULL, 't' },
                { "cluster", required_argument, NULL, 'c' },
                { "metrics", no_argument, NULL, 'm' },
                { NULL, 0, NULL, 0 },
        };
        struct slurm_ctx ctx = { .api_version = "v0.0.38", .user_name = "root" };
        struct slurm_report rep;
        const char *dsn = "";
        struct db *db = NULL;
        bool metrics = false;
        char e1[16], e2[16];
        int c, r;

        log_setup("slurm_once", LOG_LVL_INFO);
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'd':
                        dsn = optarg;
                        break;
                case 'b':
                        ctx.base_url = optarg;
                        break;
                case 'v':
                        ctx.api_version = optarg;
                        break;
                case 'u':
                        ctx.user_name = optarg;
                        break;
                case 't':
                        ctx.token_file = optarg;
                        break;
                case 'c':
                        ctx.cluster = optarg;
                        break;
                case 'm':
                        metrics = true;
                        break;
                default:
                        fprintf(stderr, "usage: slurm_once --dsn DSN --base-url URL "
                                        "[--api-version V] [--user U] --token-file F "
                                        "[--cluster C] [--metrics]\n");
                        return 2;
                }
        }
        r = db_open(dsn, "hjo-slurm-once", 10000, &db);
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "database connection failed", NULL);
                return 1;
        }
        r = slurm_cycle(&ctx, db, &rep);
        printf("rc=%s nodes_err=%s jobs_err=%s err_field=%s http_status=%ld nodes=%zu jobs=%zu "
               "closed=%zu filled=%zu corrected=%zu created=%zu created_finished=%zu "
               "updated=%zu missing=%zu unresolved=%zu errors=%zu\n",
               r < 0 ? log_errname(-r, e1, sizeof(e1)) : "0",
               rep.nodes_err < 0 ? log_errname(-rep.nodes_err, e2, sizeof(e2)) : "0",
               rep.jobs_err < 0 ? log_errname(-rep.jobs_err, e1, sizeof(e1)) : "0",
               rep.err_field ? rep.err_field : "", rep.http_status, rep.n_nodes, rep.n_jobs,
               rep.n_closed, rep.n_filled, rep.n_corrected, rep.n_created, rep.n_created_finished,
               rep.n_updated, rep.n_missing, rep.n_unresolved, rep.n_errors);
        if (r == 0 && metrics) {
                r = print_metrics(db);
                if (r < 0)
                        (void)log_errno(LOG_LVL_ERR, r, "metrics query failed", NULL);
        }
        db_close(db);
        return r < 0 ? 1 : 0;
}
