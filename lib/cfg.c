/*
 * lib/cfg.c: hjo configuration (STYLE 4.12).  One key table drives defaults, the file, the
 * environment, validation and the dump.  Defaults are strings parsed by the same code as the
 * file, so a default can never bypass validation.
 *
 * File grammar: UTF-8 lines of `key = value`; blank lines and lines whose first non-blank
 * character is '#' are ignored (there are no trailing comments: a password may hold '#').
 * Leading and trailing blanks around key and value are dropped, and one pair of matching
 * double or single quotes around the value is removed.  A key may be written as its file name
 * (`workers`) or as its environment name (`HJO_WORKERS`), so an EnvironmentFile works too.
 *
 * The struct cfg handed out is the first member of a private struct that also records where
 * each value came from, for cfg_dump().
 */
#include "config.h"
#include "cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "num.h"
#include "strbuf.h"
#include "valid.h"

#ifndef HJO_DATADIR
#define HJO_DATADIR "/usr/local/share/hjo" /* the build passes -DHJO_DATADIR="$(pkgdatadir)" */
#endif

#define CFG_LINE_MAX 65536
#define CFG_URL_MAX  4096
#define CFG_SUN_PATH 107 /* sizeof(sockaddr_un.sun_path) - 1 on Linux */
#define CFG_SECRET   0x1

enum cfg_type { CFG_STR, CFG_INT, CFG_OCT, CFG_BOOL };
enum cfg_src { SRC_DEFAULT, SRC_FILE, SRC_ENV };

struct cfg_key {
        const char *name; /* in the file and the dump */
        const char *env;  /* environment variable */
        enum cfg_type type;
        size_t offset;
        const char *def;
        int64_t min, max;             /* CFG_INT, CFG_OCT */
        bool (*check)(const char *v); /* CFG_STR */
        const char *expect;           /* the reason given for a bad value */
        unsigned flags;
};

static bool check_url(const char *v);
static bool check_backend(const char *v);
static bool check_slurm_url(const char *v);
static bool check_api_version(const char *v);
static bool check_socket(const char *v);
static bool check_log_level(const char *v);
static bool check_dir(const char *v);
static bool check_abs_dir(const char *v);
static bool check_opt_host(const char *v);
static bool check_opt_path(const char *v);
static bool check_prefix(const char *v);
static bool check_gpu(const char *v);
static bool check_sink(const char *v);
static bool check_auth(const char *v);
static bool check_listen(const char *v);

#define F(f) offsetof(struct cfg, f)

/* clang-format off */
static const struct cfg_key cfg_keys[] = {
        { "database_url", "DATABASE_URL", CFG_STR, F(database_url), "", 0, 0, check_url,
          "a libpq URI or key=value string without control characters", CFG_SECRET },
        { "scheduler_backend", "SCHEDULER_BACKEND", CFG_STR, F(scheduler_backend), "mock", 0, 0,
          check_backend, "'slurm' or 'mock'", 0 },
        { "slurm_base_url", "SLURM_BASE_URL", CFG_STR, F(slurm_base_url), "http://localhost:6820",
          0, 0, check_slurm_url, "an http:// or https:// URL", 0 },
        { "slurm_api_version", "SLURM_API_VERSION", CFG_STR, F(slurm_api_version), "v0.0.38", 0,
          0, check_api_version, "v0.0.NN", 0 },
        { "metrics_retention_days", "METRICS_RETENTION_DAYS", CFG_INT,
          F(metrics_retention_days), "30", 1, 36500, NULL, "an integer from 1 to 36500", 0 },
        { "seed_demo", "SEED_DEMO", CFG_BOOL, F(seed_demo), "false", 0, 0, NULL,
          "true/false, yes/no, on/off or 1/0", 0 },
        { "socket", "HJO_SOCKET", CFG_STR, F(socket_path), "", 0, 0, check_socket,
          "empty or a socket path of at most 107 bytes", 0 },
        { "socket_mode", "HJO_SOCKET_MODE", CFG_OCT, F(socket_mode), "0660", 0, 0777, NULL,
          "an octal mode from 0 to 0777", 0 },
        { "workers", "HJO_WORKERS", CFG_INT, F(workers), "8", 1, 256, NULL,
          "an integer from 1 to 256", 0 },
        { "metrics_grace_seconds", "HJO_METRICS_GRACE_SECONDS", CFG_INT,
          F(metrics_grace_seconds), "300", 0, 86400, NULL, "an integer from 0 to 86400", 0 },
        { "statement_timeout_ms", "HJO_STATEMENT_TIMEOUT_MS", CFG_INT, F(statement_timeout_ms),
          "5000", 100, 600000, NULL, "an integer from 100 to 600000", 0 },
        { "log_level", "HJO_LOG_LEVEL", CFG_STR, F(log_level), "info", 0, 0, check_log_level,
          "err, warning, notice, info or debug", 0 },
        { "sql_dir", "HJO_SQL_DIR", CFG_STR, F(sql_dir), HJO_DATADIR "/sql", 0, 0, check_dir,
          "a directory path", 0 },
        { "collector_interval_ms", "HJO_COLLECTOR_INTERVAL_MS", CFG_INT,
          F(collector_interval_ms), "10000", 1000, 3600000, NULL,
          "an integer from 1000 to 3600000", 0 },
        { "collector_node", "HJO_COLLECTOR_NODE", CFG_STR, F(collector_node), "", 0, 0,
          check_opt_host, "empty or a host name", 0 },
        { "collector_cgroup_root", "HJO_COLLECTOR_CGROUP_ROOT", CFG_STR,
          F(collector_cgroup_root), "", 0, 0, check_opt_path, "empty or a directory path", 0 },
        { "collector_job_id_prefix", "HJO_COLLECTOR_JOB_ID_PREFIX", CFG_STR,
          F(collector_job_id_prefix), "slurm-", 0, 0, check_prefix,
          "0-64 characters of [A-Za-z0-9._:-]", 0 },
        { "collector_gpu", "HJO_COLLECTOR_GPU", CFG_STR, F(collector_gpu), "auto", 0, 0,
          check_gpu, "auto, nvidia, amd or none", 0 },
        { "collector_sink", "HJO_COLLECTOR_SINK", CFG_STR, F(collector_sink), "db", 0, 0,
          check_sink, "db, api or stdout", 0 },
        { "collector_api_url", "HJO_COLLECTOR_API_URL", CFG_STR, F(collector_api_url),
          "http://127.0.0.1:8080", 0, 0, check_slurm_url, "an http:// or https:// URL", 0 },
        { "collector_ca_file", "HJO_COLLECTOR_CA_FILE", CFG_STR, F(collector_ca_file), "", 0, 0,
          check_opt_path, "empty or a file path", 0 },
        { "collector_token_file", "HJO_COLLECTOR_TOKEN_FILE", CFG_STR, F(collector_token_file),
          "", 0, 0, check_opt_path, "empty or a file path", 0 },
        { "collector_buffer_batches", "HJO_COLLECTOR_BUFFER_BATCHES", CFG_INT,
          F(collector_buffer_batches), "360", 0, 100000, NULL, "an integer from 0 to 100000", 0 },
        { "collector_spool_file", "HJO_COLLECTOR_SPOOL_FILE", CFG_STR, F(collector_spool_file),
          "", 0, 0, check_opt_path, "empty or a file path", 0 },
        { "collector_spool_max_bytes", "HJO_COLLECTOR_SPOOL_MAX_BYTES", CFG_INT,
          F(collector_spool_max_bytes), "67108864", 0, INT64_C(1) << 40, NULL,
          "an integer from 0 to 2^40", 0 },
        { "collector_tool_timeout_ms", "HJO_COLLECTOR_TOOL_TIMEOUT_MS", CFG_INT,
          F(collector_tool_timeout_ms), "5000", 100, 60000, NULL,
          "an integer from 100 to 60000", 0 },
        { "auth", "HJO_AUTH", CFG_STR, F(auth), "required", 0, 0, check_auth,
          "'required' or 'disabled'", 0 },
        { "metrics_public", "HJO_METRICS_PUBLIC", CFG_BOOL, F(metrics_public), "false", 0, 0,
          NULL, "true/false, yes/no, on/off or 1/0", 0 },
        { "trust_client_cert", "HJO_TRUST_CLIENT_CERT", CFG_BOOL, F(trust_client_cert), "false",
          0, 0, NULL, "true/false, yes/no, on/off or 1/0", 0 },
        { "collector_slurm", "HJO_COLLECTOR_SLURM", CFG_BOOL, F(collector_slurm), "false", 0, 0,
          NULL, "true/false, yes/no, on/off or 1/0", 0 },
        { "collector_slurm_every", "HJO_COLLECTOR_SLURM_EVERY", CFG_INT,
          F(collector_slurm_every), "1", 1, 10000, NULL, "an integer from 1 to 10000", 0 },
        { "slurm_user", "HJO_SLURM_USER", CFG_STR, F(slurm_user), "slurm", 0, 0, check_opt_host,
          "a user name ([A-Za-z0-9._-])", 0 },
        { "slurm_token_file", "HJO_SLURM_TOKEN_FILE", CFG_STR, F(slurm_token_file), "", 0, 0,
          check_opt_path, "empty or a file path", 0 },
        { "cluster_name", "HJO_CLUSTER_NAME", CFG_STR, F(cluster_name), "", 0, 0, check_opt_host,
          "empty or a cluster name ([A-Za-z0-9._-])", 0 },
        { "collector_api_timeout_ms", "HJO_COLLECTOR_API_TIMEOUT_MS", CFG_INT,
          F(collector_api_timeout_ms), "10000", 100, 600000, NULL,
          "an integer from 100 to 600000", 0 },
        { "collector_slow_every", "HJO_COLLECTOR_SLOW_EVERY", CFG_INT, F(collector_slow_every),
          "6", 1, 1000, NULL, "an integer from 1 to 1000", 0 },
        { "database_read_url", "DATABASE_READ_URL", CFG_STR, F(database_read_url), "", 0, 0,
          check_url, "a libpq URI or key=value string without control characters", CFG_SECRET },
        { "listen", "HJO_LISTEN", CFG_STR, F(listen), "", 0, 0, check_listen,
          "empty or HOST:PORT ([ADDR]:PORT for IPv6), port 1-65535", 0 },
        { "partition_ahead_days", "HJO_PARTITION_AHEAD_DAYS", CFG_INT, F(partition_ahead_days),
          "7", 1, 366, NULL, "an integer from 1 to 366", 0 },
        { "rollup_1m_retention_days", "HJO_ROLLUP_1M_RETENTION_DAYS", CFG_INT,
          F(rollup_1m_retention_days), "90", 1, 36500, NULL, "an integer from 1 to 36500", 0 },
        { "rollup_1h_retention_days", "HJO_ROLLUP_1H_RETENTION_DAYS", CFG_INT,
          F(rollup_1h_retention_days), "730", 1, 36500, NULL, "an integer from 1 to 36500", 0 },
        { "metrics_cache_seconds", "HJO_METRICS_CACHE_SECONDS", CFG_INT,
          F(metrics_cache_seconds), "0", 0, 3600, NULL, "an integer from 0 to 3600", 0 },
        { "metrics_cache_dir", "HJO_METRICS_CACHE_DIR", CFG_STR, F(metrics_cache_dir),
          "/var/cache/hjo", 0, 0, check_abs_dir, "an absolute directory path", 0 },
        { "event_batch_max", "HJO_EVENT_BATCH_MAX", CFG_INT, F(event_batch_max), "32", 1, 256,
          NULL, "an integer from 1 to 256", 0 },
};
/* clang-format on */

#define CFG_N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

struct cfg_priv {
        struct cfg pub; /* first: cfg_load() hands out &priv->pub */
        enum cfg_src src[CFG_N_KEYS];
        unsigned line[CFG_N_KEYS];
        char *file;
};

static struct cfg_priv *priv_of(const struct cfg *c)
{
        return (struct cfg_priv *)(void *)((char *)(uintptr_t)c - offsetof(struct cfg_priv, pub));
}

static bool check_url(const char *v)
{
        size_t n = strlen(v);

        return n <= CFG_URL_MAX && valid_text(v, n);
}

static bool check_backend(const char *v)
{
        return strcmp(v, "slurm") == 0 || strcmp(v, "mock") == 0;
}

static bool check_slurm_url(const char *v)
{
        size_t n = strlen(v), pre;

        if (strncasecmp(v, "http://", 7) == 0)
                pre = 7;
        else if (strncasecmp(v, "https://", 8) == 0)
                pre = 8;
        else
                return false;
        if (n == pre || n > CFG_URL_MAX || !valid_text(v, n))
                return false;
        return strchr(v, ' ') == NULL;
}

static bool check_api_version(const char *v)
{
        return strlen(v) == 7 && strncmp(v, "v0.0.", 5) == 0 && v[5] >= '0' && v[5] <= '9' &&
               v[6] >= '0' && v[6] <= '9';
}

static bool check_socket(const char *v)
{
        size_t n = strlen(v);

        return n <= CFG_SUN_PATH && valid_text(v, n);
}

/* "" or HOST:PORT, HOST a name or IPv4 address, or [IPv6]:PORT; fcgi/main.c resolves it. */
static bool check_listen(const char *v)
{
        const char *colon = strrchr(v, ':');
        size_t hl;
        int64_t port;

        if (*v == '\0')
                return true;
        if (!colon || num_parse_i64(colon + 1, strlen(colon + 1), 1, 65535, &port) < 0)
                return false;
        hl = (size_t)(colon - v);
        if (hl >= 2 && v[0] == '[' && v[hl - 1] == ']') {
                for (size_t i = 1; i + 1 < hl; i++)
                        if (!strchr("0123456789abcdefABCDEF:.", v[i]))
                                return false;
                return hl > 2;
        }
        return valid_hostname(v, hl);
}

static bool check_log_level(const char *v)
{
        enum log_level l;

        return log_level_parse(v, &l) == 0;
}

static bool check_dir(const char *v)
{
        size_t n = strlen(v);

        return n > 0 && n <= 4096 && valid_text(v, n);
}

/* The /metrics cache directory: absolute, because nginx's `alias` names the same directory. */
static bool check_abs_dir(const char *v)
{
        return v[0] == '/' && check_dir(v);
}

static bool check_opt_host(const char *v)
{
        return *v == '\0' || valid_hostname(v, strlen(v));
}

static bool check_opt_path(const char *v)
{
        return *v == '\0' || valid_path(v, strlen(v));
}

static bool check_prefix(const char *v)
{
        size_t n = strlen(v);

        return n == 0 || (n <= 64 && valid_job_id(v, n));
}

static bool check_gpu(const char *v)
{
        return strcmp(v, "auto") == 0 || strcmp(v, "nvidia") == 0 || strcmp(v, "amd") == 0 ||
               strcmp(v, "none") == 0;
}

static bool check_auth(const char *v)
{
        return strcmp(v, "required") == 0 || strcmp(v, "disabled") == 0;
}

static bool check_sink(const char *v)
{
        return strcmp(v, "db") == 0 || strcmp(v, "api") == 0 || strcmp(v, "stdout") == 0;
}

static int parse_bool(const char *v, bool *ret)
{
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static void wipe(void *p, size_t n)
{
#ifdef HAVE_EXPLICIT_BZERO
        explicit_bzero(p, n);
#else
        volatile unsigned char *v = p;

        while (n--)
                *v++ = 0;
#endif
}

static void free_str(const struct cfg_key *k, char *s)
{
        if (s && (k->flags & CFG_SECRET))
                wipe(s, strlen(s));
        free(s);
}

static void err_set(char *errbuf, size_t errsz, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void err_set(char *errbuf, size_t errsz, const char *fmt, ...)
{
        va_list ap;

        if (!errbuf || errsz == 0)
                return;
        va_start(ap, fmt);
        if (vsnprintf(errbuf, errsz, fmt, ap) < 0)
                errbuf[0] = '\0';
        va_end(ap);
}

/* Parses v for key k and stores it; -EINVAL (value invalid) or -ENOMEM.  c untouched on error. */
static int set_value(struct cfg_priv *p, size_t ki, const char *v, enum cfg_src src, unsigned line)
{
        const struct cfg_key *k = &cfg_keys[ki];
        char *dst = (char *)&p->pub + k->offset;
        int64_t i64;
        uint64_t u64;
        bool b;
        char *s;

        switch (k->type) {
        case CFG_STR:
                if (!k->check(v))
                        return -EINVAL;
                s = strdup(v);
                if (!s)
                        return -ENOMEM;
                free_str(k, *(char **)(void *)dst);
                *(char **)(void *)dst = s;
                break;
        case CFG_INT:
                if (num_parse_i64(v, strlen(v), k->min, k->max, &i64) < 0)
                        return -EINVAL;
                *(int64_t *)(void *)dst = i64;
                break;
        case CFG_OCT:
                if (num_parse_u64_oct(v, strlen(v), (uint64_t)k->max, &u64) < 0)
                        return -EINVAL;
                *(int64_t *)(void *)dst = (int64_t)u64;
                break;
        case CFG_BOOL:
                if (parse_bool(v, &b) < 0)
                        return -EINVAL;
                *(bool *)(void *)dst = b;
                break;
        }
        p->src[ki] = src;
        p->line[ki] = line;
        return 0;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t key_lookup(const char *name, size_t n)
{
        for (size_t i = 0; i < CFG_N_KEYS; i++) {
                if ((strlen(cfg_keys[i].name) == n && memcmp(cfg_keys[i].name, name, n) == 0) ||
                    (strlen(cfg_keys[i].env) == n && memcmp(cfg_keys[i].env, name, n) == 0))
                        return i;
        }
        return CFG_N_KEYS;
}

static bool is_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

/* One line, NUL-terminated and modifiable; 0 or -EINVAL/-ENOMEM with errbuf filled. */
static int parse_line(struct cfg_priv *p, const char *file, unsigned lineno, char *s, char *errbuf,
                      size_t errsz)
{
        char *key, *val, *end;
        size_t key_len, ki;
        int r;

        while (is_blank(*s))
                s++;
        if (*s == '\0' || *s == '#')
                return 0;
        key = s;
        while (is_key_char(*s))
                s++;
        key_len = (size_t)(s - key);
        while (is_blank(*s))
                s++;
        if (key_len == 0 || *s != '=') {
                err_set(errbuf, errsz, "%s:%u: syntax error, expected 'key = value'", file, lineno);
                return -EINVAL;
        }
        s++;
        while (is_blank(*s))
                s++;
        val = s;
        end = val + strlen(val);
        while (end > val && is_blank(end[-1]))
                end--;
        if (end - val >= 2 && (val[0] == '"' || val[0] == '\'') && end[-1] == val[0]) {
                val++;
                end--;
        }
        *end = '\0';
        ki = key_lookup(key, key_len);
        if (ki == CFG_N_KEYS) {
                err_set(errbuf, errsz, "%s:%u: unknown key '%.*s'", file, lineno, (int)key_len,
                        key);
                return -EINVAL;
        }
        if (p->src[ki] == SRC_FILE) {
                err_set(errbuf, errsz, "%s:%u: duplicate key '%s' (first set on line %u)", file,
                        lineno, cfg_keys[ki].name, p->line[ki]);
                return -EINVAL;
        }
        r = set_value(p, ki, val, SRC_FILE, lineno);
        if (r == -ENOMEM) {
                err_set(errbuf, errsz, "%s:%u: out of memory", file, lineno);
        } else if (r < 0) {
                err_set(errbuf, errsz, "%s:%u: %s: invalid value, expected %s", file, lineno,
                        cfg_keys[ki].name, cfg_keys[ki].expect);
        }
        return r;
}

static int read_file(struct cfg_priv *p, const char *file, char *errbuf, size_t errsz)
{
        char ebuf[16];
        char *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0;
        ssize_t n;
        FILE *f;
        int r = 0;

        f = fopen(file, "re");
        if (!f) {
                r = -errno;
                err_set(errbuf, errsz, "%s: cannot open (%s)", file,
                        log_errname(-r, ebuf, sizeof(ebuf)));
                return r;
        }
        for (;;) {
                errno = 0;
                n = getline(&line, &cap, f);
                if (n < 0) {
                        if (ferror(f)) {
                                r = errno ? -errno : -EIO;
                                err_set(errbuf, errsz, "%s: read error (%s)", file,
                                        log_errname(-r, ebuf, sizeof(ebuf)));
                        }
                        break;
                }
                lineno++;
                if ((size_t)n > CFG_LINE_MAX || strlen(line) != (size_t)n) {
                        err_set(errbuf, errsz, "%s:%u: line too long or holds a NUL byte", file,
                                lineno);
                        r = -EINVAL;
                        break;
                }
                r = parse_line(p, file, lineno, line, errbuf, errsz);
                if (r < 0)
                        break;
        }
        if (line) {
                wipe(line, cap); /* the file may hold the database password */
                free(line);
        }
        fclose(f);
        return r;
}

int cfg_load(const char *file, struct cfg **ret, char *errbuf, size_t errsz)
{
        struct cfg_priv *p = NULL;
        int r;

        if (errbuf && errsz > 0)
                errbuf[0] = '\0';
        p = calloc(1, sizeof(*p));
        if (!p) {
                err_set(errbuf, errsz, "out of memory");
                return -ENOMEM;
        }
        for (size_t i = 0; i < CFG_N_KEYS; i++) {
                r = set_value(p, i, cfg_keys[i].def, SRC_DEFAULT, 0);
                if (r < 0) {
                        err_set(errbuf, errsz, "%s: bad compiled-in default", cfg_keys[i].name);
                        goto out;
                }
        }
        if (!file) {
                file = secure_getenv("HJO_CONFIG");
                if (file && *file == '\0')
                        file = NULL;
        }
        if (file) {
                p->file = strdup(file);
                if (!p->file) {
                        r = -ENOMEM;
                        err_set(errbuf, errsz, "out of memory");
                        goto out;
                }
                r = read_file(p, p->file, errbuf, errsz);
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < CFG_N_KEYS; i++) {
                const char *v = secure_getenv(cfg_keys[i].env);

                if (!v)
                        continue;
                r = set_value(p, i, v, SRC_ENV, 0);
                if (r == -ENOMEM) {
                        err_set(errbuf, errsz, "out of memory");
                        goto out;
                }
                if (r < 0) {
                        err_set(errbuf, errsz, "%s: invalid value, expected %s", cfg_keys[i].env,
                                cfg_keys[i].expect);
                        goto out;
                }
        }
        *ret = &p->pub;
        p = NULL; /* owned by the caller */
        r = 0;
out:
        if (p)
                cfg_free(&p->pub);
        return r;
}

void cfg_free(struct cfg *c)
{
        struct cfg_priv *p;

        if (!c)
                return;
        p = priv_of(c);
        for (size_t i = 0; i < CFG_N_KEYS; i++) {
                if (cfg_keys[i].type == CFG_STR)
                        free_str(&cfg_keys[i], *(char **)(void *)((char *)c + cfg_keys[i].offset));
        }
        free(p->file);
        free(p);
}

/* Copies a libpq URI, replacing the userinfo password and a password= query value by "***". */
static void mask_uri(struct strbuf *sb, const char *s, size_t scheme_len)
{
        const char *auth = s + scheme_len, *q, *at = NULL, *colon;

        q = auth + strcspn(auth, "?");
        for (const char *x = auth; x < q; x++) {
                if (*x == '@')
                        at = x; /* the last '@': an unencoded '@' in the password stays masked */
        }
        if (at) {
                colon = memchr(auth, ':', (size_t)(at - auth));
                if (colon) {
                        strbuf_addn(sb, s, (size_t)(colon + 1 - s));
                        strbuf_adds(sb, "***");
                        strbuf_addn(sb, at, (size_t)(q - at));
                } else {
                        strbuf_addn(sb, s, (size_t)(q - s));
                }
        } else {
                strbuf_addn(sb, s, (size_t)(q - s));
        }
        while (*q) {
                size_t n;

                strbuf_addc(sb, *q); /* '?' or '&' */
                q++;
                n = strcspn(q, "&");
                if (strncmp(q, "password=", 9) == 0) {
                        strbuf_adds(sb, "password=***");
                } else {
                        strbuf_addn(sb, q, n);
                }
                q += n;
        }
}

/* Copies a libpq key=value string, replacing the value of password by "***". */
static void mask_kv(struct strbuf *sb, const char *s)
{
        while (*s) {
                const char *kw, *v;
                size_t kw_len;

                while (is_blank(*s))
                        strbuf_addc(sb, *s++);
                kw = s;
                while (*s && *s != '=' && !is_blank(*s))
                        s++;
                kw_len = (size_t)(s - kw);
                strbuf_addn(sb, kw, kw_len);
                while (is_blank(*s))
                        strbuf_addc(sb, *s++);
                if (*s != '=')
                        continue;
                strbuf_addc(sb, *s++);
                while (is_blank(*s))
                        strbuf_addc(sb, *s++);
                v = s;
                if (*s == '\'') {
                        /* quoted value: backslash escapes ' and \ (libpq "34.1.1.1") */
                        s++;
                        while (*s && *s != '\'') {
                                if (*s == '\\' && s[1])
                                        s++;
                                s++;
                        }
                        if (*s == '\'')
                                s++;
                } else {
                        while (*s && !is_blank(*s)) {
                                if (*s == '\\' && s[1])
                                        s++;
                                s++;
                        }
                }
                if (kw_len == 8 && memcmp(kw, "password", 8) == 0)
                        strbuf_adds(sb, "***");
                else
                        strbuf_addn(sb, v, (size_t)(s - v));
        }
}

static void dump_secret(FILE *out, const char *v)
{
        struct strbuf sb;

        strbuf_init(&sb, CFG_URL_MAX * 2);
        if (strncmp(v, "postgresql://", 13) == 0)
                mask_uri(&sb, v, 13);
        else if (strncmp(v, "postgres://", 11) == 0)
                mask_uri(&sb, v, 11);
        else
                mask_kv(&sb, v);
        if (strbuf_failed(&sb))
                fputs("***", out); /* when in doubt, print nothing of it */
        else if (sb.buf)
                fputs(sb.buf, out);
        strbuf_clear(&sb);
}

void cfg_dump(const struct cfg *c, FILE *out)
{
        const struct cfg_priv *p = priv_of(c);
        const char *base = (const char *)c;

        for (size_t i = 0; i < CFG_N_KEYS; i++) {
                const struct cfg_key *k = &cfg_keys[i];
                const void *v = base + k->offset;

                fprintf(out, "%s = ", k->name);
                switch (k->type) {
                case CFG_STR:
                        if (k->flags & CFG_SECRET)
                                dump_secret(out, *(char *const *)v);
                        else
                                fputs(*(char *const *)v, out);
                        break;
                case CFG_INT:
                        fprintf(out, "%lld", (long long)*(const int64_t *)v);
                        break;
                case CFG_OCT:
                        fprintf(out, "%04llo", (unsigned long long)*(const int64_t *)v);
                        break;
                case CFG_BOOL:
                        fputs(*(const bool *)v ? "true" : "false", out);
                        break;
                }
                switch (p->src[i]) {
                case SRC_DEFAULT:
                        fputs("  # default\n", out);
                        break;
                case SRC_FILE:
                        fprintf(out, "  # file %s:%u\n", p->file, p->line[i]);
                        break;
                case SRC_ENV:
                        fprintf(out, "  # env %s\n", k->env);
                        break;
                }
        }
}
