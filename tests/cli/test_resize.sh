#!/bin/sh
# Command-line behaviour of resize(1).  Values against Pillow and OpenCV
# are checked by tests/unit/test_resize.c; here: sizes, crops, types,
# exit statuses and messages.  Frames are compared through the bytes after
# the header (frame records and end record, tstream(5)), which do not
# depend on the history in the header.
. "$(dirname "$0")/lib.sh"

if ! command -v tsgen >/dev/null 2>&1; then
	skip resize "bin/tsgen not built"
	exit 0
fi

# payload BYTES_PER_FRAME FRAMES FILE: the frames and end record of FILE
payload() {
	tail -c $(( $2 * (32 + $1) + 24 )) "$3"
}

tsgen -n 3 -s 48x64 -p noise > "$TMP/a.tns"          # 3 frames, H 48, W 64, f32
tsgen -n 2 -s 3x40x50 -p noise -t u16 > "$TMP/c.tns" # 2 frames, 3 planes of 40x50, u16

# ---- usage errors: 64, nothing on stdout ----
expect_usage "no size" resize "$TMP/a.tns"
expect_usage "size 0" resize 0 "$TMP/a.tns"
expect_usage "size 64x" resize 64x "$TMP/a.tns"
expect_usage "size x64" resize x64 "$TMP/a.tns"
expect_usage "size abc" resize abc "$TMP/a.tns"
expect_usage "size 64x-3" resize 64x-3 "$TMP/a.tns"
expect_usage "size too large" resize 99999999999 "$TMP/a.tns"
expect_usage "unknown filter" resize -f bicubik 32 "$TMP/a.tns"
expect_usage "scale 0" resize --scale 0 "$TMP/a.tns"
expect_usage "scale negative" resize --scale=-2 "$TMP/a.tns"
expect_usage "scale pair bad" resize --scale 0.5,x "$TMP/a.tns"
expect_usage "crop three numbers" resize --crop 1,2,3 32 "$TMP/a.tns"
expect_usage "crop zero width" resize --crop 0,0,0,5 32 "$TMP/a.tns"
expect_usage "crop bad WxH" resize --crop 10x 32 "$TMP/a.tns"
expect_usage "bad type" resize -t u32 32 "$TMP/a.tns"
expect_usage "extra argument" resize 32 "$TMP/a.tns" "$TMP/a.tns"
expect_usage "unknown option" resize --bogus 32 "$TMP/a.tns"
expect "unknown filter message" 64 "resize: unknown filter 'bicubik'" resize -f bicubik 32 "$TMP/a.tns"

# ---- -h ----
expect "-h" 0 '' resize -h
if grep -q '^usage: resize \[-hq\] .*size | -s scale \[file\]$' "$TMP/out"; then pass "-h prints the usage line"; else fail "-h prints the usage line" "$(cat "$TMP/out")"; fi

# ---- bad input data: 65, with the reason ----
expect "crop outside the frame" 65 'resize: .*crop 40x40 at 30,20 is outside the 64x48 frame' \
	resize --crop 30,20,40,40 16 "$TMP/a.tns"
expect "centred crop larger than the frame" 65 'outside the 64x48 frame' resize --crop 65x10 16 "$TMP/a.tns"
expect "empty stream" 65 'resize: .*empty' resize 16 /dev/null
tsgen -n 1 -s 100 > "$TMP/r1.tns"
expect "rank 1 frames" 65 'need HxW' resize 16 "$TMP/r1.tns"
expect "--clamp without a range" 65 'needs the value range' resize --clamp 16 "$TMP/a.tns"
head -c 2000 "$TMP/a.tns" > "$TMP/trunc.tns"
expect "truncated stream" 65 'resize: ' resize 16 "$TMP/trunc.tns"
head -c $(( $(wc -c < "$TMP/a.tns") - 100 )) "$TMP/a.tns" > "$TMP/trunc3.tns"
expect "stream cut in its last frame" 65 'resize: .*truncated frame' resize 16 "$TMP/trunc3.tns"
resize 16 "$TMP/a.tns" > "$TMP/full16.tns"
# the two good frames still go out (no end record): the same frame bytes
tail -c $((2 * (32 + 1024))) "$TMP/out" > "$TMP/p1"
payload 1024 3 "$TMP/full16.tns" | head -c $((2 * (32 + 1024))) > "$TMP/p2"
same "frames before a bad one are written" "$TMP/p1" "$TMP/p2"
expect "missing file" 66 'resize: ' resize 16 "$TMP/nonexistent.tns"

# ---- shapes and frames ----
expect "resize 32x24" 0 '' resize 32x24 "$TMP/a.tns"
cp "$TMP/out" "$TMP/b.tns"
# the output reads back as a stream of 3 f32 24x32 frames: an identity
# resize of it gives the same frames
resize 32x24 "$TMP/b.tns" > "$TMP/b2.tns"
payload $((24 * 32 * 4)) 3 "$TMP/b.tns" > "$TMP/p1"
payload $((24 * 32 * 4)) 3 "$TMP/b2.tns" > "$TMP/p2"
same "output is 3 frames of 32x24 f32, unchanged by a same-size resize" "$TMP/p1" "$TMP/p2"

resize 64x48 "$TMP/a.tns" > "$TMP/id.tns"
payload $((48 * 64 * 4)) 3 "$TMP/a.tns" > "$TMP/p1"
payload $((48 * 64 * 4)) 3 "$TMP/id.tns" > "$TMP/p2"
same "same size copies the frames exactly" "$TMP/p1" "$TMP/p2"

resize -s 0.5 "$TMP/a.tns" > "$TMP/s.tns"
payload $((24 * 32 * 4)) 3 "$TMP/s.tns" > "$TMP/p2"
payload $((24 * 32 * 4)) 3 "$TMP/b.tns" > "$TMP/p1"
same "--scale 0.5 equals 32x24" "$TMP/p1" "$TMP/p2"
resize --scale 0.25,2 -f area "$TMP/a.tns" > "$TMP/s.tns"
resize 16x96 -f area "$TMP/a.tns" > "$TMP/s2.tns"
payload $((96 * 16 * 4)) 3 "$TMP/s.tns" > "$TMP/p1"
payload $((96 * 16 * 4)) 3 "$TMP/s2.tns" > "$TMP/p2"
same "--scale 0.25,2 equals 16x96" "$TMP/p1" "$TMP/p2"

# crop then resize = resize of the cropped frames
resize --crop 8,4,40,30 20x15 -f lanczos3 "$TMP/a.tns" > "$TMP/cr1.tns"
resize --crop 8,4,40,30 40x30 "$TMP/a.tns" | resize 20x15 -f lanczos3 > "$TMP/cr2.tns"
payload $((15 * 20 * 4)) 3 "$TMP/cr1.tns" > "$TMP/p1"
payload $((15 * 20 * 4)) 3 "$TMP/cr2.tns" > "$TMP/p2"
same "crop before scaling equals cropping first" "$TMP/p1" "$TMP/p2"
resize --crop 40x30 40x30 "$TMP/a.tns" > "$TMP/cc1.tns"
resize --crop 12,9,40,30 40x30 "$TMP/a.tns" > "$TMP/cc2.tns"
payload $((30 * 40 * 4)) 3 "$TMP/cc1.tns" > "$TMP/p1"
payload $((30 * 40 * 4)) 3 "$TMP/cc2.tns" > "$TMP/p2"
same "--crop WxH is centred" "$TMP/p1" "$TMP/p2"

# a crop alone copies pixels exactly, whatever the filter
resize -f lanczos3 --crop 12,9,40,30 40x30 "$TMP/a.tns" > "$TMP/cl.tns"
payload $((30 * 40 * 4)) 3 "$TMP/cl.tns" > "$TMP/p1"
same "crop alone copies exactly (lanczos3 = bicubic)" "$TMP/p1" "$TMP/p2"

# values: the area mean of a constant is the constant, exactly
tsgen -n 2 -s 64x64 -p const=0.25 > "$TMP/k.tns"
tsgen -n 2 -s 8x8 -p const=0.25 > "$TMP/k8.tns"
resize -f area 8 "$TMP/k.tns" > "$TMP/k8r.tns"
payload 256 2 "$TMP/k8.tns" > "$TMP/p1"
payload 256 2 "$TMP/k8r.tns" > "$TMP/p2"
same "area 64->8 of a constant 0.25 is 0.25" "$TMP/p1" "$TMP/p2"

# channels and types: 3 planes of u16 resized as f32 (default) and kept u16
expect "rank-3 u16 frames" 0 '' resize -f bilinear 25x20 "$TMP/c.tns"
cp "$TMP/out" "$TMP/c32.tns"
resize -t keep 25x20 -f bilinear "$TMP/c.tns" > "$TMP/c16.tns"
resize -t u16 25x20 "$TMP/c32.tns" > "$TMP/c16b.tns"
payload $((3 * 20 * 25 * 2)) 2 "$TMP/c16.tns" > "$TMP/p1"
payload $((3 * 20 * 25 * 2)) 2 "$TMP/c16b.tns" > "$TMP/p2"
same "--type keep rounds to u16 like converting the f32 output" "$TMP/p1" "$TMP/p2"
f32size=$(wc -c < "$TMP/c32.tns")
u16size=$(wc -c < "$TMP/c16.tns")
# 2 frames x 3000 bytes fewer, less the longer history line of the u16 run
if [ $((f32size - u16size)) -ge 5900 ] && [ $((f32size - u16size)) -le 6000 ]; then pass "--type keep writes 2-byte elements"; else fail "--type keep writes 2-byte elements" "sizes $f32size, $u16size"; fi

# every filter runs on an upscale and a downscale
for f in nearest box bilinear bicubic lanczos3 bilinear-opencv cubic-opencv area; do
	if resize -f "$f" 100x70 "$TMP/a.tns" | resize -f "$f" 13x11 > "$TMP/f.tns" && [ -s "$TMP/f.tns" ]; then
		pass "filter $f up and down"
	else
		fail "filter $f up and down" "failed"
	fi
done

# output file (-o) and zstd frames
expect "-o file" 0 '' resize -z 3 -o "$TMP/o.tns" 32x24 "$TMP/a.tns"
if [ -s "$TMP/o.tns" ] && [ ! -s "$TMP/out" ]; then pass "-o writes the file, not stdout"; else fail "-o writes the file, not stdout" "sizes"; fi

# stdin and a pipe
if tsgen -n 1 -s 48x64 -p noise | resize 16 - > "$TMP/pipe.tns" && [ -s "$TMP/pipe.tns" ]; then
	pass "reads standard input"
else
	fail "reads standard input" "failed"
fi

# the per-frame extrema of h5slice --extrema describe the input frames:
# the output leaves them out (and keeps the other keys)
h5slice --extrema "$FIXTURES/h5/raw.h5:/contig" | resize 4 >"$TMP/x.tns"
tsinfo "$TMP/x.tns" >"$TMP/info" 2>&1
if ! grep -q '^  extrema\.' "$TMP/info" && grep -q '^  dataset = /contig$' "$TMP/info"; then
	pass "the input's extrema left out, other metadata kept"
else
	fail "the input's extrema left out, other metadata kept" "$(grep -e extrema -e dataset "$TMP/info")"
fi

finish
