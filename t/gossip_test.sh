#!/bin/sh
# t/gossip_test.sh - gossip and sync on loopback, regtest.
#   1. 20 nodes, node i alone on 127.(60+i).0.1 and seeded with node i-1
#      only: blocks mined at one node and a payment sent at another reach
#      every node, and the payment is mined and lands in the payee's
#      balance;
#   2. a test peer's invalid block and invalid transaction are relayed by
#      no one, and the test peer is banned;
#   3. a fresh node joins and syncs a 2,000-block chain; killed with -9
#      while it works, it finds its block files intact and catches up;
#   4. partition: four nodes in connect-only pairs, joined by one link
#      that a ban cuts; both halves mine, the lighter half's payment
#      returns to the mempools after the rejoin, every node ends on the
#      most-work tip, and the payment is mined;
#   5. a test peer that announces a payment and never delivers it is
#      asked once, then passed over for the next announcer, and not
#      banned.
# Ports 25000-25099.  Every wait is bounded; every node is stopped.
set -u
. t/lib.sh
fail() { echo "gossip_test: $*" >&2; [ -n "${KEEP:-}" ] &&
	cp -r "$tmp" /tmp/keep; exit 1; }

ip() { echo "127.$((60 + $1)).0.1"; }
# start I [OPTIONS...]: start node I in the background.
start() {
	i=$1
	shift
	"$bin" -d "$tmp/n$i" -n regtest -l "$(ip "$i"):$((25000 + i))" -T 0 \
		-t handshake=3 "$@" run 2>>"$tmp/n$i.log" &
	pids="$pids $!"
	eval "pid$i=$!"
}
pc() { i=$1; shift; "$bin" -d "$tmp/n$i" -n regtest "$@"; }
# (tip and tx fall back to opening the files if the node is not up yet:
# wait for `status` first, or the node may find its directory locked)
height() { pc "$1" tip 2>/dev/null | sed -n 's/^height //p'; }
tiphash() { pc "$1" tip 2>/dev/null | sed -n 's/^hash //p'; }
# all HEIGHT I...: every node named is at that height.
all() {
	h=$1
	shift
	for k in "$@"; do [ "$(height "$k")" = "$h" ] || return 1; done
}
# have WHAT I...: every node named has that status for a transaction.
have() {
	what=$1 tx=$2
	shift 2
	for k in "$@"; do pc "$k" tx "$tx" 2>/dev/null |
		grep -q "^status $what" ||
		return 1; done
}
seq_() { k=$1; while [ "$k" -le "$2" ]; do echo "$k"; k=$((k + 1)); done; }
stop() { for k in "$@"; do pc "$k" stop >/dev/null 2>&1; done; }

start 0
upto 10 pc 0 status || grep -q "cannot listen" "$tmp/n0.log" ||
	fail "node 0 did not start"
if grep -q "cannot listen" "$tmp/n0.log"; then
	echo "gossip_test: skipped: this system has no 127.60.0.1" \
		"(only 127.0.0.1?)"
	exit 0
fi

# 1. twenty nodes, blocks and a payment
for i in $(seq_ 1 19); do start "$i" -s "$(ip $((i - 1))):$((25000 + i - 1))"
	done
for i in $(seq_ 1 19); do upto 20 pc "$i" status ||
	fail "node $i did not start"; done
pc 0 mine 12 >/dev/null || fail "mining at node 0 failed"
upto 30 all 12 $(seq_ 0 19) || fail "12 blocks did not reach all 20 nodes"
to=$(pc 19 address) || fail "no address at node 19"
tx=$(pc 0 send 7 "$to") || fail "send at node 0 failed"
upto 20 have "in mempool" "$tx" $(seq_ 0 19) ||
	fail "the payment did not reach all 20 mempools"
pc 5 mine 1 >/dev/null || fail "mining at node 5 failed"
upto 20 all 13 $(seq_ 0 19) || fail "block 13 did not reach all 20 nodes"
upto 20 have confirmed "$tx" $(seq_ 0 19) ||
	fail "the payment is not confirmed everywhere"
pc 19 balance | grep -q "^confirmed 7.00000000$" ||
	fail "node 19's balance is not 7"
copies=$(pc 10 stats | sed -n 's/^tx in \([0-9]*\) .*/\1/p')
[ "${copies:-0}" -eq 1 ] ||
	fail "node 10 received the payment ${copies:-0} times"

# 2. an invalid block and transaction from a test peer
bad=$(./t/testpeer -b 127.99.0.1 "$(ip 3)" 25003 badblock) ||
	fail "no hang-up after a bad block"
badtx=$(./t/testpeer -b 127.99.0.2 "$(ip 4)" 25004 badtx) ||
	fail "no hang-up after a bad tx"
grep -q "ban 127.99.0.1.*invalid block" "$tmp/n3.log" ||
	fail "no ban for the bad block"
grep -q "ban 127.99.0.2.*invalid transaction" "$tmp/n4.log" ||
	fail "no ban for the bad tx"
./t/testpeer -b 127.99.0.1 "$(ip 3)" 25003 good &&
	fail "the banned peer was served"
sleep 1
for i in $(seq_ 0 19); do
	if [ "$i" != 3 ] && pc "$i" block "$bad" >/dev/null 2>&1; then
		fail "node $i has the bad block"
	fi
	pc "$i" tx "$badtx" >/dev/null 2>&1 && fail "node $i has the bad tx"
done

# 3. a fresh node syncs 2,000 blocks; killed mid-work, it recovers
pc 0 mine 1987 >/dev/null || fail "mining 1987 blocks failed"
upto 60 all 2000 0 7 || fail "node 7 did not reach 2000"
start 20 -s "$(ip 7):25007"
upto 20 pc 20 status || fail "node 20 did not start"
upto 30 eval '[ "$(pc 20 tip 2>/dev/null | sed -n "s/^height //p")" -gt 100 ]' \
	||
	fail "node 20 did not start syncing"
kill -9 "$pid20"
wait "$pid20" 2>/dev/null
h=$(pc 20 tip 2>"$tmp/err" | sed -n 's/^height //p')
[ "${h:-0}" -gt 0 ] || fail "node 20 lost its chain to kill -9"
# (A record the kill cut short is the one damage a crash may leave: it is
# reported and cut, every block before it kept.  Any other is a fault.)
grep repaired "$tmp/err" | grep -qv "torn record" &&
	fail "node 20's block files were damaged: $(cat "$tmp/err")"
pc 0 mine 5 >/dev/null || fail "mining 5 more blocks failed"
start 20 -s "$(ip 7):25007"
upto 20 pc 20 status || fail "node 20 did not restart"
upto 60 all 2005 0 20 ||
	fail "node 20 did not catch up after kill -9 (height $(height 20))"
[ "$(tiphash 20)" = "$(tiphash 0)" ] || fail "node 20 is on another tip"
stop $(seq_ 0 20)
reap $pids
pids=

# 4. partition and rejoin: A=30 B=31 | C=32 D=33
start 30 -c "$(ip 31):25031"
start 31 -c "$(ip 30):25030"
start 32 -c "$(ip 33):25033"
start 33 -c "$(ip 32):25032"
for i in 30 31 32 33; do upto 20 pc "$i" status ||
	fail "node $i did not start"; done
pc 31 connect "$(ip 32):25032" >/dev/null || fail "connect B to C failed"
pc 30 mine 12 >/dev/null || fail "mining at A failed"
upto 20 all 12 30 31 32 33 || fail "the four nodes did not reach 12"
pc 31 ban "$(ip 32)" >/dev/null || fail "the ban that splits them failed"
upto 10 eval '! pc 32 peers | grep -q "$(ip 31)"' ||
	fail "B and C still connected"
to=$(pc 31 address) || fail "no address at B"
tx=$(pc 30 send 3 "$to") || fail "send at A failed"
upto 10 have "in mempool" "$tx" 30 31 || fail "the payment did not reach B"
pc 31 mine 1 >/dev/null || fail "mining at B failed"
pc 33 mine 3 >/dev/null || fail "mining at D failed"
upto 10 all 13 30 31 || fail "A and B are not at 13: $(height 30) $(height 31)"
upto 10 all 15 32 33 || fail "C and D are not at 15"
have "in mempool" "$tx" 32 && fail "the payment crossed the partition"
pc 31 unban "$(ip 32)" >/dev/null || fail "unban failed"
pc 31 connect "$(ip 32):25032" >/dev/null || fail "reconnect failed"
upto 20 all 15 30 31 32 33 || fail "not every node reached the heavier tip 15"
t=$(tiphash 33)
for i in 30 31 32; do [ "$(tiphash $i)" = "$t" ] ||
	fail "node $i is on another tip"; done
upto 20 have "in mempool" "$tx" 30 31 32 33 ||
	fail "the payment did not return to every mempool"
pc 32 mine 1 >/dev/null || fail "mining at C failed"
upto 20 have confirmed "$tx" 30 31 32 33 ||
	fail "the returned payment was not mined"
stop 30 31 32 33
reap $pids
pids=

# 5. an announcer that does not deliver: A=40, B=41 announcing after 1 s
start 40
start 41 -D -T 1000 -c "$(ip 40):25040"
for i in 40 41; do upto 20 pc "$i" status || fail "node $i did not start"; done
pc 41 mine 11 >/dev/null || fail "mining at B failed"
upto 10 all 11 40 41 || fail "A did not get B's blocks"
tx=$(pc 41 send 1 "$(pc 40 address)") || fail "send at B failed"
./t/testpeer -b 127.99.0.3 "$(ip 40)" 25040 announce "$tx" 4 >"$tmp/asked" &
tp=$!
upto 10 have "in mempool" "$tx" 40 || fail "A did not get the payment from B"
wait $tp
[ "$(cat "$tmp/asked")" = 1 ] ||
	fail "the hoarder was asked $(cat "$tmp/asked") times, not once"
grep -q "ban 127.99.0.3" "$tmp/n40.log" && fail "a slow announcer was banned"
stop 40 41
reap $pids
pids=
grep -q -e Sanitizer -e "runtime error" "$tmp"/*.log 2>/dev/null &&
	fail "a sanitizer report in a node's log"
exit 0
