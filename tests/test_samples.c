/* Random numbers, built-in distributions and the exact W2 assignment. */
#include <stdlib.h>
#include <string.h>

#include "gpa/config.h"
#include "gpa/distributions.h"
#include "gpa/metrics.h"
#include "gpa/rng.h"
#include "testutil.h"

static void test_generator(void **state) {
  (void)state;
  struct gpa_rng a, b, c;
  gpa_rng_init(&a, 7, 1, 123);
  gpa_rng_init(&b, 7, 1, 123);
  gpa_rng_init(&c, 7, 1, 124);
  int differ = 0;
  for (int i = 0; i < 100; i++) {
    uint32_t ua = gpa_rng_u32(&a), ub = gpa_rng_u32(&b), uc = gpa_rng_u32(&c);
    assert_int_equal(ua, ub);
    differ += ua != uc;
  }
  assert_true(differ > 95);
  enum { K = 200000 };
  double su = 0, sn = 0, sn2 = 0, sg = 0, sg2 = 0;
  for (int i = 0; i < K; i++) {
    struct gpa_rng r;
    gpa_rng_init(&r, 1, 2, (uint64_t)i);
    double u = gpa_rng_uniform(&r);
    assert_true(u > 0.0 && u < 1.0);
    su += u;
    double z = gpa_rng_normal(&r);
    sn += z;
    sn2 += z * z;
    sg += gpa_rng_gamma(&r, 0.25);
    sg2 += gpa_rng_gamma(&r, 2.5);
  }
  ASSERT_CLOSE(su / K, 0.5, 0, 3e-3);
  ASSERT_CLOSE(sn / K, 0.0, 0, 1e-2);
  ASSERT_CLOSE(sn2 / K, 1.0, 0, 1e-2);
  ASSERT_CLOSE(sg / K, 0.25, 0.03, 0);
  ASSERT_CLOSE(sg2 / K, 2.5, 0.02, 0);
}

static struct gpa_dist_params dist(int kind, int64_t dim) {
  struct gpa_params p;
  gpa_params_default(&p);
  struct gpa_dist_params q = p.source;
  q.kind = kind;
  q.dim = dim;
  return q;
}

/* Sample i is the same whichever block of indices a rank owns. */
static void test_rank_independence(void **state) {
  (void)state;
  const int kinds[6] = {GPA_DIST_GAUSSIAN,     GPA_DIST_MIXTURE,    GPA_DIST_STUDENT_T,
                        GPA_DIST_GEN_GAUSSIAN, GPA_DIST_SWISS_ROLL, GPA_DIST_SIERPINSKI};
  for (int k = 0; k < 6; k++) {
    int64_t dim = kinds[k] == GPA_DIST_SWISS_ROLL ? 3 : 2;
    struct gpa_dist_params q = dist(kinds[k], dim);
    q.n = 101;
    double whole[101 * 3], parts[101 * 3];
    TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &q, 9, 1, gpa_partition(101, 0, 1), whole, NULL));
    for (int r = 0; r < 3; r++) {
      struct gpa_block part = gpa_partition(101, r, 3);
      TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &q, 9, 1, part, parts + part.offset * dim, NULL));
    }
    assert_memory_equal(whole, parts, sizeof(double) * 101 * (size_t)dim);
  }
}

static void test_mixture(void **state) {
  (void)state;
  struct gpa_dist_params q = dist(GPA_DIST_MIXTURE, 12);
  q.offset = 5;
  enum { K = 4000 };
  double *x = malloc(sizeof(double) * K * 12);
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &q, 1, 2, gpa_partition(K, 0, 1), x, NULL));
  int count[4] = {0};
  for (int i = 0; i < K; i++) {
    for (int j = 0; j < 12; j++)
      if (j != 5 && j != 6) assert_true(x[i * 12 + j] == 0.0);
    double a = x[i * 12 + 5], b = x[i * 12 + 6];
    int c = (a > 2) * 2 + (b > 2); /* quadrant of (0,0), (0,4), (4,0), (4,4) */
    count[c]++;
  }
  for (int c = 0; c < 4; c++) ASSERT_CLOSE(count[c] / (double)K, 0.25, 0, 0.03);
  free(x);
}

static void test_carpet(void **state) {
  (void)state;
  struct gpa_dist_params q = dist(GPA_DIST_SIERPINSKI, 3);
  enum { K = 4096 };
  double *x = malloc(sizeof(double) * K * 3);
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &q, 1, 2, gpa_partition(K, 0, 1), x, NULL));
  static int hits[81 * 81];
  memset(hits, 0, sizeof hits);
  for (int i = 0; i < K; i++) {
    double a = x[3 * i], b = x[3 * i + 1];
    assert_true(a > 0 && a < 10 && b > 0 && b < 10);
    assert_true(x[3 * i + 2] == 0.0);
    assert_false(a > 10.0 / 3 && a < 20.0 / 3 && b > 10.0 / 3 && b < 20.0 / 3); /* the hole */
    hits[(int)(a / 10 * 81) * 81 + (int)(b / 10 * 81)]++;
  }
  int filled = 0;
  for (int c = 0; c < 81 * 81; c++) {
    assert_true(hits[c] <= 1);
    filled += hits[c];
  }
  assert_int_equal(filled, 4096); /* one point in every filled cell */
  free(x);
}

static void test_heavy_tails(void **state) {
  (void)state;
  struct gpa_dist_params t = dist(GPA_DIST_STUDENT_T, 1), g = dist(GPA_DIST_GEN_GAUSSIAN, 1);
  t.nu = 3.0;
  g.beta = 2.0; /* exp(-x^2): variance 1/2 */
  enum { K = 100000 };
  double *x = malloc(sizeof(double) * K);
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &t, 4, 1, gpa_partition(K, 0, 1), x, NULL));
  double s2 = 0;
  for (int i = 0; i < K; i++) s2 += x[i] * x[i];
  ASSERT_CLOSE(s2 / K, 3.0, 0.1, 0); /* t(3): variance nu / (nu - 2) */
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &g, 4, 1, gpa_partition(K, 0, 1), x, NULL));
  s2 = 0;
  for (int i = 0; i < K; i++) s2 += x[i] * x[i];
  ASSERT_CLOSE(s2 / K, 0.5, 0.02, 0);
  free(x);
}

/* The assignment solver against brute force over all permutations, and simple cases. */
static double brute_w2(const double *a, const double *b, int n, int d) {
  int perm[7];
  for (int i = 0; i < n; i++) perm[i] = i;
  double best = INFINITY;
  for (;;) {
    double s = 0;
    for (int i = 0; i < n; i++)
      for (int k = 0; k < d; k++) s += pow(a[i * d + k] - b[perm[i] * d + k], 2);
    if (s < best) best = s;
    int i = n - 2; /* next permutation */
    while (i >= 0 && perm[i] > perm[i + 1]) i--;
    if (i < 0) break;
    int j = n - 1;
    while (perm[j] < perm[i]) j--;
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) {
      t = perm[l];
      perm[l] = perm[r];
      perm[r] = t;
    }
  }
  return sqrt(best / n);
}

static void test_w2_exact(void **state) {
  (void)state;
  for (int trial = 0; trial < 20; trial++) {
    int n = 2 + trial % 6, d = 1 + trial % 3;
    double a[7 * 3], b[7 * 3], w2;
    for (int i = 0; i < n * d; i++) {
      struct gpa_rng r;
      gpa_rng_init(&r, (uint64_t)trial, GPA_STREAM_TEST, (uint64_t)i);
      a[i] = gpa_rng_normal(&r);
      b[i] = 2 * gpa_rng_normal(&r) + 1;
    }
    TEST_OK(gpa_w2_exact(a, b, n, d, &w2));
    ASSERT_CLOSE(w2, brute_w2(a, b, n, d), 1e-12, 1e-14);
  }
  double a[6] = {0, 0, 1, 0, 0, 1}, s[6] = {3, 5, 4, 4, 3, 4}, w2; /* a + (3, 4), permuted */
  TEST_OK(gpa_w2_exact(a, s, 3, 2, &w2));
  ASSERT_CLOSE(w2, 5.0, 1e-14, 0);
  TEST_OK(gpa_w2_exact(a, a, 3, 2, &w2));
  ASSERT_CLOSE(w2, 0.0, 0, 1e-15);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_generator),   cmocka_unit_test(test_rank_independence),
    cmocka_unit_test(test_mixture),     cmocka_unit_test(test_carpet),
    cmocka_unit_test(test_heavy_tails), cmocka_unit_test(test_w2_exact),
};
GPA_TEST_MAIN(tests)
