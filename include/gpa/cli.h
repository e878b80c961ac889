/* The command line: `gpa COMMAND [options]`, and loading a deck on every rank. */
#ifndef GPA_CLI_H
#define GPA_CLI_H

#include <mpi.h>
#include <stdio.h>

#include "gpa/config.h"

enum { GPA_CLI_MAX_OVERRIDES = 128 };

struct gpa_cli {
  const char *command;  /* run, integrate, transport, sample, metrics, reference, version, help */
  const char *deck;     /* deck path */
  const char *overrides[GPA_CLI_MAX_OVERRIDES];
  int n_overrides;
  const char *output;   /* --output FILE */
  const char *restart;  /* --restart CHECKPOINT */
  const char *report;   /* --report FILE.json (integrate) */
  const char *field;    /* --field RUN.h5 (transport, sample) */
  const char *input;    /* --input FILE.h5:/dataset (transport) */
  const char *labels;   /* --labels FILE.h5:/dataset (transport through a conditional field) */
  long long n;          /* --n K (sample) */
  long long seed;       /* --seed S (sample); -1: the run's */
  const char *sets[2];  /* metrics: the two sample sets */
  int n_sets;
  double blur, scaling; /* metrics: Sinkhorn settings */
  int argc;             /* the command line, for the restart command */
  char **argv;
  int dry_run;
  int quiet;
  int overwrite;        /* --overwrite: replace the files of an earlier run */
};

/* Parses argv; GPA_ERR_USAGE with a message on bad syntax. */
int gpa_cli_parse(int argc, char **argv, struct gpa_cli *cli);
void gpa_cli_usage(FILE *out);
/* Collective: rank 0 reads the deck file (at most GPA_DECK_MAX_BYTES) and broadcasts it; every
 * rank parses it, applies the -P overrides and --output, refuses sections that are not for
 * cli->command, validates, and checks that the deck's arrays can fit in the memory of the
 * smallest node, so all ranks fail together. */
int gpa_cli_load_deck(MPI_Comm comm, const struct gpa_cli *cli, struct gpa_deck *deck);

#endif
