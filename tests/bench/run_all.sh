#!/bin/sh
# Runs every benchmark in this folder, one after another (they compete for
# the same cores otherwise).  Each prints tomogan's figure next to its
# peer's from the same run.  Needs a build (make) and, for the peers,
# Debian's python3-numpy, python3-opencv, python3-h5py.
cd "$(dirname "$0")" || exit 1
status=0
for b in bench_stream.sh bench_gemm.sh bench_clipnorm.sh bench_resize.sh bench_h5slice.sh bench_prep.sh bench_conv.sh bench_nn_gp.sh bench_srcnn.sh bench_ganrun.sh bench_inception.sh; do
	[ -f "$b" ] || continue
	echo "=== $b ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
	sh "$b" || status=1
done
exit $status
