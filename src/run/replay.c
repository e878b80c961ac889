/* Replaying a run's learned vector field on new points (replay.h). */
#include "gpa/replay.h"

#include <stdio.h>
#include <string.h>

#include "gpa/divergence.h"
#include "gpa/integrator.h"
#include "gpa/mlp.h"

enum { BLOCK_BYTES = 8 << 20 }; /* field records read at a time */

struct replay {
  struct gpa_mlp net;
  int stored;          /* thetas per step in the file */
  const double *theta; /* [stored][n_params] of the current step */
  int64_t rows;
};

/* v = -grad phi at y, with the theta of this stage (the only one with frozen stages). */
static int stage_velocity(void *ctx, int stage, const double *y, double *v) {
  struct replay *r = ctx;
  const double *theta = r->theta + (stage < r->stored ? stage : 0) * r->net.n_params;
  gpa_mlp_velocity(&r->net, theta, y, 0, r->rows, v);
  return GPA_OK;
}

/* /field/theta [T][stored][n_params] must be the run's network's, with the points' classes
 * when it is class-conditional. */
static int check_network(struct gpa_h5 *run, struct replay *r, int nd, const int64_t dims[3],
                         const int32_t *labels) {
  if (nd != 3 || dims[2] != r->net.n_params)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: /field/theta does not match the run's network", run->path);
  if (r->net.n_out == 1) return GPA_OK;
  if (!labels)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: the field is class-conditional: give the points' "
                     "classes (--labels FILE.h5:/dataset)",
                     run->path);
  gpa_mlp_set_labels(&r->net, 0, r->rows, labels);
  return GPA_OK;
}

/* Every step must be there, in order 1, 2, ..., T: a field with missing steps would move the
 * points elsewhere. */
static int check_steps(struct gpa_h5 *run, int64_t T) {
  int64_t steps_attr = -1, monitor = gpa_h5_series_length(run, "/monitor/step");
  if (gpa_h5_read_attr_i64(run, "/", "steps", &steps_attr) != GPA_OK) {
    gpa_error_clear();
    steps_attr = -1;
  }
  if (T != monitor || (steps_attr >= 0 && T != steps_attr))
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: /field/theta holds %lld steps but the run has %lld "
                     "(/monitor/step): the field is incomplete and cannot be replayed",
                     run->path, (long long)T, (long long)(steps_attr >= 0 ? steps_attr : monitor));
  if (monitor <= 0) return GPA_OK;
  int64_t *ms = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&ms, (size_t)monitor, sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_h5_read_i64(run, "/monitor/step", ms, monitor), done);
  for (int64_t t = 0; t < monitor; t++) {
    if (ms[t] == t + 1) continue;
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "%s: /monitor/step[%lld] is %lld, not %lld: the run file "
                   "is missing steps and its field cannot be replayed",
                   run->path, (long long)t, (long long)ms[t], (long long)(t + 1));
    goto done;
  }
done:
  gpa_free(&ms);
  return rc;
}

/* The T steps of the flow, reading the field a block of steps at a time. */
static int flow(struct gpa_h5 *run, const struct gpa_params *p, struct replay *r, int64_t T,
                double *x) {
  const int64_t per_step = r->stored * r->net.n_params;
  int64_t block = BLOCK_BYTES / (per_step * (int64_t)sizeof(double));
  if (block < 1) block = 1;
  if (block > T) block = T > 0 ? T : 1;
  double *buf = NULL;
  struct gpa_integrator it;
  memset(&it, 0, sizeof it);
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&buf, (size_t)(block * per_step), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_integrator_create(&it, p->transport.integrator, r->rows * p->source.dim),
                 done);
  for (int64_t t0 = 0; t0 < T; t0 += block) {
    int64_t count = T - t0 < block ? T - t0 : block;
    GPA_CHECK_GOTO(rc, gpa_h5_series_read(run, "/field/theta", t0, count, buf), done);
    for (int64_t t = 0; t < count; t++) {
      r->theta = buf + t * per_step;
      GPA_CHECK_GOTO(rc, gpa_integrator_step(&it, p->transport.dt, x, stage_velocity, r, NULL),
                     done);
    }
  }
done:
  gpa_integrator_destroy(&it);
  gpa_free(&buf);
  return rc;
}

int gpa_replay_move(struct gpa_h5 *run, const struct gpa_params *p, struct gpa_block part,
                    double *x, const int32_t *labels, int64_t *steps) {
  if (!gpa_h5_exists(run, "/field/theta"))
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--field: %s has no /field (the run did not store its field: "
                     "output.store_field)",
                     run->path);
  int nd, rc;
  int64_t dims[3];
  GPA_CHECK(gpa_h5_shape(run, "/field/theta", &nd, dims));
  struct replay r;
  memset(&r, 0, sizeof r);
  const struct gpa_divergence div = {.kind = p->divergence.kind, .alpha = p->divergence.alpha};
  GPA_CHECK(gpa_mlp_create(&r.net, p->source.dim, p, gpa_divergence_has_nu(&div), part.n_local));
  r.stored = (int)dims[1];
  r.rows = part.n_local;
  GPA_CHECK_GOTO(rc, check_network(run, &r, nd, dims, labels), done);
  GPA_CHECK_GOTO(rc, check_steps(run, dims[0]), done);
  GPA_CHECK_GOTO(rc, flow(run, p, &r, dims[0], x), done);
  *steps = dims[0];
done:
  gpa_mlp_destroy(&r.net);
  return rc;
}
