/* Everything MPI: checked calls, block partitions of global index ranges, collective error
 * agreement, and the one small reduction that carries every per-step scalar.
 *
 * The communicator is always passed in; MPI_COMM_WORLD appears only in main(). */
#ifndef GPA_COMM_H
#define GPA_COMM_H

#include <mpi.h>
#include <stdint.h>

#include "gpa/error.h"

/* Checks an MPI call; records "MPI: <message>" and returns GPA_ERR_LIB from the caller. */
#define GPA_MPI(call)                                                                \
  do {                                                                               \
    int gpa_mpi_rc_ = (call);                                                        \
    if (gpa_mpi_rc_ != MPI_SUCCESS)                                                  \
      return gpa_error_trace(gpa_mpi_error(gpa_mpi_rc_, #call), __FILE__, __LINE__); \
  } while (0)

int gpa_mpi_error(int mpi_rc, const char *what);

/* A contiguous block of a global index range [0, n_global) owned by one rank: the first
 * n_global % size ranks hold one more.  The same for any caller on the same rank. */
struct gpa_block {
  int64_t n_global;
  int64_t n_local;
  int64_t offset; /* global index of the first local element */
};

struct gpa_block gpa_partition(int64_t n_global, int rank, int size);

/* Sets MPI_ERRORS_RETURN on `comm` and creates the reduction type and operator.  Call once
 * after MPI_Init.  Collective. */
int gpa_comm_setup(MPI_Comm comm);
/* Frees what gpa_comm_setup created. */
void gpa_comm_teardown(void);

/* Collective: every rank passes its own status; returns the first non-zero status of the
 * lowest failing rank on all ranks, with that rank's message installed as the error message
 * everywhere, so that all ranks fail together with one message. */
int gpa_comm_agree(MPI_Comm comm, int status);

/* The per-update / per-step scalar reduction.  One allreduce reduces all of it: `sum` is
 * summed, `max` is maximised, and (lse_max, lse_sum) combine log-sum-exp partials, so that
 * after the reduction  log(sum_j exp(v_j)) = lse_max + log(lse_sum). */
enum { GPA_RED_NSUM = 8, GPA_RED_NMAX = 4 };
/* The named slots of sum[] and max[], by the record that uses them. */
enum gpa_red_slot {
  /* the objective (divergence.c): particles Y, targets X */
  GPA_RED_SUM_PHI_Y = 0,   /* sum_i phi(Y_i) */
  GPA_RED_SUM_FSTAR_X = 1, /* sum_j f*(phi(X_j) - nu), the Legendre forms */
  /* a particle step (solver.c) */
  GPA_RED_SUM_SPEED2 = 0,    /* sum_i |v_i|^2 */
  GPA_RED_SUM_NONFINITE = 1, /* coordinates that are NaN or Inf */
  GPA_RED_MAX_SPEED2 = 0,    /* max_i |v_i|^2 */
};
struct gpa_reduction {
  double sum[GPA_RED_NSUM];
  double max[GPA_RED_NMAX];
  double lse_max;
  double lse_sum;
};

/* Empty record: sums 0, maxima -inf, empty log-sum-exp. */
void gpa_reduction_clear(struct gpa_reduction *r);
/* Adds the values v[0..n) to the log-sum-exp pair. */
void gpa_reduction_add_lse(struct gpa_reduction *r, const double *v, int64_t n, int64_t stride);
/* Collective: reduces `r` in place across `comm`. */
int gpa_reduction_allreduce(MPI_Comm comm, struct gpa_reduction *r);

/* Collective: in-place sum of a double buffer (the flat gradient). */
int gpa_allreduce_sum(MPI_Comm comm, double *buf, int64_t n);
/* Collective: broadcasts `bytes` bytes from `root`, in chunks of 2^30 (MPI counts are int).
 * The one helper for collectives whose size may pass 2^31. */
int gpa_bcast_bytes(MPI_Comm comm, void *buf, size_t bytes, int root);

/* Collective: 1 on every rank when `buf` holds bitwise the same bytes on all ranks. */
int gpa_comm_identical(MPI_Comm comm, const void *buf, size_t bytes, int *identical);

#endif
