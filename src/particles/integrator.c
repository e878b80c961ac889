#include "gpa/integrator.h"

#include <string.h>

#include "gpa/error.h"

static const struct gpa_tableau tableaux[] = {
    {"euler", 1, {{0}}, {1.0}, 1},
    {"heun", 2, {{0}, {1.0}}, {0.5, 0.5}, 2},
    {"rk4", 4, {{0}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}}, {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6}, 4},
};

const struct gpa_tableau *gpa_tableau_get(int kind) {
  if (kind < 0 || kind >= (int)(sizeof tableaux / sizeof tableaux[0])) return NULL;
  return &tableaux[kind];
}

int gpa_integrator_create(struct gpa_integrator *it, int kind, int64_t n) {
  memset(it, 0, sizeof *it);
  it->tab = gpa_tableau_get(kind);
  if (!it->tab) return GPA_ERROR(GPA_ERR_INTERNAL, "unknown integrator %d", kind);
  it->n = n;
  for (int s = 0; s < it->tab->stages; s++)
    GPA_CHECK(gpa_alloc_array(&it->k[s], (size_t)(n > 0 ? n : 1), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&it->ys, (size_t)(n > 0 ? n : 1), sizeof(double)));
  return GPA_OK;
}

void gpa_integrator_destroy(struct gpa_integrator *it) {
  for (int s = 0; s < GPA_RK_MAX_STAGES; s++) gpa_free(&it->k[s]);
  gpa_free(&it->ys);
}

int gpa_integrator_step(struct gpa_integrator *it, double dt, double *y,
                        gpa_stage_velocity_fn velocity, void *ctx, double *vel) {
  const struct gpa_tableau *t = it->tab;
  const int64_t n = it->n;
  for (int s = 0; s < t->stages; s++) {
    const double *ys = y;
    if (s > 0) {
      double *restrict out = it->ys;
      memcpy(out, y, sizeof(double) * (size_t)n);
      for (int j = 0; j < s; j++) {
        const double c = dt * t->a[s][j];
        if (c == 0.0) continue;
        const double *restrict kj = it->k[j];
        for (int64_t i = 0; i < n; i++) out[i] += c * kj[i];
      }
      ys = out;
    }
    GPA_CHECK(velocity(ctx, s, ys, it->k[s]));
  }
  double *restrict v = vel ? vel : it->ys;
  memset(v, 0, sizeof(double) * (size_t)n);
  for (int s = 0; s < t->stages; s++) {
    const double bs = t->b[s];
    const double *restrict ks = it->k[s];
    for (int64_t i = 0; i < n; i++) v[i] += bs * ks[i];
  }
  for (int64_t i = 0; i < n; i++) y[i] += dt * v[i];
  return GPA_OK;
}
