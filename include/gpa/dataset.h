/* Gene-expression data sets for integration: HDF5 "layout v1" files (/X samples x genes,
 * /obs/<column> codes with /obs/<column>_names, /var/gene_ids) and AnnData .h5ad files as
 * scanpy writes them (X dense or CSR sparse; obs columns as categorical codes + categories).
 *
 * Rank 0 reads and checks the annotations, the shape, the filters and (CSR) the row pointers,
 * and broadcasts them; then every rank reads its own rows of X, opening the file read-only with
 * HDF5's sequential driver.  No HDF5 call in a read of rows is collective, so damage that only
 * one rank's rows meet (a corrupt chunk, NaN) cannot leave the other ranks waiting: the ranks
 * agree on the outcome once, at the end.  Every function here is collective (the
 * single-process file and the checks of an input dataset they use are in gpa/io.h and
 * gpa/datafile.h). */
#ifndef GPA_DATASET_H
#define GPA_DATASET_H

#include <mpi.h>
#include <stdint.h>

#include "gpa/config.h"

enum gpa_data_format { GPA_DATA_LAYOUT1, GPA_DATA_H5AD };

/* A categorical annotation of the samples: codes[i] in [0, n_names) or -1 (missing). */
struct gpa_category {
  char key[128];
  int32_t *codes; /* [n_samples] */
  int n_names;
  char **names; /* [n_names] */
};

struct gpa_dataset {
  char path[GPA_PATH_MAX];
  int format; /* enum gpa_data_format */
  int64_t n_samples, n_genes;
  char **gene_ids;   /* [n_gene_ids] (== n_genes once opened) */
  char **sample_ids; /* [n_sample_ids] (== n_samples once opened), NULL when the file has none */
  int64_t n_gene_ids, n_sample_ids; /* entries allocated in gene_ids, sample_ids */
  struct gpa_category batch, label; /* label.codes NULL when no label column was asked for */
  /* X storage */
  int sparse;      /* CSR (h5ad) */
  int64_t *indptr; /* [n_samples + 1] CSR row starts */
};

/* Opens `path` and reads its annotations: the batch column `batch_key` ("" : every sample in
 * batch 0) and the label column `label_key` ("" : none).  Missing datasets, unknown columns and
 * inconsistent shapes are GPA_ERR_INPUT naming the file. */
int gpa_dataset_open(MPI_Comm comm, const char *path, const char *batch_key, const char *label_key,
                     struct gpa_dataset *ds);
void gpa_dataset_close(struct gpa_dataset *ds);

/* Reads rows rows[0 .. count) (sample indices, any order) of X, keeping the file columns
 * col_map[0 .. ncols) (NULL: all columns in order), into out [count][ncols].  NaN or Inf is an
 * error naming the sample and gene. */
int gpa_dataset_read_rows(MPI_Comm comm, const struct gpa_dataset *ds, const int64_t *rows,
                          int64_t count, const int64_t *col_map, int64_t ncols, float *out);

/* The optional parts `gpa integrate` reports with.  *cols = the width of the dataset `name`
 * (e.g. /X_ref, /obs/latent) when a layout-v1 file holds it as a numeric [samples][cols]
 * matrix, 0 when the file has no such dataset (or is .h5ad); one of another shape is
 * GPA_ERR_INPUT. */
int gpa_dataset_matrix(MPI_Comm comm, const struct gpa_dataset *ds, const char *name,
                       int64_t *cols);
/* Reads rows of that dense matrix `name` of `width` columns as gpa_dataset_read_rows reads
 * /X. */
int gpa_dataset_read_matrix_rows(MPI_Comm comm, const struct gpa_dataset *ds, const char *name,
                                 int64_t width, const int64_t *rows, int64_t count,
                                 const int64_t *col_map, int64_t ncols, float *out);
/* The categorical obs column `key` (as the batch and label columns are read) into c; free it
 * with gpa_dataset_free_column. */
int gpa_dataset_read_column(MPI_Comm comm, const struct gpa_dataset *ds, const char *key,
                            struct gpa_category *c);
void gpa_dataset_free_column(struct gpa_category *c);

#endif
