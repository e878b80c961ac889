#!/bin/bash
# A run that blows up (unconstrained phi, absurd learning rate) stops with one line
# "error: diverged at step n" and exit status 3, and still leaves a complete run file whose
# status says so, with finite particles.
set -u
gpa=$1 mpiexec=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$mpiexec" -q -n 2 "$gpa" run "$src/inputs/mog2d.yml" -P divergence.L=.inf -P optimizer.kind=sgd \
  -P optimizer.lr=1e12 -P transport.max_steps=50 --output "$tmp/run.h5" --quiet 2> "$tmp/err"
rc=$?
cat "$tmp/err"
[ "$rc" -eq 3 ] || { echo "FAIL: exit status $rc, expected 3"; exit 1; }
[ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q '^error: diverged at step [0-9]*$' "$tmp/err" ||
  { echo "FAIL: expected one line 'error: diverged at step n'"; exit 1; }
[ -f "$tmp/run.h5" ] && [ ! -e "$tmp/run.h5.tmp" ] || { echo "FAIL: no run file"; exit 1; }
h5dump -a /status "$tmp/run.h5" | grep -q '"diverged at step' || { echo "FAIL: status"; exit 1; }
if h5dump -d /particles/final "$tmp/run.h5" | grep -qi 'nan\|inf'; then
  echo "FAIL: non-finite final particles"; exit 1
fi
echo "ok: diverged run reported and its run file kept"
