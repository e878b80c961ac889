/* IDX files and the Fashion-MNIST and logistic distributions.
 *
 * The test writes its own small IDX files (gzip through zlib, and plain) into a temporary
 * directory: 30 images of 28 x 28 in 3 classes whose pixels encode the image's index and class,
 * their labels, and damaged variants.  It checks the reader's round trip and every refusal
 * (message and code), then Fashion-MNIST sampling through gpa_dist_resolve/gpa_dist_sample:
 * classes, picks without repetition, independence of the partition and seed dependence.  On
 * several ranks (it also runs under mpirun) only rank 0 reads the files, and every rank must
 * fail with the same message.  When Debian's dataset-fashion-mnist is installed, the real
 * training files are read too. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gpa/config.h"
#include "gpa/distributions.h"
#include "gpa/idx.h"
#include "gpa/rng.h"
#include "testutil.h"

enum { N_IMAGES = 30, N_CLASSES = 3, SIDE = 28, PIXELS = SIDE * SIDE };
static const char REAL_DIR[] = "/usr/share/datasets/fashion-mnist";

static char dir[256];

static const char *path_of(const char *name) {
  static char buf[8][512];
  static int next = 0;
  char *p = buf[next++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

/* Pixel j of synthetic image m: byte 0 is m, byte 1 its class, the rest a pattern of m. */
static int class_of(int m) { return (m * 7) % N_CLASSES; }
static uint8_t pixel(int m, int j) {
  if (j == 0) return (uint8_t)m;
  if (j == 1) return (uint8_t)class_of(m);
  return (uint8_t)((m * 31 + j * 7) % 251);
}

/* ------------------------------------------------------------------ writing files */

static void write_bytes(const char *name, const uint8_t *b, size_t n, int gz) {
  const char *path = path_of(name);
  if (gz) {
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    if (n > 0) assert_int_equal(gzwrite(f, b, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
  } else {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
  }
}

static uint8_t *read_raw(const char *name, size_t *n) {
  FILE *f = fopen(path_of(name), "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n);
  assert_int_equal(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

/* An IDX file: magic (0, 0, type, nd), dims, then `ndata` bytes of data (which may disagree
 * with the dims, for the refusals). */
static void write_idx(const char *name, uint8_t type, int nd, const uint32_t *dims,
                      const uint8_t *data, size_t ndata, int gz) {
  size_t n = 4 + 4 * (size_t)nd + ndata;
  uint8_t *b = malloc(n);
  b[0] = b[1] = 0;
  b[2] = type;
  b[3] = (uint8_t)nd;
  for (int k = 0; k < nd; k++)
    for (int s = 0; s < 4; s++) b[4 + 4 * k + s] = (uint8_t)(dims[k] >> (24 - 8 * s));
  if (ndata) memcpy(b + 4 + 4 * nd, data, ndata);
  write_bytes(name, b, n, gz);
  free(b);
}

static uint8_t image_bytes[N_IMAGES * PIXELS + 16], label_bytes[N_IMAGES + 16];

static void fill_bytes(void) {
  for (int m = 0; m < N_IMAGES; m++) {
    label_bytes[m] = (uint8_t)class_of(m);
    for (int j = 0; j < PIXELS; j++) image_bytes[m * PIXELS + j] = pixel(m, j);
  }
}

static void write_files(void) {
  const uint32_t idims[3] = {N_IMAGES, SIDE, SIDE}, ldims[1] = {N_IMAGES};
  const size_t ni = (size_t)N_IMAGES * PIXELS;
  write_idx("train-images-idx3-ubyte.gz", 0x08, 3, idims, image_bytes, ni, 1);
  write_idx("train-labels-idx1-ubyte.gz", 0x08, 1, ldims, label_bytes, N_IMAGES, 1);
  write_idx("plain-images-idx3-ubyte", 0x08, 3, idims, image_bytes, ni, 0);
  write_idx("imgs.gz", 0x08, 3, idims, image_bytes, ni, 1);
  /* Refusals of the reader. */
  uint8_t bad_magic[4 + 12 + 4] = {0x12, 0x34, 0x08, 0x03};
  write_bytes("magic.gz", bad_magic, sizeof bad_magic, 1);
  write_idx("type.gz", 0x0d, 3, idims, image_bytes, ni, 1);
  const uint32_t flat[2] = {N_IMAGES, PIXELS};
  write_idx("dims.gz", 0x08, 2, flat, image_bytes, ni, 1);
  write_idx("short.gz", 0x08, 3, idims, image_bytes, 1000, 1);
  write_idx("long.gz", 0x08, 3, idims, image_bytes, ni + 5, 1);
  write_idx("header.gz", 0x08, 3, idims, NULL, 0, 1);
  /* Damaged gzip: bytes flipped in the middle, a wrong CRC, a stream cut in half. */
  size_t n;
  uint8_t *gz = read_raw("train-images-idx3-ubyte.gz", &n);
  uint8_t *copy = malloc(n);
  memcpy(copy, gz, n);
  for (size_t k = n / 2; k < n / 2 + 16; k++) copy[k] ^= 0x5a;
  write_bytes("corrupt.gz", copy, n, 0);
  memcpy(copy, gz, n);
  copy[n - 8] ^= 0xff;
  write_bytes("crc.gz", copy, n, 0);
  write_bytes("cut.gz", gz, n / 2, 0);
  free(copy);
  free(gz);
  /* Refusals of the Fashion-MNIST reader. */
  const uint32_t fewer[1] = {N_IMAGES - 1};
  write_idx("short-labels-idx1-ubyte.gz", 0x08, 1, fewer, label_bytes, N_IMAGES - 1, 1);
  label_bytes[5] = 12;
  write_idx("badlab-labels-idx1-ubyte.gz", 0x08, 1, ldims, label_bytes, N_IMAGES, 1);
  label_bytes[5] = (uint8_t)class_of(5);
  const uint32_t odd[3] = {N_IMAGES, 27, 29};
  write_idx("odd-images-idx3-ubyte.gz", 0x08, 3, odd, image_bytes, (size_t)N_IMAGES * 27 * 29, 1);
}

static void remove_files(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

/* Collective, at the start of every test: rank 0 writes the files once into a new temporary
 * directory (removed at exit). */
static void ensure_files(void) {
  if (dir[0]) return;
  if (world_rank() == 0) {
    snprintf(dir, sizeof dir, "/tmp/gpa_test_idx_XXXXXX");
    assert_non_null(mkdtemp(dir));
    atexit(remove_files);
  }
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
  fill_bytes();
  if (world_rank() == 0) write_files();
  MPI_Barrier(MPI_COMM_WORLD);
}

/* ------------------------------------------------------------------ the reader */

static void test_round_trip(void **state) {
  (void)state;
  ensure_files();
  const char *names[2] = {"train-images-idx3-ubyte.gz", "plain-images-idx3-ubyte"};
  for (int k = 0; k < 2; k++) {
    struct gpa_idx idx;
    TEST_OK(gpa_idx_read(path_of(names[k]), 3, &idx));
    assert_int_equal(idx.n_dims, 3);
    assert_int_equal(idx.dims[0], N_IMAGES);
    assert_int_equal(idx.dims[1], SIDE);
    assert_int_equal(idx.dims[2], SIDE);
    assert_int_equal(idx.count, N_IMAGES * PIXELS);
    assert_memory_equal(idx.data, image_bytes, (size_t)N_IMAGES * PIXELS);
    gpa_idx_free(&idx);
    assert_null(idx.data);
    TEST_OK(gpa_idx_read_header(path_of(names[k]), 0, &idx));
    assert_int_equal(idx.count, N_IMAGES * PIXELS);
    assert_null(idx.data);
  }
  struct gpa_idx idx;
  TEST_OK(gpa_idx_read(path_of("train-labels-idx1-ubyte.gz"), 1, &idx));
  assert_int_equal(idx.n_dims, 1);
  assert_int_equal(idx.dims[0], N_IMAGES);
  assert_memory_equal(idx.data, label_bytes, N_IMAGES);
  gpa_idx_free(&idx);
}

/* Reading `name` fails with GPA_ERR_INPUT and "PATH: <expect>" (prefix, then suffix). */
static void expect_refused(const char *name, int dims, const char *expect, const char *suffix) {
  struct gpa_idx idx;
  gpa_error_clear();
  int rc = gpa_idx_read(path_of(name), dims, &idx);
  char want[1024];
  snprintf(want, sizeof want, "%s: %s", path_of(name), expect);
  const char *got = gpa_error_message();
  if (rc != GPA_ERR_INPUT) fail_msg("%s: status %d, expected GPA_ERR_INPUT (%s)", name, rc, got);
  if (strncmp(got, want, strlen(want)) != 0 || strchr(got, '\n'))
    fail_msg("%s: got '%s', expected '%s'", name, got, want);
  const size_t ng = strlen(got);
  if (suffix && (ng < strlen(suffix) || strcmp(got + ng - strlen(suffix), suffix) != 0))
    fail_msg("%s: got '%s', expected it to end in '%s'", name, got, suffix);
  if (!suffix && strcmp(got, want) != 0) fail_msg("%s: got '%s', expected '%s'", name, got, want);
  assert_null(idx.data);
  gpa_error_clear();
}

static void test_refusals(void **state) {
  (void)state;
  ensure_files();
  expect_refused("magic.gz", 3, "not an IDX file (magic 0x12340803)", NULL);
  expect_refused("type.gz", 3, "element type 0x0d; only unsigned bytes (0x08) are supported", NULL);
  expect_refused("dims.gz", 3, "2 dimensions, expected 3", NULL);
  expect_refused("train-labels-idx1-ubyte.gz", 3, "1 dimensions, expected 3", NULL);
  expect_refused("short.gz", 3, "truncated: header says 23520 bytes of data, file has 1000", NULL);
  expect_refused("header.gz", 3, "truncated: header says 23520 bytes of data, file has 0", NULL);
  expect_refused("long.gz", 3, "5 trailing bytes: header says 23520 bytes of data, file has 23525",
                 NULL);
  expect_refused("no-such-file.gz", 3, "cannot open: No such file or directory", NULL);
  expect_refused("corrupt.gz", 3, "damaged gzip data (", ")");
  expect_refused("crc.gz", 3, "damaged gzip data (incorrect data check)", NULL);
  expect_refused("cut.gz", 3, "truncated: header says 23520 bytes of data, file has ",
                 " (the gzip stream ends early)");
  /* The header alone does not see the data's problems, but does see the header's. */
  struct gpa_idx idx;
  TEST_OK(gpa_idx_read_header(path_of("short.gz"), 3, &idx));
  gpa_error_clear();
  assert_int_equal(gpa_idx_read_header(path_of("magic.gz"), 3, &idx), GPA_ERR_INPUT);
  gpa_error_clear();
}

/* ------------------------------------------------------------------ Fashion-MNIST sampling */

static struct gpa_dist_params fashion(const char *images, const char *labels) {
  struct gpa_params p;
  gpa_params_default(&p);
  struct gpa_dist_params q = p.target;
  q.kind = GPA_DIST_FASHION_MNIST;
  q.dim = PIXELS;
  snprintf(q.file, sizeof q.file, "%s", images ? path_of(images) : "");
  snprintf(q.labels_file, sizeof q.labels_file, "%s", labels ? path_of(labels) : "");
  q.classes.n = 3;
  q.classes.v[0] = 2;
  q.classes.v[1] = 0;
  q.classes.v[2] = 1;
  return q;
}

/* Samples [n][784] and labels [n] of the whole set, made with the given split into `parts`
 * blocks (each made by a collective call on every rank). */
static void sample_split(const struct gpa_dist_params *q, uint64_t seed, uint32_t stream, int64_t n,
                         int parts, double *x, int32_t *lab) {
  for (int r = 0; r < parts; r++) {
    struct gpa_block part = gpa_partition(n, r, parts);
    TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, q, seed, stream, part, x + part.offset * PIXELS,
                            lab + part.offset));
  }
}

/* The image index of every sample; checks its pixels, its label and that none repeats. */
static void check_samples(const double *x, const int32_t *lab, int64_t n, const int64_t *cls, int K,
                          int *which) {
  int used[N_IMAGES] = {0}, count[N_CLASSES] = {0};
  for (int64_t i = 0; i < n; i++) {
    const double *img = x + i * PIXELS;
    int m = (int)lround(img[0] * 255.0);
    assert_true(m >= 0 && m < N_IMAGES);
    assert_int_equal(lab[i], cls[i % K]);
    assert_int_equal(class_of(m), lab[i]);
    for (int j = 0; j < PIXELS; j++)
      if (img[j] != pixel(m, j) / 255.0) fail_msg("sample %lld pixel %d", (long long)i, j);
    assert_int_equal(used[m], 0);
    used[m] = 1;
    count[lab[i]]++;
    which[i] = m;
  }
  for (int k = 0; k < K; k++) assert_int_equal(count[cls[k]], n / K + (k < n % K));
}

static void test_fashion_sampling(void **state) {
  (void)state;
  ensure_files();
  /* The labels' name comes from the images' name. */
  struct gpa_dist_params q = fashion("train-images-idx3-ubyte.gz", NULL);
  enum { N = 29 }; /* classes 2 and 0: 10 (all their images), class 1: 9 */
  q.n = N;
  TEST_OK(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"));
  assert_int_equal(gpa_dist_n_classes(&q), 10);
  static double whole[N * PIXELS], split[N * PIXELS], other[N * PIXELS];
  int32_t lab[N], lab_split[N], lab_other[N];
  int which[N], which_other[N];
  sample_split(&q, 5, GPA_STREAM_TARGET, N, 1, whole, lab);
  check_samples(whole, lab, N, q.classes.v, 3, which);
  for (int parts = 2; parts <= 4; parts++) {
    memset(split, 0, sizeof split);
    sample_split(&q, 5, GPA_STREAM_TARGET, N, parts, split, lab_split);
    assert_memory_equal(whole, split, sizeof whole);
    assert_memory_equal(lab, lab_split, sizeof lab);
  }
  /* The real partition over the ranks, gathered. */
  const int size = world_size();
  struct gpa_block part = gpa_partition(N, world_rank(), size);
  assert_true(size <= 64);
  memset(split, 0, sizeof split);
  memset(lab_split, 0, sizeof lab_split);
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &q, 5, GPA_STREAM_TARGET, part,
                          split + part.offset * PIXELS, lab_split + part.offset));
  int counts[64], displs[64], lcounts[64], ldispls[64];
  for (int r = 0; r < size; r++) {
    struct gpa_block pr = gpa_partition(N, r, size);
    counts[r] = (int)pr.n_local * PIXELS;
    displs[r] = (int)pr.offset * PIXELS;
    lcounts[r] = (int)pr.n_local;
    ldispls[r] = (int)pr.offset;
  }
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DOUBLE, split, counts, displs, MPI_DOUBLE, MPI_COMM_WORLD);
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_INT32_T, lab_split, lcounts, ldispls, MPI_INT32_T,
                 MPI_COMM_WORLD);
  assert_memory_equal(whole, split, sizeof whole);
  assert_memory_equal(lab, lab_split, sizeof lab);
  /* Another seed, another stream: another selection (the pick orders differ). */
  sample_split(&q, 6, GPA_STREAM_TARGET, N, 1, other, lab_other);
  check_samples(other, lab_other, N, q.classes.v, 3, which_other);
  assert_memory_equal(lab, lab_other, sizeof lab);
  assert_memory_not_equal(which, which_other, sizeof which);
  sample_split(&q, 5, GPA_STREAM_SOURCE, N, 1, other, lab_other);
  check_samples(other, lab_other, N, q.classes.v, 3, which_other);
  assert_memory_not_equal(which, which_other, sizeof which);
  /* Fewer samples: a prefix of each class's picks. */
  sample_split(&q, 5, GPA_STREAM_TARGET, 12, 1, other, lab_other);
  check_samples(other, lab_other, 12, q.classes.v, 3, which_other);
  assert_memory_equal(which, which_other, sizeof(int) * 12);
  /* One class: all its images, each once. */
  q.classes.n = 1;
  q.classes.v[0] = 1;
  q.n = 10;
  TEST_OK(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"));
  sample_split(&q, 5, GPA_STREAM_TARGET, 10, 3, other, lab_other);
  check_samples(other, lab_other, 10, q.classes.v, 1, which_other);
}

/* A collective call fails with GPA_ERR_INPUT and the message `expect` on every rank. */
static void expect_dist_error(int rc, const char *expect) {
  if (rc != GPA_ERR_INPUT)
    fail_msg("status %d, expected GPA_ERR_INPUT (%s)", rc, gpa_error_message());
  if (strcmp(gpa_error_message(), expect) != 0)
    fail_msg("rank %d: got '%s', expected '%s'", world_rank(), gpa_error_message(), expect);
  gpa_error_clear();
}

static void test_fashion_refusals(void **state) {
  (void)state;
  ensure_files();
  char want[2048];
  static double x[40 * PIXELS];
  int32_t lab[40];
  gpa_error_clear();
  /* Too many samples for a class: at resolve (keyed) and at sampling. */
  struct gpa_dist_params q = fashion("train-images-idx3-ubyte.gz", NULL);
  q.n = 31;
  snprintf(want, sizeof want,
           "target.n: %s: class 2 has 10 images, 11 needed (31 samples over 3 classes)",
           path_of("train-labels-idx1-ubyte.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"), want);
  expect_dist_error(gpa_dist_sample(MPI_COMM_WORLD, &q, 1, 2, gpa_partition(31, 0, 1), x, lab),
                    want + strlen("target.n: "));
  q.classes.n = 0; /* all ten: classes 3 to 9 have no images */
  q.n = 4;
  snprintf(want, sizeof want,
           "source.n: %s: class 3 has 0 images, 1 needed (4 samples over 10 classes)",
           path_of("train-labels-idx1-ubyte.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "source"), want);
  /* Images and labels disagree in count. */
  q = fashion("train-images-idx3-ubyte.gz", "short-labels-idx1-ubyte.gz");
  snprintf(want, sizeof want, "target.labels_file: %s: 30 images but %s has 29 labels",
           path_of("train-images-idx3-ubyte.gz"), path_of("short-labels-idx1-ubyte.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"), want);
  expect_dist_error(gpa_dist_sample(MPI_COMM_WORLD, &q, 1, 2, gpa_partition(3, 0, 1), x, lab),
                    want + strlen("target.labels_file: "));
  /* A label out of range. */
  q = fashion("train-images-idx3-ubyte.gz", "badlab-labels-idx1-ubyte.gz");
  snprintf(want, sizeof want, "target.labels_file: %s: label 12 of image 5 is not a class 0-9",
           path_of("badlab-labels-idx1-ubyte.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"), want);
  /* Images that are not 28 x 28. */
  q = fashion("odd-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
  snprintf(want, sizeof want, "target.file: %s: images are 27x29, expected 28x28",
           path_of("odd-images-idx3-ubyte.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"), want);
  /* A missing images file; damaged ones (a short one is seen only when the data are read). */
  q = fashion("no-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
  snprintf(want, sizeof want, "source.file: %s: cannot open: No such file or directory",
           path_of("no-images-idx3-ubyte.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "source"), want);
  q = fashion("crc.gz", "train-labels-idx1-ubyte.gz");
  snprintf(want, sizeof want, "source.file: %s: damaged gzip data (incorrect data check)",
           path_of("crc.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "source"), want);
  q = fashion("short.gz", "train-labels-idx1-ubyte.gz");
  q.n = 3;
  TEST_OK(gpa_dist_resolve(MPI_COMM_WORLD, &q, "source"));
  snprintf(want, sizeof want, "%s: truncated: header says 23520 bytes of data, file has 1000",
           path_of("short.gz"));
  expect_dist_error(gpa_dist_sample(MPI_COMM_WORLD, &q, 1, 2, gpa_partition(3, 0, 1), x, lab),
                    want);
  /* A missing labels file; no labels file and no "images-idx3" to replace. */
  q = fashion("train-images-idx3-ubyte.gz", "no-labels.gz");
  snprintf(want, sizeof want, "target.labels_file: %s: cannot open: No such file or directory",
           path_of("no-labels.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"), want);
  q = fashion("imgs.gz", NULL);
  snprintf(want, sizeof want,
           "target.labels_file: no labels file given, and '%s' has no 'images-idx3' in its "
           "name to replace by 'labels-idx1'",
           path_of("imgs.gz"));
  expect_dist_error(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"), want);
  /* Labels of the other kinds are -1. */
  struct gpa_params p;
  gpa_params_default(&p);
  lab[0] = lab[1] = 7;
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &p.source, 1, 2, gpa_partition(2, 0, 1), x, lab));
  assert_int_equal(lab[0], -1);
  assert_int_equal(lab[1], -1);
  assert_int_equal(gpa_dist_n_classes(&p.source), 0);
}

/* Debian's dataset-fashion-mnist: 60000 training images of 28 x 28, 6000 of each class. */
static void test_real_files(void **state) {
  (void)state;
  ensure_files();
  char images[512], labels[512];
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", REAL_DIR);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", REAL_DIR);
  if (access(images, R_OK) != 0 || access(labels, R_OK) != 0) {
    if (world_rank() == 0)
      printf("note: %s is not installed (dataset-fashion-mnist); real-file check skipped\n",
             REAL_DIR);
    return;
  }
  struct gpa_idx img, lab;
  TEST_OK(gpa_idx_read(labels, 1, &lab));
  assert_int_equal(lab.dims[0], 60000);
  int64_t count[10] = {0};
  for (int64_t i = 0; i < lab.count; i++) {
    assert_true(lab.data[i] < 10);
    count[lab.data[i]]++;
  }
  for (int c = 0; c < 10; c++) assert_int_equal(count[c], 6000);
  if (world_rank() == 0) {
    TEST_OK(gpa_idx_read(images, 3, &img));
    assert_int_equal(img.n_dims, 3);
    assert_int_equal(img.dims[0], 60000);
    assert_int_equal(img.dims[1], 28);
    assert_int_equal(img.dims[2], 28);
  }
  /* The defaults (file and labels_file "") sample those files: 20 images, 2 of each class. */
  struct gpa_params p;
  gpa_params_default(&p);
  struct gpa_dist_params q = p.target;
  q.kind = GPA_DIST_FASHION_MNIST;
  q.dim = PIXELS;
  q.n = 20;
  TEST_OK(gpa_dist_resolve(MPI_COMM_WORLD, &q, "target"));
  static double x[20 * PIXELS];
  int32_t cls[20];
  TEST_OK(
      gpa_dist_sample(MPI_COMM_WORLD, &q, 3, GPA_STREAM_TARGET, gpa_partition(20, 0, 1), x, cls));
  for (int i = 0; i < 20; i++) {
    assert_int_equal(cls[i], i % 10);
    if (world_rank() != 0) continue;
    uint8_t bytes[PIXELS];
    for (int j = 0; j < PIXELS; j++) {
      double v = x[i * PIXELS + j] * 255.0;
      bytes[j] = (uint8_t)lround(v);
      assert_true(fabs(v - bytes[j]) < 1e-9);
    }
    int found = 0;
    for (int64_t m = 0; m < 60000 && !found; m++)
      found = lab.data[m] == cls[i] && memcmp(img.data + m * PIXELS, bytes, PIXELS) == 0;
    assert_true(found);
  }
  if (world_rank() == 0) gpa_idx_free(&img);
  gpa_idx_free(&lab);
}

/* ------------------------------------------------------------------ logistic */

static void test_logistic(void **state) {
  (void)state;
  ensure_files();
  struct gpa_params p;
  gpa_params_default(&p);
  struct gpa_dist_params q = p.source;
  q.kind = GPA_DIST_LOGISTIC;
  q.dim = 2;
  q.mean = 0.5;
  q.scale = 2.0;
  enum { K = 100000 }; /* 200000 draws: K samples of 2 coordinates */
  double *x = malloc(sizeof(double) * 2 * K), *y = malloc(sizeof(double) * 2 * K);
  TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &q, 11, 1, gpa_partition(K, 0, 1), x, NULL));
  double s = 0, s2 = 0;
  for (int i = 0; i < 2 * K; i++) s += x[i];
  const double mean = s / (2 * K);
  for (int i = 0; i < 2 * K; i++) s2 += (x[i] - mean) * (x[i] - mean);
  const double pi = 3.14159265358979323846;
  const double var = s2 / (2 * K - 1), want = pi * pi / 3.0 * 2.0 * 2.0; /* pi^2/3 scale^2 */
  ASSERT_CLOSE(mean, 0.5, 0, 5 * sqrt(want / (2 * K)));                  /* 5 standard errors */
  ASSERT_CLOSE(var, want, 5 * sqrt(3.2 / (2 * K)), 0);                   /* excess kurtosis 1.2 */
  /* Sample i does not depend on the split. */
  for (int r = 0; r < 3; r++) {
    struct gpa_block part = gpa_partition(K, r, 3);
    TEST_OK(gpa_dist_sample(MPI_COMM_WORLD, &q, 11, 1, part, y + part.offset * 2, NULL));
  }
  assert_memory_equal(x, y, sizeof(double) * 2 * K);
  free(x);
  free(y);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_fashion_sampling), cmocka_unit_test(test_fashion_refusals),
    cmocka_unit_test(test_real_files),       cmocka_unit_test(test_logistic),
};
GPA_TEST_MAIN(tests)
