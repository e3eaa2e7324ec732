#!/bin/sh
# Images/s of FID Inception-v3 features (2048-d, pytorch-fid's network on
# synthetic weights) for gray 256x256 frames at batch 50: tomogan on its
# OpenCL device (libstream/fid/inception.c, through build/tests/test_inception
# --bench), next to PyTorch on the same network with 2 threads in NCHW and
# channels_last (bench_inception.py), all in one run.
#
# OpenBLAS picks its kernels from the CPU model at load time; a CPU newer
# than the library (Debian 12's 0.3.21 on Sapphire Rapids) gets the generic
# "Prescott" SSE3 kernels, 2-3x slower.  When OPENBLAS_CORETYPE is unset and
# the CPU has AVX-512, tomogan is measured a second time with
# OPENBLAS_CORETYPE=SkylakeX.  PyTorch's convolutions (oneDNN) are not
# affected.
#
# usage: sh tests/bench/bench_inception.sh [batch [images [side]]]
# (defaults 50 100 256).  Run from anywhere.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
batch=${1:-50} n=${2:-100} side=${3:-256}
make -s build/tests/test_inception
echo "tomogan (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}):"
build/tests/test_inception --bench "$batch" "$n" "$side"
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q '^flags.* avx512f' /proc/cpuinfo 2>/dev/null; then
	echo "tomogan (OPENBLAS_CORETYPE=SkylakeX):"
	OPENBLAS_CORETYPE=SkylakeX build/tests/test_inception --bench "$batch" "$n" "$side"
fi
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	/usr/bin/python3 tests/bench/bench_inception.py "$batch" "$n" "$side" 2
else
	echo "pytorch: not installed (Debian's python3-torch), peer skipped"
fi
