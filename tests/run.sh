#!/bin/bash
# README command 2 (and CI): installs what gpa needs (Debian 12), builds it, runs the whole test
# suite, then builds with AddressSanitizer and UndefinedBehaviorSanitizer and runs the unit
# tests (those without mpirun) again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash jobs/install-deps.sh
. jobs/env.sh
if [ ! -f build/build.ninja ]; then meson setup build --buildtype=release; fi
ninja -C build
meson test -C build --print-errorlogs
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined -Dbenchmarks=false
fi
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --suite unit --print-errorlogs
echo "tests/run.sh: all tests passed"
