#!/bin/sh
# imwrite: the value-to-pixel mapping against numpy
# (tests/make_image_fixtures.py), PNG, TIFF and raw output read back with
# imread, grids, patterns, atomic files and bad invocations.
#
# Pixels are integers, so comparisons are exact (byte for byte on the raw
# float32 that `imwrite -p x%06d.raw` makes of them).
. "$(dirname "$0")/lib.sh"
IMG=$FIXTURES/img

# raw_of IMREAD-ARGS... : the frames imread makes of the files, as one raw
# float32 file $TMP/got.raw.
raw_of() {
	rm -rf "$TMP/raw" && mkdir "$TMP/raw" &&
	imread -q "$@" >"$TMP/r.tns" &&
	imwrite -q -p "$TMP/raw/f%06d.raw" "$TMP/r.tns" &&
	cat "$TMP/raw"/f*.raw >"$TMP/got.raw"
}

# same_values NAME EXPECTED.f32 IMREAD-ARGS...
same_values() {
	name=$1 want=$2
	shift 2
	if ! raw_of "$@"; then fail "$name" "could not read back $*"; return; fi
	if cmp -s "$TMP/got.raw" "$want"; then pass "$name"; else fail "$name" "values differ from $(basename "$want")"; fi
}

mkdir "$TMP/o"

# ---- round trips: PNG 16 and 8 bits keep every pixel ----
imread "$IMG/g16.png" >"$TMP/g16.tns"
expect png16_write 0 '' imwrite -p "$TMP/o/a%d.png" "$TMP/g16.tns"
same_values png16_round_trip "$IMG/g16.f32" "$TMP/o/a0.png"
imread "$IMG/g8.png" | imwrite -p "$TMP/o/b%d.png"
same_values png8_round_trip "$IMG/g8.f32" "$TMP/o/b0.png"
imread "$IMG/t_multi.tif" | imwrite -p "$TMP/o/m%02d.png"
same_values png16_three_frames "$IMG/t_multi.f32" "$TMP/o/m00.png" "$TMP/o/m01.png" "$TMP/o/m02.png"
imread "$IMG/t_i16.tif" | imwrite --range -32768,32767 -p "$TMP/o/i%d.png"
imread "$IMG/t_i16.tif" >"$TMP/i16.tns"
imwrite -v -p "$TMP/o/j%d.png" "$TMP/i16.tns" 2>"$TMP/v"
if grep -q 'range -32768 32767 (from metadata), writing 16-bit PNG' "$TMP/v" && cmp -s "$TMP/o/i0.png" "$TMP/o/j0.png"; then
	pass i16_offset_to_16bit
else
	fail i16_offset_to_16bit "$(cat "$TMP/v")"
fi

# ---- the mapping ----
imwrite --bits 8 -p "$TMP/o/c%d.png" "$TMP/g16.tns"
same_values map_u16_to_8bit "$IMG/map_g16_8.f32" "$TMP/o/c0.png"
imread "$IMG/t_f32.tif" >"$TMP/f32.tns"
imwrite --range -500,500 -p "$TMP/o/d%d.png" "$TMP/f32.tns"
same_values map_float_range_8bit "$IMG/map_f32_m500_500_8.f32" "$TMP/o/d0.png"
# float without a range, from a file: its minimum and maximum
imwrite -v --bits 16 -p "$TMP/o/e%d.png" "$TMP/f32.tns" 2>"$TMP/v"
same_values map_float_minmax_16bit "$IMG/map_f32_minmax_16.f32" "$TMP/o/e0.png"
if grep -q '(from data), writing 16-bit PNG' "$TMP/v"; then pass map_float_minmax_said; else fail map_float_minmax_said "$(cat "$TMP/v")"; fi
# ... and from a pipe it cannot read twice: refused before writing anything
cat "$TMP/f32.tns" | imwrite -p "$TMP/o/p%d.png" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 65 ] && grep -q 'without range metadata: give --range' "$TMP/err" && [ ! -e "$TMP/o/p0.png" ]; then
	pass map_float_pipe_needs_range
else
	fail map_float_pipe_needs_range "exit $rc: $(cat "$TMP/err")"
fi

# ---- TIFF and raw hold the values ----
imwrite -p "$TMP/o/t%d.tif" "$TMP/f32.tns"
same_values tiff_float_round_trip "$IMG/t_f32.f32" "$TMP/o/t0.tif"
imwrite -p "$TMP/o/u%d.TIFF" "$TMP/g16.tns"
same_values tiff_from_u16 "$IMG/g16.f32" "$TMP/o/u0.TIFF"
imwrite -p "$TMP/o/r%d.raw" "$TMP/f32.tns"
same raw_float "$TMP/o/r0.raw" "$IMG/t_f32.f32"

# ---- grid ----
imread "$IMG/t_multi.tif" >"$TMP/multi.tns"
expect grid_write 0 'writing a 2x2 grid of 3 frames as 16-bit PNG' \
	imwrite -v --grid "$TMP/o/grid.png" --cols 2 --pad 1 --pad-value 1 "$TMP/multi.tns"
same_values grid_values "$IMG/grid_multi_2x1.f32" "$TMP/o/grid.png"
imread "$IMG/t_multi.tif" | imwrite --grid - --cols 2 --pad 1 --pad-value 1 >"$TMP/o/grid2.png"
same grid_stdout "$TMP/o/grid.png" "$TMP/o/grid2.png"
expect grid_first_frames 0 'writing a 1x2 grid of 2 frames' \
	imwrite -v --grid "$TMP/o/g2.png" --rows 1 --cols 2 "$TMP/multi.tns"

# ---- names ----
imwrite --start 5 -p "$TMP/o/s%04d.png" "$TMP/multi.tns"
if [ -e "$TMP/o/s0005.png" ] && [ -e "$TMP/o/s0007.png" ] && [ ! -e "$TMP/o/s0004.png" ] && [ ! -e "$TMP/o/s0008.png" ]; then
	pass start_index
else
	fail start_index "$(ls "$TMP/o" | grep '^s' | tr '\n' ' ')"
fi
imwrite -p "$TMP/o/pc%%%d.png" "$TMP/g16.tns"
if [ -e "$TMP/o/pc%0.png" ]; then pass pattern_percent; else fail pattern_percent "no pc%0.png"; fi
if ls "$TMP/o" | grep -q tmp; then fail no_temporary_files "$(ls "$TMP/o" | grep tmp)"; else pass no_temporary_files; fi
expect missing_dir 74 "^imwrite: $TMP/nodir/x0\.png: cannot create" imwrite -p "$TMP/nodir/x%d.png" "$TMP/g16.tns"

# ---- frame shapes ----
tsgen -n 1 -s 1x4x5 -t u8 -p ramp | imwrite -p "$TMP/o/one%d.raw"
if [ "$(wc -c <"$TMP/o/one0.raw")" -eq 80 ]; then pass shape_1xHxW; else fail shape_1xHxW "$(wc -c <"$TMP/o/one0.raw") bytes"; fi
tsgen -n 1 -s 2x4x5 -t u8 -o "$TMP/c2.tns"
expect shape_2xHxW 65 'only HxW or 1xHxW frames' imwrite -p "$TMP/o/two%d.png" "$TMP/c2.tns"
expect not_a_stream 65 '^imwrite: ' imwrite -p "$TMP/o/z%d.png" "$IMG/g8.png"
expect missing_input 66 '^imwrite: ' imwrite -p "$TMP/o/z%d.png" "$TMP/nope.tns"

# ---- bad invocations: exit 64, nothing written ----
expect_usage usage_no_pattern imwrite "$TMP/g16.tns"
expect_usage usage_pattern_and_grid imwrite -p "$TMP/o/x%d.png" --grid "$TMP/o/x.png" "$TMP/g16.tns"
expect_usage usage_no_conversion imwrite -p "$TMP/o/x.png" "$TMP/g16.tns"
expect_usage usage_two_conversions imwrite -p "$TMP/o/x%d_%d.png" "$TMP/g16.tns"
expect_usage usage_string_conversion imwrite -p "$TMP/o/x%s.png" "$TMP/g16.tns"
expect_usage usage_long_conversion imwrite -p "$TMP/o/x%ld.png" "$TMP/g16.tns"
expect_usage usage_star_width imwrite -p "$TMP/o/x%*d.png" "$TMP/g16.tns"
expect_usage usage_huge_width imwrite -p "$TMP/o/x%999d.png" "$TMP/g16.tns"
expect_usage usage_conversion_in_extension imwrite -p "$TMP/o/x.p%d" "$TMP/g16.tns"
expect_usage usage_unknown_extension imwrite -p "$TMP/o/x%d.jpg" "$TMP/g16.tns"
expect_usage usage_bits_tiff imwrite --bits 8 -p "$TMP/o/x%d.tif" "$TMP/g16.tns"
expect_usage usage_range_raw imwrite --range 0,1 -p "$TMP/o/x%d.raw" "$TMP/g16.tns"
expect_usage usage_bad_bits imwrite --bits 12 -p "$TMP/o/x%d.png" "$TMP/g16.tns"
expect_usage usage_bad_range imwrite --range 5,1 -p "$TMP/o/x%d.png" "$TMP/g16.tns"
expect_usage usage_bad_range2 imwrite --range 5 -p "$TMP/o/x%d.png" "$TMP/g16.tns"
expect_usage usage_grid_opts_with_p imwrite --cols 3 -p "$TMP/o/x%d.png" "$TMP/g16.tns"
expect_usage usage_start_with_grid imwrite --start 3 --grid "$TMP/o/x.png" "$TMP/g16.tns"
expect_usage usage_grid_not_png imwrite --grid "$TMP/o/x.tif" "$TMP/g16.tns"
expect_usage usage_bad_pad_value imwrite --pad-value 2 --grid "$TMP/o/x.png" "$TMP/g16.tns"
expect_usage usage_bad_level imwrite -z 10 -p "$TMP/o/x%d.png" "$TMP/g16.tns"
expect_usage usage_two_inputs imwrite -p "$TMP/o/x%d.png" "$TMP/g16.tns" "$TMP/g16.tns"
if ls "$TMP/o" | grep -q '^x'; then fail usage_writes_nothing "$(ls "$TMP/o" | grep '^x')"; else pass usage_writes_nothing; fi
expect help 0 '' imwrite -h
if grep -q '^usage: imwrite \[-hqv\]' "$TMP/out"; then pass help_stdout; else fail help_stdout "no usage line on stdout"; fi
if command -v script >/dev/null 2>&1; then
	script -qec "imwrite --grid - $TMP/g16.tns" /dev/null >"$TMP/tty" 2>&1
	rc=$?
	if [ "$rc" -eq 64 ] && grep -q 'refusing to write a PNG to a terminal' "$TMP/tty"; then
		pass refuses_terminal
	else
		fail refuses_terminal "exit $rc: $(head -c 200 "$TMP/tty")"
	fi
else
	skip refuses_terminal "no script(1) to make a terminal"
fi
finish
