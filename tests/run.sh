#!/bin/sh
# Runs unit test programs and command-line test scripts, each of which prints
# one line per assertion group: "PASS name", "FAIL name: why" or
# "SKIP name: why".  A program that exits non-zero without printing a FAIL
# line counts as one failure.  Ends with "N passed, N failed[, N skipped]".
# Environment for the tests: BIN (programs), FIXTURES, SHARED (../shared when
# present, else empty: tests that need it skip).
top=$(cd "$(dirname "$0")/.." && pwd)
export BIN="$top/bin" FIXTURES="$top/tests/fixtures" TOP="$top"
if [ -z "${SHARED+x}" ]; then
	if [ -d "$top/../shared/data" ]; then SHARED=$(cd "$top/../shared" && pwd); else SHARED=""; fi
fi
export SHARED
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	name=$(basename "$t")
	start=$(date +%s)
	case "$t" in
	*.sh) sh "$t" >"$log" 2>&1 ;;
	*) "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	s=$(grep -c '^SKIP ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL $name: exited with status $rc" >>"$log"
	fi
	if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		f=1
		echo "FAIL $name: asserted nothing" >>"$log"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	secs=$(( $(date +%s) - start ))
	if [ "$f" -gt 0 ]; then
		echo "== $name: $p passed, $f failed, $s skipped (${secs}s)"
		grep -v '^PASS ' "$log" | tail -n 40
	else
		echo "== $name: $p passed, $s skipped (${secs}s)"
		grep '^SKIP ' "$log"
	fi
done
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
