/* srcnn.h: the SRCNN super-resolution network (Dong et al.) on the engine
 * (nn/nn.h, nn/ops.h), for srcnn(1).
 *
 * Two architectures, both with one input and one output channel and zero
 * "same" padding, so the output has the size of the input:
 *
 *   9-1-5   features conv 1->64 9x9 pad 4, ReLU,
 *           map conv 64->32 1x1 pad 0, ReLU,
 *           reconstruction conv 32->1 5x5 pad 2
 *   9-5-5   the same with the map conv 5x5 pad 2 (SRCNN-PyTorch's model)
 *
 * Parameters are named as SRCNN-PyTorch's state dict: "features.0.weight",
 * "features.0.bias", "map.0.weight", "map.0.bias", "reconstruction.weight",
 * "reconstruction.bias".  Initialisation as SRCNN-PyTorch: each weight
 * N(0, 2 / (out_channels k k)) (He, fan-out), biases 0, then the
 * reconstruction weight N(0, 0.001^2).
 *
 * An output pixel depends on the inputs within the halo: 4 + m/2 + 2
 * pixels (6 for 9-1-5, 8 for 9-5-5) on each side.  Tiled inference
 * (sr_apply) runs the network on output tiles with that many input pixels
 * around them read from the image (zeros only beyond the true image
 * border), so it computes what the untiled network computes.
 *
 * Functions return TG_CL_OK or a TG_CL_* code with nn_error() set.
 */
#ifndef TOMOGAN_SR_SRCNN_H
#define TOMOGAN_SR_SRCNN_H

#include "nn/nn.h"

#define SR_C1 64
#define SR_C2 32

typedef struct sr_model {
	int mid;          /* kernel of the map conv: 1 (9-1-5) or 5 (9-5-5) */
	nn_arena arena;   /* allocated */
	int w1, b1, w2, b2, w3, b3;   /* arena indices */
} sr_model;

/* "9-1-5" -> 1, "9-5-5" -> 5; -1 otherwise. */
int sr_arch_parse(const char *s);
const char *sr_arch_name(int mid);
int sr_halo(int mid);

/* Declares and allocates the parameters (zeroed). */
int sr_model_init(nn_ctx *ctx, sr_model *m, int mid);
/* SRCNN-PyTorch's initialisation, drawn from r in layer order. */
int sr_model_init_weights(nn_ctx *ctx, sr_model *m, nn_rng *r);
void sr_model_free(sr_model *m);

/* Activations and gradients for batches of up to B images of H x W. */
typedef struct sr_ws {
	int B, H, W;
	nn_buf x, t;          /* input, target [B, 1, H, W] (caller fills) */
	nn_buf a1, a2, y;     /* ReLU outputs [B, 64/32, H, W], output [B, 1, H, W] */
	nn_buf d1, d2, dy;    /* gradients of a1, a2, y (training only) */
	int train;
} sr_ws;

int sr_ws_alloc(nn_ctx *ctx, sr_ws *ws, int B, int H, int W, int train);
void sr_ws_free(sr_ws *ws);

/* y = net(x) for the first B images (B <= ws->B) of size H x W (at most
 * the workspace's; the images are packed densely at that size). */
int sr_forward(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int B, int H, int W);
/* Parameter gradients (accumulated) from dL/dy in ws->dy, after a forward
 * with the same B, H, W. */
int sr_backward(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int B, int H, int W);
/* Forward, MSE loss against ws->t (mean over B H W) and, when grad is set,
 * its backward.  *loss gets the loss. */
int sr_mse_step(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int B, int H, int W, int grad,
                double *loss);

/* Tiled inference of one H x W image (host arrays, row-major) into out
 * (H x W), with output tiles of at most tile x tile; ws must hold one image
 * of (tile + 2 halo) squared.  Host scratch: (tile + 2 halo)^2 floats. */
int sr_apply(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int tile, const float *in, int H, int W,
             float *out);

#endif
