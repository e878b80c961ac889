/* The I/O watchdog: no rank waits forever inside collective HDF5 work.
 *
 * When a write fails on one rank inside a collective HDF5 operation (a full disk, a lost file
 * server), HDF5 1.10 can leave the ranks in different collectives, and no agreement of ours
 * can reach them.  Around each such phase the caller arms the watchdog; a phase that has not
 * ended after its time limit makes the watchdog thread print one line and stop every rank with
 * MPI_Abort(comm, GPA_ERR_IO).  The limit is GPA_IO_TIMEOUT seconds (environment; default
 * 900), and never less than 20 times the slowest phase seen so far, so a slow but working
 * file system is not mistaken for a hang.  Nothing is lost: run files and checkpoints are
 * written under temporary names and the last checkpoint stays in place. */
#ifndef GPA_WATCHDOG_H
#define GPA_WATCHDOG_H

#include <mpi.h>

/* Starts watching the writes of step `step` (< 0: the run's end) to `file`, which must stay
 * valid until disarmed, on this rank.  Not collective; cheap enough for every step (a mutex,
 * a clock read, no wake-up; the message is formatted only when the watchdog fires). */
void gpa_watchdog_arm(MPI_Comm comm, const char *file, long long step);
/* Ends the phase armed last. */
void gpa_watchdog_disarm(void);

#endif
