#!/bin/bash
# scripts/run.sh: bring the whole hjo service up locally, from a fresh clone on Debian 12.
#
#   installs missing Debian packages -> builds (out of tree, in .hjo/build) -> a project-local
#   PostgreSQL cluster in .hjo/pg (port 5433, Unix socket only) -> hjo-admin migrate ->
#   hjo-api (FastCGI workers, socket .hjo/run/hjo-api.sock) -> nginx on 127.0.0.1:8080
#
# Idempotent: run it again after a change and it rebuilds, keeps the database, restarts hjo-api
# and reloads nginx.  Stop everything with scripts/stop.sh.
#
# Environment (all optional):
#   HJO_LISTEN        nginx listen address            (default 127.0.0.1:8080)
#   HJO_PG_PORT       PostgreSQL port (socket name)   (default 5433)
#   HJO_WORKERS       hjo-api worker processes        (hjo-api's default)
#   SCHEDULER_BACKEND (default mock)   SEED_DEMO (default true)
#   HJO_NO_BUILD=1    use the binaries already in the build directory
#   HJO_BUILD_DIR     build directory                 (default .hjo/build)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/common.sh
. "$ROOT/scripts/common.sh"

STATE=$ROOT/.hjo
BUILD=${HJO_BUILD_DIR:-$STATE/build}
PGDIR=$STATE/pg
PGPORT=${HJO_PG_PORT:-5433}
RUNDIR=$STATE/run
LOGDIR=$STATE/log
NGXDIR=$STATE/nginx
SOCK=$RUNDIR/hjo-api.sock
LISTEN=${HJO_LISTEN:-127.0.0.1:8080}
URL=http://$LISTEN

hjo_say "==> hjo: bringing the service up in $ROOT"
mkdir -p "$STATE" "$RUNDIR" "$LOGDIR" "$NGXDIR"
# nginx workers (user nobody) must reach the socket and the temp paths.
chmod 755 "$STATE" "$RUNDIR" "$NGXDIR"

# 1. Packages.
hjo_install_deps

# 2. Build.
if [ "${HJO_NO_BUILD:-0}" != 1 ]; then
        hjo_build "$ROOT" "$BUILD"
fi
API_BIN=$BUILD/fcgi/hjo-api
ADMIN_BIN=$BUILD/admin/hjo-admin
for b in "$API_BIN" "$ADMIN_BIN"; do
        [ -x "$b" ] || { hjo_say "error: $b is missing (build failed?)"; exit 1; }
done

# 3. PostgreSQL (kept running across runs; data persists in .hjo/pg/data).
hjo_pg_start "$PGDIR" "$PGPORT"
PGPORT=$HJO_PG_PORT_ACTUAL
export DATABASE_URL="host=$PGDIR port=$PGPORT dbname=hjo user=postgres"

# 4. Schema.
hjo_say "==> migrate"
"$ADMIN_BIN" migrate --sql-dir "$ROOT/sql" >>"$LOGDIR/hjo-admin.log" 2>&1 || {
        hjo_tail_log "$LOGDIR/hjo-admin.log"
        hjo_say "error: hjo-admin migrate failed (log: $LOGDIR/hjo-admin.log)"
        exit 1
}

# 5. hjo-api: always restarted, so that a rebuilt binary and a changed environment take effect.
export SCHEDULER_BACKEND=${SCHEDULER_BACKEND:-mock}
export SEED_DEMO=${SEED_DEMO:-true}
export HJO_SOCKET_MODE=${HJO_SOCKET_MODE:-0666}
if hjo_pid_alive "$RUNDIR/hjo-api.pid" hjo-api; then
        hjo_say "==> restarting hjo-api"
        hjo_stop_pidfile "$RUNDIR/hjo-api.pid" hjo-api 15 || true
else
        hjo_say "==> starting hjo-api"
fi
hjo_api_start "$API_BIN" "$SOCK" "$RUNDIR/hjo-api.pid" "$LOGDIR/hjo-api.log"

# 6. Collector hook.  ------------------------------------------------------------------------
# collectord (its own issue) samples cgroups/GPUs on a node and posts to the API.  When the
# binary exists it is started here the same way; until then this block does nothing.
COLLECTORD_BIN=$BUILD/collectord/hjo-collectord
if [ -x "$COLLECTORD_BIN" ] && [ "${HJO_NO_COLLECTORD:-0}" != 1 ]; then
        hjo_stop_pidfile "$RUNDIR/hjo-collectord.pid" hjo-collectord 15 || true
        hjo_say "==> starting hjo-collectord"
        HJO_API_URL=${HJO_API_URL:-$URL} nohup setsid "$COLLECTORD_BIN" \
                >>"$LOGDIR/hjo-collectord.log" 2>&1 </dev/null &
        echo $! >"$RUNDIR/hjo-collectord.pid"
fi
# ---------------------------------------------------------------------------------------------

# 7. nginx: reload when running, start otherwise.
if hjo_pid_alive "$NGXDIR/nginx.pid" nginx; then
        hjo_say "==> reloading nginx"
        hjo_nginx_reload "$ROOT" "$NGXDIR" "$LISTEN" "$SOCK"
else
        hjo_say "==> starting nginx on $LISTEN"
        hjo_nginx_start "$ROOT" "$NGXDIR" "$LISTEN" "$SOCK"
fi

# 8. Wait until the whole chain answers.
if ! hjo_wait_url "$URL/v1/health" 30 200; then
        hjo_tail_log "$LOGDIR/hjo-api.log"
        hjo_tail_log "$NGXDIR/error.log"
        hjo_say "error: $URL/v1/health did not answer 200"
        exit 1
fi

# 9. A local admin token (the API requires one): kept in .hjo/admin.token (0600); a new one is
#    made when the file is missing or no longer valid (e.g. the database was recreated).
TOKEN_FILE=$STATE/admin.token
if [ ! -s "$TOKEN_FILE" ] || [ "$(curl -s -o /dev/null -w '%{http_code}' \
        -H "Authorization: Bearer $(cat "$TOKEN_FILE")" "$URL/v1/jobs?limit=1")" != 200 ]; then
        rm -f "$TOKEN_FILE"
        "$ADMIN_BIN" token create --name "local-admin-$(date +%s)" --role admin \
                --output "$TOKEN_FILE" >>"$LOGDIR/hjo-admin.log" 2>&1 || {
                hjo_tail_log "$LOGDIR/hjo-admin.log"
                hjo_say "error: could not create the local admin token"
                exit 1
        }
fi

cat <<EOF

hjo is running: $URL
  token:  $TOKEN_FILE (role admin; the API needs it on every route but /v1/health)
  try:    curl -s $URL/v1/health
          curl -s -H "Authorization: Bearer \$(cat $TOKEN_FILE)" '$URL/v1/jobs?limit=5'
          curl -s -H "Authorization: Bearer \$(cat $TOKEN_FILE)" $URL/metrics
  logs:   $LOGDIR/hjo-api.log
          $NGXDIR/error.log  $NGXDIR/access.log
          $PGDIR/postgres.log
  psql:   psql -h $PGDIR -p $PGPORT -U postgres hjo
stop with: scripts/stop.sh
EOF
