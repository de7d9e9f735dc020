#!/bin/sh
# t/legacy_test.sh - files written by peerchain 0.1.0 before the code was
# restructured (t/vectors/legacy: a regtest chain of 12 blocks, a mempool
# of one payment, a wallet of two keys, an address book of two addresses
# and two bans) open in today's node and mean the same: the same tip,
# mempool, wallet and balance; a node rewrites mempool.dat and peers.dat
# byte for byte and keeps both bans; and the old wallet still signs.
set -u
. t/lib.sh
d=$tmp/old/regtest
mkdir -p "$d" && cp t/vectors/legacy/*.dat "$d/" || exit 1
pc() { "$bin" -d "$tmp/old" -n regtest "$@"; }
fail() { echo "legacy_test: $*" >&2; exit 1; }
a=5e3b566ddbee99fbc715e1348d3464f67ccec2bdd84552b7781f07f0dd77a0eb3683e9e6
b=7b747335426a904f2419ff575661f9a1065e49b2e41d1d8163c978d48f3dc3c4f41106cf

pc tip >"$tmp/out" || fail "tip failed"
grep -q '^height 12$' "$tmp/out" || fail "not at height 12"
hash=4fbe338d3a26c6785ea0188a94fc981da914a63e5d47ccfee694d5274b9a8c02
grep -q "^hash $hash\$" \
	"$tmp/out" || fail "another tip: $(cat "$tmp/out")"
grep -q '^mempool 1 transactions, 2878 bytes$' "$tmp/out" || fail "mempool lost"
pc wallet >"$tmp/out" || fail "wallet failed"
printf '%s leaves 1/1024\n%s leaves 0/1024 receiving\n' "$a" "$b" |
	cmp -s - "$tmp/out" ||
		fail "wallet reads differently: $(cat "$tmp/out")"
pc balance >"$tmp/out" || fail "balance failed"
printf '%s\n' 'confirmed 0.00000000' 'immature 450.00000000' \
	'unconfirmed 149.99990000' |
	cmp -s - "$tmp/out" || fail "balance differs: $(cat "$tmp/out")"

# a node (connect-only to a closed port: it dials nobody from the book)
# loads and saves the book, the bans and the mempool
"$bin" -d "$tmp/old" -n regtest -L -c 127.0.0.1:9 run 2>"$tmp/node.log" &
pids=$!
upto 10 pc status || fail "the node did not start"
pc status >"$tmp/out"
grep -q '^addresses 2$' "$tmp/out" ||
	fail "address book lost: $(cat "$tmp/out")"
grep -q '^bans 2$' "$tmp/out" || fail "bans lost"
pc stop >/dev/null
reap $pids
pids=
cmp -s "$d/mempool.dat" t/vectors/legacy/mempool.dat ||
	fail "mempool.dat rewritten differently"
cmp -s "$d/peers.dat" t/vectors/legacy/peers.dat ||
	fail "peers.dat rewritten differently"
recs() { od -A n -v -t x1 "$1" | tr -d ' \n' | cut -c17- | fold -w 48 | sort; }
[ "$(recs "$d/bans.dat")" = "$(recs t/vectors/legacy/bans.dat)" ] ||
	fail "bans.dat rewritten differently"

# the old wallet pays, once ten more blocks confirm the old mempool: its
# largest output, 149.9999 coins to the old receiving key b, goes first
pc mine 10 "$b" >/dev/null || fail "mine failed"
"$bin" -d "$tmp/old" -n regtest -L -c 127.0.0.1:9 run 2>>"$tmp/node.log" &
pids=$!
upto 10 pc status || fail "the node did not start again"
pc send 1 "$b" >"$tmp/out" 2>&1 ||
	fail "the old wallet cannot pay: $(cat "$tmp/out")"
pc wallet >"$tmp/out"; grep -q "^$b leaves 1/1024" "$tmp/out" ||
	fail "the payment took no leaf: $(cat "$tmp/out")"
pc stop >/dev/null
exit 0
