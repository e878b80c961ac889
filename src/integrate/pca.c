/* Distributed PCA: see include/gpa/pca.h.
 *
 * Layouts.  The caller's rows may be split over the ranks in any way (`part`), but ScaLAPACK
 * describes a row distribution by one block size.  So the first step moves whole rows, with one
 * MPI_Alltoallv, into the "row slab": the n x g matrix as a block-cyclic matrix on a P x 1
 * process grid with row block mb = ceil(n / P), i.e. rank r holds global rows
 * [r mb, min((r + 1) mb, n)) (the last ranks may hold none).  The rows are centred on arrival and
 * stored column-major with leading dimension lld = max(1, local rows), which is both ScaLAPACK's
 * local layout and, read row-major, the local block of Xc^T ([g][lld]) for our BLIS products.
 * The matrix stays distributed throughout; only k x g, l x g and g x l pieces are replicated.
 *
 *   dense:      slab --pdgemr2d--> 2-D block-cyclic (nb x nb) on a near-square pr x pc grid,
 *               then pdgesvd (JOBU = 'N', JOBVT = 'V'), after a QR (n >= 1.6 g) or an LQ
 *               (g >= 1.6 n) that cuts the long side, as LAPACK's dgesvd does (pdgesvd does
 *               not).  The first k rows of V^T are scattered into a zeroed k x g buffer by their
 *               owners and summed over the ranks (exact: one non-zero term per entry).
 *   randomized: Y = Xc Omega, Z = Xc^T Q and B = Q^T Xc are local BLIS products on the slab
 *               (plus an allreduce for the g-sized results); the QR of the tall Y is
 *               pdgeqrf/pdorgqr on the slab's P x 1 grid, the QR of Z and the SVD of B are LAPACK
 *               on every rank with identical input.
 *
 * Both end with rank 0's result broadcast, so every rank holds bitwise the same PCA. */
#include "gpa/pca.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpa/linalg.h"
#include "gpa/rng.h"

/* Stream of the randomized method's test matrix Omega (gpa/rng.h has no entry of its own for
 * it; TEST + 1 stays clear of the library's streams and of the tests' >= 200). */
#define GPA_STREAM_PCA_SKETCH ((uint32_t)GPA_STREAM_TEST + 1u)

/* ... and the matrix has at most this many entries: beyond, the dense SVD's O(n g min(n, g))
 * flops cost far more than the randomized method's O(n g (k + p) (2q + 1)). */
#define PCA_AUTO_DENSE_ENTRIES 5.0e7

enum {
  PCA_NB = 64,           /* largest block of the 2-D block-cyclic layout */
  PCA_NB_MIN = 8,        /* smallest block chosen for small matrices */
  PCA_AUTO_DENSE = 4000, /* auto: dense when min(n, g) <= this ... */
  PCA_TILE = 4096,       /* doubles in the encode/decode tile (32 KiB on the stack) */
};

/* ------------------------------------------------------------------ BLACS, ScaLAPACK, LAPACK */
/* Debian ships no header for them: Fortran ABI, everything by pointer, hidden lengths of
 * character arguments last.  The BLACS C interface takes values. */

extern int Csys2blacs_handle(MPI_Comm comm);
extern void Cfree_blacs_system_handle(int handle);
extern void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
extern void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
extern void Cblacs_gridexit(int context);

extern int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
                   const int *nprocs);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
                      const int *irsrc, const int *icsrc, const int *ictxt, const int *lld,
                      int *info);
extern void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja,
                      const int *desca, double *b, const int *ib, const int *jb, const int *descb,
                      const int *ictxt);
extern void pdgeqrf_(const int *m, const int *n, double *a, const int *ia, const int *ja,
                     const int *desca, double *tau, double *work, const int *lwork, int *info);
extern void pdorgqr_(const int *m, const int *n, const int *k, double *a, const int *ia,
                     const int *ja, const int *desca, const double *tau, double *work,
                     const int *lwork, int *info);
extern void pdgelqf_(const int *m, const int *n, double *a, const int *ia, const int *ja,
                     const int *desca, double *tau, double *work, const int *lwork, int *info);
extern void pdormlq_(const char *side, const char *trans, const int *m, const int *n, const int *k,
                     const double *a, const int *ia, const int *ja, const int *desca,
                     const double *tau, double *c, const int *ic, const int *jc, const int *descc,
                     double *work, const int *lwork, int *info, size_t, size_t);
extern void pdgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
                     const int *ia, const int *ja, const int *desca, double *s, double *u,
                     const int *iu, const int *ju, const int *descu, double *vt, const int *ivt,
                     const int *jvt, const int *descvt, double *work, const int *lwork, int *info,
                     size_t, size_t);

extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
                    double *work, const int *lwork, int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
                    const double *tau, double *work, const int *lwork, int *info);
extern void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
                    const int *lda, double *s, double *u, const int *ldu, double *vt,
                    const int *ldvt, double *work, const int *lwork, int *info, size_t, size_t);

enum { DLEN = 9 }; /* ScaLAPACK array descriptor length */

/* ------------------------------------------------------------------ small helpers */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Local rows of the row slab on rank r: [r mb, min((r + 1) mb, n)). */
static int64_t slab_rows(int64_t n, int64_t mb, int r) {
  int64_t lo = (int64_t)r * mb;
  return lo >= n ? 0 : min64(mb, n - lo);
}

/* Global index of local index `il` in a block-cyclic distribution (block nb, nprocs processes,
 * first block on process 0) on process iproc. */
static int64_t local_to_global(int64_t il, int nb, int iproc, int nprocs) {
  return (il / nb) * nb * nprocs + (int64_t)iproc * nb + il % nb;
}

static int numroc(int n, int nb, int iproc, int nprocs) {
  int zero = 0;
  return numroc_(&n, &nb, &iproc, &zero, &nprocs);
}

/* The first non-zero INFO of several calls, 0 when all succeeded. */
static int first_error(const int *info, int count) {
  for (int i = 0; i < count; i++)
    if (info[i] != 0) return info[i];
  return 0;
}

/* Collective: turns a (Sca)LAPACK INFO into a status that every rank shares. */
static int lib_agree(MPI_Comm comm, const char *routine, int info) {
  int rc = GPA_OK;
  if (info != 0) rc = GPA_ERROR(GPA_ERR_LIB, "PCA: %s failed (info = %d)", routine, info);
  return gpa_comm_agree(comm, rc);
}

/* Collective: the largest workspace any rank asked for (a rank holding no rows may report too
 * little for the others' blocking), allocated on every rank. */
static int work_alloc(MPI_Comm comm, double query, double **work, int *lwork) {
  double need = query;
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, &need, 1, MPI_DOUBLE, MPI_MAX, comm));
  if (!(need < (double)INT_MAX - 1.0))
    return GPA_ERROR(GPA_ERR_INPUT,
                     "PCA: (Sca)LAPACK needs a workspace of %.0f doubles, more than "
                     "its 32-bit indexing allows; use more ranks",
                     need);
  *lwork = (int)need + 1;
  int rc = gpa_alloc_array(work, (size_t)*lwork, sizeof(double));
  GPA_CHECK(gpa_comm_agree(comm, rc));
  return GPA_OK;
}

/* ------------------------------------------------------------------ inputs */

/* What every rank passed, gathered on every rank so that all validate the same table. */
enum { M_OFFSET, M_ROWS, M_N, M_G, M_K, M_METHOD, M_OVERSAMPLE, M_POWER, M_SEED, M_LEN };
static const char *const meta_names[M_LEN] = {"row offset",
                                              "row count",
                                              "number of rows n",
                                              "number of genes g",
                                              "number of components k",
                                              "method",
                                              "oversampling",
                                              "number of power iterations",
                                              "seed"};

struct range {
  int64_t lo, count;
};

static int range_cmp(const void *a, const void *b) {
  const struct range *x = a, *y = b;
  return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Not collective, but run on identical tables: every rank finds the same first problem. */
static int check_inputs(const int64_t *meta, int size, struct range *ranges) {
  for (int r = 1; r < size; r++)
    for (int f = M_N; f < M_LEN; f++)
      if (meta[r * M_LEN + f] != meta[f])
        return GPA_ERROR(GPA_ERR_INPUT,
                         "PCA: the %s differs across ranks (%lld on rank 0, %lld "
                         "on rank %d)",
                         meta_names[f], (long long)meta[f], (long long)meta[r * M_LEN + f], r);
  const int64_t n = meta[M_N], g = meta[M_G], k = meta[M_K];
  const int64_t limit = min64(n - 1, g);
  if (k < 1 || k > limit)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "PCA: k = %lld components requested, but k must be between 1 "
                     "and min(n - 1, g) = %lld (n = %lld samples, g = %lld genes)",
                     (long long)k, (long long)(limit > 0 ? limit : 0), (long long)n, (long long)g);
  if (n > INT_MAX || g > INT_MAX)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "PCA: a %lld x %lld matrix exceeds the 32-bit dimensions of "
                     "ScaLAPACK and LAPACK",
                     (long long)n, (long long)g);
  if (meta[M_METHOD] != GPA_PCA_AUTO && meta[M_METHOD] != GPA_PCA_DENSE &&
      meta[M_METHOD] != GPA_PCA_RANDOMIZED)
    return GPA_ERROR(GPA_ERR_INPUT, "PCA: unknown method %lld (expected auto|dense|randomized)",
                     (long long)meta[M_METHOD]);
  if (meta[M_OVERSAMPLE] < 0 || meta[M_POWER] < 0)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "PCA: oversampling (%lld) and power iterations (%lld) must "
                     "be >= 0",
                     (long long)meta[M_OVERSAMPLE], (long long)meta[M_POWER]);
  /* The rank ranges must tile [0, n): sorted by offset, the non-empty ones follow each other. */
  int used = 0;
  for (int r = 0; r < size; r++) {
    int64_t lo = meta[r * M_LEN + M_OFFSET], count = meta[r * M_LEN + M_ROWS];
    if (count < 0 || count > INT_MAX || lo < 0 || lo > n - count)
      return GPA_ERROR(GPA_ERR_INPUT, "PCA: rank %d holds rows [%lld, %lld) outside [0, %lld)", r,
                       (long long)lo, (long long)(lo + count), (long long)n);
    if (count > 0) ranges[used++] = (struct range){lo, count};
  }
  qsort(ranges, (size_t)used, sizeof *ranges, range_cmp);
  int64_t next = 0;
  int i = 0;
  for (; i < used && ranges[i].lo == next; i++) next += ranges[i].count;
  if (i < used || next != n)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "PCA: the ranks' rows do not tile [0, %lld) exactly (gap or "
                     "overlap at row %lld)",
                     (long long)n, (long long)next);
  return GPA_OK;
}

/* meta [size][M_LEN] and ranges [size]. */
static int inputs_alloc(int size, int64_t **meta, struct range **ranges) {
  GPA_CHECK(gpa_alloc_array(meta, (size_t)size * M_LEN, sizeof(int64_t)));
  GPA_CHECK(gpa_alloc_array(ranges, (size_t)size, sizeof **ranges));
  return GPA_OK;
}

/* Collective: every rank's mine [M_LEN] into meta [size][M_LEN]. */
static int allgather_meta(MPI_Comm comm, const int64_t *mine, int64_t *meta) {
  GPA_MPI(MPI_Allgather(mine, M_LEN, MPI_INT64_T, meta, M_LEN, MPI_INT64_T, comm));
  return GPA_OK;
}

/* Collective: gathers every rank's arguments into meta [size][M_LEN] and validates them. */
static int gather_inputs(MPI_Comm comm, int size, struct gpa_block part, int64_t g, int k,
                         int method, int oversample, int power_iterations, uint64_t seed,
                         int64_t **meta) {
  struct range *ranges = NULL;
  const int64_t mine[M_LEN] = {part.offset, part.n_local,     part.n_global, g, k, method,
                               oversample,  power_iterations, (int64_t)seed};
  int rc;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, inputs_alloc(size, meta, &ranges)), done);
  GPA_CHECK_GOTO(rc, allgather_meta(comm, mine, *meta), done);
  GPA_CHECK_GOTO(rc, check_inputs(*meta, size, ranges), done);
done:
  gpa_free(&ranges);
  if (rc != GPA_OK) gpa_free(meta);
  return rc;
}

/* ------------------------------------------------------------------ the centred row slab */

struct slab {
  int64_t n, g;
  int64_t mb;   /* rows per rank: ceil(n / P) */
  int64_t rows; /* rows held here: global rows [rank mb, rank mb + rows) */
  int64_t lld;  /* max(1, rows) */
  double *a;    /* [g][lld]: column-major rows x g block of Xc, a[j lld + i] = Xc(rank mb + i, j) */
};

/* Collective: mean [g] = column means of X. */
static int column_means(MPI_Comm comm, const float *X_local, struct gpa_block part, int64_t g,
                        double *mean) {
  for (int64_t i = 0; i < part.n_local; i++) {
    const float *x = X_local + i * g;
    for (int64_t j = 0; j < g; j++) mean[j] += x[j];
  }
  GPA_CHECK(gpa_allreduce_sum(comm, mean, g));
  int finite = 1;
  for (int64_t j = 0; j < g; j++) {
    mean[j] /= (double)part.n_global;
    finite &= isfinite(mean[j]);
  }
  if (!finite) return GPA_ERROR(GPA_ERR_INPUT, "PCA: the data contain NaN or Inf values");
  return GPA_OK;
}

/* Collective: the MPI_Alltoallv of whole rows of g floats; counts [4][size] holds the send
 * counts, send offsets, receive counts and receive offsets, in rows. */
static int alltoallv_rows(MPI_Comm comm, int size, const float *X_local, const int *counts,
                          float *recv, int64_t g) {
  MPI_Datatype row;
  GPA_MPI(MPI_Type_contiguous((int)g, MPI_FLOAT, &row));
  int mpi_rc = MPI_Type_commit(&row);
  if (mpi_rc == MPI_SUCCESS)
    mpi_rc = MPI_Alltoallv(X_local, counts, counts + size, row, recv, counts + 2 * size,
                           counts + 3 * size, row, comm);
  GPA_MPI(MPI_Type_free(&row));
  if (mpi_rc != MPI_SUCCESS) return gpa_mpi_error(mpi_rc, "MPI_Alltoallv");
  return GPA_OK;
}

/* The slab's counts [4][size], its received rows recv [rows][g] and its matrix s->a. */
static int slab_alloc(struct slab *s, int size, int **counts, float **recv) {
  GPA_CHECK(gpa_alloc_array(counts, 4 * (size_t)size, sizeof(int)));
  GPA_CHECK(gpa_alloc_array(recv, (size_t)(s->rows * s->g), sizeof(float)));
  GPA_CHECK(gpa_alloc_array(&s->a, (size_t)(s->lld * s->g), sizeof(double)));
  return GPA_OK;
}

/* counts [4][size] of the move to the slab, in rows: send counts, send offsets, receive
 * counts, receive offsets. */
static void slab_counts(const int64_t *meta, int rank, int size, const struct slab *s,
                        int *counts) {
  const int64_t n = s->n;
  const int64_t my_lo = meta[rank * M_LEN + M_OFFSET], my_count = meta[rank * M_LEN + M_ROWS];
  const int64_t slab_lo = rank * s->mb;
  int *scount = counts, *sdispl = counts + size, *rcount = counts + 2 * size,
      *rdispl = counts + 3 * size;
  for (int q = 0; q < size; q++) {
    /* Mine to q: my rows inside q's slab.  From q: q's rows inside my slab. */
    int64_t lo = max64(my_lo, q * s->mb);
    int64_t hi = min64(my_lo + my_count, q * s->mb + slab_rows(n, s->mb, q));
    scount[q] = hi > lo ? (int)(hi - lo) : 0;
    sdispl[q] = hi > lo ? (int)(lo - my_lo) : 0;
    const int64_t q_lo = meta[q * M_LEN + M_OFFSET], q_count = meta[q * M_LEN + M_ROWS];
    lo = max64(q_lo, slab_lo);
    hi = min64(q_lo + q_count, slab_lo + s->rows);
    rcount[q] = hi > lo ? (int)(hi - lo) : 0;
    rdispl[q] = hi > lo ? (int)(lo - slab_lo) : 0;
  }
}

/* s->a = the received rows recv [rows][g] centred, column-major; returns this rank's sum of
 * squares.  Transposes 64 rows at a time (their cache lines stay warm over consecutive
 * columns). */
static double slab_centre(struct slab *s, const float *recv, const double *mean) {
  const int64_t g = s->g;
  double ss = 0.0;
  for (int64_t i0 = 0; i0 < s->rows; i0 += 64) {
    const int64_t i1 = min64(i0 + 64, s->rows);
    for (int64_t j = 0; j < g; j++) {
      double *col = s->a + j * s->lld;
      for (int64_t i = i0; i < i1; i++) {
        double v = (double)recv[i * g + j] - mean[j];
        col[i] = v;
        ss += v * v;
      }
    }
  }
  return ss;
}

/* Collective: moves whole rows (float) from the caller's split to the row slab with one
 * MPI_Alltoallv and stores them centred, in double, column-major.  Also returns the total
 * variance (sum of the column variances, divisor n - 1). */
static int slab_create(MPI_Comm comm, int rank, int size, const int64_t *meta, const float *X_local,
                       const double *mean, struct slab *s, double *total_variance) {
  const int64_t n = meta[M_N], g = meta[M_G];
  s->n = n;
  s->g = g;
  s->mb = (n + size - 1) / size;
  s->rows = slab_rows(n, s->mb, rank);
  s->lld = max64(1, s->rows);
  int *counts = NULL; /* [4][size] */
  float *recv = NULL; /* [rows][g] */
  int rc;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, slab_alloc(s, size, &counts, &recv)), done);
  slab_counts(meta, rank, size, s, counts);
  GPA_CHECK_GOTO(rc, alltoallv_rows(comm, size, X_local, counts, recv, g), done);
  double ss = slab_centre(s, recv, mean);
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(comm, &ss, 1), done);
  *total_variance = ss / (double)(n - 1);

done:
  gpa_free(&counts);
  gpa_free(&recv);
  return rc;
}

/* ------------------------------------------------------------------ BLACS grids */

struct grids {
  int slab;         /* P x 1 context of the row slab (process row = rank) */
  int grid;         /* pr x pc context of the dense method, -1 when not made */
  int pr, pc;       /* shape of `grid` */
  int myrow, mycol; /* this rank's place in `grid` */
};

/* Near-square pr x pc = P using every rank (the largest divisor <= sqrt(P)); the longer side
 * of the grid goes with the longer side of the n x g matrix. */
static void grid_shape(int size, int64_t n, int64_t g, int *pr, int *pc) {
  int a = 1;
  for (int d = 1; (int64_t)d * d <= size; d++)
    if (size % d == 0) a = d;
  *pr = n >= g ? size / a : a;
  *pc = size / *pr;
}

/* Collective: the slab context, and the 2-D grid when `with_grid`. */
static int grids_open(MPI_Comm comm, int rank, int size, int with_grid, int64_t n, int64_t g,
                      struct grids *gr) {
  const int handle = Csys2blacs_handle(comm);
  int nprow, npcol, myrow, mycol;
  gr->slab = handle;
  Cblacs_gridinit(&gr->slab, "R", size, 1);
  Cblacs_gridinfo(gr->slab, &nprow, &npcol, &myrow, &mycol);
  gr->grid = -1;
  gr->pr = gr->pc = 1;
  gr->myrow = gr->mycol = 0;
  int ok = nprow == size && npcol == 1 && myrow == rank;
  if (with_grid) {
    grid_shape(size, n, g, &gr->pr, &gr->pc);
    gr->grid = handle;
    Cblacs_gridinit(&gr->grid, "R", gr->pr, gr->pc);
    Cblacs_gridinfo(gr->grid, &nprow, &npcol, &gr->myrow, &gr->mycol);
    ok = ok && nprow == gr->pr && npcol == gr->pc && gr->myrow >= 0;
  }
  Cfree_blacs_system_handle(handle); /* the contexts hold communicators of their own */
  int rc =
      ok ? GPA_OK : GPA_ERROR(GPA_ERR_INTERNAL, "PCA: BLACS grid does not follow the MPI ranks");
  return gpa_comm_agree(comm, rc);
}

static void grids_close(struct grids *gr) {
  if (gr->grid >= 0) Cblacs_gridexit(gr->grid);
  if (gr->slab >= 0) Cblacs_gridexit(gr->slab);
  gr->grid = gr->slab = -1;
}

/* ------------------------------------------------------------------ dense: ScaLAPACK pdgesvd */

/* Block size of the 2-D layout: PCA_NB, halved while a process row or column would get no
 * block of the m x g matrix. */
static int grid_block(int64_t m, int64_t g, int pr, int pc) {
  int nb = PCA_NB;
  while (nb > PCA_NB_MIN && ((int64_t)nb * pr > m || (int64_t)nb * pc > g)) nb /= 2;
  return nb;
}

/* How the dense method factorises the n x g matrix A = Xc.  pdgesvd bidiagonalises whatever it
 * gets and computes all min(m, n) singular vectors, so a long side is cut first, as LAPACK's
 * dgesvd does beyond its crossover 1.6:
 *   direct: pdgesvd of A, VT is min(n, g) x g;
 *   qr (n >= 1.6 g): A = Q R, pdgesvd of the g x g R, whose VT is A's;
 *   lq (g >= 1.6 n): A = L Q, pdgesvd of the n x n L = U S W^T, and A's first k right singular
 *     vectors are the rows of [W^T(1:k, :) 0] Q (pdormlq on a k x g matrix). */
enum { SHAPE_DIRECT, SHAPE_QR, SHAPE_LQ };

/* Collective: comps [k][g] (rows of V^T) and sv [k] by ScaLAPACK on the 2-D grid.  Frees the
 * slab's matrix once it is copied to the 2-D layout. */
static int pca_dense(MPI_Comm comm, const struct grids *gr, struct slab *s, int k, double *comps,
                     double *sv) {
  const int n = (int)s->n, g = (int)s->g, one = 1, zero = 0, neg = -1;
  const int pr = gr->pr, pc = gr->pc, myrow = gr->myrow, mycol = gr->mycol;
  const int nb = grid_block(s->n, s->g, pr, pc);
  const int shape = (double)n >= 1.6 * g   ? SHAPE_QR
                    : (double)g >= 1.6 * n ? SHAPE_LQ
                                           : SHAPE_DIRECT;
  /* pdgesvd factorises the m x w matrix `f` (A itself, its R or its L) and returns r rows of
   * VT; `out` [kout][g] holds the rows wanted (VT itself, or [W^T 0] Q for lq). */
  const int m = shape == SHAPE_QR ? g : n, w = shape == SHAPE_LQ ? n : g;
  const int r = m < w ? m : w, kout = shape == SHAPE_LQ ? k : r;
  const int mloc = numroc(n, nb, myrow, pr), nloc = numroc(g, nb, mycol, pc);
  const int wloc = numroc(w, nb, mycol, pc), vloc = numroc(r, nb, myrow, pr);
  const int oloc = numroc(kout, nb, myrow, pr);
  const int lld = mloc > 1 ? mloc : 1, lldv = vloc > 1 ? vloc : 1, lldo = oloc > 1 ? oloc : 1;

  /* ScaLAPACK indexes local arrays with 32-bit ints; the largest pieces are on process 0. */
  const int64_t biggest = max64(s->mb * s->g, (int64_t)numroc(n, nb, 0, pr) * numroc(g, nb, 0, pc));
  if (biggest > INT_MAX)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "PCA: %lld x %lld on %d ranks puts %lld elements on one rank, "
                     "more than ScaLAPACK's 32-bit indexing allows; use more ranks or the "
                     "randomized method",
                     (long long)s->n, (long long)s->g, pr * pc, (long long)biggest);

  int desc_slab[DLEN], desc_a[DLEN], desc_l[DLEN], desc_vt[DLEN], desc_out[DLEN];
  int info[5] = {0};
  const int slab_mb = (int)s->mb, slab_lld = (int)s->lld;
  descinit_(desc_slab, &n, &g, &slab_mb, &g, &zero, &zero, &gr->slab, &slab_lld, &info[0]);
  descinit_(desc_a, &n, &g, &nb, &nb, &zero, &zero, &gr->grid, &lld, &info[1]);
  descinit_(desc_l, &n, &n, &nb, &nb, &zero, &zero, &gr->grid, &lld, &info[2]);
  descinit_(desc_vt, &r, &w, &nb, &nb, &zero, &zero, &gr->grid, &lldv, &info[3]);
  descinit_(desc_out, &kout, &g, &nb, &nb, &zero, &zero, &gr->grid, &lldo, &info[4]);
  GPA_CHECK(lib_agree(comm, "descinit", first_error(info, 5)));

  double *a = NULL, *l = NULL, *vt = NULL, *out = NULL, *s_all = NULL, *tau = NULL, *work = NULL;
  int lwork = 0;
  const size_t cols = (size_t)(nloc > 0 ? nloc : 1), wcols = (size_t)(wloc > 0 ? wloc : 1);
  int rc = gpa_alloc_array(&a, (size_t)lld * cols, sizeof(double));
  if (rc == GPA_OK) rc = gpa_alloc_array(&vt, (size_t)lldv * wcols, sizeof(double));
  if (rc == GPA_OK) rc = gpa_alloc_array(&s_all, (size_t)r, sizeof(double));
  if (rc == GPA_OK)
    rc = gpa_alloc_array(&tau, (size_t)(mloc > nloc ? mloc : nloc) + nb, sizeof(double));
  if (rc == GPA_OK && shape == SHAPE_LQ) {
    rc = gpa_alloc_array(&l, (size_t)lld * wcols, sizeof(double));
    if (rc == GPA_OK) rc = gpa_alloc_array(&out, (size_t)lldo * cols, sizeof(double));
  }
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, rc), done);
  double *f = shape == SHAPE_LQ ? l : a; /* what pdgesvd factorises */
  const int *desc_f = shape == SHAPE_LQ ? desc_l : desc_a;
  if (shape != SHAPE_LQ) out = vt;

  /* Row slab -> 2-D block-cyclic. */
  pdgemr2d_(&n, &g, s->a, &one, &one, desc_slab, a, &one, &one, desc_a, &gr->grid);
  gpa_free(&s->a);

  /* Workspace: the largest of the queries, over all ranks. */
  double q[3] = {0}, dummy = 0.0;
  int qinfo[3] = {0};
  if (shape == SHAPE_QR) pdgeqrf_(&n, &g, a, &one, &one, desc_a, tau, &q[0], &neg, &qinfo[0]);
  if (shape == SHAPE_LQ) {
    pdgelqf_(&n, &g, a, &one, &one, desc_a, tau, &q[0], &neg, &qinfo[0]);
    pdormlq_("R", "N", &k, &g, &n, a, &one, &one, desc_a, tau, out, &one, &one, desc_out, &q[2],
             &neg, &qinfo[2], 1, 1);
  }
  pdgesvd_("N", "V", &m, &w, f, &one, &one, desc_f, s_all, &dummy, &one, &one, desc_f, vt, &one,
           &one, desc_vt, &q[1], &neg, &qinfo[1], 1, 1);
  GPA_CHECK_GOTO(rc, lib_agree(comm, "a workspace query", first_error(qinfo, 3)), done);
  GPA_CHECK_GOTO(rc, work_alloc(comm, fmax(q[0], fmax(q[1], q[2])), &work, &lwork), done);

  int inf = 0;
  if (shape == SHAPE_QR) {
    pdgeqrf_(&n, &g, a, &one, &one, desc_a, tau, work, &lwork, &inf);
    GPA_CHECK_GOTO(rc, lib_agree(comm, "pdgeqrf", inf), done);
    /* Keep R: zero what lies below the diagonal (the Householder vectors). */
    for (int jl = 0; jl < nloc; jl++) {
      const int64_t j = local_to_global(jl, nb, mycol, pc);
      for (int il = 0; il < mloc; il++)
        if (local_to_global(il, nb, myrow, pr) > j) a[(int64_t)jl * lld + il] = 0.0;
    }
  } else if (shape == SHAPE_LQ) {
    pdgelqf_(&n, &g, a, &one, &one, desc_a, tau, work, &lwork, &inf);
    GPA_CHECK_GOTO(rc, lib_agree(comm, "pdgelqf", inf), done);
    /* L is the lower triangle of A(1:n, 1:n); the same distribution makes A's first wloc local
     * columns L's local columns.  The Householder vectors stay in A for pdormlq. */
    for (int jl = 0; jl < wloc; jl++) {
      const int64_t j = local_to_global(jl, nb, mycol, pc);
      for (int il = 0; il < mloc; il++)
        if (local_to_global(il, nb, myrow, pr) >= j)
          l[(int64_t)jl * lld + il] = a[(int64_t)jl * lld + il];
    }
  }
  pdgesvd_("N", "V", &m, &w, f, &one, &one, desc_f, s_all, &dummy, &one, &one, desc_f, vt, &one,
           &one, desc_vt, work, &lwork, &inf, 1, 1);
  GPA_CHECK_GOTO(rc, lib_agree(comm, "pdgesvd", inf), done);
  if (shape == SHAPE_LQ) {
    /* out = [W^T(1:k, :) 0] (k x g), then out Q.  Same distribution: W^T's local rows below
     * oloc and columns below wloc are out's. */
    for (int jl = 0; jl < wloc; jl++)
      for (int il = 0; il < oloc; il++) out[(int64_t)jl * lldo + il] = vt[(int64_t)jl * lldv + il];
    pdormlq_("R", "N", &k, &g, &n, a, &one, &one, desc_a, tau, out, &one, &one, desc_out, work,
             &lwork, &inf, 1, 1);
    GPA_CHECK_GOTO(rc, lib_agree(comm, "pdormlq", inf), done);
  }

  /* The first k rows of `out` on every rank: owners write their entries, the sum fills in. */
  memset(comps, 0, sizeof(double) * (size_t)k * (size_t)g);
  for (int il = 0; il < oloc; il++) {
    const int64_t i = local_to_global(il, nb, myrow, pr);
    if (i >= k) continue;
    for (int jl = 0; jl < nloc; jl++)
      comps[i * g + local_to_global(jl, nb, mycol, pc)] = out[(int64_t)jl * lldo + il];
  }
  GPA_CHECK_GOTO(rc, gpa_allreduce_sum(comm, comps, (int64_t)k * g), done);
  memcpy(sv, s_all, sizeof(double) * (size_t)k); /* pdgesvd returns S on every process */

done:
  if (shape == SHAPE_LQ) gpa_free(&out);
  gpa_free(&a);
  gpa_free(&l);
  gpa_free(&vt);
  gpa_free(&s_all);
  gpa_free(&tau);
  gpa_free(&work);
  return rc;
}

/* ------------------------------------------------------------------ randomized */

/* The distributed tall-skinny Y (n x l) in the slab layout and what its QR needs. */
struct sketch {
  int n, l, mb, lld;
  int desc[DLEN];
  double *y;   /* [l][lld]: column-major local rows x l block of Y (then of Q) */
  double *tau; /* [l] */
};

/* Collective: Y <- Q of its QR (pdgeqrf + pdorgqr). */
static int sketch_orthonormalise(MPI_Comm comm, struct sketch *y, double *work, int lwork) {
  const int one = 1;
  int info = 0;
  pdgeqrf_(&y->n, &y->l, y->y, &one, &one, y->desc, y->tau, work, &lwork, &info);
  GPA_CHECK(lib_agree(comm, "pdgeqrf", info));
  pdorgqr_(&y->n, &y->l, &y->l, y->y, &one, &one, y->desc, y->tau, work, &lwork, &info);
  GPA_CHECK(lib_agree(comm, "pdorgqr", info));
  return GPA_OK;
}

/* Collective: bt [l][g] = Q^T Xc (row-major; the same as column-major Xc^T Q, g x l). */
static int project_rows(MPI_Comm comm, const struct slab *s, const struct sketch *y, double *bt) {
  gpa_gemm('N', 'T', y->l, s->g, s->rows, 1.0, y->y, y->lld, s->a, s->lld, 0.0, bt, s->g);
  GPA_CHECK(gpa_allreduce_sum(comm, bt, (int64_t)y->l * s->g));
  return GPA_OK;
}

/* The randomized method's buffers besides the sketch. */
struct rand_buffers {
  double *omega; /* [g][l] the test matrix */
  double *bt;    /* [l][g] Q^T Xc, and Z = Xc^T Q column-major */
  double *u;     /* [l][g] right singular vectors of B, as rows */
  double *s_all; /* [l] singular values */
  double *tau;   /* [l] */
  double *work;  /* [lwork] for every (Sca)LAPACK call */
  int lwork;
};

static int rand_alloc(struct rand_buffers *b, struct sketch *y, int64_t g, int l, int nb) {
  GPA_CHECK(gpa_alloc_array(&b->omega, (size_t)(g * l), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&b->bt, (size_t)(g * l), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&b->u, (size_t)(g * l), sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&b->s_all, (size_t)l, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&b->tau, (size_t)l, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&y->y, (size_t)y->lld * (size_t)l, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&y->tau, (size_t)l + (size_t)nb, sizeof(double)));
  return GPA_OK;
}

static void rand_free(struct rand_buffers *b, struct sketch *y) {
  gpa_free(&b->omega);
  gpa_free(&b->bt);
  gpa_free(&b->u);
  gpa_free(&b->s_all);
  gpa_free(&b->tau);
  gpa_free(&y->y);
  gpa_free(&y->tau);
  gpa_free(&b->work);
}

/* Collective: the workspace of pdgeqrf, pdorgqr, dgeqrf, dorgqr and dgesvd: one buffer, the
 * largest. */
static int rand_workspace(MPI_Comm comm, struct sketch *y, int64_t g, struct rand_buffers *b) {
  const int gi = (int)g, l = y->l, one = 1, neg = -1;
  double q[5] = {0};
  int infos[5] = {0};
  pdgeqrf_(&y->n, &l, y->y, &one, &one, y->desc, y->tau, &q[0], &neg, &infos[0]);
  pdorgqr_(&y->n, &l, &l, y->y, &one, &one, y->desc, y->tau, &q[1], &neg, &infos[1]);
  dgeqrf_(&gi, &l, b->bt, &gi, b->tau, &q[2], &neg, &infos[2]);
  dorgqr_(&gi, &l, &l, b->bt, &gi, b->tau, &q[3], &neg, &infos[3]);
  double dummy = 0.0;
  dgesvd_("S", "N", &gi, &l, b->bt, &gi, b->s_all, b->u, &gi, &dummy, &one, &q[4], &neg, &infos[4],
          1, 1);
  static const char *const names[5] = {"pdgeqrf", "pdorgqr", "dgeqrf", "dorgqr", "dgesvd"};
  double need = 0.0;
  for (int i = 0; i < 5; i++) {
    GPA_CHECK(lib_agree(comm, names[i], infos[i]));
    if (q[i] > need) need = q[i];
  }
  return work_alloc(comm, need, &b->work, &b->lwork);
}

/* Omega [g][l]: column c is the normal sequence of generator (seed, stream, c), the same on
 * every rank and, column by column, for any l. */
static void test_matrix(double *omega, int64_t g, int l, uint64_t seed) {
  for (int c = 0; c < l; c++) {
    struct gpa_rng rng;
    gpa_rng_init(&rng, seed, GPA_STREAM_PCA_SKETCH, (uint64_t)c);
    for (int64_t i = 0; i < g; i++) omega[i * l + c] = gpa_rng_normal(&rng);
  }
}

/* Collective: Q, the orthonormal basis of the range of Xc Omega, refined by power iterations
 * (Z = Xc^T Q orthonormalised identically on every rank, then Q of Xc Z), in y. */
static int range_finder(MPI_Comm comm, const struct slab *s, int power_iterations, struct sketch *y,
                        struct rand_buffers *b) {
  const int64_t g = s->g;
  const int gi = (int)g, l = y->l;
  int info = 0;
  /* Y^T [l][lld] = Omega^T Xc^T, then Q. */
  gpa_gemm('T', 'N', l, s->rows, g, 1.0, b->omega, l, s->a, s->lld, 0.0, y->y, y->lld);
  GPA_CHECK(sketch_orthonormalise(comm, y, b->work, b->lwork));
  for (int it = 0; it < power_iterations; it++) {
    /* Z = Xc^T Q (g x l, column-major in bt), orthonormalised identically on every rank. */
    GPA_CHECK(project_rows(comm, s, y, b->bt));
    dgeqrf_(&gi, &l, b->bt, &gi, b->tau, b->work, &b->lwork, &info);
    GPA_CHECK(lib_agree(comm, "dgeqrf", info));
    dorgqr_(&gi, &l, &l, b->bt, &gi, b->tau, b->work, &b->lwork, &info);
    GPA_CHECK(lib_agree(comm, "dorgqr", info));
    /* Y^T = Z^T Xc^T, then Q. */
    gpa_gemm('N', 'N', l, s->rows, g, 1.0, b->bt, g, s->a, s->lld, 0.0, y->y, y->lld);
    GPA_CHECK(sketch_orthonormalise(comm, y, b->work, b->lwork));
  }
  return GPA_OK;
}

/* Collective: comps [k][g] and sv [k] by the randomized range finder with power iterations. */
static int pca_randomized(MPI_Comm comm, const struct grids *gr, const struct slab *s, int k,
                          int oversample, int power_iterations, uint64_t seed, double *comps,
                          double *sv) {
  const int64_t g = s->g;
  const int l = (int)min64(min64((int64_t)k + oversample, s->n), g);
  const int gi = (int)g, one = 1, zero = 0;
  if (s->mb * l > INT_MAX || g * l > INT_MAX)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "PCA: the %lld x %d sketch exceeds the 32-bit indexing of "
                     "ScaLAPACK and LAPACK; use more ranks or fewer components",
                     (long long)s->n, l);

  struct sketch y = {.n = (int)s->n, .l = l, .mb = (int)s->mb, .lld = (int)s->lld};
  const int nb = l < PCA_NB ? l : PCA_NB;
  int info = 0;
  descinit_(y.desc, &y.n, &y.l, &y.mb, &nb, &zero, &zero, &gr->slab, &y.lld, &info);
  GPA_CHECK(lib_agree(comm, "descinit", info));

  struct rand_buffers b = {0};
  int rc;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, rand_alloc(&b, &y, g, l, nb)), done);
  GPA_CHECK_GOTO(rc, rand_workspace(comm, &y, g, &b), done);
  test_matrix(b.omega, g, l, seed);
  GPA_CHECK_GOTO(rc, range_finder(comm, s, power_iterations, &y, &b), done);

  /* B = Q^T Xc (l x g), i.e. B^T column-major g x l: its left singular vectors are the right
   * singular vectors of B.  u [l][g] holds them as rows. */
  GPA_CHECK_GOTO(rc, project_rows(comm, s, &y, b.bt), done);
  double dummy = 0.0;
  dgesvd_("S", "N", &gi, &l, b.bt, &gi, b.s_all, b.u, &gi, &dummy, &one, b.work, &b.lwork, &info, 1,
          1);
  GPA_CHECK_GOTO(rc, lib_agree(comm, "dgesvd", info), done);
  memcpy(comps, b.u, sizeof(double) * (size_t)k * (size_t)g);
  memcpy(sv, b.s_all, sizeof(double) * (size_t)k);

done:
  rand_free(&b, &y);
  return rc;
}

/* ------------------------------------------------------------------ public */

/* The result's arrays: mean [g], components [k][g], singular values and explained [k]. */
static int pca_alloc(struct gpa_pca *pca, int64_t g, int k) {
  GPA_CHECK(gpa_alloc_array(&pca->mean, (size_t)g, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&pca->components, (size_t)k * (size_t)g, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&pca->singular_values, (size_t)k, sizeof(double)));
  GPA_CHECK(gpa_alloc_array(&pca->explained, (size_t)k, sizeof(double)));
  return GPA_OK;
}

/* Each component's entry of largest magnitude (the first, on ties) made positive. */
static void fix_signs(double *comps, int k, int64_t g) {
  for (int c = 0; c < k; c++) {
    double *v = comps + (int64_t)c * g;
    int64_t arg = 0;
    for (int64_t j = 1; j < g; j++)
      if (fabs(v[j]) > fabs(v[arg])) arg = j;
    if (v[arg] < 0.0) gpa_scal(g, -1.0, v);
  }
}

int gpa_pca_compute(MPI_Comm comm, const float *X_local, struct gpa_block part, int64_t g, int k,
                    int method, int oversample, int power_iterations, uint64_t seed,
                    struct gpa_pca *pca) {
  memset(pca, 0, sizeof *pca);
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  int64_t *meta = NULL;
  GPA_CHECK(
      gather_inputs(comm, size, part, g, k, method, oversample, power_iterations, seed, &meta));
  const int64_t n = part.n_global;
  if (method == GPA_PCA_AUTO)
    method = min64(n, g) <= PCA_AUTO_DENSE && (double)n * (double)g <= PCA_AUTO_DENSE_ENTRIES
                 ? GPA_PCA_DENSE
                 : GPA_PCA_RANDOMIZED;

  struct slab s = {0};
  struct grids gr = {.slab = -1, .grid = -1};
  pca->g = g;
  pca->k = k;
  pca->method = method;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, pca_alloc(pca, g, k)), done);

  GPA_CHECK_GOTO(rc, column_means(comm, X_local, part, g, pca->mean), done);
  GPA_CHECK_GOTO(
      rc, slab_create(comm, rank, size, meta, X_local, pca->mean, &s, &pca->total_variance), done);
  GPA_CHECK_GOTO(rc, grids_open(comm, rank, size, method == GPA_PCA_DENSE, n, g, &gr), done);
  if (method == GPA_PCA_DENSE)
    GPA_CHECK_GOTO(rc, pca_dense(comm, &gr, &s, k, pca->components, pca->singular_values), done);
  else
    GPA_CHECK_GOTO(rc,
                   pca_randomized(comm, &gr, &s, k, oversample, power_iterations, seed,
                                  pca->components, pca->singular_values),
                   done);

  /* Rank 0's result everywhere, bitwise (independent of how MPI orders its reductions). */
  GPA_CHECK_GOTO(
      rc, gpa_bcast_bytes(comm, pca->components, sizeof(double) * (size_t)k * (size_t)g, 0), done);
  GPA_CHECK_GOTO(rc, gpa_bcast_bytes(comm, pca->singular_values, sizeof(double) * (size_t)k, 0),
                 done);
  fix_signs(pca->components, k, g);
  for (int c = 0; c < k; c++) {
    const double var = pca->singular_values[c] * pca->singular_values[c] / (double)(n - 1);
    pca->explained[c] = pca->total_variance > 0.0 ? var / pca->total_variance : 0.0;
  }

done:
  grids_close(&gr);
  gpa_free(&s.a);
  gpa_free(&meta);
  if (rc != GPA_OK) gpa_pca_destroy(pca);
  return rc;
}

void gpa_pca_destroy(struct gpa_pca *pca) {
  gpa_free(&pca->mean);
  gpa_free(&pca->components);
  gpa_free(&pca->singular_values);
  gpa_free(&pca->explained);
  memset(pca, 0, sizeof *pca);
}

/* Encode and decode go through a fixed tile of at most PCA_TILE doubles (rows x a column chunk),
 * so they need no allocation and cannot fail; every product is a BLIS gemm on the tile. */

void gpa_pca_encode(const struct gpa_pca *pca, const float *x, int64_t rows, double *z) {
  double tile[PCA_TILE];
  const int64_t g = pca->g, k = pca->k;
  const int64_t cb = min64(g, PCA_TILE), rb = PCA_TILE / cb;
  for (int64_t r0 = 0; r0 < rows; r0 += rb) {
    const int64_t nr = min64(rb, rows - r0);
    for (int64_t c0 = 0; c0 < g; c0 += cb) {
      const int64_t nc = min64(cb, g - c0);
      for (int64_t i = 0; i < nr; i++)
        for (int64_t j = 0; j < nc; j++)
          tile[i * nc + j] = (double)x[(r0 + i) * g + c0 + j] - pca->mean[c0 + j];
      /* z [nr][k] (+)= tile [nr][nc] V[:, c0:c0+nc]^T */
      gpa_gemm('N', 'T', nr, k, nc, 1.0, tile, nc, pca->components + c0, g, c0 == 0 ? 0.0 : 1.0,
               z + r0 * k, k);
    }
  }
}

void gpa_pca_decode(const struct gpa_pca *pca, const double *z, int64_t rows, float *x) {
  double tile[PCA_TILE];
  const int64_t g = pca->g, k = pca->k;
  const int64_t cb = min64(g, PCA_TILE), rb = PCA_TILE / cb;
  for (int64_t r0 = 0; r0 < rows; r0 += rb) {
    const int64_t nr = min64(rb, rows - r0);
    for (int64_t c0 = 0; c0 < g; c0 += cb) {
      const int64_t nc = min64(cb, g - c0);
      /* tile [nr][nc] = z [nr][k] V[:, c0:c0+nc] */
      gpa_gemm('N', 'N', nr, nc, k, 1.0, z + r0 * k, k, pca->components + c0, g, 0.0, tile, nc);
      for (int64_t i = 0; i < nr; i++)
        for (int64_t j = 0; j < nc; j++)
          x[(r0 + i) * g + c0 + j] = (float)(pca->mean[c0 + j] + tile[i * nc + j]);
    }
  }
}
