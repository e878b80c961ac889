#include "gpa/divergence.h"

#include <math.h>

#include "gpa/config.h"

int gpa_divergence_has_nu(const struct gpa_divergence *dv) { return dv->kind != GPA_DIV_KL; }

int gpa_divergence_weights_need_reduction(const struct gpa_divergence *dv) {
  return dv->kind == GPA_DIV_KL;
}

/* f*(y) of the Legendre forms (kl-lt: exp(y) - 1; alpha). */
static double fstar(const struct gpa_divergence *dv, double y) {
  if (dv->kind == GPA_DIV_ALPHA) {
    double a = dv->alpha, yp = y > 0.0 ? y : 0.0;
    return pow(a - 1.0, a / (a - 1.0)) * pow(yp, a / (a - 1.0)) / a + 1.0 / (a * (a - 1.0));
  }
  return exp(y) - 1.0;
}

/* f*'(y). */
static double fstar_deriv(const struct gpa_divergence *dv, double y) {
  if (dv->kind == GPA_DIV_ALPHA) {
    double a = dv->alpha, yp = y > 0.0 ? y : 0.0;
    return pow((a - 1.0) * yp, 1.0 / (a - 1.0));
  }
  return exp(y);
}

void gpa_divergence_local(const struct gpa_divergence *dv, double nu, const double *phi_y,
                          int64_t n, const double *phi_x, int64_t m, struct gpa_reduction *r) {
  double sy = 0.0;
  for (int64_t i = 0; i < n; i++) sy += phi_y[i];
  r->sum[GPA_RED_SUM_PHI_Y] += sy;
  if (dv->kind == GPA_DIV_KL) {
    gpa_reduction_add_lse(r, phi_x, m, 1);
  } else {
    double sx = 0.0;
    for (int64_t j = 0; j < m; j++) sx += fstar(dv, phi_x[j] - nu);
    r->sum[GPA_RED_SUM_FSTAR_X] += sx;
  }
}

double gpa_divergence_value(const struct gpa_divergence *dv, double nu, int64_t N, int64_t M,
                            const struct gpa_reduction *r) {
  double mean_y = r->sum[GPA_RED_SUM_PHI_Y] / (double)N;
  if (dv->kind == GPA_DIV_KL) return mean_y - (r->lse_max + log(r->lse_sum / (double)M));
  return mean_y - nu - r->sum[GPA_RED_SUM_FSTAR_X] / (double)M;
}

void gpa_divergence_weights(const struct gpa_divergence *dv, double nu, int64_t N, int64_t M,
                            const struct gpa_reduction *r, int64_t n, const double *phi_x,
                            int64_t m, double *w, double *dnu_local) {
  const double wy = 1.0 / (double)N, inv_m = 1.0 / (double)M;
  for (int64_t i = 0; i < n; i++) w[i] = wy;
  double *wx = w + n;
  double dnu = 0.0;
  switch (dv->kind) {
    case GPA_DIV_KL: {
      const double lse = r->lse_max + log(r->lse_sum); /* log sum_j exp(phi_j); lme = lse - log M */
      for (int64_t j = 0; j < m; j++) wx[j] = -exp(phi_x[j] - lse);
      break;
    }
    case GPA_DIV_KL_LT:
      for (int64_t j = 0; j < m; j++) {
        double e = exp(phi_x[j] - nu) * inv_m;
        wx[j] = -e;
        dnu += e;
      }
      break;
    default:
      for (int64_t j = 0; j < m; j++) {
        double e = fstar_deriv(dv, phi_x[j] - nu) * inv_m;
        wx[j] = -e;
        dnu += e;
      }
      break;
  }
  if (dnu_local) *dnu_local = dnu;
}
