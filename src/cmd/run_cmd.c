/* `gpa run DECK.yml [--restart CKPT]`: loads the deck and calls gpa_run (run.h). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "gpa/run.h"

/* The command that continues the run: this one with --restart CHECKPOINT. */
static void print_restart_command(const void *ctx, int ranks, const char *ckpt) {
  const struct gpa_cli *cli = ctx;
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

int gpa_cmd_run(MPI_Comm comm, const struct gpa_cli *cli) {
  struct gpa_deck deck;
  GPA_CHECK(gpa_cli_load_deck(comm, cli, &deck));
  const struct gpa_run_opts opts = {
      .deck_path = cli->deck,
      .restart = cli->restart,
      .dry_run = cli->dry_run,
      .quiet = cli->quiet,
      .overwrite = cli->overwrite,
      .started = cli->started,
      .print_continue = print_restart_command,
      .ctx = cli,
  };
  return gpa_run(comm, &deck, &opts);
}
