/* The learned vector field of a finished run, replayed on new points (ALGORITHM.md section 6).
 *
 * A run that stores /field/theta holds phi's parameters for every step n and Runge-Kutta stage
 * i; with the run's dt and integrator they define the flow  Z <- step(Z; theta_n).  Replaying
 * the run's own initial particles reproduces its final particles bit for bit.
 *
 *   gpa transport --field RUN.h5 --input IN.h5[:/dataset] --output OUT.h5
 *                 [--labels IN.h5[:/labels]]
 *   gpa sample    --field RUN.h5 --n K --output OUT.h5 [--seed S]
 *
 * Points are sharded across the ranks by rows; OUT.h5 holds /particles/initial and
 * /particles/final like a run file.  A class-conditional field needs each point's class:
 * --labels for transport; sample gives point i the class of the run's target i mod M.  Both
 * write them to /labels. */
#ifndef GPA_FIELD_H
#define GPA_FIELD_H

#include <mpi.h>

#include "gpa/io.h"
#include "gpa/solver.h"

/* Collective: moves points x [part.n_local][dim] (of classes labels [part.n_local] for a
 * conditional field, else NULL) through the stored field of run file `run` (open), in place;
 * *steps receives the number of steps. */
int gpa_field_replay(MPI_Comm comm, struct gpa_h5 *run, const struct gpa_params *p,
                     struct gpa_part part, double *x, const int32_t *labels, int64_t *steps);

#endif
