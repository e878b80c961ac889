/* Built-in source and target distributions, samples read from HDF5 files, and Fashion-MNIST
 * images (IDX files).
 *
 * Sample i of a distribution draws from the generator keyed on (seed, stream, i), so every
 * sample is the same whichever rank makes it.  The definitions follow the reference PyTorch
 * implementation (shared/bench/gpa_torch.py) where it has them. */
#ifndef GPA_DISTRIBUTIONS_H
#define GPA_DISTRIBUTIONS_H

#include <mpi.h>
#include <stdint.h>

#include "gpa/comm.h"
#include "gpa/config.h"

/* Collective.  For kind `file`, reads the dataset's shape and sets q->n (when 0: all rows)
 * and q->dim (when 0); checks that the file holds n rows of dim columns.  For kind
 * fashion_mnist, rank 0 checks the images' header and the labels (28 x 28 images, as many
 * labels as images, classes 0-9, enough images of each chosen class for q->n samples), so that
 * bad files are reported before any output exists.  `section` is "source" or "target", for
 * messages ("target.file: ..."); every rank returns the same status and message. */
int gpa_dist_resolve(MPI_Comm comm, struct gpa_dist_params *q, const char *section);

/* Collective.  Fills x [part.n_local][q->dim] with samples part.offset ... of a set of
 * part.n_global samples of q, and labels [part.n_local] (when not NULL) with their classes:
 * 0-9 for fashion_mnist, -1 for every other kind.
 *
 * fashion_mnist: with K classes (q->classes, or all ten), sample i is of class classes[i % K]
 * and is pick i / K of that class; each class's picks are a seeded selection without
 * replacement (keyed on (seed, stream, class)), so the set does not depend on the partition.
 * Rank 0 alone reads the files and broadcasts the part.n_global x 784 selected bytes; pixels
 * are bytes / 255. */
int gpa_dist_sample(MPI_Comm comm, const struct gpa_dist_params *q, uint64_t seed, uint32_t stream,
                    struct gpa_block part, double *x, int32_t *labels);

/* Number of classes of a labelled kind: GPA_FASHION_CLASSES (10, from config.h, where the
 * layers below the particles can use it too) for fashion_mnist, 0 otherwise. */
int gpa_dist_n_classes(const struct gpa_dist_params *q);

#endif
