# Shared by the shell tests of the session suite (sourced): check() runs a
# command and compares its stdout and exit status; skip() reports a
# skipped test point. They count in $n, $pass, $fail and use $tmp.

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
