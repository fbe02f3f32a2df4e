#!/bin/sh
# tests/integration/t_api.sh: the /v1 and /metrics API over HTTP (nginx -> hjo-api ->
# PostgreSQL), driven by api_test.py, which prints TAP and reads the HJO_* variables that
# itest_setup exports.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# short enough for the isolation group to watch a blocked request end with 503
HJO_STATEMENT_TIMEOUT_MS=2000
# the whole suite runs authenticated, as an admin (lib.sh creates the token)
HJO_AUTH=required
export HJO_STATEMENT_TIMEOUT_MS HJO_AUTH
itest_setup
/usr/bin/python3 "$top_srcdir/tests/integration/api_test.py"
exit $?
