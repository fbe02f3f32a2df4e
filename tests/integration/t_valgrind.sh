#!/bin/sh
# tests/integration/t_valgrind.sh: the FastCGI worker under valgrind memcheck (--quiet: any
# output at all is an error or a definite leak), driven by the API suite over real nginx and
# PostgreSQL.  lib.sh's teardown fails the test when a valgrind log is not empty.  Prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
if [ "${HJO_SKIP_VALGRIND:-0}" = 1 ]; then
        echo "1..0 # SKIP HJO_SKIP_VALGRIND=1"
        exit 0
fi
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ITEST_VALGRIND=1
ITEST_WORKERS=2
HJO_AUTH=required
export HJO_AUTH
itest_setup
/usr/bin/python3 "$top_srcdir/tests/integration/api_test.py" basics job-started event-batches job-finished crud samples list prometheus
