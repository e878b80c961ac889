/* IDX files (the MNIST / Fashion-MNIST format), gzipped or plain.
 *
 * An IDX file is a 4-byte magic (two zero bytes, the element type, the number of dimensions),
 * one big-endian uint32 per dimension, then the elements, row-major.  Only unsigned bytes
 * (type 0x08) are accepted.  Not collective: the caller decides which rank reads. */
#ifndef GPA_IDX_H
#define GPA_IDX_H

#include <stdint.h>

#include "gpa/error.h"

enum { GPA_IDX_MAX_DIMS = 4 };

struct gpa_idx {
  int n_dims;
  int64_t dims[GPA_IDX_MAX_DIMS]; /* [n_dims] */
  int64_t count;                  /* product of dims: number of elements (bytes) */
  uint8_t *data;                  /* [dims[0]]...[dims[n_dims - 1]] row-major; NULL: header only */
};

/* Reads the whole IDX file `path` (gzip or plain, zlib tells them apart) into `out`
 * (gpa_idx_free it, also after a failure).  `expect_dims` > 0 requires that many dimensions.
 * A missing file, a wrong magic, element type or number of dimensions, data shorter or longer
 * than the header says, and a damaged gzip stream are GPA_ERR_INPUT with one line naming the
 * file: "x.gz: truncated: header says 47040000 bytes of data, file has 1000". */
int gpa_idx_read(const char *path, int expect_dims, struct gpa_idx *out);

/* The same checks on the header only (out->data stays NULL): cheap, for early validation. */
int gpa_idx_read_header(const char *path, int expect_dims, struct gpa_idx *out);

void gpa_idx_free(struct gpa_idx *idx);

#endif
