#!/bin/sh
# bench_h5slice.sh: h5slice read throughput against cat on the same file, in
# one run, page cache warm.  Printed, not asserted.
#
# Makes an N x 2048 x 2048 float32 DataExchange file (N = 256, about 4.3 GB,
# or 128 when the temporary folder has less room), chunked one projection per
# chunk (1, 2048, 2048), uncompressed, with 2 white and 2 dark frames, using
# Debian's python3 and h5py; times
#   cat FILE > /dev/null
#   h5slice FILE > /dev/null                  (stream written to /dev/null)
#   h5slice FILE | cat > /dev/null            (through a pipe)
#   h5slice --flat-dark --minus-log FILE | cat > /dev/null
#   h5slice --axis 1 FILE > /dev/null         (2048 sinograms of N x 2048)
#   h5py reading the same slices one by one (reference)
# each twice (best kept), and deletes the file.
#
# Environment: TMPDIR (where the file goes, default /tmp), BIN (programs,
# default bin/ of this checkout), BENCH_SLICES (force N).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
PY=/usr/bin/python3
dir=${TMPDIR:-/tmp}
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
	echo "bench_h5slice: needs $PY with h5py and numpy; skipped"
	exit 0
fi
[ -x "$BIN/h5slice" ] || { echo "bench_h5slice: build first (make)"; exit 1; }

slice_bytes=$((2048 * 2048 * 4))
free_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
n=${BENCH_SLICES:-256}
need_kb=$(( (n + 8) * slice_bytes / 1024 + 1048576 ))
if [ -z "${BENCH_SLICES:-}" ] && [ "$free_kb" -lt "$need_kb" ]; then
	n=128
	echo "bench_h5slice: only $((free_kb / 1048576)) GiB free in $dir: using 128 slices instead of 256"
fi
file=$(mktemp "$dir/bench_h5slice.XXXXXX")
mv "$file" "$file.h5"
file=$file.h5
trap 'rm -f "$file"' EXIT INT TERM

echo "bench_h5slice: writing $n x 2048 x 2048 f32 to $file"
"$PY" - "$file" "$n" <<'EOF'
import sys
import h5py
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
base = np.arange(2048 * 2048, dtype=np.float32).reshape(2048, 2048) % 4093 + 100
with h5py.File(path, "w") as f:
    d = f.create_dataset("exchange/data", (n, 2048, 2048), np.float32, chunks=(1, 2048, 2048))
    for i in range(n):
        d[i] = base + i
    f.create_dataset("exchange/data_white", data=np.full((2, 2048, 2048), 5000, np.float32))
    f.create_dataset("exchange/data_dark", data=np.full((2, 2048, 2048), 90, np.float32))
    f.create_dataset("exchange/theta", data=np.linspace(0, 180, n, endpoint=False))
EOF
bytes=$(( n * slice_bytes ))
size=$(wc -c <"$file")
echo "bench_h5slice: file $size bytes, projections $bytes bytes; $(nproc) cores"

now() { date +%s.%N; }
# best of two runs of "sh -c CMD", in seconds
best() {
	b=
	for _ in 1 2; do
		t0=$(now)
		sh -c "$1"
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" -eq 1 ]; then b=$t; fi
	done
	echo "$b"
}
report() {
	printf '%-52s %7.2f s  %6.2f GB/s\n' "$1" "$2" "$(echo "$bytes / $2 / 1000000000" | bc -l)"
}

cat "$file" >/dev/null  # warm the page cache
export H5S="$BIN/h5slice" F="$file"
t_cat=$(best 'cat "$F" > /dev/null')
t_dev=$(best '"$H5S" -q "$F" > /dev/null')
t_pipe=$(best '"$H5S" -q "$F" | cat > /dev/null')
t_fd=$(best '"$H5S" -q --flat-dark --minus-log "$F" | cat > /dev/null')
t_sino=$(best '"$H5S" -q --axis 1 "$F" > /dev/null')
t_py=$(best "$PY -c 'import h5py,sys
f=h5py.File(sys.argv[1],\"r\"); d=f[\"exchange/data\"]
for i in range(d.shape[0]): d[i]' \"\$F\"")
echo "GB/s = projection bytes ($bytes) / seconds, best of 2, page cache warm"
report "cat FILE > /dev/null" "$t_cat"
report "h5slice FILE > /dev/null" "$t_dev"
report "h5slice FILE | cat > /dev/null" "$t_pipe"
report "h5slice --flat-dark --minus-log FILE | cat > /dev/null" "$t_fd"
report "h5slice --axis 1 FILE > /dev/null (sinograms)" "$t_sino"
report "h5py, one slice at a time (reference)" "$t_py"
