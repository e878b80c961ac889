/* The variational objectives J(theta) of the Lipschitz-regularized divergences and their row
 * weights w = dJ/dphi(row) (ALGORITHM.md section 1).
 *
 *   kl     (Donsker-Varadhan)  J = mean_i phi(Y_i) - log mean_j exp(phi(X_j))
 *   kl-lt  (Legendre, nu)      J = mean_i phi(Y_i) - nu - mean_j [exp(phi(X_j) - nu) - 1]
 *   alpha  (alpha > 1, nu)     J = mean_i phi(Y_i) - nu - mean_j f*_alpha(phi(X_j) - nu)
 *
 * Each rank holds some particles Y and targets X; the global means come from one reduction
 * (struct gpa_reduction), the log-mean-exp stabilised by the global maximum. */
#ifndef GPA_DIVERGENCE_H
#define GPA_DIVERGENCE_H

#include <stdint.h>

#include "gpa/comm.h"

struct gpa_divergence {
  int kind; /* enum gpa_divergence_kind */
  double alpha;
};

/* 1 when the objective has the trained scalar nu. */
int gpa_divergence_has_nu(const struct gpa_divergence *dv);
/* 1 when the row weights need global reductions first (the Donsker-Varadhan log-mean-exp). */
int gpa_divergence_weights_need_reduction(const struct gpa_divergence *dv);

/* Adds this rank's terms (phi_y: n particle outputs, phi_x: m target outputs) to r, in the
 * slots GPA_RED_SUM_PHI_Y and GPA_RED_SUM_FSTAR_X (comm.h) and the log-sum-exp pair. */
void gpa_divergence_local(const struct gpa_divergence *dv, double nu, const double *phi_y,
                          int64_t n, const double *phi_x, int64_t m, struct gpa_reduction *r);
/* J from a reduced record; N, M global counts. */
double gpa_divergence_value(const struct gpa_divergence *dv, double nu, int64_t N, int64_t M,
                            const struct gpa_reduction *r);
/* Row weights w[0..n) for the n particles (1/N each) and w[n..n+m) for the targets from their
 * outputs phi_x [m], and this rank's part of sum_j f*'(phi(X_j) - nu) / M (dJ/dnu = that
 * summed over ranks, minus 1).  For kl, r must be the reduced record. */
void gpa_divergence_weights(const struct gpa_divergence *dv, double nu, int64_t N, int64_t M,
                            const struct gpa_reduction *r, int64_t n, const double *phi_x,
                            int64_t m, double *w, double *dnu_local);

#endif
