#!/bin/sh
# t/bench_attack.sh - `make bench ONLY=attack`: a victim node v (up to 250
# inbound peers) and an honest node h connected to it, on loopback, and
# t/testpeer's attacks.  It prints, one per line:
#   attack_honest_block_ms_quiet  a block's arrival at v from h (from h's
#       `seen` clock to v's: one machine), the median of 5, nobody else on
#   attack_honest_block_ms  the same during two getdata floods (each 50,000
#       entries naming v's 1 MB block, every 200 ms) and an inv flood
#       (50,000 random transactions a second); goal: at most 4 times the
#       quiet figure
#   attack_peak_kib  v's peak resident memory (VmHWM, where /proc has it)
#       after 100 peers ask for the 1 MB block and never read, and 100
#       more hold half of a 2 MiB frame; goal: at most 65536 (64 MiB)
#   orphan_chain_ok  1 when 2,000 payments in 80 lines of 25, pushed to v
#       at once, all reach h, connected to v twice (else 0)
#   attack_wallet_pay_ok  1 when v's wallet, dusted with 5,000 outputs of
#       0.001 coin and holding nothing else, pays 0.5 coin and h takes the
#       payment (else 0)
#   attack_proofs_honest_ping_ms  an honest peer's ping (the median of 20)
#       while 4 connections send getproofs as fast as v takes them,
#       against 192,000 unspent outputs; goal: at most 50
#   attack_proofs_block_ms  a block's arrival from h meanwhile (as above);
#       goal: at most 1,000
# Ports 23200-23201.  Every wait is bounded; every node is stopped.
set -u
. t/lib.sh
peer=./t/testpeer
V=127.140.0.1 H=127.141.0.1
pc() { k=$1; shift; "$bin" -d "$tmp/$k" -n regtest "$@"; }
height() { [ "$(pc "$1" status 2>/dev/null | sed -n 's/^height //p')" = "$2" ]
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# arrivals: five blocks mined at h, each one's ms from h to v.
arrivals() {
	for i in 1 2 3 4 5; do
		hash=$(pc h mine 1 | cut -d' ' -f2)
		upto 10 pc v seen "$hash" || { echo 99999; continue; }
		echo $(($(pc v seen "$hash") - $(pc h seen "$hash")))
	done | median
}

"$bin" -d "$tmp/h" -n regtest -l $H:23201 -o 0 -q run 2>>"$tmp/h.log" &
pids="$pids $!"
"$bin" -d "$tmp/v" -n regtest -l $V:23200 -o 0 -i 250 -q run 2>>"$tmp/v.log" &
vpid=$!
pids="$pids $vpid"
upto 10 pc h status && upto 10 pc v status ||
	{ echo "bench_attack: the nodes did not start" >&2; exit 1; }
pc v connect $H:23201 >/dev/null
pc h mine 1 >/dev/null
upto 10 height v 1 || { echo "bench_attack: v does not follow h" >&2; exit 1; }
big=$("$peer" -b 127.142.0.1 $V 23200 bigblock) && upto 10 height h 2 ||
	{ echo "bench_attack: the 1 MB block did not spread" >&2; exit 1; }

echo "attack_honest_block_ms_quiet $(arrivals)"
fl=
for i in 2 3; do
	"$peer" -b 127.142.0.$i $V 23200 getflood 50000 30 "$big" >/dev/null \
		2>&1 &
	fl="$fl $!"
done
"$peer" -b 127.142.0.4 $V 23200 invflood 50000 30 >/dev/null 2>&1 &
fl="$fl $!"
pids="$pids $fl"
sleep 1
echo "attack_honest_block_ms $(arrivals)"
kill $fl 2>/dev/null

"$peer" $V 23200 hog 100 10 "$big" >/dev/null &
pids="$pids $!"
"$peer" $V 23200 unfinished 100 8 >/dev/null &
pids="$pids $!"
sleep 9
if [ -r "/proc/$vpid/status" ]; then
	peak=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$vpid/status")
	echo "attack_peak_kib $peak"
else
	echo "attack_peak_kib $(ps -o rss= -p "$vpid" | tr -d ' ')"
fi

pool() { "$bin" -d "$tmp/$1" -n regtest tip | grep -q "^mempool $2 "; }
me=$("$peer" $V 23200 key)
b=$(pc h status | sed -n 's/^height //p')     # (coinbases b+1... are ours)
pc h connect $V:23200 >/dev/null
pc h mine 100 "$me" >/dev/null
ok=0
upto 20 height v $((b + 100)) &&
	"$peer" -b 127.142.0.5 $V 23200 chains $((b + 1)) 80 25 &&
	upto 60 pool h 2000 && ok=1
echo "orphan_chain_ok $ok"
pc h mine 6 >/dev/null
ok=0
a=$(pc v address)
upto 20 height v $((b + 106)) &&
	"$peer" -b 127.142.0.6 $V 23200 dust $((b + 81)) 5000 "$a" &&
	upto 20 pool h 3 && pc h mine 1 >/dev/null &&
		upto 20 height v $((b + 107)) &&
	tx=$(pc v send 0.5 "$(pc h address)") &&
	upto 10 sh -c \
		"'$bin' -d '$tmp/h' -n regtest tx $tx | grep -q 'in mempool'" &&
	ok=1
echo "attack_wallet_pay_ok $ok"
# The getproofs attack: 8 blocks of 24,000 outputs each (192,000 unspent
# outputs in all, 4,000 addresses), then 4 connections asking for the
# proofs of 16 addresses nothing pays (about the genesis block: the whole
# chain), as fast as v takes them.
for i in 1 2 3 4 5 6 7 8; do
	"$peer" -b 127.143.0.$i $V 23200 bigblock >/dev/null
done
"$peer" -b 127.144.0.1 $V 23200 proofs 4 40 >/dev/null 2>&1 &
fl=$!
pids="$pids $fl"
sleep 2
ping=$("$peer" -b 127.145.0.1 $V 23200 ping 20) || ping=99999000
echo "attack_proofs_honest_ping_ms $(echo "$ping" |
	awk '{ printf "%.1f", $1 / 1000 }')"
echo "attack_proofs_block_ms $(arrivals)"
kill $fl 2>/dev/null
pc v stop >/dev/null 2>&1
pc h stop >/dev/null 2>&1
