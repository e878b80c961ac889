/* Gradients against central finite differences: dJ/dtheta for every activation, layer shape and
 * divergence (including nu), and grad_x phi; the BLIS wrappers against naive products, and
 * their empty products and a backward pass over no rows (ranks without rows). */
#include <stdlib.h>
#include <string.h>

#include "gpa/config.h"
#include "gpa/discriminator.h"
#include "gpa/linalg.h"
#include "gpa/rng.h"
#include "testutil.h"

struct case_def {
  const char *name;
  int activation, last_activation;
  int n_hidden;
  int widths[3];
  int divergence;
  double alpha;
  int64_t dim;
};

/* Builds a discriminator over random particles/targets, moves theta off its initial point with
 * a few ascent steps, then checks every component of dJ/dtheta against central differences. */
static void check_param_gradient(const struct case_def *c) {
  struct gpa_params p;
  gpa_params_default(&p);
  p.network.widths.n = c->n_hidden;
  for (int l = 0; l < c->n_hidden; l++) p.network.widths.v[l] = c->widths[l];
  p.network.activation = c->activation;
  p.network.last_activation = c->last_activation;
  p.network.smooth_eps = 0.3;
  p.divergence.kind = c->divergence;
  p.divergence.alpha = c->alpha;
  p.divergence.L = 2.0;
  p.optimizer.epochs = 4;
  p.optimizer.lr = 0.05;
  const int64_t d = c->dim, n = 9, m = 7;
  double y[9 * 4], x[7 * 4];
  fill_normal(y, n * d, 0.0, 1.0, 1);
  fill_normal(x, m * d, 0.7, 1.3, 2);
  struct gpa_disc dc;
  TEST_OK(gpa_disc_create(&dc, MPI_COMM_WORLD, &p, d, gpa_partition(n, 0, 1),
                          gpa_partition(m, 0, 1), gpa_partition(0, 0, 1), x));
  double J;
  TEST_OK(gpa_disc_train(&dc, y, &J)); /* nu and biases away from their zero start */
  if (dc.net.nu_off >= 0) {
    dc.theta[dc.net.nu_off] = c->divergence == GPA_DIV_ALPHA ? -0.3 : 0.4;
    gpa_disc_theta_changed(&dc);
  }
  const int64_t np = dc.net.n_params;
  double *grad = malloc(sizeof(double) * (size_t)np);
  TEST_OK(gpa_disc_gradient(&dc, &J));
  memcpy(grad, dc.grad, sizeof(double) * (size_t)np);
  double J0;
  TEST_OK(gpa_disc_objective(&dc, &J0));
  ASSERT_CLOSE(J, J0, 1e-14, 1e-14);
  const double h = 1e-6;
  double worst = 0.0;
  for (int64_t i = 0; i < np; i++) {
    double fd = disc_fd_theta(&dc, i, h);
    double err = fabs(fd - grad[i]) / (1e-6 + fabs(fd));
    if (err > worst) worst = err;
    if (!(fabs(fd - grad[i]) <= 1e-6 * fabs(fd) + 2e-8))
      fail_msg("%s: dJ/dtheta[%lld] = %.12g, finite difference %.12g", c->name, (long long)i,
               grad[i], fd);
  }
  print_message("%-28s %4lld parameters, worst relative error %.2e\n", c->name, (long long)np,
                worst);
  free(grad);
  gpa_disc_destroy(&dc);
}

static void test_param_gradients(void **state) {
  (void)state;
  const struct case_def cases[] = {
      {"relu / kl", GPA_ACT_RELU, GPA_ACT_SAME, 3, {6, 5, 4}, GPA_DIV_KL, 2.0, 3},
      {"leaky_relu / kl", GPA_ACT_LEAKY_RELU, GPA_ACT_SAME, 2, {6, 5}, GPA_DIV_KL, 2.0, 2},
      {"smooth_relu / kl", GPA_ACT_SMOOTH_RELU, GPA_ACT_SAME, 2, {6, 5}, GPA_DIV_KL, 2.0, 2},
      {"relu + smooth last / kl-lt",
       GPA_ACT_RELU,
       GPA_ACT_SMOOTH_RELU,
       3,
       {5, 5, 4},
       GPA_DIV_KL_LT,
       2.0,
       2},
      {"leaky_relu / kl-lt", GPA_ACT_LEAKY_RELU, GPA_ACT_SAME, 1, {7}, GPA_DIV_KL_LT, 2.0, 4},
      {"smooth_relu / alpha 2",
       GPA_ACT_SMOOTH_RELU,
       GPA_ACT_SAME,
       2,
       {6, 5},
       GPA_DIV_ALPHA,
       2.0,
       2},
      {"relu / alpha 3.5", GPA_ACT_RELU, GPA_ACT_SAME, 2, {6, 5}, GPA_DIV_ALPHA, 3.5, 3},
      {"no hidden layer / kl", GPA_ACT_RELU, GPA_ACT_SAME, 0, {0}, GPA_DIV_KL, 2.0, 3},
      {"no hidden layer / alpha 1.5", GPA_ACT_RELU, GPA_ACT_SAME, 0, {0}, GPA_DIV_ALPHA, 1.5, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_param_gradient(&cases[i]);
}

/* network.precision single: the float32 passes give the double-precision gradients to float
 * accuracy (every activation and divergence), and agree with finite differences at a float
 * tolerance (smooth activation). */
static void test_single_precision(void **state) {
  (void)state;
  const int acts[3] = {GPA_ACT_RELU, GPA_ACT_LEAKY_RELU, GPA_ACT_SMOOTH_RELU};
  const int divs[3] = {GPA_DIV_KL, GPA_DIV_KL_LT, GPA_DIV_ALPHA};
  for (int c = 0; c < 3; c++) {
    struct gpa_disc dc[2];
    const int64_t d = 3, n = 40, m = 30;
    double y[40 * 3], x[30 * 3];
    fill_normal(y, n * d, 0.0, 1.0, 5);
    fill_normal(x, m * d, 0.5, 1.2, 6);
    for (int prec = 0; prec < 2; prec++) {
      struct gpa_params p;
      gpa_params_default(&p);
      p.network.widths.n = 2;
      p.network.widths.v[0] = 16;
      p.network.widths.v[1] = 12;
      p.network.activation = acts[c];
      p.divergence.kind = divs[c];
      p.network.precision = prec ? GPA_PREC_SINGLE : GPA_PREC_DOUBLE;
      TEST_OK(gpa_disc_create(&dc[prec], MPI_COMM_WORLD, &p, d, gpa_partition(n, 0, 1),
                              gpa_partition(m, 0, 1), gpa_partition(0, 0, 1), x));
      gpa_disc_load(&dc[prec], y);
    }
    double J64, J32;
    TEST_OK(gpa_disc_gradient(&dc[0], &J64));
    TEST_OK(gpa_disc_gradient(&dc[1], &J32));
    ASSERT_CLOSE(J32, J64, 1e-5, 1e-6);
    const int64_t np = dc[0].net.n_params;
    double diff = 0, mag = 0;
    for (int64_t i = 0; i < np; i++) {
      diff = fmax(diff, fabs(dc[1].grad[i] - dc[0].grad[i]));
      mag = fmax(mag, fabs(dc[0].grad[i]));
    }
    print_message("single vs double: J %.8f / %.8f, max gradient difference %.2e of %.2e\n", J32,
                  J64, diff, mag);
    assert_true(diff <= 1e-5 * mag);
    if (acts[c] != GPA_ACT_SMOOTH_RELU) { /* a step of 1e-3 would cross ReLU kinks */
      gpa_disc_destroy(&dc[0]);
      gpa_disc_destroy(&dc[1]);
      continue;
    }
    /* Finite differences of the float objective, h = 1e-3. */
    const double h = 1e-3;
    double *g = malloc(sizeof(double) * (size_t)np);
    memcpy(g, dc[1].grad, sizeof(double) * (size_t)np);
    for (int64_t i = 0; i < np; i += 7) {
      const double fd = disc_fd_theta(&dc[1], i, h);
      if (!(fabs(fd - g[i]) <= 2e-2 * fabs(fd) + 1e-3 * mag))
        fail_msg("single precision: dJ/dtheta[%lld] = %.6g, finite difference %.6g", (long long)i,
                 g[i], fd);
    }
    free(g);
    gpa_disc_destroy(&dc[0]);
    gpa_disc_destroy(&dc[1]);
  }
}

/* grad_x phi against central differences of phi, row by row. */
static void check_input_gradient(int activation, int n_hidden, const char *name) {
  struct gpa_params p;
  gpa_params_default(&p);
  p.network.widths.n = n_hidden;
  for (int l = 0; l < n_hidden; l++) p.network.widths.v[l] = 8 - l;
  p.network.activation = activation;
  p.network.smooth_eps = 0.4;
  const int64_t d = 3, rows = 11;
  struct gpa_mlp net;
  TEST_OK(gpa_mlp_create(&net, d, &p, 0, rows));
  double *theta = malloc(sizeof(double) * (size_t)net.n_params);
  gpa_mlp_init_params(&net, theta, 7);
  for (int64_t i = 0; i < net.n_params; i++) theta[i] += 0.05 * sin((double)i); /* biases */
  double x[11 * 3], g[11 * 3], xp[3];
  fill_normal(x, rows * d, 0.0, 1.0, 3);
  gpa_mlp_forward(&net, theta, x, 0, rows);
  gpa_mlp_input_grad(&net, theta, 0, rows, g);
  const double h = 1e-6;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < d; k++) {
      memcpy(xp, x + r * d, sizeof xp);
      xp[k] += h;
      gpa_mlp_forward(&net, theta, xp, 0, 1);
      double fp = net.out[0];
      xp[k] -= 2 * h;
      gpa_mlp_forward(&net, theta, xp, 0, 1);
      double fd = (fp - net.out[0]) / (2 * h);
      if (!(fabs(fd - g[r * d + k]) <= 1e-6 * fabs(fd) + 1e-8))
        fail_msg("%s: dphi/dx[%lld][%lld] = %.12g, finite difference %.12g", name, (long long)r,
                 (long long)k, g[r * d + k], fd);
    }
  free(theta);
  gpa_mlp_destroy(&net);
}

static void test_input_gradients(void **state) {
  (void)state;
  check_input_gradient(GPA_ACT_SMOOTH_RELU, 3, "smooth_relu");
  check_input_gradient(GPA_ACT_RELU, 3, "relu");
  check_input_gradient(GPA_ACT_LEAKY_RELU, 2, "leaky_relu");
  check_input_gradient(GPA_ACT_RELU, 0, "linear");
}

/* The smooth ReLU is C^1 with the stated pieces; its derivative matches differences. */
static void test_smooth_relu(void **state) {
  (void)state;
  const double eps = 0.5;
  ASSERT_CLOSE(gpa_activation(GPA_ACT_SMOOTH_RELU, -1.0, eps, 0), 0.0, 0, 0);
  ASSERT_CLOSE(gpa_activation(GPA_ACT_SMOOTH_RELU, 3.0, eps, 0), 2.5, 1e-15, 0);
  ASSERT_CLOSE(gpa_activation(GPA_ACT_SMOOTH_RELU, 2 * eps, eps, 0), eps, 1e-14, 1e-15);
  for (double z = -0.3; z < 1.5; z += 0.0137) {
    double fd = (gpa_activation(GPA_ACT_SMOOTH_RELU, z + 1e-7, eps, 0) -
                 gpa_activation(GPA_ACT_SMOOTH_RELU, z - 1e-7, eps, 0)) /
                2e-7;
    ASSERT_CLOSE(gpa_activation_deriv(GPA_ACT_SMOOTH_RELU, z, eps, 0), fd, 1e-6, 1e-7);
    double dd = gpa_activation_deriv(GPA_ACT_SMOOTH_RELU, z, eps, 0);
    assert_true(dd >= 0.0 && dd <= 1.0); /* 1-Lipschitz, monotone */
  }
}

/* The BLIS wrappers (row-major, transposes) against naive loops. */
static void test_blas_wrappers(void **state) {
  (void)state;
  enum { M = 7, N = 5, K = 4 };
  double A[M * K], At[K * M], B[K * N], Bt[N * K], C[M * N], R[M * N];
  fill_normal(A, M * K, 0, 1, 11);
  fill_normal(B, K * N, 0, 1, 12);
  for (int i = 0; i < M; i++)
    for (int k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
  for (int k = 0; k < K; k++)
    for (int j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      R[i * N + j] = 0;
      for (int k = 0; k < K; k++) R[i * N + j] += A[i * K + k] * B[k * N + j];
    }
  const char *combos[4] = {"NN", "TN", "NT", "TT"};
  for (int c = 0; c < 4; c++) {
    char ta = combos[c][0], tb = combos[c][1];
    gpa_gemm(ta, tb, M, N, K, 1.0, ta == 'N' ? A : At, ta == 'N' ? K : M, tb == 'N' ? B : Bt,
             tb == 'N' ? N : K, 0.0, C, N);
    for (int i = 0; i < M * N; i++) ASSERT_CLOSE(C[i], R[i], 1e-13, 1e-13);
  }
  double x[K], y[M], xt[M], yt[K];
  fill_normal(x, K, 0, 1, 13);
  fill_normal(xt, M, 0, 1, 14);
  gpa_gemv('N', M, K, 1.0, A, K, x, 0.0, y);
  gpa_gemv('T', M, K, 1.0, A, K, xt, 0.0, yt);
  for (int i = 0; i < M; i++) {
    double s = 0;
    for (int k = 0; k < K; k++) s += A[i * K + k] * x[k];
    ASSERT_CLOSE(y[i], s, 1e-13, 1e-13);
  }
  for (int k = 0; k < K; k++) {
    double s = 0;
    for (int i = 0; i < M; i++) s += A[i * K + k] * xt[i];
    ASSERT_CLOSE(yt[k], s, 1e-13, 1e-13);
  }
}

/* Empty products (a rank with no rows): with k = 0 (gemm) or an empty x (gemv) the result is
 * beta times the output, zeros for beta = 0 whatever the output held before; an empty output is
 * left alone.  Double and single precision. */
static void test_blas_empty(void **state) {
  (void)state;
  double A[6] = {1, 2, 3, 4, 5, 6}, C[6], y[3];
  float As[6] = {1, 2, 3, 4, 5, 6}, Cs[6], ys[3];
  const char *combos[4] = {"NN", "TN", "NT", "TT"};
  for (int c = 0; c < 4; c++) {
    for (int i = 0; i < 6; i++) C[i] = Cs[i] = NAN;
    gpa_gemm(combos[c][0], combos[c][1], 2, 3, 0, 1.0, A, 3, A, 3, 0.0, C, 3);
    gpa_sgemm(combos[c][0], combos[c][1], 2, 3, 0, 1.0f, As, 3, As, 3, 0.0f, Cs, 3);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 0.0 && Cs[i] == 0.0f);
    for (int i = 0; i < 6; i++) C[i] = Cs[i] = (float)(i + 1);
    gpa_gemm(combos[c][0], combos[c][1], 2, 3, 0, 1.0, A, 3, A, 3, 2.0, C, 3);
    gpa_sgemm(combos[c][0], combos[c][1], 2, 3, 0, 1.0f, As, 3, As, 3, 2.0f, Cs, 3);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 2.0 * (i + 1) && Cs[i] == 2.0f * (i + 1));
  }
  /* C [2][3] inside a wider matrix (ldc 4): the padding column is not touched. */
  double Cw[8];
  for (int i = 0; i < 8; i++) Cw[i] = NAN;
  gpa_gemm('T', 'N', 2, 3, 0, 1.0, A, 2, A, 3, 0.0, Cw, 4);
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 3; j++) assert_true(Cw[i * 4 + j] == 0.0);
    assert_true(isnan(Cw[i * 4 + 3]));
  }
  /* gemv: A stored [0][3] with 'T' (y has 3 entries) and [3][0] with 'N'. */
  for (int i = 0; i < 3; i++) y[i] = ys[i] = NAN;
  gpa_gemv('T', 0, 3, 1.0, A, 3, A, 0.0, y);
  gpa_sgemv('T', 0, 3, 1.0f, As, 3, As, 0.0f, ys);
  for (int i = 0; i < 3; i++) assert_true(y[i] == 0.0 && ys[i] == 0.0f);
  for (int i = 0; i < 3; i++) y[i] = ys[i] = NAN;
  gpa_gemv('N', 3, 0, 1.0, A, 1, A, 0.0, y);
  gpa_sgemv('N', 3, 0, 1.0f, As, 1, As, 0.0f, ys);
  for (int i = 0; i < 3; i++) assert_true(y[i] == 0.0 && ys[i] == 0.0f);
  for (int i = 0; i < 3; i++) y[i] = ys[i] = (float)(i + 1);
  gpa_gemv('T', 0, 3, 1.0, A, 3, A, 0.5, y);
  gpa_sgemv('T', 0, 3, 1.0f, As, 3, As, 0.5f, ys);
  for (int i = 0; i < 3; i++) assert_true(y[i] == 0.5 * (i + 1) && ys[i] == 0.5f * (i + 1));
  /* An empty output: nothing written. */
  y[0] = NAN;
  gpa_gemv('N', 0, 3, 1.0, A, 3, A, 0.0, y);
  gpa_gemv('T', 3, 0, 1.0, A, 3, A, 0.0, y);
  gpa_gemm('N', 'N', 0, 3, 2, 1.0, A, 2, A, 3, 0.0, y, 3);
  assert_true(isnan(y[0]));
}

/* A backward pass over no rows (a rank holding no particles and no targets) writes a zero
 * gradient into a buffer that held something else: dense networks with 0, 1 and 2 hidden
 * layers, a convolution, in double and single precision.  Otherwise the previous contents
 * would go into the gradient allreduce. */
static void test_backward_no_rows(void **state) {
  (void)state;
  for (int prec = 0; prec < 2; prec++)
    for (int shape = 0; shape < 4; shape++) {
      struct gpa_params p;
      gpa_params_default(&p);
      p.network.precision = prec ? GPA_PREC_SINGLE : GPA_PREC_DOUBLE;
      p.network.widths.n = shape == 3 ? 1 : shape;
      p.network.widths.v[0] = 8;
      p.network.widths.v[1] = 6;
      int64_t d = 3;
      if (shape == 3) {
        d = 16;
        p.network.conv_channels.n = 1;
        p.network.conv_channels.v[0] = 2;
      }
      struct gpa_mlp m;
      TEST_OK(gpa_mlp_create(&m, d, &p, 0, 4));
      const int64_t np = m.n_params;
      double *theta = malloc(sizeof(double) * (size_t)np);
      double *grad = malloc(sizeof(double) * (size_t)np);
      double x[4 * 16], w[4] = {0.25, -0.5, 0.75, -1.0};
      fill_normal(x, 4 * d, 0.0, 1.0, 21);
      gpa_mlp_init_params(&m, theta, 3);
      /* A real gradient first, so that every workspace and grad32 hold nonzero values. */
      gpa_mlp_forward(&m, theta, x, 0, 4);
      gpa_mlp_backward(&m, theta, x, w, 4, grad);
      for (int64_t i = 0; i < np; i++) grad[i] = NAN;
      gpa_mlp_forward(&m, theta, x, 0, 0);
      gpa_mlp_backward(&m, theta, x, w, 0, grad);
      for (int64_t i = 0; i < m.n_net; i++)
        if (grad[i] != 0.0)
          fail_msg("%s precision, shape %d: gradient[%lld] = %g over no rows",
                   prec ? "single" : "double", shape, (long long)i, grad[i]);
      free(theta);
      free(grad);
      gpa_mlp_destroy(&m);
    }
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_blas_wrappers),    cmocka_unit_test(test_blas_empty),
    cmocka_unit_test(test_backward_no_rows), cmocka_unit_test(test_smooth_relu),
    cmocka_unit_test(test_param_gradients),  cmocka_unit_test(test_input_gradients),
    cmocka_unit_test(test_single_precision),
};
GPA_TEST_MAIN(tests)
