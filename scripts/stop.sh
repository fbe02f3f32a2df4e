#!/bin/bash
# scripts/stop.sh: stop what scripts/run.sh started (nginx, hjo-collectord, hjo-api, PostgreSQL).
# The database stays in .hjo/pg/data; `rm -rf .hjo` after stopping starts from scratch.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/common.sh
. "$ROOT/scripts/common.sh"

STATE=$ROOT/.hjo
rc=0

if hjo_pid_alive "$STATE/nginx/nginx.pid" nginx; then
        hjo_say "stopping nginx"
        # QUIT: graceful (finish the requests in flight).
        hjo_stop_pidfile "$STATE/nginx/nginx.pid" nginx 15 QUIT || rc=1
fi
if hjo_pid_alive "$STATE/run/hjo-collectord.pid" hjo-collectord; then
        hjo_say "stopping hjo-collectord"
        hjo_stop_pidfile "$STATE/run/hjo-collectord.pid" hjo-collectord 15 || rc=1
fi
if hjo_pid_alive "$STATE/run/hjo-api.pid" hjo-api; then
        hjo_say "stopping hjo-api"
        hjo_stop_pidfile "$STATE/run/hjo-api.pid" hjo-api 15 || rc=1
fi
rm -f "$STATE/run/hjo-api.sock"
if hjo_pg_running "$STATE/pg"; then
        hjo_say "stopping PostgreSQL"
        hjo_pg_stop "$STATE/pg" || rc=1
fi
hjo_say "hjo stopped"
exit $rc
