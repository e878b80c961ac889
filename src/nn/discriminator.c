#include "gpa/discriminator.h"

#include <math.h>
#include <string.h>

#include "gpa/comm.h"

int gpa_disc_create(struct gpa_disc *dc, MPI_Comm comm, const struct gpa_params *p, int64_t dim,
                    int64_t N, int64_t M, int64_t n, int64_t m, int64_t g,
                    const double *targets) {
  memset(dc, 0, sizeof *dc);
  dc->comm = comm;
  dc->dim = dim;
  dc->N = N;
  dc->M = M;
  dc->n = n;
  dc->m = m;
  dc->g = g;
  dc->epochs = p->optimizer.epochs;
  dc->div.kind = p->divergence.kind;
  dc->div.alpha = p->divergence.alpha;
  GPA_CHECK(gpa_mlp_create(&dc->net, dim, p, gpa_divergence_has_nu(&dc->div), n + m + g));
  const int64_t np = dc->net.n_params;
  GPA_CHECK(gpa_alloc_array(&dc->theta, (size_t)np, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&dc->grad, (size_t)np, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&dc->x, (size_t)((n + m + g) * dim), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&dc->w, (size_t)(n + m), sizeof(double)));
  GPA_CHECK(gpa_optimizer_create(&dc->opt, p->optimizer.kind, p->optimizer.lr,
                                 p->optimizer.beta1, p->optimizer.beta2, p->optimizer.eps,
                                 p->optimizer.reset_moments, np));
  GPA_CHECK(gpa_lipschitz_create(&dc->lip, &dc->net, p->network.normalization, p->divergence.L,
                                 p->network.power_iterations, (uint64_t)p->run.seed,
                                 p->network.conditional &&
                                     p->network.class_normalization == GPA_CLASSNORM_PER_CLASS));
  if (m > 0) memcpy(dc->x + n * dim, targets, sizeof(double) * (size_t)(m * dim));
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

void gpa_disc_set_rows(struct gpa_disc *dc, int64_t p_offset, int64_t t_offset,
                       const int32_t *particle_labels, const int32_t *target_labels,
                       const int32_t *generated_labels) {
  gpa_mlp_set_row_keys(&dc->net, 0, dc->n, (uint64_t)p_offset);
  gpa_mlp_set_row_keys(&dc->net, dc->n, dc->m, (uint64_t)(dc->N + t_offset));
  if (particle_labels) gpa_mlp_set_labels(&dc->net, 0, dc->n, particle_labels);
  if (target_labels) gpa_mlp_set_labels(&dc->net, dc->n, dc->m, target_labels);
  if (generated_labels) gpa_mlp_set_labels(&dc->net, dc->n + dc->m, dc->g, generated_labels);
  gpa_disc_theta_changed(dc);
}

void gpa_disc_load(struct gpa_disc *dc, const double *y) {
  if (dc->n > 0) memcpy(dc->x, y, sizeof(double) * (size_t)(dc->n * dc->dim));
  dc->particles_ready = 0;
}

void gpa_disc_theta_changed(struct gpa_disc *dc) {
  dc->particles_ready = 0;
  dc->targets_ready = 0;
}

/* Forward passes for whichever rows are stale. */
static void forward_rows(struct gpa_disc *dc) {
  if (!dc->particles_ready) {
    gpa_mlp_forward(&dc->net, dc->theta, dc->x, 0, dc->n);
    dc->particles_ready = 1;
  }
  if (!dc->targets_ready) {
    gpa_mlp_forward(&dc->net, dc->theta, dc->x + dc->n * dc->dim, dc->n, dc->m);
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
  forward_rows(dc);
  struct gpa_reduction r;
  gpa_reduction_clear(&r);
  const double *phi = dc->net.out;
  gpa_divergence_local(&dc->div, nu_of(dc), phi, dc->n, phi + dc->n, dc->m, &r);
  GPA_CHECK(gpa_reduction_allreduce(dc->comm, &r));
  *J = gpa_divergence_value(&dc->div, nu_of(dc), dc->N, dc->M, &r);
  return GPA_OK;
}

int gpa_disc_gradient(struct gpa_disc *dc, double *J) {
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
    gpa_divergence_local(&dc->div, nu, phi, dc->n, phi + dc->n, dc->m, &r);
    GPA_CHECK(gpa_reduction_allreduce(dc->comm, &r));
    reduced = 1;
  }
  double dnu = 0.0;
  gpa_divergence_weights(&dc->div, nu, dc->N, dc->M, &r, phi, dc->n, phi + dc->n, dc->m, dc->w,
                         &dnu);
  gpa_mlp_backward(&dc->net, dc->theta, dc->x, dc->w, dc->n + dc->m, dc->grad);
  if (dc->net.nu_off >= 0) dc->grad[dc->net.nu_off] = dnu;
  if (dropout) {
    dc->net.training = 0;
    gpa_disc_theta_changed(dc);
  }
  GPA_CHECK(gpa_allreduce_sum(dc->comm, dc->grad, dc->net.n_params));
  if (dc->net.nu_off >= 0) dc->grad[dc->net.nu_off] -= 1.0;
  flush_gradient_noise(dc->grad, dc->net.n_params);
  if (J && reduced) *J = gpa_divergence_value(&dc->div, nu, dc->N, dc->M, &r);
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
  if (!dc->particles_ready) {
    gpa_mlp_forward(&dc->net, dc->theta, dc->x, 0, dc->n);
    dc->particles_ready = 1;
  }
  gpa_mlp_input_grad(&dc->net, dc->theta, 0, dc->n, v);
  for (int64_t i = 0; i < dc->n * dc->dim; i++) v[i] = -v[i];
}

void gpa_disc_velocity_extra(struct gpa_disc *dc, const double *yg, double *vg) {
  if (dc->g == 0) return;
  const int64_t row0 = dc->n + dc->m;
  double *x = dc->x + row0 * dc->dim;
  memcpy(x, yg, sizeof(double) * (size_t)(dc->g * dc->dim));
  gpa_mlp_forward(&dc->net, dc->theta, x, row0, dc->g);
  gpa_mlp_input_grad(&dc->net, dc->theta, row0, dc->g, vg);
  for (int64_t i = 0; i < dc->g * dc->dim; i++) vg[i] = -vg[i];
}
