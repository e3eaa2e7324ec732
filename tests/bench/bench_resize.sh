#!/bin/sh
# bench_resize.sh: images per second of resize(1) on 2048x2048 float32
# frames, next to OpenCV (cv2.resize, 2 threads) and Pillow (mode 'F') on
# the same frames in the same run (tests/bench/bench_resize.py).
#
#   sh tests/bench/bench_resize.sh [FRAMES]
#
# FRAMES (or BENCH_FRAMES) frames of 16 MiB, default 32.  Every time is the
# best of 3 runs (the machine may be shared), page cache warm.
# For resize(1), per operation:
#   steady   (FRAMES - 1) / (time for FRAMES frames - time for 1 frame):
#            reading the stream from the page cache, checksums, kernels
#            and writing, without the start-up (OpenCL set-up, cached
#            kernel build);
#   total    FRAMES / time for FRAMES frames, start-up included;
#   kernels  FRAMES / (kernel time), from TOMOGAN_CL_TIMING (each kernel
#            waited for, so no overlap with reading).
# For the peers: "mem" (frames in memory) and "file" (each frame read from
# the same file first).  Needs bin/resize, bin/tsgen and /usr/bin/python3
# with numpy, cv2 and PIL.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
N=${1:-${BENCH_FRAMES:-32}}
for p in resize tsgen; do
	[ -x "$BIN/$p" ] || { echo "bench_resize: $BIN/$p missing (run make)" >&2; exit 69; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BIN/tsgen" -n "$N" -s 2048x2048 -p noise > "$TMP/big.tns"
"$BIN/tsgen" -n 1 -s 2048x2048 -p noise > "$TMP/one.tns"
cat "$TMP/big.tns" "$TMP/one.tns" > /dev/null

now() { date +%s.%N; }
# best of 3 wall times of: resize ARGS FILE
timed() {
	file=$1
	shift
	for i in 1 2 3; do
		t0=$(now)
		"$BIN/resize" "$@" "$file" > /dev/null
		t1=$(now)
		echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
	done | sort -n | head -n 1
}

echo "resize(1) on $N frames of 2048x2048 f32 ($(nproc) CPUs; device: ${TOMOGAN_DEVICE:-default})"
printf '%-26s %10s %10s %10s\n' "operation" "steady" "total" "kernels"
# "nearest 1" does next to no arithmetic: the cost of reading the stream
# (copy and checksum) and of the OpenCL round trip per frame, a floor.
for op in "nearest 1" "area 256" "area 64" "bicubic 256" "bicubic 64" "cubic-opencv 256" \
	"cubic-opencv 64"; do
	set -- $op
	t1=$(timed "$TMP/one.tns" -q -f "$1" "$2")
	tn=$(timed "$TMP/big.tns" -q -f "$1" "$2")
	kms=$(for i in 1 2 3; do
		TOMOGAN_CL_TIMING=1 "$BIN/resize" -q -f "$1" "$2" "$TMP/big.tns" 2>&1 >/dev/null |
			awk '$1 == "total" { print $3 }'
	done | sort -n | head -n 1)
	echo "$N $t1 $tn ${kms:-0}" | awk -v name="resize -f $1 $2" '{
		steady = ($3 > $2) ? ($1 - 1) / ($3 - $2) : 0
		kern = ($4 > 0) ? $1 * 1000 / $4 : 0
		printf "%-26s %10.1f %10.1f %10.1f\n", name, steady, $1 / $3, kern }'
done | tee "$TMP/ours.txt"

echo
echo "peers on the same frames (cv2.setNumThreads(2); Pillow one thread, at most 8 frames)"
printf '%-26s %10s %10s\n' "operation" "mem" "file"
/usr/bin/python3 "$top/tests/bench/bench_resize.py" "$TMP/big.tns" "$N" |
	awk '{ printf "%-26s %10s %10s\n", $1, $2, $3 }' | tee "$TMP/peers.txt"

echo
ours=$(awk '$3 == "area" && $4 == "256" { print $5 }' "$TMP/ours.txt")
kern=$(awk '$3 == "area" && $4 == "256" { print $7 }' "$TMP/ours.txt")
cvm=$(awk '$1 == "cv2-INTER_AREA-256" { print $2 }' "$TMP/peers.txt")
cvf=$(awk '$1 == "cv2-INTER_AREA-256" { print $3 }' "$TMP/peers.txt")
echo "$ours $kern $cvm $cvf" | awk '{
	printf "area 2048->256: resize steady %.0f img/s vs cv2 from file %.0f (ratio %.2f); ", $1, $4, $4 / $1
	printf "kernels %.0f img/s vs cv2 in memory %.0f (ratio %.2f)\n", $2, $3, $3 / $2 }'
