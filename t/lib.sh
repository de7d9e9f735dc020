# t/lib.sh - what the network tests share, sourced from the top of the
# tree: a scratch directory, the list of nodes they start (every one is
# stopped on exit, pass or fail, and the directory removed), and `ctl`,
# the control client of a node by name.
bin=${PEERCHAIN:-./peerchain}
tmp=$(mktemp -d) || exit 1
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ctl() { name=$1; shift; "$bin" -d "$tmp/$name" -n regtest "$@"; }
