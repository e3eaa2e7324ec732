/* common.cl: small utility kernels on float buffers.  Offsets and lengths
 * are in elements; every kernel checks its range, so a caller may round the
 * global size up to a multiple of its work-group size.
 *
 * Scaling by zero assigns zero instead of multiplying (0 * NaN is NaN), as
 * BLAS does for beta = 0: an output that was never initialised may hold any
 * bit pattern. */

/* x[off + i] = value, i < n.  Global size: n. */
__kernel void fill(__global float *x, const ulong off, const ulong n, const float value)
{
	size_t i = get_global_id(0);
	if (i < n)
		x[off + i] = value;
}

/* dst[doff + i] = src[soff + i], i < n.  Global size: n. */
__kernel void copy(__global const float *src, const ulong soff,
                   __global float *dst, const ulong doff, const ulong n)
{
	size_t i = get_global_id(0);
	if (i < n)
		dst[doff + i] = src[soff + i];
}

/* x[off + i] *= a, i < n (a = 0 assigns 0).  Global size: n. */
__kernel void scale(__global float *x, const ulong off, const ulong n, const float a)
{
	size_t i = get_global_id(0);
	if (i < n)
		x[off + i] = a == 0.0f ? 0.0f : a * x[off + i];
}

/* y = a * x + b * y over n elements at the given offsets (b = 0: y is not
 * read).  Global size: n. */
__kernel void axpby(const ulong n, const float a, __global const float *x, const ulong xoff,
                    const float b, __global float *y, const ulong yoff)
{
	size_t i = get_global_id(0);
	if (i >= n)
		return;
	float ax = a * x[xoff + i];
	y[yoff + i] = b == 0.0f ? ax : ax + b * y[yoff + i];
}

/* A strided row-major matrix: m[off + r * ld + c] *= a for r < rows,
 * c < cols (a = 0 assigns 0); the gaps between rows are left alone.
 * Global size: (cols, rows). */
__kernel void scale_matrix(__global float *m, const ulong off, const ulong ld,
                           const ulong rows, const ulong cols, const float a)
{
	size_t c = get_global_id(0), r = get_global_id(1);
	if (c >= cols || r >= rows)
		return;
	size_t i = off + r * ld + c;
	m[i] = a == 0.0f ? 0.0f : a * m[i];
}
