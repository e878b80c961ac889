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

/* ------------------------------------------------------------------------- choice names */

/* The deck names of each user-choice enum, in the enum's order. */
static const char *const dist_names[] = {"gaussian",     "mixture",    "student_t",
                                         "gen_gaussian", "swiss_roll", "sierpinski",
                                         "file",         "logistic",   "fashion_mnist"};
static const char *const act_names[] = {"relu", "leaky_relu", "smooth_relu", "same"};
static const char *const prec_names[] = {"double", "single"};
static const char *const norm_names[] = {"spectral", "frobenius"};
static const char *const classnorm_names[] = {"per_class", "joint"};
static const char *const div_names[] = {"kl", "kl-lt", "alpha"};
static const char *const opt_names[] = {"adam", "sgd"};
static const char *const int_names[] = {"euler", "heun", "rk4"};
static const char *const pca_names[] = {"auto", "dense", "randomized"};
static const char *const stage_names[] = {"retrain", "frozen"};
static const char *const field_names[] = {"auto", "on", "off"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
_Static_assert(COUNT(dist_names) == GPA_DIST_FASHION_MNIST + 1, "one name per gpa_dist_kind");
_Static_assert(COUNT(act_names) == GPA_ACT_SAME + 1, "one name per gpa_activation");
_Static_assert(COUNT(prec_names) == GPA_PREC_SINGLE + 1, "one name per gpa_precision");
_Static_assert(COUNT(norm_names) == GPA_NORM_FROBENIUS + 1, "one name per gpa_normalization");
_Static_assert(COUNT(classnorm_names) == GPA_CLASSNORM_JOINT + 1,
               "one name per gpa_class_normalization");
_Static_assert(COUNT(div_names) == GPA_DIV_ALPHA + 1, "one name per gpa_divergence_kind");
_Static_assert(COUNT(opt_names) == GPA_OPT_SGD + 1, "one name per gpa_optimizer_kind");
_Static_assert(COUNT(int_names) == GPA_INT_RK4 + 1, "one name per gpa_integrator_kind");
_Static_assert(COUNT(pca_names) == GPA_PCA_RANDOMIZED + 1, "one name per gpa_pca_method");
_Static_assert(COUNT(stage_names) == GPA_STAGES_FROZEN + 1, "one name per gpa_stage_mode");
_Static_assert(COUNT(field_names) == GPA_FIELD_OFF + 1, "one name per gpa_field_storage");

/* The values a choice key takes: the first n names of its enum. */
struct choices {
  const char *const *names;
  int n;
};

static const struct choices choice_lists[GPA_CHOICE_COUNT] = {
    [GPA_CHOICE_DIST] = {dist_names, COUNT(dist_names)},
    [GPA_CHOICE_ACT] = {act_names, GPA_ACT_SAME}, /* "same" is for the last layer only */
    [GPA_CHOICE_LAST_ACT] = {act_names, COUNT(act_names)},
    [GPA_CHOICE_PREC] = {prec_names, COUNT(prec_names)},
    [GPA_CHOICE_NORM] = {norm_names, COUNT(norm_names)},
    [GPA_CHOICE_CLASSNORM] = {classnorm_names, COUNT(classnorm_names)},
    [GPA_CHOICE_DIV] = {div_names, COUNT(div_names)},
    [GPA_CHOICE_OPT] = {opt_names, COUNT(opt_names)},
    [GPA_CHOICE_INT] = {int_names, COUNT(int_names)},
    [GPA_CHOICE_PCA] = {pca_names, COUNT(pca_names)},
    [GPA_CHOICE_STAGE] = {stage_names, COUNT(stage_names)},
    [GPA_CHOICE_FIELD] = {field_names, COUNT(field_names)},
};

/* ------------------------------------------------------------------------- the table */

struct pdef {
  const char *section, *key;
  enum gpa_ptype type;
  size_t offset, size;           /* the member of struct gpa_params: where, and its bytes */
  const char *def;               /* default, as YAML text */
  const char *range;             /* numbers: interval "(0, inf)", "[1, inf)" ...; NULL: any */
  const struct choices *choices; /* enums: the names; NULL otherwise */
  uint32_t kinds; /* source/target keys: bit k set when distribution kind k uses the key; 0: all */
  const char *doc;
  int may_change; /* a restart may change it */
};

#define OFF(member) offsetof(struct gpa_params, member)
/* The offset and size columns of a member. */
#define AT(member) OFF(member), sizeof(((struct gpa_params *)0)->member)
#define CH(name) &choice_lists[GPA_CHOICE_##name]
#define K(kind) ((uint32_t)1 << GPA_DIST_##kind)
_Static_assert(GPA_DIST_FASHION_MNIST < 32, "the kinds column is a 32-bit mask");

/* Entries leave out may_change (0) unless a restart may change the key. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

/* The keys shared by `source` and `target`; defaults differ between the two. */
/* clang-format off: the key table is aligned by hand, one key per entry. */
#define DIST_KEYS(SEC, M, KIND, N, MEAN, STD)                                                        \
  {SEC,                                                                                              \
   "kind",                                                                                           \
   GPA_PT_ENUM,                                                                                      \
   AT(M.kind),                                                                                       \
   KIND,                                                                                             \
   NULL,                                                                                             \
   CH(DIST),                                                                                         \
   0,                                                                                                \
   "distribution of the samples: gaussian N(mean, std^2 I); mixture of 4 Gaussians at "              \
   "(0,s),(s,0),(s,s),(0,0) (s = spacing), in coordinates offset, offset+1 of R^dim; "               \
   "student_t and gen_gaussian (density ~ exp(-|x|^beta)) with iid coordinates; swiss_roll "         \
   "in R^3; sierpinski carpet (one uniform point per filled cell; dim 3 puts it in the "             \
   "z = 0 plane); file: rows of an HDF5 dataset; logistic: iid logistic(mean, scale) "               \
   "coordinates (the paper's image noise); fashion_mnist: Fashion-MNIST images (pixels / 255, "      \
   "28 x 28 = 784 coordinates) of the chosen classes, picked by the seed"},                          \
      {SEC,     "n", GPA_PT_INT,                                                                     \
       AT(M.n), N,   "[1, inf)",                                                                     \
       NULL,    0,   "number of samples (file: default all rows; set it to take the first n rows)"}, \
      {SEC,       "dim", GPA_PT_INT,                                                                 \
       AT(M.dim), "2",   "[1, inf)",                                                                 \
       NULL,      0,     "dimension d (file: the dataset's number of columns)"},                     \
      {SEC,                                                                                          \
       "mean",                                                                                       \
       GPA_PT_REAL,                                                                                  \
       AT(M.mean),                                                                                   \
       MEAN,                                                                                         \
       "(-inf, inf)",                                                                                \
       NULL,                                                                                         \
       K(GAUSSIAN) | K(STUDENT_T) | K(GEN_GAUSSIAN) | K(LOGISTIC),                                   \
       "location, the same in every coordinate"},                                                    \
      {SEC,                                                                                          \
       "std",                                                                                        \
       GPA_PT_REAL,                                                                                  \
       AT(M.std),                                                                                    \
       STD,                                                                                          \
       "(0, inf)",                                                                                   \
       NULL,                                                                                         \
       K(GAUSSIAN) | K(MIXTURE),                                                                     \
       "standard deviation (mixture: of each component)"},                                           \
      {SEC,                                                                                          \
       "scale",                                                                                      \
       GPA_PT_REAL,                                                                                  \
       AT(M.scale),                                                                                  \
       "1.0",                                                                                        \
       "(0, inf)",                                                                                   \
       NULL,                                                                                         \
       K(STUDENT_T) | K(GEN_GAUSSIAN) | K(LOGISTIC),                                                 \
       "scale factor of each coordinate"},                                                           \
      {SEC,  "nu",         GPA_PT_REAL,         AT(M.nu), "1.0", "(0, inf)",                         \
       NULL, K(STUDENT_T), "degrees of freedom"},                                                    \
      {SEC,        "beta",          GPA_PT_REAL,                                                     \
       AT(M.beta), "0.4",           "(0, inf)",                                                      \
       NULL,       K(GEN_GAUSSIAN), "shape exponent: density ~ exp(-|x|^beta) per coordinate"},      \
      {SEC,           "spacing",  GPA_PT_REAL,                                                       \
       AT(M.spacing), "4.0",      "(0, inf)",                                                        \
       NULL,          K(MIXTURE), "distance s between neighbouring mixture centres"},                \
      {SEC,                                                                                          \
       "offset",                                                                                     \
       GPA_PT_INT,                                                                                   \
       AT(M.offset),                                                                                 \
       "0",                                                                                          \
       "[0, inf)",                                                                                   \
       NULL,                                                                                         \
       K(MIXTURE),                                                                                   \
       "first of the two coordinates that carry the mixture (others are 0)"},                        \
      {SEC,         "level",       GPA_PT_INT,                                                       \
       AT(M.level), "4",           "[1, 8]",                                                         \
       NULL,        K(SIERPINSKI), "carpet level: 8^level filled cells"},                            \
      {SEC,        "side",        GPA_PT_REAL,                                                       \
       AT(M.side), "10.0",        "(0, inf)",                                                        \
       NULL,       K(SIERPINSKI), "side of the square [0, side]^2 holding the carpet"},              \
      {SEC,         "noise",       GPA_PT_REAL,                                                      \
       AT(M.noise), "0.0",         "[0, inf)",                                                       \
       NULL,        K(SWISS_ROLL), "standard deviation of Gaussian noise added to each coordinate"}, \
      {SEC,                                                                                          \
       "file",                                                                                       \
       GPA_PT_STRING,                                                                                \
       AT(M.file),                                                                                   \
       "\"\"",                                                                                       \
       NULL,                                                                                         \
       NULL,                                                                                         \
       K(FILE) | K(FASHION_MNIST),                                                                   \
       "file: HDF5 file holding the samples; fashion_mnist: gzipped IDX images (\"\": Debian's "     \
       "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)"},                             \
      {SEC,           "dataset", GPA_PT_STRING,                                                      \
       AT(M.dataset), "/X",      NULL,                                                               \
       NULL,          K(FILE),   "dataset [rows, d] in that file (float32 or float64)"},             \
      {SEC,                                                                                          \
       "labels_file",                                                                                \
       GPA_PT_STRING,                                                                                \
       AT(M.labels_file),                                                                            \
       "\"\"",                                                                                       \
       NULL,                                                                                         \
       NULL,                                                                                         \
       K(FASHION_MNIST),                                                                             \
       "gzipped IDX labels of the images (\"\": the images' file name with labels-idx1 for "         \
       "images-idx3)"},                                                                              \
  {                                                                                                  \
    SEC, "classes", GPA_PT_INTLIST, AT(M.classes), "[]", "[0, 9]", NULL, K(FASHION_MNIST),           \
        "classes drawn ([]: all ten); the n samples are split evenly between them (default 200: "    \
        "200 of one class, or 20 of each of the ten)"                                                \
  }

static const struct pdef table[] = {
    {"run", "seed", GPA_PT_INT, AT(run.seed), "0", "[0, inf)", NULL, 0,
     "seed of the counter-based random numbers (samples, network initialisation)"},
    {"run", "flush_denormals", GPA_PT_BOOL, AT(run.flush_denormals), "true", NULL, NULL, 0,
     "flush denormal floats to zero (near convergence they make steps ~5x slower)"},
    {"run", "max_wall_time", GPA_PT_REAL, AT(run.max_wall_time), "0.0", "[0, inf)", NULL, 0,
     "seconds of wall time for this job (0: no limit): before it runs out, gpa writes a "
     "checkpoint, prints the restart command and exits with status 0",
     1},

    DIST_KEYS("source", source, "gaussian", "200", "0.0", "0.5"),
    DIST_KEYS("target", target, "mixture", "200", "0.0", "0.5"),

    {"generated", "n", GPA_PT_INT, AT(generated.n), "0", "[0, inf)", NULL, 0,
     "extra particles drawn from the source (their own random stream) and moved by each step's "
     "field without being trained on: the paper's generated particles"},

    {"network", "widths", GPA_PT_INTLIST, AT(network.widths), "[32, 32, 32]", "[1, inf)", NULL, 0,
     "widths of the hidden layers of the discriminator phi (at most 8 layers)"},
    {"network", "activation", GPA_PT_ENUM, AT(network.activation), "relu", NULL, CH(ACT), 0,
     "activation of the hidden layers (all 1-Lipschitz)"},
    {"network", "last_activation", GPA_PT_ENUM, AT(network.last_activation), "same", NULL,
     CH(LAST_ACT), 0, "activation of the last hidden layer; same: as activation"},
    {"network", "smooth_eps", GPA_PT_REAL, AT(network.smooth_eps), "0.5", "(0, inf)", NULL, 0,
     "smooth_relu: width eps of the C^2 transition (x - eps for x >= 2 eps)"},
    {"network", "leaky_slope", GPA_PT_REAL, AT(network.leaky_slope), "0.2", "[0, 1]", NULL, 0,
     "leaky_relu: slope for negative inputs"},
    {"network", "normalization", GPA_PT_ENUM, AT(network.normalization), "spectral", NULL, CH(NORM),
     0,
     "how each weight matrix is held at norm L^(1/layers): spectral (power iteration, "
     "persistent vectors) or frobenius (stricter, the reference code's scheme)"},
    {"network", "precision", GPA_PT_ENUM, AT(network.precision), "double", NULL, CH(PREC), 0,
     "arithmetic of phi's forward and backward passes: double, or single (float32 activations "
     "and products, about twice as fast; theta, the gradient sums, the optimizer and the "
     "particles stay double)"},
    {"network", "power_iterations", GPA_PT_INT, AT(network.power_iterations), "1", "[1, 100]", NULL,
     0, "spectral: power iterations per update (the vectors persist across updates)"},
    {"network", "conv_channels", GPA_PT_INTLIST, AT(network.conv_channels), "[]", "[1, inf)", NULL,
     0,
     "output channels of the convolutions in front of the dense layers (at most 4; []: none); "
     "each kernel is normalised like the matrix [in_channels * k * k][out_channels]"},
    {"network", "image_shape", GPA_PT_INTLIST, AT(network.image_shape), "[]", "[1, inf)", NULL, 0,
     "[channels, height, width] of the input images, stored channel-last ([]: [1, s, s] "
     "with s * s = dim)"},
    {"network", "conv_kernel", GPA_PT_INT, AT(network.conv_kernel), "5", "[1, 15]", NULL, 0,
     "side k of the square convolution kernels"},
    {"network", "conv_stride", GPA_PT_INT, AT(network.conv_stride), "2", "[1, 4]", NULL, 0,
     "stride of the convolutions (\"same\" padding: output side ceil(side / stride))"},
    {"network", "conv_activation", GPA_PT_ENUM, AT(network.conv_activation), "leaky_relu", NULL,
     CH(ACT), 0, "activation after each convolution"},
    {"network", "dropout", GPA_PT_REAL, AT(network.dropout), "0.0", "[0, 1)", NULL, 0,
     "probability of zeroing each convolution output while phi is trained (never when the "
     "particles move); the kept ones are scaled by 1 / (1 - dropout)"},
    {"network", "conditional", GPA_PT_BOOL, AT(network.conditional), "false", NULL, NULL, 0,
     "one output per class: phi(x) is the output of x's class (labelled targets; particle i "
     "takes the class of target i mod M)"},
    {"network", "class_normalization", GPA_PT_ENUM, AT(network.class_normalization), "per_class",
     NULL, CH(CLASSNORM), 0,
     "conditional phi: how the output layer [width][classes] is held at norm L^(1/layers): "
     "per_class (each class's column, so each class's phi has the bound L) or joint (the whole "
     "matrix, as the reference code; the classes then share the bound and move more slowly)"},

    {"divergence", "kind", GPA_PT_ENUM, AT(divergence.kind), "kl", NULL, CH(DIV), 0,
     "kl: KL, Donsker-Varadhan form; kl-lt: KL, Legendre form with trained nu; alpha: "
     "alpha-divergence (alpha > 1) with trained nu"},
    {"divergence", "alpha", GPA_PT_REAL, AT(divergence.alpha), "2.0", "(1, inf)", NULL, 0,
     "alpha of the alpha-divergence (kind alpha only)"},
    {"divergence", "L", GPA_PT_REAL, AT(divergence.L), "1.0", "(0, inf]", NULL, 0,
     "Lipschitz constant of phi (the particles' speed limit); .inf: unconstrained"},

    {"optimizer", "kind", GPA_PT_ENUM, AT(optimizer.kind), "adam", NULL, CH(OPT), 0,
     "gradient ascent on the objective: adam or plain sgd"},
    {"optimizer", "lr", GPA_PT_REAL, AT(optimizer.lr), "1.0e-3", "(0, inf)", NULL, 0,
     "learning rate"},
    {"optimizer", "epochs", GPA_PT_INT, AT(optimizer.epochs), "3", "[1, inf)", NULL, 0,
     "updates of phi per particle step (and per retrained Runge-Kutta stage)"},
    {"optimizer", "beta1", GPA_PT_REAL, AT(optimizer.beta1), "0.9", "[0, 1)", NULL, 0,
     "adam: decay of the first moment"},
    {"optimizer", "beta2", GPA_PT_REAL, AT(optimizer.beta2), "0.999", "[0, 1)", NULL, 0,
     "adam: decay of the second moment"},
    {"optimizer", "eps", GPA_PT_REAL, AT(optimizer.eps), "1.0e-8", "(0, inf)", NULL, 0,
     "adam: denominator guard"},
    {"optimizer", "reset_moments", GPA_PT_BOOL, AT(optimizer.reset_moments), "true", NULL, NULL, 0,
     "adam: restart the moments at every training call (each step and stage), as the "
     "reference code; false keeps them across steps"},

    {"transport", "max_steps", GPA_PT_INT, AT(transport.max_steps), "500", "[0, inf)", NULL, 0,
     "number of particle steps", 1},
    {"transport", "dt", GPA_PT_REAL, AT(transport.dt), "0.5", "(0, inf)", NULL, 0,
     "time step: particles move by -dt grad phi, at most L dt per step"},
    {"transport", "integrator", GPA_PT_ENUM, AT(transport.integrator), "euler", NULL, CH(INT), 0,
     "time integrator (explicit Runge-Kutta tableau)"},
    {"transport", "stages", GPA_PT_ENUM, AT(transport.stages), "retrain", NULL, CH(STAGE), 0,
     "heun/rk4: retrain phi at every stage's positions (the reference scheme) or evaluate the "
     "step's phi at all stages (frozen, cheaper)"},
    {"transport", "ke_tol", GPA_PT_REAL, AT(transport.ke_tol), "0.0", "[0, inf)", NULL, 0,
     "stop when the kinetic energy mean |grad phi|^2 falls below this (0: never)", 1},
    {"transport", "div_tol", GPA_PT_REAL, AT(transport.div_tol), "-.inf", "[-inf, inf)", NULL, 0,
     "stop when the divergence estimate falls below this (-.inf: never)", 1},
    {"transport", "cfl_warn", GPA_PT_REAL, AT(transport.cfl_warn), "0.25", "(0, inf]", NULL, 0,
     "warn when one step moves a particle further than this fraction of the target's spread "
     "(rms distance to its mean)",
     1},

    {"integrate", "source_file", GPA_PT_STRING, AT(integrate.source_file), "\"\"", NULL, NULL, 0,
     "gpa integrate: HDF5 layout-v1 or AnnData .h5ad file of the source samples (rows of "
     "/X: samples x genes)"},
    {"integrate", "target_file", GPA_PT_STRING, AT(integrate.target_file), "\"\"", NULL, NULL, 0,
     "file of the target samples; \"\": the source file (then select by batch); genes are "
     "matched by id when the files differ"},
    {"integrate", "source_batch", GPA_PT_INTLIST, AT(integrate.source_batch), "[]", "[0, inf)",
     NULL, 0, "batch codes (obs column batch_key) of the source samples; []: all"},
    {"integrate", "target_batch", GPA_PT_INTLIST, AT(integrate.target_batch), "[]", "[0, inf)",
     NULL, 0, "batch codes of the target samples; []: all"},
    {"integrate", "batch_key", GPA_PT_STRING, AT(integrate.batch_key), "batch", NULL, NULL, 0,
     "obs column of batch codes"},
    {"integrate", "label_key", GPA_PT_STRING, AT(integrate.label_key), "label", NULL, NULL, 0,
     "obs column of labels: each label is transported by its own flow (\"\": one flow for all; "
     "samples with a missing label, code -1, are left out)"},
    {"integrate", "pair_key", GPA_PT_STRING, AT(integrate.pair_key), "\"\"", NULL, NULL, 0,
     "obs column naming which source samples belong together (a subject or donor; -1: "
     "none): the report says how many keep a partner as nearest source neighbour (\"\": no "
     "pairing)"},
    {"integrate", "components", GPA_PT_INT, AT(integrate.components), "50", "[1, inf)", NULL, 0,
     "principal components k of the latent space (the default is lowered to samples - 1)"},
    {"integrate", "latent_scale", GPA_PT_REAL, AT(integrate.latent_scale), "10.0", "(0, inf)", NULL,
     0,
     "latent coordinates are divided by this before transport (particle speeds are "
     "at most L)"},
    {"integrate", "pca", GPA_PT_ENUM, AT(integrate.pca), "auto", NULL, CH(PCA), 0,
     "dense: ScaLAPACK SVD; randomized: distributed randomized SVD; auto: dense when "
     "min(samples, genes) <= 4000 and samples * genes <= 5e7"},
    {"integrate", "pca_oversample", GPA_PT_INT, AT(integrate.pca_oversample), "10", "[0, inf)",
     NULL, 0, "randomized PCA: extra columns of the random test matrix"},
    {"integrate", "pca_power_iterations", GPA_PT_INT, AT(integrate.pca_power_iterations), "4",
     "[0, 50]", NULL, 0, "randomized PCA: power iterations"},
    {"integrate", "keep_residual", GPA_PT_BOOL, AT(integrate.keep_residual), "true", NULL, NULL, 0,
     "corrected sample = the sample moved by its latent displacement, keeping its part "
     "outside the latent space (false: the decoded latent point, as the paper)"},
    {"integrate", "metric_samples", GPA_PT_INT, AT(integrate.metric_samples), "2000", "[10, inf)",
     NULL, 0,
     "at most this many samples per set enter the report's distances and "
     "neighbour statistics (a seeded random subset)"},

    {"output", "file", GPA_PT_STRING, AT(output.file), "\"\"", NULL, NULL, 0,
     "run file (HDF5); default: the deck's name with .h5, in the current directory"},
    {"output", "trajectory_every", GPA_PT_INT, AT(output.trajectory_every), "10", "[0, inf)", NULL,
     0, "store all particle positions every this many steps (0: never)", 1},
    {"output", "checkpoint_every", GPA_PT_INT, AT(output.checkpoint_every), "0", "[0, inf)", NULL,
     0,
     "write a restart checkpoint every this many steps, and at the end (0: only "
     "when stopped by a signal, the stop file or run.max_wall_time)",
     1},
    {"output", "progress_every", GPA_PT_INT, AT(output.progress_every), "10", "[0, inf)", NULL, 0,
     "print a progress line every this many steps (0: never)", 1},
    {"output", "checkpoint_file", GPA_PT_STRING, AT(output.checkpoint_file), "\"\"", NULL, NULL, 0,
     "checkpoint file; default: RUN.ckpt.h5 beside the run file RUN.h5 (the previous one "
     "is kept as RUN.ckpt.prev.h5)",
     1},
    {"output", "stop_file", GPA_PT_STRING, AT(output.stop_file), "\"\"", NULL, NULL, 0,
     "when this file appears the run writes a checkpoint and exits; default: RUN.stop beside "
     "the run file",
     1},
    {"output", "store_field", GPA_PT_ENUM, AT(output.store_field), "auto", NULL, CH(FIELD), 0,
     "store phi's parameters for every step and stage in /field (the learned vector field "
     "that `gpa transport` and `gpa sample` replay); auto: when it takes under 1 GiB"},
};
/* clang-format on */

#undef AT
#undef CH
#undef K

enum { N_KEYS = (int)(sizeof table / sizeof table[0]) };
_Static_assert((int)N_KEYS <= (int)GPA_DECK_MAX_KEYS, "struct gpa_deck holds the keys");

static const char *const sections[] = {"run",       "source",     "target",    "generated",
                                       "network",   "divergence", "optimizer", "transport",
                                       "integrate", "output"};
enum { N_SECTIONS = COUNT(sections) };
static const struct choices section_list = {sections, N_SECTIONS};

/* ------------------------------------------------------------------------- small helpers */

static const char *name_of(const struct choices *c, int value) {
  return value >= 0 && value < c->n ? c->names[value] : "?";
}

const char *gpa_choice_name(enum gpa_choice choice, int value) {
  if ((int)choice < 0 || choice >= GPA_CHOICE_COUNT) return "?";
  return name_of(&choice_lists[choice], value);
}

static int choice_index(const struct choices *c, const char *text) {
  for (int v = 0; v < c->n; v++)
    if (strcmp(c->names[v], text) == 0) return v;
  return -1;
}

/* Lists the names of c whose bit is set in `mask` as "a, b, c". */
static void names_text(const struct choices *c, uint32_t mask, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int v = 0; v < c->n && v < 32 && used < size; v++)
    if (mask >> v & 1u)
      used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", c->names[v]);
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
  if (best >= 0) snprintf(out, size, " (did you mean '%s.%s'?)", section, table[best].key);
  else out[0] = '\0';
}

/* The member of p that key i sets. */
static void *member_ptr(struct gpa_params *p, int i) { return (char *)p + table[i].offset; }

const void *gpa_params_value(const struct gpa_params *p, int i) {
  return (const char *)p + table[i].offset;
}

int gpa_params_count(void) { return N_KEYS; }
const char *gpa_params_section(int i) { return table[i].section; }
const char *gpa_params_key(int i) { return table[i].key; }
enum gpa_ptype gpa_params_type(int i) { return table[i].type; }
const char *gpa_params_enum_name(int i, int value) {
  return table[i].choices ? name_of(table[i].choices, value) : "?";
}

/* Whether key i was set by the deck or an override. */
static int set_by(const struct gpa_deck *d, int i) { return d->origin[i] != GPA_FROM_DEFAULT; }

bool gpa_deck_is_set(const struct gpa_deck *d, const char *section_dot_key) {
  const char *dot = strchr(section_dot_key, '.');
  char section[64];
  if (!dot || (size_t)(dot - section_dot_key) >= sizeof section) return false;
  memcpy(section, section_dot_key, (size_t)(dot - section_dot_key));
  section[dot - section_dot_key] = '\0';
  const int i = find_key(section, dot + 1);
  return i >= 0 && set_by(d, i);
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
    if (isinf(hi) && rb == ')') snprintf(why, size, "must be %s %s", lb == '[' ? ">=" : ">", los);
    else if (isinf(lo) && lb == '(')
      snprintf(why, size, "must be %s %s", rb == ']' ? "<=" : "<", his);
    else snprintf(why, size, "must be in %s", range);
  }
  return ok;
}

/* ------------------------------------------------------------------------- deck values */

/* Where key i was set, as the start of a message: "PATH:LINE: ", "-P " or "PATH: ". */
static void key_where(const struct gpa_deck *d, int i, char *out, size_t size) {
  if (d->origin[i] == GPA_FROM_DECK) snprintf(out, size, "%s:%d: ", d->path, d->line[i]);
  else if (d->origin[i] == GPA_FROM_OVERRIDE) snprintf(out, size, "-P ");
  else snprintf(out, size, "%s%s", d->path, d->path[0] ? ": " : "");
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

/* ------------------------------------------------------------------------- setting keys */

static const char *type_name(enum gpa_ptype t) {
  switch (t) {
    case GPA_PT_INT:
      return "an integer";
    case GPA_PT_REAL:
      return "a number";
    case GPA_PT_BOOL:
      return "true or false";
    case GPA_PT_ENUM:
      return "a name";
    case GPA_PT_STRING:
      return "a string";
    case GPA_PT_INTLIST:
      return "a list of integers";
  }
  return "?";
}

static int set_int(struct gpa_deck *d, int i, const char *text, int quoted) {
  int64_t v;
  char why[160];
  if (quoted || parse_int(text, &v)) return key_error(d, i, "expected an integer, got '%s'", text);
  if (!in_range(table[i].range, (double)v, why, sizeof why))
    return key_error(d, i, "%s (got %s)", why, text);
  *(int64_t *)member_ptr(&d->p, i) = v;
  return GPA_OK;
}

static int set_real(struct gpa_deck *d, int i, const char *text, int quoted) {
  double v;
  char why[160];
  if (quoted || parse_real(text, &v)) {
    if (!quoted && (strstr(text, "nan") || strstr(text, "NaN") || strstr(text, "NAN")))
      return key_error(d, i, "NaN is not allowed");
    return key_error(d, i, "expected a number, got '%s'", text);
  }
  if (!in_range(table[i].range, v, why, sizeof why))
    return key_error(d, i, "%s (got %s)", why, text);
  *(double *)member_ptr(&d->p, i) = v;
  return GPA_OK;
}

static int set_bool(struct gpa_deck *d, int i, const char *text, int quoted) {
  bool v;
  if (quoted || parse_bool(text, &v))
    return key_error(d, i, "expected true or false, got '%s'", text);
  *(bool *)member_ptr(&d->p, i) = v;
  return GPA_OK;
}

static int set_enum(struct gpa_deck *d, int i, const char *text) {
  const int v = choice_index(table[i].choices, text);
  if (v < 0) {
    char list[256];
    names_text(table[i].choices, UINT32_MAX, list, sizeof list);
    return key_error(d, i, "'%s' is not one of: %s", text, list);
  }
  *(int *)member_ptr(&d->p, i) = v;
  return GPA_OK;
}

static int set_string(struct gpa_deck *d, int i, const char *text) {
  const size_t cap = table[i].size; /* bytes of the char array */
  if (strlen(text) >= cap) return key_error(d, i, "longer than %zu characters", cap - 1);
  memcpy(member_ptr(&d->p, i), text, strlen(text) + 1);
  return GPA_OK;
}

/* Appends an entry to `list`, the value of list key i being read: its text, or NULL when the
 * entry is a YAML `what` ("list", "mapping") instead of a number. */
static int list_push(struct gpa_deck *d, int i, struct gpa_int_list *list, const char *text,
                     const char *what) {
  int64_t v;
  char why[160];
  if (list->n == GPA_INT_LIST_MAX) return key_error(d, i, "at most %d entries", GPA_INT_LIST_MAX);
  if (!text) return entry_error(d, i, list->n, "expected an integer, got a %s", what);
  if (parse_int(text, &v)) return entry_error(d, i, list->n, "expected an integer, got '%s'", text);
  if (!in_range(table[i].range, (double)v, why, sizeof why))
    return entry_error(d, i, list->n, "%s (got %s)", why, text);
  list->v[list->n++] = v;
  return GPA_OK;
}

/* A list from the command line or a flow scalar: "32,32,32" or "[32, 32, 32]". */
static int set_list_text(struct gpa_deck *d, int i, const char *text) {
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
  for (char *tok = strtok(s, ", "); tok; tok = strtok(NULL, ", "))
    GPA_CHECK(list_push(d, i, &list, tok, NULL));
  *(struct gpa_int_list *)member_ptr(&d->p, i) = list;
  return GPA_OK;
}

/* Sets scalar key i from text.  `quoted`: the YAML scalar was quoted (so it is a string). */
static int set_scalar(struct gpa_deck *d, int i, const char *text, int quoted) {
  switch (table[i].type) {
    case GPA_PT_INT:
      return set_int(d, i, text, quoted);
    case GPA_PT_REAL:
      return set_real(d, i, text, quoted);
    case GPA_PT_BOOL:
      return set_bool(d, i, text, quoted);
    case GPA_PT_ENUM:
      return set_enum(d, i, text);
    case GPA_PT_STRING:
      return set_string(d, i, text);
    case GPA_PT_INTLIST:
      return set_list_text(d, i, text);
  }
  return GPA_ERROR(GPA_ERR_INTERNAL, "unknown parameter type");
}

int gpa_params_default(struct gpa_params *p) {
  struct gpa_deck d;
  memset(&d, 0, sizeof d);
  snprintf(d.path, sizeof d.path, "config.c key table"); /* a bad default is our bug */
  for (int i = 0; i < N_KEYS; i++)
    GPA_CHECK(set_scalar(&d, i, strcmp(table[i].def, "\"\"") == 0 ? "" : table[i].def, 0));
  *p = d.p;
  return GPA_OK;
}

int gpa_deck_init(struct gpa_deck *deck) {
  memset(deck, 0, sizeof *deck);
  gpa_error_clear();
  GPA_CHECK(gpa_params_default(&deck->p));
  return GPA_OK;
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
      ((struct gpa_int_list *)member_ptr(&d->p, i))->n = 0;
      return GPA_OK;
    }
    return set_scalar(d, i, text, quoted);
  }
  if (node->type == YAML_SEQUENCE_NODE && k->type == GPA_PT_INTLIST) {
    struct gpa_int_list list = {0};
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
         it++) {
      const yaml_node_t *item = yaml_document_get_node(doc, *it);
      const int scalar = item && item->type == YAML_SCALAR_NODE;
      GPA_CHECK(list_push(d, i, &list, scalar ? (const char *)item->data.scalar.value : NULL,
                          item && item->type == YAML_MAPPING_NODE ? "mapping" : "list"));
    }
    *(struct gpa_int_list *)member_ptr(&d->p, i) = list;
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

static int second_document(const char *path, size_t line) {
  return GPA_ERROR(GPA_ERR_INPUT,
                   "%s:%zu: a deck is one YAML document; found a second one (after a '---' or "
                   "'...' line)",
                   path, line);
}

/* What prescan has seen so far. */
struct scan {
  int depth, docs, content, done, ended;
};

/* Takes one YAML event of the prescan, and deletes it. */
static int scan_event(struct scan *s, const char *path, yaml_event_t *ev) {
  const size_t line = ev->start_mark.line + 1;
  /* A document's root that is an empty plain scalar: nothing but `---` (or nothing). */
  const int empty_root = ev->type == YAML_SCALAR_EVENT && s->depth == 0 &&
                         ev->data.scalar.length == 0 && ev->data.scalar.plain_implicit;
  const int opens = ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT;
  int rc = GPA_OK;
  switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
      s->docs++;
      break;
    case YAML_DOCUMENT_END_EVENT:
      s->ended = 1;
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
      if (s->docs > 1 && !empty_root) {
        rc = second_document(path, line);
        break;
      }
      if (!empty_root) s->content = 1;
      if (opens && ++s->depth > GPA_DECK_MAX_DEPTH)
        rc = GPA_ERROR(GPA_ERR_INPUT,
                       "%s:%zu: nested more than %d levels deep; a deck is a mapping of sections "
                       "of 'key: value' lines",
                       path, line, GPA_DECK_MAX_DEPTH);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      s->depth--;
      break;
    case YAML_STREAM_END_EVENT:
      s->done = 1;
      break;
    default:
      break;
  }
  yaml_event_delete(ev);
  return rc;
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
  struct scan s = {0};
  int rc = GPA_OK;
  while (!s.done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      /* e.g. `...` then more text: that is a second document */
      rc = s.ended ? second_document(path, parser.problem_mark.line + 1)
                   : yaml_syntax_error(path, &parser);
      goto done;
    }
    GPA_CHECK_GOTO(rc, scan_event(&s, path, &ev), done);
  }
  if (!s.content)
    rc = GPA_ERROR(GPA_ERR_INPUT,
                   "%s: the deck is empty (`{}` is a deck of defaults; `gpa reference` lists "
                   "every key)",
                   path);
done:
  yaml_parser_delete(&parser);
  return rc;
}

/* One `key: value` line of section `sname`. */
static int parse_key(struct gpa_deck *d, const char *path, yaml_document_t *doc, const char *sname,
                     const yaml_node_pair_t *kp) {
  yaml_node_t *kk = yaml_document_get_node(doc, kp->key);
  yaml_node_t *kv = yaml_document_get_node(doc, kp->value);
  const size_t line = kk->start_mark.line + 1;
  if (kk->type != YAML_SCALAR_NODE)
    return GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: a key must be a plain word", path, line);
  const char *kname = (const char *)kk->data.scalar.value;
  const int i = find_key(sname, kname);
  if (i < 0) {
    char hint[128];
    suggest_key(sname, kname, hint, sizeof hint);
    return GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: %s.%s: unknown key%s", path, line, sname, kname, hint);
  }
  if (d->origin[i] == GPA_FROM_DECK)
    return GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: %s.%s: set twice (first on line %d)", path, line,
                     sname, kname, d->line[i]);
  d->origin[i] = GPA_FROM_DECK;
  d->line[i] = (int)line;
  return set_from_node(d, i, doc, kv);
}

/* One `section:` of the deck's mapping, with its keys. */
static int parse_section(struct gpa_deck *d, const char *path, yaml_document_t *doc,
                         const yaml_node_pair_t *sp) {
  yaml_node_t *sk = yaml_document_get_node(doc, sp->key);
  yaml_node_t *sv = yaml_document_get_node(doc, sp->value);
  const size_t sline = sk->start_mark.line + 1;
  if (sk->type != YAML_SCALAR_NODE)
    return GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: a section name must be a plain word", path, sline);
  const char *sname = (const char *)sk->data.scalar.value;
  if (find_section(sname) < 0) {
    char list[256];
    names_text(&section_list, UINT32_MAX, list, sizeof list);
    return GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: unknown section '%s' (sections: %s)", path, sline,
                     sname, list);
  }
  if (sv->type == YAML_SCALAR_NODE && sv->data.scalar.length == 0) return GPA_OK; /* "run:" */
  if (sv->type != YAML_MAPPING_NODE)
    return GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: section '%s' must hold 'key: value' lines", path,
                     sline, sname);
  for (const yaml_node_pair_t *kp = sv->data.mapping.pairs.start; kp < sv->data.mapping.pairs.top;
       kp++)
    GPA_CHECK(parse_key(d, path, doc, sname, kp));
  return GPA_OK;
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
    const int rc = yaml_syntax_error(path, &parser);
    yaml_parser_delete(&parser);
    return rc;
  }
  int rc = GPA_OK;
  const yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) goto done; /* not reached: prescan refuses an empty deck */
  if (root->type != YAML_MAPPING_NODE) {
    rc = GPA_ERROR(GPA_ERR_INPUT, "%s:%zu: a deck is a mapping of sections (run:, source:, ...)",
                   path, root->start_mark.line + 1);
    goto done;
  }
  for (const yaml_node_pair_t *sp = root->data.mapping.pairs.start;
       sp < root->data.mapping.pairs.top; sp++)
    GPA_CHECK_GOTO(rc, parse_section(d, path, &doc, sp), done);
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

/* Whether key i means anything with the kinds chosen in p (source/target keys of other kinds
 * and divergence.alpha of the KL forms do not). */
static int applies(const struct gpa_params *p, int i) {
  if (table[i].kinds) {
    const struct gpa_dist_params *q =
        strcmp(table[i].section, "source") == 0 ? &p->source : &p->target;
    return q->kind >= 0 && q->kind < 32 && (table[i].kinds >> q->kind & 1u);
  }
  if (table[i].offset == OFF(divergence.alpha)) return p->divergence.kind == GPA_DIV_ALPHA;
  return 1;
}

/* Records "PATH:LINE: section.key is ignored: not used by ... " for a set key that does not
 * apply to the chosen kind. */
static void warn_unused(struct gpa_deck *d, int i) {
  if (d->n_warnings == (int)(sizeof d->warnings / sizeof d->warnings[0])) return;
  char where[GPA_PATH_MAX + 32];
  if (d->origin[i] == GPA_FROM_DECK) snprintf(where, sizeof where, "%s:%d: ", d->path, d->line[i]);
  else snprintf(where, sizeof where, "-P ");
  const char *kind = table[i].kinds
                         ? gpa_choice_name(GPA_CHOICE_DIST, strcmp(table[i].section, "source") == 0
                                                                ? d->p.source.kind
                                                                : d->p.target.kind)
                         : gpa_choice_name(GPA_CHOICE_DIV, d->p.divergence.kind);
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
      if (set_by(d, idim) && q->dim != GPA_FASHION_PIXELS)
        return key_error(d, idim, "Fashion-MNIST images have %d pixels, not %lld",
                         GPA_FASHION_PIXELS, (long long)q->dim);
      q->dim = GPA_FASHION_PIXELS;
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
    return key_error(d, find_key("network", "widths"), "at most %d hidden layers", GPA_MAX_HIDDEN);
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
    return key_error(d, i, "source.dim is %lld but target.dim is %lld", (long long)p->source.dim,
                     (long long)p->target.dim);
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
  if (strlen(stem) + 16 > GPA_PATH_MAX) return key_error(d, find_key("output", "file"), "too long");
  if (!p->output.checkpoint_file[0])
    snprintf(p->output.checkpoint_file, sizeof p->output.checkpoint_file, "%s.ckpt.h5", stem);
  if (!p->output.stop_file[0])
    snprintf(p->output.stop_file, sizeof p->output.stop_file, "%s.stop", stem);
  return GPA_OK;
}

static int values_equal(const struct gpa_params *a, const struct gpa_params *b, int i);
static void value_text(const struct gpa_params *p, int i, char *out, size_t size);

/* `gpa run` refuses a deck (or -P) that sets an integrate key to anything but its default: it
 * would ignore it and run the other sections.  Keys at their defaults (inputs/reference.yml,
 * the resolved deck of a run file) are harmless and allowed. */
int gpa_deck_check_command(const struct gpa_deck *d, const char *command) {
  if (strcmp(command, "run") != 0) return GPA_OK;
  struct gpa_params def;
  GPA_CHECK(gpa_params_default(&def));
  for (int i = 0; i < N_KEYS; i++) {
    if (strcmp(table[i].section, "integrate") != 0 || d->origin[i] == GPA_FROM_DEFAULT ||
        values_equal(&def, &d->p, i))
      continue;
    if (d->origin[i] == GPA_FROM_OVERRIDE)
      return key_error(d, i,
                       "the integrate section is for `gpa integrate`; `gpa run` would "
                       "ignore it");
    return key_error(d, i,
                     "the integrate section is for `gpa integrate`; `gpa run` would "
                     "ignore it and run the other sections (gpa integrate %s, or remove the "
                     "section)",
                     d->path);
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

/* One share of the memory a deck needs: the source, target and generated particles (each
 * n x dim, split over the ranks), then phi. */
struct mem_term {
  double bytes; /* per rank */
  int key;      /* the key named */
  const char *what;
  double n;
};
enum { MEM_NETWORK = 3, MEM_TERMS = 4 };

/* The message for the largest term `big` of a deck that needs `total` bytes per rank, more
 * than `node_bytes`. */
static int memory_error(const struct gpa_deck *d, const struct mem_term *term, int big, int ranks,
                        double dim, double total, double node_bytes) {
  const struct gpa_params *p = &d->p;
  char where[GPA_PATH_MAX + 32], need[32], have[32], all[32], what[400], share[96] = "";
  int key = term[big].key;
  if (big < MEM_NETWORK && d->origin[key] == GPA_FROM_DEFAULT) {
    /* the dimension made it too large: name it when it was set */
    int idim = find_key(p->target.dim && big == 1 ? "target" : "source", "dim");
    if (d->origin[idim] != GPA_FROM_DEFAULT) key = idim;
  }
  key_where(d, key, where, sizeof where);
  bytes_text(term[big].bytes * (big < MEM_NETWORK ? ranks : 1), need, sizeof need);
  bytes_text(node_bytes, have, sizeof have);
  bytes_text(total, all, sizeof all);
  if (big < MEM_NETWORK) {
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
    value_text(p, key, list, sizeof list);
    snprintf(what, sizeof what, "network.widths = %s with dim %.0f", list, dim);
    snprintf(share, sizeof share, " (phi's parameters, gradient and Adam moments, on every rank)");
  }
  if (term[big].bytes >= node_bytes)
    return GPA_ERROR(GPA_ERR_INPUT, "%s%s needs %s%s, more than this node's %s of memory", where,
                     what, need, share, have);
  return GPA_ERROR(GPA_ERR_INPUT,
                   "%s%s needs %s%s, and the deck %s per rank in all, more than this node's %s "
                   "of memory",
                   where, what, need, share, all, have);
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
  params += in * (p->network.conditional ? GPA_FASHION_CLASSES : 1) + 1;
  const struct mem_term term[MEM_TERMS] = {
      {8 * (double)p->source.n * dim / ranks, find_key("source", "n"), "source",
       (double)p->source.n},
      {8 * (double)p->target.n * dim / ranks, find_key("target", "n"), "target",
       (double)p->target.n},
      {8 * (double)p->generated.n * dim / ranks, find_key("generated", "n"), "generated",
       (double)p->generated.n},
      [MEM_NETWORK] = {8 * 4 * params, find_key("network", "widths"), "network", 0},
  };
  double total = 0;
  int big = 0;
  for (int t = 0; t < MEM_TERMS; t++) {
    total += term[t].bytes;
    if (term[t].bytes > term[big].bytes) big = t;
  }
  if (!(total > node_bytes)) return GPA_OK;
  return memory_error(d, term, big, ranks, dim, total, node_bytes);
}
/* ------------------------------------------------------------------------- restart */

static int values_equal(const struct gpa_params *a, const struct gpa_params *b, int i) {
  const void *va = gpa_params_value(a, i), *vb = gpa_params_value(b, i);
  switch (table[i].type) {
    case GPA_PT_INT:
      return *(const int64_t *)va == *(const int64_t *)vb;
    case GPA_PT_REAL:
      return *(const double *)va == *(const double *)vb;
    case GPA_PT_BOOL:
      return *(const bool *)va == *(const bool *)vb;
    case GPA_PT_ENUM:
      return *(const int *)va == *(const int *)vb;
    case GPA_PT_STRING:
      return strcmp(va, vb) == 0;
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
    value_text(ckpt, i, was, sizeof was);
    value_text(now, i, is, sizeof is);
    if (!table[i].may_change)
      return GPA_ERROR(GPA_ERR_INPUT,
                       "restart: %s.%s is %s in the checkpoint but %s now; it defines the problem "
                       "and cannot change on a restart",
                       table[i].section, table[i].key, was, is);
    if (used + 1 < size)
      used += (size_t)snprintf(changes + used, size - used, "%s%s.%s: %s -> %s", used ? "\n" : "",
                               table[i].section, table[i].key, was, is);
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
    case GPA_PT_INT:
      fprintf(out, "%lld", (long long)*(const int64_t *)v);
      break;
    case GPA_PT_REAL:
      print_real(out, *(const double *)v);
      break;
    case GPA_PT_BOOL:
      fputs(*(const bool *)v ? "true" : "false", out);
      break;
    case GPA_PT_ENUM:
      fputs(name_of(table[i].choices, *(const int *)v), out);
      break;
    case GPA_PT_STRING:
      print_string(out, (const char *)v);
      break;
    case GPA_PT_INTLIST: {
      const struct gpa_int_list *l = v;
      fputc('[', out);
      for (int j = 0; j < l->n; j++) fprintf(out, "%s%lld", j ? ", " : "", (long long)l->v[j]);
      fputc(']', out);
      break;
    }
  }
}

/* The value of key i as deck text, e.g. "0.5" or "[32, 32]". */
static void value_text(const struct gpa_params *p, int i, char *out, size_t size) {
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

int gpa_params_reference(FILE *out) {
  struct gpa_params p;
  GPA_CHECK(gpa_params_default(&p));
  fputs(
      "# gpa input deck reference: every key with its default.\n"
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
        names_text(table[i].choices, UINT32_MAX, list, sizeof list);
        snprintf(line, sizeof line, "one of: %s", list);
        print_wrapped(out, line);
      }
      if (table[i].range) fprintf(out, "  # range: %s\n", table[i].range);
      if (table[i].kinds) {
        char list[256];
        names_text(&choice_lists[GPA_CHOICE_DIST], table[i].kinds, list, sizeof list);
        fprintf(out, "  # used by kind: %s\n", list);
      }
      /* Keys of other kinds are shown commented out, so the file is a valid deck. */
      fprintf(out, applies(&p, i) ? "  %s: " : "  # %s: ", table[i].key);
      print_value(out, &p, i);
      fputc('\n', out);
    }
  }
  return GPA_OK;
}
