/* rng.h: the one seeded random generator of the engine.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011), a counter-based generator: word j of the stream with seed s
 * is lane j % 4 of philox(counter = {j / 4 low, j / 4 high, 0, 0},
 * key = {s low, s high}).  Any word can be computed on its own, so the host
 * (this file) and the device (kernels/nn_rng.cl) produce the same bits for
 * the same seed and position.
 *
 * A generator is a seed plus the number of words used so far.  Every draw
 * starts on a fresh block of four words: a draw of n values consumes the
 * words [counter, counter + used) and then advances the counter by `used`
 * rounded up to a multiple of 4, so host and device draws may be mixed in
 * any order and the positions stay the same.
 *
 *   uniform  u = (word >> 8) * 2^-24, exactly representable in [0, 1);
 *            lo + (hi - lo) * u for a range (one word per value).
 *   normal   Box-Muller on words (2k, 2k+1) of the draw:
 *            u1 = ((w0 >> 8) + 1) * 2^-24 in (0, 1], u2 = (w1 >> 8) * 2^-24,
 *            r = sqrt(-2 ln u1), value 2k = r cos(2 pi u2),
 *            value 2k+1 = r sin(2 pi u2); then mean + std * value.
 *            A draw of n values consumes n rounded up to even words.
 * Uniform bits are identical on host and device.  Normal values go through
 * log/cos/sin, which OpenCL computes to a few ulp (the host uses double
 * precision), so host and device normals agree to about 1e-6 relative; the
 * same device always gives the same bits.
 */
#ifndef TOMOGAN_NN_RNG_H
#define TOMOGAN_NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_rng {
	uint64_t seed;
	uint64_t counter;   /* 32-bit words consumed; always a multiple of 4 */
} nn_rng;

/* The Philox4x32-10 bijection: out = philox(ctr, key). */
void nn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Word `index` of the stream of `seed`. */
uint32_t nn_rng_word(uint64_t seed, uint64_t index);

void nn_rng_init(nn_rng *r, uint64_t seed);
/* The counter after a draw of `words` words starting at `counter`. */
uint64_t nn_rng_advance(uint64_t counter, uint64_t words);

/* Host draws: out[n], advancing r. */
void nn_rng_uniform(nn_rng *r, float *out, size_t n, float lo, float hi);
void nn_rng_normal(nn_rng *r, float *out, size_t n, float mean, float std);
/* Raw 32-bit words: out[n]. */
void nn_rng_words(nn_rng *r, uint32_t *out, size_t n);

#endif
