#include "gpa/distributions.h"

#include <math.h>
#include <string.h>

#include "gpa/io.h"
#include "gpa/rng.h"

static const double PI = 3.14159265358979323846;

int gpa_dist_carpet_cells(int64_t level, uint64_t seed, uint32_t stream, int32_t **cells,
                          int64_t *count) {
  int64_t side = 1, filled = 1;
  for (int64_t k = 0; k < level; k++) {
    side *= 3;
    filled *= 8;
  }
  GPA_CHECK(gpa_alloc_array(cells, (size_t)filled, sizeof(int32_t)));
  int64_t c = 0;
  for (int64_t ii = 0; ii < side; ii++)
    for (int64_t jj = 0; jj < side; jj++) {
      int hole = 0;
      for (int64_t s = 1; s < side && !hole; s *= 3) hole = (ii / s) % 3 == 1 && (jj / s) % 3 == 1;
      if (!hole) (*cells)[c++] = (int32_t)(ii * side + jj);
    }
  /* Fisher-Yates with one generator: the same order on every rank. */
  struct gpa_rng rng;
  gpa_rng_init(&rng, seed, stream + 1000u, 0);
  for (int64_t i = filled - 1; i > 0; i--) {
    int64_t j = (int64_t)(gpa_rng_uniform(&rng) * (double)(i + 1));
    if (j > i) j = i;
    int32_t t = (*cells)[i];
    (*cells)[i] = (*cells)[j];
    (*cells)[j] = t;
  }
  *count = filled;
  return GPA_OK;
}

void gpa_dist_one(const struct gpa_dist_params *q, uint64_t seed, uint32_t stream, int64_t i,
                  const int32_t *cells, double *x) {
  struct gpa_rng rng;
  gpa_rng_init(&rng, seed, stream, (uint64_t)i);
  const int64_t d = q->dim;
  switch (q->kind) {
  case GPA_DIST_GAUSSIAN:
    for (int64_t j = 0; j < d; j++) x[j] = q->mean + q->std * gpa_rng_normal(&rng);
    break;
  case GPA_DIST_MIXTURE: {
    static const double centre[4][2] = {{0, 1}, {1, 0}, {1, 1}, {0, 0}};
    int c = (int)(gpa_rng_uniform(&rng) * 4.0);
    if (c > 3) c = 3;
    for (int64_t j = 0; j < d; j++) x[j] = 0.0;
    for (int j = 0; j < 2; j++)
      x[q->offset + j] = q->spacing * centre[c][j] + q->std * gpa_rng_normal(&rng);
    break;
  }
  case GPA_DIST_STUDENT_T:
    for (int64_t j = 0; j < d; j++) {
      double z = gpa_rng_normal(&rng);
      double chi2 = 2.0 * gpa_rng_gamma(&rng, 0.5 * q->nu);
      x[j] = q->mean + q->scale * z / sqrt(chi2 / q->nu);
    }
    break;
  case GPA_DIST_GEN_GAUSSIAN:
    for (int64_t j = 0; j < d; j++) {
      double g = gpa_rng_gamma(&rng, 1.0 / q->beta);
      double sign = gpa_rng_uniform(&rng) < 0.5 ? -1.0 : 1.0;
      x[j] = q->mean + q->scale * sign * pow(g, 1.0 / q->beta);
    }
    break;
  case GPA_DIST_SWISS_ROLL: { /* as scikit-learn's make_swiss_roll */
    double t = 1.5 * PI * (1.0 + 2.0 * gpa_rng_uniform(&rng));
    double h = 21.0 * gpa_rng_uniform(&rng);
    x[0] = t * cos(t);
    x[1] = h;
    x[2] = t * sin(t);
    if (q->noise > 0.0)
      for (int j = 0; j < 3; j++) x[j] += q->noise * gpa_rng_normal(&rng);
    break;
  }
  case GPA_DIST_SIERPINSKI: {
    int64_t side = 1, filled = 1;
    for (int64_t k = 0; k < q->level; k++) {
      side *= 3;
      filled *= 8;
    }
    int32_t cell = cells[i % filled];
    double h = q->side / (double)side;
    x[0] = h * ((double)(cell / side) + gpa_rng_uniform(&rng));
    x[1] = h * ((double)(cell % side) + gpa_rng_uniform(&rng));
    if (d == 3) x[2] = 0.0;
    break;
  }
  default:
    for (int64_t j = 0; j < d; j++) x[j] = NAN;
    break;
  }
}

int gpa_dist_resolve(MPI_Comm comm, struct gpa_dist_params *q, const char *section) {
  if (q->kind != GPA_DIST_FILE) return GPA_OK;
  char what[64];
  snprintf(what, sizeof what, "%s.file", section);
  int64_t dims[2];
  GPA_CHECK(gpa_data_shape(comm, q->file, q->dataset, what, dims));
  if (q->dim == 0) q->dim = dims[1];
  if (q->n == 0) q->n = dims[0];
  if (dims[1] != q->dim)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has %lld columns but %s.dim is %lld", what,
                     q->file, q->dataset, (long long)dims[1], section, (long long)q->dim);
  if (dims[0] < q->n)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has %lld rows but %s.n is %lld", what, q->file,
                     q->dataset, (long long)dims[0], section, (long long)q->n);
  if (dims[0] == 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has no rows", what, q->file, q->dataset);
  return GPA_OK;
}

int gpa_dist_sample(MPI_Comm comm, const struct gpa_dist_params *q, uint64_t seed,
                    uint32_t stream, struct gpa_part part, double *x) {
  if (q->kind == GPA_DIST_FILE)
    return gpa_data_read_rows(comm, q->file, q->dataset, part.offset, part.n_local, q->dim, x);
  int32_t *cells = NULL;
  int64_t n_cells = 0;
  if (q->kind == GPA_DIST_SIERPINSKI)
    GPA_CHECK(gpa_dist_carpet_cells(q->level, seed, stream, &cells, &n_cells));
  for (int64_t i = 0; i < part.n_local; i++)
    gpa_dist_one(q, seed, stream, part.offset + i, cells, x + i * q->dim);
  gpa_free(&cells);
  return GPA_OK;
}
