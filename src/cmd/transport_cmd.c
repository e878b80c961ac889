/* `gpa transport` and `gpa sample`: call gpa_transport (transport.h). */
#include "cmd.h"
#include "gpa/error.h"
#include "gpa/transport.h"

/* What both need: the run file and the output. */
static int check_files(const struct gpa_cli *cli) {
  if (!cli->field || !cli->output)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa %s needs --field RUN.h5 and --output FILE",
                     cli->command->name);
  return GPA_OK;
}

int gpa_cmd_transport(MPI_Comm comm, const struct gpa_cli *cli) {
  GPA_CHECK(check_files(cli));
  if (!cli->input)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa transport needs --input FILE.h5[:/dataset]");
  const struct gpa_transport_opts opts = {.field = cli->field,
                                          .output = cli->output,
                                          .input = cli->input,
                                          .labels = cli->labels,
                                          .seed = -1,
                                          .quiet = cli->quiet};
  return gpa_transport(comm, &opts);
}

int gpa_cmd_sample(MPI_Comm comm, const struct gpa_cli *cli) {
  GPA_CHECK(check_files(cli));
  if (cli->n < 1) return GPA_ERROR(GPA_ERR_USAGE, "gpa sample needs --n K");
  const struct gpa_transport_opts opts = {.field = cli->field,
                                          .output = cli->output,
                                          .n = cli->n,
                                          .seed = cli->seed,
                                          .quiet = cli->quiet};
  return gpa_transport(comm, &opts);
}
