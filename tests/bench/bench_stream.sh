#!/bin/sh
# bench_stream.sh: tensor stream throughput through pipes next to cat on the
# same bytes, and zstd level 1 speed and ratio on real CT slices next to
# the zstd program, all from one run.  Printed, not asserted.
#
#   1. N frames of f32 2048x2048 (N = 32, 512 MiB; BENCH_FRAMES to change):
#        cat FILE | cat > /dev/null                 (the bytes alone)
#        tsbench write N | tsbench read N           (writer | reader, raw)
#        tsbench read N < FILE  vs  cat FILE > /dev/null
#        tsbench write N 1 | tsbench read N         (zstd level 1 frames)
#      and, when bin/ has them, the programs themselves:
#        tsgen -n N -s 2048x2048 -t f32 | tscut | tsinfo
#        imread FILES.tif | tscut | tsinfo  vs  cat FILES.tif | cat
#      with the TIFF files written by tsgen | imwrite.
#   2. the 16-bit PNG slices of $SHARED/data/ct-luad-png16 (skipped when
#      absent) as u16, as f32 Hounsfield units and as f32 scaled to 0..1:
#      stream writing and reading at zstd level 0 and 1, MB/s of frame
#      bytes and compression ratio, next to `zstd -1 -T1` and cat on the
#      same raw bytes.
# Every time is the best of 3 runs, page cache warm.  tsbench (tsbench.c
# beside this script) is compiled against build/libtomogan.a, so run `make`
# first.  Environment: BIN (programs, default bin/), SHARED, TMPDIR,
# BENCH_FRAMES.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
if [ -z "${SHARED+x}" ]; then
	if [ -d "$top/../shared/data" ]; then SHARED=$(cd "$top/../shared" && pwd); else SHARED=""; fi
fi
n=${BENCH_FRAMES:-32}
lib=$top/build/libtomogan.a
[ -f "$lib" ] || { echo "bench_stream: build first (make)"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_stream.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
tsbench=$tmp/tsbench
${CC:-cc} -std=c11 -O2 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I"$top/libstream" \
	$(pkg-config --cflags libpng) -o "$tsbench" "$top/tests/bench/tsbench.c" "$lib" \
	$(pkg-config --libs libzstd libpng) -lm -lpthread

# usec CMD: microseconds of the best of 3 runs of sh -c CMD (stdout dropped)
usec() {
	best=
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		sh -c "$1" >/dev/null || { echo "bench_stream: failed: $1" >&2; exit 1; }
		t1=$(date +%s%N)
		t=$(( (t1 - t0) / 1000 ))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

# row LABEL BYTES USEC [BASE_USEC]: MB/s, and the time relative to a base
row() {
	awk -v l="$1" -v b="$2" -v t="$3" -v base="${4:-}" 'BEGIN {
		rel = base == "" ? "" : sprintf("%.2fx cat time", t / base)
		printf "  %-58s %8.0f MB/s %7.3f s  %s\n", l, b / t, t / 1e6, rel }'
}

frame=$((2048 * 2048 * 4))
bytes=$((n * frame))
file=$tmp/stream.tns
"$tsbench" write "$n" >"$file"
size=$(wc -c <"$file")
echo "bench_stream: $n frames of f32 2048x2048, $bytes frame bytes, stream $size bytes; $(nproc) cores; MB = 10^6 bytes of frames"
echo "1. throughput"
c2=$(usec "cat '$file' | cat")
row "cat FILE | cat > /dev/null" "$size" "$c2"
t=$(usec "'$tsbench' write $n | '$tsbench' read $n")
row "tsbench write | tsbench read (raw frames)" "$bytes" "$t" "$c2"
c1=$(usec "cat '$file'")
row "cat FILE > /dev/null" "$size" "$c1"
t=$(usec "'$tsbench' read $n <'$file'")
row "tsbench read < FILE" "$bytes" "$t" "$c1"
t=$(usec "'$tsbench' write $n 1 | '$tsbench' read $n")
zsize=$("$tsbench" write "$n" 1 | wc -c)
row "tsbench write (zstd 1) | tsbench read" "$bytes" "$t" "$c2"
echo "  (zstd level 1 stream: $zsize bytes, ratio $(awk -v a="$size" -v b="$zsize" 'BEGIN { printf "%.2f", a / b }'))"

if [ -x "$BIN/tsgen" ] && [ -x "$BIN/tscut" ] && [ -x "$BIN/tsinfo" ]; then
	t=$(usec "'$BIN/tsgen' -n $n -s 2048x2048 -t f32 | '$BIN/tscut' | '$BIN/tsinfo'")
	row "tsgen | tscut | tsinfo" "$bytes" "$t" "$c2"
	t=$(usec "'$BIN/tscut' <'$file' | '$BIN/tsinfo'")
	row "tscut < FILE | tsinfo" "$bytes" "$t" "$c2"
	t=$(usec "'$BIN/tscut' <'$file' | cat")
	row "tscut < FILE | cat > /dev/null" "$bytes" "$t" "$c2"
else
	echo "  (tsgen, tscut or tsinfo not built: skipped)"
fi
if [ -x "$BIN/imread" ] && [ -x "$BIN/imwrite" ] && [ -x "$BIN/tscut" ] && [ -x "$BIN/tsinfo" ]; then
	mkdir "$tmp/tif"
	if "$BIN/imwrite" -q -p "$tmp/tif/slice%04d.tif" <"$file" 2>"$tmp/err"; then
		tbytes=$(cat "$tmp"/tif/*.tif | wc -c)
		c=$(usec "cat '$tmp'/tif/*.tif | cat")
		row "cat FILES.tif | cat > /dev/null" "$tbytes" "$c"
		t=$(usec "'$BIN/imread' -q '$tmp'/tif/*.tif | '$BIN/tscut' | '$BIN/tsinfo'")
		row "imread FILES.tif | tscut | tsinfo" "$bytes" "$t" "$c"
		t=$(usec "'$BIN/imread' -q '$tmp'/tif/*.tif | cat")
		row "imread FILES.tif | cat > /dev/null" "$bytes" "$t" "$c"
	else
		echo "  (imwrite could not write TIFF files: $(head -c 200 "$tmp/err"); skipped)"
	fi
	rm -rf "$tmp/tif"
else
	echo "  (imread, imwrite, tscut or tsinfo not built: TIFF pipeline skipped)"
fi
rm -f "$file"

ct=${SHARED:+$SHARED/data/ct-luad-png16}
if [ -z "$ct" ] || [ ! -d "$ct" ]; then
	echo "2. zstd level 1 on CT slices: skipped (no \$SHARED/data/ct-luad-png16)"
	exit 0
fi
mkdir "$tmp/raw"
"$tsbench" ct "$ct" "$tmp/raw" >"$tmp/ct"
get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/ct"; }
echo "2. zstd level 1 on $(get slices) CT slices of $(get width)x$(get height) (ct-luad-png16), MB/s of frame bytes"
for s in u16 f32_hu f32_unit; do
	raw=$tmp/raw/$s.raw
	rb=$(get "$s.raw_bytes")
	c=$(usec "cat '$raw'")
	z=$(usec "zstd -q -1 -T1 -c '$raw'")
	zs=$(zstd -q -1 -T1 -c "$raw" | wc -c)
	echo "  $s: $rb bytes"
	row "cat RAW > /dev/null" "$rb" "$c"
	awk -v w0="$(get "$s.level0_write_MBps")" -v r0="$(get "$s.level0_read_MBps")" \
	    -v w1="$(get "$s.level1_write_MBps")" -v r1="$(get "$s.level1_read_MBps")" \
	    -v ratio="$(get "$s.level1_ratio")" 'BEGIN {
		printf "  %-58s %8.0f MB/s\n", "stream write, raw frames (memory to memory)", w0
		printf "  %-58s %8.0f MB/s\n", "stream read, raw frames (checked)", r0
		printf "  %-58s %8.0f MB/s  ratio %.3f\n", "stream write, zstd level 1 per frame", w1, ratio
		printf "  %-58s %8.0f MB/s\n", "stream read, zstd level 1 frames (checked)", r1 }'
	zr=$(awk -v a="$rb" -v b="$zs" 'BEGIN { printf "%.3f", a / b }')
	row "zstd -1 -T1 -c RAW > /dev/null (whole file)" "$rb" "$z"
	echo "    (zstd program ratio $zr)"
done
