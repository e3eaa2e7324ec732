# lib.sh: helpers for command-line tests; sourced by tests/cli/test_*.sh.
# Each assertion prints "PASS name" or "FAIL name: why".
set -u
: "${BIN:?run through tests/run.sh}"
PATH="$BIN:$PATH"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
skip() { echo "SKIP $1: $2"; }

# expect NAME STATUS STDERR_REGEX CMD... : runs CMD (stdin from /dev/null
# unless redirected inside a sh -c), checks exit status and that stderr
# matches the extended regex ('' for empty stderr).  stdout in $TMP/out.
expect() {
	name=$1 want=$2 pat=$3
	shift 3
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit $rc, wanted $want; stderr: $(head -c 300 "$TMP/err")"
		return 1
	fi
	if [ -z "$pat" ]; then
		if [ -s "$TMP/err" ]; then fail "$name" "unexpected stderr: $(head -c 300 "$TMP/err")"; return 1; fi
	elif ! grep -Eq -- "$pat" "$TMP/err"; then
		fail "$name" "stderr '$(head -c 300 "$TMP/err")' does not match /$pat/"
		return 1
	fi
	pass "$name"
}

# expect_usage NAME CMD... : exit 64, empty stdout, one "prog: " message.
expect_usage() {
	name=$1
	shift
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	if [ "$rc" -ne 64 ]; then fail "$name" "exit $rc, wanted 64"; return 1; fi
	if [ -s "$TMP/out" ]; then fail "$name" "stdout not empty"; return 1; fi
	if ! grep -q "^$(basename "$1"): " "$TMP/err"; then fail "$name" "no '$(basename "$1"): ' message"; return 1; fi
	pass "$name"
}

# same NAME FILE1 FILE2 : byte-identical files.
same() {
	if cmp -s "$2" "$3"; then pass "$1"; else fail "$1" "$2 and $3 differ"; fi
}

finish() { [ "$failures" -eq 0 ]; }
