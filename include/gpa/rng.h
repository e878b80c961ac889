/* Counter-based random numbers (Philox4x32-10 from Random123).
 *
 * A generator is keyed on (seed, stream) and positioned at a global index; each sample of a
 * distribution draws from its own generator at (seed, stream, global index), so the data
 * do not depend on how the indices are split across ranks. */
#ifndef GPA_RNG_H
#define GPA_RNG_H

#include <stddef.h>
#include <stdint.h>

enum gpa_stream {
  GPA_STREAM_SOURCE = 1,
  GPA_STREAM_TARGET = 2,
  GPA_STREAM_NETWORK = 3,    /* initial weights */
  GPA_STREAM_POWER_ITER = 4, /* initial power-iteration vectors */
  GPA_STREAM_GENERATED = 5,
  GPA_STREAM_PERMUTATION = 6, /* cell orders of the carpet */
  GPA_STREAM_SAMPLE = 7,      /* gpa sample */
  GPA_STREAM_DROPOUT = 10,    /* 10 .. 10 + GPA_MAX_CONV - 1: one per convolution */
  GPA_STREAM_TEST = 100,
};

struct gpa_rng {
  uint32_t key[2];
  uint32_t ctr[4]; /* index (2 words), stream, draw counter */
  uint32_t out[4];
  int left; /* unused words in out */
  int has_spare;
  double spare; /* second Box-Muller normal */
};

void gpa_rng_init(struct gpa_rng *r, uint64_t seed, uint32_t stream, uint64_t index);
uint32_t gpa_rng_u32(struct gpa_rng *r);
/* Uniform on the open interval (0, 1), 53 random bits. */
double gpa_rng_uniform(struct gpa_rng *r);
/* Standard normal (Box-Muller). */
double gpa_rng_normal(struct gpa_rng *r);
/* Gamma(shape, 1) (Marsaglia-Tsang, with the shape < 1 boost). */
double gpa_rng_gamma(struct gpa_rng *r, double shape);
/* Shuffles the n elements of `size` bytes (at most 16) at v in place (Fisher-Yates from the
 * back: for i = n-1..1, swap v[i] and v[floor(u*(i+1))]), one uniform draw per swap. */
void gpa_rng_shuffle(struct gpa_rng *r, void *v, int64_t n, size_t size);

#endif
