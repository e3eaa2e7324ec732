#!/bin/sh
# imread: every PNG and TIFF kind against values computed by Pillow,
# tifffile, OpenCV and numpy (tests/make_image_fixtures.py); types, ranges,
# shapes, crops, resizes, lists and bad input.
#
# Frames are compared as raw float32 written by `imwrite -p x%06d.raw`:
# byte for byte where the expected values are exact (integers, and floats
# that only pass through a float32 conversion both sides do the same way),
# else number by number within a stated relative tolerance.
. "$(dirname "$0")/lib.sh"
IMG=$FIXTURES/img

# raw_of STREAM OUT: the frames of STREAM as one raw float32 file.
raw_of() {
	rm -rf "$TMP/raw" && mkdir "$TMP/raw" &&
	imwrite -q -p "$TMP/raw/f%06d.raw" "$1" &&
	cat "$TMP/raw"/f*.raw >"$2"
}

# exact NAME EXPECTED.f32 IMREAD-ARGS...: imread's frames equal the file.
exact() {
	name=$1 want=$2
	shift 2
	imread "$@" >"$TMP/s.tns" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name" "imread exited $rc: $(head -c 300 "$TMP/err")"
		return
	fi
	if ! raw_of "$TMP/s.tns" "$TMP/got.raw"; then fail "$name" "imwrite failed"; return; fi
	if cmp -s "$TMP/got.raw" "$want"; then pass "$name"; else fail "$name" "values differ from $(basename "$want")"; fi
}

# close NAME EXPECTED.f32 RELTOL IMREAD-ARGS...: |got - want| / max(|want|, 1) <= RELTOL.
close() {
	name=$1 want=$2 tol=$3
	shift 3
	imread "$@" >"$TMP/s.tns" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name" "imread exited $rc: $(head -c 300 "$TMP/err")"
		return
	fi
	if ! raw_of "$TMP/s.tns" "$TMP/got.raw"; then fail "$name" "imwrite failed"; return; fi
	od -An -v -tf4 "$TMP/got.raw" | tr -s ' ' '\n' | sed '/^$/d' >"$TMP/got.txt"
	od -An -v -tf4 "$want" | tr -s ' ' '\n' | sed '/^$/d' >"$TMP/want.txt"
	if [ "$(wc -l <"$TMP/got.txt")" -ne "$(wc -l <"$TMP/want.txt")" ]; then
		fail "$name" "$(wc -l <"$TMP/got.txt") values, wanted $(wc -l <"$TMP/want.txt")"
		return
	fi
	worst=$(paste "$TMP/got.txt" "$TMP/want.txt" | awk '
		{ d = $1 - $2; if (d < 0) d = -d; s = $2 < 0 ? -$2 : $2; if (s < 1) s = 1
		  if (d / s > m) m = d / s }
		END { printf "%.3g", m }')
	if awk -v w="$worst" -v t="$tol" 'BEGIN { exit !(w <= t) }'; then
		pass "$name"
	else
		fail "$name" "worst relative error $worst > $tol"
	fi
}

# kind NAME WANT IMREAD-ARGS...: `imwrite -v` names type, shape and range.
kind() {
	name=$1 want=$2
	shift 2
	imread "$@" >"$TMP/k.tns" 2>/dev/null
	imwrite -v -p "$TMP/k%d.png" "$TMP/k.tns" 2>"$TMP/kerr" >/dev/null
	if grep -Eq -- "$want" "$TMP/kerr"; then pass "$name"; else fail "$name" "'$(head -1 "$TMP/kerr")' does not match /$want/"; fi
}

# ---- PNG ----
exact png_gray8 "$IMG/g8.f32" "$IMG/g8.png"
exact png_gray16 "$IMG/g16.f32" "$IMG/g16.png"
exact png_interlaced "$IMG/g8.f32" "$IMG/g8_interlaced.png"
exact png_gray1 "$IMG/g1.f32" "$IMG/g1.png"
exact png_gray2 "$IMG/g2.f32" "$IMG/g2.png"
exact png_gray_alpha "$IMG/la.f32" "$IMG/la.png"
exact png_gray_palette "$IMG/pal_gray.f32" "$IMG/pal_gray.png"
# Pillow's convert("L"), exactly
exact png_rgb_luma "$IMG/rgb_luma.f32" --gray luma "$IMG/rgb.png"
exact png_rgba_luma "$IMG/rgba_luma.f32" --gray luma "$IMG/rgba.png"
exact png_palette_luma "$IMG/pal_luma.f32" --gray luma "$IMG/pal.png"
exact png_palette_trns_luma "$IMG/pal_trns_luma.f32" --gray luma "$IMG/pal_trns.png"
exact png_rgb16_luma "$IMG/rgb16_luma.f32" --gray luma "$IMG/rgb16.png"
# BT.601 in float64 by numpy; ours is rounded to float32 once
close png_rgb_bt601 "$IMG/rgb_bt601.f32" 1e-6 --gray bt601 "$IMG/rgb.png"
close png_rgb16_bt601 "$IMG/rgb16_bt601.f32" 1e-6 --gray bt601 "$IMG/rgb16.png"

kind type_u8 '^imwrite: input u8 13x17, range 0 255 \(from metadata\)' "$IMG/g8.png"
kind type_u16 '^imwrite: input u16 13x17, range 0 65535 \(from metadata\)' "$IMG/g16.png"
kind type_luma8 '^imwrite: input u8 13x17, range 0 255 ' --gray luma "$IMG/rgb.png"
kind type_luma16 '^imwrite: input u16 13x17, range 0 65535 ' --gray luma "$IMG/rgb16.png"
kind type_bt601 '^imwrite: input f32 13x17, range 0 255 \(from metadata\)' --gray bt601 "$IMG/rgb.png"
kind type_bt601_16 '^imwrite: input f32 13x17, range 0 65535 ' --gray bt601 "$IMG/rgb16.png"
kind type_mixed_depths '^imwrite: input f32 13x17, range .* \(from data\)' "$IMG/g8.png" "$IMG/g16.png"
kind type_forced_f32 '^imwrite: input f32 13x17, range 0 65535 \(from metadata\)' --type f32 "$IMG/g16.png"
exact type_forced_f32_values "$IMG/g16.f32" --type f32 "$IMG/g16.png"
cat "$IMG/g8.f32" "$IMG/g8.f32" >"$TMP/want2.f32"
exact two_files "$TMP/want2.f32" "$IMG/g8.png" "$IMG/g8.png"
expect type_forced_u8_clamps 0 'values outside the range of u8 were clamped' imread --type u8 -o "$TMP/c.tns" "$IMG/g16.png"

# ---- TIFF ----
for k in u8 i8 u16 i16 u32 i32 f16 f32 f64; do
	exact "tiff_$k" "$IMG/t_$k.f32" "$IMG/t_$k.tif"
done
kind type_tiff_i16 '^imwrite: input i16 13x17, range -32768 32767 \(from metadata\)' "$IMG/t_i16.tif"
kind type_tiff_u32 '^imwrite: input f32 13x17, range .* \(from data\)' "$IMG/t_u32.tif"
kind type_tiff_f64 '^imwrite: input f32 13x17, range .* \(from data\)' "$IMG/t_f64.tif"
exact tiff_bigendian_zlib_predictor "$IMG/t_u16.f32" "$IMG/t_u16_be_zlib.tif"
exact tiff_tiled "$IMG/t_u16.f32" "$IMG/t_u16_tiled.tif"
exact tiff_strips "$IMG/t_u16.f32" "$IMG/t_u16_strips.tif"
exact tiff_lzw "$IMG/t_u8.f32" "$IMG/t_u8_lzw.tif"
exact tiff_multipage "$IMG/t_multi.f32" "$IMG/t_multi.tif"
exact tiff_reduced_page_skipped "$IMG/t_reduced.f32" "$IMG/t_reduced.tif"
exact tiff_rgb_luma "$IMG/t_rgb_luma.f32" --gray luma "$IMG/t_rgb.tif"
exact tiff_rgb_planar_luma "$IMG/t_rgb_luma.f32" --gray luma "$IMG/t_rgb_planar.tif"
exact tiff_miniswhite "$IMG/t_u8_miniswhite.f32" "$IMG/t_u8_miniswhite.tif"
cat "$IMG/g16.f32" "$IMG/t_u16.f32" >"$TMP/want_mixed.f32"
exact tiff_and_png_mixed "$TMP/want_mixed.f32" "$IMG/g16.png" "$IMG/t_u16.tif"

# libtiff's warnings: one line each, in our format; -q silences them
expect tiff_warning_one_line 0 '^imread: .*t_u8_unknown_tag\.tif: warning: .*65000' \
	imread -o "$TMP/w.tns" "$IMG/t_u8_unknown_tag.tif"
if [ "$(wc -l <"$TMP/err")" -eq 1 ]; then pass tiff_warning_single; else fail tiff_warning_single "$(wc -l <"$TMP/err") lines"; fi
expect tiff_warning_quiet 0 '' imread -q -o "$TMP/w.tns" "$IMG/t_u8_unknown_tag.tif"

# ---- shapes: crop and resize ----
expect shape_mismatch 65 '^imread: .*g16_20x15\.png: 20x15 image differs in shape from .*g16\.png \(17x13\)' \
	imread -o "$TMP/x.tns" "$IMG/g16.png" "$IMG/g16_20x15.png"
expect shape_mismatch_page 65 't_shapes\.tif: page 1: 9x13 image differs' imread -o "$TMP/x.tns" "$IMG/t_shapes.tif"
exact crop "$IMG/g16_crop9x7.f32" --crop 9x7 "$IMG/g16.png"
cat "$IMG/g16_20x15_crop17x13.f32" "$IMG/g16.f32" >"$TMP/want_crop2.f32"
exact crop_mixed_shapes "$TMP/want_crop2.f32" --crop 17x13 "$IMG/g16_20x15.png" "$IMG/g16.png"
expect crop_too_big 65 'g16\.png: 17x13 image is smaller than the crop 18x13' imread --crop 18x13 -o "$TMP/x.tns" "$IMG/g16.png"
exact resize_nearest_pillow "$IMG/g16_20x15_nearest17x13.f32" --resize 17x13 --interp nearest "$IMG/g16_20x15.png"
kind resize_nearest_keeps_u16 '^imwrite: input u16 13x17' --resize 17x13 --interp nearest "$IMG/g16_20x15.png"
exact resize_nearest_up "$IMG/g8_nearest30x20.f32" --resize 30x20 --interp nearest "$IMG/g8.png"
# bilinear in float64 by numpy (checked against OpenCV INTER_LINEAR when made)
close resize_bilinear_down "$IMG/g16_20x15_bilinear17x13.f32" 1e-6 --resize 17x13 "$IMG/g16_20x15.png"
close resize_bilinear_up "$IMG/g8_bilinear30x20.f32" 1e-6 --resize 30x20 "$IMG/g8.png"
kind resize_bilinear_f32 '^imwrite: input f32 20x30, range 0 255 \(from metadata\)' --resize 30x20 "$IMG/g8.png"

# ---- lists ----
printf '%s\n\n%s\r\n' "$IMG/g8.png" "$IMG/g8.png" >"$TMP/list"
exact list_file "$TMP/want2.f32" --list "$TMP/list"
if imread --list - <"$TMP/list" >"$TMP/s.tns" && raw_of "$TMP/s.tns" "$TMP/got.raw" && cmp -s "$TMP/got.raw" "$TMP/want2.f32"; then
	pass list_stdin
else
	fail list_stdin "frames differ"
fi
# files named as arguments come first, then the list's
cat "$IMG/g16.f32" "$IMG/g8.f32" "$IMG/g8.f32" >"$TMP/want3.f32"
exact list_and_args "$TMP/want3.f32" --list "$TMP/list" "$IMG/g16.png"
expect list_missing 66 '^imread: .*nolist: cannot open list' imread --list "$TMP/nolist"

# ---- metadata and output file ----
expect output_file 0 '' imread -o "$TMP/o.tns" "$IMG/g8.png" "$IMG/g16_20x15.png" --crop 5x5
if grep -aq 'source' "$TMP/o.tns" && grep -aq 'g16_20x15\.png' "$TMP/o.tns" && ! ls "$TMP"/o.tns.tmp* >/dev/null 2>&1; then
	pass output_file_source_meta
else
	fail output_file_source_meta "no source metadata, or a temporary file left"
fi

# ---- bad input ----
expect missing_file 66 "^imread: $TMP/nope\.png: No such file" imread -o "$TMP/x.tns" "$IMG/g8.png" "$TMP/nope.png"
if [ ! -e "$TMP/x.tns" ]; then pass missing_file_no_output; else fail missing_file_no_output "output left behind"; fi
expect not_image 65 'notimage\.png: not a PNG or TIFF file' imread -o "$TMP/x.tns" "$IMG/notimage.png"
expect empty_file 65 'empty\.png: empty file' imread -o "$TMP/x.tns" "$IMG/empty.png"
expect truncated_png 65 '^imread: .*trunc\.png: ' imread -o "$TMP/x.tns" "$IMG/trunc.png"
for f in trunc.png bad.tif trunc.tif; do
	imread -o "$TMP/x.tns" "$IMG/$f" 2>"$TMP/err" >/dev/null
	rc=$?
	if [ "$rc" -eq 65 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^imread: .*$f: " "$TMP/err"; then
		pass "one_line_error_$f"
	else
		fail "one_line_error_$f" "exit $rc, stderr: $(head -c 400 "$TMP/err")"
	fi
done
expect colour_needs_gray 65 'rgb\.png: colour image \(RGB, 8-bit\); convert it with --gray' imread -o "$TMP/x.tns" "$IMG/rgb.png"
expect directory 66 '^imread: ' imread -o "$TMP/x.tns" "$IMG"

expect_usage usage_no_files imread
expect_usage usage_unknown_option imread --frobnicate "$IMG/g8.png"
expect_usage usage_bad_gray imread --gray green "$IMG/g8.png"
expect_usage usage_bad_type imread --type u32 "$IMG/g8.png"
expect_usage usage_bad_crop imread --crop 0x5 "$IMG/g8.png"
expect_usage usage_bad_crop2 imread --crop 5 "$IMG/g8.png"
expect_usage usage_bad_resize imread --resize 5x "$IMG/g8.png"
expect_usage usage_interp_alone imread --interp nearest "$IMG/g8.png"
expect_usage usage_bad_interp imread --resize 5x5 --interp cubic "$IMG/g8.png"
expect_usage usage_stdin_image imread -
expect_usage usage_bad_zstd imread -z 30 "$IMG/g8.png"
expect help 0 '' imread -h
if grep -q '^usage: imread \[-hq\]' "$TMP/out"; then pass help_stdout; else fail help_stdout "no usage line on stdout"; fi
if command -v script >/dev/null 2>&1; then
	script -qec "imread $IMG/g8.png" /dev/null >"$TMP/tty" 2>&1
	rc=$?
	if [ "$rc" -eq 64 ] && grep -q 'refusing to write a binary stream to a terminal' "$TMP/tty"; then
		pass refuses_terminal
	else
		fail refuses_terminal "exit $rc: $(head -c 200 "$TMP/tty")"
	fi
else
	skip refuses_terminal "no script(1) to make a terminal"
fi

# ---- real data: 100 CT slices, 512x512, 16-bit ----
CT=${SHARED:+$SHARED/data/ct-luad-png16}
if [ -z "$CT" ] || [ ! -d "$CT" ]; then
	skip ct_luad_png16 "no \$SHARED/data/ct-luad-png16"
else
	ls "$CT"/*.png | LC_ALL=C sort >"$TMP/ct.list"
	if ! imread --list "$TMP/ct.list" -o "$TMP/ct.tns" 2>"$TMP/err"; then
		fail ct_luad_png16 "imread failed: $(head -c 300 "$TMP/err")"
	else
		imwrite -v --range 0,65535 --grid "$TMP/ct_grid.png" --rows 1 --cols 1 "$TMP/ct.tns" 2>"$TMP/v" >/dev/null
		if grep -q 'input u16 512x512, range 0 65535 (from --range)' "$TMP/v"; then pass ct_type_shape; else fail ct_type_shape "$(cat "$TMP/v")"; fi
		want=$(awk '$1 == "count" { print $2 }' "$IMG/ct-luad-png16.txt")
		n=$(tsinfo "$TMP/ct.tns" 2>/dev/null | awk '$1 == "frames:" { print $2 }')
		if [ "$n" = "$want" ]; then pass ct_frame_count; else fail ct_frame_count "'$n' frames, wanted $want"; fi
		# the slices named in the fixture, by index, through tscut
		idxs=$(grep -v '^#' "$IMG/ct-luad-png16.txt" | awk '$1 != "count" { print $1 }' | tr '\n' ' ')
		rm -rf "$TMP/raw" && mkdir "$TMP/raw"
		# shellcheck disable=SC2086
		tscut $idxs "$TMP/ct.tns" | imwrite -q -p "$TMP/raw/f%06d.raw"
		k=0
		for i in $idxs; do mv "$(printf '%s/raw/f%06d.raw' "$TMP" "$k")" "$(printf '%s/raw/i%06d.raw' "$TMP" "$i")"; k=$((k + 1)); done
		grep -v '^#' "$IMG/ct-luad-png16.txt" | grep -v '^count' >"$TMP/ct.want"
		while read -r idx name sum p1 p2 p3 p4; do
			f=$(printf '%s/raw/i%06d.raw' "$TMP" "$idx")
			got=$(od -An -v -tf4 "$f" | tr -s ' ' '\n' | sed '/^$/d' | awk '
				{ s += $1; i = NR - 1; y = int(i / 512); x = i % 512 }
				y == 256 && x == 256 { a = $1 } y == 100 && x == 400 { b = $1 }
				y == 300 && x == 100 { c = $1 } y == 400 && x == 256 { d = $1 }
				END { printf "%d %d %d %d %d", s, a, b, c, d }')
			if [ "$got" = "$sum $p1 $p2 $p3 $p4" ]; then
				pass "ct_values_$idx"
			else
				fail "ct_values_$idx" "$name: sum and pixels '$got', Pillow says '$sum $p1 $p2 $p3 $p4'"
			fi
		done <"$TMP/ct.want"
	fi
fi
finish
