#include "gpa/checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "gpa/provenance.h"

/* Version 2 adds a CRC-32 of every dataset (attribute crc32) and of the deck (deck_crc32);
 * version 1 files are still read, without that check. */
enum { CHECKPOINT_FORMAT_VERSION = 2, CHECKPOINT_OLDEST_VERSION = 1 };

/* The datasets of a checkpoint, in the order they are checked. */
static const char *const datasets[] = {
    "/particles",         "/generated",          "/target",
    "/state/theta",       "/state/adam_m",       "/state/adam_v",
    "/state/power_u",     "/state/power_sigma",  "/state/counters",
    "/monitor/step",      "/monitor/divergence", "/monitor/kinetic_energy",
    "/monitor/max_speed", "/monitor/wall_time"};
enum { N_DATASETS = sizeof datasets / sizeof datasets[0] };

/* ------------------------------------------------------------------------- checksums */

/* Collective: every rank's pair of numbers, in rank order. */
static int gather_pairs(MPI_Comm comm, const uint64_t mine[2], uint64_t *all) {
  GPA_MPI(MPI_Allgather(mine, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, comm));
  return GPA_OK;
}

/* Collective: CRC-32 of the bytes of rows split across ranks, in global order (each rank's
 * CRC combined in rank order with zlib's crc32_combine). */
static int rows_crc(MPI_Comm comm, const void *x, int64_t bytes, uint32_t *crc) {
  int size;
  GPA_MPI(MPI_Comm_size(comm, &size));
  uint64_t mine[2] = {crc32_z(crc32_z(0L, Z_NULL, 0), x, (size_t)bytes), (uint64_t)bytes};
  uint64_t *all = NULL;
  int rc;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&all, 2 * (size_t)size, sizeof(uint64_t)), done);
  GPA_CHECK_GOTO(rc, gather_pairs(comm, mine, all), done);
  uLong c = crc32_z(0L, Z_NULL, 0);
  for (int r = 0; r < size; r++)
    c = crc32_combine64(c, (uLong)all[2 * r], (z_off64_t)all[2 * r + 1]);
  *crc = (uint32_t)c;
done:
  gpa_free(&all);
  return rc;
}

static int attr_crc(struct gpa_h5 *f, const char *obj, const char *name, uint32_t crc) {
  int64_t v = crc;
  return gpa_h5_attr_i64(f, obj, name, &v, 1);
}

/* The group of the discriminator's state, and /state/counters: the discriminator's counters,
 * then the CFL warning flag. */
static const char STATE_GROUP[] = "/state";
enum { N_COUNTERS = GPA_DISC_COUNTERS + 1 };

static void state_counters(const struct gpa_solver *s, int64_t c[N_COUNTERS]) {
  gpa_disc_counters(&s->disc, c);
  c[GPA_DISC_COUNTERS] = s->cfl_warned;
}

/* The replicated datasets of write_state, in order: the discriminator's state, the counters
 * and the monitor's columns. */
enum { N_REPLICATED = GPA_DISC_STATE_ARRAYS + 1 + GPA_MONITOR_COLUMNS };
struct replicated {
  char name[64];
  const void *v;
  int64_t n; /* 8-byte values */
};

static void replicated_data(const struct gpa_solver *s, const int64_t *counters,
                            struct replicated r[N_REPLICATED]) {
  struct gpa_disc_array a[GPA_DISC_STATE_ARRAYS];
  gpa_disc_state_arrays(&s->disc, a);
  int k = 0;
  for (int i = 0; i < GPA_DISC_STATE_ARRAYS; i++, k++) {
    snprintf(r[k].name, sizeof r[k].name, "%s/%s", STATE_GROUP, a[i].name);
    r[k].v = a[i].v;
    r[k].n = a[i].n;
  }
  snprintf(r[k].name, sizeof r[k].name, "%s/counters", STATE_GROUP);
  r[k].v = counters;
  r[k++].n = N_COUNTERS;
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++, k++) {
    snprintf(r[k].name, sizeof r[k].name, "%s", gpa_monitor_columns[i].dataset);
    r[k].v = gpa_monitor_values(&s->mon, i);
    r[k].n = s->mon.count;
  }
}

/* Collective: the crc32 attribute of every dataset written by write_state. */
static int write_checksums(struct gpa_h5 *f, struct gpa_solver *s) {
  const int64_t d = s->dim;
  uint32_t crc;
  GPA_CHECK(rows_crc(s->comm, s->y, 8 * s->ppart.n_local * d, &crc));
  GPA_CHECK(attr_crc(f, "/particles", "crc32", crc));
  if (s->gpart.n_global > 0) {
    GPA_CHECK(rows_crc(s->comm, s->y + s->ppart.n_local * d, 8 * s->gpart.n_local * d, &crc));
    GPA_CHECK(attr_crc(f, "/generated", "crc32", crc));
  }
  GPA_CHECK(rows_crc(s->comm, s->x, 8 * s->tpart.n_local * d, &crc));
  GPA_CHECK(attr_crc(f, "/target", "crc32", crc));
  int64_t counters[N_COUNTERS];
  state_counters(s, counters);
  struct replicated rep[N_REPLICATED];
  replicated_data(s, counters, rep);
  /* Replicated data are written by rank 0 (the CFL flag, for one, is rank 0's): its CRCs. */
  uint32_t crcs[N_REPLICATED];
  for (int i = 0; i < N_REPLICATED; i++)
    crcs[i] = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), rep[i].v, (size_t)(8 * rep[i].n));
  GPA_MPI(MPI_Bcast(crcs, N_REPLICATED, MPI_UINT32_T, 0, s->comm));
  for (int i = 0; i < N_REPLICATED; i++) GPA_CHECK(attr_crc(f, rep[i].name, "crc32", crcs[i]));
  char *deck = NULL;
  GPA_CHECK(gpa_h5_read_attr_text(f, "/parameters", "deck", &deck));
  crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)deck, strlen(deck));
  gpa_free(&deck);
  return attr_crc(f, "/parameters", "deck_crc32", crc);
}

/* Rank 0 alone (no MPI-IO): reads dataset `name` of `file` in blocks as 8-byte numbers,
 * checks its CRC against its crc32 attribute and, for floating-point data, that every value
 * is finite.  *n returns the number of values. */
static int verify_dataset(const char *path, struct gpa_h5s *file, const char *name, int64_t *n) {
  struct gpa_h5_info info;
  *n = 0;
  if (gpa_h5s_dataset_info(file, name, &info) != GPA_OK) {
    gpa_error_clear(); /* the message names the option */
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' has no dataset %s", path, name);
  }
  if ((info.type_class != GPA_H5_FLOAT && info.type_class != GPA_H5_INTEGER) || info.type_size != 8)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--restart: '%s': %s is not 8-byte numbers (the file was "
                     "altered)",
                     path, name);
  if (info.ndims < 1 || info.ndims > 2)
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s has %d dimensions", path, name,
                     info.ndims);
  int64_t stored = -1;
  if (!gpa_h5s_peek_i64(file, name, "crc32", &stored) || stored < 0)
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s has no checksum", path, name);
  uint32_t crc;
  int64_t bad;
  if (gpa_h5s_checksum(file, name, &crc, n, &bad) != GPA_OK) {
    gpa_error_clear();
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s cannot be read (damaged?)", path, name);
  }
  if (crc != (uint32_t)stored)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--restart: '%s': %s does not match its checksum (the file "
                     "is damaged)",
                     path, name);
  if (bad >= 0)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--restart: '%s': %s holds a NaN or Inf at value %lld (a "
                     "checkpoint holds only finite values: the file is damaged)",
                     path, name, (long long)bad);
  return GPA_OK;
}

/* Rank 0 alone: reads the deck text attribute and checks it against deck_crc32. */
static int verify_deck(const char *path, struct gpa_h5s *file) {
  int rc = GPA_OK;
  int64_t stored = -1;
  char *text = NULL;
  if (!gpa_h5s_peek_i64(file, "/parameters", "deck_crc32", &stored)) stored = -1;
  gpa_h5s_peek_text(file, "/parameters", "deck", &text);
  if (!text || stored < 0 ||
      (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)text, strlen(text)) !=
          (uint32_t)stored)
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "--restart: '%s': its deck (/parameters) is missing or does "
                   "not match its checksum (the file is damaged)",
                   path);
  gpa_free(&text);
  return rc;
}

/* Rank 0 alone: the checks of a complete checkpoint of the current format (verify). */
static int verify_contents(const char *path, struct gpa_h5s *file, int64_t step) {
  GPA_CHECK(verify_deck(path, file));
  int64_t n[N_DATASETS] = {0};
  for (int i = 0; i < N_DATASETS; i++) {
    if (i == 1 && !gpa_h5s_exists(file, datasets[i])) continue; /* generated */
    GPA_CHECK(verify_dataset(path, file, datasets[i], &n[i]));
  }
  /* The step must be that of the monitor: records 1..step. */
  if (step < 0 || n[9] != step)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--restart: '%s': its step (%lld) does not match its "
                     "monitor (%lld records): the file is damaged",
                     path, (long long)step, (long long)n[9]);
  if (n[8] != 3)
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': /state/counters holds %lld values, not 3",
                     path, (long long)n[8]);
  return GPA_OK;
}

/* Rank 0 alone, before any collective open: the whole checkpoint is read once and checked,
 * so that a damaged file is refused with one message on every rank instead of failing in
 * the middle of collective reads.  Checks the format, the checksums, finite values and that
 * the step agrees with the monitor it carries. */
static int verify(const char *path) {
  struct gpa_h5s file;
  if (gpa_h5s_open(&file, path, GPA_H5S_READ) != GPA_OK) {
    gpa_error_clear(); /* the message names the option */
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--restart: '%s' cannot be read as HDF5 (truncated or "
                     "damaged?)",
                     path);
  }
  int64_t version = 0, step = -1, complete = 0;
  gpa_h5s_peek_i64(&file, "/", "format_version", &version);
  gpa_h5s_peek_i64(&file, "/", "step", &step);
  gpa_h5s_peek_i64(&file, "/", "complete", &complete);
  /* Format, version and completeness get their own messages from gpa_checkpoint_open. */
  const int rc = version == CHECKPOINT_FORMAT_VERSION && complete == 1
                     ? verify_contents(path, &file, step)
                     : GPA_OK;
  gpa_h5s_close(&file);
  return rc;
}

void gpa_checkpoint_prev_path(const char *path, char *out, size_t size) {
  size_t len = strlen(path);
  if (len > 8 && strcmp(path + len - 8, ".ckpt.h5") == 0)
    snprintf(out, size, "%.*s.ckpt.prev.h5", (int)(len - 8), path);
  else snprintf(out, size, "%s.prev", path);
}

/* The monitor's columns, /monitor/NAME. */
static int write_monitor(struct gpa_h5 *f, const struct gpa_monitor *m) {
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++) {
    const struct gpa_monitor_column *c = &gpa_monitor_columns[i];
    const void *v = gpa_monitor_values(m, i);
    if (c->type == GPA_MONITOR_INT64)
      GPA_CHECK(gpa_h5_write_i64(f, c->dataset, v, m->count, NULL, c->units));
    else GPA_CHECK(gpa_h5_write_f64(f, c->dataset, v, m->count, NULL, c->units));
  }
  return GPA_OK;
}

static int write_state(struct gpa_h5 *f, struct gpa_solver *s) {
  int64_t version = CHECKPOINT_FORMAT_VERSION, step = s->step;
  double time = (double)s->step * s->p.transport.dt;
  GPA_CHECK(gpa_h5_attr_string(f, "/", "format", "gpa-checkpoint"));
  GPA_CHECK(gpa_h5_attr_i64(f, "/", "format_version", &version, 1));
  GPA_CHECK(gpa_h5_attr_i64(f, "/", "step", &step, 1));
  GPA_CHECK(gpa_h5_attr_f64(f, "/", "time", &time, 1));
  struct gpa_params recorded;
  gpa_solver_recorded_params(s, &recorded);
  GPA_CHECK(gpa_h5_write_parameters(f, &recorded));
  GPA_CHECK(gpa_h5_write_code(f));
  GPA_CHECK(gpa_h5_write_rows(f, "/particles", s->y, s->ppart, s->dim, "particles Y_step"));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_write_rows(f, "/generated", s->y + s->ppart.n_local * s->dim, s->gpart, s->dim,
                                "generated particles"));
  GPA_CHECK(gpa_h5_write_rows(f, "/target", s->x, s->tpart, s->dim, "target samples"));
  GPA_CHECK(gpa_disc_state_write(f, STATE_GROUP, &s->disc));
  int64_t counters[N_COUNTERS];
  state_counters(s, counters);
  GPA_CHECK(gpa_h5_write_i64(f, "/state/counters", counters, N_COUNTERS,
                             "optimizer step counter, updates of phi, CFL warning given", NULL));
  GPA_CHECK(write_monitor(f, &s->mon));
  GPA_CHECK(write_checksums(f, s));
  int64_t complete = 1; /* last: a file without it was interrupted */
  GPA_CHECK(gpa_h5_attr_i64(f, "/", "complete", &complete, 1));
  return GPA_OK;
}

/* Rank 0: PATH.tmp becomes PATH, the old PATH becomes the previous checkpoint.  The old PATH is
 * first hard-linked to the previous name, so that PATH always exists. */
static int replace(const char *tmp, const char *path) {
  char prev[GPA_PATH_MAX + 32], prev_tmp[GPA_PATH_MAX + 48];
  gpa_checkpoint_prev_path(path, prev, sizeof prev);
  snprintf(prev_tmp, sizeof prev_tmp, "%s.tmp", prev);
  if (access(path, F_OK) == 0) {
    unlink(prev_tmp);
    if (link(path, prev_tmp) == 0) {
      if (rename(prev_tmp, prev) != 0)
        return GPA_ERROR(GPA_ERR_IO, "%s: cannot rename to %s: %s", prev_tmp, prev,
                         strerror(errno));
    } else if (rename(path, prev) != 0) { /* file systems without hard links */
      return GPA_ERROR(GPA_ERR_IO, "%s: cannot rename to %s: %s", path, prev, strerror(errno));
    }
  }
  return gpa_io_commit(tmp, path);
}

int gpa_checkpoint_write(struct gpa_solver *s, const char *path, double *bytes, double *seconds) {
  const double t0 = MPI_Wtime();
  struct gpa_h5 f;
  int rc = gpa_h5_create_staged(&f, s->comm, path);
  /* PATH.tmp complete on every rank, or removed */
  GPA_CHECK(gpa_h5_close_staged(&f, rc == GPA_OK ? write_state(&f, s) : rc));
  /* Fault injection for the tests: a pause while the new checkpoint is complete on disk but
   * not yet in place. */
  const char *delay = getenv("GPA_FAULT_CHECKPOINT_DELAY");
  if (delay && atof(delay) > 0) {
    double sec = atof(delay);
    struct timespec ts = {(time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9)};
    nanosleep(&ts, NULL);
  }
  double size = 0.0;
  if (s->rank == 0) {
    struct stat st;
    if (stat(f.path, &st) == 0) size = (double)st.st_size;
    rc = replace(f.path, f.final);
  }
  GPA_CHECK(gpa_comm_agree(s->comm, rc));
  GPA_MPI(MPI_Bcast(&size, 1, MPI_DOUBLE, 0, s->comm));
  *bytes = size;
  *seconds = MPI_Wtime() - t0;
  return GPA_OK;
}

/* The format, version and completeness attributes: GPA_ERR_INPUT unless the file is a complete
 * checkpoint of a format this gpa reads. */
static int check_format(struct gpa_h5 *f, const char *path, int64_t *version) {
  char format[64] = "";
  if (gpa_h5_read_attr_string(f, "/", "format", format, sizeof format) != GPA_OK) {
    gpa_error_clear();
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' is not a gpa checkpoint", path);
  }
  if (strcmp(format, "gpa-run") == 0)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--restart: '%s' is a run file, not a checkpoint (those are RUN.ckpt.h5)",
                     path);
  if (strcmp(format, "gpa-checkpoint") != 0)
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' is not a gpa checkpoint", path);
  if (gpa_h5_read_attr_i64(f, "/", "format_version", version) != GPA_OK ||
      *version < CHECKPOINT_OLDEST_VERSION || *version > CHECKPOINT_FORMAT_VERSION) {
    gpa_error_clear();
    return GPA_ERROR(GPA_ERR_INPUT,
                     "--restart: '%s' has checkpoint format %lld; this gpa reads "
                     "%d to %d",
                     path, (long long)*version, CHECKPOINT_OLDEST_VERSION,
                     CHECKPOINT_FORMAT_VERSION);
  }
  int64_t complete = 0;
  if (gpa_h5_read_attr_i64(f, "/", "complete", &complete) != GPA_OK || complete != 1) {
    gpa_error_clear();
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' is incomplete (its writing was interrupted)",
                     path);
  }
  return GPA_OK;
}

/* The settings the checkpoint was written with, and its step, checked against them. */
static int read_settings(struct gpa_checkpoint *ck, const char *path) {
  char *deck = NULL;
  struct gpa_deck d;
  GPA_CHECK(gpa_deck_init(&d));
  int rc;
  GPA_CHECK_GOTO(rc, gpa_h5_read_attr_text(&ck->h5, "/parameters", "deck", &deck), done);
  GPA_CHECK_GOTO(rc, gpa_deck_parse(&d, path, deck, strlen(deck)), done);
  ck->p = d.p;
  GPA_CHECK_GOTO(rc, gpa_h5_read_attr_i64(&ck->h5, "/", "step", &ck->step), done);
  /* Every scalar that sizes what is read or written is checked against the deck. */
  if (ck->step < 0 || ck->step > ck->p.transport.max_steps)
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "--restart: '%s' is at step %lld, outside its run's 0 to %lld "
                   "steps (the file is damaged)",
                   path, (long long)ck->step, (long long)ck->p.transport.max_steps);
done:
  gpa_free(&deck);
  return rc;
}

int gpa_checkpoint_open(struct gpa_checkpoint *ck, MPI_Comm comm, const char *path) {
  memset(ck, 0, sizeof *ck);
  ck->h5.file = -1;
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  /* Rank 0 checks the whole file alone first (gpa_h5_open first makes sure it is HDF5). */
  int exists = rank != 0 || access(path, R_OK) == 0;
  GPA_CHECK(
      gpa_comm_agree(comm, exists && rank == 0 && gpa_h5s_is_hdf5(path) ? verify(path) : GPA_OK));
  GPA_CHECK(gpa_h5_open(&ck->h5, comm, path, 0, "--restart"));
  int64_t version = 0;
  int rc;
  GPA_CHECK_GOTO(rc, check_format(&ck->h5, path, &version), done);
  GPA_CHECK_GOTO(rc, read_settings(ck, path), done);
  if (version < CHECKPOINT_FORMAT_VERSION && rank == 0)
    fprintf(stderr,
            "warning: %s has checkpoint format %lld, without checksums: its data are "
            "not verified\n",
            path, (long long)version);
done:
  if (rc) {
    char msg[1200];
    if (strncmp(gpa_error_message(), "--restart", 9) != 0) { /* name the option */
      snprintf(msg, sizeof msg, "--restart: %s", gpa_error_message());
      gpa_error_set_message(rc, msg);
    }
    gpa_h5_close(&ck->h5);
  }
  return rc;
}

/* Whether this rank's targets are those of the checkpoint. */
static int same_targets(struct gpa_checkpoint *ck, const struct gpa_solver *s, int *same) {
  const int64_t d = s->dim;
  double *x = NULL;
  int rc;
  *same = 0;
  GPA_CHECK_GOTO(rc, gpa_alloc_array(&x, (size_t)(s->tpart.n_local * d + 1), sizeof(double)), done);
  GPA_CHECK_GOTO(rc, gpa_comm_agree(s->comm, gpa_h5_read_rows(&ck->h5, "/target", s->tpart, d, x)),
                 done);
  *same = memcmp(x, s->x, sizeof(double) * (size_t)(s->tpart.n_local * d)) == 0;
done:
  gpa_free(&x);
  return rc;
}

int gpa_checkpoint_check(struct gpa_checkpoint *ck, struct gpa_solver *s, char *changes,
                         size_t size) {
  gpa_solver_keep_field_choice(s, &ck->p);
  struct gpa_params now;
  gpa_solver_recorded_params(s, &now);
  GPA_CHECK(gpa_params_restart_check(&ck->p, &now, changes, size));
  if (s->p.transport.max_steps < ck->step)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "restart: transport.max_steps is %lld but the checkpoint is at step %lld",
                     (long long)s->p.transport.max_steps, (long long)ck->step);
  /* The targets are made again from the deck: they must be those of the checkpoint. */
  int same = 0, all_same = 0;
  GPA_CHECK(same_targets(ck, s, &same));
  GPA_MPI(MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_MIN, s->comm));
  if (!all_same)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "restart: the targets differ from the checkpoint's (was "
                     "target.file changed?)");
  return GPA_OK;
}

/* The monitor's columns, records 1..count. */
static int read_monitor(struct gpa_h5 *f, struct gpa_monitor *m, int64_t count) {
  if (count > m->capacity)
    return GPA_ERROR(GPA_ERR_INTERNAL, "monitor capacity %lld below step %lld",
                     (long long)m->capacity, (long long)count);
  for (int i = 0; i < GPA_MONITOR_COLUMNS; i++) {
    const struct gpa_monitor_column *c = &gpa_monitor_columns[i];
    void *v = gpa_monitor_values(m, i);
    if (c->type == GPA_MONITOR_INT64) GPA_CHECK(gpa_h5_read_i64(f, c->dataset, v, count));
    else GPA_CHECK(gpa_h5_read_f64(f, c->dataset, v, count));
  }
  m->count = count;
  return GPA_OK;
}

int gpa_checkpoint_load(struct gpa_checkpoint *ck, struct gpa_solver *s) {
  struct gpa_h5 *f = &ck->h5;
  const int64_t d = s->dim;
  GPA_CHECK(gpa_h5_read_rows(f, "/particles", s->ppart, d, s->y));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_read_rows(f, "/generated", s->gpart, d, s->y + s->ppart.n_local * d));
  GPA_CHECK(gpa_disc_state_read(f, STATE_GROUP, &s->disc));
  int64_t counters[N_COUNTERS];
  GPA_CHECK(gpa_h5_read_i64(f, "/state/counters", counters, N_COUNTERS));
  gpa_disc_set_counters(&s->disc, counters);
  s->cfl_warned = (int)counters[GPA_DISC_COUNTERS];
  GPA_CHECK(read_monitor(f, &s->mon, ck->step));
  s->step = ck->step;
  return GPA_OK;
}

void gpa_checkpoint_close(struct gpa_checkpoint *ck) {
  if (ck->h5.file >= 0) gpa_h5_close(&ck->h5);
}
