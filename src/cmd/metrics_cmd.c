/* gpa metrics A.h5[:/dataset] B.h5[:/dataset]: distances between two sample sets. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "gpa/io.h"
#include "gpa/metrics.h"

enum { W2_EXACT_MAX = 3000 }; /* the assignment is O(n^3) */

static int read_set(MPI_Comm comm, const char *spec, double **x, int64_t dims[2], char *label,
                    size_t size) {
  char file[GPA_PATH_MAX], dataset[256];
  gpa_data_spec(spec, "/X", file, sizeof file, dataset, sizeof dataset);
  snprintf(label, size, "%s:%s", file, dataset);
  GPA_CHECK(gpa_data_shape(comm, file, dataset, spec, dims));
  GPA_CHECK(gpa_alloc_array(x, (size_t)(dims[0] * dims[1] + 1), sizeof(double)));
  return gpa_data_read_rows(comm, file, dataset, 0, dims[0], dims[1], *x);
}

int gpa_cmd_metrics(MPI_Comm comm, const struct gpa_cli *cli) {
  if (cli->n_sets != 2)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa metrics needs two sets: A.h5[:/dataset] B.h5[:/dataset]");
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  double *a = NULL, *b = NULL;
  int64_t da[2], db[2];
  char la[GPA_PATH_MAX + 300], lb[GPA_PATH_MAX + 300];
  int rc = read_set(comm, cli->sets[0], &a, da, la, sizeof la);
  if (rc == GPA_OK) rc = read_set(comm, cli->sets[1], &b, db, lb, sizeof lb);
  if (rc == GPA_OK && da[1] != db[1])
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s has %lld columns but %s has %lld", la, (long long)da[1], lb,
                   (long long)db[1]);
  double sk = 0, en = 0, mmd = 0, h = 0, w2 = -1;
  if (rc == GPA_OK)
    rc = gpa_sinkhorn(comm, a, da[0], b, db[0], da[1], cli->blur, cli->scaling, &sk);
  if (rc == GPA_OK) rc = gpa_energy_distance(comm, a, da[0], b, db[0], da[1], &en);
  if (rc == GPA_OK) rc = gpa_mmd(comm, a, da[0], b, db[0], da[1], &mmd, &h);
  if (rc == GPA_OK && da[0] == db[0] && da[0] <= W2_EXACT_MAX)
    rc = gpa_w2_exact(a, b, da[0], da[1], &w2);
  if (rc == GPA_OK && rank == 0) {
    printf("A: %s [%lld x %lld]\nB: %s [%lld x %lld]\n", la, (long long)da[0], (long long)da[1],
           lb, (long long)db[0], (long long)db[1]);
    printf("sinkhorn  %.6e   (debiased, cost |x-y|^2/2, blur %g, scaling %g)\n", sk, cli->blur,
           cli->scaling);
    printf("energy    %.6e   (2E|X-Y| - E|X-X'| - E|Y-Y'|)\n", en);
    printf("mmd       %.6e   (Gaussian kernel, median-heuristic bandwidth %.4g)\n", mmd, h);
    if (w2 >= 0)
      printf("w2_exact  %.6e   (optimal assignment)\n", w2);
    else
      printf("w2_exact  -              (needs equal sizes up to %d)\n", W2_EXACT_MAX);
  }
  gpa_free(&a);
  gpa_free(&b);
  return rc;
}
