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
#include "gpa/error.h"
#include "gpa/io.h"
#include "gpa/linalg.h"

/* Fails the test with the recorded error message when a library call fails. */
#define TEST_OK(expr)                                                                     \
  do {                                                                                    \
    int rc_ = (expr);                                                                     \
    if (rc_ != GPA_OK) fail_msg("%s failed: %s", #expr, gpa_error_message());             \
  } while (0)

/* |a - b| <= atol + rtol |b| */
#define ASSERT_CLOSE(a, b, rtol, atol)                                                    \
  do {                                                                                    \
    double a_ = (a), b_ = (b);                                                            \
    if (!(fabs(a_ - b_) <= (atol) + (rtol)*fabs(b_)))                                     \
      fail_msg("%s = %.17g, expected %s = %.17g (rtol %g, atol %g)", #a, a_, #b, b_,      \
               (double)(rtol), (double)(atol));                                           \
  } while (0)

/* main() of a unit-test program: MPI (one rank), the library's setup, the cmocka group. */
#define GPA_TEST_MAIN(tests)                                                              \
  int main(int argc, char **argv) {                                                       \
    MPI_Init(&argc, &argv);                                                               \
    gpa_io_setup();                                                                       \
    gpa_linalg_setup(1, 0);                                                               \
    if (gpa_comm_setup(MPI_COMM_WORLD) != GPA_OK) return 1;                               \
    int failed = cmocka_run_group_tests(tests, NULL, NULL);                               \
    gpa_comm_teardown();                                                                  \
    MPI_Finalize();                                                                       \
    return failed;                                                                        \
  }

#endif
