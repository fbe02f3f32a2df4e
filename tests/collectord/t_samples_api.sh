#!/bin/sh
# tests/collectord/t_samples_api.sh: POST /v1/samples over the real stack (nginx -> hjo-api ->
# PostgreSQL) with authentication on: an ingest token may post, a reader token may not; the
# body is validated field by field; a replay changes nothing; the job aggregates are exact.
# Driven by samples_api_test.py, which prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
HJO_AUTH=required
export HJO_AUTH
itest_setup
admin=$top_builddir/admin/hjo-admin
HJO_INGEST_TOKEN=$("$admin" token create --name samples-ingest --role ingest 2>>"$HJO_TMP/log/hjo-admin.log") ||
        itest_bail "token create (ingest) failed"
HJO_READER_TOKEN=$("$admin" token create --name samples-reader --role reader 2>>"$HJO_TMP/log/hjo-admin.log") ||
        itest_bail "token create (reader) failed"
export HJO_INGEST_TOKEN HJO_READER_TOKEN
/usr/bin/python3 "$top_srcdir/tests/collectord/samples_api_test.py"
exit $?
