/* internal.h: helpers shared by the op files of libstream/nn (not API). */
#ifndef TOMOGAN_NN_INTERNAL_H
#define TOMOGAN_NN_INTERNAL_H

#include "nn/ops.h"

/* Work-group size of the reduction kernels (RED_WG in kernels/nn_*.cl). */
#define NN_RED_WG 64

/* tg_gemm on nn_bufs, with the failure named after `what`. */
int nn_gemm(nn_ctx *ctx, const char *what, int trans_a, int trans_b, size_t M, size_t N, size_t K,
            float alpha, nn_buf A, size_t lda, nn_buf B, size_t ldb, float beta, nn_buf C,
            size_t ldc);
/* y [B, OC, S] += b [OC]; db [OC] += sum over B, S of dy [B, OC, S]. */
int nn_bias_add(nn_ctx *ctx, nn_buf y, nn_buf b, int B, int OC, int S);
/* y [B, OC, S] = act(y + b) in one pass (b may be NN_NONE); nn_bias_add
 * is this with NN_ACT_NONE. */
int nn_bias_act(nn_ctx *ctx, nn_buf y, nn_buf b, int B, int OC, int S, int act, float slope);
int nn_bias_grad(nn_ctx *ctx, nn_buf db, nn_buf dy, int B, int OC, int S);
/* Runs k over groups of NN_RED_WG work-items, `groups` of them (x n1). */
int nn_run_groups(nn_ctx *ctx, cl_kernel k, size_t groups, size_t n1);
/* Launches k over n (1-D) after a tg_cl_args status st; names failures. */
int nn_launch1(nn_ctx *ctx, cl_kernel k, const char *name, int st, size_t n);
int nn_launch2(nn_ctx *ctx, cl_kernel k, const char *name, int st, size_t n0, size_t n1);
/* The same in 3-D with the local size given (global a multiple of it). */
int nn_launch3(nn_ctx *ctx, cl_kernel k, const char *name, int st, const size_t global[3],
               const size_t local[3]);
/* Sets kernel arguments one after another; the first failure sticks and
 * nn_args_end reports it.  A buffer is two arguments (pointer, offset). */
typedef struct nn_args {
	cl_kernel k;
	cl_uint n;
	cl_int err;
} nn_args;
void nn_args_begin(nn_args *a, cl_kernel k);
void nn_arg_buf(nn_args *a, nn_buf b);
void nn_arg_int(nn_args *a, int v);
void nn_arg_float(nn_args *a, float v);
void nn_arg_ulong(nn_args *a, unsigned long long v);
int nn_args_end(nn_args *a, const char *what);

/* Fails (TG_CL_FAIL) when a product of sizes reaches 2^31 elements. */
int nn_check_count(const char *what, double elems);
/* Small device buffer for per-group partial sums, at least elems floats. */
int nn_partials(nn_ctx *ctx, size_t elems, cl_mem *out);

#endif
