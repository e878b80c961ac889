/* The command line: `gpa COMMAND [options]`, and loading a deck on every rank. */
#ifndef GPA_CLI_H
#define GPA_CLI_H

#include <mpi.h>
#include <stdio.h>

#include "gpa/config.h"

enum { GPA_CLI_MAX_OVERRIDES = 128 };

struct gpa_cli {
  const char *command;  /* run, reference, version, help */
  const char *deck;     /* deck path */
  const char *overrides[GPA_CLI_MAX_OVERRIDES];
  int n_overrides;
  const char *output;   /* --output FILE */
  int dry_run;
  int quiet;
};

/* Parses argv; GPA_ERR_USAGE with a message on bad syntax. */
int gpa_cli_parse(int argc, char **argv, struct gpa_cli *cli);
void gpa_cli_usage(FILE *out);
/* Collective: rank 0 reads the deck file and broadcasts it; every rank parses it, applies the
 * -P overrides and --output, and validates, so all ranks fail together. */
int gpa_cli_load_deck(MPI_Comm comm, const struct gpa_cli *cli, struct gpa_deck *deck);

#endif
