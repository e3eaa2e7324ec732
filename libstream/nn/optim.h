/* optim.h: optimizers over a parameter arena (nn.h), as torch.optim 1.13.
 *
 * An optimizer updates the parameters of an arena from its gradients.  Its
 * state (moments, momentum) lives in buffers as large as the arena, at the
 * parameters' offsets (nn_arena_alloc_like).  The update rules, with g the
 * gradient, p the parameter, wd the weight decay and t the step counter
 * (1 at the first step), are those of PyTorch 1.13's single-tensor paths
 * (maximize, amsgrad, nesterov, centered off; dampening 0):
 *
 *   SGD      d = g + wd p;  with momentum mu != 0:
 *            buf = d at t = 1, else buf = mu buf + d;  d = buf
 *            p -= lr d
 *   Adam     d = g + wd p   (L2 added to the gradient, not AdamW)
 *            m = beta1 m + (1 - beta1) d
 *            v = beta2 v + (1 - beta2) d d
 *            p -= (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *            (bias corrections computed in double on the host per step)
 *   RMSprop  d = g + wd p
 *            s = alpha s + (1 - alpha) d d
 *            p -= lr d / (sqrt(s) + eps)
 *
 * Parameter groups: every tensor of the arena belongs to group 0 at first;
 * nn_optim_assign moves named tensors to another group (own learning rate
 * and weight decay) or out of the optimizer (NN_OPT_NONE), so that two
 * optimizers (generator, critic) can share one arena.  A step updates
 * every member tensor, also one whose gradient is all zero (PyTorch skips
 * a tensor whose .grad is None; the engine has no such state).  The
 * arena's padding between tensors stays zero under every rule.
 *
 * Device functions return TG_CL_OK or a TG_CL_* code with nn_error() set;
 * each rule also has a plain-C reference on host arrays (nn_ref_*).
 */
#ifndef TOMOGAN_NN_OPTIM_H
#define TOMOGAN_NN_OPTIM_H

#include "nn/nn.h"

typedef enum { NN_OPT_SGD = 1, NN_OPT_ADAM, NN_OPT_RMSPROP } nn_opt_kind;

#define NN_OPT_MAX_GROUPS 8
#define NN_OPT_MAX_STATE 2
#define NN_OPT_NONE (-1)   /* group of a tensor the optimizer leaves alone */
#define NN_OPT_ALL (-1)    /* "every group" for nn_optim_clamp */

/* Hyperparameters are doubles, as PyTorch's Python floats: the scalars a
 * step applies (beta1, 1 - beta1, lr / (1 - beta1^t), ...) are computed in
 * double and rounded to float once, as PyTorch does. */
typedef struct nn_opt_group {
	double lr;
	double weight_decay;
} nn_opt_group;

typedef struct nn_optim {
	nn_opt_kind kind;
	char name[32];        /* labels the optimizer in checkpoints ("opt") */
	double beta1, beta2;  /* Adam */
	double alpha;         /* RMSprop */
	double eps;           /* Adam, RMSprop */
	double momentum;      /* SGD */
	long long step;       /* steps taken; the next step is step + 1 */
	int ngroups;
	nn_opt_group group[NN_OPT_MAX_GROUPS];
	nn_arena *arena;
	int *group_of;        /* per arena tensor: its group or NN_OPT_NONE */
	int nstate;           /* state buffers in use */
	cl_mem state[NN_OPT_MAX_STATE];
} nn_optim;

/* Sets up an optimizer over an allocated arena with PyTorch's defaults:
 * SGD lr (required, no default in PyTorch; 0.01 here), momentum 0;
 * Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8; RMSprop lr 1e-2, alpha 0.99,
 * eps 1e-8; weight decay 0; one group holding every tensor; name "opt".
 * Change the fields (group[0].lr, beta1, ...) before the first step, and
 * call nn_optim_state_alloc after setting momentum for SGD.  Allocates the
 * state (zeroed).  On failure everything is released. */
int nn_optim_init(nn_ctx *ctx, nn_optim *o, nn_opt_kind kind, nn_arena *a);
/* Re-checks which state buffers the settings need (SGD with momentum needs
 * one) and allocates missing ones, zeroed. */
int nn_optim_state_alloc(nn_ctx *ctx, nn_optim *o);
void nn_optim_free(nn_optim *o);

/* Puts the tensors matched by pattern into group g (0 .. NN_OPT_MAX_GROUPS
 * - 1, or NN_OPT_NONE); groups up to g not yet in use (index >= ngroups)
 * start with the learning rate and weight decay of group 0, so set
 * group[g].lr after the assignment.  A pattern ending
 * in '*' matches every name starting with what precedes it ("d.*"),
 * otherwise exactly one name.  Returns the number of tensors matched, or
 * -1 (bad group, or no tensor matched) with nn_error() set. */
int nn_optim_assign(nn_optim *o, const char *pattern, int g);

/* One step: step += 1, then the rule above on every member tensor. */
int nn_optim_step(nn_ctx *ctx, nn_optim *o);
/* Zeroes the gradients of the member tensors. */
int nn_optim_zero_grad(nn_ctx *ctx, nn_optim *o);
/* Clamps the parameters of group g (NN_OPT_ALL: every member tensor) to
 * [-c, c] (WGAN weight clipping), after a step. */
int nn_optim_clamp(nn_ctx *ctx, nn_optim *o, int g, float c);

/* Names of the state tensors ("adam.m", "adam.v", "rmsprop.sq",
 * "sgd.buf"); NULL for i >= nstate. */
const char *nn_optim_state_name(const nn_optim *o, int i);
const char *nn_optim_kind_name(nn_opt_kind kind);   /* "sgd", "adam", "rmsprop" */

/* ---- plain-C references (host arrays of n elements; t is the step
 * counter after the increment, 1 at the first step) ---- */
void nn_ref_sgd_step(float *p, const float *g, float *buf, size_t n, double lr,
                     double momentum, double wd, long long t);
void nn_ref_adam_step(float *p, const float *g, float *m, float *v, size_t n, double lr,
                      double beta1, double beta2, double eps, double wd, long long t);
void nn_ref_rmsprop_step(float *p, const float *g, float *s, size_t n, double lr, double alpha,
                         double eps, double wd);
void nn_ref_clamp(float *p, size_t n, float c);
/* What nn_optim_step does, on host copies of the whole arena: params and
 * grads [a->total], state[i] [a->total] for i < o->nstate, at step t (the
 * counter after the increment; o->step is not changed). */
void nn_ref_optim_step(const nn_optim *o, long long t, float *params, const float *grads,
                       float *const *state);

#endif
