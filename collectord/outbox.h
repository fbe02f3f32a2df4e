/*
 * collectord/outbox.h: what the sink could not take yet, oldest first: a bounded in-memory
 * queue, then (when a spool file is configured) the bounded spool file (lib/spool.h).
 * Records are opaque bytes (the sink's own encoding of one batch).  Order is kept: once the
 * spool holds anything, new records go to the spool too, so memory records are always older
 * than spool records and delivery drains memory first, then the spool.  Without a spool a full
 * queue drops its oldest record.  Every drop is counted (outbox_dropped()) for the caller to log
 * and report in its health row.  One thread.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct outbox;

/*
 * mem_cap: records kept in memory (0: none).  spool_path NULL or "": no spool file.
 * kind: the spool's tag (which sink encoding).  *ret_cut: spool records cut on open (corrupt
 * tail), already counted as dropped.  0 or spool_open()'s errors, -ENOMEM.
 */
MUST_CHECK int outbox_new(size_t mem_cap, const char *spool_path, uint32_t kind,
                          uint64_t spool_max_bytes, struct outbox **ret, size_t *ret_cut);
void outbox_free(struct outbox *o); /* NULL-safe; memory records are lost: see outbox_close */

/* Queues a copy of buf.  *ret_dropped: records dropped to make room (or this one).  0 or
   -errno (the spool could not be written: the record is counted as dropped). */
MUST_CHECK int outbox_push(struct outbox *o, const char *buf, size_t len, size_t *ret_dropped);

/* The oldest record (borrowed until the next call).  0, -ENOENT (empty), -EBADMSG (a corrupt
   spool record: call outbox_pop(), it is counted as dropped), other -errno. */
MUST_CHECK int outbox_peek(struct outbox *o, const char **ret_buf, size_t *ret_len);
/* Forgets the oldest record (delivered, or rejected: then `dropped` counts it). */
MUST_CHECK int outbox_pop(struct outbox *o, bool dropped);

/* Moves the memory records in front of the spool's (when stopping).  0, -ENOENT (no spool),
   or -errno.  *ret_dropped: records over the spool's cap. */
MUST_CHECK int outbox_save(struct outbox *o, size_t *ret_dropped);

size_t outbox_len(const struct outbox *o);       /* memory + spool */
size_t outbox_mem_len(const struct outbox *o);
size_t outbox_spool_len(const struct outbox *o);
uint64_t outbox_spool_bytes(const struct outbox *o);
uint64_t outbox_dropped(const struct outbox *o); /* since start */
