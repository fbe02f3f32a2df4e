/*
 * lib/gpu.c: nvidia-smi CSV and rocm-smi JSON.  nvidia-smi's query output is documented in
 * `nvidia-smi --help-query-gpu`: with "nounits" memory is MiB, power W, temperature C;
 * unavailable values print as "[N/A]" or "[Not Supported]" (old drivers: "N/A").  Columns are
 * mapped by field name (the query list, or the header of --format=csv), so the same line code
 * reads collectord's fixed query and the real captures of other queries the tests replay
 * (tests/collectord/fixtures/README.md); without "nounits" values end in " %", " MiB", " W".  rocm-smi
 * (rocm_smi_lib, python frontend) prints {"card0": {"GPU use (%)": "0", …}} with every value
 * a string; the power key changed between releases ("Average Graphics Package Power (W)",
 * "Current Socket Graphics Package Power (W)").  json-c is used directly here with the same
 * strict tokener settings as lib/jv.c, because the keys are dynamic ("card<N>").
 */
#include "config.h"
#include "gpu.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compiler.h"
#include "num.h"

#define GPU_JSON_MAX (1024 * 1024)

static void trim(const char **s, const char **e)
{
        while (*s < *e && (**s == ' ' || **s == '\t'))
                (*s)++;
        while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
                (*e)--;
}

/* "[N/A]", "[Not Supported]", "[Unknown Error]", "N/A", "N/A (Secondary die)" */
static bool is_absent(const char *s, size_t n)
{
        return n == 0 || (n >= 2 && s[0] == '[' && s[n - 1] == ']') ||
               (n >= 3 && memcmp(s, "N/A", 3) == 0);
}

static int field_double(const char *s, size_t n, double max, bool *has, double *ret)
{
        double v;

        if (is_absent(s, n)) {
                *has = false;
                return 0;
        }
        if (num_parse_double(s, n, &v) < 0 || v < 0 || v > max)
                return -EBADMSG;
        *has = true;
        *ret = v;
        return 0;
}

static int copy_text(char *dst, size_t size, const char *s, size_t n)
{
        if (n >= size)
                n = size - 1; /* names and ids are informational; cut, never overflow */
        for (size_t i = 0; i < n; i++) {
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return -EBADMSG;
        }
        memcpy(dst, s, n);
        dst[n] = '\0';
        return 0;
}

/*
 * The --query-gpu fields this parser understands (nvidia-smi --help-query-gpu names; a header
 * line prints the canonical name, the query may use the alias), and the unit nvidia-smi
 * appends to their values without "nounits" (and names in brackets in the header).  Any other
 * field is a column that is skipped.
 */
enum nv_col { NV_SKIP, NV_INDEX, NV_UUID, NV_NAME, NV_UTIL, NV_MEM_USED, NV_MEM_TOTAL,
              NV_POWER, NV_TEMP };

/* clang-format off */
static const struct {
        const char *name;
        enum nv_col col;
        const char *unit; /* "" = none */
} nv_fields[] = {
        { "index",           NV_INDEX,     "" },
        { "uuid",            NV_UUID,      "" },
        { "gpu_uuid",        NV_UUID,      "" },
        { "name",            NV_NAME,      "" },
        { "gpu_name",        NV_NAME,      "" },
        { "utilization.gpu", NV_UTIL,      "%" },
        { "memory.used",     NV_MEM_USED,  "MiB" },
        { "memory.total",    NV_MEM_TOTAL, "MiB" },
        { "power.draw",      NV_POWER,     "W" },
        { "temperature.gpu", NV_TEMP,      "" },
};
/* clang-format on */

#define NV_MAX_COLS 64

struct nv_map {
        enum nv_col col[NV_MAX_COLS];
        const char *unit[NV_MAX_COLS];
        size_t n;
        bool has_index;
        bool units; /* values may carry their unit (no "nounits") */
};

/* Splits [s, e) at commas into trimmed cells; -EBADMSG over max cells. */
static int split_cells(const char *s, const char *e, const char *cell[][2], size_t max,
                       size_t *ret_n)
{
        const char *p = s;
        size_t n = 0;

        for (;;) {
                const char *c = memchr(p, ',', (size_t)(e - p));
                const char *ce = c ? c : e;

                if (n == max)
                        return -EBADMSG; /* more columns than asked for */
                cell[n][0] = p;
                cell[n][1] = ce;
                trim(&cell[n][0], &cell[n][1]);
                n++;
                if (!c)
                        break;
                p = c + 1;
        }
        *ret_n = n;
        return 0;
}

/* Adds the column named [s, e) (a query field, or a header cell "memory.used [MiB]"). */
static int map_add(struct nv_map *m, const char *s, const char *e)
{
        const char *br = memchr(s, '[', (size_t)(e - s));
        size_t n;

        if (m->n == NV_MAX_COLS)
                return -E2BIG;
        if (br) {
                e = br; /* the header names the unit in brackets */
                trim(&s, &e);
        }
        n = (size_t)(e - s);
        if (n == 0)
                return -EBADMSG;
        m->col[m->n] = NV_SKIP;
        m->unit[m->n] = "";
        for (size_t i = 0; i < ARRAY_SIZE(nv_fields); i++) {
                if (strlen(nv_fields[i].name) == n && memcmp(nv_fields[i].name, s, n) == 0) {
                        m->col[m->n] = nv_fields[i].col;
                        m->unit[m->n] = nv_fields[i].unit;
                        m->has_index |= nv_fields[i].col == NV_INDEX;
                        break;
                }
        }
        m->n++;
        return 0;
}

/* A value cell without its unit ("36 %" -> "36") when units are allowed. */
static void strip_unit(const struct nv_map *m, size_t i, const char **s, const char **e)
{
        size_t ul = strlen(m->unit[i]);

        if (!m->units || ul == 0 || (size_t)(*e - *s) <= ul ||
            memcmp(*e - ul, m->unit[i], ul) != 0)
                return;
        *e -= ul;
        trim(s, e);
}

/* One CSV line [s, e) into d, columns as m says; `order` numbers devices without an index. */
static int nvsmi_line(const struct nv_map *m, const char *s, const char *e, size_t order,
                      struct gpu_dev *d)
{
        const char *cell[NV_MAX_COLS][2];
        size_t ncol;
        uint64_t idx;
        double mib;
        bool has;

        if (split_cells(s, e, cell, m->n, &ncol) < 0 || ncol != m->n)
                return -EBADMSG;
        memset(d, 0, sizeof(*d));
        d->vendor = GPU_NVIDIA;
        d->index = (unsigned)order; /* nvidia-smi lists devices in index order */
        for (size_t i = 0; i < ncol; i++) {
                const char *cs = cell[i][0], *ce = cell[i][1];
                size_t n;
                int r = 0;

                strip_unit(m, i, &cs, &ce);
                n = (size_t)(ce - cs);
                switch (m->col[i]) {
                case NV_SKIP:
                        break;
                case NV_INDEX:
                        r = num_parse_u64(cs, n, 4095, &idx);
                        d->index = (unsigned)idx;
                        break;
                case NV_UUID:
                        if (!is_absent(cs, n))
                                r = copy_text(d->uuid, sizeof(d->uuid), cs, n);
                        break;
                case NV_NAME:
                        r = copy_text(d->name, sizeof(d->name), cs, n);
                        break;
                case NV_UTIL:
                        r = field_double(cs, n, 100, &d->has_util, &d->util_pct);
                        break;
                case NV_MEM_USED:
                        r = field_double(cs, n, 1e9, &has, &mib);
                        d->has_mem_used = has;
                        d->mem_used_bytes = has ? (uint64_t)(mib * 1048576.0 + 0.5) : 0;
                        break;
                case NV_MEM_TOTAL:
                        r = field_double(cs, n, 1e9, &has, &mib);
                        d->has_mem_total = has;
                        d->mem_total_bytes = has ? (uint64_t)(mib * 1048576.0 + 0.5) : 0;
                        break;
                case NV_POWER:
                        r = field_double(cs, n, 1e5, &d->has_power, &d->power_w);
                        break;
                case NV_TEMP:
                        r = field_double(cs, n, 1000, &d->has_temp, &d->temp_c);
                        break;
                }
                if (r < 0)
                        return -EBADMSG;
        }
        return 0;
}

static bool index_seen(const struct gpu_list *l, unsigned idx)
{
        for (size_t i = 0; i < l->n; i++) {
                if (l->v[i].index == idx)
                        return true;
        }
        return false;
}

/* The map from a query field list "index,uuid,…". */
static int map_from_fields(const char *fields, struct nv_map *m)
{
        const char *cell[NV_MAX_COLS][2];
        size_t n;
        int r;

        if (split_cells(fields, fields + strlen(fields), cell, NV_MAX_COLS, &n) < 0)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                r = map_add(m, cell[i][0], cell[i][1]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int gpu_parse_nvsmi_csv_fields(const char *buf, size_t len, const char *fields, unsigned flags,
                               struct gpu_list *ret)
{
        struct gpu_list tmp; /* ~17 KiB: built here, copied out only on success */
        struct gpu_list *l = &tmp;
        struct nv_map m = { .units = (flags & GPU_CSV_UNITS) != 0 };
        bool header = (flags & GPU_CSV_HEADER) != 0;
        size_t pos = 0;
        int r;

        if (!fields && !header)
                return -EINVAL;
        if (fields) {
                r = map_from_fields(fields, &m);
                if (r < 0)
                        return r == -E2BIG ? -EINVAL : r;
        }
        l->n = 0;
        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                const char *s = buf + pos, *e = nl ? nl : buf + len;
                const char *ts = s, *te = e;

                pos = (size_t)(e - buf) + 1;
                trim(&ts, &te);
                if (ts == te)
                        continue;
                if (header) {
                        /* the header names the columns (canonical names, units in brackets);
                           with a query list it must have as many */
                        struct nv_map h = { .units = m.units };
                        const char *cell[NV_MAX_COLS][2];
                        size_t n;

                        header = false;
                        if (split_cells(ts, te, cell, NV_MAX_COLS, &n) < 0 || (fields && n != m.n))
                                return -EBADMSG;
                        for (size_t i = 0; i < n; i++) {
                                if (map_add(&h, cell[i][0], cell[i][1]) < 0)
                                        return -EBADMSG;
                        }
                        m = h;
                        continue;
                }
                if (l->n == GPU_MAX_DEVICES)
                        return -E2BIG;
                r = nvsmi_line(&m, s, e, l->n, &l->v[l->n]);
                if (r < 0)
                        return r;
                if (index_seen(l, l->v[l->n].index))
                        return -EBADMSG;
                l->n++;
        }
        memcpy(ret->v, l->v, l->n * sizeof(l->v[0]));
        ret->n = l->n;
        return 0;
}

int gpu_parse_nvsmi_csv(const char *buf, size_t len, struct gpu_list *ret)
{
        return gpu_parse_nvsmi_csv_fields(buf, len, GPU_NVSMI_FIELDS, 0, ret);
}

static const char *rocm_str(struct json_object *card, const char *key)
{
        struct json_object *v;

        if (!json_object_object_get_ex(card, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int rocm_double(struct json_object *card, const char *const *keys, size_t n, double max,
                       bool *has, double *ret)
{
        *has = false;
        for (size_t i = 0; i < n; i++) {
                const char *s = rocm_str(card, keys[i]);
                int r;

                if (!s)
                        continue;
                r = field_double(s, strlen(s), max, has, ret);
                if (r < 0)
                        return r;
                if (*has)
                        return 0;
        }
        return 0;
}

static int rocm_u64(struct json_object *card, const char *key, bool *has, uint64_t *ret)
{
        const char *s = rocm_str(card, key);
        uint64_t v;

        *has = false;
        if (!s || is_absent(s, strlen(s)))
                return 0;
        if (num_parse_u64(s, strlen(s), UINT64_MAX / 2, &v) < 0)
                return -EBADMSG;
        *has = true;
        *ret = v;
        return 0;
}

static int rocm_card(const char *key, struct json_object *card, struct gpu_dev *d)
{
        static const char *const util_k[] = { "GPU use (%)" };
        static const char *const power_k[] = { "Average Graphics Package Power (W)",
                                               "Current Socket Graphics Package Power (W)" };
        /* ROCm before ~3.x spelled the unit "(c)" (tests/collectord/fixtures/rocm-smi-rainbowminer749.json) */
        static const char *const temp_k[] = { "Temperature (Sensor edge) (C)",
                                              "Temperature (Sensor edge) (c)",
                                              "Temperature (Sensor junction) (C)",
                                              "Temperature (Sensor junction) (c)" };
        static const char *const name_k[] = { "Card Series", "Card series", "Device Name",
                                              "Card SKU" };
        uint64_t idx;
        const char *s;
        int r;

        if (num_parse_u64(key + 4, strlen(key + 4), 4095, &idx) < 0)
                return -EBADMSG;
        if (!json_object_is_type(card, json_type_object))
                return -EBADMSG;
        memset(d, 0, sizeof(*d));
        d->vendor = GPU_AMD;
        d->index = (unsigned)idx;
        s = rocm_str(card, "Unique ID");
        if (s && !is_absent(s, strlen(s)) && copy_text(d->uuid, sizeof(d->uuid), s, strlen(s)) < 0)
                return -EBADMSG;
        for (size_t i = 0; i < ARRAY_SIZE(name_k) && !d->name[0]; i++) {
                s = rocm_str(card, name_k[i]);
                if (s && copy_text(d->name, sizeof(d->name), s, strlen(s)) < 0)
                        return -EBADMSG;
        }
        r = rocm_double(card, util_k, 1, 100, &d->has_util, &d->util_pct);
        if (r == 0)
                r = rocm_double(card, power_k, ARRAY_SIZE(power_k), 1e5, &d->has_power,
                                 &d->power_w);
        if (r == 0)
                r = rocm_double(card, temp_k, ARRAY_SIZE(temp_k), 1000, &d->has_temp, &d->temp_c);
        if (r == 0)
                r = rocm_u64(card, "VRAM Total Used Memory (B)", &d->has_mem_used,
                             &d->mem_used_bytes);
        if (r == 0)
                r = rocm_u64(card, "VRAM Total Memory (B)", &d->has_mem_total,
                             &d->mem_total_bytes);
        return r;
}

int gpu_parse_rocm_json(const char *buf, size_t len, struct gpu_list *ret)
{
        struct gpu_list tmp;
        struct json_tokener *tok = NULL;
        struct json_object *root = NULL;
        size_t pos = 0;
        int r;

        /* skip warning lines printed before the JSON */
        while (pos < len && buf[pos] != '{') {
                const char *nl = memchr(buf + pos, '\n', len - pos);

                if (!nl)
                        return -EBADMSG;
                pos = (size_t)(nl - buf) + 1;
        }
        while (len > pos && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\r'))
                len--;
        if (pos >= len)
                return -EBADMSG;
        if (len - pos > GPU_JSON_MAX)
                return -E2BIG;
        tok = json_tokener_new_ex(4);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, buf + pos, (int)(len - pos));
        if (!root || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != len - pos ||
            !json_object_is_type(root, json_type_object)) {
                r = -EBADMSG;
                goto out;
        }
        tmp.n = 0;
        {
                json_object_object_foreach(root, key, val)
                {
                        if (strncmp(key, "card", 4) != 0)
                                continue; /* "system": driver version etc. */
                        if (tmp.n == GPU_MAX_DEVICES) {
                                r = -E2BIG;
                                goto out;
                        }
                        r = rocm_card(key, val, &tmp.v[tmp.n]);
                        if (r < 0)
                                goto out;
                        if (index_seen(&tmp, tmp.v[tmp.n].index)) {
                                r = -EBADMSG;
                                goto out;
                        }
                        tmp.n++;
                }
        }
        memcpy(ret->v, tmp.v, tmp.n * sizeof(tmp.v[0]));
        ret->n = tmp.n;
        r = 0;
out:
        json_object_put(root);
        json_tokener_free(tok);
        return r;
}

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
        }
        return true;
}

bool gpu_dev_matches(const struct gpu_dev *d, const char *id)
{
        uint64_t idx;

        if (!id || !*id)
                return false;
        if (all_digits(id))
                return num_parse_u64(id, strlen(id), 4095, &idx) == 0 && idx == d->index;
        if (strncmp(id, "card", 4) == 0 && all_digits(id + 4))
                return num_parse_u64(id + 4, strlen(id + 4), 4095, &idx) == 0 && idx == d->index;
        if (!d->uuid[0])
                return false;
        if (strcasecmp(id, d->uuid) == 0)
                return true;
        /* a bare uuid recorded without nvidia's "GPU-" prefix */
        return d->vendor == GPU_NVIDIA && strncmp(d->uuid, "GPU-", 4) == 0 &&
               strcasecmp(id, d->uuid + 4) == 0;
}

const char *gpu_dev_id(const struct gpu_dev *d, char *buf, size_t size)
{
        if (d->uuid[0])
                (void)snprintf(buf, size, "%s", d->uuid);
        else
                (void)snprintf(buf, size, "%u", d->index);
        return buf;
}
