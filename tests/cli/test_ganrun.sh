# test_ganrun.sh: ganrun(1) train, sample and info on tiny 16x16 data.
#  - a run writes the checkpoint, the loss log (header and one row per
#    generator step) and an 8x8 snapshot grid PNG of 142x142;
#  - info reports the model, size, hyperparameters and progress;
#  - sample: N frames of 16x16 in [0, 1] with range metadata, the same
#    bytes for the same checkpoint and seed, others for another seed;
#  - resume: 2 epochs equal 1 epoch plus a resumed one (samples byte for
#    byte; the weights themselves are compared in test_ganrun);
#  - SIGTERM mid-run: the step finishes, the checkpoint is written, exit 0,
#    and the run resumes from it; --time stops at the first epoch end;
#  - bad invocations (64), bad data (65: channels, size, range, empty),
#    missing (66) and damaged (65) checkpoints.
. "$(dirname "$0")/lib.sh"
T="$TMP"

if ! ganrun -h >"$T/usage" 2>&1 || ! grep -q '^usage: ganrun train' "$T/usage"; then
	fail usage "ganrun -h: $(cat "$T/usage")"
else
	pass usage
fi

# ---- data ----
tsgen -n 12 -s 16x16 -p noise --seed 1 -o "$T/d.tns" || fail data "tsgen failed"
tsgen -n 64 -s 16x16 -p noise --seed 2 -o "$T/big.tns" || fail data "tsgen failed"
tsgen -n 2 -s 3x16x16 -p noise -o "$T/rgb.tns"
tsgen -n 2 -s 24x24 -p noise -o "$T/s24.tns"
tsgen -n 2 -s 16x32 -p noise -o "$T/rect.tns"
tsgen -n 2 -s 1x16x16 -p noise -o "$T/chw.tns"
tscut -n 0 "$T/d.tns" >"$T/empty.tns" 2>/dev/null || tsgen -n 0 -s 16x16 -o "$T/empty.tns" 2>/dev/null
TR="--range 0,1 --batch 4 --latent 8 --n-critic 2 -q"

# ---- bad invocations ----
expect_usage "no command" ganrun
expect_usage "unknown command" ganrun frobnicate
expect_usage "train without -o" ganrun train --range 0,1 "$T/d.tns"
expect_usage "unknown model" ganrun train --model nope -o "$T/x.ckpt" "$T/d.tns"
expect_usage "bad --time" ganrun train --time 4x -o "$T/x.ckpt" "$T/d.tns"
expect_usage "bad --batch" ganrun train --batch 0 -o "$T/x.ckpt" "$T/d.tns"
expect_usage "bad --range" ganrun train --range 1,0 -o "$T/x.ckpt" "$T/d.tns"
expect_usage "--resume with --lr" ganrun train --resume "$T/x.ckpt" --lr 1e-3 -o "$T/x.ckpt" "$T/d.tns"
expect_usage "sample without checkpoint" ganrun sample -n 2
expect_usage "sample -n 0" ganrun sample -n 0 "$T/x.ckpt"
expect_usage "info without checkpoint" ganrun info

# ---- bad data ----
expect "3 channels" 65 '1-channel' ganrun train --range 0,1 -o "$T/x.ckpt" "$T/rgb.tns"
expect "size 24" 65 'power of two from 16 to 256' ganrun train --range 0,1 -o "$T/x.ckpt" "$T/s24.tns"
expect "not square" 65 'square' ganrun train --range 0,1 -o "$T/x.ckpt" "$T/rect.tns"
expect "--size disagrees" 65 'not --size 32' ganrun train --range 0,1 --size 32 -o "$T/x.ckpt" "$T/d.tns"
expect "no range" 65 'no value range.*--range' ganrun train -o "$T/x.ckpt" "$T/d.tns"
if [ -s "$T/empty.tns" ]; then
	expect "empty stream" 65 'no frames' ganrun train --range 0,1 -o "$T/x.ckpt" "$T/empty.tns"
else
	skip "empty stream" "could not make a stream without frames"
fi
expect "empty input" 65 'empty' ganrun train --range 0,1 -o "$T/x.ckpt" /dev/null
# Too large for the device: PoCL's POCL_MEMORY_LIMIT (GiB) makes its CPU
# device small (1 GiB, 256 MiB in one buffer); 16,500 frames of 64x64 need
# 257.8 MiB as float32.
if tsinfo --devices 2>/dev/null | grep -q '^\*.*Portable Computing Language'; then
	tsgen -n 16500 -s 64x64 -p noise -t u8 > "$T/toolarge.tns"
	expect "training set too large for the device" 65 \
		'16500 frames of 64x64 needs 257.8 MiB on the device, more than .*use fewer frames' \
		env POCL_MEMORY_LIMIT=1 ganrun train --range 0,1 -o "$T/x.ckpt" "$T/toolarge.tns"
	rm -f "$T/toolarge.tns"
else
	skip "training set too large for the device" "the default device is not PoCL's"
fi
[ ! -e "$T/x.ckpt" ] && pass "no checkpoint after bad data" || fail "no checkpoint after bad data" "x.ckpt exists"

# ---- a run ----
if ganrun train $TR --epochs 2 --seed 5 --log "$T/l.csv" --snapshot-every 2 \
	--snapshot-dir "$T/snaps" -o "$T/a.ckpt" "$T/d.tns" 2>"$T/err"; then
	pass "train 2 epochs"
else
	fail "train 2 epochs" "$(cat "$T/err")"
fi
# 12 frames in batches of 4: 3 batches an epoch, generator at batches 0 and 2
if [ "$(head -n 1 "$T/l.csv")" = "epoch,g_step,seconds,d_loss,g_loss,gp,wdist" ] &&
	[ "$(wc -l <"$T/l.csv")" -eq 5 ] &&
	awk -F, 'NR > 1 && (NF != 7 || $4 == "nan" || $5 == "nan") { bad = 1 } END { exit bad }' "$T/l.csv"; then
	pass "loss log: header and 4 generator steps of 7 columns"
else
	fail "loss log" "$(cat "$T/l.csv")"
fi
png="$T/snaps/epoch-000002.png"
if [ -f "$png" ] && [ "$(od -An -tx1 -N8 "$png" | tr -d ' ')" = "89504e470d0a1a0a" ] &&
	[ "$(od -An -tu1 -j16 -N8 "$png" | tr -s ' ')" = " 0 0 0 142 0 0 0 142" ] &&
	[ ! -e "$T/snaps/epoch-000001.png" ]; then
	pass "snapshot grid: epoch-000002.png, 142x142 PNG"
else
	fail "snapshot grid" "$(ls -l "$T/snaps" 2>&1)"
fi
expect "info" 0 '' ganrun info "$T/a.ckpt"
for want in 'model: wgan-gp' 'size: 16x16' 'latent: 8' 'batch: 4' 'n_critic: 2' 'lambda_gp: 10' \
	'betas: 0.5 0.999' 'seed: 5' 'epochs: 2$' 'generator steps: 4' 'critic steps: 6' 'last losses: critic'; do
	grep -q "^$want" "$T/out" || fail "info: $want" "$(cat "$T/out")"
done
pass "info lines"

# ---- sample ----
ganrun sample -n 5 --seed 3 --batch 2 "$T/a.ckpt" >"$T/s1.tns" 2>"$T/err" || fail sample "$(cat "$T/err")"
ganrun sample -n 5 --seed 3 --batch 2 "$T/a.ckpt" >"$T/s2.tns" 2>"$T/err" || fail sample "$(cat "$T/err")"
ganrun sample -n 5 --seed 4 --batch 2 "$T/a.ckpt" >"$T/s3.tns" 2>"$T/err" || fail sample "$(cat "$T/err")"
same "sample: same checkpoint and seed, same bytes" "$T/s1.tns" "$T/s2.tns"
cmp -s "$T/s1.tns" "$T/s3.tns" && fail "sample: another seed" "same bytes" || pass "sample: another seed, other bytes"
tsinfo "$T/s1.tns" >"$T/info" 2>&1
if grep -q '^frames: 5$' "$T/info" && grep -q '^shape: 16x16$' "$T/info" &&
	grep -q 'range = 0 1' "$T/info" &&
	awk '/^min:/ { if ($2 < 0) bad = 1 } /^max:/ { if ($2 > 1) bad = 1 } END { exit bad }' "$T/info"; then
	pass "sample: 5 frames of 16x16 in [0, 1], range 0 1"
else
	fail "sample: frames and range" "$(cat "$T/info")"
fi
expect "sample: missing checkpoint" 66 'No such file' ganrun sample -n 1 -o "$T/o.tns" "$T/none.ckpt"
expect "info: missing checkpoint" 66 'No such file' ganrun info "$T/none.ckpt"
expect "resume: missing checkpoint" 66 'No such file' ganrun train --resume "$T/none.ckpt" -o "$T/y.ckpt" "$T/d.tns"
head -c 20000 "$T/a.ckpt" >"$T/cut.ckpt"
echo "not a checkpoint" >"$T/junk.ckpt"
expect "sample: truncated checkpoint" 65 'truncated' ganrun sample -n 1 -o "$T/o.tns" "$T/cut.ckpt"
expect "info: truncated checkpoint" 65 'damaged checkpoint' ganrun info "$T/cut.ckpt"
expect "resume: truncated checkpoint" 65 'truncated' ganrun train --resume "$T/cut.ckpt" --range 0,1 -o "$T/y.ckpt" "$T/d.tns"
expect "info: not a checkpoint" 65 'not a checkpoint' ganrun info "$T/junk.ckpt"
tsgen -n 2 -s 32x32 -p noise -o "$T/s32.tns"
expect "resume: other size" 65 'trained on 16x16' ganrun train --resume "$T/a.ckpt" --range 0,1 -o "$T/y.ckpt" "$T/s32.tns"

# ---- resume: 1 + 1 epochs equal 2 ----
mkdir -p "$T/r1" "$T/r2"
ganrun train $TR --epochs 1 --seed 5 -o "$T/r1/a.ckpt" "$T/d.tns" 2>"$T/err" &&
	ganrun train --resume "$T/r1/a.ckpt" --range 0,1 -q --epochs 2 -o "$T/r1/a.ckpt" "$T/d.tns" 2>>"$T/err" ||
	fail "resume" "$(cat "$T/err")"
cp "$T/a.ckpt" "$T/r2/a.ckpt"
(cd "$T/r1" && ganrun sample -n 8 --seed 1 a.ckpt >s.tns) && (cd "$T/r2" && ganrun sample -n 8 --seed 1 a.ckpt >s.tns)
same "resume: 1 epoch + 1 resumed gives the samples of 2 epochs" "$T/r1/s.tns" "$T/r2/s.tns"

# ---- --time ----
expect "--time stops at the first epoch end" 0 'time budget spent after epoch 1' \
	ganrun train --range 0,1 --batch 4 --latent 8 --epochs 1000 --time 0.01s -o "$T/t.ckpt" "$T/d.tns"

# ---- SIGTERM mid-run ----
ganrun train $TR --epochs 100000 --log "$T/sig.csv" -o "$T/sig.ckpt" "$T/big.tns" 2>"$T/sigerr" &
pid=$!
n=0
while [ "$n" -lt 600 ] && [ "$(wc -l <"$T/sig.csv" 2>/dev/null || echo 0)" -lt 3 ]; do
	sleep 0.1
	n=$((n + 1))
done
kill -TERM "$pid"
wait "$pid"
rc=$?
if [ "$rc" -eq 0 ] && grep -q 'stopped by a signal' "$T/sigerr" && ganrun info "$T/sig.ckpt" >"$T/siginfo" 2>&1; then
	pass "SIGTERM: exit 0, message, valid checkpoint ($(grep '^epochs' "$T/siginfo"))"
else
	fail "SIGTERM" "exit $rc: $(cat "$T/sigerr") $(cat "$T/siginfo" 2>/dev/null)"
fi
e=$(sed -n 's/^epochs: \([0-9]*\).*/\1/p' "$T/siginfo")
if ganrun train --resume "$T/sig.ckpt" --range 0,1 -q --epochs $((e + 1)) -o "$T/sig.ckpt" "$T/big.tns" 2>"$T/err" &&
	ganrun info "$T/sig.ckpt" | grep -q "^epochs: $((e + 1))$"; then
	pass "SIGTERM: resumed to epoch $((e + 1))"
else
	fail "SIGTERM: resume" "$(cat "$T/err")"
fi

finish
