/* init.h: parameter initialisers over the arena (nn.h), drawing from the
 * engine's seeded Philox4x32-10 generator (rng.h).
 *
 * Each function fills one named tensor of an allocated arena on the device
 * and returns TG_CL_OK, or TG_CL_FAIL with nn_error() set (unknown name,
 * a weight of rank < 2 where fans are needed, a device failure).  The
 * random ones make one device draw of numel values (nn_rng_uniform_dev or
 * nn_rng_normal_dev), so a model's initial weights depend only on the seed
 * and the order of the calls: the same seed and order give the same bits.
 * Uniform draws lie in [lo, hi) (lo + (hi - lo) u with u in [0, 1) on a
 * 2^-24 grid), normal ones come from Box-Muller (rng.h).
 *
 * Fans are those of torch.nn.init._calculate_fan_in_and_fan_out: with
 * r the product of dim[2..] (1 for rank 2), fan_in = dim[1] r and
 * fan_out = dim[0] r.  For a Linear weight [out, in] that is in and out,
 * for a Conv2d weight [OC, C, KH, KW] C KH KW and OC KH KW; for a
 * ConvTranspose2d weight [C, OC, KH, KW] PyTorch's rule, followed here,
 * gives fan_in = OC KH KW.
 */
#ifndef TOMOGAN_NN_INIT_H
#define TOMOGAN_NN_INIT_H

#include "nn/nn.h"

/* Fans of tensor `name`; -1 with nn_error() set when it has rank < 2 or
 * does not exist. */
int nn_init_fans(const nn_arena *a, const char *name, double *fan_in, double *fan_out);

/* U[lo, hi) */
int nn_init_uniform(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *name, float lo, float hi);
/* N(mean, std^2) */
int nn_init_normal(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *name, float mean, float std);
/* every element = value (draws nothing) */
int nn_init_constant(nn_ctx *ctx, nn_arena *a, const char *name, float value);

/* PyTorch's default for Conv2d, ConvTranspose2d and Linear:
 * kaiming_uniform_(weight, a = sqrt(5)), i.e. U[-b, b) with
 * b = 1 / sqrt(fan_in), then the bias (NULL: none) U[-b, b) with the same
 * b; the weight is drawn first. */
int nn_init_torch_default(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *weight,
                          const char *bias);
/* He / Kaiming normal for ReLU, fan-out mode:
 * kaiming_normal_(w, mode='fan_out', nonlinearity='relu'), N(0, 2 / fan_out). */
int nn_init_kaiming_normal_fan_out(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *name);
/* DCGAN (Radford et al.): a conv weight N(0, 0.02^2); a BatchNorm weight
 * N(1, 0.02^2) and bias 0 (bias may be NULL). */
int nn_init_dcgan_conv(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *weight);
int nn_init_dcgan_bn(nn_ctx *ctx, nn_rng *r, nn_arena *a, const char *weight, const char *bias);

#endif
