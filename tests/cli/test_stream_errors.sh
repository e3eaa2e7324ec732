#!/bin/sh
# Bad streams at the command line: each corruption class gives exit 65 and
# its own one-line message naming the problem, a filter in the middle of a
# pipeline never lets a damaged frame through, and a closed output pipe
# ends a program quietly with status 0.
. "$(dirname "$0")/lib.sh"

tsgen -n 4 -s 8x8 --pattern ramp >"$TMP/good.tns" || { fail setup "tsgen failed"; exit 1; }
size=$(wc -c <"$TMP/good.tns")

# bad NAME REGEX : tsinfo on $TMP/bad.tns exits 65 with one matching line
bad() {
	tsinfo "$TMP/bad.tns" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" -ne 65 ]; then fail "$1" "exit $rc, wanted 65"
	elif [ "$lines" -ne 1 ]; then fail "$1" "$lines lines of stderr, wanted 1"
	elif ! grep -Eq "^tsinfo: .*($2)" "$TMP/err"; then fail "$1" "message '$(cat "$TMP/err")' does not match /$2/"
	else pass "$1"
	fi
	cp "$TMP/err" "$TMP/msg.$1"
}

# flip BYTE_OFFSET : copy of good.tns with one byte inverted
flip() {
	cp "$TMP/good.tns" "$TMP/bad.tns"
	b=$(od -An -tu1 -j "$1" -N1 "$TMP/good.tns" | tr -d ' ')
	printf "$(printf '\\%03o' $((255 - b)))" | dd of="$TMP/bad.tns" bs=1 seek="$1" conv=notrunc 2>/dev/null
}

: >"$TMP/bad.tns"; bad empty "empty input"
printf 'P5\n8 8\n255\n' >"$TMP/bad.tns"; bad magic "not a tensor stream"
flip 8; bad version "version .* not supported"
flip 20; bad header_checksum "header checksum mismatch"
head -c $((size - 100)) "$TMP/good.tns" >"$TMP/bad.tns"; bad truncated_frame "truncated frame"
head -c $((size - 24)) "$TMP/good.tns" >"$TMP/bad.tns"; bad no_end_record "without an end record"
# payload of the second frame: header 64 + meta + 8, then 32 + 256 per frame
meta=$(od -An -tu4 -j 48 -N4 "$TMP/good.tns" | tr -d ' ')
flip $((64 + meta + 8 + 288 + 32 + 100)); bad payload_checksum "frame 1: payload checksum mismatch"
flip $((64 + meta + 8 + 288 + 10)); bad record_checksum "frame 1: record checksum mismatch"
flip $((size - 20)); bad end_checksum "end record checksum mismatch"
{ cat "$TMP/good.tns"; printf 'garbage'; } >"$TMP/bad.tns"; bad trailing "not a stream header"
tsgen -n 1 -s 4x4 >"$TMP/other.tns"
cat "$TMP/good.tns" "$TMP/other.tns" >"$TMP/bad.tns"; bad incompatible "is f32 4x4, not f32 8x8"
tsgen -n 1 -s 1024x1024 >"$TMP/bad.tns"
TOMOGAN_MAX_FRAME_MB=1 tsinfo "$TMP/bad.tns" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 65 ] && grep -q "exceeds the limit of 1 MiB" "$TMP/err" && pass limit || fail limit "$(cat "$TMP/err")"

# every message differs from every other one
n=$(cat "$TMP"/msg.* | sort -u | wc -l)
total=$(ls "$TMP"/msg.* | wc -l)
[ "$n" -eq "$total" ] && pass "distinct messages ($n)" || fail "distinct messages" "$n of $total differ"

# good frames before the damage pass through tscut; the damage does not,
# and the downstream reader sees a stream without an end record
flip $((64 + meta + 8 + 288 + 32 + 100))
tscut "$TMP/bad.tns" >"$TMP/cut.tns" 2>"$TMP/err"
[ $? -eq 65 ] && pass "tscut stops at the damaged frame" || fail "tscut stops at the damaged frame" "status not 65"
tsinfo -f "$TMP/cut.tns" >"$TMP/out" 2>"$TMP/err"
if [ $? -eq 65 ] && grep -q "after 1 frames without an end record" "$TMP/err"; then
	pass "downstream sees only the good frame, then truncation"
else
	fail "downstream sees only the good frame, then truncation" "$(cat "$TMP/err")"
fi
{ cat "$TMP/bad.tns" | tscut | tscut >/dev/null; } 2>"$TMP/err"
[ "$(wc -l <"$TMP/err")" -eq 2 ] && grep -q "payload checksum" "$TMP/err" && grep -q "without an end record" "$TMP/err" &&
	pass "pipeline reports the damage and the truncation" || fail "pipeline" "$(cat "$TMP/err")"

# a closed output pipe is not an error
( tsgen -n 5000 -s 256x256 2>"$TMP/gen.err"; echo $? >"$TMP/gen.rc" ) | head -c 1000 >/dev/null
[ "$(cat "$TMP/gen.rc")" = 0 ] && [ ! -s "$TMP/gen.err" ] && pass "quiet exit 0 on closed pipe" ||
	fail "quiet exit 0 on closed pipe" "status $(cat "$TMP/gen.rc"), stderr '$(cat "$TMP/gen.err")'"
tsgen -n 300 -s 128x128 >"$TMP/big.tns"
( tscut 0: "$TMP/big.tns" 2>"$TMP/cut.err"; echo $? >"$TMP/cut.rc" ) | head -c 10 >/dev/null
[ "$(cat "$TMP/cut.rc")" = 0 ] && [ ! -s "$TMP/cut.err" ] && pass "tscut quiet on closed pipe" || fail "tscut quiet on closed pipe" "status $(cat "$TMP/cut.rc")"

# Frames of 1 MiB and more leave through a pipe by vmsplice (tstream.c);
# what arrives must be the bytes a file gets, with the payload's tail
# (not a whole page: 1031 x 1029 x 4 bytes) written after the pages.
tsgen -n 3 -s 1031x1029 -p noise >"$TMP/huge.tns"
tscut 0: <"$TMP/huge.tns" >"$TMP/huge.f1.tns"
tscut 0: <"$TMP/huge.f1.tns" >"$TMP/huge.file.tns"
cat "$TMP/huge.tns" | tscut 0: | tscut 0: | cat >"$TMP/huge.pipe.tns"
cat "$TMP/huge.tns" | TOMOGAN_NO_SPLICE=1 tscut 0: | TOMOGAN_NO_SPLICE=1 tscut 0: | cat >"$TMP/huge.write.tns"
cmp -s "$TMP/huge.file.tns" "$TMP/huge.pipe.tns" && pass "large frames through pipes (vmsplice) equal the file output" ||
	fail "large frames through pipes" "streams differ"
cmp -s "$TMP/huge.file.tns" "$TMP/huge.write.tns" && pass "large frames through a pipe by write() (TOMOGAN_NO_SPLICE)" ||
	fail "large frames by write()" "streams differ"
tsinfo "$TMP/huge.pipe.tns" >/dev/null 2>&1 && pass "piped large frames pass their checksums" || fail "piped large frames" "tsinfo refused them"
( tscut 0: "$TMP/huge.tns" 2>"$TMP/cut.err"; echo $? >"$TMP/cut.rc" ) | head -c 10 >/dev/null
[ "$(cat "$TMP/cut.rc")" = 0 ] && [ ! -s "$TMP/cut.err" ] && pass "tscut quiet on closed pipe (large frames)" ||
	fail "tscut quiet on closed pipe (large frames)" "status $(cat "$TMP/cut.rc"), stderr '$(cat "$TMP/cut.err")'"
finish
