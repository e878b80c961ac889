/* Principal components of a matrix whose rows are spread over the ranks (ALGORITHM.md
 * section 7): the latent space of dataset integration.
 *
 * The n x g matrix X (samples x genes) is held by rows: rank r holds rows
 * [part.offset, part.offset + part.n_local) as X_local [n_local][g] (float32, as the data files
 * store them; any split, including ranks without rows).  gpa_pca removes the gene means and
 * finds the top k right singular vectors of the centred matrix:
 *   - dense: the centred matrix is redistributed to a 2-D block-cyclic layout (ScaLAPACK
 *     pdgemr2d) on a near-square process grid and factorised with pdgesvd;
 *   - randomized: Halko-Martinsson-Tropp range finder with power iterations, where every product
 *     with X is a local BLIS product plus an allreduce, and the tall-skinny QR factorisations
 *     are ScaLAPACK's pdgeqrf/pdorgqr on the row layout; the small final SVD is LAPACK's.
 * Every rank receives the same result.  Collective. */
#ifndef GPA_PCA_H
#define GPA_PCA_H

#include <mpi.h>
#include <stdint.h>

#include "gpa/comm.h"
#include "gpa/config.h" /* enum gpa_pca_method */

struct gpa_pca {
  int64_t g;               /* genes (columns) */
  int k;                   /* components */
  double *mean;            /* [g] column means of X */
  double *components;      /* [k][g] right singular vectors (rows), orthonormal */
  double *singular_values; /* [k], decreasing */
  double *explained;       /* [k] fraction of the total variance of each component */
  double total_variance;   /* sum over genes of the column variance (divisor n - 1) */
  int method;              /* the method used (dense or randomized) */
};

/* Computes the PCA.  `method` auto picks dense when min(n, g) <= 4000 and n g <= 5e7, randomized
 * otherwise.
 * Requires 1 <= k <= min(n - 1, g).  `oversample` and `power_iterations` tune the randomized
 * method (10 and 4 are good defaults); `seed` keys its random test matrix.
 * Each component's entry of largest magnitude is positive, so results compare across methods
 * and rank counts.  Every argument but X_local and part.offset/n_local must be the same on all
 * ranks, and the ranks' rows must tile [0, n).  Errors, the same on every rank: GPA_ERR_INPUT
 * (k out of range, arguments that differ across ranks, rows that do not tile, NaN/Inf data),
 * GPA_ERR_LIB (a ScaLAPACK/LAPACK INFO != 0, naming the routine), GPA_ERR_NOMEM; *pca is then
 * empty.  Free with gpa_pca_destroy. */
int gpa_pca_compute(MPI_Comm comm, const float *X_local, struct gpa_block part, int64_t g, int k,
                    int method, int oversample, int power_iterations, uint64_t seed,
                    struct gpa_pca *pca);
void gpa_pca_destroy(struct gpa_pca *pca);

/* z [rows][k] = (x - mean) V^T for rows of x [rows][g] (float32), in PCA units (a latent
 * scale is the caller's).  Not collective; allocates nothing. */
void gpa_pca_encode(const struct gpa_pca *pca, const float *x, int64_t rows, double *z);
/* x [rows][g] = mean + z V for latent rows z [rows][k] in PCA units.  Not collective; allocates
 * nothing. */
void gpa_pca_decode(const struct gpa_pca *pca, const double *z, int64_t rows, float *x);

#endif
