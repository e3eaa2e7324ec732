/* zoo.c: the model kinds gan, wgan, dcgan (PyTorch-GAN's gan.py, wgan.py,
 * dcgan.py, as adapted by the thesis of seed 001) and simple-gan (the
 * paper of seed 003), for the registry of gan.h.
 *
 * Images are 1 x S x S in [-1, 1] (gan.h).  Parameter names are those of
 * the state_dict of an nn.Sequential holding the same layers ("g.<i>.weight",
 * "d.<i>.running_mean", ...).  Every BatchNorm's running statistics are
 * arena tensors outside both optimizers.
 *
 * gan (any S from 2 to 1024: the MLPs see S*S pixels):
 *   G: linear latent->128, LeakyReLU 0.2; linear 128->256, BatchNorm1d
 *      (eps 0.8: PyTorch-GAN passes 0.8 positionally, which is eps;
 *      momentum 0.1), LeakyReLU 0.2; the same 256->512 and 512->1024;
 *      linear 1024->S*S, Tanh, reshape (1, S, S)
 *   D: flatten, linear S*S->512, LeakyReLU 0.2, linear 512->256, LeakyReLU
 *      0.2, linear 256->1, Sigmoid
 *   PyTorch's default initialisation; BCE; Adam lr 2e-4, betas (0.5,
 *   0.999) for both; batch 64, latent 100, z ~ N(0, 1).
 *   One batch: z; the generator step first (g_loss = BCE(D(G(z)), 1), Adam
 *   step of G); then the discriminator step on the same generated images
 *   (d_loss = (BCE(D(real), 1) + BCE(D(G(z)), 0)) / 2, Adam step of D).
 * wgan: the same MLPs without the Sigmoid; RMSprop lr 5e-5 (alpha 0.99,
 *   eps 1e-8, as torch); n_critic 5, clip 0.01.  One batch: z; a critic
 *   step on (real, G(z)) with loss -mean D(real) + mean D(G(z)), then every
 *   critic tensor (weights and biases) clamped to [-clip, clip]; when
 *   i % n_critic == 0 a generator step on the same z (G run again, as the
 *   script does) with loss -mean D(G(z)).
 * dcgan (S divisible by 4, as PyTorch-GAN's init_size = S / 4; its critic
 *   head reads ceil(S/16)^2 positions, which is PyTorch-GAN's
 *   (S // 16)^2 whenever S is divisible by 16 -- other sizes fail there):
 *   G: linear latent->128 s s (s = S/4), reshape (128, s, s), BatchNorm2d
 *      (eps 1e-5), upsample x2, conv3x3 128->128 (pad 1), BatchNorm2d (eps
 *      0.8), LeakyReLU 0.2, upsample x2, conv3x3 128->64, BatchNorm2d (eps
 *      0.8), LeakyReLU 0.2, conv3x3 64->1, Tanh
 *   D: four blocks conv3x3 stride 2 pad 1 -> LeakyReLU 0.2 -> Dropout2d 0.25
 *      -> BatchNorm2d (eps 0.8; not in the first block), channels 1->16->32
 *      ->64->128; flatten, linear -> 1, Sigmoid
 *   Initialisation: PyTorch's defaults, then every conv weight N(0, 0.02)
 *   (conv biases keep the default) and every BatchNorm2d weight N(1, 0.02),
 *   bias 0; linear layers keep the defaults.  Loss, optimizer and loop as
 *   gan.  All BatchNorms momentum 0.1.
 * simple-gan (S divisible by 4), the paper of seed 003.  Where it leaves a
 *   detail open the choice made here is marked [choice]:
 *   G (fully convolutional, as the paper): z of `latent` uniform values in
 *      [-1, 1) reshaped to (latent / q^2, q, q), q = S/4 [choice: the
 *      paper's 100-value noise at its 40 x 40 size is exactly 1 x 10 x 10;
 *      the default latent is q^2, any multiple of q^2 is accepted];
 *      transposed conv 3x3 with 256, 128 filters, stride 2 [choice: padding
 *      1, output padding 1, so each doubles the size], then 64, 32, 16
 *      filters stride 1 padding 1; each followed by BatchNorm2d and
 *      LeakyReLU 0.2; a last transposed conv 3x3 stride 1 padding 1 with 1
 *      filter [choice: the paper's 3 filters are RGB; images here have one
 *      channel] and a linear (identity) output.
 *      BatchNorm "value 0.9" is TensorFlow's decay, i.e. PyTorch momentum
 *      0.1 [choice]; eps 1e-3 (TensorFlow's default) [choice]; affine,
 *      weight 1 and bias 0 at start [choice].
 *   D: conv3x3 256 stride 2 pad 1, then 128, 64, 32 stride 1 pad 1, each
 *      followed by LeakyReLU 0.2 and element-wise Dropout with drop
 *      probability 0.6 [choice: the paper's "dropout of 0.6" read as the
 *      rate dropped, as Keras]; flatten, dense 128, LeakyReLU 0.2, dense 1,
 *      Sigmoid.
 *   Every layer has a bias [choice]; every conv, transposed conv and dense
 *   weight N(0, 0.02), biases 0 [choice: TensorFlow's zero bias].
 *   BCE ("standard cross entropy"); RMSprop with lr 1e-4 for D and 2e-4 for
 *   G, alpha 0.9 [choice: TensorFlow's RMSProp decay; eps stays 1e-8]; the
 *   L2 term 1e-5 as the optimizers' weight decay on every trainable
 *   tensor of both models [choice: PyTorch's weight_decay convention, the
 *   gradient gets 1e-5 w]; batch 16.  Loop [choice]: as gan (generator
 *   step, then discriminator step on the same generated images).
 *   Intensities are [-1, 1] as every kind here (gan.h), not the paper's
 *   [0, 2].
 *
 * A batch of one sample cannot be normalised by a training BatchNorm
 * (PyTorch raises an error); the kinds with BatchNorm skip such a batch
 * (no step, losses NAN).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gan/zoo.h"
#include "nn/init.h"
#include "nn/ops.h"

static int test_div = 1, test_dropout_off = 0;
static nn_buf test_z;

void gan_zoo_test_noise(nn_buf z)
{
	test_z = z;
}

/* z [B, latent]: the test's noise if set, else drawn from m->rng. */
static int noise(gan_model *m, int B)
{
	if (!nn_has(test_z))
		return gan_noise(m, m->z, B);
	return nn_copy_channels(m->ctx, m->z, 1, 0, test_z, 1, 0, 1, B, m->hp.latent);
}

void gan_zoo_test_config(int width_div, int dropout_off)
{
	test_div = width_div > 1 ? width_div : 1;
	test_dropout_off = dropout_off != 0;
}

static int W_(int w)
{
	int v = w / test_div;
	return v > 0 ? v : 1;
}

typedef struct zoo {
	nn_seq_ws dws;     /* D's workspace, hp.batch rows */
	nn_buf dy;         /* [batch] gradient of the loss at D's output */
	nn_buf dgx;        /* [batch, S*S] gradient at G's output */
} zoo;

enum { K_GAN, K_WGAN, K_DCGAN, K_SIMPLE };

static int kind_id(const gan_model *m)
{
	if (m->kind == &gan_kind_wgan)
		return K_WGAN;
	if (m->kind == &gan_kind_dcgan)
		return K_DCGAN;
	if (m->kind == &gan_kind_simple_gan)
		return K_SIMPLE;
	return K_GAN;
}

/* ---- defaults ---- */

static void base_hp(gan_hparams *hp)
{
	hp->lr_g = hp->lr_d = 2e-4;
	hp->beta1 = 0.5;
	hp->beta2 = 0.999;
	hp->alpha = 0.99;
	hp->weight_decay = 0;
	hp->batch = 64;
	hp->latent = 100;
	hp->n_critic = 1;
	hp->lambda_gp = 0;
	hp->clip = 0;
	hp->optimizer = NN_OPT_ADAM;
}

static int mlp_size_ok(const char *name, int size, char *why, size_t whylen)
{
	if (size < 2 || size > 1024) {
		snprintf(why, whylen, "%s needs a size from 2 to 1024, not %d", name, size);
		return 0;
	}
	return 1;
}

static int by4_size_ok(const char *name, int size, char *why, size_t whylen)
{
	if (size < 4 || size > 1024 || size % 4) {
		snprintf(why, whylen, "%s needs a size divisible by 4 from 4 to 1024, not %d", name,
		         size);
		return 0;
	}
	return 1;
}

static int gan_defaults(int size, gan_hparams *hp, char *why, size_t whylen)
{
	if (!mlp_size_ok("gan", size, why, whylen))
		return -1;
	base_hp(hp);
	return 0;
}

static int wgan_defaults(int size, gan_hparams *hp, char *why, size_t whylen)
{
	if (!mlp_size_ok("wgan", size, why, whylen))
		return -1;
	base_hp(hp);
	hp->lr_g = hp->lr_d = 5e-5;
	hp->optimizer = NN_OPT_RMSPROP;
	hp->n_critic = 5;
	hp->clip = 0.01;
	return 0;
}

static int dcgan_defaults(int size, gan_hparams *hp, char *why, size_t whylen)
{
	if (!by4_size_ok("dcgan", size, why, whylen))
		return -1;
	base_hp(hp);
	return 0;
}

static int simple_defaults(int size, gan_hparams *hp, char *why, size_t whylen)
{
	if (!by4_size_ok("simple-gan", size, why, whylen))
		return -1;
	base_hp(hp);
	hp->optimizer = NN_OPT_RMSPROP;
	hp->lr_d = 1e-4;
	hp->lr_g = 2e-4;
	hp->alpha = 0.9;
	hp->weight_decay = 1e-5;
	hp->batch = 16;
	hp->latent = (size / 4) * (size / 4);
	return 0;
}

/* ---- architectures ---- */

static int mlp_g(gan_model *m)
{
	nn_seq *G = &m->G;
	int S = m->size;
	if (nn_seq_init(G, &m->arena, "g", m->hp.latent, 1, 1) ||
	    nn_seq_linear(G, W_(128), 1) < 0 || nn_seq_leaky_relu(G, 0.2f) < 0)
		return -1;
	int w[3] = { 256, 512, 1024 };
	for (int k = 0; k < 3; k++)
		if (nn_seq_linear(G, W_(w[k]), 1) < 0 || nn_seq_batchnorm1d(G, 0.8f, 0.1f, 1) < 0 ||
		    nn_seq_leaky_relu(G, 0.2f) < 0)
			return -1;
	if (nn_seq_linear(G, S * S, 1) < 0 || nn_seq_tanh(G) < 0 || nn_seq_reshape(G, 1, S, S) < 0)
		return -1;
	return 0;
}

static int mlp_d(gan_model *m, int sigmoid)
{
	nn_seq *D = &m->D;
	int S = m->size;
	if (nn_seq_init(D, &m->arena, "d", 1, S, S) || nn_seq_flatten(D) < 0 ||
	    nn_seq_linear(D, W_(512), 1) < 0 || nn_seq_leaky_relu(D, 0.2f) < 0 ||
	    nn_seq_linear(D, W_(256), 1) < 0 || nn_seq_leaky_relu(D, 0.2f) < 0 ||
	    nn_seq_linear(D, 1, 1) < 0)
		return -1;
	if (sigmoid && nn_seq_sigmoid(D) < 0)
		return -1;
	return 0;
}

static int dcgan_g(gan_model *m)
{
	nn_seq *G = &m->G;
	int s = m->size / 4, c1 = W_(128), c2 = W_(64);
	if (nn_seq_init(G, &m->arena, "g", m->hp.latent, 1, 1) ||
	    nn_seq_linear(G, c1 * s * s, 1) < 0 || nn_seq_reshape(G, c1, s, s) < 0 ||
	    nn_seq_batchnorm2d(G, 1e-5f, 0.1f, 1) < 0 || nn_seq_upsample(G, 2) < 0 ||
	    nn_seq_conv2d(G, c1, 3, 3, 1, 1, 1, 1, 1) < 0 ||
	    nn_seq_batchnorm2d(G, 0.8f, 0.1f, 1) < 0 || nn_seq_leaky_relu(G, 0.2f) < 0 ||
	    nn_seq_upsample(G, 2) < 0 || nn_seq_conv2d(G, c2, 3, 3, 1, 1, 1, 1, 1) < 0 ||
	    nn_seq_batchnorm2d(G, 0.8f, 0.1f, 1) < 0 || nn_seq_leaky_relu(G, 0.2f) < 0 ||
	    nn_seq_conv2d(G, 1, 3, 3, 1, 1, 1, 1, 1) < 0 || nn_seq_tanh(G) < 0)
		return -1;
	return 0;
}

static int dcgan_d(gan_model *m)
{
	nn_seq *D = &m->D;
	int S = m->size, ch[4] = { W_(16), W_(32), W_(64), W_(128) };
	if (nn_seq_init(D, &m->arena, "d", 1, S, S))
		return -1;
	for (int k = 0; k < 4; k++) {
		if (nn_seq_conv2d(D, ch[k], 3, 3, 2, 2, 1, 1, 1) < 0 ||
		    nn_seq_leaky_relu(D, 0.2f) < 0 || nn_seq_dropout2d(D, 0.25f) < 0)
			return -1;
		if (k > 0 && nn_seq_batchnorm2d(D, 0.8f, 0.1f, 1) < 0)
			return -1;
	}
	if (nn_seq_flatten(D) < 0 || nn_seq_linear(D, 1, 1) < 0 || nn_seq_sigmoid(D) < 0)
		return -1;
	return 0;
}

static int simple_g(gan_model *m)
{
	nn_seq *G = &m->G;
	int q = m->size / 4;
	if (m->hp.latent % (q * q))
		return nn_fail(TG_CL_FAIL,
		               "simple-gan: the latent size %d is not a multiple of %d (the noise "
		               "is reshaped to planes of %d x %d)",
		               m->hp.latent, q * q, q, q),
		       -1;
	if (nn_seq_init(G, &m->arena, "g", m->hp.latent, 1, 1) ||
	    nn_seq_reshape(G, m->hp.latent / (q * q), q, q) < 0)
		return -1;
	int f[5] = { 256, 128, 64, 32, 16 };
	for (int k = 0; k < 5; k++) {
		int s = k < 2 ? 2 : 1, op = k < 2 ? 1 : 0;
		if (nn_seq_conv_transpose2d(G, W_(f[k]), 3, 3, s, s, 1, 1, op, op, 1) < 0 ||
		    nn_seq_batchnorm2d(G, 1e-3f, 0.1f, 1) < 0 || nn_seq_leaky_relu(G, 0.2f) < 0)
			return -1;
	}
	if (nn_seq_conv_transpose2d(G, 1, 3, 3, 1, 1, 1, 1, 0, 0, 1) < 0)
		return -1;
	return 0;
}

static int simple_d(gan_model *m)
{
	nn_seq *D = &m->D;
	int S = m->size, f[4] = { 256, 128, 64, 32 };
	if (nn_seq_init(D, &m->arena, "d", 1, S, S))
		return -1;
	for (int k = 0; k < 4; k++) {
		int s = k == 0 ? 2 : 1;
		if (nn_seq_conv2d(D, W_(f[k]), 3, 3, s, s, 1, 1, 1) < 0 ||
		    nn_seq_leaky_relu(D, 0.2f) < 0 || nn_seq_dropout(D, 0.6f) < 0)
			return -1;
	}
	if (nn_seq_flatten(D) < 0 || nn_seq_linear(D, W_(128), 1) < 0 ||
	    nn_seq_leaky_relu(D, 0.2f) < 0 || nn_seq_linear(D, 1, 1) < 0 || nn_seq_sigmoid(D) < 0)
		return -1;
	return 0;
}

/* ---- initialisation ---- */

static const char *pname(const gan_model *m, int idx)
{
	return idx >= 0 ? m->arena.p[idx].name : NULL;
}

static int init_weights(gan_model *m, int kid)
{
	nn_rng r;
	nn_rng_init(&r, m->hp.seed);
	nn_seq *mods[2] = { &m->G, &m->D };
	int st = TG_CL_OK;
	for (int k = 0; k < 2 && st == TG_CL_OK; k++) {
		if ((st = nn_seq_reset_batchnorm(m->ctx, mods[k])) != TG_CL_OK)
			return st;
		for (int i = 0; i < mods[k]->n && st == TG_CL_OK; i++) {
			const nn_layer *l = &mods[k]->l[i];
			const char *w = pname(m, l->w), *b = pname(m, l->b);
			if (l->kind == NN_LAYER_BATCHNORM) {
				if (kid == K_DCGAN && w)
					st = nn_init_dcgan_bn(m->ctx, &r, &m->arena, w, b);
				continue;
			}
			if (!w)
				continue;
			if (kid == K_SIMPLE) {
				st = nn_init_normal(m->ctx, &r, &m->arena, w, 0.0f, 0.02f);
				if (st == TG_CL_OK && b)
					st = nn_init_constant(m->ctx, &m->arena, b, 0.0f);
				continue;
			}
			st = nn_init_torch_default(m->ctx, &r, &m->arena, w, b);
			if (st == TG_CL_OK && kid == K_DCGAN && l->kind == NN_LAYER_CONV2D)
				st = nn_init_dcgan_conv(m->ctx, &r, &m->arena, w);
		}
	}
	return st;
}

static void zoo_release(gan_model *m)
{
	zoo *z = m->priv;
	if (!z)
		return;
	nn_seq_ws_free(&z->dws);
	if (z->dy.mem)
		clReleaseMemObject(z->dy.mem);
	if (z->dgx.mem)
		clReleaseMemObject(z->dgx.mem);
	free(z);
	m->priv = NULL;
}

static int zoo_build(gan_model *m)
{
	int kid = kind_id(m), bad;
	switch (kid) {
	case K_GAN: bad = mlp_g(m) || mlp_d(m, 1); break;
	case K_WGAN: bad = mlp_g(m) || mlp_d(m, 0); break;
	case K_DCGAN: bad = dcgan_g(m) || dcgan_d(m); break;
	default: bad = simple_g(m) || simple_d(m); break;
	}
	if (bad)
		return TG_CL_FAIL;
	if (nn_seq_out_numel(&m->G) != nn_seq_in_numel(&m->D))
		return nn_fail(TG_CL_FAIL, "%s: generator output of %zu values, critic input %zu",
		               m->kind->name, nn_seq_out_numel(&m->G), nn_seq_in_numel(&m->D));
	nn_seq *mods[2] = { &m->G, &m->D };
	for (int k = 0; k < 2; k++) {
		nn_seq_set_rng(mods[k], &m->rng);
		nn_seq_set_mode(mods[k], NN_SEQ_TRAIN);
		mods[k]->dropout_off = test_dropout_off;
	}
	int st = nn_arena_alloc(m->ctx, &m->arena);
	if (st == TG_CL_OK)
		st = init_weights(m, kid);
	if (st == TG_CL_OK)
		st = gan_setup_optimizers(m);
	if (st != TG_CL_OK)
		return st;
	if (nn_seq_exclude_stats(&m->opt_g, &m->G) < 0 || nn_seq_exclude_stats(&m->opt_d, &m->D) < 0)
		return TG_CL_FAIL;
	zoo *z = calloc(1, sizeof *z);
	if (!z)
		return nn_fail(TG_CL_FAIL, "%s: out of memory", m->kind->name);
	m->priv = z;
	size_t B = (size_t)m->hp.batch;
	if ((st = nn_seq_ws_alloc(m->ctx, &m->D, &z->dws, m->hp.batch, 0)) != TG_CL_OK)
		return st;
	cl_mem dy = nn_alloc(m->ctx, B, NULL);
	if (!dy)
		return TG_CL_FAIL;
	z->dy = nn_buf_of(dy, 0);
	cl_mem dgx = nn_alloc(m->ctx, B * nn_seq_out_numel(&m->G), NULL);
	if (!dgx)
		return TG_CL_FAIL;
	z->dgx = nn_buf_of(dgx, 0);
	return TG_CL_OK;
}

/* ---- training ---- */

/* D on x (B rows) and BCE against the constant target tc: *loss; then the
 * backward of dloss * BCE: parameter gradients into the arena unless
 * flags says not, the gradient at x into dx (or NN_NONE). */
static int d_bce(gan_model *m, nn_buf x, int B, float tc, float dloss, int flags, nn_buf dx,
                 double *loss)
{
	zoo *z = m->priv;
	nn_ctx *ctx = m->ctx;
	int st;
	if ((st = nn_seq_forward(ctx, &m->D, &z->dws, x, B)) ||
	    (st = nn_bce_forward(ctx, loss, nn_seq_output(&z->dws), NN_NONE, tc, B)) ||
	    (st = nn_bce_backward(ctx, z->dy, nn_seq_output(&z->dws), NN_NONE, tc, B, dloss)))
		return st;
	return nn_seq_backward(ctx, &m->D, &z->dws, dx, z->dy, flags);
}

/* The same with the critic loss sign * mean D(x). */
static int d_wass(gan_model *m, nn_buf x, int B, float sign, int flags, nn_buf dx, double *loss)
{
	zoo *z = m->priv;
	nn_ctx *ctx = m->ctx;
	int st;
	if ((st = nn_seq_forward(ctx, &m->D, &z->dws, x, B)) ||
	    (st = nn_wasserstein_forward(ctx, loss, nn_seq_output(&z->dws), B, sign)) ||
	    (st = nn_wasserstein_backward(ctx, z->dy, B, sign, 1.0f)))
		return st;
	return nn_seq_backward(ctx, &m->D, &z->dws, dx, z->dy, flags);
}

/* The models' dropout draws from m->rng (pointed at again each step, in
 * case the model structure was copied after build). */
static void bind_rng(gan_model *m)
{
	nn_seq_set_rng(&m->G, &m->rng);
	nn_seq_set_rng(&m->D, &m->rng);
}

static int needs_two(const gan_model *m, int B)
{
	return B < 2 && (nn_seq_has(&m->G, NN_LAYER_BATCHNORM) ||
	                 nn_seq_has(&m->D, NN_LAYER_BATCHNORM));
}

/* gan, dcgan, simple-gan: generator step, then discriminator step on the
 * same generated images. */
static int bce_step(gan_model *m, nn_buf real, int B, long i, gan_losses *out)
{
	zoo *z = m->priv;
	nn_ctx *ctx = m->ctx;
	(void)i;
	out->d_loss = out->g_loss = out->gp = out->wdist = NAN;
	out->d_step = out->g_step = 0;
	bind_rng(m);
	if (needs_two(m, B))
		return TG_CL_OK;
	double gl, lr, lf;
	int st;
	if ((st = noise(m, B)) || (st = nn_optim_zero_grad(ctx, &m->opt_g)) ||
	    (st = nn_seq_forward(ctx, &m->G, &m->gws, m->z, B)))
		return st;
	nn_buf fake = nn_seq_output(&m->gws);
	if ((st = d_bce(m, fake, B, 1.0f, 1.0f, NN_SEQ_NO_PARAM_GRAD, z->dgx, &gl)) ||
	    (st = nn_seq_backward(ctx, &m->G, &m->gws, NN_NONE, z->dgx, 0)) ||
	    (st = nn_optim_step(ctx, &m->opt_g)))
		return st;
	out->g_loss = gl;
	out->g_step = 1;
	if ((st = nn_optim_zero_grad(ctx, &m->opt_d)) ||
	    (st = d_bce(m, real, B, 1.0f, 0.5f, 0, NN_NONE, &lr)) ||
	    (st = d_bce(m, fake, B, 0.0f, 0.5f, 0, NN_NONE, &lf)) ||
	    (st = nn_optim_step(ctx, &m->opt_d)))
		return st;
	out->d_loss = (lr + lf) / 2;
	out->d_step = 1;
	return TG_CL_OK;
}

/* wgan: critic step with clipping; generator step every n_critic. */
static int wgan_step(gan_model *m, nn_buf real, int B, long i, gan_losses *out)
{
	zoo *z = m->priv;
	nn_ctx *ctx = m->ctx;
	out->d_loss = out->g_loss = out->gp = out->wdist = NAN;
	out->d_step = out->g_step = 0;
	bind_rng(m);
	if (needs_two(m, B))
		return TG_CL_OK;
	double lr, lf, gl;
	int st;
	if ((st = noise(m, B)) || (st = nn_seq_forward(ctx, &m->G, &m->gws, m->z, B)) ||
	    (st = nn_optim_zero_grad(ctx, &m->opt_d)) ||
	    (st = d_wass(m, real, B, -1.0f, 0, NN_NONE, &lr)) ||
	    (st = d_wass(m, nn_seq_output(&m->gws), B, 1.0f, 0, NN_NONE, &lf)) ||
	    (st = nn_optim_step(ctx, &m->opt_d)))
		return st;
	if (m->hp.clip > 0 && (st = nn_optim_clamp(ctx, &m->opt_d, NN_OPT_ALL, (float)m->hp.clip)))
		return st;
	out->d_loss = lr + lf;
	out->wdist = -(lr + lf);
	out->d_step = 1;
	int nc = m->hp.n_critic > 0 ? m->hp.n_critic : 1;
	if (i % nc)
		return TG_CL_OK;
	if ((st = nn_optim_zero_grad(ctx, &m->opt_g)) ||
	    (st = nn_seq_forward(ctx, &m->G, &m->gws, m->z, B)) ||
	    (st = d_wass(m, nn_seq_output(&m->gws), B, -1.0f, NN_SEQ_NO_PARAM_GRAD, z->dgx, &gl)) ||
	    (st = nn_seq_backward(ctx, &m->G, &m->gws, NN_NONE, z->dgx, 0)) ||
	    (st = nn_optim_step(ctx, &m->opt_g)))
		return st;
	out->g_loss = gl;
	out->g_step = 1;
	return TG_CL_OK;
}

/* G in evaluation mode (running statistics), back to training after. */
static int zoo_generate(gan_model *m, nn_buf zb, int B, nn_buf *out)
{
	bind_rng(m);
	nn_seq_set_mode(&m->G, NN_SEQ_EVAL);
	int st = nn_seq_forward(m->ctx, &m->G, &m->gws, zb, B);
	nn_seq_set_mode(&m->G, NN_SEQ_TRAIN);
	if (st == TG_CL_OK)
		*out = nn_seq_output(&m->gws);
	return st;
}

const gan_model_kind gan_kind_gan = {
	.name = "gan",
	.summary = "GAN of PyTorch-GAN (seed 001): MLP generator with BatchNorm, MLP discriminator, BCE",
	.noise = GAN_NOISE_NORMAL,
	.defaults = gan_defaults,
	.build = zoo_build,
	.train_step = bce_step,
	.generate = zoo_generate,
	.release = zoo_release,
};

const gan_model_kind gan_kind_wgan = {
	.name = "wgan",
	.summary = "WGAN of PyTorch-GAN (seed 001): MLPs, RMSprop, weight clipping",
	.noise = GAN_NOISE_NORMAL,
	.defaults = wgan_defaults,
	.build = zoo_build,
	.train_step = wgan_step,
	.generate = zoo_generate,
	.release = zoo_release,
};

const gan_model_kind gan_kind_dcgan = {
	.name = "dcgan",
	.summary = "DCGAN of PyTorch-GAN (seed 001): upsample+conv generator, strided-conv "
	           "discriminator",
	.noise = GAN_NOISE_NORMAL,
	.defaults = dcgan_defaults,
	.build = zoo_build,
	.train_step = bce_step,
	.generate = zoo_generate,
	.release = zoo_release,
};

const gan_model_kind gan_kind_simple_gan = {
	.name = "simple-gan",
	.summary = "simple GAN of seed 003: transposed-conv generator, conv+dropout discriminator",
	.noise = GAN_NOISE_UNIFORM,
	.defaults = simple_defaults,
	.build = zoo_build,
	.train_step = bce_step,
	.generate = zoo_generate,
	.release = zoo_release,
};
