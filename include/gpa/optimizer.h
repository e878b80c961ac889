/* Gradient ascent on the flat parameter buffer: Adam or plain SGD.  The moments are flat
 * buffers mirroring theta, so one loop updates every parameter. */
#ifndef GPA_OPTIMIZER_H
#define GPA_OPTIMIZER_H

#include <stdbool.h>
#include <stdint.h>

struct gpa_optimizer {
  int kind; /* enum gpa_optimizer_kind */
  double lr, beta1, beta2, eps;
  bool reset_moments;
  int64_t n;
  double *m; /* [n] first moment */
  double *v; /* [n] second moment */
  int64_t t; /* updates since the moments were last reset */
};

int gpa_optimizer_create(struct gpa_optimizer *o, int kind, double lr, double beta1, double beta2,
                         double eps, bool reset_moments, int64_t n);
void gpa_optimizer_destroy(struct gpa_optimizer *o);
/* Start of a training call: restarts the moments when reset_moments is set. */
void gpa_optimizer_begin(struct gpa_optimizer *o);
/* One ascent step theta += lr * direction(grad). */
void gpa_optimizer_step(struct gpa_optimizer *o, double *restrict theta,
                        const double *restrict grad);

#endif
