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

/* Version 2 adds a CRC-32 of every dataset (attribute crc32) and of the deck (deck_crc32);
 * version 1 files are still read, without that check. */
enum { CHECKPOINT_FORMAT_VERSION = 2, CHECKPOINT_OLDEST_VERSION = 1 };

/* The datasets of a checkpoint, in the order they are checked. */
static const char *const datasets[] = {
    "/particles",      "/generated",           "/target",             "/state/theta",
    "/state/adam_m",   "/state/adam_v",        "/state/power_u",      "/state/power_sigma",
    "/state/counters", "/monitor/step",        "/monitor/divergence", "/monitor/kinetic_energy",
    "/monitor/max_speed", "/monitor/wall_time"};
enum { N_DATASETS = sizeof datasets / sizeof datasets[0] };

/* ------------------------------------------------------------------------- checksums */

/* Collective: CRC-32 of the bytes of rows split across ranks, in global order (each rank's
 * CRC combined in rank order with zlib's crc32_combine). */
static int rows_crc(MPI_Comm comm, const void *x, int64_t bytes, uint32_t *crc) {
  int size;
  GPA_MPI(MPI_Comm_size(comm, &size));
  uint64_t mine[2] = {crc32_z(crc32_z(0L, Z_NULL, 0), x, (size_t)bytes), (uint64_t)bytes};
  uint64_t *all;
  GPA_CHECK(gpa_alloc_array(&all, 2 * (size_t)size, sizeof(uint64_t)));
  int rc = MPI_Allgather(mine, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, comm);
  uLong c = crc32_z(0L, Z_NULL, 0);
  for (int r = 0; r < size && rc == MPI_SUCCESS; r++)
    c = crc32_combine64(c, (uLong)all[2 * r], (z_off64_t)all[2 * r + 1]);
  gpa_free(&all);
  if (rc != MPI_SUCCESS) return gpa_mpi_error(rc, "MPI_Allgather");
  *crc = (uint32_t)c;
  return GPA_OK;
}

static int attr_crc(struct gpa_h5 *f, const char *obj, const char *name, uint32_t crc) {
  int64_t v = crc;
  return gpa_h5_attr_i64(f, obj, name, &v, 1);
}

/* Collective: the crc32 attribute of every dataset written by write_state. */
static int write_checksums(struct gpa_h5 *f, struct gpa_solver *s) {
  const struct gpa_disc *dc = &s->disc;
  const int64_t np = dc->net.n_params, d = s->dim;
  uint32_t crc;
  GPA_CHECK(rows_crc(s->comm, s->y, 8 * s->ppart.n_local * d, &crc));
  GPA_CHECK(attr_crc(f, "/particles", "crc32", crc));
  if (s->gpart.n_global > 0) {
    GPA_CHECK(rows_crc(s->comm, s->y + s->ppart.n_local * d, 8 * s->gpart.n_local * d, &crc));
    GPA_CHECK(attr_crc(f, "/generated", "crc32", crc));
  }
  GPA_CHECK(rows_crc(s->comm, s->x, 8 * s->tpart.n_local * d, &crc));
  GPA_CHECK(attr_crc(f, "/target", "crc32", crc));
  int64_t u_len = dc->lip.u_off[dc->lip.n_layers - 1] + dc->lip.rows[dc->lip.n_layers - 1];
  int64_t counters[3] = {dc->opt.t, dc->updates, s->cfl_warned};
  const struct gpa_monitor *m = &s->mon;
  const void *rep[] = {dc->theta, dc->opt.m, dc->opt.v, dc->lip.u, dc->lip.sigma, counters,
                       m->step, m->divergence, m->kinetic_energy, m->max_speed, m->wall_time};
  const int64_t len[] = {np, np, np, u_len, dc->lip.n_layers, 3,
                         m->count, m->count, m->count, m->count, m->count};
  /* Replicated data are written by rank 0 (the CFL flag, for one, is rank 0's): its CRCs. */
  uint32_t crcs[11];
  for (int i = 0; i < 11; i++)
    crcs[i] = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), rep[i], (size_t)(8 * len[i]));
  GPA_MPI(MPI_Bcast(crcs, 11, MPI_UINT32_T, 0, s->comm));
  for (int i = 0; i < 11; i++) GPA_CHECK(attr_crc(f, datasets[3 + i], "crc32", crcs[i]));
  char *deck = NULL;
  GPA_CHECK(gpa_h5_read_attr_text(f, "/parameters", "deck", &deck));
  crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)deck, strlen(deck));
  gpa_free(&deck);
  return attr_crc(f, "/parameters", "deck_crc32", crc);
}

/* Rank 0 alone (no MPI-IO): reads dataset `name` of `file` in blocks as 8-byte numbers,
 * checks its CRC against its crc32 attribute and, for floating-point data, that every value
 * is finite.  *n returns the number of values. */
static int verify_dataset(const char *path, hid_t file, const char *name, int64_t *n) {
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  if (d < 0) return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' has no dataset %s", path, name);
  hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  const H5T_class_t cls = H5Tget_class(type);
  const int is_float = cls == H5T_FLOAT;
  int rc = GPA_OK;
  if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || H5Tget_size(type) != 8)
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s is not 8-byte numbers (the file was "
                   "altered)", path, name);
  hsize_t dims[2] = {0, 1};
  const int nd = H5Sget_simple_extent_ndims(space);
  if (rc == GPA_OK && (nd < 1 || nd > 2))
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s has %d dimensions", path, name, nd);
  if (rc == GPA_OK) H5Sget_simple_extent_dims(space, dims, NULL);
  int64_t stored = -1;
  if (rc == GPA_OK && !gpa_h5_peek_i64(file, name, "crc32", &stored)) stored = -1;
  if (rc == GPA_OK && stored < 0)
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s has no checksum", path, name);
  const int64_t rows = (int64_t)dims[0], cols = nd == 2 ? (int64_t)dims[1] : 1;
  int64_t block = cols > 0 ? (1 << 20) / cols : 1;
  if (block < 1) block = 1;
  double *buf = NULL;
  if (rc == GPA_OK) rc = gpa_alloc_array(&buf, (size_t)(block * cols + 1), sizeof(double));
  uLong crc = crc32_z(0L, Z_NULL, 0);
  int64_t bad = -1;
  for (int64_t r0 = 0; rc == GPA_OK && r0 < rows; r0 += block) {
    const int64_t k = rows - r0 < block ? rows - r0 : block;
    hsize_t start[2] = {(hsize_t)r0, 0}, count[2] = {(hsize_t)k, (hsize_t)cols};
    hid_t mspace = H5Screate_simple(nd, count, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    herr_t st = H5Dread(d, is_float ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, mspace, space,
                        H5P_DEFAULT, buf);
    H5Sclose(mspace);
    if (st < 0) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s cannot be read (damaged?)", path, name);
      break;
    }
    crc = crc32_z(crc, (const Bytef *)buf, (size_t)(8 * k * cols));
    for (int64_t i = 0; is_float && bad < 0 && i < k * cols; i++)
      if (!isfinite(buf[i])) bad = r0 * cols + i;
  }
  gpa_free(&buf);
  if (rc == GPA_OK && (uint32_t)crc != (uint32_t)stored)
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s does not match its checksum (the file is "
                   "damaged)", path, name);
  if (rc == GPA_OK && bad >= 0)
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': %s holds a NaN or Inf at value %lld (a "
                   "checkpoint holds only finite values: the file is damaged)", path, name,
                   (long long)bad);
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
  H5Eclear2(H5E_DEFAULT);
  *n = rows * cols;
  return rc;
}

/* Rank 0 alone: reads the deck text attribute and checks it against deck_crc32. */
static int verify_deck(const char *path, hid_t file) {
  int rc = GPA_OK;
  int64_t stored = -1;
  char *text = NULL;
  if (!gpa_h5_peek_i64(file, "/parameters", "deck_crc32", &stored)) stored = -1;
  gpa_h5_peek_text(file, "/parameters", "deck", &text);
  if (!text || stored < 0 ||
      (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)text, strlen(text)) !=
          (uint32_t)stored)
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': its deck (/parameters) is missing or does "
                   "not match its checksum (the file is damaged)", path);
  gpa_free(&text);
  return rc;
}

/* Rank 0 alone, before any collective open: the whole checkpoint is read once and checked,
 * so that a damaged file is refused with one message on every rank instead of failing in
 * the middle of collective reads.  Checks the format, the checksums, finite values and that
 * the step agrees with the monitor it carries. */
static int verify(const char *path) {
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    H5Eclear2(H5E_DEFAULT);
    return GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' cannot be read as HDF5 (truncated or "
                     "damaged?)", path);
  }
  int64_t version = 0, step = -1, complete = 0;
  gpa_h5_peek_i64(file, "/", "format_version", &version);
  gpa_h5_peek_i64(file, "/", "step", &step);
  gpa_h5_peek_i64(file, "/", "complete", &complete);
  int rc = GPA_OK;
  /* Format, version and completeness get their own messages from gpa_checkpoint_open. */
  if (version == CHECKPOINT_FORMAT_VERSION && complete == 1) {
    rc = verify_deck(path, file);
    int64_t n[N_DATASETS] = {0};
    for (int i = 0; rc == GPA_OK && i < N_DATASETS; i++) {
      if (i == 1 && H5Lexists(file, datasets[i], H5P_DEFAULT) <= 0) continue; /* generated */
      rc = verify_dataset(path, file, datasets[i], &n[i]);
    }
    H5Eclear2(H5E_DEFAULT);
    /* The step must be that of the monitor: records 1..step. */
    if (rc == GPA_OK && (step < 0 || n[9] != step))
      rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': its step (%lld) does not match its "
                     "monitor (%lld records): the file is damaged", path, (long long)step,
                     (long long)n[9]);
    if (rc == GPA_OK && n[8] != 3)
      rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s': /state/counters holds %lld values, not 3",
                     path, (long long)n[8]);
  }
  H5Fclose(file);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}


void gpa_checkpoint_prev_path(const char *path, char *out, size_t size) {
  size_t len = strlen(path);
  if (len > 8 && strcmp(path + len - 8, ".ckpt.h5") == 0)
    snprintf(out, size, "%.*s.ckpt.prev.h5", (int)(len - 8), path);
  else
    snprintf(out, size, "%s.prev", path);
}

static int write_state(struct gpa_h5 *f, struct gpa_solver *s) {
  const struct gpa_disc *dc = &s->disc;
  const int64_t np = dc->net.n_params;
  int64_t version = CHECKPOINT_FORMAT_VERSION, step = s->step;
  double time = (double)s->step * s->p.transport.dt;
  GPA_CHECK(gpa_h5_attr_string(f, "/", "format", "gpa-checkpoint"));
  GPA_CHECK(gpa_h5_attr_i64(f, "/", "format_version", &version, 1));
  GPA_CHECK(gpa_h5_attr_i64(f, "/", "step", &step, 1));
  GPA_CHECK(gpa_h5_attr_f64(f, "/", "time", &time, 1));
  GPA_CHECK(gpa_h5_write_parameters(f, &s->p));
  GPA_CHECK(gpa_h5_write_code(f));
  GPA_CHECK(gpa_h5_write_rows(f, "/particles", s->y, s->ppart, s->dim, "particles Y_step"));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_write_rows(f, "/generated", s->y + s->ppart.n_local * s->dim, s->gpart,
                                s->dim, "generated particles"));
  GPA_CHECK(gpa_h5_write_rows(f, "/target", s->x, s->tpart, s->dim, "target samples"));
  GPA_CHECK(gpa_h5_write_f64(f, "/state/theta", dc->theta, np, "parameters of phi", NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/state/adam_m", dc->opt.m, np, "first moment", NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/state/adam_v", dc->opt.v, np, "second moment", NULL));
  int64_t u_len = dc->lip.u_off[dc->lip.n_layers - 1] + dc->lip.rows[dc->lip.n_layers - 1];
  GPA_CHECK(gpa_h5_write_f64(f, "/state/power_u", dc->lip.u, u_len,
                             "power-iteration vectors of every layer", NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/state/power_sigma", dc->lip.sigma, dc->lip.n_layers,
                             "last norm estimates (< 0: not yet converged)", NULL));
  int64_t counters[3] = {dc->opt.t, dc->updates, s->cfl_warned};
  GPA_CHECK(gpa_h5_write_i64(f, "/state/counters", counters, 3,
                             "optimizer step counter, updates of phi, CFL warning given", NULL));
  const struct gpa_monitor *m = &s->mon;
  GPA_CHECK(gpa_h5_write_i64(f, "/monitor/step", m->step, m->count, NULL, NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/monitor/divergence", m->divergence, m->count, NULL, NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/monitor/kinetic_energy", m->kinetic_energy, m->count, NULL,
                             NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/monitor/max_speed", m->max_speed, m->count, NULL, NULL));
  GPA_CHECK(gpa_h5_write_f64(f, "/monitor/wall_time", m->wall_time, m->count, NULL, "s"));
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

int gpa_checkpoint_write(struct gpa_solver *s, const char *path, double *bytes,
                         double *seconds) {
  const double t0 = MPI_Wtime();
  char tmp[GPA_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  struct gpa_h5 f;
  int rc = gpa_h5_create(&f, s->comm, tmp);
  if (rc == GPA_OK) rc = write_state(&f, s);
  int crc = f.file >= 0 ? gpa_h5_close(&f) : GPA_OK;
  if (rc == GPA_OK) rc = crc;
  rc = gpa_comm_agree(s->comm, rc);
  if (rc) {
    if (s->rank == 0) unlink(tmp);
    return rc;
  }
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
    if (stat(tmp, &st) == 0) size = (double)st.st_size;
    rc = replace(tmp, path);
  }
  GPA_CHECK(gpa_comm_agree(s->comm, rc));
  GPA_MPI(MPI_Bcast(&size, 1, MPI_DOUBLE, 0, s->comm));
  *bytes = size;
  *seconds = MPI_Wtime() - t0;
  return GPA_OK;
}

int gpa_checkpoint_open(struct gpa_checkpoint *ck, MPI_Comm comm, const char *path) {
  memset(ck, 0, sizeof *ck);
  ck->h5.file = -1;
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  /* Rank 0 checks the whole file alone first (gpa_h5_open first makes sure it is HDF5). */
  int exists = rank != 0 || access(path, R_OK) == 0;
  GPA_CHECK(gpa_comm_agree(comm, exists && rank == 0 && H5Fis_hdf5(path) > 0 ? verify(path)
                                                                                : GPA_OK));
  H5Eclear2(H5E_DEFAULT);
  GPA_CHECK(gpa_h5_open(&ck->h5, comm, path, 0, "--restart"));
  struct gpa_h5 *f = &ck->h5;
  char format[64] = "";
  int rc = GPA_OK;
  if (gpa_h5_read_attr_string(f, "/", "format", format, sizeof format) != GPA_OK) {
    gpa_error_clear();
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' is not a gpa checkpoint", path);
  } else if (strcmp(format, "gpa-run") == 0) {
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "--restart: '%s' is a run file, not a checkpoint (those are RUN.ckpt.h5)",
                   path);
  } else if (strcmp(format, "gpa-checkpoint") != 0) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' is not a gpa checkpoint", path);
  }
  int64_t version = 0, complete = 0;
  if (rc == GPA_OK && (gpa_h5_read_attr_i64(f, "/", "format_version", &version) != GPA_OK ||
                       version < CHECKPOINT_OLDEST_VERSION ||
                       version > CHECKPOINT_FORMAT_VERSION)) {
    gpa_error_clear();
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' has checkpoint format %lld; this gpa reads "
                   "%d to %d", path, (long long)version, CHECKPOINT_OLDEST_VERSION,
                   CHECKPOINT_FORMAT_VERSION);
  }
  if (rc == GPA_OK && (gpa_h5_read_attr_i64(f, "/", "complete", &complete) != GPA_OK ||
                       complete != 1)) {
    gpa_error_clear();
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "--restart: '%s' is incomplete (its writing was interrupted)", path);
  }
  char *deck = NULL;
  if (rc == GPA_OK) rc = gpa_h5_read_attr_text(f, "/parameters", "deck", &deck);
  if (rc == GPA_OK) {
    struct gpa_deck d;
    gpa_deck_init(&d);
    rc = gpa_deck_parse(&d, path, deck, strlen(deck));
    ck->p = d.p;
  }
  gpa_free(&deck);
  if (rc == GPA_OK) rc = gpa_h5_read_attr_i64(f, "/", "step", &ck->step);
  /* Every scalar that sizes what is read or written is checked against the deck. */
  if (rc == GPA_OK && (ck->step < 0 || ck->step > ck->p.transport.max_steps))
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' is at step %lld, outside its run's 0 to %lld "
                   "steps (the file is damaged)", path, (long long)ck->step,
                   (long long)ck->p.transport.max_steps);
  if (rc == GPA_OK && version < CHECKPOINT_FORMAT_VERSION && rank == 0)
    fprintf(stderr, "warning: %s has checkpoint format %lld, without checksums: its data are "
                    "not verified\n", path, (long long)version);
  if (rc) {
    char msg[1200];
    if (strncmp(gpa_error_message(), "--restart", 9) != 0) { /* name the option */
      snprintf(msg, sizeof msg, "--restart: %s", gpa_error_message());
      gpa_error_set_message(rc, msg);
    }
    gpa_h5_close(f);
  }
  return rc;
}

int gpa_checkpoint_check(struct gpa_checkpoint *ck, const struct gpa_solver *s, char *changes,
                         size_t size) {
  GPA_CHECK(gpa_params_restart_check(&ck->p, &s->p, changes, size));
  if (s->p.transport.max_steps < ck->step)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "restart: transport.max_steps is %lld but the checkpoint is at step %lld",
                     (long long)s->p.transport.max_steps, (long long)ck->step);
  /* The targets are made again from the deck: they must be those of the checkpoint. */
  const int64_t d = s->dim;
  double *x;
  GPA_CHECK(gpa_alloc_array(&x, (size_t)(s->tpart.n_local * d + 1), sizeof(double)));
  int rc = gpa_comm_agree(s->comm, gpa_h5_read_rows(&ck->h5, "/target", s->tpart, d, x));
  int same = rc == GPA_OK &&
             memcmp(x, s->x, sizeof(double) * (size_t)(s->tpart.n_local * d)) == 0;
  gpa_free(&x);
  GPA_CHECK(rc);
  int all_same = 0;
  GPA_MPI(MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_MIN, s->comm));
  if (!all_same)
    return GPA_ERROR(GPA_ERR_INPUT, "restart: the targets differ from the checkpoint's (was "
                                    "target.file changed?)");
  return GPA_OK;
}

int gpa_checkpoint_load(struct gpa_checkpoint *ck, struct gpa_solver *s) {
  struct gpa_h5 *f = &ck->h5;
  struct gpa_disc *dc = &s->disc;
  const int64_t np = dc->net.n_params, d = s->dim;
  GPA_CHECK(gpa_h5_read_rows(f, "/particles", s->ppart, d, s->y));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_read_rows(f, "/generated", s->gpart, d, s->y + s->ppart.n_local * d));
  GPA_CHECK(gpa_h5_read_f64(f, "/state/theta", dc->theta, np));
  GPA_CHECK(gpa_h5_read_f64(f, "/state/adam_m", dc->opt.m, np));
  GPA_CHECK(gpa_h5_read_f64(f, "/state/adam_v", dc->opt.v, np));
  int64_t u_len = dc->lip.u_off[dc->lip.n_layers - 1] + dc->lip.rows[dc->lip.n_layers - 1];
  GPA_CHECK(gpa_h5_read_f64(f, "/state/power_u", dc->lip.u, u_len));
  GPA_CHECK(gpa_h5_read_f64(f, "/state/power_sigma", dc->lip.sigma, dc->lip.n_layers));
  int64_t counters[3];
  GPA_CHECK(gpa_h5_read_i64(f, "/state/counters", counters, 3));
  dc->opt.t = counters[0];
  dc->updates = counters[1];
  s->cfl_warned = (int)counters[2];
  gpa_disc_theta_changed(dc);
  struct gpa_monitor *m = &s->mon;
  const int64_t count = ck->step;
  if (count > m->capacity)
    return GPA_ERROR(GPA_ERR_INTERNAL, "monitor capacity %lld below step %lld",
                     (long long)m->capacity, (long long)count);
  GPA_CHECK(gpa_h5_read_i64(f, "/monitor/step", m->step, count));
  GPA_CHECK(gpa_h5_read_f64(f, "/monitor/divergence", m->divergence, count));
  GPA_CHECK(gpa_h5_read_f64(f, "/monitor/kinetic_energy", m->kinetic_energy, count));
  GPA_CHECK(gpa_h5_read_f64(f, "/monitor/max_speed", m->max_speed, count));
  GPA_CHECK(gpa_h5_read_f64(f, "/monitor/wall_time", m->wall_time, count));
  m->count = count;
  s->step = ck->step;
  return GPA_OK;
}

void gpa_checkpoint_close(struct gpa_checkpoint *ck) {
  if (ck->h5.file >= 0) gpa_h5_close(&ck->h5);
}
