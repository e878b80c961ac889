/* Single-process HDF5 files (struct gpa_h5s in io.h): opened by one process with HDF5's
 * sequential driver, for the reads and checks one rank makes alone and for rank 0's additions
 * to a staged file.  Questions (exists, kind, link, peek) record no error and leave HDF5's
 * innermost message in f->detail; reads and writes record a GPA_ error naming f->path. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "gpa/io.h"
#include "io_internal.h"

/* ------------------------------------------------------------------------- errors, types */

/* GPA_OK when `status` (an HDF5 result) is not negative; else keeps HDF5's message in
 * f->detail and records "PATH: what (HDF5: detail)" with `code`. */
static int check(struct gpa_h5s *f, int code, int64_t status, const char *fmt, ...)
    GPA_PRINTF(4, 5);
static int check(struct gpa_h5s *f, int code, int64_t status, const char *fmt, ...) {
  if (status >= 0) return GPA_OK;
  gpa_io_innermost(f->detail);
  char what[GPA_PATH_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return GPA_ERROR(code, "%s: %s (HDF5: %s)", f->path, what, gpa_h5s_detail(f));
}

/* Closes an HDF5 object that may not be open (< 0); what was read is already checked. */
static void close_id(hid_t id) {
  if (id < 0) return;
  switch (H5Iget_type(id)) {
    case H5I_DATASET:
      H5Dclose(id);
      break;
    case H5I_DATASPACE:
      H5Sclose(id);
      break;
    case H5I_DATATYPE:
      H5Tclose(id);
      break;
    case H5I_ATTR:
      H5Aclose(id);
      break;
    case H5I_GROUP:
      H5Gclose(id);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id);
      break;
    default:
      H5Idec_ref(id);
      break;
  }
}

static hid_t memory_type(int type) {
  switch (type) {
    case GPA_H5_F32:
      return H5T_NATIVE_FLOAT;
    case GPA_H5_F64:
      return H5T_NATIVE_DOUBLE;
    case GPA_H5_I32:
      return H5T_NATIVE_INT32;
    default:
      return H5T_NATIVE_INT64;
  }
}

static hid_t file_type(int type) {
  switch (type) {
    case GPA_H5_F32:
      return H5T_IEEE_F32LE;
    case GPA_H5_F64:
      return H5T_IEEE_F64LE;
    case GPA_H5_I32:
      return H5T_STD_I32LE;
    default:
      return H5T_STD_I64LE;
  }
}

/* A variable-length UTF-8 string type, as anndata writes its strings. */
static hid_t utf8_vlen(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

void gpa_h5_free_strings(char ***s, int64_t n) {
  if (!*s) return;
  for (int64_t i = 0; i < n; i++) gpa_free(&(*s)[i]);
  gpa_free(s);
}

/* A new NUL-terminated copy of the first `len` bytes of `text`. */
static int copy_text(char **out, const char *text, size_t len) {
  GPA_CHECK(gpa_alloc(out, len + 1));
  memcpy(*out, text, len);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- files */

int gpa_h5s_is_hdf5(const char *path) {
  const htri_t r = H5Fis_hdf5(path);
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

/* File access list of `mode`: the default, or without file locking for inputs. */
static hid_t access_list(int mode) {
  if (mode != GPA_H5S_READ_INPUT) return H5P_DEFAULT;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0 && H5Pset_file_locking(fapl, 0, 1) < 0) {
    H5Pclose(fapl);
    return -1;
  }
  return fapl;
}

int gpa_h5s_open(struct gpa_h5s *f, const char *path, int mode) {
  memset(f, 0, sizeof *f);
  f->file = -1;
  f->writable = mode == GPA_H5S_WRITE;
  snprintf(f->path, sizeof f->path, "%s", path);
  const hid_t fapl = access_list(mode);
  if (fapl >= 0) f->file = H5Fopen(path, f->writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  if (fapl >= 0 && fapl != H5P_DEFAULT) H5Pclose(fapl);
  if (f->file < 0) {
    gpa_io_innermost(f->detail);
    return GPA_ERROR(GPA_ERR_INPUT, "'%s' cannot be read as HDF5 (truncated or damaged?)", path);
  }
  return GPA_OK;
}

int gpa_h5s_close(struct gpa_h5s *f) {
  if (f->file < 0) return GPA_OK;
  const herr_t st = H5Fclose(f->file);
  f->file = -1;
  if (!f->writable) { /* nothing was written: a failed close loses nothing */
    H5Eclear2(H5E_DEFAULT);
    return GPA_OK;
  }
  return check(f, GPA_ERR_IO, st, "cannot close the file");
}

const char *gpa_h5s_detail(const struct gpa_h5s *f) {
  return f->detail[0] ? f->detail : "no detail";
}

/* ------------------------------------------------------------------------- questions */

int gpa_h5s_exists(struct gpa_h5s *f, const char *name) {
  f->detail[0] = '\0';
  return gpa_io_path_exists(f->file, name);
}

int gpa_h5s_resolves(struct gpa_h5s *f, const char *name) {
  f->detail[0] = '\0';
  const htri_t r = H5Oexists_by_name(f->file, name, H5P_DEFAULT);
  gpa_io_innermost(f->detail);
  return r > 0;
}

int gpa_h5s_kind(struct gpa_h5s *f, const char *name) {
  f->detail[0] = '\0';
  H5O_info_t info;
  if (H5Oget_info_by_name(f->file, name, &info, H5P_DEFAULT) < 0) {
    gpa_io_innermost(f->detail);
    return GPA_H5_UNREADABLE;
  }
  return info.type == H5O_TYPE_GROUP     ? GPA_H5_GROUP
         : info.type == H5O_TYPE_DATASET ? GPA_H5_DATASET
                                         : GPA_H5_DATATYPE;
}

/* The value of soft or external link `name` (li from H5Lget_info) into l. */
static void link_target(struct gpa_h5s *f, const char *name, const H5L_info_t *li,
                        struct gpa_h5_link *l) {
  const size_t size = li->u.val_size + 1;
  char *val = NULL;
  if (gpa_alloc(&val, size) != GPA_OK) {
    gpa_error_clear(); /* only means: the value is not known */
    return;
  }
  if (H5Lget_val(f->file, name, val, size, H5P_DEFAULT) >= 0) {
    l->has_target = 1;
    const char *file = "?", *object = val;
    unsigned flags = 0;
    if (l->kind == GPA_H5_LINK_EXTERNAL &&
        H5Lunpack_elink_val(val, size - 1, &flags, &file, &object) < 0)
      file = object = "?";
    snprintf(l->file, sizeof l->file, "%s", l->kind == GPA_H5_LINK_EXTERNAL ? file : "");
    snprintf(l->target, sizeof l->target, "%s", object);
  }
  gpa_free(&val);
  H5Eclear2(H5E_DEFAULT);
}

int gpa_h5s_link(struct gpa_h5s *f, const char *name, struct gpa_h5_link *l) {
  memset(l, 0, sizeof *l);
  f->detail[0] = '\0';
  H5L_info_t li;
  if (H5Lget_info(f->file, name, &li, H5P_DEFAULT) < 0) {
    gpa_io_innermost(f->detail);
    return l->kind = GPA_H5_LINK_UNREADABLE;
  }
  l->kind = li.type == H5L_TYPE_HARD       ? GPA_H5_LINK_HARD
            : li.type == H5L_TYPE_SOFT     ? GPA_H5_LINK_SOFT
            : li.type == H5L_TYPE_EXTERNAL ? GPA_H5_LINK_EXTERNAL
                                           : GPA_H5_LINK_OTHER;
  if (l->kind == GPA_H5_LINK_SOFT || l->kind == GPA_H5_LINK_EXTERNAL) link_target(f, name, &li, l);
  return l->kind;
}

/* Opens attribute obj/name when it exists and holds exactly `n` elements, else < 0; its type
 * in *type (close both). */
static hid_t open_attr(struct gpa_h5s *f, const char *obj, const char *name, int64_t n,
                       hid_t *type) {
  f->detail[0] = '\0';
  *type = -1;
  hid_t a = H5Aexists_by_name(f->file, obj, name, H5P_DEFAULT) > 0
                ? H5Aopen_by_name(f->file, obj, name, H5P_DEFAULT, H5P_DEFAULT)
                : -1;
  hid_t space = a >= 0 ? H5Aget_space(a) : -1;
  const int fits = space >= 0 && H5Sget_simple_extent_npoints(space) == n;
  if (fits) *type = H5Aget_type(a);
  close_id(space);
  if (*type < 0) {
    close_id(a);
    a = -1;
  }
  gpa_io_innermost(f->detail);
  return a;
}

int gpa_h5s_has_attr(struct gpa_h5s *f, const char *obj, const char *name) {
  f->detail[0] = '\0';
  const htri_t e = H5Aexists_by_name(f->file, obj, name, H5P_DEFAULT);
  gpa_io_innermost(f->detail);
  return e > 0;
}

int gpa_h5s_attr_equals(struct gpa_h5s *f, const char *obj, const char *name, const char *value) {
  hid_t type;
  const hid_t a = open_attr(f, obj, name, 1, &type);
  int eq = 0;
  if (a >= 0 && H5Tget_class(type) == H5T_STRING) {
    if (H5Tis_variable_str(type) > 0) {
      char *s = NULL;
      hid_t mt = H5Tcopy(H5T_C_S1);
      if (mt >= 0 && H5Tset_size(mt, H5T_VARIABLE) >= 0 &&
          H5Tset_cset(mt, H5Tget_cset(type)) >= 0 /* anndata writes UTF-8 */ &&
          H5Aread(a, mt, &s) >= 0 && s) {
        eq = strcmp(s, value) == 0;
        H5free_memory(s);
      }
      close_id(mt);
    } else {
      char *s = NULL;
      if (gpa_alloc(&s, H5Tget_size(type) + 1) == GPA_OK && H5Aread(a, type, s) >= 0)
        eq = strcmp(s, value) == 0;
      gpa_free(&s);
      gpa_error_clear(); /* a failed allocation only means "not equal" */
    }
  }
  close_id(type);
  close_id(a);
  gpa_io_innermost(f->detail);
  return eq;
}

int gpa_h5s_peek_i64(struct gpa_h5s *f, const char *obj, const char *name, int64_t *v) {
  hid_t type;
  const hid_t a = open_attr(f, obj, name, 1, &type);
  const int ok = a >= 0 && H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
  close_id(type);
  close_id(a);
  gpa_io_innermost(f->detail);
  return ok;
}

int gpa_h5s_peek_ints(struct gpa_h5s *f, const char *obj, const char *name, int64_t *v, int64_t n) {
  hid_t type;
  const hid_t a = open_attr(f, obj, name, n, &type);
  const int ok =
      a >= 0 && H5Tget_class(type) == H5T_INTEGER && H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
  close_id(type);
  close_id(a);
  gpa_io_innermost(f->detail);
  return ok;
}

int gpa_h5s_peek_text(struct gpa_h5s *f, const char *obj, const char *name, char **out) {
  *out = NULL;
  hid_t type;
  const hid_t a = open_attr(f, obj, name, 1, &type);
  const size_t len = a >= 0 && H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) <= 0
                         ? H5Tget_size(type)
                         : 0;
  if (len > 0 && gpa_alloc(out, len + 1) == GPA_OK && H5Aread(a, type, *out) < 0) gpa_free(out);
  close_id(type);
  close_id(a);
  gpa_io_innermost(f->detail);
  gpa_error_clear(); /* a failed allocation here only means "not read" */
  return *out != NULL;
}

int gpa_h5s_peek_file_i64(const char *path, const char *obj, const char *name, int64_t *v) {
  struct gpa_h5s f;
  if (!gpa_h5s_is_hdf5(path)) return 0;
  if (gpa_h5s_open(&f, path, GPA_H5S_READ) != GPA_OK) {
    gpa_error_clear(); /* a probe: unreadable is an answer */
    return 0;
  }
  const int ok = gpa_h5s_peek_i64(&f, obj, name, v);
  gpa_h5s_close(&f);
  return ok;
}

/* ------------------------------------------------------------------------- datasets */

/* Opens dataset `name` with its type and file space (close all three). */
static int open_dataset(struct gpa_h5s *f, const char *name, hid_t *d, hid_t *type, hid_t *space) {
  f->detail[0] = '\0';
  *type = *space = -1;
  *d = H5Dopen2(f->file, name, H5P_DEFAULT);
  GPA_CHECK(check(f, GPA_ERR_INPUT, *d, "cannot open %s", name));
  *type = H5Dget_type(*d);
  *space = H5Dget_space(*d);
  int rc;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, *type, "cannot read the type of %s", name), fail);
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, *space, "cannot read the shape of %s", name), fail);
  return GPA_OK;
fail:
  close_id(*space);
  close_id(*type);
  close_id(*d);
  *d = *type = *space = -1;
  return rc;
}

/* The type and shape of an open dataset. */
static int describe_dataset(struct gpa_h5s *f, const char *name, hid_t type, hid_t space,
                            struct gpa_h5_info *info) {
  memset(info, 0, sizeof *info);
  const H5T_class_t cls = H5Tget_class(type);
  GPA_CHECK(check(f, GPA_ERR_INPUT, cls, "cannot read the type of %s", name));
  info->type_class = cls == H5T_INTEGER  ? GPA_H5_INTEGER
                     : cls == H5T_FLOAT  ? GPA_H5_FLOAT
                     : cls == H5T_STRING ? GPA_H5_STRING
                                         : GPA_H5_CLASS_OTHER;
  info->type_size = H5Tget_size(type);
  GPA_CHECK(
      check(f, GPA_ERR_INPUT, info->type_size > 0 ? 0 : -1, "cannot read the type of %s", name));
  const htri_t vlen = cls == H5T_STRING ? H5Tis_variable_str(type) : 0;
  GPA_CHECK(check(f, GPA_ERR_INPUT, vlen, "cannot read the type of %s", name));
  info->vlen_string = vlen > 0;
  hsize_t h[H5S_MAX_RANK];
  info->ndims = H5Sget_simple_extent_dims(space, h, NULL);
  GPA_CHECK(check(f, GPA_ERR_INPUT, info->ndims, "cannot read the shape of %s", name));
  for (int i = 0; i < info->ndims && i < GPA_H5_MAX_DIMS; i++) info->dims[i] = (int64_t)h[i];
  info->n = H5Sget_simple_extent_npoints(space);
  return check(f, GPA_ERR_INPUT, info->n, "cannot read the shape of %s", name);
}

int gpa_h5s_dataset_info(struct gpa_h5s *f, const char *name, struct gpa_h5_info *info) {
  hid_t d, type, space;
  GPA_CHECK(open_dataset(f, name, &d, &type, &space));
  const int rc = describe_dataset(f, name, type, space, info);
  close_id(space);
  close_id(type);
  close_id(d);
  return rc;
}

int gpa_h5s_missing_filter(struct gpa_h5s *f, const char *name, int *id, char fname[64]) {
  *id = -1;
  fname[0] = '\0';
  f->detail[0] = '\0';
  const hid_t d = H5Dopen2(f->file, name, H5P_DEFAULT);
  if (d < 0) {
    gpa_io_innermost(f->detail);
    return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open %s (damaged file? HDF5: %s)", f->path, name,
                     gpa_h5s_detail(f));
  }
  const hid_t dcpl = H5Dget_create_plist(d);
  const int nf = dcpl < 0 ? -1 : H5Pget_nfilters(dcpl);
  int rc = check(f, GPA_ERR_INPUT, nf, "cannot read the filters of %s", name);
  for (int i = 0; i < nf && *id < 0; i++) {
    unsigned flags = 0, config = 0, cd[16];
    size_t ncd = 16;
    char filter[64] = "";
    const H5Z_filter_t fid =
        H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof filter, filter, &config);
    if (fid < 0) continue; /* an unknown filter: the read will say what it lacks */
    if (H5Zfilter_avail(fid) <= 0) {
      *id = (int)fid;
      snprintf(fname, 64, "%s", filter);
    }
  }
  close_id(dcpl);
  close_id(d);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}

int gpa_h5s_list(struct gpa_h5s *f, const char *group, int64_t *n, char ***names) {
  *n = 0;
  *names = NULL;
  f->detail[0] = '\0';
  const hid_t g = H5Gopen2(f->file, group, H5P_DEFAULT);
  GPA_CHECK(check(f, GPA_ERR_INPUT, g, "cannot open %s", group));
  H5G_info_t gi = {0};
  int rc;
  char **s = NULL;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, H5Gget_info(g, &gi), "cannot read %s", group), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&s, gi.nlinks > 0 ? gi.nlinks : 1, sizeof(char *)), done);
  for (hsize_t c = 0; c < gi.nlinks; c++) {
    const ssize_t len =
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, c, NULL, 0, H5P_DEFAULT);
    GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, len, "cannot read the links of %s", group), done);
    GPA_CHECK_GOTO(rc, gpa_alloc(&s[c], (size_t)len + 1), done);
    GPA_CHECK_GOTO(rc,
                   check(f, GPA_ERR_INPUT,
                         H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, c, s[c],
                                            (size_t)len + 1, H5P_DEFAULT),
                         "cannot read the links of %s", group),
                   done);
  }
  *n = (int64_t)gi.nlinks;
  *names = s;
  s = NULL;
done:
  gpa_h5_free_strings(&s, (int64_t)gi.nlinks);
  close_id(g);
  return rc;
}

int gpa_h5s_read(struct gpa_h5s *f, const char *name, int type, int64_t n, void *out) {
  hid_t d, ftype, space;
  GPA_CHECK(open_dataset(f, name, &d, &ftype, &space));
  const int64_t count = H5Sget_simple_extent_npoints(space);
  int rc;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, count, "cannot read the shape of %s", name), done);
  if (count != n) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s holds %lld values, expected %lld", f->path, name,
                   (long long)count, (long long)n);
    goto done;
  }
  if (n > 0)
    GPA_CHECK_GOTO(
        rc,
        check(f, GPA_ERR_INPUT, H5Dread(d, memory_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
              "cannot read %s", name),
        done);
done:
  close_id(space);
  close_id(ftype);
  close_id(d);
  return rc;
}

/* Selects the runs of rows of a 1-D or 2-D file space (`cols` elements a row); *total is the
 * number of rows selected. */
static int select_runs(struct gpa_h5s *f, const char *name, hid_t space, int ndims,
                       const int64_t *dims, const int64_t *start, const int64_t *count,
                       int64_t nruns, int64_t *total) {
  *total = 0;
  GPA_CHECK(check(f, GPA_ERR_INPUT, H5Sselect_none(space), "cannot select in %s", name));
  for (int64_t i = 0; i < nruns; i++) {
    if (count[i] == 0) continue;
    if (start[i] < 0 || count[i] < 0 || start[i] + count[i] > dims[0])
      return GPA_ERROR(GPA_ERR_INTERNAL, "%s: rows %lld-%lld of %s asked, which has %lld", f->path,
                       (long long)start[i], (long long)(start[i] + count[i] - 1), name,
                       (long long)dims[0]);
    hsize_t first[2] = {(hsize_t)start[i], 0}, cnt[2] = {(hsize_t)count[i], 0};
    if (ndims == 2) cnt[1] = (hsize_t)dims[1];
    GPA_CHECK(check(f, GPA_ERR_INPUT,
                    H5Sselect_hyperslab(space, H5S_SELECT_OR, first, NULL, cnt, NULL),
                    "cannot select in %s", name));
    *total += count[i];
  }
  return GPA_OK;
}

int gpa_h5s_read_runs(struct gpa_h5s *f, const char *name, int type, const int64_t *start,
                      const int64_t *count, int64_t nruns, void *out) {
  hid_t d, ftype, space, mspace = -1;
  GPA_CHECK(open_dataset(f, name, &d, &ftype, &space));
  int rc;
  hsize_t h[H5S_MAX_RANK];
  const int nd = H5Sget_simple_extent_dims(space, h, NULL);
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, nd, "cannot read the shape of %s", name), done);
  if (nd != 1 && nd != 2) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %d dimensions (rows are read of 1 or 2)", f->path,
                   name, nd);
    goto done;
  }
  const int64_t dims[2] = {(int64_t)h[0], nd == 2 ? (int64_t)h[1] : 1};
  int64_t total;
  GPA_CHECK_GOTO(rc, select_runs(f, name, space, nd, dims, start, count, nruns, &total), done);
  if (total == 0) goto done;
  const hsize_t mdims[2] = {(hsize_t)total, (hsize_t)dims[1]};
  mspace = H5Screate_simple(nd, mdims, NULL);
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, mspace, "cannot read %s", name), done);
  GPA_CHECK_GOTO(
      rc,
      check(f, GPA_ERR_INPUT, H5Dread(d, memory_type(type), mspace, space, H5P_DEFAULT, out),
            "cannot read %s", name),
      done);
done:
  close_id(mspace);
  close_id(space);
  close_id(ftype);
  close_id(d);
  return rc;
}

/* n variable-length strings of dataset d (file type `type`) as new copies in s. */
static int read_vlen_strings(struct gpa_h5s *f, const char *name, hid_t d, hid_t type, hid_t space,
                             int64_t n, char **s) {
  char **buf = NULL;
  hid_t mt = H5Tcopy(H5T_C_S1);
  int rc, read = 0;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, mt, "cannot read %s", name), done);
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, H5Tset_size(mt, H5T_VARIABLE), "cannot read %s", name),
                 done);
  /* The memory type has the file's character set (anndata writes UTF-8). */
  GPA_CHECK_GOTO(
      rc, check(f, GPA_ERR_INPUT, H5Tset_cset(mt, H5Tget_cset(type)), "cannot read %s", name),
      done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&buf, (size_t)(n > 0 ? n : 1), sizeof(char *)), done);
  if (n > 0)
    GPA_CHECK_GOTO(rc,
                   check(f, GPA_ERR_INPUT, H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf),
                         "cannot read %s", name),
                   done);
  read = n > 0;
  for (int64_t i = 0; i < n; i++) {
    const char *v = buf[i] ? buf[i] : "";
    GPA_CHECK_GOTO(rc, copy_text(&s[i], v, strlen(v)), done);
  }
done:
  if (read) H5Dvlen_reclaim(mt, space, H5P_DEFAULT, buf);
  gpa_free(&buf);
  close_id(mt);
  return rc;
}

/* n fixed-length strings of dataset d (file type `type`) as new copies in s, trailing blanks
 * cut. */
static int read_fixed_strings(struct gpa_h5s *f, const char *name, hid_t d, hid_t type, int64_t n,
                              char **s) {
  const size_t w = H5Tget_size(type);
  char *buf = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, w > 0 ? 0 : -1, "cannot read %s", name), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&buf, (size_t)(n > 0 ? n : 1), w), done);
  if (n > 0)
    GPA_CHECK_GOTO(rc,
                   check(f, GPA_ERR_INPUT, H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf),
                         "cannot read %s", name),
                   done);
  for (int64_t i = 0; i < n; i++) {
    GPA_CHECK_GOTO(rc, copy_text(&s[i], buf + (size_t)i * w, w), done);
    for (size_t j = strlen(s[i]); j > 0 && s[i][j - 1] == ' '; j--) s[i][j - 1] = '\0';
  }
done:
  gpa_free(&buf);
  return rc;
}

int gpa_h5s_read_strings(struct gpa_h5s *f, const char *name, int64_t *n, char ***out) {
  *out = NULL;
  *n = 0;
  hid_t d, type, space;
  GPA_CHECK(open_dataset(f, name, &d, &type, &space));
  struct gpa_h5_info info;
  char **s = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, describe_dataset(f, name, type, space, &info), done);
  if (info.type_class != GPA_H5_STRING) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s does not hold strings", f->path, name);
    goto done;
  }
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&s, (size_t)(info.n > 0 ? info.n : 1), sizeof(char *)), done);
  if (info.vlen_string)
    GPA_CHECK_GOTO(rc, read_vlen_strings(f, name, d, type, space, info.n, s), done);
  else GPA_CHECK_GOTO(rc, read_fixed_strings(f, name, d, type, info.n, s), done);
  *n = info.n;
  *out = s;
  s = NULL;
done:
  gpa_h5_free_strings(&s, info.n);
  close_id(space);
  close_id(type);
  close_id(d);
  return rc;
}

/* Blocks of rows [r0, r0 + k) of an open dataset of 8-byte numbers into the CRC. */
static int checksum_blocks(struct gpa_h5s *f, const char *name, hid_t d, hid_t space, int is_float,
                           int nd, const hsize_t *dims, uLong *crc, int64_t *first_nonfinite) {
  const int64_t rows = (int64_t)dims[0], cols = nd == 2 ? (int64_t)dims[1] : 1;
  int64_t block = cols > 0 ? (1 << 20) / cols : 1;
  if (block < 1) block = 1;
  double *buf = NULL; /* int64 values are only hashed: their bytes go through a double buffer */
  hid_t mspace = -1;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&buf, (size_t)(block * cols + 1), sizeof(double)), done);
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t k = rows - r0 < block ? rows - r0 : block;
    const hsize_t start[2] = {(hsize_t)r0, 0}, count[2] = {(hsize_t)k, (hsize_t)cols};
    mspace = H5Screate_simple(nd, count, NULL);
    GPA_CHECK_GOTO(rc, check(f, GPA_ERR_INPUT, mspace, "cannot read %s", name), done);
    GPA_CHECK_GOTO(rc,
                   check(f, GPA_ERR_INPUT,
                         H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL),
                         "cannot read %s", name),
                   done);
    GPA_CHECK_GOTO(rc,
                   check(f, GPA_ERR_INPUT,
                         H5Dread(d, is_float ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, mspace, space,
                                 H5P_DEFAULT, buf),
                         "cannot read %s", name),
                   done);
    close_id(mspace);
    mspace = -1;
    *crc = crc32_z(*crc, (const Bytef *)buf, (size_t)(8 * k * cols));
    for (int64_t i = 0; is_float && *first_nonfinite < 0 && i < k * cols; i++)
      if (!isfinite(buf[i])) *first_nonfinite = r0 * cols + i;
  }
done:
  close_id(mspace);
  gpa_free(&buf);
  return rc;
}

int gpa_h5s_checksum(struct gpa_h5s *f, const char *name, uint32_t *crc, int64_t *n,
                     int64_t *first_nonfinite) {
  *n = 0;
  *first_nonfinite = -1;
  hid_t d, type, space;
  GPA_CHECK(open_dataset(f, name, &d, &type, &space));
  struct gpa_h5_info info;
  int rc;
  GPA_CHECK_GOTO(rc, describe_dataset(f, name, type, space, &info), done);
  if ((info.type_class != GPA_H5_FLOAT && info.type_class != GPA_H5_INTEGER) ||
      info.type_size != 8 || info.ndims < 1 || info.ndims > 2) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s is not 8-byte numbers in 1 or 2 dimensions", f->path,
                   name);
    goto done;
  }
  const hsize_t dims[2] = {(hsize_t)info.dims[0], info.ndims == 2 ? (hsize_t)info.dims[1] : 1};
  uLong c = crc32_z(0L, Z_NULL, 0);
  GPA_CHECK_GOTO(rc,
                 checksum_blocks(f, name, d, space, info.type_class == GPA_H5_FLOAT, info.ndims,
                                 dims, &c, first_nonfinite),
                 done);
  *crc = (uint32_t)c;
  *n = (int64_t)(dims[0] * dims[1]);
done:
  close_id(space);
  close_id(type);
  close_id(d);
  return rc;
}

/* ------------------------------------------------------------------------- writes */

int gpa_h5s_create_group(struct gpa_h5s *f, const char *name) {
  f->detail[0] = '\0';
  const hid_t g = H5Gcreate2(f->file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  GPA_CHECK(check(f, GPA_ERR_IO, g, "cannot create %s", name));
  return check(f, GPA_ERR_IO, H5Gclose(g), "cannot create %s", name);
}

/* Creates dataset `name` of type `type` over `space` (which it closes) and writes `v` in
 * memory type `mtype` unless `v` is NULL. */
static int create_write(struct gpa_h5s *f, const char *name, hid_t type, hid_t mtype, hid_t space,
                        const void *v) {
  int rc;
  hid_t d = -1;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_IO, space, "cannot write %s", name), done);
  d = H5Dcreate2(f->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_IO, d, "cannot create %s", name), done);
  if (v)
    GPA_CHECK_GOTO(rc,
                   check(f, GPA_ERR_IO, H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v),
                         "cannot write %s", name),
                   done);
  rc = check(f, GPA_ERR_IO, H5Dclose(d), "cannot write %s", name);
  d = -1;
done:
  close_id(d);
  close_id(space);
  return rc;
}

int gpa_h5s_write(struct gpa_h5s *f, const char *name, int type, int rank, const int64_t *dims,
                  const void *v) {
  f->detail[0] = '\0';
  if (rank < 1 || rank > 2)
    return GPA_ERROR(GPA_ERR_INTERNAL, "%s: %d dimensions (1 or 2 are written)", name, rank);
  const hsize_t h[2] = {(hsize_t)dims[0], rank == 2 ? (hsize_t)dims[1] : 0};
  return create_write(f, name, file_type(type), memory_type(type), H5Screate_simple(rank, h, NULL),
                      v);
}

int gpa_h5s_write_strings(struct gpa_h5s *f, const char *name, const char *const *s, int64_t n) {
  f->detail[0] = '\0';
  const hid_t t = utf8_vlen();
  GPA_CHECK(check(f, GPA_ERR_IO, t, "cannot write %s", name));
  const hsize_t h[1] = {(hsize_t)n};
  const int rc = create_write(f, name, t, t, H5Screate_simple(1, h, NULL), n > 0 ? s : NULL);
  close_id(t);
  return rc;
}

int gpa_h5s_write_text(struct gpa_h5s *f, const char *name, const char *text) {
  f->detail[0] = '\0';
  const hid_t t = utf8_vlen();
  GPA_CHECK(check(f, GPA_ERR_IO, t, "cannot write %s", name));
  const char *one[1] = {text};
  const int rc = create_write(f, name, t, t, H5Screate(H5S_SCALAR), one);
  close_id(t);
  return rc;
}

/* Creates attribute obj/name of `type` over `space` (which it closes) and writes `v` unless
 * it is NULL. */
static int create_attr(struct gpa_h5s *f, const char *obj, const char *name, hid_t type,
                       hid_t space, const void *v) {
  int rc;
  hid_t a = -1;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_IO, space, "cannot write attribute %s of %s", name, obj),
                 done);
  a = H5Acreate_by_name(f->file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_IO, a, "cannot write attribute %s of %s", name, obj), done);
  if (v)
    GPA_CHECK_GOTO(
        rc,
        check(f, GPA_ERR_IO, H5Awrite(a, type, v), "cannot write attribute %s of %s", name, obj),
        done);
  rc = check(f, GPA_ERR_IO, H5Aclose(a), "cannot write attribute %s of %s", name, obj);
  a = -1;
done:
  close_id(a);
  close_id(space);
  return rc;
}

int gpa_h5s_attr_text(struct gpa_h5s *f, const char *obj, const char *name, const char *value) {
  f->detail[0] = '\0';
  const htri_t e = H5Aexists_by_name(f->file, obj, name, H5P_DEFAULT);
  GPA_CHECK(check(f, GPA_ERR_IO, e, "cannot open %s", obj));
  if (e > 0) /* attributes are rewritten whole */
    GPA_CHECK(check(f, GPA_ERR_IO, H5Adelete_by_name(f->file, obj, name, H5P_DEFAULT),
                    "cannot write attribute %s of %s", name, obj));
  const hid_t t = utf8_vlen();
  GPA_CHECK(check(f, GPA_ERR_IO, t, "cannot write attribute %s of %s", name, obj));
  const int rc = create_attr(f, obj, name, t, H5Screate(H5S_SCALAR), &value);
  close_id(t);
  return rc;
}

int gpa_h5s_attr_texts(struct gpa_h5s *f, const char *obj, const char *name,
                       const char *const *values, int64_t n) {
  f->detail[0] = '\0';
  const hid_t t = utf8_vlen();
  GPA_CHECK(check(f, GPA_ERR_IO, t, "cannot write attribute %s of %s", name, obj));
  const hsize_t h[1] = {(hsize_t)n}; /* n = 0: an empty list */
  const int rc = create_attr(f, obj, name, t, H5Screate_simple(1, h, NULL), n > 0 ? values : NULL);
  close_id(t);
  return rc;
}

int gpa_h5s_attr_bool(struct gpa_h5s *f, const char *obj, const char *name, int value) {
  f->detail[0] = '\0';
  /* A boolean as h5py (and so anndata) stores it: an enum of FALSE and TRUE. */
  const int8_t no = 0, yes = 1, v = value ? yes : no;
  const hid_t bt = H5Tenum_create(H5T_NATIVE_INT8);
  int rc;
  GPA_CHECK_GOTO(rc, check(f, GPA_ERR_IO, bt, "cannot write attribute %s of %s", name, obj), done);
  GPA_CHECK_GOTO(rc,
                 check(f, GPA_ERR_IO, H5Tenum_insert(bt, "FALSE", &no),
                       "cannot write attribute %s of %s", name, obj),
                 done);
  GPA_CHECK_GOTO(rc,
                 check(f, GPA_ERR_IO, H5Tenum_insert(bt, "TRUE", &yes),
                       "cannot write attribute %s of %s", name, obj),
                 done);
  rc = create_attr(f, obj, name, bt, H5Screate(H5S_SCALAR), &v);
done:
  close_id(bt);
  return rc;
}
