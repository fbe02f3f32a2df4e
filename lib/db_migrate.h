/*
 * lib/db_migrate.h: forward-only schema migrations from a directory of NNNN_name.sql files.
 * Each file runs in its own transaction and is recorded in schema_migrations (version, name,
 * checksum, applied_at).  A PostgreSQL advisory lock serializes concurrent runs, so running
 * twice or concurrently is safe.  An applied file whose checksum changed is an error.
 * Not thread-safe; opens its own connection.
 */
#pragma once
#include <stddef.h>

#include "compiler.h"

struct migrate_report {
        int n_applied;  /* files applied by this run */
        int n_present;  /* files already applied before */
        char failed[256]; /* name of the file that failed, "" otherwise */
        char detail[512]; /* server message on failure (for the operator, not for clients) */
};

/*
 * 0 on success; -ENOENT (no such dir), -EINVAL (bad file name or a changed checksum),
 * -ENOTCONN (cannot connect), -EIO (a migration failed: report->failed/detail say which).
 */
MUST_CHECK int db_migrate(const char *dsn, const char *sql_dir, struct migrate_report *report);
