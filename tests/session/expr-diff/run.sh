#!/bin/sh
# Differential test of src/session/expr.c against a reference built on
# CPython's ast and eval (ref.py): random programs (gen.py) are evaluated
# by both in compat and strict mode; any difference fails the test.
# Usage: run.sh DRIVER [COUNT] [SEED]. Skips (exit 77) without python3.
# Appends "1 0" (passed or skipped) or "0 1" to $PT_TALLY, like the C tests.
set -eu
tally() { # the exit status
	st=$1
	if [ -n "${PT_TALLY:-}" ]; then
		if [ "$st" = 0 ] || [ "$st" = 77 ]; then echo "1 0"; else echo "0 1"; fi >>"$PT_TALLY"
	fi
	exit "$st"
}
trap 'tally $?' EXIT
driver=$1
count=${2:-3000}
seed=${3:-${PT_TEST_SEED:-1}}
here=$(dirname "$0")
command -v python3 >/dev/null 2>&1 || { echo "skip: no python3"; exit 77; }
tmp=$(mktemp -d)
trap 'st=$?; rm -rf "$tmp"; tally $st' EXIT
python3 "$here/gen.py" "$seed" "$count" "$tmp/in"
ls "$tmp/in" | sed "s|^|$tmp/in/|" > "$tmp/files"
xargs python3 -W ignore "$here/ref.py" < "$tmp/files" | sort > "$tmp/py"
xargs "$driver" < "$tmp/files" | sort > "$tmp/c"
join -t "$(printf '\t')" "$tmp/py" "$tmp/c" > "$tmp/j"
n=$(wc -l < "$tmp/j")
bad=$(awk -F'\t' '$2 != $4 || $3 != $5' "$tmp/j" | wc -l)
echo "seed $seed: $n programs compared, $bad differ"
if [ "$bad" -ne 0 ]; then
	awk -F'\t' '$2 != $4 || $3 != $5' "$tmp/j" | head -20 |
	while IFS="$(printf '\t')" read -r f pc ps cc cs; do
		echo "--- $(cat "$f")"
		echo "    cpython: $pc / $ps   proctor: $cc / $cs"
	done
	exit 1
fi
[ "$n" -eq "$count" ] || { echo "only $n of $count compared"; exit 1; }
