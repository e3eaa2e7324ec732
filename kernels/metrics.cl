/* metrics.cl: the Gaussian SSIM of imgcmp(1); host side and plain-C
 * reference in libstream/metrics.c (definitions in libstream/metrics.h).
 *
 * Build options: -DSSIM_DOUBLE=1 to filter and sum in double (needs
 * cl_khr_fp64); float otherwise.
 *
 * Three passes per pair of frames of `planes` planes of h x w floats:
 *   ssim_vertical  (w, h - 10, planes): the 11-tap vertical sums of x, y,
 *       x^2, y^2 and xy, x = (a - shift[2p]) * inv_range and
 *       y = (b - shift[2p+1]) * inv_range (the host passes each plane's
 *       means, so the variances lose few digits to cancellation), into
 *       tmp[q][plane][row][col], q = 0..4;
 *   ssim_map       (w - 10, h - 10, planes): the horizontal sums of those
 *       and the SSIM map (constants of range 1; the means get their shifts
 *       back for the luminance term);
 *   ssim_rowsum    (h - 10, planes): each row of the map summed with
 *       compensated (Kahan) summation; the host adds the row sums in double.
 */
#pragma OPENCL FP_CONTRACT OFF

#ifdef SSIM_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#else
typedef float real;
#endif

#define WIN 11

__kernel void ssim_vertical(__global const float *a, __global const float *b,
                            __global real *tmp, __constant real *g, __constant real *shift,
                            int h, int w, real inv_range)
{
	int c = get_global_id(0), r = get_global_id(1), p = get_global_id(2);
	int oh = h - (WIN - 1);
	if (c >= w || r >= oh)
		return;
	size_t base = ((size_t)p * h + r) * w + c;
	real sa = shift[2 * p], sb = shift[2 * p + 1];
	real sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
	for (int k = 0; k < WIN; k++) {
		real x = ((real)a[base + (size_t)k * w] - sa) * inv_range;
		real y = ((real)b[base + (size_t)k * w] - sb) * inv_range;
		real gk = g[k];
		sx += gk * x;
		sy += gk * y;
		sxx += gk * (x * x);
		syy += gk * (y * y);
		sxy += gk * (x * y);
	}
	size_t n = (size_t)get_global_size(2) * oh * w;
	size_t o = ((size_t)p * oh + r) * w + c;
	tmp[o] = sx;
	tmp[o + n] = sy;
	tmp[o + 2 * n] = sxx;
	tmp[o + 3 * n] = syy;
	tmp[o + 4 * n] = sxy;
}

__kernel void ssim_map(__global const real *tmp, __global real *map, __constant real *g,
                       __constant real *shift, int h, int w, real inv_range, real c1, real c2)
{
	int c = get_global_id(0), r = get_global_id(1), p = get_global_id(2);
	int oh = h - (WIN - 1), ow = w - (WIN - 1);
	if (c >= ow || r >= oh)
		return;
	size_t n = (size_t)get_global_size(2) * oh * w;
	size_t base = ((size_t)p * oh + r) * w + c;
	real ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
	for (int k = 0; k < WIN; k++) {
		real gk = g[k];
		size_t i = base + k;
		ux += gk * tmp[i];
		uy += gk * tmp[i + n];
		uxx += gk * tmp[i + 2 * n];
		uyy += gk * tmp[i + 3 * n];
		uxy += gk * tmp[i + 4 * n];
	}
	/* (co)variances from the shifted data; means shifted back */
	real vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy;
	real mx = ux + shift[2 * p] * inv_range, my = uy + shift[2 * p + 1] * inv_range;
	real a1 = 2 * mx * my + c1, a2 = 2 * vxy + c2;
	real b1 = mx * mx + my * my + c1, b2 = vx + vy + c2;
	map[((size_t)p * oh + r) * ow + c] = (a1 * a2) / (b1 * b2);
}

__kernel void ssim_rowsum(__global const real *map, __global real *rowsum, int h, int w)
{
	int r = get_global_id(0), p = get_global_id(1);
	int oh = h - (WIN - 1), ow = w - (WIN - 1);
	if (r >= oh)
		return;
	__global const real *row = map + ((size_t)p * oh + r) * ow;
	real s = 0, comp = 0;
	for (int c = 0; c < ow; c++) {
		real y = row[c] - comp;
		real t = s + y;
		comp = (t - s) - y;
		s = t;
	}
	rowsum[(size_t)p * oh + r] = s;
}
