/* Stream metadata (ordered key/value pairs), headers and element types. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tstream.h"

const char *ts_strerror(ts_status st)
{
	switch (st) {
	case TS_OK: return "ok";
	case TS_END: return "end of stream";
	case TS_SEGMENT_END: return "end of segment";
	case TS_ERR_EMPTY: return "empty input";
	case TS_ERR_MAGIC: return "not a tensor stream";
	case TS_ERR_VERSION: return "unsupported stream version";
	case TS_ERR_TRUNCATED: return "truncated stream";
	case TS_ERR_CHECKSUM: return "checksum mismatch";
	case TS_ERR_DIMS: return "invalid type or dimensions";
	case TS_ERR_LIMIT: return "size exceeds limit";
	case TS_ERR_COUNT: return "frame count disagrees with end record";
	case TS_ERR_CORRUPT: return "corrupt record";
	case TS_ERR_INCOMPATIBLE: return "concatenated streams differ in type or shape";
	case TS_ERR_ZSTD: return "bad compressed frame";
	case TS_ERR_IO: return "I/O error";
	case TS_ERR_PIPE: return "output closed";
	case TS_ERR_NOMEM: return "out of memory";
	case TS_ERR_ARG: return "invalid argument";
	}
	return "unknown error";
}

int ts_exit_status(ts_status st)
{
	switch (st) {
	case TS_OK: case TS_END: case TS_SEGMENT_END: case TS_ERR_PIPE:
		return 0;
	case TS_ERR_IO: return 74;
	case TS_ERR_NOMEM: return 70;
	case TS_ERR_ARG: return 70;
	default: return 65;
	}
}

size_t ts_dtype_size(ts_dtype t)
{
	switch (t) {
	case TS_U8: return 1;
	case TS_U16: case TS_I16: case TS_F16: return 2;
	case TS_F32: return 4;
	}
	return 0;
}

const char *ts_dtype_name(ts_dtype t)
{
	switch (t) {
	case TS_U8: return "u8";
	case TS_U16: return "u16";
	case TS_I16: return "i16";
	case TS_F32: return "f32";
	case TS_F16: return "f16";
	}
	return "?";
}

int ts_dtype_parse(const char *s, ts_dtype *out)
{
	static const ts_dtype all[] = { TS_U8, TS_U16, TS_I16, TS_F32, TS_F16 };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(s, ts_dtype_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

static _Atomic uint64_t max_frame_set;

void ts_set_max_frame_bytes(uint64_t bytes)
{
	max_frame_set = bytes;
}

uint64_t ts_max_frame_bytes(void)
{
	uint64_t set = max_frame_set;
	if (set)
		return set;
	const char *e = getenv("TOMOGAN_MAX_FRAME_MB");
	if (e && *e) {
		char *end;
		unsigned long long mb = strtoull(e, &end, 10);
		if (*end == 0 && mb > 0 && mb < ((uint64_t)1 << 40))
			return (uint64_t)mb << 20;
	}
	return TS_MAX_FRAME_BYTES;
}

uint64_t ts_frame_elems(const ts_header *h)
{
	if (h->rank < 1 || h->rank > TS_MAX_RANK)
		return 0;
	uint64_t n = 1;
	for (int i = 0; i < h->rank; i++) {
		if (h->dims[i] == 0 || h->dims[i] > TS_MAX_DIM)
			return 0;
		/* each factor <= 2^24 and we stop past 2^40, so no overflow */
		n *= h->dims[i];
		if (n > ((uint64_t)1 << 40))
			return 0;
	}
	return n;
}

uint64_t ts_frame_bytes(const ts_header *h)
{
	return ts_frame_elems(h) * ts_dtype_size(h->dtype);
}

ts_status ts_header_check(const ts_header *h)
{
	if (ts_dtype_size(h->dtype) == 0 || h->rank < 1 || h->rank > TS_MAX_RANK)
		return TS_ERR_DIMS;
	for (int i = 0; i < TS_MAX_RANK; i++) {
		if (i < h->rank && h->dims[i] == 0)
			return TS_ERR_DIMS;
		if (i >= h->rank && h->dims[i] != 0)
			return TS_ERR_DIMS;
		if (h->dims[i] > TS_MAX_DIM)
			return TS_ERR_LIMIT;
	}
	uint64_t n = ts_frame_elems(h);
	if (n == 0 || n * ts_dtype_size(h->dtype) > ts_max_frame_bytes())
		return TS_ERR_LIMIT;
	return TS_OK;
}

void ts_header_shape(ts_header *h, ts_dtype t, int rank, const uint64_t *dims)
{
	h->dtype = t;
	h->rank = rank;
	for (int i = 0; i < TS_MAX_RANK; i++)
		h->dims[i] = (i < rank) ? dims[i] : 0;
}

ts_status ts_header_copy(ts_header *dst, const ts_header *src)
{
	*dst = *src;
	ts_meta_init(&dst->meta);
	return ts_meta_copy(&dst->meta, &src->meta);
}

void ts_header_free(ts_header *h)
{
	ts_meta_free(&h->meta);
}

void ts_header_describe(const ts_header *h, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "%s ", ts_dtype_name(h->dtype));
	for (int i = 0; i < h->rank && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%llu",
		                         i ? "x" : "", (unsigned long long)h->dims[i]);
}

/* ---- metadata ---- */

void ts_meta_init(ts_meta *m)
{
	m->n = m->cap = 0;
	m->kv = NULL;
}

void ts_meta_free(ts_meta *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->kv[i].key);
		free(m->kv[i].val);
	}
	free(m->kv);
	ts_meta_init(m);
}

int ts_meta_key_ok(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c <= ' ' || c >= 127 || c == '=')
			return 0;
	}
	return 1;
}

int ts_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		size_t k;
		uint32_t cp;
		if (c == 0 || c == '\n')
			return 0;
		if (c < 0x80) { i++; continue; }
		else if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; }
		else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; }
		else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; }
		else return 0;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (p[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + j] & 0x3F);
		}
		/* reject overlong forms, surrogates and values past U+10FFFF */
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

static ts_status meta_push(ts_meta *m, const char *key, const char *val)
{
	if (!ts_meta_key_ok(key) || !ts_utf8_valid(val, strlen(val)))
		return TS_ERR_ARG;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		ts_kv *kv = realloc(m->kv, cap * sizeof *kv);
		if (!kv)
			return TS_ERR_NOMEM;
		m->kv = kv;
		m->cap = cap;
	}
	char *k = strdup(key), *v = strdup(val);
	if (!k || !v) {
		free(k);
		free(v);
		return TS_ERR_NOMEM;
	}
	m->kv[m->n].key = k;
	m->kv[m->n].val = v;
	m->n++;
	return TS_OK;
}

ts_status ts_meta_copy(ts_meta *dst, const ts_meta *src)
{
	for (size_t i = 0; i < src->n; i++) {
		ts_status st = meta_push(dst, src->kv[i].key, src->kv[i].val);
		if (st)
			return st;
	}
	return TS_OK;
}

const char *ts_meta_get(const ts_meta *m, const char *key)
{
	for (size_t i = m->n; i-- > 0;)
		if (strcmp(m->kv[i].key, key) == 0)
			return m->kv[i].val;
	return NULL;
}

size_t ts_meta_del(ts_meta *m, const char *key)
{
	size_t j = 0, removed = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->kv[i].key, key) == 0) {
			free(m->kv[i].key);
			free(m->kv[i].val);
			removed++;
		} else {
			m->kv[j++] = m->kv[i];
		}
	}
	m->n = j;
	return removed;
}

ts_status ts_meta_set(ts_meta *m, const char *key, const char *val)
{
	if (!ts_meta_key_ok(key) || !ts_utf8_valid(val, strlen(val)))
		return TS_ERR_ARG;
	ts_meta_del(m, key);
	return meta_push(m, key, val);
}

ts_status ts_meta_setf(ts_meta *m, const char *key, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return TS_ERR_ARG;
	return ts_meta_set(m, key, buf);
}

ts_status ts_meta_add(ts_meta *m, const char *key, const char *val)
{
	return meta_push(m, key, val);
}

/* Characters that need no shell quoting. */
static int shell_safe(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		            "0123456789_@%+=:,./-", *s))
			return 0;
	return 1;
}

ts_status ts_meta_add_history(ts_meta *m, int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 3;
	char *line = malloc(len), *p = line;
	if (!line)
		return TS_ERR_NOMEM;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i)
			*p++ = ' ';
		if (i == 0) {  /* the program's name without its directory */
			const char *slash = strrchr(a, '/');
			if (slash)
				a = slash + 1;
		}
		int q = !shell_safe(a);
		if (q)
			*p++ = '\'';
		for (; *a; a++) {
			unsigned char c = (unsigned char)*a;
			if (c == '\'' && q) {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				/* control characters cannot go into a value */
				*p++ = (c < ' ' || c == 127) ? '?' : (char)c;
			}
		}
		if (q)
			*p++ = '\'';
	}
	*p = 0;
	/* argv need not be UTF-8: replace any byte of an invalid sequence */
	if (!ts_utf8_valid(line, strlen(line)))
		for (p = line; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	ts_status st = meta_push(m, "history", line);
	free(line);
	return st;
}

ts_status ts_meta_set_range(ts_meta *m, double lo, double hi)
{
	return ts_meta_setf(m, "range", "%.9g %.9g", lo, hi);
}

int ts_meta_get_range(const ts_meta *m, double *lo, double *hi)
{
	const char *v = ts_meta_get(m, "range");
	if (!v)
		return -1;
	char *end;
	double a = strtod(v, &end);
	if (end == v)
		return -1;
	const char *v2 = end;
	double b = strtod(v2, &end);
	if (end == v2 || !isfinite(a) || !isfinite(b) || !(a < b))
		return -1;
	*lo = a;
	*hi = b;
	return 0;
}

/* ---- element conversion ---- */

float ts_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
	float f;
	if (e == 0) {
		f = ldexpf((float)m, -24);
		return sign ? -f : f;
	}
	uint32_t bits;
	if (e == 31)
		bits = sign | 0x7F800000u | (m << 13);
	else
		bits = sign | ((e - 15 + 127) << 23) | (m << 13);
	memcpy(&f, &bits, 4);
	return f;
}

uint16_t ts_f32_to_f16(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	uint32_t sign = (x >> 16) & 0x8000;
	uint32_t ax = x & 0x7FFFFFFF;
	if (ax >= 0x7F800000)  /* inf or NaN (NaN stays quiet NaN) */
		return (uint16_t)(sign | 0x7C00 | (ax > 0x7F800000 ? 0x200 : 0));
	if (ax >= 0x477FF000)  /* rounds to >= 65520: overflow to infinity */
		return (uint16_t)(sign | 0x7C00);
	if (ax < 0x38800000) { /* below 2^-14: a half subnormal, unit 2^-24 */
		float a;
		memcpy(&a, &ax, 4);
		uint32_t mant = (uint32_t)nearbyintf(a * 16777216.0f);
		return (uint16_t)(sign | mant);
	}
	uint32_t e = (ax >> 23) - 127 + 15, mant = ax & 0x7FFFFF;
	uint32_t h = (e << 10) | (mant >> 13);
	uint32_t rem = mant & 0x1FFF;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++;  /* a carry into the exponent is the right result */
	return (uint16_t)(sign | h);
}

void ts_convert_to_f32(ts_dtype t, const void *src, float *dst, size_t n)
{
	switch (t) {
	case TS_U8: { const uint8_t *s = src; for (size_t i = 0; i < n; i++) dst[i] = s[i]; break; }
	case TS_U16: { const uint16_t *s = src; for (size_t i = 0; i < n; i++) dst[i] = s[i]; break; }
	case TS_I16: { const int16_t *s = src; for (size_t i = 0; i < n; i++) dst[i] = s[i]; break; }
	case TS_F16: { const uint16_t *s = src; for (size_t i = 0; i < n; i++) dst[i] = ts_f16_to_f32(s[i]); break; }
	case TS_F32: if (dst != src) memmove(dst, src, n * 4); break;
	}
}

static inline double round_clamp(float v, double lo, double hi)
{
	if (isnan(v))
		return 0;
	double r = round((double)v);  /* half away from zero */
	return r < lo ? lo : r > hi ? hi : r;
}

void ts_convert_from_f32(ts_dtype t, const float *src, void *dst, size_t n)
{
	switch (t) {
	case TS_U8: { uint8_t *d = dst; for (size_t i = 0; i < n; i++) d[i] = (uint8_t)round_clamp(src[i], 0, 255); break; }
	case TS_U16: { uint16_t *d = dst; for (size_t i = 0; i < n; i++) d[i] = (uint16_t)round_clamp(src[i], 0, 65535); break; }
	case TS_I16: { int16_t *d = dst; for (size_t i = 0; i < n; i++) d[i] = (int16_t)round_clamp(src[i], -32768, 32767); break; }
	case TS_F16: { uint16_t *d = dst; for (size_t i = 0; i < n; i++) d[i] = ts_f32_to_f16(src[i]); break; }
	case TS_F32: if (dst != src) memmove(dst, src, n * 4); break;
	}
}
