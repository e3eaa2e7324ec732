#!/bin/sh
# GFLOP/s of the engine's conv2d (forward, backward) on the WGAN-GP 64x64
# layers at batch 64 and on SRCNN 9-1-5 (training step at 128 x 33x33,
# inference at 16 x 256x256), next to raw OpenBLAS sgemm 1024^3 on host
# arrays, tg_gemm 1024^3 on device buffers and a 64 MiB device copy (the
# memory ceiling), all measured in one run.
# Arguments go to bench_conv ([-s seconds] [-c columns] [-q]); see
# tests/bench/bench_conv.c.  Then the same layers in PyTorch with 2 threads
# (tests/bench/bench_conv.py; BENCH_PEER=0 skips them).
# Run from anywhere: sh tests/bench/bench_conv.sh
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s build/libtomogan.a
pkgs="OpenCL clblast libpng libtiff-4 hdf5 libzstd openblas lapacke"
cc -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror \
	-Wno-deprecated-declarations -Ilibstream -DCL_TARGET_OPENCL_VERSION=120 \
	-DCL_USE_DEPRECATED_OPENCL_1_2_APIS $(pkg-config --cflags $pkgs) \
	-o build/bench_conv tests/bench/bench_conv.c build/libtomogan.a \
	$(pkg-config --libs $pkgs) -lm -lpthread
build/bench_conv "$@"
# The peer in the same run: the same layers in PyTorch (bench_conv.py),
# unless BENCH_PEER=0 or torch is missing.
secs=1 layer=
while getopts s:c:ql:d:p:m: o 2>/dev/null; do
	case $o in
	s) secs=$OPTARG ;;
	l) layer=$OPTARG ;;
	esac
done
if [ "${BENCH_PEER:-1}" != 0 ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
	/usr/bin/python3 tests/bench/bench_conv.py "$secs" ${layer:+"$layer"}
fi
