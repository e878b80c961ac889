/* `gpa metrics A.h5[:/dataset] B.h5[:/dataset]`: calls gpa_metrics (metrics.h). */
#include <string.h>

#include "cmd.h"
#include "gpa/error.h"
#include "gpa/metrics.h"

/* --only sinkhorn,energy,mmd,w2 -> GPA_METRIC_* bits (all without --only). */
static int parse_only(const char *list, unsigned *which) {
  static const char *const names[] = {"sinkhorn", "energy", "mmd", "w2"};
  *which = list ? 0 : GPA_METRIC_ALL;
  for (const char *p = list; p && *p;) {
    size_t len = strcspn(p, ",");
    unsigned bit = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
      if (strlen(names[i]) == len && !strncmp(p, names[i], len)) bit = 1u << i;
    if (!bit)
      return GPA_ERROR(GPA_ERR_USAGE, "--only: '%.*s' is not sinkhorn, energy, mmd or w2", (int)len,
                       p);
    *which |= bit;
    p += len + (p[len] == ',');
  }
  if (!*which) return GPA_ERROR(GPA_ERR_USAGE, "--only: no metric named");
  return GPA_OK;
}

int gpa_cmd_metrics(MPI_Comm comm, const struct gpa_cli *cli) {
  if (cli->n_args != 2)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa metrics needs two sets: A.h5[:/dataset] B.h5[:/dataset]");
  struct gpa_metrics_opts opts = {cli->args[0], cli->args[1], cli->blur, cli->scaling, 0,
                                  cli->json};
  GPA_CHECK(parse_only(cli->only, &opts.which));
  return gpa_metrics(comm, &opts);
}
