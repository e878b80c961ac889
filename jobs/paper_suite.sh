#!/bin/bash
# The paper's low-dimensional experiments, reproduced as one suite:
#   jobs/paper_suite.sh [OUTDIR] [RANKS]
# runs every deck of inputs/paper/ as a normal `gpa run` on RANKS MPI ranks (default 2), one run
# at a time, in OUTDIR (default ./paper-runs): NAME.h5 (the run file), NAME.log (its output),
# NAME.cmd (the exact command). A run that diverges (exit status 3, run file status "diverged
# at step n") is a result and the suite goes on; any other failure stops it. The heavy-tail
# decks run twice, as written (KL) and with -P divergence.kind=alpha -P divergence.alpha=2.0.
# Then `gpa metrics` compares final particles with their targets (NAME.metrics.txt), the wall
# time of each run and of the whole suite goes to OUTDIR/timings.tsv, and
# postproc/paper_figures.py draws docs/paper/*.png and writes docs/paper-results.md.
# About 9 minutes on 2 cores (one run at a time).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/env.sh"
out=${1:-paper-runs}
ranks=${2:-2}
gpa="$root/build/gpa"
decks="$root/inputs/paper"
if [ ! -x "$gpa" ]; then
  echo "paper_suite.sh: $gpa is missing; build first (bash jobs/build.sh)" >&2
  exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
printf 'name\tseconds\texit_status\n' > "$out/timings.tsv"
suite_start=$EPOCHREALTIME

seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# run NAME DECK [-P section.key=value ...]: inputs/paper/DECK.yml -> OUTDIR/NAME.h5. The run
# starts in OUTDIR, so the decks' relative file names (swissroll_divest.yml) point there.
run() {
  local name=$1 deck=$2
  shift 2
  local cmd=(mpirun -q -n "$ranks" "$gpa" run "$decks/$deck.yml" "$@" --output "$name.h5")
  echo "(cd $out && ${cmd[*]})" > "$out/$name.cmd"
  local start=$EPOCHREALTIME rc=0
  (cd "$out" && "${cmd[@]}") > "$out/$name.log" 2>&1 || rc=$?
  local took
  took=$(seconds_since "$start")
  printf '%s\t%s\t%s\n' "$name" "$took" "$rc" >> "$out/timings.tsv"
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    echo "paper_suite.sh: $name failed with exit status $rc; see $out/$name.log" >&2
    tail -n 5 "$out/$name.log" >&2
    exit "$rc"
  fi
  local status
  status=$(grep -E '^(completed|diverged|interrupted)' "$out/$name.log" | tail -n 1 || true)
  printf '%-32s %8s s   %s\n' "$name" "$took" "${status%% in *}"
}

# metrics NAME A.h5:/set B.h5:/set: gpa metrics (Sinkhorn, energy, MMD, exact W2) into
# NAME.metrics.txt
metrics() {
  local name=$1
  shift
  echo "(cd $out && mpirun -q -n $ranks $gpa metrics $*)" > "$out/$name.metrics.cmd"
  local start=$EPOCHREALTIME
  (cd "$out" && mpirun -q -n "$ranks" "$gpa" metrics "$@") > "$out/$name.metrics.txt" 2>&1
  printf '%s\t%s\t%s\n' "$name.metrics" "$(seconds_since "$start")" 0 >> "$out/timings.tsv"
  printf '%-32s %8s s   %s\n' "$name.metrics" "$(seconds_since "$start")" \
    "$(grep '^sinkhorn' "$out/$name.metrics.txt" | awk '{print "sinkhorn " $2}')"
}

revision=$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')
echo "paper suite: checkout $revision, $ranks ranks, into $out"

# run_seeds DECK: the deck at seed 0 (NAME = DECK) and at seeds 1 and 2 (DECK_seedS), each with
# its metrics.
run_seeds() {
  local deck=$1 seed name
  for seed in 0 1 2; do
    if [ "$seed" -eq 0 ]; then
      name=$deck
      run "$name" "$deck"
    else
      name=${deck}_seed$seed
      run "$name" "$deck" -P run.seed=$seed
    fi
    metrics "$name" "$name.h5:/particles/final" "$name.h5:/target"
  done
}

# Figs. 2-3: the Lipschitz constant and stability; seeds 1 and 2 repeat each run.
for L in L1 L10 L100 Linf L100_frobenius; do
  run_seeds "lstudy_$L"
done

# Fig. 11: Euler, Heun and RK4 in R^12; seeds 1 and 2 repeat each run.
for scheme in euler heun rk4; do
  run_seeds "r12_$scheme"
done

# Table 1: heavy tails, each case with KL and with alpha = 2.
for deck in "$decks"/heavy*.yml; do
  case=$(basename "$deck" .yml)
  run "${case}_kl" "$case"
  run "${case}_alpha2" "$case" -P divergence.kind=alpha -P divergence.alpha=2.0
done

# Figs. 7 and 1: the Sierpinski carpet in 2-D and on a plane in 3-D, with held-out carpets.
for d in 2d 3d; do
  run "sierpinski$d" "sierpinski$d"
  run "sierpinski${d}_holdout" "sierpinski${d}_holdout"
  metrics "sierpinski$d" "sierpinski$d.h5:/particles/final" "sierpinski$d.h5:/target"
  metrics "sierpinski${d}_initial" "sierpinski$d.h5:/particles/initial" "sierpinski$d.h5:/target"
  metrics "sierpinski${d}_holdout" "sierpinski${d}_holdout.h5:/target" "sierpinski$d.h5:/target"
done

# Fig. 6: Swiss-roll augmentation, and the divergence of each augmenting set to the data.
run swissroll_augment swissroll_augment
run swissroll_generated swissroll_generated
run swissroll_holdout swissroll_holdout
run divest_augment swissroll_divest
run divest_generated swissroll_divest -P source.file=swissroll_generated.h5 \
  -P source.dataset=/generated/final -P target.file=swissroll_generated.h5
run divest_generated_particles swissroll_divest -P source.file=swissroll_generated.h5 \
  -P source.dataset=/particles/final -P source.n=200 -P target.file=swissroll_generated.h5
run divest_holdout swissroll_divest -P source.file=swissroll_holdout.h5 \
  -P source.dataset=/particles/initial
run divest_source swissroll_divest -P source.dataset=/particles/initial

# Fig. 13: memorisation with N = M and N = 5 M, beside fresh samples of the target law.
run imbalanced_NeqM imbalanced_NeqM
run imbalanced_N5M imbalanced_N5M
run imbalanced_holdout imbalanced_holdout
for name in imbalanced_NeqM imbalanced_N5M; do
  metrics "$name" "$name.h5:/particles/final" "$name.h5:/target"
done
metrics imbalanced_holdout imbalanced_holdout.h5:/target imbalanced_NeqM.h5:/target

# SM3.2: smooth against plain ReLU with a small dt.
for name in relu_small_dt smooth_small_dt; do
  run "$name" "$name"
  metrics "$name" "$name.h5:/particles/final" "$name.h5:/target"
done

total=$(seconds_since "$suite_start")
printf 'TOTAL\t%s\t0\n' "$total" >> "$out/timings.tsv"
echo "all runs: $total s"
/usr/bin/python3 "$root/postproc/paper_figures.py" "$out" --docs "$root/docs"
