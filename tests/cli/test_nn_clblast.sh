#!/bin/sh
# test_nn_clblast: runs the unit-test programs of the neural-network engine
# (build/tests/test_nn_*) again with TOMOGAN_GEMM=clblast, so that both GEMM
# paths run them: on a CPU device (PoCL) the plain run of `make check` takes
# the OpenBLAS path and this one CLBlast's.  Every PASS, FAIL and SKIP line
# of a program is passed through as "PASS clblast: PROGRAM: ..."; a program
# that exits non-zero without a FAIL line, or asserts nothing, fails.
# Programs not built are left out; none at all is a SKIP.
# All of them: about 4 s under CLBlast on PoCL with PoCL's kernel cache warm,
# about 40 s cold (compiling CLBlast's kernels), so no subset is needed.
. "$(dirname "$0")/lib.sh"

top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
for prog in "$top"/build/tests/test_nn_*; do
	[ -x "$prog" ] || continue
	name=$(basename "$prog")
	n=$((n + 1))
	TOMOGAN_GEMM=clblast "$prog" >"$TMP/log" 2>&1 </dev/null
	rc=$?
	sed -n -E "s/^(PASS|FAIL|SKIP) /\\1 clblast: $name: /p" "$TMP/log"
	f=$(grep -c '^FAIL ' "$TMP/log")
	lines=$(grep -c -E '^(PASS|FAIL|SKIP) ' "$TMP/log")
	failures=$((failures + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		grep -v -E '^(PASS|SKIP) ' "$TMP/log" | tail -n 20
		fail "clblast: $name" "exited with status $rc"
	elif [ "$rc" -eq 0 ] && [ "$lines" -eq 0 ]; then
		fail "clblast: $name" "asserted nothing"
	elif [ "$f" -gt 0 ]; then
		grep -v -E '^(PASS|FAIL|SKIP) ' "$TMP/log" | tail -n 20
	fi
done
[ "$n" -gt 0 ] || skip "clblast: test_nn_*" "no unit-test program built under $top/build/tests"
finish
