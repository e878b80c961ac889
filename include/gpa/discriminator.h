/* Training the discriminator phi, data-parallel: each rank holds n of the N particles and m of
 * the M targets; every update is one forward/backward pass over the local rows, one allreduce
 * of the flat gradient buffer (plus one small reduction for the kl log-mean-exp), the same
 * ascent step and Lipschitz projection on every rank, so theta stays identical everywhere. */
#ifndef GPA_DISCRIMINATOR_H
#define GPA_DISCRIMINATOR_H

#include <mpi.h>
#include <stdint.h>

#include "gpa/config.h"
#include "gpa/divergence.h"
#include "gpa/lipschitz.h"
#include "gpa/mlp.h"
#include "gpa/optimizer.h"

struct gpa_disc {
  MPI_Comm comm;
  struct gpa_mlp net;
  struct gpa_lipschitz lip;
  struct gpa_optimizer opt;
  struct gpa_divergence div;
  int64_t dim;
  int64_t N, M;       /* global particle and target counts */
  int64_t n, m;       /* local counts */
  int64_t g;          /* local count of extra rows that are only evaluated (generated) */
  int64_t epochs;     /* updates per training call */
  double *theta;      /* [n_params] parameters (network, then nu) */
  double *grad;       /* [n_params] dJ/dtheta, summed over ranks */
  double *x;          /* [n + m + g][dim] network inputs: particles, targets, generated */
  double *w;          /* [n + m] row weights dJ/dphi */
  int particles_ready; /* the workspace holds the particle rows' activations for theta */
  int targets_ready;   /* the workspace holds the target rows' activations for theta */
  int64_t updates;     /* updates so far */
};

/* Collective.  Copies this rank's m targets [m][dim]; initialises theta from the seed and
 * projects it onto the Lipschitz ball.  `g` extra rows can be evaluated with
 * gpa_disc_velocity_extra. */
int gpa_disc_create(struct gpa_disc *dc, MPI_Comm comm, const struct gpa_params *p, int64_t dim,
                    int64_t N, int64_t M, int64_t n, int64_t m, int64_t g,
                    const double *targets);
void gpa_disc_destroy(struct gpa_disc *dc);

/* Not collective: places the rows in the global order (particle i is global row p_offset + i,
 * target j is N + t_offset + j: dropout masks follow global rows) and, for a conditional
 * network, gives their classes (particles [n], targets [m], generated [g]; NULL: none). */
void gpa_disc_set_rows(struct gpa_disc *dc, int64_t p_offset, int64_t t_offset,
                       const int32_t *particle_labels, const int32_t *target_labels,
                       const int32_t *generated_labels);
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

#endif
