/* The integrated data as an AnnData .h5ad file (anndata 0.8 encoding): X (corrected, dense
 * float32), obs (the source file's columns for the output rows, plus gpa_origin and
 * gpa_label), var (gene ids), obsm/X_gpa (latent coordinates after transport) and
 * obsm/X_pca (before), uns/gpa_report (the report as JSON text). */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpa/io.h"
#include "integration.h"

/* ------------------------------------------------------------------------- rank 0 helpers */

static hid_t utf8_vlen(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

static herr_t attr_str(hid_t obj, const char *name, const char *value) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hid_t t = utf8_vlen(), sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t st = a < 0 ? -1 : H5Awrite(a, t, &value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  return st;
}

static herr_t attr_strs(hid_t obj, const char *name, const char **values, hsize_t n) {
  hid_t t = utf8_vlen(), sp = H5Screate_simple(1, &n, NULL); /* n = 0: an empty list */
  hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t st = a < 0 ? -1 : (n ? H5Awrite(a, t, values) : 0);
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  return st;
}

static herr_t encoding(hid_t obj, const char *type, const char *version) {
  herr_t a = attr_str(obj, "encoding-type", type), b = attr_str(obj, "encoding-version", version);
  return a < 0 || b < 0 ? -1 : 0;
}

static hid_t group(hid_t parent, const char *name, const char *type, const char *version) {
  hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g >= 0 && type) encoding(g, type, version);
  return g;
}

static herr_t strings(hid_t parent, const char *name, const char **s, hsize_t n) {
  hid_t t = utf8_vlen(), sp = H5Screate_simple(1, &n, NULL);
  hid_t d = H5Dcreate2(parent, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t st = d < 0 ? -1 : (n ? H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) : 0);
  if (d >= 0) {
    encoding(d, "string-array", "0.2.0");
    H5Dclose(d);
  }
  H5Sclose(sp);
  H5Tclose(t);
  return st;
}

static herr_t numbers(hid_t parent, const char *name, hid_t ftype, hid_t mtype, const void *v,
                      int rank, const hsize_t *dims) {
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  hid_t d = H5Dcreate2(parent, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t st = d < 0 ? -1 : H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  if (d >= 0) {
    encoding(d, "array", "0.2.0");
    H5Dclose(d);
  }
  H5Sclose(sp);
  return st;
}

static herr_t categorical(hid_t parent, const char *name, const int32_t *codes, hsize_t n,
                          const char **cats, hsize_t ncat) {
  hid_t g = group(parent, name, "categorical", "0.2.0");
  if (g < 0) return -1;
  /* A boolean as h5py (and so anndata) stores it: an enum of FALSE and TRUE. */
  int8_t no = 0, yes = 1;
  hid_t bt = H5Tenum_create(H5T_NATIVE_INT8);
  H5Tenum_insert(bt, "FALSE", &no);
  H5Tenum_insert(bt, "TRUE", &yes);
  hid_t sp = H5Screate(H5S_SCALAR), a = H5Acreate2(g, "ordered", bt, sp, H5P_DEFAULT,
                                                   H5P_DEFAULT);
  H5Awrite(a, bt, &no);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(bt);
  herr_t st = numbers(g, "codes", H5T_STD_I32LE, H5T_NATIVE_INT32, codes, 1, &n);
  if (st >= 0) st = strings(g, "categories", cats, ncat);
  H5Gclose(g);
  return st;
}

/* ------------------------------------------------------------------------- the file */

static int write_annotations(struct gpa_integration *in, const char *path, const double *latent,
                             const double *before, const char *json) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) return GPA_ERROR(GPA_ERR_IO, "%s: cannot reopen", path);
  const hsize_t n = (hsize_t)in->n, g = (hsize_t)in->g, k = (hsize_t)in->k;
  herr_t st = encoding(f, "anndata", "0.1.0");
  hid_t x = H5Dopen2(f, "/X", H5P_DEFAULT);
  if (x >= 0) {
    encoding(x, "array", "0.2.0");
    H5Dclose(x);
  }
  /* obs: index, the source file's categorical and numeric columns (same file), gpa's own. */
  hid_t obs = group(f, "obs", "dataframe", "0.2.0");
  const struct gpa_dataset *t = in->same_file ? &in->src : &in->tgt;
  const char **index = malloc(sizeof(char *) * n);
  char **made = calloc(n, sizeof(char *));
  for (hsize_t i = 0; i < n; i++) {
    const struct gpa_dataset *d = (int64_t)i < in->n_src ? &in->src : t;
    if (d->sample_ids) {
      index[i] = d->sample_ids[in->rows[i]];
    } else {
      made[i] = malloc(32);
      snprintf(made[i], 32, "%lld", (long long)i);
      index[i] = made[i];
    }
  }
  if (st >= 0) st = strings(obs, "_index", index, n);
  int32_t *codes = malloc(sizeof(int32_t) * n);
  for (hsize_t i = 0; i < n; i++) codes[i] = (int64_t)i < in->n_src ? 0 : 1;
  const char *origin_names[2] = {"source", "target"};
  if (st >= 0) st = categorical(obs, "gpa_origin", codes, n, origin_names, 2);
  if (st >= 0)
    st = categorical(obs, "gpa_label", in->label, n, (const char **)in->label_names,
                     (hsize_t)in->n_labels);
  const char *columns[64] = {"gpa_origin", "gpa_label"};
  int n_columns = 2;
  if (in->same_file) { /* the original columns, for the output rows */
    hid_t src = H5Fopen(in->src.path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t sobs = src >= 0 ? H5Gopen2(src, "/obs", H5P_DEFAULT) : -1;
    H5G_info_t ginfo = {0};
    if (sobs >= 0) H5Gget_info(sobs, &ginfo);
    for (hsize_t c = 0; c < ginfo.nlinks && n_columns < 64 && st >= 0; c++) {
      char name[256];
      if (H5Lget_name_by_idx(sobs, ".", H5_INDEX_NAME, H5_ITER_INC, c, name, sizeof name,
                             H5P_DEFAULT) < 0)
        continue;
      if (!strcmp(name, "_index") || !strcmp(name, "__categories")) continue;
      H5O_info_t info;
      if (H5Oget_info_by_name(sobs, name, &info, H5P_DEFAULT) < 0) { /* a dangling link */
        H5Eclear2(H5E_DEFAULT);
        continue;
      }
      if (info.type == H5O_TYPE_GROUP) { /* categorical: codes subset, categories kept */
        char cpath[300], kpath[300];
        snprintf(cpath, sizeof cpath, "%s/codes", name);
        snprintf(kpath, sizeof kpath, "%s/categories", name);
        hid_t cd = H5Dopen2(sobs, cpath, H5P_DEFAULT), kd = H5Dopen2(sobs, kpath, H5P_DEFAULT);
        if (cd < 0 || kd < 0) {
          if (cd >= 0) H5Dclose(cd);
          if (kd >= 0) H5Dclose(kd);
          H5Eclear2(H5E_DEFAULT);
          continue;
        }
        hid_t ksp = H5Dget_space(kd), csp = H5Dget_space(cd);
        hsize_t ncat = (hsize_t)H5Sget_simple_extent_npoints(ksp);
        int fits = H5Sget_simple_extent_npoints(csp) == in->src.n_samples; /* else left out */
        H5Sclose(csp);
        int32_t *all = malloc(sizeof(int32_t) * (size_t)in->src.n_samples);
        char **cats = calloc(ncat + 1, sizeof(char *));
        hid_t vt = utf8_vlen();
        herr_t r1 = fits && all ? H5Dread(cd, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                          all) : -1;
        herr_t r2 = r1 >= 0 && cats ? H5Dread(kd, vt, H5S_ALL, H5S_ALL, H5P_DEFAULT, cats) : -1;
        for (hsize_t i = 0; r1 >= 0 && r2 >= 0 && i < n; i++) /* codes -1 .. ncat - 1 only */
          if (all[in->rows[i]] < -1 || all[in->rows[i]] >= (int64_t)ncat) r1 = -1;
        if (r2 >= 0 && r1 < 0) H5Dvlen_reclaim(vt, ksp, H5P_DEFAULT, cats);
        if (r1 >= 0 && r2 >= 0) {
          for (hsize_t i = 0; i < n; i++) codes[i] = all[in->rows[i]];
          st = categorical(obs, name, codes, n, (const char **)cats, ncat);
          columns[n_columns++] = strdup(name);
          H5Dvlen_reclaim(vt, ksp, H5P_DEFAULT, cats);
        } else {
          H5Eclear2(H5E_DEFAULT);
        }
        H5Tclose(vt);
        H5Sclose(ksp);
        free(all);
        free(cats);
        H5Dclose(cd);
        H5Dclose(kd);
      } else { /* numeric columns; others are left out */
        hid_t dd = H5Dopen2(sobs, name, H5P_DEFAULT), tt = H5Dget_type(dd);
        H5T_class_t cls = H5Tget_class(tt);
        hid_t dsp = H5Dget_space(dd);
        int fits = H5Sget_simple_extent_npoints(dsp) == in->src.n_samples; /* else left out */
        H5Sclose(dsp);
        if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && fits) {
          double *all = malloc(sizeof(double) * (size_t)in->src.n_samples);
          double *sub = malloc(sizeof(double) * n);
          if (all && sub && H5Dread(dd, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) >= 0) {
            for (hsize_t i = 0; i < n; i++) sub[i] = all[in->rows[i]];
            st = numbers(obs, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, sub, 1, &n);
            columns[n_columns++] = strdup(name);
          }
          free(all);
          free(sub);
        }
        H5Tclose(tt);
        H5Dclose(dd);
      }
    }
    if (sobs >= 0) H5Gclose(sobs);
    if (src >= 0) H5Fclose(src);
  }
  if (st >= 0) st = attr_str(obs, "_index", "_index");
  if (st >= 0) st = attr_strs(obs, "column-order", columns, (hsize_t)n_columns);
  for (int c = 2; c < n_columns; c++) free((char *)columns[c]);
  H5Gclose(obs);
  /* var: the gene ids. */
  hid_t var = group(f, "var", "dataframe", "0.2.0");
  if (st >= 0) st = strings(var, "_index", (const char **)in->genes, g);
  if (st >= 0) st = attr_str(var, "_index", "_index");
  if (st >= 0) st = attr_strs(var, "column-order", NULL, 0);
  H5Gclose(var);
  /* obsm, uns and the empty mappings anndata expects. */
  hid_t obsm = group(f, "obsm", "dict", "0.1.0");
  hsize_t dims[2] = {n, k};
  if (st >= 0) st = numbers(obsm, "X_gpa", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, latent, 2, dims);
  if (st >= 0) st = numbers(obsm, "X_pca", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, before, 2, dims);
  H5Gclose(obsm);
  hid_t uns = group(f, "uns", "dict", "0.1.0");
  const char *report[1] = {json};
  if (st >= 0) {
    hid_t tt = utf8_vlen(), sp = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(uns, "gpa_report", tt, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    st = d < 0 ? -1 : H5Dwrite(d, tt, H5S_ALL, H5S_ALL, H5P_DEFAULT, report);
    if (d >= 0) {
      encoding(d, "string", "0.2.0");
      H5Dclose(d);
    }
    H5Sclose(sp);
    H5Tclose(tt);
  }
  H5Gclose(uns);
  const char *empty[] = {"layers", "obsp", "varm", "varp"};
  for (int i = 0; i < 4; i++) {
    hid_t e = group(f, empty[i], "dict", "0.1.0");
    if (e >= 0) H5Gclose(e);
  }
  for (hsize_t i = 0; i < n; i++) free(made[i]);
  free(made);
  free(index);
  free(codes);
  H5Fclose(f);
  if (st < 0) return GPA_ERROR(GPA_ERR_IO, "%s: cannot write the AnnData annotations", path);
  return GPA_OK;
}

int gpa_integration_write_h5ad(struct gpa_integration *in, const char *path, const char *json) {
  char tmp[GPA_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  /* X by all ranks, collectively; the rest by rank 0 (variable-length strings). */
  struct gpa_h5 f;
  GPA_CHECK(gpa_h5_create(&f, in->comm, tmp));
  int rc = gpa_h5_write_rows_f32(&f, "/X", in->Xc, in->part, in->g, NULL);
  int crc = gpa_h5_close(&f);
  if (rc == GPA_OK) rc = crc;
  rc = gpa_comm_agree(in->comm, rc);
  /* Rank 0 needs every latent row. */
  const int64_t k = in->k, n = in->n;
  double *latent = NULL, *before = NULL;
  int *counts = malloc(sizeof(int) * (size_t)in->size), *displs = malloc(sizeof(int) * (size_t)in->size);
  for (int r = 0; r < in->size; r++) {
    struct gpa_part q = gpa_partition(n, r, in->size);
    counts[r] = (int)(q.n_local * k);
    displs[r] = (int)(q.offset * k);
  }
  if (in->rank == 0) {
    latent = malloc(sizeof(double) * (size_t)(n * k));
    before = malloc(sizeof(double) * (size_t)(n * k));
  }
  MPI_Gatherv(in->Zc, (int)(in->part.n_local * k), MPI_DOUBLE, latent, counts, displs, MPI_DOUBLE,
              0, in->comm);
  MPI_Gatherv(in->Z, (int)(in->part.n_local * k), MPI_DOUBLE, before, counts, displs, MPI_DOUBLE,
              0, in->comm);
  free(counts);
  free(displs);
  if (in->rank == 0) {
    if (rc == GPA_OK) rc = write_annotations(in, tmp, latent, before, json);
    if (rc == GPA_OK) rc = gpa_io_commit(tmp, path);
    if (rc) unlink(tmp);
    free(latent);
    free(before);
  }
  return gpa_comm_agree(in->comm, rc);
}
