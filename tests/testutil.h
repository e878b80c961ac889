/* Shared helpers of the unit tests: MPI start-up around cmocka and small utilities. */
#ifndef GPA_TESTUTIL_H
#define GPA_TESTUTIL_H

#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "gpa/comm.h"
#include "gpa/discriminator.h"
#include "gpa/error.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa/rng.h"

/* Fails the test with the recorded error message when a library call fails. */
#define TEST_OK(expr)                                                         \
  do {                                                                        \
    int rc_ = (expr);                                                         \
    if (rc_ != GPA_OK) fail_msg("%s failed: %s", #expr, gpa_error_message()); \
  } while (0)

/* |a - b| <= atol + rtol |b| */
#define ASSERT_CLOSE(a, b, rtol, atol)                                               \
  do {                                                                               \
    double a_ = (a), b_ = (b);                                                       \
    if (!(fabs(a_ - b_) <= (atol) + (rtol)*fabs(b_)))                                \
      fail_msg("%s = %.17g, expected %s = %.17g (rtol %g, atol %g)", #a, a_, #b, b_, \
               (double)(rtol), (double)(atol));                                      \
  } while (0)

/* x[i] ~ N(mean, std^2), from the counter-based generator keyed on (42, stream, i). */
static inline void fill_normal(double *x, int64_t n, double mean, double std, uint32_t stream) {
  for (int64_t i = 0; i < n; i++) {
    struct gpa_rng r;
    gpa_rng_init(&r, 42, stream, (uint64_t)i);
    x[i] = mean + std * gpa_rng_normal(&r);
  }
}

/* Central difference (J(theta_i + h) - J(theta_i - h)) / 2h of phi's objective; theta is left as
 * it was. */
static inline double disc_fd_theta(struct gpa_disc *dc, int64_t i, double h) {
  double save = dc->theta[i], jp, jm;
  dc->theta[i] = save + h;
  gpa_disc_theta_changed(dc);
  TEST_OK(gpa_disc_objective(dc, &jp));
  dc->theta[i] = save - h;
  gpa_disc_theta_changed(dc);
  TEST_OK(gpa_disc_objective(dc, &jm));
  dc->theta[i] = save;
  gpa_disc_theta_changed(dc);
  return (jp - jm) / (2 * h);
}

static inline int world_rank(void) {
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

static inline int world_size(void) {
  int s;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

/* main() of a unit-test program: MPI (one rank), the library's setup, the cmocka group. */
#define GPA_TEST_MAIN(tests)                                \
  int main(int argc, char **argv) {                         \
    MPI_Init(&argc, &argv);                                 \
    gpa_io_setup();                                         \
    gpa_linalg_setup(1, 0);                                 \
    if (gpa_comm_setup(MPI_COMM_WORLD) != GPA_OK) return 1; \
    int failed = cmocka_run_group_tests(tests, NULL, NULL); \
    gpa_comm_teardown();                                    \
    MPI_Finalize();                                         \
    return failed;                                          \
  }

#endif
