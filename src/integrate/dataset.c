/* Reading gene-expression data sets: layout v1 and AnnData .h5ad. */
#include "gpa/dataset.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpa/comm.h"
#include "gpa/datafile.h"
#include "gpa/io.h"

/* ------------------------------------------------------------------------- helpers */

/* gpa_alloc_array of n elements (at least 1) of `size` bytes; out of memory is recorded with
 * the reader's message. */
static int alloc_array(void *p, int64_t n, size_t size, const char *fmt, ...) GPA_PRINTF(4, 5);
static int alloc_array(void *p, int64_t n, size_t size, const char *fmt, ...) {
  if (n >= 0 && gpa_alloc_array(p, (size_t)(n > 0 ? n : 1), size) == GPA_OK) return GPA_OK;
  char msg[GPA_PATH_MAX + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  gpa_error_clear(); /* the reader's message instead of the allocator's */
  return GPA_ERROR(GPA_ERR_NOMEM, "%s", msg);
}

/* A new copy of `s`. */
static int copy_string(char **out, const char *s) {
  const size_t len = strlen(s);
  GPA_CHECK(gpa_alloc(out, len + 1));
  memcpy(*out, s, len);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- rank 0: columns */

/* Reads a 1-D string dataset (fixed-length or variable-length) into n new strings. */
static int read_strings(struct gpa_h5s *f, const char *name, int64_t *count, char ***out) {
  *out = NULL;
  *count = 0;
  GPA_CHECK(gpa_data_check_dataset(f, name));
  return gpa_h5s_read_strings(f, name, count, out);
}

/* Reads a 1-D integer dataset of exactly n values as int32. */
static int read_codes(struct gpa_h5s *f, const char *name, int64_t n, int32_t *out) {
  GPA_CHECK(gpa_data_check_dataset(f, name));
  struct gpa_h5_info info;
  GPA_CHECK(gpa_h5s_dataset_info(f, name, &info));
  if (info.type_class != GPA_H5_INTEGER)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s does not hold integer codes", f->path, name);
  if (info.n != n)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld entries for %lld samples", f->path, name,
                     (long long)info.n, (long long)n);
  return gpa_h5s_read(f, name, GPA_H5_I32, n, out);
}

enum { MAX_UNNAMED_CODE = 1 << 20 }; /* codes of a column without names: at most this */

/* Names "0", "1", ... for codes without names: as many as the largest code + 1. */
static int numbered_names(const char *path, int64_t n, struct gpa_category *c) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++) {
    if (c->codes[i] < -1)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "%s: obs column '%s' has code %d (-1 is missing, else 0 "
                       "and up)",
                       path, c->key, c->codes[i]);
    if (c->codes[i] >= MAX_UNNAMED_CODE)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "%s: obs column '%s' has code %d but no category names (at most %d "
                       "without names)",
                       path, c->key, c->codes[i], MAX_UNNAMED_CODE - 1);
    if ((int64_t)c->codes[i] + 1 > count) count = (int64_t)c->codes[i] + 1;
  }
  GPA_CHECK(alloc_array(&c->names, count, sizeof(char *), "%s: out of memory", path));
  c->n_names = (int)count;
  for (int i = 0; i < c->n_names; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d", i);
    GPA_CHECK(copy_string(&c->names[i], buf));
  }
  return GPA_OK;
}

/* The names of category c from the string dataset `names`; c->n_names is what was read. */
static int read_names(struct gpa_h5s *f, const char *names, struct gpa_category *c) {
  int64_t count = 0;
  GPA_CHECK(read_strings(f, names, &count, &c->names));
  if (count > INT32_MAX) {
    gpa_h5_free_strings(&c->names, count);
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld names, too many", f->path, names,
                     (long long)count);
  }
  c->n_names = (int)count;
  return GPA_OK;
}

/* Index of `name` in the names of category c, or -1. */
static int category_find(const struct gpa_category *c, const char *name) {
  for (int i = 0; i < c->n_names; i++)
    if (c->names[i] && strcmp(c->names[i], name) == 0) return i;
  return -1;
}

/* A column of plain strings: their distinct values become the categories, in order of first
 * appearance. */
static int read_string_column(struct gpa_h5s *f, const char *name, int64_t n,
                              struct gpa_category *c) {
  char **vals = NULL;
  int64_t count = 0;
  int rc;
  GPA_CHECK(read_strings(f, name, &count, &vals));
  if (count != n) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld entries for %lld samples", f->path, name,
                   (long long)count, (long long)n);
    goto done;
  }
  GPA_CHECK_GOTO(rc, alloc_array(&c->names, count, sizeof(char *), "%s: out of memory", f->path),
                 done);
  c->n_names = 0;
  for (int64_t i = 0; i < count; i++) {
    int k = category_find(c, vals[i]);
    if (k < 0) {
      GPA_CHECK_GOTO(rc, copy_string(&c->names[c->n_names], vals[i]), done);
      k = c->n_names++;
    }
    c->codes[i] = k;
  }
done:
  gpa_h5_free_strings(&vals, count);
  return rc;
}

/* The obs column `name` of an .h5ad file: a categorical group (anndata >= 0.8). */
static int read_categorical_group(struct gpa_h5s *f, const char *name, const char *key, int64_t n,
                                  struct gpa_category *c) {
  char codes[320], names[320];
  snprintf(codes, sizeof codes, "%s/codes", name);
  snprintf(names, sizeof names, "%s/categories", name);
  if (!gpa_h5s_exists(f, codes) || !gpa_h5s_exists(f, names))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: obs column '%s' is not categorical", f->path, key);
  GPA_CHECK(read_codes(f, codes, n, c->codes));
  return read_names(f, names, c);
}

/* The obs column `name` of an .h5ad file that is a dataset: strings, or codes with the
 * categories of anndata 0.7 (an attribute "categories" and /obs/__categories/KEY), or codes
 * alone. */
static int read_h5ad_column(struct gpa_h5s *f, const char *name, const char *key, int64_t n,
                            struct gpa_category *c) {
  GPA_CHECK(gpa_data_check_dataset(f, name));
  struct gpa_h5_info info;
  GPA_CHECK(gpa_h5s_dataset_info(f, name, &info));
  char names[320];
  snprintf(names, sizeof names, "/obs/__categories/%s", key);
  if (info.type_class == GPA_H5_STRING) return read_string_column(f, name, n, c);
  GPA_CHECK(read_codes(f, name, n, c->codes));
  const int legacy = gpa_h5s_has_attr(f, name, "categories") && gpa_h5s_exists(f, names);
  return legacy ? read_names(f, names, c) : numbered_names(f->path, n, c);
}

/* The obs column `name` of a layout-v1 file: codes, and names in /obs/KEY_names if present. */
static int read_layout1_column(struct gpa_h5s *f, const char *name, const char *key, int64_t n,
                               struct gpa_category *c) {
  GPA_CHECK(read_codes(f, name, n, c->codes));
  char names[320];
  snprintf(names, sizeof names, "/obs/%s_names", key);
  return gpa_h5s_exists(f, names) ? read_names(f, names, c) : numbered_names(f->path, n, c);
}

/* The categorical column `key` of the samples, in either format. */
static int read_category(struct gpa_h5s *f, int format, const char *key, int64_t n,
                         struct gpa_category *c) {
  snprintf(c->key, sizeof c->key, "%s", key);
  GPA_CHECK(alloc_array(&c->codes, n, sizeof(int32_t), "%s: out of memory", f->path));
  char name[300];
  snprintf(name, sizeof name, "/obs/%s", key);
  if (!gpa_h5s_exists(f, name))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: no obs column '%s' (%s)", f->path, key, name);
  GPA_CHECK(gpa_data_link_check(f, name));
  const int kind = gpa_h5s_kind(f, name);
  if (kind == GPA_H5_UNREADABLE)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s cannot be opened (damaged file? HDF5: %s)", f->path,
                     name, gpa_h5s_detail(f));
  if (format == GPA_DATA_H5AD && kind == GPA_H5_GROUP)
    GPA_CHECK(read_categorical_group(f, name, key, n, c));
  else if (format == GPA_DATA_H5AD) GPA_CHECK(read_h5ad_column(f, name, key, n, c));
  else GPA_CHECK(read_layout1_column(f, name, key, n, c));
  for (int64_t i = 0; i < n; i++)
    if (c->codes[i] < -1 || c->codes[i] >= c->n_names)
      return GPA_ERROR(GPA_ERR_INPUT, "%s: obs column '%s' has code %d for %d categories", f->path,
                       key, c->codes[i], c->n_names);
  return GPA_OK;
}

/* No batch column: every sample in the one batch "all". */
static int one_batch(struct gpa_dataset *ds) {
  snprintf(ds->batch.key, sizeof ds->batch.key, "(all)");
  GPA_CHECK(alloc_array(&ds->batch.codes, ds->n_samples + 1, sizeof(int32_t),
                        "%s: out of memory for %lld samples", ds->path, (long long)ds->n_samples));
  GPA_CHECK(alloc_array(&ds->batch.names, 1, sizeof(char *), "%s: out of memory for %lld samples",
                        ds->path, (long long)ds->n_samples));
  ds->batch.n_names = 1;
  return copy_string(&ds->batch.names[0], "all");
}

/* ------------------------------------------------------------------------- rank 0: X */

/* Extent of the 1-D dataset `name`; GPA_ERR_INPUT unless 1-D and of integers, or (numbers)
 * also of floating-point values. */
static int vector_extent(struct gpa_h5s *f, const char *name, int numbers, int64_t *n) {
  GPA_CHECK(gpa_data_check_dataset(f, name));
  struct gpa_h5_info info;
  GPA_CHECK(gpa_h5s_dataset_info(f, name, &info));
  *n = info.n;
  if (info.ndims != 1)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s must be 1-D (it has %d dimensions)", f->path, name,
                     info.ndims);
  if (info.type_class != GPA_H5_INTEGER && !(numbers && info.type_class == GPA_H5_FLOAT))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s must hold %s", f->path, name,
                     numbers ? "numbers" : "integers");
  return GPA_OK;
}

/* The CSR row pointers /X/indptr [nptr], checked against the nnz values of /X/data, so that
 * the ranks' reads of their rows cannot fail on an inconsistent matrix. */
static int read_indptr(struct gpa_h5s *f, struct gpa_dataset *ds, int64_t nptr, int64_t nnz) {
  const char *path = ds->path;
  GPA_CHECK(
      alloc_array(&ds->indptr, nptr, sizeof(int64_t), "%s: out of memory for /X/indptr", path));
  GPA_CHECK(gpa_h5s_read(f, "/X/indptr", GPA_H5_I64, nptr, ds->indptr));
  const int64_t *p = ds->indptr;
  for (int64_t i = 0; i < nptr; i++) {
    if (p[i] < 0)
      return GPA_ERROR(GPA_ERR_INPUT, "%s: /X/indptr[%lld] is negative (%lld)", path, (long long)i,
                       (long long)p[i]);
    if (i > 0 && p[i] < p[i - 1])
      return GPA_ERROR(GPA_ERR_INPUT,
                       "%s: /X/indptr is not non-decreasing at row %lld (%lld "
                       "then %lld)",
                       path, (long long)(i - 1), (long long)p[i - 1], (long long)p[i]);
    if (p[i] > nnz)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "%s: /X/indptr: row %lld ends at %lld, beyond the %lld "
                       "values of /X/data",
                       path, (long long)(i > 0 ? i - 1 : 0), (long long)p[i], (long long)nnz);
  }
  return GPA_OK;
}

/* CSR X (/X a group): the shape and the checked row pointers. */
static int read_csr_layout(struct gpa_h5s *f, struct gpa_dataset *ds) {
  const char *path = ds->path;
  const int csr = gpa_h5s_attr_equals(f, "/X", "encoding-type", "csr_matrix") ||
                  gpa_h5s_attr_equals(f, "/X", "h5sparse_format", "csr");
  int64_t shape[2] = {-1, -1};
  if (!gpa_h5s_peek_ints(f, "/X", "shape", shape, 2)) shape[0] = shape[1] = -1;
  if (!csr || !gpa_h5s_exists(f, "/X/data") || !gpa_h5s_exists(f, "/X/indices") ||
      !gpa_h5s_exists(f, "/X/indptr"))
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: /X is a group but not a CSR matrix (csc_matrix and "
                     "others are not read; store X dense or CSR)",
                     path);
  if (shape[0] < 0 || shape[1] < 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X has no valid 'shape' attribute (2 integers >= 0)",
                     path);
  int64_t nnz, nidx, nptr;
  GPA_CHECK(vector_extent(f, "/X/data", 1, &nnz));
  GPA_CHECK(vector_extent(f, "/X/indices", 0, &nidx));
  GPA_CHECK(vector_extent(f, "/X/indptr", 0, &nptr));
  if (nptr != shape[0] + 1)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: /X/indptr has %lld entries for the shape %lld x %lld "
                     "(%lld expected)",
                     path, (long long)nptr, (long long)shape[0], (long long)shape[1],
                     (long long)shape[0] + 1);
  if (nnz != nidx)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X/data has %lld values but /X/indices has %lld", path,
                     (long long)nnz, (long long)nidx);
  ds->sparse = 1;
  ds->n_samples = shape[0];
  ds->n_genes = shape[1];
  return read_indptr(f, ds, nptr, nnz);
}

/* The format of the file and the shape of X, dense or CSR. */
static int read_x_layout(struct gpa_h5s *f, struct gpa_dataset *ds) {
  const char *path = ds->path;
  if (!gpa_h5s_exists(f, "/X"))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: no dataset /X (samples x genes)", path);
  GPA_CHECK(gpa_data_link_check(f, "/X"));
  const int kind = gpa_h5s_kind(f, "/X");
  if (kind == GPA_H5_UNREADABLE)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X cannot be opened (damaged file? HDF5: %s)", path,
                     gpa_h5s_detail(f));
  const size_t plen = strlen(path);
  ds->format = (plen > 5 && strcmp(path + plen - 5, ".h5ad") == 0) || kind == GPA_H5_GROUP ||
                       (gpa_h5s_exists(f, "/obs") &&
                        gpa_h5s_attr_equals(f, "/obs", "encoding-type", "dataframe"))
                   ? GPA_DATA_H5AD
                   : GPA_DATA_LAYOUT1;
  if (kind == GPA_H5_GROUP) return read_csr_layout(f, ds); /* sparse X */
  GPA_CHECK(gpa_data_check_dataset(f, "/X"));
  struct gpa_h5_info info;
  GPA_CHECK(gpa_h5s_dataset_info(f, "/X", &info));
  if (info.ndims != 2)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: /X must be a numeric [samples, genes] matrix (it has "
                     "%d dimensions)",
                     path, info.ndims);
  if (info.type_class != GPA_H5_FLOAT && info.type_class != GPA_H5_INTEGER)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: /X must be a numeric [samples, genes] matrix (its "
                     "elements are not numbers)",
                     path);
  ds->n_samples = info.dims[0];
  ds->n_genes = info.dims[1];
  return GPA_OK;
}

/* Reads the id list `name` (count must be `n`: "ids for %lld <what>"). */
static int read_ids(struct gpa_h5s *f, const char *name, int64_t n, const char *what, char ***ids,
                    int64_t *count) {
  GPA_CHECK(read_strings(f, name, count, ids));
  if (*count != n)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s has %lld ids for %lld %s", f->path, name,
                     (long long)*count, (long long)n, what);
  return GPA_OK;
}

/* Gene and sample ids: exactly one per gene and per sample (sample ids are optional). */
static int read_all_ids(struct gpa_h5s *f, struct gpa_dataset *ds) {
  const char *genes = ds->format == GPA_DATA_H5AD ? "/var/_index" : "/var/gene_ids";
  if (!gpa_h5s_exists(f, genes))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: no gene ids (%s)", ds->path, genes);
  GPA_CHECK(read_ids(f, genes, ds->n_genes, "genes", &ds->gene_ids, &ds->n_gene_ids));
  const char *samples = ds->format == GPA_DATA_H5AD ? "/obs/_index" : "/obs/sample_ids";
  if (gpa_h5s_exists(f, samples))
    GPA_CHECK(read_ids(f, samples, ds->n_samples, "samples", &ds->sample_ids, &ds->n_sample_ids));
  return GPA_OK;
}

/* Opens the data file `path` alone: it exists, is HDF5 and HDF5 can read it. */
static int open_data(const char *path, struct gpa_h5s *f) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return GPA_ERROR(GPA_ERR_INPUT, "cannot open '%s': %s", path, strerror(errno));
  fclose(fp);
  if (!gpa_h5s_is_hdf5(path)) return GPA_ERROR(GPA_ERR_INPUT, "'%s' is not an HDF5 file", path);
  return gpa_data_open_readonly(f, path);
}

/* What rank 0 reads: format, shape, ids and the two columns. */
static int read_annotations(struct gpa_dataset *ds, const char *batch_key, const char *label_key) {
  struct gpa_h5s f;
  GPA_CHECK(open_data(ds->path, &f));
  int rc;
  GPA_CHECK_GOTO(rc, read_x_layout(&f, ds), done);
  GPA_CHECK_GOTO(rc, read_all_ids(&f, ds), done);
  GPA_CHECK_GOTO(rc,
                 batch_key[0] ? read_category(&f, ds->format, batch_key, ds->n_samples, &ds->batch)
                              : one_batch(ds),
                 done);
  if (label_key[0])
    GPA_CHECK_GOTO(rc, read_category(&f, ds->format, label_key, ds->n_samples, &ds->label), done);
done:
  gpa_h5s_close(&f);
  return rc;
}

/* ------------------------------------------------------------------------- broadcast */

/* The annotations as bytes: rank 0's from open_memstream (malloc'd), the others' from
 * gpa_alloc. */
struct packed {
  char *buf;
  size_t len;
  int from_stream;
};

static void packed_free(struct packed *p) {
  if (p->from_stream) free(p->buf);
  else gpa_free(&p->buf);
  p->buf = NULL;
}

static void put_strings(FILE *out, char *const *s, int64_t n) {
  for (int64_t i = 0; i < n; i++) fwrite(s[i], 1, strlen(s[i]) + 1, out);
}

static void pack_category(FILE *out, const struct gpa_category *c, int64_t n) {
  const int32_t has = c->codes != NULL, k = c->n_names;
  fwrite(&has, sizeof has, 1, out);
  if (!has) return;
  fwrite(c->key, sizeof c->key, 1, out);
  fwrite(&k, sizeof k, 1, out);
  fwrite(c->codes, sizeof(int32_t), (size_t)n, out);
  put_strings(out, c->names, k);
}

/* Rank 0: everything the other ranks need of ds, as bytes. */
static int pack(const struct gpa_dataset *ds, struct packed *p) {
  FILE *out = open_memstream(&p->buf, &p->len);
  if (!out) return GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory for the annotations", ds->path);
  p->from_stream = 1;
  const int64_t hdr[5] = {ds->format, ds->n_samples, ds->n_genes, ds->sparse,
                          ds->sample_ids != NULL};
  fwrite(hdr, sizeof hdr, 1, out);
  put_strings(out, ds->gene_ids, ds->n_gene_ids);
  if (ds->sample_ids) put_strings(out, ds->sample_ids, ds->n_sample_ids);
  pack_category(out, &ds->batch, ds->n_samples);
  pack_category(out, &ds->label, ds->n_samples);
  if (ds->sparse) fwrite(ds->indptr, sizeof(int64_t), (size_t)(ds->n_samples + 1), out);
  const int bad = ferror(out);
  if (fclose(out) != 0 || bad)
    return GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory for the annotations", ds->path);
  return GPA_OK;
}

/* Reading the bytes of pack() back. */
struct cursor {
  const char *at, *end;
};

static int take(struct cursor *c, void *out, size_t n) {
  if ((size_t)(c->end - c->at) < n)
    return GPA_ERROR(GPA_ERR_INTERNAL, "the broadcast annotations end early");
  memcpy(out, c->at, n);
  c->at += n;
  return GPA_OK;
}

static int take_strings(struct cursor *c, int64_t n, char ***out) {
  GPA_CHECK(alloc_array(out, n, sizeof(char *), "out of memory for %lld strings", (long long)n));
  for (int64_t i = 0; i < n; i++) {
    const size_t len = strnlen(c->at, (size_t)(c->end - c->at));
    if (c->at + len == c->end)
      return GPA_ERROR(GPA_ERR_INTERNAL, "the broadcast annotations end early");
    GPA_CHECK(copy_string(&(*out)[i], c->at));
    c->at += len + 1;
  }
  return GPA_OK;
}

static int unpack_category(struct cursor *cur, struct gpa_category *c, int64_t n) {
  int32_t has = 0, k = 0;
  GPA_CHECK(take(cur, &has, sizeof has));
  if (!has) return GPA_OK;
  GPA_CHECK(take(cur, c->key, sizeof c->key));
  GPA_CHECK(take(cur, &k, sizeof k));
  GPA_CHECK(
      alloc_array(&c->codes, n, sizeof(int32_t), "out of memory for %lld samples", (long long)n));
  GPA_CHECK(take(cur, c->codes, sizeof(int32_t) * (size_t)n));
  c->n_names = k;
  return take_strings(cur, k, &c->names);
}

/* Ranks other than 0: ds from the bytes of pack(). */
static int unpack(const struct packed *p, struct gpa_dataset *ds) {
  struct cursor cur = {p->buf, p->buf + p->len};
  int64_t hdr[5];
  GPA_CHECK(take(&cur, hdr, sizeof hdr));
  ds->format = (int)hdr[0];
  ds->n_samples = hdr[1];
  ds->n_genes = hdr[2];
  ds->sparse = (int)hdr[3];
  ds->n_gene_ids = ds->n_genes;
  GPA_CHECK(take_strings(&cur, ds->n_genes, &ds->gene_ids));
  if (hdr[4]) {
    ds->n_sample_ids = ds->n_samples;
    GPA_CHECK(take_strings(&cur, ds->n_samples, &ds->sample_ids));
  }
  GPA_CHECK(unpack_category(&cur, &ds->batch, ds->n_samples));
  GPA_CHECK(unpack_category(&cur, &ds->label, ds->n_samples));
  if (!ds->sparse) return GPA_OK;
  GPA_CHECK(alloc_array(&ds->indptr, ds->n_samples + 1, sizeof(int64_t),
                        "out of memory for %lld samples", (long long)ds->n_samples));
  return take(&cur, ds->indptr, sizeof(int64_t) * (size_t)(ds->n_samples + 1));
}

/* Rank 0: reads the annotations and packs them. */
static int read_and_pack(struct gpa_dataset *ds, const char *batch_key, const char *label_key,
                         struct packed *p) {
  GPA_CHECK(read_annotations(ds, batch_key, label_key));
  return pack(ds, p);
}

/* Collective: rank 0's bytes to every rank. */
static int share(MPI_Comm comm, int rank, struct packed *p) {
  int64_t len = (int64_t)p->len;
  GPA_MPI(MPI_Bcast(&len, 1, MPI_INT64_T, 0, comm));
  int rc = rank == 0 ? GPA_OK
                     : alloc_array(&p->buf, len, 1,
                                   "out of memory for the annotations "
                                   "(%lld bytes)",
                                   (long long)len);
  p->len = (size_t)len;
  GPA_CHECK(gpa_comm_agree(comm, rc));
  return gpa_bcast_bytes(comm, p->buf, p->len, 0);
}

int gpa_dataset_open(MPI_Comm comm, const char *path, const char *batch_key, const char *label_key,
                     struct gpa_dataset *ds) {
  memset(ds, 0, sizeof *ds);
  snprintf(ds->path, sizeof ds->path, "%s", path);
  int rank, rc;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  struct packed p = {0};
  rc = rank == 0 ? read_and_pack(ds, batch_key, label_key, &p) : GPA_OK;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, rc), done);
  GPA_CHECK_GOTO(rc, share(comm, rank, &p), done);
  if (rank != 0) rc = unpack(&p, ds);
  rc = gpa_comm_agree(comm, rc);
done:
  packed_free(&p);
  if (rc != GPA_OK) gpa_dataset_close(ds);
  return rc;
}

static void free_category(struct gpa_category *c) {
  gpa_free(&c->codes);
  gpa_h5_free_strings(&c->names, c->n_names);
}

void gpa_dataset_close(struct gpa_dataset *ds) {
  gpa_h5_free_strings(&ds->gene_ids, ds->n_gene_ids);
  gpa_h5_free_strings(&ds->sample_ids, ds->n_sample_ids);
  free_category(&ds->batch);
  free_category(&ds->label);
  gpa_free(&ds->indptr);
  memset(ds, 0, sizeof *ds);
}

/* ------------------------------------------------------------------------- optional parts */

/* Rank 0: *cols = the width of `name` when the file has it as a numeric [samples][cols]
 * matrix (layout v1 only), else 0; present but of another shape is GPA_ERR_INPUT. */
static int probe_matrix(const struct gpa_dataset *ds, const char *name, int64_t *cols) {
  *cols = 0;
  if (ds->format != GPA_DATA_LAYOUT1) return GPA_OK;
  struct gpa_h5s f;
  GPA_CHECK(gpa_data_open_readonly(&f, ds->path));
  struct gpa_h5_info info;
  int rc = GPA_OK;
  if (!gpa_h5s_exists(&f, name)) goto done;
  GPA_CHECK_GOTO(rc, gpa_data_check_dataset(&f, name), done);
  GPA_CHECK_GOTO(rc, gpa_h5s_dataset_info(&f, name, &info), done);
  if (info.ndims != 2 || info.dims[0] != ds->n_samples ||
      (info.type_class != GPA_H5_FLOAT && info.type_class != GPA_H5_INTEGER)) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s must be a numeric [%lld samples, columns] matrix",
                   ds->path, name, (long long)ds->n_samples);
    goto done;
  }
  *cols = info.dims[1];
done:
  gpa_h5s_close(&f);
  return rc;
}

int gpa_dataset_matrix(MPI_Comm comm, const struct gpa_dataset *ds, const char *name,
                       int64_t *cols) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  *cols = 0;
  GPA_CHECK(gpa_comm_agree(comm, rank == 0 ? probe_matrix(ds, name, cols) : GPA_OK));
  GPA_MPI(MPI_Bcast(cols, 1, MPI_INT64_T, 0, comm));
  return GPA_OK;
}

/* Rank 0: the column `key` read and packed. */
static int read_column(const struct gpa_dataset *ds, const char *key, struct gpa_category *c,
                       struct packed *p) {
  struct gpa_h5s f;
  GPA_CHECK(open_data(ds->path, &f));
  int rc;
  GPA_CHECK_GOTO(rc, read_category(&f, ds->format, key, ds->n_samples, c), done);
  FILE *out = open_memstream(&p->buf, &p->len);
  if (!out) {
    rc = GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory for obs column '%s'", ds->path, key);
    goto done;
  }
  p->from_stream = 1;
  pack_category(out, c, ds->n_samples);
  const int bad = ferror(out);
  if (fclose(out) != 0 || bad)
    rc = GPA_ERROR(GPA_ERR_NOMEM, "%s: out of memory for obs column '%s'", ds->path, key);
done:
  gpa_h5s_close(&f);
  return rc;
}

int gpa_dataset_read_column(MPI_Comm comm, const struct gpa_dataset *ds, const char *key,
                            struct gpa_category *c) {
  memset(c, 0, sizeof *c);
  int rank, rc;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  struct packed p = {0};
  rc = rank == 0 ? read_column(ds, key, c, &p) : GPA_OK;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, rc), done);
  GPA_CHECK_GOTO(rc, share(comm, rank, &p), done);
  if (rank != 0) {
    struct cursor cur = {p.buf, p.buf + p.len};
    rc = unpack_category(&cur, c, ds->n_samples);
  }
  rc = gpa_comm_agree(comm, rc);
done:
  packed_free(&p);
  if (rc != GPA_OK) gpa_dataset_free_column(c);
  return rc;
}

void gpa_dataset_free_column(struct gpa_category *c) { free_category(c); }

/* ------------------------------------------------------------------------- rows */

enum { ROW_BLOCK = 1024, BLOCK_FLOATS = 4 << 20 }; /* at most 16 MB of rows at a time */

/* What a rank's read of rows needs, sized once for the largest block. */
struct row_work {
  int64_t block;          /* rows at a time */
  float *buf;             /* [block][g] rows in file order */
  int64_t *order;         /* [block][2] (row, place in the block) sorted by row */
  int64_t *rows;          /* [block] the block's rows, sorted */
  int64_t *start, *count; /* [block] runs of the first dimension to read */
};

static void row_work_free(struct row_work *w) {
  gpa_free(&w->buf);
  gpa_free(&w->order);
  gpa_free(&w->rows);
  gpa_free(&w->start);
  gpa_free(&w->count);
}

static int row_work_alloc(struct row_work *w, int64_t g, const char *path) {
  memset(w, 0, sizeof *w);
  w->block = BLOCK_FLOATS / (g > 0 ? g : 1);
  if (w->block > ROW_BLOCK) w->block = ROW_BLOCK;
  if (w->block < 1) w->block = 1;
  GPA_CHECK(alloc_array(&w->buf, w->block * (g > 0 ? g : 1), sizeof(float),
                        "out of memory reading %s", path));
  GPA_CHECK(
      alloc_array(&w->order, 2 * w->block, sizeof(int64_t), "out of memory reading %s", path));
  GPA_CHECK(alloc_array(&w->rows, w->block, sizeof(int64_t), "out of memory reading %s", path));
  GPA_CHECK(alloc_array(&w->start, w->block, sizeof(int64_t), "out of memory reading %s", path));
  return alloc_array(&w->count, w->block, sizeof(int64_t), "out of memory reading %s", path);
}

/* The matrix whose rows are read: /X (dense or CSR), or another dense [samples][width]
 * dataset of the file (/X_ref, /obs/latent). */
struct matrix {
  const char *name;
  int64_t width;
  int sparse;
};

/* Dense rows (sorted) of m into w->buf [count][width], runs of consecutive rows read together. */
static int read_dense(struct gpa_h5s *f, const struct matrix *m, const int64_t *rows, int64_t count,
                      struct row_work *w) {
  int64_t runs = 0;
  for (int64_t i = 0; i < count;) {
    int64_t j = i + 1;
    while (j < count && rows[j] == rows[j - 1] + 1) j++;
    w->start[runs] = rows[i];
    w->count[runs++] = j - i;
    i = j;
  }
  if (gpa_h5s_read_runs(f, m->name, GPA_H5_F32, w->start, w->count, runs, w->buf) == GPA_OK)
    return GPA_OK;
  gpa_error_clear(); /* the rows in the message */
  return GPA_ERROR(GPA_ERR_IO, "%s: cannot read rows %lld-%lld of %s (damaged file? HDF5: %s)",
                   f->path, (long long)rows[0], (long long)rows[count - 1], m->name,
                   gpa_h5s_detail(f));
}

/* /X/data and /X/indices of CSR rows (sorted) into vals and cols [nnz]. */
static int read_csr_parts(struct gpa_h5s *f, const struct gpa_dataset *ds, const int64_t *rows,
                          int64_t count, struct row_work *w, float *vals, int64_t *cols) {
  for (int64_t i = 0; i < count; i++) {
    w->start[i] = ds->indptr[rows[i]];
    w->count[i] = ds->indptr[rows[i] + 1] - ds->indptr[rows[i]];
  }
  const char *names[2] = {"/X/data", "/X/indices"};
  const int types[2] = {GPA_H5_F32, GPA_H5_I64};
  void *outs[2] = {vals, cols};
  for (int k = 0; k < 2; k++)
    if (gpa_h5s_read_runs(f, names[k], types[k], w->start, w->count, count, outs[k]) != GPA_OK) {
      gpa_error_clear(); /* the rows in the message */
      return GPA_ERROR(GPA_ERR_IO,
                       "%s: cannot read %s for rows %lld-%lld (damaged file? HDF5: "
                       "%s)",
                       ds->path, names[k], (long long)rows[0], (long long)rows[count - 1],
                       gpa_h5s_detail(f));
    }
  return GPA_OK;
}

/* CSR X: rows (sorted) into w->buf [count][g] (zeros where absent).  The row pointers were
 * checked against the lengths of /X/data and /X/indices when the file was opened. */
static int read_csr(struct gpa_h5s *f, const struct gpa_dataset *ds, const int64_t *rows,
                    int64_t count, int64_t g, struct row_work *w) {
  int64_t nnz = 0;
  for (int64_t i = 0; i < count; i++) nnz += ds->indptr[rows[i] + 1] - ds->indptr[rows[i]];
  float *vals = NULL;
  int64_t *cols = NULL;
  int rc;
  GPA_CHECK_GOTO(rc,
                 alloc_array(&vals, nnz, sizeof(float),
                             "%s: out of memory for %lld values "
                             "of /X",
                             ds->path, (long long)nnz),
                 done);
  GPA_CHECK_GOTO(rc,
                 alloc_array(&cols, nnz, sizeof(int64_t),
                             "%s: out of memory for %lld "
                             "values of /X",
                             ds->path, (long long)nnz),
                 done);
  if (nnz > 0) GPA_CHECK_GOTO(rc, read_csr_parts(f, ds, rows, count, w, vals, cols), done);
  /* The selection reads in file order: rows must be sorted for the runs to line up. */
  int64_t at = 0;
  for (int64_t i = 0; i < count; i++) {
    float *row = w->buf + i * g;
    memset(row, 0, sizeof(float) * (size_t)g);
    for (int64_t e = ds->indptr[rows[i]]; e < ds->indptr[rows[i] + 1]; e++, at++) {
      if (cols[at] < 0 || cols[at] >= g) {
        rc = GPA_ERROR(GPA_ERR_INPUT,
                       "%s: /X/indices holds column %lld for %lld genes (row "
                       "%lld)",
                       ds->path, (long long)cols[at], (long long)g, (long long)rows[i]);
        goto done;
      }
      row[cols[at]] = vals[at];
    }
  }
done:
  gpa_free(&vals);
  gpa_free(&cols);
  return rc;
}

static int by_index(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* One block rows[0 .. n) (any order) of m: read in increasing order, then each put where it
 * belongs in out [n][ncols], keeping the columns col_map (NULL: all). */
static int read_block(struct gpa_h5s *f, const struct gpa_dataset *ds, const struct matrix *m,
                      const int64_t *rows, int64_t n, const int64_t *col_map, int64_t ncols,
                      struct row_work *w, float *out) {
  const int64_t g = m->width;
  for (int64_t i = 0; i < n; i++) {
    w->order[2 * i] = rows[i];
    w->order[2 * i + 1] = i;
  }
  qsort(w->order, (size_t)n, 2 * sizeof(int64_t), by_index);
  for (int64_t i = 0; i < n; i++) w->rows[i] = w->order[2 * i];
  GPA_CHECK(m->sparse ? read_csr(f, ds, w->rows, n, g, w) : read_dense(f, m, w->rows, n, w));
  for (int64_t i = 0; i < n; i++) {
    const float *src = w->buf + i * g;
    float *dst = out + w->order[2 * i + 1] * ncols;
    for (int64_t j = 0; j < ncols; j++) {
      const float v = src[col_map ? col_map[j] : j];
      if (!isfinite(v))
        return GPA_ERROR(GPA_ERR_INPUT, "%s: %s of sample %lld, %s %lld holds NaN or Inf", ds->path,
                         m->name, (long long)w->rows[i],
                         m->sparse || strcmp(m->name, "/X") == 0 ? "gene" : "column",
                         (long long)(col_map ? col_map[j] : j));
      dst[j] = v;
    }
  }
  return GPA_OK;
}

/* Not collective: this rank's rows of m, read through its own sequential-driver handle. */
static int read_rows_local(const struct gpa_dataset *ds, const struct matrix *m,
                           const int64_t *rows, int64_t count, const int64_t *col_map,
                           int64_t ncols, float *out) {
  const int64_t g = m->width;
  for (int64_t i = 0; i < count; i++)
    if (rows[i] < 0 || rows[i] >= ds->n_samples)
      return GPA_ERROR(GPA_ERR_INTERNAL, "%s: row %lld asked of %lld", ds->path, (long long)rows[i],
                       (long long)ds->n_samples);
  for (int64_t j = 0; col_map && j < ncols; j++)
    if (col_map[j] < 0 || col_map[j] >= g)
      return GPA_ERROR(GPA_ERR_INTERNAL, "%s: column %lld asked of %lld", ds->path,
                       (long long)col_map[j], (long long)g);
  struct gpa_h5s f;
  GPA_CHECK(gpa_data_open_readonly(&f, ds->path));
  struct row_work w;
  struct gpa_h5_info info;
  int rc;
  GPA_CHECK_GOTO(rc, row_work_alloc(&w, g, ds->path), done);
  if (!m->sparse) GPA_CHECK_GOTO(rc, gpa_h5s_dataset_info(&f, m->name, &info), done); /* opens */
  for (int64_t lo = 0; lo < count; lo += w.block) {
    const int64_t n = count - lo < w.block ? count - lo : w.block;
    GPA_CHECK_GOTO(rc, read_block(&f, ds, m, rows + lo, n, col_map, ncols, &w, out + lo * ncols),
                   done);
  }
done:
  row_work_free(&w);
  gpa_h5s_close(&f);
  return rc;
}

int gpa_dataset_read_rows(MPI_Comm comm, const struct gpa_dataset *ds, const int64_t *rows,
                          int64_t count, const int64_t *col_map, int64_t ncols, float *out) {
  /* No HDF5 call below is collective: a rank that fails cannot leave the others waiting. */
  const struct matrix m = {"/X", ds->n_genes, ds->sparse};
  int rc = count > 0 ? read_rows_local(ds, &m, rows, count, col_map, ncols, out) : GPA_OK;
  return gpa_comm_agree(comm, rc);
}

int gpa_dataset_read_matrix_rows(MPI_Comm comm, const struct gpa_dataset *ds, const char *name,
                                 int64_t width, const int64_t *rows, int64_t count,
                                 const int64_t *col_map, int64_t ncols, float *out) {
  const struct matrix m = {name, width, 0};
  int rc = count > 0 ? read_rows_local(ds, &m, rows, count, col_map, ncols, out) : GPA_OK;
  return gpa_comm_agree(comm, rc);
}
