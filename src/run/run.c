/* gpa_run: the algorithm of ALGORITHM.md on a resolved deck, with its files (run.h). */
#include "gpa/run.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gpa/checkpoint.h"
#include "gpa/comm.h"
#include "gpa/drive.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa/output.h"
#include "gpa/paths.h"
#include "gpa/solver.h"
#include "gpa_config.h"
#include "version.h"

static void banner(const struct gpa_solver *s, const char *deck) {
  const struct gpa_params *p = &s->p;
  const struct gpa_mlp *net = &s->disc.net;
  printf("gpa %s (%s): %s on %d rank%s\n", GPA_VERSION, GPA_GIT_REVISION, deck, s->size,
         s->size > 1 ? "s" : "");
  printf("  %lld particles (%s) -> %lld targets (%s) in R^%lld", (long long)s->ppart.n_global,
         gpa_choice_name(GPA_CHOICE_DIST, p->source.kind), (long long)s->tpart.n_global,
         gpa_choice_name(GPA_CHOICE_DIST, p->target.kind), (long long)s->dim);
  if (s->gpart.n_global > 0) printf(", %lld generated", (long long)s->gpart.n_global);
  printf("\n  divergence %s, L = %g (%s), %s, dt = %g, %lld steps\n",
         gpa_choice_name(GPA_CHOICE_DIV, p->divergence.kind), p->divergence.L,
         gpa_choice_name(GPA_CHOICE_NORM, p->network.normalization),
         gpa_choice_name(GPA_CHOICE_INT, p->transport.integrator), p->transport.dt,
         (long long)p->transport.max_steps);
  printf("  phi: ");
  for (int l = 0; l < net->n_conv; l++)
    printf("conv %lldx%lld/%lld %lld->%lld (%lldx%lld), ", (long long)net->conv[l].k,
           (long long)net->conv[l].k, (long long)net->conv[l].stride, (long long)net->conv[l].cin,
           (long long)net->conv[l].cout, (long long)net->conv[l].hout,
           (long long)net->conv[l].wout);
  for (int l = 0; l <= net->n_layers; l++) printf("%s%lld", l ? "-" : "", (long long)net->width[l]);
  if (net->n_out > 1) printf(" (class-conditional)");
  printf(" (%lld parameters, %s), %s lr %g x %lld updates per step\n", (long long)net->n_params,
         gpa_choice_name(GPA_CHOICE_PREC, p->network.precision),
         gpa_choice_name(GPA_CHOICE_OPT, p->optimizer.kind), p->optimizer.lr,
         (long long)p->optimizer.epochs);
  fflush(stdout);
}

/* Opens the checkpoint to restart from.  When CKPT.h5 is missing but its previous version is
 * there (a crash while it was being replaced on a file system without hard links), that one is
 * used.  With `clean`, a checkpoint left half-written when the run stopped is removed. */
static int open_restart(MPI_Comm comm, int rank, const char *restart, const struct gpa_params *p,
                        struct gpa_checkpoint *ck, int clean) {
  char path[GPA_PATH_MAX + 32], prev[GPA_PATH_MAX + 48], tmp[GPA_PATH_MAX + 48];
  snprintf(path, sizeof path, "%s", restart);
  gpa_checkpoint_prev_path(path, prev, sizeof prev);
  int use_prev = 0;
  if (rank == 0) {
    use_prev = access(path, F_OK) != 0 && access(prev, F_OK) == 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", p->output.checkpoint_file);
    if (clean) unlink(tmp); /* a checkpoint that was being written when the run stopped */
    if (use_prev) printf("note: %s is missing; restarting from %s\n", path, prev);
  }
  GPA_MPI(MPI_Bcast(&use_prev, 1, MPI_INT, 0, comm));
  return gpa_checkpoint_open(ck, comm, use_prev ? prev : path);
}

/* Rank 0: the step of an interrupted run's checkpoint at `path`, or -1. */
static long long checkpoint_step(const char *path) {
  int64_t v;
  return gpa_h5s_peek_file_i64(path, "/", "step", &v) ? (long long)v : -1;
}

/* Rank 0: a fresh run would overwrite the state of an interrupted one (a checkpoint, and a run
 * file that is still RUN.h5.tmp or missing): refused unless opts->overwrite. */
static int interrupted_run(const struct gpa_params *p, const char *prev) {
  char tmp[GPA_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", p->output.file);
  const char *ck = access(p->output.checkpoint_file, F_OK) == 0 ? p->output.checkpoint_file
                   : access(prev, F_OK) == 0                    ? prev
                                                                : NULL;
  if (!ck || (access(tmp, F_OK) != 0 && access(p->output.file, F_OK) == 0)) return GPA_OK;
  long long step = checkpoint_step(ck);
  char at[48] = "";
  if (step >= 0) snprintf(at, sizeof at, " at step %lld", step);
  return GPA_ERROR(GPA_ERR_INPUT,
                   "%s holds an interrupted run of %s%s: continue it with "
                   "--restart %s, or start again with --overwrite",
                   ck, p->output.file, at, ck);
}

/* The files of a run, checked and the output locked before anything is computed. */
static int run_files(MPI_Comm comm, int rank, const struct gpa_run_opts *o,
                     const struct gpa_params *p, struct gpa_lock *lk) {
  char xmf[GPA_PATH_MAX + 8], prev[GPA_PATH_MAX + 32];
  gpa_path_beside(p->output.file, ".xmf", xmf, sizeof xmf);
  gpa_checkpoint_prev_path(p->output.checkpoint_file, prev, sizeof prev);
  struct gpa_paths pp;
  memset(&pp, 0, sizeof pp);
  gpa_paths_input(&pp, o->deck_path, "deck");
  const struct gpa_dist_params *dists[2] = {&p->source, &p->target};
  const char *names[2][2] = {{"source.file", "source.labels_file"},
                             {"target.file", "target.labels_file"}};
  for (int i = 0; i < 2; i++) {
    if (dists[i]->kind != GPA_DIST_FILE && dists[i]->kind != GPA_DIST_FASHION_MNIST) continue;
    gpa_paths_input(&pp, dists[i]->file, names[i][0]);
    gpa_paths_input(&pp, dists[i]->labels_file, names[i][1]);
  }
  gpa_paths_output(&pp, p->output.file, "output.file");
  gpa_paths_output(&pp, xmf, "the XDMF sidecar");
  gpa_paths_output(&pp, p->output.checkpoint_file, "output.checkpoint_file");
  gpa_paths_output(&pp, prev, "the previous checkpoint");
  gpa_paths_output(&pp, p->output.stop_file, "output.stop_file");
  GPA_CHECK(gpa_paths_check(comm, &pp));
  GPA_CHECK(gpa_paths_lock(comm, p->output.file, lk));
  int rc = GPA_OK;
  if (!o->restart && !o->overwrite && rank == 0) rc = interrupted_run(p, prev);
  rc = gpa_comm_agree(comm, rc);
  if (rc) gpa_paths_unlock(lk);
  return rc;
}

/* --dry-run: the deck is checked, and the checkpoint too (it must be one this deck continues);
 * rank 0 prints the resolved deck.  Nothing is computed or written. */
static int dry_run(MPI_Comm comm, int rank, const struct gpa_params *p,
                   const struct gpa_run_opts *o) {
  if (o->restart) {
    struct gpa_checkpoint ck;
    GPA_CHECK(open_restart(comm, rank, o->restart, p, &ck, 0));
    char changes[2048] = "";
    int rc = gpa_params_restart_check(&ck.p, p, changes, sizeof changes);
    gpa_checkpoint_close(&ck);
    GPA_CHECK(gpa_comm_agree(comm, rc));
  }
  if (rank == 0) gpa_params_dump(stdout, p);
  return GPA_OK;
}

/* The solver: particles Y ~ source, targets X ~ target, phi initialised on the Lipschitz ball.
 * A restart reads its checkpoint first and checks it against the solver before any file is
 * touched.  Then the banner. */
static int setup(MPI_Comm comm, int rank, const struct gpa_run_opts *o, const struct gpa_params *p,
                 struct gpa_checkpoint *ck, struct gpa_solver *s) {
  if (o->restart) GPA_CHECK(open_restart(comm, rank, o->restart, p, ck, 1));
  GPA_CHECK(gpa_comm_agree(comm, gpa_solver_setup(s, comm, p)));
  char changes[2048] = "";
  if (o->restart)
    GPA_CHECK(gpa_comm_agree(comm, gpa_checkpoint_check(ck, s, changes, sizeof changes)));
  if (rank == 0 && !o->quiet) {
    banner(s, o->deck_path);
    if (o->restart)
      printf("  restart from %s at step %lld%s%s\n", ck->h5.path, (long long)ck->step,
             changes[0] ? "; changed:\n    " : "", changes);
  }
  return GPA_OK;
}

/* A restart's run file, continued from the checkpoint's step (or new), then the checkpoint's
 * state; the checkpoint is closed. */
static int resume(MPI_Comm comm, struct gpa_checkpoint *ck, struct gpa_solver *s,
                  struct gpa_runfile *out) {
  int rc, resumed = 0;
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, gpa_output_resume(out, s, ck->step, &resumed)), done);
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, gpa_checkpoint_load(ck, s)), done);
  gpa_checkpoint_close(ck);
  if (!resumed && s->step > 0) /* a new run file: start at the checkpoint */
    GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, gpa_output_step(out, s)), done);
done:
  gpa_checkpoint_close(ck);
  return rc;
}

/* The run file: new, or continued from the checkpoint's step; then the checkpoint's state. */
static int open_output(MPI_Comm comm, const struct gpa_run_opts *o, struct gpa_checkpoint *ck,
                       struct gpa_solver *s, struct gpa_runfile *out) {
  gpa_timer_start(&s->timers, GPA_T_IO);
  int rc = o->restart ? resume(comm, ck, s, out) : gpa_comm_agree(comm, gpa_output_begin(out, s));
  gpa_timer_stop(&s->timers, GPA_T_IO);
  return rc;
}

/* The run, its output locked by the caller. */
static int run(MPI_Comm comm, const struct gpa_deck *deck, const struct gpa_run_opts *o,
               struct gpa_lock *lock) {
  int rank, size, rc;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  if (o->dry_run) return dry_run(comm, rank, &deck->p, o);
  GPA_CHECK(run_files(comm, rank, o, &deck->p, lock));
  gpa_linalg_setup(deck->p.run.flush_denormals, deck->p.network.conv_channels.n > 0);
  struct gpa_checkpoint ck;
  struct gpa_solver s;
  struct gpa_runfile out;
  memset(&ck, 0, sizeof ck);
  ck.h5.file = -1;
  memset(&s, 0, sizeof s);
  memset(&out, 0, sizeof out);
  struct gpa_drive drive = {.quiet = o->quiet, .interruptible = 1, .started = o->started};
  GPA_CHECK_GOTO(rc, setup(comm, rank, o, &deck->p, &ck, &s), done);
  GPA_CHECK_GOTO(rc, open_output(comm, o, &ck, &s, &out), done);
  gpa_drive_install_signals();
  GPA_CHECK_GOTO(rc, gpa_drive_run(&s, &out, &drive), done);
  if (drive.interrupted && rank == 0) {
    printf("%s\n", drive.status);
    if (o->print_continue) o->print_continue(o->ctx, size, s.p.output.checkpoint_file);
  }
  if (!o->quiet) gpa_timers_report(comm, &s.timers, stdout);
done:
  if (rc != GPA_OK) gpa_output_abort(&out);
  gpa_checkpoint_close(&ck);
  gpa_solver_destroy(&s);
  if (drive.diverged && rc == GPA_OK) rc = GPA_ERROR(GPA_ERR_DIVERGED, "%s", drive.status);
  return rc;
}

int gpa_run(MPI_Comm comm, const struct gpa_deck *deck, const struct gpa_run_opts *opts) {
  struct gpa_lock lock = {-1, ""};
  int rc = run(comm, deck, opts, &lock);
  gpa_paths_unlock(&lock);
  return rc;
}
