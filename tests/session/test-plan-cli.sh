#!/bin/sh
# `proctor plan`: text and --json output on a small provider file, exact.
# TAP; appends "PASSED FAILED" to $PT_TALLY like the C tests.
proctor=${PT_BUILDDIR:-build}/src/tool/proctor
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 n=0

cat >"$tmp/a.pxu" <<'PXU'
id: a
plugin: shell
command: true

id: b
plugin: shell
command: true
depends: a
requires: res.k == 'v'

id: res
plugin: resource
command: echo k: v

id: c
plugin: shell
command: true
depends: nope

id: d
plugin: shell
command: true
after: b

unit: test plan
id: tp
name: TP
include:
  b
  c
PXU

. "${PT_SRCDIR:-.}/tests/session/cli-lib.sh"

echo "TAP version 14"
echo "1..8"

cat >"$tmp/want1" <<'OUT'
run list: 3 jobs
    1  ns::a
    2  ns::res
    3  ns::b  [resource expression "res.k == 'v'" could not be evaluated because the resource it depends on did not run yet; required dependency 'ns::a' did not run yet]
problems: 1
  missing dependency: 'ns::nope' (depends)
OUT
check "plan_text_test_plan" 3 "$tmp/want1" \
	"$proctor" plan -n ns -p tp "$tmp/a.pxu"

cat >"$tmp/want2" <<'OUT'
{
  "format": "proctor-plan/1",
  "test_plan": null,
  "desired": ["ns::d"],
  "mandatory": [],
  "bootstrap": [],
  "run_list": ["ns::a", "ns::res", "ns::b", "ns::d"],
  "inhibitors": {
    "ns::a": [],
    "ns::res": [],
    "ns::b": [{"cause": "PENDING_RESOURCE", "related_job": "ns::res", "related_expression": "res.k == 'v'", "text": "resource expression \"res.k == 'v'\" could not be evaluated because the resource it depends on did not run yet"}, {"cause": "PENDING_DEP", "related_job": "ns::a", "related_expression": null, "text": "required dependency 'ns::a' did not run yet"}],
    "ns::d": [{"cause": "PENDING_DEP", "related_job": "ns::b", "related_expression": null, "text": "required dependency 'ns::b' did not run yet"}]
  },
  "problems": []
}
OUT
check "plan_json_include" 0 "$tmp/want2" \
	"$proctor" plan -n ns --json -i 'd' "$tmp/a.pxu"

cat >"$tmp/want3" <<'OUT'
run list: 2 jobs
    1  ns::a
    2  ns::res
problems: 0
OUT
check "plan_include_exclude" 0 "$tmp/want3" \
	"$proctor" plan -n ns -i 'ns::(a|res|c)' -x 'c' "$tmp/a.pxu"

printf '' >"$tmp/want4"
check "plan_unknown_test_plan" 3 "$tmp/want4" \
	"$proctor" plan -n ns -p nosuch "$tmp/a.pxu"
check "plan_bad_pattern" 2 "$tmp/want4" \
	"$proctor" plan -n ns -i '(' "$tmp/a.pxu"

cat >"$tmp/t.pxu" <<'PXU'
id: devices
plugin: resource
command: echo

unit: template
template-resource: devices
template-filter: devices.category == 'AUDIO'
id: audio/{name}_{bus_slug}
plugin: shell
command: true
depends: devices

id: after-all
plugin: shell
command: true
after: audio/NAME_BUS

unit: test plan
id: tp
name: TP
bootstrap_include: devices
include:
 audio/.*
 after-all
PXU
cat >"$tmp/want5" <<'OUT'
run list: 3 jobs
    1  ns::devices
    2  ns::audio/NAME_BUS
    3  ns::after-all  [required dependency 'ns::audio/NAME_BUS' did not run yet]
problems: 0
OUT
check "plan_fake_resources" 0 "$tmp/want5" \
	"$proctor" plan -n ns -p tp --fake-resources "$tmp/t.pxu"

# A requires / template-filter that does not compile: a problem (exit 3);
# the job stays on the run list with an inhibitor saying why; the template
# is a problem too (fake resources do not apply filters, as upstream's
# tp-export, so it instantiates there).
cat >"$tmp/bad.pxu" <<'PXU'
id: devices
plugin: resource
command: echo

unit: template
template-resource: devices
template-filter: devices.category == 'AUDIO
id: audio/{name}
plugin: shell
command: true

id: q
plugin: shell
command: true
requires:
 devices.a == '1'
 (((devices.a == '1')

unit: test plan
id: tp
name: TP
bootstrap_include: devices
include:
 audio/.*
 q
PXU
cat >"$tmp/want6" <<OUT
run list: 2 jobs
    1  ns::audio/NAME
    2  ns::q  [resource program does not compile: $tmp/bad.pxu:17: invalid syntax: expected ')', found end of expression (column 21)]
problems: 2
  template-filter of template 'ns::audio/{name}' does not compile: $tmp/bad.pxu:7: unterminated string literal (column 21)
  requires of job 'ns::q' does not compile: $tmp/bad.pxu:17: invalid syntax: expected ')', found end of expression (column 21)
OUT
check "plan_programs_that_do_not_compile" 3 "$tmp/want6" \
	"$proctor" plan -n ns -p tp --fake-resources "$tmp/bad.pxu"
"$proctor" plan -n ns -p tp --json "$tmp/bad.pxu" >"$tmp/json" 2>/dev/null
if grep -q '"kind": "program", "job": "ns::q"' "$tmp/json" &&
	grep -q '{"cause": "BAD_RESOURCE_PROGRAM", "related_job": "ns::q", "related_expression": "'"$tmp"'/bad.pxu:17: invalid syntax' "$tmp/json"; then
	n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - plan_json_program_problem"
else
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - plan_json_program_problem"
	sed 's/^/# /' "$tmp/json"
fi

echo "# $pass passed, $fail failed"
[ -n "${PT_TALLY:-}" ] && echo "$pass $fail" >>"$PT_TALLY"
[ "$fail" -eq 0 ]
