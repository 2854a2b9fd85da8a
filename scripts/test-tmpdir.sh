#!/bin/sh
# Prints the directory `make check` gives the tests as $TMPDIR: /dev/shm
# when it is a writable RAM file system with at least 2 GiB free (test
# files then cost no disk I/O, and other processes' fsyncs do not stall
# the suite), else $TMPDIR or /tmp. $PT_CHECK_TMPDIR, when set, wins.
if [ -n "${PT_CHECK_TMPDIR:-}" ]; then
	echo "$PT_CHECK_TMPDIR"
	exit 0
fi
d=/dev/shm
if [ -d "$d" ] && [ -w "$d" ] && [ "$(stat -f -c %T "$d" 2>/dev/null)" = tmpfs ]; then
	free_kib=$(df -Pk "$d" 2>/dev/null | awk 'NR == 2 { print $4 }')
	if [ "${free_kib:-0}" -ge 2097152 ]; then
		echo "$d"
		exit 0
	fi
fi
echo "${TMPDIR:-/tmp}"
