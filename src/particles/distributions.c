#include "gpa/distributions.h"

#include <math.h>
#include <string.h>

#include "gpa/datafile.h"
#include "gpa/idx.h"
#include "gpa/io.h"
#include "gpa/rng.h"

static const double PI = 3.14159265358979323846;

/* The filled cells of the level-`level` carpet, as ii * 3^level + jj, in a seeded random order
 * (the same on every rank); *count = 8^level. */
static int carpet_cells(int64_t level, uint64_t seed, uint32_t stream, int32_t **cells,
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
  gpa_rng_shuffle(&rng, *cells, filled, sizeof **cells);
  *count = filled;
  return GPA_OK;
}

/* Sample i of the carpet into x [dim]: a uniform point in cell cells[i mod 8^level] of the
 * square [0, side]^2 (z = 0 in dim 3). */
static void carpet_point(const struct gpa_dist_params *q, const int32_t *cells, int64_t i,
                         struct gpa_rng *rng, double *x) {
  int64_t side = 1, filled = 1;
  for (int64_t k = 0; k < q->level; k++) {
    side *= 3;
    filled *= 8;
  }
  int32_t cell = cells[i % filled];
  double h = q->side / (double)side;
  x[0] = h * ((double)(cell / side) + gpa_rng_uniform(rng));
  x[1] = h * ((double)(cell % side) + gpa_rng_uniform(rng));
  if (q->dim == 3) x[2] = 0.0;
}

/* One sample (index i) of a built-in kind into x [dim]; `cells` is the carpet's cell order
 * (from carpet_cells) for kind sierpinski, else NULL. */
static void dist_one(const struct gpa_dist_params *q, uint64_t seed, uint32_t stream, int64_t i,
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
    case GPA_DIST_SIERPINSKI:
      carpet_point(q, cells, i, &rng, x);
      break;
    case GPA_DIST_LOGISTIC:
      for (int64_t j = 0; j < d; j++) {
        double u = gpa_rng_uniform(&rng); /* in (0, 1): the logit is finite */
        x[j] = q->mean + q->scale * log(u / (1.0 - u));
      }
      break;
    default:
      for (int64_t j = 0; j < d; j++) x[j] = NAN;
      break;
  }
}

/* ------------------------------------------------------------------------- Fashion-MNIST */

static const char FASHION_IMAGES[] = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

int gpa_dist_n_classes(const struct gpa_dist_params *q) {
  return q->kind == GPA_DIST_FASHION_MNIST ? GPA_FASHION_CLASSES : 0;
}

/* Prefixes the recorded message of a failure with "section.key: " (when section is given). */
static int keyed(int rc, const char *section, const char *key) {
  if (rc == GPA_OK || !section) return rc;
  char msg[1200];
  snprintf(msg, sizeof msg, "%s.%s: %s", section, key, gpa_error_message());
  gpa_error_set_message(rc, msg);
  return rc;
}

/* The images' and the labels' file names, defaults resolved. */
static int fashion_paths(const struct gpa_dist_params *q, const char *section,
                         char images[GPA_PATH_MAX], char labels[GPA_PATH_MAX]) {
  snprintf(images, GPA_PATH_MAX, "%s", q->file[0] ? q->file : FASHION_IMAGES);
  if (q->labels_file[0]) {
    snprintf(labels, GPA_PATH_MAX, "%s", q->labels_file);
    return GPA_OK;
  }
  const char *from = "images-idx3", *to = "labels-idx1"; /* same length */
  char *last = NULL;
  snprintf(labels, GPA_PATH_MAX, "%s", images);
  for (char *at = strstr(labels, from); at; at = strstr(at + 1, from)) last = at;
  if (!last)
    return keyed(GPA_ERROR(GPA_ERR_INPUT,
                           "no labels file given, and '%s' has no 'images-idx3' in its name to "
                           "replace by 'labels-idx1'",
                           images),
                 section, "labels_file");
  memcpy(last, to, strlen(to));
  return GPA_OK;
}

/* Samples of class position k (of K) among n: i = k, k + K, ... */
static int64_t class_share(int64_t n, int64_t k, int64_t K) {
  return n > k ? (n - k + K - 1) / K : 0;
}

/* Rank 0: reads the labels (and the images, or only their header) and checks them against each
 * other and against n samples of the chosen classes.  Errors are keyed with `section` when
 * given ("target.file: ..."). */
static int fashion_load(const struct gpa_dist_params *q, const char *section, int with_images,
                        int64_t n, struct gpa_idx *images, struct gpa_idx *labels) {
  memset(images, 0, sizeof *images);
  memset(labels, 0, sizeof *labels);
  char ipath[GPA_PATH_MAX], lpath[GPA_PATH_MAX];
  GPA_CHECK(fashion_paths(q, section, ipath, lpath));
  int rc = with_images ? gpa_idx_read(ipath, 3, images) : gpa_idx_read_header(ipath, 3, images);
  GPA_CHECK(keyed(rc, section, "file"));
  if (images->dims[1] != GPA_FASHION_SIDE || images->dims[2] != GPA_FASHION_SIDE)
    return keyed(GPA_ERROR(GPA_ERR_INPUT, "%s: images are %lldx%lld, expected %dx%d", ipath,
                           (long long)images->dims[1], (long long)images->dims[2], GPA_FASHION_SIDE,
                           GPA_FASHION_SIDE),
                 section, "file");
  GPA_CHECK(keyed(gpa_idx_read(lpath, 1, labels), section, "labels_file"));
  if (labels->dims[0] != images->dims[0])
    return keyed(GPA_ERROR(GPA_ERR_INPUT, "%s: %lld images but %s has %lld labels", ipath,
                           (long long)images->dims[0], lpath, (long long)labels->dims[0]),
                 section, "labels_file");
  int64_t have[256] = {0};
  for (int64_t i = 0; i < labels->count; i++) have[labels->data[i]]++;
  for (int c = GPA_FASHION_CLASSES; c < 256; c++)
    if (have[c] > 0)
      for (int64_t i = 0; i < labels->count; i++)
        if (labels->data[i] == c)
          return keyed(GPA_ERROR(GPA_ERR_INPUT, "%s: label %d of image %lld is not a class 0-9",
                                 lpath, c, (long long)i),
                       section, "labels_file");
  const int64_t K = q->classes.n > 0 ? q->classes.n : GPA_FASHION_CLASSES;
  for (int64_t k = 0; k < K; k++) {
    int64_t c = q->classes.n > 0 ? q->classes.v[k] : k, need = class_share(n, k, K);
    if (c < 0 || c >= GPA_FASHION_CLASSES)
      return keyed(GPA_ERROR(GPA_ERR_INPUT, "class %lld is not a class 0-9", (long long)c), section,
                   "classes");
    if (have[c] < need)
      return keyed(GPA_ERROR(GPA_ERR_INPUT,
                             "%s: class %lld has %lld images, %lld needed (%lld samples over "
                             "%lld class%s)",
                             lpath, (long long)c, (long long)have[c], (long long)need, (long long)n,
                             (long long)K, K == 1 ? "" : "es"),
                   section, "n");
  }
  return GPA_OK;
}

/* The `need` picks of class c, class position k of K: sample t * K + k is pick t, from a partial
 * Fisher-Yates shuffle of the class's images in file order, keyed on (seed, stream, c); pool
 * [images] is scratch. */
static void fashion_pick(int64_t c, int64_t need, int64_t k, int64_t K, uint64_t seed,
                         uint32_t stream, const struct gpa_idx *images,
                         const struct gpa_idx *labels, int64_t *pool, uint8_t *sel, int32_t *lab) {
  int64_t m = 0;
  for (int64_t i = 0; i < labels->count; i++)
    if (labels->data[i] == c) pool[m++] = i;
  struct gpa_rng rng;
  gpa_rng_init(&rng, seed, stream, (uint64_t)c);
  for (int64_t t = 0; t < need; t++) {
    int64_t j = t + (int64_t)(gpa_rng_uniform(&rng) * (double)(m - t));
    if (j >= m) j = m - 1;
    int64_t pick = pool[j];
    pool[j] = pool[t];
    pool[t] = pick;
    const int64_t i = t * K + k;
    memcpy(sel + i * GPA_FASHION_PIXELS, images->data + pick * GPA_FASHION_PIXELS,
           GPA_FASHION_PIXELS);
    lab[i] = (int32_t)c;
  }
}

/* Rank 0: the n samples as bytes, sel [n][784], and their classes, lab [n].  Sample i is pick
 * i / K of class classes[i % K]; each class's picks are a partial Fisher-Yates shuffle of its
 * images (in file order), keyed on (seed, stream, class). */
static int fashion_select(const struct gpa_dist_params *q, uint64_t seed, uint32_t stream,
                          int64_t n, uint8_t *sel, int32_t *lab) {
  struct gpa_idx images, labels; /* cleared by fashion_load first */
  int64_t *pool = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, fashion_load(q, NULL, 1, n, &images, &labels), done);
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&pool, (size_t)labels.count + 1, sizeof(int64_t)), done);
  const int64_t K = q->classes.n > 0 ? q->classes.n : GPA_FASHION_CLASSES;
  for (int64_t k = 0; k < K; k++)
    fashion_pick(q->classes.n > 0 ? q->classes.v[k] : k, class_share(n, k, K), k, K, seed, stream,
                 &images, &labels, pool, sel, lab);
done:
  gpa_free(&pool);
  gpa_idx_free(&images);
  gpa_idx_free(&labels);
  return rc;
}

/* This rank's part of fashion_sample before the ranks agree: the buffers for the n samples'
 * bytes [n][784] and classes [n] (freed by the caller), filled on rank 0. */
static int fashion_prepare(const struct gpa_dist_params *q, int rank, uint64_t seed,
                           uint32_t stream, int64_t n, uint8_t **sel, int32_t **lab) {
  if (q->dim != GPA_FASHION_PIXELS)
    return GPA_ERROR(GPA_ERR_INPUT, "fashion_mnist: dim is %lld, images have %d pixels",
                     (long long)q->dim, GPA_FASHION_PIXELS);
  GPA_CHECK(gpa_alloc_array(sel, (size_t)n * GPA_FASHION_PIXELS, 1));
  GPA_CHECK(gpa_alloc_array(lab, (size_t)n, sizeof(int32_t)));
  if (rank == 0) GPA_CHECK(fashion_select(q, seed, stream, n, *sel, *lab));
  return GPA_OK;
}

/* Collective: rank 0 reads the files and selects all part.n_global samples; every rank takes
 * its block. */
static int fashion_sample(MPI_Comm comm, const struct gpa_dist_params *q, uint64_t seed,
                          uint32_t stream, struct gpa_block part, double *x, int32_t *labels) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  const int64_t n = part.n_global;
  uint8_t *sel = NULL;
  int32_t *lab = NULL;
  int rc = fashion_prepare(q, rank, seed, stream, n, &sel, &lab); /* agreed on next */
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, rc), done);
  GPA_CHECK_GOTO(rc, gpa_bcast_bytes(comm, sel, (size_t)n * GPA_FASHION_PIXELS, 0), done);
  GPA_CHECK_GOTO(rc, gpa_bcast_bytes(comm, lab, (size_t)n * sizeof(int32_t), 0), done);
  for (int64_t i = 0; i < part.n_local; i++) {
    const uint8_t *img = sel + (part.offset + i) * GPA_FASHION_PIXELS;
    for (int j = 0; j < GPA_FASHION_PIXELS; j++) x[i * GPA_FASHION_PIXELS + j] = img[j] / 255.0;
    if (labels) labels[i] = lab[part.offset + i];
  }
done:
  gpa_free(&sel);
  gpa_free(&lab);
  return rc;
}

/* Collective: rank 0 checks the files' headers, the labels and the class counts for q->n. */
static int fashion_resolve(MPI_Comm comm, const struct gpa_dist_params *q, const char *section) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  int rc = GPA_OK;
  if (rank == 0) {
    struct gpa_idx images, labels;
    rc = fashion_load(q, section, 0, q->n, &images, &labels);
    gpa_idx_free(&images);
    gpa_idx_free(&labels);
  }
  return gpa_comm_agree(comm, rc);
}

int gpa_dist_resolve(MPI_Comm comm, struct gpa_dist_params *q, const char *section) {
  if (q->kind == GPA_DIST_FASHION_MNIST) return fashion_resolve(comm, q, section);
  if (q->kind != GPA_DIST_FILE) return GPA_OK;
  char what[64];
  snprintf(what, sizeof what, "%s.file", section);
  int64_t dims[2];
  GPA_CHECK(gpa_data_shape(comm, q->file, q->dataset, what, dims));
  if (q->dim == 0) q->dim = dims[1];
  if (q->n == 0) q->n = dims[0];
  if (dims[1] != q->dim)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has %lld columns but %s.dim is %lld", what, q->file,
                     q->dataset, (long long)dims[1], section, (long long)q->dim);
  if (dims[0] < q->n)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has %lld rows but %s.n is %lld", what, q->file,
                     q->dataset, (long long)dims[0], section, (long long)q->n);
  if (dims[0] == 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s:%s has no rows", what, q->file, q->dataset);
  return GPA_OK;
}

int gpa_dist_sample(MPI_Comm comm, const struct gpa_dist_params *q, uint64_t seed, uint32_t stream,
                    struct gpa_block part, double *x, int32_t *labels) {
  if (q->kind == GPA_DIST_FASHION_MNIST)
    return fashion_sample(comm, q, seed, stream, part, x, labels);
  if (labels)
    for (int64_t i = 0; i < part.n_local; i++) labels[i] = -1;
  if (q->kind == GPA_DIST_FILE)
    return gpa_data_read_rows(comm, q->file, q->dataset, part.offset, part.n_local, q->dim, x);
  int32_t *cells = NULL;
  int64_t n_cells = 0;
  if (q->kind == GPA_DIST_SIERPINSKI)
    GPA_CHECK(carpet_cells(q->level, seed, stream, &cells, &n_cells));
  for (int64_t i = 0; i < part.n_local; i++)
    dist_one(q, seed, stream, part.offset + i, cells, x + i * q->dim);
  gpa_free(&cells);
  return GPA_OK;
}
