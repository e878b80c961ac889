/* The convolutional, class-conditional discriminator: geometry, dJ/dtheta and grad_x phi against
 * central finite differences (with and without dropout, double and single precision), and the
 * Lipschitz projection of the kernels. */
#include <stdlib.h>
#include <string.h>

#include "gpa/config.h"
#include "gpa/discriminator.h"
#include "gpa/lipschitz.h"
#include "gpa/mlp.h"
#include "gpa/rng.h"
#include "testutil.h"

struct conv_case {
  const char *name;
  int64_t c, h, w; /* image */
  int n_conv;
  int64_t channels[3];
  int64_t k, stride;
  int n_hidden;
  int64_t widths[2];
  int conv_act, act;
  int conditional;
  int divergence;
};

static void set_params(struct gpa_params *p, const struct conv_case *c) {
  gpa_params_default(p);
  p->network.conv_channels.n = c->n_conv;
  for (int l = 0; l < c->n_conv; l++) p->network.conv_channels.v[l] = c->channels[l];
  p->network.image_shape.n = 3;
  p->network.image_shape.v[0] = c->c;
  p->network.image_shape.v[1] = c->h;
  p->network.image_shape.v[2] = c->w;
  p->network.conv_kernel = c->k;
  p->network.conv_stride = c->stride;
  p->network.conv_activation = c->conv_act;
  p->network.widths.n = c->n_hidden;
  for (int l = 0; l < c->n_hidden; l++) p->network.widths.v[l] = c->widths[l];
  p->network.activation = c->act;
  p->network.smooth_eps = 0.3;
  p->network.conditional = c->conditional;
  p->divergence.kind = c->divergence;
  p->divergence.L = 2.0;
  p->optimizer.epochs = 3;
  p->optimizer.lr = 0.05;
}

static const struct conv_case cases[] = {
    {"7x7, conv 3-2, k3 s2, dense 5",
     1,
     7,
     7,
     2,
     {3, 2},
     3,
     2,
     1,
     {5},
     GPA_ACT_LEAKY_RELU,
     GPA_ACT_RELU,
     0,
     GPA_DIV_KL},
    {"conditional, smooth, kl-lt",
     1,
     7,
     7,
     2,
     {3, 2},
     3,
     2,
     1,
     {5},
     GPA_ACT_SMOOTH_RELU,
     GPA_ACT_SMOOTH_RELU,
     1,
     GPA_DIV_KL_LT},
    {"2 channels 5x6, k5 s1",
     2,
     5,
     6,
     1,
     {2},
     5,
     1,
     2,
     {4, 3},
     GPA_ACT_LEAKY_RELU,
     GPA_ACT_LEAKY_RELU,
     0,
     GPA_DIV_ALPHA},
    {"8x8, three convs, no dense hidden",
     1,
     8,
     8,
     3,
     {2, 3, 2},
     3,
     2,
     0,
     {0},
     GPA_ACT_SMOOTH_RELU,
     GPA_ACT_RELU,
     1,
     GPA_DIV_KL},
};

/* Geometry of the reference image network: 28 -> 14 -> 7 -> 4 with k = 5, s = 2, "same". */
static void test_geometry(void **state) {
  (void)state;
  struct gpa_params p;
  gpa_params_default(&p);
  p.network.conv_channels.n = 3;
  for (int l = 0; l < 3; l++) p.network.conv_channels.v[l] = 128;
  p.network.widths.n = 1;
  p.network.widths.v[0] = 784;
  p.network.conditional = true;
  struct gpa_mlp m;
  TEST_OK(gpa_mlp_create(&m, 784, &p, 0, 2));
  const int64_t side[4] = {28, 14, 7, 4}, pad[3] = {1, 1, 2};
  for (int l = 0; l < 3; l++) {
    assert_int_equal(m.conv[l].hin, side[l]);
    assert_int_equal(m.conv[l].hout, side[l + 1]);
    assert_int_equal(m.conv[l].wout, side[l + 1]);
    assert_int_equal(m.conv[l].pad_t, pad[l]);
  }
  assert_int_equal(m.width[0], 2048);
  assert_int_equal(m.width[2], 10);
  /* 25*128 + 3200*128 * 2 kernels, 2048*784 + 784 dense, 784*10 + 10 output */
  assert_int_equal(m.n_params, 25 * 128 + 2 * 3200 * 128 + 2048 * 784 + 784 + 7840 + 10);
  int64_t off[12], rows[12], cols[12];
  assert_int_equal(gpa_mlp_matrices(&m, off, rows, cols), 5);
  assert_int_equal(rows[1], 3200);
  assert_int_equal(cols[4], 10);
  gpa_mlp_destroy(&m);
}

static int32_t *labels_for(int64_t n, int conditional, int shift) {
  int32_t *lab = malloc(sizeof(int32_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) lab[i] = conditional ? (int32_t)((3 * i + shift) % 10) : 0;
  return lab;
}

/* dJ/dtheta of the discriminator against central differences of J. */
static void check_param_gradient(const struct conv_case *c, int single) {
  struct gpa_params p;
  set_params(&p, c);
  if (single) p.network.precision = GPA_PREC_SINGLE;
  const int64_t d = c->c * c->h * c->w, n = 6, m = 5;
  double *y = malloc(sizeof(double) * (size_t)(n * d)),
         *x = malloc(sizeof(double) * (size_t)(m * d));
  fill_normal(y, n * d, 0.0, 1.0, 1);
  fill_normal(x, m * d, 0.4, 1.2, 2);
  int32_t *ly = labels_for(n, c->conditional, 0), *lx = labels_for(m, c->conditional, 1);
  struct gpa_disc dc;
  TEST_OK(gpa_disc_create(&dc, MPI_COMM_WORLD, &p, d, gpa_partition(n, 0, 1),
                          gpa_partition(m, 0, 1), gpa_partition(0, 0, 1), x));
  gpa_disc_set_labels(&dc, c->conditional ? ly : NULL, c->conditional ? lx : NULL, NULL);
  double J;
  TEST_OK(gpa_disc_train(&dc, y, &J));
  if (dc.net.nu_off >= 0) {
    dc.theta[dc.net.nu_off] = c->divergence == GPA_DIV_ALPHA ? -0.3 : 0.4;
    gpa_disc_theta_changed(&dc);
  }
  const int64_t np = dc.net.n_params;
  double *grad = malloc(sizeof(double) * (size_t)np);
  TEST_OK(gpa_disc_gradient(&dc, &J));
  memcpy(grad, dc.grad, sizeof(double) * (size_t)np);
  double gmax = 0.0;
  for (int64_t i = 0; i < np; i++) gmax = fmax(gmax, fabs(grad[i]));
  const double h = single ? 1e-3 : 1e-6;
  const double rtol = single ? 3e-2 : 1e-6, atol = single ? 2e-3 * gmax : 2e-8;
  double worst = 0.0;
  int64_t checked = 0;
  for (int64_t i = 0; i < np; i += single ? 5 : 1) {
    const double fd = disc_fd_theta(&dc, i, h);
    worst = fmax(worst, fabs(fd - grad[i]) / (1e-6 + fabs(fd)));
    checked++;
    if (!(fabs(fd - grad[i]) <= rtol * fabs(fd) + atol))
      fail_msg("%s%s: dJ/dtheta[%lld] = %.12g, finite difference %.12g", c->name,
               single ? " (single)" : "", (long long)i, grad[i], fd);
  }
  print_message("%-36s %s %5lld parameters (%lld checked), worst relative error %.2e\n", c->name,
                single ? "single" : "double", (long long)np, (long long)checked, worst);
  free(grad);
  free(y);
  free(x);
  free(ly);
  free(lx);
  gpa_disc_destroy(&dc);
}

static void test_param_gradients(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_param_gradient(&cases[i], 0);
}

/* Single precision: smooth activations (a step of 1e-3 would cross ReLU kinks). */
/* float32 passes against double on the image network's shape (28 x 28, three 5x5 stride-2
 * convolutions, conditional): the analytic dJ/dtheta of the two precisions at the same theta. */
static void check_single_against_double(void) {
  const struct conv_case c = {"28x28, three convs 8-8-8, conditional",
                              1,
                              28,
                              28,
                              3,
                              {8, 8, 8},
                              5,
                              2,
                              1,
                              {16},
                              GPA_ACT_LEAKY_RELU,
                              GPA_ACT_RELU,
                              1,
                              GPA_DIV_KL};
  const int64_t d = 784, n = 24, m = 20;
  double *y = malloc(sizeof(double) * (size_t)(n * d)),
         *x = malloc(sizeof(double) * (size_t)(m * d));
  fill_normal(y, n * d, 0.0, 1.0, 4);
  fill_normal(x, m * d, 0.4, 0.5, 5);
  int32_t *ly = labels_for(n, 1, 0), *lx = labels_for(m, 1, 1);
  struct gpa_disc dc[2];
  double *grad[2], J[2];
  for (int s = 0; s < 2; s++) {
    struct gpa_params p;
    set_params(&p, &c);
    p.network.precision = s ? GPA_PREC_SINGLE : GPA_PREC_DOUBLE;
    TEST_OK(gpa_disc_create(&dc[s], MPI_COMM_WORLD, &p, d, gpa_partition(n, 0, 1),
                            gpa_partition(m, 0, 1), gpa_partition(0, 0, 1), x));
    gpa_disc_set_labels(&dc[s], ly, lx, NULL);
    if (s) {
      memcpy(dc[1].theta, dc[0].theta, sizeof(double) * (size_t)dc[0].net.n_params);
      gpa_disc_theta_changed(&dc[1]);
    }
    TEST_OK(gpa_disc_gradient(&dc[s], &J[s]));
    grad[s] = dc[s].grad;
  }
  const int64_t np = dc[0].net.n_params;
  double gmax = 0.0, diff = 0.0;
  for (int64_t i = 0; i < np; i++) {
    gmax = fmax(gmax, fabs(grad[0][i]));
    diff = fmax(diff, fabs(grad[0][i] - grad[1][i]));
  }
  print_message(
      "%s: single vs double, max|dg| / max|g| = %.2e over %lld parameters, "
      "|dJ| = %.2e\n",
      c.name, diff / gmax, (long long)np, fabs(J[0] - J[1]));
  assert_true(gmax > 0.0);
  assert_true(diff <= 1e-4 * gmax);
  assert_true(fabs(J[0] - J[1]) <= 1e-5 * (1.0 + fabs(J[0])));
  for (int s = 0; s < 2; s++) gpa_disc_destroy(&dc[s]);
  free(y);
  free(x);
  free(ly);
  free(lx);
}

static void test_single_precision(void **state) {
  (void)state;
  check_param_gradient(&cases[1], 1);
  check_single_against_double();
}

/* phi(x) and grad_x phi of the network alone: theta set, rows evaluated one by one. */
static void check_input_gradient(const struct conv_case *c) {
  struct gpa_params p;
  set_params(&p, c);
  const int64_t d = c->c * c->h * c->w, rows = 4;
  struct gpa_mlp net;
  TEST_OK(gpa_mlp_create(&net, d, &p, 0, rows));
  double *theta = malloc(sizeof(double) * (size_t)net.n_params);
  gpa_mlp_init_params(&net, theta, 7);
  for (int64_t i = 0; i < net.n_params; i++) theta[i] += 0.05 * sin((double)i);
  double *x = malloc(sizeof(double) * (size_t)(rows * d)),
         *g = malloc(sizeof(double) * (size_t)(rows * d));
  double *xp = malloc(sizeof(double) * (size_t)d);
  fill_normal(x, rows * d, 0.0, 1.0, 3);
  int32_t *lab = labels_for(rows, c->conditional, 2);
  gpa_mlp_set_labels(&net, 0, rows, lab);
  gpa_mlp_forward(&net, theta, x, 0, rows);
  gpa_mlp_input_grad(&net, theta, 0, rows, g);
  const double h = 1e-6;
  for (int64_t r = 0; r < rows; r++) {
    gpa_mlp_set_labels(&net, 0, 1, lab + r);
    for (int64_t k = 0; k < d; k++) {
      memcpy(xp, x + r * d, sizeof(double) * (size_t)d);
      xp[k] += h;
      gpa_mlp_forward(&net, theta, xp, 0, 1);
      double fp = net.out[0];
      xp[k] -= 2 * h;
      gpa_mlp_forward(&net, theta, xp, 0, 1);
      double fd = (fp - net.out[0]) / (2 * h);
      if (!(fabs(fd - g[r * d + k]) <= 1e-6 * fabs(fd) + 1e-8))
        fail_msg("%s: dphi/dx[%lld][%lld] = %.12g, finite difference %.12g", c->name, (long long)r,
                 (long long)k, g[r * d + k], fd);
    }
  }
  free(theta);
  free(x);
  free(g);
  free(xp);
  free(lab);
  gpa_mlp_destroy(&net);
}

static void test_input_gradients(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_input_gradient(&cases[i]);
}

/* Dropout: the gradient of sum_r w_r phi(x_r) with the training masks of one round against
 * differences of the same masked forward pass; about the requested fraction dropped; other
 * rounds and rows get other masks; evaluation passes use none. */
static void test_dropout(void **state) {
  (void)state;
  struct gpa_params p;
  set_params(&p, &cases[0]);
  p.network.dropout = 0.3;
  const int64_t d = 49, rows = 5;
  struct gpa_mlp net;
  TEST_OK(gpa_mlp_create(&net, d, &p, 0, rows));
  double *theta = malloc(sizeof(double) * (size_t)net.n_params);
  double *grad = malloc(sizeof(double) * (size_t)net.n_params);
  gpa_mlp_init_params(&net, theta, 3);
  for (int64_t i = 0; i < net.n_params; i++) theta[i] += 0.05 * cos((double)i);
  double x[5 * 49], w[5] = {0.3, -0.2, 0.5, 0.1, -0.4};
  fill_normal(x, rows * d, 0.0, 1.0, 4);
  gpa_mlp_set_row_keys(&net, 0, rows, 100);
  net.training = 1;
  net.dropout_round = 7;
  gpa_mlp_forward(&net, theta, x, 0, rows);
  /* Fraction dropped, and masks that differ between rows. */
  int64_t dropped = 0, total = 0, same = 0;
  for (int l = 0; l < net.n_conv; l++) {
    const int64_t sz = net.conv[l].out_size;
    for (int64_t i = 0; i < rows * sz; i++) dropped += net.mask[l][i] == 0;
    for (int64_t i = 0; i < sz; i++) same += net.mask[l][i] == net.mask[l][sz + i];
    total += rows * sz;
  }
  print_message("dropout 0.3: %lld of %lld dropped (%.3f)\n", (long long)dropped, (long long)total,
                (double)dropped / (double)total);
  assert_true(fabs((double)dropped / (double)total - 0.3) < 0.1);
  assert_true(same < net.conv[0].out_size + net.conv[1].out_size);
  gpa_mlp_backward(&net, theta, x, w, rows, grad);
  const double h = 1e-6;
  for (int64_t i = 0; i < net.n_net; i++) {
    double save = theta[i], jp = 0, jm = 0;
    theta[i] = save + h;
    gpa_mlp_forward(&net, theta, x, 0, rows);
    for (int64_t r = 0; r < rows; r++) jp += w[r] * net.out[r];
    theta[i] = save - h;
    gpa_mlp_forward(&net, theta, x, 0, rows);
    for (int64_t r = 0; r < rows; r++) jm += w[r] * net.out[r];
    theta[i] = save;
    double fd = (jp - jm) / (2 * h);
    if (!(fabs(fd - grad[i]) <= 1e-6 * fabs(fd) + 2e-8))
      fail_msg("dropout: dJ/dtheta[%lld] = %.12g, finite difference %.12g", (long long)i, grad[i],
               fd);
  }
  /* Another round draws other masks: phi changes; evaluation (no dropout) differs from both. */
  double out7[5], out8[5], eval[5];
  gpa_mlp_forward(&net, theta, x, 0, rows);
  memcpy(out7, net.out, sizeof out7);
  net.dropout_round = 8;
  gpa_mlp_forward(&net, theta, x, 0, rows);
  memcpy(out8, net.out, sizeof out8);
  net.training = 0;
  gpa_mlp_forward(&net, theta, x, 0, rows);
  memcpy(eval, net.out, sizeof eval);
  int differ78 = 0, differ_eval = 0;
  for (int r = 0; r < 5; r++) {
    differ78 += out7[r] != out8[r];
    differ_eval += eval[r] != out7[r];
  }
  assert_true(differ78 >= 4 && differ_eval >= 4);
  /* The same rows under other workspace positions (another rank split) get the same masks. */
  net.training = 1;
  net.dropout_round = 7;
  gpa_mlp_set_row_keys(&net, 0, 1, 102);
  gpa_mlp_forward(&net, theta, x + 2 * d, 0, 1);
  ASSERT_CLOSE(net.out[0], out7[2], 0, 0);
  free(theta);
  free(grad);
  gpa_mlp_destroy(&net);
}

/* The projection holds every kernel (as a matrix) and dense weight at spectral norm L^(1/D):
 * checked by converged power iteration after training, and the empirical Lipschitz ratio of
 * the trained network stays within the bound L * prod_c ceil(k / stride). */
/* A conditional network's output layer [width][classes]: per_class holds every column (one
 * class's output weights) at norm c, joint holds the matrix's spectral norm at c; each class's
 * output then obeys the product bound. */
static void check_class_normalization(int how) {
  struct gpa_params p;
  set_params(&p, &cases[3]);
  p.divergence.L = 1.0;
  p.optimizer.epochs = 30;
  p.network.class_normalization = how;
  const int64_t d = 64, n = 20, m = 20;
  double *y = malloc(sizeof(double) * (size_t)(n * d)),
         *x = malloc(sizeof(double) * (size_t)(m * d));
  fill_normal(y, n * d, 0.0, 1.0, 7);
  fill_normal(x, m * d, 0.8, 0.7, 8);
  int32_t *ly = labels_for(n, 1, 0), *lx = labels_for(m, 1, 1);
  struct gpa_disc dc;
  TEST_OK(gpa_disc_create(&dc, MPI_COMM_WORLD, &p, d, gpa_partition(n, 0, 1),
                          gpa_partition(m, 0, 1), gpa_partition(0, 0, 1), x));
  gpa_disc_set_labels(&dc, ly, lx, NULL);
  double J;
  TEST_OK(gpa_disc_train(&dc, y, &J));
  const int last = dc.lip.n_layers - 1;
  const int64_t rows = dc.lip.rows[last], cols = dc.lip.cols[last];
  assert_true(cols > 1);
  const double *W = dc.theta + dc.lip.w_off[last];
  double *u = malloc(sizeof(double) * (size_t)rows), *v = malloc(sizeof(double) * (size_t)cols);
  for (int64_t i = 0; i < rows; i++) u[i] = 1.0 + 0.1 * (double)i;
  const double s = gpa_spectral_norm(W, rows, cols, u, v, 5000, 1e-14);
  double smallest = INFINITY, largest = 0.0;
  for (int64_t j = 0; j < cols; j++) {
    double norm = 0.0;
    for (int64_t i = 0; i < rows; i++) norm += W[i * cols + j] * W[i * cols + j];
    smallest = fmin(smallest, sqrt(norm));
    largest = fmax(largest, sqrt(norm));
  }
  print_message(
      "class_normalization %s: output layer %lldx%lld, column norms %.6f..%.6f, "
      "spectral norm %.6f (c = %.6f)\n",
      how ? "joint" : "per_class", (long long)rows, (long long)cols, smallest, largest, s,
      dc.lip.c);
  if (how == GPA_CLASSNORM_PER_CLASS) {
    ASSERT_CLOSE(smallest, dc.lip.c, 1e-12, 0);
    ASSERT_CLOSE(largest, dc.lip.c, 1e-12, 0);
  } else {
    ASSERT_CLOSE(s, dc.lip.c, 2e-3, 0);
    assert_true(largest <= s * (1 + 1e-9));
  }
  free(u);
  free(v);
  free(y);
  free(x);
  free(ly);
  free(lx);
  gpa_disc_destroy(&dc);
}

static void test_lipschitz(void **state) {
  (void)state;
  check_class_normalization(GPA_CLASSNORM_PER_CLASS);
  check_class_normalization(GPA_CLASSNORM_JOINT);
  struct gpa_params p;
  set_params(&p, &cases[0]);
  p.divergence.L = 1.0;
  p.optimizer.epochs = 30;
  const int64_t d = 49, n = 20, m = 20;
  double *y = malloc(sizeof(double) * (size_t)(n * d)),
         *x = malloc(sizeof(double) * (size_t)(m * d));
  fill_normal(y, n * d, 0.0, 1.0, 5);
  fill_normal(x, m * d, 0.8, 0.7, 6);
  struct gpa_disc dc;
  TEST_OK(gpa_disc_create(&dc, MPI_COMM_WORLD, &p, d, gpa_partition(n, 0, 1),
                          gpa_partition(m, 0, 1), gpa_partition(0, 0, 1), x));
  double J;
  TEST_OK(gpa_disc_train(&dc, y, &J));
  const double c = dc.lip.c;
  assert_int_equal(dc.lip.n_layers, 4);
  for (int l = 0; l < dc.lip.n_layers; l++) {
    double *u = malloc(sizeof(double) * (size_t)dc.lip.rows[l]);
    double *v = malloc(sizeof(double) * (size_t)dc.lip.cols[l]);
    for (int64_t i = 0; i < dc.lip.rows[l]; i++) u[i] = 1.0 + 0.1 * (double)i;
    double s = gpa_spectral_norm(dc.theta + dc.lip.w_off[l], dc.lip.rows[l], dc.lip.cols[l], u, v,
                                 5000, 1e-14);
    ASSERT_CLOSE(s, c, 2e-3, 0);
    free(u);
    free(v);
  }
  /* Empirical ratio over random pairs, half of them close. */
  struct gpa_mlp *net = &dc.net;
  double ratio = 0.0;
  double *a = malloc(sizeof(double) * (size_t)d), *b = malloc(sizeof(double) * (size_t)d);
  for (int t = 0; t < 2000; t++) {
    fill_normal(a, d, 0.0, 1.0, (uint32_t)(1000 + t));
    fill_normal(b, d, 0.0, t % 2 ? 1e-3 : 1.0, (uint32_t)(5000 + t));
    double dist = 0;
    for (int64_t i = 0; i < d; i++) {
      if (t % 2) b[i] += a[i];
      dist += (a[i] - b[i]) * (a[i] - b[i]);
    }
    gpa_mlp_forward(net, dc.theta, a, 0, 1);
    double fa = net->out[0];
    gpa_mlp_forward(net, dc.theta, b, 0, 1);
    ratio = fmax(ratio, fabs(fa - net->out[0]) / sqrt(dist));
  }
  const double bound = 1.0 * 2 * 2; /* ceil(3 / 2) = 2 for each of the two convolutions */
  print_message("trained conv net, L = 1: max |phi(a)-phi(b)|/|a-b| = %.4f (bound %.1f)\n", ratio,
                bound);
  assert_true(ratio <= bound * (1 + 1e-9));
  assert_true(ratio > 0.01);
  free(a);
  free(b);
  free(y);
  free(x);
  gpa_disc_destroy(&dc);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_geometry),        cmocka_unit_test(test_param_gradients),
    cmocka_unit_test(test_input_gradients), cmocka_unit_test(test_single_precision),
    cmocka_unit_test(test_dropout),         cmocka_unit_test(test_lipschitz),
};
GPA_TEST_MAIN(tests)
