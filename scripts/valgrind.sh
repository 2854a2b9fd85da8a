#!/bin/sh
# Runs every library test program (not the CLI suite) under valgrind
# memcheck; fails on any error or definite leak. Prints each program's
# wall time and, for a failing one, its failing tests (docs/harness.md,
# "Under valgrind").
set -u
build=${1:-build}
status=0
total=0
# What meson's test environment would set (tests/meson.build).
top=$(cd "$(dirname "$0")/.." && pwd)
export PT_SRCDIR="$top" PT_BUILDDIR="$top/$build"
# The corpus meson's tests get (meson.build decides its default).
corpus=$(meson introspect --tests "$build" 2>/dev/null | python3 -c '
import json, sys
print(next((t["env"]["PT_CORPUS"] for t in json.load(sys.stdin)
            if "PT_CORPUS" in t["env"]), ""))' 2>/dev/null)
export PT_CORPUS="${PT_CORPUS:-$corpus}"
export PT_CRASH_WRITER="$top/$build/tests/store/crash-writer"
# test-tp-export compares every 277th corpus test plan with PlainBox's run
# list (4 plans, one with bootstrap jobs): about 20 s under memcheck
# instead of 10+ minutes for its default sample.
export PT_TP_EXPORT_STRIDE="${PT_TP_EXPORT_STRIDE:-277}"
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
for t in "$build"/tests/*/test-*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case "$t" in
	*/cli/*) continue ;;
	# lockstep exec finds its runtime and test programs next to
	# /proc/self/exe, which is valgrind's own tool under valgrind; its
	# programs run natively in any case (a preloaded runtime).
	*/test-lockstep-exec) echo "== skipped $t (locates programs via /proc/self/exe)"; continue ;;
	esac
	t0=$(date +%s)
	# The harness runs each test in a forked child, and valgrind follows
	# forks: memcheck checks the child and, at its exit, runs the leak
	# check and applies --error-exitcode, so a test with an error or a
	# definite leak ends with status 99 and fails. The same holds for
	# any fork without exec inside a test (a lockstep iteration, a test
	# helper): its status is valgrind's if it leaked. The children's
	# reports are silenced; rerun one test with
	# --child-silent-after-fork=no to read them.
	PT_TEST_TIMEOUT=${PT_TEST_TIMEOUT:-60} valgrind -q --suppressions=scripts/valgrind.supp --error-exitcode=99 --leak-check=full \
		--child-silent-after-fork=yes \
		--errors-for-leak-kinds=definite --trace-children=no \
		"$t" >"$out" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	total=$((total + secs))
	if [ $rc = 0 ]; then
		skips=$(grep -c '^ok .* # SKIP' "$out")
		[ "$skips" = 0 ] && skips= || skips=" ($skips skipped)"
		echo "== ok ${secs}s $t$skips"
	else
		echo "== FAILED ${secs}s $t (exit $rc)"
		grep -E '^(not ok|# exit status|# killed|# timed out|[^ ]+:[0-9]+: )' \
			"$out" | sed 's/^/   /'
		status=1
	fi
done
echo "== total ${total}s"
exit $status
