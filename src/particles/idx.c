/* IDX files through zlib: gzread reads gzip and plain files alike. */
#include "gpa/idx.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

/* Reads up to n bytes; *got is what was read.  GPA_ERR_INPUT when zlib reports damage or a read
 * error; an early end of data is not an error here (the caller compares *got with n). */
static int read_bytes(gzFile f, const char *path, void *buf, int64_t n, int64_t *got) {
  *got = 0;
  while (*got < n) {
    int64_t left = n - *got;
    unsigned chunk = left > (1 << 30) ? (1u << 30) : (unsigned)left;
    errno = 0;
    int r = gzread(f, (unsigned char *)buf + *got, chunk);
    if (r < 0) {
      int errnum = Z_OK;
      const char *text = gzerror(f, &errnum);
      if (errnum == Z_ERRNO)
        return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
      const size_t np = strlen(path); /* zlib's text is "path: problem" */
      if (strncmp(text, path, np) == 0 && strncmp(text + np, ": ", 2) == 0) text += np + 2;
      return GPA_ERROR(GPA_ERR_INPUT, "%s: damaged gzip data (%s)", path, text);
    }
    if (r == 0) break;
    *got += r;
  }
  return GPA_OK;
}

/* Counts what is left in the file after the data (reading it through). */
static int count_rest(gzFile f, const char *path, int64_t *rest) {
  unsigned char scratch[65536];
  *rest = 0;
  for (;;) {
    int64_t got;
    GPA_CHECK(read_bytes(f, path, scratch, (int64_t)sizeof scratch, &got));
    *rest += got;
    if (got < (int64_t)sizeof scratch) return GPA_OK;
  }
}

/* An early end of the data: a gzip stream cut short says so. */
static int truncated(gzFile f, const char *path, const char *what, int64_t want, int64_t got) {
  int errnum = Z_OK;
  gzerror(f, &errnum);
  return GPA_ERROR(GPA_ERR_INPUT, "%s: truncated: header says %lld bytes of %s, file has %lld%s",
                   path, (long long)want, what, (long long)got,
                   errnum == Z_BUF_ERROR ? " (the gzip stream ends early)" : "");
}

static int read_header(gzFile f, const char *path, int expect_dims, struct gpa_idx *out) {
  unsigned char magic[4];
  int64_t got;
  GPA_CHECK(read_bytes(f, path, magic, 4, &got));
  if (got < 4)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: not an IDX file (%lld bytes, shorter than a header)", path,
                     (long long)got);
  uint32_t word =
      (uint32_t)magic[0] << 24 | (uint32_t)magic[1] << 16 | (uint32_t)magic[2] << 8 | magic[3];
  if (magic[0] != 0 || magic[1] != 0)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: not an IDX file (magic 0x%08x)", path, (unsigned)word);
  if (magic[2] != 0x08)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: element type 0x%02x; only unsigned bytes (0x08) are supported", path,
                     (unsigned)magic[2]);
  const int nd = magic[3];
  if (expect_dims > 0 && nd != expect_dims)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %d dimensions, expected %d", path, nd, expect_dims);
  if (nd < 1 || nd > GPA_IDX_MAX_DIMS)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: %d dimensions; 1 to %d are supported", path, nd,
                     GPA_IDX_MAX_DIMS);
  unsigned char raw[4 * GPA_IDX_MAX_DIMS];
  GPA_CHECK(read_bytes(f, path, raw, 4 * nd, &got));
  if (got < 4 * nd) return truncated(f, path, "dimensions", 4 * nd, got);
  out->n_dims = nd;
  out->count = 1;
  for (int k = 0; k < nd; k++) {
    const unsigned char *b = raw + 4 * k;
    out->dims[k] =
        (int64_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
    if (out->dims[k] > 0 && out->count > INT64_MAX / out->dims[k])
      return GPA_ERROR(GPA_ERR_INPUT, "%s: dimensions too large", path);
    out->count *= out->dims[k];
  }
  return GPA_OK;
}

/* The out->count bytes of data after the header, and nothing after them. */
static int read_data(gzFile f, const char *path, struct gpa_idx *out) {
  int64_t got = 0, rest = 0;
  GPA_CHECK(gpa_alloc_array(&out->data, (size_t)out->count, 1));
  GPA_CHECK(read_bytes(f, path, out->data, out->count, &got));
  if (got < out->count) return truncated(f, path, "data", out->count, got);
  GPA_CHECK(count_rest(f, path, &rest));
  if (rest > 0)
    return GPA_ERROR(GPA_ERR_INPUT,
                     "%s: %lld trailing bytes: header says %lld bytes of data, file has %lld", path,
                     (long long)rest, (long long)out->count, (long long)(out->count + rest));
  return GPA_OK;
}

static int read_file(const char *path, int expect_dims, struct gpa_idx *out, int with_data) {
  memset(out, 0, sizeof *out);
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f)
    return GPA_ERROR(GPA_ERR_INPUT, "%s: cannot open: %s", path,
                     errno ? strerror(errno) : "out of memory");
  gzbuffer(f, 1u << 17);
  int rc;
  GPA_CHECK_GOTO(rc, read_header(f, path, expect_dims, out), done);
  if (with_data) GPA_CHECK_GOTO(rc, read_data(f, path, out), done);
done:
  gzclose(f);
  if (rc != GPA_OK) gpa_idx_free(out);
  return rc;
}

int gpa_idx_read(const char *path, int expect_dims, struct gpa_idx *out) {
  return read_file(path, expect_dims, out, 1);
}

int gpa_idx_read_header(const char *path, int expect_dims, struct gpa_idx *out) {
  return read_file(path, expect_dims, out, 0);
}

void gpa_idx_free(struct gpa_idx *idx) {
  gpa_free(&idx->data);
  memset(idx, 0, sizeof *idx);
}
