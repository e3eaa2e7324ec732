#!/bin/sh
# Smoke test of pipelines/thesis.mk at a tiny scale: 14 real CT slices of the
# shipped sample as a folder of PNGs (2 dropped), 16x16 and 64x64 models for
# one epoch, SRCNN for a few steps, fidstat's test weights.  Checks that every
# stage made its file, the report has every row, a finished run is up to date,
# a later stage is redone without retraining, and the report without weights.
. "$(dirname "$0")/lib.sh"
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
mk=$top/pipelines/thesis.mk
sample=$top/pipelines/data/ct-luad-40x256.tns
if ! command -v gnuplot >/dev/null 2>&1; then
	skip thesis_pipeline "gnuplot is not installed (tools/deps.sh installs it)"
	exit 0
fi
# A make of our own, not the jobserver of the make that runs the tests, and
# never the real FID weights (slow on a CPU): test weights or none.
tmk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u TOMOGAN_FID_WEIGHTS make --no-print-directory -f "$mk" "$@"; }
o=$TMP/out
vars="BIN=$BIN OUT=$o SIZE_LO=16 SIZE_HI=64 DROP=2 EPOCHS=1 TIME= N=16 HOLDOUT=4 SRCNN_TIME=20"

# The input: a folder of 16-bit PNGs, read in name order.
mkdir "$TMP/slices"
if tscut --head 14 "$sample" | imwrite -q --bits 16 -p "$TMP/slices/s%03d.png" &&
	[ "$(ls "$TMP/slices" | wc -l)" -eq 14 ]; then
	pass thesis_input_pngs
else
	fail thesis_input_pngs "could not write 14 PNGs from $sample"
fi

# INPUT is required.
if tmk $vars > "$TMP/log" 2>&1; then
	fail thesis_no_input "ran without INPUT"
elif grep -q 'INPUT is not set' "$TMP/log"; then
	pass thesis_no_input
else
	fail thesis_no_input "$(tail -n 3 "$TMP/log")"
fi

# The whole chain.
tmk $vars INPUT="$TMP/slices" SRCNN_FLAGS="--steps 4 --batch 4" \
	FIDSTAT_FLAGS="--test-weights --dims 64" > "$TMP/log" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then pass thesis_run; else fail thesis_run "exit $rc: $(tail -n 5 "$TMP/log")"; fi

missing=""
for f in real.tns bounds.txt real64.tns real256.tns g64.ckpt g256.ckpt \
	losses64.csv losses256.csv fake64.tns fake256.tns bicubic256.tns \
	realup256.tns sr-train-hr.tns sr-train-lr.tns sr-test-hr.tns \
	sr-test-bicubic.tns sr.ckpt sr-test-srcnn.tns srcnn256.tns \
	psnr-bicubic.txt psnr-srcnn.txt fid-real.txt fid-bicubic.txt \
	fid-srcnn.txt fid-hires.txt grid-real64.png grid-real256.png \
	grid-fake64.png grid-fake256.png grid-bicubic256.png grid-srcnn256.png \
	losses64.png losses256.png report.md; do
	[ -s "$o/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then pass thesis_stage_files; else fail thesis_stage_files "missing or empty:$missing"; fi

# Shapes and counts: DROP 2 of 14 frames, N samples, the two sizes.
shape() { tsinfo "$1" 2>/dev/null | sed -n 's/^shape: //p'; }
count() { tsinfo "$1" 2>/dev/null | sed -n 's/^frames: //p'; }
got="$(count "$o/real.tns") $(shape "$o/real64.tns") $(shape "$o/real256.tns") $(count "$o/fake64.tns") $(shape "$o/fake64.tns") $(count "$o/fake256.tns") $(shape "$o/fake256.tns") $(shape "$o/bicubic256.tns") $(count "$o/srcnn256.tns") $(shape "$o/srcnn256.tns") $(count "$o/sr-test-hr.tns") $(count "$o/sr-train-hr.tns")"
want="12 16x16 64x64 16 16x16 16 64x64 64x64 16 64x64 4 8"
if [ "$got" = "$want" ]; then pass thesis_shapes; else fail thesis_shapes "got '$got', wanted '$want'"; fi

# One normalisation: both training sets carry the bounds of bounds.txt.
lo=$(sed -n 's/^lo=//p' "$o/bounds.txt")
if [ -n "$lo" ] && tsinfo "$o/real64.tns" | grep -q "clip.lo = $lo" &&
	tsinfo "$o/real256.tns" | grep -q "clip.lo = $lo"; then
	pass thesis_one_normalisation
else
	fail thesis_one_normalisation "clip.lo of the training sets is not lo=$lo of bounds.txt"
fi

# Every row of the report, with numbers.
r=$o/report.md
num='[0-9]+\.[0-9]+'
rows_ok=1
for row in "real vs real .* \| $num \| 6 / 6 \|" \
	"bicubic x4 of the 16x16 samples vs real \| $num \| 16 / 12 \|" \
	"SRCNN of the bicubic samples vs real \| $num \| 16 / 12 \|" \
	"64x64 samples vs real \| $num \| 16 / 12 \|" \
	"^\| bicubic x4 \| $num \| $num \|" "^\| SRCNN \| $num \| $num \|" \
	"^\| WGAN-GP 16x16 \| 1 \| 1 \|" "^\| WGAN-GP 64x64 \| 1 \|" "NOT comparable"; do
	if ! grep -Eq -- "$row" "$r" 2>/dev/null; then rows_ok=0; fail thesis_report_rows "no row /$row/"; fi
done
[ "$rows_ok" -eq 1 ] && pass thesis_report_rows

# Every image the report links exists.
links=$(grep -o '([a-z0-9-]*\.png)' "$r" 2>/dev/null | tr -d '()' | sort -u)
nl=0 bad=""
for l in $links; do nl=$((nl + 1)); [ -s "$o/$l" ] || bad="$bad $l"; done
if [ "$nl" -eq 8 ] && [ -z "$bad" ]; then pass thesis_report_images; else fail thesis_report_images "$nl links, missing:$bad"; fi

# The bicubic PSNR of the report is imgcmp's, and real CT upscaled x4 from
# 16x16 lies well above 15 dB (about 28 dB on these slices).
p=$(imgcmp -q -c 4 "$o/sr-test-hr.tns" "$o/sr-test-bicubic.tns" | awk '{ print $5 }')
if awk -v p="$p" 'BEGIN { exit !(p > 15 && p < 60) }' &&
	grep -Eq "^\| bicubic x4 \| $(printf '%.2f' "$p") \|" "$r"; then
	pass thesis_psnr_bicubic
else
	fail thesis_psnr_bicubic "imgcmp psnr '$p' out of (15, 60) or not in the report"
fi

# A finished run is up to date; a lost sample file is redone without
# training the generator again.
if tmk -q $vars INPUT="$TMP/slices" SRCNN_FLAGS="--steps 4 --batch 4" \
	FIDSTAT_FLAGS="--test-weights --dims 64" 2>/dev/null; then
	pass thesis_up_to_date
else
	fail thesis_up_to_date "make -q says a target is out of date"
fi
cp -p "$o/g256.ckpt" "$TMP/g256.before"
rm -f "$o/fake256.tns"
tmk $vars INPUT="$TMP/slices" SRCNN_FLAGS="--steps 4 --batch 4" \
	FIDSTAT_FLAGS="--test-weights --dims 64" > "$TMP/log" 2>&1
if [ -s "$o/fake256.tns" ] && cmp -s "$o/g256.ckpt" "$TMP/g256.before" &&
	! grep -q 'ganrun train' "$TMP/log" && grep -q 'ganrun sample' "$TMP/log"; then
	pass thesis_resume
else
	fail thesis_resume "fake256.tns not redone alone: $(grep -c ganrun "$TMP/log") ganrun lines"
fi

# Without weights the FID files are redone and the report says how to get them.
tmk $vars INPUT="$TMP/slices" SRCNN_FLAGS="--steps 4 --batch 4" \
	FIDSTAT_FLAGS= > "$TMP/log" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^noweights' "$o/fid-real.txt" &&
	grep -q 'FID was not computed' "$r" && grep -q 'pt_inception-2015-12-05-6726825d.pth' "$r" &&
	grep -Eq "^\| bicubic x4 \| $num \| $num \|" "$r" &&
	[ "$(grep -c 'n/a (no weights)' "$r")" -eq 4 ] && ! grep -q 'srcnn train' "$TMP/log"; then
	pass thesis_no_weights
else
	fail thesis_no_weights "exit $rc; $(tail -n 3 "$TMP/log")"
fi
finish
