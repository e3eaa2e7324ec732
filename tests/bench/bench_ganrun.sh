#!/bin/sh
# bench_ganrun.sh: seconds per generator iteration of ganrun(1)'s wgan-gp
# (n_critic 5: five critic steps with the gradient penalty and one
# generator step) at 64x64, batch 64, and at 256x256, batch 4, next to the
# same architecture and loop in PyTorch with 2 threads, NCHW and
# channels_last (tests/bench/bench_ganrun.py), in the same run.
#
#   sh tests/bench/bench_ganrun.sh [ITERS]
#   BENCH_SIZES=64 sh tests/bench/bench_ganrun.sh     (one size only)
#
# ITERS (or BENCH_ITERS), default 2: generator iterations timed after one
# of warm-up.  ganrun trains ITERS + 1 epochs on 5 batches of noise
# frames, so that each epoch is one generator iteration; its time is the
# difference of the wall seconds of the loss log between the first and
# the last generator step (start-up, data upload and the first iteration,
# with its kernel builds, excluded).  Needs bin/ganrun, bin/tsgen and
# /usr/bin/python3 with torch (PYTHON overrides; BENCH_TORCH_DEVICE=cuda
# runs the PyTorch side on a GPU, see bench_ganrun.py).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
IT=${1:-${BENCH_ITERS:-2}}
for p in ganrun tsgen; do
	[ -x "$BIN/$p" ] || { echo "bench_ganrun: $BIN/$p missing (run make)" >&2; exit 69; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "wgan-gp seconds per generator iteration (n_critic 5), $IT iterations after 1 of warm-up" \
	"($(nproc) CPUs; device: ${TOMOGAN_DEVICE:-default})"
printf '%-10s %6s %10s %12s %12s %8s\n' size batch ganrun "torch NCHW" "torch CL" ratio
for S in ${BENCH_SIZES:-64 256}; do
	case $S in
	64) B=64 ;;
	256) B=4 ;;
	*) echo "bench_ganrun: BENCH_SIZES: 64 and/or 256, not $S" >&2; exit 64 ;;
	esac
	"$BIN/tsgen" -n $((5 * B)) -s ${S}x$S -p noise -t f32 > "$TMP/d.tns"
	"$BIN/ganrun" train -q --range 0,1 --batch "$B" --epochs $((IT + 1)) --log "$TMP/l.csv" \
		-o "$TMP/c.ckpt" "$TMP/d.tns"
	ours=$(awk -F, -v it="$IT" 'NR == 2 { t0 = $3 } NR > 1 { t1 = $3 } END { printf "%.3f", (t1 - t0) / it }' "$TMP/l.csv")
	rm -f "$TMP/l.csv"
	nchw=$("${PYTHON:-/usr/bin/python3}" "$top/tests/bench/bench_ganrun.py" "$S" "$B" "$IT" nchw)
	cl=$("${PYTHON:-/usr/bin/python3}" "$top/tests/bench/bench_ganrun.py" "$S" "$B" "$IT" cl)
	echo "$ours $nchw $cl" | awk -v s="${S}x$S" -v b="$B" '{
		best = $2 < $3 ? $2 : $3
		printf "%-10s %6d %10.3f %12.3f %12.3f %8.2f\n", s, b, $1, $2, $3, best / $1 }'
done
echo "ratio: PyTorch's better layout / ganrun (above 1: ganrun faster)"
