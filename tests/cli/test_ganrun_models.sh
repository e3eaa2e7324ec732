#!/bin/sh
# Every model kind of ganrun trains an epoch on a tiny set, writes a
# checkpoint that `info` reads, and samples frames in [0, 1].
. "$(dirname "$0")/lib.sh"
tsgen -n 24 -s 16x16 --pattern noise --seed 3 | clipnorm --bounds 0,1 >"$TMP/data.tns" ||
	{ fail setup "could not make data"; exit 1; }
for m in wgan-gp gan wgan dcgan simple-gan; do
	if ganrun train -q --model "$m" --epochs 1 --batch 8 --seed 1 -o "$TMP/$m.ckpt" "$TMP/data.tns" 2>"$TMP/err"; then
		pass "$m trains"
	else
		fail "$m trains" "$(head -c 300 "$TMP/err")"
		continue
	fi
	ganrun info "$TMP/$m.ckpt" >"$TMP/info" 2>&1 && grep -q "$m" "$TMP/info" &&
		pass "$m info" || fail "$m info" "$(head -c 300 "$TMP/info")"
	ganrun sample -q -n 5 --seed 2 "$TMP/$m.ckpt" >"$TMP/s.tns" 2>"$TMP/err" &&
		tsinfo "$TMP/s.tns" >"$TMP/sinfo" 2>&1 || { fail "$m sample" "$(head -c 300 "$TMP/err")"; continue; }
	frames=$(sed -n 's/^frames *[:=] *//p' "$TMP/sinfo" | head -1)
	min=$(sed -n 's/^min: //p' "$TMP/sinfo")
	max=$(sed -n 's/^max: //p' "$TMP/sinfo")
	if [ "$frames" = 5 ] && awk -v a="$min" -v b="$max" 'BEGIN { exit !(a != "" && a >= 0 && b <= 1) }'; then
		pass "$m samples 5 frames in [0, 1]"
	else
		fail "$m samples" "frames '$frames' min '$min' max '$max'"
	fi
done
finish
