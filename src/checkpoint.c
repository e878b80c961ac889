#include "gpa/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { CHECKPOINT_FORMAT_VERSION = 1 };

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
  gpa_fsync_path(tmp, 0);
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
  if (rename(tmp, path) != 0)
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
  char dir[GPA_PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    strcpy(dir, ".");
  gpa_fsync_path(dir, 1);
  return GPA_OK;
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
                       version != CHECKPOINT_FORMAT_VERSION)) {
    gpa_error_clear();
    rc = GPA_ERROR(GPA_ERR_INPUT, "--restart: '%s' has checkpoint format %lld; this gpa reads %d",
                   path, (long long)version, CHECKPOINT_FORMAT_VERSION);
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
  return GPA_OK;
}

int gpa_checkpoint_load(struct gpa_checkpoint *ck, struct gpa_solver *s) {
  struct gpa_h5 *f = &ck->h5;
  struct gpa_disc *dc = &s->disc;
  const int64_t np = dc->net.n_params, d = s->dim;
  GPA_CHECK(gpa_h5_read_rows(f, "/particles", s->ppart, d, s->y));
  if (s->gpart.n_global > 0)
    GPA_CHECK(gpa_h5_read_rows(f, "/generated", s->gpart, d, s->y + s->ppart.n_local * d));
  /* The targets are made again from the deck: they must be those of the checkpoint. */
  double *x;
  GPA_CHECK(gpa_alloc_array(&x, (size_t)(s->tpart.n_local * d + 1), sizeof(double)));
  int rc = gpa_h5_read_rows(f, "/target", s->tpart, d, x);
  int same = rc == GPA_OK &&
             memcmp(x, s->x, sizeof(double) * (size_t)(s->tpart.n_local * d)) == 0;
  gpa_free(&x);
  GPA_CHECK(rc);
  int all_same = 0;
  GPA_MPI(MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_MIN, s->comm));
  if (!all_same)
    return GPA_ERROR(GPA_ERR_INPUT, "restart: the targets differ from the checkpoint's (was "
                                    "target.file changed?)");
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
