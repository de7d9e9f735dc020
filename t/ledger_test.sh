#!/bin/sh
# t/ledger_test.sh - the command line on a regtest data directory: a
# wallet and mining with no node running; then, through a running node
# (listening nowhere), a payment through the mempool into a block, clear
# errors, and the one-time-leaf rule across a crash: the node is killed
# after the wallet wrote its next leaf and before it signed, and the next
# payment must sign with a later leaf.
set -u
bin=${PEERCHAIN:-./peerchain}
tmp=$(mktemp -d) || exit 1
node=
trap '[ -n "$node" ] && kill $node 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
pc() { "$bin" -d "$tmp/d" -n regtest "$@"; }
# gone: wait for the node to exit; a watchdog kills it after 10 s
gone() {
	( trap 'kill $s 2>/dev/null; exit 0' TERM
	  sleep 10 & s=$!
	  wait $s && kill -9 "$node" 2>/dev/null ) &
	dog=$!
	wait "$node"
	kill "$dog" 2>/dev/null
	node=
}
# start the node (with any environment given) and wait for its socket
start() {
	env "$@" "$bin" -d "$tmp/d" -n regtest -L run 2>>"$tmp/node.log" &
	node=$!
	i=0
	until pc status >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "the node did not start"
		sleep 0.1
	done
}

fail() { echo "ledger_test: $*" >&2; exit 1; }
field() { sed -n "s/^$1 //p" "$tmp/out"; }

pc balance >"$tmp/out" 2>"$tmp/err" && fail "balance without a wallet worked"
grep -q 'no wallet' "$tmp/err" || fail "no clear error without a wallet"
a=$(pc address) || fail "address failed"
[ "$(pc address)" = "$a" ] || fail "address changed by itself"
pc mine 12 >"$tmp/out" || fail "mine failed"
[ "$(wc -l <"$tmp/out")" -eq 12 ] ||
	fail "mine printed $(wc -l <"$tmp/out") blocks"
pc tip >"$tmp/out" || fail "tip failed"
[ "$(field height)" = 12 ] || fail "height is not 12"
pc balance >"$tmp/out"
[ "$(field confirmed)" = 150.00000000 ] || fail "confirmed: $(field confirmed)"
[ "$(field immature)" = 450.00000000 ] || fail "immature: $(field immature)"

b=$(pc address new) || fail "address new failed"
[ "$b" != "$a" ] || fail "address new gave the same address"

pc send 10 "$b" 2>"$tmp/err" && fail "send worked with no node running"
grep -q 'no node running' "$tmp/err" || fail "no clear error without a node"

# the crash: leaf 0 is written to disk, then the node dies unsigned
start PEERCHAIN_CRASH_AFTER_LEAF=1
pc send 10 "$b" >/dev/null 2>&1 && fail "no crash"
gone
pc wallet | grep "^$a leaves 1/1024" >/dev/null || fail "leaf 0 not recorded"
pc tip >"$tmp/out"
[ "$(field mempool)" = "0 transactions, 0 bytes" ] || fail "crash left a tx"
start
# a node with no peers answers `peers` with nothing, and success
pc peers >"$tmp/out" 2>"$tmp/err" ||
	fail "peers failed on a node without peers: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "peers printed a peer that is not there"
tx=$(pc send 10 "$b" 0.5) || fail "send failed"
pc tx "$tx" >"$tmp/out" || fail "tx $tx not found"
grep -q '^in .* leaf 1$' "$tmp/out" ||
	fail "the payment did not sign with leaf 1"
grep -q '^in .* leaf 0$' "$tmp/out" && fail "leaf 0 was used again"
grep -q '^status in mempool' "$tmp/out" || fail "payment not in mempool"
pc balance >"$tmp/out"
[ "$(field confirmed)" = 100.00000000 ] ||
	fail "confirmed after send: $(field confirmed)"
[ "$(field unconfirmed)" = 49.50000000 ] ||
	fail "unconfirmed: $(field unconfirmed)"

pc mine 1 >/dev/null || fail "mine 1 failed"
pc tx "$tx" | grep -q '^status confirmed in block 13, 1 confirmation$' ||
	fail "payment not confirmed"
pc block 13 >"$tmp/out" || fail "block 13 failed"
grep -q "^tx 1 $tx\$" "$tmp/out" || fail "block 13 does not hold the payment"
h13=$(field hash)
prev=$(field previous)
pc block 12 | grep -q "^hash $prev\$" ||
	fail "block 13's previous is not block 12"
pc block "$h13" >"$tmp/out" || fail "block by hash failed"
[ "$(field height)" = 13 ] || fail "block by hash shows another block"
grep -q -e "^merkle $prev\$" -e "^merkle $h13\$" "$tmp/out" &&
	fail "the merkle root shows another hash"

# clear errors, nothing changed by them
pc send 1 "${b%?}x" 2>"$tmp/err" && fail "a bad address was taken"
grep -q 'not an address' "$tmp/err" || fail "no clear error for a bad address"
last=$(printf %s "$b" | cut -c72)
[ "$last" = 0 ] && typo=${b%?}1 || typo=${b%?}0
pc send 1 "$typo" 2>"$tmp/err" && fail "a mistyped address was taken"
grep -q 'checksum' "$tmp/err" || fail "no checksum error"
pc send 100000 "$b" 2>"$tmp/err" && fail "overspending worked"
grep -q 'insufficient funds' "$tmp/err" || fail "no insufficient funds error"
pc send 1.000000001 "$b" 2>/dev/null; [ $? -eq 2 ] ||
	fail "bad amount not a usage error"
pc mine 0 2>/dev/null; [ $? -eq 2 ] || fail "mine 0 not a usage error"
pc tx 00 2>/dev/null && fail "tx 00 worked"
pc block 999 2>/dev/null && fail "block 999 worked"
"$bin" -d "$tmp/d" -n nonesuch tip 2>"$tmp/err" && fail "unknown network worked"
grep -q "unknown network" "$tmp/err" || fail "no error for an unknown network"
pc tip >"$tmp/out"
[ "$(field height)" = 13 ] || fail "height is not 13 after the errors"

# mining to a given address: block 14's coinbase pays it
pc mine 1 "$a" >/dev/null || fail "mine 1 ADDRESS failed"
cb=$(pc block 14 | sed -n "s/^tx 0 //p")
pc tx "$cb" | grep -q "^out 50.00000000 $a\$" || fail "coinbase does not pay $a"
pc stop >/dev/null || fail "stop failed"
gone
pc tip >"$tmp/out" || fail "tip after the node stopped failed"
[ "$(field height)" = 14 ] || fail "height is not 14 after a restart"
exit 0
