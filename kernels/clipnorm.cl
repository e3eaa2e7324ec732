/* clipnorm.cl: the per-pixel map of clipnorm(1),
 *   y = min(max((x - lo) * s, 0), 1),  s = 1 / (hi - lo),
 * then to the output range.  Its plain-C reference is tg_clip_map_ref in
 * libstream/clip.c; both evaluate the same single-precision operations in
 * the same order, and fusing them into multiply-adds is switched off so
 * 8- and 16-bit outputs agree with the reference exactly.
 *
 * Build options (numbers as in tstream.h and clip.h):
 *   IN_KIND   1 u8, 2 u16, 3 i16, 4 f32, 5 f16
 *   OUT_KIND  0 f32 [0,1], 1 f32 [-1,1], 2 u8 floor(255y+0.5),
 *             3 u16 floor(65535y+0.5)
 */
#pragma OPENCL FP_CONTRACT OFF

#ifndef IN_KIND
#define IN_KIND 4
#endif
#ifndef OUT_KIND
#define OUT_KIND 0
#endif

#if IN_KIND == 1
typedef uchar in_t;
#define LOAD(p, i) ((float)(p)[i])
#elif IN_KIND == 2
typedef ushort in_t;
#define LOAD(p, i) ((float)(p)[i])
#elif IN_KIND == 3
typedef short in_t;
#define LOAD(p, i) ((float)(p)[i])
#elif IN_KIND == 4
typedef float in_t;
#define LOAD(p, i) ((p)[i])
#elif IN_KIND == 5
typedef half in_t;
#define LOAD(p, i) vload_half(i, p)
#else
#error "unknown IN_KIND"
#endif

#if OUT_KIND == 0 || OUT_KIND == 1
typedef float out_t;
#elif OUT_KIND == 2
typedef uchar out_t;
#elif OUT_KIND == 3
typedef ushort out_t;
#else
#error "unknown OUT_KIND"
#endif

/* y[i] = map(x[i]), i < n.  Global size: n rounded up. */
__kernel void clipnorm_map(__global const in_t *x, __global out_t *y, const ulong n,
                           const float lo, const float s)
{
	size_t i = get_global_id(0);
	if (i >= n)
		return;
	float d = LOAD(x, i) - lo;
	float t = d * s;
	/* fmax returns the other operand for NaN, so NaN maps to 0 */
	t = fmin(fmax(t, 0.0f), 1.0f);
#if OUT_KIND == 0
	y[i] = t;
#elif OUT_KIND == 1
	float t2 = t * 2.0f;
	y[i] = t2 - 1.0f;
#elif OUT_KIND == 2
	float q = t * 255.0f;
	y[i] = (uchar)floor(q + 0.5f);
#else
	float q = t * 65535.0f;
	y[i] = (ushort)floor(q + 0.5f);
#endif
}
