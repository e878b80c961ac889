#include "gpa/output.h"

#include <string.h>

int gpa_output_begin(struct gpa_runfile *rf, struct gpa_solver *s) {
  GPA_CHECK(gpa_runfile_create(rf, s->comm, s->p.output.file));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/", "status", "running"));
  GPA_CHECK(gpa_runfile_write_parameters(rf, &s->p));
  GPA_CHECK(gpa_runfile_write_code(rf));
  GPA_CHECK(gpa_runfile_write_rows(rf, "/target", s->x, s->tpart, s->dim,
                                   "target samples X [sample][coordinate]"));
  GPA_CHECK(gpa_runfile_write_rows(rf, "/particles/initial", s->y, s->ppart, s->dim,
                                   "initial particles Y_0 [particle][coordinate]"));
  if (s->p.output.trajectory_every > 0) {
    GPA_CHECK(gpa_runfile_trajectory_begin(rf, s->ppart.n_global, s->dim));
    GPA_CHECK(gpa_runfile_trajectory_append(rf, s->step, s->y, s->ppart));
  }
  return GPA_OK;
}

int gpa_output_step(struct gpa_runfile *rf, struct gpa_solver *s) {
  const int64_t every = s->p.output.trajectory_every;
  if (every > 0 && s->step % every == 0)
    GPA_CHECK(gpa_runfile_trajectory_append(rf, s->step, s->y, s->ppart));
  return GPA_OK;
}

static int write_monitor(struct gpa_runfile *rf, const struct gpa_monitor *m) {
  GPA_CHECK(gpa_runfile_write_i64(rf, "/monitor/step", m->step, m->count,
                                  "particle step n (particles moved from Y_{n-1} to Y_n)", NULL));
  GPA_CHECK(gpa_runfile_write_f64(rf, "/monitor/divergence", m->divergence, m->count,
                                  "divergence estimate D_n: the objective J at the trained phi "
                                  "and the particles Y_{n-1}", NULL));
  GPA_CHECK(gpa_runfile_write_f64(rf, "/monitor/kinetic_energy", m->kinetic_energy, m->count,
                                  "mean over particles of |v|^2, v the applied velocity "
                                  "(-grad phi for euler); not halved", NULL));
  GPA_CHECK(gpa_runfile_write_f64(rf, "/monitor/max_speed", m->max_speed, m->count,
                                  "largest particle speed |v| in the step (<= L)", NULL));
  GPA_CHECK(gpa_runfile_write_f64(rf, "/monitor/wall_time", m->wall_time, m->count,
                                  "wall-clock time since the first step, rank 0", "s"));
  return GPA_OK;
}

static int write_discriminator(struct gpa_runfile *rf, const struct gpa_solver *s) {
  const struct gpa_mlp *net = &s->disc.net;
  GPA_CHECK(gpa_runfile_write_f64(rf, "/discriminator/theta", s->disc.theta, net->n_params,
                                  "final parameters of phi: per layer W [in][out] row-major then "
                                  "b, for every layer; then nu when the objective has it", NULL));
  int64_t widths[GPA_MLP_MAX_LAYERS + 1];
  for (int l = 0; l <= net->n_layers; l++) widths[l] = net->width[l];
  GPA_CHECK(gpa_runfile_attr_i64(rf, "/discriminator", "layer_widths", widths, net->n_layers + 1));
  char acts[256] = "";
  for (int l = 0; l + 1 < net->n_layers; l++) {
    if (l) strcat(acts, ",");
    strcat(acts, gpa_choice_name(GPA_ACT_NAMES, net->act[l]));
  }
  GPA_CHECK(gpa_runfile_attr_string(rf, "/discriminator", "activations", acts));
  GPA_CHECK(gpa_runfile_attr_f64(rf, "/discriminator", "L", &s->p.divergence.L, 1));
  int64_t has_nu = net->nu_off >= 0, updates = s->disc.updates;
  GPA_CHECK(gpa_runfile_attr_i64(rf, "/discriminator", "has_nu", &has_nu, 1));
  GPA_CHECK(gpa_runfile_attr_i64(rf, "/discriminator", "updates", &updates, 1));
  return GPA_OK;
}

int gpa_output_end(struct gpa_runfile *rf, struct gpa_solver *s, const char *status) {
  GPA_CHECK(gpa_runfile_write_rows(rf, "/particles/final", s->y, s->ppart, s->dim,
                                   "particles after the last step [particle][coordinate]"));
  GPA_CHECK(write_monitor(rf, &s->mon));
  GPA_CHECK(write_discriminator(rf, s));
  int64_t steps = s->step;
  GPA_CHECK(gpa_runfile_attr_i64(rf, "/", "steps", &steps, 1));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/", "status", status));
  GPA_CHECK(gpa_runfile_close(rf, 1));
  return GPA_OK;
}
