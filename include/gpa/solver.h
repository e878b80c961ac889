/* The particle algorithm (ALGORITHM.md sections 3-5): particles Y sharded across ranks, the
 * targets X likewise; each step trains phi on (Y, X) and moves Y by -dt grad phi with the
 * chosen Runge-Kutta scheme.  Every function taking the solver is collective. */
#ifndef GPA_SOLVER_H
#define GPA_SOLVER_H

#include <mpi.h>
#include <stdint.h>

#include "gpa/comm.h"
#include "gpa/config.h"
#include "gpa/discriminator.h"
#include "gpa/integrator.h"
#include "gpa/monitor.h"
#include "gpa/timers.h"

struct gpa_solver {
  MPI_Comm comm;
  int rank, size;
  struct gpa_params p; /* the deck's settings (file dimensions filled in) */
  int64_t dim;
  struct gpa_block ppart; /* particles owned by this rank */
  struct gpa_block tpart; /* targets owned by this rank */
  struct gpa_block gpart; /* generated particles owned by this rank */
  /* The state the integrator moves: this rank's particles, then its generated particles. */
  double *y;      /* [ppart.n_local + gpart.n_local][dim] */
  double *y_prev; /* the same before the current step */
  double *vel;    /* the same: velocity applied in the last step */
  double *x;      /* [tpart.n_local][dim] targets: the discriminator's (not a copy) */
  /* Classes of labelled targets (NULL when the target has none): */
  int32_t *xlab; /* [tpart.n_local] targets */
  int32_t *ylab; /* [ppart.n_local] particles: the class of target i mod M */
  int32_t *glab; /* [gpart.n_local] generated particles: likewise */
  struct gpa_disc disc;
  struct gpa_integrator integ;
  struct gpa_monitor mon;
  struct gpa_timers timers;
  /* output.store_field resolved (p keeps the deck's value, auto included): */
  int store_field;      /* 1: /field holds theta of every step and stored stage */
  int field_stages;     /* thetas stored per step: the stages when each retrains phi, else 1 */
  double target_spread; /* rms distance of the targets to their mean */
  int64_t step;         /* steps taken */
  int cfl_warned;
};

struct gpa_step_info {
  double divergence; /* D_n: J at phi trained at the particles before the step */
  double kinetic_energy, max_speed;
};

/* Receives theta after phi is trained (or loaded) for stage `stage` of a step, for each stage
 * /field stores: the run file's record of the learned field.  Returns a status. */
typedef int (*gpa_theta_record_fn)(void *ctx, int stage, const double *theta);

/* Draws or reads the samples (resolving `file` shapes) and builds the discriminator and the
 * integrator.  Input errors are reported here, before any output is created. */
int gpa_solver_setup(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p);
/* The same with the samples given: this rank's particles y [ppart.n_local][dim] and targets
 * x [tpart.n_local][dim], where ppart and tpart place them in the global order (any split). */
int gpa_solver_setup_data(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p,
                          int64_t dim, const double *y, struct gpa_block ppart, const double *x,
                          struct gpa_block tpart);
/* Not collective: a restart of a run whose deck leaves output.store_field to gpa (auto)
 * keeps the choice of the checkpoint's settings `ckpt`. */
void gpa_solver_keep_field_choice(struct gpa_solver *s, const struct gpa_params *ckpt);
/* Not collective: the settings as output files record them: the deck's, with
 * output.store_field resolved to on or off. */
void gpa_solver_recorded_params(const struct gpa_solver *s, struct gpa_params *out);
void gpa_solver_destroy(struct gpa_solver *s);
/* One particle step: train phi at Y (and at the stage points), move Y; `record` (NULL: none)
 * receives the thetas /field stores.  A NaN or Inf in J, theta or the particles restores Y and
 * returns GPA_ERR_DIVERGED ("diverged at step n"). */
int gpa_solver_step(struct gpa_solver *s, gpa_theta_record_fn record, void *ctx,
                    struct gpa_step_info *info);
/* Not collective: the run is over; stops the total timer that setup started. */
void gpa_solver_finish(struct gpa_solver *s);

#endif
