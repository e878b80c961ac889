/* Distances between sample sets. */
#ifndef GPA_METRICS_H
#define GPA_METRICS_H

#include <stdint.h>

/* Exact 2-Wasserstein distance between two sets of n points in R^d with uniform weights:
 * sqrt(min over assignments s of mean_i |a_i - b_s(i)|^2), by shortest augmenting paths
 * (Hungarian method with potentials, O(n^3) time, O(n) memory).  a, b: [n][d]. */
int gpa_w2_exact(const double *a, const double *b, int64_t n, int64_t d, double *w2);

#endif
