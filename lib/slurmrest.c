/*
 * lib/slurmrest.c: slurmrestd JSON (OpenAPI plugins v0.0.37 and v0.0.38 of Slurm 22.05; the
 * samples in tests/slurmrest/fixtures/ are real 22.05.8 responses).
 *
 * Why json-c is used directly instead of jv_dispatch(): jv_dispatch() fills a struct from the
 * top-level object only, and Slurm's data sits in arrays of objects ("nodes", "jobs") and
 * in version-specific nested objects (job_resources); Slurm's numbers also come in two shapes
 * (a plain integer, or {set, infinite, number} from v0.0.40 on).  The tokener is set up as
 * jv_parse() does it (strict, UTF-8 validated, depth-capped, no trailing bytes) and each
 * object is read through the small typed readers below, which skip unknown keys.
 *
 * Version-specific shapes handled (node objects are identical in 37 and 38):
 *   job_resources  v0.0.37 {allocated_cpus, allocated_nodes: {"<index>": {cpus, memory}}}
 *                  v0.0.38 {allocated_cores, allocated_nodes: [{nodename, memory_allocated}]}
 *   v0.0.38 adds group_name, container and prefer to jobs (not used here).
 */
#include "config.h"
#include "slurmrest.h"

#include <errno.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jv.h"
#include "num.h"
#include "strbuf.h"
#include "valid.h"

#define STR_MAX 4096 /* any string field we keep */
#define MIB     1048576LL

/* Slurm's "no value" and "infinite" markers (slurm.h: NO_VAL, INFINITE, NO_VAL64, INFINITE64) */
#define SL_NO_VAL     0xfffffffeULL
#define SL_INFINITE   0xffffffffULL
#define SL_NO_VAL64   0xfffffffffffffffeULL

int slurmrest_version_parse(const char *s, enum slurmrest_version *ret)
{
        if (!s)
                return -EINVAL;
        if (strcmp(s, "v0.0.37") == 0) {
                *ret = SLURMREST_V0037;
                return 0;
        }
        if (strcmp(s, "v0.0.38") == 0) {
                *ret = SLURMREST_V0038;
                return 0;
        }
        return -EINVAL;
}

/* ---- typed readers: absent and null are the same; a wrong type is -EPROTO -------------- */

static struct json_object *member(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v))
                return NULL;
        return v; /* NULL for JSON null too */
}

/*
 * An unsigned integer <= max, or -1 for "absent": missing, null, Slurm's NO_VAL/INFINITE
 * markers, {set: false} or {infinite: true}.  Negative values and doubles are -EPROTO.
 */
static int num_value(struct json_object *v, int64_t max, int64_t *ret)
{
        uint64_t u;

        if (!v) {
                *ret = -1;
                return 0;
        }
        if (json_object_is_type(v, json_type_object)) {
                struct json_object *set = member(v, "set"), *inf = member(v, "infinite");

                if ((set && !json_object_is_type(set, json_type_boolean)) ||
                    (inf && !json_object_is_type(inf, json_type_boolean)))
                        return -EPROTO;
                if ((set && !json_object_get_boolean(set)) || (inf && json_object_get_boolean(inf))) {
                        *ret = -1;
                        return 0;
                }
                v = member(v, "number");
                if (!v || json_object_is_type(v, json_type_object))
                        return -EPROTO;
                return num_value(v, max, ret);
        }
        if (!json_object_is_type(v, json_type_int))
                return -EPROTO;
        if (json_object_get_int64(v) < 0)
                return -EPROTO;
        u = json_object_get_uint64(v);
        if (u == SL_NO_VAL || u == SL_INFINITE || u >= SL_NO_VAL64) {
                *ret = -1;
                return 0;
        }
        if (u > (uint64_t)max)
                return -EPROTO;
        *ret = (int64_t)u;
        return 0;
}

static int rd_num(struct json_object *o, const char *key, int64_t max, int64_t *ret,
                  const char **ef)
{
        int r = num_value(member(o, key), max, ret);

        if (r < 0)
                *ef = key;
        return r;
}

/* A string of at most STR_MAX bytes; NULL when absent, null or empty (unless keep_empty). */
static int rd_str(struct json_object *o, const char *key, bool required, bool keep_empty,
                  char **ret, const char **ef)
{
        struct json_object *v = member(o, key);
        const char *s;
        size_t len;

        *ret = NULL;
        if (!v) {
                if (required)
                        goto bad;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                goto bad;
        s = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        if (len > STR_MAX || memchr(s, '\0', len))
                goto bad;
        if (len == 0 && !keep_empty) {
                if (required)
                        goto bad;
                return 0;
        }
        *ret = strndup(s, len);
        return *ret ? 0 : -ENOMEM;
bad:
        *ef = key;
        return -EPROTO;
}

/* An array of strings (absent/null = empty); the items are not copied: borrowed from o. */
static int rd_strarr_len(struct json_object *o, const char *key, size_t max_items,
                         struct json_object **ret_arr, size_t *ret_n, const char **ef)
{
        struct json_object *v = member(o, key);
        size_t n;

        *ret_arr = NULL;
        *ret_n = 0;
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_array))
                goto bad;
        n = json_object_array_length(v);
        if (n > max_items)
                goto bad;
        for (size_t i = 0; i < n; i++) {
                struct json_object *it = json_object_array_get_idx(v, i);

                if (!it || !json_object_is_type(it, json_type_string) ||
                    json_object_get_string_len(it) > STR_MAX)
                        goto bad;
        }
        *ret_arr = v;
        *ret_n = n;
        return 0;
bad:
        *ef = key;
        return -EPROTO;
}

static char *lower_dup(const char *s)
{
        char *d = strdup(s);

        for (char *p = d; p && *p; p++) {
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        }
        return d;
}

static bool upper_name(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++) {
                if (!((*s >= 'A' && *s <= 'Z') || *s == '_'))
                        return false;
        }
        return true;
}

/* ---- document level ------------------------------------------------------------------ */

/*
 * jv_parse() validates first: it is the project's strict JSON gate (integers outside
 * [INT64_MIN, UINT64_MAX], which json-c would saturate into Slurm's INFINITE64, single quotes
 * and other json-c leniencies are rejected there).  json-c then builds the tree walked here;
 * parsing twice costs a few milliseconds per megabyte, once per collection cycle.
 */
static int parse_doc(const char *buf, size_t len, struct json_object **ret)
{
        struct json_tokener *tok = NULL;
        struct json_object *root = NULL;
        struct jv *checked = NULL;
        int r;

        if (len > SLURMREST_MAX_BYTES || len > INT32_MAX)
                return -E2BIG;
        r = jv_parse(buf, len, SLURMREST_MAX_BYTES, SLURMREST_MAX_DEPTH, &checked);
        jv_free(checked);
        if (r < 0)
                return r;
        tok = json_tokener_new_ex(SLURMREST_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, buf, (int)len);
        if (!root || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != len) {
                r = -EBADMSG;
                goto out;
        }
        *ret = root;
        root = NULL;
        r = 0;
out:
        json_object_put(root);
        json_tokener_free(tok);
        return r;
}

/* meta.plugin.type is "openapi/v0.0.NN" (the '/' is escaped as "\/" on the wire). */
static int check_envelope(struct json_object *root, enum slurmrest_version ver, const char *list,
                          struct json_object **ret_items, const char **ef)
{
        struct json_object *meta, *plugin, *type, *errors, *items;
        char want[32];
        int n;

        if (!json_object_is_type(root, json_type_object)) {
                *ef = "(root)";
                return -EPROTO;
        }
        errors = member(root, "errors");
        if (errors && (!json_object_is_type(errors, json_type_array) ||
                       json_object_array_length(errors) > 0)) {
                *ef = "errors";
                return -EPROTO;
        }
        meta = member(root, "meta");
        plugin = meta && json_object_is_type(meta, json_type_object) ? member(meta, "plugin") : NULL;
        type = plugin && json_object_is_type(plugin, json_type_object) ? member(plugin, "type")
                                                                       : NULL;
        n = snprintf(want, sizeof(want), "openapi/v0.0.%d", (int)ver);
        if (n < 0 || (size_t)n >= sizeof(want) || !type ||
            !json_object_is_type(type, json_type_string) ||
            strcmp(json_object_get_string(type), want) != 0) {
                *ef = "meta.plugin.type";
                return -EPROTO;
        }
        items = member(root, list);
        if (!items || !json_object_is_type(items, json_type_array)) {
                *ef = list;
                return -EPROTO;
        }
        *ret_items = items;
        return 0;
}

int slurmrest_parse_error_number(const char *buf, size_t len, int64_t *ret)
{
        struct json_object *root = NULL, *errors, *first;
        int64_t v;
        int r;

        r = parse_doc(buf, len, &root);
        if (r < 0)
                return r;
        errors = json_object_is_type(root, json_type_object) ? member(root, "errors") : NULL;
        if (!errors || !json_object_is_type(errors, json_type_array) ||
            json_object_array_length(errors) == 0) {
                r = -ENODATA;
                goto out;
        }
        first = json_object_array_get_idx(errors, 0);
        if (!first || !json_object_is_type(first, json_type_object) ||
            num_value(member(first, "error_number"), INT32_MAX, &v) < 0 || v < 0) {
                r = -EPROTO;
                goto out;
        }
        *ret = v;
        r = 0;
out:
        json_object_put(root);
        return r;
}

/* ---- nodes --------------------------------------------------------------------------- */

static void node_clear(struct slurm_node *n)
{
        free(n->name);
        free(n->state);
        free(n->state_flags);
        free(n->reason);
        for (size_t i = 0; i < n->n_partitions; i++)
                free(n->partitions[i]);
        free(n->partitions);
        memset(n, 0, sizeof(*n));
}

void slurm_node_list_clear(struct slurm_node_list *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                node_clear(&l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

static int mib_to_bytes(struct json_object *o, const char *key, int64_t *ret, const char **ef)
{
        int64_t mib;
        int r = rd_num(o, key, INT64_MAX / MIB, &mib, ef);

        if (r < 0)
                return r;
        *ret = mib < 0 ? -1 : mib * MIB;
        return 0;
}

/* "state_flags": ["DRAIN", "NOT_RESPONDING"] -> "DRAIN+NOT_RESPONDING" */
static int join_flags(struct json_object *arr, size_t n, char **ret, const char **ef)
{
        struct strbuf sb;
        char *s;

        strbuf_init(&sb, STR_MAX);
        for (size_t i = 0; i < n; i++) {
                const char *f = json_object_get_string(json_object_array_get_idx(arr, i));

                if (!upper_name(f)) {
                        strbuf_clear(&sb);
                        *ef = "state_flags";
                        return -EPROTO;
                }
                if (i)
                        strbuf_addc(&sb, '+');
                strbuf_adds(&sb, f);
        }
        if (strbuf_failed(&sb)) {
                strbuf_clear(&sb);
                *ef = "state_flags";
                return -EPROTO;
        }
        s = strbuf_take(&sb);
        strbuf_clear(&sb);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int parse_node(struct json_object *o, struct slurm_node *n, const char **ef)
{
        struct json_object *arr;
        size_t cnt;
        int64_t load;
        int r;

        if (!json_object_is_type(o, json_type_object)) {
                *ef = "nodes";
                return -EPROTO;
        }
        r = rd_str(o, "name", true, false, &n->name, ef);
        if (r < 0)
                return r;
        if (!valid_hostname(n->name, strlen(n->name))) {
                *ef = "name";
                return -EPROTO;
        }
        r = rd_str(o, "state", true, false, &n->state, ef);
        if (r < 0)
                return r;
        {
                char *low = lower_dup(n->state);

                if (!low)
                        return -ENOMEM;
                free(n->state);
                n->state = low;
        }
        r = rd_strarr_len(o, "state_flags", 64, &arr, &cnt, ef);
        if (r == 0)
                r = join_flags(arr, cnt, &n->state_flags, ef);
        if (r == 0)
                r = rd_str(o, "reason", false, true, &n->reason, ef);
        if (r == 0 && !n->reason) {
                n->reason = strdup("");
                if (!n->reason)
                        r = -ENOMEM;
        }
        if (r == 0)
                r = rd_num(o, "cpus", INT32_MAX, &n->cpus, ef);
        if (r == 0)
                r = rd_num(o, "alloc_cpus", INT32_MAX, &n->alloc_cpus, ef);
        if (r == 0)
                r = rd_num(o, "idle_cpus", INT32_MAX, &n->idle_cpus, ef);
        if (r == 0)
                r = rd_num(o, "cpu_load", INT32_MAX, &load, ef);
        if (r == 0 && load >= 0) {
                n->load = (double)load / 100.0;
                n->has_load = true;
        }
        if (r == 0)
                r = mib_to_bytes(o, "real_memory", &n->mem_total_bytes, ef);
        if (r == 0)
                r = mib_to_bytes(o, "alloc_memory", &n->mem_alloc_bytes, ef);
        if (r == 0)
                r = mib_to_bytes(o, "free_memory", &n->mem_free_bytes, ef);
        if (r < 0)
                return r;
        /* v0.0.37+ always send these two; their absence means another API shape */
        if (!member(o, "alloc_cpus") || !member(o, "alloc_memory")) {
                *ef = !member(o, "alloc_cpus") ? "alloc_cpus" : "alloc_memory";
                return -EPROTO;
        }
        r = rd_strarr_len(o, "partitions", 4096, &arr, &cnt, ef);
        if (r < 0)
                return r;
        if (cnt) {
                n->partitions = calloc(cnt, sizeof(*n->partitions));
                if (!n->partitions)
                        return -ENOMEM;
                for (size_t i = 0; i < cnt; i++) {
                        struct json_object *it = json_object_array_get_idx(arr, i);
                        const char *p = json_object_get_string(it);

                        if (!valid_name(p, (size_t)json_object_get_string_len(it))) {
                                *ef = "partitions";
                                return -EPROTO;
                        }
                        n->partitions[i] = strdup(p);
                        if (!n->partitions[i])
                                return -ENOMEM;
                        n->n_partitions = i + 1;
                }
        }
        return 0;
}

int slurmrest_parse_nodes(const char *buf, size_t len, enum slurmrest_version ver,
                          struct slurm_node_list *ret, const char **reterr_field)
{
        struct json_object *root = NULL, *items;
        struct slurm_node_list l = { 0 };
        const char *ef = NULL;
        size_t n;
        int r;

        r = parse_doc(buf, len, &root);
        if (r < 0)
                goto out;
        r = check_envelope(root, ver, "nodes", &items, &ef);
        if (r < 0)
                goto out;
        n = json_object_array_length(items);
        if (n > SLURMREST_MAX_NODES) {
                ef = "nodes";
                r = -E2BIG;
                goto out;
        }
        l.v = calloc(n ? n : 1, sizeof(*l.v));
        if (!l.v) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                l.n = i + 1; /* parse_node() may fill part of it: clear it on failure */
                r = parse_node(json_object_array_get_idx(items, i), &l.v[i], &ef);
                if (r < 0)
                        goto out;
        }
        l.n = n;
        *ret = l;
        l = (struct slurm_node_list){ 0 };
out:
        if (r < 0 && reterr_field)
                *reterr_field = ef;
        slurm_node_list_clear(&l);
        json_object_put(root);
        return r;
}

/* ---- jobs ---------------------------------------------------------------------------- */

static void job_clear(struct slurm_job *j)
{
        free(j->state);
        free(j->state_reason);
        free(j->name);
        free(j->user_name);
        free(j->account);
        free(j->partition);
        free(j->cluster);
        hostlist_clear(&j->nodes);
        memset(j, 0, sizeof(*j));
}

void slurm_job_list_clear(struct slurm_job_list *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                job_clear(&l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

/*
 * "mem=" of tres_alloc_str ("cpu=2,mem=500M,node=1,billing=2") in MiB; -1 when absent.
 * Slurm prints the value with a unit suffix K, M, G, T or P (src/common/slurmdb_defs.c).
 */
static int tres_mem_mb(const char *tres, int64_t *ret)
{
        const char *p = tres;

        *ret = -1;
        while (p && *p) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);

                if (len > 5 && strncmp(p, "mem=", 4) == 0) {
                        static const struct {
                                char unit;
                                double mib;
                        } units[] = { { 'K', 1.0 / 1024 }, { 'M', 1 }, { 'G', 1024 },
                                      { 'T', 1048576.0 }, { 'P', 1073741824.0 } };
                        double v;

                        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                                if (p[len - 1] != units[i].unit)
                                        continue;
                                if (num_parse_double(p + 4, len - 5, &v) < 0 || v < 0 ||
                                    v * units[i].mib > (double)(INT64_MAX / MIB))
                                        return -EPROTO;
                                *ret = (int64_t)(v * units[i].mib + 0.5);
                                return 0;
                        }
                        return -EPROTO;
                }
                p = end ? end + 1 : NULL;
        }
        return 0;
}

/* Sum of the GPUs in gres_detail: "gpu:1(IDX:0)", "gpu:a100:2(IDX:0-1)"; other gres skipped. */
static int gres_gpus(struct json_object *arr, size_t n, int64_t *ret)
{
        int64_t sum = 0;

        for (size_t i = 0; i < n; i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
                const char *paren, *colon;
                uint64_t v;

                if (strncmp(s, "gpu:", 4) != 0)
                        continue;
                paren = strchr(s, '(');
                if (!paren)
                        paren = s + strlen(s);
                colon = paren;
                while (colon > s && colon[-1] != ':')
                        colon--;
                if (num_parse_u64(colon, (size_t)(paren - colon), 1u << 20, &v) < 0)
                        return -EPROTO;
                sum += (int64_t)v;
        }
        *ret = sum;
        return 0;
}

/* CPUs and memory (MiB) from job_resources, version-specific (see the top of the file). */
static int job_resources(struct json_object *o, enum slurmrest_version ver, int64_t *ret_cpus,
                         int64_t *ret_mem, const char **ef)
{
        struct json_object *jr = member(o, "job_resources"), *an;
        int64_t mem = 0, v;
        int r;

        *ret_cpus = -1;
        *ret_mem = -1;
        if (!jr)
                return 0;
        if (!json_object_is_type(jr, json_type_object))
                goto bad;
        r = num_value(member(jr, ver == SLURMREST_V0037 ? "allocated_cpus" : "allocated_cores"),
                      INT32_MAX, ret_cpus);
        if (r < 0)
                goto bad;
        an = member(jr, "allocated_nodes");
        if (!an)
                return 0;
        if (ver == SLURMREST_V0037) {
                if (!json_object_is_type(an, json_type_object))
                        goto bad;
                json_object_object_foreach(an, key, node)
                {
                        (void)key;
                        if (!json_object_is_type(node, json_type_object) ||
                            num_value(member(node, "memory"), INT32_MAX, &v) < 0)
                                goto bad;
                        mem += v > 0 ? v : 0;
                }
        } else {
                size_t n;

                if (!json_object_is_type(an, json_type_array))
                        goto bad;
                n = json_object_array_length(an);
                for (size_t i = 0; i < n; i++) {
                        struct json_object *node = json_object_array_get_idx(an, i);

                        if (!node || !json_object_is_type(node, json_type_object) ||
                            num_value(member(node, "memory_allocated"), INT32_MAX, &v) < 0)
                                goto bad;
                        mem += v > 0 ? v : 0;
                }
        }
        *ret_mem = mem > 0 ? mem : -1;
        return 0;
bad:
        *ef = "job_resources";
        return -EPROTO;
}

static int job_strings(struct json_object *o, struct slurm_job *j, const char **ef)
{
        int r;

        r = rd_str(o, "job_state", true, false, &j->state, ef);
        if (r == 0 && !upper_name(j->state)) {
                *ef = "job_state";
                r = -EPROTO;
        }
        if (r == 0)
                r = rd_str(o, "state_reason", false, false, &j->state_reason, ef);
        if (r == 0)
                r = rd_str(o, "name", false, false, &j->name, ef);
        if (r == 0)
                r = rd_str(o, "user_name", false, false, &j->user_name, ef);
        if (r == 0)
                r = rd_str(o, "account", false, false, &j->account, ef);
        if (r == 0)
                r = rd_str(o, "partition", false, false, &j->partition, ef);
        if (r == 0)
                r = rd_str(o, "cluster", false, false, &j->cluster, ef);
        if (r < 0)
                return r;
        /* names hjo stores must be valid_name(); Slurm's are, so anything else is a bad shape */
        if (j->user_name && !valid_name(j->user_name, strlen(j->user_name)))
                *ef = "user_name";
        else if (j->account && !valid_name(j->account, strlen(j->account)))
                *ef = "account";
        else if (j->partition && !valid_name(j->partition, strlen(j->partition)))
                *ef = "partition";
        else if (j->cluster && !valid_name(j->cluster, strlen(j->cluster)))
                *ef = "cluster";
        else
                return 0;
        return -EPROTO;
}

static int job_times(struct json_object *o, struct slurm_job *j, const char **ef)
{
        /* Unix seconds; Slurm's 0 means "not yet" */
        static const int64_t tmax = 253402300799; /* 9999-12-31T23:59:59Z */
        int r;

        r = rd_num(o, "submit_time", tmax, &j->submit_time, ef);
        if (r == 0)
                r = rd_num(o, "start_time", tmax, &j->start_time, ef);
        if (r == 0)
                r = rd_num(o, "end_time", tmax, &j->end_time, ef);
        if (r < 0)
                return r;
        if (j->submit_time == 0)
                j->submit_time = -1;
        if (j->start_time == 0)
                j->start_time = -1;
        if (j->end_time == 0)
                j->end_time = -1;
        return 0;
}

static int parse_job(struct json_object *o, enum slurmrest_version ver, struct slurm_job *j,
                     const char **ef)
{
        struct json_object *arr;
        char *nodes = NULL, *tres = NULL;
        int64_t id = -1, per_node = -1, per_cpu = -1, node_count = -1, jr_cpus = -1, jr_mem = -1;
        size_t cnt;
        int r;

        if (!json_object_is_type(o, json_type_object)) {
                *ef = "jobs";
                return -EPROTO;
        }
        r = rd_num(o, "job_id", UINT32_MAX, &id, ef);
        if (r == 0 && id <= 0) {
                *ef = "job_id";
                r = -EPROTO;
        }
        if (r < 0)
                return r;
        j->job_id = (uint64_t)id;
        j->mem_mb = -1;
        r = job_strings(o, j, ef);
        if (r == 0)
                r = job_times(o, j, ef);
        if (r == 0)
                r = rd_num(o, "exit_code", INT32_MAX, &j->exit_status, ef);
        if (r == 0)
                r = rd_num(o, "cpus", INT32_MAX, &j->cpus, ef);
        if (r == 0)
                r = rd_num(o, "time_limit", INT32_MAX, &j->time_limit_min, ef);
        if (r == 0)
                r = rd_num(o, "node_count", INT32_MAX, &node_count, ef);
        if (r == 0)
                r = rd_num(o, "memory_per_node", INT64_MAX / MIB, &per_node, ef);
        if (r == 0)
                r = rd_num(o, "memory_per_cpu", INT64_MAX / MIB, &per_cpu, ef);
        if (r == 0)
                r = job_resources(o, ver, &jr_cpus, &jr_mem, ef);
        if (r == 0)
                r = rd_strarr_len(o, "gres_detail", 4096, &arr, &cnt, ef);
        if (r == 0) {
                j->gpus = member(o, "gres_detail") ? 0 : -1;
                if (cnt)
                        r = gres_gpus(arr, cnt, &j->gpus);
                if (r < 0)
                        *ef = "gres_detail";
        }
        if (r == 0)
                r = rd_str(o, "tres_alloc_str", false, false, &tres, ef);
        if (r == 0 && tres) {
                r = tres_mem_mb(tres, &j->mem_mb);
                if (r < 0)
                        *ef = "tres_alloc_str";
        }
        if (r == 0)
                r = rd_str(o, "nodes", false, false, &nodes, ef);
        if (r == 0 && nodes) {
                r = hostlist_expand(nodes, strlen(nodes), SLURMREST_MAX_JOB_NODES, &j->nodes);
                if (r < 0) {
                        *ef = "nodes";
                        r = r == -ENOMEM ? r : -EPROTO;
                }
        }
        free(nodes);
        free(tres);
        if (r < 0)
                return r;
        /* allocated memory: TRES first (what was allocated), then the per-node/per-CPU request */
        if (j->mem_mb < 0)
                j->mem_mb = jr_mem;
        if (j->mem_mb < 0 && per_node >= 0 && node_count > 0 && per_node <= INT64_MAX / MIB / node_count)
                j->mem_mb = per_node * node_count;
        if (j->mem_mb < 0 && per_cpu >= 0 && j->cpus > 0 && per_cpu <= INT64_MAX / MIB / j->cpus)
                j->mem_mb = per_cpu * j->cpus;
        if (j->cpus < 0)
                j->cpus = jr_cpus;
        return 0;
}

int slurmrest_parse_jobs(const char *buf, size_t len, enum slurmrest_version ver,
                         struct slurm_job_list *ret, const char **reterr_field)
{
        struct json_object *root = NULL, *items;
        struct slurm_job_list l = { 0 };
        const char *ef = NULL;
        size_t n;
        int r;

        r = parse_doc(buf, len, &root);
        if (r < 0)
                goto out;
        r = check_envelope(root, ver, "jobs", &items, &ef);
        if (r < 0)
                goto out;
        n = json_object_array_length(items);
        if (n > SLURMREST_MAX_JOBS) {
                ef = "jobs";
                r = -E2BIG;
                goto out;
        }
        l.v = calloc(n ? n : 1, sizeof(*l.v));
        if (!l.v) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                l.n = i + 1;
                r = parse_job(json_object_array_get_idx(items, i), ver, &l.v[i], &ef);
                if (r < 0)
                        goto out;
        }
        l.n = n;
        *ret = l;
        l = (struct slurm_job_list){ 0 };
out:
        if (r < 0 && reterr_field)
                *reterr_field = ef;
        slurm_job_list_clear(&l);
        json_object_put(root);
        return r;
}

/* ---- states and exit codes ----------------------------------------------------------- */

/* Slurm's job_state_string() names (src/common/slurm_protocol_defs.c, 22.05) */
static const char *const final_states[] = {
        "COMPLETED", "FAILED",    "TIMEOUT",   "CANCELLED", "OUT_OF_MEMORY",
        "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE",
};
static const char *const started_states[] = {
        "RUNNING", "SUSPENDED", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
        for (size_t i = 0; s && i < n; i++) {
                if (strcmp(s, list[i]) == 0)
                        return true;
        }
        return false;
}

bool slurm_state_is_final(const char *state)
{
        return in_list(state, final_states, sizeof(final_states) / sizeof(final_states[0]));
}

bool slurm_state_is_started(const char *state)
{
        return in_list(state, started_states, sizeof(started_states) / sizeof(started_states[0]));
}

void slurm_exit_decode(int64_t status, int *ret_exit, int *ret_signal)
{
        int sig;

        if (status < 0) {
                *ret_exit = -1;
                *ret_signal = -1;
                return;
        }
        sig = (int)(status & 0x7f);
        *ret_exit = (int)((status >> 8) & 0xff);
        *ret_signal = sig <= 64 ? sig : -1;
}
