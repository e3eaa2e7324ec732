#!/bin/sh
# Every program has a man page that mandoc lints clean, and -h prints its
# usage line (exit 0) whose words the man page's SYNOPSIS repeats.
. "$(dirname "$0")/lib.sh"
man=$TOP/man
for f in "$man"/*.[157]; do
	n=$(basename "$f")
	if out=$(mandoc -Tlint -Wwarning "$f" 2>&1) && [ -z "$out" ]; then
		pass "lint $n"
	else
		fail "lint $n" "$(echo "$out" | head -3)"
	fi
done
for p in "$BIN"/*; do
	n=$(basename "$p")
	[ -f "$man/$n.1" ] && pass "man page for $n" || fail "man page for $n" "no man/$n.1"
	if "$p" -h >"$TMP/h" 2>"$TMP/e" && grep -q "^usage: $n" "$TMP/h" && [ ! -s "$TMP/e" ]; then
		pass "$n -h"
	else
		fail "$n -h" "no usage line on stdout with exit 0"
		continue
	fi
	# every option word of the usage line appears in the SYNOPSIS
	syn=$(mandoc -Tascii "$man/$n.1" 2>/dev/null | sed 's/.\x08//g' | awk '/^SYNOPSIS/{s=1;next} /^[A-Z]/{s=0} s')
	missing=""
	for w in $(sed 's/^usage: //' "$TMP/h" | tr -d '[]|.' | tr ' ' '\n' | grep '^-'); do
		echo "$syn" | grep -q -- "$w" || missing="$missing $w"
	done
	[ -z "$missing" ] && pass "$n synopsis has the usage options" || fail "$n synopsis" "missing:$missing"
done
finish
