#!/bin/sh
# t/hostile3_test.sh - the hostile-peer suite, part III (Hardening III):
# what a peer costs, framing an honest peer, sync stalls, and the data
# directory.  Each part performs the attack against a victim v (or a new
# node n) with an honest node h beside it, and checks that it fails and
# that the honest are still served.  Ports 28100-28199.  Every wait is
# bounded; every node is stopped.
set -u
. t/lib.sh
peer=${TESTPEER:-./t/testpeer}
fail() { echo "hostile3_test: $*" >&2; logs; exit 1; }
logged() { grep -q "$2" "$tmp/$1.log"; }
at() { upto "${3:-20}" sh -c \
	"'$bin' -d '$tmp/$1' -n regtest status | grep -q '^height $2\$'"; }
holds() { upto 20 sh -c \
	"'$bin' -d '$tmp/$1' -n regtest tip | grep -q '^mempool $2 '"; }
V=127.190.0.1 H=127.191.0.1 N=127.192.0.1

# Finding 3 (no network): a data directory another account could write,
# or plant symbolic links in, is refused or not followed.
d=$tmp/shared
mkdir -m 777 "$d" && chmod 777 "$d"
"$bin" -d "$d" -n regtest address >"$tmp/out" 2>&1 &&
	fail "a directory others may write was used"
grep -q "must be yours and no one else's to write" "$tmp/out" ||
	fail "no clear error for a directory others may write"
[ ! -e "$d/regtest/wallet.dat" ] || fail "a wallet was written there"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 "$tmp/theirs" && chown 65534 "$tmp/theirs"
	"$bin" -d "$tmp/theirs" -n regtest address >"$tmp/out" 2>&1 &&
		fail "another user's directory was used"
	grep -q "must be yours and no one else's to write" "$tmp/out" ||
		fail "no clear error for another user's directory"
fi
d=$tmp/mine
mkdir -m 700 "$d" "$d/regtest"
printf 'precious' >"$tmp/target"
ln -s "$tmp/target" "$d/regtest/wallet.dat.tmp"
"$bin" -d "$d" -n regtest address >/dev/null ||
	fail "a stale temporary file stopped the wallet"
[ "$(cat "$tmp/target")" = precious ] ||
	fail "the wallet was written through a planted symbolic link"
[ ! -L "$d/regtest/wallet.dat" ] || fail "wallet.dat is a link"
rm "$d/regtest/wallet.dat"
ln -s "$tmp/target" "$d/regtest/wallet.dat"
"$bin" -d "$d" -n regtest address >/dev/null 2>&1 &&
	fail "a wallet.dat that is a symbolic link was used"
dd if=/dev/zero of="$tmp/big" bs=1000 count=50 2>/dev/null
rm -f "$d/regtest"/blk*.dat
ln -s "$tmp/big" "$d/regtest/blk00000.dat"
"$bin" -d "$d" -n regtest tip >/dev/null 2>&1 &&
	fail "a block file that is a symbolic link was replayed"
[ "$(wc -c <"$tmp/big" | tr -d ' ')" = 50000 ] ||
	fail "a file outside the data directory was cut"
[ "$(cat "$tmp/target")" = precious ] || fail "the target was changed"
# ...and a read-only one is reported as such (finding 11), by a node run
# as another user (root may write anywhere), from a copy it can run.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	ro=$(mktemp -d) && chmod 755 "$ro" && cp "$bin" "$ro/pc" &&
		mkdir -p "$ro/d/regtest" && chown -R 65534 "$ro/d" &&
		chmod 555 "$ro/d" "$ro/d/regtest" ||
		{ rm -rf "$ro"; fail "no read-only directory"; }
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$ro/pc" -d "$ro/d" -n regtest tip >"$tmp/out" 2>&1
	k=$?
	rm -rf "$ro"
	[ $k != 0 ] || fail "a read-only directory was used"
	grep -q "is read-only" "$tmp/out" ||
		fail "no clear error for a read-only directory"
fi

node h $H:28101 -o 0
node v $V:28102 -c $H:28101
upto 10 ctl h status || fail "h did not start"
upto 10 ctl v status || fail "v did not start"
if ! ctl v status | grep -q "^listen $V"; then
	echo "hostile3_test: skipped: this system has no $V (only 127.0.0.1?)"
	exit 0
fi
me=$("$peer" $V 28102 key)
ctl h mine 30 "$me" >/dev/null || fail "h did not mine"
at v 30 || fail "v did not follow h to 30"

# Finding 12: a peer that said services 0 (a light node) announces a
# block: it is never asked for it; a full peer announcing one is.
[ "$("$peer" -L -b 127.193.0.1 $V 28102 blockinv 2)" = 0 ] ||
	fail "a light peer was asked for a block"
[ "$("$peer" -b 127.193.0.2 $V 28102 blockinv 2)" = 1 ] ||
	fail "a full peer was not asked for the block it announced"

# Finding 2: an honest peer announces 20 payments; each time v asks it,
# an attacker pushes the same payment first.  The honest answer costs
# nothing, and h gets every payment.
"$peer" -b 127.194.0.1 $V 28102 frame 1 20 ||
	fail "the framed peer was not served"
logged v "127.194.0.1:[0-9]* misbehaved.*unasked" &&
	fail "the honest answer was charged"
holds h 20 || fail "h did not get the 20 payments"
# ...and scores decay: two malformed messages (50 each) 2 s apart are
# not a ban; at once they are.
"$peer" -b 127.194.0.2 $V 28102 twice 2 ||
	fail "a peer was banned for offences 2 s apart"
"$peer" -b 127.194.0.3 $V 28102 twice 0 &&
	fail "two offences at once were not a ban"

# Finding 6: 300 getheaders, each with a fresh random first locator hash
# (so no two are alike): two answers (v's 31 headers are one batch, and
# a peer gets twice its chain's batches on one tip), not 300.
k=$("$peer" -b 127.195.0.1 $V 28102 getheaders 300)
[ "$k" = 2 ] || fail "300 disguised getheaders brought $k answers"

# Finding 5: a new node n; every 3 s a fresh connection claims a huge
# height and never answers; n also dials h.  It syncs from h regardless.
node n $N:28103 -o 0
upto 10 ctl n status || fail "n did not start"
( i=0; while [ $i -lt 7 ]; do i=$((i + 1))
	"$peer" -b 127.196.0.$i $N 28103 liar 3 >/dev/null 2>&1; done ) &
liars=$!
pids="$pids $liars"
sleep 1
ctl n connect $H:28101 >/dev/null || fail "n cannot dial h"
at n 30 15 || fail "the liars kept n from syncing ($(ctl n status |
	sed -n 's/^height //p'))"
kill $liars 2>/dev/null

for x in n v h; do ctl $x stop >/dev/null 2>&1; done
echo "hostile3_test: ok"
