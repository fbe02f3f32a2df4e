/*
 * lib/spool.c: the bounded append-only spool file (see spool.h for the layout).
 * Every write goes through pwrite() at an explicit offset, so the file offset never matters;
 * the header is rewritten whole (32 bytes, within one sector) when `head` moves.
 */
#include "config.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SPOOL_MAGIC   "HJOSPOOL"
#define SPOOL_VERSION 1u
#define REC_MAGIC     0x524f4a48u /* "HJOR" little-endian */
#define COPY_CHUNK    65536

struct spool {
        int fd;
        char *path;
        uint32_t kind;
        uint64_t max_bytes;
        uint64_t head, end; /* offsets: oldest record, end of the last one */
        size_t n;
};

uint32_t spool_crc32(const void *buf, size_t len)
{
        uint32_t table[256];
        const unsigned char *p = buf;
        uint32_t c = 0xffffffffu;

        /* 1 KiB of table per call costs less than reading the record that needs it */
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t v = i;

                for (int k = 0; k < 8; k++)
                        v = (v & 1u) ? 0xedb88320u ^ (v >> 1) : v >> 1;
                table[i] = v;
        }
        for (size_t i = 0; i < len; i++)
                c = table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
        return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
        uint32_t v = 0;

        for (int i = 3; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

static uint64_t get64(const unsigned char *p)
{
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

/* pread/pwrite of exactly len bytes (EINTR and short transfers retried). */
static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
        char *p = buf;

        while (len > 0) {
                ssize_t n = pread(fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EBADMSG; /* shorter than the record says */
                p += n;
                len -= (size_t)n;
                off += (uint64_t)n;
        }
        return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t)n;
                off += (uint64_t)n;
        }
        return 0;
}

static int write_header(int fd, uint32_t kind, uint64_t head)
{
        unsigned char h[SPOOL_HEADER_BYTES] = { 0 };

        memcpy(h, SPOOL_MAGIC, 8);
        put32(h + 8, SPOOL_VERSION);
        put32(h + 12, kind);
        put64(h + 16, head);
        return pwrite_all(fd, h, sizeof(h), 0);
}

/* The payload length of the record at off (magic checked). */
static int rec_len(int fd, uint64_t off, uint64_t end, uint32_t *ret_len, uint32_t *ret_crc)
{
        unsigned char h[SPOOL_RECORD_OVERHEAD];
        uint32_t len;
        int r;

        if (end - off < SPOOL_RECORD_OVERHEAD)
                return -EBADMSG;
        r = pread_all(fd, h, sizeof(h), off);
        if (r < 0)
                return r;
        len = get32(h + 4);
        if (get32(h) != REC_MAGIC || len > SPOOL_RECORD_MAX ||
            end - off - SPOOL_RECORD_OVERHEAD < len)
                return -EBADMSG;
        *ret_len = len;
        if (ret_crc)
                *ret_crc = get32(h + 8);
        return 0;
}

/* Reads and checks the record at off; *ret_buf malloc'd. */
static int rec_read(int fd, uint64_t off, uint64_t end, char **ret_buf, uint32_t *ret_len)
{
        uint32_t len, crc;
        char *buf;
        int r;

        r = rec_len(fd, off, end, &len, &crc);
        if (r < 0)
                return r;
        buf = malloc((size_t)len + 1);
        if (!buf)
                return -ENOMEM;
        buf[len] = '\0'; /* text payloads can be used as strings */
        r = pread_all(fd, buf, len, off + SPOOL_RECORD_OVERHEAD);
        if (r == 0 && spool_crc32(buf, len) != crc)
                r = -EBADMSG;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

/* Checks every record from head on; cuts a bad tail. */
static int scan(struct spool *s, uint64_t size, size_t *ret_cut)
{
        uint64_t off = s->head;
        int r;

        s->n = 0;
        while (off < size) {
                char *buf = NULL;
                uint32_t len;

                r = rec_read(s->fd, off, size, &buf, &len);
                free(buf);
                if (r == -EBADMSG) {
                        *ret_cut = 1;
                        if (ftruncate(s->fd, (off_t)off) < 0)
                                return -errno;
                        break;
                }
                if (r < 0)
                        return r;
                off += SPOOL_RECORD_OVERHEAD + len;
                s->n++;
        }
        s->end = off;
        return 0;
}

static int truncate_empty(struct spool *s)
{
        if (ftruncate(s->fd, SPOOL_HEADER_BYTES) < 0)
                return -errno;
        s->head = s->end = SPOOL_HEADER_BYTES;
        s->n = 0;
        return write_header(s->fd, s->kind, s->head);
}

int spool_open(const char *path, uint32_t kind, uint64_t max_bytes, struct spool **ret,
               size_t *ret_cut)
{
        unsigned char h[SPOOL_HEADER_BYTES];
        struct spool *s = NULL;
        struct stat st;
        size_t cut = 0;
        int r;

        if (!path || !*path || max_bytes < SPOOL_HEADER_BYTES + SPOOL_RECORD_OVERHEAD + 1)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->kind = kind;
        s->max_bytes = max_bytes;
        s->path = strdup(path);
        if (!s->path) {
                r = -ENOMEM;
                goto out;
        }
        s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (s->fd < 0) {
                r = -errno;
                goto out;
        }
        if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                goto out;
        }
        if (fstat(s->fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EBADMSG;
                goto out;
        }
        if (st.st_size == 0) {
                r = truncate_empty(s);
                if (r < 0)
                        goto out;
        } else {
                if (st.st_size < SPOOL_HEADER_BYTES) {
                        r = -EBADMSG;
                        goto out;
                }
                r = pread_all(s->fd, h, sizeof(h), 0);
                if (r < 0)
                        goto out;
                if (memcmp(h, SPOOL_MAGIC, 8) != 0 || get32(h + 8) != SPOOL_VERSION) {
                        r = -EBADMSG;
                        goto out;
                }
                if (get32(h + 12) != kind) {
                        r = -EPROTO;
                        goto out;
                }
                s->head = get64(h + 16);
                if (s->head < SPOOL_HEADER_BYTES || s->head > (uint64_t)st.st_size) {
                        r = -EBADMSG;
                        goto out;
                }
                r = scan(s, (uint64_t)st.st_size, &cut);
                if (r < 0)
                        goto out;
                if (s->n == 0 && (s->head != SPOOL_HEADER_BYTES || s->end != s->head)) {
                        r = truncate_empty(s);
                        if (r < 0)
                                goto out;
                }
        }
        *ret = s;
        s = NULL;
        if (ret_cut)
                *ret_cut = cut;
        r = 0;
out:
        spool_close(s);
        return r;
}

void spool_close(struct spool *s)
{
        if (!s)
                return;
        if (s->fd >= 0)
                (void)close(s->fd);
        free(s->path);
        free(s);
}

size_t spool_records(const struct spool *s)
{
        return s ? s->n : 0;
}

uint64_t spool_bytes(const struct spool *s)
{
        return s ? s->end - s->head : 0;
}

/* Forgets the oldest record without touching the header (the caller writes it). */
static int drop_oldest(struct spool *s)
{
        uint32_t len;
        int r = rec_len(s->fd, s->head, s->end, &len, NULL);

        if (r < 0)
                return r;
        s->head += SPOOL_RECORD_OVERHEAD + len;
        s->n--;
        return 0;
}

static int write_record(int fd, uint64_t off, const void *buf, size_t len)
{
        unsigned char h[SPOOL_RECORD_OVERHEAD];
        struct iovec iov[2];
        size_t total = sizeof(h) + len, done = 0;

        put32(h, REC_MAGIC);
        put32(h + 4, (uint32_t)len);
        put32(h + 8, spool_crc32(buf, len));
        iov[0] = (struct iovec){ .iov_base = h, .iov_len = sizeof(h) };
        iov[1] = (struct iovec){ .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
        while (done < total) {
                ssize_t n;

                if (done > 0) /* a short write: finish the rest plainly */
                        return done < sizeof(h)
                                       ? -EIO
                                       : pwrite_all(fd, (const char *)buf + (done - sizeof(h)),
                                                    total - done, off + done);
                n = pwritev(fd, iov, 2, (off_t)off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t)n;
        }
        return 0;
}

/*
 * Rewrites the file as: header, the n prefix records, the live records [head, end).  Written
 * to "<path>.tmp", fsync'ed and renamed over the spool, so a crash leaves one or the other.
 */
static int rewrite(struct spool *s, const char *const *bufs, const size_t *lens, size_t n)
{
        char tmp[4096], *chunk = NULL;
        uint64_t off = SPOOL_HEADER_BYTES, src = s->head;
        int fd = -1, r, k;

        k = snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
        if (k < 0 || (size_t)k >= sizeof(tmp))
                return -ENAMETOOLONG;
        chunk = malloc(COPY_CHUNK);
        if (!chunk)
                return -ENOMEM;
        fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        r = write_header(fd, s->kind, SPOOL_HEADER_BYTES);
        for (size_t i = 0; r == 0 && i < n; i++) {
                r = write_record(fd, off, bufs[i], lens[i]);
                off += SPOOL_RECORD_OVERHEAD + lens[i];
        }
        while (r == 0 && src < s->end) {
                size_t len = s->end - src < COPY_CHUNK ? (size_t)(s->end - src) : COPY_CHUNK;

                r = pread_all(s->fd, chunk, len, src);
                if (r == 0)
                        r = pwrite_all(fd, chunk, len, off);
                src += len;
                off += len;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
                r = -errno;
        if (r == 0 && rename(tmp, s->path) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlink(tmp);
                goto out;
        }
        (void)close(s->fd);
        s->fd = fd;
        fd = -1;
        s->end = off;
        s->head = SPOOL_HEADER_BYTES;
        s->n += n;
out:
        if (fd >= 0)
                (void)close(fd);
        free(chunk);
        return r;
}

int spool_append(struct spool *s, const void *buf, size_t len, size_t *ret_dropped)
{
        uint64_t rec = SPOOL_RECORD_OVERHEAD + (uint64_t)len;
        size_t dropped = 0;
        int r = 0;

        *ret_dropped = 0;
        if (len > SPOOL_RECORD_MAX || SPOOL_HEADER_BYTES + rec > s->max_bytes) {
                *ret_dropped = 1;
                return -E2BIG;
        }
        while (s->n > 0 && SPOOL_HEADER_BYTES + (s->end - s->head) + rec > s->max_bytes) {
                r = drop_oldest(s);
                if (r < 0)
                        return r;
                dropped++;
        }
        if (s->n == 0 && s->head != SPOOL_HEADER_BYTES) {
                r = truncate_empty(s);
        } else if (s->end + rec > s->max_bytes) {
                r = rewrite(s, NULL, NULL, 0); /* reclaim the delivered space before head */
        } else if (dropped > 0) {
                r = write_header(s->fd, s->kind, s->head);
        }
        *ret_dropped = dropped;
        if (r < 0)
                return r;
        r = write_record(s->fd, s->end, buf, len);
        if (r == 0 && fdatasync(s->fd) < 0)
                r = -errno;
        if (r < 0) {
                /* a torn record past end is cut by the next open; keep ours consistent */
                if (ftruncate(s->fd, (off_t)s->end) < 0)
                        return r; /* the next open cuts the torn record */
                return r;
        }
        s->end += rec;
        s->n++;
        return 0;
}

int spool_peek(struct spool *s, char **ret_buf, size_t *ret_len)
{
        uint32_t len;
        char *buf = NULL;
        int r;

        if (s->n == 0)
                return -ENOENT;
        r = rec_read(s->fd, s->head, s->end, &buf, &len);
        if (r < 0)
                return r;
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

int spool_pop(struct spool *s)
{
        int r;

        if (s->n == 0)
                return -ENOENT;
        r = drop_oldest(s);
        if (r < 0)
                return r;
        if (s->n == 0)
                return truncate_empty(s); /* fully delivered */
        r = write_header(s->fd, s->kind, s->head);
        if (r == 0 && fdatasync(s->fd) < 0)
                r = -errno;
        return r;
}

int spool_prepend(struct spool *s, const char *const *bufs, const size_t *lens, size_t n,
                  size_t *ret_dropped)
{
        uint64_t total = SPOOL_HEADER_BYTES + (s->end - s->head);
        size_t first = 0, dropped = 0;
        int r;

        *ret_dropped = 0;
        for (size_t i = 0; i < n; i++)
                total += SPOOL_RECORD_OVERHEAD + lens[i];
        /* over the cap: the oldest go first, and the prefix is the oldest */
        while (total > s->max_bytes && first < n) {
                total -= SPOOL_RECORD_OVERHEAD + lens[first];
                first++;
                dropped++;
        }
        while (total > s->max_bytes && s->n > 0) {
                uint64_t before = s->head;

                r = drop_oldest(s);
                if (r < 0)
                        return r;
                total -= s->head - before;
                dropped++;
        }
        *ret_dropped = dropped;
        if (first == n)
                return dropped ? write_header(s->fd, s->kind, s->head) : 0;
        return rewrite(s, bufs + first, lens + first, n - first);
}
