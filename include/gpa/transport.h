/* The replay jobs (`gpa transport`, `gpa sample`): new points moved through the learned vector
 * field a run stored (replay.h), written to a file of their own.
 *
 * transport moves the rows of a 2-D dataset; sample draws new particles from the run's source
 * distribution (a seed of its own, stream GPA_STREAM_SAMPLE) and moves them likewise.  OUTPUT
 * holds /particles/initial and /particles/final like a run file, and /labels for a
 * class-conditional field: the given classes for transport; for sample, point i takes the
 * class of the run's target i mod M, as the run's particles did. */
#ifndef GPA_TRANSPORT_H
#define GPA_TRANSPORT_H

#include <mpi.h>
#include <stdint.h>

/* What a replay job takes. */
struct gpa_transport_opts {
  const char *field;  /* the run file whose stored field moves the points */
  const char *output; /* the file written (staged: OUTPUT.tmp until complete) */
  const char *input;  /* FILE.h5[:/dataset] (default /X): the points; NULL: draw `n` new ones */
  const char *labels; /* FILE.h5[:/dataset] (default /labels): the input points' classes, for
                         a class-conditional field; NULL: none */
  int64_t n;          /* without input: how many new source particles */
  int64_t seed;       /* without input: their seed; -1: the run's run.seed */
  int quiet;          /* no summary line on stdout */
};

/* Collective: checks the files (OUTPUT is none of the inputs), reads the run's settings and
 * field, moves the points and writes OUTPUT; rank 0 prints one summary line unless quiet. */
int gpa_transport(MPI_Comm comm, const struct gpa_transport_opts *opts);

#endif
