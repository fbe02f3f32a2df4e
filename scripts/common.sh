# shellcheck shell=sh
# scripts/common.sh: shell functions shared by scripts/run.sh, scripts/stop.sh, scripts/test.sh
# and tests/integration/lib.sh.  POSIX sh (the integration tests run under dash); source it, do
# not execute it.  Functions return non-zero on failure and never call `exit`, so a caller with
# a trap can clean up.  Messages go to stderr through hjo_say (callers producing TAP set
# HJO_SAY_PREFIX='# ').
#
# Variables set for the caller: HJO_PG_PORT_ACTUAL (hjo_pg_start), HJO_API_PID (hjo_api_start),
# HJO_NGINX_PID (hjo_nginx_start).
# shellcheck disable=SC2034 # those are read by the scripts that source this file
#
# Functions:
#   hjo_install_deps                    apt-get install what is missing (nothing when complete)
#   hjo_autoreconf SRCDIR               autoreconf -fi when configure is missing or stale
#   hjo_build SRCDIR BUILDDIR [configure args]   configure out of tree when needed, make -j2
#   hjo_pgbin                           prints the PostgreSQL server bin directory
#   hjo_pg_start DIR PORT               initdb DIR/data if needed, start (Unix socket in DIR
#                                       only), create database hjo; idempotent
#   hjo_pg_stop DIR
#   hjo_api_start BIN SOCKET PIDFILE LOGFILE [args]   start hjo-api in the background
#   hjo_nginx_conf SRCDIR PREFIX LISTEN SOCKET          write PREFIX/nginx.conf from the template
#   hjo_nginx_start SRCDIR PREFIX LISTEN SOCKET [fg]    start nginx (fg: -g 'daemon off;' in the
#                                                       background, pid in PREFIX/nginx.pid)
#   hjo_stop_pidfile PIDFILE NAME [TIMEOUT] [SIGNAL]  stop a process; 0 = exited in time,
#                                                     2 = had to be killed, 1 = error
#   hjo_pid_alive PIDFILE [PATTERN]     true when the pid in PIDFILE runs (and its command line
#                                       contains PATTERN)
#   hjo_wait_url URL TIMEOUT_S [STATUS] poll until URL answers STATUS (default 200)
#   hjo_wait_path PATH TIMEOUT_S [PID]  poll until PATH exists (fails early when PID dies)
#   hjo_free_port                       prints a free TCP port on 127.0.0.1
#   hjo_tail_log FILE [LINES]           prints the end of a log to stderr, prefixed

# Packages the project needs on Debian 12 (build, run, tests, lint, benchmarks).
HJO_DEB_PACKAGES="autoconf automake libtool autoconf-archive pkg-config gcc make \
libcurl4-openssl-dev libfcgi-dev spawn-fcgi libpq-dev libjson-c-dev nginx-light postgresql \
postgresql-contrib prometheus curl python3 python3-yaml python3-jsonschema shellcheck clang \
valgrind wrk pgbouncer"

hjo_say() {
        printf '%s%s\n' "${HJO_SAY_PREFIX-}" "$*" >&2
}

hjo_die() {
        hjo_say "error: $*"
        return 1
}

# ---- packages ---------------------------------------------------------------------------

hjo_missing_packages() {
        # One dpkg-query for all (it still prints the known ones when some are unknown).
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        _hmp_ok=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $HJO_DEB_PACKAGES 2>/dev/null |
                awk '$2 == "installed" { print $1 }') || true
        _hmp_missing=
        for _hmp_p in $HJO_DEB_PACKAGES; do
                case " $(printf '%s' "$_hmp_ok" | tr '\n' ' ') " in
                *" $_hmp_p "*) ;;
                *) _hmp_missing="$_hmp_missing $_hmp_p" ;;
                esac
        done
        printf '%s\n' "${_hmp_missing# }"
}

hjo_install_deps() {
        if ! command -v dpkg-query >/dev/null 2>&1; then
                hjo_say "note: not a Debian system; make sure these are installed: $HJO_DEB_PACKAGES"
                return 0
        fi
        _hid_missing=$(hjo_missing_packages)
        [ -n "$_hid_missing" ] || return 0
        _hid_sudo=
        if [ "$(id -u)" -ne 0 ]; then
                if command -v sudo >/dev/null 2>&1; then
                        _hid_sudo=sudo
                else
                        hjo_die "missing Debian packages (run as root to install): $_hid_missing"
                        return 1
                fi
        fi
        hjo_say "installing missing Debian packages: $_hid_missing"
        $_hid_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
                hjo_say "warning: apt-get update failed; trying the install anyway"
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        if ! $_hid_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends -o Dpkg::Use-Pty=0 $_hid_missing >/dev/null; then
                hjo_die "apt-get install failed for: $_hid_missing"
                return 1
        fi
        _hid_missing=$(hjo_missing_packages)
        [ -z "$_hid_missing" ] || { hjo_die "still missing after apt-get: $_hid_missing"; return 1; }
}

# ---- build ------------------------------------------------------------------------------

# True when $1 is newer than $2 (or $2 does not exist).
hjo_newer() {
        [ -e "$2" ] || return 0
        [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]
}

hjo_autoreconf() {
        _har_src=$1
        _har_need=
        if [ ! -x "$_har_src/configure" ] || [ ! -f "$_har_src/Makefile.in" ]; then
                _har_need=1
        else
                for _har_f in "$_har_src/configure.ac" "$_har_src/Makefile.am" "$_har_src"/m4/*.m4; do
                        [ -e "$_har_f" ] || continue
                        if hjo_newer "$_har_f" "$_har_src/configure"; then
                                _har_need=1
                                break
                        fi
                done
        fi
        [ -n "$_har_need" ] || return 0
        hjo_say "autoreconf -fi in $_har_src"
        (cd "$_har_src" && autoreconf -fi) || { hjo_die "autoreconf failed"; return 1; }
}

# hjo_build SRCDIR BUILDDIR [configure args...]: an out-of-tree build, so that run.sh
# (.hjo/build), test.sh (build/, build-san/) and distcheck never fight over one tree.
hjo_build() {
        _hb_src=$(cd "$1" && pwd) || return 1
        _hb_dir=$2
        shift 2
        hjo_autoreconf "$_hb_src" || return 1
        # An in-tree configure blocks every out-of-tree one ("source directory already
        # configured"): clean it (build outputs only; sources are untouched).
        if [ -f "$_hb_src/config.status" ]; then
                hjo_say "the source tree is configured in-tree; running 'make distclean' there (hjo builds out of tree)"
                make -C "$_hb_src" distclean >/dev/null 2>&1 || rm -f "$_hb_src/config.status"
        fi
        mkdir -p "$_hb_dir" || return 1
        _hb_args="$*"
        _hb_stamp="$_hb_dir/.hjo-configure-args"
        if [ ! -f "$_hb_dir/Makefile" ] || [ ! -f "$_hb_stamp" ] ||
                [ "$(cat "$_hb_stamp")" != "$_hb_args" ] ||
                hjo_newer "$_hb_src/configure" "$_hb_dir/config.status"; then
                hjo_say "configure${_hb_args:+ $_hb_args} (in $_hb_dir)"
                (cd "$_hb_dir" && "$_hb_src/configure" -q "$@") || {
                        hjo_die "configure failed; see $_hb_dir/config.log"
                        return 1
                }
                printf '%s' "$_hb_args" >"$_hb_stamp"
        fi
        hjo_say "make -j2 (in $_hb_dir)"
        make -C "$_hb_dir" -j2 >"$_hb_dir/make.log" 2>&1 || {
                hjo_tail_log "$_hb_dir/make.log" 60
                hjo_die "build failed in $_hb_dir (full log: $_hb_dir/make.log)"
                return 1
        }
}

# ---- PostgreSQL -------------------------------------------------------------------------

hjo_pgbin() {
        if [ -n "${HJO_PGBIN-}" ]; then
                printf '%s\n' "$HJO_PGBIN"
                return 0
        fi
        # Debian's layout: 15 first (what Debian 12 ships), then any other version.
        for _hpb_d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
                if [ -x "$_hpb_d/initdb" ] && [ -x "$_hpb_d/pg_ctl" ]; then
                        printf '%s\n' "$_hpb_d"
                        return 0
                fi
        done
        _hpb_d=$(command -v pg_ctl 2>/dev/null) || return 1
        _hpb_d=$(dirname "$(readlink -f "$_hpb_d")")
        if [ -x "$_hpb_d/initdb" ]; then
                printf '%s\n' "$_hpb_d"
                return 0
        fi
        return 1
}

# Runs a PostgreSQL server program as the owner of the cluster: initdb and postgres refuse to
# run as root, so as root it goes through runuser to user postgres; otherwise as ourselves.
hjo_pg_as_owner() {
        if [ "$(id -u)" -eq 0 ]; then
                (cd / && runuser -u postgres -- "$@")
        else
                "$@"
        fi
}

hjo_pg_running() {
        _hpr_bin=$(hjo_pgbin) || return 1
        [ -f "$1/data/postmaster.pid" ] || return 1
        hjo_pg_as_owner "$_hpr_bin/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# hjo_pg_start DIR PORT: Unix socket DIR/.s.PGSQL.PORT only (listen_addresses=''), trust auth,
# superuser postgres, database hjo.  Extra server options from $HJO_PG_OPTIONS (the tests pass
# -c fsync=off ...).  Safe to call when the cluster already runs.
hjo_pg_start() {
        _hps_dir=$1
        _hps_port=$2
        _hps_bin=$(hjo_pgbin) || { hjo_die "PostgreSQL server binaries not found (Debian package postgresql)"; return 1; }
        mkdir -p "$_hps_dir" || return 1
        _hps_dir=$(cd "$_hps_dir" && pwd) || return 1
        # The socket path must fit in sun_path (107 bytes).
        if [ ${#_hps_dir} -gt 90 ]; then
                hjo_die "path too long for a PostgreSQL socket: $_hps_dir"
                return 1
        fi
        if [ "$(id -u)" -eq 0 ]; then
                id postgres >/dev/null 2>&1 || { hjo_die "no user postgres (install the postgresql package)"; return 1; }
                chown postgres: "$_hps_dir" || return 1
                if ! runuser -u postgres -- test -x "$_hps_dir"; then
                        hjo_die "user postgres cannot reach $_hps_dir (make its parents o+x)"
                        return 1
                fi
        fi
        if [ ! -f "$_hps_dir/data/PG_VERSION" ]; then
                hjo_say "initdb $_hps_dir/data"
                hjo_pg_as_owner "$_hps_bin/initdb" -D "$_hps_dir/data" -A trust -U postgres \
                        -E UTF8 --no-locale --no-sync >"$_hps_dir/initdb.log" 2>&1 || {
                        hjo_tail_log "$_hps_dir/initdb.log"
                        hjo_die "initdb failed"
                        return 1
                }
        fi
        if hjo_pg_running "$_hps_dir"; then
                hjo_say "PostgreSQL already running in $_hps_dir"
        else
                # A postmaster.pid left by a crash is handled by postgres itself.
                hjo_pg_as_owner "$_hps_bin/pg_ctl" -D "$_hps_dir/data" -l "$_hps_dir/postgres.log" \
                        -w -t 60 -o "-p $_hps_port -k $_hps_dir -c listen_addresses='' ${HJO_PG_OPTIONS-}" \
                        start >/dev/null || {
                        hjo_tail_log "$_hps_dir/postgres.log"
                        hjo_die "PostgreSQL did not start (log: $_hps_dir/postgres.log)"
                        return 1
                }
        fi
        # The port of a running cluster wins over the one asked for (line 4 of postmaster.pid).
        _hps_port=$(sed -n 4p "$_hps_dir/data/postmaster.pid" 2>/dev/null | tr -dc 0-9) || _hps_port=
        [ -n "$_hps_port" ] || _hps_port=$2
        HJO_PG_PORT_ACTUAL=$_hps_port
        _hps_have=$("$_hps_bin/psql" -h "$_hps_dir" -p "$_hps_port" -U postgres -d postgres -XtAq \
                -c "SELECT 1 FROM pg_database WHERE datname = 'hjo'") || {
                hjo_die "cannot connect to PostgreSQL in $_hps_dir port $_hps_port"
                return 1
        }
        if [ "$_hps_have" != 1 ]; then
                "$_hps_bin/createdb" -h "$_hps_dir" -p "$_hps_port" -U postgres hjo || {
                        hjo_die "createdb hjo failed"
                        return 1
                }
        fi
}

hjo_pg_stop() {
        _hpt_bin=$(hjo_pgbin) || return 1
        [ -f "$1/data/PG_VERSION" ] || return 0
        hjo_pg_running "$1" || return 0
        hjo_pg_as_owner "$_hpt_bin/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
                { hjo_die "pg_ctl stop failed for $1"; return 1; }
}

# ---- processes --------------------------------------------------------------------------

hjo_pid_alive() {
        [ -f "$1" ] || return 1
        _hpa_pid=$(tr -dc 0-9 <"$1" 2>/dev/null)
        [ -n "$_hpa_pid" ] || return 1
        kill -0 "$_hpa_pid" 2>/dev/null || return 1
        # Guard against a recycled pid: the command line must mention PATTERN.
        if [ -n "${2-}" ] && [ -r "/proc/$_hpa_pid/cmdline" ]; then
                _hpa_cmd=$(tr '\0' ' ' <"/proc/$_hpa_pid/cmdline" 2>/dev/null) || _hpa_cmd=
                case "$_hpa_cmd" in
                *"$2"*) ;;
                *) return 1 ;;
                esac
        fi
        return 0
}

# hjo_stop_pidfile PIDFILE NAME [TIMEOUT_S [SIGNAL]]: SIGNAL (default TERM), wait up to
# TIMEOUT_S (default 10), then SIGKILL the process and its process group.  Returns 0 when it
# exited by itself (or was not running), 2 when it had to be killed.
hjo_stop_pidfile() {
        _hsp_file=$1
        _hsp_name=$2
        _hsp_timeout=${3:-10}
        _hsp_sig=${4:-TERM}
        if ! hjo_pid_alive "$_hsp_file" "$_hsp_name"; then
                rm -f "$_hsp_file"
                return 0
        fi
        _hsp_pid=$(tr -dc 0-9 <"$_hsp_file")
        kill "-$_hsp_sig" "$_hsp_pid" 2>/dev/null || true
        _hsp_end=$(($(date +%s) + _hsp_timeout))
        while kill -0 "$_hsp_pid" 2>/dev/null; do
                # A zombie child of ours counts as stopped.
                if [ -r "/proc/$_hsp_pid/stat" ] &&
                        [ "$(cut -d ' ' -f 3 "/proc/$_hsp_pid/stat" 2>/dev/null)" = Z ]; then
                        break
                fi
                if [ "$(date +%s)" -ge "$_hsp_end" ]; then
                        hjo_say "$_hsp_name (pid $_hsp_pid) did not stop within ${_hsp_timeout}s; killing it"
                        kill -KILL "-$_hsp_pid" 2>/dev/null || kill -KILL "$_hsp_pid" 2>/dev/null || true
                        rm -f "$_hsp_file"
                        return 2
                fi
                sleep 0.1
        done
        rm -f "$_hsp_file"
        return 0
}

# hjo_api_start BIN SOCKET PIDFILE LOGFILE [args...]: hjo-api in its own session (so that a
# forced stop can kill the master and its workers as one process group), output appended to
# LOGFILE.  Configuration comes from the environment (DATABASE_URL, HJO_WORKERS, ...); the
# socket is created with mode $HJO_SOCKET_MODE (default here 0666: nginx workers run as nobody).
# Waits until the socket exists.
hjo_api_start() {
        _has_bin=$1
        _has_sock=$2
        _has_pidf=$3
        _has_log=$4
        shift 4
        [ -x "$_has_bin" ] || { hjo_die "$_has_bin not built"; return 1; }
        rm -f "$_has_sock"
        mkdir -p "$(dirname "$_has_sock")" "$(dirname "$_has_log")" "$(dirname "$_has_pidf")" || return 1
        # the cache directory nginx reads: o+x on the way to the files (nginx workers: nobody)
        mkdir -p "$(hjo_metrics_cache_dir "$_has_sock")" || return 1
        chmod 755 "$(hjo_metrics_cache_dir "$_has_sock")" || return 1
        HJO_METRICS_CACHE_DIR=$(hjo_metrics_cache_dir "$_has_sock") \
                HJO_SOCKET=$_has_sock HJO_SOCKET_MODE=${HJO_SOCKET_MODE:-0666} \
                nohup setsid "$_has_bin" "$@" >>"$_has_log" 2>&1 </dev/null &
        _has_pid=$!
        printf '%s\n' "$_has_pid" >"$_has_pidf"
        HJO_API_PID=$_has_pid
        if ! hjo_wait_path "$_has_sock" 30 "$_has_pid"; then
                hjo_tail_log "$_has_log"
                hjo_die "hjo-api did not create $_has_sock (log: $_has_log)"
                return 1
        fi
}

# ---- nginx ------------------------------------------------------------------------------

# Escapes a value for the replacement side of a sed s|||.
hjo_sed_escape() {
        printf '%s\n' "$1" | sed -e 's/[\\|&]/\\&/g'
}

# The /metrics cache directory of the hjo-api behind SOCKET: HJO_METRICS_CACHE_DIR when set,
# else metrics-cache/ beside the socket.  nginx's alias and hjo-api's setting must agree.
hjo_metrics_cache_dir() {
        printf '%s\n' "${HJO_METRICS_CACHE_DIR:-$(dirname "$1")/metrics-cache}"
}

hjo_nginx_conf() {
        _hnc_src=$1
        _hnc_prefix=$2
        mkdir -p "$_hnc_prefix" || return 1
        { printf '# generated from %s/nginx/dev.conf.in by scripts/common.sh; edit that file\n' "$_hnc_src"
        sed -e '/^[[:space:]]*#/d' \
                -e "s|@PREFIX@|$(hjo_sed_escape "$_hnc_prefix")|g" \
                -e "s|@LISTEN@|$(hjo_sed_escape "$3")|g" \
                -e "s|@SOCKET@|$(hjo_sed_escape "$4")|g" \
                -e "s|@SRCDIR@|$(hjo_sed_escape "$_hnc_src")|g" \
                -e "s|@CACHEDIR@|$(hjo_sed_escape "$(hjo_metrics_cache_dir "$4")")|g" \
                "$_hnc_src/nginx/dev.conf.in"; } >"$_hnc_prefix/nginx.conf.tmp" &&
                mv "$_hnc_prefix/nginx.conf.tmp" "$_hnc_prefix/nginx.conf"
}

# hjo_nginx_start SRCDIR PREFIX LISTEN SOCKET [fg]: all paths absolute.  Without `fg`, nginx
# daemonizes and writes PREFIX/nginx.pid itself; with `fg` it runs with -g 'daemon off;' as a
# background child of the caller (HJO_NGINX_PID), which also writes PREFIX/nginx.pid.
hjo_nginx_start() {
        _hns_src=$1
        _hns_prefix=$2
        _hns_fg=${5-}
        command -v nginx >/dev/null 2>&1 || { hjo_die "nginx not found (Debian package nginx-light)"; return 1; }
        hjo_nginx_conf "$_hns_src" "$_hns_prefix" "$3" "$4" || return 1
        nginx -t -q -p "$_hns_prefix/" -c "$_hns_prefix/nginx.conf" 2>>"$_hns_prefix/error.log" || {
                hjo_tail_log "$_hns_prefix/error.log"
                hjo_die "nginx -t failed for $_hns_prefix/nginx.conf"
                return 1
        }
        if [ "$_hns_fg" = fg ]; then
                nginx -p "$_hns_prefix/" -c "$_hns_prefix/nginx.conf" -g 'daemon off;' \
                        >>"$_hns_prefix/error.log" 2>&1 </dev/null &
                HJO_NGINX_PID=$!
                if ! hjo_wait_path "$_hns_prefix/nginx.pid" 10 "$HJO_NGINX_PID"; then
                        hjo_tail_log "$_hns_prefix/error.log"
                        hjo_die "nginx did not start"
                        return 1
                fi
        else
                nginx -p "$_hns_prefix/" -c "$_hns_prefix/nginx.conf" 2>>"$_hns_prefix/error.log" || {
                        hjo_tail_log "$_hns_prefix/error.log"
                        hjo_die "nginx did not start (is $3 in use?)"
                        return 1
                }
                HJO_NGINX_PID=$(cat "$_hns_prefix/nginx.pid" 2>/dev/null) || HJO_NGINX_PID=
        fi
}

# Regenerates the config and reloads a running nginx (run.sh's second run).
hjo_nginx_reload() {
        hjo_nginx_conf "$1" "$2" "$3" "$4" || return 1
        nginx -t -q -p "$2/" -c "$2/nginx.conf" 2>>"$2/error.log" || {
                hjo_tail_log "$2/error.log"
                hjo_die "nginx -t failed for $2/nginx.conf"
                return 1
        }
        kill -HUP "$(cat "$2/nginx.pid")"
}

# ---- waiting ----------------------------------------------------------------------------

hjo_wait_url() {
        _hwu_url=$1
        _hwu_end=$(($(date +%s) + ${2:-30}))
        _hwu_want=${3:-200}
        while :; do
                _hwu_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$_hwu_url" 2>/dev/null) || true
                [ "$_hwu_code" = "$_hwu_want" ] && return 0
                if [ "$(date +%s)" -ge "$_hwu_end" ]; then
                        hjo_say "timeout waiting for $_hwu_url (last status ${_hwu_code:-none})"
                        return 1
                fi
                sleep 0.2
        done
}

hjo_wait_path() {
        _hwp_end=$(($(date +%s) + ${2:-30}))
        while [ ! -e "$1" ]; do
                if [ -n "${3-}" ] && ! kill -0 "$3" 2>/dev/null; then
                        hjo_say "process $3 exited before $1 appeared"
                        return 1
                fi
                [ "$(date +%s)" -lt "$_hwp_end" ] || return 1
                sleep 0.1
        done
}

hjo_free_port() {
        if command -v python3 >/dev/null 2>&1; then
                python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' && return 0
        fi
        # Fallback: a random high port nothing answers on.
        _hfp_n=0
        while [ $_hfp_n -lt 50 ]; do
                _hfp_p=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000))
                if ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$_hfp_p/" 2>/dev/null; then
                        printf '%s\n' "$_hfp_p"
                        return 0
                fi
                _hfp_n=$((_hfp_n + 1))
        done
        return 1
}

hjo_tail_log() {
        [ -f "$1" ] || return 0
        hjo_say "---- last ${2:-30} lines of $1 ----"
        tail -n "${2:-30}" "$1" | sed "s/^/${HJO_SAY_PREFIX-}  /" >&2
}
