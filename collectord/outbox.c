/*
 * collectord/outbox.c: the delivery queue of hjo-collectord (see outbox.h).
 */
#include "config.h"
#include "outbox.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

struct rec {
        char *buf;
        size_t len;
};

struct outbox {
        struct rec *q; /* ring */
        size_t cap, head, n;
        struct spool *spool;
        uint64_t dropped;
        char *peeked; /* the spool record handed out by outbox_peek() */
};

int outbox_new(size_t mem_cap, const char *spool_path, uint32_t kind, uint64_t spool_max_bytes,
               struct outbox **ret, size_t *ret_cut)
{
        struct outbox *o = calloc(1, sizeof(*o));
        size_t cut = 0;
        int r;

        if (!o)
                return -ENOMEM;
        o->cap = mem_cap;
        if (mem_cap) {
                o->q = calloc(mem_cap, sizeof(*o->q));
                if (!o->q) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (spool_path && *spool_path) {
                r = spool_open(spool_path, kind, spool_max_bytes, &o->spool, &cut);
                if (r < 0)
                        goto fail;
        }
        o->dropped = cut;
        *ret_cut = cut;
        *ret = o;
        return 0;
fail:
        outbox_free(o);
        return r;
}

void outbox_free(struct outbox *o)
{
        if (!o)
                return;
        for (size_t i = 0; i < o->cap; i++)
                free(o->q[i].buf);
        free(o->q);
        free(o->peeked);
        spool_close(o->spool);
        free(o);
}

static void mem_pop(struct outbox *o)
{
        free(o->q[o->head].buf);
        o->q[o->head] = (struct rec){ NULL, 0 };
        o->head = (o->head + 1) % o->cap;
        o->n--;
}

int outbox_push(struct outbox *o, const char *buf, size_t len, size_t *ret_dropped)
{
        struct rec *slot;
        size_t dropped = 0;
        int r;

        *ret_dropped = 0;
        if (o->spool && (o->n == o->cap || spool_records(o->spool) > 0)) {
                r = spool_append(o->spool, buf, len, &dropped);
                if (r < 0 && r != -E2BIG)
                        dropped++; /* not stored: this one is lost */
                o->dropped += dropped;
                *ret_dropped = dropped;
                return r;
        }
        if (o->cap == 0) {
                o->dropped++;
                *ret_dropped = 1;
                return 0;
        }
        if (o->n == o->cap) {
                mem_pop(o); /* full, no spool: the oldest goes */
                o->dropped++;
                dropped++;
        }
        slot = &o->q[(o->head + o->n) % o->cap];
        slot->buf = malloc(len + 1);
        if (!slot->buf) {
                o->dropped++;
                *ret_dropped = dropped + 1;
                return -ENOMEM;
        }
        memcpy(slot->buf, buf, len);
        slot->buf[len] = '\0';
        slot->len = len;
        o->n++;
        *ret_dropped = dropped;
        return 0;
}

int outbox_peek(struct outbox *o, const char **ret_buf, size_t *ret_len)
{
        char *buf = NULL;
        size_t len;
        int r;

        if (o->n > 0) {
                *ret_buf = o->q[o->head].buf;
                *ret_len = o->q[o->head].len;
                return 0;
        }
        if (!o->spool)
                return -ENOENT;
        r = spool_peek(o->spool, &buf, &len);
        if (r < 0)
                return r;
        free(o->peeked);
        o->peeked = buf;
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

int outbox_pop(struct outbox *o, bool dropped)
{
        int r = 0;

        if (o->n > 0)
                mem_pop(o);
        else if (o->spool)
                r = spool_pop(o->spool);
        else
                return -ENOENT;
        free(o->peeked);
        o->peeked = NULL;
        if (r == 0 && dropped)
                o->dropped++;
        return r;
}

int outbox_save(struct outbox *o, size_t *ret_dropped)
{
        const char **bufs = NULL;
        size_t *lens = NULL, dropped = 0;
        int r;

        *ret_dropped = 0;
        if (!o->spool)
                return -ENOENT;
        if (o->n == 0)
                return 0;
        bufs = calloc(o->n, sizeof(*bufs));
        lens = calloc(o->n, sizeof(*lens));
        if (!bufs || !lens) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < o->n; i++) {
                bufs[i] = o->q[(o->head + i) % o->cap].buf;
                lens[i] = o->q[(o->head + i) % o->cap].len;
        }
        r = spool_prepend(o->spool, bufs, lens, o->n, &dropped);
        o->dropped += dropped;
        *ret_dropped = dropped;
        if (r == 0) {
                while (o->n > 0)
                        mem_pop(o);
        }
out:
        free(bufs);
        free(lens);
        return r;
}

size_t outbox_len(const struct outbox *o)
{
        return o->n + spool_records(o->spool);
}

size_t outbox_mem_len(const struct outbox *o)
{
        return o->n;
}

size_t outbox_spool_len(const struct outbox *o)
{
        return spool_records(o->spool);
}

uint64_t outbox_spool_bytes(const struct outbox *o)
{
        return spool_bytes(o->spool);
}

uint64_t outbox_dropped(const struct outbox *o)
{
        return o->dropped;
}
