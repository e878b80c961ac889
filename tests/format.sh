#!/bin/bash
# The C sources follow .clang-format (clang-format 14, Debian 12's): every .c and .h file of
# src/, include/, tests/ and bench/ is left unchanged by clang-format.  Prints each file that
# would change, with the first lines of the change, and fails.  Fix with
#   clang-format -i $(find src include tests bench -name '*.[ch]')
set -u
cd "$1" || exit 1
if ! command -v clang-format > /dev/null; then
  echo "format: clang-format is missing (bash jobs/install-deps.sh installs it)"
  exit 1
fi
mapfile -t files < <(find src include tests bench -name '*.[ch]' | sort)
bad=0
for f in "${files[@]}"; do
  if ! out=$(clang-format --style=file "$f" | diff -u "$f" - 2>&1); then
    echo "$f is not formatted:"
    echo "$out" | sed -n '3,12p'
    bad=$((bad + 1))
  fi
done
echo "format: ${#files[@]} files checked, $bad not formatted"
[ "$bad" -eq 0 ]
