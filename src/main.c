/* gpa: the Lipschitz-regularized generative particle algorithm.
 *
 * main() owns MPI_COMM_WORLD (duplicated once) and turns statuses into exit codes; cmd_run()
 * is the algorithm of ALGORITHM.md: sample particles and targets, then repeat
 *   train phi on (Y, X)  ->  move Y by -dt grad phi  ->  monitor D, KE  ->  stop?  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpa/cli.h"
#include "gpa/comm.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa/output.h"
#include "gpa/solver.h"
#include "gpa_config.h"
#include "version.h"

static void banner(const struct gpa_solver *s, const char *deck) {
  const struct gpa_params *p = &s->p;
  const struct gpa_mlp *net = &s->disc.net;
  printf("gpa %s (%s): %s on %d rank%s\n", GPA_VERSION, GPA_GIT_REVISION, deck, s->size,
         s->size > 1 ? "s" : "");
  printf("  %lld particles (%s) -> %lld targets (%s) in R^%lld\n", (long long)s->ppart.n_global,
         gpa_choice_name(GPA_DIST_NAMES, p->source.kind), (long long)s->tpart.n_global,
         gpa_choice_name(GPA_DIST_NAMES, p->target.kind), (long long)s->dim);
  printf("  divergence %s, L = %g (%s), %s, dt = %g, %lld steps\n",
         gpa_choice_name(GPA_DIV_NAMES, p->divergence.kind), p->divergence.L,
         gpa_choice_name(GPA_NORM_NAMES, p->network.normalization),
         gpa_choice_name(GPA_INT_NAMES, p->transport.integrator), p->transport.dt,
         (long long)p->transport.max_steps);
  printf("  phi: ");
  for (int l = 0; l <= net->n_layers; l++) printf("%s%lld", l ? "-" : "", (long long)net->width[l]);
  printf(" (%lld parameters), %s lr %g x %lld updates per step\n", (long long)net->n_params,
         gpa_choice_name(GPA_OPT_NAMES, p->optimizer.kind), p->optimizer.lr,
         (long long)p->optimizer.epochs);
  fflush(stdout);
}

static int cmd_run(MPI_Comm comm, const struct gpa_cli *cli) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  struct gpa_deck deck;
  GPA_CHECK(gpa_cli_load_deck(comm, cli, &deck));
  for (int i = 0; i < deck.n_warnings && rank == 0; i++)
    fprintf(stderr, "warning: %s\n", deck.warnings[i]);
  if (cli->dry_run) {
    if (rank == 0) gpa_params_dump(stdout, &deck.p);
    return GPA_OK;
  }
  gpa_linalg_setup(deck.p.run.flush_denormals);

  /* Particles Y ~ source, targets X ~ target, phi initialised on the Lipschitz ball. */
  struct gpa_solver s;
  int rc = gpa_comm_agree(comm, gpa_solver_setup(&s, comm, &deck.p));
  if (rc) {
    gpa_solver_destroy(&s);
    return rc;
  }
  if (rank == 0 && !cli->quiet) banner(&s, cli->deck);
  struct gpa_runfile out;
  gpa_timer_start(&s.timers, GPA_T_TOTAL);
  gpa_timer_start(&s.timers, GPA_T_IO);
  rc = gpa_comm_agree(comm, gpa_output_begin(&out, &s));
  gpa_timer_stop(&s.timers, GPA_T_IO);
  if (rc) {
    gpa_runfile_close(&out, 0);
    gpa_solver_destroy(&s);
    return rc;
  }

  /* The particle loop. */
  const double t0 = MPI_Wtime();
  const char *reason = s.p.transport.max_steps == 0 ? "transport.max_steps reached" : NULL;
  char status[160] = "completed";
  while (!reason) {
    struct gpa_step_info info;
    rc = gpa_solver_step(&s, &info); /* train phi on Y, move Y by -dt grad phi */
    if (rc == GPA_ERR_DIVERGED) { /* keep the run file, with the last finite particles */
      snprintf(status, sizeof status, "%s", gpa_error_message());
      gpa_error_clear();
      rc = GPA_OK;
      break;
    }
    if (rc) break;
    gpa_monitor_record(&s.mon, s.step, info.divergence, info.kinetic_energy, info.max_speed,
                       MPI_Wtime() - t0);
    reason = gpa_monitor_stop_reason(&s.mon, &s.p);
    if (rank == 0 && !cli->quiet && s.p.output.progress_every > 0 &&
        (s.step % s.p.output.progress_every == 0 || reason))
      gpa_monitor_progress(&s.mon, s.p.transport.max_steps, stdout);
    gpa_timer_start(&s.timers, GPA_T_IO);
    rc = gpa_comm_agree(comm, gpa_output_step(&out, &s));
    gpa_timer_stop(&s.timers, GPA_T_IO);
    if (rc) break;
  }
  if (rc) {
    gpa_runfile_close(&out, 0);
    gpa_solver_destroy(&s);
    return rc;
  }
  if (reason) snprintf(status, sizeof status, "completed: %s", reason);

  /* theta must be the same on every rank: a broken invariant is a bug, not a user error. */
  int same = 0;
  GPA_CHECK(gpa_comm_identical(comm, s.disc.theta, sizeof(double) * (size_t)s.disc.net.n_params,
                               &same));
  if (!same) rc = GPA_ERROR(GPA_ERR_INTERNAL, "theta differs across ranks");

  gpa_timer_start(&s.timers, GPA_T_IO);
  int wrc = gpa_comm_agree(comm, gpa_output_end(&out, &s, status));
  gpa_timer_stop(&s.timers, GPA_T_IO);
  gpa_timer_stop(&s.timers, GPA_T_TOTAL);
  if (wrc) {
    gpa_runfile_close(&out, 0);
    gpa_solver_destroy(&s);
    return wrc;
  }
  if (!cli->quiet) {
    double wall = MPI_Wtime() - t0;
    if (rank == 0)
      printf("%s after %lld steps in %.3f s (%.1f steps/s); wrote %s\n", status,
             (long long)s.step, wall, wall > 0 ? (double)s.step / wall : 0.0, s.p.output.file);
    gpa_timers_report(comm, &s.timers, stdout);
  }
  gpa_solver_destroy(&s);
  if (rc == GPA_OK && !strncmp(status, "diverged", 8))
    rc = GPA_ERROR(GPA_ERR_DIVERGED, "%s", status);
  return rc;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
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
      rc = cmd_run(comm, &cli);
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
