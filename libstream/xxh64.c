/* XXH64, written from the published xxHash specification (Yann Collet,
 * xxhash_spec.md, "XXH64 algorithm description").  Used as the frame and
 * header checksum of the tensor stream: it runs at memory speed, which keeps
 * the stream's overhead over a raw pipe small. */
#include <string.h>

#include "tstream.h"

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* The format is little-endian; so is every machine tomogan builds on today,
 * but keep the loads explicit so a big-endian port only touches these. */
static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t load32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t xround(uint64_t acc, uint64_t input)
{
	acc += input * P2;
	acc = rotl64(acc, 31);
	return acc * P1;
}

static inline uint64_t merge_round(uint64_t acc, uint64_t val)
{
	acc ^= xround(0, val);
	return acc * P1 + P4;
}

/* The tail and final mix shared by the one-shot and streaming forms: h is
 * the converged accumulator (or seed + P5 below 32 bytes), p..end the bytes
 * after the last whole stripe, total the whole length. */
static uint64_t finish(uint64_t h, const unsigned char *p, const unsigned char *end, uint64_t total)
{
	h += total;
	while (p + 8 <= end) {
		h ^= xround(0, load64(p));
		h = rotl64(h, 27) * P1 + P4;
		p += 8;
	}
	if (p + 4 <= end) {
		h ^= (uint64_t)load32(p) * P1;
		h = rotl64(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end) {
		h ^= (uint64_t)(*p) * P5;
		h = rotl64(h, 11) * P1;
		p++;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* Consumes whole 32-byte stripes from p; returns the first byte not used. */
static const unsigned char *stripes(uint64_t v[4], const unsigned char *p, size_t len)
{
	const unsigned char *end = p + (len & ~(size_t)31);
	for (; p < end; p += 32) {
		v[0] = xround(v[0], load64(p));
		v[1] = xround(v[1], load64(p + 8));
		v[2] = xround(v[2], load64(p + 16));
		v[3] = xround(v[3], load64(p + 24));
	}
	return p;
}

static uint64_t converge(const uint64_t v[4])
{
	uint64_t h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);
	for (int i = 0; i < 4; i++)
		h = merge_round(h, v[i]);
	return h;
}

uint64_t ts_xxh64(const void *data, size_t len, uint64_t seed)
{
	ts_xxh64_state st;
	ts_xxh64_init(&st, seed);
	ts_xxh64_update(&st, data, len);
	return ts_xxh64_digest(&st);
}

void ts_xxh64_init(ts_xxh64_state *st, uint64_t seed)
{
	st->v[0] = seed + P1 + P2;
	st->v[1] = seed + P2;
	st->v[2] = seed;
	st->v[3] = seed - P1;
	st->seed = seed;
	st->total = 0;
	st->nbuf = 0;
}

void ts_xxh64_update(ts_xxh64_state *st, const void *data, size_t len)
{
	const unsigned char *p = data;
	st->total += len;
	if (st->nbuf) {  /* complete the pending stripe first */
		size_t k = 32 - st->nbuf;
		if (k > len)
			k = len;
		memcpy(st->buf + st->nbuf, p, k);
		st->nbuf += k;
		p += k;
		len -= k;
		if (st->nbuf < 32)
			return;
		stripes(st->v, st->buf, 32);
		st->nbuf = 0;
	}
	const unsigned char *rest = stripes(st->v, p, len);
	st->nbuf = len - (size_t)(rest - p);
	memcpy(st->buf, rest, st->nbuf);
}

uint64_t ts_xxh64_digest(const ts_xxh64_state *st)
{
	uint64_t h = st->total >= 32 ? converge(st->v) : st->seed + P5;
	return finish(h, st->buf, st->buf + st->nbuf, st->total);
}
