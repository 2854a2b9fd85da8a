#!/bin/sh
# Fails when a module under src/ includes the header of a module above it
# (DESIGN.md "Layers"): base <- os <- {unit, store, cassette, lockstep,
# mux} <- session <- runner <- slurm <- run <- tool. Public headers (<proctor/...>) are
# open to everyone; the tool may include nothing from src/ at all.
top=${1:-.}
status=0
allowed() {
	case $1 in
	base) echo "base" ;;
	os) echo "base os" ;;
	unit|store|cassette|lockstep|mux) echo "base os $1" ;;
	session) echo "base os unit store session" ;;
	runner) echo "base os unit store session mux cassette runner" ;;
	slurm) echo "base os unit store session runner slurm" ;;
	run) echo "base os unit store session runner run" ;;
	tool) echo "" ;;
	esac
}
for dir in "$top"/src/*/; do
	m=$(basename "$dir")
	ok=$(allowed "$m")
	for f in "$dir"*.[ch]; do
		[ -e "$f" ] || continue
		grep -n '^#[[:space:]]*include[[:space:]]*"[a-z]*/' "$f" |
		while IFS= read -r line; do
			dep=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([a-z]*\)\/.*/\1/')
			case " $ok " in
			*" $dep "*) ;;
			*) echo "$f: includes $dep/, not allowed for $m: $line"; exit 1 ;;
			esac
		done || status=1
	done
done
[ $status -eq 0 ] && echo "layers ok"
if [ -n "${PT_TALLY:-}" ]; then
	if [ $status -eq 0 ]; then echo "1 0"; else echo "0 1"; fi >>"$PT_TALLY"
fi
exit $status
