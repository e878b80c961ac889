/* Error codes, the error record and the propagation macros.
 *
 * A function that can fail returns an int status (GPA_OK on success).  The place where a
 * failure is detected records a one-line, user-facing message with GPA_ERROR(); every caller
 * on the way up propagates the code with GPA_CHECK(), which adds its file and line to a short
 * trace (printed only when the environment variable GPA_DEBUG is set).  Only main() turns a
 * status into an exit code. */
#ifndef GPA_ERROR_H
#define GPA_ERROR_H

#include <stddef.h>

enum gpa_status {
  GPA_OK = 0,
  GPA_ERR_INPUT = 1,    /* bad deck, bad data file, bad command-line value */
  GPA_ERR_USAGE = 2,    /* wrong command-line syntax */
  GPA_ERR_DIVERGED = 3, /* NaN or Inf in the objective, the network or the particles */
  GPA_ERR_IO = 4,       /* a file could not be written or read */
  GPA_ERR_LIB = 5,      /* an MPI, HDF5, BLAS or LAPACK call failed */
  GPA_ERR_NOMEM = 6,    /* an allocation failed */
  GPA_ERR_INTERNAL = 7, /* an invariant of our own was broken */
};

#if defined(__GNUC__)
#define GPA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define GPA_NODISCARD __attribute__((warn_unused_result))
#else
#define GPA_PRINTF(f, a)
#define GPA_NODISCARD
#endif

/* Records the message of a new error (the first one since the last gpa_error_clear() wins)
 * and returns `code`. */
int gpa_error_at(const char *file, int line, int code, const char *fmt, ...) GPA_PRINTF(4, 5);
/* Adds a propagation site to the trace and returns `code`. */
int gpa_error_trace(int code, const char *file, int line);
/* Replaces the recorded message (used when one rank's message is broadcast to all). */
void gpa_error_set_message(int code, const char *msg);
const char *gpa_error_message(void);
/* Trace of propagation sites, "src/core/a.c:12 <- src/run/b.c:40", for debugging. */
const char *gpa_error_trace_text(void);
void gpa_error_clear(void);

#define GPA_ERROR(code, ...) gpa_error_at(__FILE__, __LINE__, (code), __VA_ARGS__)

#define GPA_CHECK(expr)                                                         \
  do {                                                                          \
    int gpa_rc_ = (expr);                                                       \
    if (gpa_rc_ != GPA_OK) return gpa_error_trace(gpa_rc_, __FILE__, __LINE__); \
  } while (0)

/* Like GPA_CHECK, but jumps to a cleanup label with `rc` set. */
#define GPA_CHECK_GOTO(rc, expr, label)          \
  do {                                           \
    (rc) = (expr);                               \
    if ((rc) != GPA_OK) {                        \
      gpa_error_trace((rc), __FILE__, __LINE__); \
      goto label;                                \
    }                                            \
  } while (0)

/* Aligned (64 bytes), zero-filled allocation of `bytes`; *p is NULL on failure. */
int gpa_alloc(void *p, size_t bytes) GPA_NODISCARD;
/* gpa_alloc of n elements of `size` bytes, with overflow check. */
int gpa_alloc_array(void *p, size_t n, size_t size) GPA_NODISCARD;
/* Frees what gpa_alloc returned and sets the pointer to NULL. */
void gpa_free(void *p);

#endif
