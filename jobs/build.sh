#!/bin/bash
# Configures and builds gpa in build/ (release) from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release
fi
ninja -C build
