#!/bin/sh
# t/bench_gossip.sh - the network half of `make bench ONLY=gossip`: a
# 32-node regtest network on loopback (node i alone on 127.(100+i).0.1,
# seeded with node i-1, 8 outbound each, no batching delay: -T 0; no
# Dandelion++, -D: this is gossip's own speed).  It
# prints, one per line:
#   tx_prop_ms_median, tx_prop_ms_max  from a payment's acceptance at the
#       node it was sent to until the last node took it, over 50 payments
#       sent at different nodes (each node's `seen` clock: one machine)
#   tx_copies_per_node    tx payloads each node received per payment
#   inv_per_node_per_tx   tx announcements each node received per payment
#   block_prop_ms         from a block's acceptance by its miner until the
#       last node took it (the median of 5 blocks)
#   node_rss_kib          resident memory of a node, on average
# Ports 23100-23131.  Every wait is bounded; every node is stopped.
set -u
. t/lib.sh
N=32
ip() { echo "127.$((100 + $1)).0.1"; }
pc() { k=$1; shift; "$bin" -d "$tmp/n$k" -n regtest "$@"; }
seq_() { k=$1; while [ "$k" -le "$2" ]; do echo "$k"; k=$((k + 1)); done; }
outs8() { for k in $(seq_ 0 $((N - 1))); do
	[ "$(pc "$k" peers 2>/dev/null | grep -c ' out ready ')" -ge 8 ] ||
		return 1; done; }
height() { pc "$1" status 2>/dev/null | sed -n 's/^height //p'; }
all_at() { for k in $(seq_ 0 $((N - 1))); do [ "$(height "$k")" = "$1" ] ||
	return 1; done; }
# spread HASH ORIGIN: ms from the origin's `seen` to the last node's.
spread() {
	t0=$(pc "$2" seen "$1") || return 1
	last=$t0
	for k in $(seq_ 0 $((N - 1))); do
		t=$(pc "$k" seen "$1" 2>/dev/null) ||
			{ echo "missing"; return 1; }
		[ "$t" -gt "$last" ] && last=$t
	done
	echo $((last - t0))
}
# stat NAME: the sum over all nodes of a `stats` line's first number.
stat() {
	s=0
	for k in $(seq_ 0 $((N - 1))); do
		v=$(pc "$k" stats | sed -n "s/^$1 \([0-9]*\).*/\1/p")
		s=$((s + ${v:-0}))
	done
	echo $s
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for i in $(seq_ 0 $((N - 1))); do
	seed=
	[ "$i" -gt 0 ] && seed="-s $(ip $((i - 1))):$((23100 + i - 1))"
	"$bin" -d "$tmp/n$i" -n regtest -l "$(ip "$i"):$((23100 + i))" \
		-T 0 -D -q \
		$seed run 2>>"$tmp/n$i.log" &
	pids="$pids $!"
done
for i in $(seq_ 0 $((N - 1))); do
	upto 20 pc "$i" status ||
		{ echo "bench_gossip: node $i did not start" >&2; exit 1; }
done
upto 90 outs8 || echo "bench_gossip: not every node has 8 outbound peers" >&2
# funds: a coinbase for every node, then maturity
for i in $(seq_ 0 $((N - 1))); do
	pc "$i" mine 1 >/dev/null
	upto 10 all_at $((i + 1))
done
pc 0 mine 10 >/dev/null
upto 30 all_at $((N + 10)) ||
	{ echo "bench_gossip: blocks did not spread:" \
		$(for k in $(seq_ 0 $((N - 1))); do height $k; done) >&2
		exit 1; }
tx0=$(stat "tx in") inv0=$(stat "gossip tx-announced in")

# 50 payments: 32 in a first round (one per node), mined, then 18 more
: >"$tmp/tx.ms"
sent=0
for round in 1 2; do
	for i in $(seq_ 0 $((N - 1))); do
		[ $sent -lt 50 ] || break
		tx=$(pc "$i" send 1 "$(pc $(((i + 1) % N)) address)" 0.001) ||
			continue
		sent=$((sent + 1))
		upto 5 spread "$tx" "$i"
		spread "$tx" "$i" >>"$tmp/tx.ms"
	done
	pc 0 mine 1 >/dev/null
	h=$(height 0)
	upto 30 all_at "$h" || echo "bench_gossip: a block did not spread" >&2
done
echo "tx_prop_ms_median $(grep -v missing "$tmp/tx.ms" | median)"
echo "tx_prop_ms_max $(grep -v missing "$tmp/tx.ms" | sort -n | tail -1)"
echo "tx_copies_per_node $(awk -v a="$(stat "tx in")" -v b="$tx0" -v n=$N \
	-v s="$sent" 'BEGIN { printf "%.3f", (a - b) / ((n - 1) * s) }')"
echo "inv_per_node_per_tx $(awk -v a="$(stat "gossip tx-announced in")" \
	-v b="$inv0" -v n=$N -v s="$sent" \
		'BEGIN { printf "%.2f", (a - b) / (n * s) }')"

# blocks: 5, each mined at a different node
: >"$tmp/block.ms"
for i in 3 9 15 21 27; do
	hash=$(pc "$i" mine 1 | cut -d' ' -f2)
	upto 5 spread "$hash" "$i"
	spread "$hash" "$i" >>"$tmp/block.ms"
done
echo "block_prop_ms $(median <"$tmp/block.ms")"
echo "node_rss_kib $(rss_kib $pids)"
for i in $(seq_ 0 $((N - 1))); do pc "$i" stop >/dev/null 2>&1; done
reap $pids
pids=
