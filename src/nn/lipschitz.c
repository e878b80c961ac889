#include "gpa/lipschitz.h"

#include <math.h>
#include <string.h>

#include "gpa/config.h"
#include "gpa/linalg.h"
#include "gpa/rng.h"

int gpa_lipschitz_create(struct gpa_lipschitz *lp, const struct gpa_mlp *m, int method, double L,
                         int64_t iterations, uint64_t seed, int per_class_output) {
  memset(lp, 0, sizeof *lp);
  lp->method = method;
  lp->active = isfinite(L);
  lp->L = L;
  lp->n_layers = gpa_mlp_matrices(m, lp->w_off, lp->rows, lp->cols);
  lp->c = lp->active ? pow(L, 1.0 / lp->n_layers) : INFINITY;
  lp->iterations = iterations;
  lp->per_class_last = per_class_output && m->n_out > 1;
  int64_t total = 0, max_cols = 1;
  for (int l = 0; l < lp->n_layers; l++) {
    lp->u_off[l] = total;
    total += lp->rows[l];
    if (lp->cols[l] > max_cols) max_cols = lp->cols[l];
  }
  lp->u_len = total;
  GPA_CHECK(gpa_alloc_array(&lp->u, (size_t)total, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&lp->v, (size_t)max_cols, sizeof(double)));
  for (int l = 0; l < lp->n_layers; l++) {
    double *u = lp->u + lp->u_off[l];
    for (int64_t i = 0; i < lp->rows[l]; i++) {
      struct gpa_rng rng;
      gpa_rng_init(&rng, seed, GPA_STREAM_POWER_ITER, (uint64_t)(lp->u_off[l] + i));
      u[i] = gpa_rng_normal(&rng);
    }
    gpa_scal(lp->rows[l], 1.0 / gpa_nrm2(lp->rows[l], u), u);
    lp->sigma[l] = -1.0; /* not yet converged */
  }
  return GPA_OK;
}

void gpa_lipschitz_destroy(struct gpa_lipschitz *lp) {
  gpa_free(&lp->u);
  gpa_free(&lp->v);
}

/* One power iteration on W [rows][cols]: v = W^T u / |.|, u = W v / |.|; returns |W v|. */
static double power_step(const double *W, int64_t rows, int64_t cols, double *u, double *v) {
  gpa_gemv('T', rows, cols, 1.0, W, cols, u, 0.0, v);
  double nv = gpa_nrm2(cols, v);
  if (nv == 0.0) return 0.0;
  gpa_scal(cols, 1.0 / nv, v);
  gpa_gemv('N', rows, cols, 1.0, W, cols, v, 0.0, u);
  double sigma = gpa_nrm2(rows, u);
  if (sigma > 0.0) gpa_scal(rows, 1.0 / sigma, u);
  return sigma;
}

double gpa_spectral_norm(const double *W, int64_t rows, int64_t cols, double *u, double *v,
                         int64_t max_iter, double rtol) {
  double sigma = 0.0;
  for (int64_t it = 0; it < max_iter; it++) {
    double s = power_step(W, rows, cols, u, v);
    if (it > 0 && fabs(s - sigma) <= rtol * s) return s;
    sigma = s;
  }
  return sigma;
}

/* Each column j of W [rows][cols] (one class's output weights) to norm c; returns the largest
 * column norm before rescaling.  A column is a vector: its spectral and Frobenius norms agree. */
static double project_columns(double *W, int64_t rows, int64_t cols, double c) {
  double largest = 0.0;
  for (int64_t j = 0; j < cols; j++) {
    double norm = gpa_nrm2_strided(rows, W + j, cols);
    largest = fmax(largest, norm);
    if (norm > 0.0 && isfinite(norm)) gpa_scal_strided(rows, c / norm, W + j, cols);
  }
  return largest;
}

void gpa_lipschitz_project(struct gpa_lipschitz *lp, double *theta) {
  if (!lp->active) return;
  for (int l = 0; l < lp->n_layers; l++) {
    double *W = theta + lp->w_off[l];
    int64_t count = lp->rows[l] * lp->cols[l];
    double norm;
    if (lp->per_class_last && l == lp->n_layers - 1) {
      lp->sigma[l] = project_columns(W, lp->rows[l], lp->cols[l], lp->c);
      continue;
    }
    if (lp->method == GPA_NORM_FROBENIUS) {
      norm = gpa_nrm2(count, W);
    } else if (lp->sigma[l] < 0.0) { /* first projection: converge the vector */
      norm =
          gpa_spectral_norm(W, lp->rows[l], lp->cols[l], lp->u + lp->u_off[l], lp->v, 500, 1e-13);
    } else {
      norm = 0.0;
      for (int64_t it = 0; it < lp->iterations; it++)
        norm = power_step(W, lp->rows[l], lp->cols[l], lp->u + lp->u_off[l], lp->v);
    }
    lp->sigma[l] = norm;
    if (norm > 0.0 && isfinite(norm)) gpa_scal(count, lp->c / norm, W);
  }
}
