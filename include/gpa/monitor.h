/* What a run tracks every step (ALGORITHM.md section 5): the divergence estimate D_n, the
 * kinetic energy KE_n = mean_i |v_i|^2 of the applied velocity (not halved), the largest
 * particle speed and the wall time; the progress line; and the stopping rules. */
#ifndef GPA_MONITOR_H
#define GPA_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gpa/config.h"

struct gpa_monitor {
  int64_t capacity, count;
  int64_t *step;          /* [capacity] */
  double *divergence;     /* [capacity] */
  double *kinetic_energy; /* [capacity] */
  double *max_speed;      /* [capacity] */
  double *wall_time;      /* [capacity] seconds since the loop started */
};

/* The monitor's columns, the one list that the run file and the checkpoints loop over. */
enum gpa_monitor_type { GPA_MONITOR_INT64, GPA_MONITOR_FLOAT64 };
enum { GPA_MONITOR_COLUMNS = 5 };
struct gpa_monitor_column {
  const char *name;    /* "divergence" */
  const char *dataset; /* where output files store it: "/monitor/divergence" */
  int type;            /* enum gpa_monitor_type: int64_t or double values */
  const char *description;
  const char *units; /* NULL: none */
  size_t member;     /* offsetof(struct gpa_monitor, the column's array) */
};
extern const struct gpa_monitor_column gpa_monitor_columns[GPA_MONITOR_COLUMNS];
/* The values [capacity] of column i of gpa_monitor_columns (int64_t or double by its type):
 * the monitor's own array. */
void *gpa_monitor_values(const struct gpa_monitor *m, int i);

int gpa_monitor_create(struct gpa_monitor *m, int64_t capacity);
void gpa_monitor_destroy(struct gpa_monitor *m);
void gpa_monitor_record(struct gpa_monitor *m, int64_t step, double divergence, double ke,
                        double max_speed, double wall);
/* Prints the progress line of the last record (call on one rank). */
void gpa_monitor_progress(const struct gpa_monitor *m, int64_t max_steps, FILE *out);
/* Why to stop after the last record, or NULL to go on.  A kinetic energy of exactly 0 with
 * transport.ke_tol set is reported as a stall (phi flat at every particle), not convergence. */
const char *gpa_monitor_stop_reason(const struct gpa_monitor *m, const struct gpa_params *p);

#endif
