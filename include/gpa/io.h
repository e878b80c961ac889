/* HDF5 files: parallel reads of input datasets and the run file.
 *
 * The run file is written with parallel HDF5 (MPI-IO, collective transfers, large objects
 * aligned to 1 MiB) under the name PATH.tmp and renamed to PATH when complete, so that no
 * half-written run file ever carries the final name.  Every function here is collective over
 * the communicator it was given. */
#ifndef GPA_IO_H
#define GPA_IO_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "gpa/comm.h"
#include "gpa/config.h"

/* Silences HDF5's automatic error printing; errors are reported through gpa_error. */
void gpa_io_setup(void);
const char *gpa_io_hdf5_version(void);

/* Shape of a 2-D numeric dataset `dataset` of file `path`.  `what` names the setting that
 * asked for it (e.g. "source.file") in error messages. */
int gpa_h5_dataset_shape(MPI_Comm comm, const char *path, const char *dataset, const char *what,
                         int64_t dims[2]);
/* Reads rows [row0, row0 + rows) of the 2-D dataset (cols columns) as doubles into
 * out [rows][cols] on each rank, then checks that every value is finite. */
int gpa_h5_read_rows(MPI_Comm comm, const char *path, const char *dataset, int64_t row0,
                     int64_t rows, int64_t cols, double *out);

struct gpa_runfile {
  MPI_Comm comm;
  int rank;
  hid_t file;
  hid_t dxpl;                /* collective transfers */
  char path[GPA_PATH_MAX];   /* final name */
  char tmp[GPA_PATH_MAX + 8]; /* name while being written */
  hid_t traj_pos, traj_step; /* /trajectory datasets, or -1 */
  int64_t frames;            /* frames written */
  int64_t traj_n, traj_dim;
};

/* Creates PATH.tmp (removing a stale one). */
int gpa_runfile_create(struct gpa_runfile *rf, MPI_Comm comm, const char *path);
/* Closes the file; with `commit` renames PATH.tmp to PATH (fsync'd), else removes PATH.tmp. */
int gpa_runfile_close(struct gpa_runfile *rf, int commit);
/* Flushes HDF5's buffers to the file. */
int gpa_runfile_flush(struct gpa_runfile *rf);

/* Distributed rows: dataset `name` [part.n_global][dim], each rank writing its block. */
int gpa_runfile_write_rows(struct gpa_runfile *rf, const char *name, const double *x,
                           struct gpa_part part, int64_t dim, const char *description);
/* Replicated 1-D data (identical on all ranks; rank 0 writes). */
int gpa_runfile_write_f64(struct gpa_runfile *rf, const char *name, const double *v, int64_t n,
                          const char *description, const char *units);
int gpa_runfile_write_i64(struct gpa_runfile *rf, const char *name, const int64_t *v, int64_t n,
                          const char *description, const char *units);
/* Attributes on the object at `obj` ("/" or a group/dataset path); groups are created. */
int gpa_runfile_attr_string(struct gpa_runfile *rf, const char *obj, const char *name,
                            const char *value);
int gpa_runfile_attr_f64(struct gpa_runfile *rf, const char *obj, const char *name,
                         const double *v, int64_t n);
int gpa_runfile_attr_i64(struct gpa_runfile *rf, const char *obj, const char *name,
                         const int64_t *v, int64_t n);

/* /parameters: one group per deck section, one attribute per key; the resolved deck as YAML
 * text in the attribute "deck". */
int gpa_runfile_write_parameters(struct gpa_runfile *rf, const struct gpa_params *p);
/* /code: version, git revision, compiler, library versions, ranks. */
int gpa_runfile_write_code(struct gpa_runfile *rf);

/* /trajectory/positions [T][n_global][dim] (unlimited T, one chunk per frame) and
 * /trajectory/step [T]. */
int gpa_runfile_trajectory_begin(struct gpa_runfile *rf, int64_t n_global, int64_t dim);
int gpa_runfile_trajectory_append(struct gpa_runfile *rf, int64_t step, const double *x,
                                  struct gpa_part part);

#endif
