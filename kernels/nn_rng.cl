/* nn_rng.cl: device draws of the engine's Philox4x32-10 generator; the
 * stream layout and the value formulas are those of libstream/nn/rng.h and
 * must stay bit-identical to libstream/nn/rng.c. */

/* No fused multiply-add: lo + span * u must round as on the host. */
#pragma OPENCL FP_CONTRACT OFF

static uint4 philox4x32_10(uint4 c, uint2 k)
{
	for (int round = 0; round < 10; round++) {
		uint hi0 = mul_hi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
		uint hi1 = mul_hi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
		c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
		k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
	}
	return c;
}

static uint4 block(ulong seed, ulong blk)
{
	return philox4x32_10((uint4)((uint)blk, (uint)(blk >> 32), 0u, 0u),
	                     (uint2)((uint)seed, (uint)(seed >> 32)));
}

#define TWO_M24 5.9604644775390625e-08f   /* 2^-24 */

/* Stores v.s0 .. v.s3 at out[0..3], or the first n of them. */
static void store4(__global float *out, float4 v, int n)
{
	if (n >= 4) {
		out[0] = v.s0;
		out[1] = v.s1;
		out[2] = v.s2;
		out[3] = v.s3;
	} else {
		out[0] = v.s0;
		if (n > 1)
			out[1] = v.s1;
		if (n > 2)
			out[2] = v.s2;
	}
}

/* Work-item g makes values 4g .. 4g+3 of the draw (counter: words used
 * before it, a multiple of 4). */
__kernel void rng_uniform(__global float *out, ulong oo, int n, ulong seed, ulong counter,
                          float lo, float hi)
{
	int g = get_global_id(0);
	if (4 * g >= n)
		return;
	uint4 w = block(seed, (counter >> 2) + (ulong)g);
	float4 u = convert_float4(w >> 8) * TWO_M24;
	store4(out + oo + 4 * g, lo + (hi - lo) * u, n - 4 * g);
}

/* Box-Muller on the word pairs (x, y) and (z, w) of the block. */
__kernel void rng_normal(__global float *out, ulong oo, int n, ulong seed, ulong counter,
                         float mean, float std)
{
	int g = get_global_id(0);
	if (4 * g >= n)
		return;
	uint4 w = block(seed, (counter >> 2) + (ulong)g);
	float4 u = convert_float4(w >> 8) * TWO_M24;
	float2 u1 = u.s02 + TWO_M24, th = 6.2831853071795865f * u.s13;
	float2 r = sqrt(-2.0f * log(u1));
	float4 z = (float4)(r.s0 * cos(th.s0), r.s0 * sin(th.s0), r.s1 * cos(th.s1),
	                    r.s1 * sin(th.s1));
	store4(out + oo + 4 * g, mean + std * z, n - 4 * g);
}
