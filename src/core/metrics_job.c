/* gpa_metrics: the distances of metrics.h between two sample sets read from files. */
#include "gpa/metrics.h"

#include <math.h>
#include <stdio.h>

#include "gpa/comm.h"
#include "gpa/datafile.h"
#include "gpa/io.h"
#include "gpa/linalg.h"

enum { W2_EXACT_MAX = 3000 }; /* the assignment is O(n^3) */

struct set {
  double *x; /* [dims[0]][dims[1]] the points, on every rank */
  int64_t dims[2];
  char label[GPA_PATH_MAX + 300]; /* FILE:/dataset */
};

static int read_set(MPI_Comm comm, const char *spec, struct set *s) {
  char file[GPA_PATH_MAX], dataset[256];
  gpa_data_spec(spec, "/X", file, sizeof file, dataset, sizeof dataset);
  snprintf(s->label, sizeof s->label, "%s:%s", file, dataset);
  GPA_CHECK(gpa_data_shape(comm, file, dataset, spec, s->dims));
  GPA_CHECK(gpa_alloc_array(&s->x, (size_t)(s->dims[0] * s->dims[1] + 1), sizeof(double)));
  return gpa_data_read_rows(comm, file, dataset, 0, s->dims[0], s->dims[1], s->x);
}

/* The distances: sinkhorn, energy, mmd and its bandwidth, w2 (-1: not computed). */
struct distances {
  double sinkhorn, energy, mmd, bandwidth, w2;
};

static void print_table(const struct set *a, const struct set *b, const struct gpa_metrics_opts *o,
                        const struct distances *v) {
  printf("A: %s [%lld x %lld]\nB: %s [%lld x %lld]\n", a->label, (long long)a->dims[0],
         (long long)a->dims[1], b->label, (long long)b->dims[0], (long long)b->dims[1]);
  if (o->which & GPA_METRIC_SINKHORN)
    printf("sinkhorn  %.6e   (debiased, cost |x-y|^2/2, blur %g, scaling %g)\n", v->sinkhorn,
           o->blur, o->scaling);
  if (o->which & GPA_METRIC_ENERGY)
    printf("energy    %.6e   (2E|X-Y| - E|X-X'| - E|Y-Y'|)\n", v->energy);
  if (o->which & GPA_METRIC_MMD)
    printf("mmd       %.6e   (Gaussian kernel, median-heuristic bandwidth %.4g)\n", v->mmd,
           v->bandwidth);
  if (!(o->which & GPA_METRIC_W2)) return;
  if (v->w2 >= 0) printf("w2_exact  %.6e   (optimal assignment)\n", v->w2);
  else printf("w2_exact  -              (needs equal sizes up to %d)\n", W2_EXACT_MAX);
}

/* The same as one JSON object; a figure not computed is null. */
static void print_json(const struct set *a, const struct set *b, const struct gpa_metrics_opts *o,
                       const struct distances *v) {
  printf(
      "{\"a\": {\"rows\": %lld, \"columns\": %lld}, \"b\": {\"rows\": %lld, \"columns\": %lld}, "
      "\"blur\": %.17g, \"scaling\": %.17g",
      (long long)a->dims[0], (long long)a->dims[1], (long long)b->dims[0], (long long)b->dims[1],
      o->blur, o->scaling);
  const struct {
    const char *name;
    unsigned bit;
    double value;
  } rows[] = {{"sinkhorn", GPA_METRIC_SINKHORN, v->sinkhorn},
              {"energy", GPA_METRIC_ENERGY, v->energy},
              {"mmd", GPA_METRIC_MMD, v->mmd},
              {"mmd_bandwidth", GPA_METRIC_MMD, v->bandwidth},
              {"w2_exact", GPA_METRIC_W2, v->w2}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    if ((o->which & rows[i].bit) && !(rows[i].bit == GPA_METRIC_W2 && v->w2 < 0) &&
        isfinite(rows[i].value))
      printf(", \"%s\": %.17g", rows[i].name, rows[i].value);
    else printf(", \"%s\": null", rows[i].name);
  }
  printf("}\n");
}

int gpa_metrics(MPI_Comm comm, const struct gpa_metrics_opts *opts) {
  int rank, rc;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  gpa_linalg_setup(1, 0);
  struct set a = {.x = NULL}, b = {.x = NULL};
  struct distances v = {0, 0, 0, 0, -1};
  GPA_CHECK_GOTO(rc, read_set(comm, opts->a, &a), done);
  GPA_CHECK_GOTO(rc, read_set(comm, opts->b, &b), done);
  const int64_t d = a.dims[1];
  if (b.dims[1] != d) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s has %lld columns but %s has %lld", a.label, (long long)d,
                   b.label, (long long)b.dims[1]);
    goto done;
  }
  const int64_t n = a.dims[0], m = b.dims[0];
  if (opts->which & GPA_METRIC_SINKHORN)
    GPA_CHECK_GOTO(
        rc, gpa_sinkhorn(comm, a.x, n, b.x, m, d, opts->blur, opts->scaling, &v.sinkhorn), done);
  if (opts->which & GPA_METRIC_ENERGY)
    GPA_CHECK_GOTO(rc, gpa_energy_distance(comm, a.x, n, b.x, m, d, &v.energy), done);
  if (opts->which & GPA_METRIC_MMD)
    GPA_CHECK_GOTO(rc, gpa_mmd(comm, a.x, n, b.x, m, d, &v.mmd, &v.bandwidth), done);
  if ((opts->which & GPA_METRIC_W2) && n == m && n <= W2_EXACT_MAX)
    GPA_CHECK_GOTO(rc, gpa_w2_exact(a.x, b.x, n, d, &v.w2), done);
  if (rank == 0) (opts->json ? print_json : print_table)(&a, &b, opts, &v);
done:
  gpa_free(&a.x);
  gpa_free(&b.x);
  return rc;
}
