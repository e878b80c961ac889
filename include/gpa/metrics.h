/* Distances between sample sets (ALGORITHM.md section 8).
 *
 * The distributed functions take both point sets in full on every rank and split the work by
 * rows across the communicator; every rank gets the result. */
#ifndef GPA_METRICS_H
#define GPA_METRICS_H

#include <mpi.h>
#include <stdint.h>

/* Exact 2-Wasserstein distance between two sets of n points in R^d with uniform weights:
 * sqrt(min over assignments s of mean_i |a_i - b_s(i)|^2), by shortest augmenting paths
 * (Hungarian method with potentials, O(n^3) time, O(n) memory).  a, b: [n][d]. */
int gpa_w2_exact(const double *a, const double *b, int64_t n, int64_t d, double *w2);

/* Debiased Sinkhorn divergence S = OT(a,b) - OT(a,a)/2 - OT(b,b)/2 between the uniform
 * measures on a [n][d] and b [m][d], cost |x - y|^2 / 2, entropic blur^2, with epsilon
 * annealed from the squared diameter down to blur^2 by scaling^2 per round (log-domain,
 * symmetric updates, as geomloss; blur 0.05, scaling 0.5 give the paper's numbers).  It is not
 * square-rooted.  Collective. */
int gpa_sinkhorn(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m, int64_t d,
                 double blur, double scaling, double *value);

/* Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| (V-statistic).  Collective. */
int gpa_energy_distance(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m,
                        int64_t d, double *value);

/* Maximum mean discrepancy (biased, square-rooted) with the Gaussian kernel
 * exp(-|x - y|^2 / (2 h^2)), h the median distance between pooled points (from at most 1000
 * of them).  Collective. */
int gpa_mmd(MPI_Comm comm, const double *a, int64_t n, const double *b, int64_t m, int64_t d,
            double *value, double *bandwidth);

/* The job of `gpa metrics` (metrics_job.c): the distances above between two sample sets. */
enum gpa_metric {
  GPA_METRIC_SINKHORN = 1 << 0,
  GPA_METRIC_ENERGY = 1 << 1,
  GPA_METRIC_MMD = 1 << 2,
  GPA_METRIC_W2 = 1 << 3,
  GPA_METRIC_ALL = (1 << 4) - 1,
};
struct gpa_metrics_opts {
  const char *a, *b;    /* the sets: FILE.h5[:/dataset] (default /X), one point per row */
  double blur, scaling; /* gpa_sinkhorn's settings */
  unsigned which;       /* gpa_metric bits: the distances to compute */
  int json;             /* print one JSON object (full precision) instead of the table */
};
/* Collective: reads both sets on every rank and prints on rank 0 (stdout) their Sinkhorn
 * divergence, energy distance, MMD and, for sets of the same size up to 3000 points, the exact
 * W2. */
int gpa_metrics(MPI_Comm comm, const struct gpa_metrics_opts *opts);

#endif
