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
#include "gpa/provenance.h"
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
  struct id_index *t = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&t, (size_t)(nt > 0 ? nt : 1), sizeof *t), done);
  for (int64_t j = 0; j < nt; j++) t[j] = (struct id_index){in->tgt.gene_ids[j], j};
  qsort(t, (size_t)nt, sizeof *t, by_id);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&in->src_cols, (size_t)ns + 1, sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&in->tgt_cols, (size_t)ns + 1, sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&in->genes, (size_t)ns + 1, sizeof(char *)), done);
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
  in->g = g;
  if (g == 0) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "integrate: %s and %s share no gene ids", in->src.path,
                   in->tgt.path);
    goto done;
  }
  if (in->rank == 0 && (g < ns || g < nt))
    printf(
        "note: %lld genes are in both files (source %lld, target %lld); the others are "
        "left out\n",
        (long long)g, (long long)ns, (long long)nt);
done:
  gpa_free(&t);
  return rc;
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
      return GPA_ERROR(GPA_ERR_INPUT,
                       "integrate.%s: %s has no batch %lld (its %s column has "
                       "codes 0 to %d)",
                       key, ds->path, (long long)l->v[i], ds->batch.key, ds->batch.n_names - 1);
  return GPA_OK;
}

/* *index = the label index of `name`, added to the list when new. */
static int label_index(struct gpa_integration *in, const char *name, int *index) {
  for (int i = 0; i < in->n_labels; i++)
    if (strcmp(in->label_names[i], name) == 0) {
      *index = i;
      return GPA_OK;
    }
  const size_t size = strlen(name) + 1;
  GPA_CHECK(gpa_alloc(&in->label_names[in->n_labels], size));
  memcpy(in->label_names[in->n_labels], name, size);
  *index = in->n_labels++;
  return GPA_OK;
}

/* The selection's batch lists against the files: batches that exist, and for one file two
 * lists given without a batch in both. */
static int check_selection(const struct gpa_integration *in, struct gpa_dataset *const ds[2],
                           const struct gpa_int_list *const lists[2]) {
  const char *keys[2] = {"source_batch", "target_batch"};
  if (in->same_file && (lists[0]->n == 0 || lists[1]->n == 0))
    return GPA_ERROR(GPA_ERR_INPUT,
                     "integrate: source and target are the same file (%s): give "
                     "integrate.source_batch and integrate.target_batch",
                     in->src.path);
  for (int s = 0; s < 2; s++) GPA_CHECK(check_batches(ds[s], lists[s], keys[s]));
  if (in->same_file)
    for (int i = 0; i < lists[0]->n; i++)
      if (in_list(lists[1], (int32_t)lists[0]->v[i]))
        return GPA_ERROR(GPA_ERR_INPUT, "integrate: batch %lld is both source and target",
                         (long long)lists[0]->v[i]);
  return GPA_OK;
}

/* Pools the selected samples, the source's then the target's: their rows, labels and batches;
 * *missing counts those left out for want of a label. */
static int pool_samples(struct gpa_integration *in, struct gpa_dataset *const ds[2],
                        const struct gpa_int_list *const lists[2], int64_t *missing) {
  const int64_t cap = ds[0]->n_samples + (in->same_file ? 0 : ds[1]->n_samples);
  GPA_CHECK(gpa_alloc_array(&in->rows, (size_t)cap + 1, sizeof(int64_t)));
  GPA_CHECK(gpa_alloc_array(&in->label, (size_t)cap + 1, sizeof(int32_t)));
  GPA_CHECK(gpa_alloc_array(&in->batch, (size_t)cap + 1, sizeof(int32_t)));
  int max_labels = 1 + ds[0]->label.n_names + ds[1]->label.n_names;
  GPA_CHECK(gpa_alloc_array(&in->label_names, (size_t)max_labels, sizeof(char *)));
  int64_t n = 0;
  *missing = 0;
  for (int s = 0; s < 2; s++) {
    const struct gpa_dataset *d = ds[s];
    for (int64_t i = 0; i < d->n_samples; i++) {
      int32_t b = d->batch.codes[i];
      if (lists[s]->n > 0 && !in_list(lists[s], b)) continue;
      int lab = 0;
      if (d->label.codes) {
        if (d->label.codes[i] < 0) {
          (*missing)++;
          continue;
        }
        GPA_CHECK(label_index(in, d->label.names[d->label.codes[i]], &lab));
      } else if (in->n_labels == 0) {
        GPA_CHECK(label_index(in, "all", &lab));
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
  return GPA_OK;
}

/* Every label needs source and target samples. */
static void label_stem(const struct gpa_integration *in, int c, char safe[101]);

/* Every label has source and target samples, and a file-safe name of its own (its run file
 * OUT.NAME.h5 and its rows /runs/NAME). */
static int check_labels(const struct gpa_integration *in) {
  for (int c = 0; c < in->n_labels; c++) {
    char a[101], b[101];
    label_stem(in, c, a);
    for (int d = 0; d < c; d++) {
      label_stem(in, d, b);
      if (strcmp(a, b) == 0)
        return GPA_ERROR(GPA_ERR_INPUT,
                         "integrate: labels '%s' and '%s' have the same file name '%s' (their "
                         "run files keep letters, digits and '-'); rename one in the data",
                         in->label_names[d], in->label_names[c], a);
    }
  }
  for (int c = 0; c < in->n_labels; c++) {
    int64_t cs = 0, ct = 0;
    for (int64_t i = 0; i < in->n; i++)
      if (in->label[i] == c) *(i < in->n_src ? &cs : &ct) += 1;
    if (cs == 0 || ct == 0)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "integrate: label '%s' has %lld source and %lld target "
                       "samples; every label needs both (choose "
                       "integrate.label_key, or leave it \"\")",
                       in->label_names[c], (long long)cs, (long long)ct);
  }
  return GPA_OK;
}

/* Picks the pooled samples: the source's selected batches, then the target's. */
static int select_samples(struct gpa_integration *in) {
  const struct gpa_params *p = &in->p;
  struct gpa_dataset *const ds[2] = {&in->src, in->same_file ? &in->src : &in->tgt};
  const struct gpa_int_list *const lists[2] = {&p->integrate.source_batch,
                                               &p->integrate.target_batch};
  GPA_CHECK(check_selection(in, ds, lists));
  int64_t missing = 0;
  GPA_CHECK(pool_samples(in, ds, lists, &missing));
  if (in->rank == 0 && missing)
    printf("note: %lld selected samples have no %s and are left out\n", (long long)missing,
           p->integrate.label_key);
  if (in->n_src == 0 || in->n_tgt == 0)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "integrate: the selection holds %lld source and %lld target "
                     "samples",
                     (long long)in->n_src, (long long)in->n_tgt);
  return check_labels(in);
}

/* The pair code (obs column integrate.pair_key of the source file) of each pooled source
 * sample.  Collective. */
static int read_pairs(struct gpa_integration *in) {
  if (!in->p.integrate.pair_key[0]) return GPA_OK;
  struct gpa_category c;
  GPA_CHECK(gpa_dataset_read_column(in->comm, &in->src, in->p.integrate.pair_key, &c));
  int rc = gpa_alloc_array(&in->pair, (size_t)in->n + 1, sizeof(int32_t));
  for (int64_t i = 0; rc == GPA_OK && i < in->n; i++)
    in->pair[i] = i < in->n_src ? c.codes[in->rows[i]] : -1;
  gpa_dataset_free_column(&c);
  return rc;
}

/* The data files opened, their genes matched, the samples pooled and their pair codes read. */
static int prepare_samples(struct gpa_integration *in) {
  const struct gpa_params *p = &in->p;
  GPA_CHECK(gpa_dataset_open(in->comm, p->integrate.source_file, p->integrate.batch_key,
                             p->integrate.label_key, &in->src));
  in->same_file = !p->integrate.target_file[0] ||
                  strcmp(p->integrate.target_file, p->integrate.source_file) == 0;
  if (!in->same_file)
    GPA_CHECK(gpa_dataset_open(in->comm, p->integrate.target_file, p->integrate.batch_key,
                               p->integrate.label_key, &in->tgt));
  GPA_CHECK(match_genes(in));
  GPA_CHECK(select_samples(in));
  return read_pairs(in);
}

/* k: the default is lowered to what the samples allow; a k asked for must fit. */
static int choose_k(struct gpa_integration *in, const struct gpa_deck *deck) {
  const int64_t kmax = in->n - 1 < in->g ? in->n - 1 : in->g;
  in->k = (int)in->p.integrate.components;
  if (in->k > kmax) {
    if (gpa_deck_is_set(deck, "integrate.components"))
      return GPA_ERROR(GPA_ERR_INPUT,
                       "integrate.components: %d components need at least %d "
                       "samples and genes; the selection has %lld samples and "
                       "%lld genes",
                       in->k, in->k + 1, (long long)in->n, (long long)in->g);
    in->k = (int)kmax;
  }
  if (in->k < 1)
    return GPA_ERROR(GPA_ERR_INPUT, "integrate: %lld samples are too few for a latent space",
                     (long long)in->n);
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

/* The truth of synthetic data when the input holds it (/X_ref in the source file, /obs/latent
 * in both): the batch-free twins of this rank's source rows and the true latent state of all
 * its rows.  Collective. */
static int read_truth(struct gpa_integration *in, int quiet) {
  const struct gpa_dataset *t = in->same_file ? &in->src : &in->tgt;
  int64_t ref = 0, zs = 0, zt = 0;
  GPA_CHECK(gpa_dataset_matrix(in->comm, &in->src, "/X_ref", &ref));
  GPA_CHECK(gpa_dataset_matrix(in->comm, &in->src, "/obs/latent", &zs));
  GPA_CHECK(gpa_dataset_matrix(in->comm, t, "/obs/latent", &zt));
  if (ref != 0 && ref != in->src.n_genes)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /X_ref has %lld columns for %lld genes", in->src.path,
                     (long long)ref, (long long)in->src.n_genes);
  if (ref == 0 || zs == 0 || zt != zs) return GPA_OK;
  const int64_t lo = in->part.offset, nl = in->part.n_local, g = in->g;
  int64_t ns = 0; /* source rows among mine */
  while (ns < nl && lo + ns < in->n_src) ns++;
  in->dz = zs;
  GPA_CHECK(gpa_alloc_array(&in->Xref, (size_t)(nl * g + 1), sizeof(float)));
  GPA_CHECK(gpa_alloc_array(&in->Ztrue, (size_t)(nl * zs + 1), sizeof(float)));
  GPA_CHECK(gpa_dataset_read_matrix_rows(in->comm, &in->src, "/X_ref", ref, in->rows + lo, ns,
                                         in->src_cols, g, in->Xref));
  memcpy(in->Xref + ns * g, in->X + ns * g, sizeof(float) * (size_t)((nl - ns) * g));
  GPA_CHECK(gpa_dataset_read_matrix_rows(in->comm, &in->src, "/obs/latent", zs, in->rows + lo, ns,
                                         NULL, zs, in->Ztrue));
  GPA_CHECK(gpa_dataset_read_matrix_rows(in->comm, t, "/obs/latent", zs, in->rows + lo + ns,
                                         nl - ns, NULL, zs, in->Ztrue + ns * zs));
  if (in->rank == 0 && !quiet)
    printf(
        "truth: /X_ref and /obs/latent (%lld columns) in the input: the report scores the "
        "corrections against them\n",
        (long long)zs);
  return GPA_OK;
}

/* The rows spread over the ranks, the summary line, this rank's rows read. */
static int load_data(struct gpa_integration *in, int quiet) {
  in->part = gpa_partition(in->n, in->rank, in->size);
  if (in->rank == 0 && !quiet)
    printf(
        "gpa %s integrate: %lld source + %lld target samples, %lld genes, %d label%s, k = %d, "
        "%d rank%s\n",
        GPA_VERSION, (long long)in->n_src, (long long)in->n_tgt, (long long)in->g, in->n_labels,
        in->n_labels > 1 ? "s" : "", in->k, in->size, in->size > 1 ? "s" : "");
  return read_data(in);
}

/* The PCA of the pooled samples and their latent coordinates Z (Zc starts as Z). */
static int latent_space(struct gpa_integration *in, int quiet) {
  const struct gpa_params *p = &in->p;
  const double t0 = MPI_Wtime();
  GPA_CHECK(gpa_pca_compute(
      in->comm, in->X, in->part, in->g, in->k, p->integrate.pca, (int)p->integrate.pca_oversample,
      (int)p->integrate.pca_power_iterations, (uint64_t)p->run.seed, &in->pca));
  in->seconds_pca = MPI_Wtime() - t0;
  /* Timings are the slowest rank's: every rank then writes the same report attribute (HDF5
   * metadata must be identical on all ranks, or the collective close deadlocks). */
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, &in->seconds_pca, 1, MPI_DOUBLE, MPI_MAX, in->comm));
  const int64_t nl = in->part.n_local, k = in->k;
  if (in->rank == 0 && !quiet) {
    double ev = 0;
    for (int i = 0; i < k; i++) ev += in->pca.explained[i];
    printf("PCA (%s): %d components explain %.1f%% of the variance (first: %.1f%%), %.2f s\n",
           in->pca.method == GPA_PCA_DENSE ? "dense, ScaLAPACK" : "randomized", in->k, 100 * ev,
           100 * in->pca.explained[0], in->seconds_pca);
  }
  GPA_CHECK(gpa_alloc_array(&in->Z, (size_t)(nl * k + 1), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&in->Zc, (size_t)(nl * k + 1), sizeof(double)));
  gpa_pca_encode(&in->pca, in->X, nl, in->Z);
  memcpy(in->Zc, in->Z, sizeof(double) * (size_t)(nl * k));
  return GPA_OK;
}

/* The paper's baseline, as the authors' notebook makes it with scikit-learn's StandardScaler:
 * per label and gene, the source values standardised with the source's mean and population
 * standard deviation (ddof 0) and mapped back with the target's,
 * x' = (x - mean_S) / scale_S * scale_T + mean_T, where a scale is the standard deviation, or 1
 * for a gene StandardScaler takes as constant (var <= n eps var + (n mean eps)^2, eps the
 * double's: every zero variance).  The variance is StandardScaler's corrected two-pass one. */

/* This rank's sums per label, side and gene of x - centre (centre [L][2][g]; NULL: 0) into
 * s [L][2][g] and, when q is not NULL, of its square into q; when cnt is not NULL, the sample
 * counts into cnt [L][2]. */
static void baseline_sums(const struct gpa_integration *in, const double *centre, double *s,
                          double *q, double *cnt) {
  const int64_t g = in->g, nl = in->part.n_local;
  for (int64_t i = 0; i < nl; i++) {
    const int64_t gi = in->part.offset + i;
    const int64_t set = in->label[gi] * 2 + (gi < in->n_src ? 0 : 1), at = set * g;
    const float *x = in->X + i * g;
    for (int64_t j = 0; j < g; j++) {
      const double v = x[j] - (centre ? centre[at + j] : 0.0);
      s[at + j] += v;
      if (q) q[at + j] += v * v;
    }
    if (cnt) cnt[set] += 1;
  }
}

/* mean and scale [L][2][g] of every label's source (0) and target (1) samples.  Collective. */
static int baseline_stats(const struct gpa_integration *in, double *mean, double *scale) {
  const int64_t g = in->g, sets = 2 * (int64_t)in->n_labels, m = sets * g;
  double *cnt = NULL, *dev = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&cnt, (size_t)sets, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&dev, (size_t)m, sizeof(double)), done);
  baseline_sums(in, NULL, mean, NULL, cnt);
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(in->comm, mean, m), done);
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(in->comm, cnt, sets), done);
  for (int64_t j = 0; j < m; j++) mean[j] /= cnt[j / g] > 0 ? cnt[j / g] : 1.0;
  baseline_sums(in, mean, dev, scale, NULL); /* scale: the sums of squares for now */
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(in->comm, dev, m), done);
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(in->comm, scale, m), done);
  const double eps = 2.220446049250313e-16; /* DBL_EPSILON, as numpy's finfo(float64).eps */
  for (int64_t j = 0; j < m; j++) {
    const double n = cnt[j / g] > 0 ? cnt[j / g] : 1.0;
    const double var = (scale[j] - dev[j] * dev[j] / n) / n;
    const double bound = n * eps * var + (n * mean[j] * eps) * (n * mean[j] * eps);
    scale[j] = var <= bound ? 1.0 : sqrt(var);
  }
done:
  gpa_free(&cnt);
  gpa_free(&dev);
  return rc;
}

/* Xb from the statistics: source rows moved, target rows as they were. */
static void baseline_apply(struct gpa_integration *in, const double *mean, const double *scale) {
  const int64_t g = in->g, nl = in->part.n_local;
  for (int64_t i = 0; i < nl; i++) {
    const int64_t gi = in->part.offset + i;
    const float *x = in->X + i * g;
    float *y = in->Xb + i * g;
    if (gi >= in->n_src) {
      memcpy(y, x, sizeof(float) * (size_t)g);
      continue;
    }
    const int64_t s = 2 * (int64_t)in->label[gi] * g, t = s + g;
    for (int64_t j = 0; j < g; j++)
      y[j] = (float)((x[j] - mean[s + j]) / scale[s + j] * scale[t + j] + mean[t + j]);
  }
}

/* The baseline Xb.  Collective. */
static int baseline(struct gpa_integration *in) {
  const int64_t g = in->g, nl = in->part.n_local, m = 2 * (int64_t)in->n_labels * g;
  double *mean = NULL, *scale = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&mean, (size_t)m, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&scale, (size_t)m, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, baseline_stats(in, mean, scale), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&in->Xb, (size_t)(nl * g + 1), sizeof(float)), done);
  baseline_apply(in, mean, scale);
done:
  gpa_free(&mean);
  gpa_free(&scale);
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

/* Label c's name as it stands in its run file's name and its group of the output (at most
 * 100 characters). */
static void label_stem(const struct gpa_integration *in, int c, char safe[101]) {
  file_safe(in->label_names[c], safe, 101);
}

/* "/runs/<label>": the group of the output holding label c's rows, which its run read. */
static void run_group(const struct gpa_integration *in, int c, char *out, size_t size) {
  char safe[101];
  label_stem(in, c, safe);
  snprintf(out, size, "/runs/%s", safe);
}

/* The rows label c's transport starts from and moves to: this rank's source rows of the label
 * into y [pp.n_local][k] and its target rows into x [tp.n_local][k], in latent units
 * (Z / latent_scale); pp and tp place them in the label's global order.  Collective. */
static int label_rows(const struct gpa_integration *in, int c, double *y, struct gpa_block *pp,
                      double *x, struct gpa_block *tp) {
  const int64_t k = in->k, nl = in->part.n_local;
  const double scale = in->p.integrate.latent_scale;
  int64_t ny = 0, nx = 0;
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
  *pp = (struct gpa_block){total[0], ny, before[0]};
  *tp = (struct gpa_block){total[1], nx, before[1]};
  return GPA_OK;
}

/* Label c's settings: the deck's, with the label's rows in the output (/runs/<label>) as
 * source and target and its own run file, so that the deck its run file records reproduces
 * the run with `gpa run`.  The integrate section is left at its defaults (`gpa run` refuses
 * one); the output's /parameters records it. */
static int label_params(const struct gpa_integration *in, int c, struct gpa_block pp,
                        struct gpa_block tp, struct gpa_params *p) {
  struct gpa_params def;
  GPA_CHECK(gpa_params_default(&def));
  *p = in->p;
  p->integrate = def.integrate;
  p->source.kind = p->target.kind = GPA_DIST_FILE;
  p->source.n = pp.n_global;
  p->target.n = tp.n_global;
  p->source.dim = p->target.dim = in->k;
  char group[160], safe[101], suffix[128];
  run_group(in, c, group, sizeof group);
  snprintf(p->source.file, sizeof p->source.file, "%s", in->p.output.file);
  snprintf(p->target.file, sizeof p->target.file, "%s", in->p.output.file);
  snprintf(p->source.dataset, sizeof p->source.dataset, "%s/source", group);
  snprintf(p->target.dataset, sizeof p->target.dataset, "%s/target", group);
  label_stem(in, c, safe);
  snprintf(suffix, sizeof suffix, ".%s.h5", safe);
  int bad = gpa_path_beside(in->p.output.file, suffix, p->output.file, sizeof p->output.file);
  snprintf(suffix, sizeof suffix, ".%s.ckpt.h5", safe);
  bad |= gpa_path_beside(in->p.output.file, suffix, p->output.checkpoint_file,
                         sizeof p->output.checkpoint_file);
  if (bad)
    return GPA_ERROR(GPA_ERR_INPUT, "output.file: %s: too long for the run file of label %s",
                     in->p.output.file, in->label_names[c]);
  p->output.checkpoint_every = 0;
  return GPA_OK;
}

/* Runs label c's transport with settings p from y onto x; the moved points go to Zc (PCA
 * units).  A run that diverged keeps its run file and is an error here.  Collective. */
static int run_label(struct gpa_integration *in, int c, const struct gpa_params *p, const double *y,
                     struct gpa_block pp, const double *x, struct gpa_block tp, int quiet) {
  const int64_t k = in->k, nl = in->part.n_local;
  struct gpa_solver s;
  struct gpa_runfile out;
  memset(&out, 0, sizeof out);
  int rc, ended = 0;
  GPA_CHECK_GOTO(
      rc, gpa_comm_agree(in->comm, gpa_solver_setup_data(&s, in->comm, p, k, y, pp, x, tp)), done);
  GPA_CHECK_GOTO(rc, gpa_comm_agree(in->comm, gpa_output_begin(&out, &s)), done);
  struct gpa_drive d = {.quiet = quiet, .interruptible = 0, .started = MPI_Wtime()};
  const double t0 = MPI_Wtime();
  GPA_CHECK_GOTO(rc, gpa_drive_run(&s, &out, &d), done);
  ended = 1;
  if (d.diverged) {
    rc = GPA_ERROR(GPA_ERR_DIVERGED, "label %s: %s", in->label_names[c], d.status);
    goto done;
  }
  in->seconds_gpa += MPI_Wtime() - t0;
  in->steps_total += s.step;
  const double scale = in->p.integrate.latent_scale;
  for (int64_t i = 0, a = 0; i < nl; i++) {
    const int64_t gi = in->part.offset + i;
    if (in->label[gi] != c || gi >= in->n_src) continue;
    for (int64_t j = 0; j < k; j++) in->Zc[i * k + j] = s.y[a * k + j] * scale;
    a++;
  }
done:
  if (rc && !ended) gpa_output_abort(&out);
  gpa_solver_destroy(&s);
  return rc;
}

/* Transports label c's source samples onto its target samples in the latent space, with the
 * deck's network, divergence, optimizer and transport settings, writing the label's run file.
 * Collective. */
static int transport_label(struct gpa_integration *in, int c, int quiet) {
  const int64_t k = in->k, nl = in->part.n_local;
  double *y = NULL, *x = NULL;
  struct gpa_block pp, tp;
  struct gpa_params p;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&y, (size_t)(nl * k + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&x, (size_t)(nl * k + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, label_rows(in, c, y, &pp, x, &tp), done);
  GPA_CHECK_GOTO(rc, label_params(in, c, pp, tp, &p), done);
  snprintf(in->run_files[c], GPA_PATH_MAX, "%s", p.output.file);
  if (in->rank == 0 && !quiet)
    printf("label %s: %lld source -> %lld target samples in R^%lld (run file %s)\n",
           in->label_names[c], (long long)pp.n_global, (long long)tp.n_global, (long long)k,
           p.output.file);
  GPA_CHECK_GOTO(rc, run_label(in, c, &p, y, pp, x, tp, quiet), done);
done:
  gpa_free(&y);
  gpa_free(&x);
  return rc;
}

/* Every label's transport, and the GPA timings (the slowest rank's).  Collective. */
static int transport_all(struct gpa_integration *in, int quiet) {
  GPA_CHECK(gpa_alloc_array(&in->run_files, (size_t)in->n_labels, GPA_PATH_MAX));
  for (int c = 0; c < in->n_labels; c++) GPA_CHECK(transport_label(in, c, quiet));
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, &in->seconds_gpa, 1, MPI_DOUBLE, MPI_MAX, in->comm));
  in->seconds_per_step = in->steps_total ? in->seconds_gpa / (double)in->steps_total : 0.0;
  return GPA_OK;
}

/* The corrected matrix Xc: source rows decoded after transport (or, keeping the residual,
 * moved by their latent displacement), target rows as they were. */
static int correct(struct gpa_integration *in) {
  const int64_t nl = in->part.n_local, k = in->k, g = in->g;
  double *dz = NULL, *shift = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&in->Xc, (size_t)(nl * g + 1), sizeof(float)), done);
  memcpy(in->Xc, in->X, sizeof(float) * (size_t)(nl * g));
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&dz, (size_t)k, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&shift, (size_t)g, sizeof(double)), done);
  for (int64_t i = 0; i < nl; i++) {
    if (in->part.offset + i >= in->n_src) continue;
    if (!in->p.integrate.keep_residual) { /* the paper: the decoded latent point */
      gpa_pca_decode(&in->pca, in->Zc + i * k, 1, in->Xc + i * g);
      continue;
    }
    /* The sample moved by its latent displacement; its part outside the latent space stays. */
    for (int64_t j = 0; j < k; j++) dz[j] = in->Zc[i * k + j] - in->Z[i * k + j];
    gpa_gemv('T', k, g, 1.0, in->pca.components, g, dz, 0.0, shift);
    for (int64_t j = 0; j < g; j++) in->Xc[i * g + j] = (float)(in->X[i * g + j] + shift[j]);
  }
done:
  gpa_free(&dz);
  gpa_free(&shift);
  return rc;
}

/* ------------------------------------------------------------------------- output */

/* The root's attributes, /parameters and /code. */
static int write_header(const struct gpa_integration *in, struct gpa_h5 *f) {
  GPA_CHECK(gpa_h5_attr_string(f, "/", "format", "gpa-integrated"));
  GPA_CHECK(gpa_h5_attr_string(f, "/", "layout_version", "1"));
  GPA_CHECK(gpa_h5_attr_string(f, "/", "source_file", in->src.path));
  GPA_CHECK(gpa_h5_attr_string(f, "/", "target_file", in->same_file ? in->src.path : in->tgt.path));
  GPA_CHECK(gpa_h5_attr_string(f, "/", "description",
                               "rows: the source samples, corrected by per-label GPA transport "
                               "in the PCA latent space, then the target samples as they were"));
  GPA_CHECK(gpa_h5_write_parameters(f, &in->p));
  return gpa_h5_write_code(f);
}

/* The rows: /X, /baseline/X, /latent and /latent_before. */
static int write_data(const struct gpa_integration *in, struct gpa_h5 *f) {
  const int64_t g = in->g, k = in->k;
  GPA_CHECK(gpa_h5_write_rows_f32(f, "/X", in->Xc, in->part, g,
                                  "expression [sample][gene]: corrected source rows, then "
                                  "target rows"));
  GPA_CHECK(gpa_h5_write_rows_f32(f, "/baseline/X", in->Xb, in->part, g,
                                  "the baseline: source rows moved to the target's mean and "
                                  "standard deviation per label and gene, then target rows"));
  GPA_CHECK(gpa_h5_write_rows(f, "/latent", in->Zc, in->part, k,
                              "latent coordinates (PCA units) after transport"));
  return gpa_h5_write_rows(f, "/latent_before", in->Z, in->part, k,
                           "latent coordinates (PCA units) before transport");
}

/* /obs: label, origin, batch and sample ids of every row. */
static int write_obs(const struct gpa_integration *in, struct gpa_h5 *f) {
  const int64_t n = in->n;
  int32_t *origin = NULL;
  char **ids = NULL, *origin_names[2] = {"source", "target"};
  const struct gpa_dataset *t = in->same_file ? &in->src : &in->tgt;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_h5_write_i32(f, "/obs/label", in->label, n, "label code of each row"),
                 done);
  GPA_CHECK_GOTO(
      rc, gpa_h5_write_strings(f, "/obs/label_names", in->label_names, in->n_labels, NULL), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&origin, (size_t)(n + 1), sizeof(int32_t)), done);
  for (int64_t i = 0; i < n; i++) origin[i] = i < in->n_src ? 0 : 1;
  GPA_CHECK_GOTO(
      rc, gpa_h5_write_i32(f, "/obs/origin", origin, n, "0: source (corrected), 1: target"), done);
  GPA_CHECK_GOTO(rc, gpa_h5_write_strings(f, "/obs/origin_names", origin_names, 2, NULL), done);
  if (in->same_file) {
    GPA_CHECK_GOTO(
        rc, gpa_h5_write_i32(f, "/obs/batch", in->batch, n, "batch code in the input file"), done);
    GPA_CHECK_GOTO(rc,
                   gpa_h5_write_strings(f, "/obs/batch_names", in->src.batch.names,
                                        in->src.batch.n_names, NULL),
                   done);
  } else {
    GPA_CHECK_GOTO(
        rc, gpa_h5_write_i32(f, "/obs/batch", origin, n, "0: source file, 1: target file"), done);
    GPA_CHECK_GOTO(rc, gpa_h5_write_strings(f, "/obs/batch_names", origin_names, 2, NULL), done);
  }
  if (in->src.sample_ids && t->sample_ids) {
    GPA_CHECK_GOTO(rc, gpa_alloc_array(&ids, (size_t)(n + 1), sizeof(char *)), done);
    for (int64_t i = 0; i < n; i++)
      ids[i] = i < in->n_src ? in->src.sample_ids[in->rows[i]] : t->sample_ids[in->rows[i]];
    GPA_CHECK_GOTO(rc, gpa_h5_write_strings(f, "/obs/sample_ids", ids, n, NULL), done);
  }
done:
  gpa_free(&origin);
  gpa_free(&ids);
  return rc;
}

/* /var/gene_ids and /pca: mean, components [k][g], singular values, explained variance, and
 * the latent scale. */
static int write_pca(const struct gpa_integration *in, struct gpa_h5 *f) {
  const int64_t g = in->g, k = in->k, dims[2] = {k, g};
  GPA_CHECK(gpa_h5_write_strings(f, "/var/gene_ids", in->genes, g, NULL));
  GPA_CHECK(
      gpa_h5_write_f64(f, "/pca/mean", in->pca.mean, g, "gene means of the pooled samples", NULL));
  GPA_CHECK(gpa_h5_write_f64_nd(f, "/pca/components", in->pca.components, 2, dims,
                                "principal axes [component][gene]", NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/pca/singular_values", in->pca.singular_values, k, NULL, NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/pca/explained_variance_ratio", in->pca.explained, k, NULL, NULL));
  return gpa_h5_attr_f64(f, "/pca", "latent_scale", &in->p.integrate.latent_scale, 1);
}

/* /labels/run_files: the run file of each label's transport. */
static int write_run_files(const struct gpa_integration *in, struct gpa_h5 *f) {
  char **files = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&files, (size_t)in->n_labels, sizeof(char *)), done);
  for (int c = 0; c < in->n_labels; c++) files[c] = in->run_files[c];
  GPA_CHECK_GOTO(rc,
                 gpa_h5_write_strings(f, "/labels/run_files", files, in->n_labels,
                                      "run file of each label's transport (its learned "
                                      "field in /field)"),
                 done);
done:
  gpa_free(&files);
  return rc;
}

/* /runs/<label>/source and /runs/<label>/target: the rows each label's transport started from
 * and moved onto (latent coordinates / latent_scale, in pooled order), which the deck recorded
 * in the label's run file reads. */
static int write_runs(const struct gpa_integration *in, struct gpa_h5 *f) {
  const int64_t k = in->k, nl = in->part.n_local;
  double *y = NULL, *x = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&y, (size_t)(nl * k + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&x, (size_t)(nl * k + 1), sizeof(double)), done);
  for (int c = 0; c < in->n_labels; c++) {
    struct gpa_block pp, tp;
    char group[160], name[192];
    GPA_CHECK_GOTO(rc, label_rows(in, c, y, &pp, x, &tp), done);
    run_group(in, c, group, sizeof group);
    snprintf(name, sizeof name, "%s/source", group);
    GPA_CHECK_GOTO(rc,
                   gpa_h5_write_rows(f, name, y, pp, k,
                                     "the label's source samples, where "
                                     "its transport started: latent coordinates / "
                                     "latent_scale"),
                   done);
    snprintf(name, sizeof name, "%s/target", group);
    GPA_CHECK_GOTO(rc,
                   gpa_h5_write_rows(f, name, x, tp, k,
                                     "the label's target samples: latent "
                                     "coordinates / latent_scale"),
                   done);
    GPA_CHECK_GOTO(rc, gpa_h5_attr_string(f, group, "label", in->label_names[c]), done);
    GPA_CHECK_GOTO(rc, gpa_h5_attr_string(f, group, "run_file", in->run_files[c]), done);
  }
done:
  gpa_free(&y);
  gpa_free(&x);
  return rc;
}

/* The output file, staged: written under OUTPUT.tmp and put in place when complete.
 * Collective. */
static int write_output(const struct gpa_integration *in, const char *report_json) {
  struct gpa_h5 f;
  GPA_CHECK(gpa_h5_create_staged(&f, in->comm, in->p.output.file));
  int rc;
  GPA_CHECK_GOTO(rc, write_header(in, &f), done);
  GPA_CHECK_GOTO(rc, write_data(in, &f), done);
  GPA_CHECK_GOTO(rc, write_obs(in, &f), done);
  GPA_CHECK_GOTO(rc, write_pca(in, &f), done);
  GPA_CHECK_GOTO(rc, write_run_files(in, &f), done);
  GPA_CHECK_GOTO(rc, write_runs(in, &f), done);
  GPA_CHECK_GOTO(rc, gpa_h5_attr_string(&f, "/", "report", report_json), done);
done:
  return gpa_h5_commit(&f, rc);
}

/* Rank 0: `json` written to PATH.tmp, then put in place. */
static int write_json_file(const char *path, const char *json) {
  char tmp[GPA_PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  int ok = f && fputs(json, f) >= 0;
  if (f && fclose(f) != 0) ok = 0;
  int rc;
  if (!ok) {
    rc = GPA_ERROR(GPA_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    goto done;
  }
  GPA_CHECK_GOTO(rc, gpa_io_commit(tmp, path), done);
done:
  if (rc) unlink(tmp);
  return rc;
}

/* The JSON report at `path`, written by rank 0.  Collective. */
static int write_json(const struct gpa_integration *in, const char *path, const char *json) {
  return gpa_comm_agree(in->comm, in->rank == 0 ? write_json_file(path, json) : GPA_OK);
}

/* The .h5ad beside the output, for AnnData users, unless it would overwrite the input.
 * Collective. */
static int write_h5ad(struct gpa_integration *in, const char *h5ad, const char *json) {
  struct stat a, b;
  int rc = GPA_OK;
  if (stat(h5ad, &a) == 0 && stat(in->src.path, &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino)
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "%s: the AnnData output would overwrite the input; choose "
                   "another --output",
                   h5ad);
  GPA_CHECK(gpa_comm_agree(in->comm, rc));
  return gpa_integration_write_h5ad(in, h5ad, json);
}

static double peak_memory_mb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_maxrss / 1024.0;
}

/* The closing lines: timings, peak memory over the ranks, the files written.  Collective. */
static int print_summary(const struct gpa_integration *in, const char *report, const char *h5ad,
                         int quiet) {
  double mem = peak_memory_mb(), mem_max = 0, mem_min = 0;
  GPA_MPI(MPI_Allreduce(&mem, &mem_max, 1, MPI_DOUBLE, MPI_MAX, in->comm));
  GPA_MPI(MPI_Allreduce(&mem, &mem_min, 1, MPI_DOUBLE, MPI_MIN, in->comm));
  if (in->rank == 0 && !quiet)
    printf(
        "PCA %.2f s; GPA %.2f s for %lld steps (%.3f ms/step); peak memory per rank "
        "%.0f-%.0f MB\nwrote %s, %s%s%s\n",
        in->seconds_pca, in->seconds_gpa, (long long)in->steps_total, 1e3 * in->seconds_per_step,
        mem_min, mem_max, in->p.output.file, report, h5ad[0] ? ", " : "", h5ad);
  return GPA_OK;
}

/* The JSON report's name: --report, else OUTPUT.report.json beside the output. */
static void report_path(const struct gpa_integrate_opts *opts, const char *output, char *out,
                        size_t size) {
  if (opts->report) snprintf(out, size, "%s", opts->report);
  else gpa_path_beside(output, ".report.json", out, size);
}

/* The report (printed unless quiet), then the JSON report, the output, the .h5ad for .h5ad
 * input, and the summary.  Collective. */
static int write_outputs(struct gpa_integration *in, const struct gpa_integrate_opts *opts) {
  char *json = NULL, report[GPA_PATH_MAX + 16], h5ad[GPA_PATH_MAX + 16] = "";
  int rc;
  GPA_CHECK_GOTO(rc, gpa_integration_report(in, opts->quiet ? NULL : stdout, &json), done);
  report_path(opts, in->p.output.file, report, sizeof report);
  GPA_CHECK_GOTO(rc, write_json(in, report, json), done);
  GPA_CHECK_GOTO(rc, write_output(in, json), done);
  if (in->src.format == GPA_DATA_H5AD) {
    gpa_path_beside(in->p.output.file, ".h5ad", h5ad, sizeof h5ad);
    GPA_CHECK_GOTO(rc, write_h5ad(in, h5ad, json), done);
  }
  GPA_CHECK_GOTO(rc, print_summary(in, report, h5ad, opts->quiet), done);
done:
  gpa_free(&json);
  return rc;
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
  for (int c = 0; c < in->n_labels; c++) gpa_free(&in->label_names[c]);
  gpa_free(&in->label_names);
  gpa_free(&in->X);
  gpa_free(&in->Xc);
  gpa_free(&in->Xb);
  gpa_free(&in->Z);
  gpa_free(&in->Zc);
  gpa_free(&in->run_files);
  gpa_free(&in->pair);
  gpa_free(&in->Xref);
  gpa_free(&in->Ztrue);
  gpa_pca_destroy(&in->pca);
}

static int integrate(struct gpa_integration *in, const struct gpa_integrate_opts *opts,
                     const struct gpa_deck *deck) {
  GPA_CHECK(prepare_samples(in));
  GPA_CHECK(choose_k(in, deck));
  GPA_CHECK(load_data(in, opts->quiet));
  GPA_CHECK(read_truth(in, opts->quiet));
  GPA_CHECK(latent_space(in, opts->quiet));
  GPA_CHECK(transport_all(in, opts->quiet));
  GPA_CHECK(correct(in));
  GPA_CHECK(baseline(in));
  return write_outputs(in, opts);
}

/* The files of `gpa integrate`, checked and the output locked before anything is read. */
static int integrate_files(MPI_Comm comm, const struct gpa_integrate_opts *opts,
                           const struct gpa_params *p, struct gpa_lock *lock) {
  char report[GPA_PATH_MAX + 16], h5ad[GPA_PATH_MAX + 16];
  report_path(opts, p->output.file, report, sizeof report);
  gpa_path_beside(p->output.file, ".h5ad", h5ad, sizeof h5ad);
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
  int rc;
  GPA_CHECK_GOTO(rc, integrate_files(comm, opts, &in.p, &lock), done);
  gpa_linalg_setup(in.p.run.flush_denormals, 0);
  GPA_CHECK_GOTO(rc, integrate(&in, opts, deck), done);
done:
  gpa_paths_unlock(&lock);
  destroy(&in);
  return rc;
}
