#!/bin/sh
# t/bench_privacy.sh - `make bench ONLY=privacy`: how well a spy names the
# sender of a payment, and what hiding it costs.  A 20-node regtest
# network on loopback (node i alone on 127.(160+i).0.1, seeded with node
# i-1, 8 outbound each), and a spy of the test tools' own (t/testpeer spy)
# holding 8 inbound connections to every node.  50 payments, one a second,
# each from a random node; the spy guesses that the node which announced a
# payment to it first sent it (the first-spy estimator).  Twice: with
# Dandelion++ off (-D; the shared Poisson timer on) and on.  It prints:
#   spy_precision_trickle, spy_precision_dandelion  the share of the 50
#       guesses that were right (chance: 0.05)
#   trickle_tx_all_ms, dandelion_tx_all_ms  the median time from a
#       payment's acceptance at its sender until the last node took it
#   blackhole_tx_all_ms  the same for 5 payments from a node whose only
#       stem relay is a sink that swallows stem transactions (its embargo
#       fluffs them: at most 30 s)
# Ports 29100-29121.  Every wait is bounded; every process is stopped.
set -u
. t/lib.sh
N=20 PAYS=${PAYS:-50}
peer=${TESTPEER:-./t/testpeer}
ip() { echo "127.$((160 + $1)).0.1"; }
pc() { k=$1; shift; "$bin" -d "$tmp/n$k" -n regtest "$@"; }
seq_() { k=$1; while [ "$k" -le "$2" ]; do echo "$k"; k=$((k + 1)); done; }
height() { pc "$1" status 2>/dev/null | sed -n 's/^height //p'; }
all_at() { for k in $(seq_ 0 $((N - 1))); do [ "$(height "$k")" = "$1" ] ||
	return 1; done; }
outs8() { for k in $(seq_ 0 $((N - 1))); do
	[ "$(pc "$k" peers 2>/dev/null | grep -c ' out ready ')" -ge 8 ] ||
		return 1; done; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# spread TXID ORIGIN: ms from the origin's `seen` to the last node's.
spread() {
	t0=$(pc "$2" seen "$1") || return 1
	last=$t0
	for k in $(seq_ 0 $((N - 1))); do
		t=$(pc "$k" seen "$1" 2>/dev/null) || return 1
		[ "$t" -gt "$last" ] && last=$t
	done
	echo $((last - t0))
}
# everywhere FILE: every node has seen every payment FILE names.
everywhere() {
	for k in $(seq_ 0 $((N - 1))); do
		while read -r t _; do
			pc "$k" seen "$t" >/dev/null 2>&1 || return 1
		done <"$1"
	done
}
# stop_all: stop every node and spy, and clear the directory.
stop_all() {
	for k in $(seq_ 0 $N); do pc "$k" stop >/dev/null 2>&1; done
	kill $spies 2>/dev/null
	reap $pids
	pids= spies=
	rm -rf "$tmp"/n*
}

# run NAME OPTION...: the network, the spy, the payments; prints
# spy_precision_NAME and NAME_tx_all_ms.
run() {
	name=$1
	shift
	for i in $(seq_ 0 $((N - 1))); do
		seed=
		[ "$i" -gt 0 ] && seed="-s $(ip $((i - 1))):$((29100 + i - 1))"
		"$bin" -d "$tmp/n$i" -n regtest -l "$(ip "$i"):$((29100 + i))" \
			-q "$@" $seed run 2>>"$tmp/n$i.log" &
		pids="$pids $!"
	done
	for i in $(seq_ 0 $((N - 1))); do upto 20 pc "$i" status ||
		{ echo "bench_privacy: node $i did not start" >&2; exit 1; }
	done
	upto 60 outs8 ||
		echo "bench_privacy: not every node has 8 outbound peers" >&2
	for i in $(seq_ 0 $((N - 1))); do
		pc "$i" mine 3 >/dev/null
		upto 10 all_at $((3 * i + 3))
	done
	pc 0 mine 10 >/dev/null
	upto 30 all_at $((3 * N + 10)) ||
		{ echo "bench_privacy: blocks did not spread" >&2; exit 1; }
	spies=
	for i in $(seq_ 0 $((N - 1))); do
		"$peer" "$(ip "$i")" $((29100 + i)) spy 8 $((PAYS + 60)) \
			>"$tmp/spy$i" &
		spies="$spies $!"
		pids="$pids $!"    # (an early exit stops them too)
	done
	sleep 3
	: >"$tmp/sent"
	for p in $(seq_ 1 "$PAYS"); do
		i=$(awk -v s="$p$$" -v n=$N \
			'BEGIN { srand(s); print int(rand() * n) }')
		tx=
		for k in $(seq_ 1 $N); do    # (a node whose coins are spent:
			to=$(pc $(((i + 1) % N)) address)   # the next)
			tx=$(pc "$i" send 1 "$to" 0.001 2>/dev/null) && break
			i=$(((i + 1) % N))
		done
		[ -n "$tx" ] && echo "$tx $i" >>"$tmp/sent"
		sleep 1
	done
	upto 40 everywhere "$tmp/sent"   # (an embargo is 30 s at most)
	for i in $(seq_ 0 $((N - 1))); do
		sed "s/\$/ $i/" "$tmp/spy$i"
	done | sort -n >"$tmp/heard"
	# the guess: the node whose spy heard the payment first
	awk 'NR == FNR { from[$1] = $2; next }
	     !($3 in guess) { guess[$3] = $4 }
	     END { for (t in from) { n++; right += guess[t] == from[t] }
	           printf "%.2f\n", n ? right / n : 0 }' \
		"$tmp/sent" "$tmp/heard" >"$tmp/precision"
	echo "spy_precision_$name $(cat "$tmp/precision")"
	while read -r tx i; do spread "$tx" "$i"; done <"$tmp/sent" |
		median >"$tmp/all"
	echo "${name}_tx_all_ms $(cat "$tmp/all")"
}

run trickle -D
stop_all
run dandelion

# the black hole: node N pays through its only outbound peer, a sink
"$peer" -b 127.181.0.9 127.181.0.9 29121 sink 29121 80 >/dev/null &
spies="$spies $!"
pids="$pids $!"
sleep 0.5
"$bin" -d "$tmp/n$N" -n regtest -l 127.180.0.1:29120 -q \
	-c 127.181.0.9:29121 run 2>>"$tmp/n$N.log" &
pids="$pids $!"
upto 20 pc $N status || { echo "bench_privacy: no node $N" >&2; exit 1; }
pc 0 connect 127.180.0.1:29120 >/dev/null
h=$(height 0)
pc 0 mine 5 "$(pc $N address)" >/dev/null
pc 0 mine 10 >/dev/null
upto 30 eval '[ "$(height $N)" = $((h + 15)) ]' ||
	{ echo "bench_privacy: node $N did not follow" >&2; exit 1; }
: >"$tmp/bh"
for p in 1 2 3 4 5; do
	pc $N send 1 "$(pc 0 address)" 0.001 >>"$tmp/bh"
done
N=$((N + 1))
upto 40 everywhere "$tmp/bh"
while read -r tx; do spread "$tx" $((N - 1)); done <"$tmp/bh" |
	median >"$tmp/all"
echo "blackhole_tx_all_ms $(cat "$tmp/all")"
stop_all
