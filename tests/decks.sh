#!/bin/bash
# Every deck shipped in inputs/ (and a file deck with n and dim left to the file) validates
# (--dry-run) and its dump reads back identically.
set -eu
gpa=$1 mpiexec=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for deck in "$src"/inputs/*.yml "$src"/inputs/*/*.yml "$src"/tests/decks/file_rows.yml; do
  [ -e "$deck" ] || continue
  "$mpiexec" -q -n 1 "$gpa" run "$deck" --dry-run > "$tmp/a.yml"
  "$mpiexec" -q -n 1 "$gpa" run "$tmp/a.yml" --dry-run > "$tmp/b.yml"
  diff -u "$tmp/a.yml" "$tmp/b.yml"
  n=$((n + 1))
done
echo "$n decks validate and round-trip"
