/* The discriminator's passes, written once for a floating-point type.  mlp.c includes this
 * file twice: with REAL = double (SFX = _f64, BLIS d-routines) and REAL = float (SFX = _f32,
 * BLIS s-routines).  Workspace pointers of struct gpa_mlp hold REAL arrays.
 * Needs: REAL, SFX(name), GEMM (gpa_gemm or gpa_sgemm), GEMV. */

/* z[r][j] += b[j]; h = a(z), over `rows` rows of width n. */
GPA_SIMD static void SFX(bias_act_forward)(int act, REAL eps, REAL slope, int64_t rows, int64_t n,
                                  const REAL *restrict b, REAL *restrict z, REAL *restrict h) {
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
                              const REAL *restrict z, REAL *restrict d, REAL *restrict colsum) {
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
  for (int l = 1; l < m->n_layers; l++) {
    const int64_t in = m->width[l], out = m->width[l + 1];
    const REAL *W = theta + m->w_off[l];
    REAL *T = wt + m->w_off[l];
    for (int64_t i = 0; i < in; i++)
      for (int64_t j = 0; j < out; j++) T[j * in + i] = W[i * out + j];
  }
}

/* Rows [row0, row0 + rows): x [rows][d] -> z, h of every hidden layer and out [rows]. */
static void SFX(forward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, int64_t row0,
                         int64_t rows, REAL *out) {
  const int D = m->n_layers;
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  const REAL *in = x;
  for (int l = 0; l < D - 1; l++) {
    int64_t k = m->width[l], n = m->width[l + 1];
    REAL *z = (REAL *)m->z[l] + row0 * n, *h = (REAL *)m->h[l] + row0 * n;
    GEMM('N', 'N', rows, n, k, 1, in, k, theta + m->w_off[l], n, 0, z, n);
    SFX(bias_act_forward)(m->act[l], eps, slope, rows, n, theta + m->b_off[l], z, h);
    in = h;
  }
  int64_t k = m->width[D - 1];
  GEMV('N', rows, k, 1, in, k, theta + m->w_off[D - 1], 0, out);
  const REAL b = theta[m->b_off[D - 1]];
  for (int64_t r = 0; r < rows; r++) out[r] += b;
}

/* grad [n_net] of sum_r w[r] phi(x_r) over workspace rows [0, rows); x [rows][d]. */
static void SFX(backward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, const REAL *w,
                          int64_t rows, REAL *grad) {
  const int D = m->n_layers;
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  /* Output layer: phi = h W + b. */
  const REAL *in = D > 1 ? (const REAL *)m->h[D - 2] : x;
  int64_t k = m->width[D - 1];
  GEMV('T', rows, k, 1, in, k, w, 0, grad + m->w_off[D - 1]);
  REAL sw = 0;
  for (int64_t r = 0; r < rows; r++) sw += w[r];
  grad[m->b_off[D - 1]] = sw;
  if (D == 1) return;
  REAL *dz = m->da, *spare = m->db, *wt = m->wt;
  SFX(transpose_weights)(m, theta, wt);
  SFX(outer_act_backward)(m->act[D - 2], eps, slope, rows, k, w, theta + m->w_off[D - 1],
                          m->z[D - 2], dz, grad + m->b_off[D - 2]);
  /* Hidden layers, last to first: dz holds dJ/dz_l, its column sums are already in db_l. */
  for (int l = D - 2; l >= 0; l--) {
    int64_t ki = m->width[l], n = m->width[l + 1];
    const REAL *hin = l > 0 ? (const REAL *)m->h[l - 1] : x;
    GEMM('T', 'N', ki, n, rows, 1, hin, ki, dz, n, 0, grad + m->w_off[l], n);
    if (l == 0) break;
    GEMM('N', 'N', rows, ki, n, 1, dz, n, wt + m->w_off[l], ki, 0, spare, ki);
    SFX(act_backward)(m->act[l - 1], eps, slope, rows, ki, m->z[l - 1], spare,
                      grad + m->b_off[l - 1]);
    REAL *t = dz;
    dz = spare;
    spare = t;
  }
}

/* g[r] = grad_x phi for workspace rows [row0, row0 + rows); g [rows][d]. */
static void SFX(input_grad)(struct gpa_mlp *m, const REAL *theta, int64_t row0, int64_t rows,
                            REAL *g) {
  const int D = m->n_layers;
  const int64_t d = m->width[0];
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  if (D == 1) {
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < d; j++) g[r * d + j] = theta[m->w_off[0] + j];
    return;
  }
  int64_t k = m->width[D - 1];
  REAL *dz = m->da, *spare = m->db, *wt = m->wt;
  SFX(transpose_weights)(m, theta, wt);
  SFX(outer_act_backward)(m->act[D - 2], eps, slope, rows, k, NULL, theta + m->w_off[D - 1],
                          (REAL *)m->z[D - 2] + row0 * k, dz, NULL);
  for (int l = D - 2; l >= 1; l--) {
    int64_t ki = m->width[l], n = m->width[l + 1];
    GEMM('N', 'N', rows, ki, n, 1, dz, n, wt + m->w_off[l], ki, 0, spare, ki);
    SFX(act_backward)(m->act[l - 1], eps, slope, rows, ki, (REAL *)m->z[l - 1] + row0 * ki,
                      spare, NULL);
    REAL *t = dz;
    dz = spare;
    spare = t;
  }
  GEMM('N', 'T', rows, d, m->width[1], 1, dz, m->width[1], theta + m->w_off[0], m->width[1], 0,
       g, d);
}
