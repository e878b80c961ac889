/* The commands of the gpa executable.  Each turns the parsed command line into the options of
 * one library job (run.h, integrate.h, transport.h, metrics.h) and calls it; main() dispatches
 * to them through its command table (cli.h) and turns their status into the exit code.  Every
 * one is collective over the world's duplicate communicator. */
#ifndef GPA_CMD_H
#define GPA_CMD_H

#include <mpi.h>

#include "cli.h"

/* gpa run DECK.yml: a run, fresh or from --restart. */
int gpa_cmd_run(MPI_Comm comm, const struct gpa_cli *cli);
/* gpa integrate DECK.yml. */
int gpa_cmd_integrate(MPI_Comm comm, const struct gpa_cli *cli);
/* gpa transport --field RUN.h5 --input IN.h5[:/dataset] --output OUT.h5. */
int gpa_cmd_transport(MPI_Comm comm, const struct gpa_cli *cli);
/* gpa sample --field RUN.h5 --n K --output OUT.h5. */
int gpa_cmd_sample(MPI_Comm comm, const struct gpa_cli *cli);
/* gpa metrics A.h5[:/dataset] B.h5[:/dataset]: distances between two sample sets. */
int gpa_cmd_metrics(MPI_Comm comm, const struct gpa_cli *cli);

#endif
