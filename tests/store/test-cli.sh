#!/bin/sh
# CLI tests of the store commands: sessions, show, rm, export, import,
# break-lock, and exit code 4 for locked or corrupt storage. Sessions are
# made by tests/store/crash-writer (the CLI has no command creating one).
# Usage: test-cli.sh PROCTOR CRASH_WRITER. Output: TAP.
proctor=$1
writer=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PROCTOR_SESSION_REPOSITORY=$tmp/repo
export PROCTOR_SESSION_REPOSITORY
n=0 pass=0 fail=0

# check NAME EXPECTED_EXIT GREP_PATTERN_OR_EMPTY -- command...
check() {
	name=$1 want=$2 pat=$3
	shift 4
	n=$((n + 1))
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "not ok $n - $name # exit $got, expected $want"
		sed 's/^/# /' "$tmp/out"
		fail=$((fail + 1))
	elif [ -n "$pat" ] && ! grep -q -- "$pat" "$tmp/out"; then
		echo "not ok $n - $name # output lacks '$pat'"
		sed 's/^/# /' "$tmp/out"
		fail=$((fail + 1))
	else
		echo "ok $n - $name"
		pass=$((pass + 1))
	fi
}

echo "TAP version 13"
echo "1..17"
check "sessions on an absent repository" 0 "^ID  *TITLE" -- "$proctor" sessions
"$writer" "$PROCTOR_SESSION_REPOSITORY" new 12 none 0 3>"$tmp/ids"
id=$(sed -n 's/^S //p' "$tmp/ids")
check "sessions lists it with progress" 0 "^$id  *crash  *-  *12/12" -- "$proctor" sessions
check "show defaults to last-session" 0 "^session   $id" -- "$proctor" show
check "show lists results" 0 "fail  *ns::job-010" -- "$proctor" show "$id"
check "show --job" 0 "^checksum  sum" -- "$proctor" show --job ns::job-003
check "show --job unknown" 1 "no job 'nope'" -- "$proctor" show --job nope
check "show unknown session" 1 "no session 'ffffffffffffffff'" -- "$proctor" show ffffffffffffffff
check "export" 0 "exported $id" -- "$proctor" export -o "$tmp/s.ptz"
check "import over an existing session" 1 "already exists" -- "$proctor" import "$tmp/s.ptz"
# A writer holds the lock (flock(1) on the lock file): rm is refused.
if command -v flock >/dev/null 2>&1; then
	check "rm of a locked session" 4 "session is locked by" -- flock -n "$PROCTOR_SESSION_REPOSITORY/$id/lock" "$proctor" rm "$id"
else
	n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - rm of a locked session # SKIP no flock(1)"
fi
check "break-lock of an unlocked session" 0 "is not locked" -- "$proctor" break-lock "$id"
check "rm" 0 "removed $id" -- "$proctor" rm "$id"
check "import" 0 "imported $id" -- "$proctor" import "$tmp/s.ptz"
check "imported session shows its results" 0 "fail  *ns::job-003" -- "$proctor" show "$id"
printf 'not a gzip file' >"$tmp/bad.ptz"
check "corrupt envelope exits 4" 4 "incorrect header check" -- "$proctor" import "$tmp/bad.ptz"
head -c 100 "$tmp/s.ptz" >"$tmp/trunc.ptz"
check "truncated envelope exits 4" 4 "truncated" -- "$proctor" import "$tmp/trunc.ptz"
check "usage error" 2 "missing -o FILE" -- "$proctor" export
if [ -n "${PT_TALLY:-}" ]; then
	echo "$pass $fail" >>"$PT_TALLY"
fi
[ "$fail" -eq 0 ]
