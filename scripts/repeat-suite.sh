#!/bin/sh
# Runs the whole suite (`make check`) N times, each time with a fresh
# random seed in $PT_TEST_SEED (every test program shuffles its tests by
# it: tests/harness/tap.c), to find tests that depend on order or timing.
# Stops at the first failing run and prints its seed and failing tests;
# `--keep-going` runs all N. Ends with "N runs, F failures, T s".
#
#   sh scripts/repeat-suite.sh [--keep-going] N [BUILD]
#
# A failing run's logs: BUILD/repeat-suite/run-K.log (make's output) and
# run-K.testlog.txt (meson's, with every test's output). Reproduce with
#   PT_TEST_SEED=SEED make check
# or the one program: BUILD/tests/.../PROG --seed=SEED [--shard=I/N].
# Exit: 0 all passed, 1 a run failed, 2 usage.
set -u
keep=0
if [ "${1:-}" = --keep-going ]; then
	keep=1
	shift
fi
n=${1:-}
build=${2:-build}
case "$n" in
'' | *[!0-9]* | 0)
	echo "usage: $0 [--keep-going] N [BUILD]" >&2
	exit 2
	;;
esac
cd "$(dirname "$0")/.." || exit 2
logs=$build/repeat-suite
mkdir -p "$logs" || exit 2
start=$(date +%s)
runs=0 failures=0
while [ "$runs" -lt "$n" ]; do
	runs=$((runs + 1))
	seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	log=$logs/run-$runs.log
	t0=$(date +%s)
	if PT_TEST_SEED=$seed make -s check BUILD="$build" >"$log" 2>&1; then
		echo "run $runs: seed $seed: $(tail -n 1 "$log") ($(($(date +%s) - t0)) s)"
		continue
	fi
	failures=$((failures + 1))
	cp "$build/meson-logs/testlog.txt" "$logs/run-$runs.testlog.txt" 2>/dev/null
	echo "run $runs: seed $seed: FAILED: $(tail -n 1 "$log") ($(($(date +%s) - t0)) s, logs $log, $logs/run-$runs.testlog.txt)"
	# the failing meson tests, and the failing tests inside them
	awk '/^test: / { t = $0; sub(/^test: +/, "", t) }
	     /^not ok / { print "  " t ": " $0 }
	     /^# .*\(.*:[0-9]+\), seed / && t { print "  " t ": " $0 }
	     / (FAIL|TIMEOUT) +[0-9.]+s/ && !/^test/ { print "  " $0 }' \
		"$build/meson-logs/testlog.txt" | sort -u
	echo "  reproduce: PT_TEST_SEED=$seed make check"
	[ "$keep" = 1 ] || break
done
echo "$runs runs, $failures failures, $(($(date +%s) - start)) s"
[ "$failures" = 0 ]
