/* gp.h: the WGAN-GP critic loss with its gradient penalty, and the
 * generator loss, on sequential models (seq.h).
 *
 * Critic loss, as PyTorch-GAN's wgan_gp (Gulrajani et al. 2017):
 *   L = mean_b D(fake_b) - mean_b D(real_b) + GP,
 *   GP = lambda * mean_b (||g_b||_2 - 1)^2,  g_b = grad_x D(x_hat_b),
 *   x_hat_b = a_b real_b + (1 - a_b) fake_b,
 * one a_b in [0, 1) per sample, the norm over all C*H*W values of a sample.
 * PyTorch differentiates GP with respect to the critic's parameters by
 * double backprop (autograd.grad with create_graph=True).  Here the same
 * gradient comes from forward mode: with v_b = dGP/dg_b
 * = (2 lambda / B) (||g_b|| - 1) g_b / ||g_b||, GP's parameter gradient is
 * the gradient of s = sum_b J_b v_b (J_b the Jacobian of D at x_hat_b) with
 * the activation slopes held fixed, exact for critics whose activations
 * are piecewise linear.  The backward of the linearised network from s
 * (seeded with ones) has the same deltas as the ordinary backward of
 * sum_b D(x_hat_b), which the step computes anyway for g; so the penalty
 * costs one tangent forward and one weight-gradient pass on top of a
 * forward and backward of the interpolates.
 *
 * One critic step runs the critic once on [real; fake; x_hat] (3B rows),
 * backward once from dy = [-1/B; +1/B; 1] without parameter gradients
 * (g is the data gradient of the x_hat rows), computes v on the host (in
 * double), pushes it forward in tangent mode, and accumulates the
 * parameter gradients: real and fake rows from the activations (weights
 * and biases), x_hat rows from the tangents (weights only).
 *
 * A g_b of norm zero gets v_b = 0 (PyTorch would give NaN there).
 */
#ifndef TOMOGAN_NN_GP_H
#define TOMOGAN_NN_GP_H

#include "nn/seq.h"

typedef struct nn_gp_stats {
	double d_real, d_fake;  /* mean critic scores */
	double gp;              /* lambda * mean (||g|| - 1)^2 */
	double loss;            /* d_fake - d_real + gp */
	double gnorm_mean, gnorm_min, gnorm_max;   /* ||g_b|| over the batch */
} nn_gp_stats;

typedef struct nn_gp {
	const nn_seq *D;
	int B;                  /* largest batch */
	float lambda;
	size_t n;               /* C*H*W of a sample */
	nn_seq_ws ws;           /* 3B rows, B tangent rows */
	nn_buf X;               /* [3B, n]: real, fake, x_hat */
	nn_buf dX;              /* [3B, n]: data gradient */
	nn_buf dy;              /* [3B] */
	nn_buf v;               /* [B, n] */
	float *hg;              /* host [B, n] */
	float *hs;              /* host [3B] */
	double *norms;          /* ||g_b|| of the last step, [B] */
} nn_gp;

/* Sets up the penalty for critic D (arena allocated or not yet) and
 * batches of up to B.  Refuses (TG_CL_FAIL) a critic with Tanh or Sigmoid
 * or whose output is not one score per sample. */
int nn_gp_init(nn_ctx *ctx, nn_gp *gp, const nn_seq *D, int B, float lambda);
void nn_gp_free(nn_gp *gp);

/* One critic step on B <= gp->B samples: real, fake [B, n] on the device
 * (left unchanged), alpha [B] on the host.  Accumulates the gradient of L
 * into D's arena gradients (zero them first for a plain step) and fills st
 * (may be NULL).  Waits for the device (the penalty needs g on the host). */
int nn_gp_critic_step(nn_ctx *ctx, nn_gp *gp, nn_buf real, nn_buf fake, const float *alpha,
                      int B, nn_gp_stats *st);

/* One generator step: fake = G(z) for z [B, G's input], loss
 * -mean_b D(fake_b) into *loss, and the gradient of the loss accumulated
 * into G's arena gradients (D's gradients are not touched).  gws is a
 * workspace of G for at least B rows; the critic runs in gp's workspace.
 * have_fake nonzero: gws already holds G's forward of this z with G's
 * present parameters (the critic step's fake: the critic's update does not
 * touch G), which is then not run again; the result is the same bits,
 * since a forward is deterministic on a device.  Only for generators
 * without layers whose forward changes state or draws random numbers
 * (batch norm in training mode, dropout): those need their second
 * forward, as PyTorch runs it. */
int nn_gp_generator_step(nn_ctx *ctx, nn_gp *gp, const nn_seq *G, nn_seq_ws *gws, nn_buf z,
                         int have_fake, int B, double *loss);

#endif
