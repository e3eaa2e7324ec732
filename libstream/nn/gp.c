/* gp.c: WGAN-GP critic step with the exact parameter gradient of the
 * gradient penalty, and the generator step (gp.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gp.h"
#include "nn/ops.h"

static void release(nn_buf *b)
{
	if (b->mem)
		clReleaseMemObject(b->mem);
	*b = NN_NONE;
}

void nn_gp_free(nn_gp *gp)
{
	nn_seq_ws_free(&gp->ws);
	release(&gp->X);
	release(&gp->dX);
	release(&gp->dy);
	release(&gp->v);
	free(gp->hg);
	free(gp->hs);
	free(gp->norms);
	memset(gp, 0, sizeof *gp);
}

static int buf(nn_ctx *ctx, nn_buf *b, size_t elems)
{
	cl_mem m = nn_alloc(ctx, elems, NULL);
	if (!m)
		return TG_CL_FAIL;
	*b = nn_buf_of(m, 0);
	return TG_CL_OK;
}

int nn_gp_init(nn_ctx *ctx, nn_gp *gp, const nn_seq *D, int B, float lambda)
{
	memset(gp, 0, sizeof *gp);
	int bad;
	if (!nn_seq_piecewise_linear(D, &bad))
		return nn_fail(TG_CL_FAIL,
		               "gradient penalty: critic %s has a %s at layer %d: its exact gradient "
		               "needs piecewise-linear activations (ReLU, LeakyReLU)",
		               D->name, D->l[bad].kind == NN_LAYER_TANH ? "Tanh" : "Sigmoid", bad);
	if (D->n < 1 || nn_seq_out_numel(D) != 1)
		return nn_fail(TG_CL_FAIL, "gradient penalty: critic %s must give one score per sample",
		               D->name);
	if (B < 1 || (double)B * 3 * nn_seq_in_numel(D) > (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "gradient penalty: batch of %d", B);
	if (!(lambda >= 0) || isinf(lambda))
		return nn_fail(TG_CL_FAIL, "gradient penalty: lambda %g", lambda);
	gp->D = D;
	gp->B = B;
	gp->lambda = lambda;
	gp->n = nn_seq_in_numel(D);
	size_t n3 = 3 * (size_t)B * gp->n;
	int st = nn_seq_ws_alloc(ctx, D, &gp->ws, 3 * B, B);
	if (st == TG_CL_OK)
		st = buf(ctx, &gp->X, n3);
	if (st == TG_CL_OK)
		st = buf(ctx, &gp->dX, n3);
	if (st == TG_CL_OK)
		st = buf(ctx, &gp->dy, 3 * (size_t)B);
	if (st == TG_CL_OK)
		st = buf(ctx, &gp->v, (size_t)B * gp->n);
	if (st == TG_CL_OK) {
		gp->hg = malloc((size_t)B * gp->n * sizeof *gp->hg);
		gp->hs = malloc(3 * (size_t)B * sizeof *gp->hs);
		gp->norms = malloc((size_t)B * sizeof *gp->norms);
		if (!gp->hg || !gp->hs || !gp->norms)
			st = nn_fail(TG_CL_FAIL, "gradient penalty: out of memory");
	}
	if (st != TG_CL_OK) {
		char msg[512];
		strncpy(msg, nn_error(), sizeof msg - 1);
		msg[sizeof msg - 1] = 0;
		nn_gp_free(gp);
		return nn_fail(st, "gradient penalty: %s", msg);
	}
	return TG_CL_OK;
}

/* rows [dst_row, dst_row + rows) of X = src [rows, n] */
static int copy_rows(nn_ctx *ctx, nn_gp *gp, nn_buf src, int dst_row, int rows)
{
	return nn_copy_channels(ctx, nn_at(gp->X, (size_t)dst_row * gp->n), 1, 0, src, 1, 0, 1, rows,
	                        (int)gp->n);
}

int nn_gp_critic_step(nn_ctx *ctx, nn_gp *gp, nn_buf real, nn_buf fake, const float *alpha,
                      int B, nn_gp_stats *out)
{
	const nn_seq *D = gp->D;
	size_t n = gp->n;
	if (B < 1 || B > gp->B)
		return nn_fail(TG_CL_FAIL, "gradient penalty: batch of %d (set up for %d)", B, gp->B);
	for (int b = 0; b < B; b++)
		if (!(alpha[b] >= 0.0f && alpha[b] <= 1.0f))
			return nn_fail(TG_CL_FAIL, "gradient penalty: alpha[%d] = %g is outside [0, 1]",
			               b, alpha[b]);
	/* X = [real; fake; x_hat], x_hat_b = a_b real_b + (1 - a_b) fake_b */
	nn_buf xh = nn_at(gp->X, 2 * (size_t)B * n);
	int st = copy_rows(ctx, gp, real, 0, B);
	if (st == TG_CL_OK)
		st = copy_rows(ctx, gp, fake, B, B);
	if (st == TG_CL_OK)
		st = nn_fill(ctx, xh, (size_t)B * n, 0.0f);
	for (int b = 0; b < B && st == TG_CL_OK; b++) {
		nn_buf row = nn_at(xh, (size_t)b * n);
		st = nn_axpy(ctx, row, nn_at(real, (size_t)b * n), n, alpha[b]);
		if (st == TG_CL_OK)
			st = nn_axpy(ctx, row, nn_at(fake, (size_t)b * n), n, 1.0f - alpha[b]);
	}
	/* one forward, one backward without parameter gradients */
	if (st == TG_CL_OK)
		st = nn_seq_forward(ctx, D, &gp->ws, gp->X, 3 * B);
	if (st == TG_CL_OK) {
		for (int b = 0; b < B; b++) {
			gp->hs[b] = -1.0f / (float)B;
			gp->hs[B + b] = 1.0f / (float)B;
			gp->hs[2 * B + b] = 1.0f;
		}
		st = nn_write(ctx, gp->dy, gp->hs, 3 * (size_t)B);
	}
	if (st == TG_CL_OK)
		st = nn_seq_backward(ctx, D, &gp->ws, gp->dX, gp->dy, NN_SEQ_NO_PARAM_GRAD);
	/* scores and g on the host; v = dGP/dg */
	if (st == TG_CL_OK)
		st = nn_read(ctx, gp->hs, nn_seq_output(&gp->ws), 2 * (size_t)B);
	if (st == TG_CL_OK)
		st = nn_read(ctx, gp->hg, nn_at(gp->dX, 2 * (size_t)B * n), (size_t)B * n);
	if (st != TG_CL_OK)
		return st;
	nn_gp_stats s;
	memset(&s, 0, sizeof s);
	double pen = 0;
	for (int b = 0; b < B; b++) {
		s.d_real += gp->hs[b];
		s.d_fake += gp->hs[B + b];
		float *g = gp->hg + (size_t)b * n;
		double q = 0;
		for (size_t i = 0; i < n; i++)
			q += (double)g[i] * g[i];
		double nb = sqrt(q);
		gp->norms[b] = nb;
		pen += (nb - 1) * (nb - 1);
		s.gnorm_mean += nb;
		if (b == 0 || nb < s.gnorm_min)
			s.gnorm_min = nb;
		if (b == 0 || nb > s.gnorm_max)
			s.gnorm_max = nb;
		double c = nb > 0 ? 2.0 * gp->lambda / B * (nb - 1) / nb : 0.0;
		for (size_t i = 0; i < n; i++)
			g[i] = (float)(c * g[i]);
	}
	s.d_real /= B;
	s.d_fake /= B;
	s.gnorm_mean /= B;
	s.gp = gp->lambda * pen / B;
	s.loss = s.d_fake - s.d_real + s.gp;
	/* tangent of v, then all parameter gradients */
	st = nn_write(ctx, gp->v, gp->hg, (size_t)B * n);
	if (st == TG_CL_OK)
		st = nn_seq_tangent_forward(ctx, D, &gp->ws, gp->v, 2 * B, B);
	/* real and fake rows in two passes, as PyTorch's two mean terms: where
	 * they cancel (a last-conv bias whose channel has the same slopes for
	 * every real and fake sample) the sum is then exactly zero, as in
	 * PyTorch, and not a rounding residue that Adam, which divides by
	 * sqrt(v) + eps, would turn into an update of a sizeable part of lr */
	if (st == TG_CL_OK)
		st = nn_seq_param_grad(ctx, D, &gp->ws, 0, B, 0);
	if (st == TG_CL_OK)
		st = nn_seq_param_grad(ctx, D, &gp->ws, B, B, 0);
	if (st == TG_CL_OK)
		st = nn_seq_param_grad(ctx, D, &gp->ws, 2 * B, B, 1);
	if (st == TG_CL_OK && out)
		*out = s;
	return st;
}

int nn_gp_generator_step(nn_ctx *ctx, nn_gp *gp, const nn_seq *G, nn_seq_ws *gws, nn_buf z,
                         int have_fake, int B, double *loss)
{
	const nn_seq *D = gp->D;
	if (B < 1 || B > gp->B)
		return nn_fail(TG_CL_FAIL, "generator step: batch of %d (set up for %d)", B, gp->B);
	if (nn_seq_out_numel(G) != gp->n)
		return nn_fail(TG_CL_FAIL, "generator step: %s gives %zu values per sample, %s takes %zu",
		               G->name, nn_seq_out_numel(G), D->name, gp->n);
	if (have_fake) {
		if (nn_seq_has(G, NN_LAYER_BATCHNORM) || nn_seq_has(G, NN_LAYER_DROPOUT))
			return nn_fail(TG_CL_FAIL, "generator step: %s has batch norm or dropout; its "
			               "forward must run again", G->name);
		if (gws->B != B || gws->act[0].mem != z.mem || gws->act[0].off != z.off)
			return nn_fail(TG_CL_FAIL, "generator step: the workspace does not hold G's "
			               "forward of these %d rows of z", B);
	}
	int st = have_fake ? TG_CL_OK : nn_seq_forward(ctx, G, gws, z, B);
	if (st == TG_CL_OK)
		st = nn_seq_forward(ctx, D, &gp->ws, nn_seq_output(gws), B);
	if (st == TG_CL_OK)
		st = nn_read(ctx, gp->hs, nn_seq_output(&gp->ws), (size_t)B);
	if (st != TG_CL_OK)
		return st;
	double sum = 0;
	for (int b = 0; b < B; b++) {
		sum += gp->hs[b];
		gp->hs[b] = -1.0f / (float)B;
	}
	if (loss)
		*loss = -sum / B;
	st = nn_write(ctx, gp->dy, gp->hs, (size_t)B);
	if (st == TG_CL_OK)
		st = nn_seq_backward(ctx, D, &gp->ws, gp->dX, gp->dy, NN_SEQ_NO_PARAM_GRAD);
	if (st == TG_CL_OK)
		st = nn_seq_backward(ctx, G, gws, NN_NONE, gp->dX, 0);
	return st;
}
