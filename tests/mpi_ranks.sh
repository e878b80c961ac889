#!/bin/bash
# The same deck on 1, 2 and 3 ranks gives the same discriminator, particles, monitor and
# trajectory to 1e-9 (max|a - b| / max|a| per dataset) after 20 steps, for every divergence
# and integrator.  (Within one run,
# theta is checked bitwise identical on all ranks at the end.)
set -eu
gpa=$1 mpiexec=$2 compare=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
variants=(
  "-P divergence.kind=kl -P transport.integrator=euler"
  "-P divergence.kind=kl-lt -P transport.integrator=heun"
  "-P divergence.kind=alpha -P divergence.alpha=2 -P transport.integrator=rk4 -P transport.stages=frozen -P network.activation=leaky_relu -P network.normalization=frobenius"
  "-P divergence.kind=kl -P transport.integrator=heun -P network.activation=smooth_relu -P optimizer.kind=sgd -P optimizer.lr=0.01 -P optimizer.reset_moments=false"
)
for v in "${variants[@]}"; do
  for n in 1 2 3; do
    # shellcheck disable=SC2086
    "$mpiexec" -n $n "$gpa" run "$src/tests/decks/mpi.yml" $v --output "$tmp/r$n.h5" --quiet
  done
  for n in 2 3; do
    if ! "$compare" "$tmp/r1.h5" "$tmp/r$n.h5" 1e-9 /discriminator/theta /particles/final \
        /monitor/divergence /monitor/kinetic_energy /monitor/max_speed /trajectory/positions; then
      echo "FAIL: 1 and $n ranks differ ($v)"
      exit 1
    fi
  done
  echo "ok: 1, 2, 3 ranks agree to 1e-9 ($v)"
done

# The convolutional, conditional discriminator with dropout (needs dataset-fashion-mnist).
if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  for n in 1 2 3; do
    "$mpiexec" -n $n "$gpa" run "$src/tests/decks/mpi_images.yml" --output "$tmp/i$n.h5" --quiet
  done
  for n in 2 3; do
    if ! "$compare" "$tmp/i1.h5" "$tmp/i$n.h5" 1e-9 /discriminator/theta /particles/final \
        /generated/final /monitor/divergence /monitor/kinetic_energy /trajectory/positions \
        /trajectory/generated /labels/particles /labels/target; then
      echo "FAIL: 1 and $n ranks differ (images)"
      exit 1
    fi
  done
  echo "ok: 1, 2, 3 ranks agree to 1e-9 (conditional CNN with dropout on Fashion-MNIST)"
else
  echo "FAIL: dataset-fashion-mnist is not installed (jobs/install-deps.sh installs it)"
  exit 1
fi
