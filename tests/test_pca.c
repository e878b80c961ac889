/* Distributed PCA against LAPACK on one rank, run on 1, 2 and 4 ranks: dense (tall with the QR
 * step, near-square, wide) and randomized methods, uneven row splits with ranks that hold no
 * rows, encode/decode, and inputs that must fail on every rank together.
 *
 * The test matrix is built from the counter RNG by global index, so every rank count factorises
 * the same matrix; every rank also builds the whole matrix for the LAPACK reference. */
#include <stdlib.h>
#include <string.h>

#include "gpa/pca.h"
#include "gpa/rng.h"
#include "testutil.h"

/* LAPACK (Fortran ABI; Debian ships no C header for it). */
extern void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
                    const int *lda, double *s, double *u, const int *ldu, double *vt,
                    const int *ldvt, double *work, const int *lwork, int *info, size_t, size_t);

enum { STREAM_U = 200, STREAM_W = 201, STREAM_NOISE = 202, STREAM_OFFSET = 203, STREAM_Z = 204 };
enum { SIGNAL_RANK = 12 };
static const uint64_t SEED = 2024;
static const double SIGNAL_TOP = 100.0, SIGNAL_DECAY = 0.6, NOISE = 1e-3, OFFSET = 5.0;

/* ------------------------------------------------------------------ the test matrix */

struct problem {
  int64_t n, g;
  struct gpa_block part;
  float *local; /* [n_local][g] this rank's rows */
  float *full;  /* [n][g] the whole matrix, for the reference */
};

/* split 0: gpa_partition.  split 1: rank 0 holds no rows and ranks 1..P-1 hold the blocks of a
 * (P - 1)-way partition in reverse order (rank 1 the last rows). */
static struct gpa_block test_part(int64_t n, int split) {
  const int rank = world_rank(), size = world_size();
  if (split == 0 || size == 1) return gpa_partition(n, rank, size);
  struct gpa_block p = {n, 0, 0};
  if (rank == 0) return p;
  p = gpa_partition(n, size - 1 - rank, size - 1);
  p.n_global = n;
  return p;
}

/* Rows [row0, row0 + rows) of X = offsets + sum_c s_c u_c w_c^T / sqrt(n g) + noise with
 * s_c = SIGNAL_TOP SIGNAL_DECAY^c: a rank-12 signal with a clear spectrum above small noise. */
static void fill_rows(int64_t n, int64_t g, int64_t row0, int64_t rows, float *X) {
  double *w = malloc(sizeof(double) * (size_t)(g * SIGNAL_RANK));
  double *offset = malloc(sizeof(double) * (size_t)g);
  assert_non_null(w);
  assert_non_null(offset);
  for (int64_t j = 0; j < g; j++) {
    struct gpa_rng r;
    gpa_rng_init(&r, SEED, STREAM_W, (uint64_t)j);
    for (int c = 0; c < SIGNAL_RANK; c++) w[j * SIGNAL_RANK + c] = gpa_rng_normal(&r);
    gpa_rng_init(&r, SEED, STREAM_OFFSET, (uint64_t)j);
    offset[j] = OFFSET * gpa_rng_uniform(&r);
  }
  const double norm = 1.0 / sqrt((double)n * (double)g);
  for (int64_t i = 0; i < rows; i++) {
    double u[SIGNAL_RANK];
    struct gpa_rng r, noise;
    gpa_rng_init(&r, SEED, STREAM_U, (uint64_t)(row0 + i));
    for (int c = 0; c < SIGNAL_RANK; c++)
      u[c] = SIGNAL_TOP * pow(SIGNAL_DECAY, c) * norm * gpa_rng_normal(&r);
    gpa_rng_init(&noise, SEED, STREAM_NOISE, (uint64_t)(row0 + i));
    for (int64_t j = 0; j < g; j++) {
      double v = offset[j] + NOISE * gpa_rng_normal(&noise);
      for (int c = 0; c < SIGNAL_RANK; c++) v += u[c] * w[j * SIGNAL_RANK + c];
      X[i * g + j] = (float)v;
    }
  }
  free(w);
  free(offset);
}

static void problem_create(struct problem *p, int64_t n, int64_t g, int split) {
  p->n = n;
  p->g = g;
  p->part = test_part(n, split);
  p->local = malloc(sizeof(float) * (size_t)((p->part.n_local > 0 ? p->part.n_local : 1) * g));
  p->full = malloc(sizeof(float) * (size_t)(n * g));
  assert_non_null(p->local);
  assert_non_null(p->full);
  fill_rows(n, g, p->part.offset, p->part.n_local, p->local);
  fill_rows(n, g, 0, n, p->full);
  /* The local rows are the same numbers as the reference's. */
  assert_memory_equal(p->local, p->full + p->part.offset * g,
                      sizeof(float) * (size_t)(p->part.n_local * g));
}

static void problem_destroy(struct problem *p) {
  free(p->local);
  free(p->full);
}

/* ------------------------------------------------------------------ LAPACK helpers */

/* Singular values s [min(m, n)] of the column-major m x n matrix a (destroyed). */
static void singular_values(double *a, int m, int n, double *s) {
  int lwork = -1, info = 0, one = 1;
  double query, dummy;
  dgesvd_("N", "N", &m, &n, a, &m, s, &dummy, &one, &dummy, &one, &query, &lwork, &info, 1, 1);
  lwork = (int)query;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  assert_non_null(work);
  dgesvd_("N", "N", &m, &n, a, &m, s, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
  assert_int_equal(info, 0);
  free(work);
}

/* Largest principal angle between the row spaces of A and B [k][g] (orthonormal rows).
 * Returned from the sine form, sin(theta_max) = sigma_max(A - (A B^T) B), which resolves angles
 * down to 1e-16; *acos_form gets acos(sigma_min(A B^T)), which cannot tell angles below ~1.5e-8
 * from zero (1 - theta^2 / 2 rounds to 1). */
static double largest_angle(const double *A, const double *B, int k, int64_t g, double *acos_form) {
  double *M = malloc(sizeof(double) * (size_t)(k * k));
  double *R = malloc(sizeof(double) * (size_t)(k * g));
  double *s = malloc(sizeof(double) * (size_t)k);
  assert_true(M && R && s);
  gpa_gemm('N', 'T', k, k, g, 1.0, A, g, B, g, 0.0, M, k);
  memcpy(R, A, sizeof(double) * (size_t)(k * g));
  gpa_gemm('N', 'N', k, g, k, -1.0, M, k, B, g, 1.0, R, g);
  singular_values(M, k, k, s);
  *acos_form = acos(fmin(1.0, s[k - 1]));
  singular_values(R, (int)g, k, s);
  double angle = asin(fmin(1.0, s[0]));
  free(M);
  free(R);
  free(s);
  return angle;
}

/* Each row's entry of largest magnitude made positive (the library's convention). */
static void fix_signs(double *v, int k, int64_t g) {
  for (int c = 0; c < k; c++) {
    double *row = v + c * g;
    int64_t arg = 0;
    for (int64_t j = 1; j < g; j++)
      if (fabs(row[j]) > fabs(row[arg])) arg = j;
    if (row[arg] < 0.0)
      for (int64_t j = 0; j < g; j++) row[j] = -row[j];
  }
}

/* ------------------------------------------------------------------ the reference */

struct reference {
  int r;                 /* min(n, g) */
  double *mean;          /* [g] */
  double *comps;         /* [r][g] */
  double *sv;            /* [r] */
  double total_variance; /* divisor n - 1 */
};

static void reference_pca(const struct problem *p, struct reference *ref) {
  const int64_t n = p->n, g = p->g;
  ref->r = (int)(n < g ? n : g);
  ref->mean = calloc((size_t)g, sizeof(double));
  ref->comps = malloc(sizeof(double) * (size_t)(ref->r * g));
  ref->sv = malloc(sizeof(double) * (size_t)ref->r);
  double *xc = malloc(sizeof(double) * (size_t)(n * g));
  assert_true(ref->mean && ref->comps && ref->sv && xc);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < g; j++) ref->mean[j] += p->full[i * g + j];
  for (int64_t j = 0; j < g; j++) ref->mean[j] /= (double)n;
  double ss = 0.0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < g; j++) {
      xc[i * g + j] = p->full[i * g + j] - ref->mean[j];
      ss += xc[i * g + j] * xc[i * g + j];
    }
  ref->total_variance = ss / (double)(n - 1);
  /* Row-major n x g is column-major Xc^T (g x n): its left singular vectors are the PCs. */
  int m = (int)g, nn = (int)n, lwork = -1, info = 0, one = 1;
  double query, dummy;
  dgesvd_("S", "N", &m, &nn, xc, &m, ref->sv, ref->comps, &m, &dummy, &one, &query, &lwork, &info,
          1, 1);
  lwork = (int)query;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  assert_non_null(work);
  dgesvd_("S", "N", &m, &nn, xc, &m, ref->sv, ref->comps, &m, &dummy, &one, work, &lwork, &info, 1,
          1);
  assert_int_equal(info, 0);
  fix_signs(ref->comps, ref->r, g);
  free(work);
  free(xc);
}

static void reference_destroy(struct reference *ref) {
  free(ref->mean);
  free(ref->comps);
  free(ref->sv);
}

/* ------------------------------------------------------------------ running and checking */

/* Collective: the PCA of p, and the slowest rank's wall time. */
static void run_pca(const struct problem *p, int k, int method, int oversample, int power,
                    struct gpa_pca *pca, double *seconds) {
  MPI_Barrier(MPI_COMM_WORLD);
  double t = MPI_Wtime();
  TEST_OK(gpa_pca_compute(MPI_COMM_WORLD, p->local, p->part, p->g, k, method, oversample, power,
                          SEED, pca));
  t = MPI_Wtime() - t;
  MPI_Allreduce(&t, seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
}

struct tolerances {
  double angle; /* largest principal angle, radians */
  double vec;   /* max |v_c - v_c^ref| per component (same sign convention) */
  double sv;    /* relative, per singular value */
  double expl;  /* absolute, per explained fraction */
};

/* Not collective: compares every field with the reference and prints what was measured.
 * Returns the largest angle. */
static double check_pca(const char *label, const struct problem *p, const struct gpa_pca *pca,
                        const struct reference *ref, int k, struct tolerances tol, double seconds) {
  const int64_t g = p->g;
  assert_int_equal(pca->g, g);
  assert_int_equal(pca->k, k);
  double acos_form;
  const double angle = largest_angle(pca->components, ref->comps, k, g, &acos_form);
  double vec_err = 0.0, sv_err = 0.0, expl_err = 0.0, expl_sum = 0.0, mean_err = 0.0;
  for (int c = 0; c < k; c++) {
    for (int64_t j = 0; j < g; j++)
      vec_err = fmax(vec_err, fabs(pca->components[c * g + j] - ref->comps[c * g + j]));
    sv_err = fmax(sv_err, fabs(pca->singular_values[c] - ref->sv[c]) / ref->sv[c]);
    const double expl = ref->sv[c] * ref->sv[c] / (double)(p->n - 1) / ref->total_variance;
    expl_err = fmax(expl_err, fabs(pca->explained[c] - expl));
    expl_sum += pca->explained[c];
    assert_true(pca->explained[c] > 0.0);
    if (c > 0) assert_true(pca->singular_values[c] <= pca->singular_values[c - 1]);
  }
  for (int64_t j = 0; j < g; j++)
    mean_err = fmax(mean_err, fabs(pca->mean[j] - ref->mean[j]) / (1.0 + fabs(ref->mean[j])));
  if (world_rank() == 0)
    print_message(
        "%-28s n %4lld g %4lld k %2d on %d ranks: largest angle %.2e (acos form %.1e), "
        "max |dv| %.1e, max rel ds %.1e, max |d explained| %.1e (sum %.6f), "
        "max rel d mean %.1e, %.4f s\n",
        label, (long long)p->n, (long long)g, k, world_size(), angle, acos_form, vec_err, sv_err,
        expl_err, expl_sum, mean_err, seconds);
  assert_true(angle < tol.angle);
  assert_true(vec_err < tol.vec);
  assert_true(sv_err < tol.sv);
  assert_true(expl_err < tol.expl);
  assert_true(expl_sum <= 1.0 + 1e-12);
  assert_true(mean_err < 1e-12);
  ASSERT_CLOSE(pca->total_variance, ref->total_variance, 1e-12, 0.0);
  /* Every rank holds bitwise the same result. */
  int same = 0;
  TEST_OK(
      gpa_comm_identical(MPI_COMM_WORLD, pca->components, sizeof(double) * (size_t)(k * g), &same));
  assert_true(same);
  TEST_OK(
      gpa_comm_identical(MPI_COMM_WORLD, pca->singular_values, sizeof(double) * (size_t)k, &same));
  assert_true(same);
  return angle;
}

static const struct tolerances DENSE_TOL = {1e-8, 1e-8, 1e-10, 1e-10};

/* Collective: one method on one matrix against LAPACK. */
static void dense_case(const char *label, int64_t n, int64_t g, int split, int k) {
  struct problem p;
  struct reference ref;
  problem_create(&p, n, g, split);
  reference_pca(&p, &ref);
  struct gpa_pca pca;
  double t;
  run_pca(&p, k, GPA_PCA_DENSE, 0, 0, &pca, &t);
  assert_int_equal(pca.method, GPA_PCA_DENSE);
  check_pca(label, &p, &pca, &ref, k, DENSE_TOL, t);
  gpa_pca_destroy(&pca);
  reference_destroy(&ref);
  problem_destroy(&p);
}

/* ------------------------------------------------------------------ tests */

/* n >= 1.6 g: pdgeqrf, then pdgesvd of R.  auto picks dense here and gives the same bits. */
static void test_dense_tall(void **state) {
  (void)state;
  struct problem p;
  struct reference ref;
  problem_create(&p, 300, 120, 0);
  reference_pca(&p, &ref);
  struct gpa_pca dense, automatic;
  double t;
  run_pca(&p, 10, GPA_PCA_DENSE, 0, 0, &dense, &t);
  check_pca("dense (QR + SVD of R)", &p, &dense, &ref, 10, DENSE_TOL, t);
  run_pca(&p, 10, GPA_PCA_AUTO, 10, 4, &automatic, &t);
  assert_int_equal(automatic.method, GPA_PCA_DENSE);
  assert_memory_equal(dense.components, automatic.components, sizeof(double) * 10 * 120);
  gpa_pca_destroy(&dense);
  gpa_pca_destroy(&automatic);
  reference_destroy(&ref);
  problem_destroy(&p);
}

/* g <= n < 1.6 g: pdgesvd of the whole matrix; rank 0 holds no rows, the others in reverse. */
static void test_dense_near_square_uneven(void **state) {
  (void)state;
  dense_case("dense, uneven split", 150, 120, 1, 10);
}

/* g >= 1.6 n: pdgelqf, pdgesvd of L and pdormlq; n < g < 1.6 n: pdgesvd of the n x g matrix. */
static void test_dense_wide(void **state) {
  (void)state;
  dense_case("dense, wide (LQ + SVD of L)", 40, 500, 0, 10);
  dense_case("dense, wide, uneven split", 40, 500, 1, 10);
  dense_case("dense, near-square wide", 100, 120, 1, 10);
}

/* Tiny: with 4 ranks the row slab (3 rows per rank) leaves the last rank empty too. */
static void test_small_uneven(void **state) {
  (void)state;
  dense_case("dense, tiny, uneven split", 9, 7, 1, 3);
  struct problem p;
  struct reference ref;
  problem_create(&p, 9, 7, 1);
  reference_pca(&p, &ref);
  struct gpa_pca pca;
  double t;
  run_pca(&p, 3, GPA_PCA_RANDOMIZED, 10, 2, &pca, &t); /* l = min(13, n, g) = 7 = g */
  check_pca("randomized, tiny, uneven", &p, &pca, &ref, 3, DENSE_TOL, t);
  gpa_pca_destroy(&pca);
  reference_destroy(&ref);
  problem_destroy(&p);
}

/* The range finder converges with power iterations; 4 reach the dense accuracy here. */
static void test_randomized(void **state) {
  (void)state;
  struct problem p;
  struct reference ref;
  problem_create(&p, 300, 120, 0);
  reference_pca(&p, &ref);
  const struct tolerances loose = {1.0, 2.0, 1.0, 1.0}, tight = {1e-8, 1e-8, 1e-10, 1e-10};
  double previous = INFINITY;
  for (int q = 0; q <= 4; q++) {
    struct gpa_pca pca;
    double t;
    char label[64];
    snprintf(label, sizeof label, "randomized, %d power its", q);
    run_pca(&p, 10, GPA_PCA_RANDOMIZED, 10, q, &pca, &t);
    assert_int_equal(pca.method, GPA_PCA_RANDOMIZED);
    double angle = check_pca(label, &p, &pca, &ref, 10, q == 4 ? tight : loose, t);
    if (q <= 2) assert_true(angle < previous || angle < 1e-12); /* it converges */
    previous = angle;
    if (q == 4) { /* and is reproducible bit for bit */
      struct gpa_pca again;
      run_pca(&p, 10, GPA_PCA_RANDOMIZED, 10, q, &again, &t);
      assert_memory_equal(pca.components, again.components, sizeof(double) * 10 * 120);
      assert_memory_equal(pca.singular_values, again.singular_values, sizeof(double) * 10);
      gpa_pca_destroy(&again);
    }
    gpa_pca_destroy(&pca);
  }
  reference_destroy(&ref);
  problem_destroy(&p);

  /* Wide, uneven split, rank 0 without rows. */
  problem_create(&p, 40, 500, 1);
  reference_pca(&p, &ref);
  struct gpa_pca pca;
  double t;
  run_pca(&p, 10, GPA_PCA_RANDOMIZED, 10, 4, &pca, &t);
  check_pca("randomized, wide, uneven", &p, &pca, &ref, 10, tight, t);
  gpa_pca_destroy(&pca);
  reference_destroy(&ref);
  problem_destroy(&p);
}

/* decode(encode(x)) is x for x in the subspace and the projection of x otherwise. */
/* Encode and decode in latent units of `scale` PCA units, as gpa integrate scales them: the
 * scale applied to the PCA-unit coordinates by hand. */
static void encode_scaled(const struct gpa_pca *pca, const float *x, int64_t rows, double scale,
                          double *z) {
  gpa_pca_encode(pca, x, rows, z);
  for (int64_t i = 0; i < rows * pca->k; i++) z[i] /= scale;
}

static void decode_scaled(const struct gpa_pca *pca, const double *z, int64_t rows, double scale,
                          float *x) {
  double *zs = malloc(sizeof(double) * (size_t)(rows * pca->k));
  assert_true(zs);
  for (int64_t i = 0; i < rows * pca->k; i++) zs[i] = scale * z[i];
  gpa_pca_decode(pca, zs, rows, x);
  free(zs);
}

static void test_encode_decode(void **state) {
  (void)state;
  struct problem p;
  problem_create(&p, 300, 120, 0);
  const int64_t g = p.g;
  const int k = 10;
  const double scale = 2.5;
  struct gpa_pca pca;
  double t;
  run_pca(&p, k, GPA_PCA_DENSE, 0, 0, &pca, &t);

  /* A row in the subspace: x = mean + z0 V. */
  double z0[10], z[10];
  struct gpa_rng r;
  gpa_rng_init(&r, SEED, STREAM_Z, 0);
  for (int c = 0; c < k; c++) z0[c] = 10.0 * gpa_rng_normal(&r);
  float *x = malloc(sizeof(float) * (size_t)g), *back = malloc(sizeof(float) * (size_t)g);
  assert_true(x && back);
  double xmax = 0.0;
  for (int64_t j = 0; j < g; j++) {
    double v = pca.mean[j];
    for (int c = 0; c < k; c++) v += z0[c] * pca.components[c * g + j];
    x[j] = (float)v;
    xmax = fmax(xmax, fabs(v));
  }
  encode_scaled(&pca, x, 1, scale, z);
  for (int c = 0; c < k; c++) ASSERT_CLOSE(z[c] * scale, z0[c], 0.0, 1e-6 * xmax);
  decode_scaled(&pca, z, 1, scale, back);
  double err = 0.0;
  for (int64_t j = 0; j < g; j++) err = fmax(err, fabs((double)back[j] - x[j]));
  if (world_rank() == 0)
    print_message(
        "encode/decode of a row in the subspace: max |x - decode(encode(x))| %.2e "
        "(max |x| %.2f)\n",
        err, xmax);
  assert_true(err <= 4e-7 * xmax);

  /* Data rows: the projection mean + ((x - mean) V^T) V, computed here by plain loops. */
  const int64_t n = p.n;
  double *zz = malloc(sizeof(double) * (size_t)(n * k));
  float *xr = malloc(sizeof(float) * (size_t)(n * g));
  assert_true(zz && xr);
  encode_scaled(&pca, p.full, n, scale, zz);
  decode_scaled(&pca, zz, n, scale, xr);
  double zerr = 0.0, perr = 0.0, resid = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double zi[10];
    for (int c = 0; c < k; c++) {
      double s = 0.0;
      for (int64_t j = 0; j < g; j++)
        s += ((double)p.full[i * g + j] - pca.mean[j]) * pca.components[c * g + j];
      zi[c] = s;
      zerr = fmax(zerr, fabs(zz[i * k + c] * scale - s) / (1.0 + fabs(s)));
    }
    for (int64_t j = 0; j < g; j++) {
      double proj = pca.mean[j];
      for (int c = 0; c < k; c++) proj += zi[c] * pca.components[c * g + j];
      perr = fmax(perr, fabs((double)xr[i * g + j] - proj) / fabs(proj));
      resid = fmax(resid, fabs((double)p.full[i * g + j] - proj));
    }
  }
  if (world_rank() == 0)
    print_message(
        "encode/decode of %lld data rows: max rel |z - (x - mean) V^T| %.1e, max rel "
        "|decode - projection| %.1e, max |x - projection| %.1e\n",
        (long long)n, zerr, perr, resid);
  assert_true(zerr < 1e-12);
  assert_true(perr < 1.2e-7); /* float rounding of the output */
  assert_true(resid > 1e-4);  /* the rows do leave the subspace: the check is not vacuous */
  free(x);
  free(back);
  free(zz);
  free(xr);
  gpa_pca_destroy(&pca);
  problem_destroy(&p);
}

/* The tiles of encode/decode: g > the tile (column chunks) and several rows per tile. */
static void test_encode_decode_tiles(void **state) {
  (void)state;
  const int64_t gs[2] = {9000, 1000};
  for (int t = 0; t < 2; t++) {
    struct gpa_pca pca = {0};
    const int64_t g = gs[t], rows = 7;
    const int k = 3;
    pca.g = g;
    pca.k = k;
    pca.mean = malloc(sizeof(double) * (size_t)g);
    pca.components = malloc(sizeof(double) * (size_t)(k * g));
    float *x = malloc(sizeof(float) * (size_t)(rows * g));
    float *xr = malloc(sizeof(float) * (size_t)(rows * g));
    double *z = malloc(sizeof(double) * (size_t)(rows * k));
    assert_true(pca.mean && pca.components && x && xr && z);
    struct gpa_rng r;
    gpa_rng_init(&r, SEED, STREAM_Z, 1);
    for (int64_t j = 0; j < g; j++) pca.mean[j] = gpa_rng_normal(&r);
    for (int64_t j = 0; j < k * g; j++) pca.components[j] = gpa_rng_normal(&r) / sqrt((double)g);
    for (int64_t j = 0; j < rows * g; j++) x[j] = (float)gpa_rng_normal(&r);
    const double scale = 0.5;
    encode_scaled(&pca, x, rows, scale, z);
    decode_scaled(&pca, z, rows, scale, xr);
    for (int64_t i = 0; i < rows; i++) {
      for (int c = 0; c < k; c++) {
        double s = 0.0, sa = 0.0;
        for (int64_t j = 0; j < g; j++) {
          double term = ((double)x[i * g + j] - pca.mean[j]) * pca.components[c * g + j];
          s += term;
          sa += fabs(term);
        }
        ASSERT_CLOSE(z[i * k + c], s / scale, 0.0, 1e-13 * sa / scale);
      }
      for (int64_t j = 0; j < g; j++) {
        double v = pca.mean[j];
        for (int c = 0; c < k; c++) v += scale * z[i * k + c] * pca.components[c * g + j];
        ASSERT_CLOSE(xr[i * g + j], v, 1.2e-7, 1e-12);
      }
    }
    free(x);
    free(xr);
    free(z);
    gpa_pca_destroy(&pca);
  }
}

/* Collective: expects `code` on every rank, the same message everywhere, an empty result. */
static void expect_failure(const struct problem *p, struct gpa_block part, int k, int method,
                           int code, const char *must_contain1, const char *must_contain2) {
  struct gpa_pca pca;
  gpa_error_clear();
  int rc = gpa_pca_compute(MPI_COMM_WORLD, p->local, part, p->g, k, method, 10, 4, SEED, &pca);
  char message[1024];
  memset(message, 0, sizeof message);
  strncpy(message, gpa_error_message(), sizeof message - 1);
  int same = 0;
  TEST_OK(gpa_comm_identical(MPI_COMM_WORLD, message, sizeof message, &same));
  if (world_rank() == 0) print_message("expected failure: %s\n", message);
  gpa_error_clear();
  assert_int_equal(rc, code);
  assert_true(same);
  assert_non_null(strstr(message, must_contain1));
  if (must_contain2) assert_non_null(strstr(message, must_contain2));
  assert_null(pca.components);
  assert_null(pca.mean);
}

static void test_bad_inputs(void **state) {
  (void)state;
  struct problem p;
  problem_create(&p, 40, 500, 0);
  /* k = n: at most min(n - 1, g) = 39. */
  expect_failure(&p, p.part, 40, GPA_PCA_DENSE, GPA_ERR_INPUT, "k = 40", "39");
  expect_failure(&p, p.part, 40, GPA_PCA_RANDOMIZED, GPA_ERR_INPUT, "k = 40", "39");
  expect_failure(&p, p.part, 0, GPA_PCA_AUTO, GPA_ERR_INPUT, "k = 0", "39");
  expect_failure(&p, p.part, 5, 17, GPA_ERR_INPUT, "unknown method 17", NULL);
  if (world_size() > 1) {
    /* k differs on the last rank; the ranks' rows overlap. */
    const int k = world_rank() == world_size() - 1 ? 6 : 5;
    expect_failure(&p, p.part, k, GPA_PCA_DENSE, GPA_ERR_INPUT, "differs across ranks", NULL);
    struct gpa_block all = {p.n, p.n, 0};
    if (world_rank() == 0) /* rank 0 claims every row, the others keep theirs */
      expect_failure(&p, all, 5, GPA_PCA_DENSE, GPA_ERR_INPUT, "do not tile", NULL);
    else expect_failure(&p, p.part, 5, GPA_PCA_DENSE, GPA_ERR_INPUT, "do not tile", NULL);
  }
  /* NaN in the data of one rank. */
  float saved = p.local[0];
  if (p.part.n_local > 0 && p.part.offset == 0) p.local[0] = NAN;
  expect_failure(&p, p.part, 5, GPA_PCA_DENSE, GPA_ERR_INPUT, "NaN", NULL);
  p.local[0] = saved;
  /* And the communicator still works. */
  struct gpa_pca pca;
  double t;
  run_pca(&p, 5, GPA_PCA_DENSE, 0, 0, &pca, &t);
  gpa_pca_destroy(&pca);
  problem_destroy(&p);
}

/* The angle helper itself, on a rotation by a known angle. */
static void test_angle_helper(void **state) {
  (void)state;
  enum { K = 3, G = 6 };
  const double thetas[3] = {0.3, 1e-5, 1e-10};
  for (int t = 0; t < 3; t++) {
    double A[K * G] = {0}, B[K * G] = {0}, acos_form;
    for (int c = 0; c < K; c++) A[c * G + c] = B[c * G + c] = 1.0;
    B[1 * G + 1] = cos(thetas[t]);
    B[1 * G + 5] = sin(thetas[t]);
    double angle = largest_angle(A, B, K, G, &acos_form);
    ASSERT_CLOSE(angle, thetas[t], 1e-12, 0.0);
    if (t == 0) ASSERT_CLOSE(acos_form, thetas[t], 1e-12, 0.0);
  }
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_angle_helper),
    cmocka_unit_test(test_dense_tall),
    cmocka_unit_test(test_dense_near_square_uneven),
    cmocka_unit_test(test_dense_wide),
    cmocka_unit_test(test_small_uneven),
    cmocka_unit_test(test_randomized),
    cmocka_unit_test(test_encode_decode),
    cmocka_unit_test(test_encode_decode_tiles),
    cmocka_unit_test(test_bad_inputs),
};
GPA_TEST_MAIN(tests)
