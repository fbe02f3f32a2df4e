/*
 * lib/gpu.c: nvidia-smi CSV and rocm-smi JSON.  nvidia-smi's query output is documented in
 * `nvidia-smi --help-query-gpu`: with "nounits" memory is MiB, power W, temperature C;
 * unavailable values print as "[N/A]" or "[Not Supported]" (old drivers: "N/A").  rocm-smi
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

/* One CSV line [s, e) into d. */
static int nvsmi_line(const char *s, const char *e, struct gpu_dev *d)
{
        const char *col[8][2];
        size_t ncol = 0;
        const char *p = s;
        uint64_t idx;
        double mib;
        bool has;

        for (;;) {
                const char *c = memchr(p, ',', (size_t)(e - p));
                const char *ce = c ? c : e;

                if (ncol == 8)
                        return -EBADMSG; /* more columns than asked for */
                col[ncol][0] = p;
                col[ncol][1] = ce;
                trim(&col[ncol][0], &col[ncol][1]);
                ncol++;
                if (!c)
                        break;
                p = c + 1;
        }
        if (ncol != 8)
                return -EBADMSG;
        memset(d, 0, sizeof(*d));
        d->vendor = GPU_NVIDIA;
        if (num_parse_u64(col[0][0], (size_t)(col[0][1] - col[0][0]), 4095, &idx) < 0)
                return -EBADMSG;
        d->index = (unsigned)idx;
        if (!is_absent(col[1][0], (size_t)(col[1][1] - col[1][0])) &&
            copy_text(d->uuid, sizeof(d->uuid), col[1][0], (size_t)(col[1][1] - col[1][0])) < 0)
                return -EBADMSG;
        if (copy_text(d->name, sizeof(d->name), col[2][0], (size_t)(col[2][1] - col[2][0])) < 0)
                return -EBADMSG;
        if (field_double(col[3][0], (size_t)(col[3][1] - col[3][0]), 100, &d->has_util,
                         &d->util_pct) < 0)
                return -EBADMSG;
        if (field_double(col[4][0], (size_t)(col[4][1] - col[4][0]), 1e9, &has, &mib) < 0)
                return -EBADMSG;
        d->has_mem_used = has;
        d->mem_used_bytes = has ? (uint64_t)(mib * 1048576.0 + 0.5) : 0;
        if (field_double(col[5][0], (size_t)(col[5][1] - col[5][0]), 1e9, &has, &mib) < 0)
                return -EBADMSG;
        d->has_mem_total = has;
        d->mem_total_bytes = has ? (uint64_t)(mib * 1048576.0 + 0.5) : 0;
        if (field_double(col[6][0], (size_t)(col[6][1] - col[6][0]), 1e5, &d->has_power,
                         &d->power_w) < 0)
                return -EBADMSG;
        if (field_double(col[7][0], (size_t)(col[7][1] - col[7][0]), 1000, &d->has_temp,
                         &d->temp_c) < 0)
                return -EBADMSG;
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

int gpu_parse_nvsmi_csv(const char *buf, size_t len, struct gpu_list *ret)
{
        struct gpu_list tmp; /* ~17 KiB: built here, copied out only on success */
        struct gpu_list *l = &tmp;
        size_t pos = 0;
        int r;

        l->n = 0;
        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                const char *s = buf + pos, *e = nl ? nl : buf + len;
                const char *ts = s, *te = e;

                pos = (size_t)(e - buf) + 1;
                trim(&ts, &te);
                if (ts == te)
                        continue;
                if (l->n == GPU_MAX_DEVICES)
                        return -E2BIG;
                r = nvsmi_line(s, e, &l->v[l->n]);
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
        static const char *const temp_k[] = { "Temperature (Sensor edge) (C)",
                                              "Temperature (Sensor junction) (C)" };
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
                r = rocm_double(card, power_k, 2, 1e5, &d->has_power, &d->power_w);
        if (r == 0)
                r = rocm_double(card, temp_k, 2, 1000, &d->has_temp, &d->temp_c);
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
