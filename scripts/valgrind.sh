#!/bin/sh
# Runs every library test program (not the CLI suite) under valgrind
# memcheck; fails on any error or definite leak.
set -u
build=${1:-build}
status=0
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
for t in "$build"/tests/*/test-*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case "$t" in
	*/cli/*) continue ;;
	# lockstep exec finds its runtime and test programs next to
	# /proc/self/exe, which is valgrind's own tool under valgrind; its
	# programs run natively in any case (a preloaded runtime).
	*/test-lockstep-exec) echo "== skipped $t (locates programs via /proc/self/exe)"; continue ;;
	esac
	echo "== valgrind $t"
	# Forked children (fork without exec: iterations, test helpers) are
	# not checked: they end with _exit by design, and their exit status,
	# which tests assert, must not become valgrind's error code.
	PT_TEST_TIMEOUT=${PT_TEST_TIMEOUT:-60} valgrind -q --suppressions=scripts/valgrind.supp --error-exitcode=99 --leak-check=full \
		--child-silent-after-fork=yes \
		--errors-for-leak-kinds=definite --trace-children=no \
		"$t" >/dev/null || { echo "FAILED: $t"; status=1; }
done
exit $status
