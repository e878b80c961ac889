#include "gpa/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
  int code;
  char message[1024];
  char trace[1024];
} err;

int gpa_error_at(const char *file, int line, int code, const char *fmt, ...) {
  if (err.code == GPA_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    err.code = code;
    snprintf(err.trace, sizeof err.trace, "%s:%d", file, line);
  }
  return code;
}

int gpa_error_trace(int code, const char *file, int line) {
  size_t len = strlen(err.trace);
  if (len + 8 < sizeof err.trace)
    snprintf(err.trace + len, sizeof err.trace - len, " <- %s:%d", file, line);
  if (err.code == GPA_OK) err.code = code;
  return code;
}

void gpa_error_set_message(int code, const char *msg) {
  err.code = code;
  snprintf(err.message, sizeof err.message, "%s", msg);
}

const char *gpa_error_message(void) { return err.message; }
int gpa_error_code(void) { return err.code; }
const char *gpa_error_trace_text(void) { return err.trace; }

void gpa_error_clear(void) {
  err.code = GPA_OK;
  err.message[0] = '\0';
  err.trace[0] = '\0';
}

int gpa_alloc(void *p, size_t bytes) {
  void **out = p;
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  *out = aligned_alloc(64, rounded);
  if (!*out) return GPA_ERROR(GPA_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
  memset(*out, 0, rounded);
  return GPA_OK;
}

int gpa_alloc_array(void *p, size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) {
    *(void **)p = NULL;
    return GPA_ERROR(GPA_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
  }
  return gpa_alloc(p, n * size);
}

void gpa_free(void *p) {
  void **ptr = p;
  free(*ptr);
  *ptr = NULL;
}
