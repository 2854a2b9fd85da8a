#!/bin/sh
# Fails when a source, test, build or doc file refers to a document outside
# the repository: a path into a sibling checkout, a spec file, the old
# design document, or a bare "spec" section number. The behaviour proctor
# follows is stated in docs/ (docs/plainbox.md, docs/peers.md,
# docs/architecture.md) and cited as "docs/plainbox.md §2.5".
#
# Allowed: the default location of the test corpus, which is data, not a
# document (docs/architecture.md, "Tests, data, and references").
#
# While tests/refs-sweep.pending exists (until the one-off rewrite of the
# old references has run), only the files it lists are enforced; the other
# references are counted and reported, and the check passes.
#
# Usage: check-refs.sh [TOP]   (exit 0: clean, 1: references found)
top=${1:-.}
cd "$top" || exit 2
LC_ALL=C
export LC_ALL

pat='\.\./shared|spec/[a-z-]+\.md|[Ss]pec §|DESIGN\.md|elixir-libraries|peers-and-limits|c-style-anchors'
allowed='\.\./shared/corpus/checkbox'
pending=tests/refs-sweep.pending

files() {
	for f in README.md HACKING.md Makefile meson.build meson_options.txt; do
		[ -f "$f" ] && echo "$f"
	done
	for d in src include tests docs bench scripts fuzz examples .ci; do
		[ -d "$d" ] || continue
		find "$d" -path fuzz/corpus -prune -o -type f -print
	done | grep -v -x -e tests/check-refs.sh -e tests/check-refs-test.sh |
		sort
}

# FILE:LINE:TEXT of every reference (a line whose only match is the
# allowed text is not one).
export pat allowed
hits=$(files | tr '\n' '\0' | xargs -0 grep -nIE "$pat" /dev/null |
	awk '{ t = $0; sub(/^[^:]*:[0-9]+:/, "", t);
	       gsub(ENVIRON["allowed"], "", t); if (t ~ ENVIRON["pat"]) print }')

enforced() {
	if [ -f "$pending" ]; then
		grep -v -e '^#' -e '^$' "$pending" | grep -q -x -F "$1"
	else
		return 0
	fi
}

bad=0
waiting=0
nl='
'
oldifs=$IFS
IFS=$nl
set -f
for h in $hits; do
	f=${h%%:*}
	if enforced "$f"; then
		echo "$h"
		bad=$((bad + 1))
	else
		waiting=$((waiting + 1))
	fi
done
set +f
IFS=$oldifs

# Every citation "docs/plainbox.md §N" or "docs/peers.md §N" names a
# section that exists (a heading "## §N ..." or "### §N ..." of that note).
cites=$(files | tr '\n' '\0' |
	xargs -0 grep -noIE '`?docs/(plainbox|peers)\.md`? §P?[0-9]+(\.[0-9]+)*' \
	/dev/null)
missing=0
IFS=$nl
set -f
for c in $cites; do
	doc=$(printf '%s\n' "$c" |
		sed 's/^[^:]*:[0-9]*:`\{0,1\}\(docs\/[a-z]*\.md\).*/\1/')
	sec=$(printf '%s\n' "$c" | sed 's/.*§//')
	if ! grep -qE "^#+ §$sec( |\$)" "$doc" 2>/dev/null; then
		echo "$c: no such section in $doc"
		missing=$((missing + 1))
	fi
done
set +f
IFS=$oldifs
if [ $bad -gt 0 ]; then
	echo "refs: $bad references to documents outside the repository;" \
	     "state the behaviour in docs/ and cite it (docs/plainbox.md §2.5)"
fi
if [ $missing -gt 0 ]; then
	echo "refs: $missing citations of sections that do not exist"
fi
if [ $bad -gt 0 ] || [ $missing -gt 0 ]; then
	status=1
elif [ -f "$pending" ]; then
	echo "refs ok in the files of $pending; $waiting references" \
	     "elsewhere wait for the sweep"
	status=0
else
	echo "refs ok"
	status=0
fi
if [ -n "${PT_TALLY:-}" ]; then
	if [ $status -eq 0 ]; then echo "1 0"; else echo "0 1"; fi >>"$PT_TALLY"
fi
exit $status
