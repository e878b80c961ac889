/* The convolutions of the discriminator, written once for a floating-point type: mlp.c
 * includes this file twice, like mlp_kernels.h (REAL, SFX, GEMM).
 *
 * Layout: a row's activations are [height][width][channels]; a block of B rows is the matrix
 * [B * height * width][channels], so one GEMM of the im2col block [B * P][k * k * cin] (P output
 * positions) with the kernel [k * k * cin][cout] gives the block's outputs directly. */

/* col [B * hout * wout][k * k * cin] <- the k x k patches of `in` [B][hin][win][cin] (zero
 * outside the image). */
static void SFX(im2col)(const struct gpa_conv *c, const REAL *restrict in, int64_t B,
                        REAL *restrict col) {
  const int64_t k = c->k, cin = c->cin, K = k * k * cin;
  for (int64_t b = 0; b < B; b++) {
    const REAL *img = in + b * c->in_size;
    for (int64_t oy = 0; oy < c->hout; oy++)
      for (int64_t ox = 0; ox < c->wout; ox++) {
        REAL *dst = col + ((b * c->hout + oy) * c->wout + ox) * K;
        for (int64_t ky = 0; ky < k; ky++) {
          const int64_t iy = oy * c->stride - c->pad_t + ky;
          REAL *d = dst + ky * k * cin;
          if (iy < 0 || iy >= c->hin) {
            memset(d, 0, sizeof(REAL) * (size_t)(k * cin));
            continue;
          }
          for (int64_t kx = 0; kx < k; kx++) {
            const int64_t ix = ox * c->stride - c->pad_l + kx;
            if (ix < 0 || ix >= c->win) {
              for (int64_t ch = 0; ch < cin; ch++) d[kx * cin + ch] = 0;
            } else {
              const REAL *s = img + (iy * c->win + ix) * cin;
              for (int64_t ch = 0; ch < cin; ch++) d[kx * cin + ch] = s[ch];
            }
          }
        }
      }
  }
}

/* din [B][hin][win][cin] <- the sum of the patches dcol [B * hout * wout][k * k * cin] put back
 * where im2col took them (the adjoint of im2col). */
static void SFX(col2im)(const struct gpa_conv *c, const REAL *restrict dcol, int64_t B,
                        REAL *restrict din) {
  const int64_t k = c->k, cin = c->cin, K = k * k * cin;
  memset(din, 0, sizeof(REAL) * (size_t)(B * c->in_size));
  for (int64_t b = 0; b < B; b++) {
    REAL *img = din + b * c->in_size;
    for (int64_t oy = 0; oy < c->hout; oy++)
      for (int64_t ox = 0; ox < c->wout; ox++) {
        const REAL *src = dcol + ((b * c->hout + oy) * c->wout + ox) * K;
        for (int64_t ky = 0; ky < k; ky++) {
          const int64_t iy = oy * c->stride - c->pad_t + ky;
          if (iy < 0 || iy >= c->hin) continue;
          for (int64_t kx = 0; kx < k; kx++) {
            const int64_t ix = ox * c->stride - c->pad_l + kx;
            if (ix < 0 || ix >= c->win) continue;
            REAL *d = img + (iy * c->win + ix) * cin;
            const REAL *s = src + (ky * k + kx) * cin;
            for (int64_t ch = 0; ch < cin; ch++) d[ch] += s[ch];
          }
        }
      }
  }
}

/* h = a(z) over n values, then the dropout mask (NULL: none) with scale 1 / (1 - p). */
GPA_SIMD static void SFX(conv_act_forward)(int act, REAL eps, REAL slope, int64_t n,
                                           const REAL *restrict z, REAL *restrict h,
                                           const uint8_t *restrict mask, REAL scale) {
  switch (act) {
    case GPA_ACT_RELU:
      for (int64_t i = 0; i < n; i++) h[i] = z[i] > 0 ? z[i] : 0;
      break;
    case GPA_ACT_LEAKY_RELU:
      for (int64_t i = 0; i < n; i++) h[i] = z[i] > 0 ? z[i] : slope * z[i];
      break;
    default:
      for (int64_t i = 0; i < n; i++) h[i] = (REAL)gpa_activation(act, z[i], eps, slope);
      break;
  }
  if (mask)
    for (int64_t i = 0; i < n; i++) h[i] = mask[i] ? h[i] * scale : 0;
}

/* d *= mask * scale (mask NULL: 1) * a'(z), over n values. */
GPA_SIMD static void SFX(conv_act_backward)(int act, REAL eps, REAL slope, int64_t n,
                                            const REAL *restrict z, REAL *restrict d,
                                            const uint8_t *restrict mask, REAL scale) {
  if (mask)
    for (int64_t i = 0; i < n; i++) d[i] = mask[i] ? d[i] * scale : 0;
  SFX(act_backward)(act, eps, slope, 1, n, z, d, NULL);
}

/* Workspace rows [row0, row0 + rows): x [rows][d] -> cz, ch of every convolution. */
static void SFX(conv_forward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, int64_t row0,
                              int64_t rows) {
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  const REAL scale = (REAL)(1.0 / (1.0 - m->dropout));
  const int drop = m->training && m->dropout > 0.0;
  REAL *col = m->col;
  for (int64_t r = 0; r < rows; r += m->chunk) {
    const int64_t B = rows - r < m->chunk ? rows - r : m->chunk;
    for (int l = 0; l < m->n_conv; l++) {
      const struct gpa_conv *c = &m->conv[l];
      const REAL *in = l == 0 ? x + r * m->in_dim : (REAL *)m->ch[l - 1] + (row0 + r) * c->in_size;
      REAL *z = (REAL *)m->cz[l] + (row0 + r) * c->out_size;
      REAL *h = (REAL *)m->ch[l] + (row0 + r) * c->out_size;
      const int64_t K = c->k * c->k * c->cin, P = c->hout * c->wout;
      SFX(im2col)(c, in, B, col);
      GEMM('N', 'N', B * P, c->cout, K, 1, col, K, theta + c->w_off, c->cout, 0, z, c->cout);
      uint8_t *mask = NULL;
      if (drop) {
        mask = m->mask[l] + (row0 + r) * c->out_size;
        for (int64_t b = 0; b < B; b++) dropout_mask(m, l, row0 + r + b, mask + b * c->out_size);
      }
      SFX(conv_act_forward)(m->conv_act, eps, slope, B * c->out_size, z, h, mask, scale);
    }
  }
}

/* Backward through the convolutions for workspace rows [row0, row0 + rows), given
 * dlast [rows][out_size of the last convolution] = d(sum)/d(its output).  grad (not NULL): adds
 * nothing, writes the kernels' gradients (x [rows][d] the rows' inputs); g (not NULL): writes
 * d/dx [rows][d]. */
static void SFX(conv_backward)(struct gpa_mlp *m, const REAL *theta, const REAL *x, int64_t row0,
                               int64_t rows, const REAL *dlast, REAL *grad, REAL *g) {
  const REAL eps = (REAL)m->smooth_eps, slope = (REAL)m->leaky_slope;
  const REAL scale = (REAL)(1.0 / (1.0 - m->dropout));
  const int drop = m->training && m->dropout > 0.0;
  const int C = m->n_conv;
  REAL *col = m->col, *dcol = m->dcol;
  if (grad && rows == 0) /* no rows: the kernels' gradients are 0 (the loop below writes none) */
    for (int l = 0; l < C; l++) {
      const struct gpa_conv *c = &m->conv[l];
      memset(grad + c->w_off, 0, sizeof(REAL) * (size_t)(c->k * c->k * c->cin * c->cout));
    }
  for (int64_t r = 0; r < rows; r += m->chunk) {
    const int64_t B = rows - r < m->chunk ? rows - r : m->chunk;
    REAL *dh = m->ga, *spare = m->gb;
    memcpy(dh, dlast + r * m->conv[C - 1].out_size,
           sizeof(REAL) * (size_t)(B * m->conv[C - 1].out_size));
    for (int l = C - 1; l >= 0; l--) {
      const struct gpa_conv *c = &m->conv[l];
      const int64_t K = c->k * c->k * c->cin, P = c->hout * c->wout;
      const REAL *z = (REAL *)m->cz[l] + (row0 + r) * c->out_size;
      const uint8_t *mask = drop ? m->mask[l] + (row0 + r) * c->out_size : NULL;
      SFX(conv_act_backward)(m->conv_act, eps, slope, B * c->out_size, z, dh, mask, scale);
      if (grad) {
        const REAL *in =
            l == 0 ? x + r * m->in_dim : (REAL *)m->ch[l - 1] + (row0 + r) * c->in_size;
        SFX(im2col)(c, in, B, col);
        GEMM('T', 'N', K, c->cout, B * P, 1, col, K, dh, c->cout, r == 0 ? 0 : 1, grad + c->w_off,
             c->cout);
      }
      if (l == 0 && !g) break;
      GEMM('N', 'T', B * P, K, c->cout, 1, dh, c->cout, theta + c->w_off, c->cout, 0, dcol, K);
      SFX(col2im)(c, dcol, B, l == 0 ? g + r * m->in_dim : spare);
      REAL *t = dh;
      dh = spare;
      spare = t;
    }
  }
}
