#!/bin/sh
# tests/lint/t_lint.sh: the house-style gates of ../shared/STYLE.md appendix D, as TAP:
#  1. no banned function in C sources (outside tests/ and lib/num.c) without /* lint-ok: why */
#  2. open()/socket()/pipe()/accept() calls carry O_CLOEXEC/SOCK_CLOEXEC or use pipe2/accept4
#  3. every header compiles on its own (STYLE 4.2)
#  4. no // comments in C sources (STYLE 4.19)
#  5. shellcheck is clean on scripts/ and tests/ shell files (skipped when not installed)
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
n=0
failed=0
result() { # result OK|FAIL description [details]
        n=$((n + 1))
        if [ "$1" = OK ]; then
                echo "ok $n - $2"
        else
                failed=$((failed + 1))
                echo "not ok $n - $2"
                [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
        fi
}

srcs=$(find lib fcgi admin collectord -name '*.c' 2>/dev/null | grep -v '^lib/num\.c$' | sort)
hdrs=$(find lib fcgi admin collectord -name '*.h' 2>/dev/null | sort)

# code lines only: string literals emptied, comment lines dropped; "file:line:code"
code() {
        for f in $srcs; do
                sed -e 's/"\([^"\\]\|\\.\)*"/""/g' "$f" | awk -v f="$f" \
                        '!/^[[:space:]]*(\*|\/\*)/ { print f ":" NR ":" $0 }'
        done
}
code > "${TMPDIR:-/tmp}/hjo-lint.$$"
codef="${TMPDIR:-/tmp}/hjo-lint.$$"

banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|gets|atoi|atol|atof|system|popen|rand|localtime|gmtime|strerror|strtol|strtoul|strtoull|sscanf|alloca|getenv)[[:space:]]*\('
hits=$(grep -E "$banned" "$codef" | grep -v 'lint-ok' || true)
if [ -z "$hits" ]; then result OK "no banned functions"; else result FAIL "no banned functions" "$hits"; fi

# signal( is banned too (use sigaction), but not sigaction itself
hits=$(grep -E '(^|[^_a-z])signal[[:space:]]*\(' "$codef" | grep -v lint-ok || true)
if [ -z "$hits" ]; then result OK "no signal(), sigaction only"; else result FAIL "no signal(), sigaction only" "$hits"; fi

hits=$(grep -E '(^|[^_a-z])(open|openat)[[:space:]]*\(' "$codef" | grep -v 'O_CLOEXEC' | grep -v lint-ok || true)
hits2=$(grep -E '(^|[^_a-z])(socket|accept|pipe)[[:space:]]*\(' "$codef" | grep -v lint-ok || true)
if [ -z "$hits$hits2" ]; then result OK "fds opened close-on-exec"; else result FAIL "fds opened close-on-exec" "$hits$hits2"; fi

hits=$(grep -nE '(^|[^:"])//' $srcs $hdrs | grep -vE 'https?://|"[^"]*//[^"]*"' || true)
if [ -z "$hits" ]; then result OK "no // comments"; else result FAIL "no // comments" "$hits"; fi

cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$codef"' EXIT
: > "$tmp/config.h"
cflags="-std=gnu17 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I$tmp -Ilib -Ifcgi"
extra=$(pkg-config --cflags json-c libpq 2>/dev/null || true)
bad=""
for h in $hdrs; do
        printf '#include "%s"\n' "$(basename "$h")" > "$tmp/one.c"
        # shellcheck disable=SC2086
        if ! $cc $cflags $extra -I"$(dirname "$h")" -c "$tmp/one.c" -o /dev/null 2> "$tmp/err"; then
                bad="$bad$h: $(head -n 3 "$tmp/err")
"
        fi
done
if [ -z "$bad" ]; then result OK "every header compiles alone ($(echo "$hdrs" | wc -w) headers)"; else result FAIL "every header compiles alone" "$bad"; fi

if command -v shellcheck >/dev/null 2>&1; then
        shs=$(find scripts tests .ci -type f \( -name '*.sh' -o -name run \) 2>/dev/null | sort)
        # shellcheck disable=SC2086
        out=$(shellcheck -x -S warning $shs 2>&1 || true)
        if [ -z "$out" ]; then result OK "shellcheck clean ($(echo "$shs" | wc -w) files)"; else result FAIL "shellcheck clean" "$out"; fi
else
        n=$((n + 1))
        echo "ok $n - shellcheck # SKIP shellcheck not installed"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
