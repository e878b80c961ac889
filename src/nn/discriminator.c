#include "gpa/discriminator.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpa/comm.h"
#include "gpa/io.h"

int gpa_disc_create(struct gpa_disc *dc, MPI_Comm comm, const struct gpa_params *p, int64_t dim,
                    struct gpa_block particles, struct gpa_block targets,
                    struct gpa_block generated, const double *target_rows) {
  memset(dc, 0, sizeof *dc);
  const int64_t n = particles.n_local, m = targets.n_local, g = generated.n_local;
  dc->comm = comm;
  dc->dim = dim;
  dc->particles = particles;
  dc->targets = targets;
  dc->generated = generated;
  dc->epochs = p->optimizer.epochs;
  dc->div.kind = p->divergence.kind;
  dc->div.alpha = p->divergence.alpha;
  GPA_CHECK(gpa_mlp_create(&dc->net, dim, p, gpa_divergence_has_nu(&dc->div), n + m + g));
  const int64_t np = dc->net.n_params;
  GPA_CHECK(gpa_alloc_array(&dc->theta, (size_t)np, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&dc->grad, (size_t)np, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&dc->x, (size_t)((n + m + g) * dim), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&dc->w, (size_t)(n + m), sizeof(double)));
  GPA_CHECK(gpa_optimizer_create(&dc->opt, p->optimizer.kind, p->optimizer.lr, p->optimizer.beta1,
                                 p->optimizer.beta2, p->optimizer.eps, p->optimizer.reset_moments,
                                 np));
  GPA_CHECK(gpa_lipschitz_create(
      &dc->lip, &dc->net, p->network.normalization, p->divergence.L, p->network.power_iterations,
      (uint64_t)p->run.seed,
      p->network.conditional && p->network.class_normalization == GPA_CLASSNORM_PER_CLASS));
  if (m > 0 && target_rows)
    memcpy(gpa_disc_targets(dc), target_rows, sizeof(double) * (size_t)(m * dim));
  gpa_mlp_set_row_keys(&dc->net, 0, n, (uint64_t)particles.offset);
  gpa_mlp_set_row_keys(&dc->net, n, m, (uint64_t)(particles.n_global + targets.offset));
  gpa_mlp_init_params(&dc->net, dc->theta, (uint64_t)p->run.seed);
  gpa_lipschitz_project(&dc->lip, dc->theta);
  return GPA_OK;
}

void gpa_disc_destroy(struct gpa_disc *dc) {
  gpa_mlp_destroy(&dc->net);
  gpa_lipschitz_destroy(&dc->lip);
  gpa_optimizer_destroy(&dc->opt);
  gpa_free(&dc->theta);
  gpa_free(&dc->grad);
  gpa_free(&dc->x);
  gpa_free(&dc->w);
}

double *gpa_disc_targets(struct gpa_disc *dc) { return dc->x + dc->particles.n_local * dc->dim; }

void gpa_disc_set_labels(struct gpa_disc *dc, const int32_t *particle_labels,
                         const int32_t *target_labels, const int32_t *generated_labels) {
  const int64_t n = dc->particles.n_local, m = dc->targets.n_local;
  if (particle_labels) gpa_mlp_set_labels(&dc->net, 0, n, particle_labels);
  if (target_labels) gpa_mlp_set_labels(&dc->net, n, m, target_labels);
  if (generated_labels)
    gpa_mlp_set_labels(&dc->net, n + m, dc->generated.n_local, generated_labels);
  gpa_disc_theta_changed(dc);
}

void gpa_disc_load(struct gpa_disc *dc, const double *y) {
  const int64_t n = dc->particles.n_local;
  if (n > 0) memcpy(dc->x, y, sizeof(double) * (size_t)(n * dc->dim));
  dc->particles_ready = 0;
}

void gpa_disc_theta_changed(struct gpa_disc *dc) {
  dc->particles_ready = 0;
  dc->targets_ready = 0;
}

/* Forward passes for whichever rows are stale. */
static void forward_rows(struct gpa_disc *dc) {
  const int64_t n = dc->particles.n_local, m = dc->targets.n_local;
  if (!dc->particles_ready) {
    gpa_mlp_forward(&dc->net, dc->theta, dc->x, 0, n);
    dc->particles_ready = 1;
  }
  if (!dc->targets_ready) {
    gpa_mlp_forward(&dc->net, dc->theta, gpa_disc_targets(dc), n, m);
    dc->targets_ready = 1;
  }
}

/* Gradient components more than 12 orders of magnitude below the largest are the rounding
 * noise of sums that cancel exactly: the kl objective does not change when phi is shifted by a
 * constant, so its derivative in the output bias (and in any bias whose path to the output is
 * linear on all rows) is exactly 0 and what the sums leave is ~1e-16.  Adam, which divides by
 * the gradient's own size, would turn that noise into steps of lr * 1e-8 / eps that random-walk
 * differently on different rank counts.  Such components are set to 0. */
static void flush_gradient_noise(double *g, int64_t n) {
  double gmax = 0.0;
  for (int64_t i = 0; i < n; i++)
    if (fabs(g[i]) > gmax) gmax = fabs(g[i]);
  const double floor = 1e-12 * gmax;
  for (int64_t i = 0; i < n; i++)
    if (fabs(g[i]) < floor) g[i] = 0.0;
}

static double nu_of(const struct gpa_disc *dc) {
  return dc->net.nu_off >= 0 ? dc->theta[dc->net.nu_off] : 0.0;
}

int gpa_disc_objective(struct gpa_disc *dc, double *J) {
  const int64_t n = dc->particles.n_local, m = dc->targets.n_local;
  forward_rows(dc);
  struct gpa_reduction r;
  gpa_reduction_clear(&r);
  const double *phi = dc->net.out;
  gpa_divergence_local(&dc->div, nu_of(dc), phi, n, phi + n, m, &r);
  GPA_CHECK(gpa_reduction_allreduce(dc->comm, &r));
  *J = gpa_divergence_value(&dc->div, nu_of(dc), dc->particles.n_global, dc->targets.n_global, &r);
  return GPA_OK;
}

int gpa_disc_gradient(struct gpa_disc *dc, double *J) {
  const int64_t n = dc->particles.n_local, m = dc->targets.n_local;
  const int64_t N = dc->particles.n_global, M = dc->targets.n_global;
  /* With dropout the passes of an update use its own masks; every other pass uses none. */
  const int dropout = dc->net.dropout > 0.0;
  if (dropout) {
    dc->net.training = 1;
    dc->net.dropout_round = (uint64_t)dc->updates;
    gpa_disc_theta_changed(dc);
  }
  forward_rows(dc);
  const double nu = nu_of(dc);
  const double *phi = dc->net.out;
  struct gpa_reduction r;
  gpa_reduction_clear(&r);
  int reduced = 0;
  if (gpa_divergence_weights_need_reduction(&dc->div) || J) {
    gpa_divergence_local(&dc->div, nu, phi, n, phi + n, m, &r);
    GPA_CHECK(gpa_reduction_allreduce(dc->comm, &r));
    reduced = 1;
  }
  double dnu = 0.0;
  gpa_divergence_weights(&dc->div, nu, N, M, &r, n, phi + n, m, dc->w, &dnu);
  gpa_mlp_backward(&dc->net, dc->theta, dc->x, dc->w, n + m, dc->grad);
  if (dc->net.nu_off >= 0) dc->grad[dc->net.nu_off] = dnu;
  if (dropout) {
    dc->net.training = 0;
    gpa_disc_theta_changed(dc);
  }
  GPA_CHECK(gpa_allreduce_sum(dc->comm, dc->grad, dc->net.n_params));
  if (dc->net.nu_off >= 0) dc->grad[dc->net.nu_off] -= 1.0;
  flush_gradient_noise(dc->grad, dc->net.n_params);
  if (J && reduced) *J = gpa_divergence_value(&dc->div, nu, N, M, &r);
  return GPA_OK;
}

int gpa_disc_train(struct gpa_disc *dc, const double *y, double *J) {
  gpa_disc_load(dc, y);
  gpa_optimizer_begin(&dc->opt);
  for (int64_t e = 0; e < dc->epochs; e++) {
    GPA_CHECK(gpa_disc_gradient(dc, NULL));
    gpa_optimizer_step(&dc->opt, dc->theta, dc->grad);
    gpa_lipschitz_project(&dc->lip, dc->theta);
    gpa_disc_theta_changed(dc);
    dc->updates++;
  }
  GPA_CHECK(gpa_disc_objective(dc, J));
  return GPA_OK;
}

void gpa_disc_velocity(struct gpa_disc *dc, double *v) {
  gpa_mlp_velocity(&dc->net, dc->theta, dc->particles_ready ? NULL : dc->x, 0,
                   dc->particles.n_local, v);
  dc->particles_ready = 1;
}

void gpa_disc_velocity_extra(struct gpa_disc *dc, const double *yg, double *vg) {
  const int64_t g = dc->generated.n_local;
  if (g == 0) return;
  const int64_t row0 = dc->particles.n_local + dc->targets.n_local;
  double *x = dc->x + row0 * dc->dim;
  memcpy(x, yg, sizeof(double) * (size_t)(g * dc->dim));
  gpa_mlp_velocity(&dc->net, dc->theta, x, row0, g, vg);
}

/* ------------------------------------------------------------------------- checkpoints */

void gpa_disc_state_arrays(const struct gpa_disc *dc,
                           struct gpa_disc_array a[GPA_DISC_STATE_ARRAYS]) {
  const int64_t np = dc->net.n_params;
  const struct gpa_lipschitz *lp = &dc->lip;
  a[0] = (struct gpa_disc_array){"theta", "parameters of phi", dc->theta, np};
  a[1] = (struct gpa_disc_array){"adam_m", "first moment", dc->opt.m, np};
  a[2] = (struct gpa_disc_array){"adam_v", "second moment", dc->opt.v, np};
  a[3] = (struct gpa_disc_array){"power_u", "power-iteration vectors of every layer", lp->u,
                                 lp->u_len};
  a[4] = (struct gpa_disc_array){"power_sigma", "last norm estimates (< 0: not yet converged)",
                                 (double *)lp->sigma, lp->n_layers};
}

int gpa_disc_state_write(struct gpa_h5 *f, const char *group, const struct gpa_disc *dc) {
  struct gpa_disc_array a[GPA_DISC_STATE_ARRAYS];
  gpa_disc_state_arrays(dc, a);
  char name[GPA_PATH_MAX];
  for (int i = 0; i < GPA_DISC_STATE_ARRAYS; i++) {
    snprintf(name, sizeof name, "%s/%s", group, a[i].name);
    GPA_CHECK(gpa_h5_write_f64(f, name, a[i].v, a[i].n, a[i].description, NULL));
  }
  return GPA_OK;
}

int gpa_disc_state_read(struct gpa_h5 *f, const char *group, struct gpa_disc *dc) {
  struct gpa_disc_array a[GPA_DISC_STATE_ARRAYS];
  gpa_disc_state_arrays(dc, a);
  char name[GPA_PATH_MAX];
  for (int i = 0; i < GPA_DISC_STATE_ARRAYS; i++) {
    snprintf(name, sizeof name, "%s/%s", group, a[i].name);
    GPA_CHECK(gpa_h5_read_f64(f, name, a[i].v, a[i].n));
  }
  gpa_disc_theta_changed(dc);
  return GPA_OK;
}

void gpa_disc_counters(const struct gpa_disc *dc, int64_t c[GPA_DISC_COUNTERS]) {
  c[0] = dc->opt.t;
  c[1] = dc->updates;
}

void gpa_disc_set_counters(struct gpa_disc *dc, const int64_t c[GPA_DISC_COUNTERS]) {
  dc->opt.t = c[0];
  dc->updates = c[1];
}
