#!/bin/sh
# Runs one libFuzzer target for a fixed time under ASan+UBSan and prints one
# markdown table row: target | commit | seconds | executions | exec/s | coverage
# (edges) | corpus files | crashes. The working corpus starts from the seed
# corpus fuzz/corpus/TARGET but lives in WORKDIR, so the repository is not
# touched; crash inputs are left in WORKDIR/artifacts.
# Usage: scripts/fuzz-campaign.sh BUILD-FUZZ-DIR TARGET SECONDS WORKDIR
set -eu
build=$1 target=$2 secs=$3 work=$4
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
cp -n "$src/fuzz/corpus/$target/"* "$work/$target/corpus/" 2>/dev/null || true
dict=
[ -f "$src/fuzz/$target.dict" ] && dict="-dict=$src/fuzz/$target.dict"
log=$work/$target/log.txt
set +e
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
"$build/fuzz/$target" -max_total_time="$secs" -print_final_stats=1 \
	-rss_limit_mb=2048 -timeout=10 $dict \
	-artifact_prefix="$work/$target/artifacts/" \
	"$work/$target/corpus" >"$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
files=$(ls "$work/$target/corpus" | wc -l)
crashes=$(ls "$work/$target/artifacts" | wc -l)
commit=$(git -C "$src" rev-parse --short HEAD)
echo "| $target | $commit | $secs | ${execs:-?} | ${rate:-?} | ${cov:-?} | $files | $crashes (rc $rc) |"
