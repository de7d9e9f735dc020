#!/bin/sh
# t/fuzz/run.sh - `make fuzz`: build each fuzz target of t/fuzz/fuzz.c with
# clang's libFuzzer and the address and undefined sanitizers, run it for
# FUZZ_S seconds (60 unless set) from its seeds in t/fuzz/TARGET/, and
# print its executions.  A crash is reported with its output, the input
# that caused it is kept as t/fuzz/crash-TARGET-*, and the run fails.
# The last line: "fuzz total N executions, M crashed".
set -u
S=${FUZZ_S:-60}
CC=${FUZZ_CC:-clang}
# The node's files but node.c (fuzz.c has its own main), from the
# Makefile's one list.
[ -n "${OBJ:-}" ] || { echo "fuzz: no OBJ: run me through make" >&2; exit 1; }
SRC=$(echo "$OBJ" | sed 's/ node\.o//; s/\.o/.c/g')
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT HUP INT PIPE TERM
total=0 crashed=0
for t in frame peer block headers lms files proofs; do
	T=$(echo "$t" | tr a-z A-Z)
	src=$SRC
	[ "$t" = proofs ] && src=${SRC% gossip.c}  # (fuzz.c includes it)
	$CC -std=c99 -pedantic -Wall -Wextra -Werror -O1 -g \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-DFUZZ_"$T" -o "$out/fuzz_$t" t/fuzz/fuzz.c $src ||
		{ echo "fuzz: cannot build the $t target"; exit 1; }
	mkdir "$out/$t"
	if "$out/fuzz_$t" -max_total_time="$S" -print_final_stats=1 \
		-artifact_prefix="t/fuzz/crash-$t-" "$out/$t" "t/fuzz/$t" \
		>"$out/log" 2>&1; then
		r=ok
	else
		r=CRASHED
		crashed=$((crashed + 1))
		tail -n 40 "$out/log"
	fi
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")
	echo "fuzz $t ${n:-0} executions, $r"
	total=$((total + ${n:-0}))
done
echo "fuzz total $total executions, $crashed crashed"
[ "$crashed" -eq 0 ]
