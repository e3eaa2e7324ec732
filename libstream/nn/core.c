/* core.c: engine context, kernel cache, scratch, buffers, parameter arena. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/internal.h"
#include "nn/ops.h"

static char nn_msg[512];

const char *nn_error(void)
{
	return nn_msg;
}

int nn_fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(nn_msg, sizeof nn_msg, fmt, ap);
	va_end(ap);
	return status;
}

int nn_fail_cl(int status, const char *what)
{
	return nn_fail(status, "%s: %s", what, tg_cl_error());
}

size_t nn_numel(const nn_tensor *t)
{
	size_t n = 1;
	for (int i = 0; i < t->rank; i++)
		n *= (size_t)t->dim[i];
	return n;
}

int nn_tensor_alloc(nn_ctx *ctx, nn_tensor *t, int rank, const int *dim)
{
	memset(t, 0, sizeof *t);
	if (rank < 1 || rank > 4)
		return nn_fail(TG_CL_FAIL, "tensor of rank %d (1 to 4 allowed)", rank);
	size_t n = 1;
	for (int i = 0; i < rank; i++) {
		if (dim[i] < 1 || n > NN_MAX_ELEMS / (size_t)dim[i])
			return nn_fail(TG_CL_FAIL, "tensor dimension %d: bad or too large size %d", i,
			               dim[i]);
		n *= (size_t)dim[i];
		t->dim[i] = dim[i];
	}
	t->rank = rank;
	cl_mem m = nn_alloc(ctx, n, NULL);
	if (!m)
		return TG_CL_FAIL;
	t->buf = nn_buf_of(m, 0);
	int st = nn_fill(ctx, t->buf, n, 0.0f);
	if (st != TG_CL_OK)
		nn_tensor_free(t);
	return st;
}

void nn_tensor_free(nn_tensor *t)
{
	if (t->buf.mem)
		clReleaseMemObject(t->buf.mem);
	memset(t, 0, sizeof *t);
}

int nn_ctx_init(nn_ctx *ctx, tg_cl *cl)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->cl = cl;
	/* 256 work-items per group: PoCL runs a group as one loop on one core,
	 * so larger groups amortise its per-group cost; GPUs take it too. */
	ctx->wg = cl->max_wg < 256 ? cl->max_wg : 256;
	if (ctx->wg < 64)
		return nn_fail(TG_CL_FAIL, "device allows only %zu work-items per group (64 needed)",
		               ctx->wg);
	ctx->col_cols = 4096;
	ctx->flip_dx = 1;
	ctx->conv_shift = 1;
	ctx->fuse_act = 1;
	ctx->s2_direct = 1;
	ctx->s1_direct = 1;
	ctx->c1_last = 1;
	ctx->strips5 = 1;
	/* The direct conv kernels are written for a CPU device: one work-item
	 * walks a whole row or plane, which keeps PoCL's loops long and its
	 * caches warm but leaves a GPU's thousands of lanes idle (on an H200
	 * they made a wgan-gp 64^2 iteration take 13 s, 95% of it in them).
	 * Elsewhere the convs run as GEMMs. */
	ctx->conv_direct = cl->is_cpu;
	ctx->conv_planes = cl->is_cpu;
	/* The kernels for many input and output channels hold 8 to 16 float16
	 * accumulators: 16 of AVX-512's 32 registers, but all of AVX2's 16
	 * twice over.  With AVX2 (PoCL's native width 8) they spilled and ran
	 * at 55-62 GFLOP/s where the GEMM paths ran at 100-138 (bench_conv -p
	 * 0 -d 0, G and D layers at batch 64; sgemm 179); the kernels for one
	 * input or output channel still beat the GEMMs there, 2-5x. */
	ctx->conv_multi = cl->is_cpu && cl->vec_width >= 16;
	ctx->vec_narrow = cl->vec_width < 16;
	if (!cl->is_cpu) {
		/* and as few GEMMs as the scratch limits allow: wide im2col
		 * tiles, shifted GEMMs over whole groups of images (each launch
		 * costs a GPU about 0.1 ms, against microseconds on PoCL) */
		ctx->col_cols = (size_t)1 << 20;
		ctx->shift_merge_n = (size_t)1 << 30;
	}
	return TG_CL_OK;
}

void nn_ctx_free(nn_ctx *ctx)
{
	if (ctx->scratch)
		clReleaseMemObject(ctx->scratch);
	if (ctx->partial)
		clReleaseMemObject(ctx->partial);
	if (ctx->aux)
		clReleaseMemObject(ctx->aux);
	/* Kernels belong to the runtime (ocl.h): not released here. */
	memset(ctx, 0, sizeof *ctx);
}

cl_kernel nn_kernel(nn_ctx *ctx, const char *file, const char *name)
{
	/* Callers pass string literals, so pointers identify kernels; names
	 * are compared as well in case equal literals are not merged. */
	for (int i = 0; i < ctx->nkern; i++)
		if ((ctx->kern[i].name == name || strcmp(ctx->kern[i].name, name) == 0) &&
		    (ctx->kern[i].file == file || strcmp(ctx->kern[i].file, file) == 0))
			return ctx->kern[i].k;
	if (ctx->nkern == NN_MAX_KERNELS) {
		ctx->status = nn_fail(TG_CL_FAIL, "%s: too many kernels (NN_MAX_KERNELS)", name);
		return NULL;
	}
	cl_kernel k = tg_cl_kernel(ctx->cl, file, name, NULL);
	if (!k) {
		ctx->status = nn_fail(TG_CL_BUILD, "kernel %s of %s: %s", name, file, tg_cl_error());
		return NULL;
	}
	ctx->kern[ctx->nkern].file = file;
	ctx->kern[ctx->nkern].name = name;
	ctx->kern[ctx->nkern].k = k;
	ctx->nkern++;
	return k;
}

static size_t round_up(size_t n, size_t m)
{
	return (n + m - 1) / m * m;
}

int nn_run1(nn_ctx *ctx, cl_kernel k, size_t n)
{
	if (n == 0)
		return TG_CL_OK;
	size_t local = ctx->wg;
	size_t global = round_up(n, local);
	return tg_cl_run(ctx->cl, k, 1, &global, &local);
}

int nn_run2(nn_ctx *ctx, cl_kernel k, size_t n0, size_t n1)
{
	if (n0 == 0 || n1 == 0)
		return TG_CL_OK;
	/* Short rows (small images) get a smaller group along dimension 0. */
	size_t l0 = ctx->wg;
	while (l0 > 16 && l0 / 2 >= n0)
		l0 /= 2;
	size_t local[2] = { l0, 1 };
	size_t global[2] = { round_up(n0, l0), n1 };
	return tg_cl_run(ctx->cl, k, 2, global, local);
}

static int grow(nn_ctx *ctx, cl_mem *buf, size_t *have, size_t elems, cl_mem *out)
{
	if (elems == 0)
		elems = 1;
	if (elems > *have) {
		if (*buf)
			clReleaseMemObject(*buf);
		*buf = NULL;
		*have = 0;
		if (elems > ctx->cl->max_alloc / sizeof(float))
			return nn_fail(TG_CL_FAIL, "scratch of %zu floats exceeds the device's largest buffer",
			               elems);
		*buf = tg_cl_alloc(ctx->cl, elems * sizeof(float), NULL);
		if (!*buf)
			return nn_fail_cl(TG_CL_FAIL, "scratch buffer");
		*have = elems;
	}
	*out = *buf;
	return TG_CL_OK;
}

int nn_scratch(nn_ctx *ctx, size_t elems, cl_mem *out)
{
	return grow(ctx, &ctx->scratch, &ctx->scratch_elems, elems, out);
}

int nn_scratch_aux(nn_ctx *ctx, size_t elems, cl_mem *out)
{
	return grow(ctx, &ctx->aux, &ctx->aux_elems, elems, out);
}

cl_mem nn_alloc(nn_ctx *ctx, size_t elems, const float *host)
{
	if (elems == 0)
		elems = 1;
	if (elems > ctx->cl->max_alloc / sizeof(float)) {
		nn_fail(TG_CL_FAIL, "buffer of %zu floats exceeds the device's largest buffer", elems);
		return NULL;
	}
	cl_mem m = tg_cl_alloc(ctx->cl, elems * sizeof(float), host);
	if (!m)
		nn_fail_cl(TG_CL_FAIL, "device buffer");
	return m;
}

int nn_write(nn_ctx *ctx, nn_buf dst, const float *src, size_t elems)
{
	if (elems == 0)
		return TG_CL_OK;
	int st = tg_cl_write(ctx->cl, dst.mem, dst.off * sizeof(float), elems * sizeof(float), src);
	return st == TG_CL_OK ? st : nn_fail_cl(st, "write to device");
}

int nn_read(nn_ctx *ctx, float *dst, nn_buf src, size_t elems)
{
	if (elems == 0)
		return TG_CL_OK;
	int st = tg_cl_read(ctx->cl, src.mem, src.off * sizeof(float), elems * sizeof(float), dst);
	return st == TG_CL_OK ? st : nn_fail_cl(st, "read from device");
}

int nn_partials(nn_ctx *ctx, size_t elems, cl_mem *out)
{
	if (elems < 1024)
		elems = 1024;
	if (elems > ctx->partial_elems) {
		if (ctx->partial)
			clReleaseMemObject(ctx->partial);
		ctx->partial_elems = 0;
		ctx->partial = tg_cl_alloc(ctx->cl, elems * sizeof(float), NULL);
		if (!ctx->partial)
			return nn_fail_cl(TG_CL_FAIL, "partial-sum buffer");
		ctx->partial_elems = elems;
	}
	*out = ctx->partial;
	return TG_CL_OK;
}

void nn_args_begin(nn_args *a, cl_kernel k)
{
	a->k = k;
	a->n = 0;
	a->err = CL_SUCCESS;
}

static void arg(nn_args *a, size_t size, const void *value)
{
	if (a->err == CL_SUCCESS)
		a->err = clSetKernelArg(a->k, a->n, size, value);
	a->n++;
}

void nn_arg_buf(nn_args *a, nn_buf b)
{
	cl_ulong off = b.off;
	arg(a, sizeof(cl_mem), &b.mem);
	arg(a, sizeof off, &off);
}

void nn_arg_int(nn_args *a, int v)
{
	cl_int x = v;
	arg(a, sizeof x, &x);
}

void nn_arg_float(nn_args *a, float v)
{
	cl_float x = v;
	arg(a, sizeof x, &x);
}

void nn_arg_ulong(nn_args *a, unsigned long long v)
{
	cl_ulong x = v;
	arg(a, sizeof x, &x);
}

int nn_args_end(nn_args *a, const char *what)
{
	if (a->err == CL_SUCCESS)
		return TG_CL_OK;
	return nn_fail(TG_CL_FAIL, "%s: setting argument %u: %s", what, a->n, tg_cl_errname(a->err));
}

int nn_check_count(const char *what, double elems)
{
	if (elems >= (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "%s: %.0f elements is more than the engine's 2^31 - 1", what,
		               elems);
	return TG_CL_OK;
}

int nn_launch1(nn_ctx *ctx, cl_kernel k, const char *name, int st, size_t n)
{
	if (st != TG_CL_OK)
		return st;
	st = nn_run1(ctx, k, n);
	return st == TG_CL_OK ? st : nn_fail_cl(st, name);
}

int nn_launch2(nn_ctx *ctx, cl_kernel k, const char *name, int st, size_t n0, size_t n1)
{
	if (st != TG_CL_OK)
		return st;
	st = nn_run2(ctx, k, n0, n1);
	return st == TG_CL_OK ? st : nn_fail_cl(st, name);
}

int nn_launch3(nn_ctx *ctx, cl_kernel k, const char *name, int st, const size_t global[3],
               const size_t local[3])
{
	if (st != TG_CL_OK)
		return st;
	if (!global[0] || !global[1] || !global[2])
		return TG_CL_OK;
	st = tg_cl_run(ctx->cl, k, 3, global, local);
	return st == TG_CL_OK ? st : nn_fail_cl(st, name);
}

int nn_run_groups(nn_ctx *ctx, cl_kernel k, size_t groups, size_t n1)
{
	size_t local[2] = { NN_RED_WG, 1 };
	size_t global[2] = { groups * NN_RED_WG, n1 };
	return tg_cl_run(ctx->cl, k, 2, global, local);
}

int nn_gemm(nn_ctx *ctx, const char *what, int trans_a, int trans_b, size_t M, size_t N, size_t K,
            float alpha, nn_buf A, size_t lda, nn_buf B, size_t ldb, float beta, nn_buf C,
            size_t ldc)
{
	int st = tg_gemm(ctx->cl, trans_a, trans_b, M, N, K, alpha, A.mem, A.off, lda, B.mem, B.off,
	                 ldb, beta, C.mem, C.off, ldc);
	return st == TG_CL_OK ? st : nn_fail_cl(st, what);
}

int nn_bias_add(nn_ctx *ctx, nn_buf y, nn_buf b, int B, int OC, int S)
{
	return nn_bias_act(ctx, y, b, B, OC, S, NN_ACT_NONE, 0.0f);
}

int nn_bias_act(nn_ctx *ctx, nn_buf y, nn_buf b, int B, int OC, int S, int act, float slope)
{
	size_t n = (size_t)B * OC * S;
	if ((!nn_has(b) && act == NN_ACT_NONE) || n == 0)
		return TG_CL_OK;
	if (nn_check_count("bias_act", (double)n))
		return TG_CL_FAIL;
	cl_kernel k = nn_kernel(ctx, "nn_conv.cl", "bias_act");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, y);
	nn_arg_buf(&a, nn_has(b) ? b : y);   /* any valid buffer when there is no bias */
	nn_arg_int(&a, nn_has(b));
	nn_arg_int(&a, OC);
	nn_arg_int(&a, S);
	nn_arg_int(&a, B * OC);
	nn_arg_int(&a, act);
	nn_arg_float(&a, slope);
	return nn_launch1(ctx, k, "bias_act", nn_args_end(&a, "bias_act"), (size_t)B * OC);
}

int nn_bias_grad(nn_ctx *ctx, nn_buf db, nn_buf dy, int B, int OC, int S)
{
	if (!nn_has(db) || OC == 0)
		return TG_CL_OK;
	cl_kernel k = nn_kernel(ctx, "nn_conv.cl", "bias_grad");
	if (!k)
		return ctx->status;
	nn_args a;
	nn_args_begin(&a, k);
	nn_arg_buf(&a, db);
	nn_arg_buf(&a, dy);
	nn_arg_int(&a, B);
	nn_arg_int(&a, OC);
	nn_arg_int(&a, S);
	return nn_launch1(ctx, k, "bias_grad", nn_args_end(&a, "bias_grad"), (size_t)OC);
}

/* ---- parameter arena ---- */

#define ARENA_ALIGN 16

void nn_arena_init(nn_arena *a)
{
	memset(a, 0, sizeof *a);
}

int nn_arena_find(const nn_arena *a, const char *name)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->p[i].name, name) == 0)
			return i;
	return -1;
}

int nn_arena_add(nn_arena *a, const char *name, int rank, const int *dim)
{
	if (a->params)
		return nn_fail(TG_CL_FAIL, "%s: arena already allocated", name), -1;
	if (strlen(name) >= sizeof a->p[0].name)
		return nn_fail(TG_CL_FAIL, "%s: parameter name too long", name), -1;
	if (nn_arena_find(a, name) >= 0)
		return nn_fail(TG_CL_FAIL, "%s: parameter declared twice", name), -1;
	if (rank < 1 || rank > 4)
		return nn_fail(TG_CL_FAIL, "%s: rank %d is not 1 to 4", name, rank), -1;
	size_t numel = 1;
	for (int i = 0; i < rank; i++) {
		if (dim[i] < 1 || numel > NN_MAX_ELEMS / (size_t)dim[i])
			return nn_fail(TG_CL_FAIL, "%s: bad or too large shape", name), -1;
		numel *= (size_t)dim[i];
	}
	if (a->total > NN_MAX_ELEMS - numel - ARENA_ALIGN)
		return nn_fail(TG_CL_FAIL, "%s: arena larger than 2^31 floats", name), -1;
	if (a->n == a->cap) {
		int cap = a->cap ? 2 * a->cap : 16;
		nn_param *p = realloc(a->p, (size_t)cap * sizeof *p);
		if (!p)
			return nn_fail(TG_CL_FAIL, "%s: out of memory", name), -1;
		a->p = p;
		a->cap = cap;
	}
	nn_param *p = &a->p[a->n];
	memset(p, 0, sizeof *p);
	strcpy(p->name, name);
	p->off = a->total;
	p->numel = numel;
	p->rank = rank;
	for (int i = 0; i < rank; i++)
		p->dim[i] = dim[i];
	a->total = round_up(a->total + numel, ARENA_ALIGN);
	return a->n++;
}

cl_mem nn_arena_alloc_like(nn_ctx *ctx, const nn_arena *a)
{
	cl_mem m = nn_alloc(ctx, a->total, NULL);
	if (m && nn_fill(ctx, nn_buf_of(m, 0), a->total ? a->total : 1, 0.0f) != TG_CL_OK) {
		clReleaseMemObject(m);
		m = NULL;
	}
	return m;
}

int nn_arena_alloc(nn_ctx *ctx, nn_arena *a)
{
	if (a->params)
		return nn_fail(TG_CL_FAIL, "arena already allocated");
	a->params = nn_arena_alloc_like(ctx, a);
	if (!a->params)
		return TG_CL_FAIL;
	a->grads = nn_arena_alloc_like(ctx, a);
	if (!a->grads) {
		clReleaseMemObject(a->params);
		a->params = NULL;
		return TG_CL_FAIL;
	}
	return TG_CL_OK;
}

int nn_arena_zero_grad(nn_ctx *ctx, nn_arena *a)
{
	return nn_fill(ctx, nn_buf_of(a->grads, 0), a->total, 0.0f);
}

nn_buf nn_arena_param(const nn_arena *a, int i)
{
	return nn_buf_of(a->params, a->p[i].off);
}

nn_buf nn_arena_grad(const nn_arena *a, int i)
{
	return nn_buf_of(a->grads, a->p[i].off);
}

void nn_arena_free(nn_arena *a)
{
	if (a->params)
		clReleaseMemObject(a->params);
	if (a->grads)
		clReleaseMemObject(a->grads);
	free(a->p);
	memset(a, 0, sizeof *a);
}
