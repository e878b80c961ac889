#!/bin/bash
# Checkpoints and restarts (issue "Checkpoints, exact restart ..."):
#  - a crash of all ranks (SIGKILL) between checkpoints: the run file stays readable up to the
#    last checkpoint, and the restart ends bitwise equal to an uninterrupted run;
#  - a crash while a checkpoint is being written: the previous checkpoint is intact and used;
#  - a restart on another number of ranks agrees to 1e-9;
#  - a deck that changes the problem, and truncated, incomplete, foreign or missing checkpoints
#    are refused with one line, a non-zero exit, and nothing overwritten;
#  - SIGUSR1, SIGTERM, the stop file and run.max_wall_time write a checkpoint and exit 0, and
#    the run continues from it to the same result as without the interruption.
set -u
gpa=$(realpath "$1") mpiexec=$2 compare=$(realpath "$3") src=$4
deck=$src/tests/decks/restart.yml
slow=$src/tests/decks/slow.yml
tmp=$(mktemp -d)
trap 'pkill -9 -f -- "$tmp/" 2> /dev/null; rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
run() { "$mpiexec" -q "$@"; }
same() { # same RUN_A RUN_B RTOL: the results that must agree
  "$compare" "$1" "$2" "$3" /discriminator/theta /particles/final /generated/final \
    /monitor/step /monitor/divergence /monitor/kinetic_energy /monitor/max_speed \
    /trajectory/positions /trajectory/step /field/theta || fail "$1 and $2 differ"
}
status() { h5dump -a /status "$1" | sed -n 's/.*(0): "\(.*\)"/\1/p'; }

run -n 2 "$gpa" run "$deck" --output ref.h5 --quiet || fail "reference run"

echo "--- all ranks killed at step 37 (checkpoints every 10)"
GPA_FAULT_KILL_AT_STEP=37 run -n 2 "$gpa" run "$deck" --output crash.h5 --quiet > /dev/null 2>&1
[ -f crash.h5 ] && fail "the crashed run file carries the final name"
h5ls -r crash.h5.tmp > /dev/null || fail "run file unreadable after the crash"
[ "$(status crash.h5.tmp)" = "running: checkpoint at step 30" ] || fail "status $(status crash.h5.tmp)"
h5ls crash.h5.tmp/monitor/step | grep -q '{30/Inf}' || fail "monitor not at step 30"
run -n 2 "$gpa" run "$deck" --output crash.h5 --restart crash.ckpt.h5 --quiet || fail "restart"
same crash.h5 ref.h5 0
echo "ok: restart after the crash equals the uninterrupted run bit for bit"

echo "--- killed while the checkpoint of step 20 is being written"
GPA_FAULT_CHECKPOINT_DELAY=3 run -n 2 "$gpa" run "$deck" --output w.h5 --quiet > /dev/null 2>&1 &
for _ in $(seq 1000); do [ -f w.ckpt.h5 ] && break; sleep 0.02; done    # step 10's is in place
for _ in $(seq 1000); do [ -f w.ckpt.h5.tmp ] && break; sleep 0.02; done  # step 20's is written
pkill -9 -f -- "--output w.h5"
wait
[ -f w.ckpt.h5.tmp ] || fail "the kill missed the checkpoint write"
h5dump -a /step w.ckpt.h5 | grep -q '(0): 10' || fail "previous checkpoint not at step 10"
run -n 2 "$gpa" run "$deck" --output w.h5 --restart w.ckpt.h5 --quiet || fail "restart"
[ -e w.ckpt.h5.tmp ] && fail "leftover checkpoint .tmp not removed"
same w.h5 ref.h5 0
echo "ok: the previous checkpoint was intact and the restart equals the uninterrupted run"

echo "--- 2 ranks to step 30, then 3 ranks to step 60"
run -n 2 "$gpa" run "$deck" -P transport.max_steps=30 --output r.h5 --quiet || fail "first part"
run -n 3 "$gpa" run "$deck" --output r.h5 --restart r.ckpt.h5 --quiet || fail "3-rank restart"
same r.h5 ref.h5 1e-9
echo "ok: continued on 3 ranks, equal to 1e-9"

echo "--- refused restarts leave everything as it was"
run -n 2 "$gpa" run "$deck" -P transport.max_steps=30 --output q.h5 --quiet || fail "setup"
cp ref.h5 foreign_run.h5
head -c 5000 q.ckpt.h5 > truncated.h5
cp q.ckpt.h5 incomplete.h5
/usr/bin/python3 -c 'import h5py, sys; del h5py.File(sys.argv[1], "r+").attrs["complete"]' incomplete.h5
before=$(ls -l --time-style=+%s.%N q.*; md5sum q.*)
refuse() { # expected message, then the gpa arguments
  local expect=$1
  shift
  run -n 2 "$gpa" run "$deck" --output q.h5 "$@" > out.txt 2> err.txt && fail "accepted: $*"
  [ "$(wc -l < err.txt)" -eq 1 ] && grep -qF -- "$expect" err.txt || { cat err.txt; fail "message for $*"; }
  echo "ok: $(cat err.txt)"
}
refuse "restart: network.widths is [16, 16] in the checkpoint but [32] now" \
  -P network.widths=[32] --restart q.ckpt.h5
refuse "restart: divergence.kind is kl in the checkpoint but kl-lt now" \
  -P divergence.kind=kl-lt --restart q.ckpt.h5
refuse "restart: source.n is 301 in the checkpoint but 300 now" -P source.n=300 --restart q.ckpt.h5
refuse "restart: transport.integrator is euler in the checkpoint but heun now" \
  -P transport.integrator=heun --restart q.ckpt.h5
refuse "cannot be read as HDF5 (truncated or damaged?)" --restart truncated.h5
refuse "is incomplete (its writing was interrupted)" --restart incomplete.h5
refuse "is not a gpa checkpoint" --restart "$src/tests/data/samples.h5"
refuse "is a run file, not a checkpoint" --restart foreign_run.h5
refuse "is not an HDF5 file" --restart "$src/tests/data/not_hdf5.h5"
refuse "cannot open 'nothing.h5': No such file or directory" --restart nothing.h5
after=$(ls -l --time-style=+%s.%N q.*; md5sum q.*)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); fail "files changed"; }
echo "ok: nothing was written by the refused restarts"

echo "--- interruptions: SIGUSR1, SIGTERM, the stop file, run.max_wall_time"
run -n 2 "$gpa" run "$slow" -P transport.max_steps=600 --output slowref.h5 --quiet || fail "slow reference"
interrupt() { # name, how
  local name=$1 how=$2
  shift 2
  run -n 2 "$gpa" run "$slow" -P transport.max_steps=600 --output "$name.h5" "$@" > "$name.out" 2>&1 &
  local pid=$!
  sleep 1.5
  case $how in
    USR1|TERM) pkill -"$how" -f -- "^$gpa run .*--output $name.h5" ;;
    stopfile) touch "$name.stop" ;;
    walltime) ;;
  esac
  wait $pid || { cat "$name.out"; fail "$name: exit status $?"; }
  grep -q "^interrupted at step" "$name.out" || { cat "$name.out"; fail "$name: not interrupted"; }
  grep -q -- "--restart $name.ckpt.h5" "$name.out" || fail "$name: no restart command"
  [ -f "$name.h5.tmp" ] && [ ! -f "$name.h5" ] || fail "$name: run file"
  echo "ok: $name: $(grep '^interrupted' "$name.out")"
  run -n 2 "$gpa" run "$slow" -P transport.max_steps=600 --output "$name.h5" \
    --restart "$name.ckpt.h5" --quiet || fail "$name: restart"
  "$compare" "$name.h5" slowref.h5 0 /discriminator/theta /particles/final /monitor/divergence \
    /trajectory/positions /trajectory/step > /dev/null || fail "$name: differs after restart"
  echo "ok: $name: continued to the uninterrupted result bit for bit"
}
interrupt sigusr1 USR1
interrupt sigterm TERM
interrupt stopfile stopfile
[ -e stopfile.stop ] && fail "stop file left behind"
interrupt walltime walltime -P run.max_wall_time=3

# The class-conditional CNN with dropout (masks keyed on the update count): killed at step 4,
# restarted from the step-4 checkpoint, bit for bit.
imgs=$src/tests/decks/mpi_images.yml
run -n 2 "$gpa" run "$imgs" --output imgref.h5 --quiet || fail "images: reference run"
GPA_FAULT_KILL_AT_STEP=4 run -n 2 "$gpa" run "$imgs" -P output.checkpoint_every=2 \
  --output img.h5 --quiet > /dev/null 2>&1 && fail "images: the killed run exited 0"
run -n 2 "$gpa" run "$imgs" -P output.checkpoint_every=2 --output img.h5 \
  --restart img.ckpt.h5 --quiet || fail "images: restart"
"$compare" img.h5 imgref.h5 0 /discriminator/theta /particles/final /generated/final \
  /trajectory/positions /trajectory/generated /monitor/divergence > /dev/null ||
  fail "images: differs after restart"
echo "ok: conditional CNN with dropout: killed at step 4, restarted, bit for bit"
echo "all restart tests passed"
