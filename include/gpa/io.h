/* HDF5, the only place gpa calls it (src/core/io.c, io_serial.c).
 *
 * Parallel files (struct gpa_h5): one file opened by every rank of a communicator (MPI-IO
 * driver, collective transfers, large objects aligned to 1 MiB), and the reads and writes the
 * run file, the checkpoints and the outputs need.  Every function taking a struct gpa_h5 is
 * collective over its communicator; datasets of "rows" are split across ranks by blocks of
 * rows, all other data ("replicated") is the same on every rank and written by rank 0.
 *
 * Single-process files (struct gpa_h5s, "serial"): one file opened by one process alone with
 * HDF5's sequential driver, for what one rank reads or checks by itself (input data sets,
 * checkpoint verification, probes of a run file) and for rank 0's additions to a staged file.
 * No function taking a struct gpa_h5s is collective.
 *
 * Every function records a GPA_ error naming the file when an HDF5 call fails.  The run
 * provenance (/parameters, /code) is in provenance.h, the input-data readers in datafile.h. */
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
int gpa_h5_open(struct gpa_h5 *f, MPI_Comm comm, const char *path, int writable, const char *what);
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
/* Removes the link `name` when it exists (GPA_ERR_IO when it cannot). */
int gpa_h5_delete(struct gpa_h5 *f, const char *name);
/* Rank and dimensions of dataset `name`; GPA_ERR_INPUT naming the file when it is missing. */
int gpa_h5_shape(struct gpa_h5 *f, const char *name, int *ndims, int64_t dims[3]);

/* Rows: dataset `name` [part.n_global][dim], each rank writing/reading its block. */
int gpa_h5_write_rows(struct gpa_h5 *f, const char *name, const double *x, struct gpa_block part,
                      int64_t dim, const char *description);
int gpa_h5_read_rows(struct gpa_h5 *f, const char *name, struct gpa_block part, int64_t dim,
                     double *x);
/* The same for float32 rows, stored as float32. */
int gpa_h5_write_rows_f32(struct gpa_h5 *f, const char *name, const float *x, struct gpa_block part,
                          int64_t dim, const char *description);
/* Sharded 1-D int32 data [part.n_global], each rank writing its block. */
int gpa_h5_write_i32_rows(struct gpa_h5 *f, const char *name, const int32_t *v,
                          struct gpa_block part, const char *description);
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
int gpa_h5_series_read(struct gpa_h5 *f, const char *name, int64_t start, int64_t count, double *v);
/* Appends `count` replicated records (rank 0 writes) of the record shape. */
int gpa_h5_series_append(struct gpa_h5 *f, const char *name, hid_t mtype, const void *v,
                         int64_t count);
/* Appends one record of a [T][n_global][dim] series whose rows are split by `part`. */
int gpa_h5_series_append_rows(struct gpa_h5 *f, const char *name, const double *x,
                              struct gpa_block part, int64_t dim);

/* Attributes on the object `obj` ("/" or a group/dataset path; missing groups are created). */
int gpa_h5_attr_string(struct gpa_h5 *f, const char *obj, const char *name, const char *value);
int gpa_h5_attr_f64(struct gpa_h5 *f, const char *obj, const char *name, const double *v,
                    int64_t n);
int gpa_h5_attr_i64(struct gpa_h5 *f, const char *obj, const char *name, const int64_t *v,
                    int64_t n);
/* Reads attributes; GPA_ERR_INPUT naming the file and attribute when missing. */
int gpa_h5_read_attr_i64(struct gpa_h5 *f, const char *obj, const char *name, int64_t *v);
/* Reads a string attribute into a buffer of `size` bytes (NUL-terminated). */
int gpa_h5_read_attr_string(struct gpa_h5 *f, const char *obj, const char *name, char *out,
                            size_t size);
/* Reads a string attribute of any length into a new buffer (gpa_free it). */
int gpa_h5_read_attr_text(struct gpa_h5 *f, const char *obj, const char *name, char **out);

/* Collective: GPA_ERR_IO with one line when the file system of `path` has less than `bytes`
 * free, or the file-size limit (ulimit -f) is below it; `what` names the write ("the next
 * checkpoint").  Rank 0 looks; every rank returns the same status. */
int gpa_io_space_check(MPI_Comm comm, const char *path, double bytes, const char *what);

/* One process (rank 0): the last step of every staged write.  The complete file `tmp` is
 * synced, renamed to `path` and the directory synced, so `path` is always either the old file
 * or the whole new one.  The caller agrees the status across ranks. */
int gpa_io_commit(const char *tmp, const char *path);

/* ------------------------------------------------------------------ single-process files */

struct gpa_h5s {
  hid_t file;
  char path[GPA_PATH_MAX + 64]; /* the file as messages name it (a caller may put a label) */
  char detail[256];             /* HDF5's innermost message of the last failure, or "" */
  int writable;                 /* opened GPA_H5S_WRITE */
};

enum gpa_h5s_mode {
  GPA_H5S_READ,       /* read-only */
  GPA_H5S_READ_INPUT, /* read-only without file locking (inputs are only read; some parallel
                         file systems refuse locks) */
  GPA_H5S_WRITE,      /* read-write */
};

/* Element types of data in memory: native numbers, stored little-endian. */
enum gpa_h5_type { GPA_H5_F32, GPA_H5_F64, GPA_H5_I32, GPA_H5_I64 };

/* What a path in a file leads to. */
enum gpa_h5_kind {
  GPA_H5_UNREADABLE = -1, /* HDF5 cannot say (a damaged file or a dangling link; see detail) */
  GPA_H5_GROUP,
  GPA_H5_DATASET,
  GPA_H5_DATATYPE, /* a named datatype */
};

/* The kind of a link. */
enum gpa_h5_link_kind {
  GPA_H5_LINK_UNREADABLE = -1, /* its information cannot be read (see detail) */
  GPA_H5_LINK_HARD,
  GPA_H5_LINK_SOFT,
  GPA_H5_LINK_EXTERNAL,
  GPA_H5_LINK_OTHER,
};

struct gpa_h5_link {
  int kind;                  /* enum gpa_h5_link_kind */
  int has_target;            /* soft and external links: 1 when their value was read */
  char file[GPA_PATH_MAX];   /* external links: the file ("?" when it cannot be unpacked) */
  char target[GPA_PATH_MAX]; /* soft links: the path; external links: the object */
};

/* The class of a dataset's elements. */
enum gpa_h5_class { GPA_H5_CLASS_OTHER, GPA_H5_INTEGER, GPA_H5_FLOAT, GPA_H5_STRING };

enum { GPA_H5_MAX_DIMS = 4 };

struct gpa_h5_info {
  int type_class;                /* enum gpa_h5_class */
  size_t type_size;              /* bytes of one element in the file */
  int vlen_string;               /* 1 for variable-length strings */
  int ndims;                     /* 0 for a scalar */
  int64_t dims[GPA_H5_MAX_DIMS]; /* the first min(ndims, GPA_H5_MAX_DIMS) dimensions */
  int64_t n;                     /* elements */
};

/* 1 when `path` is an HDF5 file (by its signature). */
int gpa_h5s_is_hdf5(const char *path);
/* Opens `path` (enum gpa_h5s_mode); GPA_ERR_INPUT "'PATH' cannot be read as HDF5 (truncated
 * or damaged?)" when HDF5 cannot.  f->file < 0 until opened and after gpa_h5s_close. */
int gpa_h5s_open(struct gpa_h5s *f, const char *path, int mode);
/* Closes the file (GPA_ERR_IO when the close fails: a write did not reach the file); nothing
 * to do when it is not open. */
int gpa_h5s_close(struct gpa_h5s *f);
/* f->detail, or "no detail". */
const char *gpa_h5s_detail(const struct gpa_h5s *f);

/* Questions about the file: none records an error. */
/* 1 when every component of the path `name` exists as a link. */
int gpa_h5s_exists(struct gpa_h5s *f, const char *name);
/* 1 when the link `name` leads to an object (an existing link may dangle). */
int gpa_h5s_resolves(struct gpa_h5s *f, const char *name);
/* What `name` (which exists) leads to: enum gpa_h5_kind. */
int gpa_h5s_kind(struct gpa_h5s *f, const char *name);
/* The link `name` (which exists); returns l->kind. */
int gpa_h5s_link(struct gpa_h5s *f, const char *name, struct gpa_h5_link *l);
/* 1 when the object obj has an attribute `name`. */
int gpa_h5s_has_attr(struct gpa_h5s *f, const char *obj, const char *name);
/* 1 when the attribute obj/name is a string (fixed- or variable-length) equal to `value`. */
int gpa_h5s_attr_equals(struct gpa_h5s *f, const char *obj, const char *name, const char *value);
/* 1 when the attribute obj/name holds exactly one number, read into *v; else 0. */
int gpa_h5s_peek_i64(struct gpa_h5s *f, const char *obj, const char *name, int64_t *v);
/* 1 when the attribute obj/name holds exactly n integers, read into v; else 0. */
int gpa_h5s_peek_ints(struct gpa_h5s *f, const char *obj, const char *name, int64_t *v, int64_t n);
/* 1 when the attribute obj/name is a fixed-length string, read NUL-terminated into a new
 * buffer *out (gpa_free it); else 0 and *out NULL. */
int gpa_h5s_peek_text(struct gpa_h5s *f, const char *obj, const char *name, char **out);
/* Not collective, with no handle: the attribute obj/name of the file `path` as gpa_h5s_peek_i64
 * (0 when the file cannot be opened), for probes of a file by one rank. */
int gpa_h5s_peek_file_i64(const char *path, const char *obj, const char *name, int64_t *v);

/* The dataset `name`: type and shape.  GPA_ERR_INPUT "PATH: cannot open NAME (HDF5: ...)". */
int gpa_h5s_dataset_info(struct gpa_h5s *f, const char *name, struct gpa_h5_info *info);
/* The first compression filter of the pipeline of dataset `name` that this HDF5 library does
 * not have: its id in *id and its name in fname, or *id = -1.  GPA_ERR_INPUT "PATH: cannot open
 * NAME (damaged file? HDF5: ...)" when the dataset cannot be opened. */
int gpa_h5s_missing_filter(struct gpa_h5s *f, const char *name, int *id, char fname[64]);
/* The names of the links of group `group`, in increasing name order, in a new array (free it
 * with gpa_h5_free_strings). */
int gpa_h5s_list(struct gpa_h5s *f, const char *group, int64_t *n, char ***names);

/* Reads all n elements of dataset `name` (it must hold n) as `type` (enum gpa_h5_type). */
int gpa_h5s_read(struct gpa_h5s *f, const char *name, int type, int64_t n, void *out);
/* Reads runs of the first dimension of dataset `name` (whole rows of a 2-D dataset, elements
 * of a 1-D one): [start[i], start[i] + count[i]) for i < nruns, in increasing order without
 * overlap, one after the other into out as `type`; runs of length 0 are skipped. */
int gpa_h5s_read_runs(struct gpa_h5s *f, const char *name, int type, const int64_t *start,
                      const int64_t *count, int64_t nruns, void *out);
/* Reads a string dataset (fixed-length, trailing blanks cut, or variable-length) into *n new
 * strings (free them with gpa_h5_free_strings).  GPA_ERR_INPUT when it does not hold strings. */
int gpa_h5s_read_strings(struct gpa_h5s *f, const char *name, int64_t *n, char ***out);
/* CRC-32 (zlib's) of the values of dataset `name`, 8-byte numbers in 1 or 2 dimensions, read
 * in blocks of about 2^20 values as native int64 or double; *n is the number of values and
 * *first_nonfinite the index of the first NaN or Inf (floating point), or -1. */
int gpa_h5s_checksum(struct gpa_h5s *f, const char *name, uint32_t *crc, int64_t *n,
                     int64_t *first_nonfinite);

/* Writes, as anndata and h5py store them: groups, variable-length UTF-8 strings, enum
 * booleans.  Objects are created at absolute paths whose parent exists. */
int gpa_h5s_create_group(struct gpa_h5s *f, const char *name);
/* Dataset `name` of shape dims[0..rank) (1 or 2 dimensions) from v, stored as `type`. */
int gpa_h5s_write(struct gpa_h5s *f, const char *name, int type, int rank, const int64_t *dims,
                  const void *v);
/* Dataset `name`: n variable-length UTF-8 strings (1-D), or one (scalar, gpa_h5s_write_text). */
int gpa_h5s_write_strings(struct gpa_h5s *f, const char *name, const char *const *s, int64_t n);
int gpa_h5s_write_text(struct gpa_h5s *f, const char *name, const char *text);
/* Attributes of obj: a variable-length UTF-8 string (replaced when it exists), a 1-D list of
 * them (n may be 0), an h5py boolean (an enum FALSE/TRUE of int8). */
int gpa_h5s_attr_text(struct gpa_h5s *f, const char *obj, const char *name, const char *value);
int gpa_h5s_attr_texts(struct gpa_h5s *f, const char *obj, const char *name,
                       const char *const *values, int64_t n);
int gpa_h5s_attr_bool(struct gpa_h5s *f, const char *obj, const char *name, int value);

/* Frees n strings and the array from gpa_h5s_read_strings or gpa_h5s_list; *s becomes NULL. */
void gpa_h5_free_strings(char ***s, int64_t n);

#endif
