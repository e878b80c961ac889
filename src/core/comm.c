#include "gpa/comm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)GPA_RED_SUM_PHI_Y < (int)GPA_RED_NSUM &&
                   (int)GPA_RED_SUM_FSTAR_X < (int)GPA_RED_NSUM &&
                   (int)GPA_RED_SUM_SPEED2 < (int)GPA_RED_NSUM &&
                   (int)GPA_RED_SUM_NONFINITE < (int)GPA_RED_NSUM &&
                   (int)GPA_RED_MAX_SPEED2 < (int)GPA_RED_NMAX,
               "the named reduction slots fit struct gpa_reduction");

static MPI_Datatype reduction_type = MPI_DATATYPE_NULL;
static MPI_Op reduction_op = MPI_OP_NULL;

int gpa_mpi_error(int mpi_rc, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS) strcpy(text, "unknown MPI error");
  return GPA_ERROR(GPA_ERR_LIB, "MPI: %s failed: %s", what, text);
}

struct gpa_block gpa_partition(int64_t n_global, int rank, int size) {
  struct gpa_block p;
  int64_t base = n_global / size, extra = n_global % size;
  p.n_global = n_global;
  p.n_local = base + (rank < extra ? 1 : 0);
  p.offset = rank * base + (rank < extra ? rank : extra);
  return p;
}

static void lse_combine(double *m_io, double *s_io, double m_in, double s_in) {
  if (m_in == -INFINITY) return;
  if (*m_io == -INFINITY) {
    *m_io = m_in;
    *s_io = s_in;
    return;
  }
  /* Symmetric in its operands bit for bit: the larger maximum keeps its sum unscaled. */
  if (m_in > *m_io) {
    *s_io = s_in + *s_io * exp(*m_io - m_in);
    *m_io = m_in;
  } else {
    *s_io = *s_io + s_in * exp(m_in - *m_io);
  }
}

static void reduction_fn(void *in, void *inout, int *len, MPI_Datatype *type) {
  (void)type;
  const struct gpa_reduction *a = in;
  struct gpa_reduction *b = inout;
  for (int k = 0; k < *len; k++) {
    for (int i = 0; i < GPA_RED_NSUM; i++) b[k].sum[i] += a[k].sum[i];
    for (int i = 0; i < GPA_RED_NMAX; i++)
      if (a[k].max[i] > b[k].max[i] || isnan(a[k].max[i])) b[k].max[i] = a[k].max[i];
    lse_combine(&b[k].lse_max, &b[k].lse_sum, a[k].lse_max, a[k].lse_sum);
  }
}

int gpa_comm_setup(MPI_Comm comm) {
  GPA_MPI(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  if (reduction_type == MPI_DATATYPE_NULL) {
    int n = (int)(sizeof(struct gpa_reduction) / sizeof(double));
    GPA_MPI(MPI_Type_contiguous(n, MPI_DOUBLE, &reduction_type));
    GPA_MPI(MPI_Type_commit(&reduction_type));
    GPA_MPI(MPI_Op_create(reduction_fn, 1, &reduction_op));
  }
  return GPA_OK;
}

void gpa_comm_teardown(void) {
  if (reduction_op != MPI_OP_NULL) MPI_Op_free(&reduction_op);
  if (reduction_type != MPI_DATATYPE_NULL) MPI_Type_free(&reduction_type);
}

int gpa_comm_agree(MPI_Comm comm, int status) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  /* Lowest failing rank: failing ranks offer their rank, others a large value. */
  int mine = status != GPA_OK ? rank : INT32_MAX, first;
  GPA_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == INT32_MAX) return GPA_OK;
  struct {
    int code;
    char message[1000];
  } msg;
  memset(&msg, 0, sizeof msg);
  if (rank == first) {
    msg.code = status;
    strncpy(msg.message, gpa_error_message(), sizeof msg.message - 1);
  }
  GPA_MPI(MPI_Bcast(&msg, (int)sizeof msg, MPI_BYTE, first, comm));
  if (rank != first) gpa_error_set_message(msg.code, msg.message);
  return msg.code;
}

void gpa_reduction_clear(struct gpa_reduction *r) {
  for (int i = 0; i < GPA_RED_NSUM; i++) r->sum[i] = 0.0;
  for (int i = 0; i < GPA_RED_NMAX; i++) r->max[i] = -INFINITY;
  r->lse_max = -INFINITY;
  r->lse_sum = 0.0;
}

void gpa_reduction_add_lse(struct gpa_reduction *r, const double *v, int64_t n, int64_t stride) {
  if (n == 0) return;
  double m = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    if (v[i * stride] > m || isnan(v[i * stride])) m = v[i * stride];
  double s = 0.0;
  if (isfinite(m))
    for (int64_t i = 0; i < n; i++) s += exp(v[i * stride] - m);
  else s = m == -INFINITY ? 0.0 : NAN;
  lse_combine(&r->lse_max, &r->lse_sum, m, s);
}

int gpa_reduction_allreduce(MPI_Comm comm, struct gpa_reduction *r) {
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, r, 1, reduction_type, reduction_op, comm));
  return GPA_OK;
}

int gpa_allreduce_sum(MPI_Comm comm, double *buf, int64_t n) {
  while (n > 0) { /* MPI counts are int */
    int chunk = n > (1 << 30) ? (1 << 30) : (int)n;
    GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, chunk, MPI_DOUBLE, MPI_SUM, comm));
    buf += chunk;
    n -= chunk;
  }
  return GPA_OK;
}

int gpa_bcast_bytes(MPI_Comm comm, void *buf, size_t bytes, int root) {
  unsigned char *p = buf;
  while (bytes > 0) {
    int chunk = bytes > (1u << 30) ? (1 << 30) : (int)bytes;
    GPA_MPI(MPI_Bcast(p, chunk, MPI_BYTE, root, comm));
    p += chunk;
    bytes -= (size_t)chunk;
  }
  return GPA_OK;
}

int gpa_comm_identical(MPI_Comm comm, const void *buf, size_t bytes, int *identical) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  unsigned char *copy;
  GPA_CHECK(gpa_alloc(&copy, bytes));
  if (rank == 0) memcpy(copy, buf, bytes);
  int rc, same = 0, all = 0;
  GPA_CHECK_GOTO(rc, gpa_bcast_bytes(comm, copy, bytes, 0), done);
  same = memcmp(copy, buf, bytes) == 0;
done:
  gpa_free(&copy);
  if (rc != GPA_OK) return rc;
  GPA_MPI(MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, comm));
  *identical = all;
  return GPA_OK;
}
