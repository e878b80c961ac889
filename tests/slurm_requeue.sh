#!/bin/bash
# jobs/slurm_requeue.sbatch with stand-ins for srun, squeue and scontrol: the first start has
# little time left, so gpa checkpoints at run.max_wall_time and the script asks for a requeue;
# the second start resumes from the checkpoint; the result equals a run without interruption.
set -u
gpa=$(realpath "$1") mpiexec=$2 compare=$(realpath "$3") src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
mkdir bin
cat > bin/srun << STUB
#!/bin/bash
shift   # --mpi=pmix
exec "$mpiexec" -q -n 2 "\$@"
STUB
cat > bin/squeue << 'STUB'
#!/bin/bash
cat time_left
STUB
cat > bin/scontrol << 'STUB'
#!/bin/bash
echo "$@" >> requeued
STUB
chmod +x bin/*
export PATH=$tmp/bin:$PATH SLURM_JOB_ID=4242 GPA=$gpa DECK=$src/tests/decks/slow.yml NAME=job
export MARGIN=57 CHECKPOINT_EVERY=1000 GPA_ARGS="-P transport.max_steps=600"
"$mpiexec" -q -n 2 "$gpa" run "$DECK" $GPA_ARGS --output ref.h5 --quiet || fail "reference"
echo "1:00" > time_left                       # 60 s left, 57 kept: gpa gets 3 s
bash "$src/jobs/slurm_requeue.sbatch" > first.out 2>&1 || { cat first.out; fail "first start"; }
grep -q "requeue 4242" requeued || { cat first.out; fail "no requeue"; }
grep -q "^interrupted at step" first.out || { cat first.out; fail "not interrupted"; }
echo "ok: first start: $(grep '^interrupted' first.out); requeued"
echo "1-00:00:00" > time_left                 # a full day
bash "$src/jobs/slurm_requeue.sbatch" > second.out 2>&1 || { cat second.out; fail "second start"; }
grep -q "resuming from job.ckpt.h5" second.out || fail "did not resume"
[ "$(wc -l < requeued)" -eq 1 ] || fail "requeued again"
"$compare" job.h5 ref.h5 0 /discriminator/theta /particles/final /monitor/divergence \
  /trajectory/step /trajectory/positions || fail "result differs"
bash "$src/jobs/slurm_requeue.sbatch" | grep -q "is complete; nothing to do" || fail "third start"
echo "ok: resumed after the requeue and finished with the uninterrupted result"
