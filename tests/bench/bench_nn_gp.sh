#!/bin/sh
# Time of the WGAN-GP critic step with the penalty's exact gradient against
# the plain critic step, on the 64x64 critic at batch 64, and their ratio.
# Arguments go to bench_nn_gp ([-b batch] [-s seconds]); see
# tests/bench/bench_nn_gp.c.  Run from anywhere: sh tests/bench/bench_nn_gp.sh
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s build/libtomogan.a
pkgs="OpenCL clblast libpng libtiff-4 hdf5 libzstd openblas lapacke"
cc -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror \
	-Wno-deprecated-declarations -Ilibstream -DCL_TARGET_OPENCL_VERSION=120 \
	-DCL_USE_DEPRECATED_OPENCL_1_2_APIS $(pkg-config --cflags $pkgs) \
	-o build/bench_nn_gp tests/bench/bench_nn_gp.c build/libtomogan.a \
	$(pkg-config --libs $pkgs) -lm -lpthread
exec build/bench_nn_gp "$@"
