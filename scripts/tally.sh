#!/bin/sh
# Sums the "PASSED FAILED" lines that test programs append to $1 (see
# tests/harness/tap.h) and prints the closing line "N passed, N failed".
# Exits 1 when anything failed or nothing ran.
f=$1
[ -s "$f" ] || { echo "0 passed, 0 failed"; exit 1; }
awk '{ p += $1; f += $2 } END { printf "%d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$f"
