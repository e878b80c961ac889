/* What a run writes into its run file (layout in README.md, "The run file"). */
#ifndef GPA_OUTPUT_H
#define GPA_OUTPUT_H

#include "gpa/io.h"
#include "gpa/solver.h"

/* Collective: creates the run file (as PATH.tmp) with /parameters, /code, /target,
 * /particles/initial and, when trajectories are on, the first frame. */
int gpa_output_begin(struct gpa_runfile *rf, struct gpa_solver *s);
/* Collective: appends a trajectory frame when the step is on the cadence. */
int gpa_output_step(struct gpa_runfile *rf, struct gpa_solver *s);
/* Collective: /particles/final, /monitor, /discriminator and the status attributes; then
 * closes the file and renames it into place. */
int gpa_output_end(struct gpa_runfile *rf, struct gpa_solver *s, const char *status);

#endif
