/* zoo.h: the model kinds gan, wgan, dcgan and simple-gan (zoo.c) for the
 * registry of gan.h.  Only the test hook below is declared here; the kinds
 * themselves are reached through gan_model_kinds[]. */
#ifndef TOMOGAN_GAN_ZOO_H
#define TOMOGAN_GAN_ZOO_H

#include "gan/gan.h"

extern const gan_model_kind gan_kind_gan, gan_kind_wgan, gan_kind_dcgan, gan_kind_simple_gan;

/* Tests only: models built after this call have every hidden width
 * (units, channels) divided by width_div (at least 1 remains), and their
 * dropout layers are the identity when dropout_off is not 0.  (1, 0)
 * restores the real architectures. */
void gan_zoo_test_config(int width_div, int dropout_off);
/* Tests only: training steps take their noise [B, latent] from z instead
 * of drawing it (NN_NONE: draw again). */
void gan_zoo_test_noise(nn_buf z);

#endif
