/* seq.h: sequential models on the engine (nn.h, ops.h): an ordered list of
 * layers with their parameters in an arena, a workspace for activations,
 * and four passes over a batch:
 *
 *   forward           a[i+1] = layer_i(a[i]), every a[i] kept, except that
 *                     a conv2d followed by ReLU or LeakyReLU (slope >= 0)
 *                     runs as one pass when ctx->fuse_act is set (the
 *                     default) and keeps only the activation's output: the
 *                     activation's input a[i+1] aliases a[i+2], which has
 *                     the same signs, all its backward and tangents need
 *   backward          d[i] = dL/da[i] from d[L] = dy; parameter gradients
 *                     accumulate (+=) into the arena; every d[i] kept
 *   tangent forward   the Jacobian-vector product (forward mode) at the
 *                     point of the last forward: t[0] = tx,
 *                     t[i+1] = J_i t[i]: linear and conv without their
 *                     bias, activations as multiplication by their
 *                     derivative at a[i] (ReLU/LeakyReLU: the slopes of
 *                     the forward; Tanh, Sigmoid: 1 - y^2, y (1 - y))
 *   tangent backward  the gradient of s = sum(dty * t[L]) with respect to
 *                     the weights, the activation slopes held fixed: the
 *                     backward of the linearised network with the tangents
 *                     in place of the activations (biases get nothing).
 *                     For networks whose activations are piecewise linear
 *                     (ReLU, LeakyReLU) this is the exact gradient, since
 *                     their second derivative is zero almost everywhere;
 *                     it is refused for Tanh and Sigmoid.
 *
 * The WGAN-GP gradient penalty (gp.h) is built from these: its parameter
 * gradient is the tangent backward of v = dGP/dg pushed forward.
 *
 * Layers and their per-sample shapes (C, H, W):
 *   linear      all C*H*W features of a sample (as after flatten) -> (out, 1, 1);
 *               weight [out, C*H*W] as torch.nn.Linear, bias [out] optional
 *   conv2d      as torch.nn.Conv2d (groups 1, dilation 1, zero padding);
 *               weight [OC, C, KH, KW], bias [OC] optional
 *   upsample    nearest, integer factor s: (C, H*s, W*s)
 *   relu, leaky_relu (slope), tanh, sigmoid: same shape
 *   reshape     to any (C', H', W') with the same count (no work: the
 *               buffers alias); flatten is reshape to (C*H*W, 1, 1)
 * Parameters are named "<model>.<layer index>.weight" / ".bias" in the
 * arena, as PyTorch names the state of an nn.Sequential.
 *
 * Rows: a batch is B samples of C*H*W floats one after another.  The
 * tangent passes may work on a sub-range of rows [r0, r0 + n) of the last
 * forward; their tangents are numbered from 0.
 *
 * Functions return TG_CL_OK or a TG_CL_* status with nn_error() set.
 */
#ifndef TOMOGAN_NN_SEQ_H
#define TOMOGAN_NN_SEQ_H

#include "nn/nn.h"

enum nn_layer_kind {
	NN_LAYER_LINEAR,
	NN_LAYER_CONV2D,
	NN_LAYER_UPSAMPLE,
	NN_LAYER_RELU,
	NN_LAYER_LEAKY_RELU,
	NN_LAYER_TANH,
	NN_LAYER_SIGMOID,
	NN_LAYER_RESHAPE,
	/* additions (see "Normalisation, dropout, transposed conv" below) */
	NN_LAYER_BATCHNORM,
	NN_LAYER_DROPOUT,
	NN_LAYER_CONVT2D
};

typedef struct nn_layer {
	int kind;
	int in[3], out[3];      /* per-sample shapes (C, H, W) */
	size_t in_n, out_n;     /* per-sample element counts */
	int oc, kh, kw, sh, sw, ph, pw;   /* conv2d (oc: also linear's out) */
	int factor;             /* upsample */
	float slope;            /* leaky_relu */
	int w, b;               /* arena indices of weight and bias, -1 if none */
	/* additions */
	int oph, opw;           /* conv_transpose2d output padding */
	float eps, momentum;    /* batchnorm */
	int rm, rv;             /* batchnorm running mean / var (arena), -1 if none */
	float p;                /* dropout probability */
	int chan;               /* dropout: 1 = Dropout2d (whole channels) */
} nn_layer;

#define NN_SEQ_MAX_LAYERS 64

typedef struct nn_seq {
	char name[32];
	nn_arena *arena;
	int n;
	nn_layer l[NN_SEQ_MAX_LAYERS];
	int in[3];              /* input shape of a sample */
	/* additions */
	int eval;               /* 0: training mode (the default), 1: evaluation */
	nn_rng *rng;            /* draws the dropout masks (training mode) */
	int dropout_off;        /* tests: dropout is the identity even in training */
} nn_seq;

/* A model named `name` (parameter prefix) on inputs of (C, H, W) whose
 * parameters will live in arena a (declared by the nn_seq_* builders below,
 * so they must run before nn_arena_alloc).  Returns 0 or -1 (nn_error()). */
int nn_seq_init(nn_seq *m, nn_arena *a, const char *name, int C, int H, int W);
/* Appenders: each returns the index of the new layer, or -1 with
 * nn_error() set (bad size, shape mismatch, too many layers, arena full). */
int nn_seq_linear(nn_seq *m, int out, int bias);
int nn_seq_conv2d(nn_seq *m, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int bias);
int nn_seq_upsample(nn_seq *m, int factor);
int nn_seq_relu(nn_seq *m);
int nn_seq_leaky_relu(nn_seq *m, float slope);
int nn_seq_tanh(nn_seq *m);
int nn_seq_sigmoid(nn_seq *m);
int nn_seq_reshape(nn_seq *m, int C, int H, int W);
int nn_seq_flatten(nn_seq *m);

/* Per-sample element counts of the input and the output. */
size_t nn_seq_in_numel(const nn_seq *m);
size_t nn_seq_out_numel(const nn_seq *m);
/* 1 if every activation is piecewise linear (ReLU, LeakyReLU), else 0 and
 * *bad (if not NULL) is the index of the first layer that is not. */
int nn_seq_piecewise_linear(const nn_seq *m, int *bad);

/* Workspace of a model: activations and deltas for up to max_rows samples,
 * tangents for up to max_tan_rows (0: no tangent passes).  ws->B is the
 * batch of the last forward. */
typedef struct nn_seq_ws {
	int max_rows, max_tan_rows;
	int B;                  /* rows of the last forward, 0 before one */
	int nb;                 /* boundaries: layers + 1 */
	nn_buf act[NN_SEQ_MAX_LAYERS + 1];  /* a[i]: a[0] is the caller's input */
	nn_buf dlt[NN_SEQ_MAX_LAYERS + 1];  /* d[i] */
	nn_buf tan[NN_SEQ_MAX_LAYERS + 1];  /* t[i] */
	nn_buf own_act[NN_SEQ_MAX_LAYERS + 1], own_dlt[NN_SEQ_MAX_LAYERS + 1],
	       own_tan[NN_SEQ_MAX_LAYERS + 1];
	int have_dlt;           /* a backward has filled the deltas */
	int tr0, tn;            /* rows of the last tangent forward, tn 0 before one */
	/* additions: per layer, the batchnorm statistics [2C] or the dropout
	 * mask [rows] of the last forward, and how that forward ran */
	nn_buf aux[NN_SEQ_MAX_LAYERS];
	int aux_on[NN_SEQ_MAX_LAYERS];     /* dropout: the mask was applied */
	int fwd_train;                      /* the last forward was in training mode */
} nn_seq_ws;

int nn_seq_ws_alloc(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int max_rows, int max_tan_rows);
void nn_seq_ws_free(nn_seq_ws *ws);

/* Forward of B rows of x [B, in]: x is kept by reference (a[0]) and must
 * not change until the backward and tangent passes that follow are done.
 * The output [B, out] is nn_seq_output(ws) until the next forward. */
int nn_seq_forward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf x, int B);
nn_buf nn_seq_output(const nn_seq_ws *ws);

/* Backward of the last forward from dy [B, out]: parameter gradients
 * accumulate into the arena's grads unless flags has NN_SEQ_NO_PARAM_GRAD;
 * dx [B, in] is assigned unless NN_NONE.  The deltas d[1..L-1] stay in the
 * workspace and d[L] is dy by reference: nn_seq_param_grad reads them, so
 * dy must not change before it. */
#define NN_SEQ_NO_PARAM_GRAD 1
int nn_seq_backward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf dx, nn_buf dy, int flags);

/* Parameter gradients from the deltas of the last backward, rows
 * [r0, r0 + n): from_tangent == 0: weights from the activations and
 * biases (what the backward accumulates itself); from_tangent != 0: weights
 * only, from tangents 0..n-1 of the last tangent forward (which must have
 * started at row r0).  Together with a backward under NN_SEQ_NO_PARAM_GRAD
 * this splits one batch into rows of ordinary loss and rows whose weight
 * gradient comes from the linearised network (gp.c). */
int nn_seq_param_grad(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int r0, int n,
                      int from_tangent);

/* Tangent forward of tx [n, in] at rows [r0, r0 + n) of the last forward;
 * the result [n, out] is nn_seq_tangent_output(ws). */
int nn_seq_tangent_forward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf tx, int r0, int n);
nn_buf nn_seq_tangent_output(const nn_seq_ws *ws);
/* Tangent backward from dty [n, out] (rows as the last tangent forward):
 * weight gradients accumulate into the arena; the deltas of rows
 * [r0, r0 + n) in the workspace are overwritten.  Refused (TG_CL_FAIL) for
 * a model with Tanh or Sigmoid. */
int nn_seq_tangent_backward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf dty);

/* ---- Normalisation, dropout, transposed conv (additions) ----
 *
 *   batchnorm   as torch.nn.BatchNorm1d after a linear layer (per feature:
 *               shape (F, 1, 1)) or BatchNorm2d (per channel of (C, H, W));
 *               any eps and momentum (r = (1 - momentum) r + momentum s,
 *               unbiased variance, as PyTorch).  Note PyTorch's positional
 *               BatchNorm1d(n, 0.8) sets eps = 0.8.  Parameters
 *               "<model>.<i>.weight", ".bias" (affine, optional) and the
 *               running statistics ".running_mean", ".running_var" as
 *               non-trainable arena tensors, named as PyTorch's state_dict
 *               (num_batches_tracked is not kept).  Training mode
 *               normalises with the batch statistics (B*H*W > 1 needed) and
 *               updates the running ones on every forward; evaluation mode
 *               normalises with the running statistics.
 *   dropout     as torch.nn.Dropout (element-wise) or Dropout2d (whole
 *               channels, chan 1): in training mode a mask from m->rng
 *               (nn_dropout_forward: the same draws as the plain-C
 *               reference), kept values scaled by 1/(1-p); the identity in
 *               evaluation mode, with p == 0, or with m->dropout_off.
 *   conv_transpose2d  as torch.nn.ConvTranspose2d (groups 1, dilation 1):
 *               weight [C, OC, KH, KW], bias [OC] optional,
 *               OH = (H - 1) SH - 2 PH + KH + OPH.
 * The tangent passes refuse models with any of these three layers, and
 * nn_seq_param_grad refuses a batchnorm model for anything but the whole
 * batch of the last forward (the statistics couple the rows). */

/* eps > 0, 0 <= momentum <= 1; bnNd: 1d needs an input of (F, 1, 1). */
int nn_seq_batchnorm1d(nn_seq *m, float eps, float momentum, int affine);
int nn_seq_batchnorm2d(nn_seq *m, float eps, float momentum, int affine);
/* 0 <= p < 1 */
int nn_seq_dropout(nn_seq *m, float p);
int nn_seq_dropout2d(nn_seq *m, float p);
int nn_seq_conv_transpose2d(nn_seq *m, int oc, int kh, int kw, int sh, int sw, int ph, int pw,
                            int oph, int opw, int bias);

#define NN_SEQ_TRAIN 0
#define NN_SEQ_EVAL 1
/* Mode of the following forwards (and their backwards). */
void nn_seq_set_mode(nn_seq *m, int mode);
/* Generator of the dropout masks (kept by reference). */
void nn_seq_set_rng(nn_seq *m, nn_rng *r);
/* 1 if the model has a layer of kind (NN_LAYER_*). */
int nn_seq_has(const nn_seq *m, int kind);

/* PyTorch's reset of every batchnorm layer of an allocated arena: weight 1,
 * bias 0, running mean 0, running variance 1. */
int nn_seq_reset_batchnorm(nn_ctx *ctx, const nn_seq *m);
/* Takes the running statistics of m out of optimizer o (NN_OPT_NONE);
 * returns the number of tensors excluded or -1 (nn_error()). */
struct nn_optim;
int nn_seq_exclude_stats(struct nn_optim *o, const nn_seq *m);
/* 1 if arena tensor i is a running statistic of some batchnorm of m. */
int nn_seq_is_stat(const nn_seq *m, int i);

#endif
