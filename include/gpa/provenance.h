/* Run provenance in every file gpa writes: /parameters (the resolved deck) and /code (the
 * build and its libraries), SWIFT's habit of a self-describing output.  Collective over the
 * file's communicator, like every function taking a struct gpa_h5. */
#ifndef GPA_PROVENANCE_H
#define GPA_PROVENANCE_H

#include "gpa/config.h"
#include "gpa/io.h"

/* /parameters: one group per deck section, one attribute per key; the resolved deck as YAML
 * text in the attribute "deck". */
int gpa_h5_write_parameters(struct gpa_h5 *f, const struct gpa_params *p);
/* /code: version, git revision, compiler, build type, library versions, MPI ranks. */
int gpa_h5_write_code(struct gpa_h5 *f);

#endif
