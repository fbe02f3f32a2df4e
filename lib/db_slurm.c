/*
 * lib/db_slurm.c: SQL of the Slurm integration.  Batches travel as one jsonb parameter built
 * with json-c (never as SQL text); sql/0010_slurm.sql unpacks them with
 * jsonb_to_recordset / jsonb_populate_recordset, so one cycle is two statements whatever the
 * cluster size.
 */
#include "config.h"
#include "db_slurm.h"

#include <errno.h>
#include <json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "num.h"
#include "rfc3339.h"
#include "slurmrest.h"
#include "strbuf.h"

#define MIB 1048576LL

static const char SQL_NODES_STORE[] = "SELECT hjo_slurm_nodes_store($1, $2::timestamptz, $3::jsonb)";

static const char SQL_RECONCILE[] =
        "SELECT job_id, action, detail FROM hjo_slurm_reconcile($1, $2::jsonb, $3::boolean, $4)";

static const char SQL_METRICS_SLURM_NODES[] =
        "SELECT cluster, node,"
        " state || CASE WHEN state_flags <> '' THEN '+' || lower(state_flags) ELSE '' END,"
        " cpus, alloc_cpus, cpu_load, memory_total_bytes, memory_allocated_bytes,"
        " memory_free_bytes"
        " FROM slurm_nodes WHERE ts > now() - make_interval(secs => $1::int)"
        " ORDER BY cluster, node";

/*
 * hpc_node_* from collectord's own /proc sample when there is a fresh one; otherwise from
 * slurmrestd: CPU usage = load average / CPUs x 100, capped at 100 (a load above the CPU count
 * means the CPUs are saturated; the load also counts tasks waiting on I/O, so this is an upper
 * estimate), memory used = real_memory - free_memory when free_memory <= real_memory (both MiB
 * from slurmd; real_memory is the configured size, so when the machine has more free memory than
 * is configured the difference says nothing and the series is left out).  Job count as before;
 * the running jobs' nodes are unnested in the select list, not by a LATERAL join, which
 * hashed each job's node list for a Memoize node (8 against 11 ms for 10,000 jobs, issue 6).
 */
const char db_slurm_sql_metrics_nodes_fallback[] =
        "WITH latest AS ("
        "  SELECT DISTINCT ON (node) node, cpu_usage_percent, memory_used_bytes, job_count"
        "  FROM node_samples"
        "  WHERE ts > now() - make_interval(secs => $1::int) ORDER BY node, ts DESC),"
        " running AS ("
        "  SELECT node, count(*) AS c FROM (SELECT unnest(j.nodes) AS node FROM jobs j"
        "  WHERE j.state = 'running') n GROUP BY node),"
        " slurm AS ("
        "  SELECT DISTINCT ON (node) node,"
        "   CASE WHEN cpus > 0 AND cpu_load IS NOT NULL"
        "        THEN least(100, cpu_load / cpus * 100) END AS cpu,"
        "   CASE WHEN memory_free_bytes <= memory_total_bytes"
        "        THEN memory_total_bytes - memory_free_bytes END AS mem"
        "  FROM slurm_nodes"
        "  WHERE ts > now() - make_interval(secs => $1::int) ORDER BY node, ts DESC)"
        " SELECT coalesce(l.node, r.node, s.node), coalesce(l.cpu_usage_percent, s.cpu),"
        " coalesce(l.memory_used_bytes, s.mem), coalesce(l.job_count, r.c, 0)"
        " FROM latest l FULL JOIN running r ON r.node = l.node"
        " FULL JOIN slurm s ON s.node = coalesce(l.node, r.node) ORDER BY 1";

void db_slurm_recon_clear(struct db_slurm_recon *r)
{
        if (!r)
                return;
        free(r->missing);
        memset(r, 0, sizeof(*r));
}

/* ---- JSON building: every add checks for allocation failure -------------------------- */

static int add(struct json_object *o, const char *key, struct json_object *v)
{
        /* json_object_object_add takes v (also on failure, where it is not freed: do it) */
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* -1 (absent) becomes JSON null */
static int add_i64(struct json_object *o, const char *key, int64_t v)
{
        struct json_object *x = NULL;

        if (v >= 0) {
                x = json_object_new_int64(v);
                if (!x)
                        return -ENOMEM;
        }
        return add(o, key, x);
}

static int add_str(struct json_object *o, const char *key, const char *s)
{
        struct json_object *x = NULL;

        if (s) {
                x = json_object_new_string(s);
                if (!x)
                        return -ENOMEM;
        }
        return add(o, key, x);
}

static int add_strarr(struct json_object *o, const char *key, char *const *v, size_t n)
{
        struct json_object *a = json_object_new_array_ext((int)n);

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *x = json_object_new_string(v[i]);

                if (!x || json_object_array_add(a, x) < 0) {
                        json_object_put(x);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        return add(o, key, a);
}

static int node_json(const struct slurm_node *n, struct json_object **ret)
{
        struct json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = add_str(o, "node", n->name);
        if (r == 0)
                r = add_str(o, "state", n->state);
        if (r == 0)
                r = add_str(o, "state_flags", n->state_flags);
        if (r == 0)
                r = add_str(o, "reason", n->reason);
        if (r == 0)
                r = add_strarr(o, "partitions", n->partitions, n->n_partitions);
        if (r == 0)
                r = add_i64(o, "cpus", n->cpus);
        if (r == 0)
                r = add_i64(o, "alloc_cpus", n->alloc_cpus);
        if (r == 0)
                r = add_i64(o, "idle_cpus", n->idle_cpus);
        if (r == 0)
                r = add(o, "cpu_load", n->has_load ? json_object_new_double(n->load) : NULL);
        if (r == 0 && n->has_load && !json_object_object_get(o, "cpu_load"))
                r = -ENOMEM;
        if (r == 0)
                r = add_i64(o, "memory_total_bytes", n->mem_total_bytes);
        if (r == 0)
                r = add_i64(o, "memory_allocated_bytes", n->mem_alloc_bytes);
        if (r == 0)
                r = add_i64(o, "memory_free_bytes", n->mem_free_bytes);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        *ret = o;
        return 0;
}

static int job_json(const struct slurm_job *j, struct json_object **ret)
{
        struct json_object *o = json_object_new_object();
        char id[32];
        int ec, sig, n, r;

        if (!o)
                return -ENOMEM;
        n = snprintf(id, sizeof(id), "slurm-%llu", (unsigned long long)j->job_id);
        if (n < 0 || (size_t)n >= sizeof(id)) {
                json_object_put(o);
                return -EINVAL;
        }
        /* exit details mean something only once the job is over */
        ec = sig = -1;
        if (slurm_state_is_final(j->state))
                slurm_exit_decode(j->exit_status, &ec, &sig);
        r = add_str(o, "id", id);
        if (r == 0)
                r = add_str(o, "state", j->state);
        if (r == 0)
                r = add_i64(o, "exit_code", ec);
        if (r == 0)
                r = add_i64(o, "signal", sig);
        if (r == 0)
                r = add_i64(o, "start_time", j->start_time);
        if (r == 0)
                r = add_i64(o, "end_time", slurm_state_is_final(j->state) ? j->end_time : -1);
        if (r == 0)
                r = add_str(o, "user_name", j->user_name);
        if (r == 0)
                r = add_strarr(o, "nodes", j->nodes.v, j->nodes.n);
        if (r == 0)
                r = add_str(o, "partition", j->partition);
        if (r == 0)
                r = add_str(o, "account", j->account);
        if (r == 0)
                r = add_str(o, "cluster", j->cluster);
        if (r == 0)
                r = add_i64(o, "cpus", j->cpus);
        if (r == 0)
                r = add_i64(o, "mem_mb", j->mem_mb);
        if (r == 0)
                r = add_i64(o, "gpus", j->gpus);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        *ret = o;
        return 0;
}

/* Serializes arr into a malloc'd string of at most SLURM_DB_MAX_BATCH_BYTES. */
static int serialize(struct json_object *arr, char **ret)
{
        size_t len;
        const char *s = json_object_to_json_string_length(arr, JSON_C_TO_STRING_PLAIN, &len);

        if (!s)
                return -ENOMEM;
        if (len > SLURM_DB_MAX_BATCH_BYTES)
                return -E2BIG;
        *ret = strndup(s, len);
        return *ret ? 0 : -ENOMEM;
}

typedef int (*item_json_fn)(const void *item, struct json_object **ret);

static int node_item(const void *item, struct json_object **ret)
{
        return node_json(item, ret);
}

static int job_item(const void *item, struct json_object **ret)
{
        return job_json(item, ret);
}

/* n items of `size` bytes each, as one JSON array text (the one jsonb parameter of a batch
   statement); caller frees *ret. */
static int batch_text(const void *items, size_t n, size_t size, item_json_fn fn, char **ret)
{
        struct json_object *arr, *o;
        int r = 0;

        arr = json_object_new_array_ext((int)n);
        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = fn((const char *)items + i * size, &o);
                if (r < 0)
                        goto out;
                if (json_object_array_add(arr, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                        goto out;
                }
        }
        r = serialize(arr, ret);
out:
        json_object_put(arr);
        return r;
}

int db_slurm_store_nodes(struct db *db, const char *cluster, int64_t ts_usec,
                         const struct slurm_node *nodes, size_t n)
{
        char ts[RFC3339_BUFSZ];
        char *batch = NULL;
        int r;

        r = batch_text(nodes, n, sizeof(*nodes), node_item, &batch);
        if (r < 0)
                goto out;
        {
                const char *params[] = { cluster ? cluster : "",
                                         rfc3339_format(ts_usec, ts, sizeof(ts)), batch };

                r = db_exec_text(db, SQL_NODES_STORE, 3, params, NULL, NULL);
        }
out:
        free(batch);
        return r;
}

static int count_row(struct db_slurm_recon *rc, const char *action, const char *job_id,
                     size_t *cap)
{
        static const struct {
                const char *name;
                size_t off;
        } counters[] = {
                { "closed", offsetof(struct db_slurm_recon, n_closed) },
                { "filled", offsetof(struct db_slurm_recon, n_filled) },
                { "corrected", offsetof(struct db_slurm_recon, n_corrected) },
                { "created", offsetof(struct db_slurm_recon, n_created) },
                { "created-finished", offsetof(struct db_slurm_recon, n_created_finished) },
                { "updated", offsetof(struct db_slurm_recon, n_updated) },
                { "error", offsetof(struct db_slurm_recon, n_errors) },
        };
        uint64_t id;

        for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
                if (strcmp(action, counters[i].name) == 0) {
                        (*(size_t *)((char *)rc + counters[i].off))++;
                        return 0;
                }
        }
        if (strcmp(action, "missing") != 0 || strncmp(job_id, "slurm-", 6) != 0)
                return -EPROTO;
        if (num_parse_u64(job_id + 6, strlen(job_id + 6), UINT32_MAX, &id) < 0)
                return -EPROTO;
        if (rc->n_missing == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                uint64_t *nv = realloc(rc->missing, ncap * sizeof(*nv));

                if (!nv)
                        return -ENOMEM;
                rc->missing = nv;
                *cap = ncap;
        }
        rc->missing[rc->n_missing++] = id;
        return 0;
}

int db_slurm_reconcile(struct db *db, const char *cluster, const struct slurm_job *jobs, size_t n,
                       bool find_missing, const char *corr, struct db_slurm_recon *ret)
{
        struct db_slurm_recon rc = { 0 };
        struct db_res *res = NULL;
        char *batch = NULL;
        size_t cap = 0;
        int r;

        r = batch_text(jobs, n, sizeof(*jobs), job_item, &batch);
        if (r < 0)
                goto out;
        {
                const char *params[] = { cluster, batch, find_missing ? "true" : "false",
                                         corr ? corr : "" };

                r = db_exec_text(db, SQL_RECONCILE, 4, params, &res, NULL);
        }
        if (r < 0)
                goto out;
        if (db_res_nfields(res) != 3) {
                r = -EPROTO;
                goto out;
        }
        for (int i = 0; i < db_res_ntuples(res); i++) {
                r = count_row(&rc, db_res_value(res, i, 1), db_res_value(res, i, 0), &cap);
                if (r < 0)
                        goto out;
        }
        *ret = rc;
        rc = (struct db_slurm_recon){ 0 };
        r = 0;
out:
        db_slurm_recon_clear(&rc);
        db_res_free(res);
        free(batch);
        return r;
}

int db_slurm_metrics_nodes(struct db *db, int64_t stale_seconds, struct db_res **ret)
{
        char secs[32];
        const char *params[] = { secs };
        int n = snprintf(secs, sizeof(secs), "%lld", (long long)stale_seconds);

        if (n < 0 || (size_t)n >= sizeof(secs) || stale_seconds <= 0 || stale_seconds > INT32_MAX)
                return -EINVAL;
        return db_exec_text(db, SQL_METRICS_SLURM_NODES, 1, params, ret, NULL);
}

/* clang-format off */
static const struct {
        const char *name, *help;
        int col;
} node_families[] = {
        { "hpc_node_cpus_total", "CPUs of the node (slurmrestd cpus).", 3 },
        { "hpc_node_cpus_allocated", "CPUs allocated to jobs (slurmrestd alloc_cpus).", 4 },
        { "hpc_node_cpu_load", "Load average of the node (slurmrestd cpu_load / 100).", 5 },
        { "hpc_node_memory_total_bytes", "Memory Slurm may allocate on the node (RealMemory), bytes.", 6 },
        { "hpc_node_memory_allocated_bytes", "Memory allocated to jobs on the node, bytes.", 7 },
        { "hpc_node_memory_free_bytes", "Free memory slurmd reports for the node, bytes.", 8 },
};
/* clang-format on */

static void labels(struct strbuf *sb, const struct db_res *res, int row)
{
        strbuf_adds(sb, "{cluster=\"");
        strbuf_add_escaped(sb, db_res_value(res, row, 0), ESC_PROM_LABEL);
        strbuf_adds(sb, "\",node=\"");
        strbuf_add_escaped(sb, db_res_value(res, row, 1), ESC_PROM_LABEL);
        strbuf_addc(sb, '"');
}

void db_slurm_metrics_render(struct strbuf *sb, const struct db_res *res)
{
        int n = db_res_ntuples(res);

        strbuf_adds(sb, "# HELP hpc_node_state Slurm state of the node (base state, '+' flags); "
                        "always 1.\n# TYPE hpc_node_state gauge\n");
        for (int i = 0; i < n; i++) {
                strbuf_adds(sb, "hpc_node_state");
                labels(sb, res, i);
                strbuf_adds(sb, ",state=\"");
                strbuf_add_escaped(sb, db_res_value(res, i, 2), ESC_PROM_LABEL);
                strbuf_adds(sb, "\"} 1\n");
        }
        for (size_t f = 0; f < sizeof(node_families) / sizeof(node_families[0]); f++) {
                strbuf_addf(sb, "# HELP %s %s\n# TYPE %s gauge\n", node_families[f].name,
                            node_families[f].help, node_families[f].name);
                for (int i = 0; i < n; i++) {
                        if (db_res_isnull(res, i, node_families[f].col))
                                continue;
                        strbuf_adds(sb, node_families[f].name);
                        labels(sb, res, i);
                        strbuf_addf(sb, "} %s\n", db_res_value(res, i, node_families[f].col));
                }
        }
}
