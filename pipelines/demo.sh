#!/bin/sh
# demo.sh: `make demo`.  Runs a small version of thesis.mk on the real CT
# sample shipped in pipelines/data (40 chest CT slices, 256x256), stage by
# stage with a progress line each, and prints where the report is.
#
#   sh pipelines/demo.sh [OUT]        (default build/demo)
#
# Budgets (environment): DEMO_TIME per GAN (default 60s; the 256x256 model
# always finishes its first epoch, about 100 s on 2 CPU cores), DEMO_SRCNN_TIME
# (default 30), DEMO_N samples (default 16).  The make output of each stage
# goes to OUT/demo.log.  Running it again continues where it stopped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/demo}
make=${MAKE:-make}
t=${DEMO_TIME:-60s}
st=${DEMO_SRCNN_TIME:-30}
n=${DEMO_N:-16}
mkdir -p "$out" || exit 73
log=$out/demo.log
: > "$log"
# The 256x256 model takes batches of 4: its default 64 images of 256x256
# need more memory than a small machine has (over 24 GB).  SRCNN uses Adam
# at 1e-3, which gets near bicubic within the demo's seconds where the
# paper's SGD does not.
thesis() {
	$make --no-print-directory -f "$here/thesis.mk" \
		INPUT="$here/data/ct-luad-40x256.tns" OUT="$out" BIN="$here/../bin" \
		SIZE_LO=64 SIZE_HI=256 DROP=0 TIME="$t" EPOCHS= N="$n" HOLDOUT=8 \
		SRCNN_TIME="$st" SRCNN_FLAGS="--adam --lr 1e-3" \
		GAN_FLAGS_HI="--batch 4" "$@"
}
start=$(date +%s)
k=0
stage() {
	k=$((k + 1))
	what=$1
	shift
	echo "demo: [$k/9] $what"
	if ! thesis "$@" >> "$log" 2>&1; then
		tail -n 20 "$log" >&2
		echo "demo: stage $k failed; the whole log is $log" >&2
		exit 1
	fi
}
o=$out
stage "preparing the 64x64 and 256x256 training sets (one clipnorm normalisation)" \
	"$o/real64.tns" "$o/real256.tns"
stage "training the 64x64 WGAN-GP ($t)" "$o/g64.ckpt"
stage "training the 256x256 WGAN-GP ($t, at least one epoch)" "$o/g256.ckpt"
stage "sampling $n images from each generator" "$o/fake64.tns" "$o/fake256.tns"
stage "upscaling the 64x64 samples x4 with bicubic" "$o/bicubic256.tns"
stage "training SRCNN on real 64->256 pairs (${st} s, Adam)" "$o/sr.ckpt"
stage "applying SRCNN to the upscaled samples and the held-out real frames" \
	"$o/srcnn256.tns" "$o/sr-test-srcnn.tns"
if [ -n "${TOMOGAN_FID_WEIGHTS:-}" ]; then
	fidnote="PSNR/SSIM and FID (Inception on the CPU takes a while)"
else
	fidnote="PSNR/SSIM (no FID: TOMOGAN_FID_WEIGHTS is not set)"
fi
stage "metrics: $fidnote" "$o/psnr-bicubic.txt" "$o/psnr-srcnn.txt" \
	"$o/fid-real.txt" "$o/fid-bicubic.txt" "$o/fid-srcnn.txt" "$o/fid-hires.txt"
stage "sample grids, loss plots and the report" "$o/report.md"
echo "demo: done in $(($(date +%s) - start)) s; the report is $o/report.md"
