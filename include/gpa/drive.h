/* The particle loop: steps, monitor, progress, run-file output, checkpoints and the reasons to
 * stop (max_steps, tolerances, divergence, and for interruptible runs a signal, the stop file
 * or the wall-time limit).  Shared by `gpa run` and `gpa integrate`. */
#ifndef GPA_DRIVE_H
#define GPA_DRIVE_H

#include "gpa/output.h"
#include "gpa/solver.h"

struct gpa_drive {
  /* set by the caller */
  int quiet;
  int interruptible; /* SIGTERM/SIGUSR1, the stop file and run.max_wall_time stop the run */
  double started;    /* MPI_Wtime() at program start, for run.max_wall_time */
  /* results */
  char status[GPA_PATH_MAX + 160];
  int interrupted; /* a checkpoint was written and the run stopped early */
  int diverged;
};

/* Makes SIGTERM and SIGUSR1 request a stop at the end of the step. */
void gpa_drive_install_signals(void);

/* Collective: runs the solver from its current step to the end, writing `out` (begun or
 * resumed) as it goes, checkpoints as configured, and finally ends the run file (renamed into
 * place unless the run was interrupted).  A run that diverged is not an error here
 * (d->diverged); errors of I/O or MPI are, and leave the run file to gpa_output_abort. */
int gpa_drive_run(struct gpa_solver *s, struct gpa_runfile *out, struct gpa_drive *d);

#endif
