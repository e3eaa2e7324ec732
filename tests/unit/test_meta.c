/* Unit tests of the tensor stream's helpers that need no stream: metadata
 * (keys, UTF-8 values, repeated keys, history quoting, the range
 * convention), element types and header checks, float16 conversion
 * (exhaustive over all 65536 halves, and against an independent
 * nearest-even reference for floats) and float32 to integer conversion. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tstream.h"

static void test_keys_and_utf8(void)
{
	char k255[256], k256[257];
	memset(k255, 'k', 255);
	k255[255] = 0;
	memset(k256, 'k', 256);
	k256[256] = 0;
	check(ts_meta_key_ok("range") && ts_meta_key_ok("range.meaning") &&
	      ts_meta_key_ok("a") && ts_meta_key_ok("~!@#$%^&*()_+") && ts_meta_key_ok(k255),
	      "meta keys: printable ASCII of 1..255 bytes accepted");
	check(!ts_meta_key_ok("") && !ts_meta_key_ok("a b") && !ts_meta_key_ok("a=b") &&
	      !ts_meta_key_ok("tab\there") && !ts_meta_key_ok("\x7f") &&
	      !ts_meta_key_ok("\xc2\xb5m") && !ts_meta_key_ok(k256),
	      "meta keys: empty, space, '=', control, DEL, non-ASCII and 256 bytes refused");

	static const struct { const char *s; int ok; const char *what; } u[] = {
		{ "", 1, "empty" },
		{ "plain ASCII with spaces\tand a tab", 1, "ASCII" },
		{ "0.7 \xc2\xb5m", 1, "2-byte U+00B5" },
		{ "\xe6\x96\xad\xe5\xb1\x82", 1, "3-byte CJK" },
		{ "\xf0\x9f\xa9\xbb", 1, "4-byte U+1FA7B" },
		{ "\xf4\x8f\xbf\xbf", 1, "U+10FFFF" },
		{ "\xef\xbf\xbf", 1, "U+FFFF" },
		{ "line\nbreak", 0, "newline" },
		{ "\xc0\x80", 0, "overlong NUL" },
		{ "\xc1\xbf", 0, "overlong 2-byte" },
		{ "\xe0\x9f\xbf", 0, "overlong 3-byte" },
		{ "\xf0\x8f\xbf\xbf", 0, "overlong 4-byte" },
		{ "\xed\xa0\x80", 0, "surrogate U+D800" },
		{ "\xed\xbf\xbf", 0, "surrogate U+DFFF" },
		{ "\xf4\x90\x80\x80", 0, "U+110000" },
		{ "\xf8\x88\x80\x80\x80", 0, "5-byte form" },
		{ "\x80", 0, "lone continuation" },
		{ "ab\xc2", 0, "cut 2-byte sequence" },
		{ "\xe6\x96", 0, "cut 3-byte sequence" },
		{ "\xe6\x41\xad", 0, "bad continuation" },
		{ "\xff", 0, "byte FF" },
	};
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
		check(ts_utf8_valid(u[i].s, strlen(u[i].s)) == u[i].ok, "utf8: %s is %s",
		      u[i].what, u[i].ok ? "valid" : "refused");
	check(!ts_utf8_valid("a\0b", 3), "utf8: embedded NUL refused");
	check(ts_utf8_valid("\xc2\xb5", 1) == 0, "utf8: length cuts a sequence -> refused");
}

static void test_meta_ops(void)
{
	ts_meta m;
	ts_meta_init(&m);
	check(ts_meta_get(&m, "x") == NULL && m.n == 0, "meta: empty list has no keys");
	check(ts_meta_add(&m, "history", "a") == TS_OK && ts_meta_add(&m, "history", "b 'c'") == TS_OK &&
	      ts_meta_add(&m, "source", "scan.h5") == TS_OK && ts_meta_add(&m, "history", "c") == TS_OK,
	      "meta: add four entries, key repeated");
	check(m.n == 4 && strcmp(ts_meta_get(&m, "history"), "c") == 0,
	      "meta: get returns the last of a repeated key");
	check(strcmp(m.kv[0].val, "a") == 0 && strcmp(m.kv[1].val, "b 'c'") == 0 &&
	      strcmp(m.kv[2].key, "source") == 0 && strcmp(m.kv[3].val, "c") == 0,
	      "meta: insertion order kept");
	check(ts_meta_set(&m, "source", "other.h5") == TS_OK && m.n == 4 &&
	      strcmp(m.kv[3].key, "source") == 0 && strcmp(ts_meta_get(&m, "source"), "other.h5") == 0,
	      "meta: set replaces and moves the entry to the end");
	check(ts_meta_set(&m, "spacing", "0.7 0.7") == TS_OK && m.n == 5, "meta: set of a new key appends");
	check(ts_meta_add(&m, "bad key", "v") == TS_ERR_ARG && ts_meta_add(&m, "k", "a\nb") == TS_ERR_ARG &&
	      ts_meta_set(&m, "k=", "v") == TS_ERR_ARG && ts_meta_set(&m, "k", "\xff") == TS_ERR_ARG &&
	      m.n == 5, "meta: invalid key or value refused with TS_ERR_ARG, list unchanged");
	check(ts_meta_setf(&m, "n", "%d frames of %s", 3, "f32") == TS_OK &&
	      strcmp(ts_meta_get(&m, "n"), "3 frames of f32") == 0, "meta: setf formats");
	char big[1100];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	check(ts_meta_setf(&m, "n", "%s", big) == TS_ERR_ARG && strcmp(ts_meta_get(&m, "n"), "3 frames of f32") == 0,
	      "meta: setf longer than its buffer refused, old value kept");
	ts_meta c;
	ts_meta_init(&c);
	check(ts_meta_copy(&c, &m) == TS_OK && c.n == m.n, "meta: copy");
	int same = 1;
	for (size_t i = 0; i < c.n; i++)
		same &= strcmp(c.kv[i].key, m.kv[i].key) == 0 && strcmp(c.kv[i].val, m.kv[i].val) == 0 &&
		        c.kv[i].key != m.kv[i].key;
	check(same, "meta: copy is deep and in order");
	check(ts_meta_del(&m, "history") == 3 && m.n == 3 && ts_meta_get(&m, "history") == NULL &&
	      ts_meta_get(&c, "history") != NULL, "meta: del removes every entry of a key (copy untouched)");
	check(ts_meta_del(&m, "absent") == 0, "meta: del of an absent key removes nothing");
	ts_meta_free(&m);
	ts_meta_free(&c);
	check(m.n == 0 && m.kv == NULL, "meta: free leaves an empty list");
}

static void test_history(void)
{
	ts_meta m;
	ts_meta_init(&m);
	char *argv1[] = { "/usr/local/bin/tsgen", "-n", "3", "--out=a.tns", "a b", "it's", "", "x\ny",
	                  "$HOME", "0.5,1e-3", "\xc2\xb5m" };
	check(ts_meta_add_history(&m, 11, argv1) == TS_OK, "history: add");
	const char *want1 = "tsgen -n 3 --out=a.tns 'a b' 'it'\\''s' '' 'x?y' '$HOME' 0.5,1e-3 '\xc2\xb5m'";
	const char *got1 = ts_meta_get(&m, "history");
	check(got1 && strcmp(got1, want1) == 0, "history: directory dropped, shell quoting, control -> '?' (got [%s])",
	      got1 ? got1 : "(null)");
	char *argv2[] = { "prog", "\xff\xfe", "\xc2\xb5" };
	check(ts_meta_add_history(&m, 3, argv2) == TS_OK && m.n == 2, "history: second program appends");
	const char *got2 = m.kv[1].val;
	check(strcmp(got2, "prog '?" "?' '?" "?'") == 0 && ts_utf8_valid(got2, strlen(got2)),
	      "history: a command line that is not UTF-8 gets '?' for its high bytes (got [%s])", got2);
	check(strcmp(m.kv[0].val, want1) == 0, "history: first line kept in place");
	char *argv3[] = { "dir/" };
	check(ts_meta_add_history(&m, 1, argv3) == TS_OK && strcmp(m.kv[2].val, "''") == 0,
	      "history: empty program name quoted");
	ts_meta_free(&m);
}

static void test_range(void)
{
	ts_meta m;
	ts_meta_init(&m);
	double lo = 7, hi = 7;
	check(ts_meta_get_range(&m, &lo, &hi) == -1 && lo == 7 && hi == 7, "range: absent -> -1, outputs untouched");
	check(ts_meta_set_range(&m, -1024, 3071) == TS_OK && strcmp(ts_meta_get(&m, "range"), "-1024 3071") == 0,
	      "range: set writes \"lo hi\"");
	check(ts_meta_get_range(&m, &lo, &hi) == 0 && lo == -1024 && hi == 3071, "range: get parses it back");
	check(ts_meta_set_range(&m, 0.1, 1.0 / 3) == TS_OK && strcmp(ts_meta_get(&m, "range"), "0.1 0.333333333") == 0,
	      "range: %%.9g formatting (got %s)", ts_meta_get(&m, "range"));
	check(ts_meta_get_range(&m, &lo, &hi) == 0 && lo == 0.1 && fabs(hi - 1.0 / 3) < 1e-9,
	      "range: fractional values within 1e-9");
	ts_meta_set_range(&m, 0, 1);
	ts_meta_set_range(&m, -1, 1);
	check(m.n == 1, "range: set twice keeps one entry");
	check(ts_meta_set(&m, "range.meaning", "HU + 1024") == TS_OK && ts_meta_get_range(&m, &lo, &hi) == 0 &&
	      lo == -1 && hi == 1, "range: range.meaning beside it");
	static const char *bad[] = { "5 5", "2 1", "abc", "1", "", "nan 1", "0 inf", "-inf 0", "1 x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ts_meta_set(&m, "range", bad[i]);
		lo = hi = 42;
		check(ts_meta_get_range(&m, &lo, &hi) == -1 && lo == 42 && hi == 42,
		      "range: \"%s\" refused", bad[i]);
	}
	ts_meta_set(&m, "range", " 0  255 ");
	check(ts_meta_get_range(&m, &lo, &hi) == 0 && lo == 0 && hi == 255, "range: extra spaces accepted");
	ts_meta_free(&m);
}

static void test_dtypes_and_headers(void)
{
	static const struct { ts_dtype t; size_t size; const char *name; } d[] = {
		{ TS_U8, 1, "u8" }, { TS_U16, 2, "u16" }, { TS_I16, 2, "i16" }, { TS_F32, 4, "f32" }, { TS_F16, 2, "f16" },
	};
	for (size_t i = 0; i < 5; i++) {
		ts_dtype p = 0;
		check(ts_dtype_size(d[i].t) == d[i].size && strcmp(ts_dtype_name(d[i].t), d[i].name) == 0 &&
		      ts_dtype_parse(d[i].name, &p) == 0 && p == d[i].t && (int)d[i].t == (int)i + 1,
		      "dtype %s: code %d, size %zu, name parses back", d[i].name, (int)i + 1, d[i].size);
	}
	ts_dtype p = TS_U8;
	check(ts_dtype_size((ts_dtype)0) == 0 && ts_dtype_size((ts_dtype)6) == 0 && ts_dtype_parse("f64", &p) == -1 &&
	      ts_dtype_parse("F32", &p) == -1 && p == TS_U8, "dtype: unknown codes and names refused");

	ts_header h;
	memset(&h, 0, sizeof h);
	uint64_t dims[4] = { 3, 512, 512, 9 };
	ts_header_shape(&h, TS_F32, 3, dims);
	check(h.dims[3] == 0 && ts_frame_elems(&h) == 3 * 512 * 512 && ts_frame_bytes(&h) == 12 * 512 * 512 &&
	      ts_header_check(&h) == TS_OK, "header: f32 3x512x512 is 3 MiB, dims past rank zeroed");
	char desc[64];
	ts_header_describe(&h, desc, sizeof desc);
	check(strcmp(desc, "f32 3x512x512") == 0, "header: describe (got %s)", desc);
	h.dims[3] = 1;
	check(ts_header_check(&h) == TS_ERR_DIMS, "header: non-zero dim past rank -> TS_ERR_DIMS");
	h.dims[3] = 0;
	h.dims[1] = 0;
	check(ts_header_check(&h) == TS_ERR_DIMS && ts_frame_bytes(&h) == 0, "header: zero dim -> TS_ERR_DIMS");
	h.dims[1] = 512;
	h.rank = 0;
	check(ts_header_check(&h) == TS_ERR_DIMS, "header: rank 0 -> TS_ERR_DIMS");
	h.rank = 5;
	check(ts_header_check(&h) == TS_ERR_DIMS && ts_frame_elems(&h) == 0, "header: rank 5 -> TS_ERR_DIMS");
	h.rank = 3;
	h.dtype = (ts_dtype)9;
	check(ts_header_check(&h) == TS_ERR_DIMS, "header: unknown type -> TS_ERR_DIMS");
	uint64_t big[2] = { (uint64_t)1 << 40, (uint64_t)1 << 40 };
	ts_header_shape(&h, TS_U8, 2, big);
	check(ts_header_check(&h) == TS_ERR_LIMIT && ts_frame_elems(&h) == 0, "header: 2^40 x 2^40 -> TS_ERR_LIMIT");
	uint64_t maxd[1] = { TS_MAX_DIM };
	ts_header_shape(&h, TS_F32, 1, maxd);
	check(ts_header_check(&h) == TS_OK, "header: one dim of TS_MAX_DIM (2^24) is allowed");
	maxd[0]++;
	ts_header_shape(&h, TS_U8, 1, maxd);
	check(ts_header_check(&h) == TS_ERR_LIMIT, "header: 2^24+1 -> TS_ERR_LIMIT");
	/* 2^24 * 2^16 * 2^24 wraps a 64-bit product to 0 if unchecked */
	uint64_t wrap[4] = { (uint64_t)1 << 24, (uint64_t)1 << 16, (uint64_t)1 << 24, 1 };
	ts_header_shape(&h, TS_U8, 4, wrap);
	check(ts_header_check(&h) == TS_ERR_LIMIT && ts_frame_bytes(&h) == 0, "header: product 2^64 -> TS_ERR_LIMIT");
	uint64_t gib[3] = { 1024, 1024, 1024 };
	ts_header_shape(&h, TS_F32, 3, gib);
	check(ts_header_check(&h) == TS_OK, "header: 4 GiB frame is exactly the default limit");
	ts_header_shape(&h, TS_F32, 3, (uint64_t[]){ 1024, 1024, 1025 });
	check(ts_header_check(&h) == TS_ERR_LIMIT, "header: 4 GiB + 4 MiB over the default limit");

	unsetenv("TOMOGAN_MAX_FRAME_MB");
	check(ts_max_frame_bytes() == TS_MAX_FRAME_BYTES, "limit: default is TS_MAX_FRAME_BYTES (4 GiB)");
	setenv("TOMOGAN_MAX_FRAME_MB", "1", 1);
	ts_header_shape(&h, TS_F32, 2, (uint64_t[]){ 512, 512 });
	int one = ts_max_frame_bytes() == (1u << 20) && ts_header_check(&h) == TS_OK;
	ts_header_shape(&h, TS_F32, 2, (uint64_t[]){ 512, 513 });
	check(one && ts_header_check(&h) == TS_ERR_LIMIT, "limit: TOMOGAN_MAX_FRAME_MB=1 allows 1 MiB, not more");
	setenv("TOMOGAN_MAX_FRAME_MB", "8192", 1);
	check(ts_max_frame_bytes() == (uint64_t)8 << 30, "limit: TOMOGAN_MAX_FRAME_MB raises the limit");
	static const char *ignored[] = { "0", "-1", "12x", "", "99999999999999" };
	int ign = 1;
	for (size_t i = 0; i < 5; i++) {
		setenv("TOMOGAN_MAX_FRAME_MB", ignored[i], 1);
		ign &= ts_max_frame_bytes() == TS_MAX_FRAME_BYTES;
	}
	check(ign, "limit: unusable TOMOGAN_MAX_FRAME_MB values (0, -1, 12x, empty, >= 2^40) are ignored");
	unsetenv("TOMOGAN_MAX_FRAME_MB");

	ts_header a, b;
	memset(&a, 0, sizeof a);
	ts_header_shape(&a, TS_U16, 2, (uint64_t[]){ 4, 5 });
	ts_meta_init(&a.meta);
	ts_meta_set(&a.meta, "source", "x.png");
	check(ts_header_copy(&b, &a) == TS_OK && b.dtype == TS_U16 && b.rank == 2 && b.dims[1] == 5 &&
	      strcmp(ts_meta_get(&b.meta, "source"), "x.png") == 0 && b.meta.kv != a.meta.kv,
	      "header: copy is deep");
	ts_header_free(&a);
	ts_header_free(&b);

	int distinct = 1;
	for (int s = TS_OK; s <= TS_ERR_ARG; s++)
		for (int t = s + 1; t <= TS_ERR_ARG; t++)
			distinct &= strcmp(ts_strerror((ts_status)s), ts_strerror((ts_status)t)) != 0;
	check(distinct, "status: every ts_status has its own message");
	check(ts_exit_status(TS_OK) == 0 && ts_exit_status(TS_END) == 0 && ts_exit_status(TS_ERR_PIPE) == 0 &&
	      ts_exit_status(TS_ERR_CHECKSUM) == 65 && ts_exit_status(TS_ERR_TRUNCATED) == 65 &&
	      ts_exit_status(TS_ERR_MAGIC) == 65 && ts_exit_status(TS_ERR_IO) == 74 &&
	      ts_exit_status(TS_ERR_NOMEM) == 70, "status: exit statuses 0/65/70/74");
}

/* ---- float16 ---- */

static double half_value(uint16_t h)
{
	int e = (h >> 10) & 31, m = h & 0x3FF;
	double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
	return (h & 0x8000) ? -v : v;
}

/* Nearest half to |x| by binary search over the ordered positive halves,
 * ties to the even code; >= 65520 overflows to infinity. */
static uint16_t ref_f32_to_f16(float x)
{
	uint16_t sign = signbit(x) ? 0x8000 : 0;
	double a = fabs((double)x);
	if (isnan(x))
		return 0x7E00;
	if (a >= 65520.0)
		return sign | 0x7C00;
	unsigned lo = 0, hi = 0x7BFF;
	while (lo < hi) {  /* largest code with value <= a */
		unsigned mid = (lo + hi + 1) / 2;
		if (half_value((uint16_t)mid) <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (lo == 0x7BFF)
		return sign | (a - 65504.0 < 65536.0 - a ? 0x7BFF : 0x7C00);
	double d0 = a - half_value((uint16_t)lo), d1 = half_value((uint16_t)(lo + 1)) - a;
	unsigned r = d0 < d1 ? lo : d1 < d0 ? lo + 1 : (lo & 1 ? lo + 1 : lo);
	return (uint16_t)(sign | r);
}

static void test_f16(void)
{
	int bad_exact = 0, bad_back = 0, bad_nan = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		float f = ts_f16_to_f32((uint16_t)h);
		uint16_t back = ts_f32_to_f16(f);
		int e = (h >> 10) & 31, m = h & 0x3FF;
		if (e == 31 && m) {
			if (!isnan(f) || (back & 0x7C00) != 0x7C00 || !(back & 0x3FF) || (back & 0x8000) != (h & 0x8000))
				bad_nan++;
			continue;
		}
		double want = e == 31 ? ((h & 0x8000) ? -INFINITY : INFINITY) : half_value((uint16_t)h);
		if ((double)f != want || !signbit(f) != !(h & 0x8000))
			bad_exact++;
		if (back != h)
			bad_back++;
	}
	check(bad_exact == 0, "f16: all 63488 non-NaN halves convert to f32 exactly (%d wrong)", bad_exact);
	check(bad_back == 0, "f16: all non-NaN halves survive f16 -> f32 -> f16 bit for bit, -0 and inf included (%d wrong)",
	      bad_back);
	check(bad_nan == 0, "f16: all 2046 NaN halves stay NaN with their sign (%d wrong)", bad_nan);

	static const struct { float f; uint16_t h; const char *what; } c[] = {
		{ 1.0f, 0x3C00, "1" },
		{ 1.0f + 0x1p-11f, 0x3C00, "1 + half ulp ties down to even" },
		{ 1.0f + 3 * 0x1p-11f, 0x3C02, "1 + 3 half ulp ties up to even" },
		{ 1.0f + 0x1p-11f + 0x1p-20f, 0x3C01, "just above a tie rounds up" },
		{ 1.0f + 0x1p-11f - 0x1p-20f, 0x3C00, "just below a tie rounds down" },
		{ 2.0f - 0x1p-12f, 0x4000, "carry into the exponent" },
		{ 65504.0f, 0x7BFF, "largest half" },
		{ 65519.99f, 0x7BFF, "just below the overflow tie" },
		{ 65520.0f, 0x7C00, "overflow tie rounds to infinity" },
		{ 1e6f, 0x7C00, "1e6 overflows to +inf" },
		{ -1e6f, 0xFC00, "-1e6 overflows to -inf" },
		{ FLT_MAX, 0x7C00, "FLT_MAX to inf" },
		{ INFINITY, 0x7C00, "+inf" },
		{ -INFINITY, 0xFC00, "-inf" },
		{ 0x1p-14f, 0x0400, "smallest normal" },
		{ 0x1p-24f, 0x0001, "smallest subnormal" },
		{ 0x1p-25f, 0x0000, "half the smallest subnormal ties to 0" },
		{ 0x1p-25f * 1.0001f, 0x0001, "just above that rounds up" },
		{ 3 * 0x1p-25f, 0x0002, "1.5 subnormal units tie to 2" },
		{ 1023.5f * 0x1p-24f, 0x0400, "subnormal rounding up into the normals" },
		{ 1e-10f, 0x0000, "1e-10 underflows to +0" },
		{ -1e-10f, 0x8000, "-1e-10 underflows to -0" },
		{ -0.0f, 0x8000, "-0" },
		{ -2.5f, 0xC100, "-2.5" },
		{ 0.1f, 0x2E66, "0.1" },
		{ FLT_MIN, 0x0000, "FLT_MIN" },
		{ 0x1p-149f, 0x0000, "smallest f32 subnormal" },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		uint16_t got = ts_f32_to_f16(c[i].f);
		check(got == c[i].h, "f16: %s: %.9g -> 0x%04X (got 0x%04X)", c[i].what, (double)c[i].f, c[i].h, got);
	}
	uint16_t nh = ts_f32_to_f16(NAN), nn = ts_f32_to_f16(-NAN);
	check((nh & 0x7C00) == 0x7C00 && (nh & 0x3FF) && (nn & 0x7C00) == 0x7C00 && (nn & 0x3FF) && (nn & 0x8000),
	      "f16: NaN -> NaN (0x%04X, -NaN 0x%04X)", nh, nn);

	/* every 257th positive float pattern (~8.3 million) and a thinner
	 * sweep of negatives against the reference */
	long bad = 0, n = 0;
	uint32_t first_bad = 0;
	for (uint64_t bits = 0; bits < 0x7F800000u; bits += 257) {
		float f;
		uint32_t b = (uint32_t)bits;
		memcpy(&f, &b, 4);
		n++;
		if (ts_f32_to_f16(f) != ref_f32_to_f16(f) && bad++ == 0)
			first_bad = b;
	}
	for (uint64_t bits = 0x80000000u; bits < 0xFF800000u; bits += 65537) {
		float f;
		uint32_t b = (uint32_t)bits;
		memcpy(&f, &b, 4);
		n++;
		if (ts_f32_to_f16(f) != ref_f32_to_f16(f) && bad++ == 0)
			first_bad = b;
	}
	check(bad == 0, "f16: %ld floats agree with a nearest-even reference (%ld differ, first 0x%08X)", n, bad,
	      first_bad);
	/* every tie between neighbouring halves */
	long badtie = 0;
	for (uint32_t h = 0; h < 0x7BFF; h++) {
		float mid = (float)((half_value((uint16_t)h) + half_value((uint16_t)(h + 1))) / 2);
		uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
		if ((double)mid * 2 != half_value((uint16_t)h) + half_value((uint16_t)(h + 1)) ||
		    ts_f32_to_f16(mid) != want || ts_f32_to_f16(-mid) != (want | 0x8000))
			badtie++;
	}
	check(badtie == 0, "f16: all 31743 exact ties between neighbours round to even, both signs (%ld wrong)",
	      badtie);
}

static void test_convert(void)
{
	static const float in[] = { -1.0f, -0.5f, -0.49f, 0.0f, 0.49f, 0.5f, 1.5f, 2.5f, 254.5f, 255.49f, 255.5f,
	                            256.0f, 1e30f, NAN, INFINITY, -INFINITY, -32767.5f, -32768.6f, 32766.5f,
	                            32767.5f, 65534.5f, 65535.4f, 70000.0f, -2.5f };
	enum { N = sizeof in / sizeof in[0] };
	static const uint8_t u8w[N] = { 0, 0, 0, 0, 0, 1, 2, 3, 255, 255, 255, 255, 255, 0, 255, 0, 0, 0, 255, 255,
	                                255, 255, 255, 0 };
	static const uint16_t u16w[N] = { 0, 0, 0, 0, 0, 1, 2, 3, 255, 255, 256, 256, 65535, 0, 65535, 0, 0, 0,
	                                  32767, 32768, 65535, 65535, 65535, 0 };
	static const int16_t i16w[N] = { -1, -1, 0, 0, 0, 1, 2, 3, 255, 255, 256, 256, 32767, 0, 32767, -32768,
	                                 -32768, -32768, 32767, 32767, 32767, 32767, 32767, -3 };
	uint8_t u8[N];
	uint16_t u16[N];
	int16_t i16[N];
	ts_convert_from_f32(TS_U8, in, u8, N);
	ts_convert_from_f32(TS_U16, in, u16, N);
	ts_convert_from_f32(TS_I16, in, i16, N);
	int bu8 = 0, bu16 = 0, bi16 = 0;
	for (int i = 0; i < N; i++) {
		if (u8[i] != u8w[i]) { bu8++; printf("# u8 %g -> %u, wanted %u\n", (double)in[i], u8[i], u8w[i]); }
		if (u16[i] != u16w[i]) { bu16++; printf("# u16 %g -> %u, wanted %u\n", (double)in[i], u16[i], u16w[i]); }
		if (i16[i] != i16w[i]) { bi16++; printf("# i16 %g -> %d, wanted %d\n", (double)in[i], i16[i], i16w[i]); }
	}
	check(bu8 == 0, "convert f32 -> u8: half away from zero, clamp to 0..255, NaN -> 0 (%d wrong)", bu8);
	check(bu16 == 0, "convert f32 -> u16: half away from zero, clamp to 0..65535, NaN -> 0 (%d wrong)", bu16);
	check(bi16 == 0, "convert f32 -> i16: half away from zero, clamp to -32768..32767, NaN -> 0 (%d wrong)", bi16);

	/* integers: every value through f32 and back */
	static uint16_t all16[65536], back16[65536];
	static float f[65536];
	for (int i = 0; i < 65536; i++)
		all16[i] = (uint16_t)i;
	int ok = 1;
	ts_convert_to_f32(TS_U16, all16, f, 65536);
	for (int i = 0; i < 65536; i++)
		ok &= f[i] == (float)i;
	ts_convert_from_f32(TS_U16, f, back16, 65536);
	check(ok && memcmp(all16, back16, sizeof all16) == 0, "convert u16: all 65536 values exact both ways");
	ok = 1;
	ts_convert_to_f32(TS_I16, all16, f, 65536);
	for (int i = 0; i < 65536; i++)
		ok &= f[i] == (float)(int16_t)all16[i];
	ts_convert_from_f32(TS_I16, f, back16, 65536);
	check(ok && memcmp(all16, back16, sizeof all16) == 0, "convert i16: all 65536 values exact both ways");
	uint8_t all8[256], back8[256];
	for (int i = 0; i < 256; i++)
		all8[i] = (uint8_t)i;
	ok = 1;
	ts_convert_to_f32(TS_U8, all8, f, 256);
	for (int i = 0; i < 256; i++)
		ok &= f[i] == (float)i;
	ts_convert_from_f32(TS_U8, f, back8, 256);
	check(ok && memcmp(all8, back8, 256) == 0, "convert u8: all 256 values exact both ways");
	ts_convert_to_f32(TS_F16, all16, f, 65536);
	ok = 1;
	for (int i = 0; i < 65536; i++) {
		float one = ts_f16_to_f32((uint16_t)i);
		ok &= (isnan(one) && isnan(f[i])) || memcmp(&one, &f[i], 4) == 0;
	}
	ts_convert_from_f32(TS_F16, f, back16, 65536);
	for (int i = 0; i < 65536; i++)
		ok &= ((i & 0x7C00) == 0x7C00 && (i & 0x3FF)) ? (back16[i] & 0x7C00) == 0x7C00 && (back16[i] & 0x3FF)
		                                            : back16[i] == i;
	check(ok, "convert f16: array conversion matches the scalar one, round trip exact");
	float g[4] = { 1.5f, -0.0f, NAN, 3e38f }, h[4];
	ts_convert_to_f32(TS_F32, g, h, 4);
	int same = memcmp(g, h, sizeof g) == 0;
	ts_convert_from_f32(TS_F32, g, h, 4);
	ts_convert_from_f32(TS_F32, g, g, 4);  /* in place */
	check(same && memcmp(g, h, sizeof g) == 0 && g[0] == 1.5f && isnan(g[2]),
	      "convert f32: copied bit for bit, in place allowed");
}

int main(void)
{
	test_keys_and_utf8();
	test_meta_ops();
	test_history();
	test_range();
	test_dtypes_and_headers();
	test_f16();
	test_convert();
	return check_finish();
}
