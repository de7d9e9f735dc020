#!/bin/sh
# t/privacy_test.sh - who sent a payment stays hidden (README, "Privacy"):
#   1. getdata is answered only with what was announced to the asker: a
#      payment waiting 3 s to be announced is notfound, then served;
#   2. all inbound peers share one announcement timer: a spy's 8
#      connections hear each payment within a few ms of each other;
#   3. Dandelion++: A pays through its stem relay B, whose own relay is a
#      sink that swallows stem transactions; a relayer B announces nothing
#      before the payment is fluffed (its embargo, at least 10 s), the
#      payment then reaches everyone and is mined (a diffuser B fluffs it
#      at once and the sink gets nothing);
#   4. a bad stem transaction bans its sender; one peer's stem
#      transactions are held at most STEM_PEER (10) at a time;
#   5. -x: every outbound connection goes through a SOCKS5 proxy, a
#      name given to it unresolved; peers learn nothing of the node.
# Loopback addresses 127.140.0.0/16, ports 29001-29009.
. t/lib.sh
peer=${TESTPEER:-./t/testpeer}
fail() { echo "privacy_test: $*" >&2; logs; exit 1; }
A=127.140.0.1 B=127.140.0.2 S=127.140.0.9
stat() { ctl "$1" stats | sed -n "s/^gossip $2 //p"; }
pool() { ctl "$1" tip | sed -n 's/^mempool \([0-9]*\) .*/\1/p'; }
ins() { [ "$(ctl "$1" status |
	sed -n 's/^peers \([0-9]*\) in.*/\1/p')" = "$2" ]; }
height() { [ "$(ctl "$1" tip | sed -n 's/^height //p')" = "$2" ]; }
relays() { ctl "$1" status | grep -q "relays $2"; }
txis() { ctl "$1" tx "$2" 2>/dev/null | grep -q "$3"; }

# 1. the getdata rule
node v $A:29001 -D -T 3000
upto 10 ctl v status || fail "v did not start"
if ! ctl v status | grep -q "^listen $A"; then
	echo "privacy_test: skipped: this system has no $A (only 127.0.0.1?)"
	exit 0
fi
ctl v mine 12 >/dev/null || fail "v did not mine"
tx=$(ctl v send 1 "$(ctl v address)") || fail "v cannot pay"
"$peer" -b 127.140.1.1 $A 29001 getdata "$tx" 8 >"$tmp/probe" ||
	fail "the probe failed"
[ "$(cat "$tmp/probe" | tr '\n' ' ')" = "notfound tx " ] ||
	fail "getdata before and after the announcement: $(cat "$tmp/probe")"
ctl v stop >/dev/null

# 2. one timer for all inbound peers (random delays, mean 100 ms)
node w $A:29002 -D
upto 10 ctl w status || fail "w did not start"
ctl w mine 14 >/dev/null || fail "w did not mine"
"$peer" $A 29002 spy 8 6 >"$tmp/spy" &
sp=$!
pids="$pids $sp"
upto 5 ins w 8 ||
	fail "the spy did not connect 8 times"
for i in 1 2 3; do
	ctl w send 1 "$(ctl w address)" >/dev/null || fail "w cannot pay"
	sleep 0.5
done
wait $sp
[ "$(cut -d' ' -f3 "$tmp/spy" | sort -u | wc -l)" -eq 3 ] ||
	fail "the spy heard $(cut -d' ' -f3 "$tmp/spy" | sort -u | wc -l) of 3"
[ "$(wc -l <"$tmp/spy")" -eq 24 ] ||
	fail "the spy's 8 connections heard $(wc -l <"$tmp/spy") of 24"
spread=$(sort -k3 "$tmp/spy" | awk '{ if ($3 != t) { t = $3; lo[t] = $1 }
	hi[t] = $1 } END { m = 0; for (t in lo) if (hi[t] - lo[t] > m)
	m = hi[t] - lo[t]; print m }')
[ "$spread" -le 30 ] ||
	fail "one payment reached the spy's connections $spread ms apart"
ctl w stop >/dev/null

# 3. the stem, a sink, the embargo
"$peer" -b $S $S 29009 sink 29009 60 >"$tmp/sink.log" 2>&1 &
sk=$!
pids="$pids $sk"
sleep 0.5
node b $B:29004 -c $S:29009
upto 10 ctl b status || fail "b did not start"
node a $A:29003 -c $B:29004
upto 10 ctl a status || fail "a did not start"
upto 10 relays b "$S:29009 none" ||
	fail "b's relays: $(ctl b status | grep dandelion)"
ctl a mine 12 >/dev/null || fail "a did not mine"
upto 10 height b 12 ||
	fail "b did not follow a"
"$peer" $B 29004 spy 8 40 >"$tmp/spyb" &
sp=$!
pids="$pids $sp"
sleep 1
role=$(ctl b status | sed -n 's/^dandelion \([a-z]*\),.*/\1/p')
start=$(date +%s)
tx=$(ctl a send 1 "$(ctl b address)") || fail "a cannot pay"
if [ "$role" = relayer ]; then
	sleep 8
	grep -q "$tx" "$tmp/spyb" &&
		fail "relayer b announced the stem payment before its embargo"
	[ "$(stat b stem)" = 1 ] || fail "b holds $(stat b stem) stem payments"
	ctl b tx "$tx" >/dev/null 2>&1 && fail "b shows a stem payment"
fi
upto 35 grep -q "$tx" "$tmp/spyb" ||
	fail "the payment was not fluffed within the embargo ($role b)"
echo "privacy_test: $role b: fluffed after $(($(date +%s) - start)) s"
upto 5 txis a "$tx" "in mempool" || fail "a lost it"
ctl b mine 1 >/dev/null || fail "b did not mine"
upto 10 txis a "$tx" confirmed ||
	fail "the payment was not mined"

# 4. limits: a bad stem transaction bans its sender; 15 from one peer:
# a relayer holds 10 (a diffuser fluffs all 15)
TESTPEER_STEM=1 "$peer" -b 127.140.2.1 $B 29004 badtx >/dev/null ||
	fail "a bad stem transaction was not punished"
me=$("$peer" $B 29004 key)
ctl b mine 15 "$me" >/dev/null && ctl b mine 10 >/dev/null ||
	fail "b did not mine"
n0=$(pool b)
TESTPEER_STEM=1 "$peer" -b 127.140.2.2 $B 29004 chains 14 15 1 ||
	fail "the stem payments were not read"
if [ "$role" = relayer ]; then
	[ "$(stat b stem)" = 10 ] || fail "b holds $(stat b stem) of 15"
	[ "$(pool b)" = "$n0" ] || fail "b's mempool took stem payments"
else
	[ $(($(pool b) - n0)) = 15 ] || fail "diffuser b fluffed $(pool b)"
fi
# ...and 10 more peers, 10 each: a relayer's stem pool holds 100 at most
ctl b mine 100 "$me" >/dev/null && ctl b mine 10 >/dev/null ||
	fail "b did not mine"
batches=
for i in 0 1 2 3 4 5 6 7 8 9; do         # (at once: within an embargo)
	TESTPEER_STEM=1 "$peer" -b 127.140.3.$((i + 1)) $B 29004 \
		chains $((39 + 10 * i)) 10 1 &
	batches="$batches $!"
done
for p in $batches; do wait "$p" || fail "a stem batch was not read"; done
n=$(stat b stem)
if [ "$role" = relayer ] && { [ "$n" -gt 100 ] || [ "$n" -lt 90 ]; }; then
	fail "b's stem pool holds $n (at most 100)"
fi
empty() { [ "$(stat b stem)" = 0 ]; }
upto 40 empty || fail "b's stem pool was not fluffed: $(stat b stem)"
# The relay goes away: its slot empties at once, and with no other
# outbound peer, b fluffs what it is sent; a peer that does not say
# services bit 1 (an older node: the sink, as TESTPEER_NOSTEM has it) is
# never a relay.
kill $sk 2>/dev/null
wait $sk 2>/dev/null
upto 10 relays b "none none" ||
	fail "b kept a relay that went away: $(ctl b peers)"
TESTPEER_NOSTEM=1 "$peer" -b $S $S 29009 sink 29009 30 >"$tmp/sink2.log" &
sk=$!
pids="$pids $sk"
outb() { ctl b peers | grep -q "^$S:29009 out ready"; }
upto 15 outb || fail "b did not dial the sink again"
relays b "none none" || fail "b took a relay that takes no stems"
tx=$(ctl a send 1 "$(ctl b address)") || fail "a cannot pay again"
upto 5 txis b "$tx" "in mempool" || fail "b did not fluff with no relay"
why="no stem relay left"
[ "$role" = relayer ] || why="a diffuser"
grep -q "fluff tx $tx: $why" "$tmp/b.log" || fail "b did not say: $why"

# 5. Tor: node u dials only through a SOCKS5 proxy (the test tools' own,
# on 127.140.0.6), naming its peer by a name it never resolves itself (an
# .onion one: a lookup of its own would fail at start-up); u does not
# listen, so t sees the proxy's address only and no listening port.
node t 127.140.0.5:29005
"$peer" -b 127.140.0.6 127.140.0.6 0 socks 29006 127.140.0.5 \
	>"$tmp/socks" &
px=$!
pids="$pids $px"
sleep 0.5
"$bin" -d "$tmp/u" -n regtest -L -x 127.140.0.6:29006 \
	-c peer-t.onion:29005 run 2>>"$tmp/u.log" &
pids="$pids $!"
upto 10 ctl u status || fail "u did not start behind the proxy"
via() { ctl t peers | grep -q "^127.140.0.6:[0-9]* in ready full .*listen 0 "; }
upto 10 via || fail "t has no peer through the proxy: $(ctl t peers)"
[ "$(cat "$tmp/socks")" = "peer-t.onion:29005" ] ||
	fail "the proxy was asked for: $(cat "$tmp/socks")"
[ "$(ctl t peers | wc -l)" = 1 ] || fail "t has other peers: $(ctl t peers)"
ctl t mine 3 >/dev/null || fail "t did not mine"
upto 10 height u 3 || fail "u did not follow t through the proxy"
grep -q -e Sanitizer -e "runtime error" "$tmp"/*.log 2>/dev/null &&
	fail "a sanitizer report in a node's log"
exit 0
