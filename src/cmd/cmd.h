/* The commands of the gpa executable.  Each takes the world's duplicate communicator and the
 * parsed command line, loads what it needs and calls the library; main() dispatches to them
 * and turns their status into the exit code.  Everything here is collective. */
#ifndef GPA_CMD_H
#define GPA_CMD_H

#include <mpi.h>

#include "gpa/cli.h"

/* gpa run DECK.yml: a run, fresh or from --restart. */
int gpa_cmd_run(MPI_Comm comm, const struct gpa_cli *cli, double started);
/* gpa integrate DECK.yml. */
int gpa_cmd_integrate(MPI_Comm comm, const struct gpa_cli *cli);
/* gpa transport / gpa sample: points moved through a run's stored field. */
int gpa_cmd_replay(MPI_Comm comm, const struct gpa_cli *cli);
/* gpa metrics A.h5[:/dataset] B.h5[:/dataset]: distances between two sample sets. */
int gpa_cmd_metrics(MPI_Comm comm, const struct gpa_cli *cli);

#endif
