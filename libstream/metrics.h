/* metrics.h: full-reference image quality, PSNR and SSIM, for imgcmp(1)
 * and for programs that report them (srcnn).
 *
 * Both follow scikit-image (skimage.metrics, 0.19):
 *
 *   PSNR = 10 log10(R^2 / MSE), MSE the mean of (a - b)^2 over the plane(s),
 *   R the data range (hi - lo); MSE 0 gives +inf.  As
 *   peak_signal_noise_ratio(a, b, data_range=R).
 *
 *   SSIM as structural_similarity(a, b, data_range=R,
 *   gaussian_weights=True, sigma=1.5, use_sample_covariance=False): the
 *   means, variances and covariance are Gaussian-weighted over an 11x11
 *   window (sigma 1.5, scipy's kernel truncated at 3.5 sigma: radius
 *   int(3.5 * 1.5 + 0.5) = 5, weights exp(-x^2 / (2 sigma^2)) normalised to
 *   sum 1), population (co)variances uxx - ux*ux etc., C1 = (0.01 R)^2,
 *   C2 = (0.03 R)^2, and the map
 *
 *       S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2))
 *
 *   averaged over the pixels at least 5 from every border.  scikit-image
 *   filters the whole image with mode 'reflect' and then crops those 5
 *   pixels, so every pixel it keeps has its window inside the image and the
 *   border mode never matters: here the windows are simply the 'valid'
 *   ones, (H - 10) x (W - 10) of them.  That is also SRCNN-PyTorch's SSIM
 *   (cv2.getGaussianKernel(11, 1.5) is the same kernel; its x255 scaling
 *   with C = (K 255)^2 is the same ratio).  A plane smaller than 11x11 has
 *   no window: scikit-image raises an error, and so do these (-1).
 *   For a frame of several planes (C x H x W) SSIM is the mean of the
 *   planes' SSIM (channel_axis) and PSNR uses the MSE over all values.
 *
 * The plain-C functions are the reference: inputs float32, every product
 * and sum in double.  The OpenCL path (kernels/metrics.cl) filters in
 * double when the device has cl_khr_fp64 and in float otherwise (or when
 * asked); either way each work item's sums of the SSIM map are kept in
 * that type with compensated (Kahan) summation and the host adds the row
 * sums in double.  Agreement with the reference: about 1e-12 in double,
 * and about 1e-6 in float (the variances lose digits to cancellation of
 * uxx - ux^2; to keep that small each plane is shifted by its mean, found
 * on the host in double, and scaled by 1/R first, and the means get the
 * shifts back for the luminance term).
 */
#ifndef TOMOGAN_METRICS_H
#define TOMOGAN_METRICS_H

#include <stddef.h>

#include "ocl.h"

/* Window of scikit-image's Gaussian SSIM. */
#define TG_SSIM_RADIUS 5
#define TG_SSIM_WIN (2 * TG_SSIM_RADIUS + 1)
#define TG_SSIM_SIGMA 1.5
#define TG_SSIM_K1 0.01
#define TG_SSIM_K2 0.03

/* The 11 normalised Gaussian weights (double). */
void tg_ssim_weights(double w[TG_SSIM_WIN]);

/* Mean squared difference of n values, in double. */
double tg_mse_f32(const float *a, const float *b, size_t n);
/* 10 log10(range^2 / mse); +inf when mse is 0. */
double tg_psnr_from_mse(double mse, double range);

/* SSIM of one h x w plane (row-major, rows `pitch` floats apart) with data
 * range `range` (> 0).  Returns 0 and sets *ssim, or -1 when the plane is
 * smaller than 11x11 (no window) or out of memory. */
int tg_ssim_ref(const float *a, const float *b, size_t h, size_t w, size_t pitch,
                double range, double *ssim);

/* ---- OpenCL path ----
 * A context for frames of `planes` planes of h x w float32 values. */
typedef struct tg_ssim_cl tg_ssim_cl;

enum { TG_SSIM_AUTO = 0, TG_SSIM_FLOAT = 1, TG_SSIM_DOUBLE = 2 };

/* precision: TG_SSIM_AUTO (double if the device has cl_khr_fp64, else
 * float), TG_SSIM_FLOAT, or TG_SSIM_DOUBLE (TG_CL_NO_PLATFORM if the
 * device lacks it).  range: the data range R (> 0).
 * TG_CL_FAIL also when h or w is below 11 (message in tg_cl_error()). */
int tg_ssim_cl_create(tg_ssim_cl **out, tg_cl *cl, size_t planes, size_t h, size_t w,
                      double range, int precision);
/* 1 when the context filters in double. */
int tg_ssim_cl_double(const tg_ssim_cl *s);
/* SSIM of each plane of a pair of frames (planes x h x w, row-major)
 * into ssim[0..planes-1]. */
int tg_ssim_cl_run(tg_ssim_cl *s, const float *a, const float *b, double *ssim);
void tg_ssim_cl_free(tg_ssim_cl *s);

#endif
