/* The learned vector field of a finished run, replayed on new points (ALGORITHM.md section 6).
 *
 * A run that stores /field/theta holds phi's parameters for every step n and Runge-Kutta stage
 * i; with the run's dt and integrator they define the flow  Z <- step(Z; theta_n).  Replaying
 * the run's own initial particles reproduces its final particles bit for bit.  Points are
 * sharded across the ranks by rows; a class-conditional field needs each point's class.  The
 * jobs built on this (`gpa transport`, `gpa sample`) are in transport.h. */
#ifndef GPA_REPLAY_H
#define GPA_REPLAY_H

#include <stdint.h>

#include "gpa/comm.h"
#include "gpa/config.h"
#include "gpa/io.h"

/* Collective over the run file's communicator: moves points x [part.n_local][dim] (of classes
 * labels [part.n_local] for a conditional field, else NULL) in place through the stored field
 * of the run file `run` (open), whose resolved settings are `p`; *steps receives the number of
 * steps.  A run file without a field, or with an incomplete one, is GPA_ERR_INPUT. */
int gpa_replay_move(struct gpa_h5 *run, const struct gpa_params *p, struct gpa_block part,
                    double *x, const int32_t *labels, int64_t *steps);

#endif
