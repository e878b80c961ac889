/* What a run writes into its run file, and the XDMF sidecar for ParaView and VisIt. */
#include "gpa/output.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gpa/provenance.h"

enum { THETA_BUFFER_BYTES = 8 << 20 }; /* theta history held before it is written */

/* The theta history, when the solver stores the learned field. */
static int theta_history_init(struct gpa_runfile *rf, const struct gpa_solver *s) {
  if (!s->store_field) return GPA_OK;
  rf->theta_stages = s->field_stages;
  rf->n_params = s->disc.net.n_params;
  const int64_t per_step = rf->theta_stages * rf->n_params * (int64_t)sizeof(double);
  rf->theta_capacity = THETA_BUFFER_BYTES / per_step;
  if (rf->theta_capacity < 1) rf->theta_capacity = 1;
  return gpa_alloc_array(&rf->theta_history,
                         (size_t)(rf->theta_capacity * rf->theta_stages * rf->n_params),
                         sizeof(double));
}

/* What names_init allocates. */
static void release(struct gpa_runfile *rf) {
  gpa_free(&rf->frame_steps);
  gpa_free(&rf->theta_history);
}

static int names_init(struct gpa_runfile *rf, struct gpa_solver *s) {
  memset(rf, 0, sizeof *rf);
  GPA_CHECK(theta_history_init(rf, s));
  rf->h5.file = rf->h5.dxpl = -1;
  rf->h5.rank = s->rank;
  snprintf(rf->path, sizeof rf->path, "%s", s->p.output.file);
  snprintf(rf->tmp, sizeof rf->tmp, "%s.tmp", s->p.output.file);
  snprintf(rf->xmf, sizeof rf->xmf, "%s", s->p.output.file);
  size_t len = strlen(rf->xmf);
  if (len > 3 && strcmp(rf->xmf + len - 3, ".h5") == 0) rf->xmf[len - 3] = '\0';
  strcat(rf->xmf, ".xmf");
  rf->frames_capacity = s->p.output.trajectory_every > 0
                            ? s->p.transport.max_steps / s->p.output.trajectory_every + 2
                            : 1;
  return gpa_alloc_array(&rf->frame_steps, (size_t)rf->frames_capacity, sizeof(int64_t));
}

/* The XDMF description of the trajectory: one Polyvertex grid per frame whose geometry is a
 * hyperslab of /trajectory/positions (the first 2 or 3 coordinates).  Rank 0 writes it to a
 * temporary name and renames it. */
static int write_xdmf(struct gpa_runfile *rf, const struct gpa_solver *s) {
  const int64_t d = s->dim, n = s->ppart.n_global, g = d >= 3 ? 3 : d;
  if (rf->h5.rank != 0 || rf->frames == 0 || d < 2) return GPA_OK;
  char tmp[GPA_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.tmp", rf->xmf);
  FILE *f = fopen(tmp, "w");
  if (!f) return GPA_ERROR(GPA_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
  const char *h5 = strrchr(rf->path, '/') ? strrchr(rf->path, '/') + 1 : rf->path;
  fprintf(f,
          "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
          "<Xdmf Version=\"3.0\">\n <Domain>\n"
          "  <Grid Name=\"particles\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
  for (int64_t t = 0; t < rf->frames; t++) {
    fprintf(
        f,
        "   <Grid Name=\"step %lld\" GridType=\"Uniform\">\n"
        "    <Time Value=\"%.17g\"/>\n"
        "    <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"%lld\"/>\n"
        "    <Geometry GeometryType=\"%s\">\n"
        "     <DataItem ItemType=\"HyperSlab\" Dimensions=\"%lld %lld\" Type=\"HyperSlab\">\n"
        "      <DataItem Dimensions=\"3 3\" Format=\"XML\">%lld 0 0 1 1 1 1 %lld %lld</DataItem>\n"
        "      <DataItem Dimensions=\"%lld %lld %lld\" NumberType=\"Float\" Precision=\"8\" "
        "Format=\"HDF\">%s:/trajectory/positions</DataItem>\n"
        "     </DataItem>\n    </Geometry>\n   </Grid>\n",
        (long long)rf->frame_steps[t], (double)rf->frame_steps[t] * s->p.transport.dt, (long long)n,
        g == 3 ? "XYZ" : "XY", (long long)n, (long long)g, (long long)t, (long long)n, (long long)g,
        (long long)rf->frames, (long long)n, (long long)d, h5);
  }
  fprintf(f, "  </Grid>\n </Domain>\n</Xdmf>\n");
  if (fclose(f) != 0) return GPA_ERROR(GPA_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
  return gpa_io_commit(tmp, rf->xmf);
}

static int append_frame(struct gpa_runfile *rf, struct gpa_solver *s) {
  GPA_CHECK(gpa_h5_series_append_rows(&rf->h5, "/trajectory/positions", s->y, s->ppart, s->dim));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_series_append_rows(&rf->h5, "/trajectory/generated",
                                        s->y + s->ppart.n_local * s->dim, s->gpart, s->dim));
  GPA_CHECK(gpa_h5_series_append(&rf->h5, "/trajectory/step", H5T_NATIVE_INT64, &s->step, 1));
  if (rf->frames < rf->frames_capacity) rf->frame_steps[rf->frames] = s->step;
  rf->frames++;
  return GPA_OK;
}

/* Appends the theta history to /field/theta and empties it. */
static int flush_theta(struct gpa_runfile *rf) {
  if (!rf->theta_history || rf->theta_count == 0) return GPA_OK;
  GPA_CHECK(gpa_h5_series_append(&rf->h5, "/field/theta", H5T_NATIVE_DOUBLE, rf->theta_history,
                                 rf->theta_count));
  rf->theta_count = 0;
  return GPA_OK;
}

int gpa_output_stage(struct gpa_runfile *rf, int stage, const double *theta) {
  if (!rf->theta_history || stage >= rf->theta_stages) return GPA_OK;
  if (rf->theta_count == rf->theta_capacity)
    return GPA_ERROR(GPA_ERR_INTERNAL, "the theta history is full (no gpa_output_step)");
  const int64_t np = rf->n_params;
  memcpy(rf->theta_history + (rf->theta_count * rf->theta_stages + stage) * np, theta,
         sizeof(double) * (size_t)np);
  if (stage == rf->theta_stages - 1) rf->theta_count++;
  return GPA_OK;
}

static int create_trajectory(struct gpa_runfile *rf, struct gpa_solver *s) {
  int64_t row[2] = {s->ppart.n_global, s->dim};
  GPA_CHECK(gpa_h5_series_create(&rf->h5, "/trajectory/positions", H5T_IEEE_F64LE, 2, row,
                                 "particle positions [frame][particle][coordinate]"));
  if (s->gpart.n_global > 0) {
    int64_t grow[2] = {s->gpart.n_global, s->dim};
    GPA_CHECK(gpa_h5_series_create(&rf->h5, "/trajectory/generated", H5T_IEEE_F64LE, 2, grow,
                                   "generated particles at the same frames "
                                   "[frame][particle][coordinate]"));
  }
  return gpa_h5_series_create(&rf->h5, "/trajectory/step", H5T_STD_I64LE, 0, NULL,
                              "particle step of each frame");
}

/* The monitor's series, one per column, and the column names in order (attribute columns). */
static int create_monitor(struct gpa_h5 *f) {
  char columns[256] = "";
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++) {
    const struct gpa_monitor_column *c = &gpa_monitor_columns[i];
    GPA_CHECK(gpa_h5_series_create(f, c->dataset,
                                   c->type == GPA_MONITOR_INT64 ? H5T_STD_I64LE : H5T_IEEE_F64LE, 0,
                                   NULL, c->description));
    if (i) strcat(columns, ",");
    strcat(columns, c->name);
  }
  return gpa_h5_attr_string(f, "/monitor", "columns", columns);
}

static int create_series(struct gpa_runfile *rf, struct gpa_solver *s) {
  struct gpa_h5 *f = &rf->h5;
  GPA_CHECK(create_monitor(f));
  if (s->p.output.trajectory_every > 0) GPA_CHECK(create_trajectory(rf, s));
  if (s->store_field) {
    const struct gpa_mlp *net = &s->disc.net;
    int64_t row[2] = {s->field_stages, net->n_params};
    GPA_CHECK(gpa_h5_series_create(f, "/field/theta", H5T_IEEE_F64LE, 2, row,
                                   "parameters of phi for every step n and stored stage i (layout "
                                   "of /discriminator/theta): v = -grad phi moves the particles"));
    int64_t stages = s->field_stages, widths[GPA_MLP_MAX_LAYERS + 1];
    for (int l = 0; l <= net->n_layers; l++) widths[l] = net->width[l];
    GPA_CHECK(gpa_h5_attr_i64(f, "/field", "stored_stages", &stages, 1));
    GPA_CHECK(gpa_h5_attr_i64(f, "/field", "layer_widths", widths, net->n_layers + 1));
    GPA_CHECK(gpa_h5_attr_f64(f, "/field", "dt", &s->p.transport.dt, 1));
    GPA_CHECK(gpa_h5_attr_f64(f, "/field", "L", &s->p.divergence.L, 1));
    GPA_CHECK(gpa_h5_attr_string(f, "/field", "integrator",
                                 gpa_choice_name(GPA_CHOICE_INT, s->p.transport.integrator)));
    GPA_CHECK(gpa_h5_attr_string(f, "/field", "stages",
                                 gpa_choice_name(GPA_CHOICE_STAGE, s->p.transport.stages)));
  }
  return GPA_OK;
}

int gpa_output_begin(struct gpa_runfile *rf, struct gpa_solver *s) {
  GPA_CHECK(names_init(rf, s));
  GPA_CHECK(gpa_h5_create(&rf->h5, s->comm, rf->tmp));
  rf->is_open = rf->fresh = 1;
  struct gpa_h5 *f = &rf->h5;
  int64_t version = 1;
  GPA_CHECK(gpa_h5_attr_string(f, "/", "format", "gpa-run"));
  GPA_CHECK(gpa_h5_attr_i64(f, "/", "format_version", &version, 1));
  GPA_CHECK(gpa_h5_attr_string(f, "/", "status", "running"));
  struct gpa_params recorded;
  gpa_solver_recorded_params(s, &recorded);
  GPA_CHECK(gpa_h5_write_parameters(f, &recorded));
  GPA_CHECK(gpa_h5_write_code(f));
  GPA_CHECK(gpa_h5_attr_string(f, "/code", "precision",
                               gpa_choice_name(GPA_CHOICE_PREC, s->p.network.precision)));
  GPA_CHECK(gpa_h5_write_rows(f, "/target", s->x, s->tpart, s->dim,
                              "target samples X [sample][coordinate]"));
  GPA_CHECK(gpa_h5_write_rows(f, "/particles/initial", s->y, s->ppart, s->dim,
                              "initial particles Y_0 [particle][coordinate]"));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_write_rows(f, "/generated/initial", s->y + s->ppart.n_local * s->dim, s->gpart,
                                s->dim,
                                "initial generated particles [particle][coordinate]: source "
                                "samples moved by the field, never trained on"));
  if (s->ylab) {
    GPA_CHECK(gpa_h5_write_i32_rows(f, "/labels/target", s->xlab, s->tpart,
                                    "class of each target sample"));
    GPA_CHECK(gpa_h5_write_i32_rows(f, "/labels/particles", s->ylab, s->ppart,
                                    "class of each particle (that of target i mod M)"));
    if (s->gpart.n_global > 0)
      GPA_CHECK(gpa_h5_write_i32_rows(f, "/labels/generated", s->glab, s->gpart,
                                      "class of each generated particle"));
  }
  GPA_CHECK(create_series(rf, s));
  if (s->p.output.trajectory_every > 0) GPA_CHECK(append_frame(rf, s));
  return GPA_OK;
}

/* Frames of the file with step <= `step`, read from /trajectory/step. */
static int frames_up_to(struct gpa_runfile *rf, int64_t step, int64_t *count) {
  int64_t n = gpa_h5_series_length(&rf->h5, "/trajectory/step");
  if (n < 0) return GPA_ERROR(GPA_ERR_INPUT, "%s: no /trajectory/step", rf->h5.path);
  int64_t *steps = NULL, k = 0;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&steps, (size_t)(n > 0 ? n : 1), sizeof(int64_t)), done);
  GPA_CHECK_GOTO(rc, gpa_h5_read_i64(&rf->h5, "/trajectory/step", steps, n), done);
  while (k < n && steps[k] <= step) {
    if (k < rf->frames_capacity) rf->frame_steps[k] = steps[k];
    k++;
  }
done:
  gpa_free(&steps);
  *count = k;
  return rc;
}

/* Cuts the reopened file back to `step`. */
static int truncate_to(struct gpa_runfile *rf, struct gpa_solver *s, int64_t step) {
  struct gpa_h5 *f = &rf->h5;
  char format[32] = "";
  GPA_CHECK(gpa_h5_read_attr_string(f, "/", "format", format, sizeof format));
  if (strcmp(format, "gpa-run") != 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s is not a gpa run file", f->path);
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++) {
    const char *name = gpa_monitor_columns[i].dataset;
    int64_t len = gpa_h5_series_length(f, name);
    if (len < step)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "%s: %s holds %lld steps, fewer than the "
                       "checkpoint's %lld",
                       f->path, name, (long long)len, (long long)step);
    GPA_CHECK(gpa_h5_series_truncate(f, name, step));
  }
  rf->monitor_records = step;
  if (gpa_h5_exists(f, "/trajectory/step")) {
    if (s->p.output.trajectory_every == 0)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "restart: the run file has a trajectory but "
                       "output.trajectory_every is now 0");
    GPA_CHECK(frames_up_to(rf, step, &rf->frames));
    GPA_CHECK(gpa_h5_series_truncate(f, "/trajectory/step", rf->frames));
    GPA_CHECK(gpa_h5_series_truncate(f, "/trajectory/positions", rf->frames));
    if (gpa_h5_exists(f, "/trajectory/generated"))
      GPA_CHECK(gpa_h5_series_truncate(f, "/trajectory/generated", rf->frames));
  } else if (s->p.output.trajectory_every > 0) {
    GPA_CHECK(create_trajectory(rf, s));
  }
  if (s->store_field) {
    if (!gpa_h5_exists(f, "/field/theta") || gpa_h5_series_length(f, "/field/theta") < step)
      return GPA_ERROR(GPA_ERR_INPUT, "%s: /field/theta is missing steps before the checkpoint",
                       f->path);
    GPA_CHECK(gpa_h5_series_truncate(f, "/field/theta", step));
  }
  /* What the end of the run writes again. */
  const char *again[] = {"/particles/final", "/generated/final", "/discriminator"};
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) GPA_CHECK(gpa_h5_delete(f, again[i]));
  return GPA_OK;
}

/* Length of series `name` in a file opened by one process; -1 when missing or unreadable. */
static int64_t probe_length(struct gpa_h5s *file, const char *name) {
  struct gpa_h5_info info;
  if (!gpa_h5s_exists(file, name)) return -1;
  if (gpa_h5s_dataset_info(file, name, &info) != GPA_OK) {
    gpa_error_clear(); /* a probe: unreadable is an answer */
    return -1;
  }
  return info.ndims >= 1 && info.ndims <= 4 ? info.dims[0] : -1;
}

enum { RUN_FILE_OK = 0, RUN_FILE_DAMAGED = 1 };

/* Rank 0 alone, before anything is renamed or cut: can `path` be continued from `step`?
 * A user error (the deck no longer fits the file) is returned as an error; a file that
 * cannot be continued (unreadable, not a run file, shorter than the checkpoint) sets
 * *verdict to RUN_FILE_DAMAGED with the reason in `why`. */
static int probe_run_file(const char *path, const struct gpa_solver *s, int64_t step, int *verdict,
                          char *why, size_t size) {
  *verdict = RUN_FILE_DAMAGED;
  struct gpa_h5s h5s, *file = &h5s;
  if (!gpa_h5s_is_hdf5(path) || gpa_h5s_open(file, path, GPA_H5S_READ) != GPA_OK) {
    gpa_error_clear(); /* a probe: unreadable is an answer */
    snprintf(why, size, "%s cannot be read as HDF5", path);
    return GPA_OK;
  }
  int rc = GPA_OK;
  char *format = NULL;
  gpa_h5s_peek_text(file, "/", "format", &format);
  const int is_run_file = format && strcmp(format, "gpa-run") == 0;
  gpa_free(&format);
  int64_t shortest = INT64_MAX;
  const char *short_name = "";
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++) {
    int64_t n = probe_length(file, gpa_monitor_columns[i].dataset);
    if (n < shortest) shortest = n, short_name = gpa_monitor_columns[i].dataset;
  }
  if (s->store_field) {
    int64_t n = probe_length(file, "/field/theta");
    if (n < shortest) shortest = n, short_name = "/field/theta";
  }
  const int has_trajectory = probe_length(file, "/trajectory/step") >= 0;
  gpa_h5s_close(file);
  if (!is_run_file) snprintf(why, size, "%s is not a gpa run file", path);
  else if (shortest < step)
    snprintf(why, size, "%s: %s holds %lld steps, fewer than the checkpoint's %lld", path,
             short_name, (long long)(shortest < 0 ? 0 : shortest), (long long)step);
  else if (has_trajectory && s->p.output.trajectory_every == 0)
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "restart: %s has a trajectory but output.trajectory_every is "
                   "now 0; keep it above 0 to continue this run",
                   path);
  else *verdict = RUN_FILE_OK;
  return rc;
}

/* Rank 0 alone: which run file a restart continues: the interrupted RUN.h5.tmp (*which 1),
 * else a finished RUN.h5 (*which 2, renamed to .tmp while the run goes on), else none (0);
 * *verdict says whether it can be.  Nothing is renamed or cut before it is known to fit. */
static int choose_run_file(struct gpa_runfile *rf, const struct gpa_solver *s, int64_t step,
                           int *which, int *verdict, char *why, size_t size) {
  if (access(rf->tmp, F_OK) == 0) *which = 1;
  else if (access(rf->path, F_OK) == 0) *which = 2;
  if (!*which) return GPA_OK;
  GPA_CHECK(probe_run_file(*which == 1 ? rf->tmp : rf->path, s, step, verdict, why, size));
  if (*which == 2 && *verdict == RUN_FILE_OK && rename(rf->path, rf->tmp) != 0)
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot rename to %s: %s", rf->path, rf->tmp, strerror(errno));
  return GPA_OK;
}

/* A run file that cannot be continued (`why`) is kept aside as RUN.h5.damaged. */
static int set_aside(struct gpa_runfile *rf, const struct gpa_solver *s, const char *found,
                     const char *why) {
  int rc = GPA_OK;
  if (s->rank == 0) {
    char aside[GPA_PATH_MAX + 32];
    snprintf(aside, sizeof aside, "%s.damaged", rf->path);
    if (rename(found, aside) != 0)
      rc = GPA_ERROR(GPA_ERR_IO, "%s: cannot rename to %s: %s", found, aside, strerror(errno));
    else
      fprintf(stderr, "warning: %s; it was moved to %s and a new run file started\n", why, aside);
  }
  return gpa_comm_agree(s->comm, rc);
}

int gpa_output_resume(struct gpa_runfile *rf, struct gpa_solver *s, int64_t step, int *resumed) {
  GPA_CHECK(names_init(rf, s));
  *resumed = 0;
  int which = 0, verdict = RUN_FILE_OK, rc = GPA_OK;
  char why[GPA_PATH_MAX + 256] = "";
  if (s->rank == 0) rc = choose_run_file(rf, s, step, &which, &verdict, why, sizeof why);
  GPA_CHECK(gpa_comm_agree(s->comm, rc));
  int hdr[2] = {which, verdict};
  GPA_MPI(MPI_Bcast(hdr, 2, MPI_INT, 0, s->comm));
  which = hdr[0], verdict = hdr[1];
  if (which && verdict == RUN_FILE_OK) {
    GPA_CHECK(gpa_h5_open(&rf->h5, s->comm, rf->tmp, 1, "run file"));
    rf->is_open = 1;
    GPA_CHECK(truncate_to(rf, s, step));
    *resumed = 1;
    return GPA_OK;
  }
  /* cannot be continued: kept aside, and a new run file started */
  if (which) GPA_CHECK(set_aside(rf, s, which == 1 ? rf->tmp : rf->path, why));
  release(rf);
  return gpa_output_begin(rf, s);
}

int gpa_output_step(struct gpa_runfile *rf, struct gpa_solver *s) {
  const int64_t every = s->p.output.trajectory_every;
  if (every > 0 && s->step % every == 0) GPA_CHECK(append_frame(rf, s));
  if (rf->theta_history && rf->theta_count == rf->theta_capacity) GPA_CHECK(flush_theta(rf));
  return GPA_OK;
}

/* Appends the monitor's records since the last sync, column by column. */
static int append_monitor(struct gpa_runfile *rf, const struct gpa_monitor *m) {
  const int64_t from = rf->monitor_records, count = m->count - from;
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++) {
    const struct gpa_monitor_column *c = &gpa_monitor_columns[i];
    const int is_int = c->type == GPA_MONITOR_INT64;
    const char *v = (const char *)gpa_monitor_values(m, i) + 8 * from; /* 8-byte values */
    GPA_CHECK(gpa_h5_series_append(&rf->h5, c->dataset,
                                   is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, v, count));
  }
  rf->monitor_records = m->count;
  return GPA_OK;
}

int gpa_output_sync(struct gpa_runfile *rf, struct gpa_solver *s, const char *status) {
  struct gpa_h5 *f = &rf->h5;
  GPA_CHECK(append_monitor(rf, &s->mon));
  rf->fresh = 0; /* synced for a checkpoint: an error later keeps it for the restart */
  GPA_CHECK(flush_theta(rf));
  int64_t steps = s->step;
  GPA_CHECK(gpa_h5_attr_i64(f, "/", "steps", &steps, 1));
  GPA_CHECK(gpa_h5_attr_string(f, "/", "status", status));
  GPA_CHECK(gpa_h5_flush(f));
  return gpa_comm_agree(s->comm, write_xdmf(rf, s));
}

static int write_discriminator(struct gpa_runfile *rf, const struct gpa_solver *s) {
  struct gpa_h5 *f = &rf->h5;
  const struct gpa_mlp *net = &s->disc.net;
  GPA_CHECK(gpa_h5_write_f64(f, "/discriminator/theta", s->disc.theta, net->n_params,
                             "final parameters of phi: per layer W [in][out] row-major then b, "
                             "for every layer; then nu when the objective has it",
                             NULL));
  int64_t widths[GPA_MLP_MAX_LAYERS + 1];
  for (int l = 0; l <= net->n_layers; l++) widths[l] = net->width[l];
  GPA_CHECK(gpa_h5_attr_i64(f, "/discriminator", "layer_widths", widths, net->n_layers + 1));
  char acts[256] = "";
  for (int l = 0; l + 1 < net->n_layers; l++) {
    if (l) strcat(acts, ",");
    strcat(acts, gpa_choice_name(GPA_CHOICE_ACT, net->act[l]));
  }
  GPA_CHECK(gpa_h5_attr_string(f, "/discriminator", "activations", acts));
  GPA_CHECK(gpa_h5_attr_f64(f, "/discriminator", "L", &s->p.divergence.L, 1));
  int64_t has_nu = net->nu_off >= 0, updates = s->disc.updates;
  GPA_CHECK(gpa_h5_attr_i64(f, "/discriminator", "has_nu", &has_nu, 1));
  GPA_CHECK(gpa_h5_attr_i64(f, "/discriminator", "updates", &updates, 1));
  return GPA_OK;
}

int gpa_output_end(struct gpa_runfile *rf, struct gpa_solver *s, const char *status, int finished) {
  GPA_CHECK(gpa_h5_write_rows(&rf->h5, "/particles/final", s->y, s->ppart, s->dim,
                              "particles after the last step [particle][coordinate]"));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_write_rows(&rf->h5, "/generated/final", s->y + s->ppart.n_local * s->dim,
                                s->gpart, s->dim,
                                "generated particles after the last step [particle][coordinate]"));
  GPA_CHECK(write_discriminator(rf, s));
  GPA_CHECK(gpa_output_sync(rf, s, status));
  rf->is_open = 0;
  GPA_CHECK(gpa_h5_close(&rf->h5));
  int rc = GPA_OK;
  if (finished && rf->h5.rank == 0) rc = gpa_io_commit(rf->tmp, rf->path);
  release(rf);
  return gpa_comm_agree(s->comm, rc);
}

void gpa_output_abort(struct gpa_runfile *rf) {
  if (rf->is_open) gpa_h5_close(&rf->h5);
  rf->is_open = 0;
  if (rf->fresh && rf->h5.rank == 0) unlink(rf->tmp);
  release(rf);
}
