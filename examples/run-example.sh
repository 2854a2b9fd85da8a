#!/bin/sh
# Runs proctor's main job on the bundled example provider (README): the
# demo plan, in a private session repository under the build directory,
# with a JUnit report. The plan fails on purpose (a failing job, the job
# it skips, a timeout), so proctor's exit status 1 is the expected one.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export PROCTOR_SESSION_REPOSITORY="$top/$build/example-sessions"
"$top/$build/src/tool/proctor" run "$top/examples/provider" \
	-p com.example::demo --report junit:"$top/$build/example-junit.xml"
rc=$?
echo "proctor run exited $rc; JUnit report: $build/example-junit.xml"
echo "(try: PROCTOR_SESSION_REPOSITORY=$build/example-sessions $build/src/tool/proctor show)"
[ $rc -eq 1 ] && exit 0 # failures are what the example demonstrates
exit $rc
