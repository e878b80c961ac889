/* Input data files (datafile.h): "FILE.h5:/dataset" specs, the checks of an input dataset,
 * and 2-D matrices read by rows. */
#include "gpa/datafile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void gpa_data_spec(const char *spec, const char *def, char *file, size_t fsize, char *dataset,
                   size_t dsize) {
  const char *colon = strrchr(spec, ':');
  if (colon && colon[1] == '/') {
    snprintf(file, fsize, "%.*s", (int)(colon - spec), spec);
    snprintf(dataset, dsize, "%s", colon + 1);
  } else {
    snprintf(file, fsize, "%s", spec);
    snprintf(dataset, dsize, "%s", def);
  }
}

int gpa_data_open_readonly(struct gpa_h5s *f, const char *path) {
  return gpa_h5s_open(f, path, GPA_H5S_READ_INPUT);
}

int gpa_data_link_check(struct gpa_h5s *f, const char *name) {
  if (gpa_h5s_resolves(f, name)) return GPA_OK;
  struct gpa_h5_link l;
  const int kind = gpa_h5s_link(f, name, &l);
  if (kind != GPA_H5_LINK_SOFT && kind != GPA_H5_LINK_EXTERNAL)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s cannot be opened (damaged file? HDF5: %s)", f->path,
                     name, gpa_h5s_detail(f));
  if (!l.has_target)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s is a link that cannot be followed", f->path, name);
  if (kind == GPA_H5_LINK_SOFT)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s is a soft link to '%s', which does not exist", f->path,
                     name, l.target);
  return GPA_ERROR(GPA_ERR_INPUT, "%s: %s is an external link to %s:%s, which cannot be opened",
                   f->path, name, l.file, l.target);
}

int gpa_data_check_dataset(struct gpa_h5s *f, const char *name) {
  GPA_CHECK(gpa_data_link_check(f, name));
  const int kind = gpa_h5s_kind(f, name);
  if (kind == GPA_H5_UNREADABLE)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s cannot be opened (damaged file? HDF5: %s)", f->path,
                     name, gpa_h5s_detail(f));
  if (kind != GPA_H5_DATASET)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s is a %s, not a dataset", f->path, name,
                     kind == GPA_H5_GROUP ? "group" : "named datatype");
  int id;
  char fname[64];
  GPA_CHECK(gpa_h5s_missing_filter(f, name, &id, fname));
  if (id >= 0)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: %s is compressed with HDF5 filter %d (%s), which this HDF5 library does "
                     "not have (store it uncompressed or with gzip)",
                     f->path, name, id, fname[0] ? fname : "unnamed");
  return GPA_OK;
}

/* Not collective: checks that `dataset` of the open file f is a readable 2-D numeric dataset
 * and returns its dims. */
static int check_matrix(struct gpa_h5s *f, const char *path, const char *dataset, const char *what,
                        int64_t dims[2]) {
  if (dataset[0] != '/' || !gpa_h5s_exists(f, dataset))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' has no dataset '%s'", what, path, dataset);
  GPA_CHECK(gpa_data_check_dataset(f, dataset));
  struct gpa_h5_info info;
  GPA_CHECK(gpa_h5s_dataset_info(f, dataset, &info));
  if (info.ndims != 2)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has %d dimensions, expected 2 [samples, d]", what,
                     path, dataset, info.ndims);
  if (info.type_class != GPA_H5_FLOAT && info.type_class != GPA_H5_INTEGER)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s is not numeric", what, path, dataset);
  dims[0] = info.dims[0];
  dims[1] = info.dims[1];
  return GPA_OK;
}

/* Not collective: opens path:dataset (messages name it "what: path") and checks it is a
 * readable 2-D numeric dataset; returns its dims, and the file open in f (closed on error). */
static int open_matrix(const char *path, const char *dataset, const char *what, struct gpa_h5s *f,
                       int64_t dims[2]) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open '%s': %s", what, path, strerror(errno));
  fclose(fp);
  if (!gpa_h5s_is_hdf5(path))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' is not an HDF5 file", what, path);
  if (gpa_data_open_readonly(f, path) != GPA_OK) {
    gpa_error_clear(); /* the message names the setting too */
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' cannot be read as HDF5 (truncated or damaged?)", what,
                     path);
  }
  snprintf(f->path, sizeof f->path, "%s: %s", what, path);
  const int rc = check_matrix(f, path, dataset, what, dims);
  if (rc != GPA_OK) gpa_h5s_close(f);
  return rc;
}

/* Not collective: the dims of path:dataset, a readable 2-D numeric dataset. */
static int matrix_shape(const char *path, const char *dataset, const char *what, int64_t dims[2]) {
  struct gpa_h5s f;
  GPA_CHECK(open_matrix(path, dataset, what, &f, dims));
  return gpa_h5s_close(&f);
}

int gpa_data_shape(MPI_Comm comm, const char *path, const char *dataset, const char *what,
                   int64_t dims[2]) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  int64_t d[2] = {0, 0};
  GPA_CHECK(gpa_comm_agree(comm, rank == 0 ? matrix_shape(path, dataset, what, d) : GPA_OK));
  GPA_MPI(MPI_Bcast(d, 2, MPI_INT64_T, 0, comm));
  dims[0] = d[0];
  dims[1] = d[1];
  return GPA_OK;
}

/* The error of a failed read of rows: "FILE:DATASET: cannot read rows A-B (HDF5: ...)". */
static int rows_unreadable(const struct gpa_h5s *f, const char *path, const char *dataset,
                           int64_t row0, int64_t rows) {
  char what[GPA_PATH_MAX + 300];
  snprintf(what, sizeof what, "%s:%s: cannot read rows %lld-%lld", path, dataset, (long long)row0,
           (long long)(row0 + rows - 1));
  gpa_error_clear(); /* replaces the message of the read */
  if (f->detail[0]) return GPA_ERROR(GPA_ERR_IO, "%s (HDF5: %s)", what, f->detail);
  return GPA_ERROR(GPA_ERR_IO, "%s", what);
}

/* Not collective: rows [row0, row0 + rows) of path:dataset, rows > 0. */
static int read_rows_local(const char *path, const char *dataset, int64_t row0, int64_t rows,
                           int64_t cols, double *out) {
  struct gpa_h5s f;
  int64_t dims[2];
  GPA_CHECK(open_matrix(path, dataset, path, &f, dims));
  int rc = GPA_OK;
  if (dims[1] != cols || row0 < 0 || row0 + rows > dims[0]) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%s: shape [%lld, %lld] does not hold the requested rows",
                   path, dataset, (long long)dims[0], (long long)dims[1]);
    goto done;
  }
  if (gpa_h5s_read_runs(&f, dataset, GPA_H5_F64, &row0, &rows, 1, out) != GPA_OK) {
    rc = rows_unreadable(&f, path, dataset, row0, rows);
    goto done;
  }
  for (int64_t i = 0; i < rows * cols; i++)
    if (!isfinite(out[i])) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%s: row %lld holds NaN or Inf", path, dataset,
                     (long long)(row0 + i / cols));
      goto done;
    }
done:
  gpa_h5s_close(&f);
  return rc;
}

int gpa_data_read_rows(MPI_Comm comm, const char *path, const char *dataset, int64_t row0,
                       int64_t rows, int64_t cols, double *out) {
  int rc = rows > 0 ? read_rows_local(path, dataset, row0, rows, cols, out) : GPA_OK;
  return gpa_comm_agree(comm, rc);
}
