#!/bin/sh
# GFLOP/s of tg_gemm (OpenBLAS on mapped buffers, CLBlast) against raw
# cblas_sgemm on host memory, measured in one run on the same shapes:
# 1024^3 and conv-as-GEMM shapes (M = output channels, N = pixels,
# K = input channels x kernel area).  Arguments go to bench_gemm
# ([-s seconds] [MxNxK ...]).  Run from anywhere: sh tests/bench/bench_gemm.sh
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s build/libtomogan.a
pkgs="OpenCL clblast libpng libtiff-4 hdf5 libzstd openblas lapacke"
cc -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror \
	-Wno-deprecated-declarations -Ilibstream -DCL_TARGET_OPENCL_VERSION=120 \
	-DCL_USE_DEPRECATED_OPENCL_1_2_APIS $(pkg-config --cflags $pkgs) \
	-o build/bench_gemm tests/bench/bench_gemm.c build/libtomogan.a \
	$(pkg-config --libs $pkgs) -lm -lpthread
exec build/bench_gemm "$@"
