#include "gpa/monitor.h"

#include <math.h>

#include "gpa/error.h"

#define COLUMN(name, type, description, units) \
  { #name, "/monitor/" #name, type, description, units, offsetof(struct gpa_monitor, name) }

const struct gpa_monitor_column gpa_monitor_columns[GPA_MONITOR_COLUMNS] = {
    COLUMN(step, GPA_MONITOR_INT64, "particle step n (particles moved from Y_{n-1} to Y_n)", NULL),
    COLUMN(divergence, GPA_MONITOR_FLOAT64,
           "divergence estimate D_n: the objective J at the trained phi and the particles Y_{n-1}",
           NULL),
    COLUMN(kinetic_energy, GPA_MONITOR_FLOAT64,
           "mean over particles of |v|^2, v the applied velocity (-grad phi for euler); not halved",
           NULL),
    COLUMN(max_speed, GPA_MONITOR_FLOAT64, "largest particle speed |v| in the step (<= L)", NULL),
    COLUMN(wall_time, GPA_MONITOR_FLOAT64, "wall-clock time since the first step, rank 0 [s]", "s"),
};

/* The member of `m` that points to column i's values. */
static void **column(const struct gpa_monitor *m, int i) {
  return (void **)((const char *)m + gpa_monitor_columns[i].member);
}

void *gpa_monitor_values(const struct gpa_monitor *m, int i) { return *column(m, i); }

int gpa_monitor_create(struct gpa_monitor *m, int64_t capacity) {
  m->capacity = capacity > 0 ? capacity : 1;
  m->count = 0;
  /* Every column holds 8-byte values (int64_t or double). */
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++)
    GPA_CHECK(gpa_alloc_array(column(m, i), (size_t)m->capacity, 8));
  return GPA_OK;
}

void gpa_monitor_destroy(struct gpa_monitor *m) {
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++) gpa_free(column(m, i));
}
void gpa_monitor_record(struct gpa_monitor *m, int64_t step, double divergence, double ke,
                        double max_speed, double wall) {
  if (m->count == m->capacity) return;
  int64_t i = m->count++;
  m->step[i] = step;
  m->divergence[i] = divergence;
  m->kinetic_energy[i] = ke;
  m->max_speed[i] = max_speed;
  m->wall_time[i] = wall;
}

void gpa_monitor_progress(const struct gpa_monitor *m, int64_t max_steps, FILE *out) {
  if (m->count == 0) return;
  int64_t i = m->count - 1;
  double wall = m->wall_time[i];
  double rate = wall > 0.0 ? (double)m->count / wall : 0.0;
  double eta = rate > 0.0 ? (double)(max_steps - m->step[i]) / rate : 0.0;
  long long e = (long long)(eta + 0.5);
  fprintf(
      out,
      "step %7lld/%lld  D %12.5e  KE %11.4e  vmax %10.3e  %8.1f steps/s  ETA %lld:%02lld:%02lld\n",
      (long long)m->step[i], (long long)max_steps, m->divergence[i], m->kinetic_energy[i],
      m->max_speed[i], rate, e / 3600, (e / 60) % 60, e % 60);
  fflush(out);
}

const char *gpa_monitor_stop_reason(const struct gpa_monitor *m, const struct gpa_params *p) {
  if (m->count == 0) return NULL;
  int64_t i = m->count - 1;
  /* grad phi exactly 0 at every particle: phi is flat there (every ReLU inactive), which says
   * nothing about the distance to the target; it is a stall, not a converged flow. */
  if (m->kinetic_energy[i] == 0.0 && p->transport.ke_tol > 0.0)
    return "stalled: grad phi is exactly 0 at every particle (phi flat there), not converged";
  if (m->kinetic_energy[i] < p->transport.ke_tol) return "kinetic energy below transport.ke_tol";
  if (m->divergence[i] < p->transport.div_tol) return "divergence below transport.div_tol";
  if (m->step[i] >= p->transport.max_steps) return "transport.max_steps reached";
  return NULL;
}
