/* check_convergence RUN.h5 FACTOR: exact W2 between the particles and the targets, before and
 * after; fails unless the run cut it by at least FACTOR. */
#include <stdio.h>
#include <stdlib.h>

#include "gpa/datafile.h"
#include "gpa/io.h"
#include "gpa/metrics.h"

static int read_all(const char *path, const char *name, int64_t dims[2], double **x) {
  GPA_CHECK(gpa_data_shape(MPI_COMM_SELF, path, name, name, dims));
  GPA_CHECK(gpa_alloc_array(x, (size_t)(dims[0] * dims[1]), sizeof(double)));
  return gpa_data_read_rows(MPI_COMM_SELF, path, name, 0, dims[0], dims[1], *x);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gpa_io_setup();
  gpa_comm_setup(MPI_COMM_SELF);
  if (argc != 3) {
    fprintf(stderr, "usage: check_convergence RUN.h5 FACTOR\n");
    return 2;
  }
  double *x, *y0, *y1, w0, w1;
  int64_t dx[2], d0[2], d1[2];
  if (read_all(argv[1], "/target", dx, &x) || read_all(argv[1], "/particles/initial", d0, &y0) ||
      read_all(argv[1], "/particles/final", d1, &y1)) {
    fprintf(stderr, "error: %s\n", gpa_error_message());
    return 1;
  }
  if (dx[0] != d0[0]) {
    fprintf(stderr, "error: exact W2 needs as many particles as targets\n");
    return 1;
  }
  if (gpa_w2_exact(y0, x, dx[0], dx[1], &w0) || gpa_w2_exact(y1, x, dx[0], dx[1], &w1)) return 1;
  double factor = atof(argv[2]);
  printf("exact W2 particles-targets: initial %.6f, final %.6f, reduced %.1fx (need %.1fx)\n", w0,
         w1, w0 / w1, factor);
  MPI_Finalize();
  return w0 / w1 >= factor ? 0 : 1;
}
