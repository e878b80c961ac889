#!/bin/bash
# The default job (inputs/mog2d.yml on 2 ranks) cuts the exact W2 between particles and
# targets by at least 10x.
set -eu
gpa=$1 mpiexec=$2 check=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$mpiexec" -n 2 "$gpa" run "$src/inputs/mog2d.yml" --output "$tmp/mog2d.h5" --quiet
"$check" "$tmp/mog2d.h5" 10
