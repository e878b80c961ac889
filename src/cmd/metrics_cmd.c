/* `gpa metrics A.h5[:/dataset] B.h5[:/dataset]`: calls gpa_metrics (metrics.h). */
#include "cmd.h"
#include "gpa/error.h"
#include "gpa/metrics.h"

int gpa_cmd_metrics(MPI_Comm comm, const struct gpa_cli *cli) {
  if (cli->n_args != 2)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa metrics needs two sets: A.h5[:/dataset] B.h5[:/dataset]");
  const struct gpa_metrics_opts opts = {cli->args[0], cli->args[1], cli->blur, cli->scaling};
  return gpa_metrics(comm, &opts);
}
