#!/bin/sh
# Runs every benchmark built in BUILD/bench and prints their metric lines.
set -u
build=${1:-build}
for b in "$build"/bench/bench-*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || echo "FAILED: $b"
done
