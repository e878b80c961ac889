#include "gpa/solver.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpa/distributions.h"
#include "gpa/rng.h"

/* Rms distance of the targets to their mean. */
static int target_spread(struct gpa_solver *s, double *spread) {
  const int64_t d = s->dim, m = s->tpart.n_local;
  double *mean = NULL, ss = 0.0;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&mean, (size_t)d + 1, sizeof(double)), done);
  for (int64_t j = 0; j < m; j++)
    for (int64_t k = 0; k < d; k++) mean[k] += s->x[j * d + k];
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(s->comm, mean, d), done);
  for (int64_t k = 0; k < d; k++) mean[k] /= (double)s->tpart.n_global;
  for (int64_t j = 0; j < m; j++)
    for (int64_t k = 0; k < d; k++) ss += (s->x[j * d + k] - mean[k]) * (s->x[j * d + k] - mean[k]);
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(s->comm, &ss, 1), done);
  *spread = sqrt(ss / (double)s->tpart.n_global);
done:
  gpa_free(&mean);
  return rc;
}

/* Stages stored per step in /field: the tableau's stages when each retrains phi, else 1. */
static int stored_stages(const struct gpa_params *p) {
  return p->transport.stages == GPA_STAGES_RETRAIN
             ? gpa_tableau_get(p->transport.integrator)->stages
             : 1;
}

/* Whether /field is stored for these settings (output.store_field, auto: under 1 GiB). */
static int stores_field(const struct gpa_params *p, int64_t n_params) {
  if (p->output.store_field == GPA_FIELD_OFF) return 0;
  if (p->output.store_field == GPA_FIELD_ON) return 1;
  double bytes = 8.0 * (double)n_params * stored_stages(p) * (double)p->transport.max_steps;
  return bytes < 1024.0 * 1024.0 * 1024.0;
}

void gpa_solver_keep_field_choice(struct gpa_solver *s, const struct gpa_params *ckpt) {
  if (s->p.output.store_field == GPA_FIELD_AUTO && ckpt->output.store_field != GPA_FIELD_AUTO)
    s->store_field = ckpt->output.store_field == GPA_FIELD_ON;
}

void gpa_solver_recorded_params(const struct gpa_solver *s, struct gpa_params *out) {
  *out = s->p;
  out->output.store_field = s->store_field ? GPA_FIELD_ON : GPA_FIELD_OFF;
}

/* The discriminator, which holds the targets: s->x points into it. */
static int create_disc(struct gpa_solver *s, const double *x) {
  GPA_CHECK(gpa_disc_create(&s->disc, s->comm, &s->p, s->dim, s->ppart, s->tpart, s->gpart, x));
  s->x = gpa_disc_targets(&s->disc);
  return GPA_OK;
}

/* What every setup does once the samples are in place: the labels, the integrator, the
 * monitor and the field storage. */
static int setup_solver(struct gpa_solver *s) {
  const size_t ny = (size_t)((s->ppart.n_local + s->gpart.n_local) * s->dim);
  GPA_CHECK(target_spread(s, &s->target_spread));
  gpa_disc_set_labels(&s->disc, s->ylab, s->xlab, s->glab);
  GPA_CHECK(gpa_integrator_create(&s->integ, s->p.transport.integrator, (int64_t)ny));
  GPA_CHECK(gpa_monitor_create(&s->mon, s->p.transport.max_steps));
  s->store_field = stores_field(&s->p, s->disc.net.n_params);
  s->field_stages = stored_stages(&s->p);
  gpa_timer_stop(&s->timers, GPA_T_SETUP);
  return GPA_OK;
}

static int allocate(struct gpa_solver *s) {
  const size_t ny = (size_t)((s->ppart.n_local + s->gpart.n_local) * s->dim);
  GPA_CHECK(gpa_alloc_array(&s->y, ny, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&s->y_prev, ny, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&s->vel, ny, sizeof(double)));
  return GPA_OK;
}

/* Every rank's block of the M target classes: all [M] gathered from xlab. */
static int gather_target_labels(struct gpa_solver *s, int *counts, int *displs, int32_t *all) {
  for (int r = 0; r < s->size; r++) {
    struct gpa_block q = gpa_partition(s->tpart.n_global, r, s->size);
    counts[r] = (int)q.n_local;
    displs[r] = (int)q.offset;
  }
  GPA_MPI(MPI_Allgatherv(s->xlab, (int)s->tpart.n_local, MPI_INT32_T, all, counts, displs,
                         MPI_INT32_T, s->comm));
  return GPA_OK;
}

/* Labelled targets: every rank gathers the M target classes; particle i and generated particle
 * i take the class of target i mod M (so classes keep their proportions whatever N). */
static int assign_labels(struct gpa_solver *s) {
  const int64_t M = s->tpart.n_global;
  int32_t *all = NULL;
  int *counts = NULL, *displs = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&all, (size_t)M + 1, sizeof(int32_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&counts, (size_t)s->size, sizeof(int)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&displs, (size_t)s->size, sizeof(int)), done);
  GPA_CHECK_GOTO(rc, gather_target_labels(s, counts, displs, all), done);
  for (int64_t i = 0; i < s->ppart.n_local; i++) s->ylab[i] = all[(s->ppart.offset + i) % M];
  for (int64_t i = 0; i < s->gpart.n_local; i++) s->glab[i] = all[(s->gpart.offset + i) % M];
done:
  gpa_free(&all);
  gpa_free(&counts);
  gpa_free(&displs);
  return rc;
}

static int start(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p) {
  memset(s, 0, sizeof *s);
  s->comm = comm;
  s->p = *p;
  gpa_timers_clear(&s->timers);
  gpa_timer_start(&s->timers, GPA_T_SETUP);
  gpa_timer_start(&s->timers, GPA_T_TOTAL); /* stopped by gpa_solver_finish */
  GPA_MPI(MPI_Comm_rank(comm, &s->rank));
  GPA_MPI(MPI_Comm_size(comm, &s->size));
  return GPA_OK;
}

/* The deck's source, target and generated samples, in the blocks of this rank. */
static int partition(struct gpa_solver *s) {
  GPA_CHECK(gpa_dist_resolve(s->comm, &s->p.source, "source"));
  GPA_CHECK(gpa_dist_resolve(s->comm, &s->p.target, "target"));
  if (s->p.source.dim != s->p.target.dim)
    return GPA_ERROR(GPA_ERR_INPUT, "source has dimension %lld but target has %lld",
                     (long long)s->p.source.dim, (long long)s->p.target.dim);
  s->dim = s->p.source.dim;
  s->ppart = gpa_partition(s->p.source.n, s->rank, s->size);
  s->tpart = gpa_partition(s->p.target.n, s->rank, s->size);
  s->gpart = gpa_partition(s->p.generated.n, s->rank, s->size);
  return GPA_OK;
}

static int sample(struct gpa_solver *s) {
  const uint64_t seed = (uint64_t)s->p.run.seed;
  GPA_CHECK(gpa_dist_sample(s->comm, &s->p.source, seed, GPA_STREAM_SOURCE, s->ppart, s->y, NULL));
  GPA_CHECK(
      gpa_dist_sample(s->comm, &s->p.target, seed, GPA_STREAM_TARGET, s->tpart, s->x, s->xlab));
  if (s->xlab) GPA_CHECK(assign_labels(s));
  if (s->p.generated.n > 0) {
    if (s->p.source.kind == GPA_DIST_FILE)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "generated.n: generated particles need a built-in source "
                       "distribution, not source.kind 'file'");
    GPA_CHECK(gpa_dist_sample(s->comm, &s->p.source, seed, GPA_STREAM_GENERATED, s->gpart,
                              s->y + s->ppart.n_local * s->dim, NULL));
  }
  return GPA_OK;
}

int gpa_solver_setup(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p) {
  GPA_CHECK(start(s, comm, p));
  GPA_CHECK(partition(s));
  GPA_CHECK(allocate(s));
  if (gpa_dist_n_classes(&s->p.target) > 0) {
    GPA_CHECK(gpa_alloc_array(&s->xlab, (size_t)s->tpart.n_local + 1, sizeof(int32_t)));
    GPA_CHECK(gpa_alloc_array(&s->ylab, (size_t)s->ppart.n_local + 1, sizeof(int32_t)));
    GPA_CHECK(gpa_alloc_array(&s->glab, (size_t)s->gpart.n_local + 1, sizeof(int32_t)));
  }
  GPA_CHECK(create_disc(s, NULL)); /* the targets are drawn into it */
  GPA_CHECK(sample(s));
  return setup_solver(s);
}

int gpa_solver_setup_data(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p,
                          int64_t dim, const double *y, struct gpa_block ppart, const double *x,
                          struct gpa_block tpart) {
  GPA_CHECK(start(s, comm, p));
  s->dim = dim;
  s->ppart = ppart;
  s->tpart = tpart;
  s->gpart = gpa_partition(0, s->rank, s->size);
  s->p.generated.n = 0;
  GPA_CHECK(allocate(s));
  memcpy(s->y, y, sizeof(double) * (size_t)(ppart.n_local * dim));
  GPA_CHECK(create_disc(s, x));
  return setup_solver(s);
}

void gpa_solver_destroy(struct gpa_solver *s) {
  gpa_disc_destroy(&s->disc);
  gpa_integrator_destroy(&s->integ);
  gpa_monitor_destroy(&s->mon);
  gpa_free(&s->y);
  gpa_free(&s->y_prev);
  gpa_free(&s->vel);
  s->x = NULL;
  gpa_free(&s->xlab);
  gpa_free(&s->ylab);
  gpa_free(&s->glab);
}

void gpa_solver_finish(struct gpa_solver *s) { gpa_timer_stop(&s->timers, GPA_T_TOTAL); }

/* What the stages of one step share: the solver and who records the thetas. */
struct stage_ctx {
  struct gpa_solver *s;
  gpa_theta_record_fn record;
  void *record_ctx;
};

/* Trains phi at the particle positions y; *J: the objective at the trained phi. */
static int train(struct gpa_solver *s, const double *y, double *J) {
  gpa_timer_start(&s->timers, GPA_T_TRAIN);
  GPA_CHECK(gpa_disc_train(&s->disc, y, J));
  gpa_timer_stop(&s->timers, GPA_T_TRAIN);
  return GPA_OK;
}

/* The velocity of one Runge-Kutta stage: phi was trained at the particles before the step
 * (stage 0); at the other stages it is retrained at the stage positions, unless stages are
 * frozen; then v = -grad phi at the particles and at the generated particles. */
static int stage_velocity(void *ctx, int stage, const double *y, double *v) {
  struct stage_ctx *c = ctx;
  struct gpa_solver *s = c->s;
  const int64_t n = s->ppart.n_local * s->dim;
  if (stage > 0 && s->p.transport.stages == GPA_STAGES_RETRAIN) {
    double J; /* the step's D_n is stage 0's */
    GPA_CHECK(train(s, y, &J));
  } else if (stage > 0) {
    gpa_disc_load(&s->disc, y);
  }
  if (c->record && s->store_field && stage < s->field_stages)
    GPA_CHECK(c->record(c->record_ctx, stage, s->disc.theta));
  gpa_timer_start(&s->timers, GPA_T_FIELD);
  gpa_disc_velocity(&s->disc, v);
  gpa_disc_velocity_extra(&s->disc, y + n, v + n);
  gpa_timer_stop(&s->timers, GPA_T_FIELD);
  return GPA_OK;
}

/* The kinetic energy, the largest speed and the count of non-finite coordinates, summed over
 * ranks. */
static int step_scalars(struct gpa_solver *s, int64_t count, struct gpa_reduction *r) {
  double ke = 0.0, vmax2 = 0.0, bad = 0.0;
  for (int64_t i = 0; i < s->ppart.n_local; i++) {
    double v2 = 0.0;
    for (int64_t k = 0; k < s->dim; k++) v2 += s->vel[i * s->dim + k] * s->vel[i * s->dim + k];
    ke += v2;
    if (v2 > vmax2 || isnan(v2)) vmax2 = v2;
  }
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(s->y[i])) bad += 1.0;
  gpa_reduction_clear(r);
  r->sum[GPA_RED_SUM_SPEED2] = ke;
  r->sum[GPA_RED_SUM_NONFINITE] = bad;
  r->max[GPA_RED_MAX_SPEED2] = vmax2;
  return gpa_reduction_allreduce(s->comm, r);
}

static void warn_cfl(struct gpa_solver *s, const struct gpa_step_info *info) {
  if (s->cfl_warned || s->rank != 0 ||
      !(s->p.transport.dt * info->max_speed > s->p.transport.cfl_warn * s->target_spread))
    return;
  fprintf(stderr,
          "warning: step %lld moved a particle %.3g, more than transport.cfl_warn = %g of the "
          "target's spread %.3g; consider a smaller transport.dt\n",
          (long long)s->step, s->p.transport.dt * info->max_speed, s->p.transport.cfl_warn,
          s->target_spread);
  s->cfl_warned = 1;
}

int gpa_solver_step(struct gpa_solver *s, gpa_theta_record_fn record, void *ctx,
                    struct gpa_step_info *info) {
  const int64_t count = (s->ppart.n_local + s->gpart.n_local) * s->dim;
  memcpy(s->y_prev, s->y, sizeof(double) * (size_t)count);
  double J;
  GPA_CHECK(train(s, s->y, &J)); /* D_n: J at phi trained at Y_n */
  struct stage_ctx c = {s, record, ctx};
  GPA_CHECK(gpa_integrator_step(&s->integ, s->p.transport.dt, s->y, stage_velocity, &c, s->vel));
  gpa_timer_start(&s->timers, GPA_T_MOVE);
  struct gpa_reduction r;
  GPA_CHECK(step_scalars(s, count, &r));
  gpa_timer_stop(&s->timers, GPA_T_MOVE);
  s->step++;
  info->divergence = J;
  info->kinetic_energy = r.sum[GPA_RED_SUM_SPEED2] / (double)s->ppart.n_global;
  info->max_speed = sqrt(r.max[GPA_RED_MAX_SPEED2]);
  if (!isfinite(info->divergence) || !isfinite(info->kinetic_energy) ||
      r.sum[GPA_RED_SUM_NONFINITE] > 0.0 || !isfinite(info->max_speed)) {
    memcpy(s->y, s->y_prev, sizeof(double) * (size_t)count);
    return GPA_ERROR(GPA_ERR_DIVERGED, "diverged at step %lld", (long long)s->step);
  }
  warn_cfl(s, info);
  return GPA_OK;
}
