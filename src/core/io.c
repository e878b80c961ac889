/* Parallel HDF5 files (io.h): create/open, the staged write, rows split across ranks,
 * replicated data, extendible series and attributes; the free-space check and the commit of
 * a staged file.  The single-process files are in io_serial.c. */
#include "gpa/io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "io_internal.h"

/* ------------------------------------------------------------------------- errors */

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
  if (n == 0) snprintf((char *)data, 256, "%s", e->desc ? e->desc : "");
  return 0;
}

void gpa_io_innermost(char buf[256]) {
  buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, buf);
  H5Eclear2(H5E_DEFAULT);
}

int gpa_io_path_exists(hid_t file, const char *name) {
  char buf[GPA_PATH_MAX];
  const size_t len = strlen(name);
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, name, len + 1);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      const char c = *p;
      *p = '\0';
      const htri_t e = H5Lexists(file, buf, H5P_DEFAULT);
      if (e <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
      }
      if (c == '\0') return 1;
      *p = c;
    }
  }
}

/* Records "what (HDF5: innermost message of HDF5's error stack)". */
static int h5_fail(const char *file, int line, const char *what) {
  char detail[256];
  gpa_io_innermost(detail);
  if (detail[0]) return gpa_error_at(file, line, GPA_ERR_IO, "%s (HDF5: %s)", what, detail);
  return gpa_error_at(file, line, GPA_ERR_IO, "%s", what);
}

/* A failed write inside collective HDF5 work (a full disk, a file-size limit) may leave the
 * other ranks waiting inside HDF5 for this one, where no agreement can reach them, and it
 * leaves HDF5 itself unable to release the file (HDF5 1.10 then crashes when it shuts down).
 * So the rank that failed prints the one-line error and stops every rank with status
 * GPA_ERR_IO.  Nothing is lost: run files and checkpoints are written under temporary names,
 * the last checkpoint stays in place and the run file holds at least everything up to it.
 * gpa_drive checks the free space before each checkpoint, so that a disk that fills up
 * usually ends in an ordinary error before any write. */
static int h5_write_fail(const struct gpa_h5 *f, const char *file, int line, const char *what) {
  int rc = h5_fail(file, line, what), size = 1;
  if (MPI_Comm_size(f->comm, &size) != MPI_SUCCESS) size = 1;
  char where[32] = "";
  if (size > 1) snprintf(where, sizeof where, " (rank %d)", f->rank);
  fprintf(stderr,
          "error: %s%s; stopped: the last checkpoint and the run file up to it are "
          "kept\n",
          gpa_error_message(), where);
  fflush(stderr);
  MPI_Abort(f->comm, GPA_ERR_IO);
  return rc;
}

#define H5_WTRY(f, expr, ...)                               \
  do {                                                      \
    if ((expr) < 0) {                                       \
      char what_[1600];                                     \
      snprintf(what_, sizeof what_, __VA_ARGS__);           \
      return h5_write_fail((f), __FILE__, __LINE__, what_); \
    }                                                       \
  } while (0)

#define H5_TRY(expr, ...)                         \
  do {                                            \
    if ((expr) < 0) {                             \
      char what_[1600];                           \
      snprintf(what_, sizeof what_, __VA_ARGS__); \
      return h5_fail(__FILE__, __LINE__, what_);  \
    }                                             \
  } while (0)

void gpa_io_setup(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

const char *gpa_io_hdf5_version(void) {
  static char text[32];
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  snprintf(text, sizeof text, "%u.%u.%u", maj, min, rel);
  return text;
}

/* Rank 0: fsync a file or a directory (after a rename). */
static void fsync_path(const char *path, int directory) {
  int fd = open(path, directory ? O_RDONLY : O_RDWR);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* The directory part of `path` ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t size) {
  snprintf(dir, size, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, size, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
}

int gpa_io_space_check(MPI_Comm comm, const char *path, double bytes, const char *what) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  double have[2] = {INFINITY, INFINITY}; /* free bytes, file-size limit */
  /* Fault injection for the tests: no check, so that a full disk fails a write inside HDF5. */
  if (rank == 0 && !getenv("GPA_FAULT_NO_SPACE_CHECK")) {
    char dir[GPA_PATH_MAX + 32];
    dir_of(path, dir, sizeof dir);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) == 0) have[0] = (double)vfs.f_bavail * (double)vfs.f_frsize;
    struct rlimit lim;
    if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
      have[1] = (double)lim.rlim_cur;
  }
  GPA_MPI(MPI_Bcast(have, 2, MPI_DOUBLE, 0, comm));
  if (have[0] < bytes)
    return GPA_ERROR(GPA_ERR_IO, "%s: %.1f MB free, but %s needs about %.1f MB", path,
                     have[0] / 1e6, what, bytes / 1e6);
  if (have[1] < bytes)
    return GPA_ERROR(GPA_ERR_IO,
                     "%s: the file-size limit (ulimit -f) is %.1f MB, but %s "
                     "needs about %.1f MB",
                     path, have[1] / 1e6, what, bytes / 1e6);
  return GPA_OK;
}

int gpa_io_commit(const char *tmp, const char *path) {
  fsync_path(tmp, 0);
  if (rename(tmp, path) != 0)
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
  char dir[GPA_PATH_MAX + 32];
  dir_of(path, dir, sizeof dir);
  fsync_path(dir, 1);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- files */

static hid_t mpio_fapl(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return fapl;
  if (H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0 ||
      H5Pset_alignment(fapl, 64 * 1024, 1024 * 1024) < 0 ||
      H5Pset_all_coll_metadata_ops(fapl, 1) < 0 || H5Pset_coll_metadata_write(fapl, 1) < 0) {
    H5Pclose(fapl);
    return -1;
  }
  return fapl;
}

static int h5_init(struct gpa_h5 *f, MPI_Comm comm, const char *path) {
  memset(f, 0, sizeof *f);
  f->comm = comm;
  f->file = f->dxpl = -1;
  snprintf(f->path, sizeof f->path, "%s", path);
  GPA_MPI(MPI_Comm_rank(comm, &f->rank));
  return GPA_OK;
}

static int h5_finish_open(struct gpa_h5 *f) {
  f->dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5_TRY(f->dxpl, "%s: cannot create a transfer list", f->path);
  H5_TRY(H5Pset_dxpl_mpio(f->dxpl, H5FD_MPIO_COLLECTIVE), "%s: cannot set collective transfers",
         f->path);
  return GPA_OK;
}

int gpa_h5_create(struct gpa_h5 *f, MPI_Comm comm, const char *path) {
  GPA_CHECK(h5_init(f, comm, path));
  /* Rank 0 tries first, so that a missing directory or a read-only place is one clear
   * message. */
  int err = 0;
  if (f->rank == 0) {
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) err = errno;
    else close(fd);
  }
  GPA_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (err) return GPA_ERROR(GPA_ERR_IO, "%s: cannot create: %s", path, strerror(err));
  hid_t fapl = mpio_fapl(comm);
  H5_TRY(fapl, "cannot create a file access list");
  f->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  H5_TRY(f->file, "%s: cannot create the file", path);
  return h5_finish_open(f);
}

int gpa_h5_open(struct gpa_h5 *f, MPI_Comm comm, const char *path, int writable, const char *what) {
  GPA_CHECK(h5_init(f, comm, path));
  /* Rank 0 looks first, so that a missing or foreign file is one clear message. */
  int err = 0, is_h5 = 1;
  if (f->rank == 0) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
      err = errno;
    } else {
      fclose(fp);
      is_h5 = H5Fis_hdf5(path) > 0;
      H5Eclear2(H5E_DEFAULT);
    }
  }
  /* ... and opens it alone (no MPI-IO): a damaged superblock or root group then fails on
   * rank 0 only, before any collective open that would leave the other ranks waiting. */
  int readable = 1;
  if (f->rank == 0 && !err && is_h5) {
    hid_t probe = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    readable = probe >= 0 && H5Oexists_by_name(probe, "/", H5P_DEFAULT) > 0;
    if (probe >= 0) H5Fclose(probe);
    H5Eclear2(H5E_DEFAULT);
  }
  int hdr[3] = {err, is_h5, readable};
  GPA_MPI(MPI_Bcast(hdr, 3, MPI_INT, 0, comm));
  if (hdr[0])
    return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open '%s': %s", what, path, strerror(hdr[0]));
  if (!hdr[1]) return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' is not an HDF5 file", what, path);
  if (!hdr[2])
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' cannot be read as HDF5 (truncated or damaged?)", what,
                     path);
  hid_t fapl = mpio_fapl(comm);
  H5_TRY(fapl, "cannot create a file access list");
  f->file = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  int ok = f->file >= 0, all_ok = 0;
  H5Eclear2(H5E_DEFAULT);
  GPA_MPI(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm));
  if (!all_ok) {
    if (f->file >= 0) H5Fclose(f->file);
    f->file = -1;
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' cannot be read as HDF5 (truncated or damaged?)", what,
                     path);
  }
  return h5_finish_open(f);
}

int gpa_h5_close(struct gpa_h5 *f) {
  int rc = GPA_OK;
  if (f->dxpl >= 0) H5Pclose(f->dxpl);
  if (f->file >= 0 && H5Fclose(f->file) < 0) {
    char what[GPA_PATH_MAX + 64];
    snprintf(what, sizeof what, "%s: cannot close the file", f->path);
    rc = h5_write_fail(f, __FILE__, __LINE__, what);
  }
  f->file = f->dxpl = -1;
  return rc;
}

int gpa_h5_create_staged(struct gpa_h5 *f, MPI_Comm comm, const char *path) {
  char tmp[sizeof f->path];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    GPA_CHECK(h5_init(f, comm, "")); /* gpa_h5_close_staged: nothing to close or remove */
    return GPA_ERROR(GPA_ERR_INPUT, "%s: the path is too long", path);
  }
  GPA_CHECK(gpa_h5_create(f, comm, tmp));
  snprintf(f->final, sizeof f->final, "%s", path);
  return GPA_OK;
}

int gpa_h5_close_staged(struct gpa_h5 *f, int rc) {
  const int crc = f->file >= 0 ? gpa_h5_close(f) : GPA_OK;
  rc = gpa_comm_agree(f->comm, rc != GPA_OK ? rc : crc); /* the first failure */
  if (rc != GPA_OK && f->rank == 0 && f->path[0]) unlink(f->path);
  return rc;
}

int gpa_h5_commit(struct gpa_h5 *f, int rc) {
  GPA_CHECK(gpa_h5_close_staged(f, rc));
  if (f->rank == 0) {
    rc = gpa_io_commit(f->path, f->final);
    if (rc != GPA_OK) unlink(f->path);
  }
  return gpa_comm_agree(f->comm, rc);
}

int gpa_h5_flush(struct gpa_h5 *f) {
  H5_WTRY(f, H5Fflush(f->file, H5F_SCOPE_GLOBAL), "%s: cannot flush", f->path);
  return GPA_OK;
}

int gpa_h5_exists(struct gpa_h5 *f, const char *name) { return gpa_io_path_exists(f->file, name); }

int gpa_h5_delete(struct gpa_h5 *f, const char *name) {
  if (!gpa_h5_exists(f, name)) return GPA_OK;
  if (H5Ldelete(f->file, name, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot remove %s", f->path, name);
  }
  return GPA_OK;
}

int gpa_h5_shape(struct gpa_h5 *f, const char *name, int *ndims, int64_t dims[3]) {
  if (!gpa_h5_exists(f, name)) return GPA_ERROR(GPA_ERR_INPUT, "%s: no dataset %s", f->path, name);
  hid_t d = H5Dopen2(f->file, name, H5P_DEFAULT);
  H5_TRY(d, "%s: cannot open %s", f->path, name);
  hid_t s = H5Dget_space(d);
  hsize_t h[3] = {0, 0, 0};
  *ndims = H5Sget_simple_extent_ndims(s);
  if (*ndims >= 0 && *ndims <= 3) H5Sget_simple_extent_dims(s, h, NULL);
  for (int i = 0; i < 3; i++) dims[i] = (int64_t)h[i];
  H5Sclose(s);
  H5Dclose(d);
  if (*ndims < 0 || *ndims > 3)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has an unexpected shape", f->path, name);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- datasets */

/* Link creation list that creates missing intermediate groups. */
static hid_t lcpl_intermediate(void) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

static herr_t write_string_attr(hid_t obj, const char *name, const char *value) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name); /* attributes are rewritten whole */
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, strlen(value) > 0 ? strlen(value) : 1);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t st = attr < 0 ? -1 : H5Awrite(attr, type, value);
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  return st;
}

static int describe(hid_t obj, const char *description, const char *units) {
  if (description) H5_TRY(write_string_attr(obj, "description", description), "cannot describe");
  if (units) H5_TRY(write_string_attr(obj, "units", units), "cannot describe");
  return GPA_OK;
}

/* Selects this rank's block of rows [part.offset, +n_local) of a [.., n_global, dim] space
 * whose leading index is `lead` (-1: none), or nothing when it holds no rows. */
static void select_rows(hid_t fspace, hid_t mspace, int64_t lead, struct gpa_block part,
                        int64_t dim) {
  if (part.n_local == 0) {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
    return;
  }
  if (lead < 0) {
    hsize_t start[2] = {(hsize_t)part.offset, 0}, count[2] = {(hsize_t)part.n_local, (hsize_t)dim};
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  } else {
    hsize_t start[3] = {(hsize_t)lead, (hsize_t)part.offset, 0};
    hsize_t count[3] = {1, (hsize_t)part.n_local, (hsize_t)dim};
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  }
}

/* Creates dataset `name` over `fspace` and writes `buf` with the selections already made on
 * fspace and mspace (which it closes), then describes it. */
static int create_write(struct gpa_h5 *f, const char *name, hid_t ftype, hid_t mtype, hid_t fspace,
                        hid_t mspace, const void *buf, const char *description, const char *units) {
  hid_t lcpl = lcpl_intermediate();
  hid_t dset = H5Dcreate2(f->file, name, ftype, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  herr_t st = dset < 0 ? -1
              : H5Sget_simple_extent_npoints(fspace) == 0
                  ? 0 /* nothing to write */
                  : H5Dwrite(dset, mtype, mspace, fspace, f->dxpl, buf);
  H5Sclose(mspace);
  H5Sclose(fspace);
  int rc;
  if (st < 0) {
    char what[GPA_PATH_MAX + 64];
    snprintf(what, sizeof what, "%s: cannot write %s", f->path, name);
    rc = h5_write_fail(f, __FILE__, __LINE__, what);
    goto done;
  }
  GPA_CHECK_GOTO(rc, describe(dset, description, units), done);
done:
  if (dset >= 0) H5Dclose(dset);
  return rc;
}

static int write_rows(struct gpa_h5 *f, const char *name, hid_t ftype, hid_t mtype, const void *x,
                      struct gpa_block part, int64_t dim, const char *description) {
  hsize_t dims[2] = {(hsize_t)part.n_global, (hsize_t)dim};
  hsize_t mdims[2] = {(hsize_t)(part.n_local > 0 ? part.n_local : 1), (hsize_t)dim};
  hid_t fspace = H5Screate_simple(2, dims, NULL), mspace = H5Screate_simple(2, mdims, NULL);
  select_rows(fspace, mspace, -1, part, dim);
  return create_write(f, name, ftype, mtype, fspace, mspace, x, description, NULL);
}

int gpa_h5_write_rows(struct gpa_h5 *f, const char *name, const double *x, struct gpa_block part,
                      int64_t dim, const char *description) {
  return write_rows(f, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, part, dim, description);
}

int gpa_h5_write_rows_f32(struct gpa_h5 *f, const char *name, const float *x, struct gpa_block part,
                          int64_t dim, const char *description) {
  return write_rows(f, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, x, part, dim, description);
}

int gpa_h5_write_i32_rows(struct gpa_h5 *f, const char *name, const int32_t *v,
                          struct gpa_block part, const char *description) {
  hsize_t dims[1] = {(hsize_t)part.n_global},
          mdims[1] = {(hsize_t)(part.n_local > 0 ? part.n_local : 1)};
  hid_t fspace = H5Screate_simple(1, dims, NULL), mspace = H5Screate_simple(1, mdims, NULL);
  if (part.n_local > 0) {
    hsize_t start[1] = {(hsize_t)part.offset}, count[1] = {(hsize_t)part.n_local};
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  return create_write(f, name, H5T_STD_I32LE, H5T_NATIVE_INT32, fspace, mspace, v, description,
                      NULL);
}

int gpa_h5_read_rows(struct gpa_h5 *f, const char *name, struct gpa_block part, int64_t dim,
                     double *x) {
  int nd;
  int64_t dims[3];
  GPA_CHECK(gpa_h5_shape(f, name, &nd, dims));
  if (nd != 2 || dims[0] != part.n_global || dims[1] != dim)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has shape [%lld, %lld], expected [%lld, %lld]", f->path,
                     name, (long long)dims[0], (long long)dims[1], (long long)part.n_global,
                     (long long)dim);
  hid_t dset = H5Dopen2(f->file, name, H5P_DEFAULT);
  H5_TRY(dset, "%s: cannot open %s", f->path, name);
  hid_t fspace = H5Dget_space(dset);
  hsize_t mdims[2] = {(hsize_t)(part.n_local > 0 ? part.n_local : 1), (hsize_t)dim};
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  select_rows(fspace, mspace, -1, part, dim);
  herr_t st = H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, f->dxpl, x);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(dset);
  H5_TRY(st, "%s: cannot read %s", f->path, name);
  return GPA_OK;
}

/* Replicated data of shape dims[0..rank) (rank 1 to 3): rank 0 writes, the others select
 * nothing. */
static int write_replicated_nd(struct gpa_h5 *f, const char *name, hid_t ftype, hid_t mtype,
                               const void *v, int rank, const int64_t *dims,
                               const char *description, const char *units) {
  if (rank < 1 || rank > 3)
    return GPA_ERROR(GPA_ERR_INTERNAL, "%s: %d dimensions (1 to 3 are written)", name, rank);
  hsize_t fdims[3], n = 1;
  for (int i = 0; i < rank; i++) {
    fdims[i] = (hsize_t)dims[i];
    n *= fdims[i];
  }
  hsize_t mdims[1] = {n > 0 ? n : 1};
  hid_t fspace = H5Screate_simple(rank, fdims, NULL), mspace = H5Screate_simple(1, mdims, NULL);
  if (f->rank != 0 || n == 0) {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  return create_write(f, name, ftype, mtype, fspace, mspace, v, description, units);
}

static int write_replicated(struct gpa_h5 *f, const char *name, hid_t ftype, hid_t mtype,
                            const void *v, int64_t n, const char *description, const char *units) {
  return write_replicated_nd(f, name, ftype, mtype, v, 1, &n, description, units);
}

int gpa_h5_write_f64_nd(struct gpa_h5 *f, const char *name, const double *v, int rank,
                        const int64_t *dims, const char *description, const char *units) {
  return write_replicated_nd(f, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, rank, dims, description,
                             units);
}

int gpa_h5_write_f64(struct gpa_h5 *f, const char *name, const double *v, int64_t n,
                     const char *description, const char *units) {
  return write_replicated(f, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n, description, units);
}

int gpa_h5_write_i64(struct gpa_h5 *f, const char *name, const int64_t *v, int64_t n,
                     const char *description, const char *units) {
  return write_replicated(f, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v, n, description, units);
}

int gpa_h5_write_i32(struct gpa_h5 *f, const char *name, const int32_t *v, int64_t n,
                     const char *description) {
  return write_replicated(f, name, H5T_STD_I32LE, H5T_NATIVE_INT32, v, n, description, NULL);
}

int gpa_h5_write_strings(struct gpa_h5 *f, const char *name, char *const *s, int64_t n,
                         const char *description) {
  size_t width = 1;
  for (int64_t i = 0; i < n; i++)
    if (strlen(s[i]) > width) width = strlen(s[i]);
  char *buf;
  GPA_CHECK(gpa_alloc_array(&buf, (size_t)(n > 0 ? n : 1), width));
  for (int64_t i = 0; i < n; i++) memcpy(buf + (size_t)i * width, s[i], strlen(s[i]));
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  int rc = write_replicated(f, name, type, type, buf, n, description, NULL);
  H5Tclose(type);
  gpa_free(&buf);
  return rc;
}

static int read_replicated(struct gpa_h5 *f, const char *name, hid_t mtype, void *v, int64_t n) {
  int nd;
  int64_t dims[3];
  GPA_CHECK(gpa_h5_shape(f, name, &nd, dims));
  int64_t count = nd == 0 ? 1 : dims[0] * (nd > 1 ? dims[1] : 1) * (nd > 2 ? dims[2] : 1);
  if (count != n)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s holds %lld values, expected %lld", f->path, name,
                     (long long)count, (long long)n);
  if (n == 0) return GPA_OK;
  hid_t dset = H5Dopen2(f->file, name, H5P_DEFAULT);
  H5_TRY(dset, "%s: cannot open %s", f->path, name);
  herr_t st = H5Dread(dset, mtype, H5S_ALL, H5S_ALL, f->dxpl, v);
  H5Dclose(dset);
  H5_TRY(st, "%s: cannot read %s", f->path, name);
  return GPA_OK;
}

int gpa_h5_read_f64(struct gpa_h5 *f, const char *name, double *v, int64_t n) {
  return read_replicated(f, name, H5T_NATIVE_DOUBLE, v, n);
}

int gpa_h5_read_i64(struct gpa_h5 *f, const char *name, int64_t *v, int64_t n) {
  return read_replicated(f, name, H5T_NATIVE_INT64, v, n);
}

/* ------------------------------------------------------------------------- series */

int gpa_h5_series_create(struct gpa_h5 *f, const char *name, hid_t type, int rank,
                         const int64_t *row_dims, const char *description) {
  hsize_t dims[4] = {0}, maxd[4] = {H5S_UNLIMITED}, chunk[4] = {1};
  uint64_t row_bytes = H5Tget_size(type);
  for (int i = 0; i < rank; i++) {
    dims[i + 1] = maxd[i + 1] = chunk[i + 1] = (hsize_t)row_dims[i];
    row_bytes *= (uint64_t)row_dims[i];
  }
  /* Small records (scalars of the monitor) go 512 to a chunk; large ones one per chunk,
   * split along the second dimension to stay under HDF5's 4 GiB chunk limit. */
  if (row_bytes < 4096) chunk[0] = 512;
  while (rank > 0 && row_bytes > (1u << 30) && chunk[1] > 1) {
    chunk[1] = (chunk[1] + 1) / 2;
    row_bytes /= 2;
  }
  for (int i = 1; i <= rank; i++)
    if (chunk[i] == 0) chunk[i] = 1;
  hid_t space = H5Screate_simple(rank + 1, dims, maxd);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, rank + 1, chunk);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  hid_t lcpl = lcpl_intermediate();
  hid_t dset = H5Dcreate2(f->file, name, type, space, lcpl, dcpl, H5P_DEFAULT);
  H5Pclose(lcpl);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5_WTRY(f, dset, "%s: cannot create %s", f->path, name);
  int rc = describe(dset, description, NULL);
  H5Dclose(dset);
  return rc;
}

int64_t gpa_h5_series_length(struct gpa_h5 *f, const char *name) {
  int nd;
  int64_t dims[3];
  if (gpa_h5_shape(f, name, &nd, dims) != GPA_OK) return -1;
  return dims[0];
}

/* Sets the number of records of `dset` to `count`; returns the file space. */
static hid_t series_resize(hid_t dset, int64_t count) {
  hid_t space = H5Dget_space(dset);
  hsize_t dims[4];
  int nd = H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  if (nd < 1) return -1;
  dims[0] = (hsize_t)count;
  if (H5Dset_extent(dset, dims) < 0) return -1;
  return H5Dget_space(dset);
}

int gpa_h5_series_truncate(struct gpa_h5 *f, const char *name, int64_t count) {
  hid_t dset = H5Dopen2(f->file, name, H5P_DEFAULT);
  H5_TRY(dset, "%s: cannot open %s", f->path, name);
  hid_t space = series_resize(dset, count);
  H5Dclose(dset);
  H5_WTRY(f, space, "%s: cannot resize %s", f->path, name);
  H5Sclose(space);
  return GPA_OK;
}

int gpa_h5_series_read(struct gpa_h5 *f, const char *name, int64_t start, int64_t count,
                       double *v) {
  hid_t dset = H5Dopen2(f->file, name, H5P_DEFAULT);
  H5_TRY(dset, "%s: cannot open %s", f->path, name);
  hid_t fspace = H5Dget_space(dset);
  hsize_t dims[4], first[4] = {0}, cnt[4];
  int nd = H5Sget_simple_extent_dims(fspace, dims, NULL);
  int rc = GPA_OK;
  if (nd < 1 || start + count > (int64_t)dims[0]) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s holds %lld records, not %lld", f->path, name,
                   nd < 1 ? 0LL : (long long)dims[0], (long long)(start + count));
  } else {
    for (int i = 0; i < nd; i++) cnt[i] = dims[i];
    first[0] = (hsize_t)start;
    cnt[0] = (hsize_t)count;
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, first, NULL, cnt, NULL);
    hid_t mspace = H5Screate_simple(nd, cnt, NULL);
    if (H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, f->dxpl, v) < 0) {
      char what[GPA_PATH_MAX + 64];
      snprintf(what, sizeof what, "%s: cannot read %s", f->path, name);
      rc = h5_fail(__FILE__, __LINE__, what);
    }
    H5Sclose(mspace);
  }
  H5Sclose(fspace);
  H5Dclose(dset);
  return rc;
}

int gpa_h5_series_append(struct gpa_h5 *f, const char *name, hid_t mtype, const void *v,
                         int64_t count) {
  if (count == 0) return GPA_OK;
  hid_t dset = H5Dopen2(f->file, name, H5P_DEFAULT);
  H5_TRY(dset, "%s: cannot open %s", f->path, name);
  hid_t space = H5Dget_space(dset);
  hsize_t dims[4], start[4] = {0}, cnt[4];
  int nd = H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  hsize_t old = dims[0];
  hid_t fspace = series_resize(dset, (int64_t)old + count);
  if (fspace < 0) H5Dclose(dset);
  H5_WTRY(f, fspace, "%s: cannot extend %s", f->path, name);
  for (int i = 0; i < nd; i++) cnt[i] = dims[i];
  start[0] = old;
  cnt[0] = (hsize_t)count;
  hid_t mspace = H5Screate_simple(nd, cnt, NULL);
  if (f->rank == 0) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, cnt, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t st = H5Dwrite(dset, mtype, mspace, fspace, f->dxpl, v);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(dset);
  H5_WTRY(f, st, "%s: cannot append to %s", f->path, name);
  return GPA_OK;
}

int gpa_h5_series_append_rows(struct gpa_h5 *f, const char *name, const double *x,
                              struct gpa_block part, int64_t dim) {
  hid_t dset = H5Dopen2(f->file, name, H5P_DEFAULT);
  H5_TRY(dset, "%s: cannot open %s", f->path, name);
  hid_t space = H5Dget_space(dset);
  hsize_t dims[3];
  H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  const int64_t t = (int64_t)dims[0];
  hid_t fspace = series_resize(dset, t + 1);
  if (fspace < 0) H5Dclose(dset);
  H5_WTRY(f, fspace, "%s: cannot extend %s", f->path, name);
  hsize_t mdims[2] = {(hsize_t)(part.n_local > 0 ? part.n_local : 1), (hsize_t)dim};
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  select_rows(fspace, mspace, t, part, dim);
  herr_t st = H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, f->dxpl, x);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(dset);
  H5_WTRY(f, st, "%s: cannot write a record of %s", f->path, name);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- attributes */

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

static int write_attr(struct gpa_h5 *f, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                      const void *v, int64_t n) {
  hid_t o = open_object(f->file, obj);
  H5_TRY(o, "%s: cannot open %s", f->path, obj);
  if (H5Aexists(o, name) > 0) H5Adelete(o, name);
  hsize_t dims[1] = {(hsize_t)n};
  hid_t space = n == 0   ? H5Screate(H5S_NULL)
                : n == 1 ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(1, dims, NULL);
  hid_t attr = H5Acreate2(o, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t st = attr < 0 ? -1 : (n > 0 ? H5Awrite(attr, mtype, v) : 0);
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  H5Oclose(o);
  H5_WTRY(f, st, "%s: cannot write attribute %s of %s", f->path, name, obj);
  return GPA_OK;
}

int gpa_h5_attr_string(struct gpa_h5 *f, const char *obj, const char *name, const char *value) {
  hid_t o = open_object(f->file, obj);
  H5_TRY(o, "%s: cannot open %s", f->path, obj);
  herr_t st = write_string_attr(o, name, value);
  H5Oclose(o);
  H5_WTRY(f, st, "%s: cannot write attribute %s of %s", f->path, name, obj);
  return GPA_OK;
}

int gpa_h5_attr_f64(struct gpa_h5 *f, const char *obj, const char *name, const double *v,
                    int64_t n) {
  return write_attr(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n);
}

int gpa_h5_attr_i64(struct gpa_h5 *f, const char *obj, const char *name, const int64_t *v,
                    int64_t n) {
  return write_attr(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v, n);
}

/* Opens attribute obj/name for reading, or fails naming it. */
static int open_attr(struct gpa_h5 *f, const char *obj, const char *name, hid_t *attr) {
  *attr = -1;
  if (strcmp(obj, "/") != 0 && !gpa_h5_exists(f, obj))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: no %s", f->path, obj);
  htri_t e = H5Aexists_by_name(f->file, obj, name, H5P_DEFAULT);
  if (e <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return GPA_ERROR(GPA_ERR_INPUT, "%s: no attribute %s on %s", f->path, name, obj);
  }
  *attr = H5Aopen_by_name(f->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  H5_TRY(*attr, "%s: cannot open attribute %s of %s", f->path, name, obj);
  return GPA_OK;
}

int gpa_h5_read_attr_i64(struct gpa_h5 *f, const char *obj, const char *name, int64_t *v) {
  hid_t a;
  GPA_CHECK(open_attr(f, obj, name, &a));
  herr_t st = H5Aread(a, H5T_NATIVE_INT64, v);
  H5Aclose(a);
  H5_TRY(st, "%s: cannot read attribute %s", f->path, name);
  return GPA_OK;
}

int gpa_h5_read_attr_text(struct gpa_h5 *f, const char *obj, const char *name, char **out) {
  hid_t a;
  *out = NULL;
  GPA_CHECK(open_attr(f, obj, name, &a));
  hid_t type = H5Aget_type(a);
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0) {
    H5Tclose(type);
    H5Aclose(a);
    return GPA_ERROR(GPA_ERR_INPUT, "%s: attribute %s is not a fixed-length string", f->path, name);
  }
  size_t len = H5Tget_size(type);
  int rc = gpa_alloc(out, len + 1);
  herr_t st = rc ? -1 : H5Aread(a, type, *out);
  H5Tclose(type);
  H5Aclose(a);
  if (rc) return rc;
  if (st < 0) gpa_free(out);
  H5_TRY(st, "%s: cannot read attribute %s", f->path, name);
  (*out)[len] = '\0';
  return GPA_OK;
}

int gpa_h5_read_attr_string(struct gpa_h5 *f, const char *obj, const char *name, char *out,
                            size_t size) {
  char *text;
  GPA_CHECK(gpa_h5_read_attr_text(f, obj, name, &text));
  snprintf(out, size, "%s", text);
  gpa_free(&text);
  return GPA_OK;
}
