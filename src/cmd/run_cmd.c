/* `gpa run DECK.yml [--restart CKPT]`: the algorithm of ALGORITHM.md.  Sample particles and
 * targets, then repeat
 *   train phi on (Y, X)  ->  move Y by -dt grad phi  ->  monitor D, KE  ->  stop?
 * with checkpoints that let a run stop at any step and continue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
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

/* The command that continues the run: this one with --restart CHECKPOINT. */
static void print_restart_command(const struct gpa_cli *cli, int ranks, const char *ckpt) {
  printf("continue with:\n  ");
  if (ranks > 1) printf("mpirun -n %d ", ranks);
  printf("gpa");
  for (int i = 1; i < cli->argc; i++) {
    if (!strcmp(cli->argv[i], "--restart")) {
      i++;
      continue;
    }
    if (!strncmp(cli->argv[i], "--restart=", 10)) continue;
    printf(" %s", cli->argv[i]);
  }
  printf(" --restart %s\n", ckpt);
}

/* ------------------------------------------------------------------------- gpa run */

static void banner(const struct gpa_solver *s, const char *deck) {
  const struct gpa_params *p = &s->p;
  const struct gpa_mlp *net = &s->disc.net;
  printf("gpa %s (%s): %s on %d rank%s\n", GPA_VERSION, GPA_GIT_REVISION, deck, s->size,
         s->size > 1 ? "s" : "");
  printf("  %lld particles (%s) -> %lld targets (%s) in R^%lld", (long long)s->ppart.n_global,
         gpa_choice_name(GPA_DIST_NAMES, p->source.kind), (long long)s->tpart.n_global,
         gpa_choice_name(GPA_DIST_NAMES, p->target.kind), (long long)s->dim);
  if (s->gpart.n_global > 0) printf(", %lld generated", (long long)s->gpart.n_global);
  printf("\n  divergence %s, L = %g (%s), %s, dt = %g, %lld steps\n",
         gpa_choice_name(GPA_DIV_NAMES, p->divergence.kind), p->divergence.L,
         gpa_choice_name(GPA_NORM_NAMES, p->network.normalization),
         gpa_choice_name(GPA_INT_NAMES, p->transport.integrator), p->transport.dt,
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
         gpa_choice_name(GPA_PREC_NAMES, p->network.precision),
         gpa_choice_name(GPA_OPT_NAMES, p->optimizer.kind), p->optimizer.lr,
         (long long)p->optimizer.epochs);
  fflush(stdout);
}

/* Opens the checkpoint to restart from.  When CKPT.h5 is missing but its previous version is
 * there (a crash while it was being replaced on a file system without hard links), that one is
 * used. */
static int open_restart(MPI_Comm comm, int rank, const struct gpa_cli *cli,
                        const struct gpa_params *p, struct gpa_checkpoint *ck, int clean) {
  char path[GPA_PATH_MAX + 32], prev[GPA_PATH_MAX + 48], tmp[GPA_PATH_MAX + 48];
  snprintf(path, sizeof path, "%s", cli->restart);
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

static int run(MPI_Comm comm, const struct gpa_cli *cli, double started, struct gpa_lock *lock);

/* Rank 0: the step of an interrupted run's checkpoint at `path`, or -1. */
static long long checkpoint_step(const char *path) {
  long long step = -1;
  hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
  int64_t v;
  if (f >= 0 && gpa_h5_peek_i64(f, "/", "step", &v)) step = (long long)v;
  if (f >= 0) H5Fclose(f);
  H5Eclear2(H5E_DEFAULT);
  return step;
}

/* Rank 0: a fresh run would overwrite the state of an interrupted one (a checkpoint, and a run
 * file that is still RUN.h5.tmp or missing): refused unless --overwrite. */
static int interrupted_run(const struct gpa_params *p, const char *prev) {
  char tmp[GPA_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", p->output.file);
  const char *ck = access(p->output.checkpoint_file, F_OK) == 0 ? p->output.checkpoint_file
                   : access(prev, F_OK) == 0                  ? prev
                                                               : NULL;
  if (!ck || (access(tmp, F_OK) != 0 && access(p->output.file, F_OK) == 0)) return GPA_OK;
  long long step = checkpoint_step(ck);
  char at[48] = "";
  if (step >= 0) snprintf(at, sizeof at, " at step %lld", step);
  return GPA_ERROR(GPA_ERR_INPUT, "%s holds an interrupted run of %s%s: continue it with "
                   "--restart %s, or start again with --overwrite", ck, p->output.file, at, ck);
}

/* The files of `gpa run`, checked and the output locked before anything is computed. */
static int run_files(MPI_Comm comm, int rank, const struct gpa_cli *cli,
                     const struct gpa_params *p, struct gpa_lock *lk) {
  char xmf[GPA_PATH_MAX + 8], prev[GPA_PATH_MAX + 32];
  snprintf(xmf, sizeof xmf, "%s", p->output.file);
  size_t len = strlen(xmf);
  if (len > 3 && strcmp(xmf + len - 3, ".h5") == 0) xmf[len - 3] = '\0';
  strcat(xmf, ".xmf");
  gpa_checkpoint_prev_path(p->output.checkpoint_file, prev, sizeof prev);
  struct gpa_paths pp;
  memset(&pp, 0, sizeof pp);
  gpa_paths_input(&pp, cli->deck, "deck");
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
  if (!cli->restart && !cli->overwrite && rank == 0) rc = interrupted_run(p, prev);
  rc = gpa_comm_agree(comm, rc);
  if (rc) gpa_paths_unlock(lk);
  return rc;
}

int gpa_cmd_run(MPI_Comm comm, const struct gpa_cli *cli, double started) {
  struct gpa_lock lock = {-1, ""};
  int rc = run(comm, cli, started, &lock);
  gpa_paths_unlock(&lock);
  return rc;
}

static int run(MPI_Comm comm, const struct gpa_cli *cli, double started, struct gpa_lock *lock) {
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  struct gpa_deck deck;
  GPA_CHECK(gpa_cli_load_deck(comm, cli, &deck));
  for (int i = 0; i < deck.n_warnings && rank == 0; i++)
    fprintf(stderr, "warning: %s\n", deck.warnings[i]);
  if (cli->dry_run) {
    if (cli->restart) { /* the checkpoint is checked too: it must be one this deck continues */
      struct gpa_checkpoint ck;
      GPA_CHECK(open_restart(comm, rank, cli, &deck.p, &ck, 0));
      char changes[2048] = "";
      int rc = gpa_params_restart_check(&ck.p, &deck.p, changes, sizeof changes);
      gpa_checkpoint_close(&ck);
      GPA_CHECK(gpa_comm_agree(comm, rc));
    }
    if (rank == 0) gpa_params_dump(stdout, &deck.p);
    return GPA_OK;
  }
  GPA_CHECK(run_files(comm, rank, cli, &deck.p, lock));
  gpa_linalg_setup(deck.p.run.flush_denormals, deck.p.network.conv_channels.n > 0);

  /* A restart reads its checkpoint first: `auto` field storage keeps the checkpoint's
   * choice. */
  struct gpa_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  ck.h5.file = -1;
  if (cli->restart) {
    GPA_CHECK(open_restart(comm, rank, cli, &deck.p, &ck, 1));
    if (deck.p.output.store_field == GPA_FIELD_AUTO)
      deck.p.output.store_field = ck.p.output.store_field;
  }

  /* Particles Y ~ source, targets X ~ target, phi initialised on the Lipschitz ball. */
  struct gpa_solver s;
  int rc = gpa_comm_agree(comm, gpa_solver_setup(&s, comm, &deck.p));
  char changes[2048] = "";
  if (rc == GPA_OK && cli->restart) /* everything checked before any file is touched */
    rc = gpa_comm_agree(comm, gpa_checkpoint_check(&ck, &s, changes, sizeof changes));
  if (rc) {
    gpa_checkpoint_close(&ck);
    gpa_solver_destroy(&s);
    return rc;
  }
  if (rank == 0 && !cli->quiet) {
    banner(&s, cli->deck);
    if (cli->restart)
      printf("  restart from %s at step %lld%s%s\n", ck.h5.path, (long long)ck.step,
             changes[0] ? "; changed:\n    " : "", changes);
  }

  /* The run file: new, or continued from the checkpoint's step; then the checkpoint's state. */
  struct gpa_runfile out;
  gpa_timer_start(&s.timers, GPA_T_IO);
  int resumed = 0;
  if (cli->restart) {
    rc = gpa_comm_agree(comm, gpa_output_resume(&out, &s, ck.step, &resumed));
    if (rc == GPA_OK) rc = gpa_comm_agree(comm, gpa_checkpoint_load(&ck, &s));
    gpa_checkpoint_close(&ck);
    if (rc == GPA_OK && !resumed && s.step > 0) /* a new run file: start at the checkpoint */
      rc = gpa_comm_agree(comm, gpa_output_step(&out, &s));
  } else {
    rc = gpa_comm_agree(comm, gpa_output_begin(&out, &s));
  }
  gpa_timer_stop(&s.timers, GPA_T_IO);
  if (rc) {
    gpa_output_abort(&out);
    gpa_solver_destroy(&s);
    return rc;
  }

  gpa_drive_install_signals();
  struct gpa_drive drive = {.quiet = cli->quiet, .interruptible = 1, .started = started};
  rc = gpa_drive_run(&s, &out, &drive);
  if (rc) {
    gpa_output_abort(&out);
    gpa_solver_destroy(&s);
    return rc;
  }
  const struct gpa_params *p = &s.p;
  const int interrupted = drive.interrupted;
  if (interrupted && rank == 0) {
    printf("%s\n", drive.status);
    print_restart_command(cli, size, p->output.checkpoint_file);
  }
  if (!cli->quiet) gpa_timers_report(comm, &s.timers, stdout);
  gpa_solver_destroy(&s);
  if (drive.diverged) rc = GPA_ERROR(GPA_ERR_DIVERGED, "%s", drive.status);
  return rc;
}

