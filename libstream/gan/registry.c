/* registry.c: the table of GAN model kinds (gan.h) and the model
 * lifecycle shared by every kind.
 *
 * TO ADD A KIND: declare it below next to gan_kind_wgan_gp
 * (extern const gan_model_kind gan_kind_NAME;) and add &gan_kind_NAME to
 * gan_model_kinds[] before the NULL.  wgan-gp stays first: it is the
 * default model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gan/gan.h"

extern const gan_model_kind gan_kind_wgan_gp;
/* other kinds (libstream/gan/zoo.c) are declared here */
extern const gan_model_kind gan_kind_gan, gan_kind_wgan, gan_kind_dcgan, gan_kind_simple_gan;

const gan_model_kind *const gan_model_kinds[] = {
	&gan_kind_wgan_gp,
	/* other kinds are listed here */
	&gan_kind_gan,
	&gan_kind_wgan,
	&gan_kind_dcgan,
	&gan_kind_simple_gan,
	NULL
};

const gan_model_kind *gan_model_kind_find(const char *name)
{
	for (int i = 0; gan_model_kinds[i]; i++)
		if (strcmp(gan_model_kinds[i]->name, name) == 0)
			return gan_model_kinds[i];
	return NULL;
}

int gan_setup_optimizers(gan_model *m)
{
	nn_optim *o[2] = { &m->opt_g, &m->opt_d };
	const char *name[2] = { "opt_g", "opt_d" }, *other[2] = { "d.*", "g.*" };
	double lr[2] = { m->hp.lr_g, m->hp.lr_d };
	for (int k = 0; k < 2; k++) {
		int st = nn_optim_init(m->ctx, o[k], m->hp.optimizer, &m->arena);
		if (st != TG_CL_OK)
			return st;
		snprintf(o[k]->name, sizeof o[k]->name, "%s", name[k]);
		o[k]->group[0].lr = lr[k];
		o[k]->group[0].weight_decay = m->hp.weight_decay;
		if (m->hp.optimizer == NN_OPT_ADAM) {
			o[k]->beta1 = m->hp.beta1;
			o[k]->beta2 = m->hp.beta2;
		} else if (m->hp.optimizer == NN_OPT_RMSPROP && m->hp.alpha > 0) {
			o[k]->alpha = m->hp.alpha;
		}
		if (nn_optim_assign(o[k], other[k], NN_OPT_NONE) < 1)
			return TG_CL_FAIL;
	}
	return TG_CL_OK;
}

int gan_noise(gan_model *m, nn_buf z, int B)
{
	size_t n = (size_t)B * (size_t)m->hp.latent;
	if (m->kind->noise == GAN_NOISE_UNIFORM)
		return nn_rng_uniform_dev(m->ctx, &m->rng, z, n, -1.0f, 1.0f);
	return nn_rng_normal_dev(m->ctx, &m->rng, z, n, 0.0f, 1.0f);
}

int gan_generate(gan_model *m, nn_buf z, int B, nn_buf *out)
{
	if (m->kind->generate)
		return m->kind->generate(m, z, B, out);
	int st = nn_seq_forward(m->ctx, &m->G, &m->gws, z, B);
	if (st == TG_CL_OK)
		*out = nn_seq_output(&m->gws);
	return st;
}

int gan_model_create(nn_ctx *ctx, const gan_model_kind *k, int size, const gan_hparams *hp,
                     gan_model *m)
{
	memset(m, 0, sizeof *m);
	m->kind = k;
	m->ctx = ctx;
	m->size = size;
	m->hp = *hp;
	nn_arena_init(&m->arena);
	nn_rng_init(&m->rng, hp->seed + 1);
	nn_rng_init(&m->data_rng, hp->seed + 2);
	m->last.d_loss = m->last.g_loss = m->last.gp = m->last.wdist = NAN;
	m->last_g_loss = NAN;
	if (hp->batch < 1 || hp->latent < 1)
		return nn_fail(TG_CL_FAIL, "batch and latent size must be positive");
	int st = k->build(m);
	if (st == TG_CL_OK)
		st = nn_seq_ws_alloc(ctx, &m->G, &m->gws, hp->batch, 0);
	if (st == TG_CL_OK) {
		cl_mem z = nn_alloc(ctx, (size_t)hp->batch * (size_t)hp->latent, NULL);
		if (!z)
			st = TG_CL_FAIL;
		else
			m->z = nn_buf_of(z, 0);
	}
	if (st != TG_CL_OK)
		gan_model_free(m);
	return st;
}

void gan_model_free(gan_model *m)
{
	if (m->kind && m->kind->release)
		m->kind->release(m);
	m->priv = NULL;
	if (m->z.mem)
		clReleaseMemObject(m->z.mem);
	m->z = NN_NONE;
	nn_seq_ws_free(&m->gws);
	if (m->opt_g.arena)
		nn_optim_free(&m->opt_g);
	if (m->opt_d.arena)
		nn_optim_free(&m->opt_d);
	nn_arena_free(&m->arena);
	memset(&m->opt_g, 0, sizeof m->opt_g);
	memset(&m->opt_d, 0, sizeof m->opt_d);
}
