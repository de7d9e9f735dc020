#!/bin/sh
# t/discovery_test.sh - peer discovery and network groups on loopback.
#   1. 20 nodes, node i alone on 127.(20+i).0.1, each given only node 0 as
#      seed, all reach 8 outbound peers, each in a different group, and
#      the connection graph is connected;
#   2. stopped and restarted with no seeds at all, they reconnect from
#      their peers.dat;
#   3. 50 nodes sharing one /16 (127.99.0.x) and 7 honest nodes: a victim
#      that knows them all gives the 50 at most one of its 8 outbound slots.
# Ports 22000-22199.  Every wait is bounded; every node is stopped.
set -u
. t/lib.sh
fail() { echo "discovery_test: $*" >&2; exit 1; }

# node NAME IP:PORT [OPTIONS...]: start a regtest node in the background.
node() {
	name=$1 addr=$2
	shift 2
	"$bin" -d "$tmp/$name" -n regtest -l "$addr" -q -t handshake=3 "$@" \
		run 2>>"$tmp/$name.log" &
	pids="$pids $!"
}
outs() { ctl "$1" peers 2>/dev/null | grep -c " out ready "; }
# wait_all SECONDS: until every node 0..19 has 8 outbound peers.
wait_all() {
	n=$(($1 * 2))
	while [ $n -gt 0 ]; do
		short=0
		i=0
		while [ $i -lt 20 ]; do
			[ "$(outs n$i)" -ge 8 ] || short=$((short + 1))
			i=$((i + 1))
		done
		[ $short -eq 0 ] && return 0
		sleep 0.5
		n=$((n - 1))
	done
	echo "discovery_test: $short nodes short of 8 outbound peers" >&2
	return 1
}
# stop_all: stop nodes 0..19 through their control sockets, and wait.
stop_all() {
	i=0
	while [ $i -lt 20 ]; do ctl n$i stop >/dev/null 2>&1; i=$((i + 1)); done
	reap $pids
	pids=
}

node probe 127.20.0.1:22099
n=100
until ctl probe status >/dev/null 2>&1 ||
	grep -q "cannot listen" "$tmp/probe.log" ||
      [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
if grep -q "cannot listen" "$tmp/probe.log"; then
	echo "discovery_test: skipped: this system has no 127.20.0.1" \
		"(only 127.0.0.1?)"
	exit 0
fi
ctl probe stop >/dev/null
reap $pids
pids=

# 1. discovery from one seed
i=0
while [ $i -lt 20 ]; do
	seed=
	[ $i -gt 0 ] && seed="-s 127.20.0.1:22000"
	node n$i 127.$((20 + i)).0.1:$((22000 + i)) $seed
	i=$((i + 1))
done
wait_all 60 || fail "discovery did not give every node 8 outbound peers"
i=0
: >"$tmp/edges"
while [ $i -lt 20 ]; do
	ctl n$i peers | awk -v me=$i '$2 == "out" && $3 == "ready" {
		split($1, a, "."); print me, a[2] - 20 }' >>"$tmp/edges"
	groups=$(ctl n$i peers |
		awk '$2 == "out" { split($1, a, "."); print a[1] "." a[2] }' |
		sort | uniq -d | wc -l)
	[ "$groups" -eq 0 ] ||
		fail "node $i has two outbound peers in one group"
	i=$((i + 1))
done
reached=$(awk '{ adj[$1] = adj[$1] " " $2; adj[$2] = adj[$2] " " $1 }
	END { seen[0] = 1; queue[0] = 0; qn = 1
	      for (q = 0; q < qn; q++) { n = split(adj[queue[q]], nb, " ")
	          for (k = 1; k <= n; k++)
	              if (!(nb[k] in seen)) {
	                  seen[nb[k]] = 1
	                  queue[qn++] = nb[k]
	              }
	      }
	      print qn }' "$tmp/edges")
[ "$reached" -eq 20 ] ||
	fail "the connection graph reaches $reached of 20 nodes"

# 2. restart with no seeds: peers.dat is enough
stop_all
i=0
while [ $i -lt 20 ]; do
	[ -s "$tmp/n$i/regtest/peers.dat" ] || fail "node $i saved no peers.dat"
	node n$i 127.$((20 + i)).0.1:$((22000 + i))
	i=$((i + 1))
done
wait_all 60 || fail "restarted nodes did not reconnect from peers.dat"
stop_all

# 3. fifty nodes in one group take at most one outbound slot of a victim
seeds=
i=1
while [ $i -le 50 ]; do
	node s$i 127.99.0.$i:$((22100 + i)) -o 0
	seeds="$seeds -s 127.99.0.$i:$((22100 + i))"
	i=$((i + 1))
done
i=1
while [ $i -le 7 ]; do
	node h$i 127.$((100 + i)).0.1:$((22160 + i)) -o 0
	seeds="$seeds -s 127.$((100 + i)).0.1:$((22160 + i))"
	i=$((i + 1))
done
sleep 1
node victim 127.98.0.1:22199 $seeds
n=40
while [ $n -gt 0 ] &&
	[ "$(outs victim)" -lt 8 ]; do sleep 0.5; n=$((n - 1)); done
[ "$(outs victim)" -eq 8 ] ||
	fail "the victim has $(outs victim) outbound peers, not 8"
sleep 2
bad=$(ctl victim peers | grep " out " | grep -c "^127\.99\.")
[ "$bad" -le 1 ] || fail "the victim gave $bad outbound slots to one group"
grep -q -e Sanitizer -e "runtime error" "$tmp"/*.log 2>/dev/null &&
	fail "a sanitizer report in a node's log"
exit 0
