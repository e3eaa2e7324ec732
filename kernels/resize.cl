/* resize.cl: the two separable passes of resize(1); host side and tables in
 * libstream/resample.c, which also holds the plain-C reference these
 * kernels must match (same sums, same order, no contraction into fma).
 *
 * Build options: -DSRC_T=float|uchar|ushort|short, or -DSRC_HALF=1 for
 * f16, the element type of `src` (the first pass reads the frame in its
 * stream type and converts; the second reads the float intermediate);
 * -DVEC=1|2|4|8|16, the columns one work item of the vertical pass
 * computes (the host picks 1 for GPUs, 16 for CPUs); -DHROWS=n, the rows
 * one work item of the horizontal pass computes (4).
 *
 * Arguments of both kernels:
 *   src, src_off, src_pitch, src_plane: element (r, c) of plane p is
 *       src[src_off + p * src_plane + r * src_pitch + c] (a crop is an
 *       offset and a pitch);
 *   dst, dst_pitch, dst_plane: likewise for the float output;
 *   width: the output row length;
 *   taps, start, w: the axis table, out[o] = sum_k w[o*taps+k] * in[start[o]+k];
 *   box, inv: when box > 0 the table is not read and
 *       out[o] = (sum of in[o*box .. o*box+box-1]) * inv (inv = 1/box);
 *   clamp, lo, hi: clip outputs to [lo, hi] (NaN passes through);
 *   rows: the output rows (vertical) or the rows of the input (horizontal).
 * Global range: (width, divided by VEC for the vertical pass, rounded up to
 * the work-group width; rows, divided by HROWS for the horizontal pass;
 * planes).
 */
#pragma OPENCL FP_CONTRACT OFF

#ifndef VEC
#define VEC 1
#endif
#if VEC != 1 && VEC != 2 && VEC != 4 && VEC != 8 && VEC != 16
#error "VEC must be 1, 2, 4, 8 or 16"
#endif
#ifndef HROWS
#define HROWS 4
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatV CAT(float, VEC)
#define STOREV(v, p) CAT(vstore, VEC)((v), 0, (p))

#ifdef SRC_HALF
#define SRC_PTR __global const half *
#define LOAD(p, i) vload_half((i), (p))
#define LOADV(p, i) CAT(vload_half, VEC)(0, (p) + (i))
#define LOAD4(p, i) vload_half4(0, (p) + (i))
#else
#ifndef SRC_T
#define SRC_T float
#endif
#define SRC_PTR __global const SRC_T *
#define LOAD(p, i) ((float)(p)[(i)])
#define LOADV(p, i) CAT(convert_float, VEC)(CAT(vload, VEC)(0, (p) + (i)))
#define LOAD4(p, i) convert_float4(vload4(0, (p) + (i)))
#endif

static inline float clip(float v, int clamp, float lo, float hi)
{
	if (clamp)
		v = v < lo ? lo : v > hi ? hi : v;
	return v;
}

/* Vertical pass: dst[o][x] from rows start[o] .. start[o]+taps-1 of
 * column x.  Each work item computes VEC neighbouring columns with vector
 * loads (a CPU compiler cannot vectorise across work items around the
 * inner loop over taps; on GPUs VEC is 1 and neighbouring work items read
 * neighbouring columns); the weights are uniform across a work-group.
 * (Computing several outputs per work item over the union of their
 * windows, to load each input row once, ran 2-5x slower on PoCL.) */
__kernel void resize_v(SRC_PTR src, const ulong src_off, const uint src_pitch,
                       const ulong src_plane,
                       __global float *dst, const uint dst_pitch, const ulong dst_plane,
                       const uint width, const uint taps,
                       __global const int *start, __global const float *w,
                       const uint box, const float inv,
                       const int clamp, const float lo, const float hi, const uint rows)
{
	const uint x0 = get_global_id(0) * VEC, o = get_global_id(1);
	const ulong p = get_global_id(2);
	if (x0 >= width || o >= rows)
		return;
	const ulong first = box ? (ulong)o * box : (ulong)start[o];
	const uint n = box ? box : taps;
	SRC_PTR s = src + src_off + p * src_plane + first * src_pitch + x0;
	__global const float *wk = w + (ulong)o * taps;
	__global float *d = dst + p * dst_plane + (ulong)o * dst_pitch + x0;
#if VEC > 1
	if (x0 + VEC <= width) {
		floatV acc = (floatV)(0.0f);
		if (box) {
			for (uint k = 0; k < n; k++)
				acc += LOADV(s, (ulong)k * src_pitch);
			acc *= inv;
		} else {
			for (uint k = 0; k < n; k++)
				acc += wk[k] * LOADV(s, (ulong)k * src_pitch);
		}
		if (clamp) {
			acc = select(acc, (floatV)(lo), acc < lo);
			acc = select(acc, (floatV)(hi), acc > hi);
		}
		STOREV(acc, d);
		return;
	}
#endif
	/* the last columns, one by one */
	for (uint j = 0; j < VEC && x0 + j < width; j++) {
		float acc = 0.0f;
		if (box) {
			for (uint k = 0; k < n; k++)
				acc += LOAD(s, (ulong)k * src_pitch + j);
			acc *= inv;
		} else {
			for (uint k = 0; k < n; k++)
				acc += wk[k] * LOAD(s, (ulong)k * src_pitch + j);
		}
		d[j] = clip(acc, clamp, lo, hi);
	}
}

/* Horizontal pass: dst[r][o] from columns start[o] .. start[o]+taps-1 of
 * row r.  Four taps at a time go into four partial sums (lane j takes the
 * taps k = j mod 4), added as (s0 + s1) + (s2 + s3); taps left over follow
 * one by one (the x tables are padded to a multiple of 4 taps where the
 * image is wide enough).  The reference sums in this same order. */
__kernel void resize_h(SRC_PTR src, const ulong src_off, const uint src_pitch,
                       const ulong src_plane,
                       __global float *dst, const uint dst_pitch, const ulong dst_plane,
                       const uint width, const uint taps,
                       __global const int *start, __global const float *w,
                       const uint box, const float inv,
                       const int clamp, const float lo, const float hi, const uint rows)
{
	const uint o = get_global_id(0), r0 = get_global_id(1) * HROWS;
	const ulong p = get_global_id(2);
	if (o >= width || r0 >= rows)
		return;
	const uint n = box ? box : taps;
	const uint nr = min((uint)HROWS, rows - r0);
	SRC_PTR s = src + src_off + p * src_plane + (ulong)r0 * src_pitch +
	            (box ? (ulong)o * box : (ulong)start[o]);
	__global const float *wk = w + (ulong)o * taps;
	__global float *d = dst + p * dst_plane + (ulong)r0 * dst_pitch + o;
	if (nr == HROWS) {
		/* HROWS rows share each load of the weights */
		float4 part[HROWS];
		for (uint j = 0; j < HROWS; j++)
			part[j] = (float4)(0.0f);
		uint k = 0;
		for (; k + 4 <= n; k += 4) {
			float4 w4 = box ? (float4)(1.0f) : vload4(0, wk + k);
			for (uint j = 0; j < HROWS; j++)
				part[j] += box ? LOAD4(s, (ulong)j * src_pitch + k)
				               : w4 * LOAD4(s, (ulong)j * src_pitch + k);
		}
		for (uint j = 0; j < HROWS; j++) {
			float acc = (part[j].x + part[j].y) + (part[j].z + part[j].w);
			for (uint kk = k; kk < n; kk++)
				acc += box ? LOAD(s, (ulong)j * src_pitch + kk)
				           : wk[kk] * LOAD(s, (ulong)j * src_pitch + kk);
			if (box)
				acc *= inv;
			d[(ulong)j * dst_pitch] = clip(acc, clamp, lo, hi);
		}
		return;
	}
	for (uint j = 0; j < nr; j++) {
		SRC_PTR sj = s + (ulong)j * src_pitch;
		float4 part = (float4)(0.0f);
		uint k = 0;
		for (; k + 4 <= n; k += 4)
			part += box ? LOAD4(sj, k) : vload4(0, wk + k) * LOAD4(sj, k);
		float acc = (part.x + part.y) + (part.z + part.w);
		for (; k < n; k++)
			acc += box ? LOAD(sj, k) : wk[k] * LOAD(sj, k);
		if (box)
			acc *= inv;
		d[(ulong)j * dst_pitch] = clip(acc, clamp, lo, hi);
	}
}
