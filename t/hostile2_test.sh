#!/bin/sh
# t/hostile2_test.sh - the hostile-peer suite, part II (Hardening II):
# transactions, the wallet, addresses and bans.  Each part performs the
# attack against a victim v with an honest node h beside it, and checks
# that it fails, that h is still served and that only the attacker is
# banned.  Ports 27000-27099.  Every wait is bounded; every node is
# stopped.
set -u
. t/lib.sh
peer=${TESTPEER:-./t/testpeer}
fail() { echo "hostile2_test: $*" >&2; logs; exit 1; }
field() { ctl "$1" status | sed -n "s/^$2 //p"; }
pool() { ctl "$1" tip | sed -n 's/^mempool \([0-9]*\) .*/\1/p'; }
logged() { grep -q "$2" "$tmp/$1.log"; }
# at NODE HEIGHT / holds NODE N: wait (bounded) for a height, a mempool size.
at() { upto 20 sh -c \
	"'$bin' -d '$tmp/$1' -n regtest status | grep -q '^height $2\$'"; }
holds() { upto 60 sh -c \
	"'$bin' -d '$tmp/$1' -n regtest tip | grep -q '^mempool $2 '"; }
V=127.90.0.1 H=127.91.0.1

node h $H:27001 -o 0
node v $V:27002 -c $H:27001
upto 10 ctl h status || fail "h did not start"
upto 10 ctl v status || fail "v did not start"
if ! ctl v status | grep -q "^listen $V"; then
	echo "hostile2_test: skipped: this system has no $V (only 127.0.0.1?)"
	exit 0
fi
me=$("$peer" $V 27002 key)
ctl h mine 100 "$me" >/dev/null || fail "h did not mine"
at v 100 || fail "v did not follow h to 100"

# Finding 4: v and h are connected twice (v dials h, h dials v); 2,000
# payments in 80 lines of 25 reach v at once, and v relays them to h over
# both connections: every one arrives, children that come before their
# parents (by the other connection) kept in the orphan pool.
ctl h connect $V:27002 >/dev/null || fail "h cannot dial v"
upto 10 sh -c \
	"[ \$('$bin' -d '$tmp/h' -n regtest peers | grep -c ready) = 2 ]" ||
	fail "h and v are not connected twice"
"$peer" -b 127.92.0.1 $V 27002 chains 1 80 25 || fail "v did not take the lines"
[ "$(pool v)" = 2000 ] || fail "v holds $(pool v) of the 2,000 payments"
holds h 2000 || fail "h got $(pool h) of the 2,000 payments"
# ...and a line of 25 pushed children first: 24 orphans, kept until the
# first payment comes; then all 25 are in.  (Without the pool: only 1.)
TESTPEER_REVERSE=1 "$peer" -b 127.92.0.1 $V 27002 chains 81 1 25 ||
	fail "v did not take the reversed line"
holds v 2025 || fail "v holds $(pool v) payments, not 2,025"

# Finding 3: a 26th payment on a line of 25 is refused (too-long-chain);
# the sender is not banned for it.
"$peer" -b 127.92.0.2 $V 27002 chains 82 1 26 ||
	fail "the long line's sender was dropped"
holds v 2050 || fail "v holds $(pool v) payments, not 2,050"
logged v "too-long-chain" || fail "no too-long-chain refusal logged"
holds h 2050 || fail "h got $(pool h) of the 2,050 payments"
ctl h mine 6 >/dev/null              # (1 MB a block: 400 payments each)
at v 106 && holds v 0 || fail "six blocks did not empty v's mempool"

# Finding 4, refusals: a payment refused as immature is refused again
# without a second check (remembered) until the tip moves; once its coin
# matures, the same bytes are taken.
ctl h mine 1 "$me" >/dev/null
at v 107 || fail "v did not follow h to 107"
for i in 1 2; do
	"$peer" -b 127.92.0.10 $V 27002 chains 107 1 1 || fail "push $i failed"
done
[ "$(grep -c 'immature-coinbase-spend' "$tmp/v.log")" = 1 ] ||
	fail "the same refused bytes were checked again"
logged v "unasked copy" || fail "the unasked copy cost nothing"
ctl h mine 9 >/dev/null
at v 116 || fail "v did not follow h to 116"
"$peer" -b 127.92.0.10 $V 27002 chains 107 1 1 || fail "push 3 failed"
holds v 1 || fail "the matured payment was not taken"

# Finding 1: v's wallet is dusted with 5,000 outputs of 0.001 coin and
# nothing else; it still pays 0.5 coin (500 inputs and more, one
# signature), and h takes the payment.
a=$(ctl v address) || fail "v has no address"
"$peer" -b 127.92.0.3 $V 27002 dust 83 5000 "$a" ||
	fail "the dust was not taken"
holds h 4 || fail "h did not get the dust"
ctl h mine 1 >/dev/null              # (117)
upto 10 sh -c \
	"'$bin' -d '$tmp/v' -n regtest balance |
		grep -q '^confirmed 5.00000000'" ||
	fail "v's wallet does not hold the dust"
to=$(ctl h address)
tx=$(ctl v send 0.5 "$to") || fail "the dusted wallet cannot pay"
upto 10 sh -c \
	"'$bin' -d '$tmp/h' -n regtest tx $tx | grep -q 'status in mempool'" ||
	fail "h did not take the payment"
ctl v send 4.5 "$to" 2>"$tmp/err" &&
	fail "a payment no transaction can hold went out"
grep -q "in one payment of" "$tmp/err" ||
	fail "no clear error: $(cat "$tmp/err")"

# Finding 2: payments signed with W8 keys (12-19 times the CPU a byte of
# W4) break a rule: the first bans its sender, none enters the mempool,
# h is not banned.
w8=$(TESTPEER_W8=1 "$peer" $V 27002 key)
ctl h mine 11 "$w8" >/dev/null || fail "h did not mine to the W8 key"
at v 128 || fail "v did not follow h to 128"
n=$(pool v)
TESTPEER_W8=1 "$peer" -b 127.92.0.4 $V 27002 chains 118 1 5 2>/dev/null &&
	fail "the W8 sender was served"
logged v "ban 127.92.0.4:" || fail "the W8 sender was not banned"
logged v "unsupported-key" || fail "no unsupported-key refusal logged"
[ "$(pool v)" = "$n" ] || fail "a W8 payment entered the mempool"
"$peer" -b 127.92.0.5 $V 27002 good || fail "an honest peer is not served"

# Finding 5: h (listening on loopback) is told of 127.93.0.1:27009, a
# local service, with a multicast, a private and a port-0 address; x,
# listening nowhere and knowing only h, learns none of them, and dials
# nothing but h.  h keeps only the loopback one (it listens on one).
node svc 127.93.0.1:27009 -o 0
n=$(field h addresses)
"$peer" -b 127.92.0.6 $H 27001 tell 127.93.0.1:27009 224.0.0.1:27009 \
	10.1.2.3:27009 127.93.0.2:0 || fail "h did not read the addr"
[ "$(field h addresses)" = $((n + 1)) ] ||
	fail "h stored $(($(field h addresses) - n)) addresses, not 1"
node x 127.94.0.1:27010 -L -s $H:27001 -v
upto 10 sh -c "'$bin' -d '$tmp/x' -n regtest peers | grep -q ready" ||
	fail "x did not connect to h"
sleep 3
[ "$(field x addresses)" = 1 ] || fail "x stored $(field x addresses) addresses"
logged x "connecting to 127.93.0.1" && fail "x dialled the local service"
# (Finding 6, good behaviour: h, x's outbound peer, gives x a new block
# first, so x's peers.dat marks h useful: tried bits 3, drawn first.)
ctl h mine 1 >/dev/null
at x 129 || fail "x did not follow h to 129"
sleep 0.5
ctl x stop >/dev/null
upto 10 sh -c "! '$bin' -d '$tmp/x' -n regtest status" || fail "x did not stop"
[ "$(od -A n -j 70 -N 1 -t u1 "$tmp/x/regtest/peers.dat" | tr -d ' ')" = 3 ] ||
	fail "x did not mark h useful"

# Finding 6: one malformed message costs half a ban: the peer is still
# served; a second bans it.  2,000 bans from 2,000 addresses cost no disk
# write each, and h is still served.  A bans.dat of 150,000 bans, its
# last record cut, loads the newest 10,000.
"$peer" -b 127.92.0.7 $V 27002 once ||
	fail "one malformed inv got a peer dropped"
"$peer" -b 127.92.0.7 $V 27002 good || fail "one malformed inv banned"
"$peer" -b 127.92.0.8 $V 27002 inv ||
	fail "two malformed invs did not drop the peer"
"$peer" -b 127.92.0.8 $V 27002 good && fail "two malformed invs did not ban"
n=$("$peer" $V 27002 spam 2000) || fail "spam failed"
[ "$n" -ge 1990 ] || fail "only $n of 2,000 garbage senders were dropped"
[ "$(field v bans)" -ge 2000 ] || fail "v holds $(field v bans) bans"
"$peer" -b 127.92.0.9 $V 27002 good ||
	fail "an honest peer is not served after the spam"
ctl v stop >/dev/null
upto 10 sh -c "! '$bin' -d '$tmp/v' -n regtest status" || fail "v did not stop"
"$peer" $V 27002 bansdat 150000 >"$tmp/v/regtest/bans.dat" ||
	fail "bansdat failed"
node v $V:27002 -c $H:27001
upto 10 ctl v status || fail "v did not restart"
[ "$(field v bans)" = 10000 ] ||
	fail "v loaded $(field v bans) bans, not 10,000"
first=127.100.1.1                 # (record 0; record i is from t/testpeer's
last=127.149.250.101              # source(i): record 149,998, the last whole)
"$peer" -b "$first" $V 27002 good || fail "the oldest ban ($first) was kept"
"$peer" -b "$last" $V 27002 good &&
	fail "the newest whole ban ($last) was dropped"
"$peer" -b 127.92.0.9 $V 27002 good ||
	fail "an honest peer is not served after the restart"
[ "$(field h bans)" = 0 ] || fail "h banned someone"
exit 0
