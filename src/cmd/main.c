/* gpa: the Lipschitz-regularized generative particle algorithm.
 *
 * main() owns MPI_COMM_WORLD (duplicated once), dispatches to the command (cmd.h) and turns
 * its status into the exit code. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gpa/comm.h"
#include "gpa/io.h"
#include "gpa/linalg.h"
#include "gpa_config.h"
#include "version.h"

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
      rc = gpa_cmd_run(comm, &cli, started);
    } else if (!strcmp(cli.command, "transport") || !strcmp(cli.command, "sample")) {
      rc = gpa_cmd_replay(comm, &cli); /* BLIS set up as the run's */
    } else if (!strcmp(cli.command, "integrate")) {
      rc = gpa_cmd_integrate(comm, &cli);
    } else if (!strcmp(cli.command, "metrics")) {
      gpa_linalg_setup(1, 0);
      rc = gpa_cmd_metrics(comm, &cli);
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
  /* HDF5 shuts down while MPI still works: a file whose close failed (a full disk) is then
   * released here, not inside MPI_Finalize, where its MPI-IO handle is already gone. */
  H5close();
  MPI_Comm_free(&comm);
  MPI_Finalize();
  return rc;
}
