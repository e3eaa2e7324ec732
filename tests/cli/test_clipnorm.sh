# clipnorm: usage, exit statuses, pipe spooling (same bytes as a file, no
# temporary file left), the statistics file, -o.  The values it writes are
# checked against NumPy by tests/unit/test_clipnorm.c.
. "$(dirname "$0")/lib.sh"
F="$FIXTURES/clipnorm"
V="$F/vol.tns"

expect "-h prints the usage line" 0 '' clipnorm -h
grep -q '^usage: clipnorm \[-hnq\] .*\[FILE\]$' "$TMP/out" && pass "-h usage text" || fail "-h usage text" "$(cat "$TMP/out")"
usage=$(sed 's/^usage: //' "$TMP/out")
if command -v mandoc >/dev/null 2>&1 && [ -f "$TOP/man/clipnorm.1" ]; then
	syn=$(mandoc -Tascii -O width=400 "$TOP/man/clipnorm.1" | col -b | sed -n '/^SYNOPSIS/{n;p;}' | sed 's/^ *//')
	[ "$syn" = "$usage" ] && pass "man SYNOPSIS is the usage line" || fail "man SYNOPSIS is the usage line" "'$syn' vs '$usage'"
	mandoc -Tlint -Wwarning "$TOP/man/clipnorm.1" >"$TMP/lint" 2>&1 && pass "man page lint-clean" ||
		fail "man page lint-clean" "$(head -c 300 "$TMP/lint")"
else
	skip "man SYNOPSIS is the usage line" "mandoc or man/clipnorm.1 missing"
fi

# bad invocations: 64, empty stdout, a "clipnorm: " line
expect_usage "unknown option" clipnorm --bogus "$V"
expect_usage "two inputs" clipnorm "$V" "$V"
expect_usage "--bounds lo > hi" clipnorm --bounds 2,1 "$V"
expect_usage "--bounds lo = hi" clipnorm --bounds 1,1 "$V"
expect_usage "--bounds one number" clipnorm --bounds 1 "$V"
expect_usage "--bounds not numbers" clipnorm --bounds a,b "$V"
expect_usage "--bounds nan" clipnorm --bounds nan,1 "$V"
expect_usage "--window width 0" clipnorm --window 40,0 "$V"
expect_usage "--window negative width" clipnorm --window 40,-10 "$V"
expect_usage "--lower above 100" clipnorm --lower 101 "$V"
expect_usage "--upper below 0" clipnorm --upper -1 "$V"
expect_usage "--lower not a number" clipnorm --lower one "$V"
expect_usage "--mask 0" clipnorm --mask 0 "$V"
expect_usage "--mask 2" clipnorm --mask 2 "$V"
expect_usage "--out u32" clipnorm --out u32 "$V"
expect_usage "--out missing value" clipnorm --out
expect_usage "-z 20" clipnorm -z 20 "$V"
expect_usage "--bounds and --window" clipnorm --bounds 0,1 --window 1,2 "$V"
expect_usage "--bounds and --stats" clipnorm --bounds 0,1 --stats "$TMP/s.txt" "$V"
expect_usage "--bounds with --pixels" clipnorm --bounds 0,1 --pixels "$V"
expect_usage "--window with --mask" clipnorm --window 0,1 --mask 0.9 "$V"
expect_usage "--stats with --lower" clipnorm --stats "$TMP/s.txt" --lower 2 "$V"
expect_usage "--pixels with lower >= upper" clipnorm --pixels --lower 60 --upper 40 "$V"
expect_usage "--stats and --stats-out the same file" clipnorm --stats "$TMP/s.txt" --stats-out "$TMP/s.txt" "$V"
expect_usage "usage error before a missing file" clipnorm --bounds 2,1 "$TMP/missing.tns"

# inputs that cannot be opened: 66
expect "missing input" 66 "^clipnorm: $TMP/missing.tns: No such file or directory$" clipnorm "$TMP/missing.tns"
expect "missing --stats file" 66 "^clipnorm: $TMP/nostats.txt: No such file" clipnorm --stats "$TMP/nostats.txt" "$V"
[ -s "$TMP/out" ] && fail "missing --stats file: stdout empty" "stdout not empty" || pass "missing --stats file: stdout empty"

# bad data: 65 with nothing on stdout
: >"$TMP/zero.tns"
expect "empty input" 65 '^clipnorm: ' sh -c "clipnorm <'$TMP/zero.tns'"
expect "stream of no frames" 65 'no frames to take statistics from' clipnorm "$F/empty.tns"
expect "stream of no frames, --pixels" 65 'no frames' clipnorm --pixels "$F/empty.tns"
expect "stream of no frames through a pipe" 65 'no frames' sh -c "cat '$F/empty.tns' | clipnorm"
[ -s "$TMP/out" ] && fail "no frames: stdout empty" "stdout not empty" || pass "no frames: stdout empty"
tsgen -n 3 -s 4x5 -p const=5 >"$TMP/const.tns"
expect "bounds that make no range (constant data)" 65 'lo=5 hi=5 .*do not make a range \(constant data\?\); give --bounds' clipnorm "$TMP/const.tns"
[ -s "$TMP/out" ] && fail "no range: stdout empty" "stdout not empty" || pass "no range: stdout empty"
head -c 3000 "$V" >"$TMP/cut.tns"
expect "truncated stream" 65 '^clipnorm: .*truncated' clipnorm "$TMP/cut.tns"
printf 'lo=1\n' >"$TMP/half.txt"
expect "--stats without hi" 65 'needs both lo= and hi=' clipnorm --stats "$TMP/half.txt" "$V"
printf 'lo=2\nhi=1\n' >"$TMP/rev.txt"
expect "--stats with lo > hi" 65 'is not below hi' clipnorm --stats "$TMP/rev.txt" "$V"
printf 'lo=x\nhi=1\n' >"$TMP/bad.txt"
expect "--stats with a bad number" 65 'line 1: lo is not a finite number' clipnorm --stats "$TMP/bad.txt" "$V"
printf 'just text\n' >"$TMP/text.txt"
expect "--stats not key=value" 65 'line 1: not key=value' clipnorm --stats "$TMP/text.txt" "$V"
expect "--mask on rank-1 frames" 65 'needs HxW planes' sh -c "tsgen -n 2 -s 7 | clipnorm --mask 0.5"

# fixed bounds pass an empty stream through
expect "--bounds on a stream of no frames" 0 '' clipnorm --bounds 0,1 "$F/empty.tns"
cp "$TMP/out" "$TMP/empty_out.tns"
expect "that output is a stream of no frames" 0 '' tsinfo "$TMP/empty_out.tns"
grep -q '^frames: 0$' "$TMP/out" && pass "no frames out" || fail "no frames out" "$(cat "$TMP/out")"

# no OpenCL device: 69, before reading anything
expect "no such OpenCL device" 69 '^clipnorm: ' env TOMOGAN_DEVICE=no-such-device-anywhere clipnorm --bounds 0,1 "$V"
[ -s "$TMP/out" ] && fail "no device: stdout empty" "stdout not empty" || pass "no device: stdout empty"

# A pipe is spooled to an unlinked file in TMPDIR; the output equals that of
# the same command reading the file (same argv, so the same history).
mkdir "$TMP/tmpdir"
for args in "" "--pixels" "--pixels --mask 0.9 --out u16" "--mask 0.9 --out u8" "--out 11" "--bounds 0,100"; do
	# shellcheck disable=SC2086
	clipnorm -q $args <"$V" >"$TMP/file.tns" 2>"$TMP/err1"
	rc1=$?
	# shellcheck disable=SC2086
	cat "$V" | TMPDIR="$TMP/tmpdir" clipnorm -q $args >"$TMP/pipe.tns" 2>"$TMP/err2"
	rc2=$?
	if [ "$rc1$rc2" = 00 ] && [ -s "$TMP/file.tns" ] && cmp -s "$TMP/file.tns" "$TMP/pipe.tns"; then
		pass "pipe equals file byte for byte: '$args'"
	else
		fail "pipe equals file byte for byte: '$args'" "exit $rc1/$rc2 $(head -c 200 "$TMP/err2")"
	fi
done
[ -z "$(ls -A "$TMP/tmpdir")" ] && pass "no temporary file left in TMPDIR" || fail "no temporary file left in TMPDIR" "$(ls -A "$TMP/tmpdir")"

# while a spooling run is under way its file has no name already
clipnorm -q <"$V" >"$TMP/ref.tns"
{ head -c 2000 "$V"; sleep 1; tail -c +2001 "$V"; } | TMPDIR="$TMP/tmpdir" clipnorm -q >"$TMP/slow.tns" 2>/dev/null &
bg=$!
sleep 0.5
during=$(ls -A "$TMP/tmpdir")
wait $bg
rc=$?
if [ -z "$during" ] && [ "$rc" -eq 0 ] && cmp -s "$TMP/slow.tns" "$TMP/ref.tns"; then
	pass "spool file unlinked while the run is under way"
else
	fail "spool file unlinked while the run is under way" "exit $rc, in TMPDIR: '$during'"
fi
# a failing run (truncated pipe) leaves nothing either
cat "$TMP/cut.tns" | TMPDIR="$TMP/tmpdir" clipnorm -q >/dev/null 2>&1
[ -z "$(ls -A "$TMP/tmpdir")" ] && pass "no temporary file after a failed run" || fail "no temporary file after a failed run" "$(ls -A "$TMP/tmpdir")"
expect "TMPDIR that does not exist" 74 'cannot create a temporary file in .*nowhere' \
	sh -c "cat '$V' | TMPDIR='$TMP/nowhere' clipnorm"
[ -s "$TMP/out" ] && fail "TMPDIR missing: stdout empty" "stdout not empty" || pass "TMPDIR missing: stdout empty"
expect "a seekable file needs no TMPDIR" 0 '' env TMPDIR="$TMP/nowhere" clipnorm -q "$V"

# the statistics file
expect "--stats-out" 0 '' clipnorm -q --mask 0.9 --stats-out "$TMP/bounds.txt" "$V"
grep -q '^rule=p1 of frame minima, p99 of frame maxima, inside mask 0.9$' "$TMP/bounds.txt" &&
	grep -q '^lo=-23\.12' "$TMP/bounds.txt" && grep -q '^hi=1353\.59' "$TMP/bounds.txt" &&
	grep -q '^frames=12$' "$TMP/bounds.txt" &&
	pass "--stats-out: rule, lo, hi, frames" || fail "--stats-out: rule, lo, hi, frames" "$(cat "$TMP/bounds.txt")"
expect "--stats reads it back" 0 '' clipnorm -q --stats "$TMP/bounds.txt" -o "$TMP/again.tns" "$V"
tsinfo "$TMP/again.tns" >"$TMP/info" 2>&1
lo=$(sed -n 's/^lo=//p' "$TMP/bounds.txt")
grep -q "clip.lo = $lo\$" "$TMP/info" && grep -q 'clip.rule = p1 of frame minima, p99 of frame maxima, inside mask 0.9$' "$TMP/info" &&
	pass "--stats: same clip.lo and rule in the output" || fail "--stats: same clip.lo and rule in the output" "$(grep clip "$TMP/info")"
cat "$V" | clipnorm -q --stats "$TMP/bounds.txt" >/dev/null 2>"$TMP/err" &&
	pass "--stats on a pipe: one pass, no spool" || fail "--stats on a pipe" "$(cat "$TMP/err")"

# -n: the statistics file alone, no stream, no device, a pipe read once
clipnorm -q --mask 0.9 --stats-out "$TMP/full.txt" "$V" >/dev/null
cat "$V" | TMPDIR="$TMP/nowhere" TOMOGAN_DEVICE=no-such-device-anywhere clipnorm -q -n --mask 0.9 --stats-out "$TMP/n.txt" >"$TMP/nout" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$TMP/nout" ] && cmp -s "$TMP/full.txt" "$TMP/n.txt"; then
	pass "-n on a pipe: the same statistics file, empty stdout, no temporary file or device needed"
else
	fail "-n on a pipe: the same statistics file, empty stdout, no temporary file or device needed" "exit $rc $(head -c 200 "$TMP/err")"
fi
clipnorm -q --pixels --stats-out "$TMP/pfull.txt" "$V" >/dev/null
cat "$V" | TMPDIR="$TMP/tmpdir" clipnorm -q -n --pixels --stats-out "$TMP/pn.txt" >"$TMP/nout" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$TMP/nout" ] && cmp -s "$TMP/pfull.txt" "$TMP/pn.txt" && [ -z "$(ls -A "$TMP/tmpdir")" ]; then
	pass "-n --pixels on a piped float stream (two passes, spooled): the same statistics file"
else
	fail "-n --pixels on a piped float stream" "exit $rc $(head -c 200 "$TMP/err")"
fi
expect_usage "-n without --stats-out" clipnorm -n "$V"
expect_usage "-n with --bounds" clipnorm -n --stats-out "$TMP/x.txt" --bounds 0,1 "$V"
expect_usage "-n with --stats" clipnorm -n --stats-out "$TMP/x.txt" --stats "$TMP/full.txt" "$V"
expect_usage "-n with -o" clipnorm -n --stats-out "$TMP/x.txt" -o "$TMP/x.tns" "$V"
[ -e "$TMP/x.txt" ] || [ -e "$TMP/x.tns" ] && fail "-n refused: no file written" "$(ls "$TMP"/x.*)" || pass "-n refused: no file written"
cat "$V" | TOMOGAN_SPOOL=buffered TMPDIR="$TMP/tmpdir" clipnorm -q >"$TMP/buffered.tns" 2>"$TMP/err" && cmp -s "$TMP/buffered.tns" "$TMP/ref.tns" &&
	pass "TOMOGAN_SPOOL=buffered: the same output" || fail "TOMOGAN_SPOOL=buffered: the same output" "$(head -c 200 "$TMP/err")"
expect "--stats-out in a missing folder" 74 'cannot create' clipnorm --stats-out "$TMP/no/dir/b.txt" "$V"
clipnorm -q --stats-out "$TMP/never.txt" "$TMP/const.tns" >/dev/null 2>&1
ls "$TMP"/never.txt* >/dev/null 2>&1 && fail "failed run writes no statistics file" "$(ls "$TMP"/never.txt*)" ||
	pass "failed run writes no statistics file"

# Per-frame extrema in the header (h5slice --extrema): the default rule
# takes its bounds from them, so a pipe is read once with no spool (TMPDIR
# need not exist), and the output is that of the frames' own statistics;
# every frame is checked against them as it passes.
for pair in "extrema vol -q" "extrema_nan nan -q" "extrema vol -q --lower 5 --upper 90 --out u8"; do
	set -- $pair
	x=$1 v=$2
	shift 2
	cat "$F/$v.tns" | TMPDIR="$TMP/tmpdir" clipnorm "$@" >"$TMP/own.tns" 2>/dev/null
	cat "$F/$x.tns" | TMPDIR="$TMP/nowhere" clipnorm "$@" >"$TMP/ext.tns" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ -s "$TMP/own.tns" ] && cmp -s "$TMP/own.tns" "$TMP/ext.tns"; then
		pass "extrema in the header ($x $*): one pass, no spool, the same bytes"
	else
		fail "extrema in the header ($x $*)" "exit $rc $(head -c 200 "$TMP/err")"
	fi
done
tsinfo "$TMP/ext.tns" | grep -q '^  extrema\.' && fail "the output drops the extrema" "still there" ||
	pass "the output drops the extrema"
expect "extrema that a frame contradicts" 65 \
	'stdin: frame 7 has minimum 0 and maximum 900, the header.s extrema say 0 and 1800: the frames changed after the extrema were taken$' \
	sh -c "cat '$F/extrema_stale.tns' | clipnorm -q"
tscut "$TMP/out" >/dev/null 2>&1 && fail "after a contradicted frame: the stream ends unfinished" "reads whole" ||
	pass "after a contradicted frame: the stream ends unfinished"
expect "more frames than extrema" 65 'stdin: more frames than the header.s extrema list \(11\)$' \
	sh -c "cat '$F/extrema_short.tns' | clipnorm -q"
expect "fewer frames than extrema" 65 'stdin: 12 frames, the header.s extrema list 13$' \
	sh -c "cat '$F/extrema_long.tns' | clipnorm -q"
cat "$F/extrema_bad.tns" | TMPDIR="$TMP/tmpdir" clipnorm -q >"$TMP/bad.tns" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 0 ] && cmp -s "$TMP/bad.tns" "$TMP/ref.tns" && grep -q 'extrema.min and extrema.max are malformed; statistics from the frames instead$' "$TMP/err"; then
	pass "malformed extrema: a warning, the statistics of the frames"
else
	fail "malformed extrema: a warning, the statistics of the frames" "exit $rc $(head -c 200 "$TMP/err")"
fi
expect "--mask: the extrema are not the rule's, so a pipe is spooled" 74 'cannot create a temporary file' \
	sh -c "cat '$F/extrema.tns' | TMPDIR='$TMP/nowhere' clipnorm -q --mask 0.9"
[ -z "$(ls -A "$TMP/tmpdir")" ] && pass "extrema: no temporary file left" || fail "extrema: no temporary file left" "$(ls -A "$TMP/tmpdir")"

# -o and metadata
expect "-o FILE" 0 '' clipnorm -q --out u8 -o "$TMP/o.tns" "$V"
tsinfo "$TMP/o.tns" >"$TMP/info" 2>&1
grep -q '^type: u8$' "$TMP/info" && grep -q '^frames: 12$' "$TMP/info" && grep -q 'range = 0 255$' "$TMP/info" &&
	grep -q 'source = make_clipnorm_fixtures.py$' "$TMP/info" && grep -q 'history = clipnorm -q --out u8 -o' "$TMP/info" &&
	pass "-o: u8 stream, 12 frames, range, metadata kept, history" || fail "-o: metadata" "$(cat "$TMP/info")"
ls "$TMP"/o.tns.tmp* >/dev/null 2>&1 && fail "-o: no temporary left" "$(ls "$TMP"/o.tns.tmp*)" || pass "-o: no temporary left"
expect "--window on i16 CT numbers" 0 '' clipnorm -q --window 40,400 -o "$TMP/w.tns" "$F/hu.tns"
tsinfo "$TMP/w.tns" >"$TMP/info" 2>&1
grep -q 'clip.lo = -160$' "$TMP/info" && grep -q 'clip.hi = 240$' "$TMP/info" && grep -q '^type: f32$' "$TMP/info" &&
	pass "--window: bounds c -+ w/2 in the metadata" || fail "--window metadata" "$(grep clip "$TMP/info")"

# Real data: the bounds equal numpy.percentile (float64, method 'linear')
# over the same values, computed once with PIL / h5py and written here.
# near NAME FILE LO HI : lo= and hi= of a statistics file within 1e-6 of
# max(|value|, HI - LO).
near() {
	got_lo=$(sed -n 's/^lo=//p' "$2") got_hi=$(sed -n 's/^hi=//p' "$2")
	if awk -v a="$got_lo" -v b="$got_hi" -v lo="$3" -v hi="$4" 'function abs(x) { return x < 0 ? -x : x }
		function ok(g, w) { s = abs(w) > hi - lo ? abs(w) : hi - lo; return g != "" && abs(g - w) <= 1e-6 * s }
		BEGIN { exit !(ok(a, lo) && ok(b, hi)) }'; then
		pass "$1"
	else
		fail "$1" "lo=$got_lo hi=$got_hi, NumPy $3 $4"
	fi
}
if [ -z "$SHARED" ] || [ ! -d "$SHARED/data/ct-luad-png16" ]; then
	skip "real CT slices" "no shared data"
elif ! command -v imread >/dev/null 2>&1; then
	skip "real CT slices" "imread not built"
else
	set -- $(ls "$SHARED"/data/ct-luad-png16/*.png | head -n 10)
	imread "$@" >"$TMP/ct.tns" 2>/dev/null
	clipnorm -q --mask 0.95 --stats-out "$TMP/ct1.txt" "$TMP/ct.tns" >/dev/null &&
		near "10 CT slices (u16), default rule inside mask 0.95" "$TMP/ct1.txt" 0 4094.46
	clipnorm -q --pixels --stats-out "$TMP/ct2.txt" "$TMP/ct.tns" >/dev/null &&
		near "10 CT slices, --pixels" "$TMP/ct2.txt" 0 1411
	clipnorm -q --pixels --mask 0.8 --lower 25 --upper 75 --stats-out "$TMP/ct3.txt" "$TMP/ct.tns" >/dev/null &&
		near "10 CT slices, --pixels --mask 0.8, P25 and P75" "$TMP/ct3.txt" 159 1068
fi
if [ -z "$SHARED" ] || [ ! -f "$SHARED/data/tooth.h5" ]; then
	skip "real projections" "no shared data"
elif ! command -v h5slice >/dev/null 2>&1; then
	skip "real projections" "h5slice not built"
else
	h5slice "$SHARED/data/tooth.h5" >"$TMP/tooth.tns" 2>/dev/null
	cat "$TMP/tooth.tns" | clipnorm -q --stats-out "$TMP/t1.txt" >/dev/null &&
		near "tooth.h5 projections (f32, piped), default rule" "$TMP/t1.txt" 3934.45 33840.3
	# the same bounds from the extrema h5slice maps out of the file (and
	# every frame checked against them)
	h5slice -q --extrema "$SHARED/data/tooth.h5" | TMPDIR="$TMP/nowhere" clipnorm -q --stats-out "$TMP/t3.txt" >/dev/null 2>"$TMP/err" &&
		cmp -s "$TMP/t1.txt" "$TMP/t3.txt" && pass "tooth.h5 with --extrema: the same statistics file, one pass" ||
		fail "tooth.h5 with --extrema: the same statistics file, one pass" "$(head -c 200 "$TMP/err")"
	clipnorm -q --pixels --lower 0.5 --upper 99.5 --stats-out "$TMP/t2.txt" "$TMP/tooth.tns" >/dev/null &&
		near "tooth.h5 projections, --pixels P0.5 and P99.5 (exact radix selection)" "$TMP/t2.txt" 5145.6975 29994.25
fi
finish
