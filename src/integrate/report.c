/* The integration report: the paper's Table 4 per label (D, R, S, G in latent and gene space),
 * the sampling floor F, label preservation, batch mixing and kept neighbourhoods.
 *
 * The report is made of pooled sets (at most integrate.metric_samples samples per side and
 * label, gathered on every rank; struct pool) and, label by label, the sets of that label in
 * gene and latent space (struct label_report: label_sets gathers them, label_distances,
 * label_mixing and label_neighbours measure them, print_label and json_label write them). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpa/metrics.h"
#include "gpa/rng.h"
#include "integration.h"

enum { KNN = 5, SHUFFLES = 20, STREAM_METRICS = 300 };
enum { FLOOR_SPLITS = 5 }; /* random halvings of the target averaged in the floor */

/* ------------------------------------------------------------------------- samples */

static int by_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Marks at most `max` pooled samples of one side and label (a seeded random subset); *picked
 * is how many. */
static int pick(const struct gpa_integration *in, int side, int label, int64_t max, char *mask,
                int64_t *picked) {
  int64_t lo = side == 0 ? 0 : in->n_src, hi = side == 0 ? in->n_src : in->n, count = 0;
  for (int64_t i = lo; i < hi; i++) count += in->label[i] == label;
  *picked = count <= max ? count : max;
  if (count <= max) {
    for (int64_t i = lo; i < hi; i++)
      if (in->label[i] == label) mask[i] = 1;
    return GPA_OK;
  }
  /* The max samples of smallest random key. */
  double *key = NULL, *sorted = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&key, (size_t)count, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&sorted, (size_t)count, sizeof(double)), done);
  int64_t c = 0;
  for (int64_t i = lo; i < hi; i++)
    if (in->label[i] == label) {
      struct gpa_rng r;
      gpa_rng_init(&r, (uint64_t)in->p.run.seed, STREAM_METRICS, (uint64_t)i);
      key[c++] = gpa_rng_uniform(&r);
    }
  memcpy(sorted, key, sizeof(double) * (size_t)count);
  qsort(sorted, (size_t)count, sizeof(double), by_double);
  const double cut = sorted[max - 1];
  c = 0;
  for (int64_t i = lo; i < hi; i++)
    if (in->label[i] == label && key[c++] <= cut) mask[i] = 1;
done:
  gpa_free(&key);
  gpa_free(&sorted);
  return rc;
}

/* Collective: every rank's byte count, the displacements and the MPI_Allgatherv of `send`. */
static int allgather_bytes(const struct gpa_integration *in, const void *send, int64_t bytes,
                           void *out, int64_t *counts, int *icounts, int64_t *total) {
  GPA_MPI(MPI_Allgather(&bytes, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, in->comm));
  int *displs = icounts + in->size;
  *total = 0;
  for (int r = 0; r < in->size; r++) *total += counts[r];
  if (*total > INT_MAX)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "integrate: the report gathers %lld bytes, more than MPI's "
                     "int counts allow (lower integrate.metric_samples)",
                     (long long)*total);
  for (int r = 0, at = 0; r < in->size; r++) {
    icounts[r] = (int)counts[r];
    displs[r] = at;
    at += icounts[r];
  }
  GPA_MPI(MPI_Allgatherv(send, (int)bytes, MPI_BYTE, out, icounts, displs, MPI_BYTE, in->comm));
  return GPA_OK;
}

/* Gathers the masked rows ([width] elements of `elem` bytes each) of every rank's pooled
 * samples onto every rank, in pooled order; *count is the row count.  Collective. */
static int gather(const struct gpa_integration *in, const void *local, int64_t width, size_t elem,
                  const char *mask, void *out, int64_t *count) {
  const int64_t nl = in->part.n_local, lo = in->part.offset;
  const size_t row = (size_t)width * elem;
  int64_t mine = 0, total = 0, *counts = NULL;
  int *icounts = NULL; /* [2][size]: counts, displacements */
  char *send = NULL;
  for (int64_t i = 0; i < nl; i++) mine += mask[lo + i];
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&send, (size_t)(mine > 0 ? mine : 1), row), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&counts, (size_t)in->size, sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&icounts, 2 * (size_t)in->size, sizeof(int)), done);
  int64_t j = 0;
  for (int64_t i = 0; i < nl; i++)
    if (mask[lo + i])
      memcpy(send + (size_t)(j++) * row, (const char *)local + (size_t)i * row, row);
  GPA_CHECK_GOTO(rc, allgather_bytes(in, send, mine * (int64_t)row, out, counts, icounts, &total),
                 done);
  *count = total / (int64_t)row;
done:
  gpa_free(&send);
  gpa_free(&counts);
  gpa_free(&icounts);
  return rc;
}

/* d [n] = x [n] in double, in a new buffer. */
static int to_double(const float *x, int64_t n, double **d) {
  GPA_CHECK(gpa_alloc_array(d, (size_t)(n > 0 ? n : 1), sizeof(double)));
  for (int64_t i = 0; i < n; i++) (*d)[i] = x[i];
  return GPA_OK;
}

/* ------------------------------------------------------------------------- neighbours */

/* The KNN nearest points of x[i] among y (skipping index `self` of y, -1 for none). */
static void nearest(const double *x, const double *y, int64_t m, int64_t d, int64_t self,
                    int64_t *idx) {
  double best[KNN];
  for (int k = 0; k < KNN; k++) {
    best[k] = INFINITY;
    idx[k] = -1;
  }
  for (int64_t j = 0; j < m; j++) {
    if (j == self) continue;
    double s = 0;
    for (int64_t t = 0; t < d; t++) s += (x[t] - y[j * d + t]) * (x[t] - y[j * d + t]);
    if (s >= best[KNN - 1]) continue;
    int k = KNN - 1;
    while (k > 0 && best[k - 1] > s) {
      best[k] = best[k - 1];
      idx[k] = idx[k - 1];
      k--;
    }
    best[k] = s;
    idx[k] = j;
  }
}

/* *med = the median over the points x [n][d] of the distance to their nearest point of
 * t [m][d]; with `self` (x is t) a point's nearest other point.  The memorisation ratio is this
 * for the corrected samples over this for the targets themselves: fresh samples of t's
 * distribution score near 1, points collapsed onto t near 0. */
static int median_nearest(const double *x, int64_t n, const double *t, int64_t m, int64_t d,
                          int self, double *med) {
  *med = NAN;
  if (n == 0 || m < 1 + self) return GPA_OK;
  double *near;
  GPA_CHECK(gpa_alloc_array(&near, (size_t)n, sizeof(double)));
  for (int64_t i = 0; i < n; i++) {
    double best = INFINITY;
    for (int64_t j = 0; j < m; j++) {
      if (self && j == i) continue;
      double s = 0;
      for (int64_t q = 0; q < d; q++)
        s += (x[i * d + q] - t[j * d + q]) * (x[i * d + q] - t[j * d + q]);
      if (s < best) best = s;
    }
    near[i] = sqrt(best);
  }
  qsort(near, (size_t)n, sizeof(double), by_double);
  *med = n % 2 ? near[n / 2] : 0.5 * (near[n / 2 - 1] + near[n / 2]);
  gpa_free(&near);
  return GPA_OK;
}

/* Majority vote of the neighbours' classes; ties go to the class of the nearest. */
static int vote(const int64_t *idx, const int32_t *cls) {
  int best = -1, best_n = 0;
  for (int a = 0; a < KNN && idx[a] >= 0; a++) {
    int n = 0;
    for (int b = 0; b < KNN && idx[b] >= 0; b++) n += cls[idx[b]] == cls[idx[a]];
    if (n > best_n) {
      best_n = n;
      best = cls[idx[a]];
    }
  }
  return best;
}

static const char *yes(int b) { return b ? "yes" : "NO"; }
static const char *tf(int b) { return b ? "true" : "false"; }

/* perm = a uniformly random permutation of 0..n-1 (Fisher-Yates). */
static void shuffle(struct gpa_rng *r, int64_t *perm, int64_t n) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  gpa_rng_shuffle(r, perm, n, sizeof *perm);
}

/* Leave-one-out KNN accuracy of predicting `cls` in the pool y [m][d], for the true classes
 * and for SHUFFLES random permutations of them (min and max). */
static int mixing(const double *y, int64_t m, int64_t d, const int32_t *cls, uint64_t seed,
                  double *acc, double *shuf_min, double *shuf_max) {
  int64_t *nb = NULL;
  int32_t *perm = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&nb, KNN * (size_t)(m > 0 ? m : 1), sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&perm, (size_t)(m > 0 ? m : 1), sizeof(int32_t)), done);
  for (int64_t i = 0; i < m; i++) nearest(y + i * d, y, m, d, i, nb + i * KNN);
  *shuf_min = INFINITY;
  *shuf_max = -INFINITY;
  for (int s = -1; s < SHUFFLES; s++) {
    memcpy(perm, cls, sizeof(int32_t) * (size_t)m);
    if (s >= 0) {
      struct gpa_rng r;
      gpa_rng_init(&r, seed, STREAM_METRICS + 1, (uint64_t)s);
      gpa_rng_shuffle(&r, perm, m, sizeof *perm);
    }
    int64_t ok = 0;
    for (int64_t i = 0; i < m; i++) ok += vote(nb + i * KNN, perm) == perm[i];
    double a = m ? (double)ok / (double)m : NAN;
    if (s < 0) {
      *acc = a;
    } else {
      *shuf_min = fmin(*shuf_min, a);
      *shuf_max = fmax(*shuf_max, a);
    }
  }
done:
  gpa_free(&nb);
  gpa_free(&perm);
  return rc;
}

/* ------------------------------------------------------------------------- JSON */

/* A JSON number (null for NaN). */
static void num(FILE *t, const char *key, double v, int comma) {
  if (isfinite(v)) fprintf(t, "\"%s\": %.6g%s", key, v, comma ? ", " : "");
  else fprintf(t, "\"%s\": null%s", key, comma ? ", " : "");
}

static void json_string(FILE *t, const char *s) {
  fputc('"', t);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(t, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(t, "\\u%04x", *s);
    else fputc(*s, t);
  }
  fputc('"', t);
}

/* ------------------------------------------------------------------------- distances */

struct distances {
  double D, R, S, G, F;
  double F_sd;          /* spread of F over the halvings */
  double D_h, S_h, G_h; /* D, S and G at the floor's sample sizes: a source subset against a
                         * half */
};

static int sinkhorn(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m,
                    int64_t d, double *v) {
  if (n == 0 || m == 0) {
    *v = NAN;
    return GPA_OK;
  }
  return gpa_sinkhorn(comm, a, n, b, m, d, 0.05, 0.5, v);
}

/* Rows idx[0..n) of x (n x d) copied to out. */
static void take(const double *x, const int64_t *idx, int64_t n, int64_t d, double *out) {
  for (int64_t i = 0; i < n; i++) memcpy(out + i * d, x + idx[i] * d, sizeof(double) * (size_t)d);
}

/* The sets distances() compares, in R^d: source, reconstructed target, baseline and corrected
 * source [ns][d], the target [nt][d]; perm[s] orders the target and perm_src[s] the sources in
 * halving s of the floor. */
struct sets {
  const double *src, *rec, *base, *corr, *tgt;
  int64_t ns, nt, d;
  int64_t *const *perm, *const *perm_src;
};

/* The floor: for each halving, F = div(first half, second half) and, at exactly those sample
 * sizes, D_h, S_h and G_h = div(as many source / baseline / corrected samples as the first
 * half, second half).  Collective. */
static int floor_splits(MPI_Comm comm, const struct sets *x, struct distances *out) {
  const int64_t nt = x->nt, d = x->d, h = nt / 2, hs = h < x->ns ? h : x->ns;
  double *t1 = NULL, *t2 = NULL, *sub = NULL;
  double f[FLOOR_SPLITS], sum[3] = {0, 0, 0};
  const double *moved[3] = {x->src, x->base, x->corr};
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&t1, (size_t)(h * d), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&t2, (size_t)((nt - h) * d), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&sub, (size_t)(hs * d), sizeof(double)), done);
  for (int s = 0; s < FLOOR_SPLITS; s++) {
    take(x->tgt, x->perm[s], h, d, t1);
    take(x->tgt, x->perm[s] + h, nt - h, d, t2);
    GPA_CHECK_GOTO(rc, sinkhorn(comm, t1, h, t2, nt - h, d, &f[s]), done);
    for (int m = 0; m < 3; m++) {
      double v;
      take(moved[m], x->perm_src[s], hs, d, sub);
      GPA_CHECK_GOTO(rc, sinkhorn(comm, sub, hs, t2, nt - h, d, &v), done);
      sum[m] += v;
    }
  }
  double mean = 0, var = 0;
  for (int s = 0; s < FLOOR_SPLITS; s++) mean += f[s] / FLOOR_SPLITS;
  for (int s = 0; s < FLOOR_SPLITS; s++) var += (f[s] - mean) * (f[s] - mean) / (FLOOR_SPLITS - 1);
  out->F = mean;
  out->F_sd = sqrt(var);
  out->D_h = sum[0] / FLOOR_SPLITS;
  out->S_h = sum[1] / FLOOR_SPLITS;
  out->G_h = sum[2] / FLOOR_SPLITS;
done:
  gpa_free(&t1);
  gpa_free(&t2);
  gpa_free(&sub);
  return rc;
}

/* D, R, S, G between sets of points (source, reconstructed target, baseline and corrected
 * source against the target), and the sampling floor (floor_splits).  Particles that
 * collapsed onto the target samples give G_h < F; fresh samples of the target's distribution
 * give G_h near F.  Collective. */
static int distances(MPI_Comm comm, const struct sets *x, struct distances *out) {
  GPA_CHECK(sinkhorn(comm, x->src, x->ns, x->tgt, x->nt, x->d, &out->D));
  GPA_CHECK(sinkhorn(comm, x->rec, x->nt, x->tgt, x->nt, x->d, &out->R));
  GPA_CHECK(sinkhorn(comm, x->base, x->ns, x->tgt, x->nt, x->d, &out->S));
  GPA_CHECK(sinkhorn(comm, x->corr, x->ns, x->tgt, x->nt, x->d, &out->G));
  const int64_t h = x->nt / 2, hs = h < x->ns ? h : x->ns;
  out->F = out->F_sd = out->D_h = out->S_h = out->G_h = NAN;
  if (h == 0 || hs == 0) return GPA_OK;
  return floor_splits(comm, x, out);
}

static void print_row(FILE *out, const char *space, const struct distances *x) {
  fprintf(out, "  %-7s %10.4g %10.4g %10.4g %10.4g %10.4g   %7.2f%% %7.2f%% %7.2f%%\n", space, x->D,
          x->R, x->S, x->G, x->F, 100 * x->R / x->D, 100 * x->S / x->D, 100 * x->G / x->D);
}

static void json_distances(FILE *t, const char *space, const struct distances *x, int comma) {
  fprintf(t, "\"%s\": {", space);
  num(t, "D", x->D, 1);
  num(t, "R", x->R, 1);
  num(t, "S", x->S, 1);
  num(t, "G", x->G, 1);
  num(t, "F", x->F, 1);
  num(t, "F_sd", x->F_sd, 1);
  num(t, "D_half", x->D_h, 1);
  num(t, "S_half", x->S_h, 1);
  num(t, "G_half", x->G_h, 1);
  num(t, "R/D", x->R / x->D, 1);
  num(t, "S/D", x->S / x->D, 1);
  num(t, "G/D", x->G / x->D, 0);
  fprintf(t, "}%s", comma ? ", " : "");
}

/* ------------------------------------------------------------------------- the pooled sets */

/* The samples of every label that enter the statistics, gathered on every rank. */
struct pool {
  char *src, *tgt;      /* [n] masks: source and target samples taken */
  int64_t ns, nt;       /* how many */
  double *zs, *zc, *zb; /* [ns][k] latent: before, corrected, baseline */
  double *zt;           /* [nt][k] latent targets */
  int32_t *ls, *lt;     /* [ns], [nt] labels */
  double *acc;          /* [L][3] label accuracy counts: before, baseline, corrected */
  double *cnt;          /* [L] source samples of each label */
};

static void pool_destroy(struct pool *p) {
  gpa_free(&p->src);
  gpa_free(&p->tgt);
  gpa_free(&p->zs);
  gpa_free(&p->zc);
  gpa_free(&p->zt);
  gpa_free(&p->zb);
  gpa_free(&p->ls);
  gpa_free(&p->lt);
  gpa_free(&p->acc);
  gpa_free(&p->cnt);
}

/* Label preservation: the labels of each pooled source sample's nearest targets, counted per
 * label over the ranks (each takes every size-th sample).  Collective. */
static int label_accuracy(const struct gpa_integration *in, struct pool *p) {
  const int L = in->n_labels, k = in->k;
  GPA_CHECK(gpa_alloc_array(&p->acc, (size_t)L * 3, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&p->cnt, (size_t)L, sizeof(double)));
  int64_t nb[KNN];
  const double *sets[3] = {p->zs, p->zb, p->zc};
  for (int64_t i = in->rank; i < p->ns; i += in->size) {
    p->cnt[p->ls[i]] += 1;
    for (int s = 0; s < 3; s++) {
      nearest(sets[s] + i * k, p->zt, p->nt, k, -1, nb);
      p->acc[p->ls[i] * 3 + s] += vote(nb, p->lt) == p->ls[i];
    }
  }
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, p->acc, L * 3, MPI_DOUBLE, MPI_SUM, in->comm));
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, p->cnt, L, MPI_DOUBLE, MPI_SUM, in->comm));
  return GPA_OK;
}

/* Picks at most metric_samples samples per side and label and gathers their latent
 * coordinates (before, corrected, baseline) and labels.  Collective. */
static int pool_create(const struct gpa_integration *in, struct pool *p) {
  const int64_t n = in->n, k = in->k, nl = in->part.n_local, max = in->p.integrate.metric_samples;
  int64_t picked, tmp;
  double *zb_local = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&p->src, (size_t)n + 1, 1), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&p->tgt, (size_t)n + 1, 1), done);
  for (int c = 0; c < in->n_labels; c++) {
    GPA_CHECK_GOTO(rc, pick(in, 0, c, max, p->src, &picked), done);
    GPA_CHECK_GOTO(rc, pick(in, 1, c, max, p->tgt, &picked), done);
  }
  double **z[4] = {&p->zs, &p->zc, &p->zt, &p->zb};
  for (int s = 0; s < 4; s++)
    GPA_CHECK_GOTO(rc, gpa_alloc_array(z[s], (size_t)(n * k + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gather(in, in->Z, k, sizeof(double), p->src, p->zs, &p->ns), done);
  GPA_CHECK_GOTO(rc, gather(in, in->Zc, k, sizeof(double), p->src, p->zc, &tmp), done);
  GPA_CHECK_GOTO(rc, gather(in, in->Z, k, sizeof(double), p->tgt, p->zt, &p->nt), done);
  /* Baseline latent coordinates: encode this rank's baseline rows. */
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&zb_local, (size_t)(nl * k + 1), sizeof(double)), done);
  gpa_pca_encode(&in->pca, in->Xb, nl, zb_local);
  GPA_CHECK_GOTO(rc, gather(in, zb_local, k, sizeof(double), p->src, p->zb, &tmp), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&p->ls, (size_t)n + 1, sizeof(int32_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&p->lt, (size_t)n + 1, sizeof(int32_t)), done);
  for (int64_t i = 0, a = 0, b = 0; i < n; i++) {
    if (p->src[i]) p->ls[a++] = in->label[i];
    if (p->tgt[i]) p->lt[b++] = in->label[i];
  }
  GPA_CHECK_GOTO(rc, label_accuracy(in, p), done);
done:
  gpa_free(&zb_local);
  return rc;
}

/* ------------------------------------------------------------------------- one label */

/* One label's sets and statistics. */
struct label_report {
  int c;                           /* the label */
  int64_t ns, nt;                  /* source and target samples taken */
  char *ms, *mt;                   /* [n] masks of those samples */
  float *fs, *fb, *fc;             /* [ns][g] gene space: source, baseline, corrected */
  float *ft, *fr;                  /* [nt][g] gene space: target, reconstructed target */
  double *ls, *lb, *lc;            /* [ns][k] latent: source, baseline, corrected */
  double *lt, *lr;                 /* [nt][k] latent: target, reconstructed target */
  int64_t *perm[FLOOR_SPLITS];     /* [nt] the floor's orders of the targets */
  int64_t *perm_src[FLOOR_SPLITS]; /* [ns] ... and of the sources */
  struct distances gene, lat;
  double mix[3], smin, smax; /* batch mixing: before, baseline, corrected; shuffled range */
  double kept[2];            /* neighbours kept: baseline, corrected */
  double memo[3];            /* memorisation ratio: before, baseline, corrected */
  double acc_before, acc_base, acc_after;
  int ok[5], base_below, src_below;
};

static void label_report_free(struct label_report *r) {
  gpa_free(&r->ms);
  gpa_free(&r->mt);
  gpa_free(&r->fs);
  gpa_free(&r->ft);
  gpa_free(&r->fb);
  gpa_free(&r->fc);
  gpa_free(&r->fr);
  gpa_free(&r->ls);
  gpa_free(&r->lb);
  gpa_free(&r->lc);
  gpa_free(&r->lt);
  gpa_free(&r->lr);
  for (int s = 0; s < FLOOR_SPLITS; s++) {
    gpa_free(&r->perm[s]);
    gpa_free(&r->perm_src[s]);
  }
}

/* The floor's halvings: FLOOR_SPLITS shuffles of the targets and of the sources. */
static int label_perms(const struct gpa_integration *in, struct label_report *r) {
  for (int s = 0; s < FLOOR_SPLITS; s++) {
    GPA_CHECK(gpa_alloc_array(&r->perm[s], (size_t)(r->nt + 1), sizeof(int64_t)));
    GPA_CHECK(gpa_alloc_array(&r->perm_src[s], (size_t)(r->ns + 1), sizeof(int64_t)));
    struct gpa_rng rng;
    gpa_rng_init(&rng, (uint64_t)in->p.run.seed, STREAM_METRICS + 2,
                 (uint64_t)r->c * FLOOR_SPLITS + (uint64_t)s);
    shuffle(&rng, r->perm[s], r->nt);
    shuffle(&rng, r->perm_src[s], r->ns);
  }
  return GPA_OK;
}

/* Label c's samples: gathered in gene space (source, target, baseline, corrected), the
 * corrected ones in latent space, the others encoded; the target reconstructed through the
 * latent space.  Collective. */
static int label_sets(const struct gpa_integration *in, struct label_report *r) {
  const int64_t n = in->n, g = in->g, k = in->k, max = in->p.integrate.metric_samples;
  int64_t q;
  GPA_CHECK(gpa_alloc_array(&r->ms, (size_t)n + 1, 1));
  GPA_CHECK(gpa_alloc_array(&r->mt, (size_t)n + 1, 1));
  GPA_CHECK(pick(in, 0, r->c, max, r->ms, &r->ns));
  GPA_CHECK(pick(in, 1, r->c, max, r->mt, &r->nt));
  const int64_t ns = r->ns, nt = r->nt;
  if ((ns < 2 || nt < 2) && in->rank == 0) /* nothing to halve or to take neighbours among */
    fprintf(stderr,
            "warning: label %s has %lld source and %lld target samples: its floor F, "
            "memorisation ratio and neighbour statistics are not meaningful at that "
            "size\n",
            in->label_names[r->c], (long long)ns, (long long)nt);
  float **gs[3] = {&r->fs, &r->fb, &r->fc}, **gt[2] = {&r->ft, &r->fr};
  double **zs[3] = {&r->ls, &r->lb, &r->lc}, **zt[2] = {&r->lt, &r->lr};
  for (int s = 0; s < 3; s++) {
    GPA_CHECK(gpa_alloc_array(gs[s], (size_t)(ns * g + 1), sizeof(float)));
    GPA_CHECK(gpa_alloc_array(zs[s], (size_t)(ns * k + 1), sizeof(double)));
  }
  for (int s = 0; s < 2; s++) {
    GPA_CHECK(gpa_alloc_array(gt[s], (size_t)(nt * g + 1), sizeof(float)));
    GPA_CHECK(gpa_alloc_array(zt[s], (size_t)(nt * k + 1), sizeof(double)));
  }
  GPA_CHECK(gather(in, in->X, g, sizeof(float), r->ms, r->fs, &q));
  GPA_CHECK(gather(in, in->X, g, sizeof(float), r->mt, r->ft, &q));
  GPA_CHECK(gather(in, in->Xb, g, sizeof(float), r->ms, r->fb, &q));
  GPA_CHECK(gather(in, in->Xc, g, sizeof(float), r->ms, r->fc, &q));
  GPA_CHECK(gather(in, in->Zc, k, sizeof(double), r->ms, r->lc, &q));
  gpa_pca_encode(&in->pca, r->ft, nt, r->lt);
  gpa_pca_decode(&in->pca, r->lt, nt, r->fr);
  gpa_pca_encode(&in->pca, r->fs, ns, r->ls);
  gpa_pca_encode(&in->pca, r->fb, ns, r->lb);
  gpa_pca_encode(&in->pca, r->fr, nt, r->lr);
  return label_perms(in, r);
}

/* D, R, S, G and the floor in gene space (in double) and in the latent space (PCA units).
 * Collective. */
static int label_distances(const struct gpa_integration *in, struct label_report *r) {
  const int64_t ns = r->ns, nt = r->nt, g = in->g;
  double *d[5] = {NULL, NULL, NULL, NULL, NULL}; /* source, target, baseline, corrected, rec. */
  const float *f[5] = {r->fs, r->ft, r->fb, r->fc, r->fr};
  const int64_t rows[5] = {ns, nt, ns, ns, nt};
  int rc;
  for (int s = 0; s < 5; s++) GPA_CHECK_GOTO(rc, to_double(f[s], rows[s] * g, &d[s]), done);
  const struct sets gene = {d[0], d[4], d[2], d[3], d[1], ns, nt, g, r->perm, r->perm_src};
  GPA_CHECK_GOTO(rc, distances(in->comm, &gene, &r->gene), done);
  const struct sets lat = {r->ls, r->lr, r->lb, r->lc, r->lt, ns, nt, in->k, r->perm, r->perm_src};
  GPA_CHECK_GOTO(rc, distances(in->comm, &lat, &r->lat), done);
done:
  for (int s = 0; s < 5; s++) gpa_free(&d[s]);
  return rc;
}

/* Batch mixing within the label: source (0) and target (1) pooled, before, baseline and
 * corrected, against shuffled sides. */
static int label_mixing(const struct gpa_integration *in, struct label_report *r) {
  const int64_t ns = r->ns, nt = r->nt, k = in->k;
  double *pool = NULL, dmin, dmax;
  int32_t *side = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&pool, (size_t)((ns + nt) * k + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&side, (size_t)(ns + nt + 1), sizeof(int32_t)), done);
  for (int64_t i = 0; i < ns + nt; i++) side[i] = i < ns ? 0 : 1;
  memcpy(pool + ns * k, r->lt, sizeof(double) * (size_t)(nt * k));
  const double *srcs[3] = {r->ls, r->lb, r->lc};
  for (int s = 0; s < 3; s++) {
    memcpy(pool, srcs[s], sizeof(double) * (size_t)(ns * k));
    GPA_CHECK_GOTO(rc,
                   mixing(pool, ns + nt, k, side, (uint64_t)in->p.run.seed + (uint64_t)r->c,
                          &r->mix[s], s == 2 ? &r->smin : &dmin, s == 2 ? &r->smax : &dmax),
                   done);
  }
done:
  gpa_free(&pool);
  gpa_free(&side);
  return rc;
}

/* Neighbourhoods kept: each pooled source sample's nearest sources, before and after. */
static void label_kept(const struct gpa_integration *in, const struct pool *p,
                       struct label_report *r) {
  const int64_t k = in->k;
  int64_t members = 0, before[KNN], after[KNN];
  const double *moved[2] = {p->zb, p->zc};
  r->kept[0] = r->kept[1] = 0;
  for (int64_t i = 0; i < p->ns; i++) {
    if (p->ls[i] != r->c) continue;
    members++;
    nearest(p->zs + i * k, p->zs, p->ns, k, i, before);
    for (int s = 0; s < 2; s++) {
      nearest(moved[s] + i * k, moved[s], p->ns, k, i, after);
      int same = 0;
      for (int a = 0; a < KNN; a++)
        for (int b = 0; b < KNN; b++) same += before[a] >= 0 && before[a] == after[b];
      r->kept[s] += same / (double)KNN;
    }
  }
  for (int s = 0; s < 2; s++) r->kept[s] = members ? r->kept[s] / (double)members : NAN;
}

/* Mixing, kept neighbourhoods, memorisation (in the latent space, where the particles move),
 * label accuracy and the checks. */
static int label_neighbours(const struct gpa_integration *in, const struct pool *p,
                            struct label_report *r) {
  const int64_t ns = r->ns, nt = r->nt, k = in->k;
  const int c = r->c;
  GPA_CHECK(label_mixing(in, r));
  label_kept(in, p, r);
  double own;
  GPA_CHECK(median_nearest(r->lt, nt, r->lt, nt, k, 1, &own));
  const double *srcs[3] = {r->ls, r->lb, r->lc};
  for (int s = 0; s < 3; s++) {
    GPA_CHECK(median_nearest(srcs[s], ns, r->lt, nt, k, 0, &r->memo[s]));
    r->memo[s] /= own;
  }
  r->acc_before = p->acc[c * 3] / p->cnt[c];
  r->acc_base = p->acc[c * 3 + 1] / p->cnt[c];
  r->acc_after = p->acc[c * 3 + 2] / p->cnt[c];
  /* The issue's bar, in gene space: better than the baseline, not below the sampling floor,
   * mixed like shuffled batches, neighbourhoods and labels kept at least as the baseline. */
  const struct distances *gene = &r->gene;
  r->ok[0] = gene->G / gene->D < gene->S / gene->D;
  r->ok[1] = gene->G_h >= gene->F;
  r->ok[2] = r->mix[2] <= r->smax + 1e-12 && r->mix[2] >= r->smin - 1e-12;
  r->ok[3] = r->kept[1] >= r->kept[0];
  r->ok[4] = r->acc_after >= r->acc_base;
  /* The baseline below the floor makes "G below S" and "G not below F" exclusive. */
  r->base_below = gene->S < gene->F;
  r->src_below = gene->D_h < gene->F;
  return GPA_OK;
}

static void print_label(FILE *out, const struct gpa_integration *in, const struct label_report *r) {
  const struct distances *lat = &r->lat, *gene = &r->gene;
  const int64_t ns = r->ns, nt = r->nt;
  fprintf(out, "\nlabel %s: %lld source, %lld target samples\n", in->label_names[r->c],
          (long long)ns, (long long)nt);
  fprintf(out, "  %-7s %10s %10s %10s %10s %10s   %8s %8s %8s\n", "", "D", "R", "S (base)",
          "G (gpa)", "F (floor)", "R/D", "S/D", "G/D");
  print_row(out, "latent", lat);
  print_row(out, "gene", gene);
  fprintf(out,
          "  floor at equal sizes (%d halvings, %lld vs %lld samples): latent F %.4g +- "
          "%.2g, source %.4g, baseline %.4g, gpa %.4g; gene F %.4g +- %.2g, source %.4g, "
          "baseline %.4g, gpa %.4g\n",
          FLOOR_SPLITS, (long long)(nt / 2 < ns ? nt / 2 : ns), (long long)(nt - nt / 2), lat->F,
          lat->F_sd, lat->D_h, lat->S_h, lat->G_h, gene->F, gene->F_sd, gene->D_h, gene->S_h,
          gene->G_h);
  if (r->base_below)
    fprintf(out,
            "  note: the baseline is below the floor in gene space (S %.4g < F %.4g; at "
            "equal sizes %.4g): it fits the target sample, and no correction can be both "
            "below S and not below F here\n",
            gene->S, gene->F, gene->S_h);
  if (r->src_below)
    fprintf(out,
            "  note: the uncorrected source is below the floor at equal sizes in gene space "
            "(%.4g < F %.4g): with these sample sizes the batch effect is within the "
            "target's own sampling spread\n",
            gene->D_h, gene->F);
  fprintf(out, "  label accuracy (5-NN among targets): before %.3f, baseline %.3f, gpa %.3f\n",
          r->acc_before, r->acc_base, r->acc_after);
  fprintf(out,
          "  batch mixing (5-NN source/target accuracy): before %.3f, baseline %.3f, "
          "gpa %.3f; shuffled labels %.3f-%.3f\n",
          r->mix[0], r->mix[1], r->mix[2], r->smin, r->smax);
  fprintf(out, "  neighbours kept (5-NN among sources): baseline %.3f, gpa %.3f\n", r->kept[0],
          r->kept[1]);
  fprintf(out,
          "  memorisation ratio (latent; distance to the nearest target over the "
          "targets' own): before %.3f, baseline %.3f, gpa %.3f\n",
          r->memo[0], r->memo[1], r->memo[2]);
  fprintf(out,
          "  checks: G/D < S/D %s; G >= F (equal sizes) %s; mixing within shuffled "
          "range %s; neighbours >= baseline %s; label accuracy >= baseline %s\n",
          yes(r->ok[0]), yes(r->ok[1]), yes(r->ok[2]), yes(r->ok[3]), yes(r->ok[4]));
}

static void json_label(FILE *t, const struct gpa_integration *in, const struct label_report *r) {
  fprintf(t, "%s", r->c ? ", " : "");
  json_string(t, in->label_names[r->c]);
  fprintf(t, ": {\"source_samples\": %lld, \"target_samples\": %lld, ", (long long)r->ns,
          (long long)r->nt);
  json_distances(t, "latent", &r->lat, 1);
  json_distances(t, "gene", &r->gene, 1);
  num(t, "label_accuracy_before", r->acc_before, 1);
  num(t, "label_accuracy_baseline", r->acc_base, 1);
  num(t, "label_accuracy_after", r->acc_after, 1);
  num(t, "neighbours_kept", r->kept[1], 1);
  num(t, "neighbours_kept_baseline", r->kept[0], 1);
  fprintf(t, "\"memorisation_ratio\": {");
  num(t, "before", r->memo[0], 1);
  num(t, "baseline", r->memo[1], 1);
  num(t, "after", r->memo[2], 0);
  fprintf(t, "}, ");
  fprintf(t, "\"batch_mixing\": {");
  num(t, "before", r->mix[0], 1);
  num(t, "baseline", r->mix[1], 1);
  num(t, "after", r->mix[2], 1);
  num(t, "shuffled_min", r->smin, 1);
  num(t, "shuffled_max", r->smax, 0);
  fprintf(t,
          "}, \"checks\": {\"G_below_S\": %s, \"G_not_below_F\": %s, "
          "\"mixing_in_shuffled_range\": %s, \"neighbours_at_least_baseline\": %s, "
          "\"label_accuracy_at_least_baseline\": %s}, \"baseline_below_floor\": %s, "
          "\"source_below_floor\": %s",
          tf(r->ok[0]), tf(r->ok[1]), tf(r->ok[2]), tf(r->ok[3]), tf(r->ok[4]), tf(r->base_below),
          tf(r->src_below));
  fprintf(t, ", \"run_file\": ");
  json_string(t, in->run_files[r->c]);
  fprintf(t, "}");
}

/* Label c measured, printed on `out` (NULL: not) and added to the JSON text.  Collective. */
static int report_label(const struct gpa_integration *in, const struct pool *p, int c, FILE *out,
                        FILE *json) {
  struct label_report r;
  memset(&r, 0, sizeof r);
  r.c = c;
  int rc;
  GPA_CHECK_GOTO(rc, label_sets(in, &r), done);
  GPA_CHECK_GOTO(rc, label_distances(in, &r), done);
  GPA_CHECK_GOTO(rc, label_neighbours(in, p, &r), done);
  if (out) print_label(out, in, &r);
  json_label(json, in, &r);
done:
  label_report_free(&r);
  return rc;
}

/* The JSON text's close: *json = a copy of the stream's text (gpa_free it). */
static int json_finish(FILE **t, char **text, size_t *len, char **json) {
  const int bad = ferror(*t);
  const int closed = fclose(*t);
  *t = NULL;
  if (bad || closed != 0 || !*text)
    return GPA_ERROR(GPA_ERR_NOMEM, "integrate: the report's JSON text could not be made");
  GPA_CHECK(gpa_alloc(json, *len + 1));
  memcpy(*json, *text, *len + 1);
  return GPA_OK;
}

int gpa_integration_report(struct gpa_integration *in, FILE *out, char **json) {
  struct pool pool;
  memset(&pool, 0, sizeof pool);
  char *text = NULL;
  size_t len = 0;
  FILE *t = NULL;
  if (in->rank != 0) out = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, pool_create(in, &pool), done);
  t = open_memstream(&text, &len);
  if (!t) {
    rc = GPA_ERROR(GPA_ERR_NOMEM, "integrate: no memory for the report's JSON text");
    goto done;
  }
  fprintf(t,
          "{\"samples\": {\"source\": %lld, \"target\": %lld}, \"genes\": %lld, "
          "\"components\": %d, ",
          (long long)in->n_src, (long long)in->n_tgt, (long long)in->g, in->k);
  fprintf(t, "\"pca_seconds\": %.4g, \"gpa_seconds\": %.4g, \"gpa_seconds_per_step\": %.4g, ",
          in->seconds_pca, in->seconds_gpa, in->seconds_per_step);
  fprintf(t, "\"labels\": {");
  if (out)
    fprintf(out,
            "\nreport (debiased Sinkhorn divergence, blur 0.05; at most %lld samples per "
            "side and label):\n",
            (long long)in->p.integrate.metric_samples);
  for (int c = 0; c < in->n_labels; c++)
    GPA_CHECK_GOTO(rc, report_label(in, &pool, c, out, t), done);
  fprintf(t, "}}\n");
  GPA_CHECK_GOTO(rc, json_finish(&t, &text, &len, json), done);
done:
  if (t) fclose(t);
  free(text); /* open_memstream's buffer is the C library's */
  pool_destroy(&pool);
  return rc;
}
