/* The Lipschitz bound on trained networks: the empirical ratio |phi(x)-phi(y)|/|x-y| and
 * |grad phi| never exceed L; the power-iteration norm matches LAPACK's largest singular value;
 * the Frobenius scheme holds every matrix at Frobenius norm L^(1/D). */
#include <stdlib.h>
#include <string.h>

#include "gpa/config.h"
#include "gpa/discriminator.h"
#include "gpa/distributions.h"
#include "gpa/rng.h"
#include "testutil.h"

/* LAPACK (Fortran ABI; Debian ships no C header for it). */
extern void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
                    const int *lda, double *s, double *u, const int *ldu, double *vt,
                    const int *ldvt, double *work, const int *lwork, int *info, size_t, size_t);

static double lapack_sigma_max(const double *W, int rows, int cols) {
  int m = cols, n = rows, lda = cols, one = 1, info = 0, lwork = -1; /* row-major = W^T */
  double *a = malloc(sizeof(double) * (size_t)(rows * cols));
  memcpy(a, W, sizeof(double) * (size_t)(rows * cols));
  double *s = malloc(sizeof(double) * (size_t)(rows + cols)), query, dummy;
  dgesvd_("N", "N", &m, &n, a, &lda, s, &dummy, &one, &dummy, &one, &query, &lwork, &info, 1, 1);
  lwork = (int)query;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  dgesvd_("N", "N", &m, &n, a, &lda, s, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
  assert_int_equal(info, 0);
  double smax = s[0];
  free(a);
  free(s);
  free(work);
  return smax;
}

/* A network trained for `updates` ascent steps on mixture targets vs Gaussian particles. */
static void trained(struct gpa_disc *dc, struct gpa_params *p, int normalization, double L,
                    int updates) {
  gpa_params_default(p);
  p->network.normalization = normalization;
  p->divergence.L = L;
  p->optimizer.lr = 5e-3;
  p->optimizer.epochs = updates;
  enum { N = 300, M = 300 };
  static double y[N * 2], x[M * 2];
  struct gpa_block all_y = {N, N, 0}, all_x = {M, M, 0};
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &p->source, 1, GPA_STREAM_SOURCE, all_y, y, NULL));
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &p->target, 1, GPA_STREAM_TARGET, all_x, x, NULL));
  TEST_OK(gpa_disc_create(dc, MPI_COMM_WORLD, p, 2, gpa_partition(N, 0, 1), gpa_partition(M, 0, 1),
                          gpa_partition(0, 0, 1), x));
  double J;
  TEST_OK(gpa_disc_train(dc, y, &J));
  assert_true(J > 0.1); /* it learned something: the sets differ a lot */
}

/* Largest |phi(a)-phi(b)|/|a-b| over pairs in [-3, 7]^2 (half of them close pairs) and
 * largest |grad phi|, evaluated in blocks through the network workspace. */
static void empirical_lipschitz(struct gpa_disc *dc, int pairs, double *ratio, double *grad) {
  const int64_t block = dc->net.max_rows / 2;
  double *pts = malloc(sizeof(double) * (size_t)(2 * block * 2));
  double *g = malloc(sizeof(double) * (size_t)(2 * block * 2));
  *ratio = 0.0;
  *grad = 0.0;
  for (int start = 0; start < pairs; start += (int)block) {
    int64_t nb = pairs - start < block ? pairs - start : block;
    for (int64_t i = 0; i < nb; i++) {
      struct gpa_rng r;
      gpa_rng_init(&r, 5, GPA_STREAM_TEST, (uint64_t)(start + i));
      double *a = pts + 2 * i, *b = pts + 2 * (nb + i);
      a[0] = -3 + 10 * gpa_rng_uniform(&r);
      a[1] = -3 + 10 * gpa_rng_uniform(&r);
      double scale = (start + i) % 2 ? 1e-3 : 5.0;
      b[0] = a[0] + scale * gpa_rng_normal(&r);
      b[1] = a[1] + scale * gpa_rng_normal(&r);
    }
    gpa_mlp_forward(&dc->net, dc->theta, pts, 0, 2 * nb);
    gpa_mlp_input_grad(&dc->net, dc->theta, 0, 2 * nb, g);
    for (int64_t i = 0; i < nb; i++) {
      const double *a = pts + 2 * i, *b = pts + 2 * (nb + i);
      double dist = hypot(a[0] - b[0], a[1] - b[1]);
      double q = fabs(dc->net.out[i] - dc->net.out[nb + i]) / dist;
      if (q > *ratio) *ratio = q;
    }
    for (int64_t i = 0; i < 2 * nb; i++) {
      double gn = hypot(g[2 * i], g[2 * i + 1]);
      if (gn > *grad) *grad = gn;
    }
  }
  gpa_disc_theta_changed(dc); /* the workspace was used for other rows */
  free(pts);
  free(g);
}

static void test_spectral_bound(void **state) {
  (void)state;
  const double Ls[2] = {1.0, 2.5};
  for (int t = 0; t < 2; t++) {
    struct gpa_disc dc;
    struct gpa_params p;
    trained(&dc, &p, GPA_NORM_SPECTRAL, Ls[t], 300);
    double ratio, grad;
    empirical_lipschitz(&dc, 10000, &ratio, &grad);
    print_message("spectral, L = %.1f: max ratio %.6f, max |grad phi| %.6f\n", Ls[t], ratio, grad);
    assert_true(ratio <= Ls[t] * (1 + 1e-6));
    assert_true(grad <= Ls[t] * (1 + 1e-6));
    assert_true(ratio > 0.05 * Ls[t]); /* the check is not vacuous */
    gpa_disc_destroy(&dc);
  }
}

/* After 50 updates every W_l has spectral norm c = L^(1/D): the power-iteration estimate used
 * to rescale it agrees with LAPACK's SVD to 1e-3. */
static void test_power_iteration_matches_svd(void **state) {
  (void)state;
  struct gpa_disc dc;
  struct gpa_params p;
  trained(&dc, &p, GPA_NORM_SPECTRAL, 1.0, 50);
  double product = 1.0;
  for (int l = 0; l < dc.net.n_layers; l++) {
    double s = lapack_sigma_max(dc.theta + dc.net.w_off[l], (int)dc.net.width[l],
                                (int)dc.net.width[l + 1]);
    print_message(
        "layer %d: LAPACK sigma_max %.8f, target c %.8f, estimate before rescale "
        "%.8f\n",
        l, s, dc.lip.c, dc.lip.sigma[l]);
    ASSERT_CLOSE(s, dc.lip.c, 1e-3, 0);
    product *= s;
  }
  ASSERT_CLOSE(product, 1.0, 4e-3, 0);
  /* The converged estimator itself against LAPACK on an arbitrary matrix. */
  double W[7 * 5], u[7], v[5];
  for (int i = 0; i < 35; i++) W[i] = sin(1.0 + i * i);
  for (int i = 0; i < 7; i++) u[i] = 1.0;
  double est = gpa_spectral_norm(W, 7, 5, u, v, 1000, 1e-15);
  ASSERT_CLOSE(est, lapack_sigma_max(W, 7, 5), 1e-10, 0);
  gpa_disc_destroy(&dc);
}

static void test_frobenius(void **state) {
  (void)state;
  struct gpa_disc dc;
  struct gpa_params p;
  trained(&dc, &p, GPA_NORM_FROBENIUS, 1.0, 100);
  for (int l = 0; l < dc.net.n_layers; l++) {
    int64_t count = dc.net.width[l] * dc.net.width[l + 1];
    ASSERT_CLOSE(gpa_nrm2(count, dc.theta + dc.net.w_off[l]), dc.lip.c, 1e-12, 0);
  }
  double ratio, grad;
  empirical_lipschitz(&dc, 10000, &ratio, &grad);
  print_message("frobenius, L = 1: max ratio %.6f, max |grad phi| %.6f\n", ratio, grad);
  assert_true(ratio <= 1.0 + 1e-6 && grad <= 1.0 + 1e-6);
  gpa_disc_destroy(&dc);
}

/* L = inf leaves the weights alone. */
static void test_unconstrained(void **state) {
  (void)state;
  struct gpa_disc dc;
  struct gpa_params p;
  gpa_params_default(&p);
  p.divergence.L = INFINITY;
  double x[4] = {0, 0, 1, 1};
  TEST_OK(gpa_disc_create(&dc, MPI_COMM_WORLD, &p, 2, gpa_partition(2, 0, 1),
                          gpa_partition(2, 0, 1), gpa_partition(0, 0, 1), x));
  double *copy = malloc(sizeof(double) * (size_t)dc.net.n_params);
  memcpy(copy, dc.theta, sizeof(double) * (size_t)dc.net.n_params);
  gpa_lipschitz_project(&dc.lip, dc.theta);
  assert_memory_equal(copy, dc.theta, sizeof(double) * (size_t)dc.net.n_params);
  free(copy);
  gpa_disc_destroy(&dc);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_spectral_bound),
    cmocka_unit_test(test_power_iteration_matches_svd),
    cmocka_unit_test(test_frobenius),
    cmocka_unit_test(test_unconstrained),
};
GPA_TEST_MAIN(tests)
