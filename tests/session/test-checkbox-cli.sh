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

. "${PT_SRCDIR:-.}/tests/session/cli-lib.sh"

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

# The manifest: answers from a file, unset entries at their default,
# upstream's outcome and wording when it is unmet; `why` explains.
mkdir -p "$tmp/mf"
cat >"$tmp/mf/m.pxu" <<'PXU'
unit: manifest entry
id: has_usb
_name: USB
value-type: bool

unit: manifest entry
id: gpus
_name: GPUs
value-type: natural

id: com.canonical.plainbox::manifest
plugin: resource
command: false

id: usb
plugin: shell
command: true
imports: from com.canonical.plainbox import manifest
requires: manifest.has_usb == 'True'

id: gpu
plugin: shell
command: true
imports: from com.canonical.plainbox import manifest
requires: manifest.gpus == '2'

unit: test plan
id: tp
_name: TP
include:
 usb
 gpu
PXU
printf '{\n  "ns::gpus": 2,\n  "ns::has_usb": false\n}\n' >"$tmp/mf/manifest.json"
cat >"$tmp/want5" <<'OUT'
run list: 3 jobs
    1  com.canonical.plainbox::manifest
    2  ns::usb  [resource expression "manifest.has_usb == 'True'" evaluates to false]
    3  ns::gpu
problems: 0
OUT
check "plan_manifest_file" 0 "$tmp/want5" \
	"$proctor" plan -n ns -p tp --manifest "$tmp/mf/manifest.json" "$tmp/mf/m.pxu"
cat >"$tmp/want6" <<'OUT'
pass com.canonical.plainbox::manifest
skipped-manifest ns::usb: Job cannot be started because of unmet manifest:
- ns::has_usb
pass ns::gpu
3 jobs: 2 pass, 1 skipped-manifest
OUT
"$proctor" run -n ns -p tp -j1 --manifest "$tmp/mf/manifest.json" \
	"$tmp/mf/m.pxu" 2>"$tmp/err" | grep -v '^session ' |
	sed 's/, seed [0-9]*$//' >"$tmp/run.got"
check "run_manifest_unmet_outcome_and_wording" 0 "$tmp/want6" \
	cat "$tmp/run.got"
cat >"$tmp/want7" <<'OUT'
ns::usb: skipped-manifest: Job cannot be started because of unmet manifest:
- ns::has_usb
OUT
check "why_explains_the_manifest" 0 "$tmp/want7" "$proctor" why usb
cat >"$tmp/want8" <<'OUT'
skipped-manifest ns::gpu: Job cannot be started because of unmet manifest:
- ns::gpus
OUT
"$proctor" run -n ns -p tp -j1 "$tmp/mf/m.pxu" 2>"$tmp/err" |
	grep 'ns::gpu' >"$tmp/run.got"
check "run_without_manifest_entries_unset" 0 "$tmp/want8" cat "$tmp/run.got"
printf 'proctor run: %s: cannot read the manifest: No such file or directory\n' \
	"$tmp/mf/nope.json" >"$tmp/want9"
printf "Try 'proctor run --help' for more information.\n" >>"$tmp/want9"
check "run_missing_manifest_file" 0 "$tmp/want9" sh -c \
	'"$1" run -n ns -p tp --manifest "$2" "$3" 2>&1 >/dev/null; [ $? = 2 ]' \
	sh "$proctor" "$tmp/mf/nope.json" "$tmp/mf/m.pxu"

# --bootstrap runs the resource job for real (list-bootstrapped);
# __index__ counts the records that pass the filter, as upstream.
cat >"$tmp/boot.pxu" <<'PXU'
id: devices
plugin: resource
command: printf 'category: AUDIO\nname: hda\n\ncategory: NET\nname: eth\n\ncategory: AUDIO\nname: usb\n'

unit: template
template-resource: devices
template-filter: devices.category == 'AUDIO'
id: audio/{name}-{__index__}
plugin: shell
command: true

unit: test plan
id: tp
name: TP
bootstrap_include: devices
include: audio/.*
PXU
cat >"$tmp/want10" <<'OUT'
run list: 2 jobs
    1  ns::audio/hda-1
    2  ns::audio/usb-2
problems: 0
OUT
check "plan_bootstrap_runs_resource_jobs" 0 "$tmp/want10" \
	"$proctor" plan -n ns -p tp --bootstrap "$tmp/boot.pxu"
cat >"$tmp/want11" <<'OUT'
run list: 1 jobs
    1  ns::audio/NAME-1
problems: 0
OUT
check "plan_fake_resources_index" 0 "$tmp/want11" \
	"$proctor" plan -n ns -p tp --fake-resources "$tmp/boot.pxu"
printf '' >"$tmp/want12"
check "plan_bootstrap_needs_plan" 2 "$tmp/want12" \
	"$proctor" plan -n ns --bootstrap "$tmp/boot.pxu"

# --bootstrap gives the resource jobs the provider environment of a run:
# the provider's bin/ on PATH (a missing script used to exit 127 and the
# plan lost the generated jobs) and its variables.
mkdir -p "$tmp/bprov/units" "$tmp/bprov/bin"
cat >"$tmp/bprov/manage.py" <<'PY'
from plainbox.provider_manager import setup
setup(name="bprov", namespace="com.example.bprov", version="1.0")
PY
cat >"$tmp/bprov/bin/boot-res" <<'SH'
#!/bin/sh
[ -d "$PLAINBOX_SESSION_SHARE" ] || exit 3
printf 'name: a\n\nname: %s\n' "$(basename "$PLAINBOX_PROVIDER_UNITS")"
SH
chmod +x "$tmp/bprov/bin/boot-res"
cat >"$tmp/bprov/units/u.pxu" <<'PXU'
id: res
plugin: resource
command: boot-res

unit: template
template-resource: res
id: gen-{name}
plugin: shell
command: true

unit: test plan
id: tp
name: TP
bootstrap_include: res
include: gen-.*
PXU
cat >"$tmp/want13" <<'OUT'
run list: 2 jobs
    1  com.example.bprov::gen-a
    2  com.example.bprov::gen-units
problems: 0
OUT
check "plan_bootstrap_has_the_provider_environment" 0 "$tmp/want13" \
	"$proctor" plan -p tp --bootstrap "$tmp/bprov"

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
