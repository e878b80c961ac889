/* Sample-set metrics with known answers, on any number of ranks: the Sinkhorn divergence of
 * identical sets is 0, of two point masses |a - b|^2 / 2, of two 1-D Gaussian samples close to
 * W2^2 / 2 (the sorted matching); energy distance and MMD vanish on identical sets and grow
 * with a shift; every rank gets the same numbers. */
#include <stdlib.h>
#include <string.h>

#include "gpa/metrics.h"
#include "gpa/rng.h"
#include "testutil.h"

static void normal_sample(double *x, int64_t n, int64_t d, double mean, double sd, uint32_t s) {
  for (int64_t i = 0; i < n * d; i++) {
    struct gpa_rng r;
    gpa_rng_init(&r, 11, s, (uint64_t)i);
    x[i] = mean + sd * gpa_rng_normal(&r);
  }
}

static void same_on_all_ranks(double v) {
  double lo, hi;
  MPI_Allreduce(&v, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&v, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  assert_true(lo == hi);
}

static void test_identical_sets(void **state) {
  (void)state;
  enum { N = 300, D = 3 };
  static double a[N * D];
  normal_sample(a, N, D, 0, 1, 1);
  double s, e, m, h;
  TEST_OK(gpa_sinkhorn(MPI_COMM_WORLD, a, N, a, N, D, 0.05, 0.5, &s));
  TEST_OK(gpa_energy_distance(MPI_COMM_WORLD, a, N, a, N, D, &e));
  TEST_OK(gpa_mmd(MPI_COMM_WORLD, a, N, a, N, D, &m, &h));
  print_message("identical sets: sinkhorn %.3e, energy %.3e, mmd %.3e\n", s, e, m);
  ASSERT_CLOSE(s, 0.0, 0, 1e-9);
  ASSERT_CLOSE(e, 0.0, 0, 1e-12);
  ASSERT_CLOSE(m, 0.0, 0, 1e-6);
  same_on_all_ranks(s);
}

static void test_point_masses(void **state) {
  (void)state;
  double a[2] = {0.3, -1.0}, b[2] = {2.3, 0.5}, s;
  TEST_OK(gpa_sinkhorn(MPI_COMM_WORLD, a, 1, b, 1, 2, 0.05, 0.5, &s));
  ASSERT_CLOSE(s, 0.5 * (4.0 + 2.25), 1e-12, 0);
  /* Several copies of each mass: the same. */
  double aa[10], bb[8];
  for (int i = 0; i < 5; i++) memcpy(aa + 2 * i, a, sizeof a);
  for (int i = 0; i < 4; i++) memcpy(bb + 2 * i, b, sizeof b);
  TEST_OK(gpa_sinkhorn(MPI_COMM_WORLD, aa, 5, bb, 4, 2, 0.05, 0.5, &s));
  ASSERT_CLOSE(s, 0.5 * (4.0 + 2.25), 1e-10, 0);
}

static int by_value(const void *x, const void *y) {
  double u = *(const double *)x, v = *(const double *)y;
  return (u > v) - (u < v);
}

static void test_gaussians_1d(void **state) {
  (void)state;
  enum { N = 1500 };
  static double a[N], b[N], sa[N], sb[N];
  normal_sample(a, N, 1, 0.0, 1.0, 2);
  normal_sample(b, N, 1, 2.0, 1.5, 3);
  memcpy(sa, a, sizeof a);
  memcpy(sb, b, sizeof b);
  qsort(sa, N, sizeof(double), by_value);
  qsort(sb, N, sizeof(double), by_value);
  double w22 = 0;
  for (int i = 0; i < N; i++) w22 += (sa[i] - sb[i]) * (sa[i] - sb[i]) / N;
  double s, e, m, h;
  TEST_OK(gpa_sinkhorn(MPI_COMM_WORLD, a, N, b, N, 1, 0.05, 0.5, &s));
  TEST_OK(gpa_energy_distance(MPI_COMM_WORLD, a, N, b, N, 1, &e));
  TEST_OK(gpa_mmd(MPI_COMM_WORLD, a, N, b, N, 1, &m, &h));
  print_message(
      "N(0,1) vs N(2,1.5^2): sinkhorn %.5f, W2^2/2 of the samples %.5f (closed form "
      "%.5f); energy %.4f, mmd %.4f\n",
      s, w22 / 2, (4 + 0.25) / 2, e, m);
  ASSERT_CLOSE(s, w22 / 2, 0.01, 0);
  assert_true(e > 0.5 && m > 0.3);
  same_on_all_ranks(s);
  same_on_all_ranks(e);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_identical_sets),
    cmocka_unit_test(test_point_masses),
    cmocka_unit_test(test_gaussians_1d),
};
GPA_TEST_MAIN(tests)
