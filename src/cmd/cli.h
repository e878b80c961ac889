/* The command line: `gpa COMMAND [options] [arguments]`.
 *
 * One table of commands (main.c) drives parsing, the usage and dispatch; the options are
 * parsed by getopt_long, and each command's row says which of them it takes.  Parsing is the
 * same on every rank and needs no communication; loading a deck is collective. */
#ifndef GPA_CMD_CLI_H
#define GPA_CMD_CLI_H

#include <mpi.h>
#include <stdio.h>

#include "gpa/config.h"

enum { GPA_CLI_MAX_OVERRIDES = 128, GPA_CLI_MAX_ARGS = 2 };

/* The options, as bits of gpa_command.options. */
enum gpa_cli_option {
  GPA_OPT_SET = 1 << 0,        /* -P, --set section.key=value (repeated) */
  GPA_OPT_OUTPUT = 1 << 1,     /* -o, --output FILE */
  GPA_OPT_REPORT = 1 << 2,     /* --report FILE.json */
  GPA_OPT_RESTART = 1 << 3,    /* --restart CHECKPOINT */
  GPA_OPT_FIELD = 1 << 4,      /* --field RUN.h5 */
  GPA_OPT_INPUT = 1 << 5,      /* --input FILE.h5[:/dataset] */
  GPA_OPT_LABELS = 1 << 6,     /* --labels FILE.h5[:/dataset] */
  GPA_OPT_N = 1 << 7,          /* --n K */
  GPA_OPT_SEED = 1 << 8,       /* --seed S */
  GPA_OPT_BLUR = 1 << 9,       /* --blur B */
  GPA_OPT_SCALING = 1 << 10,   /* --scaling S */
  GPA_OPT_DRY_RUN = 1 << 11,   /* --dry-run */
  GPA_OPT_QUIET = 1 << 12,     /* -q, --quiet */
  GPA_OPT_OVERWRITE = 1 << 13, /* --overwrite */
  GPA_OPT_ONLY = 1 << 14,      /* --only sinkhorn,energy,mmd,w2 */
  GPA_OPT_JSON = 1 << 15,      /* --json */
};

struct gpa_cli;

/* One row of the command table; the table ends with a row whose name is NULL. */
struct gpa_command {
  const char *name;
  int needs_deck;      /* its one positional argument is DECK.yml, which it needs */
  int max_args;        /* positional arguments it takes (at most GPA_CLI_MAX_ARGS) */
  unsigned options;    /* the gpa_cli_option bits of the options it takes */
  const char *usage;   /* what follows `gpa NAME` in the usage, lines joined by '\n' */
  const char *summary; /* what it does, lines joined by '\n' */
  int (*fn)(MPI_Comm comm, const struct gpa_cli *cli); /* collective; a gpa_status */
};

struct gpa_cli {
  const struct gpa_command *command;
  const struct gpa_command *commands; /* the whole table */
  const char *args[GPA_CLI_MAX_ARGS]; /* positional arguments */
  int n_args;
  const char *deck; /* args[0] of a command that needs a deck, else NULL */
  const char *overrides[GPA_CLI_MAX_OVERRIDES]; /* -P section.key=value */
  int n_overrides;
  const char *output;   /* --output FILE */
  const char *restart;  /* --restart CHECKPOINT */
  const char *report;   /* --report FILE.json */
  const char *field;    /* --field RUN.h5 */
  const char *input;    /* --input FILE.h5[:/dataset] */
  const char *labels;   /* --labels FILE.h5[:/dataset] */
  long long n;          /* --n K (>= 1; 0: not given) */
  long long seed;       /* --seed S (>= 0; -1: not given) */
  double blur, scaling; /* --blur, --scaling (defaults 0.05, 0.5) */
  const char *only;     /* --only LIST */
  int dry_run, quiet, overwrite, json;
  int argc; /* the command line as given, for the command that continues a run */
  char **argv;
  double started; /* MPI_Wtime() at program start */
};

/* Parses argv against `commands`: the command (`--help`/`-h` and `--version` name help and
 * version), the options it takes, its positional arguments.  GPA_ERR_USAGE with a message on
 * bad syntax.  argv is not reordered. */
int gpa_cli_parse(const struct gpa_command *commands, int argc, char **argv, struct gpa_cli *cli);
/* The usage: every command of the table with its options and what it does. */
void gpa_cli_usage(const struct gpa_command *commands, FILE *out);
/* Collective: rank 0 reads the deck file (at most GPA_DECK_MAX_BYTES) and broadcasts it; every
 * rank parses it, applies the -P overrides and --output, refuses sections that are not for
 * the command, validates, and checks that the deck's arrays can fit in the memory of the
 * smallest node, so all ranks fail together.  Rank 0 prints the deck's warnings on stderr. */
int gpa_cli_load_deck(MPI_Comm comm, const struct gpa_cli *cli, struct gpa_deck *deck);

#endif
