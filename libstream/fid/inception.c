/* inception.c: pytorch-fid's FID Inception-v3 forward pass (inception.h)
 * on the NN engine, with the non-GEMM kernels in kernels/fid.cl.
 *
 * Layout.  Activations are [C, B, H, W] (kernels/fid.cl): every
 * convolution is then one GEMM per tile of output columns over all images
 * of the batch, W' [OC, C*KH*KW] x col [C*KH*KW, columns], written straight
 * into its rows of the block's output, so concatenation costs nothing; a
 * 1x1 convolution multiplies the activations themselves.  After the GEMM
 * one pass adds the folded BatchNorm bias and applies the ReLU.
 *
 * Memory.  Two activation buffers alternate between the stem's layers and
 * between blocks (input and output of a block); inside a block, branches
 * chain through two temporaries, and a third serves the pooling branch
 * (the 1x1 convolution's output before its average pool, see pool_branch,
 * or Mixed_7c's max-pooled input).  All are sized for the largest layer at
 * the batch given to tg_inception_create and reused by every batch.
 *
 * The network (torchvision's Inception3 with pytorch-fid's patches):
 *   stem  Conv2d_1a_3x3 3->32 /2, 2a 32->32, 2b 32->64 pad 1, max pool 3/2,
 *         3b 1x1 64->80, 4a 80->192, max pool 3/2
 *   A     Mixed_5b/5c/5d (pool features 32/64/64): 1x1 64 | 1x1 48, 5x5 64 |
 *         1x1 64, 3x3 96, 3x3 96 | avg pool 3/1/1 (padding excluded), 1x1
 *   B     Mixed_6a: 3x3/2 384 | 1x1 64, 3x3 96, 3x3/2 96 | max pool 3/2
 *   C     Mixed_6b..6e (c7 128/160/160/192): 1x1 192 | 1x1 c7, 1x7 c7,
 *         7x1 192 | 1x1 c7, 7x1, 1x7, 7x1, 1x7 192 | avg pool, 1x1 192
 *   D     Mixed_7a: 1x1 192, 3x3/2 320 | 1x1 192, 1x7, 7x1, 3x3/2 192 |
 *         max pool 3/2
 *   E     Mixed_7b (avg pool), Mixed_7c (max pool 3/1/1): 1x1 320 |
 *         1x1 384, (1x3 384 ; 3x1 384) | 1x1 448, 3x3 384, (1x3 ; 3x1) |
 *         pool, 1x1 192
 *   global average pool -> 2048. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fid/inception.h"
#include "nn/ops.h"

#define FID_CL "fid.cl"
#define NCONV 94

/* im2col tile: at most this many floats of columns (4 MiB, small enough
 * to stay in cache for the GEMM; 1/4 and 4 times that measured the same
 * within the noise of a busy 2-core machine). */
#define COL_TILE_ELEMS ((size_t)1 << 20)

typedef struct inc_conv {
	char name[48];            /* "Mixed_5b.branch1x1" */
	int cin, cout, kh, kw, s, ph, pw;
	size_t w_off, b_off;      /* folded weights and bias in net->params */
} inc_conv;

/* ---- the layer list, in pytorch-fid's registration order ---- */

typedef struct {
	inc_conv *c;
	int n;
	char prefix[16];
} builder;

static void add(builder *b, const char *name, int cin, int cout, int kh, int kw, int s, int ph,
                int pw)
{
	inc_conv *c = &b->c[b->n++];
	memset(c, 0, sizeof *c);
	if (b->prefix[0])
		snprintf(c->name, sizeof c->name, "%s.%s", b->prefix, name);
	else
		snprintf(c->name, sizeof c->name, "%s", name);
	c->cin = cin, c->cout = cout, c->kh = kh, c->kw = kw, c->s = s, c->ph = ph, c->pw = pw;
}

static void block_a(builder *b, const char *name, int cin, int pf)
{
	snprintf(b->prefix, sizeof b->prefix, "%s", name);
	add(b, "branch1x1", cin, 64, 1, 1, 1, 0, 0);
	add(b, "branch5x5_1", cin, 48, 1, 1, 1, 0, 0);
	add(b, "branch5x5_2", 48, 64, 5, 5, 1, 2, 2);
	add(b, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0, 0);
	add(b, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
	add(b, "branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1);
	add(b, "branch_pool", cin, pf, 1, 1, 1, 0, 0);
}

static void block_c(builder *b, const char *name, int c7)
{
	snprintf(b->prefix, sizeof b->prefix, "%s", name);
	add(b, "branch1x1", 768, 192, 1, 1, 1, 0, 0);
	add(b, "branch7x7_1", 768, c7, 1, 1, 1, 0, 0);
	add(b, "branch7x7_2", c7, c7, 1, 7, 1, 0, 3);
	add(b, "branch7x7_3", c7, 192, 7, 1, 1, 3, 0);
	add(b, "branch7x7dbl_1", 768, c7, 1, 1, 1, 0, 0);
	add(b, "branch7x7dbl_2", c7, c7, 7, 1, 1, 3, 0);
	add(b, "branch7x7dbl_3", c7, c7, 1, 7, 1, 0, 3);
	add(b, "branch7x7dbl_4", c7, c7, 7, 1, 1, 3, 0);
	add(b, "branch7x7dbl_5", c7, 192, 1, 7, 1, 0, 3);
	add(b, "branch_pool", 768, 192, 1, 1, 1, 0, 0);
}

static void block_e(builder *b, const char *name, int cin)
{
	snprintf(b->prefix, sizeof b->prefix, "%s", name);
	add(b, "branch1x1", cin, 320, 1, 1, 1, 0, 0);
	add(b, "branch3x3_1", cin, 384, 1, 1, 1, 0, 0);
	add(b, "branch3x3_2a", 384, 384, 1, 3, 1, 0, 1);
	add(b, "branch3x3_2b", 384, 384, 3, 1, 1, 1, 0);
	add(b, "branch3x3dbl_1", cin, 448, 1, 1, 1, 0, 0);
	add(b, "branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1);
	add(b, "branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1);
	add(b, "branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0);
	add(b, "branch_pool", cin, 192, 1, 1, 1, 0, 0);
}

/* Fills c[NCONV]. */
static void build_layers(inc_conv *c)
{
	builder b = { c, 0, "" };
	add(&b, "Conv2d_1a_3x3", 3, 32, 3, 3, 2, 0, 0);
	add(&b, "Conv2d_2a_3x3", 32, 32, 3, 3, 1, 0, 0);
	add(&b, "Conv2d_2b_3x3", 32, 64, 3, 3, 1, 1, 1);
	add(&b, "Conv2d_3b_1x1", 64, 80, 1, 1, 1, 0, 0);
	add(&b, "Conv2d_4a_3x3", 80, 192, 3, 3, 1, 0, 0);
	block_a(&b, "Mixed_5b", 192, 32);
	block_a(&b, "Mixed_5c", 256, 64);
	block_a(&b, "Mixed_5d", 288, 64);
	snprintf(b.prefix, sizeof b.prefix, "Mixed_6a");
	add(&b, "branch3x3", 288, 384, 3, 3, 2, 0, 0);
	add(&b, "branch3x3dbl_1", 288, 64, 1, 1, 1, 0, 0);
	add(&b, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
	add(&b, "branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0);
	block_c(&b, "Mixed_6b", 128);
	block_c(&b, "Mixed_6c", 160);
	block_c(&b, "Mixed_6d", 160);
	block_c(&b, "Mixed_6e", 192);
	snprintf(b.prefix, sizeof b.prefix, "Mixed_7a");
	add(&b, "branch3x3_1", 768, 192, 1, 1, 1, 0, 0);
	add(&b, "branch3x3_2", 192, 320, 3, 3, 2, 0, 0);
	add(&b, "branch7x7x3_1", 768, 192, 1, 1, 1, 0, 0);
	add(&b, "branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3);
	add(&b, "branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0);
	add(&b, "branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0);
	block_e(&b, "Mixed_7b", 1280);
	block_e(&b, "Mixed_7c", 2048);
}

/* ---- the weight table ---- */

static const char *const bn_parts[] = { "weight", "bias", "running_mean", "running_var",
	                                "num_batches_tracked" };

static void set_tensor(tg_inc_tensor *t, const char *name, int rank, int d0, int d1, int d2,
                       int d3)
{
	size_t len = strlen(name);
	len = len < sizeof t->name - 1 ? len : sizeof t->name - 1;
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->rank = rank;
	t->dim[0] = d0, t->dim[1] = d1, t->dim[2] = d2, t->dim[3] = d3;
	t->numel = 1;
	for (int i = 0; i < rank; i++)
		t->numel *= (size_t)t->dim[i];
}

int tg_inc_weights_init(tg_inc_weights *w)
{
	inc_conv c[NCONV];
	build_layers(c);
	memset(w, 0, sizeof *w);
	int n = NCONV * 6 + 2;
	w->t = calloc((size_t)n, sizeof *w->t);
	if (!w->t)
		return nn_fail(TG_CL_FAIL, "inception weights: out of memory");
	char name[128];
	for (int i = 0; i < NCONV; i++) {
		snprintf(name, sizeof name, "%.48s.conv.weight", c[i].name);
		set_tensor(&w->t[w->n++], name, 4, c[i].cout, c[i].cin, c[i].kh, c[i].kw);
		for (int p = 0; p < 5; p++) {
			snprintf(name, sizeof name, "%.48s.bn.%s", c[i].name, bn_parts[p]);
			set_tensor(&w->t[w->n++], name, p < 4 ? 1 : 0, c[i].cout, 0, 0, 0);
		}
	}
	set_tensor(&w->t[w->n++], "fc.weight", 2, 1008, 2048, 0, 0);
	set_tensor(&w->t[w->n++], "fc.bias", 1, 1008, 0, 0, 0);
	for (int i = 0; i < w->n; i++) {
		w->t[i].data = calloc(w->t[i].numel, sizeof(float));
		if (!w->t[i].data) {
			tg_inc_weights_free(w);
			return nn_fail(TG_CL_FAIL, "inception weights: out of memory");
		}
	}
	return TG_CL_OK;
}

void tg_inc_weights_free(tg_inc_weights *w)
{
	if (w->t)
		for (int i = 0; i < w->n; i++)
			free(w->t[i].data);
	free(w->t);
	memset(w, 0, sizeof *w);
}

tg_inc_tensor *tg_inc_weights_find(const tg_inc_weights *w, const char *name)
{
	for (int i = 0; i < w->n; i++)
		if (strcmp(w->t[i].name, name) == 0)
			return &w->t[i];
	return NULL;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static uint32_t fmix32(uint32_t k)
{
	k ^= k >> 16;
	k *= 0x85ebca6bu;
	k ^= k >> 13;
	k *= 0xc2b2ae35u;
	k ^= k >> 16;
	return k;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* scale and offset of the synthetic rule; 0 when the tensor is all zero */
static int synthetic_rule(const char *name, int rank, const int *dim, double *scale,
                          double *offset)
{
	*offset = 0;
	if (ends_with(name, "num_batches_tracked"))
		return 0;
	if (ends_with(name, "conv.weight") && rank == 4)
		*scale = sqrt(6.0 / ((double)dim[1] * dim[2] * dim[3]));
	else if (ends_with(name, "bn.weight"))
		*scale = 0.25, *offset = 1;
	else if (ends_with(name, "bn.running_var"))
		*scale = 0.5, *offset = 1;
	else if (strcmp(name, "fc.weight") == 0)
		*scale = 1 / sqrt(2048.0);
	else
		*scale = 0.1;
	return 1;
}

static float synthetic_at(uint32_t h, double scale, double offset, size_t i)
{
	uint32_t k = fmix32((uint32_t)i * 0x9E3779B9u + h);
	double u = (double)(k >> 8) * (1.0 / 8388608.0) - 1.0;
	return (float)(scale * u + offset);
}

float tg_inc_synthetic_value(const char *name, int rank, const int *dim, size_t i)
{
	double scale, offset;
	if (!synthetic_rule(name, rank, dim, &scale, &offset))
		return 0.0f;
	return synthetic_at(fnv1a(name), scale, offset, i);
}

void tg_inc_weights_synthetic(tg_inc_weights *w)
{
	for (int t = 0; t < w->n; t++) {
		tg_inc_tensor *x = &w->t[t];
		double scale, offset;
		if (!synthetic_rule(x->name, x->rank, x->dim, &scale, &offset)) {
			memset(x->data, 0, x->numel * sizeof(float));
			continue;
		}
		uint32_t h = fnv1a(x->name);
		for (size_t i = 0; i < x->numel; i++)
			x->data[i] = synthetic_at(h, scale, offset, i);
	}
}

void tg_inc_fold_bn(float *w2, float *b2, const float *w, const float *gamma,
                    const float *beta, const float *mean, const float *var, int OC, int K,
                    float eps)
{
	for (int o = 0; o < OC; o++) {
		double s = (double)gamma[o] / sqrt((double)var[o] + (double)eps);
		for (int k = 0; k < K; k++)
			w2[(size_t)o * K + k] = (float)(s * w[(size_t)o * K + k]);
		b2[o] = (float)((double)beta[o] - s * mean[o]);
	}
}

/* ---- the network ---- */

struct tg_inception {
	nn_ctx *ctx;
	int batch;
	inc_conv conv[NCONV];
	cl_mem params;            /* folded weights and biases */
	cl_mem act[2];            /* stem layers and block inputs/outputs */
	cl_mem tmp[3];            /* branch chains (0, 1) and pooled input (2) */
	cl_mem input;             /* frames [B, H, W] as uploaded */
	size_t input_elems;
	cl_mem feat;              /* [C, B] spatial means */
	float *host;              /* [C, B] read back */
};

/* An activation [C, B, H, W] at an offset of a buffer. */
typedef struct {
	cl_mem mem;
	size_t off;
	int C, H, W;
} act;

static act at(cl_mem m, size_t off, int C, int H, int W)
{
	act a = { m, off, C, H, W };
	return a;
}

/* Channels [c0, ...) of y for B images. */
static size_t chan(const act *y, int c0, int B)
{
	return y->off + (size_t)c0 * B * y->H * y->W;
}

int tg_inc_tap_dims(int tap)
{
	static const int d[TG_INC_NTAPS] = { 64, 192, 768, 2048 };
	return tap >= 0 && tap < TG_INC_NTAPS ? d[tap] : 0;
}

int tg_inc_tap_of_dims(int dims)
{
	for (int t = 0; t < TG_INC_NTAPS; t++)
		if (tg_inc_tap_dims(t) == dims)
			return t;
	return -1;
}

int tg_inception_batch(const tg_inception *net)
{
	return net->batch;
}

void tg_inception_free(tg_inception *net)
{
	if (!net)
		return;
	cl_mem *m[] = { &net->params, &net->act[0], &net->act[1], &net->tmp[0], &net->tmp[1],
		        &net->tmp[2], &net->input, &net->feat };
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (*m[i])
			clReleaseMemObject(*m[i]);
	free(net->host);
	free(net);
}

/* Per-image floats of the activation buffers (the largest layer outputs
 * at 299 x 299): act 64 x 147 x 147 (Conv2d_2b), branch temporaries
 * 96 x 35 x 35, pooled input of Mixed_7c 2048 x 8 x 8 (the other pooling
 * branches pool 64 x 35 x 35 at most, see pool_branch). */
#define ACT_PER_IMAGE ((size_t)64 * 147 * 147)
#define TMP_PER_IMAGE ((size_t)96 * 35 * 35)
#define POOL_PER_IMAGE ((size_t)2048 * 8 * 8)

static const tg_inc_tensor *need(const tg_inc_weights *w, const char *layer, const char *part,
                                 size_t numel)
{
	char name[128];
	snprintf(name, sizeof name, "%.48s.%s", layer, part);
	const tg_inc_tensor *t = tg_inc_weights_find(w, name);
	if (!t || t->numel != numel || !t->data) {
		nn_fail(TG_CL_FAIL, "inception weights: %s %s", name, t ? "has the wrong size" : "missing");
		return NULL;
	}
	return t;
}

/* Folds the BatchNorms and uploads everything to net->params. */
static int upload(tg_inception *net, const tg_inc_weights *w)
{
	size_t total = 0;
	for (int i = 0; i < NCONV; i++) {
		inc_conv *c = &net->conv[i];
		int cin = i == 0 ? 1 : c->cin;   /* the first conv: channels summed */
		c->w_off = total;
		total += ((size_t)c->cout * cin * c->kh * c->kw + 15) / 16 * 16;
		c->b_off = total;
		total += ((size_t)c->cout + 15) / 16 * 16;
	}
	float *host = calloc(total, sizeof(float));
	float *tmpw = NULL;
	if (!host)
		return nn_fail(TG_CL_FAIL, "inception: out of memory");
	int st = TG_CL_OK;
	for (int i = 0; i < NCONV && st == TG_CL_OK; i++) {
		inc_conv *c = &net->conv[i];
		size_t K = (size_t)c->cin * c->kh * c->kw;
		const tg_inc_tensor *cw = need(w, c->name, "conv.weight", c->cout * K);
		const tg_inc_tensor *g = need(w, c->name, "bn.weight", c->cout);
		const tg_inc_tensor *be = need(w, c->name, "bn.bias", c->cout);
		const tg_inc_tensor *m = need(w, c->name, "bn.running_mean", c->cout);
		const tg_inc_tensor *v = need(w, c->name, "bn.running_var", c->cout);
		if (!cw || !g || !be || !m || !v) {
			st = TG_CL_FAIL;
			break;
		}
		if (i > 0) {
			tg_inc_fold_bn(host + c->w_off, host + c->b_off, cw->data, g->data, be->data,
			               m->data, v->data, c->cout, (int)K, TG_INC_BN_EPS);
			continue;
		}
		/* Three equal input channels: one channel with the sum of the
		 * folded weights over c. */
		free(tmpw);
		tmpw = malloc(c->cout * K * sizeof(float));
		if (!tmpw) {
			st = nn_fail(TG_CL_FAIL, "inception: out of memory");
			break;
		}
		tg_inc_fold_bn(tmpw, host + c->b_off, cw->data, g->data, be->data, m->data, v->data,
		               c->cout, (int)K, TG_INC_BN_EPS);
		size_t kk = (size_t)c->kh * c->kw;
		for (int o = 0; o < c->cout; o++)
			for (size_t k = 0; k < kk; k++) {
				double s = 0;
				for (int ch = 0; ch < c->cin; ch++)
					s += tmpw[((size_t)o * c->cin + ch) * kk + k];
				host[c->w_off + o * kk + k] = (float)s;
			}
	}
	free(tmpw);
	if (st == TG_CL_OK) {
		net->params = nn_alloc(net->ctx, total, host);
		if (!net->params)
			st = TG_CL_FAIL;
	}
	free(host);
	return st;
}

int tg_inception_create(tg_inception **out, nn_ctx *ctx, const tg_inc_weights *w, int batch)
{
	*out = NULL;
	if (batch < 1)
		return nn_fail(TG_CL_FAIL, "inception: batch must be at least 1");
	size_t limit = ctx->cl->max_alloc / sizeof(float);
	if ((double)ACT_PER_IMAGE * batch > (double)limit ||
	    (double)ACT_PER_IMAGE * batch >= (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "inception: batch %d too large for the device (at most %zu)",
		               batch, (limit < NN_MAX_ELEMS ? limit : NN_MAX_ELEMS) / ACT_PER_IMAGE);
	tg_inception *net = calloc(1, sizeof *net);
	if (!net)
		return nn_fail(TG_CL_FAIL, "inception: out of memory");
	net->ctx = ctx;
	net->batch = batch;
	build_layers(net->conv);
	int st = upload(net, w);
	size_t B = (size_t)batch;
	if (st == TG_CL_OK) {
		net->act[0] = nn_alloc(ctx, ACT_PER_IMAGE * B, NULL);
		net->act[1] = nn_alloc(ctx, ACT_PER_IMAGE * B, NULL);
		net->tmp[0] = nn_alloc(ctx, TMP_PER_IMAGE * B, NULL);
		net->tmp[1] = nn_alloc(ctx, TMP_PER_IMAGE * B, NULL);
		net->tmp[2] = nn_alloc(ctx, POOL_PER_IMAGE * B, NULL);
		net->feat = nn_alloc(ctx, 2048 * B, NULL);
		net->host = malloc(2048 * B * sizeof(float));
		if (!net->act[0] || !net->act[1] || !net->tmp[0] || !net->tmp[1] || !net->tmp[2] ||
		    !net->feat)
			st = TG_CL_FAIL;
		else if (!net->host)
			st = nn_fail(TG_CL_FAIL, "inception: out of memory");
	}
	if (st != TG_CL_OK) {
		tg_inception_free(net);
		return st;
	}
	*out = net;
	return TG_CL_OK;
}

/* ---- layers ---- */

static int args_end(cl_int err, const char *what)
{
	if (err != CL_SUCCESS)
		return nn_fail(TG_CL_FAIL, "%s: setting arguments: %s", what, tg_cl_errname(err));
	return TG_CL_OK;
}

static int launch2(nn_ctx *ctx, cl_kernel k, const char *what, size_t n0, size_t n1)
{
	int st = nn_run2(ctx, k, n0, n1);
	return st == TG_CL_OK ? st : nn_fail_cl(st, what);
}

static int gemm(nn_ctx *ctx, size_t M, size_t N, size_t K, cl_mem A, size_t oa, size_t lda,
                cl_mem Bm, size_t ob, size_t ldb, cl_mem C, size_t oc, size_t ldc)
{
	int st = tg_gemm(ctx->cl, 0, 0, M, N, K, 1.0f, A, oa, lda, Bm, ob, ldb, 0.0f, C, oc, ldc);
	return st == TG_CL_OK ? st : nn_fail_cl(st, "inception: GEMM");
}

/* The output of layer c on x: its size (y.C, y.H, y.W) at (m, off). */
static act conv_out(const inc_conv *c, act x, cl_mem m, size_t off)
{
	return at(m, off, c->cout, (x.H + 2 * c->ph - c->kh) / c->s + 1,
	          (x.W + 2 * c->pw - c->kw) / c->s + 1);
}

/* y = conv(x) with the folded weights of layer c (no bias), for B images;
 * y from conv_out. */
static int conv_only(tg_inception *net, const inc_conv *c, act x, act y, int B)
{
	nn_ctx *ctx = net->ctx;
	int cin = x.C, OH = y.H, OW = y.W;
	size_t K = (size_t)cin * c->kh * c->kw, N = (size_t)B * OH * OW;
	int st = TG_CL_OK;
	if (c->kh == 1 && c->kw == 1 && c->s == 1 && c->ph == 0 && c->pw == 0) {
		st = gemm(ctx, c->cout, N, K, net->params, c->w_off, K, x.mem, x.off, N, y.mem, y.off, N);
	} else {
		cl_kernel k = nn_kernel(ctx, FID_CL, "fid_im2col");
		if (!k)
			return ctx->status;
		size_t rows = (size_t)B * OH;
		size_t nr = COL_TILE_ELEMS / (K * OW);
		nr = nr < 1 ? 1 : nr > rows ? rows : nr;
		cl_mem col;
		if ((st = nn_scratch(ctx, K * nr * OW, &col)) != TG_CL_OK)
			return st;
		for (size_t r0 = 0; r0 < rows && st == TG_CL_OK; r0 += nr) {
			int n = (int)(rows - r0 < nr ? rows - r0 : nr);
			cl_ulong zero = 0, xo = x.off;
			int v[] = { x.C, B, x.H, x.W, c->kh, c->kw, c->s, c->s, c->ph, c->pw, OH, OW,
			            (int)r0, n };
			cl_int err = clSetKernelArg(k, 0, sizeof(cl_mem), &col);
			err |= clSetKernelArg(k, 1, sizeof(cl_ulong), &zero);
			err |= clSetKernelArg(k, 2, sizeof(cl_mem), &x.mem);
			err |= clSetKernelArg(k, 3, sizeof(cl_ulong), &xo);
			for (int i = 0; i < 14; i++)
				err |= clSetKernelArg(k, 4 + i, sizeof(int), &v[i]);
			if ((st = args_end(err, "fid_im2col")) != TG_CL_OK)
				break;
			if ((st = launch2(ctx, k, "fid_im2col", (size_t)n, K)) != TG_CL_OK)
				break;
			st = gemm(ctx, c->cout, (size_t)n * OW, K, net->params, c->w_off, K, col, 0,
			          (size_t)n * OW, y.mem, y.off + r0 * OW, N);
		}
	}
	return st;
}

/* y = ReLU(y + b) with the folded bias of layer c, for B images. */
static int bias_relu(tg_inception *net, const inc_conv *c, act y, int B)
{
	nn_ctx *ctx = net->ctx;
	size_t N = (size_t)B * y.H * y.W;
	cl_kernel k = nn_kernel(ctx, FID_CL, "fid_bias_relu");
	if (!k)
		return ctx->status;
	int st;
	cl_ulong yo = y.off, bo = c->b_off;
	int n = (int)N;
	cl_int err = clSetKernelArg(k, 0, sizeof(cl_mem), &y.mem);
	err |= clSetKernelArg(k, 1, sizeof(cl_ulong), &yo);
	err |= clSetKernelArg(k, 2, sizeof(cl_mem), &net->params);
	err |= clSetKernelArg(k, 3, sizeof(cl_ulong), &bo);
	err |= clSetKernelArg(k, 4, sizeof(int), &n);
	if ((st = args_end(err, "fid_bias_relu")) != TG_CL_OK)
		return st;
	return launch2(ctx, k, "fid_bias_relu", N, (size_t)c->cout);
}

/* y = ReLU(conv(x) + b): a BasicConv2d with its BatchNorm folded. */
static int conv_relu(tg_inception *net, const inc_conv *c, act x, act y, int B)
{
	int st = conv_only(net, c, x, y, B);
	return st == TG_CL_OK ? bias_relu(net, c, y, B) : st;
}

/* 3 x 3 pooling of x (stride S, padding PD; mode 0 max, 1 mean without
 * the padding) into y at (m, off). */
static int pool(tg_inception *net, act x, cl_mem m, size_t off, int K, int S, int PD, int mode,
                int B, act *y)
{
	nn_ctx *ctx = net->ctx;
	const char *name = mode ? "fid_avgpool3" : "fid_maxpool3";
	if (K != 3)
		return nn_fail(TG_CL_FAIL, "inception: pooling window %d (internal error)", K);
	*y = at(m, off, x.C, (x.H + 2 * PD - K) / S + 1, (x.W + 2 * PD - K) / S + 1);
	cl_kernel k = nn_kernel(ctx, FID_CL, name);
	if (!k)
		return ctx->status;
	cl_ulong yo = off, xo = x.off;
	int v[] = { x.H, x.W, y->H, y->W, S, PD };
	cl_int err = clSetKernelArg(k, 0, sizeof(cl_mem), &m);
	err |= clSetKernelArg(k, 1, sizeof(cl_ulong), &yo);
	err |= clSetKernelArg(k, 2, sizeof(cl_mem), &x.mem);
	err |= clSetKernelArg(k, 3, sizeof(cl_ulong), &xo);
	for (int i = 0; i < 6; i++)
		err |= clSetKernelArg(k, 4 + i, sizeof(int), &v[i]);
	int st = args_end(err, name);
	if (st != TG_CL_OK)
		return st;
	return launch2(ctx, k, name, (size_t)y->W, (size_t)x.C * B);
}

/* Layer li on x into a temporary buffer m (from offset 0); *y its output. */
static int to_tmp(tg_inception *net, int li, act x, cl_mem m, int B, act *y)
{
	*y = conv_out(&net->conv[li], x, m, 0);
	return conv_relu(net, &net->conv[li], x, *y, B);
}

/* Layer li on x into channels [c0, ...) of the block output y. */
static int to_out(tg_inception *net, int li, act x, const act *y, int c0, int B)
{
	act s = conv_out(&net->conv[li], x, y->mem, chan(y, c0, B));
	if (s.H != y->H || s.W != y->W || c0 + s.C > y->C)
		return nn_fail(TG_CL_FAIL, "inception: %s does not fit its block (internal error)",
		               net->conv[li].name);
	return conv_relu(net, &net->conv[li], x, s, B);
}

/* The average-pool branch of blocks A, C and E_1: layer li (1x1) of
 * avg_pool(x) into channels [c0, ...) of y.  The pool (3x3, stride 1, pad
 * 1, mean over the elements inside the image) runs after the convolution
 * instead, on li's fewer channels: both are linear and the pool's weights
 * sum to 1 at every output, so pool(W'x) + b' = W' pool(x) + b' up to
 * float rounding. */
static int pool_branch(tg_inception *net, int li, act x, const act *y, int c0, int B)
{
	const inc_conv *c = &net->conv[li];
	act t = conv_out(c, x, net->tmp[2], 0), s;
	int st = conv_only(net, c, x, t, B);
	if (st == TG_CL_OK)
		st = pool(net, t, y->mem, chan(y, c0, B), 3, 1, 1, 1, B, &s);
	return st == TG_CL_OK ? bias_relu(net, c, s, B) : st;
}

#define TRY(e) do { if ((st = (e)) != TG_CL_OK) return st; } while (0)

/* Mixed_5b/5c/5d (FIDInceptionA), layers L..L+6. */
static int block_a_run(tg_inception *net, int L, act x, cl_mem out, int B, act *y)
{
	int st;
	act t, u;
	*y = at(out, 0, 64 + 64 + 96 + net->conv[L + 6].cout, x.H, x.W);
	TRY(to_out(net, L, x, y, 0, B));
	TRY(to_tmp(net, L + 1, x, net->tmp[0], B, &t));
	TRY(to_out(net, L + 2, t, y, 64, B));
	TRY(to_tmp(net, L + 3, x, net->tmp[0], B, &t));
	TRY(to_tmp(net, L + 4, t, net->tmp[1], B, &u));
	TRY(to_out(net, L + 5, u, y, 128, B));
	return pool_branch(net, L + 6, x, y, 224, B);
}

/* Mixed_6a (InceptionB), layers L..L+3. */
static int block_b_run(tg_inception *net, int L, act x, cl_mem out, int B, act *y)
{
	int st;
	act t, u, p;
	*y = at(out, 0, 384 + 96 + x.C, (x.H - 3) / 2 + 1, (x.W - 3) / 2 + 1);
	TRY(to_out(net, L, x, y, 0, B));
	TRY(to_tmp(net, L + 1, x, net->tmp[0], B, &t));
	TRY(to_tmp(net, L + 2, t, net->tmp[1], B, &u));
	TRY(to_out(net, L + 3, u, y, 384, B));
	return pool(net, x, y->mem, chan(y, 480, B), 3, 2, 0, 0, B, &p);
}

/* Mixed_6b..6e (FIDInceptionC), layers L..L+9. */
static int block_c_run(tg_inception *net, int L, act x, cl_mem out, int B, act *y)
{
	int st;
	act t, u;
	*y = at(out, 0, 768, x.H, x.W);
	TRY(to_out(net, L, x, y, 0, B));
	TRY(to_tmp(net, L + 1, x, net->tmp[0], B, &t));
	TRY(to_tmp(net, L + 2, t, net->tmp[1], B, &u));
	TRY(to_out(net, L + 3, u, y, 192, B));
	TRY(to_tmp(net, L + 4, x, net->tmp[0], B, &t));
	TRY(to_tmp(net, L + 5, t, net->tmp[1], B, &u));
	TRY(to_tmp(net, L + 6, u, net->tmp[0], B, &t));
	TRY(to_tmp(net, L + 7, t, net->tmp[1], B, &u));
	TRY(to_out(net, L + 8, u, y, 384, B));
	return pool_branch(net, L + 9, x, y, 576, B);
}

/* Mixed_7a (InceptionD), layers L..L+5. */
static int block_d_run(tg_inception *net, int L, act x, cl_mem out, int B, act *y)
{
	int st;
	act t, u, p;
	*y = at(out, 0, 320 + 192 + x.C, (x.H - 3) / 2 + 1, (x.W - 3) / 2 + 1);
	TRY(to_tmp(net, L, x, net->tmp[0], B, &t));
	TRY(to_out(net, L + 1, t, y, 0, B));
	TRY(to_tmp(net, L + 2, x, net->tmp[0], B, &t));
	TRY(to_tmp(net, L + 3, t, net->tmp[1], B, &u));
	TRY(to_tmp(net, L + 4, u, net->tmp[0], B, &t));
	TRY(to_out(net, L + 5, t, y, 320, B));
	return pool(net, x, y->mem, chan(y, 512, B), 3, 2, 0, 0, B, &p);
}

/* Mixed_7b (FIDInceptionE_1, avg pool) and 7c (FIDInceptionE_2, max
 * pool), layers L..L+8. */
static int block_e_run(tg_inception *net, int L, act x, cl_mem out, int B, int maxpool, act *y)
{
	int st;
	act t, u, p;
	*y = at(out, 0, 2048, x.H, x.W);
	TRY(to_out(net, L, x, y, 0, B));
	TRY(to_tmp(net, L + 1, x, net->tmp[0], B, &t));
	TRY(to_out(net, L + 2, t, y, 320, B));
	TRY(to_out(net, L + 3, t, y, 704, B));
	TRY(to_tmp(net, L + 4, x, net->tmp[0], B, &t));
	TRY(to_tmp(net, L + 5, t, net->tmp[1], B, &u));
	TRY(to_out(net, L + 6, u, y, 1088, B));
	TRY(to_out(net, L + 7, u, y, 1472, B));
	if (!maxpool)
		return pool_branch(net, L + 8, x, y, 1856, B);
	TRY(pool(net, x, net->tmp[2], 0, 3, 1, 1, 0, B, &p));
	return to_out(net, L + 8, p, y, 1856, B);
}

/* out [B, C] = spatial means of x. */
static int tap_out(tg_inception *net, act x, int B, float *out)
{
	nn_ctx *ctx = net->ctx;
	int st = nn_global_avgpool_forward(ctx, nn_buf_of(net->feat, 0), nn_buf_of(x.mem, x.off), 1,
	                                   x.C * B, x.H * x.W);
	if (st == TG_CL_OK)
		st = nn_read(ctx, net->host, nn_buf_of(net->feat, 0), (size_t)x.C * B);
	if (st != TG_CL_OK)
		return st;
	for (int b = 0; b < B; b++)
		for (int c = 0; c < x.C; c++)
			out[(size_t)b * x.C + c] = net->host[(size_t)c * B + b];
	return TG_CL_OK;
}

/* One batch of B frames (already in net->input, H x W). */
static int forward_batch(tg_inception *net, int B, int H, int W, float *out[TG_INC_NTAPS],
                         size_t done)
{
	nn_ctx *ctx = net->ctx;
	int st, last = -1;
	for (int t = 0; t < TG_INC_NTAPS; t++)
		if (out[t])
			last = t;
	if (last < 0)
		return TG_CL_OK;
	/* resize to 299 x 299, 2v - 1: act[0] = [1, B, 299, 299] */
	cl_kernel k = nn_kernel(ctx, FID_CL, "fid_resize");
	if (!k)
		return ctx->status;
	cl_ulong zero = 0;
	int v[] = { H, W, TG_INC_SIZE, TG_INC_SIZE };
	float sh = (float)H / (float)TG_INC_SIZE, sw = (float)W / (float)TG_INC_SIZE;
	cl_int err = clSetKernelArg(k, 0, sizeof(cl_mem), &net->act[0]);
	err |= clSetKernelArg(k, 1, sizeof(cl_ulong), &zero);
	err |= clSetKernelArg(k, 2, sizeof(cl_mem), &net->input);
	err |= clSetKernelArg(k, 3, sizeof(cl_ulong), &zero);
	for (int i = 0; i < 4; i++)
		err |= clSetKernelArg(k, 4 + i, sizeof(int), &v[i]);
	err |= clSetKernelArg(k, 8, sizeof(float), &sh);
	err |= clSetKernelArg(k, 9, sizeof(float), &sw);
	TRY(args_end(err, "fid_resize"));
	TRY(launch2(ctx, k, "fid_resize", TG_INC_SIZE, (size_t)B * TG_INC_SIZE));

	cl_mem *A = net->act;
	act x = at(A[0], 0, 1, TG_INC_SIZE, TG_INC_SIZE), y;
	static const int stem_dst[] = { 1, 0, 1 };
	for (int i = 0; i < 3; i++) {
		y = conv_out(&net->conv[i], x, A[stem_dst[i]], 0);
		TRY(conv_relu(net, &net->conv[i], x, y, B));
		x = y;
	}
	TRY(pool(net, x, A[0], 0, 3, 2, 0, 0, B, &x));
	if (out[TG_INC_TAP64])
		TRY(tap_out(net, x, B, out[TG_INC_TAP64] + done * 64));
	if (last == TG_INC_TAP64)
		return TG_CL_OK;
	y = conv_out(&net->conv[3], x, A[1], 0);
	TRY(conv_relu(net, &net->conv[3], x, y, B));
	x = y;
	y = conv_out(&net->conv[4], x, A[0], 0);
	TRY(conv_relu(net, &net->conv[4], x, y, B));
	TRY(pool(net, y, A[1], 0, 3, 2, 0, 0, B, &x));
	if (out[TG_INC_TAP192])
		TRY(tap_out(net, x, B, out[TG_INC_TAP192] + done * 192));
	if (last == TG_INC_TAP192)
		return TG_CL_OK;
	/* x in A[1]; blocks alternate A[0], A[1] */
	int L = 5, cur = 1;
	for (int i = 0; i < 3; i++, L += 7, cur ^= 1) {
		TRY(block_a_run(net, L, x, A[cur ^ 1], B, &y));
		x = y;
	}
	TRY(block_b_run(net, L, x, A[cur ^ 1], B, &y));
	x = y, L += 4, cur ^= 1;
	for (int i = 0; i < 4; i++, L += 10, cur ^= 1) {
		TRY(block_c_run(net, L, x, A[cur ^ 1], B, &y));
		x = y;
	}
	if (out[TG_INC_TAP768])
		TRY(tap_out(net, x, B, out[TG_INC_TAP768] + done * 768));
	if (last == TG_INC_TAP768)
		return TG_CL_OK;
	TRY(block_d_run(net, L, x, A[cur ^ 1], B, &y));
	x = y, L += 6, cur ^= 1;
	TRY(block_e_run(net, L, x, A[cur ^ 1], B, 0, &y));
	x = y, L += 9, cur ^= 1;
	TRY(block_e_run(net, L, x, A[cur ^ 1], B, 1, &y));
	return tap_out(net, y, B, out[TG_INC_TAP2048] + done * 2048);
}

int tg_inception_forward_taps(tg_inception *net, const float *frames, int n, int H, int W,
                              float *out[TG_INC_NTAPS])
{
	nn_ctx *ctx = net->ctx;
	if (n < 0 || H < 1 || W < 1)
		return nn_fail(TG_CL_FAIL, "inception: bad frame count or size (%d frames of %dx%d)",
		               n, H, W);
	size_t hw = (size_t)H * W, chunk = hw * (size_t)(n < net->batch ? n : net->batch);
	if ((double)hw * net->batch >= (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "inception: frames of %dx%d are too large", H, W);
	if (chunk > net->input_elems) {
		if (net->input)
			clReleaseMemObject(net->input);
		net->input_elems = 0;
		if (!(net->input = nn_alloc(ctx, chunk, NULL)))
			return TG_CL_FAIL;
		net->input_elems = chunk;
	}
	int st = TG_CL_OK;
	for (int i = 0; i < n && st == TG_CL_OK; i += net->batch) {
		int B = n - i < net->batch ? n - i : net->batch;
		st = nn_write(ctx, nn_buf_of(net->input, 0), frames + (size_t)i * hw, (size_t)B * hw);
		if (st == TG_CL_OK)
			st = forward_batch(net, B, H, W, out, (size_t)i);
	}
	return st;
}

int tg_inception_forward(tg_inception *net, const float *frames, int n, int H, int W, int dims,
                         float *feat)
{
	int tap = tg_inc_tap_of_dims(dims);
	if (tap < 0)
		return nn_fail(TG_CL_FAIL, "inception: %d dimensions (64, 192, 768 or 2048)", dims);
	float *out[TG_INC_NTAPS] = { NULL, NULL, NULL, NULL };
	out[tap] = feat;
	return tg_inception_forward_taps(net, frames, n, H, W, out);
}
