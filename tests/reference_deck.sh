#!/bin/bash
# inputs/reference.yml documents every deck key with its default: it must be exactly what
# `gpa reference` prints from the key table.
set -eu
gpa=$1 src=$2
if ! diff -u "$src/inputs/reference.yml" <("$gpa" reference); then
  echo "inputs/reference.yml is out of date: regenerate it with 'gpa reference > inputs/reference.yml'"
  exit 1
fi
echo "inputs/reference.yml matches the key table"
