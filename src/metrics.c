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
