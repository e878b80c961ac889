#!/bin/bash
# Every deck shipped in inputs/ validates (--dry-run) and its dump reads back identically.
set -eu
gpa=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for deck in "$src"/inputs/*.yml "$src"/inputs/*/*.yml; do
  [ -e "$deck" ] || continue
  "$gpa" run "$deck" --dry-run > "$tmp/a.yml"
  "$gpa" run "$tmp/a.yml" --dry-run > "$tmp/b.yml"
  diff -u "$tmp/a.yml" "$tmp/b.yml"
  n=$((n + 1))
done
echo "$n decks validate and round-trip"
