/*
 * fcgi/main.c: hjo-api, the FastCGI responder behind nginx.
 *
 * Process model (measured in ../shared/docs/stack-ceilings.md): a master process owns the
 * listening Unix socket (its own, or fd 0 inherited from spawn-fcgi/systemd) and forks N
 * single-threaded workers.  Each worker waits for a connection on the (non-blocking) socket,
 * keeps one persistent PostgreSQL connection with its prepared statements, and answers one
 * request at a time, so a slow client (nginx buffers it anyway) or a slow query
 * (statement_timeout) holds one worker, never the others.  The exception are job events: while
 * more connections wait, a worker accepts them too and applies the events among them in one
 * transaction before answering them (fcgi/evbatch.h, HJO_EVENT_BATCH_MAX).  nginx must not use
 * fastcgi_keep_conn with fewer workers than nginx workers × keepalive (libfcgi pins a process
 * per kept connection).
 *
 * Scale-out (docs/scale-out.md): HJO_LISTEN=HOST:PORT listens on TCP instead, so that nginx on
 * another host can balance over several hjo-api hosts.  With DATABASE_READ_URL each worker keeps
 * a second, read-only connection to a streaming replica for the read routes (fcgi/route.c) and
 * falls back to the primary while the replica is unreachable.
 *
 * Signals: the master reads SIGTERM/SIGINT/SIGCHLD/SIGHUP from a signalfd; on SIGTERM it
 * forwards SIGTERM, waits for the workers to finish their current request (deadline, then
 * SIGKILL) and removes the socket.  A worker's handler only sets a flag and calls
 * FCGX_ShutdownPending(); it is installed without SA_RESTART, so the worker's wait (epoll) returns
 * (libfcgi's threaded pattern did not), and the requests with FCGI_FAIL_ACCEPT_ON_INTR.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cfg.h"
#include "db.h"
#include "evbatch.h"
#include "http.h"
#include "log.h"
#include "route.h"

#define MAX_WORKERS      256
#define STOP_DEADLINE_MS 10000
#define LISTEN_BACKLOG   1024
#define READ_RETRY_MS    5000 /* a worker retries an unreachable read replica this often */

static volatile sig_atomic_t worker_stop;

static void worker_on_signal(int sig)
{
        (void)sig;
        worker_stop = 1;
        FCGX_ShutdownPending();
}

static int64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct db *worker_connect(const struct cfg *cfg, int64_t *last_try_ms)
{
        struct db *db = NULL;
        int64_t t = now_ms();
        int r;

        if (*last_try_ms && t - *last_try_ms < 1000)
                return NULL; /* at most one attempt per second while the database is down */
        *last_try_ms = t;
        r = db_open(cfg->database_url, "hjo-api", cfg->statement_timeout_ms, &db);
        if (r < 0) {
                (void)log_errno(LOG_LVL_WARNING, r,
                                "database connection failed, answering 503 until it is back", NULL);
                return NULL;
        }
        return db;
}

/*
 * A worker's connection to the read replica (DATABASE_READ_URL).  Checked before each GET
 * without a round trip (db_idle_ok); when the replica closed it (shutdown, crash, restart) it
 * is dropped and reconnected at once, then at most every READ_RETRY_MS while that fails.
 * Meanwhile reads use the primary.  One log line per change of state, not per request.
 */
struct read_conn {
        struct db *db;
        int64_t next_try_ms;
        bool is_down; /* "unavailable" was logged */
};

static struct db *read_conn_get(const struct cfg *cfg, struct read_conn *rc)
{
        int64_t t;
        int r;

        if (!cfg->database_read_url[0])
                return NULL;
        if (rc->db && db_idle_ok(rc->db))
                return rc->db;
        if (rc->db) {
                db_close(rc->db);
                rc->db = NULL;
                rc->next_try_ms = 0;
        }
        t = now_ms();
        if (t < rc->next_try_ms)
                return NULL;
        r = db_open_read(cfg->database_read_url, "hjo-api-read", cfg->statement_timeout_ms,
                         &rc->db);
        if (r < 0) {
                char ms[24];

                rc->db = NULL;
                rc->next_try_ms = t + READ_RETRY_MS;
                (void)snprintf(ms, sizeof(ms), "%d", READ_RETRY_MS);
                if (!rc->is_down)
                        (void)log_errno(LOG_LVL_WARNING, r,
                                        "read replica unavailable, reading from the primary",
                                        "retry_ms", ms, NULL);
                rc->is_down = true;
                return NULL;
        }
        if (rc->is_down)
                log_kv(LOG_LVL_NOTICE, "read replica reachable again, reading from it", NULL);
        rc->is_down = false;
        return rc->db;
}

/* One accepted request and its state; a worker has HJO_EVENT_BATCH_MAX of them so that the
   events it keeps for a batch (fcgi/evbatch.h) stay open until their answers. */
struct slot {
        FCGX_Request fr;
        struct http_req req;
};

struct worker {
        const struct cfg *cfg;
        struct db *db;
        struct read_conn rc;
        int64_t last_try;
};

/* Answers (or, for an event kept for the batch, starts) the request accepted into s. */
static void serve(struct worker *w, struct slot *s)
{
        if (!w->db)
                w->db = worker_connect(w->cfg, &w->last_try);
        if (http_req_init(&s->req, &s->fr, w->cfg, w->db) < 0) {
                http_error(&s->req, 400, "invalid_request", "malformed request", NULL);
        } else {
                if (strcmp(s->req.method, "GET") == 0)
                        s->req.db_read = read_conn_get(w->cfg, &w->rc);
                route_dispatch(&s->req);
        }
}

/* Ends the request of slot i.  Only slot 0 keeps a connection nginx asked to keep
   (fastcgi_keep_conn, which docs/operations.md advises against): the others are reached only
   while a batch is gathered, where reading a kept connection would wait for nginx. */
static void finish(struct slot *s, size_t i)
{
        if (i > 0)
                s->fr.keepConnection = 0;
        if (!s->req.replied)
                http_error(&s->req, 500, NULL, "internal error", NULL);
        http_req_clear(&s->req);
        FCGX_Finish_r(&s->fr);
}

/* Waits until a connection is waiting on the listening socket (or a signal came).  Several
   workers wait on one socket: EPOLLEXCLUSIVE wakes one of them per connection, not all. */
static int wait_listen(int epfd)
{
        struct epoll_event ev;

        return epoll_wait(epfd, &ev, 1, -1) < 0 ? -errno : 0;
}

static int listen_setup(int listen_fd)
{
        struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
        int epfd, flags, r;

        /* Non-blocking: an accept with nothing waiting (another worker took it, or a batch
           looks for more) returns at once instead of waiting for the next client. */
        flags = fcntl(listen_fd, F_GETFL);
        if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
                return -errno;
        ev.data.fd = listen_fd;
        r = epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0 ? -errno : 0;
        if (r == -EINVAL) {
                ev.events = EPOLLIN; /* a kernel before 4.5: every idle worker wakes */
                r = epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0 ? -errno : 0;
        }
        if (r < 0) {
                (void)close(epfd);
                return r;
        }
        return epfd;
}

static int worker_main(int listen_fd, const struct cfg *cfg)
{
        struct sigaction sa;
        struct worker w = { .cfg = cfg };
        struct slot *slots;
        size_t n_slots = (size_t)cfg->event_batch_max;
        sigset_t none;
        int epfd;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = worker_on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0; /* no SA_RESTART: a blocked wait must return */
        (void)sigaction(SIGTERM, &sa, NULL);
        (void)sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        (void)sigaction(SIGPIPE, &sa, NULL);
        sa.sa_handler = SIG_DFL;
        (void)sigaction(SIGCHLD, &sa, NULL);
        (void)sigaction(SIGHUP, &sa, NULL);
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);

        auth_setup(&(struct auth_settings){
                .required = strcmp(cfg->auth, "disabled") != 0,
                .metrics_public = cfg->metrics_public,
                .trust_client_cert = cfg->trust_client_cert,
        });
        epfd = listen_setup(listen_fd);
        if (epfd < 0) {
                (void)log_errno(LOG_LVL_ERR, epfd, "cannot wait on the listening socket", NULL);
                return 1;
        }
        slots = calloc(n_slots, sizeof(*slots));
        if (!slots)
                return 1;
        for (size_t i = 0; i < n_slots; i++)
                if (FCGX_InitRequest(&slots[i].fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
                        return 1;
        evbatch_setup(listen_fd, n_slots);
        w.db = worker_connect(cfg, &w.last_try);
        (void)read_conn_get(cfg, &w.rc);
        while (!worker_stop) {
                size_t kept = 0;

                /* a kept connection is read as before: its next request comes on it */
                if (slots[0].fr.ipcFd < 0 && wait_listen(epfd) < 0)
                        continue; /* EINTR: worker_stop is checked */
                /* Accept what is waiting: one request, or while events are kept for a batch,
                   every waiting request up to a full batch.  The others are answered at once. */
                do {
                        struct slot *s = &slots[kept];

                        if (FCGX_Accept_r(&s->fr) < 0)
                                break; /* nothing waiting (EAGAIN), a failed connection, EINTR */
                        serve(&w, s);
                        if (s->req.deferred)
                                kept++;
                        else
                                finish(s, kept);
                } while (evbatch_pending() && kept < n_slots && !worker_stop);
                if (kept == 0)
                        continue;
                evbatch_flush(w.db);
                for (size_t i = 0; i < kept; i++)
                        finish(&slots[i], i);
        }
        for (size_t i = 0; i < n_slots; i++)
                FCGX_Free(&slots[i].fr, 0);
        free(slots);
        (void)close(epfd);
        db_close(w.rc.db);
        db_close(w.db);
        return 0;
}

/* Worker slots.  A worker that exits is restarted after a delay that doubles while workers keep
   dying young (a bad configuration, an unreachable library) and falls back to RESPAWN_MIN_MS
   once one has lived RESPAWN_STABLE_MS: no fork storm, and a one-off crash is repaired fast.
   A failed fork (EAGAIN, ENOMEM) is retried the same way instead of leaving the slot empty. */
#define RESPAWN_MIN_MS    200
#define RESPAWN_MAX_MS    5000
#define RESPAWN_STABLE_MS 10000
#define MASTER_TICK_MS    1000 /* reap and refill even if a SIGCHLD was not seen */

struct master {
        pid_t pids[MAX_WORKERS];
        int64_t started_ms[MAX_WORKERS];
        int64_t respawn_at_ms[MAX_WORKERS]; /* 0: slot filled (or not to be refilled) */
        int64_t backoff_ms;
        int n;
        int listen_fd;
        const struct cfg *cfg;
};

static int spawn_worker(struct master *m, int slot)
{
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0)
                _exit(worker_main(m->listen_fd, m->cfg));
        m->pids[slot] = pid;
        m->started_ms[slot] = now_ms();
        m->respawn_at_ms[slot] = 0;
        return 0;
}

/* Collects exited workers; with respawn, schedules their slots to be refilled. */
static int reap(struct master *m, bool respawn)
{
        int alive = 0, status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                for (int i = 0; i < m->n; i++) {
                        char pbuf[16], sbuf[16], dbuf[16];
                        int64_t t;

                        if (m->pids[i] != pid)
                                continue;
                        m->pids[i] = 0;
                        if (!respawn)
                                break;
                        t = now_ms();
                        if (t - m->started_ms[i] >= RESPAWN_STABLE_MS)
                                m->backoff_ms = RESPAWN_MIN_MS;
                        else
                                m->backoff_ms = m->backoff_ms * 2 > RESPAWN_MAX_MS
                                                        ? RESPAWN_MAX_MS
                                                        : m->backoff_ms * 2;
                        m->respawn_at_ms[i] = t + m->backoff_ms;
                        (void)snprintf(pbuf, sizeof(pbuf), "%d", (int)pid);
                        (void)snprintf(sbuf, sizeof(sbuf), "%d",
                                       WIFEXITED(status) ? WEXITSTATUS(status)
                                                         : 128 + WTERMSIG(status));
                        (void)snprintf(dbuf, sizeof(dbuf), "%lld", (long long)m->backoff_ms);
                        log_kv(LOG_LVL_WARNING, "worker exited, restarting", "pid", pbuf,
                               "status", sbuf, "delay_ms", dbuf, NULL);
                        break;
                }
        }
        for (int i = 0; i < m->n; i++)
                alive += m->pids[i] != 0;
        return alive;
}

/* Refills the slots whose restart time has come; returns the milliseconds until the next one
   is due (MASTER_TICK_MS when none is pending). */
static int refill(struct master *m)
{
        int64_t t = now_ms(), next = MASTER_TICK_MS;

        for (int i = 0; i < m->n; i++) {
                int r;

                if (m->pids[i] || !m->respawn_at_ms[i])
                        continue;
                if (m->respawn_at_ms[i] <= t) {
                        r = spawn_worker(m, i);
                        if (r == 0)
                                continue;
                        (void)log_errno(LOG_LVL_ERR, r, "fork failed, will retry", NULL);
                        m->respawn_at_ms[i] = t + RESPAWN_MAX_MS;
                }
                if (m->respawn_at_ms[i] - t < next)
                        next = m->respawn_at_ms[i] - t;
        }
        return next < 0 ? 0 : (int)next;
}

static void stop_workers(struct master *m, int sfd)
{
        int64_t deadline = now_ms() + STOP_DEADLINE_MS;

        for (int i = 0; i < m->n; i++)
                if (m->pids[i])
                        (void)kill(m->pids[i], SIGTERM);
        while (reap(m, false) > 0) {
                struct pollfd p = { .fd = sfd, .events = POLLIN };
                struct signalfd_siginfo si;
                int64_t left = deadline - now_ms();

                if (left <= 0) {
                        log_kv(LOG_LVL_WARNING, "workers did not stop in time, killing", NULL);
                        for (int i = 0; i < m->n; i++)
                                if (m->pids[i])
                                        (void)kill(m->pids[i], SIGKILL);
                        while (reap(m, false) > 0)
                                (void)poll(NULL, 0, 10);
                        return;
                }
                /* A worker may have been blocked in accept when SIGTERM arrived before it got
                   there; resend now and then. */
                if (poll(&p, 1, left < 200 ? (int)left : 200) > 0) {
                        if (read(sfd, &si, sizeof(si)) < 0 && errno != EAGAIN)
                                log_kv(LOG_LVL_WARNING, "signalfd read failed, ignoring", NULL);
                } else {
                        for (int i = 0; i < m->n; i++)
                                if (m->pids[i])
                                        (void)kill(m->pids[i], SIGTERM);
                }
        }
}

/* HJO_LISTEN: a TCP listener on HOST:PORT or [ADDR]:PORT (lib/cfg.c checked the form). */
static int open_tcp_listener(const char *spec)
{
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
        struct addrinfo *res = NULL;
        const char *colon = strrchr(spec, ':');
        char host[256];
        size_t hl;
        int fd = -1, r = -EADDRNOTAVAIL;

        if (!colon)
                return -EINVAL;
        hl = (size_t)(colon - spec);
        if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
                spec++;
                hl -= 2;
        }
        if (hl == 0 || hl >= sizeof(host))
                return -EINVAL;
        memcpy(host, spec, hl);
        host[hl] = '\0';
        if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
                return -EADDRNOTAVAIL;
        for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                const int one = 1;

                fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, /* lint-ok: CLOEXEC */
                            ai->ai_protocol);
                if (fd < 0) {
                        r = -errno;
                        continue;
                }
                if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
                    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
                        break;
                r = -errno;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(res);
        return fd >= 0 ? fd : r;
}

static int open_listener(const char *path, const char *tcp, long mode, bool *ret_created)
{
        struct stat st;
        int fd;

        *ret_created = false;
        if (tcp && *tcp)
                return open_tcp_listener(tcp);
        if (path && *path) {
                if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                        (void)unlink(path); /* stale socket of a previous run */
                fd = FCGX_OpenSocket(path, LISTEN_BACKLOG);
                if (fd < 0)
                        return -EADDRINUSE;
                if (chmod(path, (mode_t)mode) < 0) {
                        int e = -errno;

                        close(fd);
                        return e;
                }
                *ret_created = true;
                return fd;
        }
        /* inherited from spawn-fcgi or systemd socket activation: fd 0 is the listener */
        if (fstat(0, &st) < 0 || !S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        return 0;
}

static void seed_demo(const struct cfg *cfg)
{
        struct db *db = NULL;
        struct db_res *res = NULL;
        int r;

        r = db_open(cfg->database_url, "hjo-api-seed", 60000, &db);
        if (r == 0)
                r = db_exec(db, STMT_SEED_DEMO, NULL, &res, NULL);
        if (r < 0)
                (void)log_errno(LOG_LVL_WARNING, r, "seeding demo data failed, skipping", NULL);
        else
                log_kv(LOG_LVL_NOTICE, "demo data seeded", "jobs",
                       db_res_ntuples(res) > 0 ? db_res_value(res, 0, 0) : "0", NULL);
        db_res_free(res);
        db_close(db);
}

static void usage(FILE *f)
{
        fprintf(f, "usage: hjo-api [--config FILE] [--socket PATH] [--workers N] "
                   "[--check-config] [--dump-config]\n"
                   "Configuration: see README.md (DATABASE_URL, DATABASE_READ_URL, HJO_SOCKET,\n"
                   "HJO_LISTEN, HJO_WORKERS, ...).\n");
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "socket", required_argument, NULL, 's' },
                { "workers", required_argument, NULL, 'w' },
                { "check-config", no_argument, NULL, 'C' },
                { "dump-config", no_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct cfg *cfg = NULL;
        struct master m = { .listen_fd = -1 };
        const char *config_file = NULL, *socket_path = NULL, *where;
        char errbuf[512], nbuf[16];
        bool check_only = false, dump = false, created = false, stopping = false;
        enum log_level lvl = LOG_LVL_INFO;
        long workers = -1;
        sigset_t mask;
        int sfd = -1, opt, r, ret = 1;

        while ((opt = getopt_long(argc, argv, "c:s:w:CDh", longopts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        config_file = optarg;
                        break;
                case 's':
                        socket_path = optarg;
                        break;
                case 'w': {
                        char *end = NULL;

                        workers = strtol(optarg, &end, 10); /* lint-ok: argv, range-checked */
                        if (!end || *end || workers < 1 || workers > MAX_WORKERS) {
                                fprintf(stderr, "hjo-api: --workers must be 1..%d\n", MAX_WORKERS);
                                return 2;
                        }
                        break;
                }
                case 'C':
                        check_only = true;
                        break;
                case 'D':
                        dump = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        r = cfg_load(config_file, &cfg, errbuf, sizeof(errbuf));
        if (r < 0) {
                fprintf(stderr, "hjo-api: configuration error: %s\n", errbuf);
                return 2;
        }
        if (log_level_parse(cfg->log_level, &lvl) < 0)
                lvl = LOG_LVL_INFO;
        log_setup("hjo-api", lvl);
        if (!socket_path)
                socket_path = cfg->socket_path;
        if (*socket_path && *cfg->listen) {
                fprintf(stderr, "hjo-api: configuration error: HJO_SOCKET (or --socket) and "
                                "HJO_LISTEN are exclusive: set one\n");
                cfg_free(cfg);
                return 2;
        }
        where = *cfg->listen ? cfg->listen : (*socket_path ? socket_path : "fd 0");
        if (dump)
                cfg_dump(cfg, stdout);
        if (check_only || dump) {
                if (check_only)
                        printf("configuration ok\n");
                cfg_free(cfg);
                return 0;
        }

        /* No core dumps: a worker's memory holds the database password and token hashes
           (docs/security.md).  Not dumpable also keeps other users' ptrace out. */
        {
                const struct rlimit no_core = { 0, 0 };

                if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
                        log_kv(LOG_LVL_WARNING, "cannot disable core dumps, ignoring", NULL);
        }
        m.cfg = cfg;
        m.n = workers > 0 ? (int)workers : (int)cfg->workers;
        if (FCGX_Init() != 0) {
                log_kv(LOG_LVL_ERR, "FCGX_Init failed", NULL);
                goto out;
        }
        m.listen_fd = open_listener(socket_path, cfg->listen, cfg->socket_mode, &created);
        if (m.listen_fd < 0) {
                (void)log_errno(LOG_LVL_ERR, m.listen_fd, "cannot listen", "socket", where, NULL);
                goto out;
        }
        r = http_stats_init(route_count());
        if (r < 0) {
                (void)log_errno(LOG_LVL_ERR, r, "cannot map request counters", NULL);
                goto out;
        }
        if (cfg->seed_demo && strcmp(cfg->scheduler_backend, "mock") == 0)
                seed_demo(cfg);
        if (strcmp(cfg->auth, "disabled") == 0)
                log_kv(LOG_LVL_WARNING, "HJO_AUTH=disabled: every caller is an anonymous admin; "
                                        "use only on an isolated test setup", NULL);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                goto out;
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                goto out;
        for (int i = 0; i < m.n; i++) {
                r = spawn_worker(&m, i);
                if (r < 0) {
                        (void)log_errno(LOG_LVL_ERR, r, "fork failed", NULL);
                        stop_workers(&m, sfd);
                        goto out;
                }
        }
        (void)snprintf(nbuf, sizeof(nbuf), "%d", m.n);
        log_kv(LOG_LVL_NOTICE, "hjo-api started", "workers", nbuf, "socket", where, "read_db",
               *cfg->database_read_url ? "replica" : "primary", "version", PACKAGE_VERSION, NULL);
        m.backoff_ms = RESPAWN_MIN_MS / 2;
        while (!stopping) {
                struct signalfd_siginfo si;
                struct pollfd p = { .fd = sfd, .events = POLLIN };
                ssize_t k;

                /* Reaping and refilling on every wake-up, not only on SIGCHLD: a SIGCHLD taken
                   by another thread (one a library started) or a failed fork must not leave
                   a slot empty for good. */
                (void)reap(&m, true);
                if (poll(&p, 1, refill(&m)) <= 0)
                        continue;
                k = read(sfd, &si, sizeof(si));
                if (k != (ssize_t)sizeof(si))
                        continue;
                switch (si.ssi_signo) {
                case SIGCHLD:
                        break;
                case SIGHUP:
                        log_kv(LOG_LVL_NOTICE, "SIGHUP: configuration is read at start; "
                                               "restart to apply changes, ignoring", NULL);
                        break;
                default:
                        stopping = true;
                        break;
                }
        }
        log_kv(LOG_LVL_NOTICE, "stopping", NULL);
        stop_workers(&m, sfd);
        log_kv(LOG_LVL_NOTICE, "stopped", NULL);
        ret = 0;
out:
        if (created)
                (void)unlink(socket_path);
        if (sfd >= 0)
                close(sfd);
        cfg_free(cfg);
        return ret;
}
