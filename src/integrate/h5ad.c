/* The integrated data as an AnnData .h5ad file (anndata 0.8 encoding): X (corrected, dense
 * float32), obs (the source file's columns for the output rows, plus gpa_origin and
 * gpa_label), var (gene ids), obsm/X_gpa (latent coordinates after transport) and
 * obsm/X_pca (before), uns/gpa_report (the report as JSON text).
 *
 * X is written by every rank into PATH.tmp (a staged write); rank 0 then adds the rest alone,
 * since anndata's variable-length strings cannot be written collectively, and puts the file in
 * place. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gpa/io.h"
#include "integration.h"

/* ------------------------------------------------------------------------- rank 0: objects */

/* The attributes anndata reads an object's encoding from. */
static int encoding(struct gpa_h5s *f, const char *obj, const char *type, const char *version) {
  GPA_CHECK(gpa_h5s_attr_text(f, obj, "encoding-type", type));
  return gpa_h5s_attr_text(f, obj, "encoding-version", version);
}

static int group(struct gpa_h5s *f, const char *name, const char *type, const char *version) {
  GPA_CHECK(gpa_h5s_create_group(f, name));
  return encoding(f, name, type, version);
}

static int strings(struct gpa_h5s *f, const char *name, const char *const *s, int64_t n) {
  GPA_CHECK(gpa_h5s_write_strings(f, name, s, n));
  return encoding(f, name, "string-array", "0.2.0");
}

static int numbers(struct gpa_h5s *f, const char *name, int type, int rank, const int64_t *dims,
                   const void *v) {
  GPA_CHECK(gpa_h5s_write(f, name, type, rank, dims, v));
  return encoding(f, name, "array", "0.2.0");
}

static int categorical(struct gpa_h5s *f, const char *name, const int32_t *codes, int64_t n,
                       const char *const *cats, int64_t ncat) {
  char part[GPA_PATH_MAX];
  GPA_CHECK(group(f, name, "categorical", "0.2.0"));
  GPA_CHECK(gpa_h5s_attr_bool(f, name, "ordered", 0));
  snprintf(part, sizeof part, "%s/codes", name);
  GPA_CHECK(numbers(f, part, GPA_H5_I32, 1, &n, codes));
  snprintf(part, sizeof part, "%s/categories", name);
  return strings(f, part, cats, ncat);
}

/* ------------------------------------------------------------------------- rank 0: obs */

/* /obs/_index: the sample ids of the output rows, or their row numbers where the file has no
 * ids. */
static int write_obs_index(struct gpa_h5s *f, const struct gpa_integration *in) {
  const int64_t n = in->n;
  const struct gpa_dataset *t = in->same_file ? &in->src : &in->tgt;
  const char **index = NULL;
  char(*made)[24] = NULL; /* [n] row numbers, for rows without ids */
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&index, (size_t)(n > 0 ? n : 1), sizeof *index), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&made, (size_t)(n > 0 ? n : 1), sizeof *made), done);
  for (int64_t i = 0; i < n; i++) {
    const struct gpa_dataset *d = i < in->n_src ? &in->src : t;
    if (d->sample_ids) {
      index[i] = d->sample_ids[in->rows[i]];
    } else {
      snprintf(made[i], sizeof made[i], "%lld", (long long)i);
      index[i] = made[i];
    }
  }
  rc = strings(f, "/obs/_index", index, n);
done:
  gpa_free(&index);
  gpa_free(&made);
  return rc;
}

/* A categorical obs column of the source file, for the output rows: codes subset, categories
 * kept.  Left out (*added 0) unless its codes fit the samples and its categories are
 * variable-length strings. */
static int copy_categorical(struct gpa_h5s *f, struct gpa_h5s *src,
                            const struct gpa_integration *in, const char *name, int32_t *codes,
                            int *added) {
  char cpath[GPA_PATH_MAX], kpath[GPA_PATH_MAX], out[GPA_PATH_MAX];
  snprintf(cpath, sizeof cpath, "/obs/%s/codes", name);
  snprintf(kpath, sizeof kpath, "/obs/%s/categories", name);
  snprintf(out, sizeof out, "/obs/%s", name);
  struct gpa_h5_info ci, ki;
  int32_t *all = NULL;
  char **cats = NULL;
  int64_t ncat = 0;
  int rc = GPA_OK;
  if (gpa_h5s_dataset_info(src, cpath, &ci) != GPA_OK ||
      gpa_h5s_dataset_info(src, kpath, &ki) != GPA_OK || ci.n != in->src.n_samples ||
      !ki.vlen_string)
    goto left_out;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&all, (size_t)(ci.n > 0 ? ci.n : 1), sizeof *all), done);
  if (gpa_h5s_read(src, cpath, GPA_H5_I32, ci.n, all) != GPA_OK ||
      gpa_h5s_read_strings(src, kpath, &ncat, &cats) != GPA_OK)
    goto left_out;
  for (int64_t i = 0; i < in->n; i++) /* codes -1 .. ncat - 1 only */
    if (all[in->rows[i]] < -1 || all[in->rows[i]] >= ncat) goto left_out;
  for (int64_t i = 0; i < in->n; i++) codes[i] = all[in->rows[i]];
  GPA_CHECK_GOTO(rc, categorical(f, out, codes, in->n, (const char *const *)cats, ncat), done);
  *added = 1;
  goto done;
left_out:
  gpa_error_clear(); /* a column that cannot be copied is left out, as anndata would not read it */
done:
  gpa_free(&all);
  gpa_h5_free_strings(&cats, ncat);
  return rc;
}

/* A numeric obs column of the source file, for the output rows, as float64.  Left out
 * (*added 0) unless it holds one number per sample. */
static int copy_numeric(struct gpa_h5s *f, struct gpa_h5s *src, const struct gpa_integration *in,
                        const char *name, int *added) {
  char path[GPA_PATH_MAX];
  snprintf(path, sizeof path, "/obs/%s", name);
  struct gpa_h5_info info;
  double *all = NULL, *sub = NULL;
  int rc = GPA_OK;
  if (gpa_h5s_dataset_info(src, path, &info) != GPA_OK) goto left_out;
  if ((info.type_class != GPA_H5_FLOAT && info.type_class != GPA_H5_INTEGER) ||
      info.n != in->src.n_samples)
    goto done;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&all, (size_t)(info.n > 0 ? info.n : 1), sizeof *all), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&sub, (size_t)(in->n > 0 ? in->n : 1), sizeof *sub), done);
  if (gpa_h5s_read(src, path, GPA_H5_F64, info.n, all) != GPA_OK) goto left_out;
  for (int64_t i = 0; i < in->n; i++) sub[i] = all[in->rows[i]];
  GPA_CHECK_GOTO(rc, numbers(f, path, GPA_H5_F64, 1, &in->n, sub), done);
  *added = 1;
  goto done;
left_out:
  gpa_error_clear(); /* not a readable dataset: left out */
done:
  gpa_free(&all);
  gpa_free(&sub);
  return rc;
}

enum { MAX_COLUMNS = 64 };

/* The source file's obs columns (in name order; gpa_origin and gpa_label first), for the
 * output rows.  `names` keeps the names that `columns` points to. */
static int copy_source_columns(struct gpa_h5s *f, const struct gpa_integration *in, int32_t *codes,
                               const char **columns, int *n_columns, char ***names,
                               int64_t *n_names) {
  struct gpa_h5s src;
  if (gpa_h5s_open(&src, in->src.path, GPA_H5S_READ) != GPA_OK ||
      gpa_h5s_list(&src, "/obs", n_names, names) != GPA_OK) {
    gpa_error_clear(); /* no columns to copy */
    gpa_h5s_close(&src);
    return GPA_OK;
  }
  int rc = GPA_OK;
  for (int64_t c = 0; c < *n_names && *n_columns < MAX_COLUMNS; c++) {
    const char *name = (*names)[c];
    char path[GPA_PATH_MAX];
    /* names of 256 characters and more are left out, as before */
    if (strlen(name) >= 256 || !strcmp(name, "_index") || !strcmp(name, "__categories")) continue;
    snprintf(path, sizeof path, "/obs/%s", name);
    const int kind = gpa_h5s_kind(&src, path);
    if (kind == GPA_H5_UNREADABLE) continue; /* a dangling link */
    int added = 0;
    GPA_CHECK_GOTO(rc,
                   kind == GPA_H5_GROUP ? copy_categorical(f, &src, in, name, codes, &added)
                                        : copy_numeric(f, &src, in, name, &added),
                   done);
    if (added) columns[(*n_columns)++] = name;
  }
done:
  gpa_h5s_close(&src);
  return rc;
}

/* obs: index, gpa's own columns, and the source file's columns (one input file). */
static int write_obs(struct gpa_h5s *f, const struct gpa_integration *in) {
  const int64_t n = in->n;
  int32_t *codes = NULL;
  char **names = NULL;
  int64_t n_names = 0;
  const char *columns[MAX_COLUMNS] = {"gpa_origin", "gpa_label"};
  int n_columns = 2, rc;
  GPA_CHECK_GOTO(rc, group(f, "/obs", "dataframe", "0.2.0"), done);
  GPA_CHECK_GOTO(rc, write_obs_index(f, in), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&codes, (size_t)(n > 0 ? n : 1), sizeof *codes), done);
  for (int64_t i = 0; i < n; i++) codes[i] = i < in->n_src ? 0 : 1;
  const char *origin_names[2] = {"source", "target"};
  GPA_CHECK_GOTO(rc, categorical(f, "/obs/gpa_origin", codes, n, origin_names, 2), done);
  GPA_CHECK_GOTO(rc,
                 categorical(f, "/obs/gpa_label", in->label, n,
                             (const char *const *)in->label_names, in->n_labels),
                 done);
  if (in->same_file)
    GPA_CHECK_GOTO(rc, copy_source_columns(f, in, codes, columns, &n_columns, &names, &n_names),
                   done);
  GPA_CHECK_GOTO(rc, gpa_h5s_attr_text(f, "/obs", "_index", "_index"), done);
  GPA_CHECK_GOTO(rc, gpa_h5s_attr_texts(f, "/obs", "column-order", columns, n_columns), done);
done:
  gpa_h5_free_strings(&names, n_names);
  gpa_free(&codes);
  return rc;
}

/* ------------------------------------------------------------------------- rank 0: the rest */

/* var: the gene ids. */
static int write_var(struct gpa_h5s *f, const struct gpa_integration *in) {
  GPA_CHECK(group(f, "/var", "dataframe", "0.2.0"));
  GPA_CHECK(strings(f, "/var/_index", (const char *const *)in->genes, in->g));
  GPA_CHECK(gpa_h5s_attr_text(f, "/var", "_index", "_index"));
  return gpa_h5s_attr_texts(f, "/var", "column-order", NULL, 0);
}

/* obsm: the latent coordinates after (X_gpa) and before (X_pca) transport, [n][k]. */
static int write_obsm(struct gpa_h5s *f, const struct gpa_integration *in, const double *latent,
                      const double *before) {
  const int64_t dims[2] = {in->n, in->k};
  GPA_CHECK(group(f, "/obsm", "dict", "0.1.0"));
  GPA_CHECK(numbers(f, "/obsm/X_gpa", GPA_H5_F64, 2, dims, latent));
  return numbers(f, "/obsm/X_pca", GPA_H5_F64, 2, dims, before);
}

/* uns: the report, and the empty mappings anndata expects. */
static int write_uns(struct gpa_h5s *f, const char *json) {
  GPA_CHECK(group(f, "/uns", "dict", "0.1.0"));
  GPA_CHECK(gpa_h5s_write_text(f, "/uns/gpa_report", json));
  GPA_CHECK(encoding(f, "/uns/gpa_report", "string", "0.2.0"));
  const char *empty[] = {"/layers", "/obsp", "/varm", "/varp"};
  for (int i = 0; i < 4; i++) GPA_CHECK(group(f, empty[i], "dict", "0.1.0"));
  return GPA_OK;
}

/* The objects of write_annotations, in the order anndata writes them. */
static int write_objects(struct gpa_h5s *f, struct gpa_integration *in, const double *latent,
                         const double *before, const char *json) {
  GPA_CHECK(encoding(f, "/", "anndata", "0.1.0"));
  GPA_CHECK(encoding(f, "/X", "array", "0.2.0"));
  GPA_CHECK(write_obs(f, in));
  GPA_CHECK(write_var(f, in));
  GPA_CHECK(write_obsm(f, in, latent, before));
  return write_uns(f, json);
}

/* Rank 0: everything but X, added to the complete X at `path`. */
static int write_annotations(struct gpa_integration *in, const char *path, const double *latent,
                             const double *before, const char *json) {
  struct gpa_h5s f;
  if (gpa_h5s_open(&f, path, GPA_H5S_WRITE) != GPA_OK) {
    gpa_error_clear();
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot reopen", path);
  }
  int rc = write_objects(&f, in, latent, before, json);
  const int crc = gpa_h5s_close(&f);
  rc = rc != GPA_OK ? rc : crc; /* the first failure */
  if (rc != GPA_ERR_IO) return rc;
  gpa_error_clear(); /* one message for any write that failed */
  return GPA_ERROR(GPA_ERR_IO, "%s: cannot write the AnnData annotations", path);
}

/* ------------------------------------------------------------------------- the file */

/* Collective: the gathers of gather_latent. */
static int gather_rows(const struct gpa_integration *in, const int *counts, const int *displs,
                       double *latent, double *before) {
  const int mine = (int)(in->part.n_local * in->k);
  GPA_MPI(MPI_Gatherv(in->Zc, mine, MPI_DOUBLE, latent, counts, displs, MPI_DOUBLE, 0, in->comm));
  GPA_MPI(MPI_Gatherv(in->Z, mine, MPI_DOUBLE, before, counts, displs, MPI_DOUBLE, 0, in->comm));
  return GPA_OK;
}

/* Not collective: the counts and displacements of the gathers, and (rank 0) their buffers. */
static int gather_alloc(const struct gpa_integration *in, int **counts, int **displs,
                        double **latent, double **before) {
  const int64_t n = in->n, k = in->k;
  GPA_CHECK(gpa_alloc_array(counts, (size_t)in->size, sizeof **counts));
  GPA_CHECK(gpa_alloc_array(displs, (size_t)in->size, sizeof **displs));
  for (int r = 0; r < in->size; r++) {
    const struct gpa_block q = gpa_partition(n, r, in->size);
    (*counts)[r] = (int)(q.n_local * k);
    (*displs)[r] = (int)(q.offset * k);
  }
  if (in->rank != 0) return GPA_OK;
  GPA_CHECK(gpa_alloc_array(latent, (size_t)(n * k + 1), sizeof **latent));
  return gpa_alloc_array(before, (size_t)(n * k + 1), sizeof **before);
}

/* Collective: every latent row after (*latent) and before (*before) transport, [n][k] on rank
 * 0 (gpa_free them); NULL elsewhere. */
static int gather_latent(const struct gpa_integration *in, double **latent, double **before) {
  const int64_t n = in->n, k = in->k;
  if (n * k > INT_MAX) /* the same on every rank */
    return GPA_ERROR(GPA_ERR_INPUT,
                     "the .h5ad output: %lld samples x %lld components are more "
                     "latent values than one gather to rank 0 takes (%d)",
                     (long long)n, (long long)k, INT_MAX);
  int *counts = NULL, *displs = NULL, rc;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(in->comm, gather_alloc(in, &counts, &displs, latent, before)),
                 done);
  GPA_CHECK_GOTO(rc, gather_rows(in, counts, displs, *latent, *before), done);
done:
  gpa_free(&counts);
  gpa_free(&displs);
  return rc;
}

int gpa_integration_write_h5ad(struct gpa_integration *in, const char *path, const char *json) {
  struct gpa_h5 f;
  int rc = gpa_h5_create_staged(&f, in->comm, path);
  GPA_CHECK(gpa_h5_close_staged(
      &f, rc == GPA_OK ? gpa_h5_write_rows_f32(&f, "/X", in->Xc, in->part, in->g, NULL) : rc));
  double *latent = NULL, *before = NULL;
  GPA_CHECK_GOTO(rc, gather_latent(in, &latent, &before), done);
  if (in->rank == 0) {
    GPA_CHECK_GOTO(rc, write_annotations(in, f.path, latent, before, json), done);
    GPA_CHECK_GOTO(rc, gpa_io_commit(f.path, f.final), done);
  }
done:
  if (rc != GPA_OK && in->rank == 0) unlink(f.path);
  gpa_free(&latent);
  gpa_free(&before);
  return gpa_comm_agree(in->comm, rc);
}
