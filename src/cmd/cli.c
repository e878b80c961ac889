#include "gpa/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpa/comm.h"

void gpa_cli_usage(FILE *out) {
  fputs("usage: gpa run DECK.yml [-P section.key=value ...] [--output FILE] [--restart CKPT.h5]\n"
        "               [--dry-run] [--quiet] [--overwrite]\n"
        "       gpa integrate DECK.yml [-P section.key=value ...] [--output FILE.h5]\n"
        "                          [--report FILE.json] [--overwrite]\n"
        "                          transport one data set onto another\n"
        "       gpa transport --field RUN.h5 --input IN.h5[:/dataset] --output OUT.h5\n"
        "                          [--labels IN.h5[:/labels]] [--overwrite]\n"
        "                          move new points through a run's learned vector field\n"
        "                          (the points' classes for a class-conditional field)\n"
        "       gpa sample --field RUN.h5 --n K --output OUT.h5 [--seed S] [--overwrite]\n"
        "                          draw K new source particles and move them likewise\n"
        "       gpa metrics A.h5[:/dataset] B.h5[:/dataset] [--blur 0.05] [--scaling 0.5]\n"
        "                          Sinkhorn divergence, energy distance, MMD, exact W2\n"
        "       gpa reference      print every deck key with its default and documentation\n"
        "       gpa version        print the version\n"
        "\n"
        "  --overwrite   replace the files of an earlier run (run, integrate, transport, sample)\n"
        "\n"
        "gpa moves particles (samples of a source distribution) towards a target data set with\n"
        "the Lipschitz-regularized generative particle algorithm.  Run it under mpirun for\n"
        "several ranks: mpirun -n 4 gpa run deck.yml\n",
        out);
}

int gpa_cli_parse(int argc, char **argv, struct gpa_cli *cli) {
  memset(cli, 0, sizeof *cli);
  cli->argc = argc;
  cli->argv = argv;
  cli->seed = -1;
  cli->blur = 0.05;
  cli->scaling = 0.5;
  if (argc < 2) return GPA_ERROR(GPA_ERR_USAGE, "no command given (try: gpa run DECK.yml)");
  cli->command = argv[1];
  if (!strcmp(cli->command, "--help") || !strcmp(cli->command, "-h")) cli->command = "help";
  if (!strcmp(cli->command, "--version")) cli->command = "version";
  if (strcmp(cli->command, "run") && strcmp(cli->command, "reference") &&
      strcmp(cli->command, "version") && strcmp(cli->command, "help") &&
      strcmp(cli->command, "transport") && strcmp(cli->command, "sample") &&
      strcmp(cli->command, "metrics") && strcmp(cli->command, "integrate"))
    return GPA_ERROR(GPA_ERR_USAGE, "unknown command '%s'", cli->command);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-P") || !strcmp(a, "--set")) {
      if (i + 1 >= argc) return GPA_ERROR(GPA_ERR_USAGE, "%s needs section.key=value", a);
      if (cli->n_overrides == GPA_CLI_MAX_OVERRIDES)
        return GPA_ERROR(GPA_ERR_USAGE, "too many -P overrides");
      cli->overrides[cli->n_overrides++] = argv[++i];
    } else if (!strncmp(a, "-P", 2) && a[2]) {
      if (cli->n_overrides == GPA_CLI_MAX_OVERRIDES)
        return GPA_ERROR(GPA_ERR_USAGE, "too many -P overrides");
      cli->overrides[cli->n_overrides++] = a + 2;
    } else if (!strcmp(a, "--output") || !strcmp(a, "-o")) {
      if (i + 1 >= argc) return GPA_ERROR(GPA_ERR_USAGE, "%s needs a file name", a);
      cli->output = argv[++i];
    } else if (!strncmp(a, "--output=", 9)) {
      cli->output = a + 9;
    } else if (!strcmp(a, "--report")) {
      if (i + 1 >= argc) return GPA_ERROR(GPA_ERR_USAGE, "%s needs a file name", a);
      cli->report = argv[++i];
    } else if (!strcmp(a, "--restart")) {
      if (i + 1 >= argc) return GPA_ERROR(GPA_ERR_USAGE, "%s needs a checkpoint file", a);
      cli->restart = argv[++i];
    } else if (!strncmp(a, "--restart=", 10)) {
      cli->restart = a + 10;
    } else if (!strcmp(a, "--field") || !strcmp(a, "--input") || !strcmp(a, "--n") ||
               !strcmp(a, "--seed") || !strcmp(a, "--labels")) {
      if (i + 1 >= argc) return GPA_ERROR(GPA_ERR_USAGE, "%s needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--field")) cli->field = v;
      if (!strcmp(a, "--input")) cli->input = v;
      if (!strcmp(a, "--labels")) cli->labels = v;
      if (!strcmp(a, "--n") || !strcmp(a, "--seed")) {
        char *end;
        long long k = strtoll(v, &end, 10);
        if (*end || k < (strcmp(a, "--n") ? 0 : 1))
          return GPA_ERROR(GPA_ERR_USAGE, "%s: '%s' is not a %s integer", a, v,
                           strcmp(a, "--n") ? "non-negative" : "positive");
        if (!strcmp(a, "--n")) cli->n = k;
        else cli->seed = k;
      }
    } else if (!strcmp(a, "--blur") || !strcmp(a, "--scaling")) {
      if (i + 1 >= argc) return GPA_ERROR(GPA_ERR_USAGE, "%s needs a value", a);
      char *end;
      double v = strtod(argv[++i], &end);
      if (*end || !(v > 0) || (!strcmp(a, "--scaling") && v >= 1))
        return GPA_ERROR(GPA_ERR_USAGE, "%s: '%s' is out of range", a, argv[i]);
      if (!strcmp(a, "--blur")) cli->blur = v;
      else cli->scaling = v;
    } else if (!strcmp(a, "--dry-run")) {
      cli->dry_run = 1;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      cli->quiet = 1;
    } else if (!strcmp(a, "--overwrite")) {
      if (strcmp(cli->command, "run") && strcmp(cli->command, "integrate") &&
          strcmp(cli->command, "transport") && strcmp(cli->command, "sample"))
        return GPA_ERROR(GPA_ERR_USAGE,
                         "--overwrite is for gpa run, integrate, transport and sample");
      cli->overwrite = 1;
    } else if (a[0] == '-' && a[1]) {
      return GPA_ERROR(GPA_ERR_USAGE, "unknown option '%s'", a);
    } else if (!strcmp(cli->command, "metrics")) {
      if (cli->n_sets == 2) return GPA_ERROR(GPA_ERR_USAGE, "unexpected argument '%s'", a);
      cli->sets[cli->n_sets++] = a;
    } else if (!cli->deck) {
      cli->deck = a;
    } else {
      return GPA_ERROR(GPA_ERR_USAGE, "unexpected argument '%s'", a);
    }
  }
  if ((!strcmp(cli->command, "run") || !strcmp(cli->command, "integrate")) && !cli->deck)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa %s needs a deck file", cli->command);
  int replay = !strcmp(cli->command, "transport") || !strcmp(cli->command, "sample");
  if (replay && (!cli->field || !cli->output))
    return GPA_ERROR(GPA_ERR_USAGE, "gpa %s needs --field RUN.h5 and --output FILE", cli->command);
  if (!strcmp(cli->command, "transport") && !cli->input)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa transport needs --input FILE.h5[:/dataset]");
  if (!strcmp(cli->command, "sample") && cli->n < 1)
    return GPA_ERROR(GPA_ERR_USAGE, "gpa sample needs --n K");
  if (replay && cli->deck)
    return GPA_ERROR(GPA_ERR_USAGE, "unexpected argument '%s'", cli->deck);
  return GPA_OK;
}

/* Rank 0 reads the file (sequentially, so a pipe works too, and at most one byte more than a
 * deck may hold); everyone gets its bytes (or the error). */
static int read_broadcast(MPI_Comm comm, const char *path, char **text, size_t *len) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  long long size = 0;
  char *buf = NULL;
  int err = 0;
  if (rank == 0) {
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
      err = errno;
    } else {
      if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) err = EISDIR;
      if (!err && gpa_alloc(&buf, (size_t)GPA_DECK_MAX_BYTES + 2) != GPA_OK) {
        gpa_error_clear();
        err = ENOMEM;
      }
      if (!err) {
        errno = 0;
        size = (long long)fread(buf, 1, (size_t)GPA_DECK_MAX_BYTES + 1, f);
        if (ferror(f)) err = errno ? errno : EIO;
        else if (size > GPA_DECK_MAX_BYTES) err = EFBIG;
      }
      fclose(f);
    }
  }
  long long hdr[2] = {err, size};
  GPA_MPI(MPI_Bcast(hdr, 2, MPI_LONG_LONG, 0, comm));
  if (hdr[0]) {
    gpa_free(&buf);
    if (hdr[0] == EFBIG)
      return GPA_ERROR(GPA_ERR_INPUT, "cannot read deck '%s': larger than 1 MiB, the most a "
                       "deck may hold", path);
    if (hdr[0] == EISDIR)
      return GPA_ERROR(GPA_ERR_INPUT, "cannot read deck '%s': it is a directory", path);
    return GPA_ERROR(GPA_ERR_INPUT, "cannot read deck '%s': %s", path, strerror((int)hdr[0]));
  }
  if (rank != 0) GPA_CHECK(gpa_alloc(&buf, (size_t)hdr[1] + 1));
  GPA_MPI(MPI_Bcast(buf, (int)hdr[1], MPI_CHAR, 0, comm));
  buf[hdr[1]] = '\0';
  *text = buf;
  *len = (size_t)hdr[1];
  return GPA_OK;
}

int gpa_cli_load_deck(MPI_Comm comm, const struct gpa_cli *cli, struct gpa_deck *deck) {
  gpa_deck_init(deck);
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
  GPA_CHECK(gpa_deck_check_command(deck, cli->command));
  GPA_CHECK(gpa_deck_validate(deck));
  /* The smallest node's physical memory bounds what the deck may ask for. */
  int ranks;
  GPA_MPI(MPI_Comm_size(comm, &ranks));
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  double node = pages > 0 && page > 0 ? (double)pages * (double)page : 1e300;
  GPA_MPI(MPI_Allreduce(MPI_IN_PLACE, &node, 1, MPI_DOUBLE, MPI_MIN, comm));
  GPA_CHECK(gpa_deck_check_memory(deck, ranks, node));
  return GPA_OK;
}
