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

/* ------------------------------------------------------------------------- kernels */

/* The elementwise loops are compiled twice, for AVX2 and for the baseline, and the loader picks
 * the one this CPU runs (the build itself stays portable). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GPA_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define GPA_SIMD
#endif

#define REAL double
#define SFX(name) name##_f64
#define GEMM gpa_gemm
#define GEMV gpa_gemv
#include "mlp_kernels.h"
#undef REAL
#undef SFX
#undef GEMM
#undef GEMV

#define REAL float
#define SFX(name) name##_f32
#define GEMM gpa_sgemm
#define GEMV gpa_sgemv
#include "mlp_kernels.h"
#undef REAL
#undef SFX
#undef GEMM
#undef GEMV

GPA_SIMD static void to_float(const double *restrict in, float *restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = (float)in[i];
}

GPA_SIMD static void to_double(const float *restrict in, double *restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = (double)in[i];
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
  m->single = p->network.precision == GPA_PREC_SINGLE;
  const size_t real = m->single ? sizeof(float) : sizeof(double);
  const size_t rows = (size_t)m->max_rows;
  for (int l = 0; l < hidden; l++) {
    GPA_CHECK(gpa_alloc_array(&m->z[l], rows * (size_t)m->width[l + 1], real));
    GPA_CHECK(gpa_alloc_array(&m->h[l], rows * (size_t)m->width[l + 1], real));
  }
  GPA_CHECK(gpa_alloc_array(&m->out, rows, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&m->da, rows * (size_t)m->max_width, real));
  GPA_CHECK(gpa_alloc_array(&m->db, rows * (size_t)m->max_width, real));
  GPA_CHECK(gpa_alloc_array(&m->wt, (size_t)m->n_net, real));
  if (m->single) {
    GPA_CHECK(gpa_alloc_array(&m->theta32, (size_t)m->n_params, sizeof(float)));
    GPA_CHECK(gpa_alloc_array(&m->grad32, (size_t)m->n_params, sizeof(float)));
    GPA_CHECK(gpa_alloc_array(&m->x32, rows * (size_t)dim, sizeof(float)));
    GPA_CHECK(gpa_alloc_array(&m->row32, rows * (size_t)(dim > 1 ? dim : 1), sizeof(float)));
  }
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
  gpa_free(&m->wt);
  gpa_free(&m->theta32);
  gpa_free(&m->grad32);
  gpa_free(&m->x32);
  gpa_free(&m->row32);
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

/* In single precision the passes run on float copies: theta is converted at every call (a few
 * thousand numbers), the inputs of the rows being evaluated into x32 (kept for the backward
 * pass), and results are converted back to double. */

void gpa_mlp_forward(struct gpa_mlp *m, const double *theta, const double *x, int64_t row0,
                     int64_t rows) {
  if (!m->single) {
    forward_f64(m, theta, x, row0, rows, m->out + row0);
    return;
  }
  const int64_t d = m->width[0];
  float *x32 = m->x32 + row0 * d, *out32 = m->row32;
  to_float(theta, m->theta32, m->n_params);
  to_float(x, x32, rows * d);
  forward_f32(m, m->theta32, x32, row0, rows, out32);
  to_double(out32, m->out + row0, rows);
}

void gpa_mlp_backward(struct gpa_mlp *m, const double *theta, const double *x, const double *w,
                      int64_t rows, double *grad) {
  if (!m->single) {
    backward_f64(m, theta, x, w, rows, grad);
    return;
  }
  float *w32 = m->row32;
  to_float(theta, m->theta32, m->n_params);
  to_float(w, w32, rows);
  backward_f32(m, m->theta32, m->x32, w32, rows, m->grad32);
  to_double(m->grad32, grad, m->n_net);
}

void gpa_mlp_input_grad(struct gpa_mlp *m, const double *theta, int64_t row0, int64_t rows,
                        double *g) {
  if (!m->single) {
    input_grad_f64(m, theta, row0, rows, g);
    return;
  }
  const int64_t d = m->width[0];
  float *g32 = m->row32;
  to_float(theta, m->theta32, m->n_params);
  input_grad_f32(m, m->theta32, row0, rows, g32);
  to_double(g32, g, rows * d);
}
