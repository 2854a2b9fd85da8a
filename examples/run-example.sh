#!/bin/sh
# Runs proctor's main job on the bundled example provider (README).
# The session goes to a private repository under the build directory.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export PROCTOR_SESSION_REPOSITORY="$top/$build/example-sessions"
exec "$top/$build/src/tool/proctor" run "$top/examples/provider" \
	-p com.example::demo --report junit:"$top/$build/example-junit.xml"
