/* nn.h: the neural-network engine: context, buffers, parameter arena.
 *
 * Conventions, written once and followed by every op (nn/ops.h):
 *
 *  - Tensors are float32, NCHW, densely packed, row-major: element
 *    (b, c, h, w) of a [B, C, H, W] tensor is at ((b*C + c)*H + h)*W + w.
 *    Matrices are row-major; a Linear weight is [out, in] as in PyTorch, a
 *    Conv2d weight [OC, C, KH, KW], a ConvTranspose2d weight [C, OC, KH, KW].
 *  - Every op is a pair of plain functions, nn_X_forward / nn_X_backward,
 *    taking explicit shapes.  The comment above each gives every tensor's
 *    shape.  Each has a plain-C reference on host arrays, nn_ref_X_forward /
 *    nn_ref_X_backward, with the same argument order; the device version
 *    takes nn_buf (an OpenCL buffer plus an offset in elements).
 *  - Gradients: parameter gradients ACCUMULATE (dW += ...), so a caller
 *    zeroes them once per step (nn_arena_zero_grad) and may run several
 *    backward passes into them.  Activation (input) gradients are ASSIGNED
 *    (dx = ...), so dx need not be cleared; where one activation feeds two
 *    ops the caller adds the two gradients (nn_axpy).  A backward pass skips
 *    a gradient whose buffer is NN_NONE (mem NULL; a NULL pointer in the
 *    reference), e.g. dx of the first layer.
 *  - Outputs never alias inputs unless an op says so (the activations allow
 *    y == x in forward and dx == dy in backward).
 *  - Device functions return TG_CL_OK (0) or a TG_CL_* code and leave a
 *    one-line message in nn_error().  They enqueue work on the in-order
 *    queue of the context and do not wait for it, except where a result
 *    comes back to the host (losses) or a GEMM runs on the host (tg_gemm's
 *    OpenBLAS path maps the buffers, which waits).
 *  - Sizes: every tensor an op touches has fewer than 2^31 elements
 *    (kernels index with int); ops check this.
 *  - Kernels (kernels/nn_*.cl) give each work-item a row of contiguous work
 *    where an index would otherwise need divisions per element: on PoCL a
 *    work-item's index arithmetic is paid per item (kernels/nn_conv.cl).
 */
#ifndef TOMOGAN_NN_NN_H
#define TOMOGAN_NN_NN_H

#include <limits.h>
#include <stddef.h>

#include "ocl.h"
#include "nn/rng.h"

#define NN_MAX_ELEMS ((size_t)INT_MAX)

/* A place in a device buffer: float (or int32) elements from off on. */
typedef struct nn_buf {
	cl_mem mem;
	size_t off;
} nn_buf;

#define NN_NONE ((nn_buf){ NULL, 0 })

static inline nn_buf nn_buf_of(cl_mem mem, size_t off)
{
	nn_buf b = { mem, off };
	return b;
}

/* b moved on by `elems` elements. */
static inline nn_buf nn_at(nn_buf b, size_t elems)
{
	b.off += elems;
	return b;
}

static inline int nn_has(nn_buf b)
{
	return b.mem != NULL;
}

/* A tensor: where it lives and its shape (rank 1 to 4, NCHW order). */
typedef struct nn_tensor {
	nn_buf buf;
	int rank;
	int dim[4];
} nn_tensor;

size_t nn_numel(const nn_tensor *t);

#define NN_MAX_KERNELS 96

/* Everything an op needs besides its tensors: the runtime, built kernels
 * and scratch memory.  One per thread of work; not shared. */
typedef struct nn_ctx {
	tg_cl *cl;
	size_t wg;          /* local size of 1-D kernels (<= the device maximum) */
	size_t col_cols;    /* conv: target columns (images x OH*OW) per im2col pass
	                       (4096 on a CPU device, 2^20 elsewhere) */
	int flip_dx;        /* conv: stride-1 data gradient as a conv of dy with the
	                       flipped weights (1, default) or GEMM + col2im (0) */
	int conv_shift;     /* conv: stride-1 convs with C >= 8 by shifted GEMMs
	                       without columns (1, default) or im2col (0) */
	int conv_direct;    /* conv: direct kernels for C == 1 with OC >= 8, for
	                       OC == 1, and for the weight gradient of 1x1 convs
	                       and of shifted convs with OC >= 16 (1, the
	                       default on a CPU device), or the GEMM paths (0,
	                       the default elsewhere: the kernels are written
	                       for a CPU and starve a GPU) */
	int fuse_act;       /* nn_seq forward: a conv2d followed by ReLU/LeakyReLU in
	                       one pass (1, default) or two (0) */
	int conv_planes;    /* conv: the forward of shifted convs with OC >= 8 and
	                       C <= 128 by a direct kernel on the phase planes,
	                       and of such 1x1 convs (and their data gradient)
	                       by a direct kernel on x itself (1, the default on
	                       a CPU device), or by GEMMs (0, elsewhere) */
	int conv_multi;     /* conv: with conv_planes and conv_direct, those
	                       kernels also for convs with 8 or more input and
	                       output channels (1, the default on a CPU device
	                       whose native float vector is 16 wide: AVX-512),
	                       or the GEMM paths for them (0, the default on
	                       narrower ones: with AVX2 the kernels' float16
	                       accumulators take two registers each and spill,
	                       and they ran at half the GEMMs' speed) */
	int vec_narrow;     /* conv: the forms for narrow vectors (1, the
	                       default where the native float vector is
	                       narrower than 16: AVX2) of conv_c1_last_forward,
	                       conv_c1_weight_cl, conv_pointwise_weight_cl and
	                       conv_c1_s1_forward (fewer accumulators a pass),
	                       the 1x1 forward by conv_pointwise_narrow (also
	                       for many channels on planes under 4096 pixels),
	                       and no fused conv pair; or those for 16-wide
	                       ones (0: AVX-512's 32 registers hold them) */
	int planes_rows;    /* conv: output rows per work-item of the planes
	                       kernel, 2 or 3 (0, the default: chosen by the
	                       output height) */
	int s2_direct;      /* conv: with conv_planes, the forward, data and
	                       weight gradients of 3x3 stride-2 convs with
	                       padding 1 and W = 2*OW, OW a multiple of 16,
	                       straight from x and dy without phase planes (1,
	                       default) or from the planes (0); with
	                       conv_direct also the strided forward with one
	                       input channel, OW a multiple of 16 and OC of 4,
	                       by bands of rows stored in runs (1) or by 16
	                       columns and 16 channels (0), and for those 3x3
	                       of stride 2 with W = 2*OW the runs and the
	                       weight gradient from x without phase planes */
	int s1_direct;      /* conv: the same for 3x3 stride-1 convs with padding
	                       1 on rows a multiple of 16 wide, and with
	                       conv_direct the forward of such convs with one
	                       input channel by rows (1, default; 0: from
	                       padded planes) */
	int c1_last;        /* conv: with conv_direct, channels last in the
	                       cache (1, default): the forward and the weight
	                       and bias gradients of stride-1 convs with one
	                       input channel, 64 output channels and kernels
	                       wider than 5 (SRCNN's 9x9); the forward of such
	                       convs with 32 output channels, kernels of 5 or
	                       wider and rows narrower than 64; the weight and
	                       bias gradients of 1x1 convs with 32 output
	                       channels and C a multiple of 8; and the forward
	                       of stride-1 convs with one output channel, C a
	                       multiple of 32, kernels of 5 or wider and rows
	                       narrower than 64.  0: by the row-wise kernels,
	                       from padded planes and by conv_pointwise_weight */
	int strips5;        /* conv: with conv_direct, the forward of stride-1
	                       5x5 convs with padding 2, one output channel
	                       and rows of 16 to 63 (SRCNN's 5x5 32->1 at
	                       33x33) by strips of 16 columns from zero-padded
	                       rows in the cache (1, default), or as c1_last
	                       and the row-wise kernels say (0) */
	size_t shift_elems; /* conv: floats of a shifted-GEMM group (0: 32 Mi) */
	size_t shift_merge_n; /* conv: images of fewer grid positions take one GEMM
	                         per tap for a whole group (0: 2048; nn_ctx_init
	                         sets 2^30, always, for a device other than a CPU) */
	cl_mem scratch;     /* im2col columns and the like; grows on demand */
	size_t scratch_elems;
	cl_mem aux;         /* a second scratch (flipped weights) */
	size_t aux_elems;
	cl_mem partial;     /* per-work-group partial sums of reductions */
	size_t partial_elems;
	int status;         /* status of the last failure */
	int nkern;
	struct {
		const char *file, *name;
		cl_kernel k;
	} kern[NN_MAX_KERNELS];
} nn_ctx;

int nn_ctx_init(nn_ctx *ctx, tg_cl *cl);
void nn_ctx_free(nn_ctx *ctx);

/* Sets t to a fresh zeroed device buffer of the given shape (offset 0). */
int nn_tensor_alloc(nn_ctx *ctx, nn_tensor *t, int rank, const int *dim);
/* Releases the buffer of a tensor made by nn_tensor_alloc. */
void nn_tensor_free(nn_tensor *t);

/* Message of the last failure of the engine. */
const char *nn_error(void);
/* Records a failure and returns status. */
int nn_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records a runtime failure ("what: <tg_cl_error()>") and returns status. */
int nn_fail_cl(int status, const char *what);

/* Kernel `name` of kernels/`file`, built on first use and kept; NULL on
 * failure (ctx->status and nn_error() say why). */
cl_kernel nn_kernel(nn_ctx *ctx, const char *file, const char *name);
/* Runs k over n (rounded up to the local size; kernels check bounds), or
 * n0 x n1 with the first dimension rounded up. */
int nn_run1(nn_ctx *ctx, cl_kernel k, size_t n);
int nn_run2(nn_ctx *ctx, cl_kernel k, size_t n0, size_t n1);

/* Scratch of at least `elems` floats (contents undefined), valid until the
 * next call that asks for scratch. */
int nn_scratch(nn_ctx *ctx, size_t elems, cl_mem *out);
/* The same for the second scratch buffer (ctx->aux). */
int nn_scratch_aux(nn_ctx *ctx, size_t elems, cl_mem *out);
/* A fresh device buffer of `elems` floats, copied from host if not NULL. */
cl_mem nn_alloc(nn_ctx *ctx, size_t elems, const float *host);
int nn_write(nn_ctx *ctx, nn_buf dst, const float *src, size_t elems);
int nn_read(nn_ctx *ctx, float *dst, nn_buf src, size_t elems);

/* ---- parameter arena ----
 * All parameters of a model in one buffer, their gradients in a second one
 * at the same offsets, and optimizer state in further buffers of the same
 * size (nn_arena_alloc_like), so a checkpoint is a header and one write.
 * Each tensor starts on a 16-float (64-byte) boundary. */
typedef struct nn_param {
	char name[64];
	size_t off;         /* elements from the start of the arena */
	size_t numel;
	int rank;
	int dim[4];
} nn_param;

typedef struct nn_arena {
	nn_param *p;
	int n, cap;
	size_t total;       /* elements, padding included */
	cl_mem params, grads;
} nn_arena;

void nn_arena_init(nn_arena *a);
/* Declares a tensor before nn_arena_alloc; returns its index, or -1 (bad
 * shape, duplicate or too long a name, out of memory: see nn_error()). */
int nn_arena_add(nn_arena *a, const char *name, int rank, const int *dim);
/* Index of a named tensor, or -1. */
int nn_arena_find(const nn_arena *a, const char *name);
/* Allocates params and grads, both zeroed. */
int nn_arena_alloc(nn_ctx *ctx, nn_arena *a);
/* A zeroed buffer as large as the arena (optimizer state). */
cl_mem nn_arena_alloc_like(nn_ctx *ctx, const nn_arena *a);
int nn_arena_zero_grad(nn_ctx *ctx, nn_arena *a);
nn_buf nn_arena_param(const nn_arena *a, int i);
nn_buf nn_arena_grad(const nn_arena *a, int i);
void nn_arena_free(nn_arena *a);

/* ---- device random draws (same bits as the host draws, rng.h) ---- */
int nn_rng_uniform_dev(nn_ctx *ctx, nn_rng *r, nn_buf out, size_t n, float lo, float hi);
int nn_rng_normal_dev(nn_ctx *ctx, nn_rng *r, nn_buf out, size_t n, float mean, float std);

#endif
