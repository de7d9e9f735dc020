#!/bin/sh
# t/bench_idle.sh - the idle half of `make bench ONLY=net`: what a node
# that has nothing to do costs.  It prints, one per line:
#   idle16_wakeups_s  returns from poll() a second, over IDLE_SECONDS
#       (30), of a node with 8 outbound peers (regtest nodes of their own,
#       127.0.0.11 to .18) and 8 inbound ones (t/testpeer's, handshaked
#       and silent), counted by the node itself (`stats`: loop wakeups)
#   idle16_fsyncs_s   its fsync calls a second (`stats`: fsyncs)
#   idle16_cpu_ms_s   its CPU time a second, in ms (/proc/PID/schedstat)
#   idle0_wakeups_s   wake-ups a second of a node with no peers at all
#       (it listens, wants 8 outbound peers and knows no address)
# Every node runs with the default timers: pings go out every 120 s, so
# a window of 30 s holds at most one round of them.  Linux (/proc) for
# the CPU figure; ports 23060-23069.  Every wait is bounded; every node
# is stopped.
set -u
. t/lib.sh
S=${IDLE_SECONDS:-30}
pc() { k=$1; shift; "$bin" -d "$tmp/$k" -n regtest "$@"; }
# counters NAME PID: "wakeups fsyncs cpu_ns" of a running node.
counters() {
	pc "$1" stats | sed -n 's/^loop wakeups \([0-9]*\) fsyncs /\1 /p' |
		tr '\n' ' '
	cut -d' ' -f1 "/proc/$2/schedstat" 2>/dev/null || echo -1
}
# measure NAME PID PREFIX [all]: the figures of the node over S seconds.
measure() {
	a=$(counters "$1" "$2")
	sleep "$S"
	b=$(counters "$1" "$2")
	echo "$a $b" | awk -v s="$S" -v p="$3" -v all="${4:-}" '{
		printf "%s_wakeups_s %.2f\n", p, ($4 - $1) / s
		if (!all) exit
		printf "%s_fsyncs_s %.2f\n", p, ($5 - $2) / s
		if ($3 >= 0 && $6 >= 0)
			printf "%s_cpu_ms_s %.3f\n", p, ($6 - $3) / 1e6 / s }'
}
peers_ready() { [ "$(pc m peers | grep -c " $1 ready ")" -ge 8 ]; }

connect=
for i in 1 2 3 4 5 6 7 8; do
	"$bin" -d "$tmp/l$i" -n regtest -l "127.0.0.$((10 + i)):23060" -o 0 \
		-q run 2>>"$tmp/l$i.log" &
	pids="$pids $!"
	connect="$connect -c 127.0.0.$((10 + i)):23060"
done
for i in 1 2 3 4 5 6 7 8; do
	upto 20 pc "l$i" status ||
		{ echo "bench_idle: node l$i did not start" >&2; exit 1; }
done
# shellcheck disable=SC2086
"$bin" -d "$tmp/m" -n regtest -l 127.0.0.1:23061 $connect -q run \
	2>>"$tmp/m.log" &
m=$!
pids="$pids $m"
upto 20 pc m status || { echo "bench_idle: no node" >&2; exit 1; }
./t/testpeer 127.0.0.1 23061 conns 8 $((S + 60)) >/dev/null 2>&1 &
pids="$pids $!"
upto 20 peers_ready out && upto 20 peers_ready in ||
	{ echo "bench_idle: the node has not 8 peers each way" >&2; exit 1; }
sleep 6                     # (handshakes and first messages over)
measure m "$m" idle16 all

"$bin" -d "$tmp/z" -n regtest -l 127.0.0.1:23062 -q run 2>>"$tmp/z.log" &
z=$!
pids="$pids $z"
upto 20 pc z status || { echo "bench_idle: no lone node" >&2; exit 1; }
sleep 2
measure z "$z" idle0
