/* gan.h: GAN model kinds for ganrun(1): a registry of models, each a
 * generator G and a critic/discriminator D (nn/seq.h) in one parameter
 * arena, and the shared training loop, sampling and checkpoints.
 *
 * Data conventions (every kind follows them):
 *  - Images are 1 channel, square, size x size, NCHW: a batch is
 *    [B, 1, size, size] float32 on the device, samples one after another.
 *  - Real images are in [-1, 1] (ganrun maps the stream's [0, 1] there);
 *    G's output is read as [-1, 1] and mapped back with (x + 1) / 2,
 *    clamped to [0, 1], when sampling.
 *  - G's input is a latent vector of hp.latent floats per sample (shape
 *    (latent, 1, 1)), drawn by gan_noise from m->rng: N(0, 1) or U[-1, 1)
 *    according to kind->noise.
 *  - Parameters are named "g.<layer>.weight", "g.<layer>.bias",
 *    "d.<layer>...." (nn_seq models named "g" and "d"), so "g.*" and "d.*"
 *    select each model for an optimizer (nn_optim_assign).
 *  - Random draws during training (noise, interpolation factors, dropout
 *    masks) come from m->rng only; the data order from m->data_rng.  Both
 *    are saved in checkpoints, so a resumed run continues exactly.
 *
 * The training loop (gan_train) follows PyTorch-GAN: for each epoch the
 * data are shuffled and cut into batches of hp.batch (the last one may be
 * smaller); for each batch, with i its index within the epoch (0, 1, ...),
 * kind->train_step(m, real, B, i, &losses) runs whatever that model does
 * on one batch: e.g. wgan-gp a critic step on every batch and a generator
 * step when i % n_critic == 0; gan a generator step then a discriminator
 * step.  It sets losses->g_step when it stepped the generator.
 *
 * Adding a model kind: define a `const gan_model_kind gan_kind_NAME` in
 * its own .c file (libstream/gan/zoo.c for gan, wgan, dcgan, simple-gan)
 * and add it to the table in libstream/gan/registry.c (see the comment
 * there).  A kind's build() declares G and D on m->arena (nn_seq_init(&m->G,
 * &m->arena, "g", ...) and nn_seq_init(&m->D, &m->arena, "d", ...)),
 * allocates the arena (nn_arena_alloc), initialises the weights from an
 * nn_rng seeded with m->hp.seed, sets up m->opt_g and m->opt_d (the helper
 * gan_setup_optimizers does it from m->hp) and its private state in m->priv
 * (workspaces, GP state ...).  The common code allocates m->z, m->gws and
 * the RNGs before build() (see gan_model_create) and frees everything
 * after kind->release().
 */
#ifndef TOMOGAN_GAN_GAN_H
#define TOMOGAN_GAN_GAN_H

#include <signal.h>
#include <stddef.h>

#include "nn/nn.h"
#include "nn/optim.h"
#include "nn/rng.h"
#include "nn/seq.h"
#include "tstream.h"

enum gan_noise { GAN_NOISE_NORMAL = 0, GAN_NOISE_UNIFORM = 1 };

/* Hyperparameters: every one settable from ganrun's command line, recorded
 * in checkpoints ("gan.hp.*" entries). */
typedef struct gan_hparams {
	double lr_g, lr_d;        /* learning rates of G and D (--lr sets both) */
	double beta1, beta2;      /* Adam */
	double alpha;             /* RMSprop smoothing (0.99 as torch) */
	double weight_decay;      /* L2, both models (simple-gan 1e-5) */
	int batch;
	int latent;
	int n_critic;             /* critic steps per generator step (1: none) */
	double lambda_gp;         /* gradient penalty weight (WGAN-GP) */
	double clip;              /* weight clipping of D (WGAN), 0: none */
	nn_opt_kind optimizer;    /* NN_OPT_ADAM, NN_OPT_RMSPROP, NN_OPT_SGD */
	unsigned long long seed;  /* weights, noise, data order */
} gan_hparams;

/* What one train_step did.  Unused values are NAN. */
typedef struct gan_losses {
	double d_loss;      /* critic / discriminator loss of the step */
	double g_loss;      /* generator loss, when g_step */
	double gp;          /* gradient penalty (included in d_loss) */
	double wdist;       /* Wasserstein estimate mean D(real) - mean D(fake) */
	int d_step;         /* 1 when D was updated */
	int g_step;         /* 1 when G was updated */
} gan_losses;

struct gan_model;

typedef struct gan_model_kind {
	const char *name;          /* --model NAME, checkpoint kind */
	const char *summary;       /* one line for ganrun -h / info */
	int noise;                 /* enum gan_noise */
	/* Defaults for an image size (hp is zeroed first; seed is set by the
	 * caller).  Returns 0, or -1 when the size is not supported (then
	 * why[] holds a sentence such as "wgan-gp needs a power of two from
	 * 16 to 256"). */
	int (*defaults)(int size, gan_hparams *hp, char *why, size_t whylen);
	/* Builds G and D, allocates and initialises everything (see above).
	 * Returns TG_CL_OK or a TG_CL_* code with nn_error() set. */
	int (*build)(struct gan_model *m);
	/* One batch of training: real [B, 1, size, size] in [-1, 1] on the
	 * device, 1 <= B <= hp.batch, i the batch index within the epoch.
	 * Returns TG_CL_OK or a TG_CL_* code with nn_error() set. */
	int (*train_step)(struct gan_model *m, nn_buf real, int B, long i, gan_losses *out);
	/* Optional: G in evaluation mode (BatchNorm running statistics, no
	 * dropout) on z [B, latent]; *out receives [B, 1, size, size], valid
	 * until the next call.  NULL: nn_seq_forward of G in m->gws. */
	int (*generate)(struct gan_model *m, nn_buf z, int B, nn_buf *out);
	/* Optional: frees m->priv. */
	void (*release)(struct gan_model *m);
} gan_model_kind;

typedef struct gan_model {
	const gan_model_kind *kind;
	nn_ctx *ctx;
	int size;                  /* images are size x size */
	gan_hparams hp;
	nn_arena arena;            /* G ("g.*") and D ("d.*") */
	nn_seq G, D;
	nn_seq_ws gws;             /* G's workspace, hp.batch rows, no tangents
	                              (allocated by gan_model_create after build) */
	nn_optim opt_g, opt_d;     /* named "opt_g", "opt_d" in checkpoints */
	nn_rng rng;                /* noise, alphas, dropout: seed hp.seed + 1 */
	nn_rng data_rng;           /* shuffling: seed hp.seed + 2 */
	nn_buf z;                  /* [hp.batch, latent] device noise buffer */
	void *priv;                /* the kind's own state */
	/* progress, saved in checkpoints */
	long long epoch;           /* epochs completed */
	long batch_pos;            /* next batch of the current epoch (0 at an
	                              epoch start; a run stopped mid-epoch resumes
	                              there with the same data order) */
	long long g_steps, d_steps;
	double wall;               /* seconds of training so far */
	gan_losses last;           /* losses of the last step */
	double last_g_loss;        /* g_loss of the last generator step */
} gan_model;

/* ---- registry (registry.c) ---- */
/* NULL-terminated list of the kinds, wgan-gp first. */
extern const gan_model_kind *const gan_model_kinds[];
const gan_model_kind *gan_model_kind_find(const char *name);

/* ---- model lifecycle (registry.c) ---- */
/* Sets *m up for kind k at `size` with hyperparameters hp (complete: take
 * k->defaults and override).  Returns TG_CL_OK or a TG_CL_* code with
 * nn_error() set; on failure everything is released. */
int gan_model_create(nn_ctx *ctx, const gan_model_kind *k, int size, const gan_hparams *hp,
                     gan_model *m);
void gan_model_free(gan_model *m);
/* opt_g over "g.*" and opt_d over "d.*" of kind hp.optimizer with lr_g /
 * lr_d, beta1, beta2, alpha, weight_decay (for build()). */
int gan_setup_optimizers(gan_model *m);
/* Fills z [B, latent] with noise of the kind from m->rng. */
int gan_noise(gan_model *m, nn_buf z, int B);
/* G's images for z [B, latent] (kind->generate or the plain forward). */
int gan_generate(gan_model *m, nn_buf z, int B, nn_buf *out);

/* ---- checkpoints (train.c) ---- */
/* Saves the model, optimizers, generators, hyperparameters and progress
 * atomically.  Returns an nn_ckpt_status. */
int gan_ckpt_save(gan_model *m, const char *path);
/* Reads the header of a checkpoint: kind, size and hyperparameters (and
 * progress fields into *m where given).  Returns an nn_ckpt_status;
 * why[] says what failed. */
int gan_ckpt_peek(const char *path, const gan_model_kind **k, int *size, gan_hparams *hp,
                  ts_meta *meta, char *why, size_t whylen);
/* Creates the model recorded in path and loads it; weights_only skips the
 * optimizer state.  Returns an nn_ckpt_status (message in nn_error()). */
int gan_ckpt_open(nn_ctx *ctx, const char *path, int weights_only, gan_model *m);

/* ---- training loop (train.c) ---- */
typedef struct gan_data {
	nn_buf x;          /* [n, 1, size, size] in [-1, 1] on the device */
	long n;
	int size;
} gan_data;

typedef struct gan_train_opts {
	long long epochs;          /* stop after this many epochs in total */
	double time_budget;        /* seconds of this run, checked at epoch ends; 0: none */
	int snapshot_every;        /* epochs; 0: none */
	const char *snapshot_dir;
	const char *log_path;      /* CSV, appended on resume */
	int checkpoint_every;      /* epochs; 0: only at the end */
	const char *ckpt_path;
	int quiet;
	const char *prog;          /* for messages */
	volatile sig_atomic_t *stop; /* set by a signal handler: finish the step */
} gan_train_opts;

/* Trains until opts->epochs, the time budget or *stop.  Returns 0, or an
 * exit status (sysexits) after printing a message. */
int gan_train(gan_model *m, const gan_data *d, const gan_train_opts *o);

#endif
