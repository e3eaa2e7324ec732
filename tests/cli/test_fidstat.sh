#!/bin/sh
# Command-line behaviour of fidstat(1).  Values against the same computation
# in PyTorch + NumPy + SciPy (pytorch-fid's pipeline and its sqrtm route for
# the distance), on the deterministic test weights, from
# tests/make_fidstat_fixtures.py: FID to 1e-4 relative, KID to 1e-4.
. "$(dirname "$0")/lib.sh"
if ! command -v fidstat >/dev/null 2>&1; then
	skip fidstat "bin/fidstat not built"
	exit 0
fi
FX=$FIXTURES/fidstat
unset TOMOGAN_FID_WEIGHTS
TW="fidstat -q --test-weights"

want() { awk -v k="$1" '$1 == k { print $2 }' "$FX/expected.txt"; }
# field NAME LINE: the number after the word NAME in a line of output
field() { echo "$2" | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }
# json NAME: the number of key NAME in $TMP/out (one JSON line)
json() { sed -n "s/.*\"$1\": \([-0-9.e+]*\).*/\1/p" "$TMP/out"; }
# close NAME HAVE WANT RELTOL
close() {
	if awk -v a="$2" -v b="$3" -v t="$4" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b;
		exit !(a != "" && d <= t * m) }'; then
		pass "$1 ($2 vs $3, tol $4 relative)"
	else
		fail "$1" "have '$2', want '$3' (tol $4 relative)"
	fi
}
# small NAME HAVE ABSTOL: |HAVE| <= ABSTOL
small() {
	if awk -v a="$2" -v t="$3" 'BEGIN { if (a < 0) a = -a; exit !(a != "" && a <= t) }'; then
		pass "$1 ($2, tol $3)"
	else
		fail "$1" "have '$2', want |x| <= $3"
	fi
}

expect_usage "no inputs" fidstat --test-weights
expect_usage "one input" fidstat --test-weights "$FX/a.tns"
expect_usage "three inputs" fidstat --test-weights "$FX/a.tns" "$FX/b.tns" "$FX/c.tns"
expect_usage "both stdin" fidstat --test-weights - -
expect_usage "dims 100" fidstat --test-weights --dims 100 "$FX/a.tns" "$FX/b.tns"
expect_usage "batch 0" fidstat --test-weights --batch 0 "$FX/a.tns" "$FX/b.tns"
expect_usage "split and repeat" fidstat --test-weights --split 1 --repeat 2 -n 3 "$FX/a.tns"
expect_usage "repeat without -n" fidstat --test-weights --repeat 2 "$FX/a.tns" "$FX/b.tns"
expect_usage "split seed not a number" fidstat --test-weights --split x "$FX/a.tns"
expect_usage "weights and test weights" fidstat --test-weights --weights w "$FX/a.tns" "$FX/b.tns"
expect_usage "kid against statistics" fidstat --test-weights --kid "$FX/a.tns" "$FX/c_64.npz"
expect_usage "save-stats extension" fidstat --test-weights --save-stats "$TMP/x.txt" "$FX/a.tns"
expect_usage "convert with one operand" fidstat --convert-weights "$TMP/w.tns"
expect_usage "unknown option" fidstat --frobnicate "$FX/a.tns" "$FX/b.tns"

expect "no weights: 66 naming the file and where it is published" 66 \
	'^fidstat: .*pt_inception-2015-12-05-6726825d\.pth.*release asset at https://github\.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d\.pth' \
	fidstat "$FX/a.tns" "$FX/b.tns"
[ "$(wc -l <"$TMP/err")" -eq 1 ] && [ ! -s "$TMP/out" ] && pass "no weights: one line, empty stdout" ||
	fail "no weights: one line" "$(cat "$TMP/err")"
expect "weights file missing: 66" 66 'nothing\.pth: cannot open' fidstat --weights "$TMP/nothing.pth" \
	"$FX/a.tns" "$FX/b.tns"
expect "a pickle that is not pytorch-fid's: 65" 65 "no float tensor 'Conv2d_1a_3x3.conv.weight'" \
	fidstat --weights "$FIXTURES/fid/sd_legacy.pt" "$FX/a.tns" "$FX/b.tns"
expect "a stream that is not weights: 65" 65 'not FID Inception weights' \
	fidstat --weights "$FX/a.tns" "$FX/a.tns" "$FX/b.tns"
expect "no range: 65" 65 'norange\.tns: no value range' $TW "$FX/norange.tns" "$FX/a.tns"
expect "three planes: 65" 65 'need gray frames' $TW "$FX/rgb.tns" "$FX/a.tns"
expect "empty input: 65" 65 'empty input' $TW /dev/null "$FX/a.tns"
expect "stream without frames: 65" 65 'empty\.tns: no frames' $TW "$FX/empty.tns" "$FX/a.tns"
expect "missing input: 66" 66 'nothing\.tns' $TW "$TMP/nothing.tns" "$FX/a.tns"

# (a) the whole computation against PyTorch + SciPy
expect "test weights are announced as not comparable" 0 'not comparable to published FID' \
	fidstat --test-weights --dims 64 "$FX/a.tns" "$FX/b.tns"
ab64=$(field fid "$(cat "$TMP/out")")
close "FID 6 vs 7 frames, 64-d, vs pytorch-fid's route" "$ab64" "$(want fid_ab_64)" 1e-4
out=$($TW "$FX/a.tns" "$FX/b.tns" 2>/dev/null)
close "FID 6 vs 7 frames, 2048-d (rank-deficient), vs pytorch-fid's route" "$(field fid "$out")" \
	"$(want fid_ab_2048)" 1e-4
$TW --dims 64 --kid --json "$FX/c.tns" "$FX/d.tns" >"$TMP/out" 2>/dev/null
close "FID 70 vs 70 frames, 64-d (full rank), vs pytorch-fid's route" "$(json fid)" \
	"$(want fid_cd_64)" 1e-4
close "KID 70 vs 70 frames, 64-d, vs NumPy" "$(json kid)" "$(want kid_cd_64)" 1e-4
small "KID std 0 when every subset holds every frame" "$(json kid_std)" 1e-12
grep -q '"frames": \[70, 70\]' "$TMP/out" && pass "json frames" || fail "json frames" "$(cat "$TMP/out")"
out=$($TW --dims 64 "$FX/d.tns" "$FX/c_64.npz" 2>/dev/null)
close "FID against statistics saved by numpy.savez" "$(field fid "$out")" "$(want fid_cd_64)" 1e-4

# (b, c) saved statistics, read back: the same number as from the frames
$TW --dims 64 --save-stats "$TMP/a.npz" <"$FX/a.tns" 2>/dev/null && pass "save-stats npz from stdin" ||
	fail "save-stats npz" "status $?"
$TW --dims 64 --save-stats "$TMP/a.tns" "$FX/a.tns" 2>/dev/null && pass "save-stats tns" ||
	fail "save-stats tns" "status $?"
for f in a.npz a.tns; do
	out=$($TW --dims 64 "$TMP/$f" "$FX/b.tns" 2>/dev/null)
	[ "$(field fid "$out")" = "$ab64" ] && pass "fidstat $f b.tns = fidstat a.tns b.tns ($ab64)" ||
		fail "stats $f" "$out, want $ab64"
done
out=$($TW --dims 64 - "$FX/b.tns" <"$FX/a.tns" 2>/dev/null)
[ "$(field fid "$out")" = "$ab64" ] && pass "first input from stdin" || fail "stdin" "$out"
out=$(fidstat --dims 64 --json "$TMP/a.npz" "$TMP/a.tns" 2>&1)
echo "$out" | grep -q '"frames": \[0, 0\], "weights": "none"' && pass "json: statistics only, no weights" ||
	fail "json stats" "$out"
out=$(fidstat --dims 64 "$TMP/a.npz" "$TMP/a.tns" 2>&1)
small "two statistics files need no weights: identical give 0" "$(field fid "$out")" 1e-9
expect_usage "kid with two statistics files" fidstat --dims 64 "$TMP/a.npz" "$FX/c_64.npz" --kid
expect "statistics of other dims: 65" 65 'not 2048-d' fidstat "$TMP/a.npz" "$FX/c_64.npz"
expect "a truncated npz: 65" 65 'fidstat: ' sh -c "head -c 3000 '$TMP/a.npz' >'$TMP/t.npz' &&
	exec fidstat --dims 64 '$TMP/t.npz' '$FX/c_64.npz'"

# (d) --split: two random halves, reproducible
s1=$($TW --dims 64 --split 7 "$FX/b.tns" 2>/dev/null)
s2=$($TW --dims 64 --split 7 <"$FX/b.tns" 2>/dev/null)
s3=$($TW --dims 64 --split 8 "$FX/b.tns" 2>/dev/null)
[ -n "$s1" ] && [ "$s1" = "$s2" ] && pass "split: same seed, same result ($s1)" ||
	fail "split reproducible" "'$s1' vs '$s2'"
[ "$s1" != "$s3" ] && pass "split: another seed, another result ($s3)" || fail "split seed" "$s3"
echo "$s1" | grep -q 'frames 3 4' && pass "split: halves of 3 and 4 frames" || fail "split halves" "$s1"

# --repeat: draws of all frames give the plain FID with std 0
$TW --dims 64 --json --repeat 3 -n 6 "$FX/a.tns" "$FX/b.tns" >"$TMP/out" 2>/dev/null
close "repeat 3 draws of all 6 frames: the FID" "$(json fid)" "$ab64" 1e-12
small "repeat 3 draws of all 6 frames: std 0" "$(json fid_std)" 1e-9
out=$($TW --dims 64 --repeat 4 -n 3 "$FX/a.tns" "$FX/b.tns" 2>/dev/null)
echo "$out" | grep -q '^fid [0-9.e+-]* +- [0-9.e+-]* draws 4 of 3 frames' &&
	[ "$(field fid "$out")" != "$ab64" ] && pass "repeat 4 draws of 3: mean +- std ($out)" ||
	fail "repeat" "$out"
expect "repeat more than the frames: 65" 65 'fewer than -n 9' $TW --repeat 2 -n 9 "$FX/a.tns" "$FX/b.tns"

# weight containers: written from the test weights, read back, converted again
if fidstat --test-weights --convert-weights "$TMP/w.tns" 2>/dev/null; then
	out=$(fidstat --weights "$TMP/w.tns" --dims 64 "$FX/a.tns" "$FX/b.tns" 2>&1)
	[ "$(field fid "$out")" = "$ab64" ] && pass "--weights container = --test-weights" ||
		fail "weights container" "$out"
	out=$(TOMOGAN_FID_WEIGHTS="$TMP/w.tns" fidstat --dims 64 "$FX/a.tns" "$FX/b.tns" 2>&1)
	[ "$(field fid "$out")" = "$ab64" ] && pass "TOMOGAN_FID_WEIGHTS" || fail "env weights" "$out"
	[ "$(wc -c <"$TMP/w.tns")" -gt 95000000 ] && pass "container holds every tensor (95 MB)" ||
		fail "container size" "$(wc -c <"$TMP/w.tns")"
	rm -f "$TMP/w.tns"
else
	fail "convert test weights" "status $?"
fi
finish
