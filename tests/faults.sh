#!/bin/bash
# Faults that must lose nothing and hang nothing (the fault trials of commit 77430ba):
#  D1  a crash between the run-file sync and the checkpoint: the restart is bitwise;
#  D2  a refused restart leaves the run file and checkpoints as they were;
#  D3  a full disk: one-line error, exit 4, no crash, run file and checkpoint kept, and the
#      restart after freeing space is bitwise (1 and 2 ranks);
#  S2, D8, H1  damaged checkpoints (changed values, NaN, float32, bad step, flipped bytes) are
#      refused with one line on 1, 2 and 3 ranks, within a timeout, nothing touched;
#  D4, D5  outputs that are directories, missing directories, inputs or each other: refused
#      before any step;
#  D6  a fresh run over an interrupted one is refused (--overwrite starts again);
#  D7  a second run on the same output fails at once and the first completes intact;
#  U4  --dry-run --restart checks the checkpoint; U6 the signal named is the one received;
#  U8  a stale stop file does not stop a new run; a replay refuses a field with missing steps.
set -u
gpa=$(realpath "$1") mpiexec=$2 compare=$(realpath "$3") src=$4
deck=$src/tests/decks/restart.yml
tmp=$(mktemp -d)
mnt=$tmp/full
cleanup() {
  pkill -9 -f -- "$tmp/" 2> /dev/null
  mountpoint -q "$mnt" 2> /dev/null && umount "$mnt"
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
failures=0
fail() { # FAULTS_KEEP_GOING=1 reports every failure (to try the script on another build)
  echo "FAIL: $*"
  failures=$((failures + 1))
  [ -n "${FAULTS_KEEP_GOING:-}" ] || exit 1
}
run() { timeout 120 "$mpiexec" -q "$@"; }
same() { # same RUN_A RUN_B: bitwise in every result
  "$compare" "$1" "$2" 0 /discriminator/theta /particles/final /generated/final \
    /monitor/step /monitor/divergence /monitor/kinetic_energy /monitor/max_speed \
    /trajectory/positions /trajectory/step /field/theta > /dev/null || fail "$1 and $2 differ"
}
one_line() { # one_line FILE EXPECTED: FILE holds exactly one line, an error containing EXPECTED
  grep -v '^warning: ' "$1" > "$1.e"
  [ "$(wc -l < "$1.e")" -eq 1 ] && grep -q '^error: ' "$1.e" && grep -qF -- "$2" "$1.e" ||
    { cat "$1"; fail "expected one line with '$2'"; }
}
fingerprint() { # names and contents of the files given (a lock left by a kill -9 aside)
  local f
  for f in "$@"; do case $f in *.lock) ;; *) md5sum "$f" 2> /dev/null || echo "$f" ;; esac; done
}

run -n 2 "$gpa" run "$deck" --output ref.h5 --quiet || fail "reference run"

echo "--- D1: killed after the run-file sync of step 30, before its checkpoint"
GPA_FAULT_KILL_BETWEEN=30 run -n 2 "$gpa" run "$deck" --output k.h5 --quiet > /dev/null 2>&1 &&
  fail "the killed run exited 0"
h5dump -a /step k.ckpt.h5 | grep -q '(0): 20' || fail "checkpoint not at step 20"
h5ls k.h5.tmp/monitor/step | grep -q '{30/Inf}' || fail "run file not synced to step 30"
run -n 2 "$gpa" run "$deck" --output k.h5 --restart k.ckpt.h5 --quiet 2> k.err ||
  { cat k.err; fail "restart"; }
grep -q damaged k.err && fail "the run file was set aside"
same k.h5 ref.h5
echo "ok: the run file ahead of the checkpoint was cut back; the restart is bitwise"

echo "--- D2: a refused restart of a finished run touches nothing"
/usr/bin/python3 - > /dev/null <<'EOF'
import h5py, numpy as np
h5py.File("tgt.h5", "w")["/X"] = np.random.default_rng(1).normal(size=(120, 2))
EOF
printf 'source: {kind: gaussian, n: 100, dim: 2}\ntarget: {kind: file, file: tgt.h5}\ntransport: {max_steps: 30}\noutput: {checkpoint_every: 5, trajectory_every: 5, progress_every: 0}\n' > f.yml
run -n 2 "$gpa" run f.yml --quiet || fail "f.yml"
/usr/bin/python3 -c 'import h5py; f = h5py.File("tgt.h5", "r+"); f["/X"][0, 0] += 1e-9'
before=$(fingerprint f.*)
for ck in f.ckpt.h5 f.ckpt.prev.h5; do
  run -n 2 "$gpa" run f.yml --restart $ck -P transport.max_steps=60 > d2.out 2>&1 &&
    fail "restart with changed targets accepted"
  one_line d2.out "the targets differ from the checkpoint's"
done
[ "$before" = "$(fingerprint f.*)" ] || fail "a refused restart changed files"
echo "ok: refused twice; f.h5 and the checkpoints unchanged"

echo "--- D3: a full disk (1 and 2 ranks), then a restart after freeing space"
mkdir -p "$mnt"
if mount -t tmpfs -o size=1m tmpfs "$mnt" 2> /dev/null; then
  grow() { mount -o remount,size=64m "$mnt"; }
  shrink() { rm -rf "${mnt:?}"/*; mount -o remount,size=1m "$mnt"; }
  limit=""
else # no mount here: a file-size limit makes the same write errors
  echo "(tmpfs not available: using ulimit -f 1000)"
  grow() { limit=""; }
  shrink() { rm -rf "${mnt:?}"/*; limit="ulimit -f 1000;"; }
  limit="ulimit -f 1000;"
fi
for n in 1 2; do
  shrink
  (trap '' XFSZ; eval "$limit"; run -n $n "$gpa" run "$deck" -P transport.max_steps=400 \
    -P output.checkpoint_every=5 --output "$mnt/x.h5" --quiet > d3.out 2>&1)
  rc=$?
  [ $rc -eq 4 ] || { cat d3.out; fail "$n ranks: exit $rc, not 4"; }
  grep -q 'Segmentation\|signal' d3.out && { cat d3.out; fail "$n ranks: crashed"; }
  one_line d3.out "MB free, but the"
  [ -f "$mnt/x.h5.tmp" ] && [ -f "$mnt/x.ckpt.h5" ] || fail "$n ranks: run file or checkpoint lost"
  h5ls -r "$mnt/x.h5.tmp" > /dev/null || fail "$n ranks: run file unreadable"
  grow
  run -n $n "$gpa" run "$deck" -P transport.max_steps=400 -P output.checkpoint_every=5 \
    --output "$mnt/x.h5" --restart "$mnt/x.ckpt.h5" --quiet || fail "$n ranks: restart"
  run -n $n "$gpa" run "$deck" -P transport.max_steps=400 -P output.checkpoint_every=5 \
    --output big$n.h5 --quiet || fail "$n ranks: reference"
  same "$mnt/x.h5" big$n.h5
  echo "ok: $n ranks: $(cat d3.out.e); restart bitwise"
done

echo "--- D3, H1, C1: a write that fails inside HDF5 (no space check) stops every rank"
for n in 1 2 2 2; do
  shrink
  # Either the rank whose write failed stops every rank, or, when HDF5 leaves the ranks in
  # different collectives, the I/O watchdog does (after GPA_IO_TIMEOUT seconds).
  (trap '' XFSZ; eval "$limit"; export GPA_FAULT_NO_SPACE_CHECK=1 GPA_IO_TIMEOUT=5
    run -n $n "$gpa" run "$deck" -P transport.max_steps=400 -P output.checkpoint_every=5 \
      --output "$mnt/x.h5" --quiet > h1.out 2>&1)
  rc=$?
  [ $rc -eq 4 ] || { cat h1.out; fail "$n ranks: exit $rc, not 4 (124: hung)"; }
  grep -q 'Segmentation\|signal' h1.out && { cat h1.out; fail "$n ranks: crashed"; }
  grep -q '^error: .*; stopped: the last checkpoint and the run file up to it are kept$' h1.out ||
    { cat h1.out; fail "$n ranks: no error line"; }
  # Only gpa's lines, and Open MPI's own note of the failed write (mca_fbtl_posix_pwritev).
  [ "$(grep -vc '^warning: \|^error: \|^mca_' h1.out)" -eq 0 ] || { cat h1.out; fail "$n ranks: noise"; }
  [ -f "$mnt/x.h5.tmp" ] && [ -f "$mnt/x.ckpt.h5" ] || fail "$n ranks: run file or checkpoint lost"
  grow
  run -n $n "$gpa" run "$deck" -P transport.max_steps=400 -P output.checkpoint_every=5 \
    --output "$mnt/x.h5" --restart "$mnt/x.ckpt.h5" --quiet 2> h1r.err || fail "$n ranks: restart"
  grep -q damaged h1r.err && { cat h1r.err; fail "$n ranks: the run file was set aside"; }
  same "$mnt/x.h5" big$n.h5
  echo "ok: $n ranks: $(grep -m1 '^error' h1.out); restart bitwise"
done

echo "--- S2, D8, H1: damaged checkpoints on 1, 2 and 3 ranks"
run -n 2 "$gpa" run "$deck" -P transport.max_steps=30 --output c.h5 --quiet || fail "setup"
cp c.ckpt.h5 good.ckpt
/usr/bin/python3 - <<'EOF' || fail "corrupting"
import h5py, numpy as np, shutil
def variant(name, change):
    shutil.copy("good.ckpt", name)
    if isinstance(change, int):
        b = bytearray(open(name, "rb").read()); b[change] ^= 0x5A; open(name, "wb").write(bytes(b))
    else:
        with h5py.File(name, "r+") as f: change(f)
def nan(f): a = f["/particles"][...]; a[7, 1] = np.nan; f["/particles"][...] = a
def f32(f):
    a = f["/state/theta"][...]; attrs = dict(f["/state/theta"].attrs); del f["/state/theta"]
    d = f.create_dataset("/state/theta", data=a.astype(np.float32))
    for k, v in attrs.items(): d.attrs[k] = v
def theta(f): f["/state/theta"][3] += 1e-3
def step(v): return lambda f: f.attrs.__setitem__("step", np.int64(v))
def monitor(f): a = f["/monitor/divergence"][...]; a[-1] += 1; f["/monitor/divergence"][...] = a
variant("theta.ckpt", theta); variant("nan.ckpt", nan); variant("f32.ckpt", f32)
variant("neg.ckpt", step(-5)); variant("big.ckpt", step(150)); variant("mon.ckpt", monitor)
variant("super.ckpt", 20)  # the superblock
EOF
before=$(fingerprint c.*)
for n in 1 2 3; do
  for v in theta:"/state/theta does not match its checksum" nan:"/particles does not match" \
           f32:"/state/theta is not 8-byte numbers" neg:"its step (-5) does not match" \
           big:"its step (150) does not match" mon:"/monitor/divergence does not match" \
           super:"cannot be read as HDF5"; do
    name=${v%%:*}
    cp "$name.ckpt" try.ckpt.h5
    run -n $n "$gpa" run "$deck" --output c.h5 --restart try.ckpt.h5 > s2.out 2>&1
    rc=$?
    [ $rc -eq 124 ] && fail "$name on $n ranks: hung"
    [ $rc -eq 1 ] || { cat s2.out; fail "$name on $n ranks: exit $rc"; }
    one_line s2.out "${v#*:}"
  done
  echo "ok: $n ranks: 7 damaged checkpoints refused with one line"
done
[ "$before" = "$(fingerprint c.*)" ] || fail "a refused restart changed files"

echo "--- D4, D5: outputs checked before the first step"
mkdir sub
cp "$deck" deck.yml
before=$(fingerprint deck.yml tgt.h5 ref.h5)
refuse() { # expected, then gpa arguments
  local expect=$1
  shift
  run -n 2 "$gpa" "$@" > d4.out 2>&1 && fail "accepted: $*"
  grep -q '^step\|checkpoint at' d4.out && fail "computed before refusing: $*"
  one_line d4.out "$expect"
  echo "ok: $(cat d4.out.e)"
}
refuse "'sub' is a directory" run deck.yml -P output.file=sub
refuse "'/' names a directory" run deck.yml -P output.file=/
refuse "directory nodir: No such file" run deck.yml -P output.checkpoint_file=nodir/c.h5
refuse "output.file 'deck.yml' is also the deck" run deck.yml --output deck.yml
refuse "output.checkpoint_file 'deck.yml' is also the deck" run deck.yml \
  -P output.checkpoint_file=deck.yml
refuse "are the same file" run deck.yml -P output.file=r.h5 -P output.checkpoint_file=./r.h5
refuse "output.stop_file 'deck.yml' is also the deck" run deck.yml -P output.stop_file=deck.yml
refuse "is also the target.file 'tgt.h5'" run f.yml --output tgt.h5 --overwrite
refuse "--output 'ref.h5' is also the --field" transport --field ref.h5 --input tgt.h5:/X \
  --output ref.h5
refuse "--output 'ref.h5' is also the --field" sample --field ref.h5 --n 5 --output ref.h5
[ -e /.xmf ] && fail "wrote /.xmf"
[ "$before" = "$(fingerprint deck.yml tgt.h5 ref.h5)" ] || fail "an input changed"

echo "--- D6: a fresh run over an interrupted one"
GPA_FAULT_KILL_AT_STEP=40 run -n 2 "$gpa" run "$deck" --output i.h5 --quiet > /dev/null 2>&1
before=$(fingerprint i.*)
run -n 2 "$gpa" run "$deck" --output i.h5 --quiet > d6.out 2>&1 && fail "fresh run accepted"
one_line d6.out "i.ckpt.h5 holds an interrupted run of i.h5 at step 40: continue it with --restart"
[ "$before" = "$(fingerprint i.*)" ] || fail "the refused run changed files"
run -n 2 "$gpa" run "$deck" --output i.h5 --overwrite --quiet || fail "--overwrite"
same i.h5 ref.h5
run -n 2 "$gpa" run "$deck" --output i.h5 --quiet || fail "a fresh run over a finished one"
echo "ok: refused; --overwrite starts again; a finished run is replaced as before"

echo "--- D7: two runs on one output"
slow=$src/tests/decks/slow.yml
run -n 1 "$gpa" run "$slow" -P transport.max_steps=400 --output two.h5 --quiet > a.out 2>&1 &
pid=$!
for _ in $(seq 500); do [ -f two.h5.lock ] && break; sleep 0.02; done
start=$(date +%s)
run -n 1 "$gpa" run "$slow" -P transport.max_steps=400 --output two.h5 --quiet --overwrite \
  > b.out 2>&1 && fail "the second run was accepted"
[ $(($(date +%s) - start)) -lt 20 ] || fail "the second run did not fail at once"
one_line b.out "two.h5 is being written by another gpa run (process"
wait $pid || { cat a.out; fail "the first run failed"; }
h5dump -a /status two.h5 | grep -q completed || fail "the first run's file is not complete"
[ -e two.h5.lock ] && fail "lock file left behind"
echo "ok: $(cat b.out.e)"

echo "--- U4: --dry-run --restart checks the checkpoint"
run -n 2 "$gpa" run "$deck" --output c.h5 --restart nope.ckpt.h5 --dry-run > u4.out 2>&1 &&
  fail "dry run with a missing checkpoint"
one_line u4.out "cannot open 'nope.ckpt.h5'"
cp theta.ckpt try.ckpt.h5
run -n 2 "$gpa" run "$deck" --output c.h5 --restart try.ckpt.h5 --dry-run > u4.out 2>&1 &&
  fail "dry run with a damaged checkpoint"
one_line u4.out "does not match its checksum"
echo "ok: missing and damaged checkpoints refused by --dry-run"

echo "--- U6: SIGTERM to rank 1 alone is named SIGTERM everywhere"
run -n 2 "$gpa" run "$slow" -P transport.max_steps=100000 --output u6.h5 > u6.out 2>&1 &
pid=$!
rank1=""
for _ in $(seq 500); do
  for p in $(pgrep -f -- "--output u6.h5"); do
    tr '\0' '\n' < /proc/$p/environ 2> /dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && rank1=$p
  done
  [ -n "$rank1" ] && [ -f u6.h5.tmp ] && break
  sleep 0.02
done
[ -n "$rank1" ] || fail "rank 1 not found"
sleep 1
kill -TERM "$rank1"
wait $pid || { cat u6.out; fail "interrupted run exit status"; }
grep -q '^interrupted at step .* (SIGTERM)' u6.out || { cat u6.out; fail "stdout names $(grep interrupted u6.out)"; }
h5dump -a /status u6.h5.tmp | grep -q 'SIGTERM' || fail "the run file's status does not say SIGTERM"
echo "ok: $(grep '^interrupted' u6.out)"

echo "--- U8: a stop file from before the run"
touch stale.stop
run -n 2 "$gpa" run "$deck" --output stale.h5 > u8.out 2>&1 || fail "run with a stale stop file"
grep -q 'removed the stop file stale.stop' u8.out || fail "no warning about the stop file"
h5dump -a /steps stale.h5 | grep -q '(0): 60' || fail "stopped early"
echo "ok: the stale stop file was removed with a warning and the run went to the end"

echo "--- a replay refuses a field with missing steps"
/usr/bin/python3 - <<'EOF' || fail "cutting the field"
import h5py, numpy as np, shutil
shutil.copy("ref.h5", "cut.h5")
with h5py.File("cut.h5", "r+") as f:
    t = f["/field/theta"][...]; f["/field/theta"].resize(t.shape[0] - 7, axis=0)
    f["/field/theta"][...] = t[7:]
EOF
run -n 2 "$gpa" transport --field cut.h5 --input ref.h5:/particles/initial --output rp.h5 \
  > rp.out 2>&1 && fail "replay of an incomplete field accepted"
one_line rp.out "the field is incomplete"
[ -e rp.h5 ] && fail "replay output written"
echo "ok: $(cat rp.out.e)"
[ $failures -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all fault tests passed"
