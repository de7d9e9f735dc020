#!/bin/sh
# t/net_test.sh - the network on loopback: a handshake, a node that dials
# itself, handshake timeouts, every kind of bad peer (each is dropped,
# banned with its reason logged, and a good peer is still served), bans
# surviving a restart, the per-address cap, inbound limit and eviction; an
# idle node that sleeps and flushes nothing.
# Ports 21000-21099.  Every wait is bounded; every node is stopped.
set -u
. t/lib.sh
peer=${TESTPEER:-./t/testpeer}
fail() { echo "net_test: $*" >&2; logs; exit 1; }
# until SECONDS CMD...: run CMD every 0.1 s until it succeeds; fail after.
until_ok() {
	n=$(($1 * 10)); shift
	while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 &&
		return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
ready() { [ "$(ctl "$1" peers 2>/dev/null | grep -c " ready ")" -ge "$2" ]; }
logged() { grep -q "$2" "$tmp/$1.log"; }

node a 127.1.0.1:21001
apid=$!
until_ok 10 sh -c "grep -q -e 'listening on' -e 'cannot listen' '$tmp/a.log'" ||
	fail "node a did not start"
if grep -q "cannot listen" "$tmp/a.log"; then
	echo "net_test: skipped: this system has no 127.1.0.1 (only 127.0.0.1?)"
	exit 0
fi
until_ok 5 ctl a status || fail "node a does not answer"

# a handshake both ways
node b 127.2.0.1:21002 -s 127.1.0.1:21001
until_ok 10 ready a 1 || fail "a has no ready peer"
until_ok 10 ready b 1 || fail "b has no ready peer"
ctl b peers | grep -q "^127.1.0.1:21001 out ready" ||
	fail "b is not connected out to a"
ctl a stats | grep -q "^version in [12] [0-9]* out [12] " ||
	fail "stats do not count the versions"

# each node's picture of its connections: b's box, its edge out to a, and
# a Graphviz graph dot accepts (where dot is installed)
ctl b peers dot > "$tmp/b.dot" || fail "peers dot failed"
box='^	"127.2.0.1:21002" \[shape=box, '
box=$box'label="127.2.0.1:21002\\nfull\\nheight 0"\];$'
grep -q "$box" \
	"$tmp/b.dot" || fail "peers dot: no box for b"
grep -q '^	"127.2.0.1:21002" -> "127.1.0.1:21001" \[label=out\];$' \
	"$tmp/b.dot" ||
	fail "peers dot: no edge out to a"
ctl a peers dot | grep -q ' -> "127.1.0.1:21001" \[label=in\];$' ||
	fail "peers dot: no edge in to a"
if command -v dot >/dev/null 2>&1; then
	dot -Tcanon "$tmp/b.dot" >/dev/null ||
		fail "dot does not parse peers dot"
else
	echo "net_test: no Graphviz here: peers dot not parsed by dot"
fi

# a node given itself as seed drops the connection to itself
node c 127.3.0.1:21003 -s 127.3.0.1:21003
until_ok 10 logged c "connected to ourselves" ||
	fail "self-connection not refused"
ctl c peers | grep -q ready && fail "c kept a connection to itself"

# connections that never say anything are dropped after the handshake timeout
n=$("$peer" -b 127.4.0.1 127.1.0.1 21001 hold 3 4) ||
	fail "testpeer hold failed"
[ "$n" = 3 ] || fail "only $n of 3 silent connections were dropped"
logged a "handshake timeout" || fail "no handshake timeout logged"

# every kind of bad peer, each from its own address: dropped and banned
i=10
for mode in garbage magic checksum huge early addrflood inv; do
	i=$((i + 1))
	"$peer" -b 127.5.0.$i 127.1.0.1 21001 $mode || fail "$mode: not dropped"
	until_ok 3 logged a "ban 127.5.0.$i:" || fail "$mode: no ban logged"
	"$peer" -b 127.5.0.$i 127.1.0.1 21001 good &&
		fail "$mode: banned peer served"
	"$peer" -b 127.6.0.1 127.1.0.1 21001 good ||
		fail "good peer not served after $mode"
done
for why in "wrong magic" "bad checksum" "oversized frame" \
	"before the handshake" \
	"over 1000 addresses" "malformed inv"; do
	logged a "$why" || fail "no ban for: $why"
done
ctl a status | grep -q "^bans 7$" || fail "a does not count 7 bans"

# the address book: one group fills one bucket (64) at most; a peer's
# token bucket takes a burst of 1000 addresses, then 0.1 a second
node f 127.10.0.1:21010 -o 0
until_ok 5 ctl f status || fail "node f did not start"
"$peer" -b 127.11.0.1 127.10.0.1 21010 addrs 1000 1 ||
	fail "addrs to one group failed"
n=$(ctl f status | sed -n "s/^addresses //p")
[ "$n" -le 64 ] && [ "$n" -ge 32 ] ||
	fail "one group filled $n places in the book"
"$peer" -b 127.12.0.1 127.10.0.1 21010 addrs 1000 250 ||
	fail "addrs spread failed"
m=$(ctl f status | sed -n "s/^addresses //p")
[ $((m - n)) -ge 900 ] ||
	fail "a burst of 1000 spread addresses added only $((m - n))"
[ $((m - n)) -le 1010 ] ||
	fail "the token bucket let $((m - n)) addresses in at once"

# a getdata for what the node lacks is answered by one notfound, each
# entry with the type it was asked with
"$peer" -b 127.6.0.2 127.1.0.1 21001 notfound ||
	fail "notfound entries mistyped"

# at most 4 connections from one address
n=$("$peer" -b 127.7.0.1 127.1.0.1 21001 conns 8 0) ||
	fail "testpeer conns failed"
[ "$n" = 4 ] || fail "$n connections from one address were taken, not 4"

# bans persist across a restart; the operator can lift one
ctl a stop >/dev/null || fail "stop failed"
until_ok 5 logged a "shutting down" || fail "a did not stop"
reap "$apid"                     # it is stopping: files written, lock freed
node a 127.1.0.1:21001
apid=$!
until_ok 5 ctl a status || fail "a did not restart"
ctl a status | grep -q "^bans 7$" || fail "bans were not kept across a restart"
"$peer" -b 127.5.0.11 127.1.0.1 21001 good && fail "ban forgotten after restart"
ctl a unban 127.5.0.11 >/dev/null || fail "unban failed"
"$peer" -b 127.5.0.11 127.1.0.1 21001 good || fail "unbanned peer not served"
ctl a ban 127.6.0.1 >/dev/null || fail "ban failed"
"$peer" -b 127.6.0.1 127.1.0.1 21001 good && fail "operator ban ignored"
ctl a ban nonsense 2>/dev/null && fail "a bad ban address was taken"

# a peer that never reads is not read either (back-pressure), and is
# dropped once what it was sent has waited over 3 s (-t frame=3)
"$peer" -b 127.13.0.1 127.1.0.1 21001 noread 8000000 ||
	fail "a peer that never reads was not dropped"
logged a "does not read" || fail "no drop of a peer that does not read"

# connect-only and no-listen: g talks to a alone and listens nowhere
node g 127.14.0.1:21014 -L -c 127.1.0.1:21001
gpid=$!
until_ok 10 ready g 1 || fail "connect-only node did not connect"
ctl g status | grep -q "^listen none$" || fail "a no-listen node listens"
ctl g peers | grep -v "^127.1.0.1:21001 out" | grep -q . &&
	fail "a connect-only node has other peers"

# SIGTERM stops a node cleanly, its files written
kill -TERM "$gpid"
until_ok 5 logged g "shutting down on a signal" || fail "SIGTERM did not stop g"
until_ok 5 test -s "$tmp/g/regtest/peers.dat" || fail "g wrote no peers.dat"

# inbound limit 4 with eviction: 8 newcomers from 8 groups, never over 4
node e 127.8.0.1:21008 -i 4 -o 0
until_ok 5 ctl e status || fail "node e did not start"
j=0
while [ $j -lt 8 ]; do
	j=$((j + 1))
	"$peer" -b 127.9.$j.1 127.8.0.1 21008 conns 1 3 >/dev/null &
	pids="$pids $!"
	sleep 0.2
done
sleep 0.5
n=$(ctl e peers | grep -c " in ")
[ "$n" -le 4 ] || fail "$n inbound peers over a limit of 4"
logged e "evicted for a newcomer" || fail "nobody was evicted"
ctl e connect 127.1.0.1:21001 | grep -q "^ok$" ||
	fail "connect through the control socket failed"
until_ok 5 sh -c \
	"'$bin' -d '$tmp/e' -n regtest peers |
		grep -q '^127.1.0.1:21001 out ready'" ||
	fail "connect did not make an outbound peer"
ctl e connect nowhere 2>/dev/null && fail "connect to a bad address worked"

# An idle node sleeps: two nodes with the default timers (a ping every
# 120 s), one peer each, wake at most a few times in 4 s (the `stats`
# calls that read the count wake them too) and call fsync never; a block
# is flushed once, soon after it is written, and then nothing again.
counts() { ctl "$1" stats | sed -n 's/^loop wakeups \([0-9]*\) fsyncs /\1 /p'; }
"$bin" -d "$tmp/i1" -n regtest -l 127.1.0.90:21090 -q run 2>>"$tmp/i1.log" &
pids="$pids $!"
"$bin" -d "$tmp/i2" -n regtest -l 127.1.0.91:21091 -c 127.1.0.90:21090 -q \
	run 2>>"$tmp/i2.log" &
pids="$pids $!"
until_ok 10 ready i1 1 && until_ok 10 ready i2 1 ||
	fail "the idle nodes did not connect"
ctl i1 mine 1 >/dev/null || fail "i1 did not mine"
until_ok 5 sh -c "'$bin' -d '$tmp/i2' -n regtest status | grep -q 'height 1'" ||
	fail "i2 did not take the block"
sleep 1
for n in i1 i2; do
	set -- $(counts $n)
	w0=$1 f0=$2
	[ "$f0" -ge 1 ] || fail "$n never flushed the block it took"
	sleep 4
	set -- $(counts $n)
	[ $(($1 - w0)) -le 8 ] || fail "$n woke $(($1 - w0)) times in 4 s, idle"
	[ "$2" = "$f0" ] || fail "$n called fsync $(($2 - f0)) times, idle"
done

# The running miner mines all of its share (-M 20: 20 ms of each 100), not
# a slice each time something else wakes the loop: alone on regtest, where
# almost every hash is a block, it has hundreds of blocks after 2 s (a
# miner that waited for the loop's other timers had one or two).
"$bin" -d "$tmp/m" -n regtest -l 127.1.0.92:21092 -M 20 -q run \
	2>>"$tmp/m.log" &
pids="$pids $!"
until_ok 10 ctl m status || fail "the miner did not start"
sleep 2
h=$(ctl m status | sed -n 's/^height //p')
[ "${h:-0}" -ge 100 ] || fail "the miner (-M 20) mined ${h:-0} blocks in 2 s"

# the control socket is for the node's user only
mode=$(ls -l "$tmp/a/regtest/control.sock" | cut -c1-10)
[ "$mode" = "srw-------" ] || fail "control socket mode is $mode"
"$bin" -d "$tmp/none" -n regtest status 2>"$tmp/err" &&
	fail "status without a node worked"
grep -q "no node running" "$tmp/err" || fail "no clear error without a node"
# through all of it node a's memory stayed bounded (where /proc tells)
if [ -r "/proc/$apid/status" ]; then
	hwm=$(sed -n "s/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p" "/proc/$apid/status")
	[ "$hwm" -lt 131072 ] || fail "node a peaked at $hwm KiB"
fi
grep -q -e Sanitizer -e "runtime error" "$tmp"/*.log 2>/dev/null &&
	fail "a sanitizer report in a node's log"
exit 0
