#!/bin/bash
# Every deck shipped in inputs/ (and a file deck with n and dim left to the file) validates
# (--dry-run; gpa integrate for the decks that name an integrate.source_file, which gpa run
# refuses)
# and its dump reads back identically; and a zero-step run of one of them prints a timer table
# whose total covers setup and output.
set -eu
gpa=$(realpath "$1") mpiexec=$2 src=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for deck in "$src"/inputs/*.yml "$src"/inputs/*/*.yml "$src"/tests/decks/file_rows.yml; do
  [ -e "$deck" ] || continue
  cmd=run
  if grep -Eq '^ *source_file: *[^"[:space:]]' "$deck"; then cmd=integrate; fi
  "$mpiexec" -q -n 1 "$gpa" $cmd "$deck" --dry-run > "$tmp/a.yml"
  "$mpiexec" -q -n 1 "$gpa" $cmd "$tmp/a.yml" --dry-run > "$tmp/b.yml"
  diff -u "$tmp/a.yml" "$tmp/b.yml"
  n=$((n + 1))
done
echo "$n decks validate and round-trip"

cd "$tmp"
"$mpiexec" -q -n 1 "$gpa" run "$src/inputs/mog2d.yml" -P transport.max_steps=0 \
  --output zero.h5 > zero.txt
awk '/^  setup / { s = $4 } /^  output / { o = $4 } /^  total / { t = $4; seen = 1 }
     END { if (!seen || t + 1e-4 < s + o) { print "total " t " < setup " s " + output " o; exit 1 } }' \
  zero.txt
echo "a zero-step run's timers: total covers setup and output"
