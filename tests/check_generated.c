/* check_generated RUN.h5 GENERATED.h5 HELDOUT.h5 FACTOR: generated particles (from
 * `gpa sample`) reach the target distribution about as well as the run's trained particles:
 * against a held-out target sample (/target of HELDOUT.h5, never trained on), the exact W2 of
 * 200-point subsets of the generated particles (averaged) and their Sinkhorn divergence are
 * within FACTOR of the trained particles' values.  Also prints both against the training
 * targets, where the trained particles are closer (with N = M they partly settle on the
 * target samples). */
#include <stdio.h>
#include <stdlib.h>

#include "gpa/datafile.h"
#include "gpa/io.h"
#include "gpa/metrics.h"

static double *read_all(const char *path, const char *name, int64_t dims[2]) {
  double *x = NULL;
  if (gpa_data_shape(MPI_COMM_WORLD, path, name, name, dims) ||
      gpa_alloc_array(&x, (size_t)(dims[0] * dims[1]), sizeof(double)) ||
      gpa_data_read_rows(MPI_COMM_WORLD, path, name, 0, dims[0], dims[1], x)) {
    fprintf(stderr, "error: %s\n", gpa_error_message());
    exit(1);
  }
  return x;
}

/* Exact W2 of the trained set, and the mean exact W2 of n-point subsets of the generated. */
static void w2_pair(const double *y, int64_t n, const double *g, int64_t ng, const double *x,
                    int64_t d, double *trained, double *generated) {
  gpa_w2_exact(y, x, n, d, trained);
  double sum = 0.0;
  int64_t subsets = ng / n;
  for (int64_t k = 0; k < subsets; k++) {
    double w;
    gpa_w2_exact(g + k * n * d, x, n, d, &w);
    sum += w;
  }
  *generated = sum / (double)subsets;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gpa_io_setup();
  gpa_comm_setup(MPI_COMM_WORLD);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc != 5) {
    fprintf(stderr, "usage: check_generated RUN.h5 GENERATED.h5 HELDOUT.h5 FACTOR\n");
    return 2;
  }
  int64_t dy[2], dg[2], dx[2], dh[2];
  double *y = read_all(argv[1], "/particles/final", dy);
  double *x = read_all(argv[1], "/target", dx);
  double *g = read_all(argv[2], "/particles/final", dg);
  double *h = read_all(argv[3], "/target", dh);
  const int64_t d = dy[1], n = dy[0];
  double factor = atof(argv[4]);
  double w_tr_h, w_gen_h, w_tr_x, w_gen_x, s_tr_h, s_gen_h, s_tr_x, s_gen_x;
  w2_pair(y, n, g, dg[0], h, d, &w_tr_h, &w_gen_h);
  w2_pair(y, n, g, dg[0], x, d, &w_tr_x, &w_gen_x);
  gpa_sinkhorn(MPI_COMM_WORLD, y, n, h, dh[0], d, 0.05, 0.5, &s_tr_h);
  gpa_sinkhorn(MPI_COMM_WORLD, g, dg[0], h, dh[0], d, 0.05, 0.5, &s_gen_h);
  gpa_sinkhorn(MPI_COMM_WORLD, y, n, x, dx[0], d, 0.05, 0.5, &s_tr_x);
  gpa_sinkhorn(MPI_COMM_WORLD, g, dg[0], x, dx[0], d, 0.05, 0.5, &s_gen_x);
  int ok = w_gen_h <= factor * w_tr_h && s_gen_h <= factor * s_tr_h;
  if (rank == 0) {
    printf("%lld trained particles, %lld generated; distances to the targets:\n", (long long)n,
           (long long)dg[0]);
    printf("                            trained    generated   ratio\n");
    printf(
        "held-out   exact W2        %9.4f   %9.4f   %5.2f  (generated: mean over %lld "
        "subsets of %lld)\n",
        w_tr_h, w_gen_h, w_gen_h / w_tr_h, (long long)(dg[0] / n), (long long)n);
    printf("held-out   Sinkhorn        %9.4f   %9.4f   %5.2f\n", s_tr_h, s_gen_h, s_gen_h / s_tr_h);
    printf("training   exact W2        %9.4f   %9.4f   %5.2f\n", w_tr_x, w_gen_x, w_gen_x / w_tr_x);
    printf("training   Sinkhorn        %9.4f   %9.4f   %5.2f\n", s_tr_x, s_gen_x, s_gen_x / s_tr_x);
    printf("%s: against held-out targets, generated within %.2fx of trained\n", ok ? "ok" : "FAIL",
           factor);
  }
  MPI_Finalize();
  return ok ? 0 : 1;
}
