/* The discriminator phi: a network R^d -> R with 1-Lipschitz activations: optional convolutions
 * (images), then fully connected layers.
 *
 *   convolutions c = 1..C (no bias):  g_c = dropout(a(conv(g_{c-1}, K_c))),  g_0 = x
 *   h_0 = g_C (flattened),  z_l = h_{l-1} W_l + b_l,  h_l = a_l(z_l)  (hidden layers l = 1..D-1),
 *   phi(x) = h_{D-1} W_D + b_D      (conditional: column k(x) of h_{D-1} W_D + b_D, k = x's class)
 *
 * Images are stored channel-last, [height][width][channels] per row.  A convolution (k x k,
 * stride s, "same" padding: output side ceil(side / s)) runs as im2col + one GEMM over a chunk
 * of rows, with its kernel a matrix [k * k * in_channels][out_channels] (rows ordered (ky, kx,
 * channel)), so the Lipschitz projection treats it like a dense weight.  Dropout is drawn from
 * the counter-based generator keyed on (update, row key, layer), so the same rows get the same
 * masks whatever the rank count.
 *
 * All parameters live in one flat buffer `theta` carved by the offsets below (W_l row-major
 * [in][out], then b_l), optionally followed by the scalar nu of the Legendre-form objectives;
 * gradients and optimizer moments mirror it.  The workspace keeps z and h of every hidden layer
 * for `max_rows` rows, so that a forward pass over some rows leaves the others' activations in
 * place (the targets' activations are reused while theta does not change).  Every matrix
 * product goes to BLIS.  No function here allocates after gpa_mlp_create.
 *
 * network.precision single runs the passes in float32 (about twice the speed): theta, the
 * gradient sums over ranks, the optimizer and the particles stay double. */
#ifndef GPA_MLP_H
#define GPA_MLP_H

#include <stdint.h>

#include "gpa/config.h"

enum { GPA_MLP_MAX_LAYERS = GPA_MAX_HIDDEN + 1 };

/* One convolution's geometry; sizes are per row. */
struct gpa_conv {
  int64_t cin, hin, win;    /* input channels and sides */
  int64_t cout, hout, wout; /* output channels and sides */
  int64_t k, stride, pad_t, pad_l;
  int64_t in_size, out_size; /* hin * win * cin, hout * wout * cout */
  int64_t w_off;             /* kernel: theta[w_off], [k * k * cin][cout] */
};

struct gpa_mlp {
  int n_layers;                          /* D: weight layers = hidden layers + 1 */
  int64_t width[GPA_MLP_MAX_LAYERS + 1]; /* width[0]: d or the last convolution's out_size;
                                           * width[D] = n_out */
  int act[GPA_MLP_MAX_LAYERS];           /* act[l]: activation after layer l+1 (hidden) */
  double smooth_eps, leaky_slope;
  int64_t w_off[GPA_MLP_MAX_LAYERS]; /* W_{l+1}: theta[w_off[l]], [width[l]][width[l+1]] */
  int64_t b_off[GPA_MLP_MAX_LAYERS]; /* b_{l+1}: theta[b_off[l]], [width[l+1]] */
  int64_t n_net;                     /* parameters of the network proper */
  int64_t nu_off;                    /* index of nu in theta, -1 when absent */
  int64_t n_params;                  /* n_net (+ 1 with nu) */
  int64_t max_rows, max_width;
  int single; /* passes in float32 (network.precision single) */
  /* Convolutions in front (n_conv = 0: none; then width[0] = d). */
  int n_conv;
  struct gpa_conv conv[GPA_MAX_CONV];
  int conv_act;                              /* activation after each convolution */
  int64_t in_dim;                            /* d: the input dimension (width[0] without convs) */
  double dropout;                            /* probability of zeroing a convolution output */
  int training;                              /* forward passes apply dropout (set by the caller) */
  uint64_t seed, dropout_round;              /* dropout masks: keyed on (seed, round, row key) */
  uint64_t *row_key;                         /* [max_rows] global identity of each workspace row */
  int64_t chunk;                             /* rows per im2col block */
  void *cz[GPA_MAX_CONV], *ch[GPA_MAX_CONV]; /* [max_rows][out_size] pre-/post-activation */
  uint8_t *mask[GPA_MAX_CONV];               /* [max_rows][out_size] dropout masks (dropout > 0) */
  void *col, *dcol;                          /* [chunk * max(P K)] im2col blocks */
  void *ga, *gb;                             /* [chunk][max conv size] backward scratch */
  /* Class-conditional output (n_out = number of classes > 1). */
  int64_t n_out;
  int32_t *label; /* [max_rows] class of each workspace row */
  void *outk;     /* [max_rows][n_out] all outputs / row weights */
  /* Workspace, double or float (single): */
  void *z[GPA_MLP_MAX_LAYERS]; /* z[l]: [max_rows][width[l+1]] pre-activations */
  void *h[GPA_MLP_MAX_LAYERS]; /* h[l]: [max_rows][width[l+1]] activations */
  void *da, *db;               /* [max_rows][max_width] backward scratch */
  void *wt;                    /* [n_net] W_l^T at the offsets of W_l */
  double *out;                 /* [max_rows] phi */
  /* Single precision only: */
  float *theta32, *grad32; /* [n_params] */
  float *x32;              /* [max_rows][d] inputs of the evaluated rows */
  float *row32;            /* [max_rows][d] outputs, row weights, gradients */
};

/* Shape from the deck's network section; workspace for up to max_rows rows. */
int gpa_mlp_create(struct gpa_mlp *m, int64_t dim, const struct gpa_params *p, int with_nu,
                   int64_t max_rows);
void gpa_mlp_destroy(struct gpa_mlp *m);

/* Conditional networks: the classes [rows] of workspace rows [row0, row0 + rows). */
void gpa_mlp_set_labels(struct gpa_mlp *m, int64_t row0, int64_t rows, const int32_t *labels);
/* Dropout: workspace rows [row0, row0 + rows) are the global rows first, first + 1, ... (the
 * masks follow the rows, not the ranks). */
void gpa_mlp_set_row_keys(struct gpa_mlp *m, int64_t row0, int64_t rows, uint64_t first);

/* Number of weight matrices the Lipschitz projection holds at norm L^(1 / count): kernels and
 * dense weights; theta[off[i]] is matrix i, [rows[i]][cols[i]] row-major. */
int gpa_mlp_matrices(const struct gpa_mlp *m, int64_t *off, int64_t *rows, int64_t *cols);

/* He-normal weights from the counter-based generator (rank-independent), zero biases, nu 0. */
void gpa_mlp_init_params(const struct gpa_mlp *m, double *theta, uint64_t seed);

/* Forward pass over rows [row0, row0 + rows) of the workspace; x: [rows][d] their inputs.
 * Leaves z, h and out of those rows. */
void gpa_mlp_forward(struct gpa_mlp *m, const double *theta, const double *x, int64_t row0,
                     int64_t rows);

/* Gradient of sum_r w[r] phi(x_r) with respect to the network parameters, over workspace rows
 * [0, rows) after a forward pass over them; x: [rows][d].  Writes grad[0 .. n_net). */
void gpa_mlp_backward(struct gpa_mlp *m, const double *theta, const double *x, const double *w,
                      int64_t rows, double *grad);

/* g[r] = grad_x phi(x_r) for workspace rows [row0, row0 + rows) after a forward pass over them;
 * g: [rows][d]. */
void gpa_mlp_input_grad(struct gpa_mlp *m, const double *theta, int64_t row0, int64_t rows,
                        double *g);

/* v[r] = -grad_x phi(x_r), the velocity of the flow, for workspace rows [row0, row0 + rows);
 * v: [rows][d].  A forward pass over the inputs x [rows][d] comes first; with x NULL there is
 * none (the workspace already holds those rows' pass at theta). */
void gpa_mlp_velocity(struct gpa_mlp *m, const double *theta, const double *x, int64_t row0,
                      int64_t rows, double *v);

/* Activation and its derivative, scalar (reference versions for tests). */
double gpa_activation(int act, double z, double eps, double slope);
double gpa_activation_deriv(int act, double z, double eps, double slope);

#endif
