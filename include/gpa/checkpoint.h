/* Checkpoints: everything a run needs to continue exactly where it was.
 *
 * One HDF5 file, written collectively: particles and generated particles in global order, the
 * targets, theta, the optimizer's moments and counter, the power-iteration vectors and last
 * norms, the step and time, the monitor history, the resolved settings, a format version and a
 * `complete` attribute written last.  It is written as PATH.tmp, synced, and renamed to PATH;
 * the checkpoint it replaces is kept as the "previous" one (RUN.ckpt.prev.h5 for
 * RUN.ckpt.h5), and at no moment is PATH missing or incomplete.  Every function here is
 * collective.
 *
 * With the same number of ranks a restarted run continues bit for bit; with another number the
 * particles are redistributed by global index. */
#ifndef GPA_CHECKPOINT_H
#define GPA_CHECKPOINT_H

#include "gpa/io.h"
#include "gpa/solver.h"

/* RUN.ckpt.prev.h5 for RUN.ckpt.h5 (PATH.prev otherwise). */
void gpa_checkpoint_prev_path(const char *path, char *out, size_t size);

/* Writes the solver's state to `path`; *bytes and *seconds describe the write. */
int gpa_checkpoint_write(struct gpa_solver *s, const char *path, double *bytes, double *seconds);

struct gpa_checkpoint {
  struct gpa_h5 h5;
  struct gpa_params p; /* the settings it was written with */
  int64_t step;
};

/* Opens a checkpoint for a restart and checks it: a missing, truncated, foreign or incomplete
 * file is GPA_ERR_INPUT with one clear message. */
int gpa_checkpoint_open(struct gpa_checkpoint *ck, MPI_Comm comm, const char *path);
/* Collective: checks that the restarting solver (set up from the new deck) solves the same
 * problem, with the same targets, and lists the settings that changed (see
 * gpa_params_restart_check).  A deck that leaves output.store_field to gpa (auto) keeps the
 * checkpoint's choice (gpa_solver_keep_field_choice).  Writes nothing: a restart it refuses
 * leaves every file as it was. */
int gpa_checkpoint_check(struct gpa_checkpoint *ck, struct gpa_solver *s, char *changes,
                         size_t size);
/* Collective: loads the state into the solver (after gpa_checkpoint_check). */
int gpa_checkpoint_load(struct gpa_checkpoint *ck, struct gpa_solver *s);
void gpa_checkpoint_close(struct gpa_checkpoint *ck);

#endif
