/* Dense linear algebra through BLIS (row-major wrappers) and the choice of BLIS kernels.
 * Matrices are row-major with a leading dimension (elements between rows). */
#ifndef GPA_LINALG_H
#define GPA_LINALG_H

#include <stdint.h>

/* Chooses BLIS kernels before BLIS starts, when BLIS_ARCH_TYPE is not set: with
 * `large_products` (convolutional networks) and AVX-512, the `skx` kernels; otherwise, with AVX2
 * and FMA, the `haswell` kernels (BLIS's automatic choice falls back to slow generic code on
 * CPUs whose brand it does not know; `haswell` is also the fastest for the skinny products of
 * small networks, where `skx` is several times slower).  Set BLIS_ARCH_TYPE yourself to choose
 * others.  Also flushes denormals to zero on this thread when `flush_denormals`.  Call before
 * any BLIS use. */
void gpa_linalg_setup(int flush_denormals, int large_products);
/* Name of the BLIS kernel set in use, e.g. "haswell". */
const char *gpa_linalg_arch(void);
const char *gpa_linalg_blis_version(void);

/* C = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) is k x n, C is m x n.
 * ta/tb: 'N' or 'T'.  A stored [m][k] ('N') or [k][m] ('T') with leading dimension lda. */
void gpa_gemm(char ta, char tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A,
              int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc);
/* y = alpha op(A) x + beta y; A stored [m][n]; op 'N': y has m entries, 'T': n entries. */
void gpa_gemv(char ta, int64_t m, int64_t n, double alpha, const double *A, int64_t lda,
              const double *x, double beta, double *y);
/* Single-precision versions of the two above. */
void gpa_sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void gpa_sgemv(char ta, int64_t m, int64_t n, float alpha, const float *A, int64_t lda,
               const float *x, float beta, float *y);
double gpa_dot(int64_t n, const double *x, const double *y);
double gpa_nrm2(int64_t n, const double *x);
void gpa_scal(int64_t n, double alpha, double *x);
/* The same on every incx-th element (a column of a row-major matrix). */
double gpa_nrm2_strided(int64_t n, const double *x, int64_t incx);
void gpa_scal_strided(int64_t n, double alpha, double *x, int64_t incx);

#endif
