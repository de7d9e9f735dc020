#!/bin/sh
# t/light_test.sh - light nodes (run -S): headers-only sync of a 2,000
# block chain, a restart from the headers file (whole, then cut
# mid-header), a reorg among headers; a balance proven by full peers; a
# withholding peer outvoted by the union; false proofs (a forged branch,
# a transaction that does not pay, a block not on the best chain) banned
# while an honest peer still gives the truth; a payment from a light node
# mined; full nodes that never announce transactions to a light node nor
# take it as a source of headers or blocks.  The false peers are
# t/testpeer proxies in front of an honest node; a heavier fork from a
# peer that then goes silent, after which an honest peer telling the
# truth about the old tip is not banned.  Ports 28000-28099.
# Every wait is bounded; every process is stopped.
set -u
. t/lib.sh
peer=${TESTPEER:-./t/testpeer}
fail() { echo "light_test: $*" >&2; logs; exit 1; }
field() { ctl "$1" status | sed -n "s/^$2 //p"; }
tipof() { ctl "$1" tip | sed -n 's/^hash //p'; }
# at NODE HEIGHT: wait (bounded) for a height.
at() { upto 30 sh -c \
	"'$bin' -d '$tmp/$1' -n regtest status | grep -q '^height $2\$'"; }
# has NODE LINE: wait (bounded) for a line of its balance.
has() { upto 20 sh -c \
	"'$bin' -d '$tmp/$1' -n regtest balance | grep -q '^$2\$'"; }
# light NAME [OPTIONS]: a light node, outbound only.
light() {
	name=$1
	shift
	"$bin" -d "$tmp/$name" -n regtest -S -t handshake=2 -t ping=1 "$@" \
		run 2>>"$tmp/$name.log" &
	lpid=$!
	pids="$pids $lpid"
}
stop() { ctl "$1" stop >/dev/null; reap $lpid; }
F=127.100.0.1 G=127.101.0.1 H=127.102.0.1 N=127.103.0.1
hdr=$tmp/l/regtest/hdr00000.dat

# Headers only: 2,000 blocks' headers, in one file of 92-byte records.
ctl f mine 1995 >/dev/null || fail "f did not mine"
cp -R "$tmp/f" "$tmp/g"               # (g forks from f at 1,995: below)
ctl f mine 5 >/dev/null || fail "f did not mine"
node f $F:28001 -o 0
upto 10 ctl f status || fail "f did not start"
if ! ctl f status | grep -q "^listen $F"; then
	echo "light_test: skipped: this system has no $F (only 127.0.0.1?)"
	exit 0
fi
light l -c $F:28001
at l 2000 || fail "the light node did not sync 2,000 headers"
[ "$(field l role)" = light ] || fail "l's role: $(field l role)"
[ "$(tipof l)" = "$(tipof f)" ] || fail "l's tip is not f's"
[ "$(wc -c <"$hdr")" -eq $((2000 * 92)) ] ||
	fail "hdr00000.dat: $(wc -c <"$hdr") bytes"
ls "$tmp/l/regtest" | grep -q blk && fail "the light node keeps block files"
ctl l block 5 2>&1 | grep -q "keeps headers" || fail "block: no clear error"
stop l
# ...a restart reads them back, without a peer...
light l -o 0
at l 2000 || fail "the restarted light node is not at 2,000"
stop l
# ...and one cut mid-header drops that header alone, said in the log.
dd if="$hdr" of="$tmp/cut" bs=92 count=1999 2>/dev/null
dd if="$hdr" bs=1 skip=$((1999 * 92)) count=40 2>/dev/null >>"$tmp/cut"
cp "$tmp/cut" "$hdr"
light l -o 0
at l 1999 || fail "the cut headers file did not give height 1,999"
grep -q "hdr00000.dat: torn record" "$tmp/l.log" ||
	fail "the cut was not reported"
[ "$(wc -c <"$hdr")" -eq $((1999 * 92)) ] || fail "the torn header was not cut"
stop l

# A reorg among headers: g has f's first 1,995 blocks and mined 8 of its
# own (to a key of its own); l follows them.  (A fork deeper than 1,000
# blocks would not be followed: side-too-far.)
ctl g mine 8 "$(ctl g address new)" >/dev/null || fail "g did not mine"
node g $G:28002 -o 0
upto 10 ctl g status || fail "g did not start"
light l -o 0
at l 1999 && ctl l connect $F:28001 >/dev/null && at l 2000 ||
	fail "l did not catch up with f"
ctl l connect $G:28002 >/dev/null || fail "l cannot dial g"
at l 2003 || fail "l did not follow g's heavier chain"
[ "$(tipof l)" = "$(tipof g)" ] || fail "l's tip is not g's after the reorg"
stop l
kill_f() { ctl f stop >/dev/null; }
kill_f

# Proofs.  h follows g; g pays l twice in one block (3 transactions: a
# branch of 2 hashes) and mines one block to l (immature).
node h $H:28003 -o 0 -c $G:28002
la=$(ctl l address) || fail "l has no address"
ga=$(ctl g address)
ctl g send 3 "$la" >/dev/null && ctl g send 4 "$la" >/dev/null ||
	fail "g cannot pay l"
ctl g mine 1 >/dev/null && ctl g mine 1 "$la" >/dev/null ||
	fail "g did not mine"
at h 2005 || fail "h did not follow g"
"$peer" -b 127.110.0.1 $G 28002 proxy 28010 withhold & pids="$pids $!"
"$peer" -b 127.111.0.1 $G 28002 proxy 28011 branch & pids="$pids $!"
"$peer" -b 127.112.0.1 $G 28002 proxy 28012 pay & pids="$pids $!"
"$peer" -b 127.113.0.1 $G 28002 proxy 28013 block & pids="$pids $!"
sleep 0.3
# A withholding peer alone: nothing proven; the union with an honest peer
# proves all of it.
light l -o 0
upto 10 ctl l status || fail "l did not restart"
ctl l connect 127.110.0.1:28010 >/dev/null ||
	fail "l cannot dial the withholder"
at l 2005 || fail "l did not sync through the withholder"
upto 10 grep -q "proofs: 0 outputs from 127.110.0.1" "$tmp/l.log" ||
	fail "the withholder's answer did not come"
has l "confirmed 0.00000000" || fail "withheld outputs were counted"
ctl l connect $H:28003 >/dev/null || fail "l cannot dial h"
has l "confirmed 7.00000000" ||
	fail "the union did not prove 7 coins: $(ctl l balance)"
ctl l balance | grep -q "^immature 0.00000000$" &&
	fail "the coinbase is not immature"
# ...and in the next round (a block), the withholder's answer, the last,
# takes nothing away.
ctl g mine 1 >/dev/null && at l 2006 || fail "l did not follow g's block"
upto 10 sh -c \
	"[ \$(grep -c 'proofs: 0 outputs from 127.110' '$tmp/l.log') = 2 ]" ||
	fail "the withholder did not answer again"
has l "confirmed 7.00000000" || fail "the withholder took outputs away"
# False proofs: each liar is banned at once; the truth stands.
for x in 127.111.0.1:28011 127.112.0.1:28012 127.113.0.1:28013; do
	ctl l connect $x >/dev/null || fail "l cannot dial $x"
done
upto 20 sh -c \
	"[ \$('$bin' -d '$tmp/l' -n regtest status |
		sed -n 's/^bans //p') = 3 ]" ||
	fail "l banned $(field l bans) of the 3 liars"
[ "$(grep -c 'false proof' "$tmp/l.log")" -ge 3 ] ||
	fail "no false proof logged"
ctl l peers | grep -q "^$H:28003 out ready full" || fail "h is not l's peer"
has l "confirmed 7.00000000" ||
	fail "l's balance after the liars: $(ctl l balance)"
ctl l peers | grep -q "^127.11[123]" && fail "a liar is still connected"

# The light node pays g; g mines it; l proves its change.
tx=$(ctl l send 1 "$ga") || fail "l cannot pay g"
upto 20 sh -c "'$bin' -d '$tmp/g' -n regtest tx $tx | grep -q 'in mempool'" ||
	fail "l's payment did not reach g"
ctl g mine 1 >/dev/null
has l "confirmed 5.99990000" ||
	fail "l's change is not proven: $(ctl l balance)"
has l "unconfirmed 0.00000000" || fail "the payment is still unconfirmed"
ctl l tx "$tx" | grep -q "confirmations\{0,1\} (proven)" ||
	fail "tx does not show the proof"
ctl l stats >"$tmp/st"; grep -q "^gossip tx-announced in 0 " "$tmp/st" ||
	fail "a full node announced a transaction to l: $(cat "$tmp/st")"
stop l

# A heavier fork (Hardening III, finding 4): a proxy in front of g answers
# l's first getheaders with 2,000 headers forking 10 blocks below its tip,
# then never answers again (the headers request stays open).  l reorgs,
# and asks about its new tip at once: h, dialled then, tells the truth
# about the chain it knows and is never banned for it.
"$peer" -b 127.114.0.1 $G 28002 proxy 28014 fork & pids="$pids $!"
sleep 0.3
light l -o 0 -c 127.114.0.1:28014
at l $(($(field g height) - 10 + 2000)) || fail "l did not take the fork"
ctl l connect $H:28003 >/dev/null || fail "l cannot dial h"
upto 10 sh -c "'$bin' -d '$tmp/l' -n regtest peers |
	grep -q '^$H:28003 out ready full'" || fail "h is not l's peer"
sleep 3
grep -q "ban $H" "$tmp/l.log" && fail "l banned h for the truth"
ctl l peers | grep -q "^$H:28003 out ready full" || fail "l dropped h"
stop l

# A full node never takes a light peer as a source: n (height 0) gets no
# getheaders or getdata through a light node k that knows 2,006 headers,
# and announces none of its mempool to it.
ctl g send 1 "$ga" >/dev/null || fail "g cannot pay itself"
node n $N:28004 -o 0
light k -o 0 -c $G:28002
top=$(field g height)
at k $top || fail "k did not sync"
ctl k connect $N:28004 >/dev/null || fail "k cannot dial n"
upto 10 sh -c \
	"'$bin' -d '$tmp/n' -n regtest peers | grep -q ' in ready light'" ||
	fail "n does not see k as a light peer"
sleep 2
ctl k stats | grep -q "^get\(headers\|data\) in [1-9]" &&
	fail "n asked k for headers or blocks"
ctl k stats | grep -q "^gossip tx-announced in 0 " ||
	fail "g or n announced a transaction to k"
[ "$(field n height)" = 0 ] || fail "n synced from the light node"
ctl n connect $G:28002 >/dev/null && at n $top || fail "n did not sync from g"
exit 0
