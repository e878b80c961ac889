/* `gpa transport` and `gpa sample`: new points moved through a run's stored field. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "gpa/distributions.h"
#include "gpa/field.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa/paths.h"
#include "gpa/rng.h"

/* The run's resolved settings, from /parameters/deck. */
static int run_params(struct gpa_h5 *run, struct gpa_params *p) {
  char format[32] = "";
  if (gpa_h5_read_attr_string(run, "/", "format", format, sizeof format) != GPA_OK ||
      strcmp(format, "gpa-run") != 0) {
    gpa_error_clear();
    return GPA_ERROR(GPA_ERR_INPUT, "--field: %s is not a gpa run file", run->path);
  }
  char *deck;
  GPA_CHECK(gpa_h5_read_attr_text(run, "/parameters", "deck", &deck));
  struct gpa_deck d;
  gpa_deck_init(&d);
  int rc = gpa_deck_parse(&d, run->path, deck, strlen(deck));
  gpa_free(&deck);
  *p = d.p;
  return rc;
}

/* Classes 0-9 of rows part.offset ... of the 1-D dataset `name` of `f` (n_rows values). */
static int read_labels(struct gpa_h5 *f, const char *name, int64_t n_rows, struct gpa_part part,
                       int64_t period, int32_t *labels) {
  int nd;
  int64_t dims[3];
  GPA_CHECK(gpa_h5_shape(f, name, &nd, dims));
  if (nd != 1 || (period == 0 && dims[0] != n_rows))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s must hold one class per point (%lld values)",
                     f->path, name, (long long)n_rows);
  int64_t *all;
  GPA_CHECK(gpa_alloc_array(&all, (size_t)dims[0] + 1, sizeof(int64_t)));
  int rc = gpa_h5_read_i64(f, name, all, dims[0]);
  for (int64_t i = 0; rc == GPA_OK && i < part.n_local; i++) {
    int64_t v = all[period ? (part.offset + i) % dims[0] : part.offset + i];
    if (v < 0 || v > 9)
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s[%lld] = %lld is not a class 0-9", f->path, name,
                     (long long)(part.offset + i), (long long)v);
    labels[i] = (int32_t)v;
  }
  gpa_free(&all);
  return rc;
}

static int write_result(MPI_Comm comm, const char *path, const struct gpa_params *p,
                        struct gpa_part part, const double *x0, const double *x,
                        const int32_t *labels, int64_t steps, const char *field,
                        const char *origin) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  char tmp[GPA_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  struct gpa_h5 f;
  int rc = gpa_h5_create(&f, comm, tmp);
  const int64_t d = p->source.dim;
  if (rc == GPA_OK) rc = gpa_h5_attr_string(&f, "/", "format", "gpa-transport");
  if (rc == GPA_OK) rc = gpa_h5_attr_string(&f, "/", "field", field);
  if (rc == GPA_OK) rc = gpa_h5_attr_string(&f, "/", "input", origin);
  if (rc == GPA_OK) rc = gpa_h5_attr_i64(&f, "/", "steps", &steps, 1);
  if (rc == GPA_OK) rc = gpa_h5_write_code(&f);
  if (rc == GPA_OK)
    rc = gpa_h5_write_rows(&f, "/particles/initial", x0, part, d, "points before the flow");
  if (rc == GPA_OK)
    rc = gpa_h5_write_rows(&f, "/particles/final", x, part, d, "points moved by the field");
  if (rc == GPA_OK && labels)
    rc = gpa_h5_write_i32_rows(&f, "/labels", labels, part, "class of each point");
  if (f.file >= 0 && gpa_h5_close(&f) != GPA_OK && rc == GPA_OK) rc = GPA_ERR_IO;
  if (rank == 0) {
    if (rc == GPA_OK) rc = gpa_io_commit(tmp, path);
    if (rc) unlink(tmp);
  }
  return gpa_comm_agree(comm, rc);
}

int gpa_cmd_replay(MPI_Comm comm, const struct gpa_cli *cli) {
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  /* The output must be none of the inputs: checked before anything is read. */
  char in_file[GPA_PATH_MAX], labels_file[GPA_PATH_MAX], ds[256];
  in_file[0] = labels_file[0] = '\0';
  if (cli->input) gpa_data_spec(cli->input, "/X", in_file, sizeof in_file, ds, sizeof ds);
  if (cli->labels)
    gpa_data_spec(cli->labels, "/labels", labels_file, sizeof labels_file, ds, sizeof ds);
  struct gpa_paths pp;
  memset(&pp, 0, sizeof pp);
  gpa_paths_input(&pp, cli->field, "--field");
  gpa_paths_input(&pp, in_file, "--input");
  gpa_paths_input(&pp, labels_file, "--labels");
  gpa_paths_output(&pp, cli->output, "--output");
  GPA_CHECK(gpa_paths_check(comm, &pp));
  struct gpa_h5 run;
  GPA_CHECK(gpa_h5_open(&run, comm, cli->field, 0, "--field"));
  struct gpa_params p;
  int rc = run_params(&run, &p);
  /* The run's BLIS kernels (they round differently), so that a replay is exact. */
  gpa_linalg_setup(1, rc == GPA_OK && p.network.conv_channels.n > 0);
  const int64_t d = p.source.dim;
  struct gpa_part part = {0, 0, 0};
  double *x = NULL, *x0 = NULL;
  int32_t *labels = NULL;
  char origin[GPA_PATH_MAX + 300] = "";
  if (rc == GPA_OK && !strcmp(cli->command, "transport")) {
    char file[GPA_PATH_MAX], dataset[256];
    gpa_data_spec(cli->input, "/X", file, sizeof file, dataset, sizeof dataset);
    snprintf(origin, sizeof origin, "%s:%s", file, dataset);
    int64_t dims[2];
    rc = gpa_data_shape(comm, file, dataset, "--input", dims);
    if (rc == GPA_OK && dims[1] != d)
      rc = GPA_ERROR(GPA_ERR_INPUT, "--input: %s has %lld columns but the field lives in R^%lld",
                     origin, (long long)dims[1], (long long)d);
    if (rc == GPA_OK) {
      part = gpa_partition(dims[0], rank, size);
      rc = gpa_alloc_array(&x, (size_t)(part.n_local * d + 1), sizeof(double));
    }
    if (rc == GPA_OK) rc = gpa_data_read_rows(comm, file, dataset, part.offset, part.n_local, d, x);
    if (rc == GPA_OK && cli->labels) { /* the points' classes, for a conditional field */
      char lfile[GPA_PATH_MAX], ldataset[256];
      gpa_data_spec(cli->labels, "/labels", lfile, sizeof lfile, ldataset, sizeof ldataset);
      struct gpa_h5 lf;
      rc = gpa_alloc_array(&labels, (size_t)part.n_local + 1, sizeof(int32_t));
      if (rc == GPA_OK) rc = gpa_h5_open(&lf, comm, lfile, 0, "--labels");
      if (rc == GPA_OK) {
        rc = read_labels(&lf, ldataset, dims[0], part, 0, labels);
        gpa_h5_close(&lf);
      }
    }
  } else if (rc == GPA_OK) { /* sample */
    if (p.source.kind == GPA_DIST_FILE)
      rc = GPA_ERROR(GPA_ERR_INPUT, "gpa sample: the run's source is a file; use gpa transport");
    uint64_t seed = cli->seed >= 0 ? (uint64_t)cli->seed : (uint64_t)p.run.seed;
    snprintf(origin, sizeof origin, "source distribution, seed %llu, stream %d",
             (unsigned long long)seed, GPA_STREAM_SAMPLE);
    part = gpa_partition(cli->n, rank, size);
    if (rc == GPA_OK) rc = gpa_alloc_array(&x, (size_t)(part.n_local * d + 1), sizeof(double));
    if (rc == GPA_OK)
      rc = gpa_dist_sample(comm, &p.source, seed, GPA_STREAM_SAMPLE, part, x, NULL);
    /* A conditional field: the new points take the targets' classes in turn, as the run's
     * particles did. */
    if (rc == GPA_OK && p.network.conditional) {
      rc = gpa_alloc_array(&labels, (size_t)part.n_local + 1, sizeof(int32_t));
      if (rc == GPA_OK) rc = read_labels(&run, "/labels/target", 0, part, 1, labels);
    }
  }
  rc = gpa_comm_agree(comm, rc);
  if (rc == GPA_OK) rc = gpa_alloc_array(&x0, (size_t)(part.n_local * d + 1), sizeof(double));
  if (rc == GPA_OK) memcpy(x0, x, sizeof(double) * (size_t)(part.n_local * d));
  int64_t steps = 0;
  double t0 = MPI_Wtime();
  if (rc == GPA_OK)
    rc = gpa_comm_agree(comm, gpa_field_replay(comm, &run, &p, part, x, labels, &steps));
  double seconds = MPI_Wtime() - t0;
  gpa_h5_close(&run);
  if (rc == GPA_OK)
    rc = write_result(comm, cli->output, &p, part, x0, x, labels, steps, cli->field, origin);
  if (rc == GPA_OK && rank == 0 && !cli->quiet)
    printf("moved %lld points through %lld steps of %s in %.3f s; wrote %s\n",
           (long long)part.n_global, (long long)steps, cli->field, seconds, cli->output);
  gpa_free(&x);
  gpa_free(&x0);
  gpa_free(&labels);
  return rc;
}
