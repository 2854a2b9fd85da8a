#!/bin/sh
# `proctor validate` and `proctor units`: exact output and exit codes.
# Usage: cli-unit.sh PATH-TO-PROCTOR. TAP output; a tally line for make.
P=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 pass=0 fail=0

check() { # name expected-status expected-output-file command...
	name=$1 want=$2 exp=$3
	shift 3
	n=$((n + 1))
	"$@" >"$T/out" 2>"$T/err"
	st=$?
	if [ "$st" = "$want" ] && cmp -s "$exp" "$T/out"; then
		echo "ok $n - $name"
		pass=$((pass + 1))
	else
		echo "not ok $n - $name (status $st, want $want)"
		sed 's/^/# /' "$T/out" "$T/err"
		fail=$((fail + 1))
	fi
}

printf 'id: a\nplugin: shell\ncommand: true\n\nunit: test plan\nid: p\n_name: P\ninclude: a\n' >"$T/good.pxu"
printf 'id: a\nplugin: nope\n\nid: b\nplugin: shell\nplugin: shell\n' >"$T/bad.pxu"
printf 'id: x\nplugin: shell\n\nunit: frob\nid: y\n' >"$T/type.pxu"
: >"$T/empty"
# requires / template-filter that do not compile (a missing quote, nesting
# past the limit, 20,000 parentheses deep): errors at the expression's line.
deep=$(awk 'BEGIN { for (i = 0; i < 20000; i++) printf "("; printf "r.a"; for (i = 0; i < 20000; i++) printf ")" }')
nest=$(awk 'BEGIN { for (i = 0; i < 65; i++) printf "("; printf "r.a"; for (i = 0; i < 65; i++) printf ")" }')
printf 'id: r\nplugin: resource\ncommand: true\n\nid: q\nplugin: shell\nrequires:\n r.a == "1"\n r.a == "1\n\nunit: template\ntemplate-resource: r\ntemplate-filter: %s\nid: t-{a}\nplugin: shell\n\nid: d\nplugin: shell\nrequires: %s\n\nid: fine\nplugin: shell\nrequires: r.a == "1"\n' "$nest" "$deep" >"$T/prog.pxu"

echo "TAP version 14"
echo "1..9"
check "validate good file" 0 "$T/empty" "$P" validate "$T/good.pxu"
printf '%s\n' "$T/bad.pxu:6: Job has a duplicate key 'plugin' with old value 'shell\\n' and new value 'shell' (file skipped)" >"$T/exp"
check "validate syntax error" 1 "$T/exp" "$P" validate "$T/good.pxu" "$T/bad.pxu"
printf '%s\n' "$T/type.pxu:4: unknown unit type 'frob' (unit skipped)" >"$T/exp"
check "validate unknown type" 1 "$T/exp" "$P" validate "$T/type.pxu"
printf '%s\n' "$T/prog.pxu:9: job 'q': requires does not compile: unterminated string literal (column 8)" \
	"$T/prog.pxu:13: template 't-{a}': template-filter does not compile: expression nested deeper than 64 (column 65)" \
	"$T/prog.pxu:19: job 'd': requires does not compile: expression longer than 4096 bytes" >"$T/exp"
check "validate programs that do not compile" 1 "$T/exp" "$P" validate "$T/prog.pxu"
printf 'ns::a\tjob\t%s:1\nns::p\ttest plan\t%s:5\n' "$T/good.pxu" "$T/good.pxu" >"$T/exp"
check "units with namespace" 0 "$T/exp" "$P" units --namespace ns "$T/good.pxu"
printf 'p\ttest plan\t%s:5\n' "$T/good.pxu" >"$T/exp"
check "units --type" 0 "$T/exp" "$P" units --type "test plan" "$T/good.pxu"
check "validate without PATH" 2 "$T/empty" "$P" validate
check "units bad type" 2 "$T/empty" "$P" units --type frob "$T/good.pxu"
printf 'usage: proctor validate [--namespace NS] PATH...\n' >"$T/exp"
check "validate --help" 0 "$T/exp" sh -c '"$1" validate --help | head -n 1' sh "$P"
# The summary line goes to stderr.
"$P" validate "$T/good.pxu" 2>"$T/sum" >/dev/null
if [ "$(cat "$T/sum")" != "2 units, 1 jobs: 0 errors, 0 warnings" ]; then
	echo "# summary: $(cat "$T/sum")"
	fail=$((fail + 1))
fi
echo "# $pass passed, $fail failed"
[ -n "$PT_TALLY" ] && echo "$pass $fail" >>"$PT_TALLY"
[ "$fail" = 0 ]
