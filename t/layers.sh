#!/bin/sh
# t/layers.sh - the layers hold, read from the object files themselves:
# each object uses (nm: its undefined symbols) only objects below it in
# the Makefile's OBJ order, and no objects use each other around a circle
# (tsort finds none).  Run by `make test`, which gives it OBJ.
set -u
[ -n "${OBJ:-}" ] || { echo "layers: no OBJ: run me through make" >&2; exit 1; }
order=$(echo "$OBJ" | sed 's/\.o//g')
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "layers: $*" >&2; exit 1; }

for o in $order; do
	[ -f "$o.o" ] || fail "no $o.o: run make first"
	nm -P -g "$o.o" | awk -v o="$o" '$2 != "U" && $2 != "w" { print $1, o }'
done >"$tmp/defs"
for o in $order; do
	nm -P -g "$o.o" | awk '$2 == "U" { print $1 }' | while read -r sym; do
		awk -v s="$sym" -v o="$o" '$1 == s && $2 != o { print o, $2 }' \
			"$tmp/defs"
	done
done | sort -u >"$tmp/uses"
[ -s "$tmp/uses" ] || fail "no object uses another: nm read nothing?"
tsort "$tmp/uses" >/dev/null 2>"$tmp/err" && [ ! -s "$tmp/err" ] ||
	fail "the objects use each other around a circle: $(cat "$tmp/err")"
rank() { echo "$order" | tr ' ' '\n' | grep -n "^$1\$" | cut -d: -f1; }
while read -r user used; do
	[ "$(rank "$user")" -gt "$(rank "$used")" ] ||
		fail "$user.o uses $used.o, which is above it"
done <"$tmp/uses"
exit 0
