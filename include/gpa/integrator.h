/* Explicit Runge-Kutta time stepping of dy/dt = v(y), with the scheme given as a tableau and
 * run by one stage loop over buffers allocated once.
 *
 * The stage-velocity callback returns the velocity at the stage positions.  For GPA it first
 * (re)trains phi at those positions when the stage asks for it, then v = -grad phi. */
#ifndef GPA_INTEGRATOR_H
#define GPA_INTEGRATOR_H

#include <stdint.h>

enum { GPA_RK_MAX_STAGES = 4 };

struct gpa_tableau {
  const char *name;
  int stages;
  double a[GPA_RK_MAX_STAGES][GPA_RK_MAX_STAGES]; /* stage i uses a[i][j], j < i */
  double b[GPA_RK_MAX_STAGES];
  int order;
};

/* enum gpa_integrator_kind -> tableau (euler, heun, classical rk4). */
const struct gpa_tableau *gpa_tableau_get(int kind);

/* v = velocity(ctx, stage, y): the velocity of stage `stage` at its positions y [n]; returns a
 * status. */
typedef int (*gpa_stage_velocity_fn)(void *ctx, int stage, const double *y, double *v);

struct gpa_integrator {
  const struct gpa_tableau *tab;
  int64_t n;                    /* doubles in the state */
  double *k[GPA_RK_MAX_STAGES]; /* [n] stage velocities */
  double *ys;                   /* [n] stage positions */
};

int gpa_integrator_create(struct gpa_integrator *it, int kind, int64_t n);
void gpa_integrator_destroy(struct gpa_integrator *it);
/* One step: y <- y + dt sum_i b_i k_i.  `vel` (optional, [n]) receives sum_i b_i k_i, the
 * velocity that was applied. */
int gpa_integrator_step(struct gpa_integrator *it, double dt, double *y,
                        gpa_stage_velocity_fn velocity, void *ctx, double *vel);

#endif
