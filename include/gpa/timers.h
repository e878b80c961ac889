/* Named wall-clock timers around the phases of a run, reported as min/avg/max over ranks. */
#ifndef GPA_TIMERS_H
#define GPA_TIMERS_H

#include <mpi.h>
#include <stdio.h>

enum gpa_timer_id {
  GPA_T_SETUP, /* samples, network, output file */
  GPA_T_TRAIN, /* discriminator updates (forward, backward, allreduce, ascent, projection) */
  GPA_T_FIELD, /* grad phi at the particles */
  GPA_T_MOVE,  /* stage combinations, per-step reductions */
  GPA_T_IO,    /* trajectory frames and final writes */
  GPA_T_TOTAL,
  GPA_T_COUNT
};

struct gpa_timers {
  double started[GPA_T_COUNT];
  double total[GPA_T_COUNT];
};

void gpa_timers_clear(struct gpa_timers *t);
static inline void gpa_timer_start(struct gpa_timers *t, int id) { t->started[id] = MPI_Wtime(); }
static inline void gpa_timer_stop(struct gpa_timers *t, int id) {
  t->total[id] += MPI_Wtime() - t->started[id];
}
/* Collective: prints one line per timer (min/avg/max seconds over ranks) on rank 0. */
int gpa_timers_report(MPI_Comm comm, const struct gpa_timers *t, FILE *out);

#endif
