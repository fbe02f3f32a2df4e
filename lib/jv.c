/*
 * lib/jv.c: strict JSON input on top of json-c 0.16 (STYLE 4.9).
 *
 * json-c's JSON_TOKENER_STRICT is not strict enough on its own.  With 0.16 it still accepts
 * single-quoted strings, NaN/Infinity, raw control characters inside strings, overlong and
 * surrogate UTF-8 sequences (JSON_TOKENER_VALIDATE_UTF8 only checks the byte pattern), and it
 * saturates integers outside [INT64_MIN, UINT64_MAX] without any error.  So jv_parse() first
 * runs a small RFC 8259 lexer over the raw text (tokens only; nesting is left to json-c), checks
 * UTF-8 with valid_utf8(), and only then hands the text to the tokener.  A top-level scalar
 * such as "123" leaves the tokener in json_tokener_continue (a number might go on), so one
 * space is fed to finish it.
 */
#include "config.h"
#include "jv.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "rfc3339.h"
#include "valid.h"

struct jv {
        struct json_object *root; /* NULL for the JSON text "null" */
};

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string token starting at buf[*pos] == '"'; raw bytes >= 0x80 are checked elsewhere. */
static bool lex_string(const char *buf, size_t len, size_t *pos)
{
        size_t i = *pos + 1;

        while (i < len) {
                unsigned char c = (unsigned char)buf[i];

                if (c == '"') {
                        *pos = i + 1;
                        return true;
                }
                if (c < 0x20)
                        return false; /* RFC 8259 section 7: controls must be escaped */
                if (c != '\\') {
                        i++;
                        continue;
                }
                if (i + 1 >= len)
                        return false;
                switch (buf[i + 1]) {
                case '"':
                case '\\':
                case '/':
                case 'b':
                case 'f':
                case 'n':
                case 'r':
                case 't':
                        i += 2;
                        break;
                case 'u':
                        if (len - i < 6 || !is_hex(buf[i + 2]) || !is_hex(buf[i + 3]) ||
                            !is_hex(buf[i + 4]) || !is_hex(buf[i + 5]))
                                return false;
                        i += 6;
                        break;
                default:
                        return false;
                }
        }
        return false; /* unterminated */
}

/*
 * A number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?.  Integers (no fraction, no
 * exponent) must fit in [INT64_MIN, UINT64_MAX] because json-c would silently saturate them.
 */
static bool lex_number(const char *buf, size_t len, size_t *pos)
{
        size_t i = *pos, start = *pos, n;
        bool is_int = true;

        if (buf[i] == '-')
                i++;
        if (i >= len || !is_digit(buf[i]))
                return false;
        if (buf[i] == '0')
                i++;
        else
                while (i < len && is_digit(buf[i]))
                        i++;
        if (i < len && buf[i] == '.') {
                is_int = false;
                i++;
                for (n = 0; i < len && is_digit(buf[i]); i++)
                        n++;
                if (n == 0)
                        return false;
        }
        if (i < len && (buf[i] == 'e' || buf[i] == 'E')) {
                is_int = false;
                i++;
                if (i < len && (buf[i] == '-' || buf[i] == '+'))
                        i++;
                for (n = 0; i < len && is_digit(buf[i]); i++)
                        n++;
                if (n == 0)
                        return false;
        }
        if (is_int) {
                int64_t i64;
                uint64_t u64;

                if (buf[start] == '-') {
                        if (num_parse_i64(buf + start, i - start, INT64_MIN, 0, &i64) < 0)
                                return false;
                } else if (num_parse_u64(buf + start, i - start, UINT64_MAX, &u64) < 0) {
                        return false;
                }
        }
        *pos = i;
        return true;
}

static bool lex_word(const char *buf, size_t len, size_t *pos, const char *w)
{
        size_t n = strlen(w);

        if (len - *pos < n || memcmp(buf + *pos, w, n) != 0)
                return false;
        *pos += n;
        return true;
}

/* True when every token of buf is an RFC 8259 token (structure is json-c's job). */
static bool lex_ok(const char *buf, size_t len)
{
        size_t i = 0;

        while (i < len) {
                switch (buf[i]) {
                case ' ':
                case '\t':
                case '\n':
                case '\r':
                case '{':
                case '}':
                case '[':
                case ']':
                case ':':
                case ',':
                        i++;
                        break;
                case '"':
                        if (!lex_string(buf, len, &i))
                                return false;
                        break;
                case 't':
                        if (!lex_word(buf, len, &i, "true"))
                                return false;
                        break;
                case 'f':
                        if (!lex_word(buf, len, &i, "false"))
                                return false;
                        break;
                case 'n':
                        if (!lex_word(buf, len, &i, "null"))
                                return false;
                        break;
                default:
                        if (buf[i] != '-' && !is_digit(buf[i]))
                                return false;
                        if (!lex_number(buf, len, &i))
                                return false;
                        break;
                }
        }
        return true;
}

int jv_parse(const char *buf, size_t len, size_t max_len, int max_depth, struct jv **ret)
{
        struct json_tokener *tok = NULL;
        struct json_object *root = NULL;
        struct jv *j = NULL;
        size_t end;
        int r;

        if (!buf && len > 0)
                return -EINVAL;
        if (max_depth < 1)
                return -EINVAL;
        if (len > max_len || len > INT_MAX)
                return -E2BIG;
        if (!buf)
                buf = "";
        if (!valid_utf8(buf, len) || !lex_ok(buf, len))
                return -EBADMSG;
        tok = json_tokener_new_ex(max_depth);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, buf, (int)len);
        end = len;
        if (json_tokener_get_error(tok) == json_tokener_continue) {
                /* a top-level scalar ("123", "true") needs a delimiter to finish */
                root = json_tokener_parse_ex(tok, " ", 1);
                end = 1;
        }
        if (json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != end) {
                r = -EBADMSG;
                goto out;
        }
        j = calloc(1, sizeof(*j));
        if (!j) {
                r = -ENOMEM;
                goto out;
        }
        j->root = root;
        root = NULL; /* owned by j */
        *ret = j;
        r = 0;
out:
        json_object_put(root);
        json_tokener_free(tok);
        return r;
}

void jv_free(struct jv *j)
{
        if (!j)
                return;
        json_object_put(j->root);
        free(j);
}

bool jv_is_object(const struct jv *j)
{
        return j && j->root && json_object_is_type(j->root, json_type_object);
}

static int jv_wrap(struct json_object *o, struct jv **ret)
{
        struct jv *j;

        if (!o)
                return -ENOENT; /* JSON null */
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->root = json_object_get(o); /* shared with the parent document */
        *ret = j;
        return 0;
}

int jv_member(const struct jv *j, const char *key, struct jv **ret)
{
        struct json_object *o = NULL;

        if (!jv_is_object(j))
                return -EINVAL;
        if (!json_object_object_get_ex(j->root, key, &o))
                return -ENOENT;
        return jv_wrap(o, ret);
}

bool jv_is_array(const struct jv *j)
{
        return j && j->root && json_object_is_type(j->root, json_type_array);
}

size_t jv_array_len(const struct jv *j)
{
        return jv_is_array(j) ? json_object_array_length(j->root) : 0;
}

int jv_array_get(const struct jv *j, size_t i, struct jv **ret)
{
        if (!jv_is_array(j))
                return -EINVAL;
        if (i >= json_object_array_length(j->root))
                return -ENOENT;
        return jv_wrap(json_object_array_get_idx(j->root, i), ret);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

union jv_val {
        char *s;
        int64_t i;
        double d;
        bool b;
        struct jv_strarr a;
};

struct jv_slot {
        bool present;
        union jv_val v;
};

static const char *const MSG_REQUIRED = "is required";
static const char *const MSG_NULL = "must not be null";
static const char *const MSG_STRING = "must be a string";
static const char *const MSG_INTEGER = "must be an integer";
static const char *const MSG_NUMBER = "must be a number";
static const char *const MSG_BOOL = "must be a boolean";
static const char *const MSG_ARRAY = "must be an array of strings";
static const char *const MSG_RANGE = "is out of range";
static const char *const MSG_LENGTH = "has an invalid length";
static const char *const MSG_CHARS = "has invalid characters";
static const char *const MSG_TIME = "must be an RFC 3339 timestamp";
static const char *const MSG_ITEMS = "has an invalid number of items";
static const char *const MSG_UNKNOWN = "unknown field";
static const char *const MSG_OBJECT = "must be an object";
static const char *const MSG_NOMEM = "out of memory";

static bool text_ok(const struct jv_field *f, const char *s, size_t len)
{
        if (memchr(s, '\0', len))
                return false; /* "\u0000" cannot survive the NUL-terminated copy */
        return f->check ? f->check(s, len) : valid_text(s, len);
}

/* Validates one string against the field's length bounds and check(); 0 or an error text. */
static const char *check_str(const struct jv_field *f, struct json_object *o, size_t min_len,
                             const char **ret_s, size_t *ret_len)
{
        size_t max_len = f->imax > 0 ? (size_t)f->imax : SIZE_MAX;
        const char *s;
        int n;

        if (!json_object_is_type(o, json_type_string))
                return MSG_STRING;
        s = json_object_get_string(o);
        n = json_object_get_string_len(o);
        if (!s || n < 0)
                return MSG_STRING;
        if ((size_t)n < min_len || (size_t)n > max_len)
                return MSG_LENGTH;
        if (!text_ok(f, s, (size_t)n))
                return MSG_CHARS;
        *ret_s = s;
        *ret_len = (size_t)n;
        return NULL;
}

static void slot_clear(const struct jv_field *f, struct jv_slot *slot)
{
        if (!slot->present)
                return;
        if (f->type == JV_STR)
                free(slot->v.s);
        else if (f->type == JV_STRARR)
                jv_strarr_clear(&slot->v.a);
        slot->present = false;
}

/* Converts o into slot; NULL on success, else the error text (MSG_NOMEM for -ENOMEM). */
static const char *convert(const struct jv_field *f, struct json_object *o, struct jv_slot *slot)
{
        const char *s, *msg;
        size_t n;

        switch (f->type) {
        case JV_STR:
                msg = check_str(f, o, f->imin > 0 ? (size_t)f->imin : 0, &s, &n);
                if (msg)
                        return msg;
                slot->v.s = strndup(s, n);
                if (!slot->v.s)
                        return MSG_NOMEM;
                break;
        case JV_I64: {
                int64_t v, lo = f->imin, hi = f->imax;

                if (lo == 0 && hi == 0) {
                        lo = INT64_MIN;
                        hi = INT64_MAX;
                }
                if (!json_object_is_type(o, json_type_int))
                        return MSG_INTEGER;
                v = json_object_get_int64(o);
                /* json-c keeps 2^63..2^64-1 as uint64 and reports INT64_MAX for them */
                if (v == INT64_MAX && json_object_get_uint64(o) != (uint64_t)INT64_MAX)
                        return MSG_RANGE;
                if (v < lo || v > hi)
                        return MSG_RANGE;
                slot->v.i = v;
                break;
        }
        case JV_DOUBLE: {
                double v, lo = f->dmin, hi = f->dmax;

                if (lo == 0 && hi == 0) {
                        lo = -HUGE_VAL;
                        hi = HUGE_VAL;
                }
                if (!json_object_is_type(o, json_type_int) &&
                    !json_object_is_type(o, json_type_double))
                        return MSG_NUMBER;
                if (json_object_is_type(o, json_type_int) && json_object_get_int64(o) == INT64_MAX)
                        v = (double)json_object_get_uint64(o);
                else
                        v = json_object_get_double(o);
                if (!isfinite(v) || v < lo || v > hi)
                        return MSG_RANGE;
                slot->v.d = v;
                break;
        }
        case JV_BOOL:
                if (!json_object_is_type(o, json_type_boolean))
                        return MSG_BOOL;
                slot->v.b = json_object_get_boolean(o);
                break;
        case JV_TIME: {
                int64_t usec;

                if (!json_object_is_type(o, json_type_string))
                        return MSG_STRING;
                s = json_object_get_string(o);
                n = (size_t)json_object_get_string_len(o);
                if (!s || rfc3339_parse(s, n, &usec) < 0)
                        return MSG_TIME;
                slot->v.i = usec;
                break;
        }
        case JV_STRARR: {
                size_t count, min_items = (f->flags & JV_REQUIRED) ? 1 : 0;
                size_t max_items = f->max_items > 0 ? f->max_items : SIZE_MAX;
                struct jv_strarr a = { NULL, 0 };

                if (!json_object_is_type(o, json_type_array))
                        return MSG_ARRAY;
                count = json_object_array_length(o);
                if (count < min_items || count > max_items)
                        return MSG_ITEMS;
                /* validate every item before allocating anything */
                for (size_t i = 0; i < count; i++) {
                        msg = check_str(f, json_object_array_get_idx(o, i),
                                        f->imin > 1 ? (size_t)f->imin : 1, &s, &n);
                        if (msg)
                                return msg == MSG_STRING ? MSG_ARRAY : msg;
                }
                if (count > 0) {
                        a.v = calloc(count, sizeof(*a.v));
                        if (!a.v)
                                return MSG_NOMEM;
                }
                for (size_t i = 0; i < count; i++) {
                        struct json_object *it = json_object_array_get_idx(o, i);

                        a.v[i] = strndup(json_object_get_string(it),
                                         (size_t)json_object_get_string_len(it));
                        if (!a.v[i]) {
                                jv_strarr_clear(&a);
                                return MSG_NOMEM;
                        }
                        a.n = i + 1;
                }
                slot->v.a = a;
                break;
        }
        case JV_ANY:
                break; /* the caller reads it with jv_member() */
        default:
                return MSG_RANGE;
        }
        slot->present = true;
        return NULL;
}

static void commit(const struct jv_field *f, const struct jv_slot *slot, char *target)
{
        void *p = target + f->offset;

        if (f->has_offset != SIZE_MAX)
                *(bool *)(void *)(target + f->has_offset) = slot->present;
        if (!slot->present)
                return;
        switch (f->type) {
        case JV_STR:
                *(char **)p = slot->v.s;
                break;
        case JV_I64:
        case JV_TIME:
                *(int64_t *)p = slot->v.i;
                break;
        case JV_DOUBLE:
                *(double *)p = slot->v.d;
                break;
        case JV_BOOL:
                *(bool *)p = slot->v.b;
                break;
        case JV_STRARR:
                *(struct jv_strarr *)p = slot->v.a;
                break;
        case JV_ANY:
                break;
        }
}

int jv_dispatch(const struct jv *j, const struct jv_field *fields, unsigned flags, void *target,
                const char **reterr_field, const char **reterr_msg)
{
        const char *bad_field = NULL, *bad_msg = NULL;
        struct jv_slot *slots = NULL;
        size_t n_fields = 0;
        int r = -EINVAL;

        if (!jv_is_object(j)) {
                bad_field = "(root)";
                bad_msg = MSG_OBJECT;
                goto out;
        }
        while (fields[n_fields].name)
                n_fields++;

        if (!(flags & JV_ALLOW_UNKNOWN)) {
                json_object_object_foreach (j->root, key, val) {
                        size_t i;

                        (void)val;
                        for (i = 0; i < n_fields; i++) {
                                if (strcmp(key, fields[i].name) == 0)
                                        break;
                        }
                        if (i == n_fields) {
                                bad_field = key; /* borrowed from the document */
                                bad_msg = MSG_UNKNOWN;
                                goto out;
                        }
                }
        }

        slots = calloc(n_fields + 1, sizeof(*slots));
        if (!slots) {
                r = -ENOMEM;
                goto out;
        }
        /* convert everything into slots first, so that target is untouched on failure */
        for (size_t i = 0; i < n_fields; i++) {
                const struct jv_field *f = &fields[i];
                struct json_object *o = NULL;
                bool found = json_object_object_get_ex(j->root, f->name, &o);
                const char *msg;

                if (found && !o && !(f->flags & JV_NULLABLE)) {
                        bad_field = f->name;
                        bad_msg = (f->flags & JV_REQUIRED) ? MSG_REQUIRED : MSG_NULL;
                        goto out;
                }
                if (!found || !o) {
                        if (f->flags & JV_REQUIRED) {
                                bad_field = f->name;
                                bad_msg = MSG_REQUIRED;
                                goto out;
                        }
                        continue;
                }
                msg = convert(f, o, &slots[i]);
                if (msg) {
                        bad_field = f->name;
                        bad_msg = msg;
                        if (msg == MSG_NOMEM)
                                r = -ENOMEM;
                        goto out;
                }
        }
        for (size_t i = 0; i < n_fields; i++)
                commit(&fields[i], &slots[i], target);
        free(slots);
        slots = NULL; /* values now owned by target */
        r = 0;
out:
        if (slots) {
                for (size_t i = 0; i < n_fields; i++)
                        slot_clear(&fields[i], &slots[i]);
                free(slots);
        }
        if (r < 0) {
                if (reterr_field)
                        *reterr_field = bad_field;
                if (reterr_msg)
                        *reterr_msg = bad_msg;
        }
        return r;
}

void jv_strarr_clear(struct jv_strarr *a)
{
        if (!a)
                return;
        for (size_t i = 0; i < a->n; i++)
                free(a->v[i]);
        free(a->v);
        a->v = NULL;
        a->n = 0;
}

void jv_dispatch_clear(const struct jv_field *fields, void *target)
{
        char *t = target;

        for (const struct jv_field *f = fields; f->name; f++) {
                if (f->type == JV_STR) {
                        char **p = (char **)(void *)(t + f->offset);

                        free(*p);
                        *p = NULL;
                } else if (f->type == JV_STRARR) {
                        jv_strarr_clear((struct jv_strarr *)(void *)(t + f->offset));
                }
        }
}
