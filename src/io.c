/* Parallel HDF5: input datasets and the run file. */
#include "gpa/io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "gpa/linalg.h"
#include "gpa_config.h"
#include "version.h"

enum { RUNFILE_FORMAT_VERSION = 1 };

/* ------------------------------------------------------------------------- errors */

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
  if (n == 0) snprintf((char *)data, 256, "%s", e->desc ? e->desc : "");
  return 0;
}

/* Records "what: detail" with the innermost message of HDF5's error stack. */
static int h5_fail(const char *file, int line, const char *what) {
  char detail[256] = "";
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, detail);
  H5Eclear2(H5E_DEFAULT);
  if (detail[0])
    return gpa_error_at(file, line, GPA_ERR_IO, "%s (HDF5: %s)", what, detail);
  return gpa_error_at(file, line, GPA_ERR_IO, "%s", what);
}

#define H5_TRY(expr, ...)                                                                 \
  do {                                                                                    \
    if ((expr) < 0) {                                                                     \
      char what_[1600];                                                                    \
      snprintf(what_, sizeof what_, __VA_ARGS__);                                         \
      return h5_fail(__FILE__, __LINE__, what_);                                          \
    }                                                                                     \
  } while (0)

void gpa_io_setup(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

const char *gpa_io_hdf5_version(void) {
  static char text[32];
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  snprintf(text, sizeof text, "%u.%u.%u", maj, min, rel);
  return text;
}

/* ------------------------------------------------------------------------- reading */

/* Collective: rank 0 checks that `path` can be opened, so that a missing file is one clear
 * message rather than an MPI-IO failure on every rank. */
static int check_readable(MPI_Comm comm, const char *path, const char *what) {
  int rank, err = 0;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE *f = fopen(path, "rb");
    if (!f)
      err = errno;
    else
      fclose(f);
  }
  GPA_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (err) return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open '%s': %s", what, path, strerror(err));
  return GPA_OK;
}

static hid_t open_read(MPI_Comm comm, const char *path) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return -1;
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  return f;
}

/* Opens path:dataset and checks it is a 2-D numeric dataset; returns its dims. */
static int open_matrix(MPI_Comm comm, const char *path, const char *dataset, const char *what,
                       hid_t *file, hid_t *dset, int64_t dims[2]) {
  GPA_CHECK(check_readable(comm, path, what));
  if (H5Fis_hdf5(path) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' is not an HDF5 file", what, path);
  }
  *file = open_read(comm, path);
  if (*file < 0) return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open '%s' as HDF5", what, path);
  *dset = H5Dopen2(*file, dataset, H5P_DEFAULT);
  if (*dset < 0) {
    H5Eclear2(H5E_DEFAULT);
    H5Fclose(*file);
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' has no dataset '%s'", what, path, dataset);
  }
  hid_t space = H5Dget_space(*dset), type = H5Dget_type(*dset);
  int nd = H5Sget_simple_extent_ndims(space);
  H5T_class_t cls = H5Tget_class(type);
  hsize_t d[2] = {0, 0};
  if (nd == 2) H5Sget_simple_extent_dims(space, d, NULL);
  H5Sclose(space);
  H5Tclose(type);
  int rc = GPA_OK;
  if (nd != 2)
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has %d dimensions, expected 2 [samples, d]", what,
                   path, dataset, nd);
  else if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s is not numeric", what, path, dataset);
  if (rc) {
    H5Dclose(*dset);
    H5Fclose(*file);
    return rc;
  }
  dims[0] = (int64_t)d[0];
  dims[1] = (int64_t)d[1];
  return GPA_OK;
}

int gpa_h5_dataset_shape(MPI_Comm comm, const char *path, const char *dataset, const char *what,
                         int64_t dims[2]) {
  hid_t file, dset;
  GPA_CHECK(open_matrix(comm, path, dataset, what, &file, &dset, dims));
  H5Dclose(dset);
  H5Fclose(file);
  return GPA_OK;
}

int gpa_h5_read_rows(MPI_Comm comm, const char *path, const char *dataset, int64_t row0,
                     int64_t rows, int64_t cols, double *out) {
  hid_t file, dset;
  int64_t dims[2];
  GPA_CHECK(open_matrix(comm, path, dataset, path, &file, &dset, dims));
  int rc = GPA_OK;
  if (dims[1] != cols || row0 + rows > dims[0])
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%s: shape [%lld, %lld] does not hold the requested rows",
                   path, dataset, (long long)dims[0], (long long)dims[1]);
  hid_t fspace = H5Dget_space(dset);
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)rows, (hsize_t)cols};
  hsize_t mdims[2] = {(hsize_t)(rows > 0 ? rows : 1), (hsize_t)cols};
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  if (rows > 0 && rc == GPA_OK) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  if (rc == GPA_OK && H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, out) < 0)
    rc = h5_fail(__FILE__, __LINE__, "cannot read the dataset");
  H5Pclose(dxpl);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(dset);
  H5Fclose(file);
  if (rc == GPA_OK) {
    for (int64_t i = 0; i < rows * cols; i++)
      if (!isfinite(out[i])) {
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%s: row %lld holds NaN or Inf", path, dataset,
                       (long long)(row0 + i / cols));
        break;
      }
  }
  return gpa_comm_agree(comm, rc);
}

/* ------------------------------------------------------------------------- run file */

int gpa_runfile_create(struct gpa_runfile *rf, MPI_Comm comm, const char *path) {
  memset(rf, 0, sizeof *rf);
  rf->comm = comm;
  rf->file = rf->dxpl = rf->traj_pos = rf->traj_step = -1;
  GPA_MPI(MPI_Comm_rank(comm, &rf->rank));
  snprintf(rf->path, sizeof rf->path, "%s", path);
  snprintf(rf->tmp, sizeof rf->tmp, "%s.tmp", path);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5_TRY(fapl, "cannot create a file access list");
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  H5Pset_alignment(fapl, 64 * 1024, 1024 * 1024);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  rf->file = H5Fcreate(rf->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  int rc = rf->file < 0 ? h5_fail(__FILE__, __LINE__, "cannot create the run file") : GPA_OK;
  if (rc) {
    char msg[1200];
    snprintf(msg, sizeof msg, "%s: %s", rf->tmp, gpa_error_message());
    gpa_error_set_message(rc, msg);
    return rc;
  }
  rf->dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(rf->dxpl, H5FD_MPIO_COLLECTIVE);
  int64_t version = RUNFILE_FORMAT_VERSION;
  GPA_CHECK(gpa_runfile_attr_string(rf, "/", "format", "gpa-run"));
  GPA_CHECK(gpa_runfile_attr_i64(rf, "/", "format_version", &version, 1));
  return GPA_OK;
}

int gpa_runfile_flush(struct gpa_runfile *rf) {
  H5_TRY(H5Fflush(rf->file, H5F_SCOPE_GLOBAL), "%s: cannot flush", rf->tmp);
  return GPA_OK;
}

static void fsync_path(const char *path, int directory) {
  int fd = open(path, directory ? O_RDONLY : O_RDWR);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int gpa_runfile_close(struct gpa_runfile *rf, int commit) {
  int rc = GPA_OK;
  if (rf->traj_pos >= 0) H5Dclose(rf->traj_pos);
  if (rf->traj_step >= 0) H5Dclose(rf->traj_step);
  if (rf->dxpl >= 0) H5Pclose(rf->dxpl);
  rf->traj_pos = rf->traj_step = rf->dxpl = -1;
  if (rf->file >= 0 && H5Fclose(rf->file) < 0 && commit)
    rc = h5_fail(__FILE__, __LINE__, "cannot close the run file");
  rf->file = -1;
  if (rf->rank == 0) {
    if (commit && rc == GPA_OK) {
      fsync_path(rf->tmp, 0);
      if (rename(rf->tmp, rf->path) != 0)
        rc = GPA_ERROR(GPA_ERR_IO, "%s: cannot rename to %s: %s", rf->tmp, rf->path,
                       strerror(errno));
      char dir[GPA_PATH_MAX];
      snprintf(dir, sizeof dir, "%s", rf->path);
      char *slash = strrchr(dir, '/');
      if (slash)
        *slash = '\0';
      else
        strcpy(dir, ".");
      fsync_path(dir, 1);
    } else {
      unlink(rf->tmp);
    }
  }
  return gpa_comm_agree(rf->comm, rc);
}

/* Link creation list that creates missing intermediate groups. */
static hid_t lcpl_intermediate(void) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

static int describe(hid_t obj, const char *description, const char *units) {
  const char *names[2] = {"description", "units"};
  const char *values[2] = {description, units};
  for (int i = 0; i < 2; i++) {
    if (!values[i]) continue;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(values[i]) > 0 ? strlen(values[i]) : 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, names[i], type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = attr < 0 ? -1 : H5Awrite(attr, type, values[i]);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5_TRY(st, "cannot write attribute %s", names[i]);
  }
  return GPA_OK;
}

int gpa_runfile_write_rows(struct gpa_runfile *rf, const char *name, const double *x,
                           struct gpa_part part, int64_t dim, const char *description) {
  hsize_t dims[2] = {(hsize_t)part.n_global, (hsize_t)dim};
  hid_t fspace = H5Screate_simple(2, dims, NULL);
  hid_t lcpl = lcpl_intermediate();
  hid_t dset = H5Dcreate2(rf->file, name, H5T_IEEE_F64LE, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  if (dset < 0) {
    H5Sclose(fspace);
    return h5_fail(__FILE__, __LINE__, "cannot create a dataset in the run file");
  }
  hsize_t mdims[2] = {(hsize_t)(part.n_local > 0 ? part.n_local : 1), (hsize_t)dim};
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  if (part.n_local > 0) {
    hsize_t start[2] = {(hsize_t)part.offset, 0}, count[2] = {(hsize_t)part.n_local, (hsize_t)dim};
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t st = H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, rf->dxpl, x);
  int rc = st < 0 ? h5_fail(__FILE__, __LINE__, "cannot write to the run file") : GPA_OK;
  if (rc == GPA_OK) rc = describe(dset, description, NULL);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(dset);
  return rc;
}

static int write_replicated(struct gpa_runfile *rf, const char *name, hid_t ftype, hid_t mtype,
                            const void *v, int64_t n, const char *description,
                            const char *units) {
  hsize_t dims[1] = {(hsize_t)n};
  hid_t fspace = H5Screate_simple(1, dims, NULL);
  hid_t lcpl = lcpl_intermediate();
  hid_t dset = H5Dcreate2(rf->file, name, ftype, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  if (dset < 0) {
    H5Sclose(fspace);
    return h5_fail(__FILE__, __LINE__, "cannot create a dataset in the run file");
  }
  hsize_t mdims[1] = {(hsize_t)(n > 0 ? n : 1)};
  hid_t mspace = H5Screate_simple(1, mdims, NULL);
  if (rf->rank != 0 || n == 0) {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t st = n > 0 ? H5Dwrite(dset, mtype, mspace, fspace, rf->dxpl, v) : 0;
  int rc = st < 0 ? h5_fail(__FILE__, __LINE__, "cannot write to the run file") : GPA_OK;
  if (rc == GPA_OK) rc = describe(dset, description, units);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(dset);
  return rc;
}

int gpa_runfile_write_f64(struct gpa_runfile *rf, const char *name, const double *v, int64_t n,
                          const char *description, const char *units) {
  return write_replicated(rf, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n, description, units);
}

int gpa_runfile_write_i64(struct gpa_runfile *rf, const char *name, const int64_t *v, int64_t n,
                          const char *description, const char *units) {
  return write_replicated(rf, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v, n, description, units);
}

/* Opens object `obj`, creating it as a group when missing. */
static hid_t open_object(hid_t file, const char *obj) {
  if (strcmp(obj, "/") == 0) return H5Oopen(file, "/", H5P_DEFAULT);
  htri_t exists = H5Lexists(file, obj, H5P_DEFAULT);
  if (exists > 0) return H5Oopen(file, obj, H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  hid_t lcpl = lcpl_intermediate();
  hid_t g = H5Gcreate2(file, obj, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  return g;
}

static int write_attr(struct gpa_runfile *rf, const char *obj, const char *name, hid_t ftype,
                      hid_t mtype, const void *v, int64_t n) {
  hid_t o = open_object(rf->file, obj);
  H5_TRY(o, "cannot open %s in the run file", obj);
  if (H5Aexists(o, name) > 0) H5Adelete(o, name); /* attributes are rewritten whole */
  hsize_t dims[1] = {(hsize_t)n};
  hid_t space = n == 0   ? H5Screate(H5S_NULL)
                : n == 1 ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(1, dims, NULL);
  hid_t attr = H5Acreate2(o, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t st = attr < 0 ? -1 : (n > 0 ? H5Awrite(attr, mtype, v) : 0);
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  H5Oclose(o);
  H5_TRY(st, "cannot write attribute %s of %s", name, obj);
  return GPA_OK;
}

int gpa_runfile_attr_string(struct gpa_runfile *rf, const char *obj, const char *name,
                            const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, strlen(value) > 0 ? strlen(value) : 1);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  int rc = write_attr(rf, obj, name, type, type, value, 1);
  H5Tclose(type);
  return rc;
}

int gpa_runfile_attr_f64(struct gpa_runfile *rf, const char *obj, const char *name,
                         const double *v, int64_t n) {
  return write_attr(rf, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n);
}

int gpa_runfile_attr_i64(struct gpa_runfile *rf, const char *obj, const char *name,
                         const int64_t *v, int64_t n) {
  return write_attr(rf, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v, n);
}

int gpa_runfile_write_parameters(struct gpa_runfile *rf, const struct gpa_params *p) {
  for (int i = 0; i < gpa_params_count(); i++) {
    char group[64];
    snprintf(group, sizeof group, "/parameters/%s", gpa_params_section(i));
    const char *key = gpa_params_key(i);
    const void *v = gpa_params_value(p, i);
    switch (gpa_params_type(i)) {
    case GPA_PT_INT: GPA_CHECK(gpa_runfile_attr_i64(rf, group, key, v, 1)); break;
    case GPA_PT_REAL: GPA_CHECK(gpa_runfile_attr_f64(rf, group, key, v, 1)); break;
    case GPA_PT_BOOL: {
      int64_t b = *(const bool *)v;
      GPA_CHECK(gpa_runfile_attr_i64(rf, group, key, &b, 1));
      break;
    }
    case GPA_PT_ENUM:
      GPA_CHECK(gpa_runfile_attr_string(rf, group, key, gpa_params_enum_name(i, *(const int *)v)));
      break;
    case GPA_PT_STRING: GPA_CHECK(gpa_runfile_attr_string(rf, group, key, v)); break;
    case GPA_PT_INTLIST: {
      const struct gpa_int_list *l = v;
      GPA_CHECK(gpa_runfile_attr_i64(rf, group, key, l->v, l->n));
      break;
    }
    }
  }
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) return GPA_ERROR(GPA_ERR_NOMEM, "cannot format the deck");
  gpa_params_dump(mem, p);
  fclose(mem);
  int rc = gpa_runfile_attr_string(rf, "/parameters", "deck", text);
  free(text);
  return rc;
}

int gpa_runfile_write_code(struct gpa_runfile *rf) {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0, size;
  MPI_Get_library_version(mpi, &len);
  mpi[strcspn(mpi, "\n,")] = '\0';
  GPA_MPI(MPI_Comm_size(rf->comm, &size));
  int64_t ranks = size;
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "version", GPA_VERSION));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "git_revision", GPA_GIT_REVISION));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "compiler", GPA_COMPILER));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "build_type", GPA_BUILD_TYPE));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "mpi", mpi));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "hdf5", gpa_io_hdf5_version()));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "blis", gpa_linalg_blis_version()));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "blis_kernels", gpa_linalg_arch()));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "libyaml", yaml_get_version_string()));
  GPA_CHECK(gpa_runfile_attr_string(rf, "/code", "precision", "double"));
  GPA_CHECK(gpa_runfile_attr_i64(rf, "/code", "mpi_ranks", &ranks, 1));
  return GPA_OK;
}

int gpa_runfile_trajectory_begin(struct gpa_runfile *rf, int64_t n_global, int64_t dim) {
  rf->traj_n = n_global;
  rf->traj_dim = dim;
  rf->frames = 0;
  hsize_t dims[3] = {0, (hsize_t)n_global, (hsize_t)dim};
  hsize_t maxd[3] = {H5S_UNLIMITED, (hsize_t)n_global, (hsize_t)dim};
  hsize_t rows = (hsize_t)n_global;
  const hsize_t max_chunk_rows = (hsize_t)((1u << 30) / (8 * (uint64_t)dim)); /* < 1 GiB */
  if (rows > max_chunk_rows) rows = max_chunk_rows;
  if (rows == 0) rows = 1;
  hsize_t chunk[3] = {1, rows, (hsize_t)dim};
  hid_t space = H5Screate_simple(3, dims, maxd);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 3, chunk);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  hid_t lcpl = lcpl_intermediate();
  rf->traj_pos = H5Dcreate2(rf->file, "/trajectory/positions", H5T_IEEE_F64LE, space, lcpl, dcpl,
                            H5P_DEFAULT);
  H5Sclose(space);
  H5Pclose(dcpl);
  H5_TRY(rf->traj_pos, "cannot create /trajectory/positions");
  GPA_CHECK(describe(rf->traj_pos, "particle positions [frame][particle][coordinate]", NULL));
  hsize_t sdims[1] = {0}, smax[1] = {H5S_UNLIMITED}, schunk[1] = {256};
  space = H5Screate_simple(1, sdims, smax);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, schunk);
  rf->traj_step = H5Dcreate2(rf->file, "/trajectory/step", H5T_STD_I64LE, space, lcpl, dcpl,
                             H5P_DEFAULT);
  H5Sclose(space);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  H5_TRY(rf->traj_step, "cannot create /trajectory/step");
  GPA_CHECK(describe(rf->traj_step, "particle step of each frame", NULL));
  return GPA_OK;
}

int gpa_runfile_trajectory_append(struct gpa_runfile *rf, int64_t step, const double *x,
                                  struct gpa_part part) {
  const int64_t t = rf->frames, dim = rf->traj_dim;
  hsize_t dims[3] = {(hsize_t)t + 1, (hsize_t)rf->traj_n, (hsize_t)dim};
  H5_TRY(H5Dset_extent(rf->traj_pos, dims), "cannot extend /trajectory/positions");
  hid_t fspace = H5Dget_space(rf->traj_pos);
  hsize_t mdims[2] = {(hsize_t)(part.n_local > 0 ? part.n_local : 1), (hsize_t)dim};
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  if (part.n_local > 0) {
    hsize_t start[3] = {(hsize_t)t, (hsize_t)part.offset, 0};
    hsize_t count[3] = {1, (hsize_t)part.n_local, (hsize_t)dim};
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t st = H5Dwrite(rf->traj_pos, H5T_NATIVE_DOUBLE, mspace, fspace, rf->dxpl, x);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5_TRY(st, "cannot write a trajectory frame");

  hsize_t sdims[1] = {(hsize_t)t + 1};
  H5_TRY(H5Dset_extent(rf->traj_step, sdims), "cannot extend /trajectory/step");
  fspace = H5Dget_space(rf->traj_step);
  hsize_t one[1] = {1}, at[1] = {(hsize_t)t};
  mspace = H5Screate_simple(1, one, NULL);
  if (rf->rank == 0) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, at, NULL, one, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  st = H5Dwrite(rf->traj_step, H5T_NATIVE_INT64, mspace, fspace, rf->dxpl, &step);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5_TRY(st, "cannot write /trajectory/step");
  rf->frames++;
  return GPA_OK;
}
