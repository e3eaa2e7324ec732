#!/bin/sh
# Command-line tests of tsinfo (and of tsgen, which makes its inputs).
# Expected numbers: closed forms for the ramp pattern (frame i, element j
# holds i*1000 + j), and NumPy 1.24 values (float64 mean, std with ddof=0,
# percentile 'linear') for the noise fixtures, computed once from the
# streams tsgen writes for those arguments.  Tolerance 1e-9 relative.
. "$(dirname "$0")/lib.sh"

# near NAME GOT WANT: |GOT - WANT| <= 1e-9 * max(|WANT|, 1)
near() {
	if awk -v g="$2" -v w="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; s = w < 0 ? -w : w; if (s < 1) s = 1
		exit !(g != "" && d <= 1e-9 * s) }'; then pass "$1"; else fail "$1" "got '$2', wanted $3"; fi
}
# row_near NAME FILE FRAME WANT...: the per-frame line of FRAME holds WANT
# (columns after the index) within the same tolerance.
row_near() {
	name=$1 file=$2 frame=$3
	shift 3
	if awk -v f="$frame" -v want="$*" 'BEGIN { n = split(want, w, " ") }
		$1 == f && !seen { seen = 1; if (NF - 1 != n) bad = 1
			for (i = 1; i <= n; i++) { d = $(i + 1) - w[i]; if (d < 0) d = -d
				s = w[i] < 0 ? -w[i] : w[i]; if (s < 1) s = 1; if (d > 1e-9 * s) bad = 1 } }
		END { exit !(seen && !bad) }' "$file"; then
		pass "$name"
	else
		fail "$name" "frame $frame line '$(awk -v f="$frame" '$1 == f' "$file")', wanted $*"
	fi
}
get() { sed -n "s/^$1: //p" "$2"; }

tsgen -n 10 -s 4x5 >"$TMP/ramp.tns" || fail tsgen "ramp failed"

# ---- header, metadata, counts ----
expect "plain run" 0 '' tsinfo "$TMP/ramp.tns"
cp "$TMP/out" "$TMP/info"
[ "$(get type "$TMP/info")" = f32 ] && [ "$(get shape "$TMP/info")" = 4x5 ] &&
	[ "$(get frames "$TMP/info")" = 10 ] && [ "$(get values "$TMP/info")" = 200 ] &&
	[ "$(get nan "$TMP/info")" = 0 ] && pass "type, shape, frames, values" ||
	fail "type, shape, frames, values" "$(head -c 400 "$TMP/info")"
grep -q '^  history = tsgen -n 10 -s 4x5$' "$TMP/info" && grep -q '^  tsgen.pattern = ramp$' "$TMP/info" &&
	pass "metadata lines" || fail "metadata lines" "$(grep '^  ' "$TMP/info")"
tsinfo - <"$TMP/ramp.tns" >"$TMP/info2" 2>&1 && grep -q '^stream: stdin$' "$TMP/info2" &&
	[ "$(get mean "$TMP/info2")" = "$(get mean "$TMP/info")" ] && pass "reads stdin" || fail "reads stdin" "$(head -3 "$TMP/info2")"

# ---- ramp: closed forms ----
# mean 4509.5; variance 1000^2 (10^2 - 1)/12 + (20^2 - 1)/12 = 8250033.25
near "ramp min" "$(get min "$TMP/info")" 0
near "ramp max" "$(get max "$TMP/info")" 9019
near "ramp mean" "$(get mean "$TMP/info")" 4509.5
near "ramp std" "$(get std "$TMP/info")" 2872.2871113452429
tsinfo -f -p 1,50,99 "$TMP/ramp.tns" >"$TMP/f" 2>"$TMP/err"
grep -q '^frame min max mean std p1 p50 p99$' "$TMP/f" && pass "per-frame header line" ||
	fail "per-frame header line" "$(grep '^frame' "$TMP/f")"
# frame i: min 1000i, max 1000i + 19, mean 1000i + 9.5, std sqrt(399/12),
# percentile q at 1000i + 19q/100
row_near "frame 0 stats" "$TMP/f" 0 0 19 9.5 5.7662812973353983 0.19 9.5 18.81
row_near "frame 3 stats" "$TMP/f" 3 3000 3019 3009.5 5.7662812973353983 3000.19 3009.5 3018.81
row_near "frame 9 stats" "$TMP/f" 9 9000 9019 9009.5 5.7662812973353983 9000.19 9009.5 9018.81
[ "$(awk '$1 ~ /^[0-9]+$/' "$TMP/f" | wc -l)" -eq 10 ] && pass "ten frame lines" || fail "ten frame lines" "$(wc -l <"$TMP/f")"
# over all 200 values (position 199 q / 100): 1.99, 4509.5, 9017.01
near "ramp p1" "$(get p1 "$TMP/f")" 1.99
near "ramp p50" "$(get p50 "$TMP/f")" 4509.5
near "ramp p99" "$(get p99 "$TMP/f")" 9017.01
near "per-frame run keeps the overall std" "$(get std "$TMP/f")" 2872.2871113452429

# the same values as u16 (no wrap below 65536), zstd-compressed, and as
# two concatenated streams
tsgen -n 10 -s 4x5 -t u16 -z 3 | tsinfo -p 1,50,99 >"$TMP/u16"
near "u16 std" "$(get std "$TMP/u16")" 2872.2871113452429
near "u16 histogram p99" "$(get p99 "$TMP/u16")" 9017.01
[ "$(get type "$TMP/u16")" = u16 ] && [ -z "$(get nan "$TMP/u16")" ] && pass "u16 has no nan line" || fail "u16 has no nan line" "$(cat "$TMP/u16")"
# u8 wraps modulo 256: NumPy gives mean 131.9, std 71.79059827024706,
# percentiles 1.99, 133.5, 249.01
tsgen -n 10 -s 4x5 -t u8 | tsinfo -p 1,50,99 >"$TMP/u8"
near "u8 wrap mean" "$(get mean "$TMP/u8")" 131.9
near "u8 wrap std" "$(get std "$TMP/u8")" 71.79059827024706
near "u8 histogram p50" "$(get p50 "$TMP/u8")" 133.5
near "u8 histogram p99" "$(get p99 "$TMP/u8")" 249.01
cat "$TMP/ramp.tns" "$TMP/ramp.tns" | tsinfo >"$TMP/cat2"
[ "$(get frames "$TMP/cat2")" = 20 ] && pass "concatenated streams count 20 frames" || fail "concatenated" "$(get frames "$TMP/cat2")"
near "concatenated std" "$(get std "$TMP/cat2")" 2872.2871113452429

# ---- noise fixtures against NumPy ----
tsgen -n 3 -s 5x7 -p noise --seed 42 >"$TMP/n32.tns"
tsinfo -f -p 1,50,99 "$TMP/n32.tns" >"$TMP/n32"
row_near "f32 noise frame 0 vs numpy" "$TMP/n32" 0 0.083862960338592529 0.99180388450622559 0.60394356761659895 0.24763078362565627 0.086921968460083002 0.68004339933395386 0.97580864787101729
row_near "f32 noise frame 2 vs numpy" "$TMP/n32" 2 0.056263208389282227 0.97800850868225098 0.49984154701232908 0.29438922226983066 0.060056073665618895 0.5161893367767334 0.97254821181297302
near "f32 noise mean vs numpy" "$(get mean "$TMP/n32")" 0.54599047388349264
near "f32 noise std vs numpy" "$(get std "$TMP/n32")" 0.28022737612999055
near "f32 noise p1 vs numpy" "$(get p1 "$TMP/n32")" 0.045286092758178714
near "f32 noise p50 vs numpy" "$(get p50 "$TMP/n32")" 0.5715179443359375
near "f32 noise p99 vs numpy" "$(get p99 "$TMP/n32")" 0.97777176141738886
tsgen -n 3 -s 5x7 -p noise --seed 42 -t i16 | tsinfo -f -p 1,50,99 >"$TMP/n16"
row_near "i16 noise frame 1 vs numpy" "$TMP/n16" 1 -32293 30719 -6186.1142857142859 18288.895459534891 -32015.560000000001 -9357 30261.359999999997
near "i16 noise std vs numpy" "$(get std "$TMP/n16")" 18689.954226684335
near "i16 noise p1 vs numpy" "$(get p1 "$TMP/n16")" -31698.759999999998
near "i16 noise p99 vs numpy" "$(get p99 "$TMP/n16")" 30701.919999999998

# ---- tsgen: determinism and patterns ----
tsgen -n 3 -s 5x7 -p noise --seed 42 >"$TMP/n32b.tns"
same "tsgen noise is reproducible" "$TMP/n32.tns" "$TMP/n32b.tns"
tsgen -n 3 -s 5x7 -p noise --seed 42 -o "$TMP/n32c.tns" >"$TMP/out"
# the frame records and end record (3 * (32 + 140) + 24 bytes) match
tail -c 540 "$TMP/n32.tns" >"$TMP/p1"
tail -c 540 "$TMP/n32c.tns" >"$TMP/p2"
[ ! -s "$TMP/out" ] && cmp -s "$TMP/p1" "$TMP/p2" && pass "tsgen -o writes the same frames" || fail "tsgen -o" "$(ls "$TMP")"
tsgen -n 3 -s 5x7 -p noise --seed 43 >"$TMP/n43.tns"
cmp -s "$TMP/n32.tns" "$TMP/n43.tns" && fail "tsgen seeds differ" "seed 42 and 43 gave the same stream" || pass "tsgen seeds differ"
tsgen -n 2 -s 3x4x5 -t i16 -p const=-7 | tsinfo -f >"$TMP/c"
[ "$(get shape "$TMP/c")" = 3x4x5 ] && [ "$(get values "$TMP/c")" = 120 ] && pass "tsgen rank 3 shape" || fail "tsgen rank 3 shape" "$(head -4 "$TMP/c")"
row_near "tsgen const=-7" "$TMP/c" 1 -7 -7 -7 0
tsgen -n 4 -s 2048 -t f16 | tsinfo -f >"$TMP/h"
# f16 ramp wraps modulo 2048: frame 1 holds (1000 + j) mod 2048, a
# permutation of 0..2047 (std sqrt((2048^2 - 1) / 12))
row_near "tsgen f16 ramp wraps" "$TMP/h" 1 0 2047 1023.5 591.20660517284477
tsgen -n 0 -s 8x8 | tsinfo >"$TMP/e"
[ "$(get frames "$TMP/e")" = 0 ] && [ -z "$(get mean "$TMP/e")" ] && pass "empty stream: no statistics" || fail "empty stream" "$(cat "$TMP/e")"
expect_usage "tsgen without -s" tsgen -n 1
expect_usage "tsgen bad shape" tsgen -n 1 -s 4xx5
expect_usage "tsgen rank 5" tsgen -n 1 -s 1x1x1x1x1
expect_usage "tsgen bad type" tsgen -n 1 -s 4 -t f64
expect_usage "tsgen const out of u8 range" tsgen -n 1 -s 4 -t u8 -p const=300
expect_usage "tsgen const not an integer" tsgen -n 1 -s 4 -t u16 -p const=1.5
expect_usage "tsgen bad pattern" tsgen -n 1 -s 4 -p sine
expect_usage "tsgen negative frames" tsgen -n -1 -s 4
expect_usage "tsgen zstd level" tsgen -n 1 -s 4 -z 20

# ---- JSON ----
expect "json output" 0 '' tsinfo -j -f -p 50 "$TMP/ramp.tns"
grep -q '"frames": 10, "values": 200, "nan": 0, "min": 0, "max": 9019, "mean": 4509.5' "$TMP/out" &&
	grep -q '{"frame": 3, "min": 3000, "max": 3019, "mean": 3009.5, ' "$TMP/out" &&
	grep -q '"metadata": \[\["tsgen.pattern", "ramp"\], \["history", "tsgen -n 10 -s 4x5"\]\]' "$TMP/out" &&
	[ "$(tail -c 2 "$TMP/out" | head -c 1)" = "}" ] && pass "json fields" || fail "json fields" "$(head -c 600 "$TMP/out")"

# ---- memory cap for overall percentiles ----
expect "-m 0 on f32 says so" 0 'percentiles over all frames not computed' tsinfo -m 0 -p 50 "$TMP/ramp.tns"
grep -q '^percentiles: not computed: ' "$TMP/out" && [ -z "$(get p50 "$TMP/out")" ] && [ -n "$(get std "$TMP/out")" ] &&
	pass "-m 0: statistics without percentiles" || fail "-m 0: statistics without percentiles" "$(cat "$TMP/out")"
tsinfo -m 0 -f -p 50 "$TMP/ramp.tns" 2>/dev/null >"$TMP/m0f"
row_near "-m 0 keeps per-frame percentiles" "$TMP/m0f" 4 4000 4019 4009.5 5.7662812973353983 4009.5
tsgen -n 10 -s 4x5 -t u16 | tsinfo -m 0 -p 50 >"$TMP/m0u" 2>"$TMP/err"
near "-m 0 on u16 uses the histogram" "$(get p50 "$TMP/m0u")" 4509.5

# ---- the checker: corruption, truncation, missing input ----
size=$(wc -c <"$TMP/ramp.tns")
cp "$TMP/ramp.tns" "$TMP/bad.tns"
printf '\377' | dd of="$TMP/bad.tns" bs=1 seek=$((size - 30)) conv=notrunc 2>/dev/null
expect "corrupt frame exits 65" 65 '^tsinfo: .*bad.tns: frame 9: payload checksum mismatch' tsinfo "$TMP/bad.tns"
head -c $((size - 10)) "$TMP/ramp.tns" >"$TMP/trunc.tns"
expect "truncated stream exits 65" 65 '^tsinfo: .*truncated' tsinfo "$TMP/trunc.tns"
head -c $((size - 24)) "$TMP/ramp.tns" >"$TMP/noend.tns"
expect "missing end record exits 65" 65 'without an end record' tsinfo "$TMP/noend.tns"
printf 'hello, world\n' >"$TMP/text"
expect "not a stream exits 65" 65 'not a tensor stream' tsinfo "$TMP/text"
expect "empty input exits 65" 65 'empty input' tsinfo /dev/null
expect "missing file exits 66" 66 '^tsinfo: .*nonexistent' tsinfo "$TMP/nonexistent.tns"

# ---- usage ----
expect_usage "bad percentile" tsinfo -p 101 "$TMP/ramp.tns"
expect_usage "empty percentile item" tsinfo -p 1,,2 "$TMP/ramp.tns"
expect_usage "trailing comma" tsinfo -p 1, "$TMP/ramp.tns"
expect_usage "percentile not a number" tsinfo -p abc "$TMP/ramp.tns"
expect_usage "unknown option" tsinfo -x "$TMP/ramp.tns"
expect_usage "two files" tsinfo "$TMP/ramp.tns" "$TMP/ramp.tns"
expect_usage "bad -m" tsinfo -m -1 "$TMP/ramp.tns"
expect_usage "--devices with a file" tsinfo --devices "$TMP/ramp.tns"
expect "-h prints the usage" 0 '' tsinfo -h
grep -q '^usage: tsinfo \[-fhjq\] \[-m mib\] \[-p list\] \[file\]$' "$TMP/out" && pass "usage line" || fail "usage line" "$(cat "$TMP/out")"

# ---- devices: a list, or status 69 with a message when there is none ----
tsinfo --devices >"$TMP/dev" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$TMP/dev" ]; then pass "--devices lists devices"
elif [ "$rc" -eq 69 ] && grep -q '^tsinfo: ' "$TMP/err"; then pass "--devices: no device, status 69"
else fail "--devices" "exit $rc: $(head -c 300 "$TMP/err")"; fi
OCL_ICD_VENDORS="$TMP/none" OCL_ICD_FILENAMES= tsinfo --devices >"$TMP/dev" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 69 ]; then
	grep -q '^tsinfo: no OpenCL platform' "$TMP/err" && pass "no OpenCL platform: status 69 and a message" ||
		fail "no OpenCL platform" "$(cat "$TMP/err")"
else
	skip "no OpenCL platform" "this OpenCL loader ignores OCL_ICD_VENDORS (exit $rc)"
fi

# a reader that stops early is not an error
{ tsgen -n 20000 -s 64x64 | tsinfo -f; echo $? >"$TMP/rc"; } | head -n 3 >/dev/null
[ "$(cat "$TMP/rc")" = 0 ] && pass "closed output ends quietly with 0" || fail "closed output" "exit $(cat "$TMP/rc")"
if [ -w /dev/full ]; then
	expect "full output device exits 74" 74 '^tsinfo: standard output: write failed' sh -c "tsinfo -f '$TMP/ramp.tns' >/dev/full"
fi
finish
