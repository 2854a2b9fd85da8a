#!/bin/sh
# Tests of tests/check-refs.sh on small trees made in a temporary directory:
# exact output and exit status for a clean tree, a tree with references
# outside the repository, and the pending mode of tests/refs-sweep.pending.
# Usage: check-refs-test.sh SRCDIR
src=${1:-.}
check="$src/tests/check-refs.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
LC_ALL=C
export LC_ALL
pass=0
fail=0

# expect NAME STATUS EXPECTED-OUTPUT: runs the check on $tmp/t.
expect() {
	out=$(PT_TALLY= sh "$check" "$tmp/t" 2>&1)
	st=$?
	if [ "$st" = "$2" ] && [ "$out" = "$3" ]; then
		echo "ok - $1"
		pass=$((pass + 1))
	else
		echo "not ok - $1"
		echo "# status $st, expected $2; output:"
		printf '%s\n' "$out" | sed 's/^/#   /'
		echo "# expected:"
		printf '%s\n' "$3" | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
}

mk() {
	mkdir -p "$tmp/t/$(dirname "$1")" && printf '%s\n' "$2" >"$tmp/t/$1"
}

echo "1..5"

# A clean tree: citations of docs/, the allowed corpus path, and seed data
# under fuzz/corpus (not checked) that looks like a reference.
mk src/unit/a.c '/* unit/a.c - templates (docs/plainbox.md §2.5) */'
mk meson_options.txt "option('corpus', description : 'default: ../shared/corpus/checkbox')"
mk fuzz/corpus/fuzz-x/seed 'spec §2.5 ../shared/DESIGN.md'
mk docs/x.md 'The behaviour of docs/peers.md §4.3; FIPS 180-4 §6.2.'
mk docs/plainbox.md '### §2.5 Templates'
mk docs/peers.md '### §4.3 Test surface'
expect "a clean tree passes" 0 "refs ok"

# References outside the repository, one per pattern; a "*" in a line must
# not be expanded as a file name.
mk src/unit/b.c ' * b.c - the grammar of spec/plainbox.md §2.1
 * Templates (spec §2.5): *'
mk docs/y.md 'See ../shared/DESIGN.md.
Follows Lockstep (spec `elixir-libraries.md` §4) and peers-and-limits.md §2.
Style: c-style-anchors.md Part 3; Spec §5.3; the corpus ../shared/corpus/checkbox.'
expect "references are reported with file and line" 1 \
"docs/y.md:1:See ../shared/DESIGN.md.
docs/y.md:2:Follows Lockstep (spec \`elixir-libraries.md\` §4) and peers-and-limits.md §2.
docs/y.md:3:Style: c-style-anchors.md Part 3; Spec §5.3; the corpus ../shared/corpus/checkbox.
src/unit/b.c:1: * b.c - the grammar of spec/plainbox.md §2.1
src/unit/b.c:2: * Templates (spec §2.5): *
refs: 5 references to documents outside the repository; state the behaviour in docs/ and cite it (docs/plainbox.md §2.5)"

# Pending mode: only the listed files are enforced.
mk tests/refs-sweep.pending '# comment
src/unit/b.c'
expect "pending: a listed file is enforced" 1 \
"src/unit/b.c:1: * b.c - the grammar of spec/plainbox.md §2.1
src/unit/b.c:2: * Templates (spec §2.5): *
refs: 2 references to documents outside the repository; state the behaviour in docs/ and cite it (docs/plainbox.md §2.5)"

mk tests/refs-sweep.pending '# nothing enforced yet'
expect "pending: other files are counted, not failed" 0 \
"refs ok in the files of tests/refs-sweep.pending; 5 references elsewhere wait for the sweep"

# Citations must name sections that exist.
rm -rf "$tmp/t"
mk docs/plainbox.md '# Title
## §2 Units
### §2.5 Templates'
mk docs/peers.md '## §P2 Deterministic testing'
mk src/unit/c.c '/* templates (docs/plainbox.md §2.5), units (docs/plainbox.md §2.), peers §P2 */
/* docs/plainbox.md §2.6 and `docs/peers.md` §4.3 */'
expect "citations of missing sections are reported" 1 \
"src/unit/c.c:2:docs/plainbox.md §2.6: no such section in docs/plainbox.md
src/unit/c.c:2:\`docs/peers.md\` §4.3: no such section in docs/peers.md
refs: 2 citations of sections that do not exist"

if [ -n "${PT_TALLY:-}" ]; then
	echo "$pass $fail" >>"$PT_TALLY"
fi
[ "$fail" -eq 0 ]
