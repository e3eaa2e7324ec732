#!/bin/sh
# report.sh: writes the Markdown report of thesis.mk from the files of its
# output folder, on standard output.
#
#   sh pipelines/report.sh OUT SIZE_LO SIZE_HI [BIN] > OUT/report.md
#
# Image links are relative to OUT, where the report goes.
set -u
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: report.sh OUT SIZE_LO SIZE_HI [BIN]" >&2
	exit 64
fi
o=$1 lo=$2 hi=$3
bin=${4:-$(cd "$(dirname "$0")/../bin" && pwd)}
scale=$((hi / lo))

# key VALUE from "key: value" lines of ganrun info.
info() { "$bin/ganrun" info "$1" 2>/dev/null | sed -n "s/^$2: //p"; }
frames() { "$bin/tsinfo" "$1" 2>/dev/null | sed -n 's/^frames: //p'; }
# Field after the word $2 in file $1's first line, printed with format $3.
field() { awk -v k="$2" -v f="${3:-%s}" 'NR == 1 { for (i = 1; i < NF; i++) if ($i == k) { v = $(i + 1); if (v ~ /^[-+0-9.eE]+$/) printf f "\n", v; else print v; exit } }' "$1"; }

cat <<EOT
# Seed 000 experiment: WGAN-GP at ${lo}x${lo} and ${hi}x${hi}, bicubic and SRCNN upscaling

Real data: $(frames "$o/real.tns") frames, normalised with one set of bounds
($(sed -n 's/^rule=//p' "$o/bounds.txt"): lo $(sed -n 's/^lo=//p' "$o/bounds.txt"), hi $(sed -n 's/^hi=//p' "$o/bounds.txt"))
and resized to ${lo}x${lo} and ${hi}x${hi}. Samples: $(frames "$o/fake64.tns") of each generator;
the ${lo}x${lo} samples are upscaled x${scale} with bicubic, then refined by SRCNN.

## FID

EOT

noweights=0 testweights=0
for f in real bicubic srcnn hires; do
	if head -n 1 "$o/fid-$f.txt" | grep -q '^noweights'; then noweights=1; fi
	if head -n 1 "$o/fid-$f.txt" | grep -q 'weights test'; then testweights=1; fi
done
fidrow() {
	if [ "$noweights" -eq 1 ]; then
		echo "| $1 | n/a (no weights) | |"
	else
		echo "| $1 | $(field "$o/fid-$2.txt" fid %.2f) | $(awk 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "frames") { print $(i + 1) " / " $(i + 2); exit } }' "$o/fid-$2.txt") |"
	fi
}
echo "| comparison | FID | frames |"
echo "|---|---|---|"
fidrow "real vs real (two halves of the ${hi}x${hi} set)" real
fidrow "bicubic x${scale} of the ${lo}x${lo} samples vs real" bicubic
fidrow "SRCNN of the bicubic samples vs real" srcnn
fidrow "${hi}x${hi} samples vs real" hires
echo
if [ "$noweights" -eq 1 ]; then
	cat <<'EOT'
FID was not computed: it needs the weights of pytorch-fid's Inception
network, which are not shipped (see "FID weights" in the README). Download
`pt_inception-2015-12-05-6726825d.pth` from
https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth,
set `TOMOGAN_FID_WEIGHTS` to it (or pass `FIDSTAT_FLAGS="--weights FILE"`)
and run the same make command again: only the FID files and this report are
redone.

EOT
elif [ "$testweights" -eq 1 ]; then
	echo "These numbers use fidstat's test weights: they check the pipeline and are"
	echo "NOT comparable to published FID."
	echo
fi

cat <<EOT
## Super-resolution on held-out real frames

The last $(frames "$o/sr-test-hr.tns") real frames, not used to train SRCNN: the ${lo}x${lo} version
upscaled x${scale} with bicubic, and that refined by SRCNN, against the ${hi}x${hi}
version (${scale} pixels shaved off each border; mean over the frames).

| method | PSNR (dB) | SSIM |
|---|---|---|
| bicubic x${scale} | $(field "$o/psnr-bicubic.txt" psnr %.2f) | $(field "$o/psnr-bicubic.txt" ssim %.4f) |
| SRCNN | $(field "$o/psnr-srcnn.txt" psnr %.2f) | $(field "$o/psnr-srcnn.txt" ssim %.4f) |

## Samples

| real ${lo}x${lo} | ${lo}x${lo} samples | bicubic x${scale} of them | SRCNN of those |
|---|---|---|---|
| ![real ${lo}](grid-real64.png) | ![samples ${lo}](grid-fake64.png) | ![bicubic](grid-bicubic256.png) | ![SRCNN](grid-srcnn256.png) |

| real ${hi}x${hi} | ${hi}x${hi} samples |
|---|---|
| ![real ${hi}](grid-real256.png) | ![samples ${hi}](grid-fake256.png) |

## Training

| model | epochs | generator steps | training time | last losses |
|---|---|---|---|---|
EOT
for s in 64 256; do
	case $s in 64) n=$lo ;; *) n=$hi ;; esac
	echo "| WGAN-GP ${n}x${n} | $(info "$o/g$s.ckpt" epochs) | $(info "$o/g$s.ckpt" 'generator steps') | $(info "$o/g$s.ckpt" 'wall time') | $(info "$o/g$s.ckpt" 'last losses') |"
done
cat <<EOT

![losses ${lo}x${lo}](losses64.png)

![losses ${hi}x${hi}](losses256.png)
EOT
