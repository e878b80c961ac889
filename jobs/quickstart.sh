#!/bin/bash
# README command 1: installs what gpa needs (Debian 12), builds it, runs the default job
# (inputs/mog2d.yml on 2 ranks) and draws the particles: mog2d.h5 and mog2d.png.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/jobs/install-deps.sh"
bash "$root/jobs/build.sh"
cd "$root"
bash jobs/run_local.sh inputs/mog2d.yml 2
echo "quickstart: wrote $root/mog2d.h5 (run file) and $root/mog2d.png (figure)"
