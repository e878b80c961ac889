/* The HDF5 layer (io.h, datafile.h, provenance.h) on any number of ranks: round trips of the
 * collective writes and reads, the staged write (complete file or nothing), the
 * single-process reads (shapes, runs of rows, strings, attributes, the chunked CRC-32) and
 * writes (anndata's variable-length strings), the input-data readers, and the one-line errors
 * that name the file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gpa/datafile.h"
#include "gpa/provenance.h"
#include "testutil.h"

static char dir[256]; /* a fresh directory, the same on every rank */

static void path_in(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static int make_dir(void **state) {
  (void)state;
  if (world_rank() == 0) {
    snprintf(dir, sizeof dir, "%s/gpa_test_io_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
  }
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
  return 0;
}

static int remove_dir(void **state) {
  (void)state;
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
  }
  return 0;
}

enum { N = 37, D = 3 };

static double value(int64_t i, int64_t j) { return 1000.0 * (double)i + (double)j + 0.25; }

/* A file of every kind of collective write, made on all ranks (staged). */
static void write_sample(const char *path) {
  const struct gpa_block part = gpa_partition(N, world_rank(), world_size());
  double x[N * D];
  for (int64_t i = 0; i < part.n_local; i++)
    for (int64_t j = 0; j < D; j++) x[i * D + j] = value(part.offset + i, j);
  const double v[4] = {1.5, -2, 0, 1e300};
  const int64_t w[3] = {7, -8, 9}, dims[2] = {2, 2};
  char *names[3] = {"alpha", "be", "gamma  "};
  struct gpa_h5 f;
  TEST_OK(gpa_h5_create_staged(&f, MPI_COMM_WORLD, path));
  int rc = gpa_h5_write_rows(&f, "/rows/x", x, part, D, "rows");
  if (rc == GPA_OK) rc = gpa_h5_write_f64(&f, "/v", v, 4, "numbers", "m");
  if (rc == GPA_OK) rc = gpa_h5_write_i64(&f, "/w", w, 3, NULL, NULL);
  if (rc == GPA_OK) rc = gpa_h5_write_f64_nd(&f, "/m", v, 2, dims, NULL, NULL);
  if (rc == GPA_OK) rc = gpa_h5_write_strings(&f, "/names", names, 3, NULL);
  if (rc == GPA_OK) rc = gpa_h5_attr_string(&f, "/", "format", "test");
  if (rc == GPA_OK) rc = gpa_h5_attr_i64(&f, "/", "step", &w[0], 1);
  if (rc == GPA_OK) rc = gpa_h5_attr_i64(&f, "/rows", "shape", w, 2);
  if (rc == GPA_OK) rc = gpa_h5_write_code(&f);
  TEST_OK(gpa_h5_commit(&f, rc));
}

static void test_collective_round_trip(void **state) {
  (void)state;
  char path[300];
  path_in(path, sizeof path, "a.h5");
  write_sample(path);
  char tmp[310];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_int_equal(access(tmp, F_OK), -1); /* committed: renamed */
  struct gpa_h5 f;
  TEST_OK(gpa_h5_open(&f, MPI_COMM_WORLD, path, 0, "test"));
  const struct gpa_block part = gpa_partition(N, world_rank(), world_size());
  double x[N * D], v[4];
  int64_t w[3];
  TEST_OK(gpa_h5_read_rows(&f, "/rows/x", part, D, x));
  for (int64_t i = 0; i < part.n_local * D; i++)
    assert_true(x[i] == value(part.offset + i / D, i % D));
  TEST_OK(gpa_h5_read_f64(&f, "/v", v, 4));
  assert_true(v[0] == 1.5 && v[3] == 1e300);
  TEST_OK(gpa_h5_read_i64(&f, "/w", w, 3));
  assert_true(w[1] == -8);
  int nd;
  int64_t dims[3];
  TEST_OK(gpa_h5_shape(&f, "/m", &nd, dims));
  assert_int_equal(nd, 2);
  char *text = NULL, hdf5[64];
  TEST_OK(gpa_h5_read_attr_text(&f, "/", "format", &text));
  assert_string_equal(text, "test");
  gpa_free(&text);
  TEST_OK(gpa_h5_read_attr_string(&f, "/code", "hdf5", hdf5, sizeof hdf5));
  assert_string_equal(hdf5, gpa_io_hdf5_version());
  assert_true(gpa_h5_exists(&f, "/rows/x") && !gpa_h5_exists(&f, "/rows/y") &&
              !gpa_h5_exists(&f, "/no/such"));
  assert_int_equal(gpa_h5_read_f64(&f, "/v", v, 3), GPA_ERR_INPUT); /* holds 4 */
  assert_non_null(strstr(gpa_error_message(), "/v holds 4 values, expected 3"));
  gpa_error_clear();
  TEST_OK(gpa_h5_close(&f));
}

/* A failure on one rank: every rank gets it, and neither PATH nor PATH.tmp is left. */
static void test_staged_failure(void **state) {
  (void)state;
  char path[300], tmp[310];
  path_in(path, sizeof path, "failed.h5");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  struct gpa_h5 f;
  TEST_OK(gpa_h5_create_staged(&f, MPI_COMM_WORLD, path));
  const int last = world_rank() == world_size() - 1;
  const int rc = last ? GPA_ERROR(GPA_ERR_INPUT, "made to fail") : GPA_OK;
  assert_int_equal(gpa_h5_commit(&f, rc), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(), "made to fail");
  gpa_error_clear();
  MPI_Barrier(MPI_COMM_WORLD);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(access(tmp, F_OK), -1);
}

/* Rank 0 alone reads what all wrote, with the single-process handle. */
static void test_serial_reads(void **state) {
  (void)state;
  char path[300];
  path_in(path, sizeof path, "s.h5");
  write_sample(path);
  if (world_rank() != 0) return;
  struct gpa_h5s f;
  assert_true(gpa_h5s_is_hdf5(path));
  TEST_OK(gpa_h5s_open(&f, path, GPA_H5S_READ_INPUT));
  struct gpa_h5_info info;
  TEST_OK(gpa_h5s_dataset_info(&f, "/rows/x", &info));
  assert_true(info.ndims == 2 && info.dims[0] == N && info.dims[1] == D && info.n == N * D);
  assert_true(info.type_class == GPA_H5_FLOAT && info.type_size == 8);
  assert_true(gpa_h5s_exists(&f, "/rows/x") && !gpa_h5s_exists(&f, "/rows/x/y"));
  assert_int_equal(gpa_h5s_kind(&f, "/rows"), GPA_H5_GROUP);
  assert_int_equal(gpa_h5s_kind(&f, "/rows/x"), GPA_H5_DATASET);
  /* Runs of rows: 2-3, 10, 30-36, and an empty one. */
  const int64_t start[4] = {2, 10, 20, 30}, count[4] = {2, 1, 0, 7};
  float rows[10 * D];
  TEST_OK(gpa_h5s_read_runs(&f, "/rows/x", GPA_H5_F32, start, count, 4, rows));
  const int64_t which[10] = {2, 3, 10, 30, 31, 32, 33, 34, 35, 36};
  for (int r = 0; r < 10; r++)
    for (int j = 0; j < D; j++) assert_true(rows[r * D + j] == (float)value(which[r], j));
  /* Runs of a 1-D dataset: elements. */
  int64_t w[2];
  const int64_t s1 = 1, c1 = 2;
  TEST_OK(gpa_h5s_read_runs(&f, "/w", GPA_H5_I64, &s1, &c1, 1, w));
  assert_true(w[0] == -8 && w[1] == 9);
  char **s = NULL;
  int64_t n = 0;
  TEST_OK(gpa_h5s_read_strings(&f, "/names", &n, &s));
  assert_int_equal(n, 3);
  assert_string_equal(s[0], "alpha");
  assert_string_equal(s[1], "be");
  assert_string_equal(s[2], "gamma"); /* trailing blanks cut */
  gpa_h5_free_strings(&s, n);
  assert_null(s);
  int64_t step = 0, shape[2] = {0, 0};
  char *format = NULL;
  assert_true(gpa_h5s_peek_i64(&f, "/", "step", &step) && step == 7);
  assert_false(gpa_h5s_peek_i64(&f, "/rows", "shape", &step)); /* two numbers */
  assert_true(gpa_h5s_peek_ints(&f, "/rows", "shape", shape, 2) && shape[1] == -8);
  assert_true(gpa_h5s_peek_text(&f, "/", "format", &format));
  assert_string_equal(format, "test");
  gpa_free(&format);
  assert_false(gpa_h5s_peek_text(&f, "/", "nothing", &format));
  assert_true(gpa_h5s_attr_equals(&f, "/", "format", "test"));
  assert_false(gpa_h5s_attr_equals(&f, "/", "format", "tes"));
  assert_true(gpa_h5s_has_attr(&f, "/v", "units") && !gpa_h5s_has_attr(&f, "/v", "none"));
  TEST_OK(gpa_h5s_close(&f));
  assert_true(gpa_h5s_peek_file_i64(path, "/", "step", &step) && step == 7);
  assert_false(gpa_h5s_peek_file_i64("/no/such/file.h5", "/", "step", &step));
  assert_string_equal(gpa_error_message(), ""); /* questions record no error */
}

/* The chunked CRC-32 is zlib's CRC of the values; the first NaN is found. */
static void test_checksum(void **state) {
  (void)state;
  enum { R = 300000, C = 5 }; /* several blocks of 2^20 values */
  char path[300];
  path_in(path, sizeof path, "crc.h5");
  const struct gpa_block part = gpa_partition(R, world_rank(), world_size());
  double *x = calloc((size_t)(part.n_local * C + 1), sizeof *x);
  for (int64_t i = 0; i < part.n_local * C; i++) x[i] = sin((double)(part.offset * C + i));
  const int64_t bad = 123457; /* a NaN at this value */
  if (bad >= part.offset * C && bad < (part.offset + part.n_local) * C)
    x[bad - part.offset * C] = NAN;
  struct gpa_h5 h;
  TEST_OK(gpa_h5_create_staged(&h, MPI_COMM_WORLD, path));
  TEST_OK(gpa_h5_commit(&h, gpa_h5_write_rows(&h, "/x", x, part, C, NULL)));
  free(x);
  if (world_rank() != 0) return;
  double *all = calloc((size_t)R * C, sizeof *all);
  for (int64_t i = 0; i < (int64_t)R * C; i++) all[i] = sin((double)i);
  all[bad] = NAN;
  const uLong want = crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)all, sizeof(double) * R * C);
  free(all);
  struct gpa_h5s f;
  TEST_OK(gpa_h5s_open(&f, path, GPA_H5S_READ));
  uint32_t crc;
  int64_t n, first;
  TEST_OK(gpa_h5s_checksum(&f, "/x", &crc, &n, &first));
  assert_true(crc == (uint32_t)want);
  assert_true(n == (int64_t)R * C && first == bad);
  TEST_OK(gpa_h5s_close(&f));
}

/* Rank 0 adds anndata's objects to a file and reads them back. */
static void test_serial_writes(void **state) {
  (void)state;
  char path[300];
  path_in(path, sizeof path, "w.h5");
  struct gpa_h5 h;
  TEST_OK(gpa_h5_create_staged(&h, MPI_COMM_WORLD, path));
  TEST_OK(gpa_h5_close_staged(&h, GPA_OK));
  if (world_rank() != 0) return;
  struct gpa_h5s f;
  TEST_OK(gpa_h5s_open(&f, h.path, GPA_H5S_WRITE));
  const char *s[3] = {"x", "", "zeta \xce\xb6"};
  const int32_t codes[3] = {0, -1, 2};
  const int64_t three = 3, zero = 0;
  TEST_OK(gpa_h5s_create_group(&f, "/obs"));
  TEST_OK(gpa_h5s_write_strings(&f, "/obs/_index", s, 3));
  TEST_OK(gpa_h5s_write_strings(&f, "/obs/none", NULL, 0));
  TEST_OK(gpa_h5s_write(&f, "/obs/codes", GPA_H5_I32, 1, &three, codes));
  TEST_OK(gpa_h5s_write_text(&f, "/report", "{\"a\": 1}"));
  TEST_OK(gpa_h5s_attr_text(&f, "/obs", "encoding-type", "dataframe"));
  TEST_OK(gpa_h5s_attr_text(&f, "/obs", "encoding-type", "dataframe")); /* replaced */
  TEST_OK(gpa_h5s_attr_texts(&f, "/obs", "column-order", s, 3));
  TEST_OK(gpa_h5s_attr_texts(&f, "/", "empty", NULL, zero));
  TEST_OK(gpa_h5s_attr_bool(&f, "/obs", "ordered", 0));
  assert_int_equal(gpa_h5s_create_group(&f, "/obs"), GPA_ERR_IO); /* exists */
  assert_non_null(strstr(gpa_error_message(), "w.h5.tmp: cannot create /obs (HDF5: "));
  gpa_error_clear();
  TEST_OK(gpa_h5s_close(&f));
  TEST_OK(gpa_h5s_open(&f, h.path, GPA_H5S_READ));
  struct gpa_h5_info info;
  TEST_OK(gpa_h5s_dataset_info(&f, "/obs/_index", &info));
  assert_true(info.vlen_string && info.type_class == GPA_H5_STRING && info.n == 3);
  char **back = NULL, **names = NULL;
  int64_t n = 0, nn = 0;
  TEST_OK(gpa_h5s_read_strings(&f, "/obs/_index", &n, &back));
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) assert_string_equal(back[i], s[i]);
  gpa_h5_free_strings(&back, n);
  TEST_OK(gpa_h5s_read_strings(&f, "/obs/none", &n, &back));
  assert_int_equal(n, 0);
  gpa_h5_free_strings(&back, n);
  int32_t c[3];
  TEST_OK(gpa_h5s_read(&f, "/obs/codes", GPA_H5_I32, 3, c));
  assert_true(c[1] == -1 && c[2] == 2);
  assert_true(gpa_h5s_attr_equals(&f, "/obs", "encoding-type", "dataframe"));
  TEST_OK(gpa_h5s_list(&f, "/obs", &nn, &names));
  assert_int_equal(nn, 3); /* in name order */
  assert_string_equal(names[0], "_index");
  assert_string_equal(names[1], "codes");
  assert_string_equal(names[2], "none");
  gpa_h5_free_strings(&names, nn);
  TEST_OK(gpa_h5s_close(&f));
}

/* The input checks: one line naming the file and the dataset. */
static void test_input_errors(void **state) {
  (void)state;
  char path[300], missing[300];
  path_in(path, sizeof path, "links.h5");
  path_in(missing, sizeof missing, "missing.h5");
  write_sample(path);
  if (world_rank() != 0) return;
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(file >= 0);
  assert_true(H5Lcreate_soft("/nowhere", file, "/dangling", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  assert_true(H5Lcreate_external("gone.h5", "/X", file, "/external", H5P_DEFAULT, H5P_DEFAULT) >=
              0);
  assert_true(H5Fclose(file) >= 0);
  struct gpa_h5s f;
  assert_int_equal(gpa_h5s_open(&f, missing, GPA_H5S_READ), GPA_ERR_INPUT);
  char want[400];
  snprintf(want, sizeof want, "'%s' cannot be read as HDF5 (truncated or damaged?)", missing);
  assert_string_equal(gpa_error_message(), want);
  gpa_error_clear();
  TEST_OK(gpa_data_open_readonly(&f, path));
  TEST_OK(gpa_data_check_dataset(&f, "/v"));
  assert_int_equal(gpa_data_check_dataset(&f, "/dangling"), GPA_ERR_INPUT);
  snprintf(want, sizeof want, "%s: /dangling is a soft link to '/nowhere', which does not exist",
           path);
  assert_string_equal(gpa_error_message(), want);
  gpa_error_clear();
  assert_int_equal(gpa_data_link_check(&f, "/external"), GPA_ERR_INPUT);
  snprintf(want, sizeof want,
           "%s: /external is an external link to gone.h5:/X, which cannot "
           "be opened",
           path);
  assert_string_equal(gpa_error_message(), want);
  gpa_error_clear();
  assert_int_equal(gpa_data_check_dataset(&f, "/rows"), GPA_ERR_INPUT);
  snprintf(want, sizeof want, "%s: /rows is a group, not a dataset", path);
  assert_string_equal(gpa_error_message(), want);
  gpa_error_clear();
  struct gpa_h5_info info;
  assert_int_equal(gpa_h5s_dataset_info(&f, "/nothing", &info), GPA_ERR_INPUT);
  snprintf(want, sizeof want, "%s: cannot open /nothing (HDF5: ", path);
  assert_non_null(strstr(gpa_error_message(), want));
  gpa_error_clear();
  double v[3];
  assert_int_equal(gpa_h5s_read(&f, "/v", GPA_H5_F64, 3, v), GPA_ERR_INPUT);
  snprintf(want, sizeof want, "%s: /v holds 4 values, expected 3", path);
  assert_string_equal(gpa_error_message(), want);
  gpa_error_clear();
  char **s = NULL;
  int64_t n = 0;
  assert_int_equal(gpa_h5s_read_strings(&f, "/v", &n, &s), GPA_ERR_INPUT);
  snprintf(want, sizeof want, "%s: /v does not hold strings", path);
  assert_string_equal(gpa_error_message(), want);
  assert_null(s);
  gpa_error_clear();
  TEST_OK(gpa_h5s_close(&f));
}

/* Input matrices by "FILE:/dataset": shape, rows on every rank, NaN named by its row. */
static void test_data_file(void **state) {
  (void)state;
  char path[300], spec[320], file[300], dataset[64];
  path_in(path, sizeof path, "data.h5");
  write_sample(path);
  snprintf(spec, sizeof spec, "%s:/rows/x", path);
  gpa_data_spec(spec, "/X", file, sizeof file, dataset, sizeof dataset);
  assert_string_equal(file, path);
  assert_string_equal(dataset, "/rows/x");
  gpa_data_spec(path, "/X", file, sizeof file, dataset, sizeof dataset);
  assert_string_equal(dataset, "/X");
  int64_t dims[2];
  TEST_OK(gpa_data_shape(MPI_COMM_WORLD, path, "/rows/x", "test.file", dims));
  assert_true(dims[0] == N && dims[1] == D);
  const struct gpa_block part = gpa_partition(N, world_rank(), world_size());
  double x[N * D];
  TEST_OK(gpa_data_read_rows(MPI_COMM_WORLD, path, "/rows/x", part.offset, part.n_local, D, x));
  for (int64_t i = 0; i < part.n_local * D; i++)
    assert_true(x[i] == value(part.offset + i / D, i % D));
  assert_int_equal(gpa_data_shape(MPI_COMM_WORLD, path, "/v", "test.file", dims), GPA_ERR_INPUT);
  char want[400];
  snprintf(want, sizeof want, "test.file: %s:/v has 1 dimensions, expected 2 [samples, d]", path);
  assert_string_equal(gpa_error_message(), want);
  gpa_error_clear();
  assert_int_equal(gpa_data_shape(MPI_COMM_WORLD, path, "/X", "test.file", dims), GPA_ERR_INPUT);
  snprintf(want, sizeof want, "test.file: '%s' has no dataset '/X'", path);
  assert_string_equal(gpa_error_message(), want);
  gpa_error_clear();
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_collective_round_trip, make_dir, remove_dir),
    cmocka_unit_test_setup_teardown(test_staged_failure, make_dir, remove_dir),
    cmocka_unit_test_setup_teardown(test_serial_reads, make_dir, remove_dir),
    cmocka_unit_test_setup_teardown(test_checksum, make_dir, remove_dir),
    cmocka_unit_test_setup_teardown(test_serial_writes, make_dir, remove_dir),
    cmocka_unit_test_setup_teardown(test_input_errors, make_dir, remove_dir),
    cmocka_unit_test_setup_teardown(test_data_file, make_dir, remove_dir),
};
GPA_TEST_MAIN(tests)
