/*
 * lib/hostlist.h: expands Slurm host lists ("node[01-03,07]", "a[1-2],b3", "r[1-2]-n[1-2]")
 * into host names.  Pure: no I/O, no logging, thread-safe.  It does not compress lists, and it
 * does not know Slurm's multi-dimensional (BlueGene/Cray) forms "[000x133]".
 */
#pragma once
#include <stddef.h>

#include "compiler.h"

struct hostlist {
        char **v; /* each malloc'd, NUL-terminated; v malloc'd (NULL when n == 0) */
        size_t n;
};

/*
 * Expands (s, len), which need not be NUL-terminated.  Items are separated by commas outside
 * brackets; a bracket group holds comma-separated numbers or lo-hi ranges, zero-padded to the
 * width of lo when lo has a leading zero (Slurm's rule: "node[08-10]" -> node08 node09 node10).
 * Several groups in one item multiply out in order.  Every name must pass valid_hostname().
 * Duplicates are kept (Slurm does not produce them for a job's node list).
 * The empty text gives an empty list.
 * 0; -EBADMSG (unbalanced or nested brackets, an empty item or range, lo > hi, a bad name),
 * -E2BIG (more than max_hosts names), -ENOMEM.  *ret is written only on success; the caller
 * frees it with hostlist_clear().
 */
MUST_CHECK int hostlist_expand(const char *s, size_t len, size_t max_hosts, struct hostlist *ret);
void hostlist_clear(struct hostlist *hl); /* frees the names; hl may be NULL; leaves it empty */
