/* The I/O watchdog (see gpa/watchdog.h): one thread per process, started at the first arm. */
#include "gpa/watchdog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gpa/error.h"

static struct {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int started, armed;
  MPI_Comm comm;
  const char *file;
  long long step;
  struct timespec since;
  double slowest; /* seconds of the slowest phase so far */
} wd = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, MPI_COMM_NULL, "", -1, {0, 0}, 0};

static double seconds_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + 1e-9 * (double)(now.tv_nsec - t0->tv_nsec);
}

static double limit(void) {
  const char *env = getenv("GPA_IO_TIMEOUT");
  double base = env && atof(env) > 0 ? atof(env) : 900.0;
  return base > 20.0 * wd.slowest ? base : 20.0 * wd.slowest;
}

/* The thread wakes by itself (arm and disarm only set fields, so a step pays a mutex and no
 * wake-up): at the latest after one limit while idle, and when an armed phase's limit ends. */
static void *watch(void *unused) {
  (void)unused;
  pthread_mutex_lock(&wd.lock);
  for (;;) {
    double wait = limit();
    if (wd.armed) {
      const double left = wait - seconds_since(&wd.since);
      if (left <= 0) {
        char what[64] = "the end";
        if (wd.step >= 0) snprintf(what, sizeof what, "step %lld", wd.step);
        fprintf(stderr,
                "error: writing %s of %s made no progress for %.0f s (a write that "
                "failed on another rank?); stopped: the last checkpoint and the run file "
                "up to it are kept\n",
                what, wd.file, wait);
        fflush(stderr);
        MPI_Abort(wd.comm, GPA_ERR_IO);
      }
      wait = left + 0.1;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)wait;
    until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&wd.changed, &wd.lock, &until);
  }
  return NULL;
}

void gpa_watchdog_arm(MPI_Comm comm, const char *file, long long step) {
  pthread_mutex_lock(&wd.lock);
  if (!wd.started) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    wd.started = pthread_create(&t, &attr, watch, NULL) == 0;
    pthread_attr_destroy(&attr);
  }
  wd.comm = comm;
  wd.file = file;
  wd.step = step;
  clock_gettime(CLOCK_MONOTONIC, &wd.since);
  wd.armed = 1;
  pthread_mutex_unlock(&wd.lock);
}

void gpa_watchdog_disarm(void) {
  pthread_mutex_lock(&wd.lock);
  if (wd.armed) {
    const double took = seconds_since(&wd.since);
    if (took > wd.slowest) wd.slowest = took;
  }
  wd.armed = 0;
  pthread_mutex_unlock(&wd.lock);
}
