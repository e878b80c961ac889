/* The files a command reads and writes, checked before anything is computed, and the lock
 * that keeps two runs from writing the same output.
 *
 * A command lists its inputs (the deck, data files, a field) and its outputs (run file,
 * checkpoints, sidecars, reports, the stop file it may delete); gpa_paths_check then refuses,
 * with one line naming both files, an output whose directory is missing or read-only, an
 * output that is a directory, an output that is one of the inputs, and two outputs that are
 * the same file.  Files are compared by device and inode when they exist, else by their
 * canonical directory and name, so "./a.h5", "a.h5" and a hard link are one file. */
#ifndef GPA_PATHS_H
#define GPA_PATHS_H

#include <mpi.h>
#include <stddef.h>

enum { GPA_PATHS_MAX = 16 };

struct gpa_paths {
  const char *in[GPA_PATHS_MAX];      /* files read */
  const char *in_what[GPA_PATHS_MAX]; /* the setting that names each ("source.file") */
  int n_in;
  const char *out[GPA_PATHS_MAX]; /* files written (or deleted) */
  const char *out_what[GPA_PATHS_MAX];
  int n_out;
};

/* out = `path` without a final ".h5", then `suffix` (".ckpt.h5", ".xmf", ".json"): the name of
 * a file beside a run file.  Returns 0, or -1 (out empty) when it does not fit in `size`. */
int gpa_path_beside(const char *path, const char *suffix, char *out, size_t size);

/* Adds a file; empty or NULL paths are skipped. */
void gpa_paths_input(struct gpa_paths *pp, const char *path, const char *what);
void gpa_paths_output(struct gpa_paths *pp, const char *path, const char *what);

/* Collective: rank 0 checks every output against the inputs and the other outputs; every
 * rank returns the same status (GPA_ERR_INPUT or GPA_ERR_IO with one line). */
int gpa_paths_check(MPI_Comm comm, const struct gpa_paths *pp);

/* The advisory lock on an output: rank 0 holds an exclusive flock(2) on PATH.lock from here
 * until gpa_paths_unlock, so a second run on the same output fails at once, naming the
 * process that holds it.  A crash releases the lock with the process.  Collective. */
struct gpa_lock {
  int fd; /* rank 0: the lock file, -1 elsewhere or when not held */
  char path[1100];
};
int gpa_paths_lock(MPI_Comm comm, const char *output, struct gpa_lock *lock);
void gpa_paths_unlock(struct gpa_lock *lock);

#endif
