#!/bin/sh
# Runs the embedding example on its plan in a fresh repository and
# compares what it prints (the session id masked) with what it must print.
set -eu
embed=$1
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
"$embed" "$src/plan.pxu" "$tmp/repo" >"$tmp/out" 2>"$tmp/err" || status=$?
sed 's/^# proctor session [0-9a-f]\{16\} /# proctor session ID /' "$tmp/out" >"$tmp/masked"
cat >"$tmp/want" <<'WANT'
running 3 jobs
[1/3] pass build
[2/3] pass test
[3/3] pass package
done: 3 passed, 0 failed
TAP version 14
1..3
# proctor session ID seed 1
ok 1 - build
ok 2 - test
ok 3 - package
WANT
ok=1
if ! diff -u "$tmp/want" "$tmp/masked" || [ "$status" -ne 0 ] || [ -s "$tmp/err" ]; then
	echo "embed exited $status; stderr:" >&2
	cat "$tmp/err" >&2
	ok=0
fi
# The session is in the repository.
[ -L "$tmp/repo/last-session" ] || { echo "no last-session" >&2; ok=0; }
if [ -n "${PT_TALLY:-}" ]; then
	if [ $ok = 1 ]; then echo "1 0"; else echo "0 1"; fi >>"$PT_TALLY"
fi
[ $ok = 1 ] && echo "embed ok"
[ $ok = 1 ]
