/* gpa: the Lipschitz-regularized generative particle algorithm.
 *
 * main() owns MPI_COMM_WORLD (duplicated once) and turns statuses into exit codes; cmd_run()
 * is the algorithm of ALGORITHM.md: sample particles and targets, then repeat
 *   train phi on (Y, X)  ->  move Y by -dt grad phi  ->  monitor D, KE  ->  stop?
 * with checkpoints that let a run stop at any step and continue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpa/checkpoint.h"
#include "gpa/cli.h"
#include "gpa/comm.h"
#include "gpa/drive.h"
#include "gpa/field.h"
#include "gpa/integrate.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa/metrics.h"
#include "gpa/output.h"
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
                        const struct gpa_params *p, struct gpa_checkpoint *ck) {
  char path[GPA_PATH_MAX + 32], prev[GPA_PATH_MAX + 48], tmp[GPA_PATH_MAX + 48];
  snprintf(path, sizeof path, "%s", cli->restart);
  gpa_checkpoint_prev_path(path, prev, sizeof prev);
  int use_prev = 0;
  if (rank == 0) {
    use_prev = access(path, F_OK) != 0 && access(prev, F_OK) == 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", p->output.checkpoint_file);
    unlink(tmp); /* a checkpoint that was being written when the run stopped */
    if (use_prev) printf("note: %s is missing; restarting from %s\n", path, prev);
  }
  GPA_MPI(MPI_Bcast(&use_prev, 1, MPI_INT, 0, comm));
  return gpa_checkpoint_open(ck, comm, use_prev ? prev : path);
}

static int cmd_run(MPI_Comm comm, const struct gpa_cli *cli, double started) {
  int rank, size;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &size));
  struct gpa_deck deck;
  GPA_CHECK(gpa_cli_load_deck(comm, cli, &deck));
  for (int i = 0; i < deck.n_warnings && rank == 0; i++)
    fprintf(stderr, "warning: %s\n", deck.warnings[i]);
  if (cli->dry_run) {
    if (rank == 0) gpa_params_dump(stdout, &deck.p);
    return GPA_OK;
  }
  gpa_linalg_setup(deck.p.run.flush_denormals, deck.p.network.conv_channels.n > 0);

  /* A restart reads its checkpoint first: `auto` field storage keeps the checkpoint's
   * choice. */
  struct gpa_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  ck.h5.file = -1;
  if (cli->restart) {
    GPA_CHECK(open_restart(comm, rank, cli, &deck.p, &ck));
    if (deck.p.output.store_field == GPA_FIELD_AUTO)
      deck.p.output.store_field = ck.p.output.store_field;
  }

  /* Particles Y ~ source, targets X ~ target, phi initialised on the Lipschitz ball. */
  struct gpa_solver s;
  int rc = gpa_comm_agree(comm, gpa_solver_setup(&s, comm, &deck.p));
  char changes[2048] = "";
  if (rc == GPA_OK && cli->restart)
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

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const double started = MPI_Wtime();
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  int rank;
  MPI_Comm_rank(comm, &rank);
  gpa_io_setup();
  int rc = gpa_comm_setup(comm);

  struct gpa_cli cli;
  if (rc == GPA_OK) rc = gpa_cli_parse(argc, argv, &cli);
  if (rc == GPA_OK) {
    if (!strcmp(cli.command, "run")) {
      rc = cmd_run(comm, &cli, started);
    } else if (!strcmp(cli.command, "transport") || !strcmp(cli.command, "sample")) {
      rc = gpa_field_command(comm, &cli); /* BLIS set up as the run's */
    } else if (!strcmp(cli.command, "integrate")) {
      rc = gpa_integrate_command(comm, &cli, started);
    } else if (!strcmp(cli.command, "metrics")) {
      gpa_linalg_setup(1, 0);
      rc = gpa_metrics_command(comm, &cli);
    } else if (!strcmp(cli.command, "reference")) {
      if (rank == 0) gpa_params_reference(stdout);
    } else if (!strcmp(cli.command, "version")) {
      if (rank == 0) printf("gpa %s (%s)\n", GPA_VERSION, GPA_GIT_REVISION);
    } else {
      if (rank == 0) gpa_cli_usage(stdout);
    }
  }
  if (rc != GPA_OK && rank == 0) {
    fprintf(stderr, "error: %s%s\n", gpa_error_message(),
            rc == GPA_ERR_USAGE ? " (gpa help shows the usage)" : "");
    if (getenv("GPA_DEBUG")) fprintf(stderr, "  at %s\n", gpa_error_trace_text());
  }
  gpa_comm_teardown();
  MPI_Comm_free(&comm);
  MPI_Finalize();
  return rc;
}
