#include "gpa/optimizer.h"

#include <math.h>
#include <string.h>

#include "gpa/config.h"
#include "gpa/error.h"

int gpa_optimizer_create(struct gpa_optimizer *o, int kind, double lr, double beta1, double beta2,
                         double eps, bool reset_moments, int64_t n) {
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->lr = lr;
  o->beta1 = beta1;
  o->beta2 = beta2;
  o->eps = eps;
  o->reset_moments = reset_moments;
  o->n = n;
  GPA_CHECK(gpa_alloc_array(&o->m, (size_t)n, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&o->v, (size_t)n, sizeof(double)));
  return GPA_OK;
}

void gpa_optimizer_destroy(struct gpa_optimizer *o) {
  gpa_free(&o->m);
  gpa_free(&o->v);
}

void gpa_optimizer_begin(struct gpa_optimizer *o) {
  if (!o->reset_moments) return;
  memset(o->m, 0, sizeof(double) * (size_t)o->n);
  memset(o->v, 0, sizeof(double) * (size_t)o->n);
  o->t = 0;
}

void gpa_optimizer_step(struct gpa_optimizer *o, double *restrict theta,
                        const double *restrict grad) {
  const int64_t n = o->n;
  if (o->kind == GPA_OPT_SGD) {
    for (int64_t i = 0; i < n; i++) theta[i] += o->lr * grad[i];
    return;
  }
  o->t++;
  const double b1 = o->beta1, b2 = o->beta2;
  const double step = o->lr / (1.0 - pow(b1, (double)o->t));
  const double inv_c2 = 1.0 / sqrt(1.0 - pow(b2, (double)o->t));
  double *restrict m = o->m, *restrict v = o->v;
  for (int64_t i = 0; i < n; i++) {
    double g = grad[i];
    m[i] = b1 * m[i] + (1.0 - b1) * g;
    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
    theta[i] += step * m[i] / (sqrt(v[i]) * inv_c2 + o->eps);
  }
}
