#!/bin/sh
# Command-line tests of tscut.  Inputs come from tsgen's ramp pattern, in
# which frame i holds i*1000 + j, so the minimum of an output frame (the
# second column of `tsinfo -f`) names the input frame it came from.
. "$(dirname "$0")/lib.sh"

# frames FILE: the input frame numbers in FILE, space-separated
frames() { tsinfo -f "$1" | awk '$1 ~ /^[0-9]+$/ { printf "%s%d", sep, $2 / 1000; sep = " " }'; }
# is NAME GOT WANT
is() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', wanted '$3'"; fi; }
# payload FILE N: the last N bytes (the frame records and end record; the
# header before them differs by the history line)
payload() { tail -c "$2" "$1"; }

tsgen -n 10 -s 4x5 >"$TMP/r.tns"
tsgen -n 40 -s 4x5 >"$TMP/r40.tns"
# 10 frames of 4x5 f32: 10 * (32 + 80) + 24 bytes of records
rec10=1144

cut() { tscut "$@" >"$TMP/c.tns" 2>"$TMP/err" && frames "$TMP/c.tns"; }

# ---- ranges ----
is "2:8:3 gives frames 2 and 5" "$(cut 2:8:3 "$TMP/r.tns")" "2 5"
is "single index 7" "$(cut 7 "$TMP/r.tns")" "7"
is "open end 6:" "$(cut 6: "$TMP/r.tns")" "6 7 8 9"
is "open start :3" "$(cut :3 "$TMP/r.tns")" "0 1 2"
is "step only ::4" "$(cut ::4 "$TMP/r.tns")" "0 4 8"
is "all with :" "$(cut : "$TMP/r.tns")" "0 1 2 3 4 5 6 7 8 9"
is "comma list 0:3,20:23" "$(cut 0:3,20:23 "$TMP/r40.tns")" "0 1 2 20 21 22"
is "several range arguments" "$(cut 1 5:7 "$TMP/r.tns")" "1 5 6"
is "overlaps give each frame once, in input order" "$(cut 5:8,0:6 "$TMP/r.tns")" "0 1 2 3 4 5 6 7"
is "range past the end is cut short" "$(cut 8:100 "$TMP/r.tns")" "8 9"
is "range beyond the end is empty" "$(cut 20:30 "$TMP/r.tns")" ""
tsinfo "$TMP/c.tns" | grep -q '^frames: 0$' && pass "empty selection is a valid empty stream" || fail "empty selection" "$(cat "$TMP/err")"
is "stdin as -" "$(tscut 3:5 - <"$TMP/r.tns" | frames -)" "3 4"
is "stdin by default" "$(tscut 3:5 <"$TMP/r.tns" | frames -)" "3 4"
is "no range copies everything" "$(cut "$TMP/r.tns")" "0 1 2 3 4 5 6 7 8 9"
is "concatenated input counts on" "$(cat "$TMP/r.tns" "$TMP/r.tns" | tscut 9:11 | frames -)" "9 0"

tscut -o "$TMP/o.tns" 2:4 "$TMP/r.tns" >"$TMP/out"
[ ! -s "$TMP/out" ] && [ "$(frames "$TMP/o.tns")" = "2 3" ] && pass "-o writes the file" || fail "-o writes the file" "$(ls "$TMP")"
tscut -o "$TMP/o2.tns" 12 "$TMP/r.tns" 2>/dev/null
[ $? -eq 65 ] && [ -z "$(ls "$TMP" | grep '^o2\.tns')" ] && pass "-o leaves no file after a failure" || fail "-o after a failure" "$(ls "$TMP")"
tscut -o "$TMP/o3.tns" --split 0.5 "$TMP/o4.tns" 20 "$TMP/r.tns" 2>/dev/null
[ $? -eq 65 ] && [ -z "$(ls "$TMP" | grep '^o[34]\.tns')" ] && pass "-o and --split leave no files after a failure" ||
	fail "-o and --split after a failure" "$(ls "$TMP")"

# negative indices count from the end; they need a file
is "negative start -- -3:" "$(cut -- -3: "$TMP/r.tns")" "7 8 9"
is "negative single -- -1" "$(cut -- -1 "$TMP/r.tns")" "9"
is "negative stop :-8" "$(cut :-8 "$TMP/r.tns")" "0 1"
is "negative start clamps -- -50:2" "$(cut -- -50:2 "$TMP/r.tns")" "0 1"
expect "negative single beyond the start exits 65" 65 'frame -11 does not exist' tscut -- -11 "$TMP/r.tns"
cat "$TMP/r.tns" | tscut -- -2: >"$TMP/out" 2>"$TMP/err"
[ $? -eq 64 ] && [ ! -s "$TMP/out" ] && grep -q 'regular file' "$TMP/err" && pass "negative indices on a pipe exit 64" ||
	fail "negative indices on a pipe exit 64" "$(cat "$TMP/err")"
expect "single index past the end exits 65" 65 'frame 12 does not exist: the stream has 10 frames' tscut 12 "$TMP/r.tns"

# frames pass through byte for byte, metadata gains a history line
tscut 0: "$TMP/r.tns" >"$TMP/all.tns"
payload "$TMP/r.tns" $rec10 >"$TMP/p1"
payload "$TMP/all.tns" $rec10 >"$TMP/p2"
same "frames and end record unchanged" "$TMP/p1" "$TMP/p2"
tsinfo "$TMP/all.tns" | grep -A1 '^  history = tsgen -n 10 -s 4x5$' | grep -q "^  history = tscut 0: $TMP/r.tns$" &&
	tsinfo "$TMP/all.tns" | grep -q '^  tsgen.pattern = ramp$' && pass "metadata passes through, history appended" ||
	fail "metadata passes through" "$(tsinfo "$TMP/all.tns" | grep '^  ')"
tscut -z 5 "$TMP/r40.tns" >"$TMP/z.tns"
[ "$(wc -c <"$TMP/z.tns")" -lt "$(wc -c <"$TMP/r40.tns")" ] && [ "$(frames "$TMP/z.tns")" = "$(frames "$TMP/r40.tns")" ] &&
	pass "-z compresses, same frames" || fail "-z compresses" "$(wc -c <"$TMP/z.tns") bytes"
tscut 0: "$TMP/z.tns" >"$TMP/unz.tns"
payload "$TMP/r40.tns" 4504 >"$TMP/p1"
payload "$TMP/unz.tns" 4504 >"$TMP/p2"
same "-z 0 (default) stores frames uncompressed again" "$TMP/p1" "$TMP/p2"

# ---- head and tail ----
is "--head 3" "$(cut --head 3 "$TMP/r.tns")" "0 1 2"
is "--head 0" "$(cut --head 0 "$TMP/r.tns")" ""
is "--head after a range" "$(cut 4: --head 2 "$TMP/r.tns")" "4 5"
is "--tail 3" "$(cut --tail 3 "$TMP/r.tns")" "7 8 9"
is "--tail larger than the stream" "$(cut --tail 30 "$TMP/r.tns")" "0 1 2 3 4 5 6 7 8 9"
is "--tail 0" "$(cut --tail 0 "$TMP/r.tns")" ""
is "--tail of a range" "$(cut 0:6 --tail 2 "$TMP/r.tns")" "4 5"
is "--tail spooled to a file (-m 0)" "$(cut -m 0 --tail 4 "$TMP/r.tns")" "6 7 8 9"
# --head stops reading: 100000 frames of 256 KiB (26 GB) would take minutes
start=$(date +%s)
n=$(tsgen -n 100000 -s 256x256 | tscut --head 3 | tsinfo | sed -n 's/^frames: //p')
secs=$(( $(date +%s) - start ))
[ "$n" = 3 ] && [ "$secs" -lt 20 ] && pass "--head 3 of a 26 GB stream stops early (${secs}s)" ||
	fail "--head stops early" "frames '$n' after ${secs}s"
n=$(tsgen -n 100000 -s 256x256 | tscut 5:7 | tsinfo | sed -n 's/^frames: //p')
[ "$n" = 2 ] && pass "an exhausted range stops early" || fail "an exhausted range stops early" "frames '$n'"

# ---- shuffle ----
tscut --shuffle --seed 7 "$TMP/r40.tns" >"$TMP/s1.tns"
tscut --shuffle --seed 7 "$TMP/r40.tns" >"$TMP/s2.tns"
tscut --shuffle --seed 8 "$TMP/r40.tns" >"$TMP/s3.tns"
same "shuffle is reproducible" "$TMP/s1.tns" "$TMP/s2.tns"
o1=$(frames "$TMP/s1.tns")
o3=$(frames "$TMP/s3.tns")
sorted=$(echo "$o1" | tr ' ' '\n' | sort -n | tr '\n' ' ')
is "shuffle is a permutation" "$sorted" "$(seq 0 39 | tr '\n' ' ')"
[ "$o1" != "$(frames "$TMP/r40.tns")" ] && [ "$o1" != "$o3" ] && pass "shuffle reorders, seeds differ" ||
	fail "shuffle reorders" "$o1 / $o3"
tscut -m 0 --shuffle --seed 7 "$TMP/r40.tns" >"$TMP/s4.tns"
payload "$TMP/s1.tns" 4504 >"$TMP/p1"
payload "$TMP/s4.tns" 4504 >"$TMP/p2"
same "shuffle through a temporary file (-m 0) gives the same frames" "$TMP/p1" "$TMP/p2"
is "shuffle after a range" "$(cut 0:5 --shuffle --seed 1 "$TMP/r.tns" | tr ' ' '\n' | sort -n | tr '\n' ' ')" "0 1 2 3 4 "

# ---- split ----
tscut --split 0.3 "$TMP/rest.tns" --seed 5 "$TMP/r.tns" >"$TMP/part.tns"
a=$(frames "$TMP/part.tns")
b=$(frames "$TMP/rest.tns")
is "split 0.3 of 10: 3 to stdout" "$(echo "$a" | wc -w | tr -d ' ')" 3
is "split: 7 to the file" "$(echo "$b" | wc -w | tr -d ' ')" 7
is "split: the parts partition the input" "$(echo "$a $b" | tr ' ' '\n' | sort -n | tr '\n' ' ')" "$(seq 0 9 | tr '\n' ' ')"
[ "$(echo "$a" | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(echo "$a" | tr ' ' '\n' | tr '\n' ' ')" ] &&
	[ "$(echo "$b" | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(echo "$b" | tr ' ' '\n' | tr '\n' ' ')" ] &&
	pass "split keeps input order in each part" || fail "split keeps order" "$a / $b"
tscut --shuffle --split 0.3 "$TMP/rest2.tns" --seed 5 "$TMP/r.tns" >"$TMP/part2.tns"
a2=$(frames "$TMP/part2.tns")
is "shuffle + split: same first part as a set" "$(echo "$a2" | tr ' ' '\n' | sort -n | tr '\n' ' ')" "$(echo "$a" | tr ' ' '\n' | sort -n | tr '\n' ' ')"
is "split 0 sends everything to the file" "$(tscut --split 0 "$TMP/rest3.tns" "$TMP/r.tns" | frames -)/$(frames "$TMP/rest3.tns")" "/0 1 2 3 4 5 6 7 8 9"
is "split 1 sends everything to stdout" "$(tscut --split 1 "$TMP/rest4.tns" "$TMP/r.tns" | frames -)/$(frames "$TMP/rest4.tns")" "0 1 2 3 4 5 6 7 8 9/"
tsinfo "$TMP/rest.tns" | grep -q "^  history = tscut --split 0.3 $TMP/rest.tns --seed 5 $TMP/r.tns$" &&
	pass "split file has the history line" || fail "split history" "$(tsinfo "$TMP/rest.tns" | grep history)"
n=$(tsgen -n 1001 -s 2 | tscut --split 0.25 "$TMP/rest5.tns" | tsinfo | sed -n 's/^frames: //p')
is "split rounds 0.25 * 1001 to 250" "$n/$(tsinfo "$TMP/rest5.tns" | sed -n 's/^frames: //p')" "250/751"
ls "$TMP" | grep -q '\.tmp' && fail "no temporary files left" "$(ls "$TMP")" || pass "no temporary files left"

# ---- errors ----
size=$(wc -c <"$TMP/r.tns")
cp "$TMP/r.tns" "$TMP/bad.tns"
printf '\377' | dd of="$TMP/bad.tns" bs=1 seek=$((size - 30)) conv=notrunc 2>/dev/null
expect "corrupt input exits 65" 65 '^tscut: .*frame 9: payload checksum mismatch' tscut "$TMP/bad.tns"
tsinfo "$TMP/out" >/dev/null 2>&1 && fail "output of a failed run is not a valid stream" "tsinfo accepted it" ||
	pass "output of a failed run is not a valid stream"
expect "corrupt frame after the range is not read" 0 '' tscut 0:3 "$TMP/bad.tns"
expect "missing file exits 66" 66 '^tscut: ' tscut 0:3 "$TMP/nonexistent.tns"
expect "not a stream exits 65" 65 'not a tensor stream' tscut 0:3 /etc/passwd
tscut --split 0.5 "$TMP/nodir/x.tns" "$TMP/r.tns" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 74 ] && [ ! -s "$TMP/out" ] && pass "unwritable split file exits 74 before any output" ||
	fail "unwritable split file" "$(cat "$TMP/err")"

expect_usage "step 0" tscut 0:5:0 "$TMP/r.tns"
expect_usage "negative step" tscut 0:5:-1 "$TMP/r.tns"
expect_usage "not a range before the file" tscut abc "$TMP/r.tns"
expect_usage "empty range item" tscut 1,,2 "$TMP/r.tns"
expect_usage "too many colons" tscut 1:2:3:4 "$TMP/r.tns"
expect_usage "negative --head" tscut --head -1 "$TMP/r.tns"
expect_usage "--head and --tail" tscut --head 1 --tail 1 "$TMP/r.tns"
expect_usage "split fraction above 1" tscut --split 2 "$TMP/x.tns" "$TMP/r.tns"
expect_usage "split without a file" tscut --split 0.5
expect_usage "split to stdout" tscut --split 0.5 - "$TMP/r.tns"
expect_usage "split file is the -o file" tscut -o "$TMP/x.tns" --split 0.5 "$TMP/x.tns" "$TMP/r.tns"
expect_usage "zstd level" tscut -z 99 "$TMP/r.tns"
expect_usage "negative index without --" tscut -3: "$TMP/r.tns"
expect_usage "bad seed" tscut --shuffle --seed x "$TMP/r.tns"
ls "$TMP" | grep -q '^x.tns' && fail "no split file after a usage error" "$(ls "$TMP")" || pass "no split file after a usage error"
expect "-h prints the usage" 0 '' tscut -h
grep -q '^usage: tscut ' "$TMP/out" && pass "usage line" || fail "usage line" "$(cat "$TMP/out")"

# a stream is not written to a terminal (script(1) gives the program one)
if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
	script -qec "$BIN/tscut $TMP/r.tns" /dev/null >"$TMP/tty" 2>&1 </dev/null
	rc=$?
	[ "$rc" -eq 64 ] && grep -q 'refusing to write a binary stream to a terminal' "$TMP/tty" &&
		pass "refuses a terminal" || fail "refuses a terminal" "exit $rc: $(head -c 300 "$TMP/tty")"
else
	skip "refuses a terminal" "script(1) is not available"
fi
finish
