#!/bin/sh
# t/run.sh - runs peerchain's tests and counts them.
#
# usage: t/run.sh PROGRAM... SCRIPT.sh...
# A C test program lists its cases with -l and runs one per process, so a
# failed assert() stops only its own case.  A shell script is one case: it
# passes when it exits 0.  RUN, if set, prefixes every C test program (the
# big-endian CI run sets RUN=qemu-s390x).  The last line is always
# "N passed, M failed"; the exit status is non-zero when M > 0.
set -u
RUN=${RUN:-}
pass=0
fail=0
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM

# Record one case's result from its exit status; show its output on failure.
result() {
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok   $2"
	else
		fail=$((fail + 1))
		echo "FAIL $2 (exit $1)"
		sed 's/^/     /' "$out"
	fi
}

for t in "$@"; do
	case $t in
	*.sh)
		sh "$t" >"$out" 2>&1
		result $? "$t"
		;;
	*)
		if ! cases=$($RUN "$t" -l 2>"$out"); then
			result 1 "$t -l"
			continue
		fi
		for c in $cases; do
			$RUN "$t" "$c" >"$out" 2>&1
			result $? "$t $c"
		done
		;;
	esac
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
