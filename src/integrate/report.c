/* The integration report: per label and pooled over the labels, the paper's Table 4 (D, R, S, G
 * in latent and gene space), the sampling floor F and the gap closed, label preservation, batch
 * mixing against a permutation band, kept neighbourhoods and pairs, the memorisation ratio, the
 * truth of synthetic data, and the bar of issue 13 as checks (a report: a failed check does not
 * fail the run).
 *
 * Batch mixing, neighbours kept and pairs kept are defined as the independent evaluator
 * defines them (shared/bench/integration_eval.py: loo_batch_mixing, neighbour_preservation,
 * pairing_kept), in gene space; the truth metrics as shared/bench/truth_eval.py does.
 *
 * The sets are gathered on every rank (struct set_report: at most integrate.metric_samples
 * samples per side, of one label or of all labels pooled; set_gather gathers them, set_measure
 * measures them, print_set and json_set write them); label accuracy uses struct pool (at most
 * metric_samples samples per side and label) and the truth metrics every sample (struct truth).
 * Exact neighbour searches go by blocks of fixed size whatever the rank count (knn), so every
 * rank count finds the same neighbours. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpa/linalg.h"
#include "gpa/metrics.h"
#include "gpa/rng.h"
#include "integration.h"

enum { KNN = 5, TRUTH_KNN = 10, PERMUTATIONS = 500, STREAM_METRICS = 300 };
enum { FLOOR_SPLITS = 5 };                   /* random halvings of the target averaged in F */
enum { QUERY_BLOCK = 64, REF_CHUNK = 2048 }; /* the neighbour search's fixed blocks of rows */
enum { MAX_KNN = TRUTH_KNN > KNN ? TRUTH_KNN : KNN };

/* The bar (issue 13): its thresholds. */
static const double MEMO_MIN = 0.9;       /* memorisation ratio at least this */
static const double FLOOR_FRACTION = 0.9; /* G at equal sizes at least this x F */
static const double KEPT_FRACTION = 0.9;  /* neighbours kept at least this x the baseline's */
static const double GAP_MIN = 0.7;        /* gap closed at least this ... */
static const double GAP_ABOVE = 1.1;      /* ... where D at equal sizes is above this x F */
static const double TRUTH_FRACTION = 0.5; /* truth error at most base - this x (base - oracle) */

/* ------------------------------------------------------------------------- samples */

static int by_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Marks at most `max` pooled samples of one side and label (label < 0: of every label; a seeded
 * random subset); *picked is how many. */
static int pick(const struct gpa_integration *in, int side, int label, int64_t max, char *mask,
                int64_t *picked) {
  int64_t lo = side == 0 ? 0 : in->n_src, hi = side == 0 ? in->n_src : in->n, count = 0;
#define MEMBER(i) (label < 0 || in->label[i] == label)
  for (int64_t i = lo; i < hi; i++) count += MEMBER(i);
  *picked = count <= max ? count : max;
  if (count <= max) {
    for (int64_t i = lo; i < hi; i++)
      if (MEMBER(i)) mask[i] = 1;
    return GPA_OK;
  }
  /* The max samples of smallest random key. */
  double *key = NULL, *sorted = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&key, (size_t)count, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&sorted, (size_t)count, sizeof(double)), done);
  int64_t c = 0;
  for (int64_t i = lo; i < hi; i++)
    if (MEMBER(i)) {
      struct gpa_rng r;
      gpa_rng_init(&r, (uint64_t)in->p.run.seed, STREAM_METRICS, (uint64_t)i);
      key[c++] = gpa_rng_uniform(&r);
    }
  memcpy(sorted, key, sizeof(double) * (size_t)count);
  qsort(sorted, (size_t)count, sizeof(double), by_double);
  const double cut = sorted[max - 1];
  c = 0;
  for (int64_t i = lo; i < hi; i++)
    if (MEMBER(i) && key[c++] <= cut) mask[i] = 1;
#undef MEMBER
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

/* The rows of an exact neighbour search, centred on the reference set's mean (as the evaluator
 * centres them: the distances do not change, their rounding does less), and their squared
 * norms.  For a search within one set, r is q. */
struct knn_sets {
  double *q, *r;   /* [nq][d], [nr][d] */
  double *qq, *rr; /* [nq], [nr] */
  int64_t nq, nr, d;
  int self; /* r is q: a row is not its own neighbour */
};

static void knn_sets_free(struct knn_sets *s) {
  if (s->self) s->r = NULL, s->rr = NULL;
  gpa_free(&s->q);
  gpa_free(&s->qq);
  gpa_free(&s->r);
  gpa_free(&s->rr);
}

/* out [n][d] = x - mean and norms [n] their squared norms, in new buffers. */
static int centred(const double *x, int64_t n, int64_t d, const double *mean, double **out,
                   double **norms) {
  GPA_CHECK(gpa_alloc_array(out, (size_t)(n * d + 1), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(norms, (size_t)n + 1, sizeof(double)));
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t t = 0; t < d; t++) {
      const double v = x[i * d + t] - mean[t];
      (*out)[i * d + t] = v;
      s += v * v;
    }
    (*norms)[i] = s;
  }
  return GPA_OK;
}

static int knn_sets_make(const double *q, int64_t nq, const double *r, int64_t nr, int64_t d,
                         struct knn_sets *s) {
  memset(s, 0, sizeof *s);
  *s = (struct knn_sets){.nq = nq, .nr = nr, .d = d, .self = q == r};
  double *mean;
  GPA_CHECK(gpa_alloc_array(&mean, (size_t)d + 1, sizeof(double)));
  for (int64_t j = 0; j < nr; j++)
    for (int64_t t = 0; t < d; t++) mean[t] += r[j * d + t];
  for (int64_t t = 0; t < d; t++) mean[t] /= nr > 0 ? (double)nr : 1.0;
  int rc;
  GPA_CHECK_GOTO(rc, centred(q, nq, d, mean, &s->q, &s->qq), done);
  if (s->self) {
    s->r = s->q;
    s->rr = s->qq;
  } else {
    GPA_CHECK_GOTO(rc, centred(r, nr, d, mean, &s->r, &s->rr), done);
  }
done:
  gpa_free(&mean);
  if (rc) knn_sets_free(s);
  return rc;
}

/* Puts reference j at squared distance v into a row's K nearest so far (dist, idx sorted by
 * distance, then index: references come in increasing index). */
static void knn_insert(double *dist, int64_t *idx, int K, double v, int64_t j) {
  if (!(v < dist[K - 1])) return;
  int a = K - 1;
  while (a > 0 && dist[a - 1] > v) {
    dist[a] = dist[a - 1];
    idx[a] = idx[a - 1];
    a--;
  }
  dist[a] = v;
  idx[a] = j;
}

/* The K nearest references of query rows [q0, q0 + bq): |q|^2 + |r|^2 - 2 q.r as the evaluator
 * computes it, the products by BLIS on blocks of REF_CHUNK references. */
static void knn_block(const struct knn_sets *s, int64_t q0, int64_t bq, int K, double *tile,
                      int64_t *idx) {
  double dist[QUERY_BLOCK * MAX_KNN];
  for (int64_t a = 0; a < bq * K; a++) {
    dist[a] = INFINITY;
    idx[a] = -1;
  }
  for (int64_t r0 = 0; r0 < s->nr; r0 += REF_CHUNK) {
    const int64_t rc = s->nr - r0 < REF_CHUNK ? s->nr - r0 : REF_CHUNK;
    gpa_gemm('N', 'T', bq, rc, s->d, 1.0, s->q + q0 * s->d, s->d, s->r + r0 * s->d, s->d, 0.0, tile,
             rc);
    for (int64_t a = 0; a < bq; a++)
      for (int64_t b = 0; b < rc; b++) {
        const int64_t j = r0 + b;
        if (s->self && j == q0 + a) continue;
        const double v = s->qq[q0 + a] + s->rr[j] - 2.0 * tile[a * rc + b];
        knn_insert(dist + a * K, idx + a * K, K, v, j);
      }
  }
}

/* Collective: every rank's rows of idx (counts[p] elements from counts[size + p]) to all. */
static int share_rows(const struct gpa_integration *in, int64_t *idx, const int *counts) {
  GPA_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, idx, counts, counts + in->size,
                         MPI_INT64_T, in->comm));
  return GPA_OK;
}

/* Collective: idx [nq][K] = for every row of q [nq][d], its K nearest rows of r [nr][d]
 * (Euclidean; ties to the lower index; with q == r a row is not its own neighbour; -1 where r
 * has too few rows), on every rank.  The queries go in blocks of QUERY_BLOCK rows, contiguous
 * runs of blocks to each rank, so that every rank count computes the same products. */
static int knn(const struct gpa_integration *in, const double *q, int64_t nq, const double *r,
               int64_t nr, int64_t d, int K, int64_t *idx) {
  if ((int64_t)K * nq > INT_MAX)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "integrate: %lld samples are too many for the report's "
                     "neighbour search (lower integrate.metric_samples)",
                     (long long)nq);
  const int64_t blocks = (nq + QUERY_BLOCK - 1) / QUERY_BLOCK;
  struct knn_sets s;
  double *tile = NULL;
  int *counts = NULL;
  int rc;
  GPA_CHECK(knn_sets_make(q, nq, r, nr, d, &s));
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&counts, 2 * (size_t)in->size, sizeof(int)), done);
  for (int p = 0; p < in->size; p++) {
    const struct gpa_block b = gpa_partition(blocks, p, in->size);
    const int64_t lo = b.offset * QUERY_BLOCK, hi = (b.offset + b.n_local) * QUERY_BLOCK;
    counts[p] = (int)(K * ((hi < nq ? hi : nq) - (lo < nq ? lo : nq)));
    counts[in->size + p] = (int)(K * (lo < nq ? lo : nq));
  }
  const int64_t lo = counts[in->size + in->rank] / K, hi = lo + counts[in->rank] / K;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&tile, (size_t)QUERY_BLOCK * REF_CHUNK, sizeof(double)), done);
  for (int64_t b = lo; b < hi; b += QUERY_BLOCK)
    knn_block(&s, b, hi - b < QUERY_BLOCK ? hi - b : QUERY_BLOCK, K, tile, idx + b * K);
  GPA_CHECK_GOTO(rc, share_rows(in, idx, counts), done);
done:
  knn_sets_free(&s);
  gpa_free(&tile);
  gpa_free(&counts);
  return rc;
}

/* ------------------------------------------------------------------------- mixing, kept */

/* Batch mixing of a pooled set, as integration_eval.py's loo_batch_mixing: the leave-one-out
 * KNN vote of each sample's side (source 0, target 1) among the others, as balanced accuracy
 * (0.5: mixed, 1: told apart) and accuracy, beside the same score for PERMUTATIONS seeded
 * permutations of the sides over the same neighbours (what exchangeable sets give): their mean
 * and 5% and 95% quantiles.  Below the band the corrected samples sit closer to the targets
 * than the targets to each other (fitted to the target sample); above it the sides are still
 * told apart. */
struct mixing {
  double bal, acc, null_mean, q05, q95;
};

/* The vote's balanced accuracy and accuracy for the classes cls (0, 1) over nb [m][KNN]. */
static void vote_score(const int64_t *nb, const int32_t *cls, int64_t m, double *bal, double *acc) {
  int64_t ok[2] = {0, 0}, tot[2] = {0, 0};
  for (int64_t i = 0; i < m; i++) {
    int votes = 0, n = 0;
    for (; n < KNN && nb[i * KNN + n] >= 0; n++) votes += cls[nb[i * KNN + n]];
    int pred = 2 * votes > n;
    if (n > 0 && 2 * votes == n) pred = cls[nb[i * KNN]]; /* an even tie: the nearest's */
    tot[cls[i]]++;
    ok[cls[i]] += pred == cls[i];
  }
  *bal = tot[0] && tot[1] ? 0.5 * ((double)ok[0] / (double)tot[0] + (double)ok[1] / (double)tot[1])
                          : NAN;
  *acc = m ? (double)(ok[0] + ok[1]) / (double)m : NAN;
}

/* The p-quantile of sorted [n], interpolated linearly (numpy's default). */
static double quantile(const double *sorted, int64_t n, double p) {
  const double h = (double)(n - 1) * p;
  const int64_t lo = (int64_t)floor(h);
  if (lo + 1 >= n) return sorted[n - 1];
  return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

/* x's null band: the vote's score for PERMUTATIONS permutations of cls, the same seeded ones
 * for every set and on any rank count. */
static int mixing_null(const struct gpa_integration *in, const int64_t *nb, const int32_t *cls,
                       int64_t m, struct mixing *x) {
  x->null_mean = x->q05 = x->q95 = NAN;
  if (!isfinite(x->bal)) return GPA_OK; /* one side empty */
  double *null = NULL, acc;
  int32_t *perm = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&null, PERMUTATIONS, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&perm, (size_t)m + 1, sizeof(int32_t)), done);
  double sum = 0;
  for (int s = 0; s < PERMUTATIONS; s++) {
    memcpy(perm, cls, sizeof(int32_t) * (size_t)m);
    struct gpa_rng r;
    gpa_rng_init(&r, (uint64_t)in->p.run.seed, STREAM_METRICS + 1, (uint64_t)s);
    gpa_rng_shuffle(&r, perm, m, sizeof *perm);
    vote_score(nb, perm, m, &null[s], &acc);
    sum += null[s];
  }
  qsort(null, PERMUTATIONS, sizeof(double), by_double);
  x->null_mean = sum / PERMUTATIONS;
  x->q05 = quantile(null, PERMUTATIONS, 0.05);
  x->q95 = quantile(null, PERMUTATIONS, 0.95);
done:
  gpa_free(&null);
  gpa_free(&perm);
  return rc;
}

/* The mixing of a [na][d] (source side) with b [nb][d] (target side).  Collective. */
static int batch_mixing(const struct gpa_integration *in, const double *a, int64_t na,
                        const double *b, int64_t nb, int64_t d, struct mixing *x) {
  const int64_t m = na + nb;
  double *pool = NULL;
  int32_t *cls = NULL;
  int64_t *graph = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&pool, (size_t)(m * d + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&cls, (size_t)m + 1, sizeof(int32_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&graph, (size_t)(m * KNN + 1), sizeof(int64_t)), done);
  memcpy(pool, a, sizeof(double) * (size_t)(na * d));
  memcpy(pool + na * d, b, sizeof(double) * (size_t)(nb * d));
  for (int64_t i = 0; i < m; i++) cls[i] = i >= na;
  GPA_CHECK_GOTO(rc, knn(in, pool, m, pool, m, d, KNN, graph), done);
  vote_score(graph, cls, m, &x->bal, &x->acc);
  GPA_CHECK_GOTO(rc, mixing_null(in, graph, cls, m, x), done);
done:
  gpa_free(&pool);
  gpa_free(&cls);
  gpa_free(&graph);
  return rc;
}

/* out[i] = the fraction of row i's KNN nearest rows before (nb0) still among its KNN nearest
 * after (nb1): integration_eval.py's neighbour_preservation, row by row. */
static void kept_rows(const int64_t *nb0, const int64_t *nb1, int64_t n, double *out) {
  for (int64_t i = 0; i < n; i++) {
    int same = 0;
    for (int a = 0; a < KNN; a++)
      for (int b = 0; b < KNN; b++)
        same += nb0[i * KNN + a] >= 0 && nb0[i * KNN + a] == nb1[i * KNN + b];
    out[i] = same / (double)KNN;
  }
}

/* *frac = the fraction of the n sources with a partner (another source of the same pair code
 * >= 0) whose nearest other source (the first of nb [n][KNN]) is a partner, as
 * integration_eval.py's pairing_kept; *with = how many have a partner (NaN when none has). */
static int pairing(const int64_t *nb, const int32_t *code, int64_t n, double *frac, int64_t *with) {
  int32_t top = -1;
  for (int64_t i = 0; i < n; i++) top = code[i] > top ? code[i] : top;
  int64_t *count, kept = 0;
  GPA_CHECK(gpa_alloc_array(&count, (size_t)top + 2, sizeof(int64_t)));
  for (int64_t i = 0; i < n; i++)
    if (code[i] >= 0) count[code[i]]++;
  *with = 0;
  for (int64_t i = 0; i < n; i++) {
    if (code[i] < 0 || count[code[i]] < 2) continue;
    (*with)++;
    kept += nb[i * KNN] >= 0 && code[nb[i * KNN]] == code[i];
  }
  *frac = *with ? (double)kept / (double)*with : NAN;
  gpa_free(&count);
  return GPA_OK;
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

/* "key": {"before": x[0], "baseline": x[1], "after": x[2]} */
static void json_three(FILE *t, const char *key, const double x[3], int comma) {
  fprintf(t, "\"%s\": {", key);
  num(t, "before", x[0], 1);
  num(t, "baseline", x[1], 1);
  num(t, "after", x[2], 0);
  fprintf(t, "}%s", comma ? ", " : "");
}

/* ------------------------------------------------------------------------- distances */

struct distances {
  double D, R, S, G, F;
  double F_sd;          /* spread of F over the halvings */
  double D_h, S_h, G_h; /* D, S and G at the floor's sample sizes: a source subset against a
                         * half */
  double gap, gap_base; /* gap closed by gpa and by the baseline: (D_h - G_h) / (D_h - F) where
                         * D_h > GAP_ABOVE F, else NaN */
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
 * source against the target), the sampling floor (floor_splits) and the gap closed.  Particles that
 * collapsed onto the target samples give G_h < F; fresh samples of the target's distribution
 * give G_h near F.  Collective. */
static int distances(MPI_Comm comm, const struct sets *x, struct distances *out) {
  GPA_CHECK(sinkhorn(comm, x->src, x->ns, x->tgt, x->nt, x->d, &out->D));
  GPA_CHECK(sinkhorn(comm, x->rec, x->nt, x->tgt, x->nt, x->d, &out->R));
  GPA_CHECK(sinkhorn(comm, x->base, x->ns, x->tgt, x->nt, x->d, &out->S));
  GPA_CHECK(sinkhorn(comm, x->corr, x->ns, x->tgt, x->nt, x->d, &out->G));
  const int64_t h = x->nt / 2, hs = h < x->ns ? h : x->ns;
  out->F = out->F_sd = out->D_h = out->S_h = out->G_h = out->gap = out->gap_base = NAN;
  if (h == 0 || hs == 0) return GPA_OK;
  GPA_CHECK(floor_splits(comm, x, out));
  if (out->D_h > GAP_ABOVE * out->F) {
    out->gap = (out->D_h - out->G_h) / (out->D_h - out->F);
    out->gap_base = (out->D_h - out->S_h) / (out->D_h - out->F);
  }
  return GPA_OK;
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
  num(t, "gap_closed", x->gap, 1);
  num(t, "gap_closed_baseline", x->gap_base, 1);
  num(t, "R/D", x->R / x->D, 1);
  num(t, "S/D", x->S / x->D, 1);
  num(t, "G/D", x->G / x->D, 0);
  fprintf(t, "}%s", comma ? ", " : "");
}

/* ------------------------------------------------------------------------- label accuracy */

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

/* ------------------------------------------------------------------------- truth */

/* The truth of synthetic data, as truth_eval.py measures it: for the source samples before
 * correction, after the baseline and after gpa, the mean distance to their batch-free twin
 * (/X_ref) in the latent space (PCA units) and in gene space, and the truth-neighbour error:
 * the mean distance in the true latent state (/obs/latent) from a sample to its TRUTH_KNN
 * nearest target samples, found in the latent space, beside the oracle's (its TRUTH_KNN nearest
 * targets in the true latent state).  Every source and target sample counts. */
enum { TWIN_LAT = 0, TWIN_GENE = 3, TRUTH_ERROR = 6, ORACLE = 9, TRUTH_COLS = 10 };
struct truth {
  double v[TRUTH_COLS]; /* twin latent, twin gene, error: before, baseline, corrected; oracle */
};

/* Per source sample, gathered on every rank: v [ns][TRUTH_COLS] (twin latent, twin gene and
 * error before, baseline, corrected; oracle), the latent coordinates q[3] [ns][k], the targets'
 * t [nt][k], and the true latent states zs [ns][dz] and zt [nt][dz]. */
struct truth_work {
  double *v, *q[3], *t, *zs, *zt;
  int64_t ns, nt;
};

static void truth_work_free(struct truth_work *w) {
  gpa_free(&w->v);
  for (int s = 0; s < 3; s++) gpa_free(&w->q[s]);
  gpa_free(&w->t);
  gpa_free(&w->zs);
  gpa_free(&w->zt);
}

/* This rank's rows: v [nl][TRUTH_COLS] the twin distances of its source rows, z[3] [nl][k]
 * their latent coordinates before, baseline and corrected, zt [nl][dz] the true states. */
static int truth_local(const struct gpa_integration *in, double *v, double *z[3], double *zt) {
  const int64_t nl = in->part.n_local, k = in->k, g = in->g, dz = in->dz;
  const float *x[3] = {in->X, in->Xb, in->Xc};
  double *zr = NULL;
  GPA_CHECK(gpa_alloc_array(&zr, (size_t)(nl * k + 1), sizeof(double)));
  gpa_pca_encode(&in->pca, in->Xref, nl, zr);
  for (int s = 0; s < 3; s++) gpa_pca_encode(&in->pca, x[s], nl, z[s]);
  for (int64_t i = 0; i < nl * dz; i++) zt[i] = in->Ztrue[i];
  for (int64_t i = 0; i < nl && in->part.offset + i < in->n_src; i++)
    for (int s = 0; s < 3; s++) {
      double lat = 0, gene = 0;
      for (int64_t j = 0; j < k; j++)
        lat += (z[s][i * k + j] - zr[i * k + j]) * (z[s][i * k + j] - zr[i * k + j]);
      for (int64_t j = 0; j < g; j++) {
        const double e = (double)x[s][i * g + j] - in->Xref[i * g + j];
        gene += e * e;
      }
      v[i * TRUTH_COLS + TWIN_LAT + s] = sqrt(lat);
      v[i * TRUTH_COLS + TWIN_GENE + s] = sqrt(gene);
    }
  gpa_free(&zr);
  return GPA_OK;
}

/* The arrays of w, this rank's rows gathered on every rank.  Collective. */
static int truth_gather(const struct gpa_integration *in, const char *ms, const char *mt,
                        struct truth_work *w) {
  const int64_t nl = in->part.n_local, k = in->k, dz = in->dz, n = in->n;
  double *v = NULL, *z[3] = {NULL, NULL, NULL}, *zt = NULL;
  int64_t q;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&v, (size_t)(nl * TRUTH_COLS + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&zt, (size_t)(nl * dz + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&w->v, (size_t)(n * TRUTH_COLS + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&w->t, (size_t)(n * k + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&w->zs, (size_t)(n * dz + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&w->zt, (size_t)(n * dz + 1), sizeof(double)), done);
  for (int s = 0; s < 3; s++) {
    GPA_CHECK_GOTO(rc, gpa_alloc_array(&z[s], (size_t)(nl * k + 1), sizeof(double)), done);
    GPA_CHECK_GOTO(rc, gpa_alloc_array(&w->q[s], (size_t)(n * k + 1), sizeof(double)), done);
  }
  GPA_CHECK_GOTO(rc, truth_local(in, v, z, zt), done);
  GPA_CHECK_GOTO(rc, gather(in, v, TRUTH_COLS, sizeof(double), ms, w->v, &w->ns), done);
  for (int s = 0; s < 3; s++)
    GPA_CHECK_GOTO(rc, gather(in, z[s], k, sizeof(double), ms, w->q[s], &q), done);
  GPA_CHECK_GOTO(rc, gather(in, in->Z, k, sizeof(double), mt, w->t, &w->nt), done);
  GPA_CHECK_GOTO(rc, gather(in, zt, dz, sizeof(double), ms, w->zs, &q), done);
  GPA_CHECK_GOTO(rc, gather(in, zt, dz, sizeof(double), mt, w->zt, &q), done);
done:
  gpa_free(&v);
  gpa_free(&zt);
  for (int s = 0; s < 3; s++) gpa_free(&z[s]);
  return rc;
}

/* Column `col` of w->v: each source's mean true-state distance to the targets idx
 * [ns][TRUTH_KNN]. */
static void truth_error(const struct truth_work *w, int64_t dz, const int64_t *idx, int col) {
  for (int64_t i = 0; i < w->ns; i++) {
    double sum = 0;
    int count = 0;
    for (int a = 0; a < TRUTH_KNN && idx[i * TRUTH_KNN + a] >= 0; a++, count++) {
      const double *y = w->zt + idx[i * TRUTH_KNN + a] * dz, *x = w->zs + i * dz;
      double s = 0;
      for (int64_t j = 0; j < dz; j++) s += (y[j] - x[j]) * (y[j] - x[j]);
      sum += sqrt(s);
    }
    w->v[i * TRUTH_COLS + col] = count ? sum / count : NAN;
  }
}

/* out [L + 1]: the truth per label, then pooled (sums in pooled order). */
static int truth_sum(const struct gpa_integration *in, const struct truth_work *w,
                     struct truth *out) {
  const int L = in->n_labels;
  double *cnt;
  GPA_CHECK(gpa_alloc_array(&cnt, (size_t)L + 1, sizeof(double)));
  memset(out, 0, sizeof *out * (size_t)(L + 1));
  for (int64_t i = 0; i < w->ns; i++) {
    const int at[2] = {in->label[i], L};
    for (int h = 0; h < 2; h++) {
      for (int col = 0; col < TRUTH_COLS; col++) out[at[h]].v[col] += w->v[i * TRUTH_COLS + col];
      cnt[at[h]] += 1;
    }
  }
  for (int c = 0; c <= L; c++)
    for (int col = 0; col < TRUTH_COLS; col++) out[c].v[col] /= cnt[c] > 0 ? cnt[c] : NAN;
  gpa_free(&cnt);
  return GPA_OK;
}

/* out [L + 1]: the truth per label and pooled, from every source and target sample.
 * Collective. */
static int truth_measure(const struct gpa_integration *in, struct truth *out) {
  const int64_t n = in->n;
  struct truth_work w;
  memset(&w, 0, sizeof w);
  char *ms = NULL, *mt = NULL;
  int64_t *idx = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&ms, (size_t)n + 1, 1), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&mt, (size_t)n + 1, 1), done);
  for (int64_t i = 0; i < n; i++) *(i < in->n_src ? &ms[i] : &mt[i]) = 1;
  GPA_CHECK_GOTO(rc, truth_gather(in, ms, mt, &w), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&idx, (size_t)(w.ns * TRUTH_KNN + 1), sizeof(int64_t)), done);
  for (int s = 0; s < 3; s++) {
    GPA_CHECK_GOTO(rc, knn(in, w.q[s], w.ns, w.t, w.nt, in->k, TRUTH_KNN, idx), done);
    truth_error(&w, in->dz, idx, TRUTH_ERROR + s);
  }
  GPA_CHECK_GOTO(rc, knn(in, w.zs, w.ns, w.zt, w.nt, in->dz, TRUTH_KNN, idx), done);
  truth_error(&w, in->dz, idx, ORACLE);
  GPA_CHECK_GOTO(rc, truth_sum(in, &w, out), done);
done:
  truth_work_free(&w);
  gpa_free(&ms);
  gpa_free(&mt);
  gpa_free(&idx);
  return rc;
}

/* ------------------------------------------------------------------------- one set */

/* The bar of issue 13 as checks: each a figure against its threshold. */
enum {
  CHECK_MEMO,
  CHECK_FLOOR_LATENT,
  CHECK_FLOOR_GENE,
  CHECK_MIXING,
  CHECK_KEPT,
  CHECK_GAP_LATENT,
  CHECK_GAP_GENE,
  CHECK_TRUTH,
  N_CHECKS
};
static const struct {
  const char *key, *name; /* in the JSON, in the printed report */
  int item;               /* the bar's item */
} check_info[N_CHECKS] = {
    {"memorisation_ratio", "memorisation ratio", 1},
    {"floor_latent", "floor, latent", 2},
    {"floor_gene", "floor, gene", 2},
    {"mixing_in_band", "pooled mixing", 3},
    {"neighbours_kept", "neighbours kept", 4},
    {"gap_closed_latent", "gap closed, latent", 5},
    {"gap_closed_gene", "gap closed, gene", 5},
    {"truth", "truth", 6},
};

struct check {
  int state;        /* 1 pass, 0 fail, -1 not applicable */
  double value;     /* the figure */
  double low, high; /* it passes at least `low` (and, for the mixing band, at most `high`) */
};

/* One set's samples and statistics: a label's (c >= 0) or every label's pooled (c = -1). */
struct set_report {
  int c;
  int64_t ns, nt;                  /* source and target samples taken */
  char *ms, *mt;                   /* [n] masks of those samples */
  double *gs, *gb, *gc;            /* [ns][g] gene space: source, baseline, corrected */
  double *gt, *gr;                 /* [nt][g] gene space: target, reconstructed target */
  double *ls, *lb, *lc;            /* [ns][k] latent: source, baseline, corrected */
  double *lt, *lr;                 /* [nt][k] latent: target, reconstructed target */
  int32_t *lab, *pair;             /* [ns] the sources' labels and pair codes (pair: NULL) */
  int64_t *perm[FLOOR_SPLITS];     /* [nt] the floor's orders of the targets */
  int64_t *perm_src[FLOOR_SPLITS]; /* [ns] ... and of the sources */
  struct distances gene, lat;
  struct mixing mix[3], mix_lat[3]; /* before, baseline, corrected: gene space, latent (pooled) */
  double kept[2];                   /* neighbours kept (gene space): baseline, corrected */
  double *kept_label;               /* pooled: [L][3] sums of kept, baseline and corrected, and
                                     * counts of each label's sources */
  double pairs[3];                  /* pooled: pairs kept before, baseline, corrected */
  int64_t with_partner;             /* pooled: sources with a partner */
  double memo[3], acc[3];           /* memorisation ratio, label accuracy: before, baseline, gpa */
  const struct truth *truth;        /* NULL: no truth */
  struct check bar[N_CHECKS];
  int base_below, src_below;
};

/* Frees the samples; the figures stay. */
static void set_free_samples(struct set_report *r) {
  double **d[10] = {&r->gs, &r->gb, &r->gc, &r->gt, &r->gr, &r->ls, &r->lb, &r->lc, &r->lt, &r->lr};
  for (int s = 0; s < 10; s++) gpa_free(d[s]);
  gpa_free(&r->ms);
  gpa_free(&r->mt);
  gpa_free(&r->lab);
  gpa_free(&r->pair);
  for (int s = 0; s < FLOOR_SPLITS; s++) {
    gpa_free(&r->perm[s]);
    gpa_free(&r->perm_src[s]);
  }
}

static void set_free(struct set_report *r) {
  set_free_samples(r);
  gpa_free(&r->kept_label);
}

/* The floor's halvings: FLOOR_SPLITS shuffles of the targets and of the sources. */
static int set_perms(const struct gpa_integration *in, struct set_report *r) {
  const uint64_t set = r->c >= 0 ? (uint64_t)r->c : (uint64_t)in->n_labels;
  for (int s = 0; s < FLOOR_SPLITS; s++) {
    GPA_CHECK(gpa_alloc_array(&r->perm[s], (size_t)(r->nt + 1), sizeof(int64_t)));
    GPA_CHECK(gpa_alloc_array(&r->perm_src[s], (size_t)(r->ns + 1), sizeof(int64_t)));
    struct gpa_rng rng;
    gpa_rng_init(&rng, (uint64_t)in->p.run.seed, STREAM_METRICS + 2,
                 set * FLOOR_SPLITS + (uint64_t)s);
    for (int64_t i = 0; i < r->nt; i++) r->perm[s][i] = i;
    gpa_rng_shuffle(&rng, r->perm[s], r->nt, sizeof(int64_t));
    for (int64_t i = 0; i < r->ns; i++) r->perm_src[s][i] = i;
    gpa_rng_shuffle(&rng, r->perm_src[s], r->ns, sizeof(int64_t));
  }
  return GPA_OK;
}

/* The set's rows in gene space (f [5]: source, baseline, corrected, target, reconstructed
 * target, as float) and in the latent space: gathered, or encoded (the corrected ones are the
 * transported points).  Collective. */
static int set_rows(const struct gpa_integration *in, struct set_report *r, float *f[5]) {
  const int64_t ns = r->ns, nt = r->nt, g = in->g, k = in->k;
  const int64_t rows[5] = {ns, ns, ns, nt, nt};
  double **z[5] = {&r->ls, &r->lb, &r->lc, &r->lt, &r->lr};
  for (int s = 0; s < 5; s++) {
    GPA_CHECK(gpa_alloc_array(&f[s], (size_t)(rows[s] * g + 1), sizeof(float)));
    GPA_CHECK(gpa_alloc_array(z[s], (size_t)(rows[s] * k + 1), sizeof(double)));
  }
  int64_t q;
  GPA_CHECK(gather(in, in->X, g, sizeof(float), r->ms, f[0], &q));
  GPA_CHECK(gather(in, in->Xb, g, sizeof(float), r->ms, f[1], &q));
  GPA_CHECK(gather(in, in->Xc, g, sizeof(float), r->ms, f[2], &q));
  GPA_CHECK(gather(in, in->X, g, sizeof(float), r->mt, f[3], &q));
  GPA_CHECK(gather(in, in->Zc, k, sizeof(double), r->ms, r->lc, &q));
  gpa_pca_encode(&in->pca, f[3], nt, r->lt);
  gpa_pca_decode(&in->pca, r->lt, nt, f[4]);
  gpa_pca_encode(&in->pca, f[0], ns, r->ls);
  gpa_pca_encode(&in->pca, f[1], ns, r->lb);
  gpa_pca_encode(&in->pca, f[4], nt, r->lr);
  double **d[5] = {&r->gs, &r->gb, &r->gc, &r->gt, &r->gr};
  for (int s = 0; s < 5; s++) GPA_CHECK(to_double(f[s], rows[s] * g, d[s]));
  return GPA_OK;
}

/* The set's samples: picked (at most metric_samples per side), gathered in gene and latent
 * space, with the sources' labels and pair codes, and the floor's halvings.  Collective. */
static int set_gather(const struct gpa_integration *in, struct set_report *r) {
  const int64_t n = in->n, max = in->p.integrate.metric_samples;
  GPA_CHECK(gpa_alloc_array(&r->ms, (size_t)n + 1, 1));
  GPA_CHECK(gpa_alloc_array(&r->mt, (size_t)n + 1, 1));
  GPA_CHECK(pick(in, 0, r->c, max, r->ms, &r->ns));
  GPA_CHECK(pick(in, 1, r->c, max, r->mt, &r->nt));
  if ((r->ns < 2 || r->nt < 2) && r->c >= 0 && in->rank == 0)
    fprintf(stderr,
            "warning: label %s has %lld source and %lld target samples: its floor F, "
            "memorisation ratio and neighbour statistics are not meaningful at that "
            "size\n",
            in->label_names[r->c], (long long)r->ns, (long long)r->nt);
  float *f[5] = {NULL, NULL, NULL, NULL, NULL};
  int rc;
  GPA_CHECK_GOTO(rc, set_rows(in, r, f), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&r->lab, (size_t)r->ns + 1, sizeof(int32_t)), done);
  if (in->pair)
    GPA_CHECK_GOTO(rc, gpa_alloc_array(&r->pair, (size_t)r->ns + 1, sizeof(int32_t)), done);
  for (int64_t i = 0, a = 0; i < in->n_src; i++)
    if (r->ms[i]) {
      if (r->pair) r->pair[a] = in->pair[i];
      r->lab[a++] = in->label[i];
    }
  GPA_CHECK_GOTO(rc, set_perms(in, r), done);
done:
  for (int s = 0; s < 5; s++) gpa_free(&f[s]);
  return rc;
}

/* D, R, S, G, the floor and the gap closed in gene space and in the latent space (PCA units).
 * Collective. */
static int set_distances(const struct gpa_integration *in, struct set_report *r) {
  const struct sets gene = {r->gs, r->gr, r->gb, r->gc,   r->gt,
                            r->ns, r->nt, in->g, r->perm, r->perm_src};
  GPA_CHECK(distances(in->comm, &gene, &r->gene));
  const struct sets lat = {r->ls, r->lr, r->lb, r->lc,   r->lt,
                           r->ns, r->nt, in->k, r->perm, r->perm_src};
  return distances(in->comm, &lat, &r->lat);
}

/* Batch mixing of the set's sources (before, baseline, corrected) with its targets, in gene
 * space and, pooled, in the latent space too.  Collective. */
static int set_mixing(const struct gpa_integration *in, struct set_report *r) {
  const double *gene[3] = {r->gs, r->gb, r->gc}, *lat[3] = {r->ls, r->lb, r->lc};
  for (int s = 0; s < 3; s++) {
    GPA_CHECK(batch_mixing(in, gene[s], r->ns, r->gt, r->nt, in->g, &r->mix[s]));
    r->mix_lat[s] = (struct mixing){NAN, NAN, NAN, NAN, NAN};
    if (r->c < 0) GPA_CHECK(batch_mixing(in, lat[s], r->ns, r->lt, r->nt, in->k, &r->mix_lat[s]));
  }
  return GPA_OK;
}

/* Pooled: neighbours kept (gene space), overall and summed per label, and pairs kept, from
 * the KNN graphs of the sources before, after the baseline and after gpa.  Collective. */
static int set_kept(const struct gpa_integration *in, struct set_report *r) {
  const int64_t ns = r->ns, L = in->n_labels;
  const double *sets[3] = {r->gs, r->gb, r->gc};
  int64_t *nb[3] = {NULL, NULL, NULL};
  double *row = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&r->kept_label, (size_t)(3 * L), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&row, (size_t)ns + 1, sizeof(double)), done);
  for (int s = 0; s < 3; s++) {
    GPA_CHECK_GOTO(rc, gpa_alloc_array(&nb[s], (size_t)(ns * KNN + 1), sizeof(int64_t)), done);
    GPA_CHECK_GOTO(rc, knn(in, sets[s], ns, sets[s], ns, in->g, KNN, nb[s]), done);
  }
  for (int s = 0; s < 2; s++) {
    kept_rows(nb[0], nb[s + 1], ns, row);
    double sum = 0;
    for (int64_t i = 0; i < ns; i++) {
      sum += row[i];
      r->kept_label[r->lab[i] * 3 + s] += row[i];
      r->kept_label[r->lab[i] * 3 + 2] += s == 0;
    }
    r->kept[s] = ns ? sum / (double)ns : NAN;
  }
  r->pairs[0] = r->pairs[1] = r->pairs[2] = NAN;
  for (int s = 0; s < 3 && r->pair; s++)
    GPA_CHECK_GOTO(rc, pairing(nb[s], r->pair, ns, &r->pairs[s], &r->with_partner), done);
done:
  for (int s = 0; s < 3; s++) gpa_free(&nb[s]);
  gpa_free(&row);
  return rc;
}

/* A check of the bar: not applicable when `applies` is 0 or its figures are not finite. */
static struct check check_of(int applies, double value, double low, double high) {
  struct check c = {-1, value, low, high};
  if (applies && isfinite(value) && !isnan(low) && !isnan(high))
    c.state = value >= low - 1e-12 && value <= high + 1e-12;
  return c;
}

/* The bar's checks of the set. */
static void set_bar(struct set_report *r) {
  const struct distances *lat = &r->lat, *gene = &r->gene;
  const struct mixing *m = &r->mix[2];
  struct check *b = r->bar;
  b[CHECK_MEMO] = check_of(1, r->memo[2], MEMO_MIN, INFINITY);
  b[CHECK_FLOOR_LATENT] = check_of(1, lat->G_h, FLOOR_FRACTION * lat->F, INFINITY);
  b[CHECK_FLOOR_GENE] = check_of(1, gene->G_h, FLOOR_FRACTION * gene->F, INFINITY);
  b[CHECK_MIXING] = check_of(r->c < 0, m->bal, m->q05, m->q95); /* pass/fail pooled only */
  b[CHECK_KEPT] = check_of(1, r->kept[1], KEPT_FRACTION * r->kept[0], INFINITY);
  b[CHECK_GAP_LATENT] = check_of(isfinite(lat->gap), lat->gap, GAP_MIN, INFINITY);
  b[CHECK_GAP_GENE] = check_of(isfinite(gene->gap), gene->gap, GAP_MIN, INFINITY);
  b[CHECK_TRUTH] = check_of(0, NAN, NAN, NAN);
  if (r->truth) { /* the error at most this, and the twin (latent) nearer than the baseline's */
    const double *v = r->truth->v;
    const double base = v[TRUTH_ERROR + 1], most = base - TRUTH_FRACTION * (base - v[ORACLE]);
    b[CHECK_TRUTH] = check_of(1, v[TRUTH_ERROR + 2], -INFINITY, most);
    if (b[CHECK_TRUTH].state == 1 && !(v[TWIN_LAT + 2] < v[TWIN_LAT + 1])) b[CHECK_TRUTH].state = 0;
  }
}

/* Everything measured on the set's samples, label accuracy from p and, for a label, its
 * neighbours kept from the pooled set's graphs.  Collective. */
static int set_measure(const struct gpa_integration *in, const struct pool *p,
                       const struct set_report *pooled, struct set_report *r) {
  const int64_t k = in->k, L = in->n_labels;
  GPA_CHECK(set_distances(in, r));
  GPA_CHECK(set_mixing(in, r));
  if (r->c < 0) {
    GPA_CHECK(set_kept(in, r));
  } else {
    const double *kl = pooled->kept_label + 3 * r->c;
    r->kept[0] = kl[2] > 0 ? kl[0] / kl[2] : NAN;
    r->kept[1] = kl[2] > 0 ? kl[1] / kl[2] : NAN;
  }
  double own;
  GPA_CHECK(median_nearest(r->lt, r->nt, r->lt, r->nt, k, 1, &own));
  const double *srcs[3] = {r->ls, r->lb, r->lc};
  for (int s = 0; s < 3; s++) {
    GPA_CHECK(median_nearest(srcs[s], r->ns, r->lt, r->nt, k, 0, &r->memo[s]));
    r->memo[s] /= own;
  }
  for (int s = 0; s < 3; s++) {
    double ok = 0, cnt = 0;
    for (int64_t c = 0; c < L; c++)
      if (r->c < 0 || c == r->c) {
        ok += p->acc[c * 3 + s];
        cnt += p->cnt[c];
      }
    r->acc[s] = ok / cnt;
  }
  r->base_below = r->gene.S < r->gene.F;
  r->src_below = r->gene.D_h < r->gene.F;
  set_bar(r);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- printing */

static const char *state_text(int state) {
  return state > 0 ? "pass" : state == 0 ? "FAIL" : "n/a";
}

static void print_table(FILE *out, const struct set_report *r) {
  const struct distances *lat = &r->lat, *gene = &r->gene;
  fprintf(out, "  %-7s %10s %10s %10s %10s %10s   %8s %8s %8s\n", "", "D", "R", "S (base)",
          "G (gpa)", "F (floor)", "R/D", "S/D", "G/D");
  print_row(out, "latent", lat);
  print_row(out, "gene", gene);
  fprintf(out,
          "  floor at equal sizes (%d halvings, %lld vs %lld samples): latent F %.4g +- "
          "%.2g, source %.4g, baseline %.4g, gpa %.4g; gene F %.4g +- %.2g, source %.4g, "
          "baseline %.4g, gpa %.4g\n",
          FLOOR_SPLITS, (long long)(r->nt / 2 < r->ns ? r->nt / 2 : r->ns),
          (long long)(r->nt - r->nt / 2), lat->F, lat->F_sd, lat->D_h, lat->S_h, lat->G_h, gene->F,
          gene->F_sd, gene->D_h, gene->S_h, gene->G_h);
  if (isfinite(lat->gap) || isfinite(gene->gap))
    fprintf(out,
            "  gap closed (D_half - X_half) / (D_half - F): latent gpa %.3f, baseline %.3f; "
            "gene gpa %.3f, baseline %.3f\n",
            lat->gap, lat->gap_base, gene->gap, gene->gap_base);
  else fprintf(out, "  gap closed: n/a (the source is within %.1f F at equal sizes)\n", GAP_ABOVE);
  if (r->base_below)
    fprintf(out,
            "  note: the baseline is below the floor in gene space (S %.4g < F %.4g; at "
            "equal sizes %.4g): it fits the target sample\n",
            gene->S, gene->F, gene->S_h);
  if (r->src_below)
    fprintf(out,
            "  note: the uncorrected source is below the floor at equal sizes in gene space "
            "(%.4g < F %.4g): with these sample sizes the batch effect is within the "
            "target's own sampling spread\n",
            gene->D_h, gene->F);
}

static void print_mixing(FILE *out, const char *space, const struct mixing m[3]) {
  fprintf(out,
          "  batch mixing (%s; leave-one-out %d-NN balanced accuracy, 0.5 mixed): before %.3f, "
          "baseline %.3f, gpa %.3f; band of %d permutations (5-95%%): gpa %.3f-%.3f, "
          "baseline %.3f-%.3f\n",
          space, KNN, m[0].bal, m[1].bal, m[2].bal, PERMUTATIONS, m[2].q05, m[2].q95, m[1].q05,
          m[1].q95);
}

static void print_neighbours(FILE *out, const struct gpa_integration *in,
                             const struct set_report *r) {
  fprintf(out, "  label accuracy (5-NN among targets): before %.3f, baseline %.3f, gpa %.3f\n",
          r->acc[0], r->acc[1], r->acc[2]);
  print_mixing(out, "gene space", r->mix);
  if (r->c < 0) print_mixing(out, "latent", r->mix_lat);
  fprintf(out, "  neighbours kept (%d-NN among sources, gene space): baseline %.3f, gpa %.3f\n",
          KNN, r->kept[0], r->kept[1]);
  if (r->c < 0 && in->pair)
    fprintf(out,
            "  pairs kept (nearest source is a partner; %s, %lld sources with one): before "
            "%.3f, baseline %.3f, gpa %.3f\n",
            in->p.integrate.pair_key, (long long)r->with_partner, r->pairs[0], r->pairs[1],
            r->pairs[2]);
  fprintf(out,
          "  memorisation ratio (latent; distance to the nearest target over the "
          "targets' own): before %.3f, baseline %.3f, gpa %.3f\n",
          r->memo[0], r->memo[1], r->memo[2]);
  if (!r->truth) return;
  const double *v = r->truth->v;
  fprintf(out,
          "  truth: distance to the twin latent %.4g / %.4g / %.4g, gene %.4g / %.4g / %.4g; "
          "truth-neighbour error (%d nearest targets, true latent) %.4g / %.4g / %.4g, "
          "oracle %.4g (before / baseline / gpa)\n",
          v[TWIN_LAT], v[TWIN_LAT + 1], v[TWIN_LAT + 2], v[TWIN_GENE], v[TWIN_GENE + 1],
          v[TWIN_GENE + 2], TRUTH_KNN, v[TRUTH_ERROR], v[TRUTH_ERROR + 1], v[TRUTH_ERROR + 2],
          v[ORACLE]);
}

static void print_bar(FILE *out, const struct set_report *r) {
  fprintf(out, "  bar:");
  for (int i = 0; i < N_CHECKS; i++) {
    const struct check *c = &r->bar[i];
    fprintf(out, "%s %d %s ", i ? ";" : "", check_info[i].item, check_info[i].name);
    if (i == CHECK_MIXING)
      fprintf(out, "%.3f in %.3f-%.3f %s", c->value, c->low, c->high,
              r->c < 0 ? state_text(c->state) : "(checked pooled)");
    else if (i == CHECK_TRUTH && c->state >= 0)
      fprintf(out, "%.4g <= %.4g, twin nearer %s", c->value, c->high, state_text(c->state));
    else if (c->state >= 0 || isfinite(c->value))
      fprintf(out, "%.4g >= %.4g %s", c->value, c->low, state_text(c->state));
    else fprintf(out, "n/a");
  }
  fprintf(out, "\n");
}

static void print_set(FILE *out, const struct gpa_integration *in, const struct set_report *r) {
  if (r->c >= 0)
    fprintf(out, "\nlabel %s: %lld source, %lld target samples\n", in->label_names[r->c],
            (long long)r->ns, (long long)r->nt);
  else
    fprintf(out, "\nall labels pooled: %lld source, %lld target samples\n", (long long)r->ns,
            (long long)r->nt);
  print_table(out, r);
  print_neighbours(out, in, r);
  print_bar(out, r);
}

/* ------------------------------------------------------------------------- JSON */

static void json_mixing(FILE *t, const char *key, const struct mixing m[3], int comma) {
  fprintf(t, "\"%s\": {\"k\": %d, \"permutations\": %d, ", key, KNN, PERMUTATIONS);
  const char *names[3] = {"before", "baseline", "after"};
  for (int s = 0; s < 3; s++) {
    fprintf(t, "\"%s\": {", names[s]);
    num(t, "balanced_accuracy", m[s].bal, 1);
    num(t, "accuracy", m[s].acc, 1);
    num(t, "null_mean", m[s].null_mean, 1);
    num(t, "null_q05", m[s].q05, 1);
    num(t, "null_q95", m[s].q95, 0);
    fprintf(t, "}%s", s < 2 ? ", " : "");
  }
  fprintf(t, "}%s", comma ? ", " : "");
}

static void json_truth(FILE *t, const struct truth *x) {
  fprintf(t, "\"truth\": {");
  json_three(t, "twin_distance_latent", x->v + TWIN_LAT, 1);
  json_three(t, "twin_distance_gene", x->v + TWIN_GENE, 1);
  json_three(t, "truth_neighbour_error", x->v + TRUTH_ERROR, 1);
  num(t, "oracle", x->v[ORACLE], 0);
  fprintf(t, "}, ");
}

static void json_bar(FILE *t, const struct set_report *r) {
  fprintf(t, "\"bar\": {");
  for (int i = 0; i < N_CHECKS; i++) {
    const struct check *c = &r->bar[i];
    fprintf(t, "%s\"%s\": {\"item\": %d, \"pass\": %s, ", i ? ", " : "", check_info[i].key,
            check_info[i].item,
            c->state > 0    ? "true"
            : c->state == 0 ? "false"
                            : "null");
    num(t, "value", c->value, 1);
    num(t, "at_least", c->low, 1);
    num(t, "at_most", c->high, 0);
    if (i == CHECK_MIXING && r->c >= 0) fprintf(t, ", \"note\": \"checked pooled\"");
    fprintf(t, "}");
  }
  fprintf(t, "}, ");
}

static void json_set(FILE *t, const struct gpa_integration *in, const struct set_report *r) {
  fprintf(t, "{\"source_samples\": %lld, \"target_samples\": %lld, ", (long long)r->ns,
          (long long)r->nt);
  json_distances(t, "latent", &r->lat, 1);
  json_distances(t, "gene", &r->gene, 1);
  num(t, "label_accuracy_before", r->acc[0], 1);
  num(t, "label_accuracy_baseline", r->acc[1], 1);
  num(t, "label_accuracy_after", r->acc[2], 1);
  num(t, "neighbours_kept", r->kept[1], 1);
  num(t, "neighbours_kept_baseline", r->kept[0], 1);
  json_three(t, "memorisation_ratio", r->memo, 1);
  json_mixing(t, "batch_mixing", r->mix, 1);
  if (r->c < 0) json_mixing(t, "batch_mixing_latent", r->mix_lat, 1);
  if (r->c < 0 && in->pair) {
    fprintf(t, "\"pairing_kept\": {\"pair_key\": ");
    json_string(t, in->p.integrate.pair_key);
    fprintf(t, ", \"with_partner\": %lld, ", (long long)r->with_partner);
    num(t, "before", r->pairs[0], 1);
    num(t, "baseline", r->pairs[1], 1);
    num(t, "after", r->pairs[2], 0);
    fprintf(t, "}, ");
  }
  if (r->truth) json_truth(t, r->truth);
  json_bar(t, r);
  fprintf(t, "\"baseline_below_floor\": %s, \"source_below_floor\": %s",
          r->base_below ? "true" : "false", r->src_below ? "true" : "false");
  if (r->c >= 0) {
    fprintf(t, ", \"run_file\": ");
    json_string(t, in->run_files[r->c]);
  }
  fprintf(t, "}");
}

/* ------------------------------------------------------------------------- the bar overall */

/* The checks of every set: how many pass, fail and do not apply, and which fail. */
struct tally {
  int pass, fail, na;
  char failed[8192]; /* "SET: key" lines */
  int truncated;
};

static void tally_add(struct tally *y, const struct gpa_integration *in,
                      const struct set_report *r) {
  for (int i = 0; i < N_CHECKS; i++) {
    const int s = r->bar[i].state;
    if (s < 0) {
      y->na++;
      continue;
    }
    if (s > 0) {
      y->pass++;
      continue;
    }
    y->fail++;
    const size_t at = strlen(y->failed), room = sizeof y->failed - at;
    const int w = snprintf(y->failed + at, room, "%s%s: %s\n", r->c >= 0 ? "label " : "",
                           r->c >= 0 ? in->label_names[r->c] : "pooled", check_info[i].key);
    if (w < 0 || (size_t)w >= room) {
      y->failed[at] = '\0';
      y->truncated = 1;
    }
  }
}

static void print_tally(FILE *out, const struct tally *y) {
  fprintf(out, "\nbar (issue 13): %s: %d of %d checks pass (%d not applicable)",
          y->fail ? "FAIL" : "PASS", y->pass, y->pass + y->fail, y->na);
  if (y->fail) {
    fprintf(out, "; failed:");
    for (const char *s = y->failed; *s;) {
      const char *e = strchr(s, '\n');
      fprintf(out, "%s %.*s", s == y->failed ? "" : ",", (int)(e - s), s);
      s = e + 1;
    }
    if (y->truncated) fprintf(out, ", ...");
  }
  fprintf(out, "\n");
}

static void json_tally(FILE *t, const struct tally *y) {
  fprintf(t,
          "\"bar\": {\"pass\": %s, \"checks_passed\": %d, \"checks_failed\": %d, "
          "\"not_applicable\": %d, \"failed\": [",
          y->fail ? "false" : "true", y->pass, y->fail, y->na);
  char item[512];
  for (const char *s = y->failed; *s;) {
    const char *e = strchr(s, '\n');
    snprintf(item, sizeof item, "%.*s", (int)(e - s), s);
    fprintf(t, "%s", s == y->failed ? "" : ", ");
    json_string(t, item);
    s = e + 1;
  }
  fprintf(t, "]}");
}

/* ------------------------------------------------------------------------- the report */

/* The context every set is measured in. */
struct report_ctx {
  const struct pool *pool;
  const struct set_report *pooled;
  const struct truth *truth; /* [L + 1], NULL: no truth */
  struct tally *tally;
};

/* Label c measured, printed on `out` (NULL: not) and added to the JSON text.  Collective. */
static int report_label(const struct gpa_integration *in, const struct report_ctx *x, int c,
                        FILE *out, FILE *json) {
  struct set_report r;
  memset(&r, 0, sizeof r);
  r.c = c;
  r.truth = x->truth ? &x->truth[c] : NULL;
  int rc;
  GPA_CHECK_GOTO(rc, set_gather(in, &r), done);
  GPA_CHECK_GOTO(rc, set_measure(in, x->pool, x->pooled, &r), done);
  if (out) print_set(out, in, &r);
  fprintf(json, "%s", c ? ", " : "");
  json_string(json, in->label_names[c]);
  fprintf(json, ": ");
  json_set(json, in, &r);
  tally_add(x->tally, in, &r);
done:
  set_free(&r);
  return rc;
}

/* Every label pooled, measured; its samples freed.  Collective. */
static int report_pooled(const struct gpa_integration *in, const struct pool *p,
                         const struct truth *truth, struct set_report *r) {
  memset(r, 0, sizeof *r);
  r->c = -1;
  r->truth = truth ? &truth[in->n_labels] : NULL;
  GPA_CHECK(set_gather(in, r));
  GPA_CHECK(set_measure(in, p, NULL, r));
  set_free_samples(r);
  return GPA_OK;
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

static void report_head(const struct gpa_integration *in, FILE *out, FILE *t) {
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
            "side and set; batch mixing and neighbours in gene space, as "
            "shared/bench/integration_eval.py):\n",
            (long long)in->p.integrate.metric_samples);
}

/* The labels, then every label pooled, then the bar overall.  Collective. */
static int report_sets(struct gpa_integration *in, const struct report_ctx *x,
                       struct set_report *pooled, FILE *out, FILE *t) {
  for (int c = 0; c < in->n_labels; c++) GPA_CHECK(report_label(in, x, c, out, t));
  tally_add(x->tally, in, pooled);
  if (out) print_set(out, in, pooled);
  fprintf(t, "}, \"pooled\": ");
  json_set(t, in, pooled);
  fprintf(t, ", ");
  if (out) print_tally(out, x->tally);
  json_tally(t, x->tally);
  fprintf(t, "}\n");
  return GPA_OK;
}

int gpa_integration_report(struct gpa_integration *in, FILE *out, char **json) {
  struct pool pool;
  struct set_report pooled;
  memset(&pool, 0, sizeof pool);
  memset(&pooled, 0, sizeof pooled);
  struct truth *truth = NULL;
  struct tally *tally = NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *t = NULL;
  if (in->rank != 0) out = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc(&tally, sizeof *tally), done);
  GPA_CHECK_GOTO(rc, pool_create(in, &pool), done);
  if (in->dz > 0) {
    GPA_CHECK_GOTO(rc, gpa_alloc_array(&truth, (size_t)in->n_labels + 1, sizeof *truth), done);
    GPA_CHECK_GOTO(rc, truth_measure(in, truth), done);
  }
  GPA_CHECK_GOTO(rc, report_pooled(in, &pool, truth, &pooled), done);
  t = open_memstream(&text, &len);
  if (!t) {
    rc = GPA_ERROR(GPA_ERR_NOMEM, "integrate: no memory for the report's JSON text");
    goto done;
  }
  report_head(in, out, t);
  const struct report_ctx x = {&pool, &pooled, truth, tally};
  GPA_CHECK_GOTO(rc, report_sets(in, &x, &pooled, out, t), done);
  GPA_CHECK_GOTO(rc, json_finish(&t, &text, &len, json), done);
done:
  if (t) fclose(t);
  free(text); /* open_memstream's buffer is the C library's */
  pool_destroy(&pool);
  set_free(&pooled);
  gpa_free(&truth);
  gpa_free(&tally);
  return rc;
}
