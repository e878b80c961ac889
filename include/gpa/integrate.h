/* Dataset integration (ALGORITHM.md sections 7 and 8): `gpa integrate DECK.yml`.
 *
 * Source and target samples (rows of gene-expression matrices) are pooled and projected on
 * their top k principal components (distributed PCA); in that latent space each label's
 * source samples are transported onto the same label's target samples by GPA, with a
 * discriminator of its own; the moved points are decoded back to genes.  Beside it, the
 * paper's baseline adjusts every gene of every label to the target's mean and standard
 * deviation.  The report compares both with the distances of the paper's Table 4 (D, R, S, G),
 * the sampling floor F, label preservation, batch mixing and kept neighbourhoods.
 *
 * Rows are spread over the ranks (each reads its own); everything here is collective. */
#ifndef GPA_INTEGRATE_H
#define GPA_INTEGRATE_H

#include <mpi.h>

#include "gpa/config.h"

/* What `gpa integrate` takes besides the deck. */
struct gpa_integrate_opts {
  const char *deck_path; /* the deck's file, never to be overwritten; NULL: none */
  const char *report;    /* the JSON report; NULL: OUTPUT.report.json beside the output */
  int quiet;             /* no report on stdout */
};

/* Collective: integrates the data the resolved deck names (its `integrate` and `output`
 * sections) and writes the output, the report and, for .h5ad input, an .h5ad beside it.  The
 * outputs are checked against the inputs and locked before anything is read. */
int gpa_integrate(MPI_Comm comm, const struct gpa_deck *deck,
                  const struct gpa_integrate_opts *opts);

#endif
