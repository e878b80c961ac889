/* gpa: the Lipschitz-regularized generative particle algorithm.
 *
 * main() owns MPI_COMM_WORLD (duplicated once), parses the command line against the command
 * table, dispatches to the command (cmd.h) and turns its status into the exit code. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "gpa/comm.h"
#include "gpa/io.h"
#include "gpa_config.h"
#include "version.h"

static int cmd_reference(MPI_Comm comm, const struct gpa_cli *cli);
static int cmd_version(MPI_Comm comm, const struct gpa_cli *cli);
static int cmd_help(MPI_Comm comm, const struct gpa_cli *cli);

/* Every command: parsing, the usage and dispatch read this table (cli.h). */
static const struct gpa_command commands[] = {
    {"run", 1, 1,
     GPA_OPT_SET | GPA_OPT_OUTPUT | GPA_OPT_RESTART | GPA_OPT_DRY_RUN | GPA_OPT_QUIET |
         GPA_OPT_OVERWRITE,
     "DECK.yml [-P section.key=value ...] [--output FILE] [--restart CKPT.h5]\n"
     "[--dry-run] [--quiet] [--overwrite]",
     "move particles towards a target distribution (ALGORITHM.md)", gpa_cmd_run},
    {"integrate", 1, 1,
     GPA_OPT_SET | GPA_OPT_OUTPUT | GPA_OPT_REPORT | GPA_OPT_DRY_RUN | GPA_OPT_QUIET |
         GPA_OPT_OVERWRITE,
     "DECK.yml [-P section.key=value ...] [--output FILE.h5]\n"
     "[--report FILE.json] [--overwrite]",
     "transport one data set onto another", gpa_cmd_integrate},
    {"transport", 0, 0,
     GPA_OPT_FIELD | GPA_OPT_INPUT | GPA_OPT_OUTPUT | GPA_OPT_LABELS | GPA_OPT_QUIET |
         GPA_OPT_OVERWRITE,
     "--field RUN.h5 --input IN.h5[:/dataset] --output OUT.h5\n"
     "[--labels IN.h5[:/labels]] [--overwrite]",
     "move new points through a run's learned vector field\n"
     "(the points' classes for a class-conditional field)",
     gpa_cmd_transport},
    {"sample", 0, 0,
     GPA_OPT_FIELD | GPA_OPT_N | GPA_OPT_OUTPUT | GPA_OPT_SEED | GPA_OPT_QUIET | GPA_OPT_OVERWRITE,
     "--field RUN.h5 --n K --output OUT.h5 [--seed S] [--overwrite]",
     "draw K new source particles and move them likewise", gpa_cmd_sample},
    {"metrics", 0, 2, GPA_OPT_BLUR | GPA_OPT_SCALING | GPA_OPT_ONLY | GPA_OPT_JSON,
     "A.h5[:/dataset] B.h5[:/dataset] [--blur 0.05] [--scaling 0.5]\n"
     "[--only sinkhorn,energy,mmd,w2] [--json]",
     "Sinkhorn divergence, energy distance, MMD, exact W2\n"
     "(--json: one JSON object, every figure to full precision)",
     gpa_cmd_metrics},
    {"reference", 0, 0, 0, "", "print every deck key with its default and documentation",
     cmd_reference},
    {"version", 0, 0, 0, "", "print the version", cmd_version},
    {"help", 0, 0, 0, "", "print this usage", cmd_help},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static int cmd_reference(MPI_Comm comm, const struct gpa_cli *cli) {
  (void)cli;
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  return rank == 0 ? gpa_params_reference(stdout) : GPA_OK;
}

static int cmd_version(MPI_Comm comm, const struct gpa_cli *cli) {
  (void)cli;
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) printf("gpa %s (%s)\n", GPA_VERSION, GPA_GIT_REVISION);
  return GPA_OK;
}

static int cmd_help(MPI_Comm comm, const struct gpa_cli *cli) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) gpa_cli_usage(cli->commands, stdout);
  return GPA_OK;
}

/* The world's duplicate, with MPI errors returned (and reported) rather than fatal. */
static int start(MPI_Comm *comm, int *rank) {
  MPI_Comm world = MPI_COMM_WORLD;
  GPA_MPI(MPI_Comm_set_errhandler(world, MPI_ERRORS_RETURN));
  GPA_MPI(MPI_Comm_dup(world, comm));
  GPA_MPI(MPI_Comm_rank(*comm, rank));
  gpa_io_setup();
  return gpa_comm_setup(*comm);
}

/* HDF5 shuts down while MPI still works: a file whose close failed (a full disk) is then
 * released here, not inside MPI_Finalize, where its MPI-IO handle is already gone. */
static int finish(MPI_Comm *comm) {
  gpa_comm_teardown();
  H5close();
  if (*comm != MPI_COMM_NULL) GPA_MPI(MPI_Comm_free(comm));
  return GPA_OK;
}

/* Rank 0 prints the error of a failed status. */
static void report(int rank, int rc) {
  if (rc != GPA_OK && rank == 0) {
    fprintf(stderr, "error: %s%s\n", gpa_error_message(),
            rc == GPA_ERR_USAGE ? " (gpa help shows the usage)" : "");
    if (getenv("GPA_DEBUG")) fprintf(stderr, "  at %s\n", gpa_error_trace_text());
  }
}

int main(int argc, char **argv) {
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
    fputs("error: MPI: MPI_Init failed\n", stderr);
    return GPA_ERR_LIB;
  }
  const double started = MPI_Wtime();
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, rc;
  struct gpa_cli cli;
  GPA_CHECK_GOTO(rc, start(&comm, &rank), done);
  GPA_CHECK_GOTO(rc, gpa_cli_parse(commands, argc, argv, &cli), done);
  cli.started = started;
  GPA_CHECK_GOTO(rc, cli.command->fn(comm, &cli), done);
done:
  report(rank, rc);
  int end = finish(&comm);
  if (end != GPA_OK && rc == GPA_OK) { /* the command succeeded, the cleanup failed */
    rc = end;
    report(rank, rc);
  }
  if (MPI_Finalize() != MPI_SUCCESS && rc == GPA_OK) {
    if (rank == 0) fputs("error: MPI: MPI_Finalize failed\n", stderr);
    rc = GPA_ERR_LIB;
  }
  return rc;
}
