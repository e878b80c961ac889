/* Run provenance: /parameters and /code (provenance.h). */
#include "gpa/provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <zlib.h>

#include "gpa/linalg.h"
#include "gpa_config.h"
#include "version.h"

/* The attribute of deck key i in its section's group. */
static int write_key(struct gpa_h5 *f, const struct gpa_params *p, int i) {
  char group[64];
  snprintf(group, sizeof group, "/parameters/%s", gpa_params_section(i));
  const char *key = gpa_params_key(i);
  const void *v = gpa_params_value(p, i);
  switch (gpa_params_type(i)) {
    case GPA_PT_INT:
      return gpa_h5_attr_i64(f, group, key, v, 1);
    case GPA_PT_REAL:
      return gpa_h5_attr_f64(f, group, key, v, 1);
    case GPA_PT_BOOL: {
      int64_t b = *(const bool *)v;
      return gpa_h5_attr_i64(f, group, key, &b, 1);
    }
    case GPA_PT_ENUM:
      return gpa_h5_attr_string(f, group, key, gpa_params_enum_name(i, *(const int *)v));
    case GPA_PT_STRING:
      return gpa_h5_attr_string(f, group, key, v);
    case GPA_PT_INTLIST: {
      const struct gpa_int_list *l = v;
      return gpa_h5_attr_i64(f, group, key, l->v, l->n);
    }
  }
  return GPA_OK;
}

int gpa_h5_write_parameters(struct gpa_h5 *f, const struct gpa_params *p) {
  for (int i = 0; i < gpa_params_count(); i++) GPA_CHECK(write_key(f, p, i));
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) return GPA_ERROR(GPA_ERR_NOMEM, "cannot format the deck");
  gpa_params_dump(mem, p);
  fclose(mem);
  int rc = gpa_h5_attr_string(f, "/parameters", "deck", text);
  free(text); /* open_memstream's buffer comes from malloc */
  return rc;
}

int gpa_h5_write_code(struct gpa_h5 *f) {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0, size;
  GPA_MPI(MPI_Get_library_version(mpi, &len));
  mpi[strcspn(mpi, "\n,")] = '\0';
  GPA_MPI(MPI_Comm_size(f->comm, &size));
  int64_t ranks = size;
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "version", GPA_VERSION));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "git_revision", GPA_GIT_REVISION));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "compiler", GPA_COMPILER));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "build_type", GPA_BUILD_TYPE));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "mpi", mpi));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "hdf5", gpa_io_hdf5_version()));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "blis", gpa_linalg_blis_version()));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "blis_kernels", gpa_linalg_arch()));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "libyaml", yaml_get_version_string()));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "zlib", zlibVersion()));
  GPA_CHECK(gpa_h5_attr_i64(f, "/code", "mpi_ranks", &ranks, 1));
  return GPA_OK;
}
