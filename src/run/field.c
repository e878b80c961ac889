/* Replaying a run's learned vector field on new points. */
#include "gpa/field.h"

#include <stdio.h>
#include <string.h>

#include "gpa/integrator.h"
#include "gpa/io.h"
#include "gpa/mlp.h"

enum { BLOCK_BYTES = 8 << 20 }; /* field records read at a time */

struct replay {
  struct gpa_mlp net;
  int stored;          /* thetas per step in the file */
  const double *theta; /* [stored][n_params] of the current step */
  int64_t rows;
};

/* v = -grad phi at y, with the theta of this stage (the only one with frozen stages). */
static int replay_field(void *ctx, int stage, const double *y, double *v) {
  struct replay *r = ctx;
  const double *theta = r->theta + (stage < r->stored ? stage : 0) * r->net.n_params;
  gpa_mlp_forward(&r->net, theta, y, 0, r->rows);
  gpa_mlp_input_grad(&r->net, theta, 0, r->rows, v);
  for (int64_t i = 0; i < r->rows * r->net.in_dim; i++) v[i] = -v[i];
  return GPA_OK;
}

int gpa_field_replay(MPI_Comm comm, struct gpa_h5 *run, const struct gpa_params *p,
                     struct gpa_part part, double *x, const int32_t *labels, int64_t *steps) {
  (void)comm;
  if (!gpa_h5_exists(run, "/field/theta"))
    return GPA_ERROR(GPA_ERR_INPUT, "--field: %s has no /field (the run did not store its field: "
                                    "output.store_field)", run->path);
  int nd;
  int64_t dims[3];
  GPA_CHECK(gpa_h5_shape(run, "/field/theta", &nd, dims));
  struct replay r;
  memset(&r, 0, sizeof r);
  const int with_nu = p->divergence.kind != GPA_DIV_KL;
  GPA_CHECK(gpa_mlp_create(&r.net, p->source.dim, p, with_nu, part.n_local));
  int rc = GPA_OK;
  if (nd != 3 || dims[2] != r.net.n_params)
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /field/theta does not match the run's network", run->path);
  if (rc == GPA_OK && r.net.n_out > 1) {
    if (labels)
      gpa_mlp_set_labels(&r.net, 0, part.n_local, labels);
    else
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s: the field is class-conditional: give the points' "
                                    "classes (--labels FILE.h5:/dataset)", run->path);
  }
  /* Every step must be there: a field with missing steps would move the points elsewhere. */
  int64_t steps_attr = -1, monitor = gpa_h5_series_length(run, "/monitor/step");
  if (rc == GPA_OK && gpa_h5_read_attr_i64(run, "/", "steps", &steps_attr) != GPA_OK) {
    gpa_error_clear();
    steps_attr = -1;
  }
  if (rc == GPA_OK && (dims[0] != monitor || (steps_attr >= 0 && dims[0] != steps_attr)))
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /field/theta holds %lld steps but the run has %lld "
                   "(/monitor/step): the field is incomplete and cannot be replayed", run->path,
                   (long long)dims[0], (long long)(steps_attr >= 0 ? steps_attr : monitor));
  if (rc == GPA_OK && monitor > 0) { /* and in order: 1, 2, ..., T */
    int64_t *ms = NULL;
    rc = gpa_alloc_array(&ms, (size_t)monitor, sizeof(int64_t));
    if (rc == GPA_OK) rc = gpa_h5_read_i64(run, "/monitor/step", ms, monitor);
    for (int64_t t = 0; rc == GPA_OK && t < monitor; t++)
      if (ms[t] != t + 1)
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s: /monitor/step[%lld] is %lld, not %lld: the run file "
                       "is missing steps and its field cannot be replayed", run->path,
                       (long long)t, (long long)ms[t], (long long)(t + 1));
    gpa_free(&ms);
  }
  r.stored = (int)dims[1];
  r.rows = part.n_local;
  const int64_t T = dims[0], per_step = r.stored * r.net.n_params;
  int64_t block = BLOCK_BYTES / (per_step * (int64_t)sizeof(double));
  if (block < 1) block = 1;
  if (block > T) block = T > 0 ? T : 1;
  double *buf = NULL;
  struct gpa_integrator it;
  memset(&it, 0, sizeof it);
  if (rc == GPA_OK) rc = gpa_alloc_array(&buf, (size_t)(block * per_step), sizeof(double));
  if (rc == GPA_OK)
    rc = gpa_integrator_create(&it, p->transport.integrator, part.n_local * p->source.dim);
  for (int64_t t0 = 0; rc == GPA_OK && t0 < T; t0 += block) {
    int64_t count = T - t0 < block ? T - t0 : block;
    rc = gpa_h5_series_read(run, "/field/theta", t0, count, buf);
    for (int64_t t = 0; rc == GPA_OK && t < count; t++) {
      r.theta = buf + t * per_step;
      rc = gpa_integrator_step(&it, p->transport.dt, x, replay_field, &r, NULL);
    }
  }
  gpa_integrator_destroy(&it);
  gpa_free(&buf);
  gpa_mlp_destroy(&r.net);
  *steps = T;
  return rc;
}
