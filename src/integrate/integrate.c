/* gpa integrate: data, latent space, per-label transport, baseline and outputs. */
#include "gpa/integrate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpa/drive.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa/output.h"
#include "gpa/paths.h"
#include "gpa/solver.h"
#include "gpa_config.h"
#include "integration.h"

/* ------------------------------------------------------------------------- genes */

struct id_index {
  const char *id;
  int64_t index;
};

static int by_id(const void *a, const void *b) {
  return strcmp(((const struct id_index *)a)->id, ((const struct id_index *)b)->id);
}

/* The genes of the source that the target has too, in the source's order. */
static int match_genes(struct gpa_integration *in) {
  if (in->same_file) {
    in->g = in->src.n_genes;
    in->genes = in->src.gene_ids;
    return GPA_OK;
  }
  const int64_t ns = in->src.n_genes, nt = in->tgt.n_genes;
  struct id_index *t = malloc(sizeof *t * (size_t)(nt > 0 ? nt : 1));
  for (int64_t j = 0; j < nt; j++) t[j] = (struct id_index){in->tgt.gene_ids[j], j};
  qsort(t, (size_t)nt, sizeof *t, by_id);
  GPA_CHECK(gpa_alloc_array(&in->src_cols, (size_t)ns + 1, sizeof(int64_t)));
  GPA_CHECK(gpa_alloc_array(&in->tgt_cols, (size_t)ns + 1, sizeof(int64_t)));
  GPA_CHECK(gpa_alloc_array(&in->genes, (size_t)ns + 1, sizeof(char *)));
  int64_t g = 0;
  for (int64_t i = 0; i < ns; i++) {
    struct id_index key = {in->src.gene_ids[i], 0};
    struct id_index *hit = bsearch(&key, t, (size_t)nt, sizeof *t, by_id);
    if (!hit) continue;
    in->src_cols[g] = i;
    in->tgt_cols[g] = hit->index;
    in->genes[g] = in->src.gene_ids[i];
    g++;
  }
  free(t);
  in->g = g;
  if (g == 0)
    return GPA_ERROR(GPA_ERR_INPUT, "integrate: %s and %s share no gene ids", in->src.path,
                     in->tgt.path);
  if (in->rank == 0 && (g < ns || g < nt))
    printf("note: %lld genes are in both files (source %lld, target %lld); the others are "
           "left out\n",
           (long long)g, (long long)ns, (long long)nt);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- samples */

static int in_list(const struct gpa_int_list *l, int32_t code) {
  for (int i = 0; i < l->n; i++)
    if (l->v[i] == code) return 1;
  return 0;
}

/* Checks that every batch code asked for exists. */
static int check_batches(const struct gpa_dataset *ds, const struct gpa_int_list *l,
                         const char *key) {
  for (int i = 0; i < l->n; i++)
    if (l->v[i] >= ds->batch.n_names)
      return GPA_ERROR(GPA_ERR_INPUT, "integrate.%s: %s has no batch %lld (its %s column has "
                                      "codes 0 to %d)",
                       key, ds->path, (long long)l->v[i], ds->batch.key, ds->batch.n_names - 1);
  return GPA_OK;
}

/* Label index of `name`, added to the list when new. */
static int label_index(struct gpa_integration *in, const char *name) {
  for (int i = 0; i < in->n_labels; i++)
    if (strcmp(in->label_names[i], name) == 0) return i;
  in->label_names[in->n_labels] = strdup(name);
  return in->n_labels++;
}

/* Picks the pooled samples: the source's selected batches, then the target's. */
static int select_samples(struct gpa_integration *in) {
  const struct gpa_params *p = &in->p;
  struct gpa_dataset *ds[2] = {&in->src, in->same_file ? &in->src : &in->tgt};
  const struct gpa_int_list *lists[2] = {&p->integrate.source_batch, &p->integrate.target_batch};
  const char *keys[2] = {"source_batch", "target_batch"};
  if (in->same_file && (lists[0]->n == 0 || lists[1]->n == 0))
    return GPA_ERROR(GPA_ERR_INPUT, "integrate: source and target are the same file (%s): give "
                                    "integrate.source_batch and integrate.target_batch",
                     in->src.path);
  for (int s = 0; s < 2; s++) GPA_CHECK(check_batches(ds[s], lists[s], keys[s]));
  if (in->same_file)
    for (int i = 0; i < lists[0]->n; i++)
      if (in_list(lists[1], (int32_t)lists[0]->v[i]))
        return GPA_ERROR(GPA_ERR_INPUT, "integrate: batch %lld is both source and target",
                         (long long)lists[0]->v[i]);
  const int64_t cap = ds[0]->n_samples + (in->same_file ? 0 : ds[1]->n_samples);
  GPA_CHECK(gpa_alloc_array(&in->rows, (size_t)cap + 1, sizeof(int64_t)));
  GPA_CHECK(gpa_alloc_array(&in->label, (size_t)cap + 1, sizeof(int32_t)));
  GPA_CHECK(gpa_alloc_array(&in->batch, (size_t)cap + 1, sizeof(int32_t)));
  int max_labels = 1 + ds[0]->label.n_names + ds[1]->label.n_names;
  GPA_CHECK(gpa_alloc_array(&in->label_names, (size_t)max_labels, sizeof(char *)));
  int64_t n = 0, missing = 0;
  for (int s = 0; s < 2; s++) {
    const struct gpa_dataset *d = ds[s];
    for (int64_t i = 0; i < d->n_samples; i++) {
      int32_t b = d->batch.codes[i];
      if (lists[s]->n > 0 && !in_list(lists[s], b)) continue;
      int lab = 0;
      if (d->label.codes) {
        if (d->label.codes[i] < 0) {
          missing++;
          continue;
        }
        lab = label_index(in, d->label.names[d->label.codes[i]]);
      } else if (in->n_labels == 0) {
        label_index(in, "all");
      }
      in->rows[n] = i;
      in->label[n] = lab;
      in->batch[n] = b;
      n++;
    }
    if (s == 0) in->n_src = n;
  }
  in->n = n;
  in->n_tgt = n - in->n_src;
  if (in->rank == 0 && missing)
    printf("note: %lld selected samples have no %s and are left out\n", (long long)missing,
           p->integrate.label_key);
  if (in->n_src == 0 || in->n_tgt == 0)
    return GPA_ERROR(GPA_ERR_INPUT, "integrate: the selection holds %lld source and %lld target "
                                    "samples",
                     (long long)in->n_src, (long long)in->n_tgt);
  for (int c = 0; c < in->n_labels; c++) {
    int64_t cs = 0, ct = 0;
    for (int64_t i = 0; i < n; i++)
      if (in->label[i] == c) *(i < in->n_src ? &cs : &ct) += 1;
    if (cs == 0 || ct == 0)
      return GPA_ERROR(GPA_ERR_INPUT, "integrate: label '%s' has %lld source and %lld target "
                                      "samples; every label needs both (choose "
                                      "integrate.label_key, or leave it \"\")",
                       in->label_names[c], (long long)cs, (long long)ct);
  }
  return GPA_OK;
}

/* ------------------------------------------------------------------------- data */

/* Reads this rank's pooled samples: its source rows from the source file, its target rows
 * from the target file. */
static int read_data(struct gpa_integration *in) {
  const int64_t lo = in->part.offset, nl = in->part.n_local, g = in->g;
  GPA_CHECK(gpa_alloc_array(&in->X, (size_t)(nl * g + 1), sizeof(float)));
  int64_t ns = 0; /* source rows among mine */
  while (ns < nl && lo + ns < in->n_src) ns++;
  GPA_CHECK(gpa_dataset_read_rows(in->comm, &in->src, in->rows + lo, ns, in->src_cols, g, in->X));
  const struct gpa_dataset *t = in->same_file ? &in->src : &in->tgt;
  return gpa_dataset_read_rows(in->comm, t, in->rows + lo + ns, nl - ns,
                               in->same_file ? NULL : in->tgt_cols, g, in->X + ns * g);
}

/* The paper's baseline: per label and gene, source values moved to the target's mean and
 * standard deviation, x' = (x - mean_S) / std_S * std_T + mean_T. */
static int baseline(struct gpa_integration *in) {
  const int64_t g = in->g, nl = in->part.n_local, L = in->n_labels;
  double *st; /* [L][4][g]: sum and sum of squares, source then target */
  GPA_CHECK(gpa_alloc_array(&st, (size_t)(L * 4 * g), sizeof(double)));
  double *cnt;
  GPA_CHECK(gpa_alloc_array(&cnt, (size_t)(L * 2), sizeof(double)));
  for (int64_t i = 0; i < nl; i++) {
    const int64_t gi = in->part.offset + i;
    const int side = gi < in->n_src ? 0 : 1;
    double *s = st + (in->label[gi] * 4 + 2 * side) * g;
    const float *x = in->X + i * g;
    for (int64_t j = 0; j < g; j++) {
      s[j] += x[j];
      s[g + j] += (double)x[j] * x[j];
    }
    cnt[in->label[gi] * 2 + side] += 1;
  }
  int rc = gpa_allreduce_sum(in->comm, st, L * 4 * g);
  if (rc == GPA_OK) rc = gpa_allreduce_sum(in->comm, cnt, L * 2);
  if (rc == GPA_OK) rc = gpa_alloc_array(&in->Xb, (size_t)(nl * g + 1), sizeof(float));
  for (int64_t i = 0; i < nl && rc == GPA_OK; i++) {
    const int64_t gi = in->part.offset + i;
    const float *x = in->X + i * g;
    float *y = in->Xb + i * g;
    if (gi >= in->n_src) {
      memcpy(y, x, sizeof(float) * (size_t)g);
      continue;
    }
    const int c = in->label[gi];
    const double ns = cnt[c * 2], nt = cnt[c * 2 + 1];
    const double *ss = st + (c * 4) * g, *ts = st + (c * 4 + 2) * g;
    for (int64_t j = 0; j < g; j++) {
      double ms = ss[j] / ns, mt = ts[j] / nt;
      double vs = ns > 1 ? (ss[g + j] - ns * ms * ms) / (ns - 1) : 0.0;
      double vt = nt > 1 ? (ts[g + j] - nt * mt * mt) / (nt - 1) : 0.0;
      double sd_s = vs > 0 ? sqrt(vs) : 0.0, sd_t = vt > 0 ? sqrt(vt) : 0.0;
      y[j] = (float)(sd_s > 0 ? (x[j] - ms) / sd_s * sd_t + mt : x[j] - ms + mt);
    }
  }
  gpa_free(&st);
  gpa_free(&cnt);
  return rc;
}

/* ------------------------------------------------------------------------- transport */

/* A name that can stand in a file name. */
static void file_safe(const char *name, char *out, size_t size) {
  size_t j = 0;
  for (const char *c = name; *c && j + 1 < size; c++)
    out[j++] = isalnum((unsigned char)*c) || *c == '-' ? *c : '_';
  out[j] = '\0';
}

/* Transports label c's source samples onto its target samples in the latent space, with the
 * deck's network, divergence, optimizer and transport settings, writing the label's run file;
 * the moved latent points go to Zc (PCA units). */
static int transport_label(struct gpa_integration *in, int c, int quiet) {
  const int64_t k = in->k, nl = in->part.n_local;
  const double scale = in->p.integrate.latent_scale;
  double *y, *x;
  int64_t ny = 0, nx = 0;
  GPA_CHECK(gpa_alloc_array(&y, (size_t)(nl * k + 1), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&x, (size_t)(nl * k + 1), sizeof(double)));
  for (int64_t i = 0; i < nl; i++) {
    const int64_t gi = in->part.offset + i;
    if (in->label[gi] != c) continue;
    double *dst = gi < in->n_src ? y + (ny++) * k : x + (nx++) * k;
    for (int64_t j = 0; j < k; j++) dst[j] = in->Z[i * k + j] / scale;
  }
  /* Where this rank's points sit in the label's global order. */
  long long mine[2] = {ny, nx}, before[2] = {0, 0}, total[2];
  GPA_MPI(MPI_Exscan(mine, before, 2, MPI_LONG_LONG, MPI_SUM, in->comm));
  GPA_MPI(MPI_Allreduce(mine, total, 2, MPI_LONG_LONG, MPI_SUM, in->comm));
  if (in->rank == 0) before[0] = before[1] = 0;
  struct gpa_part pp = {total[0], ny, before[0]}, tp = {total[1], nx, before[1]};
  /* The label's settings: latent samples of this run, its own run file. */
  struct gpa_params p = in->p;
  p.source.kind = p.target.kind = GPA_DIST_FILE;
  p.source.n = total[0];
  p.target.n = total[1];
  p.source.dim = p.target.dim = k;
  snprintf(p.source.file, sizeof p.source.file, "%s", in->p.output.file);
  snprintf(p.target.file, sizeof p.target.file, "%s", in->p.output.file);
  snprintf(p.source.dataset, sizeof p.source.dataset, "/latent_before");
  snprintf(p.target.dataset, sizeof p.target.dataset, "/latent_before");
  char safe[128], stem[GPA_PATH_MAX];
  file_safe(in->label_names[c], safe, sizeof safe);
  snprintf(stem, sizeof stem, "%s", in->p.output.file);
  size_t sl = strlen(stem);
  if (sl > 3 && strcmp(stem + sl - 3, ".h5") == 0) stem[sl - 3] = '\0';
  snprintf(p.output.file, sizeof p.output.file, "%.800s.%.100s.h5", stem, safe);
  snprintf(p.output.checkpoint_file, sizeof p.output.checkpoint_file, "%.800s.%.100s.ckpt.h5", stem,
           safe);
  p.output.checkpoint_every = 0;
  snprintf(in->run_files[c], GPA_PATH_MAX, "%s", p.output.file);
  if (in->rank == 0 && !quiet)
    printf("label %s: %lld source -> %lld target samples in R^%lld (run file %s)\n",
           in->label_names[c], (long long)total[0], (long long)total[1], (long long)k,
           p.output.file);
  struct gpa_solver s;
  int rc = gpa_comm_agree(in->comm, gpa_solver_setup_data(&s, in->comm, &p, k, y, pp, x, tp));
  struct gpa_runfile out;
  memset(&out, 0, sizeof out);
  if (rc == GPA_OK) rc = gpa_comm_agree(in->comm, gpa_output_begin(&out, &s));
  struct gpa_drive d = {.quiet = quiet, .interruptible = 0, .started = MPI_Wtime()};
  double t0 = MPI_Wtime();
  if (rc == GPA_OK) rc = gpa_drive_run(&s, &out, &d);
  if (rc) gpa_output_abort(&out);
  if (rc == GPA_OK && d.diverged) rc = GPA_ERROR(GPA_ERR_DIVERGED, "label %s: %s",
                                                 in->label_names[c], d.status);
  if (rc == GPA_OK) {
    in->seconds_gpa += MPI_Wtime() - t0;
    in->steps_total += s.step;
    int64_t a = 0;
    for (int64_t i = 0; i < nl; i++) {
      const int64_t gi = in->part.offset + i;
      if (in->label[gi] != c || gi >= in->n_src) continue;
      for (int64_t j = 0; j < k; j++) in->Zc[i * k + j] = s.y[a * k + j] * scale;
      a++;
    }
  }
  gpa_solver_destroy(&s);
  gpa_free(&y);
  gpa_free(&x);
  return rc;
}

/* ------------------------------------------------------------------------- output */

static int write_output(struct gpa_integration *in, const char *report_json) {
  const struct gpa_params *p = &in->p;
  char tmp[GPA_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.tmp", p->output.file);
  struct gpa_h5 f;
  GPA_CHECK(gpa_h5_create(&f, in->comm, tmp));
  const int64_t n = in->n, g = in->g, k = in->k;
  struct gpa_part src_part = in->part;
  int rc = GPA_OK;
#define TRY(expr) \
  if (rc == GPA_OK) rc = (expr)
  TRY(gpa_h5_attr_string(&f, "/", "format", "gpa-integrated"));
  TRY(gpa_h5_attr_string(&f, "/", "layout_version", "1"));
  TRY(gpa_h5_attr_string(&f, "/", "source_file", in->src.path));
  TRY(gpa_h5_attr_string(&f, "/", "target_file", in->same_file ? in->src.path : in->tgt.path));
  TRY(gpa_h5_attr_string(&f, "/", "description",
                         "rows: the source samples, corrected by per-label GPA transport in the "
                         "PCA latent space, then the target samples as they were"));
  TRY(gpa_h5_write_parameters(&f, p));
  TRY(gpa_h5_write_code(&f));
  TRY(gpa_h5_write_rows_f32(&f, "/X", in->Xc, src_part, g,
                            "expression [sample][gene]: corrected source rows, then target rows"));
  TRY(gpa_h5_write_rows_f32(&f, "/baseline/X", in->Xb, src_part, g,
                            "the baseline: source rows moved to the target's mean and standard "
                            "deviation per label and gene, then target rows"));
  TRY(gpa_h5_write_rows(&f, "/latent", in->Zc, src_part, k,
                        "latent coordinates (PCA units) after transport"));
  TRY(gpa_h5_write_rows(&f, "/latent_before", in->Z, src_part, k,
                        "latent coordinates (PCA units) before transport"));
  TRY(gpa_h5_write_i32(&f, "/obs/label", in->label, n, "label code of each row"));
  TRY(gpa_h5_write_strings(&f, "/obs/label_names", in->label_names, in->n_labels, NULL));
  int32_t *origin = malloc(sizeof(int32_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) origin[i] = i < in->n_src ? 0 : 1;
  char *origin_names[2] = {"source", "target"};
  TRY(gpa_h5_write_i32(&f, "/obs/origin", origin, n, "0: source (corrected), 1: target"));
  TRY(gpa_h5_write_strings(&f, "/obs/origin_names", origin_names, 2, NULL));
  if (in->same_file) {
    TRY(gpa_h5_write_i32(&f, "/obs/batch", in->batch, n, "batch code in the input file"));
    TRY(gpa_h5_write_strings(&f, "/obs/batch_names", in->src.batch.names, in->src.batch.n_names,
                             NULL));
  } else {
    TRY(gpa_h5_write_i32(&f, "/obs/batch", origin, n, "0: source file, 1: target file"));
    TRY(gpa_h5_write_strings(&f, "/obs/batch_names", origin_names, 2, NULL));
  }
  free(origin);
  const struct gpa_dataset *t = in->same_file ? &in->src : &in->tgt;
  if (in->src.sample_ids && t->sample_ids) {
    char **ids = malloc(sizeof(char *) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++)
      ids[i] = i < in->n_src ? in->src.sample_ids[in->rows[i]] : t->sample_ids[in->rows[i]];
    TRY(gpa_h5_write_strings(&f, "/obs/sample_ids", ids, n, NULL));
    free(ids);
  }
  TRY(gpa_h5_write_strings(&f, "/var/gene_ids", in->genes, g, NULL));
  TRY(gpa_h5_write_f64(&f, "/pca/mean", in->pca.mean, g, "gene means of the pooled samples", NULL));
  TRY(gpa_h5_write_f64(&f, "/pca/components", in->pca.components, k * g,
                       "principal axes [component][gene], row-major", NULL));
  int64_t shape[2] = {k, g};
  TRY(gpa_h5_attr_i64(&f, "/pca/components", "shape", shape, 2));
  TRY(gpa_h5_write_f64(&f, "/pca/singular_values", in->pca.singular_values, k, NULL, NULL));
  TRY(gpa_h5_write_f64(&f, "/pca/explained_variance_ratio", in->pca.explained, k, NULL, NULL));
  TRY(gpa_h5_attr_f64(&f, "/pca", "latent_scale", &p->integrate.latent_scale, 1));
  char *files[256];
  for (int c = 0; c < in->n_labels && c < 256; c++) files[c] = in->run_files[c];
  TRY(gpa_h5_write_strings(&f, "/labels/run_files", files, in->n_labels < 256 ? in->n_labels : 256,
                           "run file of each label's transport (its learned field in /field)"));
  TRY(gpa_h5_attr_string(&f, "/", "report", report_json));
#undef TRY
  int crc = gpa_h5_close(&f);
  if (rc == GPA_OK) rc = crc;
  if (in->rank == 0) {
    if (rc == GPA_OK) rc = gpa_io_commit(tmp, p->output.file);
    if (rc) unlink(tmp);
  }
  return gpa_comm_agree(in->comm, rc);
}

static int write_json(struct gpa_integration *in, const char *path, const char *json) {
  int rc = GPA_OK;
  if (in->rank == 0) {
    char tmp[GPA_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(json, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) rc = GPA_ERROR(GPA_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (rc == GPA_OK) rc = gpa_io_commit(tmp, path);
    if (rc) unlink(tmp);
  }
  return gpa_comm_agree(in->comm, rc);
}

/* ------------------------------------------------------------------------- the command */

static void destroy(struct gpa_integration *in) {
  if (!in->same_file) {
    gpa_dataset_close(&in->tgt);
    gpa_free(&in->genes);
  }
  gpa_dataset_close(&in->src);
  gpa_free(&in->src_cols);
  gpa_free(&in->tgt_cols);
  gpa_free(&in->rows);
  gpa_free(&in->label);
  gpa_free(&in->batch);
  for (int c = 0; c < in->n_labels; c++) free(in->label_names[c]);
  gpa_free(&in->label_names);
  gpa_free(&in->X);
  gpa_free(&in->Xc);
  gpa_free(&in->Xb);
  gpa_free(&in->Z);
  gpa_free(&in->Zc);
  gpa_free(&in->run_files);
  gpa_pca_destroy(&in->pca);
}

static double peak_memory_mb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_maxrss / 1024.0;
}

static int integrate(struct gpa_integration *in, const struct gpa_integrate_opts *opts,
                     const struct gpa_deck *deck) {
  const struct gpa_params *p = &in->p;
  const int quiet = opts->quiet;
  /* Data. */
  GPA_CHECK(gpa_dataset_open(in->comm, p->integrate.source_file, p->integrate.batch_key,
                             p->integrate.label_key, &in->src));
  in->same_file = !p->integrate.target_file[0] ||
                  strcmp(p->integrate.target_file, p->integrate.source_file) == 0;
  if (!in->same_file)
    GPA_CHECK(gpa_dataset_open(in->comm, p->integrate.target_file, p->integrate.batch_key,
                               p->integrate.label_key, &in->tgt));
  GPA_CHECK(match_genes(in));
  GPA_CHECK(select_samples(in));
  /* k: the default is lowered to what the samples allow; a k asked for must fit. */
  int64_t kmax = in->n - 1 < in->g ? in->n - 1 : in->g;
  in->k = (int)p->integrate.components;
  int ik = -1;
  for (int i = 0; i < gpa_params_count(); i++)
    if (!strcmp(gpa_params_section(i), "integrate") && !strcmp(gpa_params_key(i), "components"))
      ik = i;
  if (in->k > kmax) {
    if (deck->origin[ik] != GPA_FROM_DEFAULT)
      return GPA_ERROR(GPA_ERR_INPUT, "integrate.components: %d components need at least %d "
                                      "samples and genes; the selection has %lld samples and "
                                      "%lld genes",
                       in->k, in->k + 1, (long long)in->n, (long long)in->g);
    in->k = (int)kmax;
  }
  if (in->k < 1)
    return GPA_ERROR(GPA_ERR_INPUT, "integrate: %lld samples are too few for a latent space",
                     (long long)in->n);
  in->part = gpa_partition(in->n, in->rank, in->size);
  if (in->rank == 0 && !quiet)
    printf("gpa %s integrate: %lld source + %lld target samples, %lld genes, %d label%s, k = %d, "
           "%d rank%s\n",
           GPA_VERSION, (long long)in->n_src, (long long)in->n_tgt, (long long)in->g,
           in->n_labels, in->n_labels > 1 ? "s" : "", in->k, in->size, in->size > 1 ? "s" : "");
  GPA_CHECK(read_data(in));
  /* Latent space. */
  double t0 = MPI_Wtime();
  GPA_CHECK(gpa_pca_compute(in->comm, in->X, in->part, in->g, in->k, p->integrate.pca,
                            (int)p->integrate.pca_oversample,
                            (int)p->integrate.pca_power_iterations, (uint64_t)p->run.seed,
                            &in->pca));
  in->seconds_pca = MPI_Wtime() - t0;
  /* Timings are the slowest rank's: every rank then writes the same report attribute (HDF5
   * metadata must be identical on all ranks, or the collective close deadlocks). */
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, &in->seconds_pca, 1, MPI_DOUBLE, MPI_MAX, in->comm));
  const int64_t nl = in->part.n_local, k = in->k, g = in->g;
  if (in->rank == 0 && !quiet) {
    double ev = 0;
    for (int i = 0; i < k; i++) ev += in->pca.explained[i];
    printf("PCA (%s): %d components explain %.1f%% of the variance (first: %.1f%%), %.2f s\n",
           in->pca.method == GPA_PCA_DENSE ? "dense, ScaLAPACK" : "randomized", in->k, 100 * ev,
           100 * in->pca.explained[0], in->seconds_pca);
  }
  GPA_CHECK(gpa_alloc_array(&in->Z, (size_t)(nl * k + 1), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&in->Zc, (size_t)(nl * k + 1), sizeof(double)));
  gpa_pca_encode(&in->pca, in->X, nl, 1.0, in->Z);
  memcpy(in->Zc, in->Z, sizeof(double) * (size_t)(nl * k));
  /* Transport, label by label. */
  GPA_CHECK(gpa_alloc_array(&in->run_files, (size_t)in->n_labels, GPA_PATH_MAX));
  for (int c = 0; c < in->n_labels; c++) GPA_CHECK(transport_label(in, c, quiet));
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, &in->seconds_gpa, 1, MPI_DOUBLE, MPI_MAX, in->comm));
  in->seconds_per_step = in->steps_total ? in->seconds_gpa / (double)in->steps_total : 0.0;
  /* Corrected matrix: decoded source rows, target rows as they were. */
  GPA_CHECK(gpa_alloc_array(&in->Xc, (size_t)(nl * g + 1), sizeof(float)));
  memcpy(in->Xc, in->X, sizeof(float) * (size_t)(nl * g));
  double *dz, *shift;
  GPA_CHECK(gpa_alloc_array(&dz, (size_t)k, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&shift, (size_t)g, sizeof(double)));
  for (int64_t i = 0; i < nl; i++) {
    if (in->part.offset + i >= in->n_src) continue;
    if (!p->integrate.keep_residual) { /* the paper: the decoded latent point */
      gpa_pca_decode(&in->pca, in->Zc + i * k, 1, 1.0, in->Xc + i * g);
      continue;
    }
    /* The sample moved by its latent displacement; its part outside the latent space stays. */
    for (int64_t j = 0; j < k; j++) dz[j] = in->Zc[i * k + j] - in->Z[i * k + j];
    gpa_gemv('T', k, g, 1.0, in->pca.components, g, dz, 0.0, shift);
    for (int64_t j = 0; j < g; j++) in->Xc[i * g + j] = (float)(in->X[i * g + j] + shift[j]);
  }
  gpa_free(&dz);
  gpa_free(&shift);
  GPA_CHECK(baseline(in));
  /* Report and outputs. */
  char *json = NULL;
  GPA_CHECK(gpa_integration_report(in, quiet ? NULL : stdout, &json));
  char report[GPA_PATH_MAX + 16];
  if (opts->report) {
    snprintf(report, sizeof report, "%s", opts->report);
  } else {
    snprintf(report, sizeof report, "%s", p->output.file);
    size_t sl = strlen(report);
    if (sl > 3 && strcmp(report + sl - 3, ".h5") == 0) report[sl - 3] = '\0';
    strcat(report, ".report.json");
  }
  int rc = write_json(in, report, json);
  if (rc == GPA_OK) rc = write_output(in, json);
  char h5ad[GPA_PATH_MAX + 16] = "";
  if (rc == GPA_OK && in->src.format == GPA_DATA_H5AD) { /* an .h5ad beside, for AnnData users */
    snprintf(h5ad, sizeof h5ad, "%s", p->output.file);
    size_t sl = strlen(h5ad);
    if (sl > 3 && strcmp(h5ad + sl - 3, ".h5") == 0) h5ad[sl - 3] = '\0';
    strcat(h5ad, ".h5ad");
    struct stat a, b;
    if (stat(h5ad, &a) == 0 && stat(in->src.path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s: the AnnData output would overwrite the input; choose "
                                    "another --output", h5ad);
    else
      rc = gpa_integration_write_h5ad(in, h5ad, json);
  }
  gpa_free(&json);
  double mem = peak_memory_mb(), mem_max = 0, mem_min = 0;
  MPI_Allreduce(&mem, &mem_max, 1, MPI_DOUBLE, MPI_MAX, in->comm);
  MPI_Allreduce(&mem, &mem_min, 1, MPI_DOUBLE, MPI_MIN, in->comm);
  if (rc == GPA_OK && in->rank == 0 && !quiet)
    printf("PCA %.2f s; GPA %.2f s for %lld steps (%.3f ms/step); peak memory per rank "
           "%.0f-%.0f MB\nwrote %s, %s%s%s\n",
           in->seconds_pca, in->seconds_gpa, (long long)in->steps_total,
           1e3 * in->seconds_per_step, mem_min, mem_max, p->output.file, report,
           h5ad[0] ? ", " : "", h5ad);
  return rc;
}

/* `stem` + `ext`, where stem is `path` without a final ".h5". */
static void beside(const char *path, const char *ext, char *out, size_t size) {
  snprintf(out, size, "%s", path);
  size_t len = strlen(out);
  if (len > 3 && strcmp(out + len - 3, ".h5") == 0) out[len - 3] = '\0';
  if (strlen(out) + strlen(ext) < size) strcat(out, ext);
}

/* The files of `gpa integrate`, checked and the output locked before anything is read. */
static int integrate_files(MPI_Comm comm, const struct gpa_integrate_opts *opts,
                           const struct gpa_params *p, struct gpa_lock *lock) {
  char report[GPA_PATH_MAX + 16], h5ad[GPA_PATH_MAX + 16];
  if (opts->report)
    snprintf(report, sizeof report, "%s", opts->report);
  else
    beside(p->output.file, ".report.json", report, sizeof report);
  beside(p->output.file, ".h5ad", h5ad, sizeof h5ad);
  struct gpa_paths pp;
  memset(&pp, 0, sizeof pp);
  gpa_paths_input(&pp, opts->deck_path, "deck");
  gpa_paths_input(&pp, p->integrate.source_file, "integrate.source_file");
  gpa_paths_input(&pp, p->integrate.target_file, "integrate.target_file");
  gpa_paths_output(&pp, p->output.file, "output.file");
  gpa_paths_output(&pp, report, "--report");
  const char *src = p->integrate.source_file;
  const size_t sl = strlen(src);
  if (sl > 5 && strcmp(src + sl - 5, ".h5ad") == 0) gpa_paths_output(&pp, h5ad, "the .h5ad output");
  GPA_CHECK(gpa_paths_check(comm, &pp));
  return gpa_paths_lock(comm, p->output.file, lock);
}

int gpa_integrate(MPI_Comm comm, const struct gpa_deck *deck,
                  const struct gpa_integrate_opts *opts) {
  struct gpa_integration in;
  memset(&in, 0, sizeof in);
  in.comm = comm;
  GPA_MPI(MPI_Comm_rank(comm, &in.rank));
  GPA_MPI(MPI_Comm_size(comm, &in.size));
  in.p = deck->p;
  if (!in.p.integrate.source_file[0])
    return GPA_ERROR(GPA_ERR_INPUT, "%s: integrate.source_file: gpa integrate needs a data file",
                     deck->path[0] ? deck->path : "the deck");
  struct gpa_lock lock = {-1, ""};
  int rc = integrate_files(comm, opts, &in.p, &lock);
  if (rc == GPA_OK) {
    gpa_linalg_setup(in.p.run.flush_denormals, 0);
    rc = integrate(&in, opts, deck);
  }
  gpa_paths_unlock(&lock);
  destroy(&in);
  return rc;
}
