/* Deck parsing: values, overrides, every kind of error with its file, line and key, and the
 * dump/parse round trip. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpa/config.h"
#include "testutil.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int parse(struct gpa_deck *d, const char *text) {
  gpa_deck_init(d);
  gpa_error_clear();
  int rc = gpa_deck_parse(d, "deck.yml", text, strlen(text));
  if (rc == GPA_OK) rc = gpa_deck_validate(d);
  return rc;
}

/* The deck fails with exactly this message. */
static void expect_error(const char *text, const char *message) {
  struct gpa_deck d;
  int rc = parse(&d, text);
  if (rc == GPA_OK) fail_msg("accepted a bad deck; expected: %s", message);
  assert_int_equal(rc, GPA_ERR_INPUT);
  if (strcmp(gpa_error_message(), message) != 0)
    fail_msg("message\n  '%s'\nexpected\n  '%s'", gpa_error_message(), message);
  assert_null(strchr(gpa_error_message(), '\n'));
}

static void test_defaults(void **state) {
  (void)state;
  struct gpa_params p;
  TEST_OK(gpa_params_default(&p));
  assert_int_equal(p.transport.max_steps, 500);
  ASSERT_CLOSE(p.transport.dt, 0.5, 0, 0);
  assert_int_equal(p.transport.integrator, GPA_INT_EULER);
  assert_int_equal(p.divergence.kind, GPA_DIV_KL);
  ASSERT_CLOSE(p.divergence.L, 1.0, 0, 0);
  assert_int_equal(p.network.widths.n, 3);
  assert_int_equal(p.network.widths.v[2], 32);
  assert_int_equal(p.network.normalization, GPA_NORM_SPECTRAL);
  assert_int_equal(p.source.kind, GPA_DIST_GAUSSIAN);
  assert_int_equal(p.target.kind, GPA_DIST_MIXTURE);
  assert_true(p.optimizer.reset_moments);
  assert_true(isinf(p.transport.div_tol) && p.transport.div_tol < 0);
  assert_string_equal(p.source.dataset, "/X");
}

static void test_values(void **state) {
  (void)state;
  struct gpa_deck d;
  TEST_OK(parse(&d,
                "transport:\n  dt: 0.25\n  integrator: heun\n  max_steps: 1e3\n"
                "divergence:\n  kind: alpha\n  alpha: 3\n  L: .inf\n"
                "network:\n  widths: [64, 16]\n  activation: smooth_relu\n"
                "optimizer:\n  reset_moments: no\n"
                "target:\n  kind: student_t\n  nu: 0.5\n"
                "output:\n  file: 'out dir/run.h5'\n"));
  ASSERT_CLOSE(d.p.transport.dt, 0.25, 0, 0);
  assert_int_equal(d.p.transport.integrator, GPA_INT_HEUN);
  assert_int_equal(d.p.transport.max_steps, 1000);
  assert_int_equal(d.p.divergence.kind, GPA_DIV_ALPHA);
  ASSERT_CLOSE(d.p.divergence.alpha, 3.0, 0, 0);
  assert_true(isinf(d.p.divergence.L));
  assert_int_equal(d.p.network.widths.n, 2);
  assert_int_equal(d.p.network.widths.v[0], 64);
  assert_int_equal(d.p.network.activation, GPA_ACT_SMOOTH_RELU);
  assert_false(d.p.optimizer.reset_moments);
  ASSERT_CLOSE(d.p.target.nu, 0.5, 0, 0);
  assert_string_equal(d.p.output.file, "out dir/run.h5");
}

static void test_output_name_from_deck(void **state) {
  (void)state;
  struct gpa_deck d;
  gpa_deck_init(&d);
  TEST_OK(gpa_deck_parse(&d, "inputs/paper/mog2d.yml", "{}", 2));
  TEST_OK(gpa_deck_validate(&d));
  assert_string_equal(d.p.output.file, "mog2d.h5");
}

static void test_overrides(void **state) {
  (void)state;
  struct gpa_deck d;
  TEST_OK(parse(&d, "transport:\n  dt: 0.25\n"));
  TEST_OK(gpa_deck_override(&d, "transport.dt=0.125"));
  TEST_OK(gpa_deck_override(&d, "network.widths=16,8"));
  TEST_OK(gpa_deck_override(&d, "network.widths=[4, 4, 4]"));
  TEST_OK(gpa_deck_override(&d, "run.seed=12"));
  TEST_OK(gpa_deck_override(&d, "divergence.kind=kl-lt"));
  TEST_OK(gpa_deck_override(&d, "run.flush_denormals=false"));
  TEST_OK(gpa_deck_override(&d, "output.file=x.h5"));
  ASSERT_CLOSE(d.p.transport.dt, 0.125, 0, 0);
  assert_int_equal(d.p.network.widths.n, 3);
  assert_int_equal(d.p.network.widths.v[1], 4);
  assert_int_equal(d.p.run.seed, 12);
  assert_int_equal(d.p.divergence.kind, GPA_DIV_KL_LT);
  assert_false(d.p.run.flush_denormals);
  assert_string_equal(d.p.output.file, "x.h5");

  gpa_error_clear();
  assert_int_equal(gpa_deck_override(&d, "transport.dt=-1"), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(), "-P transport.dt: must be > 0 (got -1)");
  gpa_error_clear();
  assert_int_equal(gpa_deck_override(&d, "transport.dtt=1"), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "-P transport.dtt: unknown key (did you mean 'transport.dt'?)");
  gpa_error_clear();
  assert_int_equal(gpa_deck_override(&d, "dt=1"), GPA_ERR_USAGE);
  /* Malformed -P syntax is a usage error (status 2) whatever its shape; unknown names and bad
   * values are bad input (status 1). */
  const char *malformed[] = {"foo", "a.b.c=1", ".dt=1", "transport.=1", "transport.dt"};
  for (size_t m = 0; m < sizeof malformed / sizeof malformed[0]; m++) {
    gpa_error_clear();
    assert_int_equal(gpa_deck_override(&d, malformed[m]), GPA_ERR_USAGE);
  }
  gpa_error_clear();
  assert_int_equal(gpa_deck_override(&d, "walk.dt=1"), GPA_ERR_INPUT);
  gpa_error_clear();
  assert_int_equal(gpa_deck_override(&d, "network.widths=4,-8"), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(), "-P network.widths[1]: must be >= 1 (got -8)");
  /* A value with a newline or other control characters stays on one line. */
  gpa_error_clear();
  assert_int_equal(gpa_deck_override(&d, "transport.dt=1\n2\t\x01"), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "-P transport.dt: expected a number, got '1\\n2\\t\\x01'");
}

/* Several YAML documents, deep nesting, an oversized or empty deck: refused before the deck is
 * loaded, with the file and line. */
static void test_deck_shape(void **state) {
  (void)state;
  expect_error("source: {n: 20}\n---\nsource: {n: 30}\ntransport: {dt: -5}\n",
               "deck.yml:3: a deck is one YAML document; found a second one (after a '---' or "
               "'...' line)");
  expect_error("source: {n: 20}\n...\ngarbage: [\n",
               "deck.yml:3: a deck is one YAML document; found a second one (after a '---' or "
               "'...' line)");
  expect_error("---\nsource: {n: 20}\n---\n---\n\n# more\n- 1\n",
               "deck.yml:7: a deck is one YAML document; found a second one (after a '---' or "
               "'...' line)");
  struct gpa_deck d;
  /* A leading '---', a trailing '---' or '...' with nothing after it: one document. */
  TEST_OK(parse(&d, "---\nsource: {n: 20}\n---\n"));
  assert_int_equal(d.p.source.n, 20);
  TEST_OK(parse(&d, "source: {n: 21}\n...\n# the end\n"));
  assert_int_equal(d.p.source.n, 21);

  /* Nesting: the deck (1), a section (2) and a list (3) are three levels; 8 are allowed. */
  TEST_OK(parse(&d, "network: {widths: [8]}\n"));
  expect_error("network: {widths: [[[[[[[[8]]]]]]]]}\n",
               "deck.yml:1: nested more than 8 levels deep; a deck is a mapping of sections of "
               "'key: value' lines");
  expect_error("network:\n  widths:\n    - - - - - - - 8\n",
               "deck.yml:3: nested more than 8 levels deep; a deck is a mapping of sections of "
               "'key: value' lines");
  /* 100 000 levels: refused at once (libyaml alone takes ~45 s: quadratic). */
  const size_t depth = 100000;
  char *deep = malloc(2 * depth + 64);
  assert_non_null(deep);
  size_t n = (size_t)sprintf(deep, "network: {widths: ");
  memset(deep + n, '[', depth);
  memset(deep + n + depth, ']', depth);
  strcpy(deep + n + 2 * depth, "}\n");
  double t0 = now();
  expect_error(deep,
               "deck.yml:1: nested more than 8 levels deep; a deck is a mapping of "
               "sections of 'key: value' lines");
  assert_true(now() - t0 < 2.0);
  free(deep);

  /* Size: at most 1 MiB. */
  char *big = malloc(GPA_DECK_MAX_BYTES + 2);
  assert_non_null(big);
  memset(big, ' ', GPA_DECK_MAX_BYTES + 1);
  memcpy(big, "{}", 2);
  big[GPA_DECK_MAX_BYTES + 1] = '\0';
  gpa_deck_init(&d);
  assert_int_equal(gpa_deck_parse(&d, "deck.yml", big, GPA_DECK_MAX_BYTES + 1), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml: 1048577 bytes; a deck may hold at most 1 MiB");
  gpa_deck_init(&d);
  TEST_OK(gpa_deck_parse(&d, "deck.yml", big, GPA_DECK_MAX_BYTES));
  free(big);

  /* Empty: no document, only comments, or only '---'; `{}` is a deck of defaults. */
  const char *empty[] = {"", "\n\n", "# a comment\n  # another\n", "---\n", "---\n...\n"};
  for (size_t e = 0; e < sizeof empty / sizeof empty[0]; e++)
    expect_error(empty[e],
                 "deck.yml: the deck is empty (`{}` is a deck of defaults; `gpa "
                 "reference` lists every key)");
  TEST_OK(parse(&d, "{}\n"));
  struct gpa_params def;
  gpa_params_default(&def);
  assert_int_equal(d.p.transport.max_steps, def.transport.max_steps);
  TEST_OK(parse(&d, "run:\n"));
}

/* gpa run refuses a deck or -P that sets an integrate key; keys at their defaults (the
 * reference deck) are allowed. */
static void test_command_sections(void **state) {
  (void)state;
  struct gpa_deck d;
  TEST_OK(parse(&d, "run: {seed: 1}\nintegrate:\n  source_file: a.h5\n  components: 5\n"));
  TEST_OK(gpa_deck_check_command(&d, "integrate"));
  assert_int_equal(gpa_deck_check_command(&d, "run"), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml:3: integrate.source_file: the integrate section is for `gpa "
                      "integrate`; `gpa run` would ignore it and run the other sections (gpa "
                      "integrate deck.yml, or remove the section)");
  TEST_OK(parse(&d, "run: {seed: 1}\nintegrate:\n  components: 50\n"));
  TEST_OK(gpa_deck_check_command(&d, "run"));
  TEST_OK(gpa_deck_override(&d, "integrate.latent_scale=2"));
  assert_int_equal(gpa_deck_check_command(&d, "run"), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "-P integrate.latent_scale: the integrate section is "
                      "for `gpa integrate`; `gpa run` would ignore it");
}

/* Sizes that cannot fit in memory are bad input naming the key, not an allocation failure. */
static void test_memory_bound(void **state) {
  (void)state;
  const double gb24 = 24e9;
  struct gpa_deck d;
  TEST_OK(parse(&d, "source: {n: 100000000000000}\n"));
  assert_int_equal(gpa_deck_check_memory(&d, 1, gb24), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml:1: source.n x source.dim = 100000000000000 "
                      "x 2 needs 1.6 PB, more than this node's 24 GB of memory");
  gpa_error_clear();
  assert_int_equal(gpa_deck_check_memory(&d, 4, gb24), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml:1: source.n x source.dim = 100000000000000 x 2 needs 1.6 PB "
                      "(400 TB on each of 4 ranks), more than this node's 24 GB of memory");
  TEST_OK(parse(&d, "source: {dim: 1e9}\ntarget: {dim: 1e9}\n"));
  assert_int_equal(gpa_deck_check_memory(&d, 1, gb24), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml:1: source.n x source.dim = 200 x 1000000000 "
                      "needs 1.6 TB, more than this node's 24 GB of memory");
  TEST_OK(parse(&d, "network: {widths: [1e9, 1e9]}\n"));
  assert_int_equal(gpa_deck_check_memory(&d, 1, gb24), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml:1: network.widths = [1000000000, 1000000000] with dim 2 needs 32 "
                      "EB (phi's parameters, gradient and Adam moments, on every rank), more than "
                      "this node's 24 GB of memory");
  /* 2^62 overflows no product: the estimate is in floating point. */
  TEST_OK(parse(&d, "target: {n: 4611686018427387904}\n"));
  assert_int_equal(gpa_deck_check_memory(&d, 1, gb24), GPA_ERR_INPUT);
  TEST_OK(parse(&d, "generated: {n: 1e12}\n"));
  TEST_OK(gpa_deck_override(&d, "source.dim=1000"));
  TEST_OK(gpa_deck_override(&d, "target.dim=1000"));
  assert_int_equal(gpa_deck_check_memory(&d, 2, gb24), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml:1: generated.n x source.dim = 1000000000000 "
                      "x 1000 needs 8 PB (4 PB on each of 2 ranks), more "
                      "than this node's 24 GB of memory");
  /* Neither alone too large, together too much. */
  TEST_OK(parse(&d, "source: {n: 1e9}\ntarget: {n: 1e9}\n"));
  assert_int_equal(gpa_deck_check_memory(&d, 1, 24e9), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(),
                      "deck.yml:1: source.n x source.dim = 1000000000 x 2 needs 16 GB, and the "
                      "deck 32 GB per rank in all, more than this node's 24 GB of memory");
  /* The shipped-size decks fit. */
  TEST_OK(parse(&d, "{}\n"));
  TEST_OK(gpa_deck_check_memory(&d, 1, 1e9));
}

static void test_errors(void **state) {
  (void)state;
  expect_error("transport:\n  dt: 0.5\n  dtt: 1\n",
               "deck.yml:3: transport.dtt: unknown key (did you mean 'transport.dt'?)");
  expect_error("transprot:\n  dt: 0.5\n",
               "deck.yml:1: unknown section 'transprot' (sections: run, source, target, generated, "
               "network, divergence, optimizer, transport, integrate, output)");
  expect_error("transport:\n  dt: fast\n",
               "deck.yml:2: transport.dt: expected a number, got 'fast'");
  expect_error("transport:\n  dt: -0.5\n", "deck.yml:2: transport.dt: must be > 0 (got -0.5)");
  expect_error("transport:\n  dt: .nan\n", "deck.yml:2: transport.dt: NaN is not allowed");
  expect_error("transport:\n  dt: '0.5'\n",
               "deck.yml:2: transport.dt: expected a number, got '0.5'");
  expect_error("transport:\n  max_steps: 2.5\n",
               "deck.yml:2: transport.max_steps: expected an integer, got '2.5'");
  expect_error("transport:\n  integrator: leapfrog\n",
               "deck.yml:2: transport.integrator: 'leapfrog' is not one of: euler, heun, rk4");
  expect_error("transport:\n  dt: [1, 2]\n",
               "deck.yml:2: transport.dt: expected a number, got a list");
  expect_error("transport:\n  dt: 0.5\n  dt: 0.25\n",
               "deck.yml:3: transport.dt: set twice (first on line 2)");
  expect_error("divergence:\n  L: 0\n", "deck.yml:2: divergence.L: must be in (0, inf] (got 0)");
  expect_error("divergence:\n  kind: alpha\n  alpha: 1\n",
               "deck.yml:3: divergence.alpha: must be > 1 (got 1)");
  expect_error("network:\n  widths: [32, 0]\n",
               "deck.yml:2: network.widths[1]: must be >= 1 (got 0)");
  expect_error("network:\n  widths: [-8]\n",
               "deck.yml:2: network.widths[0]: must be >= 1 (got -8)");
  expect_error("network:\n  widths: [8, x]\n",
               "deck.yml:2: network.widths[1]: expected an integer, got 'x'");
  expect_error("network:\n  widths: [8, [8]]\n",
               "deck.yml:2: network.widths[1]: expected an integer, got a list");
  expect_error("network:\n  widths: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
               "deck.yml:2: network.widths: at most 8 hidden layers");
  expect_error("optimizer:\n  reset_moments: maybe\n",
               "deck.yml:2: optimizer.reset_moments: expected true or false, got 'maybe'");
  expect_error("source:\n  dim: 3\n",
               "deck.yml:2: source.dim: source.dim is 3 but target.dim is 2");
  expect_error("target:\n  kind: mixture\n  dim: 4\n  offset: 3\n",
               "deck.yml:4: target.offset: coordinates 3 and 4 do not fit in dim 4");
  expect_error("target:\n  kind: swiss_roll\n",
               "deck.yml: target.dim: the Swiss roll lives in dim 3");
  expect_error("source:\n  kind: file\n", "deck.yml: source.file: kind 'file' needs a file name");
  expect_error("transport: [1, 2]\n",
               "deck.yml:1: section 'transport' must hold 'key: value' lines");
  expect_error("- 1\n- 2\n", "deck.yml:1: a deck is a mapping of sections (run:, source:, ...)");
  struct gpa_deck d;
  assert_int_equal(parse(&d, "transport:\n  dt: 0.5\n   max_steps: 3\n"), GPA_ERR_INPUT);
  assert_non_null(strstr(gpa_error_message(), "deck.yml:3: YAML syntax error"));
}

/* The dump is a deck that reads back to the same settings; so is the reference. */
/* Keys that mean nothing for the chosen kinds are accepted with a warning. */
static void test_unused_keys_warn(void **state) {
  (void)state;
  struct gpa_deck d;
  TEST_OK(parse(&d, "source:\n  kind: gaussian\n  nu: 3\ndivergence:\n  alpha: 2\n"));
  assert_int_equal(d.n_warnings, 2);
  assert_string_equal(d.warnings[0],
                      "deck.yml:3: source.nu is ignored: not used by source.kind 'gaussian'");
  assert_string_equal(d.warnings[1],
                      "deck.yml:5: divergence.alpha is ignored: not used by divergence.kind 'kl'");
  TEST_OK(parse(&d, "divergence:\n  kind: alpha\n  alpha: 2\n"));
  assert_int_equal(d.n_warnings, 0);
}

static void test_round_trips(void **state) {
  (void)state;
  struct gpa_deck d, e;
  TEST_OK(parse(&d,
                "transport:\n  dt: 0.1\n  integrator: rk4\ndivergence:\n  kind: alpha\n"
                "  alpha: 2.5\nnetwork:\n  widths: [7]\noutput:\n  file: \"a\\\"b.h5\"\n"
                "target:\n  kind: sierpinski\n  level: 3\n"));
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  gpa_params_dump(f, &d.p);
  fclose(f);
  gpa_deck_init(&e);
  TEST_OK(gpa_deck_parse(&e, "dump.yml", text, len));
  TEST_OK(gpa_deck_validate(&e));
  assert_memory_equal(&d.p, &e.p, sizeof d.p);
  free(text);

  struct gpa_params def;
  gpa_params_default(&def);
  f = open_memstream(&text, &len);
  TEST_OK(gpa_params_reference(f));
  fclose(f);
  gpa_deck_init(&e);
  TEST_OK(gpa_deck_parse(&e, "reference.yml", text, len));
  assert_memory_equal(&def, &e.p, sizeof def);
  free(text);
}

/* The enum names: one static string per value, "?" out of range, and each name of each choice
 * key reads back as its value. */
static void test_choice_names(void **state) {
  (void)state;
  const char *heun = gpa_choice_name(GPA_CHOICE_INT, GPA_INT_HEUN);
  assert_string_equal(heun, "heun");
  for (int k = 0; k < 20; k++) gpa_choice_name(GPA_CHOICE_DIST, k % 9);
  assert_string_equal(heun, "heun"); /* not a slot of a buffer that later calls reuse */
  assert_string_equal(gpa_choice_name(GPA_CHOICE_DIST, GPA_DIST_FASHION_MNIST), "fashion_mnist");
  assert_string_equal(gpa_choice_name(GPA_CHOICE_DIV, GPA_DIV_KL_LT), "kl-lt");
  assert_string_equal(gpa_choice_name(GPA_CHOICE_LAST_ACT, GPA_ACT_SAME), "same");
  assert_string_equal(gpa_choice_name(GPA_CHOICE_ACT, GPA_ACT_SAME), "?");
  assert_string_equal(gpa_choice_name(GPA_CHOICE_INT, -1), "?");
  assert_string_equal(gpa_choice_name(GPA_CHOICE_INT, GPA_INT_RK4 + 1), "?");
  assert_string_equal(gpa_choice_name(GPA_CHOICE_COUNT, 0), "?");
  int enums = 0;
  for (int i = 0; i < gpa_params_count(); i++) {
    if (gpa_params_type(i) != GPA_PT_ENUM) continue;
    enums++;
    int v = 0;
    for (; strcmp(gpa_params_enum_name(i, v), "?") != 0; v++) {
      struct gpa_deck d;
      TEST_OK(gpa_deck_init(&d));
      char assign[128];
      snprintf(assign, sizeof assign, "%s.%s=%s", gpa_params_section(i), gpa_params_key(i),
               gpa_params_enum_name(i, v));
      TEST_OK(gpa_deck_override(&d, assign));
      assert_int_equal(*(const int *)gpa_params_value(&d.p, i), v);
    }
    assert_true(v >= 2);
  }
  assert_int_equal(enums, 14);
  assert_string_equal(gpa_params_enum_name(0, 0), "?"); /* run.seed is not an enum */
}

/* gpa_deck_is_set: set by the deck or -P, not left at the default (even when equal to it). */
static void test_deck_is_set(void **state) {
  (void)state;
  struct gpa_deck d;
  TEST_OK(parse(&d, "integrate:\n  components: 50\n"));
  assert_true(gpa_deck_is_set(&d, "integrate.components"));
  assert_false(gpa_deck_is_set(&d, "integrate.pca"));
  assert_false(gpa_deck_is_set(&d, "transport.dt"));
  TEST_OK(gpa_deck_override(&d, "transport.dt=0.5"));
  assert_true(gpa_deck_is_set(&d, "transport.dt"));
  assert_false(gpa_deck_is_set(&d, "integrate.nope"));
  assert_false(gpa_deck_is_set(&d, "components"));
  assert_false(gpa_deck_is_set(&d, ".components"));
  assert_false(gpa_deck_is_set(&d, "integrate."));
  TEST_OK(gpa_deck_init(&d));
  assert_false(gpa_deck_is_set(&d, "integrate.components"));
}

/* String keys hold what their char arrays hold, each its own size. */
static void test_string_sizes(void **state) {
  (void)state;
  struct {
    const char *key;
    size_t size;
  } keys[] = {{"source.dataset", sizeof(((struct gpa_params *)0)->source.dataset)},
              {"target.dataset", sizeof(((struct gpa_params *)0)->target.dataset)},
              {"integrate.batch_key", sizeof(((struct gpa_params *)0)->integrate.batch_key)},
              {"integrate.label_key", sizeof(((struct gpa_params *)0)->integrate.label_key)},
              {"output.file", GPA_PATH_MAX},
              {"source.labels_file", GPA_PATH_MAX}};
  char value[GPA_PATH_MAX + 2], assign[GPA_PATH_MAX + 64], expect[128];
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    struct gpa_deck d;
    TEST_OK(gpa_deck_init(&d));
    memset(value, 'x', keys[k].size - 1);
    value[keys[k].size - 1] = '\0';
    snprintf(assign, sizeof assign, "%s=%s", keys[k].key, value);
    TEST_OK(gpa_deck_override(&d, assign)); /* the longest that fits */
    value[keys[k].size - 1] = 'x';
    value[keys[k].size] = '\0';
    snprintf(assign, sizeof assign, "%s=%s", keys[k].key, value);
    gpa_error_clear();
    assert_int_equal(gpa_deck_override(&d, assign), GPA_ERR_INPUT);
    snprintf(expect, sizeof expect, "-P %s: longer than %zu characters", keys[k].key,
             keys[k].size - 1);
    assert_string_equal(gpa_error_message(), expect);
  }
}

/* Integer lists read the same from a YAML list, a flow scalar and -P, with the same errors. */
static void test_int_lists(void **state) {
  (void)state;
  struct gpa_deck d;
  TEST_OK(parse(&d, "network:\n  widths: [1, 2, 3]\n"));
  assert_int_equal(d.p.network.widths.n, 3);
  TEST_OK(parse(&d, "network:\n  widths: \"4, 5\"\n"));
  assert_int_equal(d.p.network.widths.n, 2);
  assert_int_equal(d.p.network.widths.v[1], 5);
  TEST_OK(parse(&d, "network:\n  widths:\n    - 6\n    - 7e1\n"));
  assert_int_equal(d.p.network.widths.v[1], 70);
  expect_error("network:\n  widths: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]\n",
               "deck.yml:2: network.widths: at most 16 entries");
  expect_error("network:\n  widths: \"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\"\n",
               "deck.yml:2: network.widths: at most 16 entries");
  expect_error("network:\n  widths: \"[1, 2\"\n",
               "deck.yml:2: network.widths: expected a list of integers, got '[1, 2'");
  expect_error("network:\n  widths: [4, {a: 1}]\n",
               "deck.yml:2: network.widths[1]: expected an integer, got a mapping");
  expect_error("network:\n  widths: \"4, 2.5\"\n",
               "deck.yml:2: network.widths[1]: expected an integer, got '2.5'");
  TEST_OK(parse(&d, "{}\n"));
  gpa_error_clear();
  assert_int_equal(gpa_deck_override(&d, "network.widths=[8, 0]"), GPA_ERR_INPUT);
  assert_string_equal(gpa_error_message(), "-P network.widths[1]: must be >= 1 (got 0)");
  TEST_OK(gpa_deck_override(&d, "network.widths=[]"));
  assert_int_equal(d.p.network.widths.n, 0);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_values),
    cmocka_unit_test(test_output_name_from_deck),
    cmocka_unit_test(test_overrides),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_deck_shape),
    cmocka_unit_test(test_command_sections),
    cmocka_unit_test(test_memory_bound),
    cmocka_unit_test(test_unused_keys_warn),
    cmocka_unit_test(test_round_trips),
    cmocka_unit_test(test_choice_names),
    cmocka_unit_test(test_deck_is_set),
    cmocka_unit_test(test_string_sizes),
    cmocka_unit_test(test_int_lists),
};
GPA_TEST_MAIN(tests)
