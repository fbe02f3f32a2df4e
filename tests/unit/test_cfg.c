/* tests/unit/test_cfg.c: lib/cfg.c defaults, file grammar, environment, validation, dump. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "tap.h"

static const char *const env_names[] = {
        "HJO_CONFIG",
        "DATABASE_URL",
        "SCHEDULER_BACKEND",
        "SLURM_BASE_URL",
        "SLURM_API_VERSION",
        "METRICS_RETENTION_DAYS",
        "SEED_DEMO",
        "HJO_SOCKET",
        "HJO_SOCKET_MODE",
        "HJO_WORKERS",
        "HJO_METRICS_GRACE_SECONDS",
        "HJO_STATEMENT_TIMEOUT_MS",
        "HJO_LOG_LEVEL",
        "HJO_SQL_DIR",
        "DATABASE_READ_URL",
        "HJO_LISTEN",
        "HJO_METRICS_CACHE_SECONDS",
        "HJO_METRICS_CACHE_DIR",
        "HJO_EVENT_BATCH_MAX",
};

static char path[64];

static void clear_env(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(env_names); i++)
                unsetenv(env_names[i]);
}

/* Writes text to a fresh temporary file named in `path`. */
static void write_file(const char *text)
{
        size_t n = strlen(text);
        int fd;

        if (path[0])
                unlink(path);
        snprintf(path, sizeof(path), "/tmp/hjo-test-cfg-XXXXXX");
        fd = mkstemp(path);
        if (fd < 0 || write(fd, text, n) != (ssize_t)n)
                abort();
        close(fd);
}

/* cfg_dump() output (caller frees); through a tmpfile, which keeps gcc's dangling-pointer
   analysis quiet where open_memstream() would not. */
static char *dump(const struct cfg *c)
{
        FILE *f = tmpfile();
        char *buf;
        long n;

        if (!f)
                abort();
        cfg_dump(c, f);
        n = ftell(f);
        rewind(f);
        buf = calloc(1, (size_t)n + 1);
        if (n < 0 || !buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
                abort();
        fclose(f);
        return buf;
}

/* Loads `text` as a config file; returns cfg_load()'s result, the cfg freed. */
static int load_text(const char *text, char *err, size_t errsz)
{
        struct cfg *c = NULL;
        int r;

        write_file(text);
        r = cfg_load(path, &c, err, errsz);
        cfg_free(c);
        return r;
}

struct bad_case {
        const char *line;
        const char *key; /* named in the message */
};

static const struct bad_case bad_cases[] = {
        { "workers = 0\n", "workers" },
        { "workers = 257\n", "workers" },
        { "workers = abc\n", "workers" },
        { "workers = 8 # eight\n", "workers" }, /* no trailing comments */
        { "workers =\n", "workers" },
        { "workers = -1\n", "workers" },
        { "metrics_retention_days = 36501\n", "metrics_retention_days" },
        { "metrics_retention_days = 0\n", "metrics_retention_days" },
        { "metrics_grace_seconds = 86401\n", "metrics_grace_seconds" },
        { "metrics_cache_seconds = 3601\n", "metrics_cache_seconds" },
        { "metrics_cache_seconds = -1\n", "metrics_cache_seconds" },
        { "metrics_cache_dir = var/cache/hjo\n", "metrics_cache_dir" },
        { "event_batch_max = 0\n", "event_batch_max" },
        { "event_batch_max = 257\n", "event_batch_max" },
        { "metrics_cache_dir =\n", "metrics_cache_dir" },
        { "statement_timeout_ms = 99\n", "statement_timeout_ms" },
        { "statement_timeout_ms = 600001\n", "statement_timeout_ms" },
        { "seed_demo = maybe\n", "seed_demo" },
        { "seed_demo = \n", "seed_demo" },
        { "socket_mode = 0800\n", "socket_mode" },
        { "socket_mode = 01000\n", "socket_mode" },
        { "socket_mode = rw\n", "socket_mode" },
        { "scheduler_backend = pbs\n", "scheduler_backend" },
        { "scheduler_backend = Slurm\n", "scheduler_backend" },
        { "slurm_api_version = v0.0.3\n", "slurm_api_version" },
        { "slurm_api_version = v0.1.38\n", "slurm_api_version" },
        { "slurm_api_version = 0.0.38\n", "slurm_api_version" },
        { "slurm_base_url = ftp://slurm\n", "slurm_base_url" },
        { "slurm_base_url = http://\n", "slurm_base_url" },
        { "slurm_base_url = http://a b\n", "slurm_base_url" },
        { "log_level = trace\n", "log_level" },
        { "sql_dir =\n", "sql_dir" },
        { "socket = /run/a-very-long-directory-name/that-keeps-going/and-going/and-going/"
          "until-it-is-over-the-107-byte-limit.sock\n",
          "socket" },
        { "database_url = host=h\x01\n", "database_url" },
        { "database_read_url = host=h\x01\n", "database_read_url" },
        { "listen = 127.0.0.1\n", "listen" },
        { "listen = 127.0.0.1:0\n", "listen" },
        { "listen = 127.0.0.1:65536\n", "listen" },
        { "listen = :9000\n", "listen" },
        { "listen = *:9000\n", "listen" },
        { "listen = [::1]9000\n", "listen" },
        { "listen = []:9000\n", "listen" },
        { "listen = [fe80::1%eth0]:9000\n", "listen" },
        { "listen = /run/hjo.sock\n", "listen" },
};

struct good_case {
        const char *line;
        const char *want_dump; /* a line that must appear in cfg_dump() */
};

static const struct good_case good_cases[] = {
        { "seed_demo = yes\n", "seed_demo = true  # file " },
        { "seed_demo = on\n", "seed_demo = true  # file " },
        { "seed_demo = 1\n", "seed_demo = true  # file " },
        { "seed_demo = TRUE\n", "seed_demo = true  # file " },
        { "seed_demo = no\n", "seed_demo = false  # file " },
        { "seed_demo = off\n", "seed_demo = false  # file " },
        { "seed_demo = 0\n", "seed_demo = false  # file " },
        { "socket_mode = 660\n", "socket_mode = 0660  # file " },
        { "socket_mode = 0600\n", "socket_mode = 0600  # file " },
        { "workers = 256\n", "workers = 256  # file " },
        { "workers = 1\n", "workers = 1  # file " },
        { "metrics_grace_seconds = 0\n", "metrics_grace_seconds = 0  # file " },
        { "scheduler_backend = slurm\n", "scheduler_backend = slurm  # file " },
        { "slurm_api_version = v0.0.40\n", "slurm_api_version = v0.0.40  # file " },
        { "slurm_base_url = https://slurm.example:6820/\n",
          "slurm_base_url = https://slurm.example:6820/  # file " },
        { "log_level = debug\n", "log_level = debug  # file " },
        { "socket =\n", "socket =   # file " },
        { "  HJO_WORKERS=12  \n", "workers = 12  # file " },
        { "sql_dir = \"/opt/hjo sql\"\n", "sql_dir = /opt/hjo sql  # file " },
        { "sql_dir = './sql'\n", "sql_dir = ./sql  # file " },
        { "listen = 127.0.0.1:9000\n", "listen = 127.0.0.1:9000  # file " },
        { "listen = [::1]:9000\n", "listen = [::1]:9000  # file " },
        { "listen = api-1.example.org:65535\n", "listen = api-1.example.org:65535  # file " },
        { "database_read_url = postgresql://ro:s3cr3t@replica/hjo\n",
          "database_read_url = postgresql://ro:***@replica/hjo  # file " },
};

struct mask_case {
        const char *url;
        const char *want;
};

static const struct mask_case mask_cases[] = {
        { "postgres://hpc:password@postgres:5432/hpc_jobs?sslmode=disable",
          "postgres://hpc:***@postgres:5432/hpc_jobs?sslmode=disable" },
        { "postgresql://hpc:s3cr%40t@db/hpc", "postgresql://hpc:***@db/hpc" },
        { "postgresql://u:p@ss@h/db", "postgresql://u:***@h/db" },
        { "postgresql://u@h/db", "postgresql://u@h/db" },
        { "postgresql:///hpc", "postgresql:///hpc" },
        { "postgresql://h/db?user=u&password=s3cr3t&sslmode=require",
          "postgresql://h/db?user=u&password=***&sslmode=require" },
        { "host=h user=u password=s3cr3t dbname=d", "host=h user=u password=*** dbname=d" },
        { "password=s3cr3t", "password=***" },
        { "host=h password = 's3c r3t\\'x' dbname=d", "host=h password = *** dbname=d" },
        { "host=h passfile=/x dbname=d", "host=h passfile=/x dbname=d" },
        { "", "" },
};

static void test_defaults(void)
{
        char err[256] = "untouched";
        struct cfg *c = NULL;
        char *d;

        clear_env();
        if (!is_int(cfg_load(NULL, &c, err, sizeof(err)), 0, "defaults load"))
                return;
        is_str(c->database_url, "", "database_url default");
        is_str(c->scheduler_backend, "mock", "scheduler_backend default");
        is_str(c->slurm_base_url, "http://localhost:6820", "slurm_base_url default");
        is_str(c->slurm_api_version, "v0.0.38", "slurm_api_version default");
        is_i64(c->metrics_retention_days, 30, "metrics_retention_days default");
        ok(!c->seed_demo, "seed_demo default");
        is_str(c->socket_path, "", "socket default");
        is_i64(c->socket_mode, 0660, "socket_mode default");
        is_i64(c->workers, 8, "workers default");
        is_i64(c->metrics_grace_seconds, 300, "metrics_grace_seconds default");
        is_i64(c->statement_timeout_ms, 5000, "statement_timeout_ms default");
        is_str(c->log_level, "info", "log_level default");
        is_str(c->sql_dir, HJO_DATADIR "/sql", "sql_dir default");
        is_str(c->database_read_url, "", "database_read_url default");
        is_str(c->listen, "", "listen default");
        is_i64(c->metrics_cache_seconds, 0, "metrics_cache_seconds default (off)");
        is_str(c->metrics_cache_dir, "/var/cache/hjo", "metrics_cache_dir default");
        is_i64(c->event_batch_max, 32, "event_batch_max default");
        d = dump(c);
        ok(strstr(d, "workers = 8  # default\n") != NULL, "dump shows default source");
        ok(strstr(d, "socket_mode = 0660  # default\n") != NULL, "dump shows octal mode");
        free(d);
        cfg_free(c);
}

static void test_file_and_env(void)
{
        char err[256] = "";
        char want[128];
        struct cfg *c = NULL;
        char *d;

        clear_env();
        write_file("# hjo test config\n"
                   "\n"
                   "   # indented comment\n"
                   "workers = 4\n"
                   "log_level=debug\n"
                   "\tseed_demo\t=\ttrue\t\n"
                   "DATABASE_URL=postgres://hpc:password@postgres:5432/hpc_jobs?sslmode=disable\n"
                   "statement_timeout_ms = 100"); /* no final newline */
        if (!is_int(cfg_load(path, &c, err, sizeof(err)), 0, "file load: %s", err))
                return;
        is_i64(c->workers, 4, "file workers");
        is_str(c->log_level, "debug", "file log_level");
        ok(c->seed_demo, "file seed_demo");
        is_i64(c->statement_timeout_ms, 100, "last line without newline");
        is_str(c->database_url, "postgres://hpc:password@postgres:5432/hpc_jobs?sslmode=disable",
               "file DATABASE_URL kept verbatim");
        d = dump(c);
        snprintf(want, sizeof(want), "workers = 4  # file %s:4\n", path);
        ok(strstr(d, want) != NULL, "dump names file and line");
        ok(strstr(d, "password@") == NULL, "dump masks the password");
        ok(strstr(d, "database_url = postgres://hpc:***@postgres:5432/") != NULL,
           "dump shows the masked URI");
        free(d);
        cfg_free(c);

        /* the environment overrides the file */
        setenv("HJO_WORKERS", "16", 1);
        setenv("SEED_DEMO", "off", 1);
        c = NULL;
        if (is_int(cfg_load(path, &c, err, sizeof(err)), 0, "file + env load")) {
                is_i64(c->workers, 16, "env overrides file");
                ok(!c->seed_demo, "env boolean overrides file");
                is_str(c->log_level, "debug", "file value kept when env is unset");
                d = dump(c);
                ok(strstr(d, "workers = 16  # env HJO_WORKERS\n") != NULL, "dump shows env");
                free(d);
                cfg_free(c);
        }

        /* HJO_CONFIG names the file when the caller does not */
        setenv("HJO_CONFIG", path, 1);
        c = NULL;
        if (is_int(cfg_load(NULL, &c, err, sizeof(err)), 0, "HJO_CONFIG load")) {
                is_str(c->log_level, "debug", "HJO_CONFIG file was read");
                cfg_free(c);
        }
        clear_env();

        /* a bad environment value names the variable */
        setenv("HJO_WORKERS", "0", 1);
        c = NULL;
        is_int(cfg_load(NULL, &c, err, sizeof(err)), -EINVAL, "bad env value");
        ok(c == NULL, "ret untouched on failure");
        ok(strncmp(err, "HJO_WORKERS: invalid value", 26) == 0, "env error names it: %s", err);
        setenv("HJO_WORKERS", "", 1);
        is_int(cfg_load(NULL, &c, err, sizeof(err)), -EINVAL, "empty env value is a value");
        clear_env();
        setenv("SLURM_API_VERSION", "v0.0.41", 1);
        if (is_int(cfg_load(NULL, &c, err, sizeof(err)), 0, "fixed env name")) {
                is_str(c->slurm_api_version, "v0.0.41", "SLURM_API_VERSION read");
                cfg_free(c);
        }
        clear_env();
}

static void test_errors(void)
{
        char err[512], want[256];
        struct cfg *c = NULL;

        clear_env();
        is_int(load_text("workers = 4\n\nbogus = 1\n", err, sizeof(err)), -EINVAL, "unknown key");
        snprintf(want, sizeof(want), "%s:3: unknown key 'bogus'", path);
        is_str(err, want, "unknown key message");

        is_int(load_text("workers 8\n", err, sizeof(err)), -EINVAL, "missing '='");
        snprintf(want, sizeof(want), "%s:1: syntax error, expected 'key = value'", path);
        is_str(err, want, "syntax error message");
        is_int(load_text("= 8\n", err, sizeof(err)), -EINVAL, "missing key");
        is_int(load_text("work-ers = 8\n", err, sizeof(err)), -EINVAL, "bad key character");
        is_int(load_text("workers = 4\nworkers = 5\n", err, sizeof(err)), -EINVAL, "duplicate key");
        ok(strstr(err, ":2: duplicate key 'workers'") != NULL, "duplicate message: %s", err);

        for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
                is_int(load_text(bad_cases[i].line, err, sizeof(err)), -EINVAL, "bad case %zu: %s",
                       i, bad_cases[i].line);
                snprintf(want, sizeof(want), "%s:1: %s: invalid value", path, bad_cases[i].key);
                ok(strncmp(err, want, strlen(want)) == 0, "bad case %zu message: %s", i, err);
        }
        for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
                char *d;

                write_file(good_cases[i].line);
                c = NULL;
                if (!is_int(cfg_load(path, &c, err, sizeof(err)), 0, "good case %zu: %s", i,
                            good_cases[i].line))
                        continue;
                d = dump(c);
                ok(strstr(d, good_cases[i].want_dump) != NULL, "good case %zu dump", i);
                free(d);
                cfg_free(c);
        }

        /* sun_path: 107 bytes fit, 108 do not */
        {
                char line[160] = "socket = /";

                memset(line + 10, 's', 106);
                line[116] = '\0';
                is_int(load_text(line, err, sizeof(err)), 0, "socket path of 107 bytes");
                line[116] = 's';
                line[117] = '\0';
                is_int(load_text(line, err, sizeof(err)), -EINVAL, "socket path of 108 bytes");
        }

        c = NULL;
        is_int(cfg_load("/nonexistent/hjo.conf", &c, err, sizeof(err)), -ENOENT, "missing file");
        ok(c == NULL, "ret untouched for a missing file");
        ok(strstr(err, "/nonexistent/hjo.conf") != NULL, "missing file named: %s", err);

        /* a NUL byte in a line */
        {
                static const char nul_line[] = "workers = 4\0junk\n";
                int fd;

                if (path[0])
                        unlink(path);
                snprintf(path, sizeof(path), "/tmp/hjo-test-cfg-XXXXXX");
                fd = mkstemp(path);
                if (fd < 0 || write(fd, nul_line, sizeof(nul_line) - 1) < 0)
                        abort();
                close(fd);
                is_int(cfg_load(path, &c, err, sizeof(err)), -EINVAL, "NUL byte in a line");
        }
}

static void test_masking(void)
{
        char err[256];

        for (size_t i = 0; i < ARRAY_SIZE(mask_cases); i++) {
                struct cfg *c = NULL;
                char *d, *line, *eol;

                clear_env();
                setenv("DATABASE_URL", mask_cases[i].url, 1);
                if (!is_int(cfg_load(NULL, &c, err, sizeof(err)), 0, "mask case %zu loads", i))
                        continue;
                is_str(c->database_url, mask_cases[i].url, "mask case %zu value intact", i);
                d = dump(c);
                line = strstr(d, "database_url = ");
                eol = line ? strstr(line, "  # env DATABASE_URL\n") : NULL;
                if (ok(line && eol, "mask case %zu dump line found", i)) {
                        *eol = '\0';
                        is_str(line + 15, mask_cases[i].want, "mask case %zu", i);
                }
                ok(strstr(d, "s3c") == NULL && strstr(d, ":password@") == NULL,
                   "mask case %zu: no secret in the dump", i);
                free(d);
                cfg_free(c);
        }
        clear_env();
}

int main(void)
{
        test_defaults();
        test_file_and_env();
        test_errors();
        test_masking();
        if (path[0])
                unlink(path);
        cfg_free(NULL);
        return done_testing();
}
