/* srcnn.c: the SRCNN network on the engine's ops (srcnn.h).  The layers
 * are called directly rather than through a sequential model because the
 * same weights run at many spatial sizes (training patches, inference
 * tiles of every size an image border leaves). */
#include <stdlib.h>
#include <string.h>

#include "nn/init.h"
#include "nn/ops.h"
#include "sr/srcnn.h"

int sr_arch_parse(const char *s)
{
	if (strcmp(s, "9-1-5") == 0)
		return 1;
	if (strcmp(s, "9-5-5") == 0)
		return 5;
	return -1;
}

const char *sr_arch_name(int mid)
{
	return mid == 1 ? "9-1-5" : mid == 5 ? "9-5-5" : "?";
}

int sr_halo(int mid)
{
	return 4 + mid / 2 + 2;
}

int sr_model_init(nn_ctx *ctx, sr_model *m, int mid)
{
	memset(m, 0, sizeof *m);
	if (mid != 1 && mid != 5)
		return nn_fail(TG_CL_FAIL, "srcnn: map kernel must be 1 or 5, not %d", mid);
	m->mid = mid;
	nn_arena_init(&m->arena);
	int d1[4] = { SR_C1, 1, 9, 9 }, d1b[1] = { SR_C1 };
	int d2[4] = { SR_C2, SR_C1, mid, mid }, d2b[1] = { SR_C2 };
	int d3[4] = { 1, SR_C2, 5, 5 }, d3b[1] = { 1 };
	m->w1 = nn_arena_add(&m->arena, "features.0.weight", 4, d1);
	m->b1 = nn_arena_add(&m->arena, "features.0.bias", 1, d1b);
	m->w2 = nn_arena_add(&m->arena, "map.0.weight", 4, d2);
	m->b2 = nn_arena_add(&m->arena, "map.0.bias", 1, d2b);
	m->w3 = nn_arena_add(&m->arena, "reconstruction.weight", 4, d3);
	m->b3 = nn_arena_add(&m->arena, "reconstruction.bias", 1, d3b);
	if (m->w1 < 0 || m->b1 < 0 || m->w2 < 0 || m->b2 < 0 || m->w3 < 0 || m->b3 < 0) {
		nn_arena_free(&m->arena);
		return TG_CL_FAIL;
	}
	int st = nn_arena_alloc(ctx, &m->arena);
	if (st != TG_CL_OK)
		nn_arena_free(&m->arena);
	return st;
}

int sr_model_init_weights(nn_ctx *ctx, sr_model *m, nn_rng *r)
{
	int st;
	/* He normal, fan-out: std sqrt(2 / (OC k k)) */
	if ((st = nn_init_kaiming_normal_fan_out(ctx, r, &m->arena, "features.0.weight")) ||
	    (st = nn_init_constant(ctx, &m->arena, "features.0.bias", 0)) ||
	    (st = nn_init_kaiming_normal_fan_out(ctx, r, &m->arena, "map.0.weight")) ||
	    (st = nn_init_constant(ctx, &m->arena, "map.0.bias", 0)) ||
	    (st = nn_init_kaiming_normal_fan_out(ctx, r, &m->arena, "reconstruction.weight")) ||
	    (st = nn_init_normal(ctx, r, &m->arena, "reconstruction.weight", 0.0f, 0.001f)) ||
	    (st = nn_init_constant(ctx, &m->arena, "reconstruction.bias", 0)))
		return st;
	return TG_CL_OK;
}

void sr_model_free(sr_model *m)
{
	nn_arena_free(&m->arena);
}

static void release(nn_buf *b)
{
	if (b->mem)
		clReleaseMemObject(b->mem);
	*b = NN_NONE;
}

void sr_ws_free(sr_ws *ws)
{
	release(&ws->x);
	release(&ws->t);
	release(&ws->a1);
	release(&ws->a2);
	release(&ws->y);
	release(&ws->d1);
	release(&ws->d2);
	release(&ws->dy);
}

static int grab(nn_ctx *ctx, nn_buf *b, size_t n)
{
	if (n > NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "srcnn: a buffer of %zu values is too large", n);
	cl_mem mem = nn_alloc(ctx, n, NULL);
	if (!mem)
		return TG_CL_FAIL;
	*b = nn_buf_of(mem, 0);
	return TG_CL_OK;
}

int sr_ws_alloc(nn_ctx *ctx, sr_ws *ws, int B, int H, int W, int train)
{
	memset(ws, 0, sizeof *ws);
	if (B < 1 || H < 1 || W < 1)
		return nn_fail(TG_CL_FAIL, "srcnn: empty workspace %dx%dx%d", B, H, W);
	ws->B = B;
	ws->H = H;
	ws->W = W;
	ws->train = train;
	size_t px = (size_t)B * (size_t)H * (size_t)W;
	int st;
	/* Inference with 9-1-5 does not use a1 (nn_conv2d_pair_forward)
	 * unless the direct kernels are off or vectors narrow. */
	if ((st = grab(ctx, &ws->x, px)) || (st = grab(ctx, &ws->a1, px * SR_C1)) ||
	    (st = grab(ctx, &ws->a2, px * SR_C2)) || (st = grab(ctx, &ws->y, px)))
		goto fail;
	if (train && ((st = grab(ctx, &ws->t, px)) || (st = grab(ctx, &ws->d1, px * SR_C1)) ||
	              (st = grab(ctx, &ws->d2, px * SR_C2)) || (st = grab(ctx, &ws->dy, px))))
		goto fail;
	return TG_CL_OK;
fail:
	sr_ws_free(ws);
	return st;
}

static int shapes(const sr_model *m, const sr_ws *ws, int B, int H, int W, nn_conv2d g[3])
{
	if (B < 1 || H < 1 || W < 1 || (size_t)B * H * W > (size_t)ws->B * ws->H * ws->W)
		return nn_fail(TG_CL_FAIL, "srcnn: batch %dx%dx%d does not fit the workspace %dx%dx%d",
		               B, H, W, ws->B, ws->H, ws->W);
	int p = m->mid / 2;
	if (nn_conv2d_shape(&g[0], B, 1, H, W, SR_C1, 9, 9, 1, 1, 4, 4) ||
	    nn_conv2d_shape(&g[1], B, SR_C1, H, W, SR_C2, m->mid, m->mid, 1, 1, p, p) ||
	    nn_conv2d_shape(&g[2], B, SR_C2, H, W, 1, 5, 5, 1, 1, 2, 2))
		return TG_CL_FAIL;
	return TG_CL_OK;
}

int sr_forward(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int B, int H, int W)
{
	nn_conv2d g[3];
	int st = shapes(m, ws, B, H, W, g);
	if (st)
		return st;
	const nn_arena *a = &m->arena;
	/* inference (nothing kept for a backward): the first two layers of
	 * 9-1-5 in one pass, a1 never written */
	if (!ws->train && nn_conv2d_pair_fits(ctx, &g[0], &g[1])) {
		if ((st = nn_conv2d_pair_forward(ctx, &g[0], &g[1], ws->a2, ws->x,
		                                 nn_arena_param(a, m->w1), nn_arena_param(a, m->b1),
		                                 nn_arena_param(a, m->w2), nn_arena_param(a, m->b2),
		                                 NN_ACT_RELU, 0.0f)))
			return st;
		return nn_conv2d_forward(ctx, &g[2], ws->y, ws->a2, nn_arena_param(a, m->w3),
		                         nn_arena_param(a, m->b3));
	}
	/* each ReLU in the same pass as its conv */
	if ((st = nn_conv2d_forward_act(ctx, &g[0], ws->a1, ws->x, nn_arena_param(a, m->w1),
	                                nn_arena_param(a, m->b1), NN_ACT_RELU, 0.0f)) ||
	    (st = nn_conv2d_forward_act(ctx, &g[1], ws->a2, ws->a1, nn_arena_param(a, m->w2),
	                                nn_arena_param(a, m->b2), NN_ACT_RELU, 0.0f)) ||
	    (st = nn_conv2d_forward(ctx, &g[2], ws->y, ws->a2, nn_arena_param(a, m->w3),
	                            nn_arena_param(a, m->b3))))
		return st;
	return TG_CL_OK;
}

/* The forward keeps only the ReLUs' outputs, so their backward sees the
 * outputs instead of the inputs: both are positive at the same places,
 * which is all the derivative needs. */
int sr_backward(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int B, int H, int W)
{
	if (!ws->train)
		return nn_fail(TG_CL_FAIL, "srcnn: backward on an inference workspace");
	nn_conv2d g[3];
	int st = shapes(m, ws, B, H, W, g);
	if (st)
		return st;
	const nn_arena *a = &m->arena;
	size_t px = (size_t)B * H * W;
	if ((st = nn_conv2d_backward(ctx, &g[2], ws->d2, nn_arena_grad(a, m->w3),
	                             nn_arena_grad(a, m->b3), ws->dy, ws->a2,
	                             nn_arena_param(a, m->w3))) ||
	    (st = nn_relu_backward(ctx, ws->d2, ws->d2, ws->a2, px * SR_C2)) ||
	    (st = nn_conv2d_backward(ctx, &g[1], ws->d1, nn_arena_grad(a, m->w2),
	                             nn_arena_grad(a, m->b2), ws->d2, ws->a1,
	                             nn_arena_param(a, m->w2))) ||
	    (st = nn_relu_backward(ctx, ws->d1, ws->d1, ws->a1, px * SR_C1)) ||
	    (st = nn_conv2d_backward(ctx, &g[0], NN_NONE, nn_arena_grad(a, m->w1),
	                             nn_arena_grad(a, m->b1), ws->d1, ws->x,
	                             nn_arena_param(a, m->w1))))
		return st;
	return TG_CL_OK;
}

int sr_mse_step(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int B, int H, int W, int grad,
                double *loss)
{
	int st = sr_forward(ctx, m, ws, B, H, W);
	if (st)
		return st;
	size_t n = (size_t)B * H * W;
	if (n > (size_t)INT_MAX)
		return nn_fail(TG_CL_FAIL, "srcnn: batch too large for the loss");
	if ((st = nn_mse_forward(ctx, loss, ws->y, ws->t, 0, (int)n)))
		return st;
	if (!grad)
		return TG_CL_OK;
	if (!ws->train)
		return nn_fail(TG_CL_FAIL, "srcnn: gradient on an inference workspace");
	if ((st = nn_mse_backward(ctx, ws->dy, ws->y, ws->t, 0, (int)n, 1.0f)))
		return st;
	return sr_backward(ctx, m, ws, B, H, W);
}

int sr_apply(nn_ctx *ctx, const sr_model *m, sr_ws *ws, int tile, const float *in, int H, int W,
             float *out)
{
	int h = sr_halo(m->mid);
	if (tile < 1)
		return nn_fail(TG_CL_FAIL, "srcnn: tile size %d", tile);
	/* an image that fits the workspace whole needs no tiles */
	int th = H <= ws->H && W <= ws->W && (size_t)H * W <= (size_t)ws->H * ws->W ? H : tile;
	int tw = th == H ? W : tile;
	if (th != H && (tile + 2 * h > ws->H || tile + 2 * h > ws->W))
		return nn_fail(TG_CL_FAIL, "srcnn: tile %d with halo %d does not fit the workspace %dx%d",
		               tile, h, ws->H, ws->W);
	size_t cap = (size_t)ws->H * ws->W;
	float *buf = malloc(cap * sizeof *buf);
	if (!buf)
		return nn_fail(TG_CL_FAIL, "srcnn: out of memory");
	int st = TG_CL_OK;
	for (int oy0 = 0; oy0 < H && st == TG_CL_OK; oy0 += th) {
		int oy1 = oy0 + th < H ? oy0 + th : H;
		int iy0 = oy0 - h > 0 ? oy0 - h : 0, iy1 = oy1 + h < H ? oy1 + h : H;
		if (th == H)
			iy0 = 0, iy1 = H;
		for (int ox0 = 0; ox0 < W; ox0 += tw) {
			int ox1 = ox0 + tw < W ? ox0 + tw : W;
			int ix0 = ox0 - h > 0 ? ox0 - h : 0, ix1 = ox1 + h < W ? ox1 + h : W;
			if (tw == W)
				ix0 = 0, ix1 = W;
			int rh = iy1 - iy0, rw = ix1 - ix0;
			for (int y = 0; y < rh; y++)
				memcpy(buf + (size_t)y * rw, in + (size_t)(iy0 + y) * W + ix0,
				       (size_t)rw * sizeof *buf);
			size_t n = (size_t)rh * rw;
			if ((st = nn_write(ctx, ws->x, buf, n)) || (st = sr_forward(ctx, m, ws, 1, rh, rw)) ||
			    (st = nn_read(ctx, buf, ws->y, n)))
				break;
			for (int y = oy0; y < oy1; y++)
				memcpy(out + (size_t)y * W + ox0, buf + (size_t)(y - iy0) * rw + (ox0 - ix0),
				       (size_t)(ox1 - ox0) * sizeof *buf);
		}
	}
	free(buf);
	return st;
}
