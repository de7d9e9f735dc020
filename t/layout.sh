#!/bin/sh
# t/layout.sh - the layout rules (README, "Reading the code"), checked:
#   1. no line wider than 80 columns, with tabs of 8 (what cat, less and
#      vi show), in any C file, shell script or the Makefile;
#   2. in C, one statement a line: no two statements on one line, and a
#      body on its condition's line only for a guard (return, continue,
#      break, goto);
#   3. in C, no assignment inside an if or while condition but the
#      call-result idiom `if ((r = f(...)) != V_OK)`, and no ++ or --
#      inside an if (a countdown `while (n-- > 0)` is the one exception).
# Prints each line that breaks a rule as FILE:LINE: RULE, and exits 1 if
# there is any.  usage: t/layout.sh [FILE...]  (default: the whole tree)
set -u
[ $# -gt 0 ] || set -- *.c *.h t/*.c t/*.h t/fuzz/*.c t/*.sh t/fuzz/*.sh \
	.ci/run Makefile
awk '
# The width of a line with its tabs expanded to stops of 8.
function width(s,    i, w, c) {
	w = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		w = c == "\t" ? w + 8 - w % 8 : w + 1
	}
	return w
}
# The line as the rules see it: literals emptied, comments dropped (a
# block comment may go on over later lines: incomment says so).
function code(s,    out, i, c, q) {
	out = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (incomment) {
			if (substr(s, i, 2) == "*/") {
				incomment = 0
				i++
			}
			continue
		}
		if (substr(s, i, 2) == "/*") {
			incomment = 1
			i++
			continue
		}
		if (substr(s, i, 2) == "//")
			break
		if (c == "\"" || c == "\047") {
			q = c
			out = out q
			for (i++; i <= length(s) && substr(s, i, 1) != q; i++)
				if (substr(s, i, 1) == "\\")
					i++
			out = out q
			continue
		}
		out = out c
	}
	return out
}
function bad(rule) {
	printf "%s:%d: %s\n", FILENAME, FNR, rule
	errors++
}
# Where the parenthesis opened at i closes in s (0: not on this line).
function closing(s, i,    d) {
	d = 0
	for (; i <= length(s); i++) {
		if (substr(s, i, 1) == "(")
			d++
		else if (substr(s, i, 1) == ")" && --d == 0)
			return i
	}
	return 0
}
# The statements ending on this line: semicolons outside parentheses.
function statements(s,    i, d, n, c) {
	d = n = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "(")
			d++
		else if (c == ")")
			d--
		else if (c == ";" && d == 0)
			n++
	}
	return n
}
# An assignment in a condition other than the call-result idiom: the
# whole result of a call, (name = call(...)), compared or tested.
function assigns(cond,    t, at, shut, idiom) {
	idiom = "\\([*]?[A-Za-z_][A-Za-z_0-9>.\\[\\]-]*"
	idiom = idiom " = [A-Za-z_][A-Za-z_0-9]*\\("
	t = cond
	gsub(/[=!<>]=/, "", t)
	while (match(t, idiom)) {
		at = RSTART + RLENGTH - 1
		shut = closing(t, at)
		if (!shut || substr(t, shut + 1, 1) != ")")
			return 1
		t = substr(t, 1, RSTART - 1) "(R" substr(t, shut + 1)
	}
	return t ~ /[^=]=[^=]/ || t ~ /\+\+|--/
}
FNR == 1 {
	incomment = 0
	pending = ""
	c_file = FILENAME ~ /\.[ch]$/
}
{
	if (width($0) > 80)
		bad("wider than 80 columns")
	if (!c_file)
		next
	s = code($0)
	if (s ~ /^[ \t]*#/)
		next
	if (pending != "") {              # a condition going on from above
		s = pending " " s
		pending = ""
	}
	if (statements(s) > 1 && s !~ /^[ \t]*for \(/)
		bad("two statements on one line")
	if (match(s, /(^|[^A-Za-z_0-9])(if|while|for|switch) \(/)) {
		open = index(substr(s, RSTART), "(") + RSTART - 1
		shut = closing(s, open)
		if (!shut) {
			pending = s
			next
		}
		kw = substr(s, RSTART, RLENGTH)
		cond = substr(s, open, shut - open + 1)
		rest = substr(s, shut + 1)
		if (kw ~ /while/ &&
			cond ~ /^\([A-Za-z_][A-Za-z_0-9>.-]*--( > 0)?\)$/)
			;
		else if (kw !~ /for/ && assigns(cond))
			bad("an assignment inside a condition")
		s = rest
	} else if (match(s, /(^|[^A-Za-z_0-9])else[ \t]/)) {
		s = substr(s, RSTART + RLENGTH)
		if (s ~ /^[ \t]*if \(/)
			next
	} else {
		next
	}
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	if (s == "" || s == "{" || s == ";" ||
	    s ~ /^(return|continue|break|goto)([^A-Za-z_0-9]|$)/)
		next
	bad("a body on its condition'"'"'s line that is not a guard")
}
END {
	if (errors) {
		printf "layout: %d lines break the rules\n", errors
		exit 1
	}
}
' "$@"
