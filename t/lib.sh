# t/lib.sh - what the network tests share, sourced from the top of the
# tree: a scratch directory, the list of nodes they start (every one is
# stopped on exit, pass or fail, and the directory removed), `ctl`, the
# control client of a node by name, and `upto`, a bounded retry.
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
