/* inception.h: the Inception-v3 of FID (pytorch-fid's FID Inception, the
 * port of the TensorFlow graph inception-2015-12-05) as a forward pass on
 * the NN engine.
 *
 * Weights live in a host table of named tensors with exactly the names and
 * shapes of pytorch-fid's pt_inception-2015-12-05-6726825d.pth
 * (Conv2d_1a_3x3.conv.weight [32, 3, 3, 3], Mixed_5b.branch1x1.bn.running_var
 * [64], ..., fc.weight [1008, 2048], fc.bias [1008]; the scalar
 * *.bn.num_batches_tracked entries have rank 0 and one element), so a
 * checkpoint loader fills it by name (num_batches_tracked, an int64 there,
 * and the classifier fc.* are unused by the features).  tg_inception_create
 * folds every BatchNorm (eval mode, eps 1e-3) into its convolution:
 *     s = gamma / sqrt(running_var + eps),  W' = s W,  b' = beta - s running_mean
 * so that conv + BatchNorm + ReLU is conv(W', b') + ReLU.
 *
 * Forward pass, as pytorch-fid's InceptionV3(resize_input=True,
 * normalize_input=True): each gray frame [H, W] in [0, 1] is repeated to 3
 * channels, resized to 299 x 299 as F.interpolate(mode='bilinear',
 * align_corners=False) without antialiasing, mapped to 2v - 1 and run
 * through the network.  The features are the spatial means of pytorch-fid's
 * output blocks: 64 (after the first max pool), 192 (after the second),
 * 768 (after Mixed_6e) and 2048 (after Mixed_7c, the usual FID features).
 * The three identical input channels are summed into the first
 * convolution's weights, which changes results only by float rounding.
 *
 * Frames go through in batches of at most `batch` (pytorch-fid's default
 * is 50); activation memory is allocated once for that batch and reused
 * across layers.  Device memory: 12.5 MB per image of the batch, 87 MB of
 * folded weights and 4 MB of im2col scratch (about 720 MB at batch 50).
 *
 * Functions return TG_CL_OK or a TG_CL_* code with a message in nn_error().
 */
#ifndef TOMOGAN_FID_INCEPTION_H
#define TOMOGAN_FID_INCEPTION_H

#include <stddef.h>

#include "nn/nn.h"

#define TG_INC_SIZE 299        /* side of the network's input */
#define TG_INC_BN_EPS 1e-3f
#define TG_INC_BATCH 50        /* pytorch-fid's default batch */

/* ---- the weight table ---- */
typedef struct tg_inc_tensor {
	char name[64];
	int rank;                  /* 0 (scalar), 1, 2 or 4 */
	int dim[4];
	size_t numel;
	float *data;               /* numel floats, host */
} tg_inc_tensor;

typedef struct tg_inc_weights {
	tg_inc_tensor *t;          /* in the state_dict order of pytorch-fid */
	int n;                     /* 566 */
} tg_inc_weights;

/* Every tensor of the layout, zero-filled.  TG_CL_FAIL when out of memory. */
int tg_inc_weights_init(tg_inc_weights *w);
void tg_inc_weights_free(tg_inc_weights *w);
/* The tensor of that name, or NULL. */
tg_inc_tensor *tg_inc_weights_find(const tg_inc_weights *w, const char *name);

/* Fills every tensor with deterministic test values (not a trained
 * network), the rule of tests/make_inception_fixtures.py: for tensor NAME
 * of n elements, h = FNV-1a 32-bit hash of NAME, for i < n
 *     k = fmix32(i * 0x9E3779B9 + h mod 2^32)   (murmur3's finaliser)
 *     u = (k >> 8) * 2^-23 - 1                  (in [-1, 1))
 *     value = float(scale * u + offset)         (in double)
 * with (scale, offset) = (sqrt(6 / fan_in), 0) for conv weights,
 * (0.25, 1) bn.weight, (0.1, 0) bn.bias and bn.running_mean, (0.5, 1)
 * bn.running_var, (1/sqrt(2048), 0) fc.weight, (0.1, 0) fc.bias, and 0 for
 * num_batches_tracked. */
void tg_inc_weights_synthetic(tg_inc_weights *w);
/* Value i of the synthetic tensor `name` of the given shape (the same rule). */
float tg_inc_synthetic_value(const char *name, int rank, const int *dim, size_t i);

/* BatchNorm (eval) folded into a convolution of OC rows of K weights:
 * w2 [OC, K] = s w, b2 [OC] = beta - s mean, s = gamma / sqrt(var + eps),
 * computed in double. */
void tg_inc_fold_bn(float *w2, float *b2, const float *w, const float *gamma,
                    const float *beta, const float *mean, const float *var, int OC, int K,
                    float eps);

/* ---- the network ---- */
typedef struct tg_inception tg_inception;

/* Output taps: pytorch-fid's block indices 0..3. */
enum { TG_INC_TAP64 = 0, TG_INC_TAP192, TG_INC_TAP768, TG_INC_TAP2048, TG_INC_NTAPS };
/* Feature length of a tap (64, 192, 768, 2048). */
int tg_inc_tap_dims(int tap);
/* The tap of a feature length, or -1. */
int tg_inc_tap_of_dims(int dims);

/* Folds and uploads the weights (the table may be freed afterwards) and
 * allocates activations for batches of up to `batch` frames. */
int tg_inception_create(tg_inception **out, nn_ctx *ctx, const tg_inc_weights *w, int batch);
void tg_inception_free(tg_inception *net);
int tg_inception_batch(const tg_inception *net);

/* feat [n, dims] = the `dims`-d features of frames [n, H, W] (values in
 * [0, 1]; any H, W >= 1), dims one of 64, 192, 768, 2048. */
int tg_inception_forward(tg_inception *net, const float *frames, int n, int H, int W, int dims,
                         float *feat);
/* The same for several taps in one pass: out[tap] [n, tg_inc_tap_dims(tap)]
 * for every non-NULL out[tap]; the pass stops after the last one asked. */
int tg_inception_forward_taps(tg_inception *net, const float *frames, int n, int H, int W,
                              float *out[TG_INC_NTAPS]);

#endif
