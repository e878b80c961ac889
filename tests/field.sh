#!/bin/bash
# The learned vector field: replaying a run's initial particles through /field reproduces its
# final particles bit for bit (on other rank counts too, for euler, heun with retrained stages
# and rk4 with frozen ones); the generated particles moved in the loop equal the replay of
# their initial positions; 10,000 particles drawn by `gpa sample` reach the target
# distribution about as well as the trained ones; the XDMF sidecar describes the trajectory.
set -u
gpa=$(realpath "$1") mpiexec=$2 compare=$(realpath "$3") check=$(realpath "$4") src=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
run() { "$mpiexec" -q "$@"; }

for v in "euler retrain" "heun retrain" "rk4 frozen"; do
  set -- $v
  run -n 2 "$gpa" run "$src/tests/decks/restart.yml" -P transport.integrator=$1 \
    -P transport.stages=$2 -P output.checkpoint_every=0 --output f.h5 --quiet || fail "run $v"
  for n in 1 3; do
    run -n $n "$gpa" transport --field f.h5 --input f.h5:/particles/initial --output t.h5 \
      --quiet || fail "transport $v"
    "$compare" t.h5 f.h5 0 /particles/final > /dev/null || fail "replay differs ($v, $n ranks)"
    run -n $n "$gpa" transport --field f.h5 --input f.h5:/generated/initial --output t.h5 \
      --quiet || fail "transport $v"
    "$compare" t.h5 f.h5 0 /particles/final=/generated/final > /dev/null ||
      fail "generated particles differ from their replay ($v, $n ranks)"
  done
  echo "ok: $v: replays equal the run's particles and generated particles bit for bit"
done

# A class-conditional CNN with dropout: its field replays bit for bit given the classes, and
# refuses to replay without them.
run -n 2 "$gpa" run "$src/tests/decks/mpi_images.yml" -P output.store_field=on --output c.h5 \
  --quiet || fail "conditional run"
run -n 3 "$gpa" transport --field c.h5 --input c.h5:/particles/initial \
  --labels c.h5:/labels/particles --output t.h5 --quiet || fail "conditional transport"
"$compare" t.h5 c.h5 0 /particles/final /labels=/labels/particles > /dev/null ||
  fail "conditional replay differs"
run -n 2 "$gpa" transport --field c.h5 --input c.h5:/particles/initial --output t.h5 \
  2> err.txt && fail "conditional replay without classes accepted"
grep -q "the field is class-conditional" err.txt || { cat err.txt; fail "message"; }
run -n 2 "$gpa" sample --field c.h5 --n 12 --output s.h5 --quiet || fail "conditional sample"
/usr/bin/python3 -c "
import h5py, numpy as np
s, c = h5py.File('s.h5'), h5py.File('c.h5')
t = c['/labels/target'][:]
assert (s['/labels'][:] == t[np.arange(12) % len(t)]).all()
assert np.isfinite(s['/particles/final'][:]).all()
" || fail "conditional sample labels"
echo "ok: a class-conditional field replays bit for bit with its classes"

python3=/usr/bin/python3
$python3 - f.h5 f.xmf << 'PY' || fail "XDMF sidecar"
import sys, xml.dom.minidom, h5py
steps = h5py.File(sys.argv[1], "r")["/trajectory/step"][()]
doc = xml.dom.minidom.parse(sys.argv[2])
grids = [g for g in doc.getElementsByTagName("Grid") if g.getAttribute("GridType") == "Uniform"]
times = [float(g.getElementsByTagName("Time")[0].getAttribute("Value")) for g in grids]
assert len(grids) == len(steps), (len(grids), len(steps))
assert all(abs(t - 0.5 * s) < 1e-12 for t, s in zip(times, steps))
refs = {d.firstChild.data.strip() for d in doc.getElementsByTagName("DataItem")
        if d.getAttribute("Format") == "HDF"}
assert refs == {"f.h5:/trajectory/positions"}, refs
print(f"ok: f.xmf describes the {len(grids)} frames of /trajectory")
PY

run -n 2 "$gpa" run "$src/inputs/mog2d.yml" --output run.h5 --quiet || fail "mog2d"
run -n 2 "$gpa" sample --field run.h5 --n 10000 --output gen.h5 || fail "sample"
run -n 1 "$gpa" run "$src/inputs/mog2d.yml" -P run.seed=99 -P transport.max_steps=0 \
  --output heldout.h5 --quiet || fail "held-out targets"
run -n 2 "$check" run.h5 gen.h5 heldout.h5 1.5
