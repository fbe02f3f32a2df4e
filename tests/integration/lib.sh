# shellcheck shell=sh
# tests/integration/lib.sh: the environment of an integration test (STYLE 4.16).  POSIX sh:
# automake runs the tests with $(SHELL).  Source it from a test script, then call itest_setup:
#
#   . "$top_srcdir/tests/integration/lib.sh"
#   itest_setup
#   /usr/bin/python3 "$top_srcdir/tests/integration/some_test.py"
#
# itest_setup makes a temp dir, starts PostgreSQL there (Unix socket only), applies sql/ with
# hjo-admin migrate, starts hjo-api (4 workers, socket mode 0666) and nginx with the dev config
# (nginx/dev.conf.in) on a free 127.0.0.1 port, waits for /v1/health, and exports:
#   HJO_URL        http://127.0.0.1:PORT (no trailing slash)
#   HJO_PGHOST HJO_PGPORT HJO_PGDATABASE HJO_PGUSER   for psql / libpq (HJO_DATABASE_URL too)
#   HJO_TMP        the temp dir (logs in $HJO_TMP/log, nginx prefix $HJO_TMP/nginx)
#   HJO_API_PID    hjo-api's master pid;  HJO_API_LOG, HJO_NGINX_ERROR_LOG
# An EXIT trap stops everything and removes the temp dir (ITEST_KEEP=1 keeps it).  When the test
# failed, or hjo-api did not exit within 10 s of SIGTERM, or a sanitizer reported in its log, the
# ends of the logs go to stderr (prefixed '# ': the TAP stream on stdout stays valid) and the
# test exits non-zero.
#
# A missing tool prints the TAP skip plan `1..0 # SKIP why` and exits 0: under automake's
# tap-driver (Makefile.am's SH_LOG_DRIVER) an exit status 77 would count as an ERROR; the skip
# plan is what records SKIP there.  A setup failure prints `Bail out! why` (an ERROR).
#
# Knobs a test may set before itest_setup: ITEST_WORKERS (4), ITEST_SEED_DEMO (false),
# ITEST_SCHEDULER_BACKEND (mock), and any HJO_* setting hjo-api reads (e.g.
# HJO_METRICS_GRACE_SECONDS), which it inherits.

: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
: "${top_builddir:?top_builddir must be set (automake exports it)}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)

# shellcheck disable=SC2034 # read by common.sh
HJO_SAY_PREFIX='# '
# shellcheck source=scripts/common.sh
. "$top_srcdir/scripts/common.sh"

# TAP helpers shared by the shell tests.  A test counts with n/nfail, asserts with
# `is GOT WANT DESCRIPTION`, queries the test database with `sq SQL` (one value per line), and
# ends with `echo "1..$n"; [ "$nfail" -eq 0 ]`.
n=0
nfail=0
is() { # is GOT WANT DESCRIPTION
        n=$((n + 1))
        if [ "$1" = "$2" ]; then
                echo "ok $n - $3"
        else
                nfail=$((nfail + 1))
                echo "not ok $n - $3"
                echo "# got:  '$1'"
                echo "# want: '$2'"
        fi
}
sq() {
        psql -X -q -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo -c "$1"
}

itest_skip() {
        printf '1..0 # SKIP %s\n' "$*"
        exit 0
}

itest_bail() {
        printf 'Bail out! %s\n' "$*"
        exit 1
}

itest_require_tools() {
        hjo_pgbin >/dev/null 2>&1 || itest_skip "PostgreSQL server binaries (initdb, pg_ctl) not found"
        command -v nginx >/dev/null 2>&1 || itest_skip "nginx not found"
        command -v curl >/dev/null 2>&1 || itest_skip "curl not found"
        [ -x /usr/bin/python3 ] || itest_skip "/usr/bin/python3 not found"
        if [ "$(id -u)" -eq 0 ]; then
                command -v runuser >/dev/null 2>&1 || itest_skip "running as root without runuser"
                id postgres >/dev/null 2>&1 || itest_skip "running as root without a postgres user"
        fi
        [ -x "$top_builddir/fcgi/hjo-api" ] || itest_bail "$top_builddir/fcgi/hjo-api not built"
        [ -x "$top_builddir/admin/hjo-admin" ] || itest_bail "$top_builddir/admin/hjo-admin not built"
}

itest_setup() {
        itest_require_tools
        HJO_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hjo-it.XXXXXX") || itest_bail "mktemp failed"
        # nginx workers (user nobody) and postgres must reach the sockets and temp paths.
        chmod 755 "$HJO_TMP"
        mkdir -p "$HJO_TMP/log" "$HJO_TMP/run" "$HJO_TMP/nginx"
        HJO_API_LOG=$HJO_TMP/log/hjo-api.log
        HJO_NGINX_ERROR_LOG=$HJO_TMP/nginx/error.log
        _it_failed_setup=0
        trap itest_teardown EXIT
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM

        # PostgreSQL: durability off (a throwaway cluster); the port only names the socket.
        # shellcheck disable=SC2034 # read by hjo_pg_start
        HJO_PG_OPTIONS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        _it_pgport=$(hjo_free_port) || _it_pgport=$(($$ % 20000 + 40000))
        if ! hjo_pg_start "$HJO_TMP/pg" "$_it_pgport" 2>>"$HJO_TMP/log/setup.log"; then
                _it_failed_setup=1
                itest_bail "PostgreSQL did not start (see the log above)"
        fi
        HJO_PGHOST=$HJO_TMP/pg
        HJO_PGPORT=$HJO_PG_PORT_ACTUAL
        HJO_PGDATABASE=hjo
        HJO_PGUSER=postgres
        HJO_DATABASE_URL="host=$HJO_PGHOST port=$HJO_PGPORT dbname=$HJO_PGDATABASE user=$HJO_PGUSER"
        export HJO_TMP HJO_PGHOST HJO_PGPORT HJO_PGDATABASE HJO_PGUSER HJO_DATABASE_URL \
                HJO_API_LOG HJO_NGINX_ERROR_LOG

        # The programs see only this test's configuration.
        unset HJO_CONFIG HJO_SQL_DIR
        DATABASE_URL=$HJO_DATABASE_URL
        SCHEDULER_BACKEND=${ITEST_SCHEDULER_BACKEND:-mock}
        SEED_DEMO=${ITEST_SEED_DEMO:-false}
        HJO_WORKERS=${ITEST_WORKERS:-4}
        HJO_SOCKET_MODE=0666
        # Authentication: a test that sets HJO_AUTH=required before itest_setup gets an admin
        # token in HJO_TOKEN (api_test.py sends it); the default here is "disabled" so that a
        # test about something else needs no credentials.
        HJO_AUTH=${HJO_AUTH:-disabled}
        export DATABASE_URL SCHEDULER_BACKEND SEED_DEMO HJO_WORKERS HJO_SOCKET_MODE HJO_AUTH

        if ! "$top_builddir/admin/hjo-admin" migrate --sql-dir "$top_srcdir/sql" \
                >>"$HJO_TMP/log/hjo-admin.log" 2>&1; then
                _it_failed_setup=1
                hjo_tail_log "$HJO_TMP/log/hjo-admin.log"
                itest_bail "hjo-admin migrate failed"
        fi
        if [ "$HJO_AUTH" = required ]; then
                HJO_TOKEN=$("$top_builddir/admin/hjo-admin" token create --name itest-admin \
                        --role admin 2>>"$HJO_TMP/log/hjo-admin.log") ||
                        itest_bail "hjo-admin token create failed"
                export HJO_TOKEN
        fi

        # ITEST_VALGRIND=1 runs hjo-api (master and every worker) under valgrind memcheck;
        # teardown fails the test on any error it reports.
        _it_api_bin=$top_builddir/fcgi/hjo-api
        set --
        if [ "${ITEST_VALGRIND:-0}" = 1 ]; then
                command -v valgrind >/dev/null 2>&1 || itest_skip "valgrind not installed"
                set -- --quiet --trace-children=yes --child-silent-after-fork=no \
                        --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
                        --track-fds=no --log-file="$HJO_TMP/log/valgrind.%p.log" "$_it_api_bin"
                _it_api_bin=$(command -v valgrind)
        fi
        # hjo-api runs as a login role of the least-privilege group hjo_api (sql/0030_roles.sql),
        # as a site would run it; tests and hjo-admin keep the owner's DATABASE_URL.
        "$(hjo_pgbin)/psql" -X -q -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo -c \
                "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'itest_api')
                 THEN CREATE ROLE itest_api LOGIN IN ROLE hjo_api; END IF; END \$\$" \
                >>"$HJO_TMP/log/setup.log" 2>&1 || itest_bail "cannot create the itest_api role"
        HJO_API_DATABASE_URL="host=$HJO_PGHOST port=$HJO_PGPORT dbname=$HJO_PGDATABASE user=itest_api"
        export HJO_API_DATABASE_URL
        _it_owner_dsn=$DATABASE_URL
        DATABASE_URL=$HJO_API_DATABASE_URL
        if ! hjo_api_start "$_it_api_bin" "$HJO_TMP/run/hjo-api.sock" \
                "$HJO_TMP/run/hjo-api.pid" "$HJO_API_LOG" "$@"; then
                DATABASE_URL=$_it_owner_dsn
                _it_failed_setup=1
                itest_bail "hjo-api did not start"
        fi
        DATABASE_URL=$_it_owner_dsn
        export HJO_API_PID

        # nginx on a free port; a port taken between the probe and bind() gets another try.
        _it_try=0
        while :; do
                _it_port=$(hjo_free_port) || itest_bail "no free port"
                if hjo_nginx_start "$top_srcdir" "$HJO_TMP/nginx" "127.0.0.1:$_it_port" \
                        "$HJO_TMP/run/hjo-api.sock" fg 2>>"$HJO_TMP/log/setup.log" &&
                        hjo_wait_url "http://127.0.0.1:$_it_port/v1/health" 30 200 2>>"$HJO_TMP/log/setup.log"; then
                        break
                fi
                _it_try=$((_it_try + 1))
                if [ $_it_try -ge 3 ]; then
                        _it_failed_setup=1
                        itest_bail "nginx -> hjo-api did not answer 200 on /v1/health"
                fi
                [ -z "${HJO_NGINX_PID-}" ] || kill "$HJO_NGINX_PID" 2>/dev/null || true
                sleep 0.5
        done
        HJO_URL=http://127.0.0.1:$_it_port
        export HJO_URL
}

# Prints the end of every log of the run to stderr, '# '-prefixed.
itest_dump_logs() {
        for _itd_f in "$HJO_TMP/log/setup.log" "$HJO_TMP/log/hjo-admin.log" "$HJO_API_LOG" \
                "$HJO_NGINX_ERROR_LOG" "$HJO_TMP/pg/postgres.log"; do
                [ -s "$_itd_f" ] && hjo_tail_log "$_itd_f" 40
        done
        return 0
}

itest_teardown() {
        _itt_rc=$?
        trap - EXIT HUP INT TERM
        [ -n "${HJO_TMP-}" ] && [ -d "$HJO_TMP" ] || exit "$_itt_rc"

        if [ -f "$HJO_TMP/nginx/nginx.pid" ]; then
                hjo_stop_pidfile "$HJO_TMP/nginx/nginx.pid" nginx 10 TERM || true
        elif [ -n "${HJO_NGINX_PID-}" ]; then
                kill "$HJO_NGINX_PID" 2>/dev/null || true
        fi

        if [ -f "$HJO_TMP/run/hjo-api.pid" ]; then
                hjo_stop_pidfile "$HJO_TMP/run/hjo-api.pid" hjo-api 10 TERM
                if [ $? -eq 2 ]; then
                        hjo_say "FAIL: hjo-api did not exit within 10 s of SIGTERM"
                        [ "$_itt_rc" -ne 0 ] || _itt_rc=1
                fi
        fi
        for _itt_vg in "$HJO_TMP"/log/valgrind.*.log; do
                [ -s "$_itt_vg" ] || continue
                hjo_say "FAIL: valgrind report in $_itt_vg:"
                head -n 80 "$_itt_vg" | sed 's/^/#   /' >&2
                [ "$_itt_rc" -ne 0 ] || _itt_rc=1
        done
        if [ -f "$HJO_API_LOG" ] &&
                grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$HJO_API_LOG"; then
                hjo_say "FAIL: sanitizer report in $HJO_API_LOG:"
                grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$HJO_API_LOG" |
                        head -n 120 | sed 's/^/#   /' >&2
                [ "$_itt_rc" -ne 0 ] || _itt_rc=1
        fi

        hjo_pg_stop "$HJO_TMP/pg" 2>/dev/null || true

        if [ "$_itt_rc" -ne 0 ] && [ "${_it_failed_setup-0}" -eq 0 ]; then
                hjo_say "test exited with status $_itt_rc; logs of this run:"
                itest_dump_logs
        elif [ "${_it_failed_setup-0}" -ne 0 ]; then
                itest_dump_logs
        fi
        if [ "${ITEST_KEEP:-0}" = 1 ]; then
                hjo_say "kept $HJO_TMP"
        else
                rm -rf "$HJO_TMP"
        fi
        exit "$_itt_rc"
}
