/*
 * lib/spool.h: a bounded, append-only spool file of opaque records, delivered oldest first
 * (hjo-collectord keeps the batches its sink could not take here once its memory queue is
 * full).  It is not a database: one writer, records read back only in order.
 *
 * File layout (all integers little-endian):
 *   header (32 bytes): "HJOSPOOL" | u32 version (1) | u32 kind (the caller's tag: which sink
 *                      wrote it) | u64 head (offset of the oldest undelivered record) | u64 0
 *   record:            u32 0x524f4a48 ("HJOR") | u32 payload length | u32 CRC-32 of the
 *                      payload (IEEE 802.3, as zlib's crc32) | payload
 * Records are appended and fdatasync'ed; delivering the oldest advances `head` in the header;
 * when every record is delivered the file is truncated to its header.  On open, records from
 * `head` on are checked (magic, length, checksum) and a torn or corrupt tail (a crash during
 * an append) is cut off and counted.  Over the byte cap the oldest records are dropped (counted
 * for the caller to log); dead space before `head` is reclaimed by rewriting the file
 * (write a temporary file, fsync, rename).
 * A struct spool belongs to one thread; two processes must not open the same file (the open
 * takes a non-blocking flock and fails with -EBUSY).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define SPOOL_HEADER_BYTES 32
#define SPOOL_RECORD_OVERHEAD 12
#define SPOOL_RECORD_MAX (64u * 1024 * 1024) /* one payload */

struct spool;

/*
 * Opens or creates (mode 0600) the spool at path.  max_bytes caps the file (header included;
 * at least SPOOL_HEADER_BYTES + SPOOL_RECORD_OVERHEAD + 1).  *ret_cut: records (or a torn
 * tail, counted as one) removed because they failed their checks.
 * 0, -EINVAL (max_bytes too small), -EPROTO (the file belongs to another kind), -EBADMSG (not
 * a spool file), -EBUSY (in use by another process), other -errno.  Caller closes.
 */
MUST_CHECK int spool_open(const char *path, uint32_t kind, uint64_t max_bytes,
                          struct spool **ret, size_t *ret_cut);
void spool_close(struct spool *s); /* NULL-safe */

/*
 * Appends one record, dropping the oldest records first when the cap would be passed
 * (*ret_dropped: how many; a record larger than the whole cap is itself dropped, counted,
 * and -E2BIG returned).  0, -E2BIG, -EIO/-ENOSPC/other -errno (the record is not stored).
 */
MUST_CHECK int spool_append(struct spool *s, const void *buf, size_t len, size_t *ret_dropped);

/* The oldest record, malloc'd with a NUL after the payload (caller frees).  0, -ENOENT (empty), -EBADMSG (corrupt: the
   caller should spool_pop() it), -ENOMEM, other -errno. */
MUST_CHECK int spool_peek(struct spool *s, char **ret_buf, size_t *ret_len);
/* Forgets the oldest record (delivered).  0 or -errno. */
MUST_CHECK int spool_pop(struct spool *s);

/*
 * Rewrites the spool with n records placed before the ones it holds (hjo-collectord, when it
 * stops, moves its memory queue, which is older, in front of the spool).  Over the cap the
 * oldest are dropped (*ret_dropped).  0 or -errno (the spool is unchanged).
 */
MUST_CHECK int spool_prepend(struct spool *s, const char *const *bufs, const size_t *lens,
                             size_t n, size_t *ret_dropped);

size_t spool_records(const struct spool *s);
uint64_t spool_bytes(const struct spool *s); /* live bytes (records from head on) */

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()); exposed for tests. */
uint32_t spool_crc32(const void *buf, size_t len);
