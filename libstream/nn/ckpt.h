/* ckpt.h: checkpoints of the engine: parameters, optimizer state, step
 * counters and random generators in one tensor stream file (tstream(5)).
 *
 * Layout: a sequence of single-frame segments, read back in segment mode
 * (TS_R_SEGMENTS).
 *   1. A header segment: one u8 frame [1] holding 0, whose metadata holds
 *        ckpt.format   1
 *        ckpt.kind     the model kind ("dcgan", "srcnn", ...)
 *        ckpt.tensors  the number of tensor segments that follow
 *        ckpt.opt.NAME.kind / .step / .groups / .lr.G / .wd.G / .beta1 /
 *          .beta2 / .eps / .alpha / .momentum   per optimizer (the
 *          hyperparameters are for the record: a load restores the step
 *          counter and the state, the caller sets the hyperparameters)
 *        ckpt.rng.NAME.seed / .counter   per random generator (decimal)
 *      followed by the caller's own entries (sizes, hyperparameters, epoch
 *      counters ...); caller entries whose keys start with "ckpt." are not
 *      written (those of a loaded header are replaced by fresh ones).
 *   2. One segment per parameter, in arena order: metadata "name" = the
 *      parameter's name, an f32 frame of its shape (rank 1 to 4).
 *   3. One segment per optimizer state tensor: for each optimizer, each of
 *      its state buffers (nn_optim_state_name: "adam.m", "adam.v",
 *      "rmsprop.sq", "sgd.buf") and each tensor of the optimizer, the name
 *      "STATE/PARAM" (e.g. "adam.m/g.conv1.weight") and the parameter's
 *      shape.
 * Values are stored bit-exact (f32, uncompressed).
 */
#ifndef TOMOGAN_NN_CKPT_H
#define TOMOGAN_NN_CKPT_H

#include "nn/nn.h"
#include "nn/optim.h"
#include "tstream.h"

#define NN_CKPT_MAX_OPT 4
#define NN_CKPT_MAX_RNG 4

/* What a checkpoint covers.  Unused pointers are NULL / counts 0. */
typedef struct nn_ckpt {
	const char *kind;                     /* model kind */
	nn_arena *arena;                      /* allocated */
	nn_optim *opt[NN_CKPT_MAX_OPT];       /* over `arena`, distinct names */
	int nopt;
	nn_rng *rng[NN_CKPT_MAX_RNG];
	const char *rng_name[NN_CKPT_MAX_RNG];
	int nrng;
	ts_meta *meta;   /* save: the caller's entries (or NULL); load: receives
	                    every entry of the header segment (or NULL) */
} nn_ckpt;

typedef enum {
	NN_CKPT_OK = 0,
	NN_CKPT_ERR_OPEN,      /* the file cannot be opened */
	NN_CKPT_ERR_IO,        /* reading, writing, fsync or rename failed */
	NN_CKPT_ERR_FORMAT,    /* not a checkpoint, corrupt or truncated */
	NN_CKPT_ERR_MISMATCH,  /* a valid checkpoint of another model or shape */
	NN_CKPT_ERR_DEVICE,    /* a device transfer failed */
	NN_CKPT_ERR_ARG        /* the caller passed something impossible */
} nn_ckpt_status;

/* Writes the checkpoint atomically: into a fresh file PATH.tmp.XXXXXX in
 * the same directory, fsync'ed, then renamed over path (and the directory
 * fsync'ed), so path holds either the old or the new checkpoint.  On
 * failure the temporary file is removed and path is untouched.  Returns an
 * nn_ckpt_status; nn_error() says what failed. */
int nn_ckpt_save(nn_ctx *ctx, const char *path, const nn_ckpt *c);

/* Reads a checkpoint into c: the parameters into c->arena, the state and
 * step counter of every optimizer of c (matched by name), the state of
 * every generator of c (matched by name), the header entries into c->meta.
 * Everything is read and checked before anything of c changes: a failure
 * leaves c as it was.  The checks: model kind, optimizers present with
 * the same kind, every tensor known with the model's shape, none missing
 * or repeated, generators present.  With c->nopt == 0 the file's optimizer
 * state is skipped (weights only).  Returns an nn_ckpt_status; nn_error()
 * holds one line, e.g.
 *   checkpoint is of model 'dcgan', not 'wgan-gp'
 *   checkpoint tensor 'g.conv1.weight' has shape 64x1x3x3, the model expects 128x1x3x3
 * or, for a damaged file, the stream reader's message. */
int nn_ckpt_load(nn_ctx *ctx, const char *path, nn_ckpt *c);

/* The exit status (sysexits) for a status: 66 open, 74 I/O, 65 format and
 * mismatch, 70 device and argument. */
int nn_ckpt_exit_status(int st);

#endif
