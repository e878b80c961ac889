#!/bin/bash
# Runs one deck on this machine and draws its figure:
#   jobs/run_local.sh DECK.yml [RANKS] [gpa options, e.g. -P transport.max_steps=100]
# writes DECK.h5 (the run file) and DECK.png in the current directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
deck=$1
ranks=${2:-2}
shift $(( $# >= 2 ? 2 : 1 ))
name=$(basename "${deck%.*}")
mpirun -q -n "$ranks" "$here/../build/gpa" run "$deck" --output "$name.h5" "$@"
/usr/bin/python3 "$here/../postproc/plot_run.py" "$name.h5" -o "$name.png"
