#include "gpa/linalg.h"

#include <blis.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

void gpa_linalg_setup(int flush_denormals, int large_products) {
#if defined(__x86_64__) || defined(__i386__)
  /* BLIS's own detection picks slow generic kernels on CPUs whose brand it does not know.  The
   * AVX-512 (skx) kernels double the speed of large products (convolutions) but are several
   * times slower than the AVX2 (haswell) ones on the skinny products of small networks. */
  if (!getenv("BLIS_ARCH_TYPE")) {
    if (large_products && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
      setenv("BLIS_ARCH_TYPE", "0", 0); /* BLIS_ARCH_SKX */
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      setenv("BLIS_ARCH_TYPE", "3", 0); /* BLIS_ARCH_HASWELL */
  }
  if (flush_denormals) _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ | DAZ */
#else
  (void)flush_denormals;
#endif
  bli_init();
}

const char *gpa_linalg_arch(void) { return bli_arch_string(bli_arch_query_id()); }
const char *gpa_linalg_blis_version(void) { return bli_info_get_version_str(); }

/* The empty products: C [m][n] (leading dimension ldc) or y [n] (stride 1) := beta C, with
 * beta = 0 writing zeros whatever C held (as BLAS does), so that a rank with no rows still
 * writes its (zero) share of a gradient before the allreduce. */
#define GPA_SCALE_EMPTY(T)                                                                    \
  static void scale_##T(int64_t m, int64_t n, T beta, T *C, int64_t ldc) {                    \
    for (int64_t i = 0; i < m; i++)                                                           \
      for (int64_t j = 0; j < n; j++) C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j]; \
  }
GPA_SCALE_EMPTY(double)
GPA_SCALE_EMPTY(float)
#undef GPA_SCALE_EMPTY

void gpa_gemm(char ta, char tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A,
              int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    scale_double(m, n, beta, C, ldc);
    return;
  }
  bli_dgemm(ta == 'T' ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
            tb == 'T' ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
            (double *)A, (inc_t)lda, 1, (double *)B, (inc_t)ldb, 1, &beta, C, (inc_t)ldc, 1);
}

void gpa_gemv(char ta, int64_t m, int64_t n, double alpha, const double *A, int64_t lda,
              const double *x, double beta, double *y) {
  const int64_t ny = ta == 'T' ? n : m, nx = ta == 'T' ? m : n; /* lengths of y and x */
  if (ny == 0) return;
  if (nx == 0) {
    scale_double(1, ny, beta, y, ny);
    return;
  }
  /* Unlike gemm, BLIS 0.9's gemv takes the dimensions of A as stored (checked by the tests). */
  bli_dgemv(ta == 'T' ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, (dim_t)m, (dim_t)n,
            &alpha, (double *)A, (inc_t)lda, 1, (double *)x, 1, &beta, y, 1);
}

void gpa_sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    scale_float(m, n, beta, C, ldc);
    return;
  }
  bli_sgemm(ta == 'T' ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
            tb == 'T' ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
            (float *)A, (inc_t)lda, 1, (float *)B, (inc_t)ldb, 1, &beta, C, (inc_t)ldc, 1);
}

void gpa_sgemv(char ta, int64_t m, int64_t n, float alpha, const float *A, int64_t lda,
               const float *x, float beta, float *y) {
  const int64_t ny = ta == 'T' ? n : m, nx = ta == 'T' ? m : n; /* lengths of y and x */
  if (ny == 0) return;
  if (nx == 0) {
    scale_float(1, ny, beta, y, ny);
    return;
  }
  bli_sgemv(ta == 'T' ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, (dim_t)m, (dim_t)n,
            &alpha, (float *)A, (inc_t)lda, 1, (float *)x, 1, &beta, y, 1);
}

double gpa_dot(int64_t n, const double *x, const double *y) {
  double r = 0.0;
  bli_ddotv(BLIS_NO_CONJUGATE, BLIS_NO_CONJUGATE, (dim_t)n, (double *)x, 1, (double *)y, 1, &r);
  return r;
}

double gpa_nrm2(int64_t n, const double *x) {
  double r = 0.0;
  bli_dnormfv((dim_t)n, (double *)x, 1, &r);
  return r;
}

void gpa_scal(int64_t n, double alpha, double *x) {
  bli_dscalv(BLIS_NO_CONJUGATE, (dim_t)n, &alpha, x, 1);
}

double gpa_nrm2_strided(int64_t n, const double *x, int64_t incx) {
  double r = 0.0;
  bli_dnormfv((dim_t)n, (double *)x, (inc_t)incx, &r);
  return r;
}

void gpa_scal_strided(int64_t n, double alpha, double *x, int64_t incx) {
  bli_dscalv(BLIS_NO_CONJUGATE, (dim_t)n, &alpha, x, (inc_t)incx);
}
