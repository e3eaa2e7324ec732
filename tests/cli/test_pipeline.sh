#!/bin/sh
# The data preparation of seed 000 on real CT slices, end to end:
#   imread | tscut 10:20 | clipnorm | resize 64 | imwrite
# against NumPy + Pillow (tests/make_pipeline_fixtures.py).  Needs
# $SHARED/data/ct-luad-png16; skipped without it.
. "$(dirname "$0")/lib.sh"
src=${SHARED:+$SHARED/data/ct-luad-png16}
fx=$FIXTURES/pipeline
if [ -z "$src" ] || [ ! -d "$src" ]; then
	skip "ct-luad pipeline" "no \$SHARED/data/ct-luad-png16"
	exit 0
fi

# maxdiff A B: largest |a-b| between two little-endian float32 files
maxdiff() {
	od -An -v -tf4 -w4 "$1" >"$TMP/a.txt"
	od -An -v -tf4 -w4 "$2" >"$TMP/b.txt"
	paste "$TMP/a.txt" "$TMP/b.txt" | awk '
		{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; n++ }
		END { if (n == 0) print "inf"; else printf "%.3g\n", m }'
}

imread "$src"/*.png | tscut 10:20 | clipnorm --stats-out "$TMP/bounds" |
	resize 64 >"$TMP/ct64.tns"
[ $? -eq 0 ] && pass "pipeline runs" || fail "pipeline runs" "non-zero exit"

# bounds: the thesis rule, to 1e-6 relative
read -r lo hi <"$fx/bounds.txt"
glo=$(sed -n 's/^lo *= *//p' "$TMP/bounds")
ghi=$(sed -n 's/^hi *= *//p' "$TMP/bounds")
if awk -v a="$glo" -v b="$lo" -v c="$ghi" -v d="$hi" 'BEGIN {
	e1 = a - b; if (e1 < 0) e1 = -e1; e2 = c - d; if (e2 < 0) e2 = -e2
	exit !(a != "" && c != "" && e1 <= 1e-6 * (d > 1 ? d : 1) && e2 <= 1e-6 * d) }'; then
	pass "clip bounds equal NumPy's ($lo, $hi)"
else
	fail "clip bounds" "got lo=$glo hi=$ghi, NumPy $lo $hi"
fi

# float frames: max abs difference 1e-4 on [0,1] data
imwrite -p "$TMP/f%02d.raw" <"$TMP/ct64.tns" && cat "$TMP"/f*.raw >"$TMP/all.f32"
d=$(maxdiff "$TMP/all.f32" "$fx/ct64.f32")
awk -v d="$d" 'BEGIN { exit !(d <= 1e-4) }' && pass "64x64 frames within 1e-4 of NumPy+Pillow (max $d)" ||
	fail "64x64 frames" "max abs difference $d > 1e-4"

# 8-bit PNG export: pixels within one level (rounding ties), 99% exact
imwrite -p "$TMP/p%02d.png" <"$TMP/ct64.tns"
imread "$TMP"/p*.png | imwrite -p "$TMP/q%02d.raw" && cat "$TMP"/q*.raw >"$TMP/png.f32"
od -An -v -tu1 -w1 "$fx/ct64_u8.raw" | awk '{ printf "%s\n", $1 }' >"$TMP/ref.txt"
od -An -v -tf4 -w4 "$TMP/png.f32" >"$TMP/got.txt"
paste "$TMP/got.txt" "$TMP/ref.txt" | awk '
	{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; if (d == 0) same++; n++ }
	END { exit !(n == 40960 && m <= 1 && same >= 0.99 * n) }' &&
	pass "8-bit PNGs match NumPy's rounding" || fail "8-bit PNGs" "differ by more than one level or too often"

# the stream says what was done to it
tsinfo "$TMP/ct64.tns" >"$TMP/info"
grep -q "^shape" "$TMP/info" || true
for k in 'history = imread' 'history = tscut 10:20' 'history = clipnorm' 'history = resize 64' 'range = 0 1'; do
	grep -q "$k" "$TMP/info" && pass "metadata has '$k'" || fail "metadata" "no '$k' in tsinfo output"
done
finish
