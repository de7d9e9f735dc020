#!/bin/sh
# t/cross_node.sh CC RUNNER PORT - a node built by CC (static) and run
# under RUNNER (qemu-arm: 32-bit; qemu-s390x: big-endian) against this
# machine's own ./peerchain, on loopback ports PORT and PORT+1: the
# emulated node syncs 105 blocks from the native one, is paid by it, pays
# it back, and follows the block that confirms its payment.  Its files,
# wallet and messages are written by the other machine's code, so every
# byte order and word size meets the other.  .ci/run calls it for armhf
# and s390x; it needs the cross compiler and qemu-user.
set -u
. t/lib.sh
cc=$1 run=$2 port=$3
fail() { echo "cross_node ($run): $*" >&2; logs; exit 1; }
x() { "$run" "$tmp/pc" -d "$tmp/x" -n regtest "$@"; }
field() { sed -n "s/^$1 //p"; }

# shellcheck disable=SC2046
"$cc" -std=c99 -O2 -static -o "$tmp/pc" \
	$(sed -n 's/^OBJ = //p' Makefile | sed 's/\.o/.c/g') ||
	fail "cannot build with $cc"
na=$(ctl n address) && ctl n mine 105 >/dev/null || fail "no native chain"
xa=$(x address) || fail "the emulated node makes no wallet"

"$bin" -d "$tmp/n" -n regtest -l "127.0.0.1:$port" run 2>>"$tmp/n.log" &
pids="$pids $!"
"$run" "$tmp/pc" -d "$tmp/x" -n regtest -l "127.0.0.1:$((port + 1))" \
	-c "127.0.0.1:$port" run 2>>"$tmp/x.log" &
pids="$pids $!"
at() { [ "$(x status 2>/dev/null | field height)" = "$1" ]; }
upto 120 at 105 || fail "the emulated node did not sync 105 blocks"

# A payment to the emulated node, through gossip, then into a block.
t1=$(ctl n send 7 "$xa") || fail "the native node cannot pay"
upto 60 sh -c "'$run' '$tmp/pc' -d '$tmp/x' -n regtest tx $t1 |
	grep -q 'status in mempool'" || fail "the payment did not arrive"
ctl n mine 1 >/dev/null && upto 60 at 106 || fail "block 106 not followed"
[ "$(x balance | field confirmed)" = 7.00000000 ] ||
	fail "the emulated node's balance is not 7"

# A payment back, mined by the native node, followed by the emulated one.
t2=$(x send 3 "$na") || fail "the emulated node cannot pay"
upto 60 sh -c "'$bin' -d '$tmp/n' -n regtest tx $t2 |
	grep -q 'status in mempool'" || fail "its payment did not arrive"
ctl n mine 1 >/dev/null && upto 60 at 107 || fail "block 107 not followed"
x tx "$t2" | grep -q '^status confirmed in block 107' ||
	fail "the emulated node does not see its payment confirmed"
echo "cross_node ($run): ok"
