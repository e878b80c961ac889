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
    case GPA_ACT_LEAKY_RELU:
      return z > 0.0 ? z : slope * z;
    case GPA_ACT_SMOOTH_RELU:
      if (z < 0.0) return 0.0;
      if (z >= 2.0 * eps) return z - eps;
      return z * z / (4.0 * eps) + eps * (cos(PI * z / eps) - 1.0) / (2.0 * PI * PI);
    default:
      return z > 0.0 ? z : 0.0;
  }
}

double gpa_activation_deriv(int act, double z, double eps, double slope) {
  switch (act) {
    case GPA_ACT_LEAKY_RELU:
      return z > 0.0 ? 1.0 : slope;
    case GPA_ACT_SMOOTH_RELU:
      if (z < 0.0) return 0.0;
      if (z >= 2.0 * eps) return 1.0;
      return z / (2.0 * eps) - sin(PI * z / eps) / (2.0 * PI);
    default:
      return z > 0.0 ? 1.0 : 0.0;
  }
}

/* ------------------------------------------------------------------------- dropout */

/* mask [out_size] of convolution l for workspace row `row`: 1 keeps a value, 0 drops it, each
 * with its own draw from the generator keyed on (seed, stream of layer l, round, row key). */
static void dropout_mask(const struct gpa_mlp *m, int l, int64_t row, uint8_t *mask) {
  struct gpa_rng rng;
  gpa_rng_init(&rng, m->seed, GPA_STREAM_DROPOUT + (uint32_t)l,
               (m->dropout_round << 32) + m->row_key[row]);
  const uint64_t cut = (uint64_t)(m->dropout * 4294967296.0);
  for (int64_t i = 0; i < m->conv[l].out_size; i++) mask[i] = gpa_rng_u32(&rng) >= cut;
}

/* ------------------------------------------------------------------------- kernels */

/* The elementwise loops are compiled twice, for AVX2 and for the baseline, and the loader picks
 * the one this CPU runs (the build itself stays portable). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define GPA_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define GPA_SIMD
#endif

#define REAL double
#define SFX(name) name##_f64
#define GEMM gpa_gemm
#define GEMV gpa_gemv
#include "mlp_kernels.h"
#include "conv_kernels.h"
#undef REAL
#undef SFX
#undef GEMM
#undef GEMV

#define REAL float
#define SFX(name) name##_f32
#define GEMM gpa_sgemm
#define GEMV gpa_sgemv
#include "mlp_kernels.h"
#include "conv_kernels.h"
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

/* "same" padding along one side: output ceil(n / s), the total padding split with the smaller
 * half first (as TensorFlow and the reference code). */
static void same_pad(int64_t n, int64_t k, int64_t s, int64_t *out, int64_t *before) {
  *out = (n + s - 1) / s;
  int64_t total = (*out - 1) * s + k - n;
  if (total < 0) total = 0;
  *before = total / 2;
}

/* Input image shape: (channels, height, width) from network.image_shape, or a square single
 * channel image of side sqrt(dim). */
static int image_shape(const struct gpa_params *p, int64_t dim, int64_t *cin, int64_t *hin,
                       int64_t *win) {
  const struct gpa_int_list *img = &p->network.image_shape;
  *cin = 1;
  if (img->n == 3) {
    *cin = img->v[0];
    *hin = img->v[1];
    *win = img->v[2];
  } else {
    *hin = *win = (int64_t)llround(sqrt((double)dim));
  }
  if (*cin * *hin * *win != dim)
    return GPA_ERROR(GPA_ERR_INPUT, "network.image_shape: %lld x %lld x %lld is not dim %lld",
                     (long long)*cin, (long long)*hin, (long long)*win, (long long)dim);
  return GPA_OK;
}

/* Sizes of the largest im2col block and of the largest convolution input or output, per row. */
struct conv_sizes {
  int64_t max_pk, max_size;
};

/* The convolutions' geometry and their kernels' offsets in theta, from offset 0; *off returns
 * the end of the kernels. */
static int conv_geometry(struct gpa_mlp *m, const struct gpa_params *p, int64_t dim, int64_t *off,
                         struct conv_sizes *cs) {
  m->n_conv = p->network.conv_channels.n;
  m->conv_act = p->network.conv_activation;
  m->dropout = p->network.dropout;
  m->seed = (uint64_t)p->run.seed;
  int64_t cin = 1, hin = 0, win = 0;
  *off = 0;
  cs->max_pk = cs->max_size = 1;
  if (m->n_conv) GPA_CHECK(image_shape(p, dim, &cin, &hin, &win));
  for (int l = 0; l < m->n_conv; l++) {
    struct gpa_conv *c = &m->conv[l];
    c->cin = cin;
    c->hin = hin;
    c->win = win;
    c->k = p->network.conv_kernel;
    c->stride = p->network.conv_stride;
    c->cout = p->network.conv_channels.v[l];
    same_pad(hin, c->k, c->stride, &c->hout, &c->pad_t);
    same_pad(win, c->k, c->stride, &c->wout, &c->pad_l);
    c->in_size = hin * win * cin;
    c->out_size = c->hout * c->wout * c->cout;
    c->w_off = *off;
    *off += c->k * c->k * cin * c->cout;
    const int64_t pk = c->hout * c->wout * c->k * c->k * cin;
    if (pk > cs->max_pk) cs->max_pk = pk;
    if (c->out_size > cs->max_size) cs->max_size = c->out_size;
    if (c->in_size > cs->max_size) cs->max_size = c->in_size;
    cin = c->cout;
    hin = c->hout;
    win = c->wout;
  }
  return GPA_OK;
}

/* The dense layers: widths, activations and the offsets of W_l and b_l in theta from `off`
 * (after the kernels), then nu; sets n_net, nu_off, n_params and max_width. */
static void dense_layout(struct gpa_mlp *m, const struct gpa_params *p, int64_t dim, int with_nu,
                         int64_t off) {
  const int hidden = p->network.widths.n;
  m->n_layers = hidden + 1;
  m->width[0] = m->n_conv ? m->conv[m->n_conv - 1].out_size : dim;
  for (int l = 0; l < hidden; l++) m->width[l + 1] = p->network.widths.v[l];
  m->n_out = p->network.conditional ? 10 : 1;
  m->width[hidden + 1] = m->n_out;
  for (int l = 0; l < hidden; l++) m->act[l] = p->network.activation;
  if (hidden > 0 && p->network.last_activation != GPA_ACT_SAME)
    m->act[hidden - 1] = p->network.last_activation;
  m->smooth_eps = p->network.smooth_eps;
  m->leaky_slope = p->network.leaky_slope;
  m->max_width = 1;
  for (int l = 0; l < m->n_layers; l++) {
    m->w_off[l] = off;
    off += m->width[l] * m->width[l + 1];
    m->b_off[l] = off;
    off += m->width[l + 1];
    if (m->width[l] > m->max_width) m->max_width = m->width[l];
  }
  if (dim > m->max_width) m->max_width = dim;
  m->n_net = off;
  m->nu_off = with_nu ? off : -1;
  m->n_params = off + (with_nu ? 1 : 0);
}

/* The convolutions' activations, dropout masks and im2col blocks for max_rows rows. */
static int alloc_conv_workspace(struct gpa_mlp *m, const struct conv_sizes *cs, size_t real) {
  const size_t rows = (size_t)m->max_rows;
  /* Rows per im2col block: 32 MiB of the largest block (large enough that the kernels'
   * gradient products sum over many rows, small enough to stay out of the way). */
  m->chunk = (int64_t)((32u << 20) / real / (size_t)cs->max_pk);
  if (m->chunk < 1) m->chunk = 1;
  if (m->chunk > m->max_rows) m->chunk = m->max_rows;
  for (int l = 0; l < m->n_conv; l++) {
    GPA_CHECK(gpa_alloc_array(&m->cz[l], rows * (size_t)m->conv[l].out_size, real));
    GPA_CHECK(gpa_alloc_array(&m->ch[l], rows * (size_t)m->conv[l].out_size, real));
    if (m->dropout > 0.0)
      GPA_CHECK(gpa_alloc_array(&m->mask[l], rows * (size_t)m->conv[l].out_size, 1));
  }
  GPA_CHECK(gpa_alloc_array(&m->col, (size_t)(m->chunk * cs->max_pk), real));
  GPA_CHECK(gpa_alloc_array(&m->dcol, (size_t)(m->chunk * cs->max_pk), real));
  GPA_CHECK(gpa_alloc_array(&m->ga, (size_t)(m->chunk * cs->max_size), real));
  GPA_CHECK(gpa_alloc_array(&m->gb, (size_t)(m->chunk * cs->max_size), real));
  return GPA_OK;
}

/* Every workspace buffer, sized for max_rows rows. */
static int alloc_workspace(struct gpa_mlp *m, const struct conv_sizes *cs, int64_t dim) {
  const size_t real = m->single ? sizeof(float) : sizeof(double);
  const size_t rows = (size_t)m->max_rows;
  for (int l = 0; l + 1 < m->n_layers; l++) {
    GPA_CHECK(gpa_alloc_array(&m->z[l], rows * (size_t)m->width[l + 1], real));
    GPA_CHECK(gpa_alloc_array(&m->h[l], rows * (size_t)m->width[l + 1], real));
  }
  GPA_CHECK(gpa_alloc_array(&m->out, rows, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&m->da, rows * (size_t)m->max_width, real));
  GPA_CHECK(gpa_alloc_array(&m->db, rows * (size_t)m->max_width, real));
  GPA_CHECK(gpa_alloc_array(&m->wt, (size_t)m->n_net, real));
  GPA_CHECK(gpa_alloc_array(&m->row_key, rows, sizeof(uint64_t)));
  for (size_t r = 0; r < rows; r++) m->row_key[r] = r;
  if (m->n_conv) GPA_CHECK(alloc_conv_workspace(m, cs, real));
  if (m->n_out > 1) {
    GPA_CHECK(gpa_alloc_array(&m->label, rows, sizeof(int32_t)));
    GPA_CHECK(gpa_alloc_array(&m->outk, rows * (size_t)m->n_out, real));
  }
  if (m->single) {
    GPA_CHECK(gpa_alloc_array(&m->theta32, (size_t)m->n_params, sizeof(float)));
    GPA_CHECK(gpa_alloc_array(&m->grad32, (size_t)m->n_params, sizeof(float)));
    GPA_CHECK(gpa_alloc_array(&m->x32, rows * (size_t)dim, sizeof(float)));
    GPA_CHECK(gpa_alloc_array(&m->row32, rows * (size_t)(dim > 1 ? dim : 1), sizeof(float)));
  }
  return GPA_OK;
}

int gpa_mlp_create(struct gpa_mlp *m, int64_t dim, const struct gpa_params *p, int with_nu,
                   int64_t max_rows) {
  memset(m, 0, sizeof *m);
  m->in_dim = dim;
  int64_t off;
  struct conv_sizes cs;
  GPA_CHECK(conv_geometry(m, p, dim, &off, &cs));
  dense_layout(m, p, dim, with_nu, off);
  m->max_rows = max_rows < 1 ? 1 : max_rows;
  m->single = p->network.precision == GPA_PREC_SINGLE;
  return alloc_workspace(m, &cs, dim);
}

void gpa_mlp_destroy(struct gpa_mlp *m) {
  for (int l = 0; l < GPA_MLP_MAX_LAYERS; l++) {
    gpa_free(&m->z[l]);
    gpa_free(&m->h[l]);
  }
  for (int l = 0; l < GPA_MAX_CONV; l++) {
    gpa_free(&m->cz[l]);
    gpa_free(&m->ch[l]);
    gpa_free(&m->mask[l]);
  }
  gpa_free(&m->col);
  gpa_free(&m->dcol);
  gpa_free(&m->ga);
  gpa_free(&m->gb);
  gpa_free(&m->row_key);
  gpa_free(&m->label);
  gpa_free(&m->outk);
  gpa_free(&m->out);
  gpa_free(&m->da);
  gpa_free(&m->db);
  gpa_free(&m->wt);
  gpa_free(&m->theta32);
  gpa_free(&m->grad32);
  gpa_free(&m->x32);
  gpa_free(&m->row32);
}

int gpa_mlp_matrices(const struct gpa_mlp *m, int64_t *off, int64_t *rows, int64_t *cols) {
  int n = 0;
  for (int l = 0; l < m->n_conv; l++, n++) {
    off[n] = m->conv[l].w_off;
    rows[n] = m->conv[l].k * m->conv[l].k * m->conv[l].cin;
    cols[n] = m->conv[l].cout;
  }
  for (int l = 0; l < m->n_layers; l++, n++) {
    off[n] = m->w_off[l];
    rows[n] = m->width[l];
    cols[n] = m->width[l + 1];
  }
  return n;
}

void gpa_mlp_set_labels(struct gpa_mlp *m, int64_t row0, int64_t rows, const int32_t *labels) {
  if (m->n_out > 1 && rows > 0) memcpy(m->label + row0, labels, sizeof(int32_t) * (size_t)rows);
}

void gpa_mlp_set_row_keys(struct gpa_mlp *m, int64_t row0, int64_t rows, uint64_t first) {
  for (int64_t r = 0; r < rows; r++) m->row_key[row0 + r] = first + (uint64_t)r;
}

void gpa_mlp_init_params(const struct gpa_mlp *m, double *theta, uint64_t seed) {
  memset(theta, 0, sizeof(double) * (size_t)m->n_params);
  int64_t off[GPA_MLP_MAX_LAYERS + GPA_MAX_CONV], rows[GPA_MLP_MAX_LAYERS + GPA_MAX_CONV],
      cols[GPA_MLP_MAX_LAYERS + GPA_MAX_CONV];
  const int n = gpa_mlp_matrices(m, off, rows, cols);
  for (int l = 0; l < n; l++) {
    double std = sqrt(2.0 / (double)rows[l]);
    int64_t count = rows[l] * cols[l];
    for (int64_t i = 0; i < count; i++) {
      struct gpa_rng rng;
      gpa_rng_init(&rng, seed, GPA_STREAM_NETWORK, (uint64_t)(off[l] + i));
      theta[off[l] + i] = std * gpa_rng_normal(&rng);
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
  const int64_t d = m->in_dim;
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
  const int64_t d = m->in_dim;
  float *g32 = m->row32;
  to_float(theta, m->theta32, m->n_params);
  input_grad_f32(m, m->theta32, row0, rows, g32);
  to_double(g32, g, rows * d);
}

void gpa_mlp_velocity(struct gpa_mlp *m, const double *theta, const double *x, int64_t row0,
                      int64_t rows, double *v) {
  if (x) gpa_mlp_forward(m, theta, x, row0, rows);
  gpa_mlp_input_grad(m, theta, row0, rows, v);
  for (int64_t i = 0; i < rows * m->in_dim; i++) v[i] = -v[i];
}
