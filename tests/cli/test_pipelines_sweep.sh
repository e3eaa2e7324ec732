#!/bin/sh
# pipelines/sweep.mk, the seed 001 sweep, at a tiny scale: the list of
# configurations and their hyperparameters (those of the thesis's
# experimental design, section 3.4), a run of a subset with make -j2
# (checkpoints, grids, FID files and the table), an up-to-date second run,
# resuming a run, and the report without FID weights.
. "$(dirname "$0")/lib.sh"
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
mk="$top/pipelines/sweep.mk"
unset TOMOGAN_FID_WEIGHTS
unset MAKEFLAGS MFLAGS
sweep() { make --no-print-directory -f "$mk" "$@"; }

tsgen -n 24 -s 32x32 --pattern noise --seed 5 | clipnorm -q --bounds 0,1 >"$TMP/data.tns" ||
	{ fail setup "could not make data"; exit 1; }

# name model lr latent batch: seed 001, section 3.4 (the thesis's Table of
# experiments; DCGAN's batch sizes 16 and 32 instead of 32 and 128)
cat >"$TMP/expected" <<'EOF'
gan-default gan 0.0002 100 64
gan-lr-half gan 0.0001 100 64
gan-lr-double gan 0.0004 100 64
gan-latent50 gan 0.0002 50 64
gan-latent200 gan 0.0002 200 64
gan-batch32 gan 0.0002 100 32
gan-batch128 gan 0.0002 100 128
wgan-default wgan 0.00005 100 64
wgan-lr-half wgan 0.000025 100 64
wgan-lr-double wgan 0.0001 100 64
wgan-latent50 wgan 0.00005 50 64
wgan-latent200 wgan 0.00005 200 64
wgan-batch32 wgan 0.00005 100 32
wgan-batch128 wgan 0.00005 100 128
dcgan-default dcgan 0.0002 100 64
dcgan-lr-half dcgan 0.0001 100 64
dcgan-lr-double dcgan 0.0004 100 64
dcgan-latent50 dcgan 0.0002 50 64
dcgan-latent200 dcgan 0.0002 200 64
dcgan-batch16 dcgan 0.0002 100 16
dcgan-batch32 dcgan 0.0002 100 32
EOF

# list: the 21 names, one a line, in order
sweep -s list >"$TMP/list" 2>"$TMP/err"
if cut -d' ' -f1 "$TMP/expected" | cmp -s - "$TMP/list"; then
	pass "list prints the 21 configurations"
else
	fail "list" "got $(tr '\n' ' ' <"$TMP/list") $(head -c 200 "$TMP/err")"
fi
sweep -s list CONFIGS="gan-default dcgan-batch16" >"$TMP/list2"
[ "$(tr '\n' ' ' <"$TMP/list2")" = "gan-default dcgan-batch16 " ] &&
	pass "list follows CONFIGS" || fail "list CONFIGS" "got $(cat "$TMP/list2")"
if sweep -s list CONFIGS="gan-default gan-huge" >/dev/null 2>"$TMP/err"; then
	fail "unknown configuration" "accepted"
else
	grep -q "gan-huge" "$TMP/err" && pass "unknown configuration refused" ||
		fail "unknown configuration" "message: $(head -c 200 "$TMP/err")"
fi
if sweep -n >/dev/null 2>"$TMP/err"; then fail "no DATA" "accepted"; else
	grep -q "DATA" "$TMP/err" && pass "DATA required" || fail "no DATA" "$(head -c 200 "$TMP/err")"; fi

# make -n of the full set: every configuration trained with its
# hyperparameters, sampled into a grid, measured, and the table
common="DATA=$TMP/data.tns SIZE=16 EPOCHS=1 N=4 FIDSTAT_FLAGS=--test-weights"
sweep -n $common OUT="$TMP/full" >"$TMP/plan" 2>"$TMP/err" || fail "make -n" "$(head -c 300 "$TMP/err")"
bad=
while read -r name model lr latent batch; do
	grep -q -- "--model $model --lr $lr --latent $latent --batch $batch .*-o $TMP/full/$name/train.ckpt" "$TMP/plan" &&
		grep -q -- "--grid $TMP/full/$name/grid.png" "$TMP/plan" &&
		grep -q -- "--repeat 3 -n 4 - .*>$TMP/full/$name/fid.json" "$TMP/plan" || bad="$bad $name"
done <"$TMP/expected"
[ "$(grep -c 'ganrun train' "$TMP/plan")" = 21 ] || bad="$bad (not 21 trainings)"
grep -q "sweep-table.sh" "$TMP/plan" || bad="$bad (no table)"
[ -z "$bad" ] && pass "make -n of the full set plans all 21 configurations" || fail "make -n" "missing:$bad"

# a subset that covers every model and every kind of change, with -j2
sub="gan-default gan-lr-half gan-batch128 wgan-lr-double wgan-latent50 dcgan-latent200 dcgan-batch16"
out=$TMP/sweep
if sweep -j2 $common FIDSTAT_FLAGS="--test-weights --dims 64" OUT="$out" CONFIGS="$sub" \
	>"$TMP/log" 2>&1; then
	pass "sweep of 7 configurations runs"
else
	fail "sweep runs" "$(tail -c 600 "$TMP/log")"
fi
for name in $sub; do
	set -- $(grep "^$name " "$TMP/expected")
	d=$out/$name
	ok=
	if ganrun info "$d/generator.ckpt" >"$TMP/info" 2>/dev/null &&
		grep -q "^model: $2\$" "$TMP/info" && grep -q "^latent: $4\$" "$TMP/info" &&
		grep -q "^batch: $5\$" "$TMP/info" && grep -q "^epochs: 1\$" "$TMP/info" &&
		awk -v want="$3" '/^lr:/ { got = $2 } END { d = got - want; if (d < 0) d = -d
			exit !(got != "" && d <= 1e-9) }' "$TMP/info"; then
		ok=1
	fi
	[ -n "$ok" ] && pass "$name: checkpoint with its hyperparameters" ||
		fail "$name checkpoint" "$(tr '\n' ' ' <"$TMP/info" | head -c 300)"
	# 4x4 grid of 16x16 frames, 2 pixels padding: 74x74 PNG
	wh=$(od -An -tu1 -j16 -N8 "$d/grid.png" 2>/dev/null | awk '{ print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8 }')
	[ "$wh" = 74x74 ] && pass "$name: 4x4 grid PNG 74x74" || fail "$name grid" "size '$wh'"
	# the table row holds the FID of fid.json to two decimals
	m=$(sed -n 's/.*"fid": *\([-+0-9.eE]*\).*/\1/p' "$d/fid.json" 2>/dev/null)
	s=$(sed -n 's/.*"fid_std": *\([-+0-9.eE]*\).*/\1/p' "$d/fid.json" 2>/dev/null)
	want=$(awk -v m="$m" -v s="$s" 'BEGIN { printf "%.2f ± %.2f", m, s }')
	if [ -n "$m" ] && [ -n "$s" ] && awk -v m="$m" -v s="$s" 'BEGIN { exit !(m >= 0 && m < 1e6 && s >= 0 && s < 1e6) }' &&
		grep -q "draws\": 3, \"draw_frames\": 4" "$d/fid.json" &&
		grep -Fq "| $want | [grid]($name/grid.png) |" "$out/sweep.md" 2>/dev/null; then
		pass "$name: FID $want over 3 draws in the table"
	else
		fail "$name FID" "fid '$m' std '$s'; $(cat "$d/fid.json" 2>/dev/null | head -c 200)"
	fi
done
rows=$(grep -c '^| [A-Z]* | .* | [0-9.]* ± [0-9.]* | \[grid\](' "$out/sweep.md" 2>/dev/null)
[ "$rows" = 7 ] && grep -q '^| DCGAN | bsize = 16 |' "$out/sweep.md" && grep -q '^| WGAN | lr = 0.0001 |' "$out/sweep.md" &&
	grep -q 'test weights' "$out/sweep.md" && [ -f "$out/real.png" ] &&
	pass "table: 7 rows with numbers, labels, test-weights warning, real grid" ||
	fail "table" "$rows rows: $(head -c 600 "$out/sweep.md" 2>/dev/null)"

# a second run has nothing to do
sweep -q $common FIDSTAT_FLAGS="--test-weights --dims 64" OUT="$out" CONFIGS="$sub" &&
	pass "second run is up to date" || fail "second run" "make -q says work is left"

# an interrupted or extended run continues from train.ckpt
rm -f "$out/gan-default/generator.ckpt"
sweep $common FIDSTAT_FLAGS="--test-weights --dims 64" OUT="$out" CONFIGS="$sub" EPOCHS=2 \
	gan-default >"$TMP/log" 2>&1 && ganrun info "$out/gan-default/generator.ckpt" >"$TMP/info" 2>&1 &&
	grep -q '^epochs: 2$' "$TMP/info" && grep -q -- '--resume' "$TMP/log" &&
	pass "a run resumes its checkpoint" || fail "resume" "$(tail -c 300 "$TMP/log") $(grep epochs "$TMP/info")"

# without FID weights: grids and a table that says how to get them
out2=$TMP/noweights
if sweep DATA="$TMP/data.tns" SIZE=16 EPOCHS=1 OUT="$out2" CONFIGS="wgan-default" >"$TMP/log" 2>&1 &&
	[ -f "$out2/wgan-default/grid.png" ] && [ ! -e "$out2/wgan-default/fid.json" ] &&
	[ ! -e "$out2/real-stats.tns" ] &&
	grep -q '^| WGAN | Default | — | \[grid\](wgan-default/grid.png) |$' "$out2/sweep.md" &&
	grep -q 'pt_inception-2015-12-05-6726825d.pth' "$out2/sweep.md" &&
	grep -q 'TOMOGAN_FID_WEIGHTS' "$out2/sweep.md"; then
	pass "without weights: grid, no FID, table says how to get the weights"
else
	fail "without weights" "$(tail -c 300 "$TMP/log") $(head -c 400 "$out2/sweep.md" 2>/dev/null)"
fi

# the table script refuses a missing FID when weights were given
printf 'gan-x\tgan\tDefault\n' | sh "$top/pipelines/sweep-table.sh" -d "$TMP" -w yes >/dev/null 2>"$TMP/err"
[ $? -eq 65 ] && grep -q 'gan-x/fid.json' "$TMP/err" && pass "table refuses a missing FID" ||
	fail "table missing FID" "$(head -c 200 "$TMP/err")"
finish
