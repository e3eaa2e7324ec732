#!/bin/sh
# bench_srcnn.sh: inference speed of srcnn(1) apply in megapixels per
# second on FRAMES frames of 256x256 float32, for 9-1-5 and 9-5-5, next to
# the same network in PyTorch with 2 threads (tests/bench/bench_srcnn.py)
# in the same run.
#
#   sh tests/bench/bench_srcnn.sh [FRAMES]
#
# FRAMES (or BENCH_FRAMES), default 16.  Every time is the best of 3 runs.
# For srcnn apply:
#   steady  (FRAMES - 1) frames / (time for FRAMES frames - time for 1):
#           reading, upload, the network, download and writing, without
#           the start-up (OpenCL set-up, kernel builds, checkpoint);
#   total   FRAMES / time for FRAMES frames, start-up included.
# For PyTorch: one frame per call, and all frames in one call.
# The checkpoints are made by one training step on the test fixture (the
# weights do not change the work).  Needs bin/srcnn, bin/tsgen and
# /usr/bin/python3 with torch.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
N=${1:-${BENCH_FRAMES:-16}}
S=256
for p in srcnn tsgen; do
	[ -x "$BIN/$p" ] || { echo "bench_srcnn: $BIN/$p missing (run make)" >&2; exit 69; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BIN/tsgen" -n "$N" -s ${S}x$S -p noise -t f32 > "$TMP/many.tns"
"$BIN/tsgen" -n 1 -s ${S}x$S -p noise -t f32 > "$TMP/one.tns"

now() { date +%s.%N; }
timed() {
	for i in 1 2 3; do
		t0=$(now)
		"$BIN/srcnn" apply -q "$@" > /dev/null
		t1=$(now)
		echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
	done | sort -n | head -n 1
}

echo "srcnn apply on $N frames of ${S}x$S f32 ($(nproc) CPUs; device: ${TOMOGAN_DEVICE:-default})"
printf '%-8s %14s %14s %16s %16s\n' arch "steady MP/s" "total MP/s" "torch 1/call" "torch batch"
for arch in 9-1-5 9-5-5; do
	"$BIN/srcnn" train -q --arch "$arch" --steps 1 -o "$TMP/$arch.ckpt" \
		"$top/tests/fixtures/srcnn/train.tns" 2>/dev/null
	t1=$(timed "$TMP/$arch.ckpt" "$TMP/one.tns")
	tn=$(timed "$TMP/$arch.ckpt" "$TMP/many.tns")
	peer=$(/usr/bin/python3 "$top/tests/bench/bench_srcnn.py" "$arch" "$N" "$S")
	echo "$N $t1 $tn $peer" | awk -v arch="$arch" -v px=$((S * S)) '{
		steady = ($3 > $2) ? ($1 - 1) * px / ($3 - $2) / 1e6 : 0
		printf "%-8s %14.3f %14.3f %16.3f %16.3f\n", arch, steady, $1 * px / $3 / 1e6, $4, $5 }'
done
