#include "gpa/solver.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpa/distributions.h"
#include "gpa/rng.h"

enum { FIELD_BUFFER_BYTES = 8 << 20 }; /* field steps held before they are written */

/* Rms distance of the targets to their mean. */
static int target_spread(struct gpa_solver *s, double *spread) {
  const int64_t d = s->dim, m = s->tpart.n_local;
  double *mean;
  GPA_CHECK(gpa_alloc_array(&mean, (size_t)d + 1, sizeof(double)));
  for (int64_t j = 0; j < m; j++)
    for (int64_t k = 0; k < d; k++) mean[k] += s->x[j * d + k];
  int rc = gpa_allreduce_sum(s->comm, mean, d);
  double ss = 0.0;
  for (int64_t k = 0; k < d; k++) mean[k] /= (double)s->tpart.n_global;
  for (int64_t j = 0; j < m; j++)
    for (int64_t k = 0; k < d; k++) ss += (s->x[j * d + k] - mean[k]) * (s->x[j * d + k] - mean[k]);
  gpa_free(&mean);
  GPA_CHECK(rc);
  GPA_CHECK(gpa_allreduce_sum(s->comm, &ss, 1));
  *spread = sqrt(ss / (double)s->tpart.n_global);
  return GPA_OK;
}

int gpa_solver_field_stages(const struct gpa_params *p) {
  return p->transport.stages == GPA_STAGES_RETRAIN
             ? gpa_tableau_get(p->transport.integrator)->stages
             : 1;
}

int gpa_solver_stores_field(const struct gpa_params *p, int64_t n_params) {
  if (p->output.store_field == GPA_FIELD_OFF) return 0;
  if (p->output.store_field == GPA_FIELD_ON) return 1;
  double bytes = 8.0 * (double)n_params * gpa_solver_field_stages(p) *
                 (double)p->transport.max_steps;
  return bytes < 1024.0 * 1024.0 * 1024.0;
}

/* What every setup does once the samples are in place: the discriminator, the integrator, the
 * monitor and the field buffer. */
static int setup_solver(struct gpa_solver *s) {
  const size_t ny = (size_t)((s->ppart.n_local + s->gpart.n_local) * s->dim);
  GPA_CHECK(target_spread(s, &s->target_spread));
  GPA_CHECK(gpa_disc_create(&s->disc, s->comm, &s->p, s->dim, s->ppart.n_global,
                            s->tpart.n_global, s->ppart.n_local, s->tpart.n_local,
                            s->gpart.n_local, s->x));
  gpa_disc_set_rows(&s->disc, s->ppart.offset, s->tpart.offset, s->ylab, s->xlab, s->glab);
  GPA_CHECK(gpa_integrator_create(&s->integ, s->p.transport.integrator, (int64_t)ny));
  GPA_CHECK(gpa_monitor_create(&s->mon, s->p.transport.max_steps));
  const int64_t np = s->disc.net.n_params;
  s->p.output.store_field = gpa_solver_stores_field(&s->p, np) ? GPA_FIELD_ON : GPA_FIELD_OFF;
  if (s->p.output.store_field == GPA_FIELD_ON) {
    s->field_stages = gpa_solver_field_stages(&s->p);
    int64_t per_step = s->field_stages * np * (int64_t)sizeof(double);
    s->field_capacity = FIELD_BUFFER_BYTES / per_step;
    if (s->field_capacity < 1) s->field_capacity = 1;
    GPA_CHECK(gpa_alloc_array(&s->field, (size_t)(s->field_capacity * s->field_stages * np),
                              sizeof(double)));
  }
  gpa_timer_stop(&s->timers, GPA_T_SETUP);
  return GPA_OK;
}

static int allocate(struct gpa_solver *s) {
  const size_t ny = (size_t)((s->ppart.n_local + s->gpart.n_local) * s->dim);
  const size_t nx = (size_t)(s->tpart.n_local * s->dim);
  GPA_CHECK(gpa_alloc_array(&s->y, ny, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&s->y_prev, ny, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&s->vel, ny, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&s->x, nx, sizeof(double)));
  return GPA_OK;
}

/* Labelled targets: every rank gathers the M target classes; particle i and generated particle
 * i take the class of target i mod M (so classes keep their proportions whatever N). */
static int assign_labels(struct gpa_solver *s) {
  const int64_t M = s->tpart.n_global;
  int32_t *all;
  int *counts, *displs;
  GPA_CHECK(gpa_alloc_array(&all, (size_t)M + 1, sizeof(int32_t)));
  GPA_CHECK(gpa_alloc_array(&counts, (size_t)s->size, sizeof(int)));
  GPA_CHECK(gpa_alloc_array(&displs, (size_t)s->size, sizeof(int)));
  for (int r = 0; r < s->size; r++) {
    struct gpa_part q = gpa_partition(M, r, s->size);
    counts[r] = (int)q.n_local;
    displs[r] = (int)q.offset;
  }
  int rc = MPI_Allgatherv(s->xlab, (int)s->tpart.n_local, MPI_INT32_T, all, counts, displs,
                          MPI_INT32_T, s->comm);
  gpa_free(&counts);
  gpa_free(&displs);
  if (rc == MPI_SUCCESS) {
    for (int64_t i = 0; i < s->ppart.n_local; i++) s->ylab[i] = all[(s->ppart.offset + i) % M];
    for (int64_t i = 0; i < s->gpart.n_local; i++) s->glab[i] = all[(s->gpart.offset + i) % M];
  }
  gpa_free(&all);
  if (rc != MPI_SUCCESS) return gpa_mpi_error(rc, "MPI_Allgatherv");
  return GPA_OK;
}

static int start(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p) {
  memset(s, 0, sizeof *s);
  s->comm = comm;
  s->p = *p;
  gpa_timers_clear(&s->timers);
  gpa_timer_start(&s->timers, GPA_T_SETUP);
  gpa_timer_start(&s->timers, GPA_T_TOTAL); /* stopped when gpa_drive_run ends */
  GPA_MPI(MPI_Comm_rank(comm, &s->rank));
  GPA_MPI(MPI_Comm_size(comm, &s->size));
  return GPA_OK;
}

int gpa_solver_setup(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p) {
  GPA_CHECK(start(s, comm, p));
  GPA_CHECK(gpa_dist_resolve(comm, &s->p.source, "source"));
  GPA_CHECK(gpa_dist_resolve(comm, &s->p.target, "target"));
  if (s->p.source.dim != s->p.target.dim)
    return GPA_ERROR(GPA_ERR_INPUT, "source has dimension %lld but target has %lld",
                     (long long)s->p.source.dim, (long long)s->p.target.dim);
  s->dim = s->p.source.dim;
  s->ppart = gpa_partition(s->p.source.n, s->rank, s->size);
  s->tpart = gpa_partition(s->p.target.n, s->rank, s->size);
  s->gpart = gpa_partition(s->p.generated.n, s->rank, s->size);
  GPA_CHECK(allocate(s));
  if (gpa_dist_n_classes(&s->p.target) > 0) {
    GPA_CHECK(gpa_alloc_array(&s->xlab, (size_t)s->tpart.n_local + 1, sizeof(int32_t)));
    GPA_CHECK(gpa_alloc_array(&s->ylab, (size_t)s->ppart.n_local + 1, sizeof(int32_t)));
    GPA_CHECK(gpa_alloc_array(&s->glab, (size_t)s->gpart.n_local + 1, sizeof(int32_t)));
  }
  const uint64_t seed = (uint64_t)s->p.run.seed;
  GPA_CHECK(
      gpa_dist_sample(comm, &s->p.source, seed, GPA_STREAM_SOURCE, s->ppart, s->y, NULL));
  GPA_CHECK(
      gpa_dist_sample(comm, &s->p.target, seed, GPA_STREAM_TARGET, s->tpart, s->x, s->xlab));
  if (s->xlab) GPA_CHECK(assign_labels(s));
  if (s->p.generated.n > 0) {
    if (s->p.source.kind == GPA_DIST_FILE)
      return GPA_ERROR(GPA_ERR_INPUT, "generated.n: generated particles need a built-in source "
                                      "distribution, not source.kind 'file'");
    GPA_CHECK(gpa_dist_sample(comm, &s->p.source, seed, GPA_STREAM_GENERATED, s->gpart,
                              s->y + s->ppart.n_local * s->dim, NULL));
  }
  return setup_solver(s);
}

int gpa_solver_setup_data(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p,
                          int64_t dim, const double *y, struct gpa_part ppart, const double *x,
                          struct gpa_part tpart) {
  GPA_CHECK(start(s, comm, p));
  s->dim = dim;
  s->ppart = ppart;
  s->tpart = tpart;
  s->gpart = gpa_partition(0, s->rank, s->size);
  s->p.generated.n = 0;
  GPA_CHECK(allocate(s));
  memcpy(s->y, y, sizeof(double) * (size_t)(ppart.n_local * dim));
  memcpy(s->x, x, sizeof(double) * (size_t)(tpart.n_local * dim));
  return setup_solver(s);
}

void gpa_solver_destroy(struct gpa_solver *s) {
  gpa_disc_destroy(&s->disc);
  gpa_integrator_destroy(&s->integ);
  gpa_monitor_destroy(&s->mon);
  gpa_free(&s->y);
  gpa_free(&s->y_prev);
  gpa_free(&s->vel);
  gpa_free(&s->x);
  gpa_free(&s->xlab);
  gpa_free(&s->ylab);
  gpa_free(&s->glab);
  gpa_free(&s->field);
}

/* The vector field of one Runge-Kutta stage: retrain phi at the stage positions of the
 * particles (always at the first stage; at the others unless stages are frozen), then
 * v = -grad phi at the particles and at the generated particles. */
static int gpa_field(void *ctx, int stage, const double *y, double *v) {
  struct gpa_solver *s = ctx;
  const int64_t n = s->ppart.n_local * s->dim;
  if (stage == 0 || s->p.transport.stages == GPA_STAGES_RETRAIN) {
    double J;
    gpa_timer_start(&s->timers, GPA_T_TRAIN);
    GPA_CHECK(gpa_disc_train(&s->disc, y, &J));
    gpa_timer_stop(&s->timers, GPA_T_TRAIN);
    if (stage == 0) s->stage_J = J;
  } else {
    gpa_disc_load(&s->disc, y);
  }
  if (s->field && stage < s->field_stages) {
    const int64_t np = s->disc.net.n_params;
    memcpy(s->field + (s->field_count * s->field_stages + stage) * np, s->disc.theta,
           sizeof(double) * (size_t)np);
  }
  gpa_timer_start(&s->timers, GPA_T_FIELD);
  gpa_disc_velocity(&s->disc, v);
  gpa_disc_velocity_extra(&s->disc, y + n, v + n);
  gpa_timer_stop(&s->timers, GPA_T_FIELD);
  return GPA_OK;
}

int gpa_solver_step(struct gpa_solver *s, struct gpa_step_info *info) {
  const int64_t count = (s->ppart.n_local + s->gpart.n_local) * s->dim;
  memcpy(s->y_prev, s->y, sizeof(double) * (size_t)count);
  GPA_CHECK(gpa_integrator_step(&s->integ, s->p.transport.dt, s->y, gpa_field, s, s->vel));
  gpa_timer_start(&s->timers, GPA_T_MOVE);
  struct gpa_reduction r;
  gpa_reduction_clear(&r);
  double ke = 0.0, vmax2 = 0.0, bad = 0.0;
  for (int64_t i = 0; i < s->ppart.n_local; i++) {
    double v2 = 0.0;
    for (int64_t k = 0; k < s->dim; k++) v2 += s->vel[i * s->dim + k] * s->vel[i * s->dim + k];
    ke += v2;
    if (v2 > vmax2 || isnan(v2)) vmax2 = v2;
  }
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(s->y[i])) bad += 1.0;
  r.sum[0] = ke;
  r.sum[1] = bad;
  r.max[0] = vmax2;
  GPA_CHECK(gpa_reduction_allreduce(s->comm, &r));
  gpa_timer_stop(&s->timers, GPA_T_MOVE);
  s->step++;
  if (s->field) s->field_count++;
  info->divergence = s->stage_J;
  info->kinetic_energy = r.sum[0] / (double)s->ppart.n_global;
  info->max_speed = sqrt(r.max[0]);
  if (!isfinite(info->divergence) || !isfinite(info->kinetic_energy) || r.sum[1] > 0.0 ||
      !isfinite(info->max_speed)) {
    memcpy(s->y, s->y_prev, sizeof(double) * (size_t)count);
    return GPA_ERROR(GPA_ERR_DIVERGED, "diverged at step %lld", (long long)s->step);
  }
  if (!s->cfl_warned && s->rank == 0 &&
      s->p.transport.dt * info->max_speed > s->p.transport.cfl_warn * s->target_spread) {
    fprintf(stderr,
            "warning: step %lld moved a particle %.3g, more than transport.cfl_warn = %g of the "
            "target's spread %.3g; consider a smaller transport.dt\n",
            (long long)s->step, s->p.transport.dt * info->max_speed, s->p.transport.cfl_warn,
            s->target_spread);
    s->cfl_warned = 1;
  }
  return GPA_OK;
}
