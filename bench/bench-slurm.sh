#!/bin/sh
# bench-slurm [N] [-jJ]: N short jobs (default 500) through Slurm, side by
# side: a plain `sbatch --wrap true` loop (the peer: submit all, wait
# until squeue lists none of them) and `proctor run --executor slurm -jJ`
# (default -j64) on N independent jobs `true`, durable results, io logs,
# wrapper on the node. Prints metric lines; needs the cluster of
# scripts/slurm-cluster.sh (skips, saying so, without one).
set -u
here=$(cd "$(dirname "$0")" && pwd)
proctor=${PROCTOR:-$here/../src/tool/proctor}
n=${1:-500}
j=${2:--j64}
if [ -z "${SLURM_CONF:-}" ] && [ -f /var/tmp/proctor-slurm/slurm.conf ]; then
	SLURM_CONF=/var/tmp/proctor-slurm/slurm.conf
	export SLURM_CONF
fi
if ! timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; then
	echo "bench-slurm: skipped: no Slurm cluster (sh scripts/slurm-cluster.sh start)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

# the peer: a plain sbatch loop, then wait for the queue to empty
name=bench-peer-$$
t0=$(now)
i=0
while [ "$i" -lt "$n" ]; do
	sbatch --parsable --quiet -J "$name" -o /dev/null --wrap true >/dev/null || exit 1
	i=$((i + 1))
done
t1=$(now)
while [ -n "$(squeue -h -n "$name" -o %i)" ]; do sleep 0.1; done
t2=$(now)

# proctor: the same jobs as a session
mkdir -p "$tmp/p/units"
i=0
while [ "$i" -lt "$n" ]; do
	printf 'id: j%d\nplugin: shell\ncommand: true\n\n' "$i"
	i=$((i + 1))
done >"$tmp/p/units/jobs.pxu"
export PROCTOR_SESSION_REPOSITORY="$tmp/repo"
t3=$(now)
# shellcheck disable=SC2086
/usr/bin/time -f '%U %S' -o "$tmp/cpu" "$proctor" run "$tmp/p" $j --executor slurm \
	--non-interactive >"$tmp/out" 2>&1
st=$?
t4=$(now)
if [ "$st" != 0 ]; then
	echo "bench-slurm: proctor run failed ($st):"
	tail -5 "$tmp/out"
	exit 1
fi
awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" \
	-v cpu="$(cat "$tmp/cpu")" 'BEGIN {
	split(cpu, u, " ");
	peer = c - a; pr = e - d;
	printf "metric slurm_jobs %d jobs\n", n;
	printf "metric slurm_peer_submit_ms_per_job %.2f ms\n", (b - a) * 1000 / n;
	printf "metric slurm_peer_wall_s %.2f s\n", peer;
	printf "metric slurm_proctor_wall_s %.2f s\n", pr;
	printf "metric slurm_peer_jobs_per_s %.1f jobs/s\n", n / peer;
	printf "metric slurm_proctor_jobs_per_s %.1f jobs/s\n", n / pr;
	printf "metric slurm_overhead_ms_per_job %.2f ms\n", (pr - peer) * 1000 / n;
	printf "metric slurm_proctor_cpu_ms_per_job %.2f ms\n", (u[1] + u[2]) * 1000 / n;
	printf "metric ratio_slurm_proctor_to_peer %.2f x\n", pr / peer;
}'
