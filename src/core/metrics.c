#include "gpa/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpa/comm.h"
#include "gpa/error.h"
#include "gpa/linalg.h"

static double sqdist(const double *a, const double *b, int64_t d) {
  double s = 0.0;
  for (int64_t k = 0; k < d; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
}

/* ------------------------------------------------------------------------- exact W2 */

/* The Hungarian method with potentials, 1-based: row i of the cost matrix is a_i, column j is
 * b_j; p[j] is the row assigned to column j, way[] the augmenting path, u and v the dual
 * potentials. */
struct hungarian {
  const double *a, *b;
  int64_t n, d;
  double *u, *v, *minv; /* [n + 1] */
  int64_t *p, *way;     /* [n + 1] */
  char *used;           /* [n + 1] */
};

/* Assigns row i: grows the shortest augmenting path from it, then flips the path. */
static void hungarian_row(struct hungarian *h, int64_t i) {
  const int64_t n = h->n, d = h->d;
  double *u = h->u, *v = h->v, *minv = h->minv;
  int64_t *p = h->p, *way = h->way;
  char *used = h->used;
  p[0] = i;
  int64_t j0 = 0;
  for (int64_t j = 0; j <= n; j++) {
    minv[j] = INFINITY;
    used[j] = 0;
  }
  do {
    used[j0] = 1;
    const int64_t i0 = p[j0];
    double delta = INFINITY;
    int64_t j1 = 0;
    for (int64_t j = 1; j <= n; j++) {
      if (used[j]) continue;
      double cur = sqdist(h->a + (i0 - 1) * d, h->b + (j - 1) * d, d) - u[i0] - v[j];
      if (cur < minv[j]) {
        minv[j] = cur;
        way[j] = j0;
      }
      if (minv[j] < delta) {
        delta = minv[j];
        j1 = j;
      }
    }
    for (int64_t j = 0; j <= n; j++) {
      if (used[j]) {
        u[p[j]] += delta;
        v[j] -= delta;
      } else {
        minv[j] -= delta;
      }
    }
    j0 = j1;
  } while (p[j0] != 0);
  do {
    int64_t j1 = way[j0];
    p[j0] = p[j1];
    j0 = j1;
  } while (j0);
}

int gpa_w2_exact(const double *a, const double *b, int64_t n, int64_t d, double *w2) {
  if (n == 0) {
    *w2 = 0.0;
    return GPA_OK;
  }
  for (int64_t i = 0; i < n * d; i++)
    if (!isfinite(a[i]) || !isfinite(b[i])) { /* the augmenting paths need finite costs */
      *w2 = NAN;
      return GPA_OK;
    }
  struct hungarian h = {.a = a, .b = b, .n = n, .d = d};
  const size_t len = (size_t)n + 1;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&h.u, len, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&h.v, len, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&h.minv, len, sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&h.p, len, sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&h.way, len, sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&h.used, len, 1), done);
  for (int64_t i = 1; i <= n; i++) hungarian_row(&h, i);
  double total = 0.0;
  for (int64_t j = 1; j <= n; j++) total += sqdist(a + (h.p[j] - 1) * d, b + (j - 1) * d, d);
  *w2 = sqrt(total / (double)n);
done:
  gpa_free(&h.u);
  gpa_free(&h.v);
  gpa_free(&h.minv);
  gpa_free(&h.p);
  gpa_free(&h.way);
  gpa_free(&h.used);
  return rc;
}

/* ------------------------------------------------------------------------- Sinkhorn */

/* Rows [lo, hi) of this rank when `n` rows are split over the communicator, and (when counts
 * is not NULL) the count and first row of every rank, for a gather. */
static int my_rows(MPI_Comm comm, int64_t n, int64_t *lo, int64_t *hi, int *counts, int *displs) {
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  struct gpa_block p = gpa_partition(n, rank, size);
  *lo = p.offset;
  *hi = p.offset + p.n_local;
  if (counts) {
    for (int r = 0; r < size; r++) {
      struct gpa_block q = gpa_partition(n, r, size);
      counts[r] = (int)q.n_local;
      displs[r] = (int)q.offset;
    }
  }
  return GPA_OK;
}

/* The cost |x_i - y_j|^2 / 2 for this rank's rows i of x: computed once with BLIS and kept
 * when it fits the budget, else computed pair by pair on the fly. */
struct cost {
  const double *x, *y;
  int64_t n, m, d, lo, hi;
  double *c; /* [hi - lo][m], or NULL */
};

enum { COST_BUDGET = 8 << 20 }; /* doubles per cached matrix and rank (64 MB) */

static int cost_init(struct cost *c, MPI_Comm comm, const double *x, int64_t n, const double *y,
                     int64_t m, int64_t d) {
  memset(c, 0, sizeof *c);
  c->x = x;
  c->y = y;
  c->n = n;
  c->m = m;
  c->d = d;
  GPA_CHECK(my_rows(comm, n, &c->lo, &c->hi, NULL, NULL));
  const int64_t rows = c->hi - c->lo;
  if (rows * m > COST_BUDGET || rows == 0) return GPA_OK;
  GPA_CHECK(gpa_alloc_array(&c->c, (size_t)(rows * m), sizeof(double)));
  gpa_gemm('N', 'T', rows, m, d, -1.0, x + c->lo * d, d, y, d, 0.0, c->c, m);
  for (int64_t i = 0; i < rows; i++) {
    const double xi = 0.5 * gpa_dot(d, x + (c->lo + i) * d, x + (c->lo + i) * d);
    for (int64_t j = 0; j < m; j++) {
      double v = c->c[i * m + j] + xi + 0.5 * gpa_dot(d, y + j * d, y + j * d);
      c->c[i * m + j] = v > 0.0 ? v : 0.0;
    }
  }
  return GPA_OK;
}

static inline double cost_at(const struct cost *c, int64_t i, int64_t j) {
  return c->c ? c->c[(i - c->lo) * c->m + j] : 0.5 * sqdist(c->x + i * c->d, c->y + j * c->d, c->d);
}

/* out_i = -eps log sum_j exp(h_j - C_ij / eps), h_j = lw + pot_j / eps, for this rank's rows
 * i; then gathered on every rank. */
static int softmin(MPI_Comm comm, double eps, const struct cost *c, double lw, const double *pot,
                   double *out, int *counts, int *displs) {
  for (int64_t i = c->lo; i < c->hi; i++) {
    double mx = -INFINITY;
    for (int64_t j = 0; j < c->m; j++) {
      double v = lw + pot[j] / eps - cost_at(c, i, j) / eps;
      if (v > mx) mx = v;
    }
    double s = 0.0;
    for (int64_t j = 0; j < c->m; j++) s += exp(lw + pot[j] / eps - cost_at(c, i, j) / eps - mx);
    out[i] = -eps * (mx + log(s));
  }
  GPA_MPI(
      MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, counts, displs, MPI_DOUBLE, comm));
  return GPA_OK;
}

/* The epsilon schedule of geomloss (p = 2) into eps_list [256]: diam^2, then exp of an arange
 * from 2 log diam down to 2 log blur by 2 log scaling, then blur^2, where diam is the diameter
 * of the bounding box of both sets (at least blur).  Returns the number of epsilons. */
static int eps_schedule(const double *a, int64_t n, const double *b, int64_t m, int64_t d,
                        double blur, double scaling, double *eps_list) {
  double diam2 = 0.0;
  for (int64_t k = 0; k < d; k++) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
      lo = fmin(lo, a[i * d + k]);
      hi = fmax(hi, a[i * d + k]);
    }
    for (int64_t j = 0; j < m; j++) {
      lo = fmin(lo, b[j * d + k]);
      hi = fmax(hi, b[j * d + k]);
    }
    diam2 += (hi - lo) * (hi - lo);
  }
  const double diam = sqrt(diam2) > blur ? sqrt(diam2) : blur;
  int n_eps = 0;
  eps_list[n_eps++] = diam * diam;
  for (double e = 2 * log(diam); e > 2 * log(blur) && n_eps < 254; e += 2 * log(scaling))
    eps_list[n_eps++] = exp(e);
  eps_list[n_eps++] = blur * blur;
  return n_eps;
}

/* The debiased Sinkhorn iteration: the potentials f, g of OT(a, b), p of OT(a, a) and q of
 * OT(b, b), their updates ft, gt, pt, qt, the four costs, and the gathers of n and m rows. */
struct sinkhorn {
  MPI_Comm comm;
  int64_t n, m;
  double la, lb;           /* -log n, -log m: the log-weights of the uniform measures */
  double *f, *p, *ft, *pt; /* [n + 1] */
  double *g, *q, *gt, *qt; /* [m + 1] */
  int *cn, *dn, *cm, *dm;  /* [ranks]: counts and first rows of n and m rows */
  struct cost cab, cba, caa, cbb;
};

/* Allocates the buffers and the costs of a zeroed `s` (sinkhorn_free frees what was made). */
static int sinkhorn_setup(struct sinkhorn *s, MPI_Comm comm, const double *a, int64_t n,
                          const double *b, int64_t m, int64_t d) {
  int size;
  GPA_MPI(MPI_Comm_size(comm, &size));
  s->comm = comm;
  s->n = n;
  s->m = m;
  double **rows_n[4] = {&s->f, &s->p, &s->ft, &s->pt}, **rows_m[4] = {&s->g, &s->q, &s->gt, &s->qt};
  for (int i = 0; i < 4; i++) {
    GPA_CHECK(gpa_alloc_array(rows_n[i], (size_t)n + 1, sizeof(double)));
    GPA_CHECK(gpa_alloc_array(rows_m[i], (size_t)m + 1, sizeof(double)));
  }
  int **layout[4] = {&s->cn, &s->dn, &s->cm, &s->dm};
  for (int i = 0; i < 4; i++) GPA_CHECK(gpa_alloc_array(layout[i], (size_t)size, sizeof(int)));
  int64_t lo, hi;
  GPA_CHECK(my_rows(comm, n, &lo, &hi, s->cn, s->dn));
  GPA_CHECK(my_rows(comm, m, &lo, &hi, s->cm, s->dm));
  GPA_CHECK(cost_init(&s->cab, comm, a, n, b, m, d));
  GPA_CHECK(cost_init(&s->cba, comm, b, m, a, n, d));
  GPA_CHECK(cost_init(&s->caa, comm, a, n, a, n, d));
  GPA_CHECK(cost_init(&s->cbb, comm, b, m, b, m, d));
  s->la = -log((double)n);
  s->lb = -log((double)m);
  return GPA_OK;
}

static void sinkhorn_free(struct sinkhorn *s) {
  double **bufs[8] = {&s->f, &s->p, &s->ft, &s->pt, &s->g, &s->q, &s->gt, &s->qt};
  for (int i = 0; i < 8; i++) gpa_free(bufs[i]);
  gpa_free(&s->cn);
  gpa_free(&s->dn);
  gpa_free(&s->cm);
  gpa_free(&s->dm);
  gpa_free(&s->cab.c);
  gpa_free(&s->cba.c);
  gpa_free(&s->caa.c);
  gpa_free(&s->cbb.c);
}

/* The updates ft, gt, pt, qt at `eps` from the potentials.  Collective. */
static int sinkhorn_update(struct sinkhorn *s, double eps) {
  GPA_CHECK(softmin(s->comm, eps, &s->cab, s->lb, s->g, s->ft, s->cn, s->dn));
  GPA_CHECK(softmin(s->comm, eps, &s->cba, s->la, s->f, s->gt, s->cm, s->dm));
  GPA_CHECK(softmin(s->comm, eps, &s->caa, s->la, s->p, s->pt, s->cn, s->dn));
  GPA_CHECK(softmin(s->comm, eps, &s->cbb, s->lb, s->q, s->qt, s->cm, s->dm));
  return GPA_OK;
}

/* The symmetric step: each potential becomes the mean of itself and its update. */
static void sinkhorn_average(struct sinkhorn *s) {
  for (int64_t i = 0; i < s->n; i++) {
    s->f[i] = 0.5 * (s->f[i] + s->ft[i]);
    s->p[i] = 0.5 * (s->p[i] + s->pt[i]);
  }
  for (int64_t j = 0; j < s->m; j++) {
    s->g[j] = 0.5 * (s->g[j] + s->gt[j]);
    s->q[j] = 0.5 * (s->q[j] + s->qt[j]);
  }
}

int gpa_sinkhorn(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m, int64_t d,
                 double blur, double scaling, double *value) {
  double eps_list[256];
  const int n_eps = eps_schedule(a, n, b, m, d, blur, scaling, eps_list);
  struct sinkhorn s;
  memset(&s, 0, sizeof s);
  int rc;
  GPA_CHECK_GOTO(rc, sinkhorn_setup(&s, comm, a, n, b, m, d), done);
  /* Start: one softmin from zero potentials at the largest epsilon. */
  for (int64_t j = 0; j < m; j++) s.g[j] = s.q[j] = 0.0;
  for (int64_t i = 0; i < n; i++) s.f[i] = s.p[i] = 0.0;
  GPA_CHECK_GOTO(rc, sinkhorn_update(&s, eps_list[0]), done);
  memcpy(s.f, s.ft, sizeof(double) * (size_t)n);
  memcpy(s.g, s.gt, sizeof(double) * (size_t)m);
  memcpy(s.p, s.pt, sizeof(double) * (size_t)n);
  memcpy(s.q, s.qt, sizeof(double) * (size_t)m);
  /* Annealing: one symmetric (averaged) update per epsilon. */
  for (int k = 0; k < n_eps; k++) {
    GPA_CHECK_GOTO(rc, sinkhorn_update(&s, eps_list[k]), done);
    sinkhorn_average(&s);
  }
  /* Last extrapolation at blur^2, from the previous potentials. */
  GPA_CHECK_GOTO(rc, sinkhorn_update(&s, blur * blur), done);
  double v = 0.0;
  for (int64_t i = 0; i < n; i++) v += (s.ft[i] - s.pt[i]) / (double)n;
  for (int64_t j = 0; j < m; j++) v += (s.gt[j] - s.qt[j]) / (double)m;
  *value = v;
done:
  sinkhorn_free(&s);
  return rc;
}

/* ------------------------------------------------------------------------- energy, MMD */

/* Sums over this rank's rows i of x of sum_j kernel(|x_i - y_j|), reduced over ranks. */
static int pair_sum(MPI_Comm comm, const double *x, int64_t n, const double *y, int64_t m,
                    int64_t d, double h, double *out) {
  int64_t lo, hi;
  GPA_CHECK(my_rows(comm, n, &lo, &hi, NULL, NULL));
  double s = 0.0;
  for (int64_t i = lo; i < hi; i++)
    for (int64_t j = 0; j < m; j++) {
      double r2 = sqdist(x + i * d, y + j * d, d);
      s += h > 0 ? exp(-r2 / (2 * h * h)) : sqrt(r2);
    }
  GPA_MPI(MPI_Allreduce(&s, out, 1, MPI_DOUBLE, MPI_SUM, comm));
  return GPA_OK;
}

int gpa_energy_distance(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m,
                        int64_t d, double *value) {
  double ab, aa, bb;
  GPA_CHECK(pair_sum(comm, a, n, b, m, d, 0.0, &ab));
  GPA_CHECK(pair_sum(comm, a, n, a, n, d, 0.0, &aa));
  GPA_CHECK(pair_sum(comm, b, m, b, m, d, 0.0, &bb));
  *value = 2 * ab / ((double)n * m) - aa / ((double)n * n) - bb / ((double)m * m);
  return GPA_OK;
}

static int by_value(const void *x, const void *y) {
  double u = *(const double *)x, v = *(const double *)y;
  return (u > v) - (u < v);
}

int gpa_mmd(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m, int64_t d,
            double *value, double *bandwidth) {
  /* Median pairwise distance of at most 1000 pooled points, evenly spread over both sets. */
  const int64_t total = n + m, k = total < 1000 ? total : 1000;
  double *dist;
  GPA_CHECK(gpa_alloc_array(&dist, (size_t)(k * (k - 1) / 2 + 1), sizeof(double)));
  int64_t c = 0;
  for (int64_t u = 0; u < k; u++)
    for (int64_t v = u + 1; v < k; v++) {
      int64_t iu = u * total / k, iv = v * total / k;
      const double *pu = iu < n ? a + iu * d : b + (iu - n) * d;
      const double *pv = iv < n ? a + iv * d : b + (iv - n) * d;
      dist[c++] = sqrt(sqdist(pu, pv, d));
    }
  qsort(dist, (size_t)c, sizeof(double), by_value);
  double h = c ? dist[c / 2] : 1.0;
  gpa_free(&dist);
  if (h <= 0) h = 1.0;
  double ab, aa, bb;
  GPA_CHECK(pair_sum(comm, a, n, b, m, d, h, &ab));
  GPA_CHECK(pair_sum(comm, a, n, a, n, d, h, &aa));
  GPA_CHECK(pair_sum(comm, b, m, b, m, d, h, &bb));
  double mmd2 = aa / ((double)n * n) + bb / ((double)m * m) - 2 * ab / ((double)n * m);
  *value = sqrt(mmd2 > 0 ? mmd2 : 0.0);
  *bandwidth = h;
  return GPA_OK;
}
