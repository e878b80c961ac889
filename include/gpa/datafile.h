/* Input data files: the matrices a deck or a command names as "FILE.h5:/dataset" (samples,
 * --input of the replay commands, metrics), and the checks every input dataset passes before it
 * is read (the gene-expression readers of dataset.h use them too).
 *
 * Input matrices are read with HDF5's sequential driver, the file opened read-only, without
 * file locking, by each rank that needs rows of it: no HDF5 call is collective, so damage that
 * only one rank's rows meet (a corrupt chunk, NaN) cannot leave the other ranks waiting inside
 * a collective; the ranks agree on the outcome once, at the end. */
#ifndef GPA_DATAFILE_H
#define GPA_DATAFILE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gpa/io.h"

/* Splits "FILE.h5:/dataset" into the file and the dataset; without ":/", the whole spec is
 * the file and the dataset is `def`. */
void gpa_data_spec(const char *spec, const char *def, char *file, size_t fsize, char *dataset,
                   size_t dsize);

/* Collective: the shape of a 2-D numeric dataset, which rank 0 checks.  `what` names the
 * setting that asked for it (e.g. "source.file"). */
int gpa_data_shape(MPI_Comm comm, const char *path, const char *dataset, const char *what,
                   int64_t dims[2]);
/* Collective: rows [row0, row0 + rows) as doubles into out [rows][cols] on each rank (NaN or
 * Inf is an error naming the row); every rank returns the same status. */
int gpa_data_read_rows(MPI_Comm comm, const char *path, const char *dataset, int64_t row0,
                       int64_t rows, int64_t cols, double *out);

/* Not collective: opens the input file `path` for reading by this process alone (read-only,
 * without file locking: inputs are only read, and some parallel file systems refuse locks).
 * GPA_ERR_INPUT "'PATH' cannot be read as HDF5 (truncated or damaged?)" when HDF5 cannot. */
int gpa_data_open_readonly(struct gpa_h5s *f, const char *path);

/* Not collective: checks that `name` (which exists) in the open file `f` (f->path names it in
 * messages) is a dataset this HDF5 library can read: a soft or external link that resolves, a
 * dataset and not a group, and every compression filter of its pipeline available.  An error is
 * GPA_ERR_INPUT with one line naming the file and the dataset
 * ("x.h5: /X is compressed with HDF5 filter 32000 (lzf), which this HDF5 library does not
 * have"). */
int gpa_data_check_dataset(struct gpa_h5s *f, const char *name);

/* Not collective: GPA_OK when `name` (a link that exists in `f`) leads to an object; else
 * GPA_ERR_INPUT saying why not (a dangling soft link, an external link to a missing file or
 * object, damage). */
int gpa_data_link_check(struct gpa_h5s *f, const char *name);

#endif
