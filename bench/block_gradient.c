/* What bitwise rank-count independence of `gpa run` would cost in the gradient computation.
 *
 * Today one update runs the discriminator's forward and backward passes over all of a rank's
 * rows (particles and targets) at once, and the ranks' gradients are summed by MPI_Allreduce:
 * the order of the sums follows the partition, so theta depends on the rank count in the last
 * bits.  An order-independent gradient would cut the global rows into fixed blocks of B rows
 * (B = 64, and 256 for comparison), run the passes block by block, and combine the blocks' partial gradients in
 * block order.  This times both on one process, for the shapes of inputs/mog2d.yml (200 + 200
 * rows in R^2) and inputs/mog12d_euler.yml (600 + 600 rows in R^12), phi 32-32-32 relu, on all
 * rows (1 rank) and on half of them (one rank's share on 2 ranks), and prints the overhead.
 * Not counted: the combination across ranks (an allgather of the blocks' partial gradients,
 * blocks x n_params doubles instead of one n_params allreduce), and a partition aligned to the
 * blocks.  Assert nothing; `meson test --benchmark` runs it. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gpa/config.h"
#include "gpa/linalg.h"
#include "gpa/mlp.h"
#include "gpa/rng.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

struct shape {
  const char *name;
  int64_t dim, rows;
};

/* Seconds per gradient, the fastest of 5 rounds of `reps` calls. */
static double time_current(struct gpa_mlp *m, const double *theta, const double *x, const double *w,
                           int64_t rows, double *grad, int reps) {
  double best = INFINITY;
  for (int round = 0; round < 5; round++) {
    double t0 = now();
    for (int i = 0; i < reps; i++) {
      gpa_mlp_forward(m, theta, x, 0, rows);
      gpa_mlp_backward(m, theta, x, w, rows, grad);
    }
    double t = (now() - t0) / reps;
    if (t < best) best = t;
  }
  return best;
}

static double time_blocked(struct gpa_mlp *mb, int64_t BLOCK, const double *theta, const double *x,
                           const double *w, int64_t rows, int64_t np, double *part, double *grad,
                           int reps) {
  const int64_t d = mb->in_dim, nb = (rows + BLOCK - 1) / BLOCK;
  double best = INFINITY;
  for (int round = 0; round < 5; round++) {
    double t0 = now();
    for (int i = 0; i < reps; i++) {
      for (int64_t b = 0; b < nb; b++) {
        const int64_t r0 = b * BLOCK, n = rows - r0 < BLOCK ? rows - r0 : BLOCK;
        gpa_mlp_forward(mb, theta, x + r0 * d, 0, n);
        gpa_mlp_backward(mb, theta, x + r0 * d, w + r0, n, part + b * np);
      }
      /* Fixed order: block 0, then 1, ... whatever ranks held them. */
      memcpy(grad, part, sizeof(double) * (size_t)np);
      for (int64_t b = 1; b < nb; b++)
        for (int64_t k = 0; k < np; k++) grad[k] += part[b * np + k];
    }
    double t = (now() - t0) / reps;
    if (t < best) best = t;
  }
  return best;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gpa_linalg_setup(1, 0);
  const struct shape shapes[] = {{"mog2d   (400 rows, d=2) ", 2, 400},
                                 {"mog2d   (200 rows, d=2) ", 2, 200},
                                 {"mog12d (1200 rows, d=12)", 12, 1200},
                                 {"mog12d  (600 rows, d=12)", 12, 600}};
  printf("gradient of one update (forward + backward), phi 32-32-32 relu, double\n");
  printf("%-26s %6s %7s %13s %13s %9s %15s %s\n", "shape (rows on this rank)", "block", "params",
         "current [us]", "blocked [us]", "overhead", "allgather [KB]", "max|diff|/max|g|");
  int rc = 0;
  const int64_t blocks[] = {64, 256};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && !rc; s++)
    for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0] && !rc; bi++) {
      const int64_t BLOCK = blocks[bi];
      struct gpa_params p;
      gpa_params_default(&p);
      p.network.widths.n = 3;
      p.network.widths.v[0] = p.network.widths.v[1] = p.network.widths.v[2] = 32;
      const int64_t d = shapes[s].dim, rows = shapes[s].rows;
      struct gpa_mlp m, mb;
      if (gpa_mlp_create(&m, d, &p, 0, rows) || gpa_mlp_create(&mb, d, &p, 0, BLOCK)) {
        fprintf(stderr, "block_gradient: %s\n", gpa_error_message());
        rc = 1;
        break;
      }
      const int64_t np = m.n_params, nb = (rows + BLOCK - 1) / BLOCK;
      double *theta, *x, *w, *grad, *grad_b, *part;
      if (gpa_alloc_array(&theta, (size_t)np, sizeof(double)) ||
          gpa_alloc_array(&x, (size_t)(rows * d), sizeof(double)) ||
          gpa_alloc_array(&w, (size_t)rows, sizeof(double)) ||
          gpa_alloc_array(&grad, (size_t)np, sizeof(double)) ||
          gpa_alloc_array(&grad_b, (size_t)np, sizeof(double)) ||
          gpa_alloc_array(&part, (size_t)(nb * np), sizeof(double))) {
        fprintf(stderr, "block_gradient: out of memory\n");
        return 1;
      }
      gpa_mlp_init_params(&m, theta, 1);
      for (int64_t i = 0; i < rows * d; i++) {
        struct gpa_rng rng;
        gpa_rng_init(&rng, 2, 0, (uint64_t)i);
        x[i] = gpa_rng_normal(&rng);
      }
      for (int64_t r = 0; r < rows; r++)
        w[r] = r < rows / 2 ? 1.0 / (double)rows : -1.0 / (double)rows;
      const int reps = (int)(100000000 / (rows * 32 * 32) + 20); /* ~0.05 s a round */
      const double tc = time_current(&m, theta, x, w, rows, grad, reps);
      const double tb = time_blocked(&mb, BLOCK, theta, x, w, rows, np, part, grad_b, reps);
      double diff = 0.0, gmax = 0.0;
      for (int64_t k = 0; k < np; k++) {
        diff = fmax(diff, fabs(grad[k] - grad_b[k]));
        gmax = fmax(gmax, fabs(grad[k]));
      }
      printf("%-26s %6lld %7lld %13.1f %13.1f %8.1f%% %15.1f %.1e\n", shapes[s].name,
             (long long)BLOCK, (long long)np, 1e6 * tc, 1e6 * tb, 100.0 * (tb / tc - 1.0),
             (double)(nb * np) * 8.0 / 1024.0, gmax > 0 ? diff / gmax : 0.0);
      gpa_free(&theta);
      gpa_free(&x);
      gpa_free(&w);
      gpa_free(&grad);
      gpa_free(&grad_b);
      gpa_free(&part);
      gpa_mlp_destroy(&m);
      gpa_mlp_destroy(&mb);
    }
  MPI_Finalize();
  return rc;
}
