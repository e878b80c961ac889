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
  struct gpa_params p;   /* resolved settings (file dimensions filled in) */
  int64_t dim;
  struct gpa_part ppart; /* particles owned by this rank */
  struct gpa_part tpart; /* targets owned by this rank */
  struct gpa_part gpart; /* generated particles owned by this rank */
  /* The state the integrator moves: this rank's particles, then its generated particles. */
  double *y;             /* [ppart.n_local + gpart.n_local][dim] */
  double *y_prev;        /* the same before the current step */
  double *vel;           /* the same: velocity applied in the last step */
  double *x;             /* [tpart.n_local][dim] targets */
  /* Classes of labelled targets (NULL when the target has none): */
  int32_t *xlab;         /* [tpart.n_local] targets */
  int32_t *ylab;         /* [ppart.n_local] particles: the class of target i mod M */
  int32_t *glab;         /* [gpart.n_local] generated particles: likewise */
  struct gpa_disc disc;
  struct gpa_integrator integ;
  struct gpa_monitor mon;
  struct gpa_timers timers;
  /* The learned vector field: theta of every step and stage, buffered until written. */
  int field_stages;      /* thetas stored per step (stages, or 1 with frozen stages); 0: off */
  int64_t field_capacity;  /* steps the buffer holds */
  int64_t field_count;     /* steps in the buffer */
  double *field;         /* [field_capacity][field_stages][n_params] */
  double target_spread;  /* rms distance of the targets to their mean */
  double stage_J;        /* objective of the current step's first stage */
  int64_t step;          /* steps taken */
  int cfl_warned;
};

struct gpa_step_info {
  double divergence, kinetic_energy, max_speed;
};

/* Draws or reads the samples (resolving `file` shapes) and builds the discriminator and the
 * integrator.  Input errors are reported here, before any output is created.  `field_steps`:
 * how many steps of the learned field to buffer before they are written (0: none). */
int gpa_solver_setup(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p);
/* The same with the samples given: this rank's particles y [ppart.n_local][dim] and targets
 * x [tpart.n_local][dim], where ppart and tpart place them in the global order (any split). */
int gpa_solver_setup_data(struct gpa_solver *s, MPI_Comm comm, const struct gpa_params *p,
                          int64_t dim, const double *y, struct gpa_part ppart, const double *x,
                          struct gpa_part tpart);
/* Whether /field is stored for these settings (output.store_field, auto: under 1 GiB). */
int gpa_solver_stores_field(const struct gpa_params *p, int64_t n_params);
/* Stages stored per step in /field: the tableau's stages when each retrains phi, else 1. */
int gpa_solver_field_stages(const struct gpa_params *p);
void gpa_solver_destroy(struct gpa_solver *s);
/* One particle step: train phi at Y (and at the stage points), move Y.  A NaN or Inf in J,
 * theta or the particles restores Y and returns GPA_ERR_DIVERGED ("diverged at step n"). */
int gpa_solver_step(struct gpa_solver *s, struct gpa_step_info *info);

#endif
