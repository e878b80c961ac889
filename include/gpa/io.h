/* Parallel HDF5: one file opened by every rank of a communicator (MPI-IO driver, collective
 * transfers, large objects aligned to 1 MiB), and the reads and writes the run file, the
 * checkpoints and the input data need.  Every function taking a struct gpa_h5 is collective
 * over its communicator; datasets of "rows" are split across ranks by blocks of rows, all
 * other data ("replicated") is the same on every rank and written by rank 0. */
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

struct gpa_h5 {
  MPI_Comm comm;
  int rank;
  hid_t file;
  hid_t dxpl; /* collective transfers */
  char path[GPA_PATH_MAX + 32];
  char final[GPA_PATH_MAX + 32]; /* a staged file's destination, else empty */
};

/* Creates (truncating) `path`. */
int gpa_h5_create(struct gpa_h5 *f, MPI_Comm comm, const char *path);
/* Opens an existing HDF5 file; `what` names it in error messages ("--restart").  A missing,
 * unreadable or non-HDF5 file is GPA_ERR_INPUT with one clear message. */
int gpa_h5_open(struct gpa_h5 *f, MPI_Comm comm, const char *path, int writable,
                const char *what);
int gpa_h5_close(struct gpa_h5 *f);

/* The staged write: the file is written under PATH.tmp and put in place only when complete,
 * so that PATH is never half-written.
 *   gpa_h5_create_staged(&f, comm, path);     creates PATH.tmp (collective)
 *   ... writes, collecting the status in rc ...
 *   rc = gpa_h5_commit(&f, rc);                close, agree, sync, rename, sync the directory
 * gpa_h5_commit (collective) takes each rank's status: when all are GPA_OK, rank 0 puts the
 * file in place (gpa_io_commit); otherwise PATH.tmp is removed.  It returns the agreed status.
 * gpa_h5_close_staged is its first half, for writers that add to PATH.tmp from one process
 * between the collective close and the rename: they then call gpa_io_commit(f.path, f.final)
 * on rank 0 themselves. */
int gpa_h5_create_staged(struct gpa_h5 *f, MPI_Comm comm, const char *path);
int gpa_h5_close_staged(struct gpa_h5 *f, int rc);
int gpa_h5_commit(struct gpa_h5 *f, int rc);
/* Writes HDF5's buffers to the file (MPI_File_sync). */
int gpa_h5_flush(struct gpa_h5 *f);

/* 1 when `name` (a path in the file) exists. */
int gpa_h5_exists(struct gpa_h5 *f, const char *name);
/* Rank and dimensions of dataset `name`; GPA_ERR_INPUT naming the file when it is missing. */
int gpa_h5_shape(struct gpa_h5 *f, const char *name, int *ndims, int64_t dims[3]);

/* Rows: dataset `name` [part.n_global][dim], each rank writing/reading its block. */
int gpa_h5_write_rows(struct gpa_h5 *f, const char *name, const double *x, struct gpa_part part,
                      int64_t dim, const char *description);
int gpa_h5_read_rows(struct gpa_h5 *f, const char *name, struct gpa_part part, int64_t dim,
                     double *x);
/* The same for float32 rows, stored as float32. */
int gpa_h5_write_rows_f32(struct gpa_h5 *f, const char *name, const float *x,
                          struct gpa_part part, int64_t dim, const char *description);
/* Sharded 1-D int32 data [part.n_global], each rank writing its block. */
int gpa_h5_write_i32_rows(struct gpa_h5 *f, const char *name, const int32_t *v,
                          struct gpa_part part, const char *description);
/* Replicated 1-D data of n numbers. */
int gpa_h5_write_f64(struct gpa_h5 *f, const char *name, const double *v, int64_t n,
                     const char *description, const char *units);
int gpa_h5_write_i64(struct gpa_h5 *f, const char *name, const int64_t *v, int64_t n,
                     const char *description, const char *units);
int gpa_h5_write_i32(struct gpa_h5 *f, const char *name, const int32_t *v, int64_t n,
                     const char *description);
/* Replicated data of shape dims[0..rank) (1 to 3 dimensions, row-major), from rank 0. */
int gpa_h5_write_f64_nd(struct gpa_h5 *f, const char *name, const double *v, int rank,
                        const int64_t *dims, const char *description, const char *units);
/* n strings as fixed-length, null-padded ASCII (the width of the longest). */
int gpa_h5_write_strings(struct gpa_h5 *f, const char *name, char *const *s, int64_t n,
                         const char *description);
/* Reads exactly n numbers (the dataset must hold n) on every rank. */
int gpa_h5_read_f64(struct gpa_h5 *f, const char *name, double *v, int64_t n);
int gpa_h5_read_i64(struct gpa_h5 *f, const char *name, int64_t *v, int64_t n);

/* Extendible datasets: `name` with shape [0][row_dims...] and an unlimited first dimension,
 * one chunk per row (record).  Records are appended, or the dataset cut to `count` records. */
int gpa_h5_series_create(struct gpa_h5 *f, const char *name, hid_t type, int rank,
                         const int64_t *row_dims, const char *description);
int64_t gpa_h5_series_length(struct gpa_h5 *f, const char *name);
int gpa_h5_series_truncate(struct gpa_h5 *f, const char *name, int64_t count);
/* Reads records [start, start + count) of a series of doubles on every rank into v. */
int gpa_h5_series_read(struct gpa_h5 *f, const char *name, int64_t start, int64_t count,
                       double *v);
/* Appends `count` replicated records (rank 0 writes) of the record shape. */
int gpa_h5_series_append(struct gpa_h5 *f, const char *name, hid_t mtype, const void *v,
                         int64_t count);
/* Appends one record of a [T][n_global][dim] series whose rows are split by `part`. */
int gpa_h5_series_append_rows(struct gpa_h5 *f, const char *name, const double *x,
                              struct gpa_part part, int64_t dim);

/* Attributes on the object `obj` ("/" or a group/dataset path; missing groups are created). */
int gpa_h5_attr_string(struct gpa_h5 *f, const char *obj, const char *name, const char *value);
int gpa_h5_attr_f64(struct gpa_h5 *f, const char *obj, const char *name, const double *v,
                    int64_t n);
int gpa_h5_attr_i64(struct gpa_h5 *f, const char *obj, const char *name, const int64_t *v,
                    int64_t n);
/* Reads attributes; GPA_ERR_INPUT naming the file and attribute when missing. */
int gpa_h5_read_attr_i64(struct gpa_h5 *f, const char *obj, const char *name, int64_t *v);
int gpa_h5_read_attr_f64(struct gpa_h5 *f, const char *obj, const char *name, double *v);
/* Reads a string attribute into a buffer of `size` bytes (NUL-terminated). */
int gpa_h5_read_attr_string(struct gpa_h5 *f, const char *obj, const char *name, char *out,
                            size_t size);
/* Reads a string attribute of any length into a new buffer (gpa_free it). */
int gpa_h5_read_attr_text(struct gpa_h5 *f, const char *obj, const char *name, char **out);

/* /parameters: one group per deck section, one attribute per key; the resolved deck as YAML
 * text in the attribute "deck".  /code: version, git revision, compiler, library versions. */
int gpa_h5_write_parameters(struct gpa_h5 *f, const struct gpa_params *p);
int gpa_h5_write_code(struct gpa_h5 *f);

/* Splits "FILE.h5:/dataset" into the file and the dataset; without ":/", the whole spec is
 * the file and the dataset is `def`. */
void gpa_data_spec(const char *spec, const char *def, char *file, size_t fsize, char *dataset,
                   size_t dsize);

/* Input data by file name: shape of a 2-D numeric dataset, and rows [row0, row0 + rows)
 * as doubles into out [rows][cols] on each rank (NaN/Inf is an error naming the row).
 * `what` names the setting that asked for it (e.g. "source.file"). */
int gpa_data_shape(MPI_Comm comm, const char *path, const char *dataset, const char *what,
                   int64_t dims[2]);
int gpa_data_read_rows(MPI_Comm comm, const char *path, const char *dataset, int64_t row0,
                       int64_t rows, int64_t cols, double *out);

/* Collective: GPA_ERR_IO with one line when the file system of `path` has less than `bytes`
 * free, or the file-size limit (ulimit -f) is below it; `what` names the write ("the next
 * checkpoint").  Rank 0 looks; every rank returns the same status. */
int gpa_io_space_check(MPI_Comm comm, const char *path, double bytes, const char *what);

/* Not collective: opens an input file read-only with HDF5's sequential driver and without
 * file locking (inputs are only read; some parallel file systems refuse locks); < 0 when HDF5
 * cannot open it. */
hid_t gpa_data_open_readonly(const char *path);

/* Not collective: checks that `name` (which exists) in the open file `file` (named `path` in
 * messages) is a dataset this HDF5 library can read: a soft or external link that resolves, a
 * dataset and not a group, and every compression filter of its pipeline available.  An error is
 * GPA_ERR_INPUT with one line naming the file and the dataset
 * ("x.h5: /X is compressed with HDF5 filter 32000 (lzf), which this HDF5 library does not
 * have"). */
int gpa_data_check_dataset(hid_t file, const char *path, const char *name);

/* Not collective: GPA_OK when `name` (a link that exists in `file`) leads to an object; else
 * GPA_ERR_INPUT saying why not (a dangling soft link, an external link to a missing file or
 * object, damage). */
int gpa_data_link_check(hid_t file, const char *path, const char *name);

/* The innermost message of HDF5's error stack ("inflate() failed"), or "no detail", in buf;
 * clears the stack. */
const char *gpa_io_hdf5_detail(char buf[256]);

/* Not collective: attributes of a file opened by one process (H5Fopen without MPI-IO), for the
 * checks rank 0 makes alone.  1 when read; 0 when missing, of another kind or unreadable (no
 * error recorded).  The text is NUL-terminated in a new buffer (gpa_free it). */
int gpa_h5_peek_i64(hid_t file, const char *obj, const char *name, int64_t *v);
int gpa_h5_peek_text(hid_t file, const char *obj, const char *name, char **out);

/* One process (rank 0): the last step of every staged write.  The complete file `tmp` is
 * synced, renamed to `path` and the directory synced, so `path` is always either the old file
 * or the whole new one.  The caller agrees the status across ranks. */
int gpa_io_commit(const char *tmp, const char *path);

/* Rank 0: fsync a file or a directory (after a rename). */
void gpa_fsync_path(const char *path, int directory);

#endif
