/* The Lipschitz constraint: after every optimizer update each weight matrix W_l is rescaled to
 * norm c = L^(1/D), so that Lip(phi) <= prod_l ||W_l||_2 <= L (activations are 1-Lipschitz,
 * biases free).  A convolution kernel is held like the matrix [k * k * in][out] (as spectral
 * normalization does); the convolution operator's norm is at most ceil(k / stride) times that
 * matrix's, so with convolutions the bound on Lip(phi) is L times the product of those
 * factors.  The norm is the spectral norm estimated by power iteration with a persistent vector
 * per layer (`spectral`), or the Frobenius norm (`frobenius`, stricter since
 * ||W||_2 <= ||W||_F).  With L = inf nothing is done. */
#ifndef GPA_LIPSCHITZ_H
#define GPA_LIPSCHITZ_H

#include <stdint.h>

#include "gpa/mlp.h"

enum { GPA_LIP_MAX = GPA_MLP_MAX_LAYERS + GPA_MAX_CONV };

struct gpa_lipschitz {
  int method;         /* enum gpa_normalization */
  int active;         /* 0 when L = inf */
  double L, c;        /* c = L^(1/D) */
  int n_layers;       /* weight matrices: convolution kernels, then dense layers */
  int64_t iterations; /* power iterations per projection */
  int64_t rows[GPA_LIP_MAX], cols[GPA_LIP_MAX];
  int64_t w_off[GPA_LIP_MAX];
  int64_t u_off[GPA_LIP_MAX];
  int64_t u_len;             /* sum of rows: doubles in u */
  double *u;                 /* persistent left singular vectors, flat [u_len] */
  double *v;                 /* scratch [max cols] */
  double sigma[GPA_LIP_MAX]; /* last norm estimate of each layer before rescaling (per-class
                              * output layer: its largest column norm) */
  int per_class_last;        /* the last matrix is held column by column */
};

/* Sets up the constraint for network `m`.  The power-iteration vectors start from the
 * counter-based generator and are converged on the first projection.  With per_class_output
 * (a class-conditional network) each column of the output layer [width][classes] is held at
 * norm c instead of the whole matrix, so that each class's output has the bound L. */
int gpa_lipschitz_create(struct gpa_lipschitz *lp, const struct gpa_mlp *m, int method, double L,
                         int64_t iterations, uint64_t seed, int per_class_output);
void gpa_lipschitz_destroy(struct gpa_lipschitz *lp);
/* Rescales every weight matrix of theta (or every column of a per-class output layer) to norm
 * c (up or down). */
void gpa_lipschitz_project(struct gpa_lipschitz *lp, double *theta);
/* Runs power iteration on W_l (theta layout) to convergence; returns the spectral norm. */
double gpa_spectral_norm(const double *W, int64_t rows, int64_t cols, double *u, double *v,
                         int64_t max_iter, double rtol);

#endif
