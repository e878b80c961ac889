/* Input and output files of a command: checks before computing, and the output lock. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "gpa/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpa/comm.h"
#include "gpa/error.h"

void gpa_paths_input(struct gpa_paths *pp, const char *path, const char *what) {
  if (path && path[0] && pp->n_in < GPA_PATHS_MAX) {
    pp->in[pp->n_in] = path;
    pp->in_what[pp->n_in++] = what;
  }
}

void gpa_paths_output(struct gpa_paths *pp, const char *path, const char *what) {
  if (path && path[0] && pp->n_out < GPA_PATHS_MAX) {
    pp->out[pp->n_out] = path;
    pp->out_what[pp->n_out++] = what;
  }
}

/* Splits `path` into its directory ("." when none) and last component. */
static void split(const char *path, char *dir, size_t dsize, const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, dsize, ".");
    *base = path;
  } else {
    snprintf(dir, dsize, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    *base = slash + 1;
  }
}

/* A file's identity: device and inode when it exists, else its canonical directory and
 * name.  `key` is empty when neither can be found (a missing directory). */
struct identity {
  int exists;
  dev_t dev;
  ino_t ino;
  char key[PATH_MAX + 256];
};

static void identify(const char *path, struct identity *id) {
  struct stat st;
  memset(id, 0, sizeof *id);
  if (stat(path, &st) == 0) {
    id->exists = 1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
  }
  char dir[PATH_MAX], real[PATH_MAX];
  const char *base;
  split(path, dir, sizeof dir, &base);
  if (realpath(dir, real)) snprintf(id->key, sizeof id->key, "%s/%s", real, base);
}

static int same(const struct identity *a, const struct identity *b) {
  if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
  return a->key[0] && strcmp(a->key, b->key) == 0;
}

/* Rank 0: one output's own checks. */
static int check_output(const char *path, const char *what) {
  const size_t len = strlen(path);
  if (path[len - 1] == '/')
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' names a directory, not a file", what, path);
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' is a directory, not a file", what, path);
  char dir[PATH_MAX];
  const char *base;
  split(path, dir, sizeof dir, &base);
  if (!strcmp(base, ".") || !strcmp(base, ".."))
    return GPA_ERROR(GPA_ERR_INPUT, "%s: '%s' names a directory, not a file", what, path);
  if (stat(dir, &st) != 0)
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot write '%s': directory %s: %s", what, path, dir,
                     strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot write '%s': %s is not a directory", what, path, dir);
  if (access(dir, W_OK | X_OK) != 0)
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot write '%s': directory %s: %s", what, path, dir,
                     strerror(errno));
  return GPA_OK;
}

static int check(const struct gpa_paths *pp) {
  struct identity *in = NULL, *out = NULL;
  int rc = gpa_alloc_array(&in, GPA_PATHS_MAX, sizeof *in);
  if (rc == GPA_OK) rc = gpa_alloc_array(&out, GPA_PATHS_MAX, sizeof *out);
  for (int i = 0; rc == GPA_OK && i < pp->n_in; i++) identify(pp->in[i], &in[i]);
  for (int i = 0; rc == GPA_OK && i < pp->n_out; i++) {
    rc = check_output(pp->out[i], pp->out_what[i]);
    if (rc) break;
    identify(pp->out[i], &out[i]);
    for (int j = 0; rc == GPA_OK && j < pp->n_in; j++)
      if (same(&out[i], &in[j]))
        rc = GPA_ERROR(GPA_ERR_INPUT,
                       "%s '%s' is also the %s '%s': the run would destroy it; "
                       "choose another name",
                       pp->out_what[i], pp->out[i], pp->in_what[j], pp->in[j]);
    for (int j = 0; rc == GPA_OK && j < i; j++)
      if (same(&out[i], &out[j]))
        rc = GPA_ERROR(GPA_ERR_INPUT,
                       "%s '%s' and %s '%s' are the same file: choose different "
                       "names",
                       pp->out_what[j], pp->out[j], pp->out_what[i], pp->out[i]);
  }
  gpa_free(&in);
  gpa_free(&out);
  return rc;
}

int gpa_paths_check(MPI_Comm comm, const struct gpa_paths *pp) {
  int rank;
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  return gpa_comm_agree(comm, rank == 0 ? check(pp) : GPA_OK);
}

/* Rank 0: takes the lock, or says who holds it. */
static int lock(const char *output, struct gpa_lock *lk) {
  snprintf(lk->path, sizeof lk->path, "%s.lock", output);
  int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot create the lock file: %s", lk->path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char holder[128] = "";
    ssize_t n = read(fd, holder, sizeof holder - 1);
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
    close(fd);
    if (err == EWOULDBLOCK)
      return GPA_ERROR(GPA_ERR_IO,
                       "%s is being written by another gpa run (%s, lock %s): wait "
                       "for it to end or choose another output",
                       output, holder[0] ? holder : "process unknown", lk->path);
    return GPA_ERROR(GPA_ERR_IO, "%s: cannot lock: %s", lk->path, strerror(err));
  }
  char host[64] = "";
  gethostname(host, sizeof host - 1);
  char line[160];
  int len = snprintf(line, sizeof line, "process %ld on %s\n", (long)getpid(), host);
  if (ftruncate(fd, 0) != 0 || write(fd, line, (size_t)len) != len) { /* only informative */
  }
  lk->fd = fd;
  return GPA_OK;
}

int gpa_paths_lock(MPI_Comm comm, const char *output, struct gpa_lock *lk) {
  int rank;
  lk->fd = -1;
  lk->path[0] = '\0';
  GPA_MPI(MPI_Comm_rank(comm, &rank));
  return gpa_comm_agree(comm, rank == 0 ? lock(output, lk) : GPA_OK);
}

void gpa_paths_unlock(struct gpa_lock *lk) {
  if (lk->fd < 0) return;
  unlink(lk->path); /* while still held, so no other run holds a lock on the removed file */
  close(lk->fd);
  lk->fd = -1;
}

int gpa_path_beside(const char *path, const char *suffix, char *out, size_t size) {
  size_t len = strlen(path);
  if (len > 3 && strcmp(path + len - 3, ".h5") == 0) len -= 3;
  if (len + strlen(suffix) >= size) {
    if (size > 0) out[0] = '\0';
    return -1;
  }
  memcpy(out, path, len);
  strcpy(out + len, suffix);
  return 0;
}
