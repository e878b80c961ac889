/* The state of one `gpa integrate` run, shared by integrate.c (data, latent space, transport,
 * output) and report.c (distances and neighbour statistics).  Internal to the library. */
#ifndef GPA_INTEGRATION_H
#define GPA_INTEGRATION_H

#include <stdio.h>

#include "gpa/comm.h"
#include "gpa/config.h"
#include "gpa/dataset.h"
#include "gpa/pca.h"

struct gpa_integration {
  MPI_Comm comm;
  int rank, size;
  struct gpa_params p;
  struct gpa_dataset src, tgt; /* tgt unused when same_file */
  int same_file;
  /* Genes kept: those of the source found in the target (all, for one file). */
  int64_t g;
  int64_t *src_cols, *tgt_cols; /* [g] file columns, or NULL for all columns in order */
  char **genes;                 /* [g] ids (pointers into src.gene_ids) */
  /* Samples: the pooled rows, source first, then target. */
  int64_t n_src, n_tgt, n;
  int64_t *rows;  /* [n] row of each pooled sample in its file */
  int32_t *label; /* [n] label index into label_names */
  int32_t *batch; /* [n] original batch code */
  int n_labels;
  char **label_names;    /* [n_labels] */
  struct gpa_block part; /* pooled samples of this rank */
  /* Data of this rank's samples. */
  float *X;  /* [n_local][g] as read */
  float *Xc; /* [n_local][g] corrected: source rows decoded after transport */
  float *Xb; /* [n_local][g] baseline: source rows adjusted per label and gene */
  struct gpa_pca pca;
  int k;
  double *Z;  /* [n_local][k] latent coordinates before transport (PCA units) */
  double *Zc; /* [n_local][k] after transport (PCA units) */
  /* What the report measures besides: samples that belong together (integrate.pair_key), and
   * the truth of synthetic data (/X_ref and /obs/latent of the input, e.g. from
   * make_synthetic_batches.py --counterfactual). */
  int32_t *pair; /* [n] pair code of each pooled source sample, -1 none; NULL: no pair_key */
  int64_t dz;    /* columns of the true latent state; 0: the input holds no truth */
  float *Xref;   /* [n_local][g] the batch-free twin (/X_ref) of this rank's source rows */
  float *Ztrue;  /* [n_local][dz] the true latent state (/obs/latent) of this rank's rows */
  /* Per label: the run file of its transport (its recorded deck reads the label's rows from
   * /runs/<label> of the output), and the report. */
  char (*run_files)[GPA_PATH_MAX]; /* [n_labels] */
  double seconds_pca, seconds_gpa, seconds_per_step;
  int64_t steps_total;
};

/* The report: distances, floor, neighbour statistics and the checks of the bar, per label
 * and pooled over the labels; printed on rank 0 and returned as JSON text (gpa_free it). */
int gpa_integration_report(struct gpa_integration *in, FILE *out, char **json);

/* The integrated data as an AnnData .h5ad file at `path` (h5ad.c). */
int gpa_integration_write_h5ad(struct gpa_integration *in, const char *path, const char *json);

#endif
