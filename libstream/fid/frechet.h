/* frechet.h: the Frechet distance between two Gaussians given by their
 * means and covariances, the FID formula:
 *
 *   d^2 = |mu1 - mu2|^2 + Tr S1 + Tr S2 - 2 Tr sqrt(S1 S2)
 *
 * Method.  pytorch-fid (calculate_frechet_distance) takes
 * scipy.linalg.sqrtm of the non-symmetric product S1 S2 and the trace of
 * its real part.  Here the trace comes from two symmetric eigenproblems
 * (LAPACKE dsyevd):
 *   S1 = V diag(l) V^T,  B = V diag(sqrt(max(l, 0)))   (so sqrt(S1) = B V^T),
 *   M = B^T S2 B  (symmetric positive semidefinite),
 *   Tr sqrt(S1 S2) = sum_i sqrt(max(m_i, 0)) over the eigenvalues m_i of M.
 * Why this is the same number: for any matrices X (d x k) and Y (k x d),
 * XY and YX have the same non-zero eigenvalues.  With X = sqrt(S1) and
 * Y = sqrt(S1) S2, S1 S2 = XY has the eigenvalues of
 * YX = sqrt(S1) S2 sqrt(S1) = V M V^T, i.e. those of M, which are real and
 * >= 0 because M is a congruence of the PSD matrix S2.  The principal
 * square root that sqrtm returns has eigenvalues sqrt(m_i), and the trace
 * is the sum of eigenvalues, so both routes give sum sqrt(m_i) (this is
 * also how torch-fidelity computes it).  The eigen route never produces a
 * complex or non-finite root, so pytorch-fid's two escape hatches do not
 * arise: its "Imaginary component" error (sqrtm's rounding on a
 * near-singular product leaves imaginary parts) and its fallback that adds
 * eps = 1e-6 to the diagonals of both S1 and S2 when sqrtm's result is not
 * finite.
 *
 * Rank-deficient and near-singular covariances (fewer samples than
 * dimensions, as with N < 2048 images): S1 S2 then has a block of zero
 * eigenvalues that is not diagonalisable in floating point.  sqrtm's
 * Schur-based root turns the rounding noise (about 1e-16 |S|) of each zero
 * eigenvalue into contributions of order sqrt(1e-16 |S|) to the trace, and
 * in the worst case gives up (non-finite) so that pytorch-fid's eps
 * fallback changes the problem to (S1 + eps I)(S2 + eps I).  The eigen
 * route clips negative eigenvalues (of S1 and of M) to 0, which is exact
 * for PSD inputs, but it too takes square roots of the tiny positive noise
 * eigenvalues, so both routes carry a small positive-or-negative error of
 * order sqrt(1e-16 |S|) per null direction; the fixtures measure 1.4e-7
 * relative between the two for covariances of rank 99 and 119 in 256
 * dimensions (1e-8 against NumPy's own eigen route), and 1e-13 for
 * full-rank ones.  No threshold above 0 is applied: it would also drop
 * genuine tiny eigenvalues, such as the 1e-12 ones of M that eps = 1e-6
 * creates in the null directions (tried: 5e-6 relative error on that
 * fixture).  Where pytorch-fid's fallback is
 * to be reproduced, pass eps = 1e-6: the distance is then computed from
 * S1 + eps I and S2 + eps I for the root term, with the traces of the
 * unmodified matrices, exactly as pytorch-fid does.  With eps = 0 nothing
 * is added.
 *
 * Inputs are row-major d x d symmetric matrices; only the upper triangle
 * is read.  Cost: two d x d eigenproblems and two d^3 products (a few
 * seconds for d = 2048).  Diagonal S1 (and diagonal M) skip their
 * eigenproblem. */
#ifndef TOMOGAN_FID_FRECHET_H
#define TOMOGAN_FID_FRECHET_H

#include <stddef.h>

#include "tstream.h"

typedef struct {
	double distance;       /* the Frechet distance d^2 (the FID) */
	double mean_term;      /* |mu1 - mu2|^2 */
	double trace1, trace2; /* Tr S1, Tr S2 */
	double trace_sqrt;     /* Tr sqrt(S1 S2) */
	/* The most negative eigenvalue of S1 and of M, 0 when none: rounding
	 * noise for PSD inputs (clipped to 0); a large negative value means an
	 * input was not a covariance. */
	double min_eig1, min_eig_m;
} tg_frechet_result;

/* Fills r.  TS_ERR_ARG for d == 0 or non-finite inputs, TS_ERR_NOMEM,
 * TS_ERR_CORRUPT when LAPACK's eigensolver fails to converge. */
ts_status tg_frechet_distance(const double *mu1, const double *sigma1,
                              const double *mu2, const double *sigma2, size_t d,
                              double eps, tg_frechet_result *r);

#endif
