/*
 * lib/hostlist.c: Slurm host list expansion.  The syntax is Slurm's hostlist_create() for
 * one-dimensional names (src/common/hostlist.c): "prefix[ranges]suffix", ranges "a-b" or "a",
 * comma-separated, and the width of a zero-padded lower bound fixes the width of every number
 * of that range.  Expansion works item by item on a list of partial names: a literal run is
 * appended to each partial name, a bracket group multiplies the list by its numbers.
 */
#include "config.h"
#include "hostlist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "valid.h"

/* Upper bound of one range, so that "n[0-99999999999]" cannot spin before max_hosts hits. */
#define HOSTLIST_NUM_MAX 999999999ULL

void hostlist_clear(struct hostlist *hl)
{
        if (!hl)
                return;
        for (size_t i = 0; i < hl->n; i++)
                free(hl->v[i]);
        free(hl->v);
        hl->v = NULL;
        hl->n = 0;
}

static int push(struct hostlist *hl, char *name, size_t *cap)
{
        char **nv;

        if (hl->n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 8;

                nv = realloc(hl->v, ncap * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                hl->v = nv;
                *cap = ncap;
        }
        hl->v[hl->n++] = name;
        return 0;
}

/* a + b (b not NUL-terminated), or NULL when out of memory. */
static char *concat(const char *a, const char *b, size_t blen)
{
        size_t alen = strlen(a);
        char *s = malloc(alen + blen + 1);

        if (!s)
                return NULL;
        memcpy(s, a, alen);
        memcpy(s + alen, b, blen);
        s[alen + blen] = '\0';
        return s;
}

/* Appends the literal (lit, n) to every partial name. */
static int add_literal(struct hostlist *cur, const char *lit, size_t n)
{
        for (size_t i = 0; i < cur->n; i++) {
                char *s = concat(cur->v[i], lit, n);

                if (!s)
                        return -ENOMEM;
                free(cur->v[i]);
                cur->v[i] = s;
        }
        return 0;
}

/* One "lo" or "lo-hi" of a bracket group. */
static int parse_range(const char *s, size_t len, uint64_t *lo, uint64_t *hi, int *width)
{
        const char *dash = memchr(s, '-', len);
        size_t lolen = dash ? (size_t)(dash - s) : len;
        int r;

        if (lolen == 0 || lolen > 18)
                return -EBADMSG;
        r = num_parse_u64(s, lolen, HOSTLIST_NUM_MAX, lo);
        if (r < 0)
                return -EBADMSG;
        *hi = *lo;
        if (dash) {
                size_t hilen = len - lolen - 1;

                if (hilen == 0 || num_parse_u64(dash + 1, hilen, HOSTLIST_NUM_MAX, hi) < 0)
                        return -EBADMSG;
                if (*hi < *lo)
                        return -EBADMSG;
        }
        *width = s[0] == '0' ? (int)lolen : 0;
        return 0;
}

/* Multiplies the partial names by the numbers of the group (g, len) (without brackets). */
static int add_group(struct hostlist *cur, const char *g, size_t len, size_t max_hosts)
{
        struct hostlist out = { 0 };
        size_t cap = 0, pos = 0;
        int r = 0;

        if (len == 0)
                return -EBADMSG;
        for (size_t i = 0; i < cur->n; i++) {
                for (pos = 0; pos <= len;) {
                        const char *comma = memchr(g + pos, ',', len - pos);
                        size_t end = comma ? (size_t)(comma - g) : len;
                        uint64_t lo, hi;
                        int width;

                        r = parse_range(g + pos, end - pos, &lo, &hi, &width);
                        if (r < 0)
                                goto out;
                        for (uint64_t v = lo; v <= hi; v++) {
                                char num[32];
                                char *s;
                                int n = snprintf(num, sizeof(num), "%0*llu", width,
                                                 (unsigned long long)v);

                                if (n < 0 || (size_t)n >= sizeof(num)) {
                                        r = -EBADMSG;
                                        goto out;
                                }
                                if (out.n >= max_hosts) {
                                        r = -E2BIG;
                                        goto out;
                                }
                                s = concat(cur->v[i], num, (size_t)n);
                                if (!s) {
                                        r = -ENOMEM;
                                        goto out;
                                }
                                r = push(&out, s, &cap);
                                if (r < 0) {
                                        free(s);
                                        goto out;
                                }
                        }
                        pos = end + 1;
                }
        }
        hostlist_clear(cur);
        *cur = out;
        out = (struct hostlist){ 0 };
out:
        hostlist_clear(&out);
        return r;
}

/* Expands one item (no top-level comma) and appends its names to all. */
static int expand_item(const char *s, size_t len, size_t max_hosts, struct hostlist *all,
                       size_t *cap)
{
        struct hostlist cur = { 0 };
        size_t cur_cap = 0, pos = 0;
        char *empty = NULL;
        int r;

        if (len == 0)
                return -EBADMSG;
        empty = strdup("");
        if (!empty)
                return -ENOMEM;
        r = push(&cur, empty, &cur_cap);
        if (r < 0) {
                free(empty);
                return r;
        }
        while (pos < len) {
                const char *open = memchr(s + pos, '[', len - pos);
                size_t lit_end = open ? (size_t)(open - s) : len;
                const char *close;

                if (memchr(s + pos, ']', lit_end - pos)) {
                        r = -EBADMSG;
                        goto out;
                }
                r = add_literal(&cur, s + pos, lit_end - pos);
                if (r < 0)
                        goto out;
                if (!open)
                        break;
                close = memchr(open, ']', len - lit_end);
                if (!close || memchr(open + 1, '[', (size_t)(close - open - 1))) {
                        r = -EBADMSG;
                        goto out;
                }
                r = add_group(&cur, open + 1, (size_t)(close - open - 1), max_hosts - all->n);
                if (r < 0)
                        goto out;
                pos = (size_t)(close - s) + 1;
        }
        for (size_t i = 0; i < cur.n; i++) {
                if (!valid_hostname(cur.v[i], strlen(cur.v[i]))) {
                        r = -EBADMSG;
                        goto out;
                }
        }
        if (cur.n > max_hosts - all->n) {
                r = -E2BIG;
                goto out;
        }
        for (size_t i = 0; i < cur.n; i++) {
                r = push(all, cur.v[i], cap);
                if (r < 0)
                        goto out;
                cur.v[i] = NULL; /* moved into all */
        }
        r = 0;
out:
        hostlist_clear(&cur);
        return r;
}

int hostlist_expand(const char *s, size_t len, size_t max_hosts, struct hostlist *ret)
{
        struct hostlist all = { 0 };
        size_t cap = 0, start = 0;
        int depth = 0, r = 0;

        if (len == 0) {
                *ret = all;
                return 0;
        }
        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] == '[') {
                        depth++;
                } else if (i < len && s[i] == ']') {
                        if (--depth < 0) {
                                r = -EBADMSG;
                                goto out;
                        }
                } else if (i == len || (s[i] == ',' && depth == 0)) {
                        if (depth != 0) {
                                r = -EBADMSG;
                                goto out;
                        }
                        r = expand_item(s + start, i - start, max_hosts, &all, &cap);
                        if (r < 0)
                                goto out;
                        start = i + 1;
                }
        }
        *ret = all;
        all = (struct hostlist){ 0 };
out:
        hostlist_clear(&all);
        return r;
}
