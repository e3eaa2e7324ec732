/* PSNR and SSIM: plain-C reference and the host side of the OpenCL SSIM
 * (kernels/metrics.cl); definitions in metrics.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "ocl.h"
#include "ocl_internal.h"

/* scipy.ndimage's _gaussian_kernel1d(sigma 1.5, order 0, radius 5):
 * exp(-0.5 / sigma^2 * x^2) for x = -5..5, divided by its sum. */
void tg_ssim_weights(double w[TG_SSIM_WIN])
{
	double sum = 0;
	for (int k = 0; k < TG_SSIM_WIN; k++) {
		double x = (double)(k - TG_SSIM_RADIUS);
		w[k] = exp(-0.5 / (TG_SSIM_SIGMA * TG_SSIM_SIGMA) * x * x);
		sum += w[k];
	}
	for (int k = 0; k < TG_SSIM_WIN; k++)
		w[k] /= sum;
}

double tg_mse_f32(const float *a, const float *b, size_t n)
{
	/* blocks of 4096 summed apart, then the block sums: the rounding of a
	 * long sum stays near that of a short one */
	double total = 0;
	for (size_t i = 0; i < n;) {
		size_t end = n - i > 4096 ? i + 4096 : n;
		double s = 0;
		for (; i < end; i++) {
			double d = (double)a[i] - (double)b[i];
			s += d * d;
		}
		total += s;
	}
	return n ? total / (double)n : 0;
}

double tg_psnr_from_mse(double mse, double range)
{
	if (mse == 0)
		return INFINITY;
	return 10.0 * log10(range * range / mse);
}

int tg_ssim_ref(const float *a, const float *b, size_t h, size_t w, size_t pitch,
                double range, double *ssim)
{
	if (h < TG_SSIM_WIN || w < TG_SSIM_WIN || !(range > 0))
		return -1;
	double g[TG_SSIM_WIN];
	tg_ssim_weights(g);
	size_t oh = h - (TG_SSIM_WIN - 1), ow = w - (TG_SSIM_WIN - 1);
	double *v = malloc(5 * w * sizeof *v);
	if (!v)
		return -1;
	double *vx = v, *vy = v + w, *vxx = v + 2 * w, *vyy = v + 3 * w, *vxy = v + 4 * w;
	double c1 = (TG_SSIM_K1 * range) * (TG_SSIM_K1 * range);
	double c2 = (TG_SSIM_K2 * range) * (TG_SSIM_K2 * range);
	double total = 0;
	for (size_t r = 0; r < oh; r++) {
		/* vertical sums of the window rows r .. r+10, every column */
		for (size_t c = 0; c < w; c++) {
			double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
			for (int k = 0; k < TG_SSIM_WIN; k++) {
				double x = a[(r + (size_t)k) * pitch + c], y = b[(r + (size_t)k) * pitch + c];
				sx += g[k] * x;
				sy += g[k] * y;
				sxx += g[k] * (x * x);
				syy += g[k] * (y * y);
				sxy += g[k] * (x * y);
			}
			vx[c] = sx;
			vy[c] = sy;
			vxx[c] = sxx;
			vyy[c] = syy;
			vxy[c] = sxy;
		}
		double rowsum = 0;
		for (size_t c = 0; c < ow; c++) {
			double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
			for (int k = 0; k < TG_SSIM_WIN; k++) {
				ux += g[k] * vx[c + (size_t)k];
				uy += g[k] * vy[c + (size_t)k];
				uxx += g[k] * vxx[c + (size_t)k];
				uyy += g[k] * vyy[c + (size_t)k];
				uxy += g[k] * vxy[c + (size_t)k];
			}
			double varx = uxx - ux * ux, vary = uyy - uy * uy, cov = uxy - ux * uy;
			double a1 = 2 * ux * uy + c1, a2 = 2 * cov + c2;
			double b1 = ux * ux + uy * uy + c1, b2 = varx + vary + c2;
			rowsum += (a1 * a2) / (b1 * b2);
		}
		total += rowsum;
	}
	free(v);
	*ssim = total / ((double)oh * (double)ow);
	return 0;
}

/* ---- OpenCL ---- */

struct tg_ssim_cl {
	tg_cl *cl;
	size_t planes, h, w, oh, ow;
	int dbl;
	size_t rs;               /* sizeof(real) */
	double range;
	cl_kernel kv, km, kr;
	cl_mem a, b, tmp, map, rowsum, g, shift;
	void *host_rowsum;       /* planes * oh reals */
	void *host_shift;        /* 2 * planes reals */
};

int tg_ssim_cl_double(const tg_ssim_cl *s)
{
	return s->dbl;
}

static int device_has_fp64(tg_cl *cl)
{
	cl_device_fp_config cfg = 0;
	if (clGetDeviceInfo(cl->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof cfg, &cfg, NULL) != CL_SUCCESS)
		return 0;
	return cfg != 0;
}

int tg_ssim_cl_create(tg_ssim_cl **out, tg_cl *cl, size_t planes, size_t h, size_t w,
                      double range, int precision)
{
	*out = NULL;
	if (h < TG_SSIM_WIN || w < TG_SSIM_WIN)
		return tg_cl_fail(TG_CL_FAIL, "SSIM needs planes of at least %dx%d, not %zux%zu",
		                  TG_SSIM_WIN, TG_SSIM_WIN, w, h);
	if (planes == 0 || !(range > 0) || !isfinite(range) ||
	    h > 0x7fffffff || w > 0x7fffffff)
		return tg_cl_fail(TG_CL_FAIL, "SSIM: impossible arguments");
	int fp64 = device_has_fp64(cl);
	if (precision == TG_SSIM_DOUBLE && !fp64)
		return tg_cl_fail(TG_CL_NO_PLATFORM, "SSIM in double: the device %s lacks cl_khr_fp64", cl->name);
	tg_ssim_cl *s = calloc(1, sizeof *s);
	if (!s)
		return tg_cl_fail(TG_CL_FAIL, "out of memory");
	s->cl = cl;
	s->planes = planes;
	s->h = h;
	s->w = w;
	s->oh = h - (TG_SSIM_WIN - 1);
	s->ow = w - (TG_SSIM_WIN - 1);
	s->dbl = precision == TG_SSIM_DOUBLE || (precision == TG_SSIM_AUTO && fp64);
	s->rs = s->dbl ? sizeof(double) : sizeof(float);
	s->range = range;
	const char *opt = s->dbl ? "-DSSIM_DOUBLE=1" : "";
	if (!(s->kv = tg_cl_kernel(cl, "metrics.cl", "ssim_vertical", opt)) ||
	    !(s->km = tg_cl_kernel(cl, "metrics.cl", "ssim_map", opt)) ||
	    !(s->kr = tg_cl_kernel(cl, "metrics.cl", "ssim_rowsum", opt))) {
		free(s);
		return TG_CL_BUILD;
	}
	size_t frame = planes * h * w * sizeof(float);
	double g[TG_SSIM_WIN];
	float gf[TG_SSIM_WIN];
	tg_ssim_weights(g);
	for (int k = 0; k < TG_SSIM_WIN; k++)
		gf[k] = (float)g[k];
	s->host_rowsum = malloc(planes * s->oh * s->rs);
	s->host_shift = malloc(2 * planes * s->rs);
	if (!s->host_rowsum || !s->host_shift ||
	    !(s->shift = tg_cl_alloc(cl, 2 * planes * s->rs, NULL)) || !(s->a = tg_cl_alloc(cl, frame, NULL)) ||
	    !(s->b = tg_cl_alloc(cl, frame, NULL)) ||
	    !(s->tmp = tg_cl_alloc(cl, 5 * planes * s->oh * w * s->rs, NULL)) ||
	    !(s->map = tg_cl_alloc(cl, planes * s->oh * s->ow * s->rs, NULL)) ||
	    !(s->rowsum = tg_cl_alloc(cl, planes * s->oh * s->rs, NULL)) ||
	    !(s->g = tg_cl_alloc(cl, TG_SSIM_WIN * s->rs, NULL))) {
		tg_ssim_cl_free(s);
		return TG_CL_FAIL;
	}
	int st = tg_cl_write(cl, s->g, 0, TG_SSIM_WIN * s->rs, s->dbl ? (const void *)g : (const void *)gf);
	if (st != TG_CL_OK) {
		tg_ssim_cl_free(s);
		return st;
	}
	*out = s;
	return TG_CL_OK;
}

/* A real-typed kernel argument: (size, pointer) for tg_cl_args. */
typedef union {
	double d;
	float f;
} real_arg;

static real_arg mkreal(const tg_ssim_cl *s, double v)
{
	real_arg r;
	if (s->dbl)
		r.d = v;
	else
		r.f = (float)v;
	return r;
}

static void put_real(const tg_ssim_cl *s, void *arr, size_t i, double v)
{
	if (s->dbl)
		((double *)arr)[i] = v;
	else
		((float *)arr)[i] = (float)v;
}

/* Mean of n values in double (blocks, as tg_mse_f32). */
static double mean_f32(const float *x, size_t n)
{
	double total = 0;
	for (size_t i = 0; i < n;) {
		size_t end = n - i > 4096 ? i + 4096 : n;
		double sum = 0;
		for (; i < end; i++)
			sum += x[i];
		total += sum;
	}
	return total / (double)n;
}

int tg_ssim_cl_run(tg_ssim_cl *s, const float *a, const float *b, double *ssim)
{
	tg_cl *cl = s->cl;
	size_t frame = s->planes * s->h * s->w * sizeof(float);
	int st;
	if ((st = tg_cl_write(cl, s->a, 0, frame, a)) || (st = tg_cl_write(cl, s->b, 0, frame, b)))
		return st;
	/* Each plane is shifted by its mean and scaled by 1/range: the
	 * (co)variances uxx - ux^2 then cancel far fewer digits (in float
	 * they would lose most of them for data far from zero), the constants
	 * are those of range 1, and the means get the shifts back for the
	 * luminance term. */
	size_t np = s->h * s->w;
	for (size_t p = 0; p < s->planes; p++) {
		put_real(s, s->host_shift, 2 * p, mean_f32(a + p * np, np));
		put_real(s, s->host_shift, 2 * p + 1, mean_f32(b + p * np, np));
	}
	if ((st = tg_cl_write(cl, s->shift, 0, 2 * s->planes * s->rs, s->host_shift)))
		return st;
	cl_int h = (cl_int)s->h, w = (cl_int)s->w;
	real_arg inv = mkreal(s, 1.0 / s->range);
	real_arg c1 = mkreal(s, TG_SSIM_K1 * TG_SSIM_K1), c2 = mkreal(s, TG_SSIM_K2 * TG_SSIM_K2);
	size_t rs = s->rs;
	if ((st = tg_cl_args(s->kv, sizeof(cl_mem), &s->a, sizeof(cl_mem), &s->b, sizeof(cl_mem), &s->tmp,
	                     sizeof(cl_mem), &s->g, sizeof(cl_mem), &s->shift, sizeof(cl_int), &h,
	                     sizeof(cl_int), &w, rs, &inv, (size_t)0)))
		return st;
	size_t gv[3] = { s->w, s->oh, s->planes };
	if ((st = tg_cl_run(cl, s->kv, 3, gv, NULL)))
		return st;
	if ((st = tg_cl_args(s->km, sizeof(cl_mem), &s->tmp, sizeof(cl_mem), &s->map, sizeof(cl_mem), &s->g,
	                     sizeof(cl_mem), &s->shift, sizeof(cl_int), &h, sizeof(cl_int), &w, rs, &inv, rs, &c1,
	                     rs, &c2, (size_t)0)))
		return st;
	size_t gm[3] = { s->ow, s->oh, s->planes };
	if ((st = tg_cl_run(cl, s->km, 3, gm, NULL)))
		return st;
	if ((st = tg_cl_args(s->kr, sizeof(cl_mem), &s->map, sizeof(cl_mem), &s->rowsum, sizeof(cl_int), &h,
	                     sizeof(cl_int), &w, (size_t)0)))
		return st;
	size_t gr[2] = { s->oh, s->planes };
	if ((st = tg_cl_run(cl, s->kr, 2, gr, NULL)))
		return st;
	if ((st = tg_cl_read(cl, s->rowsum, 0, s->planes * s->oh * rs, s->host_rowsum)))
		return st;
	for (size_t p = 0; p < s->planes; p++) {
		double total = 0;
		for (size_t r = 0; r < s->oh; r++) {
			size_t i = p * s->oh + r;
			total += s->dbl ? ((const double *)s->host_rowsum)[i] : (double)((const float *)s->host_rowsum)[i];
		}
		ssim[p] = total / ((double)s->oh * (double)s->ow);
	}
	return TG_CL_OK;
}

void tg_ssim_cl_free(tg_ssim_cl *s)
{
	if (!s)
		return;
	cl_mem bufs[] = { s->a, s->b, s->tmp, s->map, s->rowsum, s->g, s->shift };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		if (bufs[i])
			clReleaseMemObject(bufs[i]);
	free(s->host_rowsum);
	free(s->host_shift);
	free(s);
}
