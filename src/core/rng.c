#include "gpa/rng.h"

#include <math.h>
#include <Random123/philox.h>
#include <string.h>

void gpa_rng_init(struct gpa_rng *r, uint64_t seed, uint32_t stream, uint64_t index) {
  r->key[0] = (uint32_t)seed;
  r->key[1] = (uint32_t)(seed >> 32);
  r->ctr[0] = (uint32_t)index;
  r->ctr[1] = (uint32_t)(index >> 32);
  r->ctr[2] = stream;
  r->ctr[3] = 0;
  r->left = 0;
  r->has_spare = 0;
}

uint32_t gpa_rng_u32(struct gpa_rng *r) {
  if (r->left == 0) {
    philox4x32_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
    philox4x32_key_t k = {{r->key[0], r->key[1]}};
    philox4x32_ctr_t o = philox4x32(c, k);
    for (int i = 0; i < 4; i++) r->out[i] = o.v[i];
    r->ctr[3]++;
    r->left = 4;
  }
  return r->out[4 - r->left--];
}

double gpa_rng_uniform(struct gpa_rng *r) {
  uint64_t hi = gpa_rng_u32(r), lo = gpa_rng_u32(r);
  uint64_t bits = ((hi << 32) | lo) >> 11; /* 53 bits */
  return ((double)bits + 0.5) * 0x1.0p-53;
}

double gpa_rng_normal(struct gpa_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u1 = gpa_rng_uniform(r), u2 = gpa_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1)), ang = 6.283185307179586476925 * u2;
  r->spare = rad * sin(ang);
  r->has_spare = 1;
  return rad * cos(ang);
}

double gpa_rng_gamma(struct gpa_rng *r, double shape) {
  if (shape < 1.0) { /* Gamma(a) = Gamma(a + 1) U^(1/a) */
    double g = gpa_rng_gamma(r, shape + 1.0);
    return g * pow(gpa_rng_uniform(r), 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = gpa_rng_normal(r);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    double u = gpa_rng_uniform(r);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
  }
}

void gpa_rng_shuffle(struct gpa_rng *r, void *v, int64_t n, size_t size) {
  unsigned char *b = v, t[16];
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(gpa_rng_uniform(r) * (double)(i + 1));
    if (j > i) j = i;
    memcpy(t, b + (size_t)i * size, size);
    memcpy(b + (size_t)i * size, b + (size_t)j * size, size);
    memcpy(b + (size_t)j * size, t, size);
  }
}
