#!/bin/sh
# proctor run/resume --executor slurm against the one-node cluster
# (scripts/slurm-cluster.sh): the same results as the local executor, a
# kill -9 of proctor while a job is in Slurm then resume (no job runs
# twice: the jobs' own marks and Slurm's records), a partition that does
# not exist. Usage: cli-slurm.sh PROCTOR [--shard=I/N]. Output: TAP;
# appends "PASSED FAILED" to $PT_TALLY like the C tests. Every test skips,
# saying why, when no cluster answers. The tests come in 5 groups (a group's
# tests share a session); --shard=I/N (or $PT_TEST_SHARD) runs the groups
# whose index is I modulo N, as the C harness does with its tests.
proctor=$1
shard=${PT_TEST_SHARD:-0/1}
case "${2:-}" in --shard=*) shard=${2#--shard=} ;; esac
si=${shard%/*} sn=${shard#*/}
case "$si/$sn" in
*[!0-9/]* | /* | */) echo "cli-slurm.sh: bad shard '$shard'" >&2; exit 2 ;;
esac
[ "$si" -lt "$sn" ] || { echo "cli-slurm.sh: bad shard '$shard'" >&2; exit 2; }
# group index -> its tests; mine GROUP: is the group in this shard
groups="same-as-local|kill9-resume slurm-records|bad-partition nothing-lost|ctrl-c|chaos-call-faults chaos-process-faults"
mine() { [ $(($1 % sn)) = "$si" ]; }
data=$(dirname "$0")/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${SLURM_CONF:-}" ] && [ -f /var/tmp/proctor-slurm/slurm.conf ]; then
	SLURM_CONF=/var/tmp/proctor-slurm/slurm.conf
	export SLURM_CONF
fi
n=0 fail=0
# the tests of this shard
tests=$(echo "$groups" | tr '|' '\n' | awk -v i="$si" -v n="$sn" '(NR - 1) % n == i')
echo "TAP version 13"
echo "1..$(echo $tests | wc -w)"
if [ "$si/$sn" != 0/1 ]; then echo "# shard $si/$sn"; fi
tally() { [ -n "${PT_TALLY:-}" ] && echo "$n $fail" | awk '{ print $1 - $2, $2 }' >>"$PT_TALLY"; }
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); fail=$((fail + 1))
	echo "not ok $n - $1"
	[ -f "$tmp/out" ] && sed 's/^/# /' "$tmp/out"
	[ -f "$tmp/steps" ] && sed 's/^/# /' "$tmp/steps"
}
# Bounded waits (a lost wakeup fails the test, saying where, instead of
# hanging the suite): a line from FIFO $1, a line into FIFO $1.
fifo_get() { timeout 60 head -n 1 "$1" >/dev/null || echo "no line from $1 in 60 s" >>"$tmp/steps"; }
fifo_put() { timeout 60 sh -c 'echo go >"$1"' _ "$1" || echo "nobody read $1 in 60 s" >>"$tmp/steps"; }
if ! timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; then
	for t in $tests; do
		n=$((n + 1))
		echo "ok $n - $t # SKIP no Slurm cluster answers scontrol ping (start one: sh scripts/slurm-cluster.sh start)"
	done
	tally
	exit 0
fi

# outcomes and return codes, one line per job, sorted
outcomes() {
	"$proctor" report --format json |
		perl -MJSON::PP -0 -ne 'my $d = decode_json($_);
			printf "%s %s %s\n", $_->{id}, $_->{outcome}, $_->{return_code}
				for sort { $a->{id} cmp $b->{id} } @{$d->{jobs}}'
}

# 1. the plan with dependencies: same results as the local executor
if mine 0; then
export PT_MARK="$tmp/m1"
export PROCTOR_SESSION_REPOSITORY="$tmp/repo-local"
"$proctor" run "$data" -p deps -j2 --non-interactive >"$tmp/out" 2>&1
st_local=$?
outcomes >"$tmp/local" 2>>"$tmp/out"
sort "$PT_MARK.ran" >"$tmp/ran-local"
rm -f "$PT_MARK.ran"
export PROCTOR_SESSION_REPOSITORY="$tmp/repo-slurm"
"$proctor" run "$data" -p deps -j2 --non-interactive --executor slurm >"$tmp/out" 2>&1
st_slurm=$?
outcomes >"$tmp/slurm" 2>>"$tmp/out"
sort "$PT_MARK.ran" >"$tmp/ran-slurm"
if [ "$st_local" = 1 ] && [ "$st_slurm" = 1 ] &&
	cmp -s "$tmp/local" "$tmp/slurm" && cmp -s "$tmp/ran-local" "$tmp/ran-slurm" &&
	grep -qx "slow timeout -15" "$tmp/slurm" && grep -qx "c fail 4" "$tmp/slurm" &&
	grep -qx "e crash -15" "$tmp/slurm" && grep -qx "d skipped-dependency 0" "$tmp/slurm"; then
	ok "same-as-local"
else
	{ echo "exit $st_local / $st_slurm"; diff "$tmp/local" "$tmp/slurm"; cat "$tmp/slurm"; } >>"$tmp/out"
	notok "same-as-local"
fi
fi

# 2. kill -9 of proctor while "hold" is in Slurm, then resume
if mine 1; then
export PT_MARK="$tmp/m2"
export PROCTOR_SESSION_REPOSITORY="$tmp/repo-crash"
mkfifo "$PT_MARK.started" "$PT_MARK.gate"
"$proctor" run "$data" -p crash -j2 --non-interactive --executor slurm >"$tmp/out" 2>&1 &
pid=$!
# "hold" runs once it writes this FIFO (no polling: the read blocks)
fifo_get "$PT_MARK.started"
kill -9 "$pid"
wait "$pid" 2>/dev/null
fifo_put "$PT_MARK.gate" # "hold" ends, with nobody watching
sid=$(basename "$(readlink "$PROCTOR_SESSION_REPOSITORY/last-session")")
timeout 120 "$proctor" resume --non-interactive >"$tmp/out" 2>&1
st=$?
sort "$PT_MARK.ran" >"$tmp/ran"
printf 'first\nhold\nlast\n' >"$tmp/want"
if [ "$st" = 0 ] && cmp -s "$tmp/ran" "$tmp/want" &&
	outcomes | grep -qx "hold pass 0"; then
	ok "kill9-resume"
else
	{ echo "resume exit $st; ran:"; cat "$tmp/ran"; } >>"$tmp/out"
	notok "kill9-resume"
fi

# 3. Slurm's own records: one Slurm job per proctor job of the session
squeue -h -t all -n "pt-$sid" -o '%k' | sed 's/-a1-.*//' | sort >"$tmp/sq"
printf 'first\nhold\nlast\n' >"$tmp/want"
if cmp -s "$tmp/sq" "$tmp/want"; then
	ok "slurm-records"
else
	{ echo "squeue of pt-$sid:"; cat "$tmp/sq"; } >"$tmp/out"
	notok "slurm-records"
fi
fi

# 4. a partition that does not exist: a clear outcome and message
if mine 2; then
export PT_MARK="$tmp/m4"
export PROCTOR_SESSION_REPOSITORY="$tmp/repo-bad"
"$proctor" run "$data" -p crash -j1 --non-interactive --executor slurm:no-such-part >"$tmp/out" 2>&1
st=$?
if [ "$st" = 1 ] && grep -q "^fail .*first: cannot start: Slurm refused the job: sbatch: error: invalid partition specified: no-such-part" "$tmp/out"; then
	ok "bad-partition"
else
	notok "bad-partition"
fi

# 5. nothing lost: every job of the plan has a result in the session
"$proctor" report --format json >"$tmp/r.json" 2>"$tmp/out"
if [ "$(perl -MJSON::PP -0 -ne 'print scalar @{decode_json($_)->{jobs}}' "$tmp/r.json")" = 3 ] &&
	[ ! -e "$PT_MARK.ran" ]; then
	ok "nothing-lost"
else
	cat "$tmp/r.json" >>"$tmp/out"
	notok "nothing-lost"
fi
fi

# 6. Ctrl-C: proctor scancels its jobs, exits 130, the session resumes
if mine 3; then
export PT_MARK="$tmp/m6"
export PROCTOR_SESSION_REPOSITORY="$tmp/repo-int"
mkfifo "$PT_MARK.started" "$PT_MARK.gate"
# SIGINT to proctor alone, not its group (its sbatch would get it too)
"$proctor" run "$data" -p crash -j2 --non-interactive --executor slurm >"$tmp/out" 2>&1 &
pid=$!
fifo_get "$PT_MARK.started"
kill -INT "$pid"
wait "$pid"
st=$?
echo "run: exit $st" >>"$tmp/steps"
sid=$(basename "$(readlink "$PROCTOR_SESSION_REPOSITORY/last-session")")
hold=$(squeue -h -t all -n "pt-$sid" -o '%i %k' | sed -n 's/ hold-.*//p')
# wait through Slurm for its end: a job that depends on it (afterany)
timeout 60 srun --quiet --time=1 --dependency="afterany:$hold" true ||
	echo "srun --dependency=afterany:$hold failed" >>"$tmp/steps"
state=$(squeue -h -t all -j "$hold" -o '%T')
echo "Slurm job $hold: $state" >>"$tmp/steps"
# the job runs again: it says so and waits for the gate
( fifo_get "$PT_MARK.started"; fifo_put "$PT_MARK.gate" ) &
gate=$!
timeout 120 "$proctor" resume --non-interactive >>"$tmp/out" 2>&1
st2=$?
echo "resume: exit $st2" >>"$tmp/steps"
wait "$gate"
if [ "$st" = 130 ] && [ "$state" = CANCELLED ] && [ "$st2" = 0 ] &&
	[ "$(grep -c '^hold$' "$PT_MARK.ran")" = 2 ] &&
	[ "$(grep -c '^first$' "$PT_MARK.ran")" = 1 ]; then
	ok "ctrl-c"
else
	echo "exit $st, Slurm job $hold $state, resume exit $st2" >>"$tmp/out"
	notok "ctrl-c"
fi
fi

if mine 4; then
# 7. --chaos call faults on the node: the preload environment travels in
# the job's spec, the runtime logs into the session's chaos.log (same
# file system); a job's "chaos: off" wins. Exact fault list.
export PROCTOR_SESSION_REPOSITORY="$tmp/repo-chaos"
echo hello >"$tmp/in"
cat >"$tmp/chaos.pxu" <<EOF
id: a
plugin: shell
command: cat '$tmp/in' >/dev/null

id: b
plugin: shell
chaos: off
command: cat '$tmp/in' >/dev/null
EOF
"$proctor" run "$tmp/chaos.pxu" -n t -j1 --seed=1 --non-interactive --executor slurm \
	--chaos "open:EACCES:1@$tmp/in,exe=cat" >"$tmp/out" 2>&1
st=$?
log="$PROCTOR_SESSION_REPOSITORY/last-session/chaos.log"
pid=$(cut -f3 "$log" 2>/dev/null | head -n1)
printf 't::a\t1\t%s\topen\t1\tEACCES\n' "$pid" >"$tmp/want-log"
# the last field is the time of the fault (checked: seconds.microseconds)
awk -F'\t' 'NF != 7 || $7 !~ /^[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ { bad = 1 }
	END { exit bad }' "$log" 2>/dev/null && cut -f1-6 "$log" >"$tmp/log6" || : >"$tmp/log6"
sed 1d "$tmp/out" >"$tmp/got"
printf '%s\n' "fail t::a: chaos: 1 fault: open EACCES at call 1 (pid $pid)" \
	"pass t::b" "2 jobs: 1 pass, 1 fail, seed 1" >"$tmp/want"
if [ "$st" = 1 ] && [ -n "$pid" ] && cmp -s "$tmp/log6" "$tmp/want-log" &&
	cmp -s "$tmp/got" "$tmp/want"; then
	ok "chaos-call-faults"
else
	{ echo "exit $st; chaos.log:"; cat "$log"; } >>"$tmp/out"
	notok "chaos-call-faults"
fi

# 8. process faults under Slurm: the wrapper does them at the times and
# with the pick of the local runner (seed 7: kill-one kills alpha, as in
# tests/cli); a job's own plan pauses then kills its group. Exact lines.
mkdir "$tmp/k"
ln -s "$(command -v cat)" "$tmp/k/alpha"
ln -s "$(command -v cat)" "$tmp/k/beta"
mkfifo "$tmp/k/a" "$tmp/k/b"
cat >"$tmp/proc.pxu" <<EOF
id: pair
plugin: shell
command:
 cd '$tmp/k'
 ./alpha < a > /dev/null & a=\$!
 ./beta < b > /dev/null & b=\$!
 exec 3> a 4> b
 wait -n -p who \$a \$b; st=\$?
 exec 3>&- 4>&-
 if [ \$who = \$a ]; then o=\$b n=alpha m=beta;
 else o=\$a n=beta m=alpha; fi
 wait \$o; echo "\$n \$st, then \$m \$?" > report

id: long
plugin: shell
chaos: pause@0.05:0.05,kill@0.3
command: exec sleep 60
EOF
"$proctor" run "$tmp/proc.pxu" -n t -j1 --seed=7 --non-interactive --executor slurm \
	--chaos "kill-one@0.4" >"$tmp/out" 2>&1
st=$?
mask() {
	sed -e 's/[0-9][0-9]*\.[0-9][0-9]* s/T s/g' -e 's/pid [0-9][0-9]* (/pid P (/' \
		-e 's/Slurm job [0-9]* on [^)]*/Slurm job J on H/' "$@"
}
mask "$tmp/out" | sed 1d >"$tmp/got"
printf '%s\n' "pass t::pair: chaos: SIGKILL to pid P (alpha) of its group at T s" \
	"crash t::long: killed by signal 9 (Killed) (Slurm job J on H); chaos: paused (SIGSTOP) at T s for T s; chaos: SIGKILL to its process group at T s" \
	"2 jobs: 1 pass, 1 crash, seed 7" >"$tmp/want"
log="$PROCTOR_SESSION_REPOSITORY/last-session/chaos.log"
awk -F '\t' '{ printf "%s %s %s %s\n", $1, $2, $4, $6 }' "$log" 2>/dev/null | sort >"$tmp/got-log"
printf '%s\n' "t::long 1 kill SIGKILL to the group" "t::long 1 pause SIGSTOP to the group" \
	"t::pair 1 kill-one SIGKILL to alpha" >"$tmp/want-log"
if [ "$st" = 1 ] && cmp -s "$tmp/got" "$tmp/want" && cmp -s "$tmp/got-log" "$tmp/want-log" &&
	[ "$(cat "$tmp/k/report" 2>/dev/null)" = "alpha 137, then beta 0" ]; then
	ok "chaos-process-faults"
else
	{ echo "exit $st; chaos.log:"; cat "$log"; } >>"$tmp/out"
	notok "chaos-process-faults"
fi
fi
tally
[ "$fail" = 0 ]
