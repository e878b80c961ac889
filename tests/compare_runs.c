/* compare_runs A.h5 B.h5 RTOL OBJECT...: for each numeric dataset, the largest difference
 * relative to the largest magnitude, max|a - b| / max|a|; fails when any exceeds RTOL.
 * OBJECT is a dataset path in both files, or "PATH_IN_A=PATH_IN_B".
 * (Element-wise relative differences are ill-posed for entries that are rounding noise
 * around zero.) */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double *read_all(const char *path, const char *name, hssize_t *count) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return NULL;
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) {
    H5Fclose(f);
    return NULL;
  }
  hid_t s = H5Dget_space(d);
  *count = H5Sget_simple_extent_npoints(s);
  double *v = malloc(sizeof(double) * (size_t)(*count > 0 ? *count : 1));
  if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
    free(v);
    v = NULL;
  }
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: compare_runs A.h5 B.h5 RTOL OBJECT...\n");
    return 2;
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  double rtol = atof(argv[3]);
  int bad = 0;
  for (int i = 4; i < argc; i++) {
    hssize_t na = 0, nb = 0;
    char name_a[512], name_b[512];
    snprintf(name_a, sizeof name_a, "%s", argv[i]);
    char *eq = strchr(name_a, '=');
    snprintf(name_b, sizeof name_b, "%s", eq ? eq + 1 : argv[i]);
    if (eq) *eq = '\0';
    double *a = read_all(argv[1], name_a, &na), *b = read_all(argv[2], name_b, &nb);
    if (!a || !b || na != nb) {
      printf("%-28s cannot compare (missing or different sizes)\n", argv[i]);
      bad = 1;
    } else {
      double diff = 0.0, mag = 0.0;
      for (hssize_t k = 0; k < na; k++) {
        diff = fmax(diff, fabs(a[k] - b[k]));
        mag = fmax(mag, fabs(a[k]));
      }
      double rel = mag > 0 ? diff / mag : diff;
      int ok = rel <= rtol;
      printf("%-28s %8lld values  max|a-b|/max|a| = %.3e  %s\n", argv[i], (long long)na, rel,
             ok ? "ok" : "TOO LARGE");
      bad |= !ok;
    }
    free(a);
    free(b);
  }
  return bad;
}
