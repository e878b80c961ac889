/* gpa_transport: new points moved through a run's stored field, into a file (transport.h). */
#include "gpa/transport.h"

#include <stdio.h>
#include <string.h>

#include "gpa/comm.h"
#include "gpa/datafile.h"
#include "gpa/distributions.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa/paths.h"
#include "gpa/provenance.h"
#include "gpa/replay.h"
#include "gpa/rng.h"

/* One replay job's inputs, named once, and its points. */
struct job {
  char in_file[GPA_PATH_MAX], in_set[256];   /* opts->input, split */
  char lab_file[GPA_PATH_MAX], lab_set[256]; /* opts->labels, split */
  char origin[GPA_PATH_MAX + 300];           /* where the points come from, for the output */
  struct gpa_params p;                       /* the run's resolved settings */
  struct gpa_block part;
  double *x;       /* [part.n_local][dim] the points, moved in place */
  double *x0;      /* [part.n_local][dim] their initial positions */
  int32_t *labels; /* [part.n_local] their classes (conditional field), else NULL */
  int64_t steps;
};

/* The run's resolved settings, from /parameters/deck. */
static int run_params(struct gpa_h5 *run, struct gpa_params *p) {
  char format[32] = "";
  if (gpa_h5_read_attr_string(run, "/", "format", format, sizeof format) != GPA_OK ||
      strcmp(format, "gpa-run") != 0) {
    gpa_error_clear();
    return GPA_ERROR(GPA_ERR_INPUT, "--field: %s is not a gpa run file", run->path);
  }
  struct gpa_deck d;
  GPA_CHECK(gpa_deck_init(&d));
  char *deck;
  GPA_CHECK(gpa_h5_read_attr_text(run, "/parameters", "deck", &deck));
  int rc = gpa_deck_parse(&d, run->path, deck, strlen(deck));
  gpa_free(&deck);
  *p = d.p;
  return rc;
}

/* Classes 0-9 of rows part.offset ... of the 1-D dataset `name` of `f` (n_rows values; with a
 * `period`, row i takes value i mod period). */
static int read_labels(struct gpa_h5 *f, const char *name, int64_t n_rows, struct gpa_block part,
                       int64_t period, int32_t *labels) {
  int nd;
  int64_t dims[3];
  GPA_CHECK(gpa_h5_shape(f, name, &nd, dims));
  if (nd != 1 || (period == 0 && dims[0] != n_rows))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %s must hold one class per point (%lld values)", f->path,
                     name, (long long)n_rows);
  int64_t *all;
  int rc;
  GPA_CHECK(gpa_alloc_array(&all, (size_t)dims[0] + 1, sizeof(int64_t)));
  GPA_CHECK_GOTO(rc, gpa_h5_read_i64(f, name, all, dims[0]), done);
  for (int64_t i = 0; i < part.n_local; i++) {
    int64_t v = all[period ? (part.offset + i) % dims[0] : part.offset + i];
    if (v < 0 || v >= GPA_FASHION_CLASSES) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s: %s[%lld] = %lld is not a class 0-%d", f->path, name,
                     (long long)(part.offset + i), (long long)v, GPA_FASHION_CLASSES - 1);
      goto done;
    }
    labels[i] = (int32_t)v;
  }
done:
  gpa_free(&all);
  return rc;
}

/* Room for the points and their initial positions, once j->part is known. */
static int alloc_points(struct job *j) {
  const size_t n = (size_t)(j->part.n_local * j->p.source.dim + 1);
  GPA_CHECK(gpa_alloc_array(&j->x, n, sizeof(double)));
  return gpa_alloc_array(&j->x0, n, sizeof(double));
}

/* transport: the rows of the input dataset (and their classes), each rank its block. */
static int read_points(MPI_Comm comm, const struct gpa_transport_opts *o, struct job *j) {
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  const int64_t d = j->p.source.dim;
  snprintf(j->origin, sizeof j->origin, "%s:%s", j->in_file, j->in_set);
  int64_t dims[2];
  GPA_CHECK(gpa_data_shape(comm, j->in_file, j->in_set, "--input", dims));
  if (dims[1] != d)
    return GPA_ERROR(GPA_ERR_INPUT, "--input: %s has %lld columns but the field lives in R^%lld",
                     j->origin, (long long)dims[1], (long long)d);
  j->part = gpa_partition(dims[0], rank, size);
  GPA_CHECK(alloc_points(j));
  GPA_CHECK(
      gpa_data_read_rows(comm, j->in_file, j->in_set, j->part.offset, j->part.n_local, d, j->x));
  if (!o->labels) return GPA_OK;
  struct gpa_h5 lf; /* the points' classes, for a conditional field */
  GPA_CHECK(gpa_alloc_array(&j->labels, (size_t)j->part.n_local + 1, sizeof(int32_t)));
  GPA_CHECK(gpa_h5_open(&lf, comm, j->lab_file, 0, "--labels"));
  int rc = read_labels(&lf, j->lab_set, dims[0], j->part, 0, j->labels);
  gpa_h5_close(&lf);
  return rc;
}

/* sample: new particles from the run's source distribution. */
static int draw_points(MPI_Comm comm, struct gpa_h5 *run, const struct gpa_transport_opts *o,
                       struct job *j) {
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  if (j->p.source.kind == GPA_DIST_FILE)
    return GPA_ERROR(GPA_ERR_INPUT, "gpa sample: the run's source is a file; use gpa transport");
  uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : (uint64_t)j->p.run.seed;
  snprintf(j->origin, sizeof j->origin, "source distribution, seed %llu, stream %d",
           (unsigned long long)seed, GPA_STREAM_SAMPLE);
  j->part = gpa_partition(o->n, rank, size);
  GPA_CHECK(alloc_points(j));
  GPA_CHECK(gpa_dist_sample(comm, &j->p.source, seed, GPA_STREAM_SAMPLE, j->part, j->x, NULL));
  /* A conditional field: the new points take the targets' classes in turn, as the run's
   * particles did. */
  if (!j->p.network.conditional) return GPA_OK;
  GPA_CHECK(gpa_alloc_array(&j->labels, (size_t)j->part.n_local + 1, sizeof(int32_t)));
  return read_labels(run, "/labels/target", 0, j->part, 1, j->labels);
}

/* OUTPUT, staged: written as OUTPUT.tmp and put in place when complete on every rank. */
static int write_result(MPI_Comm comm, const struct gpa_transport_opts *o, const struct job *j) {
  const int64_t d = j->p.source.dim;
  struct gpa_h5 f = {.comm = comm, .file = -1, .dxpl = -1};
  GPA_MPI(MPI_Comm_rank(comm, &f.rank));
  int rc;
  GPA_CHECK_GOTO(rc, gpa_h5_create_staged(&f, comm, o->output), done);
  GPA_CHECK_GOTO(rc, gpa_h5_attr_string(&f, "/", "format", "gpa-transport"), done);
  GPA_CHECK_GOTO(rc, gpa_h5_attr_string(&f, "/", "field", o->field), done);
  GPA_CHECK_GOTO(rc, gpa_h5_attr_string(&f, "/", "input", j->origin), done);
  GPA_CHECK_GOTO(rc, gpa_h5_attr_i64(&f, "/", "steps", &j->steps, 1), done);
  GPA_CHECK_GOTO(rc, gpa_h5_write_code(&f), done);
  GPA_CHECK_GOTO(
      rc, gpa_h5_write_rows(&f, "/particles/initial", j->x0, j->part, d, "points before the flow"),
      done);
  GPA_CHECK_GOTO(
      rc, gpa_h5_write_rows(&f, "/particles/final", j->x, j->part, d, "points moved by the field"),
      done);
  if (j->labels)
    GPA_CHECK_GOTO(
        rc, gpa_h5_write_i32_rows(&f, "/labels", j->labels, j->part, "class of each point"), done);
done:
  return gpa_h5_commit(&f, rc);
}

/* The inputs split once into file and dataset; the output must be none of them (checked
 * before anything is read). */
static int check_files(MPI_Comm comm, const struct gpa_transport_opts *o, struct job *j) {
  if (o->input)
    gpa_data_spec(o->input, "/X", j->in_file, sizeof j->in_file, j->in_set, sizeof j->in_set);
  if (o->labels)
    gpa_data_spec(o->labels, "/labels", j->lab_file, sizeof j->lab_file, j->lab_set,
                  sizeof j->lab_set);
  struct gpa_paths pp;
  memset(&pp, 0, sizeof pp);
  gpa_paths_input(&pp, o->field, "--field");
  gpa_paths_input(&pp, j->in_file, "--input");
  gpa_paths_input(&pp, j->lab_file, "--labels");
  gpa_paths_output(&pp, o->output, "--output");
  return gpa_paths_check(comm, &pp);
}

static int transport(MPI_Comm comm, const struct gpa_transport_opts *o, struct job *j) {
  int rank, rc;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_CHECK(check_files(comm, o, j));
  struct gpa_h5 run;
  GPA_CHECK(gpa_h5_open(&run, comm, o->field, 0, "--field"));
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, run_params(&run, &j->p)), done);
  /* The run's BLIS kernels (they round differently), so that a replay is exact. */
  gpa_linalg_setup(1, j->p.network.conv_channels.n > 0);
  GPA_CHECK_GOTO(
      rc, gpa_comm_agree(comm, o->input ? read_points(comm, o, j) : draw_points(comm, &run, o, j)),
      done);
  memcpy(j->x0, j->x, sizeof(double) * (size_t)(j->part.n_local * j->p.source.dim));
  double t0 = MPI_Wtime();
  GPA_CHECK_GOTO(
      rc, gpa_comm_agree(comm, gpa_replay_move(&run, &j->p, j->part, j->x, j->labels, &j->steps)),
      done);
  double seconds = MPI_Wtime() - t0;
  gpa_h5_close(&run);
  GPA_CHECK_GOTO(rc, write_result(comm, o, j), done);
  if (rank == 0 && !o->quiet)
    printf("moved %lld points through %lld steps of %s in %.3f s; wrote %s\n",
           (long long)j->part.n_global, (long long)j->steps, o->field, seconds, o->output);
done:
  gpa_h5_close(&run);
  return rc;
}

int gpa_transport(MPI_Comm comm, const struct gpa_transport_opts *opts) {
  struct job j;
  memset(&j, 0, sizeof j);
  int rc = transport(comm, opts, &j);
  gpa_free(&j.x);
  gpa_free(&j.x0);
  gpa_free(&j.labels);
  return rc;
}
