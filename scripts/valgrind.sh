#!/bin/sh
# Runs every library test program (not the CLI suite) under valgrind
# memcheck; fails on any error or definite leak.
set -u
build=${1:-build}
status=0
# What meson's test environment would set (tests/meson.build).
top=$(cd "$(dirname "$0")/.." && pwd)
export PT_SRCDIR="$top" PT_BUILDDIR="$top/$build"
export PT_CORPUS="${PT_CORPUS:-$top/../shared/corpus/checkbox}"
export PT_CRASH_WRITER="$top/$build/tests/store/crash-writer"
for t in "$build"/tests/*/test-*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case "$t" in */cli/*) continue ;; esac
	echo "== valgrind $t"
	PT_TEST_TIMEOUT=10 valgrind -q --suppressions=scripts/valgrind.supp --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --trace-children=no \
		"$t" >/dev/null || { echo "FAILED: $t"; status=1; }
done
exit $status
