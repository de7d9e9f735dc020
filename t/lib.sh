# t/lib.sh - what the network tests share, sourced from the top of the
# tree: a scratch directory, the list of nodes they start (every one is
# stopped on exit, pass or fail, and the directory removed), `ctl`, the
# control client of a node by name, `upto`, a bounded retry, `node`, a
# regtest node with short timeouts, `logs`, the tails of its logs, and
# `rss_kib`, the mean memory of processes.
bin=${PEERCHAIN:-./peerchain}
tmp=$(mktemp -d) || exit 1
pids=
# reap PID...: wait for processes told to stop; any still there after 10 s
# is killed, so no wait is unbounded.
reap() {
	[ $# -gt 0 ] || return 0
	( trap 'kill $s 2>/dev/null; exit 0' TERM
	  sleep 10 & s=$!
	  wait $s && kill -9 "$@" 2>/dev/null ) &
	dog=$!
	for p in "$@"; do wait "$p" 2>/dev/null; done
	kill "$dog" 2>/dev/null
}
# upto SECONDS COMMAND...: retry the command every 0.1 s until it works.
upto() {
	n=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	reap $pids
	rm -rf "$tmp"
}
trap cleanup EXIT HUP INT PIPE TERM
ctl() { name=$1; shift; "$bin" -d "$tmp/$name" -n regtest "$@"; }
# node NAME IP:PORT [OPTIONS...]: a regtest node in the background, logging
# to $tmp/NAME.log, with a 2 s handshake, pings every second, 3 s frames.
node() {
	name=$1 addr=$2
	shift 2
	"$bin" -d "$tmp/$name" -n regtest -l "$addr" -t handshake=2 -t ping=1 \
		-t frame=3 "$@" run 2>>"$tmp/$name.log" &
	pids="$pids $!"
}
# rss_kib PID...: their mean resident memory in KiB (Linux: /proc).
rss_kib() {
	for p in "$@"; do
		sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$p/status" \
			2>/dev/null
	done | awk '{ s += $1; n++ } END { print n ? int(s / n) : 0 }'
}
# logs: the last lines of every node's log, on stderr (for a failure).
logs() { for f in "$tmp"/*.log; do echo "== $f"; tail -n 30 "$f"; done >&2; }
