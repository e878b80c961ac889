#include "gpa/metrics.h"

#include <math.h>

#include "gpa/error.h"

static double sqdist(const double *a, const double *b, int64_t d) {
  double s = 0.0;
  for (int64_t k = 0; k < d; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
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
  /* 1-based arrays: row i of the cost matrix is a_i, column j is b_j; p[j] is the row
   * assigned to column j, way[] the augmenting path, u and v the dual potentials. */
  double *u, *v, *minv;
  int64_t *p, *way;
  char *used;
  int rc = gpa_alloc_array(&u, (size_t)n + 1, sizeof(double));
  if (!rc) rc = gpa_alloc_array(&v, (size_t)n + 1, sizeof(double));
  if (!rc) rc = gpa_alloc_array(&minv, (size_t)n + 1, sizeof(double));
  if (!rc) rc = gpa_alloc_array(&p, (size_t)n + 1, sizeof(int64_t));
  if (!rc) rc = gpa_alloc_array(&way, (size_t)n + 1, sizeof(int64_t));
  if (!rc) rc = gpa_alloc_array(&used, (size_t)n + 1, 1);
  if (rc) return rc;
  for (int64_t i = 1; i <= n; i++) {
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
        double cur = sqdist(a + (i0 - 1) * d, b + (j - 1) * d, d) - u[i0] - v[j];
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
  double total = 0.0;
  for (int64_t j = 1; j <= n; j++) total += sqdist(a + (p[j] - 1) * d, b + (j - 1) * d, d);
  *w2 = sqrt(total / (double)n);
  gpa_free(&u);
  gpa_free(&v);
  gpa_free(&minv);
  gpa_free(&p);
  gpa_free(&way);
  gpa_free(&used);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- Sinkhorn */

#include <stdlib.h>
#include <string.h>

#include "gpa/comm.h"
#include "gpa/linalg.h"

/* Rows [lo, hi) of this rank when `n` rows are split over the communicator. */
static void my_rows(MPI_Comm comm, int64_t n, int64_t *lo, int64_t *hi, int **counts,
                    int **displs) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  struct gpa_part p = gpa_partition(n, rank, size);
  *lo = p.offset;
  *hi = p.offset + p.n_local;
  if (counts) {
    for (int r = 0; r < size; r++) {
      struct gpa_part q = gpa_partition(n, r, size);
      (*counts)[r] = (int)q.n_local;
      (*displs)[r] = (int)q.offset;
    }
  }
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
  my_rows(comm, n, &c->lo, &c->hi, NULL, NULL);
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
  GPA_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, counts, displs, MPI_DOUBLE,
                         comm));
  return GPA_OK;
}

int gpa_sinkhorn(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m, int64_t d,
                 double blur, double scaling, double *value) {
  int size;
  GPA_MPI(MPI_Comm_size(comm, &size));
  /* Diameter of the bounding box of both sets. */
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
  /* epsilon schedule of geomloss (p = 2): diam^2, then exp of an arange from 2 log diam down
   * to 2 log blur by 2 log scaling, then blur^2. */
  double eps_list[256];
  int n_eps = 0;
  eps_list[n_eps++] = diam * diam;
  for (double e = 2 * log(diam); e > 2 * log(blur) && n_eps < 254; e += 2 * log(scaling))
    eps_list[n_eps++] = exp(e);
  eps_list[n_eps++] = blur * blur;

  double *f, *g, *p, *q, *ft, *gt, *pt, *qt;
  int *cn, *dn, *cm, *dm;
  int rc = GPA_OK;
  double **bufs[8] = {&f, &g, &p, &q, &ft, &gt, &pt, &qt};
  const int64_t len[8] = {n, m, n, m, n, m, n, m};
  for (int i = 0; i < 8 && rc == GPA_OK; i++) rc = gpa_alloc_array(bufs[i], (size_t)len[i] + 1, 8);
  if (rc == GPA_OK) rc = gpa_alloc_array(&cn, (size_t)size, sizeof(int));
  if (rc == GPA_OK) rc = gpa_alloc_array(&dn, (size_t)size, sizeof(int));
  if (rc == GPA_OK) rc = gpa_alloc_array(&cm, (size_t)size, sizeof(int));
  if (rc == GPA_OK) rc = gpa_alloc_array(&dm, (size_t)size, sizeof(int));
  GPA_CHECK(rc);
  int64_t lo, hi;
  my_rows(comm, n, &lo, &hi, &cn, &dn);
  my_rows(comm, m, &lo, &hi, &cm, &dm);
  struct cost cab, cba, caa, cbb;
  GPA_CHECK(cost_init(&cab, comm, a, n, b, m, d));
  GPA_CHECK(cost_init(&cba, comm, b, m, a, n, d));
  GPA_CHECK(cost_init(&caa, comm, a, n, a, n, d));
  GPA_CHECK(cost_init(&cbb, comm, b, m, b, m, d));
  const double la = -log((double)n), lb = -log((double)m);
  /* Start: one softmin from zero potentials at the largest epsilon. */
  double eps = eps_list[0];
  for (int64_t j = 0; j < m; j++) g[j] = q[j] = 0.0;
  for (int64_t i = 0; i < n; i++) f[i] = p[i] = 0.0;
  GPA_CHECK(softmin(comm, eps, &cab, lb, g, ft, cn, dn));
  GPA_CHECK(softmin(comm, eps, &cba, la, f, gt, cm, dm));
  GPA_CHECK(softmin(comm, eps, &caa, la, p, pt, cn, dn));
  GPA_CHECK(softmin(comm, eps, &cbb, lb, q, qt, cm, dm));
  memcpy(f, ft, sizeof(double) * (size_t)n);
  memcpy(g, gt, sizeof(double) * (size_t)m);
  memcpy(p, pt, sizeof(double) * (size_t)n);
  memcpy(q, qt, sizeof(double) * (size_t)m);
  /* Annealing: one symmetric (averaged) update per epsilon. */
  for (int k = 0; k < n_eps; k++) {
    eps = eps_list[k];
    GPA_CHECK(softmin(comm, eps, &cab, lb, g, ft, cn, dn));
    GPA_CHECK(softmin(comm, eps, &cba, la, f, gt, cm, dm));
    GPA_CHECK(softmin(comm, eps, &caa, la, p, pt, cn, dn));
    GPA_CHECK(softmin(comm, eps, &cbb, lb, q, qt, cm, dm));
    for (int64_t i = 0; i < n; i++) {
      f[i] = 0.5 * (f[i] + ft[i]);
      p[i] = 0.5 * (p[i] + pt[i]);
    }
    for (int64_t j = 0; j < m; j++) {
      g[j] = 0.5 * (g[j] + gt[j]);
      q[j] = 0.5 * (q[j] + qt[j]);
    }
  }
  /* Last extrapolation at blur^2, from the previous potentials. */
  eps = blur * blur;
  GPA_CHECK(softmin(comm, eps, &cab, lb, g, ft, cn, dn));
  GPA_CHECK(softmin(comm, eps, &cba, la, f, gt, cm, dm));
  GPA_CHECK(softmin(comm, eps, &caa, la, p, pt, cn, dn));
  GPA_CHECK(softmin(comm, eps, &cbb, lb, q, qt, cm, dm));
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += (ft[i] - pt[i]) / (double)n;
  for (int64_t j = 0; j < m; j++) s += (gt[j] - qt[j]) / (double)m;
  *value = s;
  gpa_free(&cab.c);
  gpa_free(&cba.c);
  gpa_free(&caa.c);
  gpa_free(&cbb.c);
  for (int i = 0; i < 8; i++) gpa_free(bufs[i]);
  gpa_free(&cn);
  gpa_free(&dn);
  gpa_free(&cm);
  gpa_free(&dm);
  return GPA_OK;
}

/* ------------------------------------------------------------------------- energy, MMD */

/* Sums over this rank's rows i of x of sum_j kernel(|x_i - y_j|), reduced over ranks. */
static int pair_sum(MPI_Comm comm, const double *x, int64_t n, const double *y, int64_t m,
                    int64_t d, double h, double *out) {
  int64_t lo, hi;
  my_rows(comm, n, &lo, &hi, NULL, NULL);
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
