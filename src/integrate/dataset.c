/* Reading gene-expression data sets: layout v1 and AnnData .h5ad. */
#include "gpa/dataset.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpa/comm.h"
#include "gpa/io.h"

/* ------------------------------------------------------------------------- rank 0: reading */

static void free_strings(char **s, int64_t n) {
  if (!s) return;
  for (int64_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

static int exists(hid_t file, const char *name) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      htri_t e = H5Lexists(file, buf, H5P_DEFAULT);
      if (e <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
      }
      if (c == '\0') return 1;
      *p = c;
    }
  }
}

/* Reads a 1-D string dataset (fixed-length or variable-length) into n new strings. */
static int read_strings(const char *path, hid_t file, const char *name, int64_t *count,
                        char ***out) {
  *out = NULL;
  *count = 0;
  GPA_CHECK(gpa_data_check_dataset(file, path, name));
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  if (d < 0) return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open %s", path, name);
  hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  int64_t n = H5Sget_simple_extent_npoints(space);
  int rc = GPA_OK;
  char detail[256];
  char **s = n >= 0 ? calloc((size_t)(n > 0 ? n : 1), sizeof(char *)) : NULL;
  if (!s) {
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
    return GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory reading %s (%lld strings)", path, name,
                     (long long)n);
  }
  if (H5Tget_class(type) != H5T_STRING) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s does not hold strings", path, name);
  } else if (H5Tis_variable_str(type) > 0) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(type)); /* anndata writes UTF-8 */
    char **buf = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    if (!buf) {
      rc = GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory reading %s", path, name);
    } else if (n > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s: cannot read %s (HDF5: %s)", path, name,
                     gpa_io_hdf5_detail(detail));
    } else {
      for (int64_t i = 0; i < n; i++) s[i] = strdup(buf[i] ? buf[i] : "");
      if (n > 0) H5Dvlen_reclaim(mt, space, H5P_DEFAULT, buf);
    }
    free(buf);
    H5Tclose(mt);
  } else {
    size_t w = H5Tget_size(type);
    char *buf = calloc((size_t)(n > 0 ? n : 1), w);
    hid_t mt = H5Tcopy(type);
    if (!buf) {
      rc = GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory reading %s", path, name);
    } else if (n > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s: cannot read %s (HDF5: %s)", path, name,
                     gpa_io_hdf5_detail(detail));
    } else {
      for (int64_t i = 0; i < n; i++) {
        s[i] = calloc(w + 1, 1);
        memcpy(s[i], buf + i * (int64_t)w, w);
        for (size_t j = strlen(s[i]); j > 0 && s[i][j - 1] == ' '; j--) s[i][j - 1] = '\0';
      }
    }
    H5Tclose(mt);
    free(buf);
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
  if (rc) {
    free_strings(s, n);
    return rc;
  }
  *count = n;
  *out = s;
  return GPA_OK;
}

/* Reads a 1-D integer dataset of exactly n values as int32. */
static int read_codes(const char *path, hid_t file, const char *name, int64_t n, int32_t *out) {
  GPA_CHECK(gpa_data_check_dataset(file, path, name));
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  if (d < 0) return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open %s", path, name);
  hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  int64_t count = H5Sget_simple_extent_npoints(space);
  int rc = GPA_OK;
  if (H5Tget_class(type) != H5T_INTEGER)
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s does not hold integer codes", path, name);
  else if (count != n)
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld entries for %lld samples", path, name,
                   (long long)count, (long long)n);
  else if (n > 0 && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
    char detail[256];
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: cannot read %s (HDF5: %s)", path, name, gpa_io_hdf5_detail(detail));
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
  return rc;
}

static int string_attr_equals(hid_t obj, const char *name, const char *value) {
  if (H5Aexists(obj, name) <= 0) return 0;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a);
  int eq = 0;
  if (H5Tget_class(t) == H5T_STRING) {
    if (H5Tis_variable_str(t) > 0) {
      char *s = NULL;
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(t)); /* anndata writes UTF-8 */
      if (H5Aread(a, mt, &s) >= 0 && s) {
        eq = strcmp(s, value) == 0;
        H5free_memory(s);
      }
      H5Tclose(mt);
    } else {
      size_t w = H5Tget_size(t);
      char *s = calloc(w + 1, 1);
      if (H5Aread(a, t, s) >= 0) eq = strcmp(s, value) == 0;
      free(s);
    }
  }
  H5Tclose(t);
  H5Aclose(a);
  return eq;
}

enum { MAX_UNNAMED_CODE = 1 << 20 }; /* codes of a column without names: at most this */

/* Names "0", "1", ... for codes without names: as many as the largest code + 1. */
static int numbered_names(const char *path, int64_t n, struct gpa_category *c) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++) {
    if (c->codes[i] < -1)
      return GPA_ERROR(GPA_ERR_INPUT, "%s: obs column '%s' has code %d (-1 is missing, else 0 "
                       "and up)", path, c->key, c->codes[i]);
    if (c->codes[i] >= MAX_UNNAMED_CODE)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "%s: obs column '%s' has code %d but no category names (at most %d "
                       "without names)",
                       path, c->key, c->codes[i], MAX_UNNAMED_CODE - 1);
    if ((int64_t)c->codes[i] + 1 > count) count = (int64_t)c->codes[i] + 1;
  }
  c->names = calloc((size_t)(count > 0 ? count : 1), sizeof(char *));
  if (!c->names) return GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory", path);
  c->n_names = (int)count;
  for (int i = 0; i < c->n_names; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d", i);
    c->names[i] = strdup(buf);
  }
  return GPA_OK;
}

/* The names of category c from the string dataset `names`; c->n_names is what was read. */
static int read_names(const char *path, hid_t file, const char *names, struct gpa_category *c) {
  int64_t count = 0;
  GPA_CHECK(read_strings(path, file, names, &count, &c->names));
  if (count > INT32_MAX) {
    free_strings(c->names, count);
    c->names = NULL;
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld names, too many", path, names,
                     (long long)count);
  }
  c->n_names = (int)count;
  return GPA_OK;
}

/* The categorical column `key` of the samples, in either format. */
static int read_category(const char *path, hid_t file, int format, const char *key, int64_t n,
                         struct gpa_category *c) {
  snprintf(c->key, sizeof c->key, "%s", key);
  c->codes = calloc((size_t)(n > 0 ? n : 1), sizeof(int32_t));
  if (!c->codes) return GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory", path);
  char name[300], names[320];
  snprintf(name, sizeof name, "/obs/%s", key);
  if (!exists(file, name))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: no obs column '%s' (%s)", path, key, name);
  GPA_CHECK(gpa_data_link_check(file, path, name));
  H5O_info_t info;
  if (H5Oget_info_by_name(file, name, &info, H5P_DEFAULT) < 0) {
    char detail[256];
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s cannot be opened (damaged file? HDF5: %s)", path,
                     name, gpa_io_hdf5_detail(detail));
  }
  if (format == GPA_DATA_H5AD && info.type == H5O_TYPE_GROUP) { /* anndata >= 0.8 */
    char codes[320];
    snprintf(codes, sizeof codes, "%s/codes", name);
    snprintf(names, sizeof names, "%s/categories", name);
    if (!exists(file, codes) || !exists(file, names))
      return GPA_ERROR(GPA_ERR_INPUT, "%s: obs column '%s' is not categorical", path, key);
    GPA_CHECK(read_codes(path, file, codes, n, c->codes));
    GPA_CHECK(read_names(path, file, names, c));
  } else if (format == GPA_DATA_H5AD) {
    GPA_CHECK(gpa_data_check_dataset(file, path, name));
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    snprintf(names, sizeof names, "/obs/__categories/%s", key);
    int legacy = H5Aexists(d, "categories") > 0 && exists(file, names); /* anndata 0.7 */
    H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    if (cls == H5T_STRING) { /* plain strings: their distinct values become the categories */
      char **vals;
      int64_t count = 0;
      GPA_CHECK(read_strings(path, file, name, &count, &vals));
      if (count != n) {
        free_strings(vals, count);
        return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld entries for %lld samples", path, name,
                         (long long)count, (long long)n);
      }
      c->names = calloc((size_t)(count > 0 ? count : 1), sizeof(char *));
      c->n_names = 0;
      for (int64_t i = 0; i < count && c->names; i++) {
        int k = gpa_category_find(c, vals[i]);
        if (k < 0) {
          c->names[c->n_names] = strdup(vals[i]);
          k = c->n_names++;
        }
        c->codes[i] = k;
      }
      free_strings(vals, count);
      if (!c->names) return GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory", path);
      return GPA_OK;
    }
    GPA_CHECK(read_codes(path, file, name, n, c->codes));
    if (legacy)
      GPA_CHECK(read_names(path, file, names, c));
    else
      return numbered_names(path, n, c);
  } else { /* layout v1 */
    GPA_CHECK(read_codes(path, file, name, n, c->codes));
    snprintf(names, sizeof names, "/obs/%s_names", key);
    if (exists(file, names))
      GPA_CHECK(read_names(path, file, names, c));
    else
      return numbered_names(path, n, c);
  }
  for (int64_t i = 0; i < n; i++)
    if (c->codes[i] < -1 || c->codes[i] >= c->n_names)
      return GPA_ERROR(GPA_ERR_INPUT, "%s: obs column '%s' has code %d for %d categories", path,
                       key, c->codes[i], c->n_names);
  return GPA_OK;
}

/* Extent of the 1-D dataset `name` and the class of its type; GPA_ERR_INPUT unless 1-D and
 * of class `want` (H5T_INTEGER; H5T_FLOAT also takes integers). */
static int vector_extent(hid_t file, const char *path, const char *name, H5T_class_t want,
                         int64_t *n) {
  GPA_CHECK(gpa_data_check_dataset(file, path, name));
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT), sp = H5Dget_space(d), t = H5Dget_type(d);
  int nd = H5Sget_simple_extent_ndims(sp);
  *n = H5Sget_simple_extent_npoints(sp);
  H5T_class_t cls = H5Tget_class(t);
  H5Tclose(t);
  H5Sclose(sp);
  H5Dclose(d);
  H5Eclear2(H5E_DEFAULT);
  if (nd != 1 || *n < 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s must be 1-D (it has %d dimensions)", path, name, nd);
  if (cls != H5T_INTEGER && !(want == H5T_FLOAT && cls == H5T_FLOAT))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s must hold %s", path, name,
                     want == H5T_FLOAT ? "numbers" : "integers");
  return GPA_OK;
}

/* CSR X (/X a group): the shape, and the row pointers checked against /X/data and
 * /X/indices, so that the ranks' reads of their rows cannot fail on an inconsistent matrix. */
static int read_csr_layout(hid_t file, struct gpa_dataset *ds) {
  const char *path = ds->path;
  hid_t g = H5Oopen(file, "/X", H5P_DEFAULT);
  int csr = string_attr_equals(g, "encoding-type", "csr_matrix") ||
            string_attr_equals(g, "h5sparse_format", "csr");
  int64_t shape[2] = {-1, -1};
  if (H5Aexists(g, "shape") > 0) {
    hid_t a = H5Aopen(g, "shape", H5P_DEFAULT), sp = H5Aget_space(a), t = H5Aget_type(a);
    if (H5Sget_simple_extent_npoints(sp) == 2 && H5Tget_class(t) == H5T_INTEGER &&
        H5Aread(a, H5T_NATIVE_INT64, shape) < 0)
      shape[0] = shape[1] = -1;
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
  }
  H5Oclose(g);
  H5Eclear2(H5E_DEFAULT);
  if (!csr || !exists(file, "/X/data") || !exists(file, "/X/indices") ||
      !exists(file, "/X/indptr"))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X is a group but not a CSR matrix (csc_matrix and "
                                    "others are not read; store X dense or CSR)", path);
  if (shape[0] < 0 || shape[1] < 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X has no valid 'shape' attribute (2 integers >= 0)",
                     path);
  int64_t nnz, nidx, nptr;
  GPA_CHECK(vector_extent(file, path, "/X/data", H5T_FLOAT, &nnz));
  GPA_CHECK(vector_extent(file, path, "/X/indices", H5T_INTEGER, &nidx));
  GPA_CHECK(vector_extent(file, path, "/X/indptr", H5T_INTEGER, &nptr));
  if (nptr != shape[0] + 1)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X/indptr has %lld entries for the shape %lld x %lld "
                     "(%lld expected)", path, (long long)nptr, (long long)shape[0],
                     (long long)shape[1], (long long)shape[0] + 1);
  if (nnz != nidx)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X/data has %lld values but /X/indices has %lld", path,
                     (long long)nnz, (long long)nidx);
  ds->sparse = 1;
  ds->n_samples = shape[0];
  ds->n_genes = shape[1];
  ds->indptr = calloc((size_t)nptr, sizeof(int64_t));
  if (!ds->indptr) return GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory for /X/indptr", path);
  hid_t d = H5Dopen2(file, "/X/indptr", H5P_DEFAULT);
  herr_t st = H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ds->indptr);
  H5Dclose(d);
  if (st < 0) {
    char detail[256];
    return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot read /X/indptr (HDF5: %s)", path,
                     gpa_io_hdf5_detail(detail));
  }
  const int64_t *p = ds->indptr;
  for (int64_t i = 0; i < nptr; i++) {
    if (p[i] < 0)
      return GPA_ERROR(GPA_ERR_INPUT, "%s: /X/indptr[%lld] is negative (%lld)", path,
                       (long long)i, (long long)p[i]);
    if (i > 0 && p[i] < p[i - 1])
      return GPA_ERROR(GPA_ERR_INPUT, "%s: /X/indptr is not non-decreasing at row %lld (%lld "
                       "then %lld)", path, (long long)(i - 1), (long long)p[i - 1],
                       (long long)p[i]);
    if (p[i] > nnz)
      return GPA_ERROR(GPA_ERR_INPUT, "%s: /X/indptr: row %lld ends at %lld, beyond the %lld "
                       "values of /X/data", path, (long long)(i > 0 ? i - 1 : 0),
                       (long long)p[i], (long long)nnz);
  }
  return GPA_OK;
}

/* Reads the id list `name` (count must be `n`: "ids for %lld <what>"). */
static int read_ids(hid_t file, const char *path, const char *name, int64_t n, const char *what,
                    char ***ids, int64_t *count) {
  GPA_CHECK(read_strings(path, file, name, count, ids));
  if (*count != n)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld ids for %lld %s", path, name,
                     (long long)*count, (long long)n, what);
  return GPA_OK;
}

/* What rank 0 reads: format, shape, ids and the two columns. */
static int read_annotations(struct gpa_dataset *ds, const char *batch_key,
                            const char *label_key) {
  const char *path = ds->path;
  FILE *fp = fopen(path, "rb");
  if (!fp) return GPA_ERROR(GPA_ERR_INPUT, "cannot open '%s': %s", path, strerror(errno));
  fclose(fp);
  if (H5Fis_hdf5(path) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return GPA_ERROR(GPA_ERR_INPUT, "'%s' is not an HDF5 file", path);
  }
  hid_t file = gpa_data_open_readonly(path);
  if (file < 0) {
    H5Eclear2(H5E_DEFAULT);
    return GPA_ERROR(GPA_ERR_INPUT, "'%s' cannot be read as HDF5 (truncated or damaged?)", path);
  }
  int rc = GPA_OK;
  if (!exists(file, "/X")) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: no dataset /X (samples x genes)", path);
    goto done;
  }
  GPA_CHECK_GOTO(rc, gpa_data_link_check(file, path, "/X"), done);
  H5O_info_t info;
  if (H5Oget_info_by_name(file, "/X", &info, H5P_DEFAULT) < 0) {
    char detail[256];
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /X cannot be opened (damaged file? HDF5: %s)", path,
                   gpa_io_hdf5_detail(detail));
    goto done;
  }
  hid_t obs = exists(file, "/obs") ? H5Oopen(file, "/obs", H5P_DEFAULT) : -1;
  size_t plen = strlen(path);
  ds->format = (plen > 5 && strcmp(path + plen - 5, ".h5ad") == 0) ||
                       info.type == H5O_TYPE_GROUP ||
                       (obs >= 0 && string_attr_equals(obs, "encoding-type", "dataframe"))
                   ? GPA_DATA_H5AD
                   : GPA_DATA_LAYOUT1;
  if (obs >= 0) H5Oclose(obs);
  H5Eclear2(H5E_DEFAULT);
  if (info.type == H5O_TYPE_GROUP) { /* sparse X */
    GPA_CHECK_GOTO(rc, read_csr_layout(file, ds), done);
  } else {
    GPA_CHECK_GOTO(rc, gpa_data_check_dataset(file, path, "/X"), done);
    hid_t d = H5Dopen2(file, "/X", H5P_DEFAULT), sp = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    if (nd != 2 || (cls != H5T_FLOAT && cls != H5T_INTEGER)) {
      if (nd != 2)
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /X must be a numeric [samples, genes] matrix (it has "
                       "%d dimensions)", path, nd);
      else
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /X must be a numeric [samples, genes] matrix (its "
                       "elements are not numbers)", path);
      goto done;
    }
    ds->n_samples = (int64_t)dims[0];
    ds->n_genes = (int64_t)dims[1];
  }
  /* Gene and sample ids: exactly one per gene and per sample. */
  const char *genes = ds->format == GPA_DATA_H5AD ? "/var/_index" : "/var/gene_ids";
  if (!exists(file, genes)) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: no gene ids (%s)", path, genes);
    goto done;
  }
  GPA_CHECK_GOTO(rc, read_ids(file, path, genes, ds->n_genes, "genes", &ds->gene_ids,
                              &ds->n_gene_ids), done);
  const char *samples = ds->format == GPA_DATA_H5AD ? "/obs/_index" : "/obs/sample_ids";
  if (exists(file, samples))
    GPA_CHECK_GOTO(rc, read_ids(file, path, samples, ds->n_samples, "samples", &ds->sample_ids,
                                &ds->n_sample_ids), done);
  /* The two columns. */
  if (batch_key[0]) {
    rc = read_category(path, file, ds->format, batch_key, ds->n_samples, &ds->batch);
  } else {
    snprintf(ds->batch.key, sizeof ds->batch.key, "(all)");
    ds->batch.codes = calloc((size_t)ds->n_samples + 1, sizeof(int32_t));
    ds->batch.names = calloc(1, sizeof(char *));
    if (!ds->batch.codes || !ds->batch.names) {
      rc = GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory for %lld samples", path,
                     (long long)ds->n_samples);
      goto done;
    }
    ds->batch.n_names = 1;
    ds->batch.names[0] = strdup("all");
  }
  if (rc == GPA_OK && label_key[0])
    rc = read_category(path, file, ds->format, label_key, ds->n_samples, &ds->label);
done:
  H5Fclose(file);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}

/* ------------------------------------------------------------------------- broadcast */

struct pack {
  char *buf;
  size_t len, cap;
};

static void put(struct pack *p, const void *data, size_t n) {
  if (p->len + n > p->cap) {
    p->cap = (p->len + n) * 2 + 1024;
    p->buf = realloc(p->buf, p->cap);
  }
  memcpy(p->buf + p->len, data, n);
  p->len += n;
}

static void put_strings(struct pack *p, char **s, int64_t n) {
  for (int64_t i = 0; i < n; i++) put(p, s[i], strlen(s[i]) + 1);
}

static const char *get(const char **cur, size_t n) {
  const char *r = *cur;
  *cur += n;
  return r;
}

static char **get_strings(const char **cur, int64_t n) {
  char **s = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
  for (int64_t i = 0; i < n; i++) {
    s[i] = strdup(*cur);
    *cur += strlen(*cur) + 1;
  }
  return s;
}

static void pack_category(struct pack *p, const struct gpa_category *c, int64_t n) {
  int32_t has = c->codes != NULL, k = c->n_names;
  put(p, &has, sizeof has);
  if (!has) return;
  put(p, c->key, sizeof c->key);
  put(p, &k, sizeof k);
  put(p, c->codes, sizeof(int32_t) * (size_t)n);
  put_strings(p, c->names, k);
}

static void unpack_category(const char **cur, struct gpa_category *c, int64_t n) {
  int32_t has;
  memcpy(&has, get(cur, sizeof has), sizeof has);
  if (!has) return;
  memcpy(c->key, get(cur, sizeof c->key), sizeof c->key);
  int32_t k;
  memcpy(&k, get(cur, sizeof k), sizeof k);
  c->n_names = k;
  c->codes = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
  memcpy(c->codes, get(cur, sizeof(int32_t) * (size_t)n), sizeof(int32_t) * (size_t)n);
  c->names = get_strings(cur, k);
}

int gpa_dataset_open(MPI_Comm comm, const char *path, const char *batch_key,
                     const char *label_key, struct gpa_dataset *ds) {
  memset(ds, 0, sizeof *ds);
  snprintf(ds->path, sizeof ds->path, "%s", path);
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  int rc = GPA_OK;
  struct pack p = {0};
  if (rank == 0) {
    rc = read_annotations(ds, batch_key, label_key);
    if (rc == GPA_OK) {
      int64_t hdr[5] = {ds->format, ds->n_samples, ds->n_genes, ds->sparse,
                        ds->sample_ids != NULL};
      put(&p, hdr, sizeof hdr);
      put_strings(&p, ds->gene_ids, ds->n_gene_ids);
      if (ds->sample_ids) put_strings(&p, ds->sample_ids, ds->n_sample_ids);
      pack_category(&p, &ds->batch, ds->n_samples);
      pack_category(&p, &ds->label, ds->n_samples);
      if (ds->sparse) put(&p, ds->indptr, sizeof(int64_t) * (size_t)(ds->n_samples + 1));
    }
  }
  rc = gpa_comm_agree(comm, rc);
  if (rc) {
    free(p.buf);
    if (rank == 0) gpa_dataset_close(ds);
    return rc;
  }
  long long len = (long long)p.len;
  GPA_MPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm));
  if (rank != 0) p.buf = malloc((size_t)len);
  for (long long off = 0; off < len; off += 1 << 30) { /* MPI counts are int */
    int chunk = (int)(len - off < (1 << 30) ? len - off : (1 << 30));
    GPA_MPI(MPI_Bcast(p.buf + off, chunk, MPI_BYTE, 0, comm));
  }
  if (rank != 0) {
    const char *cur = p.buf;
    int64_t hdr[5];
    memcpy(hdr, get(&cur, sizeof hdr), sizeof hdr);
    ds->format = (int)hdr[0];
    ds->n_samples = hdr[1];
    ds->n_genes = hdr[2];
    ds->sparse = (int)hdr[3];
    ds->gene_ids = get_strings(&cur, ds->n_genes);
    ds->n_gene_ids = ds->n_genes;
    if (hdr[4]) {
      ds->sample_ids = get_strings(&cur, ds->n_samples);
      ds->n_sample_ids = ds->n_samples;
    }
    unpack_category(&cur, &ds->batch, ds->n_samples);
    unpack_category(&cur, &ds->label, ds->n_samples);
    if (ds->sparse) {
      ds->indptr = malloc(sizeof(int64_t) * (size_t)(ds->n_samples + 1));
      memcpy(ds->indptr, get(&cur, sizeof(int64_t) * (size_t)(ds->n_samples + 1)),
             sizeof(int64_t) * (size_t)(ds->n_samples + 1));
    }
  }
  free(p.buf);
  return GPA_OK;
}

static void free_category(struct gpa_category *c) {
  free(c->codes);
  free_strings(c->names, c->n_names);
  c->codes = NULL;
  c->names = NULL;
}

void gpa_dataset_close(struct gpa_dataset *ds) {
  free_strings(ds->gene_ids, ds->n_gene_ids);
  free_strings(ds->sample_ids, ds->n_sample_ids);
  free_category(&ds->batch);
  free_category(&ds->label);
  free(ds->indptr);
  memset(ds, 0, sizeof *ds);
}

int gpa_category_find(const struct gpa_category *c, const char *name) {
  for (int i = 0; i < c->n_names; i++)
    if (c->names[i] && strcmp(c->names[i], name) == 0) return i;
  return -1;
}

/* ------------------------------------------------------------------------- rows */

enum { ROW_BLOCK = 1024, BLOCK_FLOATS = 4 << 20 }; /* at most 16 MB of rows at a time */

/* Selects rows rows[0..count) of a [n][g] file space (runs of consecutive rows merged). */
static void select_sample_rows(hid_t space, const int64_t *rows, int64_t count, int64_t g) {
  H5Sselect_none(space);
  for (int64_t i = 0; i < count;) {
    int64_t j = i + 1;
    while (j < count && rows[j] == rows[j - 1] + 1) j++;
    hsize_t start[2] = {(hsize_t)rows[i], 0}, cnt[2] = {(hsize_t)(j - i), (hsize_t)g};
    H5Sselect_hyperslab(space, H5S_SELECT_OR, start, NULL, cnt, NULL);
    i = j;
  }
}

/* Dense X: rows into buf [count][g] (file order of the selection must match: rows sorted). */
static int read_dense(hid_t file, const char *path, const int64_t *rows, int64_t count,
                      int64_t g, float *buf) {
  char detail[256];
  hid_t d = H5Dopen2(file, "/X", H5P_DEFAULT);
  if (d < 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open /X (HDF5: %s)", path, gpa_io_hdf5_detail(detail));
  hid_t fspace = H5Dget_space(d);
  hsize_t mdims[2] = {(hsize_t)count, (hsize_t)g};
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  select_sample_rows(fspace, rows, count, g);
  herr_t st = H5Dread(d, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(d);
  if (st < 0)
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot read rows %lld-%lld of /X (damaged file? HDF5: %s)",
                     path, (long long)rows[0], (long long)rows[count - 1], gpa_io_hdf5_detail(detail));
  return GPA_OK;
}

/* CSR X: rows into buf [count][g] (zeros where absent).  The row pointers were checked against
 * the lengths of /X/data and /X/indices when the file was opened. */
static int read_csr(hid_t file, const struct gpa_dataset *ds, const int64_t *rows,
                    int64_t count, int64_t g, float *buf) {
  int64_t nnz = 0;
  for (int64_t i = 0; i < count; i++) nnz += ds->indptr[rows[i] + 1] - ds->indptr[rows[i]];
  float *vals = malloc(sizeof(float) * (size_t)(nnz > 0 ? nnz : 1));
  int64_t *cols = malloc(sizeof(int64_t) * (size_t)(nnz > 0 ? nnz : 1));
  int rc = vals && cols ? GPA_OK
                        : GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory for %lld values of /X",
                                    ds->path, (long long)nnz);
  const char *names[2] = {"/X/data", "/X/indices"};
  hid_t types[2] = {H5T_NATIVE_FLOAT, H5T_NATIVE_INT64};
  void *outs[2] = {vals, cols};
  for (int k = 0; k < 2 && rc == GPA_OK && nnz > 0; k++) {
    char detail[256];
    hid_t d = H5Dopen2(file, names[k], H5P_DEFAULT);
    if (d < 0) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open %s (HDF5: %s)", ds->path, names[k],
                     gpa_io_hdf5_detail(detail));
      break;
    }
    hid_t fspace = H5Dget_space(d);
    H5Sselect_none(fspace);
    for (int64_t i = 0; i < count; i++) {
      hsize_t start = (hsize_t)ds->indptr[rows[i]];
      hsize_t cnt = (hsize_t)(ds->indptr[rows[i] + 1] - ds->indptr[rows[i]]);
      if (cnt) H5Sselect_hyperslab(fspace, H5S_SELECT_OR, &start, NULL, &cnt, NULL);
    }
    hsize_t m = (hsize_t)nnz;
    hid_t mspace = H5Screate_simple(1, &m, NULL);
    if (H5Dread(d, types[k], mspace, fspace, H5P_DEFAULT, outs[k]) < 0)
      rc = GPA_ERROR(GPA_ERR_IO, "%s: cannot read %s for rows %lld-%lld (damaged file? HDF5: %s)",
                     ds->path, names[k], (long long)rows[0], (long long)rows[count - 1],
                     gpa_io_hdf5_detail(detail));
    H5Sclose(mspace);
    H5Sclose(fspace);
    H5Dclose(d);
  }
  /* The selection reads in file order: rows must be sorted for the runs to line up. */
  int64_t at = 0;
  for (int64_t i = 0; i < count && rc == GPA_OK; i++) {
    float *row = buf + i * g;
    memset(row, 0, sizeof(float) * (size_t)g);
    for (int64_t e = ds->indptr[rows[i]]; e < ds->indptr[rows[i] + 1]; e++, at++) {
      if (cols[at] < 0 || cols[at] >= g) {
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /X/indices holds column %lld for %lld genes (row %lld)",
                       ds->path, (long long)cols[at], (long long)g, (long long)rows[i]);
        break;
      }
      row[cols[at]] = vals[at];
    }
  }
  free(vals);
  free(cols);
  return rc;
}

static int by_index(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Not collective: this rank's rows, read through its own sequential-driver handle. */
static int read_rows_local(const struct gpa_dataset *ds, const int64_t *rows, int64_t count,
                           const int64_t *col_map, int64_t ncols, float *out) {
  const int64_t g = ds->n_genes;
  for (int64_t i = 0; i < count; i++)
    if (rows[i] < 0 || rows[i] >= ds->n_samples)
      return GPA_ERROR(GPA_ERR_INTERNAL, "%s: row %lld asked of %lld", ds->path,
                       (long long)rows[i], (long long)ds->n_samples);
  for (int64_t j = 0; col_map && j < ncols; j++)
    if (col_map[j] < 0 || col_map[j] >= g)
      return GPA_ERROR(GPA_ERR_INTERNAL, "%s: column %lld asked of %lld", ds->path,
                       (long long)col_map[j], (long long)g);
  hid_t file = gpa_data_open_readonly(ds->path);
  if (file < 0) {
    H5Eclear2(H5E_DEFAULT);
    return GPA_ERROR(GPA_ERR_INPUT, "'%s' cannot be read as HDF5 (truncated or damaged?)",
                     ds->path);
  }
  int64_t block = BLOCK_FLOATS / (g > 0 ? g : 1);
  if (block > ROW_BLOCK) block = ROW_BLOCK;
  if (block < 1) block = 1;
  float *buf = malloc(sizeof(float) * (size_t)(block * (g > 0 ? g : 1)));
  int64_t *sorted = malloc(sizeof(int64_t) * 2 * (size_t)block);
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)block);
  int rc = buf && sorted && idx
               ? GPA_OK
               : GPA_ERROR(GPA_ERR_NOMEM, "out of memory reading %s", ds->path);
  for (int64_t lo = 0; lo < count && rc == GPA_OK; lo += block) {
    const int64_t n = count - lo < block ? count - lo : block;
    /* Read the block's rows in increasing order, then put each where it belongs. */
    for (int64_t i = 0; i < n; i++) {
      sorted[2 * i] = rows[lo + i];
      sorted[2 * i + 1] = i;
    }
    qsort(sorted, (size_t)n, 2 * sizeof(int64_t), by_index);
    for (int64_t i = 0; i < n; i++) idx[i] = sorted[2 * i];
    rc = ds->sparse ? read_csr(file, ds, idx, n, g, buf) : read_dense(file, ds->path, idx, n, g,
                                                                      buf);
    for (int64_t i = 0; i < n && rc == GPA_OK; i++) {
      const float *src = buf + i * g;
      float *dst = out + (lo + sorted[2 * i + 1]) * ncols;
      for (int64_t j = 0; j < ncols; j++) {
        float v = src[col_map ? col_map[j] : j];
        if (!isfinite(v)) {
          rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /X of sample %lld, gene %lld holds NaN or Inf",
                         ds->path, (long long)idx[i], (long long)(col_map ? col_map[j] : j));
          break;
        }
        dst[j] = v;
      }
    }
  }
  free(buf);
  free(sorted);
  free(idx);
  H5Fclose(file);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}

int gpa_dataset_read_rows(MPI_Comm comm, const struct gpa_dataset *ds, const int64_t *rows,
                          int64_t count, const int64_t *col_map, int64_t ncols, float *out) {
  /* No HDF5 call below is collective: a rank that fails cannot leave the others waiting. */
  int rc = count > 0 ? read_rows_local(ds, rows, count, col_map, ncols, out) : GPA_OK;
  return gpa_comm_agree(comm, rc);
}
