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

/* Copies `msg` into err.message on one line: control characters (a newline in a -P value or
 * a file name, a tab in a quoted deck value) are written as \n, \t, \r or \xHH. */
static void set_one_line(const char *msg) {
  size_t j = 0;
  const size_t cap = sizeof err.message;
  for (const unsigned char *s = (const unsigned char *)msg; *s && j + 5 < cap; s++) {
    if (*s >= 0x20 && *s != 0x7f) {
      err.message[j++] = (char)*s;
      continue;
    }
    err.message[j++] = '\\';
    if (*s == '\n') err.message[j++] = 'n';
    else if (*s == '\t') err.message[j++] = 't';
    else if (*s == '\r') err.message[j++] = 'r';
    else j += (size_t)snprintf(err.message + j, cap - j, "x%02x", *s);
  }
  err.message[j] = '\0';
}

int gpa_error_at(const char *file, int line, int code, const char *fmt, ...) {
  if (err.code == GPA_OK) {
    char msg[sizeof err.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_one_line(msg);
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
  char copy[sizeof err.message]; /* msg may be err.message itself */
  snprintf(copy, sizeof copy, "%s", msg);
  err.code = code;
  set_one_line(copy);
}

const char *gpa_error_message(void) { return err.message; }
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
