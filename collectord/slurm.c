/*
 * collectord/slurm.c: one Slurm cycle: GET <base>/slurm/<ver>/nodes and /jobs from slurmrestd
 * (JWT auth: X-SLURM-USER-NAME and X-SLURM-USER-TOKEN, the token read from a file each cycle
 * and wiped after use), store node state, reconcile jobs, then ask /job/{id} about the jobs hjo
 * believes active that Slurm's list lacked (gone from the list after MinJobAge, or never
 * there).  A job slurmctld no longer knows (error 2017) is counted as unresolved: deciding its
 * end needs slurmdbd (/slurmdb/<ver>/job/{id}), which this does not query yet.
 */
#include "config.h"
#include "slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_slurm.h"
#include "httpc.h"
#include "rfc3339.h"
#include "slurmrest.h"
#include "strbuf.h"

#define TOKEN_MAX        8192 /* a Slurm JWT is a few hundred bytes */
#define URL_MAX          2048
#define DEFAULT_LOOKUPS  100

/* Reads the JWT: one line of base64url segments separated by dots; trailing whitespace ok. */
static int read_token(const char *path, char *buf, size_t size)
{
        size_t len = 0;
        ssize_t n;
        int fd, r = 0;

        if (!path || !*path)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : -EACCES;
        while ((n = read(fd, buf + len, size - 1 - len)) > 0) {
                len += (size_t)n;
                if (len == size - 1) {
                        char extra;

                        if (read(fd, &extra, 1) > 0)
                                r = -E2BIG;
                        break;
                }
        }
        if (n < 0)
                r = -EIO;
        (void)close(fd);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                           buf[len - 1] == '\t'))
                len--;
        buf[len] = '\0';
        if (r == 0 && len == 0)
                r = -EINVAL;
        for (size_t i = 0; r == 0 && i < len; i++) {
                char c = buf[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '=' || c == '+' || c == '/'))
                        r = -EINVAL; /* never put CR/LF or spaces into a header */
        }
        if (r < 0)
                explicit_bzero(buf, size);
        return r;
}

struct session {
        const struct slurm_ctx *ctx;
        struct httpc *http;
        char token[TOKEN_MAX];
        enum slurmrest_version ver;
        struct slurm_report *rep;
};

/*
 * GET <base>/slurm/<ver><path>.  0 with the body on HTTP 200; -EACCES (401/403), -ENOENT (404),
 * -EPROTO (other status; the body is kept in *ret for the caller to inspect), or httpc's errors.
 */
static int fetch(struct session *s, const char *path, struct httpc_resp *ret)
{
        struct httpc_resp resp = { 0 };
        struct strbuf url, user, tok;
        const char *headers[4];
        int r;

        strbuf_init(&url, URL_MAX);
        strbuf_init(&user, 512);
        strbuf_init(&tok, TOKEN_MAX + 64);
        strbuf_addf(&url, "%s/slurm/%s%s", s->ctx->base_url, s->ctx->api_version, path);
        strbuf_addf(&user, "X-SLURM-USER-NAME: %s", s->ctx->user_name);
        strbuf_addf(&tok, "X-SLURM-USER-TOKEN: %s", s->token);
        if (strbuf_failed(&url) || strbuf_failed(&user) || strbuf_failed(&tok)) {
                r = -EINVAL;
                goto out;
        }
        headers[0] = user.buf;
        headers[1] = tok.buf;
        headers[2] = "Accept: application/json";
        headers[3] = NULL;
        r = httpc_get(s->http, url.buf, headers,
                      s->ctx->timeout_ms > 0 ? s->ctx->timeout_ms : SLURM_DEFAULT_TIMEOUT_MS,
                      s->ctx->max_bytes > 0 ? s->ctx->max_bytes : SLURMREST_MAX_BYTES, &resp);
        if (r < 0)
                goto out;
        if (resp.status != 200) {
                s->rep->http_status = resp.status;
                r = resp.status == 401 || resp.status == 403 ? -EACCES
                    : resp.status == 404                     ? -ENOENT
                                                             : -EPROTO;
        }
        *ret = resp; /* also on a bad status: /job/{id} explains itself in the body */
        resp = (struct httpc_resp){ 0 };
out:
        httpc_resp_clear(&resp);
        if (tok.buf)
                explicit_bzero(tok.buf, tok.len);
        strbuf_clear(&tok);
        strbuf_clear(&user);
        strbuf_clear(&url);
        return r;
}

static int do_nodes(struct session *s, struct db *db, const char *cluster,
                    const struct slurm_node_list *nodes)
{
        int r = db_slurm_store_nodes(db, cluster, rfc3339_now_usec(), nodes->v, nodes->n);

        if (r == 0)
                s->rep->n_nodes = nodes->n;
        return r;
}

static void add_counts(struct slurm_report *rep, const struct db_slurm_recon *rc)
{
        rep->n_closed += rc->n_closed;
        rep->n_filled += rc->n_filled;
        rep->n_corrected += rc->n_corrected;
        rep->n_created += rc->n_created;
        rep->n_created_finished += rc->n_created_finished;
        rep->n_updated += rc->n_updated;
        rep->n_errors += rc->n_errors;
}

/* Asks /job/{id} about one job hjo believes active but Slurm's list lacked. */
static int lookup_one(struct session *s, struct db *db, const char *cluster, uint64_t id,
                      const char *corr)
{
        struct httpc_resp resp = { 0 };
        struct slurm_job_list jobs = { 0 };
        struct db_slurm_recon rc = { 0 };
        char path[64];
        int64_t errnum;
        int n, r;

        n = snprintf(path, sizeof(path), "/job/%llu", (unsigned long long)id);
        if (n < 0 || (size_t)n >= sizeof(path))
                return -EINVAL;
        r = fetch(s, path, &resp);
        if (r == -EPROTO && resp.body &&
            slurmrest_parse_error_number(resp.body, resp.len, &errnum) == 0 &&
            errnum == SLURMREST_ESLURM_INVALID_JOB_ID) {
                s->rep->n_unresolved++;
                s->rep->http_status = 0;
                r = 0;
                goto out;
        }
        if (r < 0)
                goto out;
        r = slurmrest_parse_jobs(resp.body, resp.len, s->ver, &jobs, &s->rep->err_field);
        if (r < 0)
                goto out;
        if (jobs.n == 0) {
                s->rep->n_unresolved++;
                goto out;
        }
        r = db_slurm_reconcile(db, cluster, jobs.v, jobs.n, /* find_missing= */ false, corr, &rc);
        if (r == 0)
                add_counts(s->rep, &rc);
out:
        db_slurm_recon_clear(&rc);
        slurm_job_list_clear(&jobs);
        httpc_resp_clear(&resp);
        return r;
}

static int do_jobs(struct session *s, struct db *db, const char *cluster,
                   const struct slurm_job_list *jobs, const char *corr)
{
        struct db_slurm_recon rc = { 0 };
        size_t max = s->ctx->max_lookups > 0 ? s->ctx->max_lookups : DEFAULT_LOOKUPS;
        int r;

        /* cluster NULL here means "unknown": then missing jobs of any cluster are looked up */
        r = db_slurm_reconcile(db, cluster, jobs->v, jobs->n, /* find_missing= */ true, corr, &rc);
        if (r < 0)
                goto out;
        s->rep->n_jobs = jobs->n;
        add_counts(s->rep, &rc);
        s->rep->n_missing = rc.n_missing;
        for (size_t i = 0; i < rc.n_missing && i < max; i++) {
                r = lookup_one(s, db, cluster, rc.missing[i], corr);
                if (r < 0)
                        goto out;
        }
out:
        db_slurm_recon_clear(&rc);
        return r;
}

/* A correlation id for the audit log: "reconcile-<unix microseconds>" */
static void make_corr(char *buf, size_t size)
{
        int n = snprintf(buf, size, "reconcile-%lld", (long long)rfc3339_now_usec());

        if (n < 0 || (size_t)n >= size)
                buf[0] = '\0';
}

int slurm_cycle(const struct slurm_ctx *ctx, struct db *db, struct slurm_report *rep)
{
        struct session s = { .ctx = ctx, .rep = rep };
        struct httpc_resp nresp = { 0 }, jresp = { 0 };
        struct slurm_node_list nodes = { 0 };
        struct slurm_job_list jobs = { 0 };
        const char *cluster;
        char corr[64];
        int r;

        memset(rep, 0, sizeof(*rep));
        if (!ctx || !ctx->base_url || !ctx->user_name ||
            slurmrest_version_parse(ctx->api_version, &s.ver) < 0) {
                r = -EINVAL;
                rep->nodes_err = rep->jobs_err = r;
                return r;
        }
        r = read_token(ctx->token_file, s.token, sizeof(s.token));
        if (r < 0) {
                rep->nodes_err = rep->jobs_err = r;
                return r;
        }
        r = httpc_new(&s.http);
        if (r < 0) {
                rep->nodes_err = rep->jobs_err = r;
                goto out;
        }
        make_corr(corr, sizeof(corr));

        /* Both lists first: the cluster name comes from the jobs when not configured. */
        rep->nodes_err = fetch(&s, "/nodes", &nresp);
        if (rep->nodes_err == 0)
                rep->nodes_err = slurmrest_parse_nodes(nresp.body, nresp.len, s.ver, &nodes,
                                                       &rep->err_field);
        rep->jobs_err = fetch(&s, "/jobs", &jresp);
        if (rep->jobs_err == 0)
                rep->jobs_err = slurmrest_parse_jobs(jresp.body, jresp.len, s.ver, &jobs,
                                                     &rep->err_field);
        cluster = ctx->cluster;
        for (size_t i = 0; !cluster && i < jobs.n; i++)
                cluster = jobs.v[i].cluster;

        if (rep->nodes_err == 0)
                rep->nodes_err = do_nodes(&s, db, cluster ? cluster : "", &nodes);
        if (rep->jobs_err == 0)
                rep->jobs_err = do_jobs(&s, db, cluster, &jobs, corr);
        r = rep->nodes_err < 0 ? rep->nodes_err : rep->jobs_err;
out:
        explicit_bzero(s.token, sizeof(s.token));
        slurm_job_list_clear(&jobs);
        slurm_node_list_clear(&nodes);
        httpc_resp_clear(&jresp);
        httpc_resp_clear(&nresp);
        httpc_free(s.http);
        return r;
}
