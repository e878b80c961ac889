/* The input deck: every setting of a run, its YAML parser, command-line overrides,
 * validation and the resolved dump.
 *
 * A deck is a two-level YAML mapping (section -> key -> value).  Every key, its type, default,
 * range and documentation live in one table in config.c; defaults, validation, the dump,
 * `/parameters` in the run file and inputs/reference.yml all come from it. */
#ifndef GPA_CONFIG_H
#define GPA_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gpa/error.h"

enum { GPA_PATH_MAX = 1024, GPA_MAX_HIDDEN = 8, GPA_INT_LIST_MAX = 16, GPA_MAX_CONV = 4 };

/* Limits checked before the YAML parser sees a deck (a deck is a few dozen settings, two
 * levels deep; libyaml takes quadratic time on deeply nested flow collections). */
enum {
  GPA_DECK_MAX_BYTES = 1 << 20, /* 1 MiB */
  GPA_DECK_MAX_DEPTH = 8,       /* nested mappings and lists, the deck's own mapping included */
};

/* Keys a deck records an origin and a line for (the key table in config.c is checked to fit). */
enum { GPA_DECK_MAX_KEYS = 192 };

/* Built-in source/target distributions.  Each user-choice enum below has its deck names, in
 * the same order, in config.c (gpa_choice_name). */
enum gpa_dist_kind {
  GPA_DIST_GAUSSIAN,
  GPA_DIST_MIXTURE,
  GPA_DIST_STUDENT_T,
  GPA_DIST_GEN_GAUSSIAN,
  GPA_DIST_SWISS_ROLL,
  GPA_DIST_SIERPINSKI,
  GPA_DIST_FILE,
  GPA_DIST_LOGISTIC,
  GPA_DIST_FASHION_MNIST,
};

/* Fashion-MNIST (kind fashion_mnist): 28 x 28 images of 10 classes, labels 0-9. */
enum {
  GPA_FASHION_SIDE = 28,
  GPA_FASHION_PIXELS = GPA_FASHION_SIDE * GPA_FASHION_SIDE,
  GPA_FASHION_CLASSES = 10,
};

enum gpa_activation { GPA_ACT_RELU, GPA_ACT_LEAKY_RELU, GPA_ACT_SMOOTH_RELU, GPA_ACT_SAME };

enum gpa_precision { GPA_PREC_DOUBLE, GPA_PREC_SINGLE };

enum gpa_normalization { GPA_NORM_SPECTRAL, GPA_NORM_FROBENIUS };
enum gpa_class_normalization { GPA_CLASSNORM_PER_CLASS, GPA_CLASSNORM_JOINT };

enum gpa_divergence_kind { GPA_DIV_KL, GPA_DIV_KL_LT, GPA_DIV_ALPHA };

enum gpa_optimizer_kind { GPA_OPT_ADAM, GPA_OPT_SGD };

enum gpa_integrator_kind { GPA_INT_EULER, GPA_INT_HEUN, GPA_INT_RK4 };

/* gpa integrate's PCA: ScaLAPACK's dense SVD, the randomized SVD, or chosen by size. */
enum gpa_pca_method { GPA_PCA_AUTO, GPA_PCA_DENSE, GPA_PCA_RANDOMIZED };

enum gpa_stage_mode { GPA_STAGES_RETRAIN, GPA_STAGES_FROZEN };

enum gpa_field_storage { GPA_FIELD_AUTO, GPA_FIELD_ON, GPA_FIELD_OFF };

/* The user-choice enums, for gpa_choice_name.  GPA_CHOICE_ACT names the activations of the
 * hidden layers (without GPA_ACT_SAME), GPA_CHOICE_LAST_ACT those of the last one. */
enum gpa_choice {
  GPA_CHOICE_DIST,      /* enum gpa_dist_kind */
  GPA_CHOICE_ACT,       /* enum gpa_activation */
  GPA_CHOICE_LAST_ACT,  /* enum gpa_activation */
  GPA_CHOICE_PREC,      /* enum gpa_precision */
  GPA_CHOICE_NORM,      /* enum gpa_normalization */
  GPA_CHOICE_CLASSNORM, /* enum gpa_class_normalization */
  GPA_CHOICE_DIV,       /* enum gpa_divergence_kind */
  GPA_CHOICE_OPT,       /* enum gpa_optimizer_kind */
  GPA_CHOICE_INT,       /* enum gpa_integrator_kind */
  GPA_CHOICE_PCA,       /* enum gpa_pca_method */
  GPA_CHOICE_STAGE,     /* enum gpa_stage_mode */
  GPA_CHOICE_FIELD,     /* enum gpa_field_storage */
  GPA_CHOICE_COUNT
};

struct gpa_int_list {
  int n;
  int64_t v[GPA_INT_LIST_MAX];
};

struct gpa_dist_params {
  int kind;                /* enum gpa_dist_kind */
  int64_t n;               /* number of samples */
  int64_t dim;             /* dimension d */
  double mean;             /* location, every coordinate */
  double std;              /* gaussian std; mixture component std */
  double scale;            /* student_t / gen_gaussian scale */
  double nu;               /* student_t degrees of freedom */
  double beta;             /* gen_gaussian exponent: density ~ exp(-|x|^beta) */
  double spacing;          /* mixture: centres (0,s), (s,0), (s,s), (0,0) */
  int64_t offset;          /* mixture: first of the two coordinates carrying the mixture */
  int64_t level;           /* sierpinski level */
  double side;             /* sierpinski: side of the square */
  double noise;            /* swiss_roll: Gaussian noise std */
  char file[GPA_PATH_MAX]; /* file: HDF5 file; fashion_mnist: IDX images ("": Debian's) */
  char dataset[256];
  char labels_file[GPA_PATH_MAX]; /* fashion_mnist: IDX labels ("": beside the images) */
  struct gpa_int_list classes;    /* fashion_mnist: classes drawn (empty: all) */
};

struct gpa_params {
  struct {
    int64_t seed;
    bool flush_denormals;
    double max_wall_time; /* seconds; 0: none */
  } run;
  struct gpa_dist_params source, target;
  struct {
    int64_t n; /* extra source particles moved by each step's field, never trained on */
  } generated;
  struct {
    struct gpa_int_list widths;
    int activation;      /* enum gpa_activation */
    int last_activation; /* enum gpa_activation; GPA_ACT_SAME: as `activation` */
    double smooth_eps;
    double leaky_slope;
    int normalization; /* enum gpa_normalization */
    int64_t power_iterations;
    int precision;                     /* enum gpa_precision */
    struct gpa_int_list conv_channels; /* output channels of the convolutions (empty: none) */
    struct gpa_int_list image_shape;   /* [C, H, W] of the input images (empty: [1, s, s]) */
    int64_t conv_kernel, conv_stride;
    int conv_activation;     /* enum gpa_activation */
    double dropout;          /* after each convolution, during training only */
    bool conditional;        /* one output per class; phi(x, class of x) */
    int class_normalization; /* enum gpa_class_normalization: the conditional output layer */
  } network;
  struct {
    int kind; /* enum gpa_divergence_kind */
    double alpha;
    double L; /* Lipschitz constant; +inf: unconstrained */
  } divergence;
  struct {
    int kind; /* enum gpa_optimizer_kind */
    double lr;
    int64_t epochs;
    double beta1, beta2, eps;
    bool reset_moments;
  } optimizer;
  struct {
    int64_t max_steps;
    double dt;
    int integrator; /* enum gpa_integrator_kind */
    int stages;     /* enum gpa_stage_mode */
    double ke_tol;
    double div_tol;
    double cfl_warn;
  } transport;
  struct {
    char source_file[GPA_PATH_MAX];
    char target_file[GPA_PATH_MAX];                 /* "": the source file */
    struct gpa_int_list source_batch, target_batch; /* batch codes; empty: all samples */
    char batch_key[128];
    char label_key[128]; /* "": no labels, one flow */
    char pair_key[128];  /* "": no pairing; else the obs column of samples that belong together */
    int64_t components;
    double latent_scale;
    int pca; /* enum gpa_pca_method */
    int64_t pca_oversample, pca_power_iterations;
    int64_t metric_samples;
    bool keep_residual;
  } integrate;
  struct {
    char file[GPA_PATH_MAX];
    int64_t trajectory_every;
    int64_t checkpoint_every;
    int64_t progress_every;
    char checkpoint_file[GPA_PATH_MAX];
    char stop_file[GPA_PATH_MAX];
    int store_field; /* enum gpa_field_storage */
  } output;
};

/* Where each setting came from, for error messages. */
enum gpa_origin { GPA_FROM_DEFAULT = 0, GPA_FROM_DECK, GPA_FROM_OVERRIDE };

struct gpa_deck {
  struct gpa_params p;
  char path[GPA_PATH_MAX];       /* the deck file, "" when none */
  int origin[GPA_DECK_MAX_KEYS]; /* enum gpa_origin, per key of the table */
  int line[GPA_DECK_MAX_KEYS];   /* 1-based line in the deck, when origin is GPA_FROM_DECK */
  int n_warnings; /* settings that are ignored, e.g. source.nu with a gaussian source */
  char warnings[8][GPA_PATH_MAX + 200];
};

/* Every setting at its default.  Fails (naming the key) only when a default of the key table
 * does not parse, a bug of ours that test_config catches. */
int gpa_params_default(struct gpa_params *p);

/* Starts a deck at the defaults (and clears the recorded error); fails as gpa_params_default. */
int gpa_deck_init(struct gpa_deck *deck);
/* Parses YAML `text` (the contents of file `path`) into the deck.  Unknown sections and keys,
 * wrong types, duplicates and out-of-range values are GPA_ERR_INPUT with the message
 * "PATH:LINE: section.key: problem".  So are a deck larger than GPA_DECK_MAX_BYTES, nested
 * deeper than GPA_DECK_MAX_DEPTH, an empty one (no document, or only comments; `{}` is a deck
 * of defaults) and one of several YAML documents; these are checked before the text is
 * loaded. */
int gpa_deck_parse(struct gpa_deck *deck, const char *path, const char *text, size_t len);
/* Applies one "section.key=value" override. */
int gpa_deck_override(struct gpa_deck *deck, const char *assignment);
/* Whether key "section.key" (e.g. "integrate.components") was set by the deck or an override
 * rather than left at its default; false for a name that is not a key. */
bool gpa_deck_is_set(const struct gpa_deck *deck, const char *section_dot_key);
/* Checks the relations between keys (dimensions, ...) and resolves derived defaults (the
 * output file name from the deck name).  Keys that are set but mean nothing for the chosen
 * kinds (source.nu with a gaussian source) are recorded in deck->warnings. */
int gpa_deck_validate(struct gpa_deck *deck);
/* Refuses settings that mean nothing for `command` ("run", "integrate", ...): `gpa run` on a
 * deck (or -P) that sets an integrate key to other than its default is GPA_ERR_INPUT, naming
 * the key. */
int gpa_deck_check_command(const struct gpa_deck *deck, const char *command);
/* Refuses (GPA_ERR_INPUT, naming the key) a validated deck whose particles, targets, generated
 * particles or network cannot fit in memory: a lower bound of the bytes each of `ranks` ranks
 * needs (its share of the n x dim arrays, plus phi's parameters, gradient and Adam moments)
 * against `node_bytes`, the physical memory of the smallest node. */
int gpa_deck_check_memory(const struct gpa_deck *deck, int ranks, double node_bytes);

/* Writes the resolved settings as a YAML deck (itself a valid deck). */
void gpa_params_dump(FILE *out, const struct gpa_params *p);
/* Writes inputs/reference.yml: every key, documented, at its default. */
int gpa_params_reference(FILE *out);

/* Restart: compares the settings of a checkpoint with those of the restarting deck.  Keys that
 * define the problem (dimensions, counts, distributions, network, divergence, optimizer,
 * integrator, seed) must be equal: GPA_ERR_INPUT naming the first that differs.  Keys that may
 * change (max_steps, tolerances, output cadence, wall time, file names of checkpoints) are
 * listed in `changes` ("transport.max_steps: 500 -> 1000", one per line). */
int gpa_params_restart_check(const struct gpa_params *ckpt, const struct gpa_params *now,
                             char *changes, size_t size);

/* Table access, for writers of `/parameters`. */
enum gpa_ptype { GPA_PT_INT, GPA_PT_REAL, GPA_PT_BOOL, GPA_PT_ENUM, GPA_PT_STRING, GPA_PT_INTLIST };
int gpa_params_count(void);
const char *gpa_params_section(int i);
const char *gpa_params_key(int i);
enum gpa_ptype gpa_params_type(int i);
const void *gpa_params_value(const struct gpa_params *p, int i);
/* Name of an enum value of key i (GPA_PT_ENUM), e.g. "heun". */
const char *gpa_params_enum_name(int i, int value);
/* The deck name of value `value` of a choice, e.g. "heun" for (GPA_CHOICE_INT, GPA_INT_HEUN);
 * "?" when out of range.  A static string. */
const char *gpa_choice_name(enum gpa_choice choice, int value);

#endif
