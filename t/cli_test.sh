#!/bin/sh
# t/cli_test.sh - the peerchain command line: help, version, and a clear
# usage error (exit status 2, message on stderr) for anything unknown.
set -u
bin=${PEERCHAIN:-./peerchain}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() { echo "cli_test: $*" >&2; exit 1; }

"$bin" --version >"$tmp/out" 2>"$tmp/err" || fail "--version failed"
grep -q '^peerchain [0-9][0-9.]*$' "$tmp/out" ||
	fail "--version printed: $(cat "$tmp/out")"
"$bin" version | cmp -s - "$tmp/out" || fail "version differs from --version"

for h in help -h --help; do
	"$bin" $h >"$tmp/out" 2>"$tmp/err" || fail "$h failed"
	grep -q '^usage: peerchain' "$tmp/out" || fail "$h printed no usage"
	grep -q '^  version ' "$tmp/out" || fail "$h does not list version"
	[ -s "$tmp/err" ] && fail "$h wrote to stderr"
done

"$bin" frobnicate >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "unknown command did not exit 2"
grep -q "unknown command 'frobnicate'" "$tmp/err" ||
	fail "no message for unknown command"
[ -s "$tmp/out" ] && fail "unknown command wrote to stdout"

# -T takes a number of milliseconds from 0 to 60000, or "random"
for t in -5x -5 x 60001 ""; do
	"$bin" -T "$t" version >/dev/null 2>&1
	[ $? -eq 2 ] || fail "-T '$t' was taken"
done
"$bin" -T random version >/dev/null || fail "-T random refused"
"$bin" -T 0 version >/dev/null || fail "-T 0 refused"

"$bin" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "no command did not exit 2"
grep -q '^usage: peerchain' "$tmp/err" || fail "no command printed no usage"
exit 0
