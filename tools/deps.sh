#!/bin/sh
# Installs the Debian packages tomogan needs that are missing; as non-root,
# prints the apt-get line instead and fails.
pkgs="make gcc pkg-config ocl-icd-opencl-dev opencl-headers ocl-icd-libopencl1
pocl-opencl-icd libclblast-dev libpng-dev libtiff-dev libhdf5-dev libzstd-dev
libopenblas-dev liblapacke-dev mandoc gnuplot-nox"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "tomogan: missing packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "tomogan: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2 && apt-get install -y -q $missing >&2
