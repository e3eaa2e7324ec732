/* wgangp.c: the wgan-gp model kind (gan.h): the WGAN-GP of the thesis of
 * seed 000 (section 5.2), trained as PyTorch-GAN's wgan_gp.py does.
 *
 * Base grid b = 16 (b = 8 at size 16, so that every size has at least one
 * block), C0 = 2 size, k = log2(size / b) blocks.
 *
 * Generator ("g"), z of `latent` values:
 *   linear latent -> C0 b b, reshape (C0, b, b)
 *   block j = 0 .. k-1, c_in -> c_out with c_out = c_in for j = 0 and
 *   c_in / 2 after: upsample x2 (nearest), conv3x3 c_in -> c_out (pad 1),
 *   ReLU, conv3x3 c_out -> c_out (pad 1), ReLU
 *   conv3x3 c_out -> 1 (pad 1), Tanh
 * Critic ("d"), on (1, size, size):
 *   block j = 0 .. k-1 with c_j = 64 << j: conv3x3 c_{j-1} -> c_j (pad 1,
 *   c_{-1} = 1), LeakyReLU 0.2, conv3x3 c_j -> c_j stride 2 (pad 1),
 *   LeakyReLU 0.2
 *   flatten, linear c_{k-1} b b -> 1
 * Every layer has a bias; weights and biases are initialised as PyTorch's
 * defaults (nn_init_torch_default), G's layers first, from an nn_rng
 * seeded with hp.seed.
 *
 * One batch (i its index in the epoch): z ~ N(0, 1) [B, latent], then
 * alpha ~ U[0, 1) [B] from m->rng; a critic step on (real, G(z), alpha)
 * with Adam; then, when i % n_critic == 0, a generator step on the same z
 * with the updated critic.  The critic's update leaves G unchanged, so the
 * generator step reuses G(z) and its activations from the critic step
 * instead of running G's forward again (PyTorch-GAN recomputes it; the
 * result is the same bits).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gan/gan.h"
#include "nn/gp.h"
#include "nn/init.h"

typedef struct wgp {
	nn_gp gp;
	float *alpha;
} wgp;

static int base_grid(int size)
{
	return size == 16 ? 8 : 16;
}

static int size_ok(int size)
{
	return size >= 16 && size <= 256 && (size & (size - 1)) == 0;
}

static int wgp_defaults(int size, gan_hparams *hp, char *why, size_t whylen)
{
	if (!size_ok(size)) {
		snprintf(why, whylen, "wgan-gp needs a power of two from 16 to 256, not %d", size);
		return -1;
	}
	hp->lr_g = hp->lr_d = 2e-4;
	hp->beta1 = 0.5;
	hp->beta2 = 0.999;
	hp->alpha = 0.99;
	hp->weight_decay = 0;
	hp->batch = 64;
	hp->latent = size > 64 ? 200 : 100;
	hp->n_critic = 5;
	hp->lambda_gp = 10;
	hp->clip = 0;
	hp->optimizer = NN_OPT_ADAM;
	return 0;
}

static int declare(gan_model *m)
{
	int S = m->size, b = base_grid(S), k = 0, C0 = 2 * S;
	for (int s = b; s < S; s *= 2)
		k++;
	nn_seq *G = &m->G, *D = &m->D;
	if (nn_seq_init(G, &m->arena, "g", m->hp.latent, 1, 1) || nn_seq_linear(G, C0 * b * b, 1) < 0 ||
	    nn_seq_reshape(G, C0, b, b) < 0)
		return -1;
	int c = C0;
	for (int j = 0; j < k; j++) {
		int co = j == 0 ? c : c / 2;
		if (nn_seq_upsample(G, 2) < 0 || nn_seq_conv2d(G, co, 3, 3, 1, 1, 1, 1, 1) < 0 ||
		    nn_seq_relu(G) < 0 || nn_seq_conv2d(G, co, 3, 3, 1, 1, 1, 1, 1) < 0 ||
		    nn_seq_relu(G) < 0)
			return -1;
		c = co;
	}
	if (nn_seq_conv2d(G, 1, 3, 3, 1, 1, 1, 1, 1) < 0 || nn_seq_tanh(G) < 0)
		return -1;
	if (nn_seq_init(D, &m->arena, "d", 1, S, S))
		return -1;
	c = 64;
	for (int j = 0; j < k; j++, c *= 2)
		if (nn_seq_conv2d(D, c, 3, 3, 1, 1, 1, 1, 1) < 0 || nn_seq_leaky_relu(D, 0.2f) < 0 ||
		    nn_seq_conv2d(D, c, 3, 3, 2, 2, 1, 1, 1) < 0 || nn_seq_leaky_relu(D, 0.2f) < 0)
			return -1;
	if (nn_seq_flatten(D) < 0 || nn_seq_linear(D, 1, 1) < 0)
		return -1;
	return 0;
}

static int init_weights(gan_model *m)
{
	nn_rng r;
	nn_rng_init(&r, m->hp.seed);
	const nn_seq *mods[2] = { &m->G, &m->D };
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < mods[k]->n; i++) {
			const nn_layer *l = &mods[k]->l[i];
			if (l->w < 0)
				continue;
			int st = nn_init_torch_default(m->ctx, &r, &m->arena, m->arena.p[l->w].name,
			                               l->b >= 0 ? m->arena.p[l->b].name : NULL);
			if (st != TG_CL_OK)
				return st;
		}
	return TG_CL_OK;
}

static void wgp_release(gan_model *m)
{
	wgp *w = m->priv;
	if (!w)
		return;
	nn_gp_free(&w->gp);
	free(w->alpha);
	free(w);
	m->priv = NULL;
}

static int wgp_build(gan_model *m)
{
	if (declare(m))
		return TG_CL_FAIL;
	int st = nn_arena_alloc(m->ctx, &m->arena);
	if (st == TG_CL_OK)
		st = init_weights(m);
	if (st == TG_CL_OK)
		st = gan_setup_optimizers(m);
	if (st != TG_CL_OK)
		return st;
	wgp *w = calloc(1, sizeof *w);
	if (w)
		w->alpha = calloc((size_t)m->hp.batch, sizeof(float));
	if (!w || !w->alpha) {
		free(w);
		return nn_fail(TG_CL_FAIL, "wgan-gp: out of memory");
	}
	m->priv = w;
	return nn_gp_init(m->ctx, &w->gp, &m->D, m->hp.batch, (float)m->hp.lambda_gp);
}

static int wgp_step(gan_model *m, nn_buf real, int B, long i, gan_losses *out)
{
	wgp *w = m->priv;
	nn_ctx *ctx = m->ctx;
	nn_gp_stats gs;
	out->d_loss = out->g_loss = out->gp = out->wdist = NAN;
	out->d_step = out->g_step = 0;
	int st = gan_noise(m, m->z, B);
	if (st != TG_CL_OK)
		return st;
	nn_rng_uniform(&m->rng, w->alpha, (size_t)B, 0.0f, 1.0f);
	if ((st = nn_optim_zero_grad(ctx, &m->opt_d)) ||
	    (st = nn_seq_forward(ctx, &m->G, &m->gws, m->z, B)) ||
	    (st = nn_gp_critic_step(ctx, &w->gp, real, nn_seq_output(&m->gws), w->alpha, B, &gs)) ||
	    (st = nn_optim_step(ctx, &m->opt_d)))
		return st;
	out->d_loss = gs.loss;
	out->gp = gs.gp;
	out->wdist = gs.d_real - gs.d_fake;
	out->d_step = 1;
	int nc = m->hp.n_critic > 0 ? m->hp.n_critic : 1;
	if (i % nc == 0) {
		double gl;
		if ((st = nn_optim_zero_grad(ctx, &m->opt_g)) ||
		    (st = nn_gp_generator_step(ctx, &w->gp, &m->G, &m->gws, m->z, 1, B, &gl)) ||
		    (st = nn_optim_step(ctx, &m->opt_g)))
			return st;
		out->g_loss = gl;
		out->g_step = 1;
	}
	return TG_CL_OK;
}

const gan_model_kind gan_kind_wgan_gp = {
	.name = "wgan-gp",
	.summary = "WGAN-GP of seed 000: upsample+conv generator, strided-conv critic",
	.noise = GAN_NOISE_NORMAL,
	.defaults = wgp_defaults,
	.build = wgp_build,
	.train_step = wgp_step,
	.generate = NULL,
	.release = wgp_release,
};
