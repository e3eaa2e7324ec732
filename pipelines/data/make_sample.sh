#!/bin/sh
# make_sample.sh: rebuilds ct-luad-40x256.tns, the real CT sample that
# `make demo` runs on, from the 100 slices of ct-luad-png16 (see README).
#
#   sh pipelines/data/make_sample.sh SRC_DIR [BIN_DIR] > ct-luad-40x256.tns
#
# The first 40 slices in name order (40 patients), resized from 512x512 to
# 256x256 with resize's default antialiased bicubic, kept as 16-bit values
# (HU + 1024) and compressed with zstd level 19.  The program reads the
# files by their names only, so no machine path ends up in the metadata.
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: make_sample.sh SRC_DIR [BIN_DIR] > out.tns" >&2
	exit 64
fi
bin=$(cd "${2:-$(dirname "$0")/../../bin}" && pwd)
cd "$1"
# shellcheck disable=SC2046
"$bin/imread" -q $(ls ID_*.png | LC_ALL=C sort | head -n 40) |
	"$bin/resize" -q -t u16 -z 19 256
