/* Forward and backward passes of the fully connected discriminator. */
#include "gpa/mlp.h"

#include <math.h>
#include <string.h>

#include "gpa/linalg.h"
#include "gpa/rng.h"

static const double PI = 3.14159265358979323846;

/* ------------------------------------------------------------------------- activations */

double gpa_activation(int act, double z, double eps, double slope) {
  switch (act) {
  case GPA_ACT_LEAKY_RELU: return z > 0.0 ? z : slope * z;
  case GPA_ACT_SMOOTH_RELU:
    if (z < 0.0) return 0.0;
    if (z >= 2.0 * eps) return z - eps;
    return z * z / (4.0 * eps) + eps * (cos(PI * z / eps) - 1.0) / (2.0 * PI * PI);
  default: return z > 0.0 ? z : 0.0;
  }
}

double gpa_activation_deriv(int act, double z, double eps, double slope) {
  switch (act) {
  case GPA_ACT_LEAKY_RELU: return z > 0.0 ? 1.0 : slope;
  case GPA_ACT_SMOOTH_RELU:
    if (z < 0.0) return 0.0;
    if (z >= 2.0 * eps) return 1.0;
    return z / (2.0 * eps) - sin(PI * z / eps) / (2.0 * PI);
  default: return z > 0.0 ? 1.0 : 0.0;
  }
}

/* z[r][j] += b[j]; h = a(z), over `rows` rows of width n. */
static void bias_act_forward(int act, double eps, double slope, int64_t rows, int64_t n,
                             const double *restrict b, double *restrict z,
                             double *restrict h) {
  switch (act) {
  case GPA_ACT_RELU:
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < n; j++) {
        double v = z[r * n + j] + b[j];
        z[r * n + j] = v;
        h[r * n + j] = v > 0.0 ? v : 0.0;
      }
    break;
  case GPA_ACT_LEAKY_RELU:
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < n; j++) {
        double v = z[r * n + j] + b[j];
        z[r * n + j] = v;
        h[r * n + j] = v > 0.0 ? v : slope * v;
      }
    break;
  default:
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < n; j++) {
        double v = z[r * n + j] + b[j];
        z[r * n + j] = v;
        h[r * n + j] = gpa_activation(act, v, eps, slope);
      }
    break;
  }
}

/* d[i] *= a'(z[i]) for i < count. */
static void act_backward(int act, double eps, double slope, int64_t count,
                         const double *restrict z, double *restrict d) {
  switch (act) {
  case GPA_ACT_RELU:
    for (int64_t i = 0; i < count; i++) d[i] = z[i] > 0.0 ? d[i] : 0.0;
    break;
  case GPA_ACT_LEAKY_RELU:
    for (int64_t i = 0; i < count; i++) d[i] = z[i] > 0.0 ? d[i] : slope * d[i];
    break;
  default:
    for (int64_t i = 0; i < count; i++) d[i] *= gpa_activation_deriv(act, z[i], eps, slope);
    break;
  }
}

/* d[r][j] = s[r] * w[j] * a'(z[r][j]): the output layer's backward step fused with the last
 * hidden activation (s = NULL: s[r] = 1, the input-gradient pass). */
static void outer_act_backward(int act, double eps, double slope, int64_t rows, int64_t n,
                               const double *restrict s, const double *restrict w,
                               const double *restrict z, double *restrict d) {
  for (int64_t r = 0; r < rows; r++) {
    double sr = s ? s[r] : 1.0;
    for (int64_t j = 0; j < n; j++) d[r * n + j] = sr * w[j];
  }
  act_backward(act, eps, slope, rows * n, z, d);
}

/* ------------------------------------------------------------------------- setup */

int gpa_mlp_create(struct gpa_mlp *m, int64_t dim, const struct gpa_params *p, int with_nu,
                   int64_t max_rows) {
  memset(m, 0, sizeof *m);
  int hidden = p->network.widths.n;
  m->n_layers = hidden + 1;
  m->width[0] = dim;
  for (int l = 0; l < hidden; l++) m->width[l + 1] = p->network.widths.v[l];
  m->width[hidden + 1] = 1;
  for (int l = 0; l < hidden; l++) m->act[l] = p->network.activation;
  if (hidden > 0 && p->network.last_activation != GPA_ACT_SAME)
    m->act[hidden - 1] = p->network.last_activation;
  m->smooth_eps = p->network.smooth_eps;
  m->leaky_slope = p->network.leaky_slope;
  int64_t off = 0;
  m->max_width = 1;
  for (int l = 0; l < m->n_layers; l++) {
    m->w_off[l] = off;
    off += m->width[l] * m->width[l + 1];
    m->b_off[l] = off;
    off += m->width[l + 1];
    if (m->width[l] > m->max_width) m->max_width = m->width[l];
  }
  m->n_net = off;
  m->nu_off = with_nu ? off : -1;
  m->n_params = off + (with_nu ? 1 : 0);
  m->max_rows = max_rows < 1 ? 1 : max_rows;
  for (int l = 0; l < hidden; l++) {
    GPA_CHECK(gpa_alloc_array(&m->z[l], (size_t)(m->max_rows * m->width[l + 1]), sizeof(double)));
    GPA_CHECK(gpa_alloc_array(&m->h[l], (size_t)(m->max_rows * m->width[l + 1]), sizeof(double)));
  }
  GPA_CHECK(gpa_alloc_array(&m->out, (size_t)m->max_rows, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&m->da, (size_t)(m->max_rows * m->max_width), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&m->db, (size_t)(m->max_rows * m->max_width), sizeof(double)));
  return GPA_OK;
}

void gpa_mlp_destroy(struct gpa_mlp *m) {
  for (int l = 0; l < GPA_MLP_MAX_LAYERS; l++) {
    gpa_free(&m->z[l]);
    gpa_free(&m->h[l]);
  }
  gpa_free(&m->out);
  gpa_free(&m->da);
  gpa_free(&m->db);
}

void gpa_mlp_init_params(const struct gpa_mlp *m, double *theta, uint64_t seed) {
  memset(theta, 0, sizeof(double) * (size_t)m->n_params);
  for (int l = 0; l < m->n_layers; l++) {
    double std = sqrt(2.0 / (double)m->width[l]);
    int64_t count = m->width[l] * m->width[l + 1];
    for (int64_t i = 0; i < count; i++) {
      struct gpa_rng rng;
      gpa_rng_init(&rng, seed, GPA_STREAM_NETWORK, (uint64_t)(m->w_off[l] + i));
      theta[m->w_off[l] + i] = std * gpa_rng_normal(&rng);
    }
  }
}

/* ------------------------------------------------------------------------- passes */

void gpa_mlp_forward(struct gpa_mlp *m, const double *theta, const double *x, int64_t row0,
                     int64_t rows) {
  const int D = m->n_layers;
  const double *in = x;
  for (int l = 0; l < D - 1; l++) {
    int64_t k = m->width[l], n = m->width[l + 1];
    double *z = m->z[l] + row0 * n, *h = m->h[l] + row0 * n;
    gpa_gemm('N', 'N', rows, n, k, 1.0, in, k, theta + m->w_off[l], n, 0.0, z, n);
    bias_act_forward(m->act[l], m->smooth_eps, m->leaky_slope, rows, n, theta + m->b_off[l], z,
                     h);
    in = h;
  }
  int64_t k = m->width[D - 1];
  double *out = m->out + row0;
  gpa_gemv('N', rows, k, 1.0, in, k, theta + m->w_off[D - 1], 0.0, out);
  const double b = theta[m->b_off[D - 1]];
  for (int64_t r = 0; r < rows; r++) out[r] += b;
}

void gpa_mlp_backward(struct gpa_mlp *m, const double *theta, const double *x, const double *w,
                      int64_t rows, double *grad) {
  const int D = m->n_layers;
  /* Output layer: phi = h W + b. */
  const double *in = D > 1 ? m->h[D - 2] : x;
  int64_t k = m->width[D - 1];
  gpa_gemv('T', rows, k, 1.0, in, k, w, 0.0, grad + m->w_off[D - 1]);
  double sw = 0.0;
  for (int64_t r = 0; r < rows; r++) sw += w[r];
  grad[m->b_off[D - 1]] = sw;
  if (D == 1) return;
  double *dz = m->da, *spare = m->db;
  outer_act_backward(m->act[D - 2], m->smooth_eps, m->leaky_slope, rows, k, w,
                     theta + m->w_off[D - 1], m->z[D - 2], dz);
  /* Hidden layers, last to first: dz holds dJ/dz_l. */
  for (int l = D - 2; l >= 0; l--) {
    int64_t ki = m->width[l], n = m->width[l + 1];
    const double *hin = l > 0 ? m->h[l - 1] : x;
    gpa_gemm('T', 'N', ki, n, rows, 1.0, hin, ki, dz, n, 0.0, grad + m->w_off[l], n);
    double *gb = grad + m->b_off[l];
    for (int64_t j = 0; j < n; j++) gb[j] = 0.0;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < n; j++) gb[j] += dz[r * n + j];
    if (l == 0) break;
    gpa_gemm('N', 'T', rows, ki, n, 1.0, dz, n, theta + m->w_off[l], n, 0.0, spare, ki);
    act_backward(m->act[l - 1], m->smooth_eps, m->leaky_slope, rows * ki, m->z[l - 1], spare);
    double *t = dz;
    dz = spare;
    spare = t;
  }
}

void gpa_mlp_input_grad(struct gpa_mlp *m, const double *theta, int64_t row0, int64_t rows,
                        double *g) {
  const int D = m->n_layers;
  const int64_t d = m->width[0];
  if (D == 1) {
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < d; j++) g[r * d + j] = theta[m->w_off[0] + j];
    return;
  }
  int64_t k = m->width[D - 1];
  double *dz = m->da, *spare = m->db;
  outer_act_backward(m->act[D - 2], m->smooth_eps, m->leaky_slope, rows, k, NULL,
                     theta + m->w_off[D - 1], m->z[D - 2] + row0 * k, dz);
  for (int l = D - 2; l >= 1; l--) {
    int64_t ki = m->width[l], n = m->width[l + 1];
    gpa_gemm('N', 'T', rows, ki, n, 1.0, dz, n, theta + m->w_off[l], n, 0.0, spare, ki);
    act_backward(m->act[l - 1], m->smooth_eps, m->leaky_slope, rows * ki,
                 m->z[l - 1] + row0 * ki, spare);
    double *t = dz;
    dz = spare;
    spare = t;
  }
  gpa_gemm('N', 'T', rows, d, m->width[1], 1.0, dz, m->width[1], theta + m->w_off[0],
           m->width[1], 0.0, g, d);
}
