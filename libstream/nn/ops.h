/* ops.h: the layers and losses of the engine, each a forward/backward pair
 * on the device (nn_X_*) and the same pair as a plain-C reference on host
 * arrays (nn_ref_X_*, used by the tests and for checking).
 *
 * Conventions (nn.h): NCHW float32; parameter gradients accumulate (+=),
 * activation gradients are assigned (=); a gradient passed as NN_NONE
 * (NULL for the reference) is skipped; optional parameters (bias, affine
 * BatchNorm) are NN_NONE / NULL when absent.  Shapes are given in the
 * comment above each pair as [dims]; B is the batch.
 */
#ifndef TOMOGAN_NN_OPS_H
#define TOMOGAN_NN_OPS_H

#include "nn/nn.h"

/* ---- utilities ---- */

/* x [n] = value */
int nn_fill(nn_ctx *ctx, nn_buf x, size_t n, float value);
void nn_ref_fill(float *x, size_t n, float value);
/* y [n] += a * x [n]  (adds a second gradient into a first) */
int nn_axpy(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n, float a);
void nn_ref_axpy(float *y, const float *x, size_t n, float a);

/* ---- linear: y = x W^T + b, as torch.nn.Linear ----
 * x [B, in], W [out, in], b [out] (optional), y [B, out]
 * backward: dx [B, in] = dy W; dW [out, in] += dy^T x; db [out] += sum_B dy */
int nn_linear_forward(nn_ctx *ctx, nn_buf y, nn_buf x, nn_buf W, nn_buf b,
                      int B, int in, int out);
int nn_linear_backward(nn_ctx *ctx, nn_buf dx, nn_buf dW, nn_buf db, nn_buf dy,
                       nn_buf x, nn_buf W, int B, int in, int out);
void nn_ref_linear_forward(float *y, const float *x, const float *W, const float *b,
                           int B, int in, int out);
void nn_ref_linear_backward(float *dx, float *dW, float *db, const float *dy,
                            const float *x, const float *W, int B, int in, int out);

/* ---- conv2d, as torch.nn.Conv2d (groups 1, dilation 1, zero padding) ----
 * x [B, C, H, W], w [OC, C, KH, KW], b [OC] (optional), y [B, OC, OH, OW],
 * OH = (H + 2 PH - KH) / SH + 1 (floor), OW likewise.
 * backward: dx [B, C, H, W] (assigned), dw [OC, C, KH, KW] (+=), db [OC] (+=).
 * Device: with C >= 8 (ctx->conv_shift), one GEMM per kernel tap over
 * zero-padded phase planes of the input ("shifted GEMMs", conv.c), no
 * columns; otherwise im2col + tg_gemm per image (images grouped so that one
 * im2col pass covers about ctx->col_cols columns).  1x1 stride 1 pad 0
 * multiplies x directly.  Thin convs take register-blocked direct kernels
 * (ctx->conv_direct; strides 1 and 2): C == 1 with OC >= 8 (forward; the
 * weight gradient up to 5 wide, wider ones at stride 1 from padded planes,
 * else by im2col + GEMM), and OC == 1 (forward, weight gradient up to 5x5,
 * stride-1 data gradient as the C == 1 kernel on dy with flipped weights);
 * the rest of OC == 1 runs the GEMV kernels against the implicit columns.
 * The weight gradient of a shifted conv with OC >= 16 (and KH*KW*C <= 2304)
 * is one direct kernel for all taps instead of a GEMM per tap
 * (ctx->conv_direct).  The data gradient of a stride-1 conv with C >= 8
 * or C == 1 (then a one-output-channel conv, by the direct kernel) is the
 * convolution of dy with the flipped weights (ctx->flip_dx).  That of a
 * shifted conv with a stride above 1 and OC <= 128 is one stride-1 conv
 * of dy per phase of dx (SH*SW of them, whose taps add up to w's) by the
 * planes kernel, then interleaved (ctx->conv_planes).  Otherwise it is the
 * adjoint of the shifted GEMMs, or W^T dy by GEMM and col2im. */
typedef struct nn_conv2d {
	int B, C, H, W;
	int OC, KH, KW;
	int SH, SW, PH, PW;
	int OH, OW;           /* derived */
} nn_conv2d;

/* Fills g; returns 0, or -1 with nn_error() set for an impossible shape. */
int nn_conv2d_shape(nn_conv2d *g, int B, int C, int H, int W, int OC, int KH, int KW,
                    int SH, int SW, int PH, int PW);
int nn_conv2d_forward(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w, nn_buf b);
/* Activations a conv2d forward can apply to its output in the same pass
 * (nn_conv2d_forward_act): the output is act(conv + b), bit for bit what
 * nn_relu_forward / nn_leaky_relu_forward give on the plain output.  The
 * direct and shifted paths apply it when they write the output, the GEMM
 * paths in one pass with the bias. */
enum { NN_ACT_NONE = 0, NN_ACT_RELU = 1, NN_ACT_LEAKY = 2 };
int nn_conv2d_forward_act(nn_ctx *ctx, const nn_conv2d *g, nn_buf y, nn_buf x, nn_buf w,
                          nn_buf b, int act, float slope);
/* y = act(conv2d_g2(act(conv2d_g1(x) + b1)) + b2) in one pass, for
 * inference: g1 a stride-1 conv of one input channel with at most 64
 * output channels, g2 a 1x1 conv on its output, both with a multiple of
 * 16 output channels (nn_conv2d_pair_fits; it also needs
 * ctx->conv_direct, and ctx->vec_narrow off).  The intermediate is never
 * stored.  The output is bit for bit that of the two
 * nn_conv2d_forward_act calls (with ctx->conv_planes on; with it off the
 * 1x1 runs as GEMMs and agrees to rounding). */
int nn_conv2d_pair_fits(const nn_ctx *ctx, const nn_conv2d *g1, const nn_conv2d *g2);
int nn_conv2d_pair_forward(nn_ctx *ctx, const nn_conv2d *g1, const nn_conv2d *g2, nn_buf y,
                           nn_buf x, nn_buf w1, nn_buf b1, nn_buf w2, nn_buf b2, int act,
                           float slope);
int nn_conv2d_backward(nn_ctx *ctx, const nn_conv2d *g, nn_buf dx, nn_buf dw, nn_buf db,
                       nn_buf dy, nn_buf x, nn_buf w);
void nn_ref_conv2d_forward(const nn_conv2d *g, float *y, const float *x, const float *w,
                           const float *b);
void nn_ref_conv2d_backward(const nn_conv2d *g, float *dx, float *dw, float *db,
                            const float *dy, const float *x, const float *w);

/* ---- transposed conv2d, as torch.nn.ConvTranspose2d (groups 1, dilation 1) ----
 * x [B, C, H, W], w [C, OC, KH, KW], b [OC] (optional), y [B, OC, OH, OW],
 * OH = (H - 1) SH - 2 PH + KH + OPH, OPH < SH (output_padding), OW likewise.
 * Forward is conv2d's data gradient (by phases where conv2d's takes that
 * path, else GEMM + col2im), backward is conv2d's
 * forward (im2col + GEMM) and its weight gradient.
 * backward: dx [B, C, H, W] (assigned), dw [C, OC, KH, KW] (+=), db [OC] (+=). */
typedef struct nn_convt2d {
	int B, C, H, W;
	int OC, KH, KW;
	int SH, SW, PH, PW, OPH, OPW;
	int OH, OW;           /* derived */
} nn_convt2d;

int nn_convt2d_shape(nn_convt2d *g, int B, int C, int H, int W, int OC, int KH, int KW,
                     int SH, int SW, int PH, int PW, int OPH, int OPW);
int nn_convt2d_forward(nn_ctx *ctx, const nn_convt2d *g, nn_buf y, nn_buf x, nn_buf w, nn_buf b);
int nn_convt2d_backward(nn_ctx *ctx, const nn_convt2d *g, nn_buf dx, nn_buf dw, nn_buf db,
                        nn_buf dy, nn_buf x, nn_buf w);
void nn_ref_convt2d_forward(const nn_convt2d *g, float *y, const float *x, const float *w,
                            const float *b);
void nn_ref_convt2d_backward(const nn_convt2d *g, float *dx, float *dw, float *db,
                             const float *dy, const float *x, const float *w);

/* ---- nearest upsampling by an integer factor, as nn.Upsample(scale_factor=s) ----
 * x [B, C, H, W], y [B, C, H*s, W*s]; backward dx [B, C, H, W] = sum of the
 * s x s block of dy. */
int nn_upsample_forward(nn_ctx *ctx, nn_buf y, nn_buf x, int B, int C, int H, int W, int s);
int nn_upsample_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, int B, int C, int H, int W, int s);
void nn_ref_upsample_forward(float *y, const float *x, int B, int C, int H, int W, int s);
void nn_ref_upsample_backward(float *dx, const float *dy, int B, int C, int H, int W, int s);

/* ---- channels: copy and concatenation (torch.cat(dim=1)) ----
 * copy: dst [B, dC, S] channels [dc0, dc0+n) = src [B, sC, S] channels [sc0, sc0+n)
 * concat: y [B, Ca+Cb, S] = (a [B, Ca, S], b [B, Cb, S]); backward splits
 * dy into da, db (each optional).  S = H*W. */
int nn_copy_channels(nn_ctx *ctx, nn_buf dst, int dC, int dc0, nn_buf src, int sC, int sc0,
                     int n, int B, int S);
void nn_ref_copy_channels(float *dst, int dC, int dc0, const float *src, int sC, int sc0,
                          int n, int B, int S);
int nn_concat_forward(nn_ctx *ctx, nn_buf y, nn_buf a, nn_buf b, int B, int Ca, int Cb, int S);
int nn_concat_backward(nn_ctx *ctx, nn_buf da, nn_buf db, nn_buf dy, int B, int Ca, int Cb, int S);
void nn_ref_concat_forward(float *y, const float *a, const float *b, int B, int Ca, int Cb, int S);
void nn_ref_concat_backward(float *da, float *db, const float *dy, int B, int Ca, int Cb, int S);

/* ---- activations (kernels/nn_elementwise.cl), any shape of n elements ----
 * Forward may run in place (y == x), backward too (dx == dy).  ReLU and
 * LeakyReLU differentiate from the input x (derivative at 0 taken as 0, as
 * PyTorch: x > 0 selects the slope 1), Tanh and Sigmoid from the output y. */
int nn_relu_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n);
int nn_relu_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf x, size_t n);
int nn_leaky_relu_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n, float slope);
int nn_leaky_relu_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf x, size_t n, float slope);
int nn_tanh_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n);
int nn_tanh_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf y, size_t n);
int nn_sigmoid_forward(nn_ctx *ctx, nn_buf y, nn_buf x, size_t n);
int nn_sigmoid_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf y, size_t n);
void nn_ref_relu_forward(float *y, const float *x, size_t n);
void nn_ref_relu_backward(float *dx, const float *dy, const float *x, size_t n);
void nn_ref_leaky_relu_forward(float *y, const float *x, size_t n, float slope);
void nn_ref_leaky_relu_backward(float *dx, const float *dy, const float *x, size_t n, float slope);
void nn_ref_tanh_forward(float *y, const float *x, size_t n);
void nn_ref_tanh_backward(float *dx, const float *dy, const float *y, size_t n);
void nn_ref_sigmoid_forward(float *y, const float *x, size_t n);
void nn_ref_sigmoid_backward(float *dx, const float *dy, const float *y, size_t n);

/* ---- dropout in training mode, as nn.Dropout (S = 1) / nn.Dropout2d ----
 * x, y [rows, S]: one keep-or-drop draw per row of S values; rows = n and
 * S = 1 for element-wise dropout, rows = B*C and S = H*W for Dropout2d.
 * mask [rows] is written by forward and read by backward: 0 for a dropped
 * row, 1/(1-p) for a kept one (row i is dropped when the generator's
 * uniform i is below p).  The draw advances r as nn_rng_uniform of rows
 * values, so the reference and the device give the same mask for the same
 * state.  In evaluation dropout is the identity: do not call these.
 * backward: dx [rows, S] = dy * mask (assigned).  y may be x, dx may be dy. */
int nn_dropout_forward(nn_ctx *ctx, nn_rng *r, nn_buf y, nn_buf mask, nn_buf x, int rows, int S,
                       float p);
int nn_dropout_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, nn_buf mask, int rows, int S);
void nn_ref_dropout_forward(nn_rng *r, float *y, float *mask, const float *x, int rows, int S,
                            float p);
void nn_ref_dropout_backward(float *dx, const float *dy, const float *mask, int rows, int S);

/* ---- losses, mean over n elements (reduction='mean') ----
 * x [n] the prediction; t [n] the target, or NN_NONE / NULL for the
 * constant target `tc` (1 for "real", 0 for "fake").  Forward returns the
 * loss on the host (summed in double); backward assigns
 * dx [n] = dloss * d(loss)/dx.
 *   mse          mean (x - t)^2
 *   l1           mean |x - t|                    (d/dx at x == t taken as 0)
 *   bce          -mean t log x + (1-t) log(1-x), x a probability, each log
 *                clamped at -100 and the gradient's denominator x(1-x)
 *                at 1e-12, as torch.nn.BCELoss
 *   bce_logits   the same on sigmoid(x), computed stably, as BCEWithLogitsLoss
 *   wasserstein  sign * mean x (the critic score; sign +1 or -1) */
int nn_mse_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n);
int nn_mse_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n, float dloss);
int nn_l1_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n);
int nn_l1_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n, float dloss);
int nn_bce_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n);
int nn_bce_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n, float dloss);
int nn_bce_logits_forward(nn_ctx *ctx, double *loss, nn_buf x, nn_buf t, float tc, int n);
int nn_bce_logits_backward(nn_ctx *ctx, nn_buf dx, nn_buf x, nn_buf t, float tc, int n,
                           float dloss);
int nn_wasserstein_forward(nn_ctx *ctx, double *loss, nn_buf x, int n, float sign);
int nn_wasserstein_backward(nn_ctx *ctx, nn_buf dx, int n, float sign, float dloss);
double nn_ref_mse_forward(const float *x, const float *t, float tc, int n);
void nn_ref_mse_backward(float *dx, const float *x, const float *t, float tc, int n, float dloss);
double nn_ref_l1_forward(const float *x, const float *t, float tc, int n);
void nn_ref_l1_backward(float *dx, const float *x, const float *t, float tc, int n, float dloss);
double nn_ref_bce_forward(const float *x, const float *t, float tc, int n);
void nn_ref_bce_backward(float *dx, const float *x, const float *t, float tc, int n, float dloss);
double nn_ref_bce_logits_forward(const float *x, const float *t, float tc, int n);
void nn_ref_bce_logits_backward(float *dx, const float *x, const float *t, float tc, int n,
                                float dloss);
double nn_ref_wasserstein_forward(const float *x, int n, float sign);
void nn_ref_wasserstein_backward(float *dx, int n, float sign, float dloss);

/* ---- pooling, as F.max_pool2d / F.avg_pool2d (ceil_mode False) ----
 * x [B, C, H, W], y [B, C, OH, OW], OH = (H + 2 PH - KH) / SH + 1; padding
 * at most half the kernel.  Max pooling pads with -inf, takes the first
 * maximum of a window (NaN wins) and records its index h*W + w within the
 * plane in idx [B, C, OH, OW] (int32, in a float-sized slot); backward
 * sends dy to that index.  Average pooling divides by KH*KW
 * (count_include_pad) or by the number of non-padding elements. */
typedef struct nn_pool2d {
	int B, C, H, W;
	int KH, KW, SH, SW, PH, PW;
	int OH, OW;           /* derived */
} nn_pool2d;

int nn_pool2d_shape(nn_pool2d *g, int B, int C, int H, int W, int KH, int KW,
                    int SH, int SW, int PH, int PW);
int nn_maxpool2d_forward(nn_ctx *ctx, const nn_pool2d *g, nn_buf y, nn_buf idx, nn_buf x);
int nn_maxpool2d_backward(nn_ctx *ctx, const nn_pool2d *g, nn_buf dx, nn_buf dy, nn_buf idx);
int nn_avgpool2d_forward(nn_ctx *ctx, const nn_pool2d *g, nn_buf y, nn_buf x,
                         int count_include_pad);
int nn_avgpool2d_backward(nn_ctx *ctx, const nn_pool2d *g, nn_buf dx, nn_buf dy,
                          int count_include_pad);
void nn_ref_maxpool2d_forward(const nn_pool2d *g, float *y, int *idx, const float *x);
void nn_ref_maxpool2d_backward(const nn_pool2d *g, float *dx, const float *dy, const int *idx);
void nn_ref_avgpool2d_forward(const nn_pool2d *g, float *y, const float *x, int count_include_pad);
void nn_ref_avgpool2d_backward(const nn_pool2d *g, float *dx, const float *dy,
                               int count_include_pad);
/* global average pool: x [B, C, S] -> y [B, C]; dx [B, C, S] = dy / S */
int nn_global_avgpool_forward(nn_ctx *ctx, nn_buf y, nn_buf x, int B, int C, int S);
int nn_global_avgpool_backward(nn_ctx *ctx, nn_buf dx, nn_buf dy, int B, int C, int S);
void nn_ref_global_avgpool_forward(float *y, const float *x, int B, int C, int S);
void nn_ref_global_avgpool_backward(float *dx, const float *dy, int B, int C, int S);

/* ---- batch normalisation, as torch.nn.BatchNorm1d / BatchNorm2d ----
 * x, y [B, C, S]: S = H*W for BatchNorm2d, S = 1 for BatchNorm1d on [B, C]
 * (or L for [B, C, L]).  gamma, beta [C] (NN_NONE for affine=False);
 * rmean, rvar [C] running statistics (NN_NONE: not tracked); save [2C]
 * written by forward, read by backward: the mean and 1/sqrt(var + eps)
 * used for normalising.
 * train != 0: batch statistics over B*S values per channel (B*S > 1), the
 *   biased variance normalises; running stats become
 *   r = (1 - momentum) r + momentum s with the unbiased variance
 *   (n/(n-1) times), as PyTorch.
 * train == 0: the running statistics normalise; backward treats them as
 *   constants.
 * backward: dx [B, C, S] (assigned), dgamma, dbeta [C] (+=). */
int nn_batchnorm_forward(nn_ctx *ctx, nn_buf y, nn_buf save, nn_buf x, nn_buf gamma, nn_buf beta,
                         nn_buf rmean, nn_buf rvar, int B, int C, int S, float eps,
                         float momentum, int train);
int nn_batchnorm_backward(nn_ctx *ctx, nn_buf dx, nn_buf dgamma, nn_buf dbeta, nn_buf dy,
                          nn_buf x, nn_buf save, nn_buf gamma, int B, int C, int S, int train);
void nn_ref_batchnorm_forward(float *y, float *save, const float *x, const float *gamma,
                              const float *beta, float *rmean, float *rvar, int B, int C, int S,
                              float eps, float momentum, int train);
void nn_ref_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                               const float *x, const float *save, const float *gamma,
                               int B, int C, int S, int train);

#endif
