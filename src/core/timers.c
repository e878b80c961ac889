#include "gpa/timers.h"

#include <string.h>

#include "gpa/comm.h"

static const char *const names[GPA_T_COUNT] = {"setup", "train phi", "grad phi",
                                               "move",  "output",    "total"};

void gpa_timers_clear(struct gpa_timers *t) { memset(t, 0, sizeof *t); }

int gpa_timers_report(MPI_Comm comm, const struct gpa_timers *t, FILE *out) {
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  double mn[GPA_T_COUNT], mx[GPA_T_COUNT], sum[GPA_T_COUNT];
  GPA_MPI(MPI_Reduce(t->total, mn, GPA_T_COUNT, MPI_DOUBLE, MPI_MIN, 0, comm));
  GPA_MPI(MPI_Reduce(t->total, mx, GPA_T_COUNT, MPI_DOUBLE, MPI_MAX, 0, comm));
  GPA_MPI(MPI_Reduce(t->total, sum, GPA_T_COUNT, MPI_DOUBLE, MPI_SUM, 0, comm));
  if (rank != 0) return GPA_OK;
  fprintf(out, "timers (s over %d rank%s)    min        avg        max\n", size,
          size > 1 ? "s" : "");
  for (int i = 0; i < GPA_T_COUNT; i++)
    fprintf(out, "  %-22s %10.4f %10.4f %10.4f\n", names[i], mn[i], sum[i] / size, mx[i]);
  return GPA_OK;
}
