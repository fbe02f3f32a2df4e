#!/bin/bash
# scripts/test.sh: run every test, from a fresh clone on Debian 12.
#
#   installs missing Debian packages -> out-of-tree build in build/ (../configure --enable-werror)
#   -> make check; with HJO_TEST_SANITIZERS=1 (CI) also build-san/ (--enable-sanitizers
#   --enable-werror) -> make check.  Then prints each test's results, the ends of the failing
#   tests' logs, and as its last line "N passed, N failed, N skipped" summed over all test
#   points of all builds.  Exits non-zero when anything failed (a build failure counts as one).
#
# The integration tests start PostgreSQL (initdb refuses root: as root they go through
# runuser -u postgres) and nginx on free loopback ports; nothing else is needed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=scripts/common.sh
. "$ROOT/scripts/common.sh"

hjo_install_deps || exit 1

passed=0
failed=0
skipped=0
report=()        # one line per test file
failing_logs=()  # .log files of tests that failed

# run_suite LABEL DIR [configure args...]
run_suite() {
        local label=$1 dir=$2
        shift 2
        hjo_say "==> $label: build in $dir (configure $*)"
        if ! hjo_build "$ROOT" "$dir" "$@"; then
                report+=("ERROR $label: build failed (see $dir/make.log or $dir/config.log)")
                failed=$((failed + 1))
                return
        fi
        # Results of earlier runs must not be counted (a test that was renamed or removed).
        find "$dir/tests" \( -name '*.trs' -o -name '*.log' \) -type f -delete 2>/dev/null
        rm -f "$dir/test-suite.log"

        hjo_say "==> $label: make check"
        local rc=0
        make -C "$dir" -j2 check || rc=$?

        local trs n_before=$((passed + failed + skipped)) f_before=$failed
        while IFS= read -r trs; do
                local name=${trs#"$dir"/} p f s global
                name=${name%.trs}
                # tap-driver writes one :test-result: per TAP test point (a skipped plan: one
                # SKIP); the plain driver one per test.
                p=$(grep -cE '^:test-result: (PASS|XFAIL)' "$trs")
                f=$(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
                s=$(grep -cE '^:test-result: SKIP' "$trs")
                global=$(sed -n 's/^:global-test-result: *//p' "$trs" | head -n 1)
                passed=$((passed + p))
                failed=$((failed + f))
                skipped=$((skipped + s))
                report+=("$(printf '%-5s %s/%s  (%d passed, %d failed, %d skipped)' \
                        "${global:-?}" "$label" "$name" "$p" "$f" "$s")")
                if [ "$f" -gt 0 ] || [ "$global" = FAIL ] || [ "$global" = ERROR ]; then
                        failing_logs+=("${trs%.trs}.log")
                fi
        done < <(find "$dir/tests" -name '*.trs' -type f 2>/dev/null | sort)

        if [ $((passed + failed + skipped)) -eq "$n_before" ]; then
                report+=("ERROR $label: no test results (make check exited with $rc)")
                failed=$((failed + 1))
        elif [ "$rc" -ne 0 ] && [ "$failed" -eq "$f_before" ]; then
                # make check failed without a failing test point: a test program that did
                # not build, or a harness error.
                report+=("ERROR $label: make check exited with $rc (see $dir/test-suite.log)")
                failed=$((failed + 1))
        fi
}

run_suite build "$ROOT/build" --enable-werror
if [ "${HJO_TEST_SANITIZERS:-0}" = 1 ]; then
        # The tests that drive a real Slurm lab exercise shell hooks and slurmrestd more than
        # our C; they run once, in the build above, to keep CI well under its time budget.
        # valgrind cannot run ASan binaries; the valgrind test runs in the build above.
        export HJO_SKIP_SLURM=1 SLURMREST_SKIP=1 HJO_SKIP_VALGRIND=1
        run_suite build-san "$ROOT/build-san" --enable-sanitizers --enable-werror
        unset HJO_SKIP_SLURM SLURMREST_SKIP HJO_SKIP_VALGRIND
fi

echo
echo "==> results"
for line in "${report[@]}"; do
        echo "  $line"
done
# For each failing test: its failing TAP points with their diagnostics, the teardown's report
# (sanitizer findings, server logs; unanchored: stderr and the TAP stream interleave in the
# log) and the end of the log.
for log in "${failing_logs[@]+"${failing_logs[@]}"}"; do
        echo
        echo "==> ${log#"$ROOT"/}: failures"
        awk '
                /^not ok|^Bail out!|^ERROR: / { show = 1; n = 0 }
                /^ok / { show = 0 }
                /^(PASS|FAIL|SKIP|XFAIL|XPASS): / { next }   # the driver echoes each point
                show && n < 25 && total < 150 { print; n++; total++ }
        ' "$log" 2>/dev/null | sed 's/^/  | /'
        if grep -qE '# (FAIL: |test exited with status)' "$log" 2>/dev/null; then
                echo "==> ${log#"$ROOT"/}: teardown report"
                sed -n '/# \(FAIL: \|test exited with status\)/,$p' "$log" | head -n 80 | sed 's/^/  | /'
        fi
        echo "==> ${log#"$ROOT"/}: last 15 lines"
        tail -n 15 "$log" 2>/dev/null | sed 's/^/  | /'
done
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
