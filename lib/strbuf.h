/*
 * lib/strbuf.h: a growable byte buffer with a hard ceiling and a sticky error (STYLE 4.6).
 * The append functions return void; the first allocation failure or overflow of `max` sets
 * `failed` and later appends do nothing.  Check strbuf_failed() once at the end.
 * Callers may read `buf` (always NUL-terminated once anything was appended, may be NULL when
 * empty) and `len`; other fields are private.  Not thread-safe (one owner).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct strbuf {
        char *buf;
        size_t len;
        size_t cap; /* private */
        size_t max; /* private: ceiling on len */
        bool failed; /* private: sticky */
};

enum strbuf_esc {
        ESC_PROM_LABEL, /* Prometheus text format label value: \\ \" \n */
        ESC_LOGFMT,     /* logfmt value body (without quotes): \\ \" \n \r \t, other controls \xNN */
};

/* `max` is the ceiling on len in bytes (the NUL terminator is not counted). */
void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_clear(struct strbuf *sb); /* frees; sb may be reused after strbuf_init */
void strbuf_reset(struct strbuf *sb); /* len = 0, keeps memory and the failed flag cleared */
void strbuf_addn(struct strbuf *sb, const char *s, size_t n);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addc(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) PRINTF_LIKE(2, 3);
void strbuf_add_escaped(struct strbuf *sb, const char *s, enum strbuf_esc esc);

/*
 * Appending by hand, for hot loops that would pay the checks of one strbuf_add*() per piece
 * (fcgi/metrics.c, one line per series): strbuf_reserve() makes room for n more bytes and
 * returns where they go, or NULL when that would pass the ceiling or memory ran out (failed is
 * then set, as by the other appends).  Write at most n bytes there, then strbuf_commit() the
 * number written; nothing else may touch sb in between.
 */
char *strbuf_reserve(struct strbuf *sb, size_t n);
void strbuf_commit(struct strbuf *sb, size_t n);
/* Copies s[0, n) to dst escaped as ESC_PROM_LABEL escapes (\\ \" \n); dst has room for 2 * n
   bytes.  Returns the end of what was written.  Pure: no allocation, s need not end in NUL. */
char *strbuf_put_prom_label(char *dst, const char *s, size_t n);
bool strbuf_failed(const struct strbuf *sb);
/*
 * Moves the buffer out (caller frees with free()); NULL when failed (or when allocating the
 * empty string "" for a buffer that never grew fails).  sb is left empty, ready for appends
 * under the same ceiling.
 */
MUST_CHECK char *strbuf_take(struct strbuf *sb);
