#!/bin/sh
# Checks check-layers.sh: a bad include and an OS call outside src/os
# fail it, naming the file; the same tree without them passes.
check="$(cd "$(dirname "$0")" && pwd)/check-layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
expect() { # expect RC PATTERN -- args
	want=$1 pat=$2
	shift 3
	out=$(PT_TALLY= sh "$check" "$@" 2>&1)
	rc=$?
	if [ $rc -eq "$want" ] && printf '%s\n' "$out" | grep -q -- "$pat"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "not ok: rc $rc (want $want), output: $out"
	fi
}
mkdir -p "$tmp/top/src/store" "$tmp/top/src/os" "$tmp/build/src/store" "$tmp/build/src/os"
printf '#include "base/common.h"\nint pt_x(void);\nint pt_x(void) { return 1; }\n' >"$tmp/top/src/store/a.c"
cc -c -o "$tmp/a.o" -x c - <<'C'
int pt_x(void);
int pt_x(void) { return 1; }
C
ar rcs "$tmp/build/src/store/libpt_store.a" "$tmp/a.o"
expect 0 "layers ok" -- "$tmp/top" "$tmp/build"
printf '#include "runner/runner-internal.h"\n' >>"$tmp/top/src/store/a.c"
expect 1 "a.c: includes runner/, not allowed for store" -- "$tmp/top" "$tmp/build"
printf '#include "base/common.h"\n' >"$tmp/top/src/store/a.c"
cc -c -o "$tmp/b.o" -x c - <<'C'
#include <fcntl.h>
int pt_y(const char *p);
int pt_y(const char *p) { return open(p, O_RDONLY); }
C
ar rcs "$tmp/build/src/store/libpt_store.a" "$tmp/b.o"
expect 1 "src/store/b: open.* (an OS call outside src/os)" -- "$tmp/top" "$tmp/build"
ar rcs "$tmp/build/src/os/libpt_os.a" "$tmp/b.o"
rm "$tmp/build/src/store/libpt_store.a"
ar rcs "$tmp/build/src/store/libpt_store.a" "$tmp/a.o"
expect 0 "layers ok" -- "$tmp/top" "$tmp/build" # src/os may call it
echo "check-layers-test: $pass passed, $fail failed"
if [ -n "${PT_TALLY:-}" ]; then
	echo "$pass $fail" >>"$PT_TALLY"
fi
[ $fail -eq 0 ]
