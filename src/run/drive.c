/* The particle loop shared by `gpa run` and `gpa integrate`. */
#include "gpa/drive.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpa/checkpoint.h"
#include "gpa/comm.h"
#include "gpa/io.h"
#include "gpa/watchdog.h"

/* ------------------------------------------------------------------------- interruptions */

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) { stop_signal = sig; }

void gpa_drive_install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

enum { STOP_SIGTERM = 1, STOP_SIGUSR1 = 2, STOP_FILE = 4, STOP_WALL_TIME = 8 };

struct watch {
  double started; /* MPI_Wtime at program start */
  double last_file_check;
  double slowest_step;    /* seconds */
  double last_checkpoint; /* seconds the last checkpoint took */
  double checkpoint_size; /* bytes of the last checkpoint; 0: none yet */
  int warned_flat;        /* the flat-phi warning was printed */
  int quiet;
};

/* Collective: whether to stop after this step, as STOP_* bits agreed by all ranks (*why).
 * Rank 0 looks for the stop file (at most once a second) and at the wall clock, leaving time
 * for two more steps and a checkpoint. */
static int interruption(MPI_Comm comm, int rank, const struct gpa_params *p, struct watch *w,
                        int *why) {
  /* The signal travels in the bits, so every rank names the same one. */
  int local = stop_signal == SIGTERM ? STOP_SIGTERM : stop_signal ? STOP_SIGUSR1 : 0;
  double now = MPI_Wtime();
  if (rank == 0) {
    if (now - w->last_file_check >= 1.0) {
      w->last_file_check = now;
      if (access(p->output.stop_file, F_OK) == 0) local |= STOP_FILE;
    }
    if (p->run.max_wall_time > 0 &&
        now - w->started + 2 * w->slowest_step + 2 * w->last_checkpoint + 1.0 >=
            p->run.max_wall_time)
      local |= STOP_WALL_TIME;
  }
  GPA_MPI(MPI_Allreduce(&local, why, 1, MPI_INT, MPI_BOR, comm));
  return GPA_OK;
}

static const char *interruption_name(int why) {
  if (why & STOP_SIGTERM) return "SIGTERM";
  if (why & STOP_SIGUSR1) return "SIGUSR1";
  if (why & STOP_FILE) return "stop file";
  return "run.max_wall_time";
}

/* ------------------------------------------------------------------------- checkpoints */

/* Bytes the run file gains over `steps` steps: monitor records, stored field, frames. */
static double growth(const struct gpa_solver *s, int64_t steps) {
  const struct gpa_params *p = &s->p;
  double bytes = 40.0 * (double)steps;
  if (s->store_field)
    bytes += 8.0 * (double)s->field_stages * (double)s->disc.net.n_params * (double)steps;
  if (p->output.trajectory_every > 0)
    bytes += 8.0 * (double)((s->ppart.n_global + s->gpart.n_global) * s->dim) *
             (double)(steps / p->output.trajectory_every + 1);
  return bytes;
}

/* Bytes of one checkpoint: the last one's size when there is one, else what it holds. */
static double checkpoint_bytes(const struct gpa_solver *s, double last) {
  if (last > 0) return last;
  return 8.0 * (double)((s->ppart.n_global + s->gpart.n_global + s->tpart.n_global) * s->dim) +
         32.0 * (double)s->disc.net.n_params + 40.0 * (double)s->step + 256e3;
}

/* Collective: syncs the run file, then writes the checkpoint, each only when the disk has room
 * for it.  The run file goes first: a crash between the two leaves it ahead of the checkpoint,
 * which a restart cuts back, and never behind it.  After the checkpoint, the run stops with
 * an error when the disk has no room left for the steps up to the next one, so that a full
 * disk ends with a checkpoint in place rather than with a failed write. */
static int checkpoint(struct gpa_solver *s, struct gpa_runfile *out, struct watch *w,
                      int64_t kill_between) {
  const struct gpa_params *p = &s->p;
  const int64_t every = p->output.checkpoint_every > 0 ? p->output.checkpoint_every : 1;
  const double margin = 256e3;
  double bytes, seconds;
  char running[96];
  snprintf(running, sizeof running, "running: checkpoint at step %lld", (long long)s->step);
  GPA_CHECK(gpa_io_space_check(s->comm, p->output.checkpoint_file,
                               checkpoint_bytes(s, w->checkpoint_size) + growth(s, every) + margin,
                               "the next checkpoint"));
  GPA_CHECK(gpa_comm_agree(s->comm, gpa_output_sync(out, s, running)));
  if (s->step == kill_between) raise(SIGKILL); /* fault injection: a crash between the two */
  GPA_CHECK(gpa_checkpoint_write(s, p->output.checkpoint_file, &bytes, &seconds));
  w->last_checkpoint = seconds;
  w->checkpoint_size = bytes;
  if (s->rank == 0 && !w->quiet)
    printf("checkpoint at step %lld: %s, %.1f MB in %.3f s (%.0f MB/s)\n", (long long)s->step,
           p->output.checkpoint_file, bytes / 1e6, seconds, bytes / 1e6 / seconds);
  if (s->step >= p->transport.max_steps) return GPA_OK;
  int rc = gpa_io_space_check(s->comm, p->output.checkpoint_file, bytes + growth(s, every) + margin,
                              "the run up to the next checkpoint");
  if (rc) {
    char msg[1400];
    snprintf(msg, sizeof msg,
             "%s; stopped at step %lld with a checkpoint: free some space, then "
             "continue with --restart %s",
             gpa_error_message(), (long long)s->step, p->output.checkpoint_file);
    gpa_error_set_message(rc, msg);
  }
  return rc;
}

/* ------------------------------------------------------------------------- the loop */

/* Fault injection for the tests: GPA_FAULT_KILL_AT_STEP=n kills every rank with SIGKILL right
 * after step n (and its checkpoint, when one is due); GPA_FAULT_KILL_BETWEEN=n kills them at
 * step n's checkpoint after the run file is synced, before the checkpoint. */
struct faults {
  int64_t kill_at, kill_between; /* -1: never */
};

static struct faults faults_from_env(void) {
  const char *at = getenv("GPA_FAULT_KILL_AT_STEP");
  const char *between = getenv("GPA_FAULT_KILL_BETWEEN");
  return (struct faults){at ? atoll(at) : -1, between ? atoll(between) : -1};
}

/* A stop file from before this run would stop it at once. */
static void remove_old_stop_file(int rank, const struct gpa_params *p) {
  if (rank == 0 && p->output.stop_file[0] && access(p->output.stop_file, F_OK) == 0) {
    if (unlink(p->output.stop_file) == 0)
      fprintf(stderr, "warning: removed the stop file %s, left from before this run\n",
              p->output.stop_file);
  }
}

/* The record of a step taken: the monitor, the flat-phi warning and the progress line;
 * returns the reason to stop, or NULL. */
static const char *record_step(struct gpa_solver *s, const struct gpa_drive *d, struct watch *w,
                               const struct gpa_step_info *info, double t0) {
  const struct gpa_params *p = &s->p;
  gpa_monitor_record(&s->mon, s->step, info->divergence, info->kinetic_energy, info->max_speed,
                     MPI_Wtime() - t0);
  const char *reason = gpa_monitor_stop_reason(&s->mon, p);
  if (info->kinetic_energy == 0.0 && !w->warned_flat && s->rank == 0) {
    fprintf(stderr,
            "warning: step %lld: grad phi is exactly 0 at every particle (phi is flat "
            "there, e.g. every ReLU inactive): the particles stop wherever they are\n",
            (long long)s->step);
    w->warned_flat = 1;
  }
  if (s->rank == 0 && !d->quiet && p->output.progress_every > 0 &&
      (s->step % p->output.progress_every == 0 || reason))
    gpa_monitor_progress(&s->mon, p->transport.max_steps, stdout);
  return reason;
}

/* Collective: the writes after a step: the run file, then a checkpoint when one is due or the
 * run is interrupted (*why: the STOP_* bits). */
static int write_step(struct gpa_solver *s, struct gpa_runfile *out, const struct gpa_drive *d,
                      struct watch *w, const char *reason, int64_t kill_between, int *why) {
  const struct gpa_params *p = &s->p;
  const int every = (int)p->output.checkpoint_every;
  *why = 0;
  GPA_CHECK(gpa_comm_agree(s->comm, gpa_output_step(out, s)));
  if (!reason && d->interruptible) GPA_CHECK(interruption(s->comm, s->rank, p, w, why));
  if (*why || (every > 0 && (s->step % every == 0 || reason)))
    GPA_CHECK(checkpoint(s, out, w, kill_between));
  return GPA_OK;
}

/* The recorder of the learned field that the solver's steps call. */
static int record_theta(void *out, int stage, const double *theta) {
  return gpa_output_stage(out, stage, theta);
}

/* Collective: one step and what follows it.  *stop: 1 when the loop ends here, with
 * d->status, d->diverged and d->interrupted set as the case may be. */
static int loop_step(struct gpa_solver *s, struct gpa_runfile *out, struct gpa_drive *d,
                     struct watch *w, struct faults faults, double t0, const char **reason,
                     int *stop) {
  struct gpa_step_info info;
  const double ts = MPI_Wtime();
  int rc = gpa_solver_step(s, record_theta, out, &info); /* train phi on Y, move Y */
  if (rc == GPA_ERR_DIVERGED) { /* keep the run file, with the last finite particles */
    snprintf(d->status, sizeof d->status, "%s", gpa_error_message());
    gpa_error_clear();
    d->diverged = *stop = 1;
    return GPA_OK;
  }
  GPA_CHECK(rc);
  if (MPI_Wtime() - ts > w->slowest_step) w->slowest_step = MPI_Wtime() - ts;
  *reason = record_step(s, d, w, &info, t0);
  int why = 0;
  gpa_timer_start(&s->timers, GPA_T_IO);
  /* No rank waits forever inside collective HDF5 work. */
  gpa_watchdog_arm(s->comm, s->p.output.file, (long long)s->step);
  rc = write_step(s, out, d, w, *reason, faults.kill_between, &why);
  gpa_watchdog_disarm();
  gpa_timer_stop(&s->timers, GPA_T_IO);
  GPA_CHECK(rc);
  if (s->step == faults.kill_at) raise(SIGKILL); /* fault injection: a crash of every rank */
  if (why) {
    d->interrupted = why;
    snprintf(d->status, sizeof d->status, "interrupted at step %lld (%s); restart from %s",
             (long long)s->step, interruption_name(why), s->p.output.checkpoint_file);
    if (s->rank == 0 && (why & STOP_FILE)) unlink(s->p.output.stop_file);
    *stop = 1;
  }
  return GPA_OK;
}

/* Collective: the end of the run: theta checked, the run file ended, the summary line. */
static int finish(struct gpa_solver *s, struct gpa_runfile *out, const struct gpa_drive *d,
                  double t0) {
  /* theta must be the same on every rank: a broken invariant is a bug, not a user error. */
  int same = 0;
  GPA_CHECK(gpa_comm_identical(s->comm, s->disc.theta,
                               sizeof(double) * (size_t)s->disc.net.n_params, &same));
  if (!same) return GPA_ERROR(GPA_ERR_INTERNAL, "theta differs across ranks");
  gpa_timer_start(&s->timers, GPA_T_IO);
  gpa_watchdog_arm(s->comm, s->p.output.file, -1);
  int rc = gpa_comm_agree(s->comm, gpa_output_end(out, s, d->status, !d->interrupted));
  gpa_watchdog_disarm();
  gpa_timer_stop(&s->timers, GPA_T_IO);
  gpa_solver_finish(s);
  GPA_CHECK(rc);
  if (!d->quiet && !d->interrupted && s->rank == 0) {
    double wall = MPI_Wtime() - t0;
    printf("%s after %lld steps in %.3f s (%.1f steps/s); wrote %s\n", d->status,
           (long long)s->step, wall, wall > 0 ? (double)s->step / wall : 0.0, s->p.output.file);
  }
  return GPA_OK;
}

int gpa_drive_run(struct gpa_solver *s, struct gpa_runfile *out, struct gpa_drive *d) {
  const struct gpa_params *p = &s->p;
  const struct faults faults = faults_from_env();
  struct watch w = {d->started, -1e9, 0.0, 0.0, 0.0, 0, d->quiet};
  remove_old_stop_file(s->rank, p);
  const double t0 = MPI_Wtime() - (s->mon.count ? s->mon.wall_time[s->mon.count - 1] : 0.0);
  const char *reason = s->step >= p->transport.max_steps ? "transport.max_steps reached" : NULL;
  int stop = 0;
  d->interrupted = d->diverged = 0;
  snprintf(d->status, sizeof d->status, "completed");
  while (!reason && !stop) GPA_CHECK(loop_step(s, out, d, &w, faults, t0, &reason, &stop));
  if (reason) snprintf(d->status, sizeof d->status, "completed: %s", reason);
  return finish(s, out, d, t0);
}
