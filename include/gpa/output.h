/* The run file (layout in README.md, "The run file") and its XDMF sidecar.
 *
 * While a run goes on its file is RUN.h5.tmp; it is renamed to RUN.h5 when the run ends
 * (completed, or diverged), so no half-written file carries the final name.  Trajectory frames
 * stream into it as they come; the monitor, the buffered learned field and the status are
 * brought up to date, and the file flushed to disk, at every checkpoint ("sync"), so that after
 * a crash it holds a readable record up to the last checkpoint, and a restart continues it.
 * Every function here is collective. */
#ifndef GPA_OUTPUT_H
#define GPA_OUTPUT_H

#include "gpa/io.h"
#include "gpa/solver.h"

struct gpa_runfile {
  struct gpa_h5 h5;
  char path[GPA_PATH_MAX];    /* RUN.h5 */
  char tmp[GPA_PATH_MAX + 8]; /* RUN.h5.tmp */
  char xmf[GPA_PATH_MAX + 8]; /* RUN.xmf */
  int is_open;
  int fresh;               /* created by this process and never synced for a checkpoint:
                                   removed again on failure */
  int64_t monitor_records; /* monitor records already in the file */
  int64_t frames;          /* trajectory frames in the file */
  int64_t frames_capacity;
  int64_t *frame_steps; /* [frames_capacity] step of each frame, for the XDMF file */
  /* The learned field (when the solver stores it): theta of every step and stored stage,
   * buffered until appended to /field/theta. */
  int theta_stages; /* thetas per step */
  int64_t n_params;
  int64_t theta_capacity; /* steps the buffer holds */
  int64_t theta_count;    /* complete steps in the buffer */
  double *theta_history;  /* [theta_capacity][theta_stages][n_params]; NULL: not stored */
};

/* A new run: RUN.h5.tmp with /parameters, /code, /target, /particles/initial (and
 * /generated/initial), the first trajectory frame, and empty series for the rest. */
int gpa_output_begin(struct gpa_runfile *rf, struct gpa_solver *s);
/* A restart from a checkpoint at step `step`: reopens RUN.h5.tmp (or RUN.h5 of a finished run
 * being extended) and cuts every series back to that step; when no readable run file exists,
 * starts a new one (the solver must still hold the initial particles then).  Sets *resumed. */
int gpa_output_resume(struct gpa_runfile *rf, struct gpa_solver *s, int64_t step, int *resumed);
/* Not collective: theta of stage `stage` of the step being taken, into the theta history
 * (the step is complete with its last stored stage).  The recorder gpa_solver_step calls. */
int gpa_output_stage(struct gpa_runfile *rf, int stage, const double *theta);
/* After each step: the trajectory frame when due; the theta history when full. */
int gpa_output_step(struct gpa_runfile *rf, struct gpa_solver *s);
/* Brings the monitor, the field and the status up to date and flushes the file to disk. */
int gpa_output_sync(struct gpa_runfile *rf, struct gpa_solver *s, const char *status);
/* Syncs, writes /particles/final, /generated/final and /discriminator, closes the file and,
 * with `finished`, renames RUN.h5.tmp to RUN.h5 (without, it stays RUN.h5.tmp for a
 * restart). */
int gpa_output_end(struct gpa_runfile *rf, struct gpa_solver *s, const char *status, int finished);
/* After an error: closes the file, and removes it when this process created it. */
void gpa_output_abort(struct gpa_runfile *rf);

#endif
