/*
 * tests/unit/test_slurmrest.c: the slurmrestd parsers over every fixture of
 * tests/slurmrest/fixtures/ (real Slurm 22.05.8 responses) and over synthetic error cases:
 * truncated JSON, wrong types, missing fields, huge numbers, Slurm's NO_VAL markers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slurmrest.h"
#include "strbuf.h"
#include "tap.h"

#define MIB 1048576LL

static char *slurp(const char *name, size_t *len)
{
        const char *top = secure_getenv("top_srcdir");
        struct strbuf path, sb;
        char buf[65536];
        ssize_t n;
        int fd;

        strbuf_init(&path, 4096);
        strbuf_addf(&path, "%s/tests/slurmrest/fixtures/%s", top ? top : ".", name);
        fd = strbuf_failed(&path) ? -1 : open(path.buf, O_RDONLY | O_CLOEXEC);
        strbuf_clear(&path);
        if (fd < 0)
                return NULL;
        strbuf_init(&sb, 16u * 1024 * 1024);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                strbuf_addn(&sb, buf, (size_t)n);
        (void)close(fd);
        *len = sb.len;
        return strbuf_take(&sb);
}

enum kind { NODES, JOBS };

struct fixture_case {
        const char *file;
        enum slurmrest_version ver;
        enum kind kind;
        int want;
        size_t n;
        const char *field; /* expected *reterr_field on failure */
};

/* clang-format off */
static const struct fixture_case fixtures[] = {
        { "v0.0.36_nodes.json", SLURMREST_V0037, NODES, -EPROTO, 0, "meta.plugin.type" },
        { "v0.0.36_nodes.json", SLURMREST_V0038, NODES, -EPROTO, 0, "meta.plugin.type" },
        { "v0.0.37_nodes.json", SLURMREST_V0037, NODES, 0, 1, NULL },
        { "v0.0.37_nodes.json", SLURMREST_V0038, NODES, -EPROTO, 0, "meta.plugin.type" },
        { "v0.0.38_nodes.json", SLURMREST_V0038, NODES, 0, 1, NULL },
        { "v0.0.38_node_vm.json", SLURMREST_V0038, NODES, 0, 1, NULL },
        { "v0.0.38_nodes.json", SLURMREST_V0037, NODES, -EPROTO, 0, "meta.plugin.type" },
        { "v0.0.37_jobs.json", SLURMREST_V0037, JOBS, 0, 8, NULL },
        { "v0.0.38_jobs.json", SLURMREST_V0038, JOBS, 0, 8, NULL },
        { "v0.0.37_job_4.json", SLURMREST_V0037, JOBS, 0, 1, NULL },
        { "v0.0.38_job_4.json", SLURMREST_V0038, JOBS, 0, 1, NULL },
        { "v0.0.38_jobs.json", SLURMREST_V0037, JOBS, -EPROTO, 0, "meta.plugin.type" },
        { "v0.0.38_job_unknown.json", SLURMREST_V0038, JOBS, -EPROTO, 0, "errors" },
        { "v0.0.38_diag.json", SLURMREST_V0038, JOBS, -EPROTO, 0, "jobs" },
        { "v0.0.38_diag.json", SLURMREST_V0038, NODES, -EPROTO, 0, "nodes" },
        { "v0.0.38_partitions.json", SLURMREST_V0038, NODES, -EPROTO, 0, "nodes" },
        { "v0.0.38_ping.json", SLURMREST_V0038, JOBS, -EPROTO, 0, "jobs" },
        { "v0.0.38_nodes.json", SLURMREST_V0038, JOBS, -EPROTO, 0, "jobs" },
};
/* clang-format on */

static int parse(enum kind kind, const char *buf, size_t len, enum slurmrest_version ver,
                 size_t *n, const char **field)
{
        struct slurm_node_list nl = { 0 };
        struct slurm_job_list jl = { 0 };
        int r;

        if (kind == NODES) {
                r = slurmrest_parse_nodes(buf, len, ver, &nl, field);
                *n = nl.n;
        } else {
                r = slurmrest_parse_jobs(buf, len, ver, &jl, field);
                *n = jl.n;
        }
        slurm_node_list_clear(&nl);
        slurm_job_list_clear(&jl);
        return r;
}

static void test_fixture_table(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
                const struct fixture_case *c = &fixtures[i];
                const char *field = NULL;
                size_t len = 0, n = 0;
                char *buf = slurp(c->file, &len);
                int r;

                if (!ok(buf != NULL, "read %s", c->file))
                        continue;
                r = parse(c->kind, buf, len, c->ver, &n, &field);
                is_int(r, c->want, "%s as v0.0.%d %s", c->file, (int)c->ver,
                       c->kind == NODES ? "nodes" : "jobs");
                if (c->want == 0)
                        is_u64(n, c->n, "%s: %zu items", c->file, c->n);
                else
                        is_str(field, c->field, "%s: field %s", c->file, c->field);
                /* every truncation of a real response is malformed JSON */
                if (c->want == 0) {
                        size_t bad = 0;

                        for (size_t cut = 0; cut < len - 1; cut += 97) {
                                if (parse(c->kind, buf, cut, c->ver, &n, &field) != -EBADMSG)
                                        bad++;
                        }
                        is_u64(bad, 0, "%s: every truncation is -EBADMSG", c->file);
                }
                free(buf);
        }
}

static void check_vm_node(const char *file, enum slurmrest_version ver)
{
        struct slurm_node_list l = { 0 };
        size_t len;
        char *buf = slurp(file, &len);
        const struct slurm_node *n;

        if (!ok(buf && slurmrest_parse_nodes(buf, len, ver, &l, NULL) == 0 && l.n == 1,
                "%s parses", file)) {
                free(buf);
                return;
        }
        n = &l.v[0];
        is_str(n->name, "vm", "%s name", file);
        is_str(n->state, "mixed", "%s state", file);
        is_str(n->state_flags, "", "%s no flags", file);
        is_i64(n->cpus, 4, "%s cpus", file);
        is_i64(n->alloc_cpus, 2, "%s alloc_cpus", file);
        is_i64(n->idle_cpus, 2, "%s idle_cpus", file);
        ok(n->has_load, "%s has load", file);
        is_double(n->load, 5.62, 1e-9, "%s cpu_load 562 -> 5.62", file);
        is_i64(n->mem_total_bytes, 4000 * MIB, "%s real_memory MiB -> bytes", file);
        is_i64(n->mem_alloc_bytes, 500 * MIB, "%s alloc_memory MiB -> bytes", file);
        is_i64(n->mem_free_bytes, 23264 * MIB, "%s free_memory MiB -> bytes", file);
        is_u64(n->n_partitions, 1, "%s one partition", file);
        is_str(n->n_partitions ? n->partitions[0] : NULL, "lab", "%s partition", file);
        slurm_node_list_clear(&l);
        free(buf);
}

static const struct slurm_job *find_job(const struct slurm_job_list *l, uint64_t id)
{
        for (size_t i = 0; i < l->n; i++) {
                if (l->v[i].job_id == id)
                        return &l->v[i];
        }
        return NULL;
}

static void check_jobs(const char *file, enum slurmrest_version ver, bool all)
{
        struct slurm_job_list l = { 0 };
        const struct slurm_job *j;
        size_t len;
        char *buf = slurp(file, &len);
        int ec, sig;

        if (!ok(buf && slurmrest_parse_jobs(buf, len, ver, &l, NULL) == 0, "%s parses", file)) {
                free(buf);
                return;
        }
        j = find_job(&l, 4);
        if (ok(j != NULL, "%s has job 4", file)) {
                is_str(j->state, "RUNNING", "%s job 4 state", file);
                is_str(j->user_name, "root", "%s job 4 user", file);
                is_str(j->account, "acme", "%s job 4 account", file);
                is_str(j->partition, "lab", "%s job 4 partition", file);
                is_str(j->cluster, "lab", "%s job 4 cluster", file);
                is_u64(j->nodes.n, 1, "%s job 4 one node", file);
                is_str(j->nodes.n ? j->nodes.v[0] : NULL, "vm", "%s job 4 node", file);
                is_i64(j->cpus, 2, "%s job 4 cpus", file);
                is_i64(j->mem_mb, 500, "%s job 4 memory MiB (tres_alloc_str mem=500M)", file);
                is_i64(j->gpus, 1, "%s job 4 gpus (gres_detail gpu:1(IDX:0))", file);
                is_i64(j->start_time, 1795625460, "%s job 4 start", file);
                is_i64(j->time_limit_min, 10, "%s job 4 time limit", file);
                ok(slurm_state_is_started(j->state) && !slurm_state_is_final(j->state),
                   "%s job 4 started, not final", file);
        }
        if (!all)
                goto out;
        j = find_job(&l, 1);
        if (ok(j != NULL, "%s has job 1", file)) {
                is_str(j->state, "FAILED", "%s job 1 state", file);
                is_i64(j->exit_status, 768, "%s job 1 exit status", file);
                slurm_exit_decode(j->exit_status, &ec, &sig);
                ok(ec == 3 && sig == 0, "%s job 1 exit 3 signal 0", file);
                is_str(j->account, NULL, "%s job 1 empty account is absent", file);
                is_i64(j->mem_mb, 100, "%s job 1 memory", file);
                is_i64(j->gpus, 0, "%s job 1 no gpus", file);
        }
        j = find_job(&l, 7);
        if (ok(j != NULL, "%s has job 7", file)) {
                is_str(j->state, "CANCELLED", "%s job 7 state", file);
                slurm_exit_decode(j->exit_status, &ec, &sig);
                ok(ec == 0 && sig == 15, "%s job 7 signal 15", file);
                is_i64(j->end_time, 1795625491, "%s job 7 end", file);
        }
        j = find_job(&l, 3); /* cancelled while pending: no nodes, no resources */
        if (ok(j != NULL, "%s has job 3", file)) {
                is_u64(j->nodes.n, 0, "%s job 3 no nodes", file);
                is_i64(j->cpus, -1, "%s job 3 cpus absent", file);
                is_i64(j->mem_mb, -1, "%s job 3 memory absent", file);
                ok(slurm_state_is_final(j->state), "%s job 3 final", file);
        }
        j = find_job(&l, 8);
        if (ok(j != NULL, "%s has job 8", file)) {
                is_str(j->state, "PENDING", "%s job 8 pending", file);
                is_i64(j->start_time, -1, "%s job 8 start 0 -> absent", file);
                ok(!slurm_state_is_started(j->state) && !slurm_state_is_final(j->state),
                   "%s job 8 neither started nor final", file);
        }
out:
        slurm_job_list_clear(&l);
        free(buf);
}

/* ---- synthetic documents --------------------------------------------------------------- */

#define ENV38(list, items) \
        "{\"meta\":{\"plugin\":{\"type\":\"openapi\\/v0.0.38\"}},\"errors\":[],\"" list "\":[" items "]}"
#define NODE(extra)                                                                         \
        "{\"name\":\"n1\",\"state\":\"IDLE\",\"cpus\":8,\"alloc_cpus\":0,\"alloc_memory\":0," \
        "\"real_memory\":1024" extra "}"

struct node_case {
        const char *doc;
        int want;
        const char *field;
};

/* clang-format off */
static const struct node_case node_cases[] = {
        { ENV38("nodes", NODE("")), 0, NULL },
        { ENV38("nodes", NODE(",\"unknown_field\":{\"x\":[1,2]}")), 0, NULL },
        { ENV38("nodes", "{\"state\":\"idle\",\"alloc_cpus\":0,\"alloc_memory\":0}"), -EPROTO, "name" },
        { ENV38("nodes", "{\"name\":\"n1\",\"alloc_cpus\":0,\"alloc_memory\":0}"), -EPROTO, "state" },
        { ENV38("nodes", "{\"name\":\"n1\",\"state\":\"idle\",\"alloc_memory\":0}"), -EPROTO, "alloc_cpus" },
        { ENV38("nodes", NODE(",\"cpus\":\"8\"")), -EPROTO, "cpus" },
        { ENV38("nodes", NODE(",\"cpus\":8.5")), -EPROTO, "cpus" },
        { ENV38("nodes", NODE(",\"cpus\":-1")), -EPROTO, "cpus" },
        { ENV38("nodes", NODE(",\"cpus\":4294967296")), -EPROTO, "cpus" },
        { ENV38("nodes", NODE(",\"real_memory\":8796093022208")), -EPROTO, "real_memory" }, /* 2^43 MiB: bytes overflow int64 */
        { ENV38("nodes", NODE(",\"real_memory\":99999999999999999999")), -EBADMSG, NULL }, /* > UINT64_MAX */
        { ENV38("nodes", NODE(",\"name\":\"bad name\"")), -EPROTO, "name" },
        { ENV38("nodes", NODE(",\"name\":42")), -EPROTO, "name" },
        { ENV38("nodes", NODE(",\"partitions\":\"lab\"")), -EPROTO, "partitions" },
        { ENV38("nodes", NODE(",\"partitions\":[1]")), -EPROTO, "partitions" },
        { ENV38("nodes", NODE(",\"state_flags\":[\"drain\"]")), -EPROTO, "state_flags" },
        { ENV38("nodes", "42"), -EPROTO, "nodes" },
        { "{\"meta\":{\"plugin\":{\"type\":\"openapi\\/v0.0.38\"}},\"errors\":[],\"nodes\":{}}", -EPROTO, "nodes" },
        { "{\"meta\":{\"plugin\":{\"type\":\"openapi\\/v0.0.38\"}},\"errors\":[{\"error\":\"x\"}],\"nodes\":[]}", -EPROTO, "errors" },
        { "{\"errors\":[],\"nodes\":[]}", -EPROTO, "meta.plugin.type" },
        { "[]", -EPROTO, "(root)" },
        { ENV38("nodes", NODE("")) " \n", 0, NULL }, /* trailing whitespace is JSON */
        { ENV38("nodes", NODE("")) "x", -EBADMSG, NULL },
        { "{\"nodes\":[", -EBADMSG, NULL },
        { "", -EBADMSG, NULL },
        { "{'a':1}", -EBADMSG, NULL },
        { ENV38("nodes", ""), 0, NULL },
};
/* clang-format on */

static void test_node_cases(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(node_cases); i++) {
                struct slurm_node_list l = { .v = (struct slurm_node *)&l, .n = 777 };
                const char *field = NULL;
                int r = slurmrest_parse_nodes(node_cases[i].doc, strlen(node_cases[i].doc),
                                              SLURMREST_V0038, &l, &field);

                is_int(r, node_cases[i].want, "node case %zu", i);
                if (r == 0) {
                        slurm_node_list_clear(&l);
                        continue;
                }
                ok(l.n == 777 && l.v == (struct slurm_node *)&l, "node case %zu: ret untouched", i);
                if (node_cases[i].field)
                        is_str(field, node_cases[i].field, "node case %zu: field", i);
        }
}

/* Slurm's markers and the v0.0.40+ number objects become "absent"; flags are joined */
static void test_node_values(void)
{
        static const char doc[] = ENV38(
                "nodes",
                "{\"name\":\"n1\",\"state\":\"IDLE\",\"state_flags\":[\"DRAIN\",\"NOT_RESPONDING\"],"
                "\"cpus\":{\"set\":true,\"infinite\":false,\"number\":64},"
                "\"alloc_cpus\":{\"set\":false,\"infinite\":false,\"number\":0},"
                "\"idle_cpus\":{\"set\":true,\"infinite\":true,\"number\":0},"
                "\"cpu_load\":4294967294,\"alloc_memory\":0,\"real_memory\":null,"
                "\"free_memory\":18446744073709551614,\"reason\":\"bad dimm\"}");
        struct slurm_node_list l = { 0 };

        if (!is_int(slurmrest_parse_nodes(doc, strlen(doc), SLURMREST_V0038, &l, NULL), 0,
                    "markers parse"))
                return;
        is_str(l.v[0].state, "idle", "state lower-cased");
        is_str(l.v[0].state_flags, "DRAIN+NOT_RESPONDING", "flags joined");
        is_str(l.v[0].reason, "bad dimm", "reason");
        is_i64(l.v[0].cpus, 64, "{set,infinite,number} number");
        is_i64(l.v[0].alloc_cpus, -1, "{set:false} absent");
        is_i64(l.v[0].idle_cpus, -1, "{infinite:true} absent");
        ok(!l.v[0].has_load, "cpu_load NO_VAL absent");
        is_i64(l.v[0].mem_total_bytes, -1, "real_memory null absent");
        is_i64(l.v[0].mem_alloc_bytes, 0, "alloc_memory 0");
        is_i64(l.v[0].mem_free_bytes, -1, "free_memory NO_VAL64 absent");
        slurm_node_list_clear(&l);
}

#define ENV37(list, items) \
        "{\"meta\":{\"plugin\":{\"type\":\"openapi\\/v0.0.37\"}},\"errors\":[],\"" list "\":[" items "]}"
#define JOB(extra) "{\"job_id\":5,\"job_state\":\"RUNNING\"" extra "}"

struct job_case {
        const char *doc;
        enum slurmrest_version ver;
        int want;
        const char *field;
};

/* clang-format off */
static const struct job_case job_cases[] = {
        { ENV38("jobs", JOB("")), SLURMREST_V0038, 0, NULL },
        { ENV38("jobs", "{\"job_state\":\"RUNNING\"}"), SLURMREST_V0038, -EPROTO, "job_id" },
        { ENV38("jobs", "{\"job_id\":5}"), SLURMREST_V0038, -EPROTO, "job_state" },
        { ENV38("jobs", JOB(",\"job_id\":0")), SLURMREST_V0038, -EPROTO, "job_id" },
        { ENV38("jobs", JOB(",\"job_id\":\"5\"")), SLURMREST_V0038, -EPROTO, "job_id" },
        { ENV38("jobs", JOB(",\"job_id\":4294967296")), SLURMREST_V0038, -EPROTO, "job_id" },
        { ENV38("jobs", JOB(",\"job_state\":\"running\"")), SLURMREST_V0038, -EPROTO, "job_state" },
        { ENV38("jobs", JOB(",\"job_state\":[\"RUNNING\"]")), SLURMREST_V0038, -EPROTO, "job_state" },
        { ENV38("jobs", JOB(",\"nodes\":\"vm[1-\"")), SLURMREST_V0038, -EPROTO, "nodes" },
        { ENV38("jobs", JOB(",\"nodes\":7")), SLURMREST_V0038, -EPROTO, "nodes" },
        { ENV38("jobs", JOB(",\"start_time\":-5")), SLURMREST_V0038, -EPROTO, "start_time" },
        { ENV38("jobs", JOB(",\"start_time\":999999999999999")), SLURMREST_V0038, -EPROTO, "start_time" },
        { ENV38("jobs", JOB(",\"tres_alloc_str\":\"mem=12X\"")), SLURMREST_V0038, -EPROTO, "tres_alloc_str" },
        { ENV38("jobs", JOB(",\"gres_detail\":[\"gpu:x(IDX:0)\"]")), SLURMREST_V0038, -EPROTO, "gres_detail" },
        { ENV38("jobs", JOB(",\"user_name\":\"\\u0001\"")), SLURMREST_V0038, -EPROTO, "user_name" },
        /* job_resources: each version's own shape, the other's is rejected */
        { ENV38("jobs", JOB(",\"job_resources\":{\"allocated_cores\":2,\"allocated_nodes\":[{\"nodename\":\"vm\",\"memory_allocated\":10}]}")), SLURMREST_V0038, 0, NULL },
        { ENV38("jobs", JOB(",\"job_resources\":{\"allocated_cpus\":2,\"allocated_nodes\":{\"0\":{\"memory\":10,\"cpus\":2}}}")), SLURMREST_V0038, -EPROTO, "job_resources" },
        { ENV37("jobs", JOB(",\"job_resources\":{\"allocated_cpus\":2,\"allocated_nodes\":{\"0\":{\"memory\":10,\"cpus\":2}}}")), SLURMREST_V0037, 0, NULL },
        { ENV37("jobs", JOB(",\"job_resources\":{\"allocated_cores\":2,\"allocated_nodes\":[{\"nodename\":\"vm\",\"memory_allocated\":10}]}")), SLURMREST_V0037, -EPROTO, "job_resources" },
        { ENV38("jobs", JOB(",\"job_resources\":[]")), SLURMREST_V0038, -EPROTO, "job_resources" },
};
/* clang-format on */

static void test_job_cases(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(job_cases); i++) {
                struct slurm_job_list l = { .v = (struct slurm_job *)&l, .n = 777 };
                const char *field = NULL;
                int r = slurmrest_parse_jobs(job_cases[i].doc, strlen(job_cases[i].doc),
                                             job_cases[i].ver, &l, &field);

                is_int(r, job_cases[i].want, "job case %zu", i);
                if (r == 0) {
                        slurm_job_list_clear(&l);
                        continue;
                }
                ok(l.n == 777 && l.v == (struct slurm_job *)&l, "job case %zu: ret untouched", i);
                is_str(field, job_cases[i].field, "job case %zu: field", i);
        }
}

static void test_job_values(void)
{
        static const char doc37[] = ENV37(
                "jobs", JOB(",\"nodes\":\"gpu[01-02],cpu7\",\"job_resources\":{\"allocated_cpus\":"
                            "6,\"allocated_nodes\":{\"0\":{\"memory\":10,\"cpus\":2},\"1\":{\"memory"
                            "\":20,\"cpus\":2},\"2\":{\"memory\":30,\"cpus\":2}}},\"gres_detail\":["
                            "\"gpu:a100:2(IDX:0-1)\",\"gpu:1(IDX:0)\",\"mps:100\"]"));
        static const char doc38[] = ENV38(
                "jobs", JOB(",\"tres_alloc_str\":\"cpu=64,mem=2G,node=2\",\"memory_per_node\":1,"
                            "\"node_count\":2,\"exit_code\":253,\"job_state\":\"OUT_OF_MEMORY\""));
        static const char doc_percpu[] = ENV38(
                "jobs", JOB(",\"cpus\":3,\"memory_per_cpu\":100,\"memory_per_node\":null"));
        struct slurm_job_list l = { 0 };
        int ec, sig;

        if (is_int(slurmrest_parse_jobs(doc37, strlen(doc37), SLURMREST_V0037, &l, NULL), 0,
                   "v0.0.37 job_resources")) {
                is_u64(l.v[0].nodes.n, 3, "three nodes");
                is_str(l.v[0].nodes.n == 3 ? l.v[0].nodes.v[1] : NULL, "gpu02", "second node");
                is_i64(l.v[0].cpus, 6, "cpus from allocated_cpus");
                is_i64(l.v[0].mem_mb, 60, "memory summed over allocated_nodes");
                is_i64(l.v[0].gpus, 3, "gpus summed, other gres skipped");
                slurm_job_list_clear(&l);
        }
        if (is_int(slurmrest_parse_jobs(doc38, strlen(doc38), SLURMREST_V0038, &l, NULL), 0,
                   "tres memory in G")) {
                is_i64(l.v[0].mem_mb, 2048, "mem=2G -> 2048 MiB (tres first)");
                slurm_exit_decode(l.v[0].exit_status, &ec, &sig);
                ok(ec == 0 && sig == -1, "status 253 (OOM marker 125) -> signal absent");
                ok(slurm_state_is_final(l.v[0].state), "OUT_OF_MEMORY final");
                is_i64(l.v[0].gpus, -1, "no gres_detail: gpus unknown");
                slurm_job_list_clear(&l);
        }
        if (is_int(slurmrest_parse_jobs(doc_percpu, strlen(doc_percpu), SLURMREST_V0038, &l, NULL),
                   0, "memory per CPU")) {
                is_i64(l.v[0].mem_mb, 300, "3 CPUs x 100 MiB");
                slurm_job_list_clear(&l);
        }
}

static void test_misc(void)
{
        static const char *const finals[] = { "COMPLETED", "FAILED", "TIMEOUT", "CANCELLED",
                                              "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
                                              "BOOT_FAIL", "DEADLINE" };
        enum slurmrest_version v = SLURMREST_V0038;
        struct {
                int64_t status;
                int ec, sig;
        } exits[] = { { 0, 0, 0 }, { 768, 3, 0 }, { 9, 0, 9 }, { 15, 0, 15 },
                      { 256 * 255, 255, 0 }, { 253, 0, -1 }, { -1, -1, -1 } };
        size_t len;
        char *buf;
        int64_t en = 0;

        is_int(slurmrest_version_parse("v0.0.37", &v), 0, "v0.0.37 supported");
        is_int((int)v, SLURMREST_V0037, "v0.0.37 value");
        is_int(slurmrest_version_parse("v0.0.38", &v), 0, "v0.0.38 supported");
        is_int(slurmrest_version_parse("v0.0.36", &v), -EINVAL, "v0.0.36 rejected");
        is_int(slurmrest_version_parse("v0.0.39", &v), -EINVAL, "v0.0.39 rejected");
        is_int(slurmrest_version_parse("", &v), -EINVAL, "empty rejected");
        is_int(slurmrest_version_parse(NULL, &v), -EINVAL, "NULL rejected");
        is_int((int)v, SLURMREST_V0038, "ret untouched on failure");
        for (size_t i = 0; i < ARRAY_SIZE(finals); i++)
                ok(slurm_state_is_final(finals[i]) && !slurm_state_is_started(finals[i]),
                   "%s is final", finals[i]);
        ok(slurm_state_is_started("COMPLETING") && !slurm_state_is_final("COMPLETING"),
           "COMPLETING started, not final");
        ok(!slurm_state_is_final(NULL) && !slurm_state_is_started(NULL), "NULL state");
        for (size_t i = 0; i < ARRAY_SIZE(exits); i++) {
                int ec, sig;

                slurm_exit_decode(exits[i].status, &ec, &sig);
                ok(ec == exits[i].ec && sig == exits[i].sig, "exit status %lld -> %d:%d",
                   (long long)exits[i].status, exits[i].ec, exits[i].sig);
        }
        buf = slurp("v0.0.38_job_unknown.json", &len);
        is_int(buf ? slurmrest_parse_error_number(buf, len, &en) : -1, 0, "error number found");
        is_i64(en, SLURMREST_ESLURM_INVALID_JOB_ID, "2017 invalid job id");
        free(buf);
        buf = slurp("v0.0.38_jobs.json", &len);
        is_int(buf ? slurmrest_parse_error_number(buf, len, &en) : -1, -ENODATA, "no error entry");
        free(buf);
        is_int(slurmrest_parse_error_number("{", 1, &en), -EBADMSG, "error number: bad JSON");
}

int main(void)
{
        test_fixture_table();
        check_vm_node("v0.0.37_nodes.json", SLURMREST_V0037);
        check_vm_node("v0.0.38_nodes.json", SLURMREST_V0038);
        check_vm_node("v0.0.38_node_vm.json", SLURMREST_V0038);
        check_jobs("v0.0.37_jobs.json", SLURMREST_V0037, true);
        check_jobs("v0.0.38_jobs.json", SLURMREST_V0038, true);
        check_jobs("v0.0.37_job_4.json", SLURMREST_V0037, false);
        check_jobs("v0.0.38_job_4.json", SLURMREST_V0038, false);
        test_node_cases();
        test_node_values();
        test_job_cases();
        test_job_values();
        test_misc();
        return done_testing();
}
