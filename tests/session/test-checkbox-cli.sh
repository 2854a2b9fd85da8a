#!/bin/sh
# Checkbox users' expectations of `proctor plan` and `proctor run`, exact:
# short test-plan ids, comments inside id lists, and (with the corpus,
# $PT_CORPUS) real plans whose run lists were compared with PlainBox's
# `checkbox-cli tp-export` (docs/checkbox.md).
# TAP; appends "PASSED FAILED" to $PT_TALLY like the C tests.
proctor=${PT_BUILDDIR:-build}/src/tool/proctor
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 n=0
export PROCTOR_SESSION_REPOSITORY="$tmp/repo"

check() { # name, expected exit status, expected output file, command...
	name=$1 want_rc=$2 want=$3
	shift 3
	n=$((n + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$want_rc" ] && cmp -s "$tmp/out" "$want"; then
		echo "ok $n - $name"
		pass=$((pass + 1))
	else
		echo "not ok $n - $name (exit $rc, expected $want_rc)"
		diff "$want" "$tmp/out" | sed 's/^/# /'
		sed 's/^/# stderr: /' "$tmp/err"
		fail=$((fail + 1))
	fi
}

skip() { # name, reason
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

echo "TAP version 14"

mkdir -p "$tmp/prov/units"
cat >"$tmp/prov/manage.py" <<'PY'
from plainbox.provider_manager import setup
setup(name='com.example:prov', version="1.0")
PY
cat >"$tmp/prov/units/a.pxu" <<'PXU'
id: a
plugin: shell
command: true

id: b
plugin: shell
command: true

unit: test plan
id: part-a
name: A
include: a

unit: test plan
id: part-b
name: B
include: b

unit: test plan
id: full
name: Full
include:
nested_part:
    part-a
    # part-b is not part of full: its jobs
    # must not be read as test plan ids
PXU

cat >"$tmp/want1" <<'OUT'
run list: 1 jobs
    1  com.example::a
problems: 0
OUT
check "nested_part_comment_lines_are_not_ids" 0 "$tmp/want1" \
	"$proctor" plan -p full "$tmp/prov"
check "plan_short_id" 0 "$tmp/want1" \
	"$proctor" plan -p com.example::full "$tmp/prov"

# `proctor run -p SHORT-ID`: the same plan as `plan -p SHORT-ID`.
cat >"$tmp/want2" <<'OUT'
pass com.example::a
OUT
"$proctor" run -p full "$tmp/prov" >"$tmp/run.out" 2>"$tmp/run.err"
echo "rc=$?" >>"$tmp/run.out"
grep -v '^session \|jobs: ' "$tmp/run.out" >"$tmp/run.got"
printf 'pass com.example::a\nrc=0\n' >"$tmp/want2"
check "run_short_id" 0 "$tmp/want2" cat "$tmp/run.got"
printf '' >"$tmp/want3"
check "run_unknown_plan" 3 "$tmp/want3" "$proctor" run -p nosuch "$tmp/prov"

# Real plans, compared with PlainBox (checkbox-cli tp-export).
C=${PT_CORPUS:-}
if [ -n "$C" ] && [ -d "$C/providers" ]; then
	P="$C/providers $C/checkbox-ng/plainbox/impl/providers"
	cat >"$tmp/want4" <<'OUT'
run list: 2 jobs
    1  com.canonical.certification::power-management/poweroff-manual
    2  com.canonical.certification::power-management/reboot-manual
problems: 0
OUT
	# shellcheck disable=SC2086
	check "corpus_power_full_no_power_automated" 0 "$tmp/want4" \
		"$proctor" plan -p power-full $P
else
	skip "corpus_power_full_no_power_automated" "corpus not present"
fi

echo "1..$n"
echo "# $pass passed, $fail failed"
[ -n "${PT_TALLY:-}" ] && echo "$pass $fail" >>"$PT_TALLY"
[ "$fail" -eq 0 ]
