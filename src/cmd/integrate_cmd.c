/* `gpa integrate DECK.yml`: loads the deck and calls gpa_integrate (integrate.h). */
#include <stdio.h>

#include "cmd.h"
#include "gpa/comm.h"
#include "gpa/integrate.h"

int gpa_cmd_integrate(MPI_Comm comm, const struct gpa_cli *cli) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  struct gpa_deck deck;
  GPA_CHECK(gpa_cli_load_deck(comm, cli, &deck));
  if (!deck.p.integrate.source_file[0])
    return GPA_ERROR(GPA_ERR_INPUT, "%s: integrate.source_file: gpa integrate needs a data file",
                     cli->deck);
  if (cli->dry_run) {
    if (rank == 0) gpa_params_dump(stdout, &deck.p);
    return GPA_OK;
  }
  const struct gpa_integrate_opts opts = {cli->deck, cli->report, cli->quiet};
  return gpa_integrate(comm, &deck, &opts);
}
