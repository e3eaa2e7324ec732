#!/bin/sh
# Command-line behaviour of imgcmp(1).  Values against scikit-image are
# checked by tests/unit/test_metrics.c (library and program); here: exact
# properties (identical streams, a constant offset, symmetry, the mean of
# the per-frame lines), the data range rules, crops, output forms, exit
# statuses and messages.
. "$(dirname "$0")/lib.sh"

if ! command -v tsgen >/dev/null 2>&1 || ! command -v imgcmp >/dev/null 2>&1; then
	skip imgcmp "bin/tsgen or bin/imgcmp not built"
	exit 0
fi

# field NAME: the number after NAME on the last line of $TMP/out
field() { tail -n 1 "$TMP/out" | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }
# close NAME GOT WANT TOL: |GOT - WANT| <= TOL
close() {
	if awk -v g="$2" -v w="$3" -v t="$4" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(g != "" && d <= t) }'; then
		pass "$1"
	else
		fail "$1" "got '$2', wanted $3 within $4"
	fi
}

tsgen -n 3 -s 64x48 -p noise --seed 1 > "$TMP/a.tns"
tsgen -n 3 -s 64x48 -p noise --seed 2 > "$TMP/b.tns"

# ---- usage errors: 64, nothing on stdout ----
expect_usage "no streams" imgcmp
expect_usage "one stream" imgcmp "$TMP/a.tns"
expect_usage "three streams" imgcmp "$TMP/a.tns" "$TMP/b.tns" "$TMP/b.tns"
expect_usage "both stdin" imgcmp -r 0,1 - -
expect_usage "crop negative" imgcmp --crop -1 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "crop not a number" imgcmp -c x "$TMP/a.tns" "$TMP/b.tns"
expect_usage "range empty" imgcmp --range 1,1 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "range reversed" imgcmp --range 1,0 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "range one number" imgcmp --range 1 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "range not numbers" imgcmp --range a,b "$TMP/a.tns" "$TMP/b.tns"
expect_usage "data-range 0" imgcmp --data-range 0 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "data-range negative" imgcmp -R -1 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "range and data-range" imgcmp -r 0,1 -R 1 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "bad precision" imgcmp -p half -r 0,1 "$TMP/a.tns" "$TMP/b.tns"
expect_usage "unknown option" imgcmp --bogus "$TMP/a.tns" "$TMP/b.tns"
expect_usage "option without value" imgcmp "$TMP/a.tns" "$TMP/b.tns" --crop
expect "both stdin message" 64 "imgcmp: only one of the two streams can be standard input" imgcmp -r 0,1 - -

# ---- -h ----
expect "-h" 0 '' imgcmp -h
if grep -q '^usage: imgcmp \[-fhq\] .*file1 file2$' "$TMP/out"; then pass "-h prints the usage line"; else fail "-h prints the usage line" "$(cat "$TMP/out")"; fi

# ---- bad input data: 65 with the reason, nothing on stdout ----
expect "no range known" 65 'imgcmp: no value range: neither .*a.tns nor .*b.tns has a range.*--range' \
	imgcmp "$TMP/a.tns" "$TMP/b.tns"
[ -s "$TMP/out" ] && fail "no range: stdout empty" "$(cat "$TMP/out")" || pass "no range: stdout empty"
tsgen -n 3 -s 48x64 -p noise > "$TMP/t.tns"
expect "shape mismatch" 65 'imgcmp: frames differ in shape: .*a.tns has f32 64x48, .*t.tns has f32 48x64' \
	imgcmp -r 0,1 "$TMP/a.tns" "$TMP/t.tns"
tsgen -n 2 -s 64x48 -p noise > "$TMP/two.tns"
expect "frame count mismatch" 65 'imgcmp: the streams differ in length: .*two.tns ended after 2 frames, .*a.tns has more' \
	imgcmp -f -r 0,1 "$TMP/a.tns" "$TMP/two.tns"
[ -s "$TMP/out" ] && fail "count mismatch: stdout empty" "$(cat "$TMP/out")" || pass "count mismatch: stdout empty"
expect "frame count mismatch, other order" 65 'two.tns ended after 2 frames' imgcmp -r 0,1 "$TMP/two.tns" "$TMP/a.tns"
tsgen -n 1 -s 100 > "$TMP/r1.tns"
expect "rank 1 frames" 65 'imgcmp: .*r1.tns: frames are f32 100: need HxW or CxHxW' imgcmp -r 0,1 "$TMP/r1.tns" "$TMP/r1.tns"
tsgen -n 1 -s 2x2x20x20 > "$TMP/r4.tns"
expect "rank 4 frames" 65 'need HxW or CxHxW' imgcmp -r 0,1 "$TMP/r4.tns" "$TMP/r4.tns"
tsgen -n 1 -s 10x30 > "$TMP/small.tns"
expect "frames below the window" 65 'imgcmp: frames of 30x10 are smaller than the 11x11 SSIM window' \
	imgcmp -r 0,1 "$TMP/small.tns" "$TMP/small.tns"
tsgen -n 1 -s 30x30 > "$TMP/s30.tns"
expect "11x11 frames are enough" 0 '' imgcmp -r 0,1 --crop 9 "$TMP/s30.tns" "$TMP/s30.tns"
expect "crop leaving less than the window" 65 'frames of 30x30 less the crop are smaller than the 11x11' \
	imgcmp -r 0,1 --crop 10 "$TMP/s30.tns" "$TMP/s30.tns"
expect "empty stream" 65 'imgcmp: ' imgcmp -r 0,1 /dev/null "$TMP/a.tns"
expect "missing file" 66 'imgcmp: ' imgcmp -r 0,1 "$TMP/nonexistent.tns" "$TMP/a.tns"
head -c 20000 "$TMP/a.tns" > "$TMP/trunc.tns"
expect "truncated stream" 65 'imgcmp: ' imgcmp -r 0,1 "$TMP/trunc.tns" "$TMP/a.tns"

# ---- identical streams: PSNR inf, SSIM exactly 1 ----
expect "identical streams" 0 '' imgcmp -f -r 0,1 "$TMP/a.tns" "$TMP/a.tns"
if [ "$(grep -c '^frame [0-2] psnr inf ssim 1 mse 0$' "$TMP/out")" -eq 3 ] &&
	tail -n 1 "$TMP/out" | grep -q '^mean frames 3 psnr inf ssim 1 mse 0 psnr_mse inf$'; then
	pass "identical: psnr inf, ssim 1, mse 0 on every line"
else
	fail "identical: psnr inf, ssim 1" "$(cat "$TMP/out")"
fi

# ---- a constant offset: PSNR = 20 log10(R / c), SSIM from the formula ----
tsgen -n 2 -s 40x30 -p const=0.25 > "$TMP/k1.tns"
tsgen -n 2 -s 40x30 -p const=0.5 > "$TMP/k2.tns"
for prec in auto reference float; do
	# the float path rounds the constants and means to float: 1e-7
	tol=1e-9
	[ $prec = float ] && tol=1e-7
	imgcmp -p $prec -r 0,1 "$TMP/k1.tns" "$TMP/k2.tns" > "$TMP/out"
	close "offset 0.25 on range 1, -p $prec: PSNR 20 log10(4)" "$(field psnr)" 12.0411998265592 1e-9
	# means 0.25 and 0.5, no variance: (2*0.125 + C1) / (0.0625 + 0.25 + C1), C1 = 1e-4
	close "offset 0.25 on range 1, -p $prec: SSIM" "$(field ssim)" 0.800063979526551 $tol
done
imgcmp --data-range 255 "$TMP/k1.tns" "$TMP/k2.tns" > "$TMP/out"
close "offset 0.25 on range 255: PSNR 20 log10(1020)" "$(field psnr)" 60.1720034352384 1e-9

# ---- symmetry, and the mean of the frame lines ----
imgcmp -f -r 0,1 "$TMP/a.tns" "$TMP/b.tns" > "$TMP/ab"
imgcmp -f -r 0,1 "$TMP/b.tns" "$TMP/a.tns" > "$TMP/ba"
same "imgcmp A B = imgcmp B A" "$TMP/ab" "$TMP/ba"
cp "$TMP/ab" "$TMP/out"
m=$(awk '/^frame/ { s += $4; n++ } END { printf "%.12f", s / n }' "$TMP/ab")
close "mean psnr = mean of the frame lines" "$(field psnr)" "$m" 1e-9
m=$(awk '/^frame/ { s += $6; n++ } END { printf "%.12f", s / n }' "$TMP/ab")
close "mean ssim = mean of the frame lines" "$(field ssim)" "$m" 1e-11
m=$(awk '/^frame/ { s += $8; n++ } END { printf "%.17g", 10 * log(1 / (s / n)) / log(10) }' "$TMP/ab")
close "psnr_mse = PSNR of the mean MSE" "$(field psnr_mse)" "$m" 1e-9
[ "$(grep -c '^frame ' "$TMP/ab")" -eq 3 ] && pass "-f: a line per frame" || fail "-f: a line per frame" "$(cat "$TMP/ab")"
imgcmp -r 0,1 "$TMP/a.tns" "$TMP/b.tns" > "$TMP/mean"
tail -n 1 "$TMP/ab" > "$TMP/ab1"
same "without -f: the mean line only" "$TMP/mean" "$TMP/ab1"

# ---- stdin, precision paths ----
imgcmp -f -r 0,1 - "$TMP/b.tns" < "$TMP/a.tns" > "$TMP/s1"
same "first stream from stdin" "$TMP/ab" "$TMP/s1"
imgcmp -f -r 0,1 "$TMP/a.tns" - < "$TMP/b.tns" > "$TMP/s2"
same "second stream from stdin" "$TMP/ab" "$TMP/s2"
imgcmp -p reference -r 0,1 "$TMP/a.tns" "$TMP/b.tns" > "$TMP/out"
r=$(field ssim)
imgcmp -p float -r 0,1 "$TMP/a.tns" "$TMP/b.tns" > "$TMP/out"
close "OpenCL float SSIM = reference (1e-6)" "$(field ssim)" "$r" 1e-6
imgcmp -p auto -r 0,1 "$TMP/a.tns" "$TMP/b.tns" > "$TMP/out"
close "OpenCL default SSIM = reference (1e-6)" "$(field ssim)" "$r" 1e-6

# ---- data range: options, metadata, integer full scale ----
tsgen -n 2 -s 32x32 -p noise -t u8 --seed 3 > "$TMP/u1.tns"
tsgen -n 2 -s 32x32 -p noise -t u8 --seed 4 > "$TMP/u2.tns"
imgcmp -f "$TMP/u1.tns" "$TMP/u2.tns" > "$TMP/u_auto"
imgcmp -f --range 0,255 "$TMP/u1.tns" "$TMP/u2.tns" > "$TMP/u_r"
imgcmp -f --data-range 255 "$TMP/u1.tns" "$TMP/u2.tns" > "$TMP/u_R"
same "u8 without a range: full scale 255 (= --range 0,255)" "$TMP/u_auto" "$TMP/u_r"
same "--data-range 255 = --range 0,255" "$TMP/u_R" "$TMP/u_r"
imgcmp --range 0,1 "$TMP/u1.tns" "$TMP/u2.tns" > "$TMP/out"
p1=$(field psnr)
imgcmp --range 0,255 "$TMP/u1.tns" "$TMP/u2.tns" > "$TMP/out"
close "PSNR grows by 20 log10(255) with the range" "$(field psnr)" "$(awk -v p="$p1" 'BEGIN { printf "%.12f", p + 20 * log(255) / log(10) }')" 1e-8
tsgen -n 2 -s 32x32 -p noise -t i16 > "$TMP/i1.tns"
imgcmp -f "$TMP/i1.tns" "$TMP/i1.tns" > /dev/null && pass "i16 without a range: full scale" || fail "i16 full scale" "exit $?"
if command -v clipnorm >/dev/null 2>&1; then
	# clipnorm writes range 0 1 into the metadata; the f32 stream has none
	clipnorm --bounds 0,1 "$TMP/a.tns" > "$TMP/an.tns" 2>/dev/null
	expect "range from the first stream's metadata" 0 '' imgcmp -f "$TMP/an.tns" "$TMP/b.tns"
	cp "$TMP/out" "$TMP/meta1"
	same "metadata range 0 1 = --range 0,1" "$TMP/meta1" "$TMP/ab"
	expect "range from the second stream's metadata" 0 '' imgcmp -f "$TMP/b.tns" "$TMP/an.tns"
	same "second stream's range" "$TMP/out" "$TMP/ba"
	imgcmp -f --data-range 2 "$TMP/an.tns" "$TMP/b.tns" > "$TMP/out"
	if cmp -s "$TMP/out" "$TMP/ab"; then fail "the option overrides the metadata" "same output"; else pass "the option overrides the metadata"; fi
else
	skip "range from metadata" "bin/clipnorm not built"
fi

# ---- crop ----
imgcmp -f -r 0,1 --crop 3 "$TMP/a.tns" "$TMP/b.tns" > "$TMP/c3"
imgcmp -f -r 0,1 --shave 3 "$TMP/a.tns" "$TMP/b.tns" > "$TMP/sh3"
same "--shave = --crop" "$TMP/c3" "$TMP/sh3"
if cmp -s "$TMP/c3" "$TMP/ab"; then fail "--crop 3 changes the numbers" "same as no crop"; else pass "--crop 3 changes the numbers"; fi
if command -v tscut >/dev/null 2>&1 && command -v resize >/dev/null 2>&1; then
	# crop by resize (exact copy of pixels) then compare = imgcmp --crop
	resize --crop 3,3,42,58 42x58 "$TMP/a.tns" > "$TMP/ac.tns"
	resize --crop 3,3,42,58 42x58 "$TMP/b.tns" > "$TMP/bc.tns"
	imgcmp -f -r 0,1 "$TMP/ac.tns" "$TMP/bc.tns" > "$TMP/c3b"
	same "--crop 3 = comparing 3-pixel-cropped streams" "$TMP/c3" "$TMP/c3b"
fi

# ---- a degraded copy: bicubic down and up ----
if command -v resize >/dev/null 2>&1; then
	resize -s 0.5 "$TMP/a.tns" | resize 48x64 > "$TMP/adu.tns"
	expect "degraded copy" 0 '' imgcmp -c 2 -r 0,1 "$TMP/a.tns" "$TMP/adu.tns"
	p=$(field psnr) s=$(field ssim)
	if awk -v p="$p" -v s="$s" 'BEGIN { exit !(p > 5 && p < 40 && s > 0 && s < 1) }'; then
		pass "degraded copy: PSNR $p in (5, 40), SSIM $s in (0, 1)"
	else
		fail "degraded copy" "PSNR $p, SSIM $s"
	fi
	imgcmp -c 2 -r 0,1 -p reference "$TMP/a.tns" "$TMP/adu.tns" > "$TMP/out"
	close "degraded copy: OpenCL SSIM = reference (1e-9)" "$s" "$(field ssim)" 1e-9
	close "degraded copy: OpenCL PSNR = reference (exact)" "$p" "$(field psnr)" 0
fi

# ---- planes: 1xHxW = HxW; CxHxW ----
tsgen -n 3 -s 1x64x48 -p noise --seed 1 > "$TMP/a1.tns"
imgcmp -f -r 0,1 "$TMP/a1.tns" "$TMP/b.tns" > "$TMP/out"
same "1xHxW against HxW" "$TMP/out" "$TMP/ab"
tsgen -n 2 -s 3x20x24 -p noise --seed 5 > "$TMP/p1.tns"
tsgen -n 2 -s 3x20x24 -p noise --seed 6 > "$TMP/p2.tns"
expect "3 planes" 0 '' imgcmp -r 0,1 "$TMP/p1.tns" "$TMP/p2.tns"

# ---- JSON ----
expect "--json" 0 '' imgcmp --json -f -r 0,1 "$TMP/a.tns" "$TMP/b.tns"
if grep -q '^{"frames": 3, "planes": 1, "height": 64, "width": 48, "crop": 0, "range": \[0, 1\], "data_range": 1,$' "$TMP/out" &&
	[ "$(grep -c '{"frame": [0-2], "psnr": [0-9.]*, "ssim": [-0-9.e]*, "mse": [0-9.e-]*}' "$TMP/out")" -eq 3 ] &&
	tail -n 1 "$TMP/out" | grep -q '^ \]}$'; then
	pass "--json fields"
else
	fail "--json fields" "$(cat "$TMP/out")"
fi
ps=$(awk '/"psnr": / && !/frame/ { sub(/.*"psnr": /, ""); sub(/,.*/, ""); print; exit }' "$TMP/out")
cp "$TMP/ab" "$TMP/out"
close "--json psnr = text psnr" "$ps" "$(field psnr)" 1e-12
imgcmp --json -r 0,1 "$TMP/a.tns" "$TMP/a.tns" > "$TMP/out"
grep -q '"psnr": "inf", "ssim": 1, "mse": 0, "psnr_mse": "inf"}' "$TMP/out" && pass "--json writes inf as a string" ||
	fail "--json inf" "$(cat "$TMP/out")"

# ---- real data: a CT slice against its bicubic 2x down-up copy ----
if [ -n "$SHARED" ] && [ -f "$SHARED/data/ct-luad-png16/ID_0000_AGE_0060_CONTRAST_1_CT.png" ] &&
	command -v imread >/dev/null 2>&1 && command -v resize >/dev/null 2>&1 && command -v clipnorm >/dev/null 2>&1; then
	imread "$SHARED/data/ct-luad-png16/ID_0000_AGE_0060_CONTRAST_1_CT.png" 2>/dev/null |
		clipnorm --bounds 0,2000 > "$TMP/ct.tns" 2>/dev/null
	resize -s 0.5 "$TMP/ct.tns" | resize 512 > "$TMP/ctdu.tns"
	imgcmp -c 2 "$TMP/ct.tns" "$TMP/ctdu.tns" > "$TMP/out"
	p=$(field psnr) s=$(field ssim)
	imgcmp -p reference -c 2 "$TMP/ct.tns" "$TMP/ctdu.tns" > "$TMP/out"
	close "CT 512x512 bicubic x2: OpenCL SSIM = reference (1e-6)" "$s" "$(field ssim)" 1e-6
	if awk -v p="$p" -v s="$s" 'BEGIN { exit !(p > 30 && p < 50 && s > 0.9 && s < 1) }'; then
		pass "CT bicubic x2 down-up: PSNR $p dB in (30, 50), SSIM $s in (0.9, 1)"
	else
		fail "CT bicubic x2 down-up" "PSNR $p, SSIM $s"
	fi
else
	skip "CT slice" "no shared data or programs"
fi

finish
