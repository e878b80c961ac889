/* The command line (cli.h): getopt_long over one option table, the command table's rows. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpa/comm.h"

/* Every option: its long name, its letter (0: none), its bit, and what its value is called in
 * "--output needs a file name" (NULL: it takes no value). */
static const struct cli_option {
  const char *name;
  char letter;
  unsigned bit;
  const char *value;
} options[] = {
    {"set", 'P', GPA_OPT_SET, "section.key=value"},
    {"output", 'o', GPA_OPT_OUTPUT, "a file name"},
    {"report", 0, GPA_OPT_REPORT, "a file name"},
    {"restart", 0, GPA_OPT_RESTART, "a checkpoint file"},
    {"field", 0, GPA_OPT_FIELD, "a value"},
    {"input", 0, GPA_OPT_INPUT, "a value"},
    {"labels", 0, GPA_OPT_LABELS, "a value"},
    {"n", 0, GPA_OPT_N, "a value"},
    {"seed", 0, GPA_OPT_SEED, "a value"},
    {"blur", 0, GPA_OPT_BLUR, "a value"},
    {"scaling", 0, GPA_OPT_SCALING, "a value"},
    {"dry-run", 0, GPA_OPT_DRY_RUN, NULL},
    {"quiet", 'q', GPA_OPT_QUIET, NULL},
    {"overwrite", 0, GPA_OPT_OVERWRITE, NULL},
    {"only", 0, GPA_OPT_ONLY, "a list of metrics"},
    {"json", 0, GPA_OPT_JSON, NULL},
};
enum {
  N_OPTIONS = sizeof options / sizeof options[0],
  LONG_ONLY = 256, /* getopt's code of options[i] without a letter: LONG_ONLY + i */
  USAGE_INDENT = 26,
};

static int option_code(int i) { return options[i].letter ? options[i].letter : LONG_ONLY + i; }

static const struct cli_option *option_of(int code) {
  for (int i = 0; i < N_OPTIONS; i++)
    if (option_code(i) == code) return &options[i];
  return NULL;
}

/* getopt_long's tables: "-" returns the arguments in order (argv is not reordered), ":"
 * reports a missing value apart from an unknown option. */
static void getopt_tables(struct option *longopts, char *letters) {
  *letters++ = '-';
  *letters++ = ':';
  for (int i = 0; i < N_OPTIONS; i++) {
    longopts[i] = (struct option){
        options[i].name, options[i].value ? required_argument : no_argument, NULL, option_code(i)};
    if (!options[i].letter) continue;
    *letters++ = options[i].letter;
    if (options[i].value) *letters++ = ':';
  }
  longopts[N_OPTIONS] = (struct option){NULL, 0, NULL, 0};
  *letters = '\0';
}

/* "--NAME is for gpa run, integrate and sample": the commands whose row has `bit`. */
static int not_for(const struct gpa_command *commands, unsigned bit, const char *spelled) {
  char list[256] = "";
  int total = 0, n = 0;
  for (const struct gpa_command *c = commands; c->name; c++) total += (c->options & bit) != 0;
  for (const struct gpa_command *c = commands; c->name; c++) {
    if (!(c->options & bit)) continue;
    const char *sep = n == 0 ? "" : n == total - 1 ? " and " : ", ";
    size_t len = strlen(list);
    snprintf(list + len, sizeof list - len, "%s%s", sep, c->name);
    n++;
  }
  return GPA_ERROR(GPA_ERR_USAGE, "%s is for gpa %s", spelled, list);
}

static int parse_count(const char *spelled, const char *v, long long min, long long *out) {
  char *end;
  long long k = strtoll(v, &end, 10);
  if (*end || k < min)
    return GPA_ERROR(GPA_ERR_USAGE, "%s: '%s' is not a %s integer", spelled, v,
                     min > 0 ? "positive" : "non-negative");
  *out = k;
  return GPA_OK;
}

/* A number > 0 (and < 1 with below_one). */
static int parse_positive(const char *spelled, const char *v, int below_one, double *out) {
  char *end;
  double x = strtod(v, &end);
  if (*end || !(x > 0) || (below_one && x >= 1))
    return GPA_ERROR(GPA_ERR_USAGE, "%s: '%s' is out of range", spelled, v);
  *out = x;
  return GPA_OK;
}

/* Option `o`, written `spelled` ("-o" or "--output"), with value v (NULL for a flag). */
static int set_option(struct gpa_cli *cli, const struct cli_option *o, const char *spelled,
                      const char *v) {
  if (!(cli->command->options & o->bit)) return not_for(cli->commands, o->bit, spelled);
  switch ((enum gpa_cli_option)o->bit) {
    case GPA_OPT_SET:
      if (cli->n_overrides == GPA_CLI_MAX_OVERRIDES)
        return GPA_ERROR(GPA_ERR_USAGE, "too many -P overrides");
      cli->overrides[cli->n_overrides++] = v;
      return GPA_OK;
    case GPA_OPT_OUTPUT:
      cli->output = v;
      return GPA_OK;
    case GPA_OPT_REPORT:
      cli->report = v;
      return GPA_OK;
    case GPA_OPT_RESTART:
      cli->restart = v;
      return GPA_OK;
    case GPA_OPT_FIELD:
      cli->field = v;
      return GPA_OK;
    case GPA_OPT_INPUT:
      cli->input = v;
      return GPA_OK;
    case GPA_OPT_LABELS:
      cli->labels = v;
      return GPA_OK;
    case GPA_OPT_N:
      return parse_count(spelled, v, 1, &cli->n);
    case GPA_OPT_SEED:
      return parse_count(spelled, v, 0, &cli->seed);
    case GPA_OPT_BLUR:
      return parse_positive(spelled, v, 0, &cli->blur);
    case GPA_OPT_SCALING:
      return parse_positive(spelled, v, 1, &cli->scaling);
    case GPA_OPT_DRY_RUN:
      cli->dry_run = 1;
      return GPA_OK;
    case GPA_OPT_QUIET:
      cli->quiet = 1;
      return GPA_OK;
    case GPA_OPT_OVERWRITE:
      cli->overwrite = 1;
      return GPA_OK;
    case GPA_OPT_ONLY:
      cli->only = v;
      return GPA_OK;
    case GPA_OPT_JSON:
      cli->json = 1;
      return GPA_OK;
  }
  return GPA_ERROR(GPA_ERR_INTERNAL, "option %s has no setter", spelled);
}

static int add_argument(struct gpa_cli *cli, const char *a) {
  if (cli->n_args == cli->command->max_args)
    return GPA_ERROR(GPA_ERR_USAGE, "unexpected argument '%s'", a);
  cli->args[cli->n_args++] = a;
  return GPA_OK;
}

/* The options and arguments after the command (argv[0] is the command).  An option is named
 * in messages as written: "--output" (or the long option's element as typed), "-o". */
static int parse_options(int argc, char **argv, struct gpa_cli *cli) {
  struct option longopts[N_OPTIONS + 1];
  char letters[2 + 2 * N_OPTIONS + 1], spelled[64];
  getopt_tables(longopts, letters);
  opterr = 0; /* the messages are ours */
  optind = 0; /* start afresh */
  for (;;) {
    int before = optind, longindex = -1;
    int c = getopt_long(argc, argv, letters, longopts, &longindex);
    if (c == -1) break;
    if (c == 1) { /* an argument */
      GPA_CHECK(add_argument(cli, optarg));
      continue;
    }
    if (c == ':' || c == '?') { /* a long option as typed, a letter alone */
      const char *typed = optind > before ? argv[optind - 1] : "";
      snprintf(spelled, sizeof spelled, "-%c", optopt);
      const char *name = strncmp(typed, "--", 2) == 0 ? typed : spelled;
      if (c == '?') return GPA_ERROR(GPA_ERR_USAGE, "unknown option '%s'", name);
      return GPA_ERROR(GPA_ERR_USAGE, "%s needs %s", name, option_of(optopt)->value);
    }
    const struct cli_option *o = option_of(c);
    if (longindex >= 0) snprintf(spelled, sizeof spelled, "--%s", o->name);
    else snprintf(spelled, sizeof spelled, "-%c", c);
    GPA_CHECK(set_option(cli, o, spelled, optarg));
  }
  for (; optind < argc; optind++) GPA_CHECK(add_argument(cli, argv[optind])); /* after -- */
  return GPA_OK;
}

static int find_command(const struct gpa_command *commands, const char *name,
                        const struct gpa_command **command) {
  if (!strcmp(name, "--help") || !strcmp(name, "-h")) name = "help";
  if (!strcmp(name, "--version")) name = "version";
  for (const struct gpa_command *c = commands; c->name; c++) {
    if (strcmp(c->name, name) != 0) continue;
    *command = c;
    return GPA_OK;
  }
  return GPA_ERROR(GPA_ERR_USAGE, "unknown command '%s'", name);
}

int gpa_cli_parse(const struct gpa_command *commands, int argc, char **argv, struct gpa_cli *cli) {
  memset(cli, 0, sizeof *cli);
  cli->commands = commands;
  cli->argc = argc;
  cli->argv = argv;
  cli->seed = -1;
  cli->blur = 0.05;
  cli->scaling = 0.5;
  if (argc < 2) return GPA_ERROR(GPA_ERR_USAGE, "no command given (try: gpa run DECK.yml)");
  GPA_CHECK(find_command(commands, argv[1], &cli->command));
  GPA_CHECK(parse_options(argc - 1, argv + 1, cli));
  if (!cli->command->needs_deck) return GPA_OK;
  if (cli->n_args == 0)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa %s needs a deck file", cli->command->name);
  cli->deck = cli->args[0];
  return GPA_OK;
}

/* Writes `text` line by line: the first line where the cursor is, the others indented. */
static void put_lines(FILE *out, const char *text) {
  for (const char *s = text;;) {
    const char *nl = strchr(s, '\n');
    fprintf(out, "%.*s\n", nl ? (int)(nl - s) : (int)strlen(s), s);
    if (!nl) return;
    s = nl + 1;
    fprintf(out, "%*s", USAGE_INDENT, "");
  }
}

void gpa_cli_usage(const struct gpa_command *commands, FILE *out) {
  for (const struct gpa_command *c = commands; c->name; c++) {
    char head[64];
    snprintf(head, sizeof head, "%sgpa %s", c == commands ? "usage: " : "       ", c->name);
    if (c->usage[0]) {
      fprintf(out, "%s ", head);
      put_lines(out, c->usage);
      fprintf(out, "%*s", USAGE_INDENT, "");
    } else {
      fprintf(out, "%-*s", USAGE_INDENT, head);
    }
    put_lines(out, c->summary);
  }
  fputs("\n  --overwrite   replace the files of an earlier run (", out);
  int n = 0;
  for (const struct gpa_command *c = commands; c->name; c++)
    if (c->options & GPA_OPT_OVERWRITE) fprintf(out, "%s%s", n++ ? ", " : "", c->name);
  fputs(
      ")\n"
      "\n"
      "gpa moves particles (samples of a source distribution) towards a target data set with\n"
      "the Lipschitz-regularized generative particle algorithm.  Run it under mpirun for\n"
      "several ranks: mpirun -n 4 gpa run deck.yml\n",
      out);
}

/* Rank 0: reads the deck file sequentially (so a pipe works too), at most one byte more than a
 * deck may hold, into a new buffer *buf; returns 0 or an errno value. */
static int read_file(const char *path, char **buf, long long *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno;
  struct stat st;
  int err = 0;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) err = EISDIR;
  if (!err && gpa_alloc(buf, (size_t)GPA_DECK_MAX_BYTES + 2) != GPA_OK) {
    gpa_error_clear();
    err = ENOMEM;
  }
  if (!err) {
    errno = 0;
    *size = (long long)fread(*buf, 1, (size_t)GPA_DECK_MAX_BYTES + 1, f);
    if (ferror(f)) err = errno ? errno : EIO;
    else if (*size > GPA_DECK_MAX_BYTES) err = EFBIG;
  }
  fclose(f);
  return err;
}

static int deck_error(const char *path, int err) {
  if (err == EFBIG)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "cannot read deck '%s': larger than 1 MiB, the most a "
                     "deck may hold",
                     path);
  if (err == EISDIR)
    return GPA_ERROR(GPA_ERR_INPUT, "cannot read deck '%s': it is a directory", path);
  return GPA_ERROR(GPA_ERR_INPUT, "cannot read deck '%s': %s", path, strerror(err));
}

/* Rank 0 reads the file; everyone gets its bytes (or the error). */
static int read_broadcast(MPI_Comm comm, const char *path, char **text, size_t *len) {
  int rank, rc;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  char *buf = NULL;
  long long hdr[2] = {0, 0}; /* errno value, size */
  if (rank == 0) hdr[0] = read_file(path, &buf, &hdr[1]);
  GPA_CHECK_GOTO(rc, gpa_bcast_bytes(comm, hdr, sizeof hdr, 0), done);
  if (hdr[0]) {
    rc = deck_error(path, (int)hdr[0]);
    goto done;
  }
  rc = rank == 0 ? GPA_OK : gpa_alloc(&buf, (size_t)hdr[1] + 1);
  GPA_CHECK_GOTO(rc, gpa_comm_agree(comm, rc), done);
  GPA_CHECK_GOTO(rc, gpa_bcast_bytes(comm, buf, (size_t)hdr[1], 0), done);
  buf[hdr[1]] = '\0';
  *text = buf;
  *len = (size_t)hdr[1];
  buf = NULL;
done:
  gpa_free(&buf);
  return rc;
}

int gpa_cli_load_deck(MPI_Comm comm, const struct gpa_cli *cli, struct gpa_deck *deck) {
  GPA_CHECK(gpa_deck_init(deck));
  char *text = NULL;
  size_t len = 0;
  GPA_CHECK(read_broadcast(comm, cli->deck, &text, &len));
  int rc = gpa_deck_parse(deck, cli->deck, text, len);
  gpa_free(&text);
  GPA_CHECK(rc);
  for (int i = 0; i < cli->n_overrides; i++) GPA_CHECK(gpa_deck_override(deck, cli->overrides[i]));
  if (cli->output) {
    char assign[GPA_PATH_MAX + 16];
    snprintf(assign, sizeof assign, "output.file=%s", cli->output);
    GPA_CHECK(gpa_deck_override(deck, assign));
  }
  GPA_CHECK(gpa_deck_check_command(deck, cli->command->name));
  GPA_CHECK(gpa_deck_validate(deck));
  /* The smallest node's physical memory bounds what the deck may ask for. */
  int rank, ranks;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  GPA_MPI(MPI_Comm_size(comm, &ranks));
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  double node = pages > 0 && page > 0 ? (double)pages * (double)page : 1e300;
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, &node, 1, MPI_DOUBLE, MPI_MIN, comm));
  GPA_CHECK(gpa_deck_check_memory(deck, ranks, node));
  for (int i = 0; i < deck->n_warnings && rank == 0; i++)
    fprintf(stderr, "warning: %s\n", deck->warnings[i]);
  return GPA_OK;
}
