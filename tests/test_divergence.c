/* Divergence estimates against known values: two 1-D Gaussians N(0,1) and N(1,1).
 * Large L and samples: kl and kl-lt within 10% of KL = 1/2 (the optimal phi is linear with
 * slope 1, so L = 10 does not bind).  Small L: D ~ L W1 = L. */
#include <stdlib.h>
#include <string.h>

#include "gpa/config.h"
#include "gpa/discriminator.h"
#include "gpa/distributions.h"
#include "gpa/rng.h"
#include "testutil.h"

enum { N = 10000 };

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* W1 between the two 1-D samples: matched in sorted order. */
static double w1_sorted(const double *a, const double *b, int n) {
  double *sa = malloc(sizeof(double) * (size_t)n), *sb = malloc(sizeof(double) * (size_t)n);
  memcpy(sa, a, sizeof(double) * (size_t)n);
  memcpy(sb, b, sizeof(double) * (size_t)n);
  qsort(sa, (size_t)n, sizeof(double), by_value);
  qsort(sb, (size_t)n, sizeof(double), by_value);
  double s = 0;
  for (int i = 0; i < n; i++) s += fabs(sa[i] - sb[i]);
  free(sa);
  free(sb);
  return s / n;
}

static double sample_w1 = -1.0;

static double estimate(int kind, double L, int updates, double lr) {
  struct gpa_params p;
  gpa_params_default(&p);
  p.source.kind = p.target.kind = GPA_DIST_GAUSSIAN;
  p.source.dim = p.target.dim = 1;
  p.source.std = p.target.std = 1.0;
  p.source.mean = 0.0;
  p.target.mean = 1.0;
  p.network.widths.n = 2;
  p.network.widths.v[0] = p.network.widths.v[1] = 16;
  p.divergence.kind = kind;
  p.divergence.L = L;
  p.optimizer.lr = lr;
  p.optimizer.epochs = updates;
  static double y[N], x[N];
  struct gpa_block all = {N, N, 0};
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &p.source, 3, GPA_STREAM_SOURCE, all, y, NULL));
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &p.target, 3, GPA_STREAM_TARGET, all, x, NULL));
  sample_w1 = w1_sorted(y, x, N);
  struct gpa_disc dc;
  TEST_OK(gpa_disc_create(&dc, MPI_COMM_WORLD, &p, 1, gpa_partition(N, 0, 1),
                          gpa_partition(N, 0, 1), gpa_partition(0, 0, 1), x));
  double J;
  TEST_OK(gpa_disc_train(&dc, y, &J));
  gpa_disc_destroy(&dc);
  return J;
}

static void test_kl_closed_form(void **state) {
  (void)state;
  double dv = estimate(GPA_DIV_KL, 10.0, 1500, 3e-3);
  double lt = estimate(GPA_DIV_KL_LT, 10.0, 1500, 3e-3);
  print_message("KL(N(0,1) || N(1,1)) = 0.5: kl %.4f, kl-lt %.4f\n", dv, lt);
  ASSERT_CLOSE(dv, 0.5, 0.10, 0);
  ASSERT_CLOSE(lt, 0.5, 0.10, 0);
}

static void test_small_L(void **state) {
  (void)state;
  const double L = 0.01;
  double d = estimate(GPA_DIV_KL, L, 800, 1e-3);
  print_message("L = %.2f: D = %.6f, L W1 = %.6f (W1 of the samples)\n", L, d, L * sample_w1);
  ASSERT_CLOSE(d, L * sample_w1, 0.05, 0);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kl_closed_form),
    cmocka_unit_test(test_small_L),
};
GPA_TEST_MAIN(tests)
