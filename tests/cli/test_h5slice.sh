# h5slice: usage, exit statuses and messages, --list, -o; the values it
# writes are checked by tests/unit/test_h5slice.c.
. "$(dirname "$0")/lib.sh"
S="$FIXTURES/h5/small.h5"
tab=$(printf '\t')

# A failure must leave stdout empty and say one line "h5slice: ..." with
# no HDF5 error-stack dump.
one_line() {
	if [ -s "$TMP/out" ]; then fail "$1" "stdout not empty"; return; fi
	if [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -q '^h5slice: ' "$TMP/err" || grep -q 'HDF5-DIAG' "$TMP/err"
	then fail "$1" "not one h5slice line: $(head -c 300 "$TMP/err")"; else pass "$1"; fi
}

expect "-h prints the usage line" 0 '' h5slice -h
grep -q '^usage: h5slice \[-hq\] .*FILE.h5\[:DATASET\]$' "$TMP/out" && pass "-h usage text" || fail "-h usage text" "$(cat "$TMP/out")"
usage=$(sed 's/^usage: //' "$TMP/out")

expect_usage "no input" h5slice
expect_usage "two inputs" h5slice "$S" "$S"
expect_usage "unknown option" h5slice --bogus "$S"
expect "unknown option: one message" 64 '^h5slice: unknown option --bogus$' h5slice --bogus "$S"
expect "unknown short option" 64 '^h5slice: unknown option -z$' h5slice -z "$S"
expect "option without its value" 64 '^h5slice: --axis needs a value$' h5slice "$S" --axis
expect "value for a flag" 64 '^h5slice: --list=3 takes no value$' h5slice --list=3 "$S"
[ "$(grep -c '' "$TMP/err")" -eq 2 ] && pass "usage error: message and usage line only" ||
	fail "usage error: message and usage line only" "$(cat "$TMP/err")"
expect_usage "axis 3" h5slice --axis 3 "$S"
expect_usage "axis -1" h5slice --axis -1 "$S"
expect_usage "axis not a number" h5slice --axis one "$S"
for r in '' '1:2:3:4' 'a:' '::0' '1.5' '1:x' ' 1'; do
	expect_usage "bad range '$r'" h5slice --range "$r" "$S"
done
expect_usage "bad type" h5slice --type u16 "$S"
expect_usage "keep with flat-dark" h5slice --type keep --flat-dark "$S"
expect_usage "keep with minus-log" h5slice --type keep --minus-log "$S"
expect_usage "white without flat-dark" h5slice --white /exchange/data_white "$S"
expect_usage "standard input" h5slice -
expect_usage "list with -o" h5slice --list -o "$TMP/x.tns" "$S"
# usage errors come before the file is looked at
expect_usage "usage error before a missing file" h5slice --axis 5 "$TMP/missing.h5"

expect "missing file" 66 "^h5slice: $TMP/missing.h5: No such file or directory$" h5slice "$TMP/missing.h5"
one_line "missing file: one line"
expect "missing file with dataset" 66 'missing.h5: No such file' h5slice "$TMP/missing.h5:/exchange/data"
expect "directory" 66 'is a directory' h5slice "$TMP"
printf 'not hdf5 at all\n' >"$TMP/text.h5"
expect "not HDF5" 65 "^h5slice: $TMP/text.h5: not an HDF5 file$" h5slice "$TMP/text.h5"
one_line "not HDF5: one line"
: >"$TMP/empty.h5"
expect "empty file" 65 'not an HDF5 file' h5slice "$TMP/empty.h5"
head -c 2000 "$S" >"$TMP/cut.h5"
expect "truncated HDF5 file" 65 'cut.h5: cannot open as HDF5: truncated file' h5slice "$TMP/cut.h5"
one_line "truncated HDF5 file: one line"
expect "corrupt chunk" 65 'corrupt.h5: dataset /data: cannot read slice 1 along axis 0: inflate\(\) failed$' \
	h5slice "$FIXTURES/h5/corrupt.h5:/data"
[ "$(wc -l <"$TMP/err")" -eq 1 ] && pass "corrupt chunk: one line" || fail "corrupt chunk: one line" "$(cat "$TMP/err")"
expect "missing dataset" 65 'small.h5: no dataset /exchange/nope$' h5slice "$S:/exchange/nope"
one_line "missing dataset: one line"
expect "missing group" 65 'no dataset /nope' h5slice "$S:/nope/data"
expect "group, not dataset" 65 '/exchange is a group, not a dataset' h5slice "$S:/exchange"
expect "string dataset" 65 'dataset /bad/string: type string\(vlen\) is not numeric' h5slice "$S:/bad/string"
one_line "string dataset: one line"
expect "fixed string dataset" 65 'string\(2\) is not numeric' h5slice "$S:/bad/fixed"
expect "compound dataset" 65 'compound is not numeric' h5slice "$S:/bad/compound"
expect "bool (enum) dataset" 65 'enum is not numeric' h5slice "$S:/bad/bool"
expect "1-D dataset" 65 'dataset /exchange/theta: is 1-D \(6\)' h5slice "$S:/exchange/theta"
expect "4-D dataset" 65 'is 4-D \(2x2x2x2\)' h5slice "$S:/bad/rank4"
expect "scalar dataset" 65 'is scalar' h5slice "$S:bad/scalar"
expect "missing filter" 65 'filter lzf#32000, which this HDF5 library cannot decode' h5slice "$S:/bad/lzf"
one_line "missing filter: one line"
expect "empty slices" 65 'slices along axis 1 would be empty \(0x5\)' h5slice --axis 1 "$S:/bad/empty"
expect "index outside the axis" 65 '--range 6: index outside axis 0 of length 6' h5slice --range 6 "$S"
expect "negative index outside" 65 'outside axis 1 of length 5' h5slice --axis 1 --range -6 "$S"
expect "white field missing" 65 'no dataset /exchange/nowhite' h5slice --flat-dark --white /exchange/nowhite "$S"
expect "white field of wrong shape" 65 'white field has shape 2x5x6; projections of 5x7 need' \
	h5slice --flat-dark --white /mismatch/white "$S"
one_line "white field of wrong shape: one line"
expect "dark field of another file missing" 66 'nofile.h5: No such file' \
	h5slice --flat-dark --dark "$TMP/nofile.h5:/dark" "$S"
expect "fields of another size" 65 'dark field has shape 2x5x7; projections of 4x5' \
	h5slice --flat-dark --white "$S:/types/u8" "$S:/types/u8"
expect "dark field not numeric" 65 'dataset /bad/string: type string' \
	h5slice --flat-dark --dark /bad/string "$S"

# --list
expect "--list" 0 '' h5slice --list "$S"
n=$(wc -l <"$TMP/out")
[ "$n" -eq 24 ] && pass "--list: 24 datasets" || fail "--list: 24 datasets" "got $n lines"
grep -qx "/types/f16${tab}3x4x5${tab}f16${tab}-${tab}-" "$TMP/out" &&
	pass "--list: f16 line" || fail "--list: f16 line" "$(grep f16 "$TMP/out")"
grep -qx "/exchange/data${tab}6x5x7${tab}f32${tab}2x3x4${tab}shuffle,deflate(4)" "$TMP/out" &&
	pass "--list: chunked compressed f32 line" || fail "--list: chunked compressed f32 line" "$(grep '^/exchange/data' "$TMP/out")"
grep -qx "/exchange/data_dark${tab}2x5x7${tab}u16${tab}1x5x7${tab}-" "$TMP/out" &&
	pass "--list: u16 line" || fail "--list: u16 line" "$(grep data_dark "$TMP/out")"
grep -qx "/bad/lzf${tab}3x4x5${tab}f32${tab}3x4x5${tab}lzf#32000(unavailable)" "$TMP/out" &&
	pass "--list: unavailable filter marked" || fail "--list: unavailable filter marked" "$(grep lzf "$TMP/out")"
grep -qx "/exchange/title${tab}scalar${tab}string(vlen)${tab}-${tab}-" "$TMP/out" &&
	pass "--list: string scalar" || fail "--list: string scalar" "$(grep title "$TMP/out")"
grep -qx "/types/i32be${tab}3x4x5${tab}i32be${tab}-${tab}-" "$TMP/out" &&
	pass "--list: big-endian i32" || fail "--list: big-endian i32" "$(grep i32 "$TMP/out")"
sort -c "$TMP/out" 2>/dev/null && pass "--list: in name order" || fail "--list: in name order" "not sorted"
expect "--list one dataset" 0 '' h5slice --list "$S:/types/img2d"
[ "$(cat "$TMP/out")" = "/types/img2d${tab}4x5${tab}f32${tab}2x2${tab}-" ] &&
	pass "--list one dataset: its line" || fail "--list one dataset: its line" "$(cat "$TMP/out")"
expect "--list missing dataset" 65 'no dataset /none' h5slice --list "$S:/none"
expect "--list missing file" 66 'No such file' h5slice --list "$TMP/missing.h5"
if [ -n "$SHARED" ] && [ -r "$SHARED/data/tooth.h5" ]; then
	expect "--list tooth.h5" 0 '' h5slice -q --list "$SHARED/data/tooth.h5"
	grep -qx "/exchange/data${tab}181x2x640${tab}f32${tab}-${tab}-" "$TMP/out" &&
		[ "$(wc -l <"$TMP/out")" -eq 7 ] && pass "--list tooth.h5: 7 datasets, data 181x2x640 f32" ||
		fail "--list tooth.h5: 7 datasets, data 181x2x640 f32" "$(cat "$TMP/out")"
else
	skip "--list tooth.h5" "SHARED is empty"
fi

# -o, determinism, a file name holding a colon
expect "-o writes a file" 0 '' h5slice -o "$TMP/a.tns" --flat-dark --minus-log --axis 1 "$S"
[ -s "$TMP/a.tns" ] && [ ! -s "$TMP/out" ] && pass "-o: file written, stdout empty" || fail "-o: file written, stdout empty" "no file"
h5slice --flat-dark --minus-log --axis 1 "$S" >"$TMP/b.tns"
h5slice --flat-dark --minus-log --axis 1 "$S" >"$TMP/c.tns"
same "same command, same bytes" "$TMP/b.tns" "$TMP/c.tns"
expect "-o on failure leaves nothing" 65 'no dataset' h5slice -o "$TMP/d.tns" "$S:/nope"
ls "$TMP" | grep -q '^d\.tns' && fail "-o on failure: no file left" "$(ls "$TMP")" || pass "-o on failure: no file left"
cp "$S" "$TMP/a:b.h5"
expect "file name with a colon" 0 '' h5slice -o "$TMP/e.tns" "$TMP/a:b.h5"
expect "file name with a colon and dataset" 0 '' h5slice -o "$TMP/f.tns" "$TMP/a:b.h5:/types/u8"
[ -s "$TMP/e.tns" ] && [ -s "$TMP/f.tns" ] && ! cmp -s "$TMP/e.tns" "$TMP/f.tns" &&
	pass "colon file name: both datasets read" || fail "colon file name: both datasets read" "outputs missing or equal"

# --extrema: every frame's minimum and maximum (NaN left out, "nan" for a
# frame of nothing else) in the header, as NumPy found them
# (make_h5_fixtures.py); mapped from the file where the slices lie there as
# floats (contiguous, chunks of one slice, after a user block), read
# otherwise (compressed, big-endian, chunks never written, other axes).
expect_usage "--list with --extrema" h5slice --list --extrema "$S"
R="$FIXTURES/h5/raw.h5"
extrema_is() {  # NAME STREAM MIN MAX
	tsinfo "$2" >"$TMP/info" 2>&1
	if grep -qxF "  extrema.min = $3" "$TMP/info" && grep -qxF "  extrema.max = $4" "$TMP/info"; then
		pass "$1"
	else
		fail "$1" "$(grep extrema "$TMP/info" | head -c 300), want $3 / $4"
	fi
}
while IFS="$tab" read -r name args emin emax; do
	[ "$args" = - ] && args=
	# shellcheck disable=SC2086
	if h5slice --extrema $args "$R:/$name" >"$TMP/x.tns" 2>"$TMP/err"; then
		extrema_is "--extrema $args of /$name" "$TMP/x.tns" "$emin" "$emax"
	else
		fail "--extrema $args of /$name" "$(head -c 200 "$TMP/err")"
	fi
done <"$FIXTURES/h5/raw_extrema.txt"
line=$(head -n 1 "$FIXTURES/h5/raw_extrema.txt")
h5slice --extrema "$FIXTURES/h5/raw_ub.h5:/contig" >"$TMP/x.tns" 2>"$TMP/err" &&
	extrema_is "--extrema after a user block" "$TMP/x.tns" "$(echo "$line" | cut -f3)" "$(echo "$line" | cut -f4)" ||
	fail "--extrema after a user block" "$(head -c 200 "$TMP/err")"
h5slice --extrema "$R:/contig" | tscut >"$TMP/cut.tns"
tsinfo "$TMP/cut.tns" | grep -q '^  extrema\.' && fail "tscut drops the extrema" "still there" ||
	pass "tscut drops the extrema"
h5slice --extrema --flat-dark --minus-log "$S" >"$TMP/fd.tns" 2>"$TMP/err" &&
	tsinfo "$TMP/fd.tns" | grep -q '^  extrema.min = [-0-9.e+ ]*$' &&
	pass "--extrema with --flat-dark --minus-log" || fail "--extrema with --flat-dark --minus-log" "$(head -c 200 "$TMP/err")"
h5slice --extrema --type keep "$S:/types/u16be" >"$TMP/u16.tns" 2>"$TMP/err" &&
	tsinfo "$TMP/u16.tns" | grep -q '^  extrema.max = [0-9 ]*$' &&
	pass "--extrema with --type keep (integers)" || fail "--extrema with --type keep" "$(head -c 200 "$TMP/err")"
h5slice --extrema --range 2:2 "$R:/contig" >"$TMP/none.tns" 2>"$TMP/err" &&
	! tsinfo "$TMP/none.tns" | grep -q '^  extrema\.' && pass "--extrema on no slices: no keys" ||
	fail "--extrema on no slices: no keys" "$(head -c 200 "$TMP/err")"

# the man page: lint clean, SYNOPSIS is the usage line
top=$(cd "$(dirname "$0")/../.." && pwd)
if command -v mandoc >/dev/null 2>&1; then
	if mandoc -Tlint -Wwarning "$top/man/h5slice.1" >"$TMP/lint" 2>&1; then pass "man page lint clean"
	else fail "man page lint clean" "$(head -c 300 "$TMP/lint")"; fi
	bs=$(printf '\b')
	syn=$(mandoc -Tascii -Owidth=1000 "$top/man/h5slice.1" | sed "s/.$bs//g" |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \n' '  ' | sed 's/^ *//;s/ *$//')
	[ "$syn" = "$usage" ] && pass "man SYNOPSIS equals the usage line" ||
		fail "man SYNOPSIS equals the usage line" "'$syn' vs '$usage'"
else
	skip "man page" "no mandoc"
fi
finish
