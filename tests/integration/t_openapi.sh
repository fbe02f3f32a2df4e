#!/bin/sh
# t_openapi.sh - validate docs/openapi.yaml (OpenAPI 3.1 meta-schema + semantic checks) and
# self-test the response validator used by the integration tests. TAP on stdout.
#
# Runs under automake's tap-driver (SH_LOG_DRIVER); `top_srcdir` is exported by the harness and
# defaults to this script's ../.. when unset. Needs only the Debian packages python3-yaml and
# python3-jsonschema. When they are missing the whole script is skipped with the TAP plan
# "1..0 # SKIP ..." and exit status 0: under tap-driver a non-zero exit (77 included) is
# reported as an ERROR, so the TAP skip plan is the way to skip here.

PY=/usr/bin/python3

if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
fi
dir="$top_srcdir/tests/integration"
spec="$top_srcdir/docs/openapi.yaml"

if [ ! -x "$PY" ]; then
	echo "1..0 # SKIP $PY not found"
	exit 0
fi
if ! "$PY" -c 'import yaml, jsonschema' >/dev/null 2>&1; then
	echo "1..0 # SKIP python3-yaml or python3-jsonschema missing (apt-get install python3-yaml python3-jsonschema)"
	exit 0
fi

# Never write __pycache__ into the (possibly read-only, e.g. distcheck) source tree.
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

tmp=${TMPDIR:-/tmp}/t_openapi.$$
mkdir "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

"$PY" "$dir/openapi_check.py" "$spec" >"$tmp/spec.tap" 2>"$tmp/spec.err"
echo $? >"$tmp/spec.rc"
"$PY" "$dir/openapi_check_selftest.py" "$spec" >"$tmp/self.tap" 2>"$tmp/self.err"
echo $? >"$tmp/self.rc"

# Merge both TAP streams into one: drop their plans, renumber, and turn a non-zero exit
# without any failing test line (a crash) into a failing test of its own.
awk -v tmp="$tmp" '
function merge(name, label,    line, rc, failed, n) {
	failed = 0
	while ((getline line < (tmp "/" name ".tap")) > 0) {
		if (line ~ /^1\.\.[0-9]+/)
			continue
		if (line ~ /^(not )?ok [0-9]+/) {
			n++
			if (line ~ /^not ok/)
				failed = 1
			sub(/^ok [0-9]+/, "ok " (count + 1), line)
			sub(/^not ok [0-9]+/, "not ok " (count + 1), line)
			count++
			out[count + lines] = line
			continue
		}
		out_line(line)
	}
	close(tmp "/" name ".tap")
	getline rc < (tmp "/" name ".rc")
	close(tmp "/" name ".rc")
	if (rc != 0 && !failed) {
		count++
		out[count + lines] = "not ok " count " - " label " exited with status " rc
		while ((getline line < (tmp "/" name ".err")) > 0)
			out_line("# " line)
		close(tmp "/" name ".err")
	} else if (n == 0) {
		count++
		out[count + lines] = "not ok " count " - " label " produced no test results"
	}
}
function out_line(s) {
	lines++
	out[count + lines] = s
}
BEGIN {
	count = 0; lines = 0
	merge("spec", "openapi_check.py")
	merge("self", "openapi_check_selftest.py")
	print "1.." count
	for (i = 1; i <= count + lines; i++)
		print out[i]
}'

# tap-driver judges by the TAP lines; report the worst status as well.
rc=0
[ "$(cat "$tmp/spec.rc")" = 0 ] || rc=1
[ "$(cat "$tmp/self.rc")" = 0 ] || rc=1
exit $rc
