/* Training the discriminator phi, data-parallel: each rank holds n of the N particles and m of
 * the M targets; every update is one forward/backward pass over the local rows, one allreduce
 * of the flat gradient buffer (plus one small reduction for the kl log-mean-exp), the same
 * ascent step and Lipschitz projection on every rank, so theta stays identical everywhere. */
#ifndef GPA_DISCRIMINATOR_H
#define GPA_DISCRIMINATOR_H

#include <mpi.h>
#include <stdint.h>

#include "gpa/comm.h"
#include "gpa/config.h"
#include "gpa/divergence.h"
#include "gpa/lipschitz.h"
#include "gpa/mlp.h"
#include "gpa/optimizer.h"

struct gpa_h5;

struct gpa_disc {
  MPI_Comm comm;
  struct gpa_mlp net;
  struct gpa_lipschitz lip;
  struct gpa_optimizer opt;
  struct gpa_divergence div;
  int64_t dim;
  struct gpa_block particles; /* this rank's block of the N particles */
  struct gpa_block targets;   /* this rank's block of the M targets */
  struct gpa_block generated; /* this rank's block of the generated particles: only evaluated */
  int64_t epochs;             /* updates per training call */
  double *theta;              /* [n_params] parameters (network, then nu) */
  double *grad;               /* [n_params] dJ/dtheta, summed over ranks */
  double *x;           /* [n + m + g][dim] network inputs: particles, targets, generated (n, m,
                       * g: the blocks' local counts); the targets are owned here */
  double *w;           /* [n + m] row weights dJ/dphi */
  int particles_ready; /* the workspace holds the particle rows' activations for theta */
  int targets_ready;   /* the workspace holds the target rows' activations for theta */
  int64_t updates;     /* updates so far */
};

/* Collective.  Sizes the rows for the three blocks of rows (particle i is global row
 * particles.offset + i, target j is N + targets.offset + j: dropout masks follow global
 * rows), copies this rank's targets [m][dim] when `target_rows` is not NULL (else they are
 * written through gpa_disc_targets), initialises theta from the seed and projects it onto the
 * Lipschitz ball.  The generated rows are evaluated with gpa_disc_velocity_extra. */
int gpa_disc_create(struct gpa_disc *dc, MPI_Comm comm, const struct gpa_params *p, int64_t dim,
                    struct gpa_block particles, struct gpa_block targets,
                    struct gpa_block generated, const double *target_rows);
void gpa_disc_destroy(struct gpa_disc *dc);

/* Not collective: this rank's targets [m][dim], held by the discriminator (the one copy).
 * Written only before the first training. */
double *gpa_disc_targets(struct gpa_disc *dc);
/* Not collective: for a conditional network, the classes of the rows (particles [n], targets
 * [m], generated [g]; NULL: none). */
void gpa_disc_set_labels(struct gpa_disc *dc, const int32_t *particle_labels,
                         const int32_t *target_labels, const int32_t *generated_labels);
/* Not collective: sets the particle rows to y [n][dim]. */
void gpa_disc_load(struct gpa_disc *dc, const double *y);
/* Collective: J at the current theta and particle rows. */
int gpa_disc_objective(struct gpa_disc *dc, double *J);
/* Collective: dJ/dtheta at the current theta and particle rows, summed over ranks, into
 * dc->grad; *J receives J when J is not NULL. */
int gpa_disc_gradient(struct gpa_disc *dc, double *J);
/* Collective: loads y, runs `epochs` ascent updates, then evaluates J at the trained theta. */
int gpa_disc_train(struct gpa_disc *dc, const double *y, double *J);
/* Not collective: v = -grad_x phi at the particle rows, [n][dim]. */
void gpa_disc_velocity(struct gpa_disc *dc, double *v);
/* Not collective: vg = -grad_x phi at the g extra points yg [g][dim]. */
void gpa_disc_velocity_extra(struct gpa_disc *dc, const double *yg, double *vg);
/* Marks theta as changed (after it was written from outside). */
void gpa_disc_theta_changed(struct gpa_disc *dc);

/* The state a checkpoint keeps beyond the shape (SWIFT's dump and restore): theta, the
 * optimizer's moments, the power-iteration vectors and last norm estimates, all replicated,
 * and two counters.  The arrays, in the order they are written: */
enum { GPA_DISC_STATE_ARRAYS = 5, GPA_DISC_COUNTERS = 2 };
struct gpa_disc_array {
  const char *name; /* dataset name in the group: "theta", "adam_m", ... */
  const char *description;
  double *v; /* [n] */
  int64_t n;
};
/* Not collective: the state's arrays (for checksums of what gpa_disc_state_write writes). */
void gpa_disc_state_arrays(const struct gpa_disc *dc,
                           struct gpa_disc_array a[GPA_DISC_STATE_ARRAYS]);
/* Collective: writes the arrays as datasets GROUP/NAME of f (rank 0 writes). */
int gpa_disc_state_write(struct gpa_h5 *f, const char *group, const struct gpa_disc *dc);
/* Collective: reads them back into a discriminator of the same shape, which then evaluates
 * phi at the read theta. */
int gpa_disc_state_read(struct gpa_h5 *f, const char *group, struct gpa_disc *dc);
/* Not collective: the counters, the optimizer's step counter and the updates of phi so far
 * (a checkpoint stores them with its own counters), and setting them back. */
void gpa_disc_counters(const struct gpa_disc *dc, int64_t c[GPA_DISC_COUNTERS]);
void gpa_disc_set_counters(struct gpa_disc *dc, const int64_t c[GPA_DISC_COUNTERS]);

#endif
