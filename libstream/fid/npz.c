/* npz.c: .npy/.npz reading and numpy.savez-identical writing (see npz.h). */
#include "fid/npz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
static ts_status fail(char *err, ts_status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, TG_NPZ_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return st;
}

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* ---- CRC-32 ---- */

uint32_t tg_crc32(uint32_t crc, const void *buf, size_t n)
{
	static uint32_t table[256];
	static int ready;
	if (!ready) {   /* idempotent: a race fills the same values */
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	const unsigned char *p = buf;
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* ---- inflate (RFC 1951) ---- */

typedef struct {
	const unsigned char *in;
	size_t in_len, pos;      /* next byte */
	uint32_t bitbuf;
	int bitcnt;
	unsigned char *out;
	size_t out_len, outpos;
	int overrun;             /* read past the input */
} inflate_state;

/* A canonical Huffman code: count[len] codes of each length, symbols in
 * code order. */
typedef struct {
	short count[16];
	short symbol[288];
} huffman;

static int getbits(inflate_state *s, int need)
{
	uint32_t val = s->bitbuf;
	while (s->bitcnt < need) {
		if (s->pos >= s->in_len) {
			s->overrun = 1;
			return 0;
		}
		val |= (uint32_t)s->in[s->pos++] << s->bitcnt;
		s->bitcnt += 8;
	}
	s->bitbuf = val >> need;
	s->bitcnt -= need;
	return (int)(val & ((1u << need) - 1));
}

/* Builds h from n code lengths; -1 when the lengths over-subscribe the
 * code space (an incomplete code is allowed: its unused codes fail when
 * met). */
static int build_huffman(huffman *h, const unsigned char *lengths, int n)
{
	short offs[16];
	memset(h->count, 0, sizeof h->count);
	for (int i = 0; i < n; i++)
		h->count[lengths[i]]++;
	if (h->count[0] == n)
		return 0;
	int left = 1;
	for (int len = 1; len < 16; len++) {
		left <<= 1;
		left -= h->count[len];
		if (left < 0)
			return -1;
	}
	offs[1] = 0;
	for (int len = 1; len < 15; len++)
		offs[len + 1] = (short)(offs[len] + h->count[len]);
	for (int i = 0; i < n; i++)
		if (lengths[i])
			h->symbol[offs[lengths[i]]++] = (short)i;
	return 0;
}

/* The next symbol, reading the code one bit at a time (codes are stored
 * most significant bit first); -1 on an unused code or end of input. */
static int decode(inflate_state *s, const huffman *h)
{
	int code = 0, first = 0, index = 0;
	for (int len = 1; len < 16; len++) {
		code |= getbits(s, 1);
		if (s->overrun)
			return -1;
		int count = h->count[len];
		if (code - first < count)
			return h->symbol[index + (code - first)];
		index += count;
		first += count;
		first <<= 1;
		code <<= 1;
	}
	return -1;
}

static const short len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                   35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const short len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                    3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const short dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
                                    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
                                    6145, 8193, 12289, 16385, 24577};
static const short dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                     6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Decodes one compressed block's symbols until end-of-block. */
static ts_status inflate_codes(inflate_state *s, const huffman *lit, const huffman *dist, char *err)
{
	for (;;) {
		int sym = decode(s, lit);
		if (sym < 0)
			return fail(err, TS_ERR_CORRUPT, "deflate: bad literal/length code");
		if (sym < 256) {
			if (s->outpos >= s->out_len)
				return fail(err, TS_ERR_CORRUPT, "deflate: more data than the stated size");
			s->out[s->outpos++] = (unsigned char)sym;
		} else if (sym == 256) {
			return TS_OK;
		} else {
			sym -= 257;
			if (sym >= 29)
				return fail(err, TS_ERR_CORRUPT, "deflate: bad length symbol");
			size_t len = (size_t)(len_base[sym] + getbits(s, len_extra[sym]));
			int ds = decode(s, dist);
			if (ds < 0 || ds >= 30 || s->overrun)
				return fail(err, TS_ERR_CORRUPT, "deflate: bad distance code");
			size_t d = (size_t)(dist_base[ds] + getbits(s, dist_extra[ds]));
			if (s->overrun)
				return fail(err, TS_ERR_CORRUPT, "deflate: truncated");
			if (d > s->outpos)
				return fail(err, TS_ERR_CORRUPT, "deflate: distance before the start");
			if (len > s->out_len - s->outpos)
				return fail(err, TS_ERR_CORRUPT, "deflate: more data than the stated size");
			for (size_t i = 0; i < len; i++, s->outpos++)   /* may overlap: byte by byte */
				s->out[s->outpos] = s->out[s->outpos - d];
		}
	}
}

static ts_status inflate_fixed(inflate_state *s, char *err)
{
	static huffman lit, dist;
	static int ready;
	if (!ready) {
		unsigned char l[288];
		int i = 0;
		for (; i < 144; i++) l[i] = 8;
		for (; i < 256; i++) l[i] = 9;
		for (; i < 280; i++) l[i] = 7;
		for (; i < 288; i++) l[i] = 8;
		build_huffman(&lit, l, 288);
		for (i = 0; i < 30; i++) l[i] = 5;
		build_huffman(&dist, l, 30);
		ready = 1;
	}
	return inflate_codes(s, &lit, &dist, err);
}

static ts_status inflate_dynamic(inflate_state *s, char *err)
{
	static const unsigned char order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
	                                        11, 4, 12, 3, 13, 2, 14, 1, 15};
	unsigned char lengths[320];
	huffman lencode, lit, dist;
	int nlen = getbits(s, 5) + 257, ndist = getbits(s, 5) + 1, ncode = getbits(s, 4) + 4;
	if (s->overrun || nlen > 286 || ndist > 30)
		return fail(err, TS_ERR_CORRUPT, "deflate: bad dynamic block header");
	memset(lengths, 0, sizeof lengths);
	for (int i = 0; i < ncode; i++)
		lengths[order[i]] = (unsigned char)getbits(s, 3);
	if (s->overrun || build_huffman(&lencode, lengths, 19) != 0)
		return fail(err, TS_ERR_CORRUPT, "deflate: bad code-length code");
	for (int i = 0; i < nlen + ndist;) {
		int sym = decode(s, &lencode);
		if (sym < 0)
			return fail(err, TS_ERR_CORRUPT, "deflate: bad code length");
		if (sym < 16) {
			lengths[i++] = (unsigned char)sym;
			continue;
		}
		int rep;
		unsigned char val = 0;
		if (sym == 16) {
			if (i == 0)
				return fail(err, TS_ERR_CORRUPT, "deflate: repeat with no previous length");
			val = lengths[i - 1];
			rep = 3 + getbits(s, 2);
		} else if (sym == 17) {
			rep = 3 + getbits(s, 3);
		} else {
			rep = 11 + getbits(s, 7);
		}
		if (s->overrun || i + rep > nlen + ndist)
			return fail(err, TS_ERR_CORRUPT, "deflate: code lengths overflow");
		while (rep--)
			lengths[i++] = val;
	}
	if (lengths[256] == 0)
		return fail(err, TS_ERR_CORRUPT, "deflate: no end-of-block code");
	if (build_huffman(&lit, lengths, nlen) != 0 ||
	    build_huffman(&dist, lengths + nlen, ndist) != 0)
		return fail(err, TS_ERR_CORRUPT, "deflate: over-subscribed code");
	return inflate_codes(s, &lit, &dist, err);
}

ts_status tg_inflate(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len,
                     char *err)
{
	inflate_state s = {.in = in, .in_len = in_len, .out = out, .out_len = out_len};
	int last;
	do {
		last = getbits(&s, 1);
		int type = getbits(&s, 2);
		if (s.overrun)
			return fail(err, TS_ERR_CORRUPT, "deflate: truncated");
		ts_status st;
		if (type == 0) {
			s.bitbuf = 0;   /* stored block: to the byte boundary */
			s.bitcnt = 0;
			if (s.in_len - s.pos < 4)
				return fail(err, TS_ERR_CORRUPT, "deflate: truncated");
			size_t len = rd16(s.in + s.pos), nlen = rd16(s.in + s.pos + 2);
			s.pos += 4;
			if (len != (~nlen & 0xFFFF))
				return fail(err, TS_ERR_CORRUPT, "deflate: stored block length check");
			if (s.in_len - s.pos < len)
				return fail(err, TS_ERR_CORRUPT, "deflate: truncated");
			if (len > s.out_len - s.outpos)
				return fail(err, TS_ERR_CORRUPT, "deflate: more data than the stated size");
			memcpy(s.out + s.outpos, s.in + s.pos, len);
			s.pos += len;
			s.outpos += len;
			st = TS_OK;
		} else if (type == 1) {
			st = inflate_fixed(&s, err);
		} else if (type == 2) {
			st = inflate_dynamic(&s, err);
		} else {
			st = fail(err, TS_ERR_CORRUPT, "deflate: block type 3");
		}
		if (st != TS_OK)
			return st;
	} while (!last);
	if (s.outpos != s.out_len)
		return fail(err, TS_ERR_CORRUPT, "deflate: %zu bytes decoded, %zu stated", s.outpos,
		            s.out_len);
	return TS_OK;
}

/* ---- .npy ---- */

void tg_npy_free(tg_npy_array *a)
{
	free(a->data);
	memset(a, 0, sizeof *a);
}

typedef struct {
	const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static int accept(cursor *c, char ch)
{
	skip_space(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 1;
	}
	return 0;
}

/* A quoted Python string without escapes into out (size n). */
static int parse_string(cursor *c, char *out, size_t n)
{
	skip_space(c);
	if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
		return 0;
	char q = *c->p++;
	size_t k = 0;
	while (c->p < c->end && *c->p != q) {
		if (*c->p == '\\' || k + 1 >= n)
			return 0;
		out[k++] = *c->p++;
	}
	if (c->p >= c->end)
		return 0;
	c->p++;
	out[k] = 0;
	return 1;
}

static int accept_word(cursor *c, const char *w)
{
	skip_space(c);
	size_t n = strlen(w);
	if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
		c->p += n;
		return 1;
	}
	return 0;
}

/* The header dict: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } */
static ts_status parse_header(const char *h, size_t n, char *descr, int *fortran, tg_npy_array *a,
                              char *err)
{
	cursor c = {h, h + n};
	int seen = 0;
	if (!accept(&c, '{'))
		return fail(err, TS_ERR_CORRUPT, ".npy header is not a dict");
	while (!accept(&c, '}')) {
		char key[32];
		if (!parse_string(&c, key, sizeof key) || !accept(&c, ':'))
			return fail(err, TS_ERR_CORRUPT, ".npy header: bad key");
		if (!strcmp(key, "descr")) {
			if (!parse_string(&c, descr, 16))
				return fail(err, TS_ERR_VERSION, ".npy header: unsupported descr (not a simple type)");
			seen |= 1;
		} else if (!strcmp(key, "fortran_order")) {
			if (accept_word(&c, "True"))
				*fortran = 1;
			else if (accept_word(&c, "False"))
				*fortran = 0;
			else
				return fail(err, TS_ERR_CORRUPT, ".npy header: bad fortran_order");
			seen |= 2;
		} else if (!strcmp(key, "shape")) {
			if (!accept(&c, '('))
				return fail(err, TS_ERR_CORRUPT, ".npy header: bad shape");
			a->ndim = 0;
			while (!accept(&c, ')')) {
				skip_space(&c);
				uint64_t v = 0;
				const char *start = c.p;
				while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
					if (v > (UINT64_MAX - 9) / 10)
						return fail(err, TS_ERR_LIMIT, ".npy header: dimension too large");
					v = v * 10 + (uint64_t)(*c.p++ - '0');
				}
				if (c.p == start)
					return fail(err, TS_ERR_CORRUPT, ".npy header: bad shape");
				if (a->ndim >= TG_NPY_MAX_DIMS)
					return fail(err, TS_ERR_LIMIT, ".npy header: more than %d dimensions",
					            TG_NPY_MAX_DIMS);
				a->shape[a->ndim++] = v;
				if (!accept(&c, ',')) {
					if (!accept(&c, ')'))
						return fail(err, TS_ERR_CORRUPT, ".npy header: bad shape");
					break;
				}
			}
			seen |= 4;
		} else {
			return fail(err, TS_ERR_CORRUPT, ".npy header: unknown key '%s'", key);
		}
		if (!accept(&c, ',')) {
			if (!accept(&c, '}'))
				return fail(err, TS_ERR_CORRUPT, ".npy header: expected ',' or '}'");
			break;
		}
	}
	while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
		c.p++;
	if (c.p != c.end)
		return fail(err, TS_ERR_CORRUPT, ".npy header: text after the dict");
	if (seen != 7)
		return fail(err, TS_ERR_CORRUPT, ".npy header: descr, fortran_order or shape missing");
	return TS_OK;
}

ts_status tg_npy_parse(const unsigned char *buf, size_t len, tg_npy_array *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
		return fail(err, TS_ERR_CORRUPT, "not a .npy array (magic)");
	int major = buf[6], minor = buf[7];
	size_t hlen, hstart;
	if (major == 1 && minor == 0) {
		hlen = rd16(buf + 8);
		hstart = 10;
	} else if ((major == 2 || major == 3) && minor == 0) {
		if (len < 12)
			return fail(err, TS_ERR_CORRUPT, ".npy truncated in its header");
		hlen = rd32(buf + 8);
		hstart = 12;
	} else {
		return fail(err, TS_ERR_VERSION, ".npy version %d.%d not supported", major, minor);
	}
	if (hlen > len - hstart)
		return fail(err, TS_ERR_CORRUPT, ".npy truncated in its header");
	const char *h = (const char *)buf + hstart;
	if (hlen == 0 || h[hlen - 1] != '\n')
		return fail(err, TS_ERR_CORRUPT, ".npy header does not end with a newline");
	for (size_t i = 0; i + 1 < hlen; i++)
		if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] > 0x7E)
			return fail(err, TS_ERR_CORRUPT, ".npy header: non-ASCII byte");
	char descr[16] = "";
	int fortran = 0;
	ts_status st = parse_header(h, hlen - 1, descr, &fortran, out, err);
	if (st != TS_OK)
		return st;
	size_t esize;
	if (!strcmp(descr, "<f8"))
		esize = 8;
	else if (!strcmp(descr, "<f4"))
		esize = 4;
	else
		return fail(err, TS_ERR_VERSION, ".npy dtype '%s' not supported (want '<f8' or '<f4')",
		            descr);
	if (fortran && out->ndim > 2)
		return fail(err, TS_ERR_VERSION, ".npy: Fortran order with %d dimensions not supported",
		            out->ndim);
	uint64_t count = 1;
	for (int i = 0; i < out->ndim; i++) {
		if (out->shape[i] != 0 && count > TG_NPZ_MAX_BYTES / 8 / out->shape[i])
			return fail(err, TS_ERR_LIMIT, ".npy array larger than %llu bytes",
			            (unsigned long long)TG_NPZ_MAX_BYTES);
		count *= out->shape[i];
	}
	size_t start = hstart + hlen;
	if ((uint64_t)(len - start) != count * esize)
		return fail(err, TS_ERR_CORRUPT, ".npy data: %zu bytes, shape needs %llu", len - start,
		            (unsigned long long)(count * esize));
	out->count = count;
	out->data = malloc(count ? count * sizeof *out->data : 1);
	if (!out->data)
		return fail(err, TS_ERR_NOMEM, "out of memory for a %llu-value array",
		            (unsigned long long)count);
	const unsigned char *p = buf + start;
	uint64_t rows = out->ndim == 2 ? out->shape[0] : count, cols = out->ndim == 2 ? out->shape[1] : 1;
	for (uint64_t k = 0; k < count; k++) {
		double v;
		if (esize == 8) {
			uint64_t bits = rd64(p + k * 8);
			memcpy(&v, &bits, 8);
		} else {
			uint32_t bits = rd32(p + k * 4);
			float f;
			memcpy(&f, &bits, 4);
			v = f;
		}
		/* Fortran order: element k is (k % rows, k / rows) */
		uint64_t dst = fortran && out->ndim == 2 ? (k % rows) * cols + k / rows : k;
		out->data[dst] = v;
	}
	return TS_OK;
}

/* ---- .npz (ZIP) ---- */

ts_status tg_npz_get(const unsigned char *buf, size_t len, const char *key,
                     tg_npy_array *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (len < 22)
		return fail(err, TS_ERR_CORRUPT, "not a ZIP archive (too short)");
	/* end of central directory: the last signature whose comment reaches
	 * exactly the end of the file */
	size_t eocd = SIZE_MAX;
	size_t lowest = len - 22 > 65535 ? len - 22 - 65535 : 0;
	for (size_t i = len - 22 + 1; i-- > lowest;) {
		if (rd32(buf + i) == 0x06054b50 && i + 22 + rd16(buf + i + 20) == len) {
			eocd = i;
			break;
		}
	}
	if (eocd == SIZE_MAX)
		return fail(err, TS_ERR_CORRUPT, "not a ZIP archive (no end of central directory)");
	const unsigned char *e = buf + eocd;
	uint16_t disk = rd16(e + 4), cd_disk = rd16(e + 6), n_here = rd16(e + 8), n_total = rd16(e + 10);
	uint32_t cd_size = rd32(e + 12), cd_off = rd32(e + 16);
	if ((eocd >= 20 && rd32(buf + eocd - 20) == 0x07064b50) || n_total == 0xFFFF ||
	    cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF)
		return fail(err, TS_ERR_VERSION, "ZIP64 archives are not supported");
	if (disk != 0 || cd_disk != 0 || n_here != n_total)
		return fail(err, TS_ERR_VERSION, "multi-disk ZIP archives are not supported");
	if (cd_off > eocd || cd_size > eocd - cd_off)
		return fail(err, TS_ERR_CORRUPT, "ZIP central directory outside the file");
	size_t want_len = strlen(key) + 4;
	size_t p = cd_off, end = (size_t)cd_off + cd_size;
	for (unsigned k = 0; k < n_total; k++) {
		if (end - p < 46 || rd32(buf + p) != 0x02014b50)
			return fail(err, TS_ERR_CORRUPT, "ZIP central directory entry %u malformed", k);
		const unsigned char *c = buf + p;
		uint16_t flags = rd16(c + 8), method = rd16(c + 10);
		uint32_t crc = rd32(c + 16), csize = rd32(c + 20), usize = rd32(c + 24);
		uint16_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
		uint32_t loff = rd32(c + 42);
		if (end - p - 46 < (size_t)nlen + xlen + clen)
			return fail(err, TS_ERR_CORRUPT, "ZIP central directory entry %u malformed", k);
		const char *name = (const char *)c + 46;
		p += 46 + (size_t)nlen + xlen + clen;
		if (nlen != want_len || memcmp(name, key, want_len - 4) != 0 ||
		    memcmp(name + want_len - 4, ".npy", 4) != 0)
			continue;
		if (csize == 0xFFFFFFFF || usize == 0xFFFFFFFF || loff == 0xFFFFFFFF)
			return fail(err, TS_ERR_VERSION, "ZIP64 member '%s.npy' not supported", key);
		if (flags & 1)
			return fail(err, TS_ERR_VERSION, "member '%s.npy' is encrypted", key);
		if (method != 0 && method != 8)
			return fail(err, TS_ERR_VERSION, "member '%s.npy': compression method %u not supported",
			            key, method);
		if (loff > cd_off || cd_off - loff < 30 || rd32(buf + loff) != 0x04034b50)
			return fail(err, TS_ERR_CORRUPT, "member '%s.npy': bad local header", key);
		const unsigned char *l = buf + loff;
		size_t data = (size_t)loff + 30 + rd16(l + 26) + rd16(l + 28);
		if (data > cd_off || csize > cd_off - data)
			return fail(err, TS_ERR_CORRUPT, "member '%s.npy' runs past its end", key);
		if (rd16(l + 26) != nlen || memcmp(l + 30, name, nlen) != 0 || rd16(l + 8) != method)
			return fail(err, TS_ERR_CORRUPT, "member '%s.npy': local header disagrees", key);
		if (method == 0 && csize != usize)
			return fail(err, TS_ERR_CORRUPT, "stored member '%s.npy': sizes differ", key);
		unsigned char *raw = NULL;
		const unsigned char *bytes = buf + data;
		if (method == 8) {
			raw = malloc(usize ? usize : 1);
			if (!raw)
				return fail(err, TS_ERR_NOMEM, "out of memory");
			ts_status st = tg_inflate(buf + data, csize, raw, usize, err);
			if (st != TS_OK) {
				free(raw);
				return st;
			}
			bytes = raw;
		}
		ts_status st = TS_OK;
		if (tg_crc32(0, bytes, usize) != crc)
			st = fail(err, TS_ERR_CORRUPT, "member '%s.npy': CRC-32 mismatch", key);
		else
			st = tg_npy_parse(bytes, usize, out, err);
		free(raw);
		return st;
	}
	return fail(err, TS_ERR_DIMS, "no member '%s.npy'", key);
}

ts_status tg_npz_slurp(const char *path, unsigned char **buf, size_t *len, char *err)
{
	*buf = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, TS_ERR_IO, "%s", strerror(errno));
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	for (;;) {
		if (!b) {
			fclose(f);
			return fail(err, TS_ERR_NOMEM, "out of memory");
		}
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		if (cap >= TG_NPZ_MAX_BYTES * 2) {
			free(b);
			fclose(f);
			return fail(err, TS_ERR_LIMIT, "file larger than %llu bytes",
			            (unsigned long long)(TG_NPZ_MAX_BYTES * 2));
		}
		unsigned char *nb = realloc(b, cap * 2);
		if (!nb)
			free(b);
		b = nb;
		cap *= 2;
	}
	int bad = ferror(f);
	int e = errno;
	fclose(f);
	if (bad) {
		free(b);
		return fail(err, TS_ERR_IO, "%s", strerror(e));
	}
	*buf = b;
	*len = n;
	return TS_OK;
}

ts_status tg_npz_read_stats(const char *path, size_t *d, double **mu, double **sigma, char *err)
{
	unsigned char *buf;
	size_t len;
	tg_npy_array m = {0}, s = {0};
	*mu = *sigma = NULL;
	*d = 0;
	ts_status st = tg_npz_slurp(path, &buf, &len, err);
	if (st != TS_OK)
		return st;
	st = tg_npz_get(buf, len, "mu", &m, err);
	if (st == TS_OK)
		st = tg_npz_get(buf, len, "sigma", &s, err);
	free(buf);
	if (st == TS_OK && (m.ndim != 1 || m.shape[0] == 0))
		st = fail(err, TS_ERR_DIMS, "mu is not a non-empty vector");
	else if (st == TS_OK && (s.ndim != 2 || s.shape[0] != m.shape[0] || s.shape[1] != m.shape[0]))
		st = fail(err, TS_ERR_DIMS, "sigma's shape is not (%llu, %llu)",
		          (unsigned long long)m.shape[0], (unsigned long long)m.shape[0]);
	if (st != TS_OK) {
		tg_npy_free(&m);
		tg_npy_free(&s);
		return st;
	}
	*d = (size_t)m.shape[0];
	*mu = m.data;
	*sigma = s.data;
	return TS_OK;
}

/* ---- writing, as numpy.savez ---- */

static void wr16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void wr32(unsigned char *p, uint32_t v)
{
	wr16(p, v & 0xFFFF);
	wr16(p + 2, v >> 16);
}

static void wr64(unsigned char *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* The .npy 1.0 bytes of a float64 C-order array, as numpy.lib.format
 * writes them (NumPy 1.24): the dict, spaces for 21 digits of the first
 * axis, then spaces and '\n' to a multiple of 64 bytes (a whole 64 more
 * when already aligned, as NumPy does). */
static unsigned char *npy_bytes(int ndim, const uint64_t *shape, const double *data,
                                size_t *len, ts_status *st, char *err)
{
	*st = TS_ERR_LIMIT;
	char hdr[512];
	int k = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
	uint64_t count = 1;
	for (int i = 0; i < ndim; i++) {
		k += snprintf(hdr + k, sizeof hdr - (size_t)k, i ? ", %llu" : "%llu",
		              (unsigned long long)shape[i]);
		if (shape[i] != 0 && count > TG_NPZ_MAX_BYTES / 8 / shape[i]) {
			fail(err, TS_ERR_LIMIT, "array too large");
			return NULL;
		}
		count *= shape[i];
	}
	k += snprintf(hdr + k, sizeof hdr - (size_t)k, ndim == 1 ? ",), }" : "), }");
	if (ndim > 0) {
		char digits[24];
		int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)shape[0]);
		for (int i = nd; i < 21; i++)
			hdr[k++] = ' ';
	}
	size_t hlen = (size_t)k + 1;
	size_t pad = 64 - ((10 + hlen) % 64);
	size_t total_hdr = 10 + hlen + pad;
	*len = total_hdr + count * 8;
	unsigned char *b = malloc(*len);
	*st = b ? TS_OK : fail(err, TS_ERR_NOMEM, "out of memory");
	if (!b)
		return NULL;
	memcpy(b, "\x93NUMPY\x01\x00", 8);
	wr16(b + 8, (uint32_t)(hlen + pad));
	memcpy(b + 10, hdr, (size_t)k);
	memset(b + 10 + k, ' ', pad);
	b[total_hdr - 1] = '\n';
	for (uint64_t i = 0; i < count; i++) {
		uint64_t bits;
		memcpy(&bits, &data[i], 8);
		wr64(b + total_hdr + i * 8, bits);
	}
	return b;
}

ts_status tg_npz_write(FILE *f, size_t n, const char *const *keys, const int *ndims,
                       const uint64_t *const *shapes, const double *const *data, char *err)
{
	if (n == 0 || n > 1000)
		return fail(err, TS_ERR_ARG, "bad member count");
	unsigned char *central = NULL;
	size_t central_len = 0;
	uint64_t offset = 0;
	ts_status st = TS_OK;
	for (size_t i = 0; i < n && st == TS_OK; i++) {
		size_t klen = strlen(keys[i]);
		if (klen == 0 || klen > 250 || ndims[i] < 0 || ndims[i] > TG_NPY_MAX_DIMS) {
			st = fail(err, TS_ERR_ARG, "bad key or rank");
			break;
		}
		size_t len;
		unsigned char *npy = npy_bytes(ndims[i], shapes[i], data[i], &len, &st, err);
		if (!npy)
			break;
		if (len >= 0xFFFFFFFFu || offset + len + 100 >= 0xFFFFFFFFu) {
			free(npy);
			st = fail(err, TS_ERR_LIMIT, "arrays too large for a ZIP without ZIP64");
			break;
		}
		uint32_t crc = tg_crc32(0, npy, len);
		size_t nlen = klen + 4;
		unsigned char local[30 + 254 + 20];
		memset(local, 0, sizeof local);
		wr32(local, 0x04034b50);
		wr16(local + 4, 20);       /* version needed */
		wr16(local + 12, 0x0021);  /* date 1980-01-01, time 0 (at +10) */
		wr32(local + 14, crc);
		wr32(local + 18, (uint32_t)len);
		wr32(local + 22, (uint32_t)len);
		wr16(local + 26, (uint32_t)nlen);
		wr16(local + 28, 20);
		memcpy(local + 30, keys[i], klen);
		memcpy(local + 30 + klen, ".npy", 4);
		unsigned char *x = local + 30 + nlen;   /* ZIP64 extra, as zipfile's force_zip64 */
		wr16(x, 1);
		wr16(x + 2, 16);
		wr64(x + 4, len);
		wr64(x + 12, len);
		size_t llen = 30 + nlen + 20;
		if (fwrite(local, 1, llen, f) != llen || fwrite(npy, 1, len, f) != len) {
			free(npy);
			st = fail(err, TS_ERR_IO, "%s", strerror(errno));
			break;
		}
		free(npy);
		unsigned char *nc = realloc(central, central_len + 46 + nlen);
		if (!nc) {
			st = fail(err, TS_ERR_NOMEM, "out of memory");
			break;
		}
		central = nc;
		unsigned char *c = central + central_len;
		memset(c, 0, 46);
		wr32(c, 0x02014b50);
		wr16(c + 4, 0x0314);       /* made by: Unix, 2.0 */
		wr16(c + 6, 20);
		wr16(c + 14, 0x0021);
		wr32(c + 16, crc);
		wr32(c + 20, (uint32_t)len);
		wr32(c + 24, (uint32_t)len);
		wr16(c + 28, (uint32_t)nlen);
		wr32(c + 38, 0600u << 16); /* external attributes: mode 0600 */
		wr32(c + 42, (uint32_t)offset);
		memcpy(c + 46, keys[i], klen);
		memcpy(c + 46 + klen, ".npy", 4);
		central_len += 46 + nlen;
		offset += llen + len;
	}
	if (st == TS_OK) {
		unsigned char e[22];
		memset(e, 0, sizeof e);
		wr32(e, 0x06054b50);
		wr16(e + 8, (uint32_t)n);
		wr16(e + 10, (uint32_t)n);
		wr32(e + 12, (uint32_t)central_len);
		wr32(e + 16, (uint32_t)offset);
		if (fwrite(central, 1, central_len, f) != central_len || fwrite(e, 1, 22, f) != 22 ||
		    fflush(f) != 0)
			st = fail(err, TS_ERR_IO, "%s", strerror(errno));
	}
	free(central);
	return st;
}

ts_status tg_npz_write_stats(FILE *f, const double *mu, const double *sigma, size_t d, char *err)
{
	const char *keys[2] = {"mu", "sigma"};
	int ndims[2] = {1, 2};
	uint64_t s1[1] = {d}, s2[2] = {d, d};
	const uint64_t *shapes[2] = {s1, s2};
	const double *data[2] = {mu, sigma};
	return tg_npz_write(f, 2, keys, ndims, shapes, data, err);
}
