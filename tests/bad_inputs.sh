#!/bin/bash
# Each deck in tests/bad_inputs/ names the error it must produce on its first line
# ("# expect: ...").  On 1 and on 2 ranks (mpirun -q, which keeps mpirun's own notices quiet)
# gpa must print exactly one line on stderr, "error: ..." containing that text, exit non-zero,
# and leave no output file (nor a .tmp) behind.  The last checks run gpa without mpirun.
set -u
gpa=$(realpath "$1") mpiexec=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
fail=0 count=0
check() { # label, expected text, command...
  local label=$1 expect=$2
  shift 2
  rm -f "$tmp"/out.h5*
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$?
  local lines
  lines=$(wc -l < "$tmp/stderr")
  if [ "$rc" -eq 0 ]; then
    echo "FAIL $label: exit status 0"; fail=1
  elif [ "$lines" -ne 1 ]; then
    echo "FAIL $label: $lines lines on stderr:"; cat "$tmp/stderr"; fail=1
  elif ! grep -q '^error: ' "$tmp/stderr" || ! grep -qF -- "$expect" "$tmp/stderr"; then
    echo "FAIL $label: expected '$expect', got:"; cat "$tmp/stderr"; fail=1
  elif ls "$tmp"/out.h5* > /dev/null 2>&1; then
    echo "FAIL $label: left $(ls "$tmp"/out.h5*) behind"; fail=1
  else
    echo "ok   $label: $(grep '^error: ' "$tmp/stderr")"
  fi
  count=$((count + 1))
}
for deck in tests/bad_inputs/*.yml; do
  expect=$(sed -n '1s/^# expect: //p' "$deck")
  check "$deck (1 rank)" "$expect" "$mpiexec" -q -n 1 "$gpa" run "$deck" --output "$tmp/out.h5"
  check "$deck (2 ranks)" "$expect" "$mpiexec" -q -n 2 "$gpa" run "$deck" --output "$tmp/out.h5"
done
check "missing deck" "cannot read deck 'no/such/deck.yml': No such file or directory" \
  "$gpa" run no/such/deck.yml --output "$tmp/out.h5"
check "bad override" "-P transport.dt: must be > 0 (got 0)" \
  "$gpa" run inputs/mog2d.yml -P transport.dt=0 --output "$tmp/out.h5"
check "unknown override" "-P network.width: unknown key (did you mean 'network.widths'?)" \
  "$gpa" run inputs/mog2d.yml -P network.width=3 --output "$tmp/out.h5"
check "unwritable output" "out.h5.tmp: cannot create: No such file or directory" \
  "$gpa" run inputs/mog2d.yml --output "$tmp/no/such/dir/out.h5"
check "unknown option" "unknown option '--fast'" "$gpa" run inputs/mog2d.yml --fast
check "unknown command" "unknown command 'walk'" "$gpa" walk
echo "$count bad inputs checked"
exit $fail
