/* A run of the algorithm of ALGORITHM.md on a resolved deck (`gpa run`).  Sample particles and
 * targets, then repeat
 *   train phi on (Y, X)  ->  move Y by -dt grad phi  ->  monitor D, KE  ->  stop?
 * writing the run file as it goes, with checkpoints that let a run stop at any step and
 * continue (fresh, or from a checkpoint).  Everything here is collective. */
#ifndef GPA_RUN_H
#define GPA_RUN_H

#include <mpi.h>

#include "gpa/config.h"

/* What a run takes besides the deck. */
struct gpa_run_opts {
  const char *deck_path; /* the deck's file: named in the banner, never overwritten; NULL: none */
  const char *restart;   /* the checkpoint to continue from; NULL: a fresh run */
  int dry_run;    /* check the deck (and the checkpoint it continues), print it, compute nothing */
  int quiet;      /* no banner, progress or timers on stdout */
  int overwrite;  /* start again over the files of an interrupted run */
  double started; /* MPI_Wtime() at program start, for run.max_wall_time */
  /* Rank 0, when the run stopped early at a checkpoint (after the line saying why): prints how
   * to continue from `checkpoint` on `ranks` ranks.  NULL: nothing more is printed. */
  void (*print_continue)(const void *ctx, int ranks, const char *checkpoint);
  const void *ctx; /* passed to print_continue */
};

/* Collective: runs the deck's problem (deck->p, validated), fresh or from opts->restart.  The
 * files are checked and the output locked before anything is computed; a restart's checkpoint
 * is checked against the deck before any file is touched.  Progress, the banner and the timers
 * go to stdout on rank 0 unless opts->quiet.  A run that diverged has written its run file and
 * returns GPA_ERR_DIVERGED; one stopped by a signal, the stop file or run.max_wall_time has
 * written a checkpoint and returns GPA_OK. */
int gpa_run(MPI_Comm comm, const struct gpa_deck *deck, const struct gpa_run_opts *opts);

#endif
