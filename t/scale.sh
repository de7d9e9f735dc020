#!/bin/sh
# t/scale.sh [N] - N regtest nodes (1,000 unless given, here or in $N) on
# one machine: `make bench ONLY=scale [N=...]`.  Node i listens alone on
# its own loopback address, 127.(100 + i % 150).(1 + i / 150).1 port 23500
# (150 network groups), and is seeded with a random earlier node; every
# node runs with the defaults (8 outbound peers, one per group).  Data
# directories are on tmpfs (/dev/shm) where the system has one.  It
# prints, one per line:
#   scale_nodes           N
#   scale_tmpfs           1 if the data was on tmpfs, else 0
#   scale_connect_s       seconds from the first node's start until every
#       node has 8 outbound peers with their handshakes done (polled:
#       the figure is when a poll found them all, so at most a poll late)
#   scale_block_ms_median, scale_block_ms_max  for 3 blocks, each mined at
#       a different node: from its miner's acceptance until the last of
#       the N took it (each node's `seen` clock: one machine)
#   scale_tx_ms_median, scale_tx_ms_max  the same for 10 payments, each
#       sent at a different node
#   scale_tx_copies       tx payloads a node received per payment (1 is
#       the least: each node takes each payment once)
#   scale_rss_kib         resident memory of a node, on average
# Every wait is bounded; every node is stopped, pass or fail.
set -u
N=${1:-${N:-1000}}
tmpfs=0
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	TMPDIR=/dev/shm
	export TMPDIR
	tmpfs=1
fi
. t/lib.sh
PORT=23500
ip() { echo "127.$((100 + $1 % 150)).$((1 + $1 / 150)).1"; }
pc() { k=$1; shift; "$bin" -d "$tmp/n$k" -n regtest "$@"; }
seq_() { k=$1; while [ "$k" -le "$2" ]; do echo "$k"; k=$((k + 1)); done; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
die() { echo "scale: $*" >&2; exit 1; }

# Start the nodes, each with a seed drawn from the ones before it.
awk -v n="$N" 'BEGIN { srand(7); for (i = 1; i < n; i++)
	print int(rand() * i) }' >"$tmp/seeds"
t0=$(date +%s)
i=0
while [ "$i" -lt "$N" ]; do
	seed=
	[ "$i" -gt 0 ] &&
		seed="-s $(ip "$(sed -n "${i}p" "$tmp/seeds")"):$PORT"
	# shellcheck disable=SC2086
	"$bin" -d "$tmp/n$i" -n regtest -l "$(ip "$i"):$PORT" -q -D $seed run \
		2>>"$tmp/n$i.log" &
	pids="$pids $!"
	i=$((i + 1))
done

# pending FILE CHECK: keep in FILE the nodes for which CHECK k fails.
pending() {
	: >"$1.new"
	while read -r k; do
		"$2" "$k" || echo "$k" >>"$1.new"
	done <"$1"
	mv "$1.new" "$1"
	[ ! -s "$1" ]
}
out8() { [ "$(pc "$1" peers 2>/dev/null | grep -c ' out ready ')" -ge 8 ]; }
seq_ 0 $((N - 1)) >"$tmp/wait"
limit=$((t0 + 600))
until pending "$tmp/wait" out8; do
	[ "$(date +%s)" -lt "$limit" ] ||
		die "$(wc -l <"$tmp/wait") nodes lack 8 outbound peers" \
			"after 600 s"
	sleep 1
done
connect=$(($(date +%s) - t0))

# every CHECK: wait until CHECK k holds for every node k (60 s at most).
every() {
	seq_ 0 $((N - 1)) >"$tmp/wait"
	k=0
	until pending "$tmp/wait" "$1"; do
		k=$((k + 1))
		[ $k -lt 120 ] || return 1
		sleep 0.5
	done
}
# spread HASH ORIGIN: once every node has it, ms from the origin's `seen`
# to the last node's.
has() { pc "$1" seen "$hash" >/dev/null 2>&1; }
spread() {
	hash=$1
	every has || { echo missing; return 1; }
	t=$(pc "$2" seen "$1")
	for k in $(seq_ 0 $((N - 1))); do pc "$k" seen "$1"; done |
		awk -v t="$t" '$1 > m { m = $1 } END { print m - t }'
}
height() { pc "$1" status 2>/dev/null | sed -n 's/^height //p'; }
at() { [ "$(height "$1")" = "$want" ]; }
all_at() { want=$1; every at; }
# stat NAME: the sum over all nodes of a `stats` line's first number.
stat() {
	for k in $(seq_ 0 $((N - 1))); do
		pc "$k" stats | sed -n "s/^$1 \([0-9]*\).*/\1/p"
	done | awk '{ s += $1 } END { print s + 0 }'
}

# Blocks: ten payers each mine one (the first three are measured), then
# ten more at node 0 for maturity.
step=$((N / 10))
: >"$tmp/block.ms"
for j in $(seq_ 0 9); do
	k=$((j * step + 1))
	hash=$(pc "$k" mine 1 | cut -d' ' -f2) || die "node $k cannot mine"
	if [ "$j" -lt 3 ]; then
		spread "$hash" "$k" >>"$tmp/block.ms"
	else
		all_at $((j + 1)) ||
			die "block $((j + 1)) did not reach every node"
	fi
done
pc 0 mine 10 >/dev/null
all_at 20 || die "the maturity blocks did not reach every node"

# Payments: one from each payer to the next node.
tx0=$(stat "tx in")
: >"$tmp/tx.ms"
for j in $(seq_ 0 9); do
	k=$((j * step + 1))
	tx=$(pc "$k" send 1 "$(pc $((k + 1)) address)" 0.001) ||
		die "node $k cannot pay"
	spread "$tx" "$k" >>"$tmp/tx.ms"
done
tx1=$(stat "tx in")

echo "scale_nodes $N"
echo "scale_tmpfs $tmpfs"
echo "scale_connect_s $connect"
echo "scale_block_ms_median $(grep -v missing "$tmp/block.ms" | median)"
echo "scale_block_ms_max $(sort -n "$tmp/block.ms" | tail -n 1)"
echo "scale_tx_ms_median $(grep -v missing "$tmp/tx.ms" | median)"
echo "scale_tx_ms_max $(sort -n "$tmp/tx.ms" | tail -n 1)"
echo "scale_tx_copies $(awk -v a="$tx1" -v b="$tx0" -v n="$N" \
	'BEGIN { printf "%.3f", (a - b) / ((n - 1) * 10) }')"
echo "scale_rss_kib $(rss_kib $pids)"
