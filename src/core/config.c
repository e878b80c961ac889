/* Input decks: the key table, the YAML parser (libyaml), overrides, validation and dumps. */
#include "gpa/config.h"


#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ------------------------------------------------------------------------- the table */

struct pdef {
  const char *section, *key;
  enum gpa_ptype type;
  size_t offset;
  const char *def;     /* default, as YAML text */
  const char *range;   /* numbers: interval "(0, inf)", "[1, inf)" ...; NULL: any */
  const char *choices; /* enums: "a|b|c" */
  const char *kinds;   /* source/target keys: the kinds that use the key; NULL: all */
  const char *doc;
  int may_change;      /* a restart may change it */
};

#define OFF(member) offsetof(struct gpa_params, member)

/* Entries leave out may_change (0) unless a restart may change the key. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

/* The keys shared by `source` and `target`; defaults differ between the two. */
#define DIST_KEYS(SEC, M, KIND, N, MEAN, STD)                                                 \
  {SEC, "kind", GPA_PT_ENUM, OFF(M.kind), KIND, NULL, GPA_DIST_NAMES, NULL,                   \
   "distribution of the samples: gaussian N(mean, std^2 I); mixture of 4 Gaussians at "       \
   "(0,s),(s,0),(s,s),(0,0) (s = spacing), in coordinates offset, offset+1 of R^dim; "        \
   "student_t and gen_gaussian (density ~ exp(-|x|^beta)) with iid coordinates; swiss_roll "  \
   "in R^3; sierpinski carpet (one uniform point per filled cell; dim 3 puts it in the "      \
   "z = 0 plane); file: rows of an HDF5 dataset; logistic: iid logistic(mean, scale) "       \
   "coordinates (the paper's image noise); fashion_mnist: Fashion-MNIST images (pixels / 255, "\
   "28 x 28 = 784 coordinates) of the chosen classes, picked by the seed"},                                            \
  {SEC, "n", GPA_PT_INT, OFF(M.n), N, "[1, inf)", NULL, NULL,                                 \
   "number of samples (file: default all rows; set it to take the first n rows)"},            \
  {SEC, "dim", GPA_PT_INT, OFF(M.dim), "2", "[1, inf)", NULL, NULL,                           \
   "dimension d (file: the dataset's number of columns)"},                                    \
  {SEC, "mean", GPA_PT_REAL, OFF(M.mean), MEAN, "(-inf, inf)", NULL,                          \
   "gaussian|student_t|gen_gaussian|logistic", "location, the same in every coordinate"},              \
  {SEC, "std", GPA_PT_REAL, OFF(M.std), STD, "(0, inf)", NULL, "gaussian|mixture",            \
   "standard deviation (mixture: of each component)"},                                        \
  {SEC, "scale", GPA_PT_REAL, OFF(M.scale), "1.0", "(0, inf)", NULL,                          \
   "student_t|gen_gaussian|logistic", "scale factor of each coordinate"},                              \
  {SEC, "nu", GPA_PT_REAL, OFF(M.nu), "1.0", "(0, inf)", NULL, "student_t",                   \
   "degrees of freedom"},                                                                     \
  {SEC, "beta", GPA_PT_REAL, OFF(M.beta), "0.4", "(0, inf)", NULL, "gen_gaussian",            \
   "shape exponent: density ~ exp(-|x|^beta) per coordinate"},                                \
  {SEC, "spacing", GPA_PT_REAL, OFF(M.spacing), "4.0", "(0, inf)", NULL, "mixture",           \
   "distance s between neighbouring mixture centres"},                                        \
  {SEC, "offset", GPA_PT_INT, OFF(M.offset), "0", "[0, inf)", NULL, "mixture",                \
   "first of the two coordinates that carry the mixture (others are 0)"},                     \
  {SEC, "level", GPA_PT_INT, OFF(M.level), "4", "[1, 8]", NULL, "sierpinski",                 \
   "carpet level: 8^level filled cells"},                                                     \
  {SEC, "side", GPA_PT_REAL, OFF(M.side), "10.0", "(0, inf)", NULL, "sierpinski",             \
   "side of the square [0, side]^2 holding the carpet"},                                      \
  {SEC, "noise", GPA_PT_REAL, OFF(M.noise), "0.0", "[0, inf)", NULL, "swiss_roll",            \
   "standard deviation of Gaussian noise added to each coordinate"},                          \
  {SEC, "file", GPA_PT_STRING, OFF(M.file), "\"\"", NULL, NULL, "file|fashion_mnist",        \
   "file: HDF5 file holding the samples; fashion_mnist: gzipped IDX images (\"\": Debian's "    \
   "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)"},                          \
  {SEC, "dataset", GPA_PT_STRING, OFF(M.dataset), "/X", NULL, NULL, "file",                   \
   "dataset [rows, d] in that file (float32 or float64)"},                                    \
  {SEC, "labels_file", GPA_PT_STRING, OFF(M.labels_file), "\"\"", NULL, NULL, "fashion_mnist", \
   "gzipped IDX labels of the images (\"\": the images' file name with labels-idx1 for "       \
   "images-idx3)"},                                                                           \
  {SEC, "classes", GPA_PT_INTLIST, OFF(M.classes), "[]", "[0, 9]", NULL, "fashion_mnist",     \
   "classes drawn ([]: all ten); the n samples are split evenly between them (default 200: "  \
   "200 of one class, or 20 of each of the ten)"}

static const struct pdef table[] = {
    {"run", "seed", GPA_PT_INT, OFF(run.seed), "0", "[0, inf)", NULL, NULL,
     "seed of the counter-based random numbers (samples, network initialisation)"},
    {"run", "flush_denormals", GPA_PT_BOOL, OFF(run.flush_denormals), "true", NULL, NULL, NULL,
     "flush denormal floats to zero (near convergence they make steps ~5x slower)"},
    {"run", "max_wall_time", GPA_PT_REAL, OFF(run.max_wall_time), "0.0", "[0, inf)", NULL, NULL,
     "seconds of wall time for this job (0: no limit): before it runs out, gpa writes a "
     "checkpoint, prints the restart command and exits with status 0", 1},

    DIST_KEYS("source", source, "gaussian", "200", "0.0", "0.5"),
    DIST_KEYS("target", target, "mixture", "200", "0.0", "0.5"),

    {"generated", "n", GPA_PT_INT, OFF(generated.n), "0", "[0, inf)", NULL, NULL,
     "extra particles drawn from the source (their own random stream) and moved by each step's "
     "field without being trained on: the paper's generated particles"},

    {"network", "widths", GPA_PT_INTLIST, OFF(network.widths), "[32, 32, 32]", "[1, inf)", NULL,
     NULL, "widths of the hidden layers of the discriminator phi (at most 8 layers)"},
    {"network", "activation", GPA_PT_ENUM, OFF(network.activation), "relu", NULL,
     GPA_ACT_NAMES, NULL, "activation of the hidden layers (all 1-Lipschitz)"},
    {"network", "last_activation", GPA_PT_ENUM, OFF(network.last_activation), "same", NULL,
     GPA_LAST_ACT_NAMES, NULL, "activation of the last hidden layer; same: as activation"},
    {"network", "smooth_eps", GPA_PT_REAL, OFF(network.smooth_eps), "0.5", "(0, inf)", NULL,
     NULL, "smooth_relu: width eps of the C^2 transition (x - eps for x >= 2 eps)"},
    {"network", "leaky_slope", GPA_PT_REAL, OFF(network.leaky_slope), "0.2", "[0, 1]", NULL,
     NULL, "leaky_relu: slope for negative inputs"},
    {"network", "normalization", GPA_PT_ENUM, OFF(network.normalization), "spectral", NULL,
     GPA_NORM_NAMES, NULL,
     "how each weight matrix is held at norm L^(1/layers): spectral (power iteration, "
     "persistent vectors) or frobenius (stricter, the reference code's scheme)"},
    {"network", "precision", GPA_PT_ENUM, OFF(network.precision), "double", NULL, GPA_PREC_NAMES,
     NULL,
     "arithmetic of phi's forward and backward passes: double, or single (float32 activations "
     "and products, about twice as fast; theta, the gradient sums, the optimizer and the "
     "particles stay double)"},
    {"network", "power_iterations", GPA_PT_INT, OFF(network.power_iterations), "1", "[1, 100]",
     NULL, NULL, "spectral: power iterations per update (the vectors persist across updates)"},
    {"network", "conv_channels", GPA_PT_INTLIST, OFF(network.conv_channels), "[]", "[1, inf)",
     NULL, NULL,
     "output channels of the convolutions in front of the dense layers (at most 4; []: none); "
     "each kernel is normalised like the matrix [in_channels * k * k][out_channels]"},
    {"network", "image_shape", GPA_PT_INTLIST, OFF(network.image_shape), "[]", "[1, inf)", NULL,
     NULL, "[channels, height, width] of the input images, stored channel-last ([]: [1, s, s] "
     "with s * s = dim)"},
    {"network", "conv_kernel", GPA_PT_INT, OFF(network.conv_kernel), "5", "[1, 15]", NULL, NULL,
     "side k of the square convolution kernels"},
    {"network", "conv_stride", GPA_PT_INT, OFF(network.conv_stride), "2", "[1, 4]", NULL, NULL,
     "stride of the convolutions (\"same\" padding: output side ceil(side / stride))"},
    {"network", "conv_activation", GPA_PT_ENUM, OFF(network.conv_activation), "leaky_relu", NULL,
     GPA_ACT_NAMES, NULL, "activation after each convolution"},
    {"network", "dropout", GPA_PT_REAL, OFF(network.dropout), "0.0", "[0, 1)", NULL, NULL,
     "probability of zeroing each convolution output while phi is trained (never when the "
     "particles move); the kept ones are scaled by 1 / (1 - dropout)"},
    {"network", "conditional", GPA_PT_BOOL, OFF(network.conditional), "false", NULL, NULL, NULL,
     "one output per class: phi(x) is the output of x's class (labelled targets; particle i "
     "takes the class of target i mod M)"},
    {"network", "class_normalization", GPA_PT_ENUM, OFF(network.class_normalization),
     "per_class", NULL, GPA_CLASSNORM_NAMES, NULL,
     "conditional phi: how the output layer [width][classes] is held at norm L^(1/layers): "
     "per_class (each class's column, so each class's phi has the bound L) or joint (the whole "
     "matrix, as the reference code; the classes then share the bound and move more slowly)"},

    {"divergence", "kind", GPA_PT_ENUM, OFF(divergence.kind), "kl", NULL, GPA_DIV_NAMES, NULL,
     "kl: KL, Donsker-Varadhan form; kl-lt: KL, Legendre form with trained nu; alpha: "
     "alpha-divergence (alpha > 1) with trained nu"},
    {"divergence", "alpha", GPA_PT_REAL, OFF(divergence.alpha), "2.0", "(1, inf)", NULL, NULL,
     "alpha of the alpha-divergence (kind alpha only)"},
    {"divergence", "L", GPA_PT_REAL, OFF(divergence.L), "1.0", "(0, inf]", NULL, NULL,
     "Lipschitz constant of phi (the particles' speed limit); .inf: unconstrained"},

    {"optimizer", "kind", GPA_PT_ENUM, OFF(optimizer.kind), "adam", NULL, GPA_OPT_NAMES, NULL,
     "gradient ascent on the objective: adam or plain sgd"},
    {"optimizer", "lr", GPA_PT_REAL, OFF(optimizer.lr), "1.0e-3", "(0, inf)", NULL, NULL,
     "learning rate"},
    {"optimizer", "epochs", GPA_PT_INT, OFF(optimizer.epochs), "3", "[1, inf)", NULL, NULL,
     "updates of phi per particle step (and per retrained Runge-Kutta stage)"},
    {"optimizer", "beta1", GPA_PT_REAL, OFF(optimizer.beta1), "0.9", "[0, 1)", NULL, NULL,
     "adam: decay of the first moment"},
    {"optimizer", "beta2", GPA_PT_REAL, OFF(optimizer.beta2), "0.999", "[0, 1)", NULL, NULL,
     "adam: decay of the second moment"},
    {"optimizer", "eps", GPA_PT_REAL, OFF(optimizer.eps), "1.0e-8", "(0, inf)", NULL, NULL,
     "adam: denominator guard"},
    {"optimizer", "reset_moments", GPA_PT_BOOL, OFF(optimizer.reset_moments), "true", NULL,
     NULL, NULL,
     "adam: restart the moments at every training call (each step and stage), as the "
     "reference code; false keeps them across steps"},

    {"transport", "max_steps", GPA_PT_INT, OFF(transport.max_steps), "500", "[0, inf)", NULL,
     NULL, "number of particle steps", 1},
    {"transport", "dt", GPA_PT_REAL, OFF(transport.dt), "0.5", "(0, inf)", NULL, NULL,
     "time step: particles move by -dt grad phi, at most L dt per step"},
    {"transport", "integrator", GPA_PT_ENUM, OFF(transport.integrator), "euler", NULL,
     GPA_INT_NAMES, NULL, "time integrator (explicit Runge-Kutta tableau)"},
    {"transport", "stages", GPA_PT_ENUM, OFF(transport.stages), "retrain", NULL,
     GPA_STAGE_NAMES, NULL,
     "heun/rk4: retrain phi at every stage's positions (the reference scheme) or evaluate the "
     "step's phi at all stages (frozen, cheaper)"},
    {"transport", "ke_tol", GPA_PT_REAL, OFF(transport.ke_tol), "0.0", "[0, inf)", NULL, NULL,
     "stop when the kinetic energy mean |grad phi|^2 falls below this (0: never)", 1},
    {"transport", "div_tol", GPA_PT_REAL, OFF(transport.div_tol), "-.inf", "[-inf, inf)", NULL,
     NULL, "stop when the divergence estimate falls below this (-.inf: never)", 1},
    {"transport", "cfl_warn", GPA_PT_REAL, OFF(transport.cfl_warn), "0.25", "(0, inf]", NULL,
     NULL,
     "warn when one step moves a particle further than this fraction of the target's spread "
     "(rms distance to its mean)", 1},

    {"integrate", "source_file", GPA_PT_STRING, OFF(integrate.source_file), "\"\"", NULL, NULL,
     NULL, "gpa integrate: HDF5 layout-v1 or AnnData .h5ad file of the source samples (rows of "
     "/X: samples x genes)"},
    {"integrate", "target_file", GPA_PT_STRING, OFF(integrate.target_file), "\"\"", NULL, NULL,
     NULL, "file of the target samples; \"\": the source file (then select by batch); genes are "
     "matched by id when the files differ"},
    {"integrate", "source_batch", GPA_PT_INTLIST, OFF(integrate.source_batch), "[]", "[0, inf)",
     NULL, NULL, "batch codes (obs column batch_key) of the source samples; []: all"},
    {"integrate", "target_batch", GPA_PT_INTLIST, OFF(integrate.target_batch), "[]", "[0, inf)",
     NULL, NULL, "batch codes of the target samples; []: all"},
    {"integrate", "batch_key", GPA_PT_STRING, OFF(integrate.batch_key), "batch", NULL, NULL, NULL,
     "obs column of batch codes"},
    {"integrate", "label_key", GPA_PT_STRING, OFF(integrate.label_key), "label", NULL, NULL, NULL,
     "obs column of labels: each label is transported by its own flow (\"\": one flow for all; "
     "samples with a missing label, code -1, are left out)"},
    {"integrate", "components", GPA_PT_INT, OFF(integrate.components), "50", "[1, inf)", NULL,
     NULL, "principal components k of the latent space (the default is lowered to samples - 1)"},
    {"integrate", "latent_scale", GPA_PT_REAL, OFF(integrate.latent_scale), "10.0", "(0, inf)",
     NULL, NULL, "latent coordinates are divided by this before transport (particle speeds are "
     "at most L)"},
    {"integrate", "pca", GPA_PT_ENUM, OFF(integrate.pca), "auto", NULL, GPA_PCA_NAMES, NULL,
     "dense: ScaLAPACK SVD; randomized: distributed randomized SVD; auto: dense when "
     "min(samples, genes) <= 4000 and samples * genes <= 5e7"},
    {"integrate", "pca_oversample", GPA_PT_INT, OFF(integrate.pca_oversample), "10", "[0, inf)",
     NULL, NULL, "randomized PCA: extra columns of the random test matrix"},
    {"integrate", "pca_power_iterations", GPA_PT_INT, OFF(integrate.pca_power_iterations), "4",
     "[0, 50]", NULL, NULL, "randomized PCA: power iterations"},
    {"integrate", "keep_residual", GPA_PT_BOOL, OFF(integrate.keep_residual), "true", NULL, NULL,
     NULL, "corrected sample = the sample moved by its latent displacement, keeping its part "
     "outside the latent space (false: the decoded latent point, as the paper)"},
    {"integrate", "metric_samples", GPA_PT_INT, OFF(integrate.metric_samples), "2000", "[10, inf)",
     NULL, NULL, "at most this many samples per set enter the report's distances and "
     "neighbour statistics (a seeded random subset)"},

    {"output", "file", GPA_PT_STRING, OFF(output.file), "\"\"", NULL, NULL, NULL,
     "run file (HDF5); default: the deck's name with .h5, in the current directory"},
    {"output", "trajectory_every", GPA_PT_INT, OFF(output.trajectory_every), "10", "[0, inf)",
     NULL, NULL, "store all particle positions every this many steps (0: never)", 1},
    {"output", "checkpoint_every", GPA_PT_INT, OFF(output.checkpoint_every), "0", "[0, inf)",
     NULL, NULL, "write a restart checkpoint every this many steps, and at the end (0: only "
     "when stopped by a signal, the stop file or run.max_wall_time)", 1},
    {"output", "progress_every", GPA_PT_INT, OFF(output.progress_every), "10", "[0, inf)", NULL,
     NULL, "print a progress line every this many steps (0: never)", 1},
    {"output", "checkpoint_file", GPA_PT_STRING, OFF(output.checkpoint_file), "\"\"", NULL, NULL,
     NULL, "checkpoint file; default: RUN.ckpt.h5 beside the run file RUN.h5 (the previous one "
     "is kept as RUN.ckpt.prev.h5)", 1},
    {"output", "stop_file", GPA_PT_STRING, OFF(output.stop_file), "\"\"", NULL, NULL, NULL,
     "when this file appears the run writes a checkpoint and exits; default: RUN.stop beside "
     "the run file", 1},
    {"output", "store_field", GPA_PT_ENUM, OFF(output.store_field), "auto", NULL, GPA_FIELD_NAMES,
     NULL, "store phi's parameters for every step and stage in /field (the learned vector field "
     "that `gpa transport` and `gpa sample` replay); auto: when it takes under 1 GiB"},
};

enum { N_KEYS = (int)(sizeof table / sizeof table[0]) };
_Static_assert(N_KEYS <= 192, "struct gpa_deck holds at most 192 keys");

static const char *const sections[] = {"run",       "source",     "target",    "generated",
                                       "network",   "divergence", "optimizer", "transport",
                                       "integrate", "output"};
enum { N_SECTIONS = (int)(sizeof sections / sizeof sections[0]) };

/* ------------------------------------------------------------------------- small helpers */

const char *gpa_choice_name(const char *choices, int value) {
  static char ring[8][64]; /* several names may appear in one printf */
  static int next;
  char *name = ring[next++ % 8];
  const char *s = choices;
  for (int i = 0; i < value && s; i++) {
    s = strchr(s, '|');
    if (s) s++;
  }
  if (!s || value < 0) return "?";
  size_t len = strcspn(s, "|");
  if (len >= 64) len = 63;
  memcpy(name, s, len);
  name[len] = '\0';
  return name;
}

static int choice_index(const char *choices, const char *text) {
  const char *s = choices;
  size_t tl = strlen(text);
  for (int i = 0; s; i++) {
    size_t len = strcspn(s, "|");
    if (len == tl && strncmp(s, text, len) == 0) return i;
    s = strchr(s, '|');
    if (s) s++;
  }
  return -1;
}

/* Lists a "a|b|c" choice string as "a, b, c". */
static void choices_text(const char *choices, char *out, size_t size) {
  size_t j = 0;
  for (const char *s = choices; *s && j + 3 < size; s++) {
    if (*s == '|') {
      out[j++] = ',';
      out[j++] = ' ';
    } else {
      out[j++] = *s;
    }
  }
  out[j] = '\0';
}

static int find_key(const char *section, const char *key) {
  for (int i = 0; i < N_KEYS; i++)
    if (strcmp(table[i].section, section) == 0 && strcmp(table[i].key, key) == 0) return i;
  return -1;
}

static int find_section(const char *name) {
  for (int i = 0; i < N_SECTIONS; i++)
    if (strcmp(sections[i], name) == 0) return i;
  return -1;
}

static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > 63 || lb > 63) return 99;
  int d[64][64];
  for (int i = 0; i <= la; i++) d[i][0] = i;
  for (int j = 0; j <= lb; j++) d[0][j] = j;
  for (int i = 1; i <= la; i++)
    for (int j = 1; j <= lb; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      d[i][j] = c;
    }
  return d[la][lb];
}

/* " (did you mean 'x'?)" for the closest key of the section, or "". */
static void suggest_key(const char *section, const char *key, char *out, size_t size) {
  int best = -1, best_d = 3;
  for (int i = 0; i < N_KEYS; i++) {
    if (strcmp(table[i].section, section) != 0) continue;
    int dist = edit_distance(key, table[i].key);
    if (dist < best_d) {
      best_d = dist;
      best = i;
    }
  }
  if (best >= 0)
    snprintf(out, size, " (did you mean '%s.%s'?)", section, table[best].key);
  else
    out[0] = '\0';
}

static void *field(struct gpa_params *p, int i) { return (char *)p + table[i].offset; }

const void *gpa_params_value(const struct gpa_params *p, int i) {
  return (const char *)p + table[i].offset;
}

int gpa_params_count(void) { return N_KEYS; }
const char *gpa_params_section(int i) { return table[i].section; }
const char *gpa_params_key(int i) { return table[i].key; }
enum gpa_ptype gpa_params_type(int i) { return table[i].type; }
const char *gpa_params_enum_name(int i, int value) {
  return gpa_choice_name(table[i].choices, value);
}

/* ------------------------------------------------------------------------- scalars */

static int parse_real(const char *text, double *out) {
  const char *t = text;
  int sign = 1;
  if (*t == '+' || *t == '-') {
    sign = *t == '-' ? -1 : 1;
    t++;
  }
  if (!strcmp(t, ".inf") || !strcmp(t, ".Inf") || !strcmp(t, ".INF") || !strcmp(t, "inf") ||
      !strcmp(t, "Inf") || !strcmp(t, "infinity")) {
    *out = sign * INFINITY;
    return 0;
  }
  if (!*text || isspace((unsigned char)*text)) return -1;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (*end != '\0' || errno == ERANGE || isnan(v) || isinf(v)) return -1;
  *out = v;
  return 0;
}

static int parse_int(const char *text, int64_t *out) {
  if (!*text || isspace((unsigned char)*text)) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (*end == '\0' && errno == 0) {
    *out = v;
    return 0;
  }
  double r; /* 1e6 and 2.0 are integers too */
  if (parse_real(text, &r) == 0 && isfinite(r) && r == floor(r) && fabs(r) < 9.0e15) {
    *out = (int64_t)r;
    return 0;
  }
  return -1;
}

static int parse_bool(const char *text, bool *out) {
  static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
  static const char *no[] = {"false", "False", "FALSE", "no", "No", "off", "Off"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (!strcmp(text, yes[i])) return *out = true, 0;
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (!strcmp(text, no[i])) return *out = false, 0;
  return -1;
}

/* Interval "[lo, hi)" etc.; returns 1 if v lies in it. */
static int in_range(const char *range, double v, char *why, size_t size) {
  if (!range) return 1;
  char lb = range[0], rb = range[strlen(range) - 1];
  double lo, hi;
  char los[32], his[32];
  if (sscanf(range + 1, " %31[^,], %31[^])]", los, his) != 2 || parse_real(los, &lo) ||
      parse_real(his, &hi))
    return 1; /* a malformed range in our own table: caught by the reference test */
  int ok = (lb == '[' ? v >= lo : v > lo) && (rb == ']' ? v <= hi : v < hi);
  if (!ok) {
    if (isinf(hi) && rb == ')')
      snprintf(why, size, "must be %s %s", lb == '[' ? ">=" : ">", los);
    else if (isinf(lo) && lb == '(')
      snprintf(why, size, "must be %s %s", rb == ']' ? "<=" : "<", his);
    else
      snprintf(why, size, "must be in %s", range);
  }
  return ok;
}

/* ------------------------------------------------------------------------- deck values */

/* Where key i was set, as the start of a message: "PATH:LINE: ", "-P " or "PATH: ". */
static void key_where(const struct gpa_deck *d, int i, char *out, size_t size) {
  if (d->origin[i] == GPA_FROM_DECK)
    snprintf(out, size, "%s:%d: ", d->path, d->line[i]);
  else if (d->origin[i] == GPA_FROM_OVERRIDE)
    snprintf(out, size, "-P ");
  else
    snprintf(out, size, "%s%s", d->path, d->path[0] ? ": " : "");
}

/* "WHERE section.key[entry]: message" (entry < 0: no index). */
static int vkey_error(const struct gpa_deck *d, int i, int entry, const char *fmt, va_list ap) {
  char msg[512], where[GPA_PATH_MAX + 32], index[32] = "";
  vsnprintf(msg, sizeof msg, fmt, ap);
  key_where(d, i, where, sizeof where);
  if (entry >= 0) snprintf(index, sizeof index, "[%d]", entry);
  return GPA_ERROR(GPA_ERR_INPUT, "%s%s.%s%s: %s", where, table[i].section, table[i].key, index,
                   msg);
}

static int key_error(const struct gpa_deck *d, int i, const char *fmt, ...) GPA_PRINTF(3, 4);
static int key_error(const struct gpa_deck *d, int i, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vkey_error(d, i, -1, fmt, ap);
  va_end(ap);
  return rc;
}

/* An error about entry `entry` (0-based) of list key i: "network.widths[0]: ...". */
static int entry_error(const struct gpa_deck *d, int i, int entry, const char *fmt, ...)
    GPA_PRINTF(4, 5);
static int entry_error(const struct gpa_deck *d, int i, int entry, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vkey_error(d, i, entry, fmt, ap);
  va_end(ap);
  return rc;
}

/* Bytes of the char array behind string key i. */
static size_t string_capacity(int i) {
  const size_t off = table[i].offset;
  if (off == OFF(source.dataset) || off == OFF(target.dataset)) return sizeof(((struct gpa_params *)0)->source.dataset);
  if (off == OFF(integrate.batch_key) || off == OFF(integrate.label_key))
    return sizeof(((struct gpa_params *)0)->integrate.batch_key);
  return GPA_PATH_MAX;
}

static const char *type_name(enum gpa_ptype t) {
  switch (t) {
  case GPA_PT_INT: return "an integer";
  case GPA_PT_REAL: return "a number";
  case GPA_PT_BOOL: return "true or false";
  case GPA_PT_ENUM: return "a name";
  case GPA_PT_STRING: return "a string";
  case GPA_PT_INTLIST: return "a list of integers";
  }
  return "?";
}

/* Sets scalar key i from text.  `quoted`: the YAML scalar was quoted (so it is a string). */
static int set_scalar(struct gpa_deck *d, int i, const char *text, int quoted) {
  const struct pdef *k = &table[i];
  char why[160];
  switch (k->type) {
  case GPA_PT_INT: {
    int64_t v;
    if (quoted || parse_int(text, &v))
      return key_error(d, i, "expected an integer, got '%s'", text);
    if (!in_range(k->range, (double)v, why, sizeof why))
      return key_error(d, i, "%s (got %s)", why, text);
    *(int64_t *)field(&d->p, i) = v;
    return GPA_OK;
  }
  case GPA_PT_REAL: {
    double v;
    if (quoted || parse_real(text, &v)) {
      if (!quoted && (strstr(text, "nan") || strstr(text, "NaN") || strstr(text, "NAN")))
        return key_error(d, i, "NaN is not allowed");
      return key_error(d, i, "expected a number, got '%s'", text);
    }
    if (!in_range(k->range, v, why, sizeof why)) return key_error(d, i, "%s (got %s)", why, text);
    *(double *)field(&d->p, i) = v;
    return GPA_OK;
  }
  case GPA_PT_BOOL: {
    bool v;
    if (quoted || parse_bool(text, &v))
      return key_error(d, i, "expected true or false, got '%s'", text);
    *(bool *)field(&d->p, i) = v;
    return GPA_OK;
  }
  case GPA_PT_ENUM: {
    int v = choice_index(k->choices, text);
    if (v < 0) {
      char list[256];
      choices_text(k->choices, list, sizeof list);
      return key_error(d, i, "'%s' is not one of: %s", text, list);
    }
    *(int *)field(&d->p, i) = v;
    return GPA_OK;
  }
  case GPA_PT_STRING: {
    size_t cap = string_capacity(i);
    if (strlen(text) >= cap) return key_error(d, i, "longer than %zu characters", cap - 1);
    memcpy(field(&d->p, i), text, strlen(text) + 1);
    return GPA_OK;
  }
  case GPA_PT_INTLIST: {
    /* From the command line or a flow scalar: "32,32,32" or "[32, 32, 32]". */
    struct gpa_int_list list = {0};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    char *s = buf;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '[') {
      s++;
      char *close = strrchr(s, ']');
      if (!close) return key_error(d, i, "expected a list of integers, got '%s'", text);
      *close = '\0';
    }
    for (char *tok = strtok(s, ", "); tok; tok = strtok(NULL, ", ")) {
      int64_t v;
      if (list.n == GPA_INT_LIST_MAX)
        return key_error(d, i, "at most %d entries", GPA_INT_LIST_MAX);
      if (parse_int(tok, &v))
        return entry_error(d, i, list.n, "expected an integer, got '%s'", tok);
      if (!in_range(k->range, (double)v, why, sizeof why))
        return entry_error(d, i, list.n, "%s (got %s)", why, tok);
      list.v[list.n++] = v;
    }
    *(struct gpa_int_list *)field(&d->p, i) = list;
    return GPA_OK;
  }
  }
  return GPA_ERROR(GPA_ERR_INTERNAL, "unknown parameter type");
}

void gpa_params_default(struct gpa_params *p) {
  struct gpa_deck d;
  memset(&d, 0, sizeof d);
  for (int i = 0; i < N_KEYS; i++) {
    const char *def = table[i].def;
    if (!strcmp(def, "\"\"")) def = "";
    int rc = set_scalar(&d, i, def, 0);
    (void)rc; /* the defaults are checked by the test suite (reference deck round trip) */
  }
  *p = d.p;
}

void gpa_deck_init(struct gpa_deck *deck) {
  memset(deck, 0, sizeof *deck);
  deck->n_keys = N_KEYS;
  gpa_params_default(&deck->p);
  gpa_error_clear();
}

/* ------------------------------------------------------------------------- YAML */

static int set_from_node(struct gpa_deck *d, int i, yaml_document_t *doc, yaml_node_t *node) {
  const struct pdef *k = &table[i];
  if (node->type == YAML_SCALAR_NODE) {
    const char *text = (const char *)node->data.scalar.value;
    int quoted = node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                 node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if (k->type == GPA_PT_STRING || k->type == GPA_PT_ENUM) quoted = 0;
    if (k->type == GPA_PT_INTLIST && !*text) {
      ((struct gpa_int_list *)field(&d->p, i))->n = 0;
      return GPA_OK;
    }
    return set_scalar(d, i, text, quoted);
  }
  if (node->type == YAML_SEQUENCE_NODE && k->type == GPA_PT_INTLIST) {
    struct gpa_int_list list = {0};
    char why[160];
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
      yaml_node_t *item = yaml_document_get_node(doc, *it);
      int64_t v;
      if (list.n == GPA_INT_LIST_MAX)
        return key_error(d, i, "at most %d entries", GPA_INT_LIST_MAX);
      if (!item || item->type != YAML_SCALAR_NODE)
        return entry_error(d, i, list.n, "expected an integer, got a %s",
                           item && item->type == YAML_MAPPING_NODE ? "mapping" : "list");
      const char *text = (const char *)item->data.scalar.value;
      if (parse_int(text, &v))
        return entry_error(d, i, list.n, "expected an integer, got '%s'", text);
      if (!in_range(k->range, (double)v, why, sizeof why))
        return entry_error(d, i, list.n, "%s (got %s)", why, text);
      list.v[list.n++] = v;
    }
    *(struct gpa_int_list *)field(&d->p, i) = list;
    return GPA_OK;
  }
  return key_error(d, i, "expected %s, got a %s", type_name(k->type),
                   node->type == YAML_MAPPING_NODE ? "mapping" : "list");
}

static int yaml_syntax_error(const char *path, const yaml_parser_t *parser) {
  return GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: YAML syntax error: %s %s", path,
                   parser->problem_mark.line + 1, parser->problem ? parser->problem : "",
                   parser->context ? parser->context : "");
}

/* Walks the deck's YAML events once before it is loaded, and refuses what the loader would
 * take too long over or silently drop: nesting deeper than GPA_DECK_MAX_DEPTH (libyaml's
 * scanner is quadratic in the depth of flow collections; the walk stops at the first level
 * too deep, after at most ~1 KiB of look-ahead), a second YAML document (the loader reads
 * only the first; an empty one after a trailing `---` is allowed), and an empty deck. */
static int prescan(const char *path, const char *text, size_t len) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return GPA_ERROR(GPA_ERR_NOMEM, "%s: cannot start the YAML parser", path);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  int rc = GPA_OK, depth = 0, docs = 0, content = 0, done = 0, ended = 0;
  while (rc == GPA_OK && !done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      if (ended) /* e.g. `...` then more text: that is a second document */
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: a deck is one YAML document; found a second one "
                       "(after a '---' or '...' line)", path, parser.problem_mark.line + 1);
      else
        rc = yaml_syntax_error(path, &parser);
      break;
    }
    const size_t line = ev.start_mark.line + 1;
    /* A document's root that is an empty plain scalar: nothing but `---` (or nothing). */
    const int empty_root = ev.type == YAML_SCALAR_EVENT && depth == 0 &&
                           ev.data.scalar.length == 0 && ev.data.scalar.plain_implicit;
    switch (ev.type) {
    case YAML_DOCUMENT_START_EVENT: docs++; break;
    case YAML_DOCUMENT_END_EVENT: ended = 1; break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
      if (docs > 1 && !empty_root) {
        rc = GPA_ERROR(GPA_ERR_INPUT,
                       "%s:%zu: a deck is one YAML document; found a second one (after a "
                       "'---' or '...' line)",
                       path, line);
        break;
      }
      if (!empty_root) content = 1;
      if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
        if (++depth > GPA_DECK_MAX_DEPTH)
          rc = GPA_ERROR(GPA_ERR_INPUT,
                         "%s:%zu: nested more than %d levels deep; a deck is a mapping of "
                         "sections of 'key: value' lines",
                         path, line, GPA_DECK_MAX_DEPTH);
      }
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: depth--; break;
    case YAML_STREAM_END_EVENT: done = 1; break;
    default: break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  if (rc == GPA_OK && !content)
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "%s: the deck is empty (`{}` is a deck of defaults; `gpa reference` lists "
                   "every key)",
                   path);
  return rc;
}

int gpa_deck_parse(struct gpa_deck *d, const char *path, const char *text, size_t len) {
  snprintf(d->path, sizeof d->path, "%s", path);
  if (len > GPA_DECK_MAX_BYTES)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %zu bytes; a deck may hold at most 1 MiB", path, len);
  GPA_CHECK(prescan(path, text, len));
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser))
    return GPA_ERROR(GPA_ERR_NOMEM, "%s: cannot start the YAML parser", path);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &doc)) {
    int rc = yaml_syntax_error(path, &parser);
    yaml_parser_delete(&parser);
    return rc;
  }
  int rc = GPA_OK;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) goto done; /* not reached: prescan refuses an empty deck */
  if (root->type != YAML_MAPPING_NODE) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: a deck is a mapping of sections (run:, source:, ...)",
                   path, root->start_mark.line + 1);
    goto done;
  }
  for (yaml_node_pair_t *sp = root->data.mapping.pairs.start;
       sp < root->data.mapping.pairs.top && rc == GPA_OK; sp++) {
    yaml_node_t *sk = yaml_document_get_node(&doc, sp->key);
    yaml_node_t *sv = yaml_document_get_node(&doc, sp->value);
    size_t sline = sk->start_mark.line + 1;
    if (sk->type != YAML_SCALAR_NODE) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: a section name must be a plain word", path, sline);
      break;
    }
    const char *sname = (const char *)sk->data.scalar.value;
    if (find_section(sname) < 0) {
      rc = GPA_ERROR(GPA_ERR_INPUT,
                     "%s:%zu: unknown section '%s' (sections: run, source, target, generated, "
                     "network, divergence, optimizer, transport, integrate, output)",
                     path, sline, sname);
      break;
    }
    if (sv->type == YAML_SCALAR_NODE && sv->data.scalar.length == 0) continue; /* "run:" */
    if (sv->type != YAML_MAPPING_NODE) {
      rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: section '%s' must hold 'key: value' lines", path,
                     sline, sname);
      break;
    }
    for (yaml_node_pair_t *kp = sv->data.mapping.pairs.start;
         kp < sv->data.mapping.pairs.top && rc == GPA_OK; kp++) {
      yaml_node_t *kk = yaml_document_get_node(&doc, kp->key);
      yaml_node_t *kv = yaml_document_get_node(&doc, kp->value);
      size_t line = kk->start_mark.line + 1;
      if (kk->type != YAML_SCALAR_NODE) {
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: a key must be a plain word", path, line);
        break;
      }
      const char *kname = (const char *)kk->data.scalar.value;
      int i = find_key(sname, kname);
      if (i < 0) {
        char hint[128];
        suggest_key(sname, kname, hint, sizeof hint);
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: %s.%s: unknown key%s", path, line, sname, kname,
                       hint);
        break;
      }
      if (d->origin[i] == GPA_FROM_DECK) {
        rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: %s.%s: set twice (first on line %d)", path, line,
                       sname, kname, d->line[i]);
        break;
      }
      d->origin[i] = GPA_FROM_DECK;
      d->line[i] = (int)line;
      rc = set_from_node(d, i, &doc, kv);
    }
  }
done:
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  return rc;
}

/* -P syntax errors (no '=', not two names joined by one '.') are usage errors (status 2);
 * unknown names and bad values are bad input (status 1), as in a deck. */
int gpa_deck_override(struct gpa_deck *d, const char *assignment) {
  const char *eq = strchr(assignment, '=');
  const char *dot = strchr(assignment, '.');
  if (!eq || !dot || dot > eq || dot == assignment || dot + 1 == eq ||
      memchr(dot + 1, '.', (size_t)(eq - dot - 1)))
    return GPA_ERROR(GPA_ERR_USAGE, "-P %s: expected section.key=value", assignment);
  char section[64], key[64];
  size_t sl = (size_t)(dot - assignment), kl = (size_t)(eq - dot - 1);
  if (sl >= sizeof section || kl >= sizeof key)
    return GPA_ERROR(GPA_ERR_INPUT, "-P %s: unknown key", assignment);
  memcpy(section, assignment, sl);
  section[sl] = '\0';
  memcpy(key, dot + 1, kl);
  key[kl] = '\0';
  int i = find_key(section, key);
  if (i < 0) {
    char hint[128] = "";
    if (find_section(section) >= 0) suggest_key(section, key, hint, sizeof hint);
    return GPA_ERROR(GPA_ERR_INPUT, "-P %s.%s: unknown key%s", section, key, hint);
  }
  d->origin[i] = GPA_FROM_OVERRIDE;
  return set_scalar(d, i, eq + 1, 0);
}

/* ------------------------------------------------------------------------- validation */

static int set_by(const struct gpa_deck *d, int i) { return d->origin[i] != GPA_FROM_DEFAULT; }

/* Whether key i means anything with the kinds chosen in p (source/target keys of other kinds
 * and divergence.alpha of the KL forms do not). */
static int applies(const struct gpa_params *p, int i) {
  if (table[i].kinds) {
    const struct gpa_dist_params *q = strcmp(table[i].section, "source") == 0 ? &p->source
                                                                               : &p->target;
    char kind[64];
    snprintf(kind, sizeof kind, "%s", gpa_choice_name(GPA_DIST_NAMES, q->kind));
    return choice_index(table[i].kinds, kind) >= 0;
  }
  if (table[i].offset == OFF(divergence.alpha)) return p->divergence.kind == GPA_DIV_ALPHA;
  return 1;
}

/* Records "PATH:LINE: section.key is ignored: not used by ... " for a set key that does not
 * apply to the chosen kind. */
static void warn_unused(struct gpa_deck *d, int i) {
  if (d->n_warnings == (int)(sizeof d->warnings / sizeof d->warnings[0])) return;
  char where[GPA_PATH_MAX + 32];
  if (d->origin[i] == GPA_FROM_DECK)
    snprintf(where, sizeof where, "%s:%d: ", d->path, d->line[i]);
  else
    snprintf(where, sizeof where, "-P ");
  const char *kind = table[i].kinds ? gpa_choice_name(GPA_DIST_NAMES,
                                                      strcmp(table[i].section, "source") == 0
                                                          ? d->p.source.kind
                                                          : d->p.target.kind)
                                    : gpa_choice_name(GPA_DIV_NAMES, d->p.divergence.kind);
  snprintf(d->warnings[d->n_warnings++], sizeof d->warnings[0],
           "%s%s.%s is ignored: not used by %s.kind '%s'", where, table[i].section, table[i].key,
           table[i].section, kind);
}

static int check_dist(struct gpa_deck *d, const char *sec, struct gpa_dist_params *q) {
  for (int i = 0; i < N_KEYS; i++) {
    if (strcmp(table[i].section, sec) != 0 || !set_by(d, i) || applies(&d->p, i)) continue;
    warn_unused(d, i);
  }
  int idim = find_key(sec, "dim"), ioff = find_key(sec, "offset"), in = find_key(sec, "n");
  switch (q->kind) {
  case GPA_DIST_MIXTURE:
    if (q->dim < 2) return key_error(d, idim, "the mixture needs dim >= 2");
    if (q->offset + 2 > q->dim)
      return key_error(d, ioff, "coordinates %lld and %lld do not fit in dim %lld",
                       (long long)q->offset, (long long)q->offset + 1, (long long)q->dim);
    break;
  case GPA_DIST_SWISS_ROLL:
    if (q->dim != 3) return key_error(d, idim, "the Swiss roll lives in dim 3");
    break;
  case GPA_DIST_SIERPINSKI:
    if (q->dim != 2 && q->dim != 3) return key_error(d, idim, "the carpet needs dim 2 or 3");
    break;
  case GPA_DIST_FASHION_MNIST:
    if (set_by(d, idim) && q->dim != 784)
      return key_error(d, idim, "Fashion-MNIST images have 784 pixels, not %lld",
                       (long long)q->dim);
    q->dim = 784;
    for (int j = 0; j < q->classes.n; j++)
      for (int k = 0; k < j; k++)
        if (q->classes.v[j] == q->classes.v[k])
          return key_error(d, find_key(sec, "classes"), "class %lld is listed twice",
                           (long long)q->classes.v[j]);
    break;
  case GPA_DIST_FILE:
    if (!q->file[0]) return key_error(d, find_key(sec, "file"), "kind 'file' needs a file name");
    if (!set_by(d, idim)) q->dim = 0; /* from the file */
    if (!set_by(d, in)) q->n = 0;     /* all rows */
    break;
  default:
    break;
  }
  return GPA_OK;
}

static int check_network(struct gpa_deck *d) {
  struct gpa_params *p = &d->p;
  if (p->network.widths.n > GPA_MAX_HIDDEN)
    return key_error(d, find_key("network", "widths"), "at most %d hidden layers",
                     GPA_MAX_HIDDEN);
  const struct gpa_int_list *conv = &p->network.conv_channels, *img = &p->network.image_shape;
  if (conv->n > GPA_MAX_CONV)
    return key_error(d, find_key("network", "conv_channels"), "at most %d convolutions",
                     GPA_MAX_CONV);
  const int64_t dim = p->target.dim ? p->target.dim : p->source.dim;
  if (conv->n > 0 && dim > 0) {
    int ii = find_key("network", "image_shape");
    if (img->n == 0) {
      int64_t s = (int64_t)llround(sqrt((double)dim));
      if (s * s != dim)
        return key_error(d, ii, "the convolutions need image_shape: dim %lld is not a square",
                         (long long)dim);
    } else if (img->n != 3 || img->v[0] * img->v[1] * img->v[2] != dim) {
      return key_error(d, ii, "expected [channels, height, width] with product dim = %lld",
                       (long long)dim);
    }
  }
  if (p->network.conditional && p->target.kind != GPA_DIST_FASHION_MNIST)
    return key_error(d, find_key("network", "conditional"),
                     "a conditional phi needs labelled targets (target.kind fashion_mnist)");
  return GPA_OK;
}

int gpa_deck_validate(struct gpa_deck *d) {
  struct gpa_params *p = &d->p;
  GPA_CHECK(check_dist(d, "source", &p->source));
  GPA_CHECK(check_dist(d, "target", &p->target));
  if (p->source.dim && p->target.dim && p->source.dim != p->target.dim) {
    int i = find_key("target", "dim");
    if (!set_by(d, i)) i = find_key("source", "dim");
    return key_error(d, i, "source.dim is %lld but target.dim is %lld",
                     (long long)p->source.dim, (long long)p->target.dim);
  }
  int ia = find_key("divergence", "alpha");
  if (set_by(d, ia) && !applies(p, ia)) warn_unused(d, ia);
  GPA_CHECK(check_network(d));
  if (!p->output.file[0]) {
    const char *base = d->path[0] ? strrchr(d->path, '/') : NULL;
    base = base ? base + 1 : (d->path[0] ? d->path : "gpa_run.yml");
    size_t len = strcspn(base, ".");
    if (len == 0) len = strlen(base);
    if (len > 200) len = 200;
    snprintf(p->output.file, sizeof p->output.file, "%.*s.h5", (int)len, base);
  }
  /* RUN.ckpt.h5 and RUN.stop beside RUN.h5 */
  char stem[GPA_PATH_MAX];
  snprintf(stem, sizeof stem, "%s", p->output.file);
  size_t sl = strlen(stem);
  if (sl > 3 && strcmp(stem + sl - 3, ".h5") == 0) stem[sl - 3] = '\0';
  if (strlen(stem) + 16 > GPA_PATH_MAX)
    return key_error(d, find_key("output", "file"), "too long");
  if (!p->output.checkpoint_file[0])
    snprintf(p->output.checkpoint_file, sizeof p->output.checkpoint_file, "%s.ckpt.h5", stem);
  if (!p->output.stop_file[0])
    snprintf(p->output.stop_file, sizeof p->output.stop_file, "%s.stop", stem);
  return GPA_OK;
}

static int values_equal(const struct gpa_params *a, const struct gpa_params *b, int i);

/* `gpa run` refuses a deck (or -P) that sets an integrate key to anything but its default: it
 * would ignore it and run the other sections.  Keys at their defaults (inputs/reference.yml,
 * the resolved deck of a run file) are harmless and allowed. */
int gpa_deck_check_command(const struct gpa_deck *d, const char *command) {
  if (strcmp(command, "run") != 0) return GPA_OK;
  struct gpa_params def;
  gpa_params_default(&def);
  for (int i = 0; i < N_KEYS; i++) {
    if (strcmp(table[i].section, "integrate") != 0 || d->origin[i] == GPA_FROM_DEFAULT ||
        values_equal(&def, &d->p, i))
      continue;
    if (d->origin[i] == GPA_FROM_OVERRIDE)
      return key_error(d, i, "the integrate section is for `gpa integrate`; `gpa run` would "
                       "ignore it");
    return key_error(d, i, "the integrate section is for `gpa integrate`; `gpa run` would "
                     "ignore it and run the other sections (gpa integrate %s, or remove the "
                     "section)", d->path);
  }
  return GPA_OK;
}

/* "1.6 PB": bytes in decimal units, three significant digits. */
static void bytes_text(double bytes, char *out, size_t size) {
  static const char *const unit[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000 && u < 6) {
    bytes /= 1000;
    u++;
  }
  snprintf(out, size, "%.3g %s", bytes, unit[u]);
}

int gpa_deck_check_memory(const struct gpa_deck *d, int ranks, double node_bytes) {
  const struct gpa_params *p = &d->p;
  if (ranks < 1) ranks = 1;
  const double dim = (double)(p->target.dim ? p->target.dim : p->source.dim);
  /* Phi's dense layers: dim (or, behind convolutions, at least 1) -> widths -> 1 output per
   * class; parameters, gradient and two Adam moments on every rank. */
  double params = 0, in = p->network.conv_channels.n > 0 ? 1 : dim;
  for (int l = 0; l < p->network.widths.n; l++) {
    const double w = (double)p->network.widths.v[l];
    params += in * w + w;
    in = w;
  }
  params += in * (p->network.conditional ? 10 : 1) + 1;
  struct {
    double bytes; /* per rank */
    int key;      /* the key named */
    const char *what;
    double n;
  } term[4] = {
      {8 * (double)p->source.n * dim / ranks, find_key("source", "n"), "source", (double)p->source.n},
      {8 * (double)p->target.n * dim / ranks, find_key("target", "n"), "target", (double)p->target.n},
      {8 * (double)p->generated.n * dim / ranks, find_key("generated", "n"), "generated",
       (double)p->generated.n},
      {8 * 4 * params, find_key("network", "widths"), "network", 0},
  };
  double total = 0;
  int big = 0;
  for (int t = 0; t < 4; t++) {
    total += term[t].bytes;
    if (term[t].bytes > term[big].bytes) big = t;
  }
  if (!(total > node_bytes)) return GPA_OK;
  char where[GPA_PATH_MAX + 32], need[32], have[32], all[32], what[400], share[96] = "";
  int key = term[big].key;
  if (big < 3 && d->origin[key] == GPA_FROM_DEFAULT) {
    /* the dimension made it too large: name it when it was set */
    int idim = find_key(p->target.dim && big == 1 ? "target" : "source", "dim");
    if (d->origin[idim] != GPA_FROM_DEFAULT) key = idim;
  }
  key_where(d, key, where, sizeof where);
  bytes_text(term[big].bytes * (big < 3 ? ranks : 1), need, sizeof need);
  bytes_text(node_bytes, have, sizeof have);
  bytes_text(total, all, sizeof all);
  if (big < 3) {
    const char *dsec = big == 1 && p->target.dim ? "target" : "source";
    snprintf(what, sizeof what, "%s.n x %s.dim = %.0f x %.0f", term[big].what, dsec, term[big].n,
             dim);
    if (ranks > 1) {
      char each[32];
      bytes_text(term[big].bytes, each, sizeof each);
      snprintf(share, sizeof share, " (%s on each of %d ranks)", each, ranks);
    }
  } else {
    char list[300];
    gpa_params_value_text(p, key, list, sizeof list);
    snprintf(what, sizeof what, "network.widths = %s with dim %.0f", list, dim);
    snprintf(share, sizeof share, " (phi's parameters, gradient and Adam moments, on every rank)");
  }
  if (term[big].bytes >= node_bytes)
    return GPA_ERROR(GPA_ERR_INPUT, "%s%s needs %s%s, more than this node's %s of memory",
                     where, what, need, share, have);
  return GPA_ERROR(GPA_ERR_INPUT,
                   "%s%s needs %s%s, and the deck %s per rank in all, more than this node's %s "
                   "of memory",
                   where, what, need, share, all, have);
}

/* ------------------------------------------------------------------------- restart */

static int values_equal(const struct gpa_params *a, const struct gpa_params *b, int i) {
  const void *va = gpa_params_value(a, i), *vb = gpa_params_value(b, i);
  switch (table[i].type) {
  case GPA_PT_INT: return *(const int64_t *)va == *(const int64_t *)vb;
  case GPA_PT_REAL: return *(const double *)va == *(const double *)vb;
  case GPA_PT_BOOL: return *(const bool *)va == *(const bool *)vb;
  case GPA_PT_ENUM: return *(const int *)va == *(const int *)vb;
  case GPA_PT_STRING: return strcmp(va, vb) == 0;
  case GPA_PT_INTLIST: {
    const struct gpa_int_list *la = va, *lb = vb;
    if (la->n != lb->n) return 0;
    for (int j = 0; j < la->n; j++)
      if (la->v[j] != lb->v[j]) return 0;
    return 1;
  }
  }
  return 0;
}

int gpa_params_restart_check(const struct gpa_params *ckpt, const struct gpa_params *now,
                             char *changes, size_t size) {
  size_t used = 0;
  if (size) changes[0] = '\0';
  for (int i = 0; i < N_KEYS; i++) {
    if (!applies(ckpt, i) && !applies(now, i)) continue;
    if (values_equal(ckpt, now, i)) continue;
    char was[300], is[300];
    gpa_params_value_text(ckpt, i, was, sizeof was);
    gpa_params_value_text(now, i, is, sizeof is);
    if (!table[i].may_change)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "restart: %s.%s is %s in the checkpoint but %s now; it defines the problem "
                       "and cannot change on a restart",
                       table[i].section, table[i].key, was, is);
    if (used + 1 < size)
      used += (size_t)snprintf(changes + used, size - used, "%s%s.%s: %s -> %s",
                               used ? "\n" : "", table[i].section, table[i].key, was, is);
    if (used >= size) used = size - 1;
  }
  return GPA_OK;
}

/* ------------------------------------------------------------------------- dumps */

static void print_real(FILE *out, double v) {
  if (isinf(v)) {
    fputs(v > 0 ? ".inf" : "-.inf", out);
    return;
  }
  char buf[40];
  for (int prec = 1; prec <= 17; prec++) { /* shortest text that reads back exactly */
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
  fputs(buf, out);
}

static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

static void print_value(FILE *out, const struct gpa_params *p, int i) {
  const void *v = gpa_params_value(p, i);
  switch (table[i].type) {
  case GPA_PT_INT: fprintf(out, "%lld", (long long)*(const int64_t *)v); break;
  case GPA_PT_REAL: print_real(out, *(const double *)v); break;
  case GPA_PT_BOOL: fputs(*(const bool *)v ? "true" : "false", out); break;
  case GPA_PT_ENUM: fputs(gpa_choice_name(table[i].choices, *(const int *)v), out); break;
  case GPA_PT_STRING: print_string(out, (const char *)v); break;
  case GPA_PT_INTLIST: {
    const struct gpa_int_list *l = v;
    fputc('[', out);
    for (int j = 0; j < l->n; j++) fprintf(out, "%s%lld", j ? ", " : "", (long long)l->v[j]);
    fputc(']', out);
    break;
  }
  }
}

void gpa_params_value_text(const struct gpa_params *p, int i, char *out, size_t size) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    snprintf(out, size, "?");
    return;
  }
  print_value(f, p, i);
  fclose(f);
  snprintf(out, size, "%s", text);
  free(text);
}

/* A file distribution whose n or dim is not set yet (0: all rows, the file's columns; resolved
 * when the file is read): the dump leaves the key out, so that it reads back as the same deck. */
static bool file_rows_unresolved(const struct gpa_params *p, int i) {
  const struct gpa_dist_params *q = strcmp(table[i].section, "source") == 0   ? &p->source
                                    : strcmp(table[i].section, "target") == 0 ? &p->target
                                                                                : NULL;
  if (!q || q->kind != GPA_DIST_FILE) return false;
  if (strcmp(table[i].key, "n") == 0) return q->n == 0;
  if (strcmp(table[i].key, "dim") == 0) return q->dim == 0;
  return false;
}

void gpa_params_dump(FILE *out, const struct gpa_params *p) {
  for (int s = 0; s < N_SECTIONS; s++) {
    fprintf(out, "%s:\n", sections[s]);
    for (int i = 0; i < N_KEYS; i++) {
      if (strcmp(table[i].section, sections[s]) != 0 || !applies(p, i) ||
          file_rows_unresolved(p, i))
        continue;
      fprintf(out, "  %s: ", table[i].key);
      print_value(out, p, i);
      fputc('\n', out);
    }
  }
}

static void print_wrapped(FILE *out, const char *text) {
  const int width = 92;
  const char *s = text;
  while (*s) {
    int len = (int)strlen(s);
    if (len > width) {
      len = width;
      while (len > 0 && s[len] != ' ') len--;
      if (len == 0) len = width;
    }
    fprintf(out, "  # %.*s\n", len, s);
    s += len;
    while (*s == ' ') s++;
  }
}

void gpa_params_reference(FILE *out) {
  struct gpa_params p;
  gpa_params_default(&p);
  fputs("# gpa input deck reference: every key with its default.\n"
        "# Generated by `gpa reference`; a test checks that this file matches it.\n"
        "# A deck sets only what differs from these defaults; `gpa run DECK.yml -P "
        "section.key=value`\n# overrides any key, and `--dry-run` prints the resolved deck.\n",
        out);
  for (int s = 0; s < N_SECTIONS; s++) {
    fprintf(out, "\n%s:\n", sections[s]);
    for (int i = 0; i < N_KEYS; i++) {
      if (strcmp(table[i].section, sections[s]) != 0) continue;
      char line[1024];
      snprintf(line, sizeof line, "%s", table[i].doc);
      print_wrapped(out, line);
      if (table[i].choices) {
        char list[256];
        choices_text(table[i].choices, list, sizeof list);
        snprintf(line, sizeof line, "one of: %s", list);
        print_wrapped(out, line);
      }
      if (table[i].range) fprintf(out, "  # range: %s\n", table[i].range);
      if (table[i].kinds) {
        char list[256];
        choices_text(table[i].kinds, list, sizeof list);
        fprintf(out, "  # used by kind: %s\n", list);
      }
      /* Keys of other kinds are shown commented out, so the file is a valid deck. */
      fprintf(out, applies(&p, i) ? "  %s: " : "  # %s: ", table[i].key);
      print_value(out, &p, i);
      fputc('\n', out);
    }
  }
}
