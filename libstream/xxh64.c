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

uint64_t ts_xxh64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	const unsigned char *end = p + len;
	uint64_t h;

	if (len >= 32) {
		uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
		const unsigned char *limit = end - 32;
		do {
			v1 = xround(v1, load64(p));
			v2 = xround(v2, load64(p + 8));
			v3 = xround(v3, load64(p + 16));
			v4 = xround(v4, load64(p + 24));
			p += 32;
		} while (p <= limit);
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = merge_round(h, v1);
		h = merge_round(h, v2);
		h = merge_round(h, v3);
		h = merge_round(h, v4);
	} else {
		h = seed + P5;
	}
	h += (uint64_t)len;
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
