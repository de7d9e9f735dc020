#!/bin/sh
# t/localnet.sh - a local peerchain network on this machine, and a tour of
# it (`make localnet`; `make localnet N=8 ONCE=1`).
#
# Starts N nodes (default 5) of the `local` network, each on its own
# loopback address 127.(30+i).0.1 where the system has them (else all on
# 127.0.0.1 without the one-peer-per-group rule), each with its own data
# directory under a temporary directory and only the node before it as a
# seed; nodes 0 and 1 mine, each SHARE percent of the time (-M, default
# 25: the rest of the machine is the other nodes'), and the last is a light
# node (run -S: headers only, outbound only).  Once coins have matured it
# pays a coin from node 0's wallet to the light node, shows the payment
# spread among the full nodes by gossip, get mined and appear in the light
# node's balance, proven by its full peers, and prints a table of the nodes
# and their roles, and writes the network's picture to localnet.dot (and,
# where Graphviz's dot is installed, localnet.svg and localnet.png).
# Then it keeps the network running until Ctrl-C (or, with ONCE=1, stops
# at once), the table redrawn in place every 5 s on a terminal (every 30 s
# as plain lines otherwise), stops every node cleanly and removes the
# directory.
set -u
N=${N:-5}
NET=${NET:-local}
ONCE=${ONCE:-}
SHARE=${SHARE:-25}
bin=${PEERCHAIN:-./peerchain}
case $N in ''|*[!0-9]*) echo "localnet: N must be a number" >&2; exit 2;; esac
[ "$N" -ge 2 ] && [ "$N" -le 50 ] ||
	{ echo "localnet: N from 2 to 50" >&2; exit 2; }
tmp=$(mktemp -d) || exit 1
pids=
ip_base=30 group=
alive() { for p in $pids; do kill -0 "$p" 2>/dev/null &&
	return 0; done; return 1; }
# bye: stop every node through its control socket, wait (10 s at most,
# then kill), remove the directory.
bye() {
	trap - EXIT INT TERM
	echo "stopping $N nodes..."
	i=0
	while [ $i -lt "$N" ]; do pc $i stop >/dev/null 2>&1; i=$((i + 1)); done
	n=100
	while [ $n -gt 0 ] && alive; do sleep 0.1; n=$((n - 1)); done
	kill -9 $pids 2>/dev/null
	rm -rf "$tmp"
	[ -d "$tmp" ] && exit 1
	echo "all stopped; nothing left behind"
	# The tour's verdict, for CI: every check above held.
	[ "${1:-0}" = 0 ] && [ "${good:-}" = 3 ] && echo "localnet: ok"
	exit "${1:-0}"
}
trap 'bye 1' EXIT
trap 'bye 0' INT TERM

ip() { [ -n "$group" ] && echo 127.0.0.1 || echo "127.$((ip_base + $1)).0.1"; }
port() { echo $((19333 + $1)); }
pc() { k=$1; shift; "$bin" -d "$tmp/n$k" -n "$NET" "$@"; }
# start I [OPTIONS...]: node I in the background, logging to n I.log.
start() {
	k=$1
	shift
	"$bin" -d "$tmp/n$k" -n "$NET" -l "$(ip "$k"):$(port "$k")" $group \
		"$@" \
		run 2>>"$tmp/n$k.log" &
	pids="$pids $!"
}
# upto SECONDS COMMAND...: retry every 0.2 s until the command works.
upto() {
	n=$(($1 * 5))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}
field() { pc "$1" "$2" 2>/dev/null | sed -n "s/^$3 //p"; }
has_tx() { pc "$1" tx "$2" 2>/dev/null | grep -q "^status"; }
mined() { pc "$1" tx "$2" 2>/dev/null | grep -q "^status confirmed"; }
all_have() { k=0; while [ $k -lt "$last" ]; do has_tx $k "$1" ||
	return 1; k=$((k + 1)); done; }
btime() { pc 0 block "$1" 2>/dev/null | sed -n 's/^time //p'; }
# mature: node 0 has coins to spend, and the last 10 blocks took 20 s or
# more (a payment then spreads by gossip before the next block, mostly).
mature() { c=$(field 0 balance confirmed) h=$(field 0 tip height)
	[ "${c%%.*}" -ge 2 ] 2>/dev/null && [ "$h" -ge 40 ] 2>/dev/null ||
		return 1
	t1=$(btime "$h") t0=$(btime $((h - 10)))
	[ $((${t1:-0} - ${t0:-0})) -ge 20 ]; }

[ -x "$bin" ] || { echo "localnet: build peerchain first (make)" >&2; exit 1; }
echo "localnet: $N nodes of the '$NET' network in $tmp"
last=$((N - 1))
start 0 -M "$SHARE"
if ! upto 10 pc 0 status; then
	grep -q "cannot listen" "$tmp/n0.log" ||
		{ cat "$tmp/n0.log" >&2; exit 1; }
	echo "(no 127.30.0.1 here: all nodes on 127.0.0.1, group rule off)"
	group=-G
	start 0 -M "$SHARE"
	upto 10 pc 0 status || { cat "$tmp/n0.log" >&2; exit 1; }
fi
i=1
while [ $i -lt "$N" ]; do
	role=
	[ $i -eq 1 ] && role="-M $SHARE"
	seed="-s $(ip $((i - 1))):$(port $((i - 1)))"
	if [ $i -eq $last ]; then
		# The light node learns no loopback addresses: it is given
		# two full peers to connect to.
		role=-S
		j=$((i > 2 ? i - 2 : 0))
		seed="-c ${seed#-s } -c $(ip $j):$(port $j)"
	fi
	start $i $role $seed
	i=$((i + 1))
done
i=0
while [ $i -lt "$N" ]; do
	upto 10 pc $i status || { echo "localnet: node $i did not start:" >&2
		cat "$tmp/n$i.log" >&2; exit 1; }
	echo "node $i: $(ip $i):$(port $i), $(field $i status role)"
	i=$((i + 1))
done

echo "waiting for blocks: the first come at once, then the target rises"
echo "every 10 blocks towards one block per 5 s; coins mature after 10;"
echo "the tour goes on once blocks take 2 s or more..."
upto 180 mature ||
	{ echo "localnet: no mature coins after 3 minutes" >&2; exit 1; }
echo "height $(field 0 tip height):" \
	"node 0 holds $(field 0 balance confirmed) coins"

to=$(pc $last address) || exit 1
tx=$(pc 0 send 1 "$to" 0.001) || exit 1
echo "node 0 pays 1 coin to node $last, the light node: transaction $tx"
echo "Dandelion++: it goes first along a stem, one relay after another, not"
echo "announced, until a diffuser (or an embargo of 10 to 30 s) fluffs it..."
upto 40 all_have "$tx" || echo "(not every full node has it after 40 s)"
i=0
while [ $i -lt "$N" ]; do
	sed -n "s/.*stem tx $tx to \(.*\)/  node $i passed it on (stem) to \1/p
		s/.*fluff tx $tx: \(.*\)/  node $i fluffed it: \1/p" \
		"$tmp/n$i.log"
	i=$((i + 1))
done
t0=$(pc 0 seen "$tx" 2>/dev/null || echo 0)
i=0 gossiped=0
while [ $i -lt "$last" ]; do
	if t=$(pc $i seen "$tx" 2>/dev/null); then
		echo "  node $i has it after $((t - t0)) ms"
		gossiped=$((gossiped + 1))
	else
		echo "  node $i had it in a block first"
	fi
	i=$((i + 1))
done
good=0
if [ $gossiped -eq $last ]; then
	good=1
	echo "  the payment reached every full node by gossip" \
		"before it was mined"
else
	echo "  (only $gossiped of $last full nodes had it by gossip" \
		"before it was mined)"
fi
echo "  node $last, light, takes no one's transactions: it waits for a proof"
echo "waiting for a miner to put it in a block..."
upto 120 mined $last "$tx" || echo "(not mined, or not proven, after 2 minutes)"
pc $last tx "$tx" | sed -n 's/^status /  node '$last': /p'
upto 20 eval '[ "$(field $last balance confirmed)" != 0.00000000 ]'
echo "node $last's balance: $(field $last balance confirmed) confirmed," \
	"proven by its full peers' merkle branches"
[ "$(field $last balance confirmed)" = 1.00000000 ] && good=$((good + 1))

# table: the state of every node, and whether they agree
table() {
	printf '%-5s %-7s %-21s %-5s %-6s %-16s %s\n' node role address peers \
		height tip mempool
	first= agree=yes i=0
	while [ $i -lt "$N" ]; do
		st=$(pc $i status 2>/dev/null)
		peers=$(echo "$st" |
			sed -n 's/^peers \([0-9]*\) in, \([0-9]*\) out/\1 \2/p')
		h=$(field $i tip hash)
		[ $i = $last ] && a=outbound-only || a=$(ip $i):$(port $i)
		printf '%-5s %-7s %-21s %-5s %-6s %-16s %s\n' $i \
			"$(echo "$st" | sed -n 's/^role //p')" "$a" \
			$(( ${peers% *} + ${peers#* } )) \
				"$(field $i tip height)" \
			"$(echo "$h" | cut -c1-16)" \
				"$(field $i tip mempool | cut -d' ' -f1)"
		[ -z "$first" ] && first=$h
		[ "$h" = "$first" ] || agree=no
		i=$((i + 1))
	done
	[ $agree = yes ] && echo "all $N tips agree" ||
		echo "tips differ (a block is on its way?)"
}
agree() {
	t0=$(field 0 tip hash) k=1
	while [ $k -lt "$N" ]; do [ "$(field $k tip hash)" = "$t0" ] ||
		return 1; k=$((k + 1)); done
}
# picture: every node's own view (`peers dot`): its box, and its edges to
# the peers it dialled; into localnet.dot, rendered if dot is here.
picture() {
	{
		echo "digraph localnet {"
		i=0
		while [ $i -lt "$N" ]; do
			pc $i peers dot 2>/dev/null |
				sed -n -e "s/\"outbound only\"/\"node $i\"/g" \
				-e '/shape=box/p' -e '/label=out\]/p'
			i=$((i + 1))
		done
		echo "}"
	} > localnet.dot
	command -v dot >/dev/null 2>&1 || return 1
	dot -Tsvg localnet.dot -o localnet.svg &&
		dot -Tpng localnet.dot -o localnet.png
}
upto 10 agree
table
if picture; then
	good=$((good + 1))
	echo "picture of the network: localnet.dot, localnet.svg, localnet.png"
else
	echo "picture of the network: localnet.dot (with Graphviz installed:" \
		"dot -Tsvg localnet.dot -o localnet.svg)"
fi
if [ -n "$ONCE" ]; then
	bye 0
fi
echo "the network keeps running; Ctrl-C stops it.  Try:"
echo "  $bin -d $tmp/n0 -n $NET status    (or peers, tip, balance, stats)"
[ -t 1 ] && every=5 || every=30
up=
while :; do
	sleep $every
	upto 10 agree
	[ $every = 5 ] && [ -n "$up" ] && printf '\033[%dA\033[J' $((N + 3))
	echo "--- $(date +%H:%M:%S)"
	table
	picture
	up=yes
done
