/* The discriminator's passes, written once for a floating-point type.  mlp.c includes this
 * file twice: with REAL = double (SFX = _f64, BLIS d-routines) and REAL = float (SFX = _f32,
 * BLIS s-routines).  Workspace pointers of struct gpa_mlp hold REAL arrays.
 * Needs: REAL, SFX(name), GEMM (gpa_gemm or gpa_sgemm), GEMV.  The convolutions are in
 * conv_kernels.h, included after this file. */

static void SFX(conv_forward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, int64_t row0,
                              int64_t rows);
static void SFX(conv_backward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, int64_t row0,
                               int64_t rows, const REAL *dlast, REAL *grad, REAL *g);

/* z[r][j] += b[j]; h = a(z), over `rows` rows of width n. */
GPA_SIMD static void SFX(bias_act_forward)(int act, REAL eps, REAL slope, int64_t rows, int64_t n,
                                           const REAL *restrict b, REAL *restrict z,
                                           REAL *restrict h) {
  switch (act) {
    case GPA_ACT_RELU:
      for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
          REAL v = z[r * n + j] + b[j];
          z[r * n + j] = v;
          h[r * n + j] = v > 0 ? v : 0;
        }
      break;
    case GPA_ACT_LEAKY_RELU:
      for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
          REAL v = z[r * n + j] + b[j];
          z[r * n + j] = v;
          h[r * n + j] = v > 0 ? v : slope * v;
        }
      break;
    default:
      for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
          REAL v = z[r * n + j] + b[j];
          z[r * n + j] = v;
          h[r * n + j] = (REAL)gpa_activation(act, v, eps, slope);
        }
      break;
  }
}

/* d[r][j] *= a'(z[r][j]) over rows x n; with `colsum`, also colsum[j] = sum_r d[r][j] (the
 * bias gradient) in the same pass. */
GPA_SIMD static void SFX(act_backward)(int act, REAL eps, REAL slope, int64_t rows, int64_t n,
                                       const REAL *restrict z, REAL *restrict d,
                                       REAL *restrict colsum) {
  if (colsum)
    for (int64_t j = 0; j < n; j++) colsum[j] = 0;
  for (int64_t r = 0; r < rows; r++) {
    const REAL *restrict zr = z + r * n;
    REAL *restrict dr = d + r * n;
    switch (act) {
      case GPA_ACT_RELU:
        for (int64_t j = 0; j < n; j++) dr[j] = zr[j] > 0 ? dr[j] : 0;
        break;
      case GPA_ACT_LEAKY_RELU:
        for (int64_t j = 0; j < n; j++) dr[j] = zr[j] > 0 ? dr[j] : slope * dr[j];
        break;
      default:
        for (int64_t j = 0; j < n; j++) dr[j] *= (REAL)gpa_activation_deriv(act, zr[j], eps, slope);
        break;
    }
    if (colsum)
      for (int64_t j = 0; j < n; j++) colsum[j] += dr[j];
  }
}

/* d[r][j] = s[r] * w[j] * a'(z[r][j]): the output layer's backward step fused with the last
 * hidden activation (s = NULL: s[r] = 1, the input-gradient pass); colsum as act_backward. */
GPA_SIMD static void SFX(outer_act_backward)(int act, REAL eps, REAL slope, int64_t rows, int64_t n,
                                             const REAL *restrict s, const REAL *restrict w,
                                             const REAL *restrict z, REAL *restrict d,
                                             REAL *restrict colsum) {
  for (int64_t r = 0; r < rows; r++) {
    REAL sr = s ? s[r] : 1;
    for (int64_t j = 0; j < n; j++) d[r * n + j] = sr * w[j];
  }
  SFX(act_backward)(act, eps, slope, rows, n, z, d, colsum);
}

/* wt + w_off[l] = W_l^T ([out][in]) for every layer l >= 1: the backward products then run as
 * plain NN products, which BLIS's single-precision kernels do twice as fast as the NT form. */
GPA_SIMD static void SFX(transpose_weights)(const struct gpa_mlp *m, const REAL *restrict theta,
                                            REAL *restrict wt) {
  for (int l = m->n_conv ? 0 : 1; l < m->n_layers; l++) {
    const int64_t in = m->width[l], out = m->width[l + 1];
    const REAL *W = theta + m->w_off[l];
    REAL *T = wt + m->w_off[l];
    for (int64_t i = 0; i < in; i++)
      for (int64_t j = 0; j < out; j++) T[j * in + i] = W[i * out + j];
  }
}

/* The output layer: out[r] = in_r . W_D[:, k_r] + b_D[k_r], k_r the row's class (0 when the
 * network has one output). */
static void SFX(output_forward)(struct gpa_mlp *m, const REAL *theta, const REAL *in, int64_t row0,
                                int64_t rows, REAL *out) {
  const int D = m->n_layers;
  const int64_t k = m->width[D - 1], K = m->n_out;
  const REAL *W = theta + m->w_off[D - 1], *b = theta + m->b_off[D - 1];
  if (K == 1) {
    GEMV('N', rows, k, 1, in, k, W, 0, out);
    for (int64_t r = 0; r < rows; r++) out[r] += b[0];
    return;
  }
  REAL *all = m->outk;
  GEMM('N', 'N', rows, K, k, 1, in, k, W, K, 0, all, K);
  for (int64_t r = 0; r < rows; r++) {
    const int32_t c = m->label[row0 + r];
    out[r] = all[r * K + c] + b[c];
  }
}

/* Rows [row0, row0 + rows): x [rows][d] -> the convolutions' and hidden layers' z, h and
 * out [rows]. */
static void SFX(forward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, int64_t row0,
                         int64_t rows, REAL *out) {
  const int D = m->n_layers;
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  const REAL *in = x;
  if (m->n_conv) {
    SFX(conv_forward)(m, theta, x, row0, rows);
    in = (const REAL *)m->ch[m->n_conv - 1] + row0 * m->width[0];
  }
  for (int l = 0; l < D - 1; l++) {
    int64_t k = m->width[l], n = m->width[l + 1];
    REAL *z = (REAL *)m->z[l] + row0 * n, *h = (REAL *)m->h[l] + row0 * n;
    GEMM('N', 'N', rows, n, k, 1, in, k, theta + m->w_off[l], n, 0, z, n);
    SFX(bias_act_forward)(m->act[l], eps, slope, rows, n, theta + m->b_off[l], z, h);
    in = h;
  }
  SFX(output_forward)(m, theta, in, row0, rows, out);
}

/* d[r][j] = s[r] * W_D[j][k_r] * a'(z[r][j]) (s = NULL: 1) for workspace rows [row0, row0 +
 * rows): the output layer's backward step fused with the last hidden activation; colsum as
 * act_backward. */
static void SFX(output_backward)(struct gpa_mlp *m, const REAL *theta, int64_t row0, int64_t rows,
                                 const REAL *s, REAL *d, REAL *colsum) {
  const int D = m->n_layers;
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  const int64_t n = m->width[D - 1], K = m->n_out;
  const REAL *W = theta + m->w_off[D - 1];
  const REAL *z = (const REAL *)m->z[D - 2] + row0 * n;
  if (K == 1) {
    SFX(outer_act_backward)(m->act[D - 2], eps, slope, rows, n, s, W, z, d, colsum);
    return;
  }
  for (int64_t r = 0; r < rows; r++) {
    const REAL sr = s ? s[r] : 1;
    const int32_t c = m->label[row0 + r];
    for (int64_t j = 0; j < n; j++) d[r * n + j] = sr * W[j * K + c];
  }
  SFX(act_backward)(m->act[D - 2], eps, slope, rows, n, z, d, colsum);
}

/* d[r][j] = s[r] * W_D[j][k_r] without activation (no hidden layer: the gradient of the output
 * layer's input). */
static void SFX(output_input_grad)(struct gpa_mlp *m, const REAL *theta, int64_t row0, int64_t rows,
                                   const REAL *s, REAL *d) {
  const int D = m->n_layers;
  const int64_t n = m->width[D - 1], K = m->n_out;
  const REAL *W = theta + m->w_off[D - 1];
  for (int64_t r = 0; r < rows; r++) {
    const REAL sr = s ? s[r] : 1;
    const int32_t c = K > 1 ? m->label[row0 + r] : 0;
    for (int64_t j = 0; j < n; j++) d[r * n + j] = sr * W[j * K + c];
  }
}

/* grad [n_net] of sum_r w[r] phi(x_r) over workspace rows [0, rows); x [rows][d]. */
static void SFX(backward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, const REAL *w,
                          int64_t rows, REAL *grad) {
  const int D = m->n_layers;
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  const REAL *x0 = m->n_conv ? (const REAL *)m->ch[m->n_conv - 1] : x; /* dense layers' input */
  /* Output layer: phi = h W[:, k] + b[k]. */
  const REAL *in = D > 1 ? (const REAL *)m->h[D - 2] : x0;
  const int64_t k = m->width[D - 1], K = m->n_out;
  if (K == 1) {
    GEMV('T', rows, k, 1, in, k, w, 0, grad + m->w_off[D - 1]);
    REAL sw = 0;
    for (int64_t r = 0; r < rows; r++) sw += w[r];
    grad[m->b_off[D - 1]] = sw;
  } else { /* E[r][c] = w[r] for c = the row's class: dW_D = h^T E, db_D = column sums of E */
    REAL *E = m->outk, *gb = grad + m->b_off[D - 1];
    memset(E, 0, sizeof(REAL) * (size_t)(rows * K));
    for (int64_t c = 0; c < K; c++) gb[c] = 0;
    for (int64_t r = 0; r < rows; r++) {
      E[r * K + m->label[r]] = w[r];
      gb[m->label[r]] += w[r];
    }
    GEMM('T', 'N', k, K, rows, 1, in, k, E, K, 0, grad + m->w_off[D - 1], K);
  }
  REAL *dz = m->da, *spare = m->db, *wt = m->wt;
  if (D == 1) {
    if (!m->n_conv) return;
    SFX(output_input_grad)(m, theta, 0, rows, w, spare);
    SFX(conv_backward)(m, theta, x, 0, rows, spare, grad, NULL);
    return;
  }
  SFX(transpose_weights)(m, theta, wt);
  SFX(output_backward)(m, theta, 0, rows, w, dz, grad + m->b_off[D - 2]);
  /* Hidden layers, last to first: dz holds dJ/dz_l, its column sums are already in db_l. */
  for (int l = D - 2; l >= 0; l--) {
    int64_t ki = m->width[l], n = m->width[l + 1];
    const REAL *hin = l > 0 ? (const REAL *)m->h[l - 1] : x0;
    GEMM('T', 'N', ki, n, rows, 1, hin, ki, dz, n, 0, grad + m->w_off[l], n);
    if (l == 0) break;
    GEMM('N', 'N', rows, ki, n, 1, dz, n, wt + m->w_off[l], ki, 0, spare, ki);
    SFX(act_backward)
    (m->act[l - 1], eps, slope, rows, ki, m->z[l - 1], spare, grad + m->b_off[l - 1]);
    REAL *t = dz;
    dz = spare;
    spare = t;
  }
  if (!m->n_conv) return;
  /* Into the convolutions: d/d(their output) = dz_1 W_1^T. */
  GEMM('N', 'N', rows, m->width[0], m->width[1], 1, dz, m->width[1], wt + m->w_off[0], m->width[0],
       0, spare, m->width[0]);
  SFX(conv_backward)(m, theta, x, 0, rows, spare, grad, NULL);
}

/* g[r] = grad_x phi for workspace rows [row0, row0 + rows); g [rows][d]. */
static void SFX(input_grad)(struct gpa_mlp *m, const REAL *theta, int64_t row0, int64_t rows,
                            REAL *g) {
  const int D = m->n_layers;
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  /* d/d(the dense layers' input) goes to g directly, or to `spare` before the convolutions. */
  REAL *dz = m->da, *spare = m->db, *wt = m->wt;
  REAL *dx = m->n_conv ? spare : g;
  if (D == 1) {
    SFX(output_input_grad)(m, theta, row0, rows, NULL, dx);
  } else {
    SFX(transpose_weights)(m, theta, wt);
    SFX(output_backward)(m, theta, row0, rows, NULL, dz, NULL);
    for (int l = D - 2; l >= 1; l--) {
      int64_t ki = m->width[l], n = m->width[l + 1];
      GEMM('N', 'N', rows, ki, n, 1, dz, n, wt + m->w_off[l], ki, 0, spare, ki);
      SFX(act_backward)
      (m->act[l - 1], eps, slope, rows, ki, (REAL *)m->z[l - 1] + row0 * ki, spare, NULL);
      REAL *t = dz;
      dz = spare;
      spare = t;
    }
    dx = m->n_conv ? spare : g;
    GEMM('N', 'T', rows, m->width[0], m->width[1], 1, dz, m->width[1], theta + m->w_off[0],
         m->width[1], 0, dx, m->width[0]);
  }
  if (m->n_conv) SFX(conv_backward)(m, theta, NULL, row0, rows, dx, NULL, g);
}
